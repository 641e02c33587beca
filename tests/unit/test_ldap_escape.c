/* Check suite: RFC 4515 filter escaping, RFC 4514 DN escaping, filter templates, detectors. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "directory/ldap_client.h"
#include "directory/ldap_escape.h"

static char *fesc(const char *s)
{
	char *out = NULL;

	ck_assert_int_eq(ldap_filter_escape_dup(s, strlen(s), &out), 0);
	return out;
}

static void assert_filter_escape(const char *in, const char *want)
{
	char *got = fesc(in);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_filter_escape_specials)
{
	assert_filter_escape("alice", "alice");
	assert_filter_escape("*", "\\2a");
	assert_filter_escape("(", "\\28");
	assert_filter_escape(")", "\\29");
	assert_filter_escape("\\", "\\5c");
	assert_filter_escape("a*b(c)d\\e", "a\\2ab\\28c\\29d\\5ce");
	/* UTF-8 passes through untouched */
	assert_filter_escape("j\xc3\xbcrgen", "j\xc3\xbcrgen");
}
END_TEST

START_TEST(test_filter_escape_nul)
{
	char *out = NULL;

	ck_assert_int_eq(ldap_filter_escape_dup("a\0b", 3, &out), 0);
	ck_assert_str_eq(out, "a\\00b");
	free(out);
}
END_TEST

/* Known LDAP filter injection strings: after expansion the filter has exactly the
 * template's structure, and the value cannot hold an unescaped special. */
static void assert_one_equality(const char *username)
{
	const char *tmpl = "(&(objectClass=inetOrgPerson)(uid=%s))";
	char *f = NULL;
	int depth = 0, max_depth = 0, opens = 0;

	ck_assert_int_eq(ldap_filter_from_template(tmpl, username, &f), 0);
	for (const char *p = f; *p; p++) {
		if (*p == '(') {
			opens++;
			if (++depth > max_depth)
				max_depth = depth;
		} else if (*p == ')') {
			depth--;
		} else if (*p == '*') {
			ck_abort_msg("unescaped * in %s", f);
		}
	}
	ck_assert_int_eq(depth, 0);
	ck_assert_int_eq(opens, 3);
	ck_assert_int_eq(max_depth, 2);
	ck_assert_ptr_nonnull(strstr(f, "(&(objectClass=inetOrgPerson)(uid="));
	free(f);
}

/* tmpl expanded with value is exactly want. */
static void assert_filter(const char *tmpl, const char *value, const char *want)
{
	char *f = NULL;
	int ret = ldap_filter_from_template(tmpl, value, &f);

	check_str_answer(ret, f, want);
}

START_TEST(test_filter_injections)
{
	char *f = NULL;
	char longname[5000];

	assert_one_equality("*");
	assert_one_equality("*)(uid=*");
	assert_one_equality("admin)(|(uid=*");
	assert_one_equality("\\00");
	assert_one_equality("admin*");
	assert_one_equality("*)(|(objectClass=*))(&(uid=x");
	assert_filter("(uid=%s)", "*)(uid=*", "(uid=\\2a\\29\\28uid=\\2a)");
	assert_filter("(uid=%s)", "admin)(|(uid=*", "(uid=admin\\29\\28|\\28uid=\\2a)");
	assert_filter("(uid=%s)", "\\00", "(uid=\\5c00)");
	/* several %s */
	assert_filter("(|(uid=%s)(mail=%s))", "a*", "(|(uid=a\\2a)(mail=a\\2a))");
	/* absurdly long values are refused, not truncated */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(ldap_filter_from_template("(uid=%s)", longname, &f), -E2BIG);
	ck_assert_ptr_null(f);
}
END_TEST

static void assert_dn_escape(const char *in, size_t len, const char *want)
{
	char *out = NULL;
	int ret = ldap_dn_escape_dup(in, len, &out);

	check_str_answer(ret, out, want);
}

START_TEST(test_dn_escape)
{
	assert_dn_escape("alice", 5, "alice");
	assert_dn_escape("Smith, John", 11, "Smith\\, John");
	assert_dn_escape("a+b", 3, "a\\+b");
	assert_dn_escape("x=y", 3, "x\\=y");
	assert_dn_escape("\"q\"", 3, "\\\"q\\\"");
	assert_dn_escape("<a>;b\\", 6, "\\<a\\>\\;b\\\\");
	assert_dn_escape("#lead", 5, "\\#lead");
	assert_dn_escape(" both ", 6, "\\ both\\ ");
	assert_dn_escape("mid#dle", 7, "mid#dle");
	assert_dn_escape("a\0b", 3, "a\\00b");
	assert_dn_escape("tab\there", 8, "tab\\09here");
	/* the classic: a uid that would add an RDN */
	assert_dn_escape("x,ou=admins", 11, "x\\,ou\\=admins");
}
END_TEST

START_TEST(test_disabled_detectors)
{
	struct kw_ldap_flags f = { 0 };
	time_t now = 1700000000; /* day 19675 */

	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL, now), 0);
	f.pwd_locked = true;
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL, now), KW_LDAP_DISABLED_PPOLICY);
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL & ~KW_LDAP_DISABLED_PPOLICY, now), 0);
	ck_assert_str_eq(ldap_disabled_name(KW_LDAP_DISABLED_PPOLICY), "ppolicy");
	memset(&f, 0, sizeof(f));
	f.ns_locked = true;
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL, now), KW_LDAP_DISABLED_NSACCOUNTLOCK);
	memset(&f, 0, sizeof(f));
	f.uac_present = true;
	f.uac = 512; /* NORMAL_ACCOUNT */
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL, now), 0);
	f.uac = 514; /* NORMAL_ACCOUNT | ACCOUNTDISABLE */
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL, now), KW_LDAP_DISABLED_AD);
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_PPOLICY, now), 0);
	memset(&f, 0, sizeof(f));
	f.shadow_present = true;
	f.shadow_expire = 19676; /* tomorrow */
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL, now), 0);
	f.shadow_expire = 19675; /* today: expired */
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL, now), KW_LDAP_DISABLED_SHADOW);
	f.shadow_expire = -1;
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL, now), 0);
	f.shadow_expire = 0;
	ck_assert_uint_eq(ldap_disabled_reasons(&f, KW_LDAP_DISABLED_ALL, now), 0);
	ck_assert_str_eq(ldap_disabled_name(0), "none");
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_filter_escape_specials,
		test_filter_escape_nul,
		test_filter_injections,
		test_dn_escape,
		test_disabled_detectors,
	};

	return CHECK_RUN_TESTS("ldap_escape", NULL, NULL, 0, tests);
}
