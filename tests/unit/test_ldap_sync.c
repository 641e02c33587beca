/* Check suite: the sync's pure decision (every rule, fail-safe, mass-change guard) and the
 * failed-login limiter. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "directory/ratelimit.h"
#include "directory/sync_plan.h"

#define NOW 1700000000
#define DAY 86400

static struct kw_sync_policy pol(unsigned limit, bool confirm)
{
	struct kw_sync_policy p = { .now = NOW, .revoke_after = 30 * DAY, .mass_limit = limit,
				    .confirm_mass_change = confirm };
	return p;
}

static struct kw_sync_user user(const char *name, int active, int ldap_susp, int64_t since,
				enum kw_ldap_presence pr, bool in_group, unsigned disabled)
{
	struct kw_sync_user u = { .username = name, .active = active, .ldap_suspended = ldap_susp,
				  .ldap_suspended_at = since, .presence = pr, .in_vpn_group = in_group,
				  .disabled = disabled };
	return u;
}

START_TEST(test_rules)
{
	struct kw_sync_user u[] = {
		user("ok", 2, 0, 0, KW_LDAP_USER_FOUND, true, 0),
		user("left-group", 1, 0, 0, KW_LDAP_USER_FOUND, false, 0),
		user("locked", 3, 0, 0, KW_LDAP_USER_FOUND, true, KW_LDAP_DISABLED_PPOLICY),
		user("ad", 1, 0, 0, KW_LDAP_USER_FOUND, true, KW_LDAP_DISABLED_AD),
		user("back", 0, 2, NOW - DAY, KW_LDAP_USER_FOUND, true, 0),
		user("gone", 1, 0, 0, KW_LDAP_USER_MISSING, false, 0),
		user("still-out", 0, 1, NOW - DAY, KW_LDAP_USER_FOUND, false, 0),
		user("too-long", 0, 1, NOW - 30 * DAY, KW_LDAP_USER_FOUND, false, 0),
		user("twin", 1, 0, 0, KW_LDAP_USER_AMBIGUOUS, true, 0),
		user("admin-suspended-only", 0, 0, 0, KW_LDAP_USER_FOUND, true, 0),
	};
	struct kw_sync_policy p = pol(10, false);
	struct kw_sync_plan plan;

	sync_plan_make(u, 10, &p, true, &plan);
	ck_assert_int_eq(plan.outcome, KW_SYNC_OK);
	ck_assert_int_eq(u[0].action, KW_SYNC_NONE);
	ck_assert_int_eq(u[1].action, KW_SYNC_SUSPEND);
	ck_assert_str_eq(u[1].reason, "not_in_vpn_group");
	ck_assert_int_eq(u[2].action, KW_SYNC_SUSPEND);
	ck_assert_str_eq(u[2].reason, "disabled:ppolicy");
	ck_assert_str_eq(u[3].reason, "disabled:ad");
	ck_assert_int_eq(u[4].action, KW_SYNC_RESTORE);
	ck_assert_int_eq(u[5].action, KW_SYNC_REVOKE);
	ck_assert_str_eq(u[5].reason, "deleted");
	ck_assert_int_eq(u[6].action, KW_SYNC_NONE);
	ck_assert_int_eq(u[7].action, KW_SYNC_REVOKE);
	ck_assert_str_eq(u[7].reason, "suspended_too_long");
	ck_assert_int_eq(u[8].action, KW_SYNC_NONE);
	ck_assert_int_eq(u[9].action, KW_SYNC_NONE); /* an admin's suspension is not the sync's to lift */
	ck_assert_uint_eq(plan.checked, 10);
	ck_assert_uint_eq(plan.suspend, 3);
	ck_assert_uint_eq(plan.restore, 1);
	ck_assert_uint_eq(plan.revoke, 2);
	ck_assert_uint_eq(plan.errors, 1);
	ck_assert_uint_eq(plan.cut, 5);
	ck_assert_str_eq(sync_outcome_name(plan.outcome), "ok");
}
END_TEST

/* nested groups not all read: a user found in no group read keeps what they have */
START_TEST(test_group_unknown_changes_nothing)
{
	struct kw_sync_user u[] = {
		user("unknown-active", 1, 0, 0, KW_LDAP_USER_FOUND, false, 0),
		user("unknown-suspended-long", 0, 1, NOW - 40 * DAY, KW_LDAP_USER_FOUND, false, 0),
		user("unknown-but-locked", 1, 0, 0, KW_LDAP_USER_FOUND, false, KW_LDAP_DISABLED_PPOLICY),
		user("out-known", 1, 0, 0, KW_LDAP_USER_FOUND, false, 0),
	};
	struct kw_sync_policy p = pol(10, false);
	struct kw_sync_plan plan;

	u[0].group_unknown = u[1].group_unknown = u[2].group_unknown = true;
	sync_plan_make(u, 4, &p, true, &plan);
	ck_assert_int_eq(plan.outcome, KW_SYNC_OK);
	ck_assert_int_eq(u[0].action, KW_SYNC_NONE);
	ck_assert_int_eq(u[1].action, KW_SYNC_NONE); /* not revoked either */
	ck_assert_int_eq(u[2].action, KW_SYNC_SUSPEND); /* a lock is a fact of its own */
	ck_assert_str_eq(u[2].reason, "disabled:ppolicy");
	ck_assert_int_eq(u[3].action, KW_SYNC_SUSPEND);
	ck_assert_uint_eq(plan.errors, 2);
	ck_assert_uint_eq(plan.suspend, 2);
}
END_TEST

START_TEST(test_revoke_after_boundary)
{
	struct kw_sync_user u[2] = {
		user("a", 0, 1, NOW - 30 * DAY + 1, KW_LDAP_USER_FOUND, true, KW_LDAP_DISABLED_SHADOW),
		user("b", 1, 1, NOW - 30 * DAY, KW_LDAP_USER_FOUND, true, KW_LDAP_DISABLED_SHADOW),
	};
	struct kw_sync_policy p = pol(10, false);
	struct kw_sync_plan plan;

	sync_plan_make(u, 2, &p, true, &plan);
	ck_assert_int_eq(u[0].action, KW_SYNC_NONE);
	ck_assert_int_eq(u[1].action, KW_SYNC_REVOKE);
}
END_TEST

START_TEST(test_directory_failure_changes_nothing)
{
	struct kw_sync_user u[] = {
		user("gone", 1, 0, 0, KW_LDAP_USER_MISSING, false, 0),
		user("left", 1, 0, 0, KW_LDAP_USER_FOUND, false, 0),
	};
	struct kw_sync_policy p = pol(10, true);
	struct kw_sync_plan plan;

	sync_plan_make(u, 2, &p, false, &plan);
	ck_assert_int_eq(plan.outcome, KW_SYNC_FAILED);
	ck_assert_int_eq(u[0].action, KW_SYNC_NONE);
	ck_assert_int_eq(u[1].action, KW_SYNC_NONE);
	ck_assert_uint_eq(plan.suspend + plan.revoke + plan.restore, 0);
	ck_assert_uint_eq(plan.errors, 1);
	ck_assert_str_eq(sync_outcome_name(plan.outcome), "failed");
}
END_TEST

static void half_out(struct kw_sync_user *u, char names[][16], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], 16, "u%zu", i);
		u[i] = user(names[i], 1, 0, 0, KW_LDAP_USER_FOUND, i % 2 == 0, 0);
	}
}

START_TEST(test_mass_change_guard)
{
	struct kw_sync_user u[40];
	char names[40][16];
	struct kw_sync_policy p = pol(10, false); /* 25% of 40 = 10 */
	struct kw_sync_plan plan;

	half_out(u, names, 40);
	sync_plan_make(u, 40, &p, true, &plan);
	ck_assert_int_eq(plan.outcome, KW_SYNC_HELD);
	ck_assert_uint_eq(plan.cut, 20);
	ck_assert_uint_eq(plan.limit, 10);
	ck_assert_uint_eq(plan.suspend, 0);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(u[i].action, KW_SYNC_NONE);
	/* the admin confirms: applied */
	p.confirm_mass_change = true;
	sync_plan_make(u, 40, &p, true, &plan);
	ck_assert_int_eq(plan.outcome, KW_SYNC_OK);
	ck_assert_uint_eq(plan.suspend, 20);
	ck_assert_int_eq(u[1].action, KW_SYNC_SUSPEND);
	ck_assert_int_eq(u[0].action, KW_SYNC_NONE);
	/* exactly at the limit is allowed */
	p.confirm_mass_change = false;
	p.mass_limit = 20;
	sync_plan_make(u, 40, &p, true, &plan);
	ck_assert_int_eq(plan.outcome, KW_SYNC_OK);
}
END_TEST

START_TEST(test_guard_counts_revocations)
{
	struct kw_sync_user u[12];
	char names[12][16];
	struct kw_sync_policy p = pol(10, false);
	struct kw_sync_plan plan;

	for (int i = 0; i < 12; i++) {
		snprintf(names[i], 16, "g%d", i);
		u[i] = user(names[i], 1, 0, 0, KW_LDAP_USER_MISSING, false, 0);
	}
	sync_plan_make(u, 12, &p, true, &plan);
	ck_assert_int_eq(plan.outcome, KW_SYNC_HELD);
	ck_assert_uint_eq(plan.cut, 12);
	ck_assert_int_eq(u[0].action, KW_SYNC_NONE);
}
END_TEST

START_TEST(test_restores_not_guarded_alone)
{
	struct kw_sync_user u[30];
	char names[30][16];
	struct kw_sync_policy p = pol(10, false);
	struct kw_sync_plan plan;

	for (int i = 0; i < 30; i++) {
		snprintf(names[i], 16, "r%d", i);
		u[i] = user(names[i], 0, 1, NOW - 60, KW_LDAP_USER_FOUND, true, 0);
	}
	sync_plan_make(u, 30, &p, true, &plan);
	ck_assert_int_eq(plan.outcome, KW_SYNC_OK);
	ck_assert_uint_eq(plan.restore, 30);
}
END_TEST

START_TEST(test_ratelimit)
{
	struct kw_ratelimit *rl = NULL;
	int64_t ra = 0;

	ck_assert_int_eq(ratelimit_new(64, 3, 300, &rl), 0);
	ck_assert(!ratelimit_blocked(rl, "u:alice", 1000, &ra));
	ratelimit_failure(rl, "u:alice", 1000);
	ratelimit_failure(rl, "u:alice", 1010);
	ck_assert(!ratelimit_blocked(rl, "u:alice", 1010, &ra));
	ratelimit_failure(rl, "u:alice", 1020);
	ck_assert(ratelimit_blocked(rl, "u:alice", 1020, &ra));
	ck_assert_int_eq(ra, 280);
	ck_assert(!ratelimit_blocked(rl, "u:bob", 1020, &ra)); /* per key */
	ck_assert(ratelimit_blocked(rl, "u:alice", 1299, &ra));
	ck_assert_int_eq(ra, 1);
	ck_assert(!ratelimit_blocked(rl, "u:alice", 1300, &ra)); /* window over */
	/* a success forgets */
	ratelimit_failure(rl, "u:carol", 2000);
	ratelimit_failure(rl, "u:carol", 2000);
	ratelimit_success(rl, "u:carol");
	ratelimit_failure(rl, "u:carol", 2001);
	ck_assert(!ratelimit_blocked(rl, "u:carol", 2001, &ra));
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_flood)
{
	struct kw_ratelimit *rl = NULL;
	char key[32];
	int64_t ra;

	ck_assert_int_eq(ratelimit_new(64, 2, 300, &rl), 0);
	ratelimit_failure(rl, "a:192.0.2.1", 100);
	ratelimit_failure(rl, "a:192.0.2.1", 100);
	/* thousands of other keys: the table stays the same size and does not crash */
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "u:x%d", i);
		ratelimit_failure(rl, key, 200 + i / 100);
	}
	(void)ratelimit_blocked(rl, "a:192.0.2.1", 250, &ra);
	ratelimit_free(rl);
	ck_assert_int_eq(ratelimit_new(4, 2, 300, &rl), -EINVAL);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_rules,
		test_revoke_after_boundary,
		test_group_unknown_changes_nothing,
		test_directory_failure_changes_nothing,
		test_mass_change_guard,
		test_guard_counts_revocations,
		test_restores_not_guarded_alone,
		test_ratelimit,
		test_ratelimit_flood,
	};

	return CHECK_RUN_TESTS("ldap_sync", NULL, NULL, 0, tests);
}
