/* Check suite for agent/policy.c (the access contract) and nft.c's transaction text. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "nft.h"
#include "policy.h"

static int parse_text(const char *json, struct policy_set **ps)
{
	json_error_t je;
	json_t *j = json_loads(json, 0, &je);
	int ret;

	ck_assert_msg(j != NULL, "test JSON: %s", je.text);
	ret = policy_set_from_json(j, ps);
	json_decref(j);
	return ret;
}

/* One peer 10.77.0.2 + fd00::2 with the given "access" member text. */
static int parse_access(const char *access, struct policy_set **ps)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"peers\":[{\"allowed_ips\":[\"10.77.0.2/32\",\"fd00::2/128\"],\"access\":%s}]}",
		 access);
	return parse_text(buf, ps);
}

static char *compile_access(const char *access, struct nft_stats *st)
{
	struct policy_set *ps;
	char *text = NULL;

	ck_assert_int_eq(parse_access(access, &ps), 0);
	ck_assert_int_eq(nft_compile(ps, "kw0", &text, st), 0);
	policy_set_free(ps);
	return text;
}

/* text parses to the ranges want, written "lo-hi" in order and comma-separated. */
static void assert_ports(const char *text, const char *want)
{
	struct policy_port_range r[POLICY_MAX_PORT_RANGES];
	char got[512] = "";
	size_t n, len = 0;

	ck_assert_int_eq(policy_ports_parse(text, r, 64, &n), 0);
	for (size_t i = 0; i < n && len < sizeof(got); i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%u-%u", i ? "," : "", r[i].lo, r[i].hi);
	ck_assert_str_eq(got, want);
}

START_TEST(ports_lists_and_ranges)
{
	assert_ports("22", "22-22");
	assert_ports("8000-8100,443,22", "22-22,443-443,8000-8100");
	/* overlapping and touching items merge */
	assert_ports("22-23,24,10-30,1,65535,65534", "1-1,10-30,65534-65535");
}
END_TEST

START_TEST(ports_refused)
{
	static const char *const bad[] = { "", "0", "65536", "22-21", "022", "22,", ",22", "22 ",
					   " 22", "a", "-5", "1-", "22--23", "1-2-3", "+1",
					   "99999999999", "22;23", "0-10", NULL };
	struct policy_port_range r[POLICY_MAX_PORT_RANGES + 1];
	char many[1024] = "1";
	size_t n;

	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(policy_ports_parse(bad[i], r, 64, &n) == -EINVAL, "accepted '%s'", bad[i]);
	/* 65 items is one more than the bound */
	for (int i = 2; i <= 65; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), ",%d", i * 2);
	ck_assert_int_eq(policy_ports_parse(many, r, 64, &n), -EINVAL);
	ck_assert_int_eq(policy_ports_parse(many, r, 65, &n), 0);
}
END_TEST

START_TEST(access_absent_allow_deny)
{
	struct policy_set *ps;

	ck_assert_int_eq(parse_text("{\"peers\":[{\"allowed_ips\":[\"10.77.0.2/32\"]}]}", &ps), 0);
	ck_assert(!ps->filters);
	ck_assert_int_eq(ps->peers[0].def, POLICY_UNRESTRICTED);
	policy_set_free(ps);
	ck_assert_int_eq(parse_access("{\"default\":\"allow\"}", &ps), 0);
	ck_assert(ps->filters);
	ck_assert_int_eq(ps->peers[0].def, POLICY_DEFAULT_ALLOW);
	ck_assert_uint_eq(ps->peers[0].n_sources, 2);
	policy_set_free(ps);
	ck_assert_int_eq(parse_access("{\"default\":\"deny\",\"destinations\":["
				      "{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"tcp\",\"ports\":\"443,22\"},"
				      "{\"cidr\":\"2001:db8::/32\",\"protocol\":\"udp\"},"
				      "{\"cidr\":\"10.2.0.1\",\"protocol\":\"icmp\"},"
				      "{\"cidr\":\"0.0.0.0/0\",\"protocol\":\"any\"}]}",
				      &ps),
			 0);
	ck_assert_int_eq(ps->peers[0].def, POLICY_DEFAULT_DENY);
	ck_assert_uint_eq(ps->peers[0].n_dests, 4);
	ck_assert_int_eq(ps->peers[0].dests[0].proto, POLICY_PROTO_TCP);
	ck_assert_uint_eq(ps->peers[0].dests[0].n_ports, 2);
	ck_assert_uint_eq(ps->peers[0].dests[0].ports[0].lo, 22);
	/* udp without "ports": every port */
	ck_assert_uint_eq(ps->peers[0].dests[1].n_ports, 1);
	ck_assert_uint_eq(ps->peers[0].dests[1].ports[0].lo, 0);
	ck_assert_uint_eq(ps->peers[0].dests[1].ports[0].hi, 65535);
	ck_assert_uint_eq(ps->peers[0].dests[2].cidr.prefix, 32);
	ck_assert_uint_eq(ps->peers[0].dests[2].n_ports, 0);
	policy_set_free(ps);
	/* deny with no destinations: valid, nothing passes */
	ck_assert_int_eq(parse_access("{\"default\":\"deny\",\"destinations\":[]}", &ps), 0);
	ck_assert_uint_eq(ps->peers[0].n_dests, 0);
	policy_set_free(ps);
}
END_TEST

START_TEST(access_refused)
{
	static const char *const bad[] = {
		"null", "[]", "\"deny\"", "{}", "{\"default\":\"maybe\"}", "{\"default\":1}",
		"{\"default\":\"deny\",\"destinations\":{}}",
		"{\"default\":\"deny\",\"extra\":1}",
		"{\"default\":\"deny\",\"destinations\":[1]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.0/24\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.5/24\",\"protocol\":\"tcp\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.0/33\",\"protocol\":\"tcp\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"host\",\"protocol\":\"tcp\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"protocol\":\"tcp\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"sctp\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"TCP\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"icmp\","
		"\"ports\":\"22\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"any\","
		"\"ports\":\"22\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"tcp\","
		"\"ports\":22}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"tcp\","
		"\"ports\":\"0\"}]}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"tcp\","
		"\"port\":\"22\"}]}",
		NULL
	};
	struct policy_set *ps = (struct policy_set *)1;

	for (size_t i = 0; bad[i]; i++) {
		ck_assert_msg(parse_access(bad[i], &ps) == -EINVAL, "accepted %s", bad[i]);
		ck_assert_ptr_null(ps);
	}
	ck_assert_int_eq(parse_text("{}", &ps), -EINVAL);
	ck_assert_int_eq(parse_text("{\"peers\":{}}", &ps), -EINVAL);
	ck_assert_int_eq(parse_text("{\"peers\":[{\"access\":{\"default\":\"allow\"}}]}", &ps),
			 -EINVAL);
	ck_assert_int_eq(parse_text("{\"peers\":[{\"allowed_ips\":[\"nope\"]}]}", &ps), -EINVAL);
}
END_TEST

/* A peer's sources must name it alone once any peer is filtered. */
START_TEST(sources_overlap)
{
	struct policy_set *ps;

	ck_assert_int_eq(parse_text("{\"peers\":[{\"allowed_ips\":[\"10.77.0.0/24\"]},"
				    "{\"allowed_ips\":[\"10.77.0.9/32\"],\"access\":{\"default\":\"allow\"}}]}",
				    &ps),
			 -EINVAL);
	ck_assert_int_eq(parse_text("{\"peers\":[{\"allowed_ips\":[\"fd00::/64\"]},"
				    "{\"allowed_ips\":[\"fd00::/64\"],\"access\":{\"default\":\"allow\"}}]}",
				    &ps),
			 -EINVAL);
	/* without any "access" nothing is filtered and nothing checked (as before) */
	ck_assert_int_eq(parse_text("{\"peers\":[{\"allowed_ips\":[\"10.77.0.0/24\"]},"
				    "{\"allowed_ips\":[\"10.77.0.9/32\"]}]}",
				    &ps),
			 0);
	policy_set_free(ps);
	ck_assert_int_eq(parse_text("{\"peers\":[{\"allowed_ips\":[\"10.77.0.0/25\"]},"
				    "{\"allowed_ips\":[\"10.77.0.128/25\"],\"access\":{\"default\":\"allow\"}}]}",
				    &ps),
			 0);
	policy_set_free(ps);
}
END_TEST

/* Bounds: destinations per peer, and the worst-case number of elements of a config. */
START_TEST(bounds)
{
	json_t *dests = json_array(), *ips = json_array(), *payload;
	struct policy_set *ps;
	char t[64];

	for (int i = 0; i < POLICY_MAX_DESTINATIONS + 1; i++) {
		snprintf(t, sizeof(t), "10.%d.%d.0/24", 1 + i / 256, i % 256);
		json_array_append_new(dests, json_pack("{s:s,s:s,s:s}", "cidr", t, "protocol", "tcp",
						       "ports", "22"));
	}
	for (int i = 0; i < POLICY_MAX_SOURCES; i++) {
		snprintf(t, sizeof(t), "10.77.%d.%d/32", i / 256, i % 256);
		json_array_append_new(ips, json_string(t));
	}
	payload = json_pack("{s:[{s:O,s:{s:s,s:O}}]}", "peers", "allowed_ips", ips, "access",
			    "default", "deny", "destinations", dests);
	ck_assert_int_eq(policy_set_from_json(payload, &ps), -EINVAL); /* 1025 destinations */
	json_decref(payload);
	json_array_remove(dests, 0);
	/* 256 sources x 1024 destinations is over POLICY_MAX_ELEMENTS */
	payload = json_pack("{s:[{s:O,s:{s:s,s:O}}]}", "peers", "allowed_ips", ips, "access",
			    "default", "deny", "destinations", dests);
	ck_assert_int_eq(policy_set_from_json(payload, &ps), -EINVAL);
	json_decref(payload);
	/* one source: fine */
	json_array_clear(ips);
	json_array_append_new(ips, json_string("10.77.0.1"));
	payload = json_pack("{s:[{s:O,s:{s:s,s:O}}]}", "peers", "allowed_ips", ips, "access",
			    "default", "deny", "destinations", dests);
	ck_assert_int_eq(policy_set_from_json(payload, &ps), 0);
	ck_assert_uint_eq(ps->peers[0].n_dests, POLICY_MAX_DESTINATIONS);
	policy_set_free(ps);
	json_decref(payload);
	json_decref(dests);
	json_decref(ips);
}
END_TEST

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

START_TEST(compile_v4_v6_deny)
{
	struct nft_stats st;
	char *text = compile_access(
		"{\"default\":\"deny\",\"destinations\":["
		"{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"tcp\",\"ports\":\"22,443,8000-8100\"},"
		"{\"cidr\":\"10.1.0.0/25\",\"protocol\":\"udp\",\"ports\":\"53\"},"
		"{\"cidr\":\"10.2.0.0/16\",\"protocol\":\"icmp\"},"
		"{\"cidr\":\"2001:db8::/64\",\"protocol\":\"any\"},"
		"{\"cidr\":\"2001:db8:1::5\",\"protocol\":\"tcp\",\"ports\":\"443\"},"
		"{\"cidr\":\"2001:db8:2::/48\",\"protocol\":\"icmp\"}]}",
		&st);

	/* one transaction: create-if-missing, delete, full definition */
	ck_assert_ptr_eq(strstr(text, "table inet keyway_kw0 {}\ndelete table inet keyway_kw0\n"
				      "table inet keyway_kw0 {\n"),
			 text);
	CHECK_HAS_ALL(text,
		      "10.77.0.2 . 10.1.0.0/24 . 6 . 22,",
		      "10.77.0.2 . 10.1.0.0/24 . 6 . 443,",
		      "10.77.0.2 . 10.1.0.0/24 . 6 . 8000-8100",
		      "10.77.0.2 . 10.1.0.0/25 . 17 . 53",
		      "10.77.0.2 . 10.2.0.0/16 . 1\n",
		      "fd00::2 . 2001:db8::/64\n",
		      "fd00::2 . 2001:db8:1::5 . 6 . 443\n",
		      "fd00::2 . 2001:db8:2::/48 . 58\n");
	/* an IPv4 source never pairs with an IPv6 destination */
	ck_assert_ptr_null(strstr(text, "10.77.0.2 . 2001"));
	ck_assert_ptr_null(strstr(text, "fd00::2 . 10."));
	ck_assert_uint_eq(st.elements, 8);
	ck_assert_uint_eq(st.rules, NFT_RULES);
	ck_assert_uint_eq(st.text_len, strlen(text));
	ck_assert_ptr_nonnull(strstr(text, "iifname != \"kw0\" return\n"));
	ck_assert_ptr_nonnull(strstr(text, "\t\tct direction reply accept\n\t\tct state related accept\n"));
	ck_assert_ptr_nonnull(strstr(text, "\t\tmeta nfproto vmap { ipv4 : jump policy4, ipv6 : jump "
					   "policy6 }\n\t\tcounter drop\n\t}\n}\n"));
	/* a denying peer is in neither address set */
	ck_assert_ptr_null(strstr(text, "elements = {\n\t\t\t10.77.0.2\n"));
	free(text);
}
END_TEST

START_TEST(compile_allow_and_unrestricted)
{
	struct policy_set *ps;
	struct nft_stats st;
	char *text;

	ck_assert_int_eq(
		parse_text("{\"peers\":[{\"allowed_ips\":[\"10.77.0.2/32\",\"fd00::2/128\"],"
			   "\"access\":{\"default\":\"allow\"}},"
			   "{\"allowed_ips\":[\"10.77.0.3/32\",\"fd00::3/128\"]}]}",
			   &ps),
		0);
	ck_assert_int_eq(nft_compile(ps, "kw0", &text, &st), 0);
	ck_assert_ptr_nonnull(strstr(text, "set open4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
					   "\t\telements = {\n\t\t\t10.77.0.2\n\t\t}"));
	ck_assert_ptr_nonnull(strstr(text, "set open6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n"
					   "\t\telements = {\n\t\t\tfd00::2\n\t\t}"));
	ck_assert_ptr_nonnull(strstr(text, "set unrestricted4 {\n\t\ttype ipv4_addr\n\t\tflags "
					   "interval\n\t\telements = {\n\t\t\t10.77.0.3\n\t\t}"));
	/* allow-by-default does not reach other tunnel devices */
	ck_assert_ptr_nonnull(strstr(text, "oifname != \"kw0\" ip saddr @open4 accept"));
	ck_assert_uint_eq(st.elements, 4);
	free(text);
	policy_set_free(ps);
}
END_TEST

/* No "access" anywhere: the transaction deletes the table (a gateway as before). */
START_TEST(compile_no_policy_removes)
{
	struct policy_set *ps;
	char *text;

	ck_assert_int_eq(parse_text("{\"peers\":[{\"allowed_ips\":[\"10.77.0.2/32\"]}]}", &ps), 0);
	ck_assert_int_eq(nft_compile(ps, "wg-gw_1", &text, NULL), 0);
	ck_assert_str_eq(text, "table inet keyway_wg-gw_1 {}\ndelete table inet keyway_wg-gw_1\n");
	free(text);
	ck_assert_int_eq(nft_compile(NULL, "kw0", &text, NULL), 0);
	ck_assert_str_eq(text, "table inet keyway_kw0 {}\ndelete table inet keyway_kw0\n");
	free(text);
	policy_set_free(ps);
}
END_TEST

START_TEST(compile_bad_ifname)
{
	static const char *const bad[] = { "", "kw0\"", "a b", "0123456789abcdef", "kw/0",
					   "kw.0", "kw0;", NULL };
	char name[NFT_TABLE_NAME_MAX], *text = (char *)1;

	for (size_t i = 0; bad[i]; i++) {
		ck_assert_int_eq(nft_table_name(name, bad[i]), -EINVAL);
		ck_assert_int_eq(nft_compile(NULL, bad[i], &text, NULL), -EINVAL);
		ck_assert_ptr_null(text);
	}
	ck_assert_int_eq(nft_table_name(name, NULL), -EINVAL);
	ck_assert_int_eq(nft_table_name(name, "0123456789abcde"), 0);
	ck_assert_str_eq(name, "keyway_0123456789abcde");
}
END_TEST

/* The number of rules does not depend on the number of peers or destinations. */
START_TEST(compile_rules_constant)
{
	json_t *peers = json_array(), *payload;
	struct policy_set *ps;
	struct nft_stats st;
	char *one, *many, ip[32];
	size_t rules_one;

	one = compile_access("{\"default\":\"deny\"}", &st);
	ck_assert_uint_eq(st.elements, 0);
	rules_one = count(one, " accept\n") + count(one, " drop\n") + count(one, " return\n") +
		    count(one, " vmap {");
	ck_assert_uint_eq(rules_one, NFT_RULES);
	for (int i = 0; i < 300; i++) {
		snprintf(ip, sizeof(ip), "10.77.%d.%d", i / 200, 1 + i % 200);
		json_array_append_new(
			peers, json_pack("{s:[s],s:{s:s,s:[{s:s,s:s,s:s},{s:s,s:s}]}}", "allowed_ips", ip,
					 "access", "default", i % 3 ? "deny" : "allow", "destinations",
					 "cidr", "10.1.0.0/24", "protocol", "tcp", "ports", "22,443",
					 "cidr", "10.9.0.0/16", "protocol", "icmp"));
	}
	payload = json_pack("{s:o}", "peers", peers);
	ck_assert_int_eq(policy_set_from_json(payload, &ps), 0);
	ck_assert_int_eq(nft_compile(ps, "kw0", &many, &st), 0);
	ck_assert_uint_eq(st.elements, 300 * 3 + 100);
	ck_assert_uint_eq(count(many, " accept\n") + count(many, " drop\n") + count(many, " return\n") +
				  count(many, " vmap {"),
			  rules_one);
	free(one);
	free(many);
	policy_set_free(ps);
	json_decref(payload);
}
END_TEST

/* Parse "a", "a/len" or "a-b" (IPv4) into [lo, hi]. */
static void span_parse(const char *s, uint32_t *lo, uint32_t *hi)
{
	char a[32], b[32] = "";
	struct in_addr x;
	const char *dash = strchr(s, '-'), *slash = strchr(s, '/');
	int len = 32;

	snprintf(a, sizeof(a), "%.*s", (int)(dash ? dash - s : slash ? slash - s : (long)strlen(s)), s);
	if (dash)
		snprintf(b, sizeof(b), "%s", dash + 1);
	if (slash)
		len = atoi(slash + 1);
	ck_assert_int_eq(inet_pton(AF_INET, a, &x), 1);
	*lo = ntohl(x.s_addr);
	*hi = len == 32 ? *lo : *lo | ((1u << (32 - len)) - 1);
	if (dash) {
		ck_assert_int_eq(inet_pton(AF_INET, b, &x), 1);
		*hi = ntohl(x.s_addr);
	}
}

struct box {
	uint32_t lo, hi;
	unsigned plo, phi;
};

/* The tcp elements of grant4 for source 10.77.0.2, as boxes. */
static size_t grant_boxes(const char *text, struct box *out, size_t max)
{
	const char *p = strstr(text, "set grant4 {");
	const char *end = strstr(text, "set grant6 {");
	size_t n = 0;

	for (p = strstr(p, "10.77.0.2 . "); p && p < end; p = strstr(p + 1, "10.77.0.2 . ")) {
		char dst[64];
		unsigned proto, plo, phi;
		int k = sscanf(p, "10.77.0.2 . %63s . %u . %u-%u", dst, &proto, &plo, &phi);

		ck_assert_int_ge(k, 3);
		if (k == 3)
			phi = plo;
		ck_assert_uint_lt(n, max);
		span_parse(dst, &out[n].lo, &out[n].hi);
		out[n].plo = plo;
		out[n].phi = phi;
		n++;
	}
	return n;
}

/*
 * Random overlapping destinations in a small space (10.1.0.0/27, ports 1-40): the
 * compiled elements never overlap (the kernel would refuse them) and cover exactly
 * the address/port pairs some destination grants.
 */
START_TEST(compile_overlaps_disjoint)
{
	unsigned seed = 12345;

	for (int round = 0; round < 200; round++) {
		json_t *dests = json_array(), *payload;
		struct policy_set *ps;
		struct box want[16], got[4096];
		size_t nw = 0, ng;
		char *text, cidr[32], ports[32];

		for (int d = 0; d < 1 + (int)(rand_r(&seed) % 6); d++) {
			int len = 27 + (int)(rand_r(&seed) % 6);
			uint32_t host = (rand_r(&seed) % 32) & ~((1u << (32 - len)) - 1);
			unsigned a = 1 + rand_r(&seed) % 40, b = a + rand_r(&seed) % 5;

			snprintf(cidr, sizeof(cidr), "10.1.0.%u/%d", host, len);
			snprintf(ports, sizeof(ports), "%u-%u", a, b > 40 ? 40 : b);
			json_array_append_new(dests, json_pack("{s:s,s:s,s:s}", "cidr", cidr, "protocol",
							       "tcp", "ports", ports));
			want[nw++] = (struct box){ 0x0a010000u + host,
						   0x0a010000u + host + (1u << (32 - len)) - 1, a,
						   b > 40 ? 40 : b };
		}
		payload = json_pack("{s:[{s:[s],s:{s:s,s:o}}]}", "peers", "allowed_ips", "10.77.0.2",
				    "access", "default", "deny", "destinations", dests);
		ck_assert_int_eq(policy_set_from_json(payload, &ps), 0);
		ck_assert_int_eq(nft_compile(ps, "kw0", &text, NULL), 0);
		ng = grant_boxes(text, got, 4096);
		for (size_t i = 0; i < ng; i++) {
			for (size_t j = i + 1; j < ng; j++) {
				bool overlap = got[i].lo <= got[j].hi && got[j].lo <= got[i].hi &&
					       got[i].plo <= got[j].phi && got[j].plo <= got[i].phi;

				ck_assert_msg(!overlap, "round %d: elements %zu and %zu overlap", round, i, j);
			}
		}
		for (uint32_t a = 0x0a010000u; a < 0x0a010020u; a++) {
			for (unsigned port = 1; port <= 41; port++) {
				bool w = false, g = false;

				for (size_t i = 0; i < nw; i++)
					w |= want[i].lo <= a && a <= want[i].hi && want[i].plo <= port &&
					     port <= want[i].phi;
				for (size_t i = 0; i < ng; i++)
					g |= got[i].lo <= a && a <= got[i].hi && got[i].plo <= port &&
					     port <= got[i].phi;
				ck_assert_msg(w == g, "round %d: %08x port %u granted %d compiled %d", round,
					      a, port, w, g);
			}
		}
		free(text);
		policy_set_free(ps);
		json_decref(payload);
	}
}
END_TEST

/* Whole-space destinations (0.0.0.0/0, ::/0) hit the top of the address space. */
START_TEST(compile_whole_space)
{
	char *text = compile_access("{\"default\":\"deny\",\"destinations\":["
				    "{\"cidr\":\"0.0.0.0/0\",\"protocol\":\"tcp\",\"ports\":\"22\"},"
				    "{\"cidr\":\"255.255.255.255\",\"protocol\":\"tcp\",\"ports\":\"23\"},"
				    "{\"cidr\":\"::/0\",\"protocol\":\"any\"},"
				    "{\"cidr\":\"ffff::/16\",\"protocol\":\"any\"}]}",
				    NULL);

	CHECK_HAS_ALL(text,
		      "10.77.0.2 . 0.0.0.0-255.255.255.254 . 6 . 22,\n",
		      "10.77.0.2 . 255.255.255.255 . 6 . 22-23\n",
		      "fd00::2 . ::/0\n");
	ck_assert_ptr_null(strstr(text, "ffff::"));
	free(text);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		ports_lists_and_ranges,
		ports_refused,
		access_absent_allow_deny,
		access_refused,
		sources_overlap,
		bounds,
		compile_v4_v6_deny,
		compile_allow_and_unrestricted,
		compile_no_policy_removes,
		compile_bad_ifname,
		compile_rules_constant,
		compile_overlaps_disjoint,
		compile_whole_space,
	};

	return CHECK_RUN_TESTS("agent_policy", NULL, NULL, 60, tests);
}
