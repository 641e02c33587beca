/* Check suite: what SIGHUP does with keywayd's own keys (conf_diff.c), and the version bump
 * a changed payload setting causes (store_net_refresh). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <string.h>

#include "check_run.h"
#include "core/conf_diff.h"
#include "server_fixture.h"
#include "store/store.h"

static void load(struct kw_conf *c, const char *text)
{
	char err[600];

	conf_defaults(c);
	ck_assert_msg(conf_load_string(c, "k.conf", text, err, sizeof(err)) == 0, "%s", err);
}

static const char base[] = "[server]\nlisten = 127.0.0.1:8080\n[network]\ncidr = 10.77.0.0/16\n"
			   "routes = 192.168.10.0/24\nmtu = 1420\n[log]\nlevel = info\n";

START_TEST(test_same_file_no_change)
{
	struct kw_conf a, b;
	struct kw_conf_change ch[32];

	load(&a, base);
	load(&b, base);
	ck_assert_uint_eq(conf_diff(&a, &b, ch, 32), 0);
	/* the same values spelled differently are the same values */
	load(&b, "[network]\nroutes = 192.168.10.0/24 ,\nmtu=1420\n[server]\nlisten = 127.0.0.1:8080\n");
	ck_assert_uint_eq(conf_diff(&a, &b, ch, 32), 0);
}
END_TEST

START_TEST(test_each_key_classified)
{
	static const struct {
		const char *text, *key;
		bool live, payload;
	} cases[] = {
		{ "[server]\nlisten = 127.0.0.1:8081\n", "server.listen", false, false },
		{ "[server]\nstate_dir = /tmp/kwr-other\n", "server.state_dir", false, false },
		{ "[server]\nthreads = 2\n", "server.threads", false, false },
		{ "[server]\nmax_connections = 100\n", "server.max_connections", false, false },
		{ "[network]\ncidr = 10.78.0.0/16\n", "network.cidr", false, false },
		{ "[network]\ncidr6 = fd00:77::/64\n", "network.cidr6", false, false },
		{ "[network]\naddress_quarantine = 5\n", "network.address_quarantine", false, false },
		{ "[network]\nroutes = 192.168.10.0/24, 192.168.11.0/24\n", "network.routes", true, true },
		{ "[network]\ngateway_endpoint = gw.example.com:51821\n", "network.gateway_endpoint", true, true },
		{ "[network]\ngateway_port = 51999\n", "network.gateway_port", true, true },
		{ "[network]\nconfig_lifetime = 3600\n", "network.config_lifetime", true, true },
		{ "[network]\nmtu = 1380\n", "network.mtu", true, true },
		{ "[network]\npersistent_keepalive = 0\n", "network.persistent_keepalive", true, true },
		{ "[log]\nlevel = debug\n", "log.level", true, false },
	};
	struct kw_conf a, b;
	struct kw_conf_change ch[32];
	char text[1024];

	load(&a, base);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", base, cases[i].text);
		load(&b, text);
		ck_assert_msg(conf_diff(&a, &b, ch, 32) == 1, "%s", cases[i].key);
		ck_assert_str_eq(ch[0].key, cases[i].key);
		ck_assert_msg(ch[0].live == cases[i].live && ch[0].payload == cases[i].payload, "%s", cases[i].key);
	}
	/* tls_cert and tls_key come together (conf.c checks that) */
	snprintf(text, sizeof(text), "%s[server]\ntls_cert = /a.pem\ntls_key = /a.key\n", base);
	load(&b, text);
	ck_assert_uint_eq(conf_diff(&a, &b, ch, 32), 2);
	ck_assert_str_eq(ch[0].key, "server.tls_cert");
	ck_assert_str_eq(ch[1].key, "server.tls_key");
	ck_assert(!ch[0].live && !ch[1].live);
	ck_assert_uint_ge(conf_diff_nkeys(), 16);
	/* more changes than room: the count is still right */
	snprintf(text, sizeof(text), "%s[network]\nmtu = 1300\ncidr = 10.1.0.0/16\n[log]\nlevel = warn\n", base);
	load(&b, text);
	ck_assert_uint_eq(conf_diff(&a, &b, ch, 1), 3);
}
END_TEST

START_TEST(test_merge_keeps_restart_only_values)
{
	struct kw_conf a, b, m;
	struct kw_conf_change ch[32];
	char text[1024];

	load(&a, base);
	snprintf(text, sizeof(text),
		 "%s[server]\nlisten = 127.0.0.1:9999\nthreads = 9\n[network]\ncidr = 10.1.0.0/16\nmtu = 1300\n"
		 "routes = 172.16.0.0/12\ngateway_endpoint = gw2.example.com:1\n[log]\nlevel = debug\n",
		 base);
	load(&b, text);
	conf_merge_live(&m, &a, &b);
	ck_assert_str_eq(m.listen, "127.0.0.1:8080");
	ck_assert_int_eq(m.threads, a.threads);
	ck_assert(memcmp(m.cidr.addr, a.cidr.addr, 4) == 0);
	ck_assert_int_eq(m.mtu, 1300);
	ck_assert_int_eq(m.nroutes, 1);
	ck_assert_str_eq(m.gateway_endpoint, "gw2.example.com:1");
	ck_assert_str_eq(m.log_level, "debug");
	/* after the merge only the restart-only keys still differ from the file */
	ck_assert_uint_eq(conf_diff(&m, &b, ch, 32), 3);
	for (int i = 0; i < 3; i++)
		ck_assert(!ch[i].live);
}
END_TEST

START_TEST(test_fingerprint_follows_payload_keys)
{
	struct kw_conf a, b;
	char fa[65], fb[65], text[1024];

	load(&a, base);
	conf_net_fingerprint(&a, fa);
	snprintf(text, sizeof(text), "%s[log]\nlevel = debug\n[server]\nthreads = 2\n", base);
	load(&b, text);
	conf_net_fingerprint(&b, fb);
	ck_assert_str_eq(fa, fb); /* nothing a payload carries */
	snprintf(text, sizeof(text), "%s[network]\npersistent_keepalive = 10\n", base);
	load(&b, text);
	conf_net_fingerprint(&b, fb);
	ck_assert_str_ne(fa, fb);
}
END_TEST

static int changes;
static int64_t last_scope = -1;

static void on_change(void *arg, int64_t scope)
{
	(void)arg;
	changes++;
	last_scope = scope;
}

START_TEST(test_store_net_refresh_bumps_versions)
{
	struct fixture f;
	struct kw_device d, d2;
	struct kw_conf b;
	char tok[64], fp[65], text[1024];

	fixture_up(&f, "10.77.0.0/16", 0);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&f, tok, 1000, &d, NULL), 0);
	store_set_change_cb(f.srv.store, on_change, NULL);
	/* the fingerprint the store was opened with (the fixture's): nothing to do */
	ck_assert_int_eq(store_net_refresh(f.srv.store, "test"), 0);
	ck_assert_int_eq(changes, 0);
	snprintf(text, sizeof(text), "[network]\ncidr = 10.77.0.0/16\nmtu = 1300\n");
	load(&b, text);
	conf_net_fingerprint(&b, fp);
	ck_assert_int_eq(store_net_refresh(f.srv.store, fp), 1);
	ck_assert_int_eq(changes, 1);
	ck_assert_int_eq(last_scope, KW_CHANGE_ALL);
	ck_assert_int_eq(store_device_get(f.srv.store, d.id, &d2), 0);
	ck_assert_int_gt(d2.version, d.version);
	/* the same again: no second bump */
	ck_assert_int_eq(store_net_refresh(f.srv.store, fp), 0);
	ck_assert_int_eq(changes, 1);
	ck_assert_int_eq(store_net_refresh(f.srv.store, "not-hex-but-too-long-0123456789012345678901234567890123456789"
							"0123456789"),
			 -EINVAL);
	store_set_change_cb(f.srv.store, NULL, NULL);
	fixture_down(&f);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_same_file_no_change,
		test_each_key_classified,
		test_merge_keeps_restart_only_values,
		test_fingerprint_follows_payload_keys,
		test_store_net_refresh_bumps_versions,
	};

	return CHECK_RUN_TESTS("conf_diff", NULL, NULL, 0, tests);
}
