/*
 * Check suite for agent/gateway_policy.c: when the gateway agent loads, replaces and
 * removes its nftables table. The kernel side is a recording table of operations (the
 * real one is exercised by tests/integration/e2e/gateway_policy.sh).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_run.h"
#include "gateway_policy.h"

static char calls[16][96];
static size_t n_calls;
static int apply_result, remove_result;

static void rec_reset(void)
{
	n_calls = 0;
	apply_result = 0;
	remove_result = 0;
}

static int rec_apply(const struct policy_set *set, const char *ifname, struct nft_state **state,
		     char *err, size_t errlen, struct nft_stats *stats)
{
	(void)state;
	ck_assert_uint_lt(n_calls, 16);
	snprintf(calls[n_calls++], sizeof(calls[0]), "apply %s filters=%d peers=%zu", ifname,
		 set->filters, set->n_peers);
	stats->elements = set->n_peers;
	if (apply_result < 0)
		snprintf(err, errlen, "Error: nftables said no\nline 2 \"quoted\"");
	return apply_result;
}

static int rec_remove(const char *ifname, char *err, size_t errlen)
{
	ck_assert_uint_lt(n_calls, 16);
	snprintf(calls[n_calls++], sizeof(calls[0]), "remove %s", ifname);
	if (remove_result < 0)
		snprintf(err, errlen, "no");
	return remove_result;
}

static const struct gwpol_ops rec_ops = { .apply = rec_apply, .remove = rec_remove };

/* A payload: role (NULL: none), listen_port (<0: none), one peer with access (NULL:
 * without). */
static json_t *payload(const char *role, int port, const char *access)
{
	char text[1024], r[64] = "", lp[32] = "", acc[512] = "";
	json_error_t je;
	json_t *j;

	if (role)
		snprintf(r, sizeof(r), "\"role\":\"%s\",", role);
	if (port >= 0)
		snprintf(lp, sizeof(lp), ",\"listen_port\":%d", port);
	if (access)
		snprintf(acc, sizeof(acc), ",\"access\":%s", access);
	snprintf(text, sizeof(text),
		 "{%s\"interface\":{\"addresses\":[\"10.77.0.1/32\"]%s},"
		 "\"peers\":[{\"public_key\":\"k\",\"allowed_ips\":[\"10.77.0.2/32\"]%s}]}",
		 r, lp, acc);
	j = json_loads(text, 0, &je);
	ck_assert_msg(j != NULL, "%s: %s", text, je.text);
	return j;
}

#define DENY_22 "{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.10\",\"protocol\":\"tcp\",\"ports\":\"22\"}]}"

START_TEST(test_role)
{
	json_t *gw = payload("gateway", 51820, NULL), *laptop = payload("device", -1, NULL);
	json_t *old_gw = payload(NULL, 51820, NULL), *old_laptop = payload(NULL, -1, NULL);
	json_t *odd = payload("device", 51820, NULL);

	ck_assert(gwpol_is_gateway(gw));
	ck_assert(!gwpol_is_gateway(laptop));
	ck_assert(gwpol_is_gateway(old_gw));      /* no role: a listen port says gateway */
	ck_assert(!gwpol_is_gateway(old_laptop));
	ck_assert(!gwpol_is_gateway(odd));        /* the role, when given, decides */
	json_decref(gw);
	json_decref(laptop);
	json_decref(old_gw);
	json_decref(old_laptop);
	json_decref(odd);
}
END_TEST

START_TEST(test_laptop_never_touches_nftables)
{
	struct gwpol g;
	json_t *p = payload("device", -1, DENY_22), *bad = payload("device", -1, "{\"default\":1}");
	char err[256];

	rec_reset();
	gwpol_init(&g, "kw0", &rec_ops, 0);
	gwpol_start(&g, p);
	ck_assert_int_eq(gwpol_apply(&g, p, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(gwpol_apply(&g, bad, 4, err, sizeof(err)), 0); /* not even read */
	gwpol_refresh(&g);
	gwpol_remove(&g, "stop");
	ck_assert_uint_eq(n_calls, 0);
	ck_assert(!g.loaded);
	gwpol_free(&g);
	json_decref(p);
	json_decref(bad);
}
END_TEST

START_TEST(test_start_removes_only_on_gateway)
{
	struct gwpol g;
	json_t *gw = payload("gateway", 51820, NULL), *laptop = payload("device", -1, NULL);

	rec_reset();
	gwpol_init(&g, "kwgw", &rec_ops, 0);
	gwpol_start(&g, NULL);
	gwpol_start(&g, laptop);
	ck_assert_uint_eq(n_calls, 0);
	remove_result = -EIO; /* no nf_tables: logged, not fatal */
	gwpol_start(&g, gw);
	ck_assert_uint_eq(n_calls, 1);
	ck_assert_str_eq(calls[0], "remove kwgw");
	ck_assert(!g.loaded);
	gwpol_free(&g);
	json_decref(gw);
	json_decref(laptop);
}
END_TEST

START_TEST(test_gateway_without_access_loads_nothing)
{
	struct gwpol g;
	json_t *p = payload("gateway", 51820, NULL);
	char err[256];

	rec_reset();
	gwpol_init(&g, "kwgw", &rec_ops, 0);
	ck_assert_int_eq(gwpol_apply(&g, p, 1, err, sizeof(err)), 0);
	gwpol_refresh(&g);
	gwpol_remove(&g, "stop");
	ck_assert_uint_eq(n_calls, 0);
	gwpol_free(&g);
	json_decref(p);
}
END_TEST

START_TEST(test_load_replace_remove)
{
	struct gwpol g;
	json_t *v1 = payload("gateway", 51820, DENY_22);
	json_t *v2 = payload("gateway", 51820, "{\"default\":\"allow\"}");
	json_t *open = payload("gateway", 51820, NULL);
	char err[256];

	rec_reset();
	gwpol_init(&g, "kwgw", &rec_ops, 0);
	ck_assert_int_eq(gwpol_apply(&g, v1, 1, err, sizeof(err)), 0);
	ck_assert(g.loaded);
	ck_assert_uint_eq(g.version, 1);
	ck_assert_int_eq(gwpol_apply(&g, v2, 2, err, sizeof(err)), 0);
	ck_assert_uint_eq(g.version, 2);
	gwpol_refresh(&g); /* the policy in force, again */
	/* a version without access: the table goes (an apply of a set without filters) */
	ck_assert_int_eq(gwpol_apply(&g, open, 3, err, sizeof(err)), 0);
	ck_assert(!g.loaded);
	ck_assert_ptr_null(g.ps);
	gwpol_refresh(&g);          /* nothing loaded: nothing done */
	gwpol_remove(&g, "stop");   /* likewise */
	ck_assert_uint_eq(n_calls, 4);
	ck_assert_str_eq(calls[0], "apply kwgw filters=1 peers=1");
	ck_assert_str_eq(calls[1], "apply kwgw filters=1 peers=1");
	ck_assert_str_eq(calls[2], "apply kwgw filters=1 peers=1");
	ck_assert_str_eq(calls[3], "apply kwgw filters=0 peers=1");
	/* loaded again, then removed on stop */
	ck_assert_int_eq(gwpol_apply(&g, v1, 4, err, sizeof(err)), 0);
	gwpol_remove(&g, "stop");
	ck_assert_uint_eq(n_calls, 6);
	ck_assert_str_eq(calls[5], "remove kwgw");
	ck_assert(!g.loaded);
	ck_assert_ptr_null(g.ps);
	gwpol_free(&g);
	json_decref(v1);
	json_decref(v2);
	json_decref(open);
}
END_TEST

START_TEST(test_refresh_at_most_every_refresh_ms)
{
	struct gwpol g;
	json_t *v1 = payload("gateway", 51820, DENY_22);
	char err[256];

	rec_reset();
	gwpol_init(&g, "kwgw", &rec_ops, 3600 * 1000L);
	ck_assert_int_eq(gwpol_apply(&g, v1, 1, err, sizeof(err)), 0);
	gwpol_refresh(&g); /* loaded just now: not again */
	gwpol_refresh(&g);
	ck_assert_uint_eq(n_calls, 1);
	g.refresh_ms = 0;
	gwpol_refresh(&g);
	ck_assert_uint_eq(n_calls, 2);
	ck_assert_str_eq(calls[1], "apply kwgw filters=1 peers=1");
	/* a failed refresh is tried again at the next round */
	apply_result = -EIO;
	g.refresh_ms = 3600 * 1000L;
	g.loaded_at_ms = 0;
	gwpol_refresh(&g);
	gwpol_refresh(&g);
	ck_assert_uint_eq(n_calls, 4);
	ck_assert(g.loaded);
	apply_result = 0;
	gwpol_remove(&g, "stop");
	gwpol_free(&g);
	json_decref(v1);
}
END_TEST

START_TEST(test_malformed_access_refused)
{
	static const char *const bad[] = {
		"{\"default\":\"maybe\"}",
		"{\"default\":\"deny\",\"destinations\":[{\"cidr\":\"10.1.0.10\",\"protocol\":\"tcp\",\"ports\":\"0\"}]}",
		"{\"default\":\"deny\",\"color\":\"red\"}",
		"[]",
	};
	struct gwpol g;
	json_t *v1 = payload("gateway", 51820, DENY_22);
	char err[256];

	rec_reset();
	gwpol_init(&g, "kwgw", &rec_ops, 0);
	ck_assert_int_eq(gwpol_apply(&g, v1, 1, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *p = payload("gateway", 51820, bad[i]);

		ck_assert_int_eq(gwpol_apply(&g, p, 2 + i, err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, "malformed access");
		json_decref(p);
	}
	/* nothing applied; version 1's policy still in force */
	ck_assert_uint_eq(n_calls, 1);
	ck_assert(g.loaded);
	ck_assert_uint_eq(g.version, 1);
	ck_assert_ptr_nonnull(g.ps);
	gwpol_remove(&g, "stop");
	gwpol_free(&g);
	json_decref(v1);
}
END_TEST

START_TEST(test_apply_failure_keeps_old)
{
	struct gwpol g;
	json_t *v1 = payload("gateway", 51820, DENY_22);
	json_t *v2 = payload("gateway", 51820, "{\"default\":\"allow\"}");
	char err[256];

	rec_reset();
	gwpol_init(&g, "kwgw", &rec_ops, 0);
	ck_assert_int_eq(gwpol_apply(&g, v1, 1, err, sizeof(err)), 0);
	apply_result = -EIO;
	ck_assert_int_eq(gwpol_apply(&g, v2, 2, err, sizeof(err)), -EIO);
	/* nftables' message, on one line without double quotes (a log field) */
	ck_assert_str_eq(err, "Error: nftables said no line 2 'quoted'");
	ck_assert(g.loaded);
	ck_assert_uint_eq(g.version, 1);
	apply_result = -E2BIG;
	ck_assert_int_eq(gwpol_apply(&g, v2, 3, err, sizeof(err)), -E2BIG);
	ck_assert_uint_eq(g.version, 1);
	apply_result = 0;
	ck_assert_int_eq(gwpol_apply(&g, v2, 4, err, sizeof(err)), 0);
	ck_assert_uint_eq(g.version, 4);
	/* a failed removal: still believed loaded, so the next one tries again */
	remove_result = -EIO;
	gwpol_remove(&g, "suspended");
	ck_assert(g.loaded);
	remove_result = 0;
	gwpol_remove(&g, "stop");
	ck_assert(!g.loaded);
	ck_assert_uint_eq(n_calls, 6);
	ck_assert_str_eq(calls[4], "remove kwgw");
	ck_assert_str_eq(calls[5], "remove kwgw");
	gwpol_free(&g);
	json_decref(v1);
	json_decref(v2);
}
END_TEST

START_TEST(test_role_change_removes)
{
	struct gwpol g;
	json_t *v1 = payload("gateway", 51820, DENY_22), *laptop = payload("device", -1, DENY_22);
	char err[256];

	rec_reset();
	gwpol_init(&g, "kwgw", &rec_ops, 0);
	ck_assert_int_eq(gwpol_apply(&g, v1, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(gwpol_apply(&g, laptop, 2, err, sizeof(err)), 0);
	ck_assert(!g.loaded);
	ck_assert_uint_eq(n_calls, 2);
	ck_assert_str_eq(calls[1], "remove kwgw");
	gwpol_free(&g);
	json_decref(v1);
	json_decref(laptop);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_role,
		test_laptop_never_touches_nftables,
		test_start_removes_only_on_gateway,
		test_gateway_without_access_loads_nothing,
		test_load_replace_remove,
		test_refresh_at_most_every_refresh_ms,
		test_malformed_access_refused,
		test_apply_failure_keeps_old,
		test_role_change_removes,
	};

	return CHECK_RUN_TESTS("agent_gwpol", NULL, NULL, 0, tests);
}
