/* Check suite for agent/apply.c: peers and routes changed by difference only. */
#include "config.h"

#include <check.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "check_run.h"

struct rec {
	char log[64][96];
	size_t n;
};

__attribute__((format(printf, 2, 3))) static void note(struct rec *r, const char *fmt, ...)
{
	va_list ap;

	ck_assert_uint_lt(r->n, 64);
	va_start(ap, fmt);
	vsnprintf(r->log[r->n++], sizeof(r->log[0]), fmt, ap);
	va_end(ap);
}

static int op_peer_set(void *ctx, const struct agent_peer *p)
{
	char name[2] = { (char)p->public_key[0], 0 };

	note(ctx, "set %s", name);
	return 0;
}

static int op_peer_remove(void *ctx, const uint8_t key[KW_KEY_LEN])
{
	char name[2] = { (char)key[0], 0 };

	note(ctx, "remove %s", name);
	return 0;
}

static int op_listen_port(void *ctx, uint16_t port)
{
	char t[16];

	snprintf(t, sizeof(t), "%u", port);
	note(ctx, "port %s", t);
	return 0;
}

static int op_mtu(void *ctx, int mtu)
{
	char t[16];

	snprintf(t, sizeof(t), "%d", mtu);
	note(ctx, "mtu %s", t);
	return 0;
}

static int op_address(void *ctx, const struct kw_cidr *a, bool add)
{
	char t[KW_CIDR_STRLEN];

	cidr_format(t, a);
	note(ctx, "addr%c %s", add ? '+' : '-', t);
	return 0;
}

static int op_route(void *ctx, const struct kw_cidr *a, bool add)
{
	char t[KW_CIDR_STRLEN];

	cidr_format(t, a);
	note(ctx, "route%c %s", add ? '+' : '-', t);
	return 0;
}

static const struct apply_ops ops = { op_peer_set, op_peer_remove, op_listen_port,
				      op_mtu,      op_address,     op_route };

/* A peer named by one letter (the first key byte) with the given allowed IPs. */
static struct agent_config *cfg_new(const char *peers, const char *const *allowed, int port)
{
	char json[4096], *p = json;
	size_t i;
	json_t *payload;
	struct agent_config *cfg = NULL;

	p += sprintf(p, "{\"version\":1,\"device_id\":1,\"expires_at\":1,\"interface\":"
			"{\"addresses\":[\"10.77.0.2/32\"],\"mtu\":1420%s},\"peers\":[",
		     port ? ",\"listen_port\":51820" : "");
	for (i = 0; peers[i]; i++) {
		uint8_t k[KW_KEY_LEN];
		char b64[KW_KEY_B64_LEN + 1];

		memset(k, 0, sizeof(k));
		k[0] = (uint8_t)peers[i];
		key_to_base64(b64, k);
		p += sprintf(p, "%s{\"public_key\":\"%s\",\"endpoint\":\"192.0.2.1:51820\",\"allowed_ips\":[",
			     i ? "," : "", b64);
		{
			char copy[256], *save = NULL, *tok;
			bool first = true;

			snprintf(copy, sizeof(copy), "%s", allowed[i] ? allowed[i] : "");
			for (tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
				p += sprintf(p, "%s\"%s\"", first ? "" : ",", tok);
				first = false;
			}
		}
		p += sprintf(p, "]}");
	}
	sprintf(p, "]}");
	payload = json_loads(json, 0, NULL);
	ck_assert_ptr_nonnull(payload);
	ck_assert_int_eq(agent_config_from_json(payload, &cfg), 0);
	json_decref(payload);
	return cfg;
}

static bool has(const struct rec *r, const char *line)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->log[i], line) == 0)
			return true;
	return false;
}

START_TEST(test_from_nothing)
{
	const char *const allowed[] = { "10.77.0.5/32", "10.77.0.6/32" };
	struct agent_config *cfg = cfg_new("ab", allowed, 1);
	struct apply_stats st;
	struct rec r = { .n = 0 };

	ck_assert_int_eq(apply_config(NULL, cfg, &ops, &r, &st), 0);
	ck_assert(has(&r, "port 51820"));
	ck_assert(has(&r, "mtu 1420"));
	ck_assert(has(&r, "addr+ 10.77.0.2/32"));
	ck_assert(has(&r, "set a"));
	ck_assert(has(&r, "set b"));
	ck_assert(has(&r, "route+ 10.77.0.5/32"));
	ck_assert(has(&r, "route+ 10.77.0.6/32"));
	ck_assert_uint_eq(st.peers_added, 2);
	agent_config_free(cfg);
}
END_TEST

START_TEST(test_unchanged_peers_untouched)
{
	const char *const a1[] = { "10.77.0.5/32", "10.77.0.6/32", "10.77.0.7/32" };
	const char *const a2[] = { "10.77.0.5/32", "10.77.0.9/32", "10.77.0.8/32" };
	struct agent_config *old_cfg = cfg_new("abc", a1, 1);
	/* a unchanged, b gets another address, c revoked, d new */
	struct agent_config *new_cfg = cfg_new("abd", a2, 1);
	struct apply_stats st;
	struct rec r = { .n = 0 };

	ck_assert_int_eq(apply_config(old_cfg, new_cfg, &ops, &r, &st), 0);
	ck_assert(!has(&r, "set a"));
	ck_assert(has(&r, "set b"));
	ck_assert(has(&r, "remove c"));
	ck_assert(has(&r, "set d"));
	ck_assert(!has(&r, "remove a"));
	ck_assert(!has(&r, "port 51820"));
	ck_assert(!has(&r, "mtu 1420"));
	ck_assert(!has(&r, "addr+ 10.77.0.2/32"));
	ck_assert(has(&r, "route- 10.77.0.6/32"));
	ck_assert(has(&r, "route- 10.77.0.7/32"));
	ck_assert(has(&r, "route+ 10.77.0.9/32"));
	ck_assert(has(&r, "route+ 10.77.0.8/32"));
	ck_assert(!has(&r, "route+ 10.77.0.5/32"));
	ck_assert_uint_eq(st.peers_kept, 1);
	ck_assert_uint_eq(st.peers_changed, 1);
	ck_assert_uint_eq(st.peers_added, 1);
	ck_assert_uint_eq(st.peers_removed, 1);
	ck_assert_uint_eq(r.n, 7);
	agent_config_free(old_cfg);
	agent_config_free(new_cfg);
}
END_TEST

START_TEST(test_same_config_is_noop)
{
	const char *const a[] = { "10.77.0.5/32", "198.51.100.0/24|10.77.0.0/16" };
	struct agent_config *c1 = cfg_new("ab", a, 0), *c2 = cfg_new("ab", a, 0);
	struct rec r = { .n = 0 };

	ck_assert_int_eq(apply_config(c1, c2, &ops, &r, NULL), 0);
	ck_assert_uint_eq(r.n, 0);
	agent_config_free(c1);
	agent_config_free(c2);
}
END_TEST

START_TEST(test_teardown)
{
	const char *const a[] = { "10.77.0.0/16|198.51.100.0/24|0.0.0.0/0" };
	struct agent_config *cfg = cfg_new("g", a, 0);
	struct rec r = { .n = 0 };

	ck_assert_int_eq(apply_config(cfg, NULL, &ops, &r, NULL), 0);
	ck_assert(has(&r, "remove g"));
	ck_assert(has(&r, "addr- 10.77.0.2/32"));
	ck_assert(has(&r, "route- 10.77.0.0/16"));
	ck_assert(has(&r, "route- 198.51.100.0/24"));
	/* A default route is never installed (it would capture the tunnel's own UDP). */
	ck_assert(!has(&r, "route- 0.0.0.0/0"));
	agent_config_free(cfg);
}
END_TEST

START_TEST(test_routes_dedup)
{
	const char *const a[] = { "10.77.0.0/16|198.51.100.0/24", "10.77.0.0/16|10.77.0.2/32" };
	struct agent_config *cfg = cfg_new("xy", a, 0);
	struct kw_cidr *routes = NULL;
	size_t n = 0;

	ck_assert_int_eq(apply_routes(cfg, &routes, &n), 0);
	/* 10.77.0.0/16 once, 198.51.100.0/24; 10.77.0.2/32 is our own address. */
	ck_assert_uint_eq(n, 2);
	free(routes);
	agent_config_free(cfg);
}
END_TEST

/* A gateway with 10,000 devices: one revocation is one removal, quickly. */
static struct agent_config *gateway_cfg(size_t n, size_t skip)
{
	json_t *peers = json_array(), *payload;
	struct agent_config *cfg = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t k[KW_KEY_LEN] = { 0 };
		char b64[KW_KEY_B64_LEN + 1], ip[32];

		if (i == skip)
			continue;
		k[0] = 'p';
		k[1] = (uint8_t)(i >> 8);
		k[2] = (uint8_t)i;
		key_to_base64(b64, k);
		snprintf(ip, sizeof(ip), "10.77.%zu.%zu/32", i / 250, i % 250 + 2);
		json_array_append_new(peers, json_pack("{s:s, s:n, s:[s]}", "public_key", b64,
						       "endpoint", "allowed_ips", ip));
	}
	payload = json_pack("{s:i, s:i, s:i, s:{s:[s], s:i}, s:o}", "version", 1, "device_id", 1,
			    "expires_at", 1, "interface", "addresses", "10.77.0.1/32", "listen_port",
			    51820, "peers", peers);
	ck_assert_int_eq(agent_config_from_json(payload, &cfg), 0);
	json_decref(payload);
	return cfg;
}

START_TEST(test_gateway_scale)
{
	struct agent_config *old_cfg = gateway_cfg(10000, (size_t)-1), *new_cfg = gateway_cfg(10000, 4321);
	struct apply_stats st;
	struct rec r = { .n = 0 };
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(apply_config(old_cfg, new_cfg, &ops, &r, &st), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_uint_eq(st.peers_removed, 1);
	ck_assert_uint_eq(st.peers_kept, 9999);
	ck_assert_uint_eq(st.routes_removed, 1);
	ck_assert_uint_eq(st.routes_added, 0);
	ck_assert_uint_eq(r.n, 2);
	/* Generous even under sanitizers; quadratic work would take many seconds. */
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 2000);
	agent_config_free(old_cfg);
	agent_config_free(new_cfg);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_from_nothing,
		test_unchanged_peers_untouched,
		test_same_config_is_noop,
		test_teardown,
		test_routes_dedup,
		test_gateway_scale,
	};

	return CHECK_RUN_SODIUM_TESTS("agent_apply", NULL, NULL, 30, tests);
}
