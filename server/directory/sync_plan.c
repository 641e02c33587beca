/* The sync's decision rules (see sync_plan.h). Pure: no I/O, no clock. */
#include "config.h"

#include "sync_plan.h"

#include <stdio.h>
#include <string.h>

static void decide(struct kw_sync_user *u, const struct kw_sync_policy *pol, struct kw_sync_plan *plan)
{
	u->action = KW_SYNC_NONE;
	u->reason[0] = '\0';
	switch (u->presence) {
	case KW_LDAP_USER_MISSING:
		/* The entry is gone: revoked for good, like an admin revocation. */
		u->action = KW_SYNC_REVOKE;
		snprintf(u->reason, sizeof(u->reason), "deleted");
		return;
	case KW_LDAP_USER_FOUND:
		break;
	case KW_LDAP_USER_AMBIGUOUS:
	case KW_LDAP_USER_UNCHECKED:
	default:
		/* Facts we cannot trust change nothing for this user. */
		plan->errors++;
		return;
	}
	if (!u->disabled && !u->in_vpn_group && u->group_unknown) {
		/* Not found in the groups read, but some nested group was not read: no change. */
		plan->errors++;
		return;
	}
	if (u->disabled || !u->in_vpn_group) {
		if (u->ldap_suspended > 0 && u->ldap_suspended_at > 0 &&
		    pol->now - u->ldap_suspended_at >= pol->revoke_after) {
			u->action = KW_SYNC_REVOKE;
			snprintf(u->reason, sizeof(u->reason), "suspended_too_long");
		} else if (u->active > 0) {
			u->action = KW_SYNC_SUSPEND;
			if (u->disabled)
				snprintf(u->reason, sizeof(u->reason), "disabled:%s", ldap_disabled_name(u->disabled));
			else
				snprintf(u->reason, sizeof(u->reason), "not_in_vpn_group");
		}
		return;
	}
	if (u->ldap_suspended > 0) {
		u->action = KW_SYNC_RESTORE;
		snprintf(u->reason, sizeof(u->reason), "enabled");
	}
}

void sync_plan_make(struct kw_sync_user *users, size_t n, const struct kw_sync_policy *pol, bool directory_ok,
		    struct kw_sync_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->limit = pol->mass_limit;
	plan->checked = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		users[i].action = KW_SYNC_NONE;
		users[i].reason[0] = '\0';
	}
	if (!directory_ok) {
		plan->outcome = KW_SYNC_FAILED;
		plan->errors = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		decide(&users[i], pol, plan);
		switch (users[i].action) {
		case KW_SYNC_SUSPEND:
			plan->suspend++;
			break;
		case KW_SYNC_RESTORE:
			plan->restore++;
			break;
		case KW_SYNC_REVOKE:
			plan->revoke++;
			break;
		case KW_SYNC_NONE:
			break;
		}
	}
	plan->cut = plan->suspend + plan->revoke;
	if (plan->cut > pol->mass_limit && !pol->confirm_mass_change) {
		/* A broken filter or a renamed OU must never cut off the whole company. */
		for (size_t i = 0; i < n; i++)
			users[i].action = KW_SYNC_NONE;
		plan->outcome = KW_SYNC_HELD;
		plan->suspend = plan->restore = plan->revoke = 0;
		return;
	}
	plan->outcome = KW_SYNC_OK;
}

const char *sync_outcome_name(enum kw_sync_outcome o)
{
	switch (o) {
	case KW_SYNC_OK:
		return "ok";
	case KW_SYNC_HELD:
		return "held";
	case KW_SYNC_FAILED:
	default:
		return "failed";
	}
}

const char *sync_action_name(enum kw_sync_action a)
{
	switch (a) {
	case KW_SYNC_SUSPEND:
		return "suspend";
	case KW_SYNC_RESTORE:
		return "restore";
	case KW_SYNC_REVOKE:
		return "revoke";
	case KW_SYNC_NONE:
	default:
		return "none";
	}
}
