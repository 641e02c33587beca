/*
 * The config contract between keywayd and the gateway agent, checked end to end in
 * process: gateway payloads keywayd builds (wgconf_payload) for every kind of destination
 * a policy may hold go through the gateway's own parser (agent/policy.c, the contract's
 * reference) and compiler (agent/nft.c, text only: nothing reaches nftables), and must be
 * accepted with the access keywayd meant.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_run.h"
#include "core/token.h"
#include "core/wgconf.h"
#include "nft.h"
#include "policy.h"
#include "server_fixture.h"
#include "store/store.h"

static struct fixture F;

static void setup(void)
{
	fixture_up(&F, "10.77.0.0/16", 0);
}

static void teardown(void)
{
	fixture_down(&F);
}

static int64_t site(const char *name, const char *routes, enum kw_site_action def)
{
	struct kw_cidr r[4];
	struct kw_site_change c = { .name = name, .has_routes = true, .routes = r, .has_action = true,
				    .default_action = def, .conf_routes = F.conf.routes, .nconf_routes = F.conf.nroutes };
	char buf[256], other[256], *save = NULL, *tok;
	int64_t id;

	snprintf(buf, sizeof(buf), "%s", routes);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		ck_assert_int_eq(cidr_parse_network(&r[c.nroutes++], tok), 0);
	ck_assert_int_eq(store_site_create(F.srv.store, &c, "t", 1, &id, other), 0);
	return id;
}

static void enroll(const char *user, enum kw_device_role role, int64_t site_id, struct kw_device *d)
{
	uint8_t hash[32];
	char tok[64];
	int64_t id;

	if (role == KW_DEV_GATEWAY) {
		token_new(tok, KW_TOKEN_PREFIX_ENROLL, hash);
		ck_assert_int_eq(store_site_token_create(F.srv.store, user, site_id, (int64_t)time(NULL) + 600, 1, hash, "t",
							 1, &id), 0);
	} else {
		fixture_enroll_token(&F, user, role, 1, tok);
	}
	ck_assert_int_eq(fixture_enroll(&F, tok, (int64_t)time(NULL), d, NULL), 0);
}

static void policy(const char *name, int64_t site_id, const char *users, const char *dests)
{
	struct kw_policy_row p = { .name = name, .site_id = site_id, .groups = "[]", .users = users,
				   .destinations = dests };
	int64_t id;

	ck_assert_int_eq(store_policy_create(F.srv.store, &p, "t", 1, &id), 0);
}

/* The gateway's payload, parsed by the gateway's parser and compiled. */
static struct policy_set *gateway_view(struct kw_device *gw)
{
	struct policy_set *set = NULL;
	struct nft_stats stats;
	char *text = NULL, *rules = NULL;
	json_t *p;

	ck_assert_int_eq(store_device_get(F.srv.store, gw->id, gw), 0);
	ck_assert_int_eq(wgconf_payload(&F.srv, gw, 1000, &text), 0);
	p = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_msg(policy_set_from_json(p, &set) == 0, "the gateway refuses keywayd's payload: %s", text);
	ck_assert_int_eq(nft_compile(set, "kwtest0", &rules, &stats), 0);
	free(rules);
	json_decref(p);
	free(text);
	return set;
}

START_TEST(test_every_destination_kind_is_accepted)
{
	struct kw_device gw, alice, bob;
	struct policy_set *set;
	int64_t hq = site("hq", "10.1.0.0/24,fd10::/64", KW_SITE_DENY);

	enroll("ops", KW_DEV_GATEWAY, hq, &gw);
	enroll("alice", KW_DEV_DEVICE, 0, &alice);
	enroll("bob", KW_DEV_DEVICE, 0, &bob);
	policy("all-kinds", hq, "[\"alice\"]",
	       "[{\"cidr\":\"10.1.0.10/32\",\"protocol\":\"tcp\",\"ports\":\"22,443,8000-8100\"},"
	       "{\"cidr\":\"10.1.0.11/32\",\"protocol\":\"tcp\",\"ports\":\"\"},"
	       "{\"cidr\":\"10.1.0.53/32\",\"protocol\":\"udp\",\"ports\":\"53\"},"
	       "{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"icmp\",\"ports\":\"\"},"
	       "{\"cidr\":\"10.1.0.128/25\",\"protocol\":\"any\",\"ports\":\"\"},"
	       "{\"cidr\":\"fd10::/64\",\"protocol\":\"icmp\",\"ports\":\"\"},"
	       "{\"cidr\":\"10.77.0.0/16\",\"protocol\":\"tcp\",\"ports\":\"22\"}]");
	set = gateway_view(&gw);
	ck_assert(set->filters);
	ck_assert_uint_eq(set->n_peers, 2);
	/* peers in id order: alice, then bob */
	ck_assert_int_eq(set->peers[0].def, POLICY_DEFAULT_DENY);
	ck_assert_uint_eq(set->peers[0].n_dests, 7);
	ck_assert_int_eq(set->peers[0].dests[0].proto, POLICY_PROTO_TCP);
	ck_assert_uint_eq(set->peers[0].dests[0].n_ports, 3);
	ck_assert_uint_eq(set->peers[0].dests[1].n_ports, 1); /* every port */
	ck_assert_uint_eq(set->peers[0].dests[1].ports[0].hi, 65535);
	ck_assert_int_eq(set->peers[0].dests[3].proto, POLICY_PROTO_ICMP);
	ck_assert_int_eq(set->peers[1].def, POLICY_DEFAULT_DENY);
	ck_assert_uint_eq(set->peers[1].n_dests, 0);
	ck_assert_uint_eq(set->peers[0].n_sources, 1); /* its /32 */
	policy_set_free(set);
}
END_TEST

START_TEST(test_allow_site_and_upgraded_default)
{
	struct kw_device gw_dc, gw_def, alice;
	struct policy_set *set;
	int64_t dc = site("dc", "10.2.0.0/24", KW_SITE_ALLOW);
	struct kw_site def;

	ck_assert_int_eq(store_site_by_name(F.srv.store, "default", &def), 0);
	enroll("ops", KW_DEV_GATEWAY, dc, &gw_dc);
	enroll("ops", KW_DEV_GATEWAY, def.id, &gw_def);
	enroll("alice", KW_DEV_DEVICE, 0, &alice);
	policy("d2d", dc, "[\"alice\"]", "[{\"cidr\":\"10.77.0.0/16\",\"protocol\":\"any\",\"ports\":\"\"}]");
	/* an "allow" site: the gateway allows everything but other tunnel devices, unless granted */
	set = gateway_view(&gw_dc);
	ck_assert(set->filters);
	ck_assert_int_eq(set->peers[0].def, POLICY_DEFAULT_ALLOW);
	ck_assert_uint_eq(set->peers[0].n_dests, 1);
	policy_set_free(set);
	/* the upgraded install's 'default' site: no "access" at all, the gateway filters nothing */
	set = gateway_view(&gw_def);
	ck_assert(!set->filters);
	ck_assert_int_eq(set->peers[0].def, POLICY_UNRESTRICTED);
	policy_set_free(set);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_every_destination_kind_is_accepted,
		test_allow_site_and_upgraded_default,
	};

	return CHECK_RUN_TESTS("sites_contract", setup, teardown, 60, tests);
}
