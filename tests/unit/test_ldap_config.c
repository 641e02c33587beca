/* Check suite: the [ldap] section parser and validator, and the password-file rules. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "directory/ratelimit.h"
#include "directory/ldap_config.h"

static char dir[] = "/tmp/kwl-unit-XXXXXX";

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	check_write_file(path, text, mode);
}

static int load(const char *text, struct kw_ldap_config *cfg, char *err, size_t errlen)
{
	char path[256];

	write_file("keywayd.conf", text, 0644);
	snprintf(path, sizeof(path), "%s/keywayd.conf", dir);
	ldap_config_init(cfg);
	return ldap_config_load(cfg, path, err, errlen);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file("ldap.secret", "s3cret\n", 0600);
	write_file("open.secret", "s3cret\n", 0644);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(dir, "/tmp/kwl-unit-XXXXXX");
}

static char *conf_with(const char *extra, const char *secret)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "[server]\nlisten = 127.0.0.1:8080\n\n[ldap]\n"
		 "uri = ldap://127.0.0.1:389 ldaps://127.0.0.2:636        ; two, tried in order\n"
		 "bind_dn = cn=keyway,ou=services,dc=example,dc=com\n"
		 "bind_password_file = %s/%s\n"
		 "user_base = ou=people,dc=example,dc=com\n"
		 "vpn_group = cn=vpn-users,ou=groups,dc=example,dc=com\n%s",
		 dir, secret, extra);
	return buf;
}

START_TEST(test_defaults_and_contract_keys)
{
	struct kw_ldap_config c;
	char err[512] = "";

	ck_assert_int_eq(load(conf_with("starttls = yes\nca_file = /x/ca.pem\n"
					"admin_group = cn=vpn-admins,ou=groups,dc=example,dc=com\n"
					"group_style = memberUid\ndisabled_checks = ppolicy shadow\n"
					"sync_interval = 30\nrevoke_after = 100\nmass_change_limit = 40\n"
					"max_devices_per_user = 2\ntimeout = 3\n",
					"ldap.secret"),
			      &c, err, sizeof(err)),
			 0);
	ck_assert_msg(c.enabled, "%s", err);
	ck_assert_uint_eq(c.n_uris, 2);
	ck_assert_str_eq(c.uris[0], "ldap://127.0.0.1:389");
	ck_assert_str_eq(c.uris[1], "ldaps://127.0.0.2:636");
	ck_assert(c.starttls);
	ck_assert(c.tls_verify);
	ck_assert_str_eq(c.bind_password, "s3cret");
	ck_assert_str_eq(c.user_filter, "(&(objectClass=inetOrgPerson)(uid=%s))");
	ck_assert_str_eq(c.user_attribute, "uid");
	ck_assert_int_eq(c.group_style, KW_LDAP_GROUP_MEMBER_UID);
	ck_assert_uint_eq(c.disabled_checks, KW_LDAP_DISABLED_PPOLICY | KW_LDAP_DISABLED_SHADOW);
	ck_assert_uint_eq(c.sync_interval, 30);
	ck_assert_uint_eq(c.revoke_after, 100);
	ck_assert_uint_eq(c.mass_change_abs, 40);
	ck_assert_uint_eq(c.mass_change_pct, 0);
	ck_assert_uint_eq(c.max_devices_per_user, 2);
	ck_assert_uint_eq(c.timeout, 3);
	ck_assert_uint_eq(c.network_timeout, 3);
	ldap_config_free(&c);
}
END_TEST

START_TEST(test_no_section_means_disabled)
{
	struct kw_ldap_config c;
	char err[512] = "";

	ck_assert_int_eq(load("[server]\nlisten = 127.0.0.1:1\n", &c, err, sizeof(err)), 0);
	ck_assert(!c.enabled);
	ldap_config_free(&c);
}
END_TEST

START_TEST(test_password_file_must_be_private)
{
	struct kw_ldap_config c;
	char err[512] = "";

	ck_assert_int_eq(load(conf_with("", "open.secret"), &c, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "0600"));
	ck_assert_int_eq(c.bind_password[0], 0);
	ldap_config_free(&c);
	ck_assert_int_eq(load(conf_with("", "missing.secret"), &c, err, sizeof(err)), -ENOENT);
	ldap_config_free(&c);
}
END_TEST

START_TEST(test_inline_password_refused)
{
	struct kw_ldap_config c;
	char err[512] = "";

	ck_assert_int_lt(load(conf_with("bind_password = hunter2\n", "ldap.secret"), &c, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "keywayd.conf:"));
	ck_assert_ptr_nonnull(strstr(err, "bind_password_file"));
	ck_assert_ptr_null(strstr(err, "hunter2"));
	ldap_config_free(&c);
}
END_TEST

START_TEST(test_bad_values_name_line)
{
	struct kw_ldap_config c;
	char err[512] = "";
	static const char *bad[] = {
		"uri = http://x\n",      "starttls = maybe\n",      "group_style = nested\n",
		"disabled_checks = ad frobnicate\n", "timeout = 0\n", "sync_interval = -1\n",
		"mass_change_limit = 101%\n", "mass_change_limit = lots\n", "user_filter = uid=%s\n",
		"user_filter = (uid=%d)\n", "user_filter = (uid=alice)\n", "no_such_key = 1\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(load(conf_with(bad[i], "ldap.secret"), &c, err, sizeof(err)) < 0, "accepted %s", bad[i]);
		ck_assert_msg(strstr(err, "keywayd.conf") != NULL, "no file in '%s'", err);
		ldap_config_free(&c);
	}
	/* the line number of the bad key */
	ck_assert_int_lt(load(conf_with("timeout = 0\n", "ldap.secret"), &c, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "keywayd.conf:10:") != NULL, "%s", err);
	ldap_config_free(&c);
}
END_TEST

START_TEST(test_ad_filter_derives_attribute)
{
	struct kw_ldap_config c;
	char err[512] = "";

	ck_assert_int_eq(load(conf_with("user_filter = (&(objectCategory=person)(objectClass=user)(sAMAccountName=%s))\n"
					"group_style = memberOf\n",
					"ldap.secret"),
			      &c, err, sizeof(err)),
			 0);
	ck_assert_str_eq(c.user_attribute, "sAMAccountName");
	ck_assert_int_eq(c.group_style, KW_LDAP_GROUP_MEMBER_OF);
	ldap_config_free(&c);
}
END_TEST

START_TEST(test_nested_keys)
{
	struct kw_ldap_config c;
	char err[512] = "";
	static const char *bad[] = { "nested_groups = maybe\n", "nested_depth = 0\n", "nested_depth = 65\n",
				     "nested_depth = -1\n", "nested_groups = yes\ngroup_style = memberUid\n",
				     "nested_groups = yes\ngroup_style = memberOf\n" };

	/* off by default, 8 levels when on */
	ck_assert_int_eq(load(conf_with("", "ldap.secret"), &c, err, sizeof(err)), 0);
	ck_assert(!c.nested_groups);
	ck_assert_uint_eq(c.nested_depth, 8);
	ldap_config_free(&c);
	ck_assert_int_eq(load(conf_with("nested_groups = yes\nnested_depth = 64\ngroup_style = uniqueMember\n",
					"ldap.secret"), &c, err, sizeof(err)), 0);
	ck_assert(c.nested_groups);
	ck_assert_uint_eq(c.nested_depth, 64);
	ldap_config_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(load(conf_with(bad[i], "ldap.secret"), &c, err, sizeof(err)) < 0, "accepted %s", bad[i]);
		ck_assert_msg(strstr(err, "nested_") != NULL, "no key in '%s'", err);
		ldap_config_free(&c);
	}
}
END_TEST

START_TEST(test_mass_limit)
{
	struct kw_ldap_config c;

	ldap_config_init(&c);
	ck_assert_uint_eq(ldap_config_mass_limit(&c, 4), 10);     /* 25% of 4 = 1, floor 10 */
	ck_assert_uint_eq(ldap_config_mass_limit(&c, 100), 25);
	ck_assert_uint_eq(ldap_config_mass_limit(&c, 10000), 2500);
	ck_assert_int_eq(ldap_config_set(&c, "mass_change_limit", "3", NULL, 0), 0);
	ck_assert_uint_eq(ldap_config_mass_limit(&c, 10000), 10); /* at least 10 either way */
	ck_assert_int_eq(ldap_config_set(&c, "mass_change_limit", "50", NULL, 0), 0);
	ck_assert_uint_eq(ldap_config_mass_limit(&c, 10000), 50);
	ck_assert_int_eq(ldap_config_set(&c, "mass_change_limit", "10%", NULL, 0), 0);
	ck_assert_uint_eq(ldap_config_mass_limit(&c, 1000), 100);
	ldap_config_free(&c);
}
END_TEST

/* SIGHUP: which [ldap] keys changed; the password compared, never named by value. */
START_TEST(test_config_diff)
{
	struct kw_ldap_config a, b;
	char err[512], out[512], text[1024];

	ck_assert_int_eq(load(conf_with("", "ldap.secret"), &a, err, sizeof(err)), 0);
	ck_assert_int_eq(load(conf_with("", "ldap.secret"), &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(ldap_config_diff(&a, &b, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ldap_config_free(&b);
	/* same file name, new content: the password changed */
	write_file("ldap.secret", "an0ther\n", 0600);
	ck_assert_int_eq(load(conf_with("vpn_group = cn=other,ou=groups,dc=example,dc=com\nsession_lifetime = 600\n"
					"login_max_failures_address = 7\nmass_change_limit = 40\n",
					"ldap.secret"),
			      &b, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(ldap_config_diff(&a, &b, out, sizeof(out)), 5);
	ck_assert_str_eq(out, "ldap.bind_password,ldap.vpn_group,ldap.mass_change_limit,ldap.session_lifetime,"
			      "ldap.login_max_failures_address");
	ck_assert_ptr_null(strstr(out, "an0ther"));
	/* a short buffer: still terminated, the count still right */
	ck_assert_uint_eq(ldap_config_diff(&a, &b, out, 12), 5);
	ck_assert_uint_lt(strlen(out), 12);
	ldap_config_free(&b);
	snprintf(text, sizeof(text),
		 "[ldap]\nuri = ldap://127.0.0.9\nbind_dn = cn=other,dc=example,dc=com\nbind_password_file = %s/ldap.secret\n"
		 "user_base = ou=people,dc=example,dc=com\nvpn_group = cn=vpn-users,ou=groups,dc=example,dc=com\n",
		 dir);
	ck_assert_int_eq(load(text, &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(ldap_config_diff(&a, &b, out, sizeof(out)), 3);
	ck_assert_str_eq(out, "ldap.uri,ldap.bind_dn,ldap.bind_password");
	ldap_config_free(&a);
	ldap_config_free(&b);
}
END_TEST

/* SIGHUP changes the login limits of the running limiter; counted failures stay. */
START_TEST(test_ratelimit_set_limits)
{
	struct kw_ratelimit *rl = NULL;
	int64_t ra = 0;

	ck_assert_int_eq(ratelimit_new(64, 5, 300, &rl), 0);
	for (int i = 0; i < 3; i++)
		ratelimit_failure(rl, "u:alice", 1000);
	ck_assert(!ratelimit_blocked(rl, "u:alice", 1000, &ra));
	ck_assert_int_eq(ratelimit_set_limits(rl, 3, 60), 0);
	ck_assert(ratelimit_blocked(rl, "u:alice", 1001, &ra));
	ck_assert_int_eq(ra, 59);
	ck_assert_int_eq(ratelimit_set_limits(rl, 0, 60), -EINVAL);
	ck_assert_int_eq(ratelimit_set_limits(rl, 3, 0), -EINVAL);
	ck_assert(!ratelimit_blocked(rl, "u:alice", 1061, &ra)); /* the new window is over */
	ratelimit_free(rl);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_defaults_and_contract_keys,
		test_no_section_means_disabled,
		test_password_file_must_be_private,
		test_inline_password_refused,
		test_bad_values_name_line,
		test_ad_filter_derives_attribute,
		test_mass_limit,
		test_nested_keys,
		test_config_diff,
		test_ratelimit_set_limits,
	};

	return CHECK_RUN_TESTS("ldap_config", setup, teardown, 0, tests);
}
