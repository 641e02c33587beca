/*
 * The revocation sync's decision, as a pure function: directory facts + who holds devices
 * -> one action per user, with the fail-safe rules and the mass-change guard. No I/O, no
 * clock (now comes in), so the Check suite can walk every rule.
 */
#ifndef KW_SYNC_PLAN_H
#define KW_SYNC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ldap_client.h"

enum kw_sync_action {
	KW_SYNC_NONE = 0,
	KW_SYNC_SUSPEND, /* every active device of the user */
	KW_SYNC_RESTORE, /* the devices the directory suspended */
	KW_SYNC_REVOKE,  /* every device, for good */
};

struct kw_sync_user {
	/* in: from the store */
	const char *username;
	int active;                 /* active devices */
	int ldap_suspended;         /* devices suspended by an earlier sync */
	int64_t ldap_suspended_at;  /* earliest of those (0: none) */
	/* in: from the directory */
	enum kw_ldap_presence presence;
	bool in_vpn_group;
	bool group_unknown;         /* membership undecided (nested groups not all read) */
	unsigned disabled;          /* mask of enum kw_ldap_disabled */
	/* out */
	enum kw_sync_action action;
	char reason[48];            /* "not_in_vpn_group", "disabled:ppolicy", "deleted", … */
};

enum kw_sync_outcome {
	KW_SYNC_OK = 0,
	KW_SYNC_HELD,   /* mass-change guard: nothing changed, waiting for confirmation */
	KW_SYNC_FAILED, /* directory error: nothing changed */
};

struct kw_sync_policy {
	int64_t now;
	int64_t revoke_after;      /* seconds a directory suspension lasts before revocation */
	unsigned mass_limit;       /* most users a run may cut off without confirmation */
	bool confirm_mass_change;  /* an admin said yes */
};

struct kw_sync_plan {
	enum kw_sync_outcome outcome;
	unsigned checked;   /* users looked at */
	unsigned suspend, restore, revoke;
	unsigned errors;    /* users whose facts were not usable (ambiguous, unchecked, group unknown) */
	unsigned cut;       /* suspend + revoke: what the guard counts */
	unsigned limit;
};

/* directory_ok false: every action NONE and outcome FAILED. */
void sync_plan_make(struct kw_sync_user *users, size_t n, const struct kw_sync_policy *pol, bool directory_ok,
		    struct kw_sync_plan *plan);

const char *sync_outcome_name(enum kw_sync_outcome o); /* "ok" | "held" | "failed" */
const char *sync_action_name(enum kw_sync_action a);   /* "none" | "suspend" | "restore" | "revoke" */

#endif
