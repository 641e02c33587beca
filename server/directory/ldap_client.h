/*
 * keywayd's view of the corporate directory. ldap.c is the only file that speaks LDAP
 * (this header is not named ldap.h so that it can never shadow OpenLDAP's <ldap.h>).
 *
 * Errors: 0, or -EACCES (bad credentials, unknown or ambiguous user), -EINVAL (refused
 * before asking: empty password, absurd username), -EHOSTUNREACH (no URI answered),
 * -ETIMEDOUT (an operation ran past `timeout`), -ENOENT (the VPN group entry is missing),
 * -E2BIG (a search was truncated), -EIO (anything else the server said).
 */
#ifndef KW_LDAP_CLIENT_H
#define KW_LDAP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ldap_config.h"

struct kw_ldap;

/* Raw disable facts of one entry. */
struct kw_ldap_flags {
	bool pwd_locked;          /* pwdAccountLockedTime present (ppolicy) */
	bool ns_locked;           /* nsAccountLock: TRUE (389-DS, FreeIPA) */
	bool uac_present;
	long long uac;            /* userAccountControl (Active Directory) */
	bool shadow_present;
	long long shadow_expire;  /* days since 1970 */
};

/* Which enabled detectors say the account is disabled (mask of enum kw_ldap_disabled). Pure. */
unsigned ldap_disabled_reasons(const struct kw_ldap_flags *f, unsigned checks, time_t now);
/* Short name of the first reason in the mask ("ppolicy", "nsaccountlock", "ad", "shadow"). */
const char *ldap_disabled_name(unsigned reasons);

#define KW_LDAP_USERNAME_MAX 256

struct kw_ldap_login {
	char username[KW_LDAP_USERNAME_MAX + 1]; /* as the directory spells it (user_attribute) */
	bool in_vpn_group;
	bool is_admin;
	unsigned disabled;                      /* mask of enum kw_ldap_disabled */
};

enum kw_ldap_presence {
	KW_LDAP_USER_UNCHECKED = 0,
	KW_LDAP_USER_FOUND,
	KW_LDAP_USER_MISSING,
	KW_LDAP_USER_AMBIGUOUS, /* several entries: treated as an error for that user */
};

struct kw_ldap_user_fact {
	const char *username;   /* in */
	enum kw_ldap_presence presence;
	bool in_vpn_group;
	bool group_unknown;     /* not in_vpn_group, but nested groups could not all be read */
	unsigned disabled;
	/* only with publish_attribute: the entry's DN and the keys it holds now (owned;
	 * ldap_user_facts_release() frees them) */
	char *dn;
	char **published;
	size_t n_published;
};

/* Free what ldap_dir_check_users() allocated in facts. */
void ldap_user_facts_release(struct kw_ldap_user_fact *facts, size_t n);

struct kw_ldap_check_stats {
	unsigned searches;
	unsigned pages;
	unsigned entries;
};

/* A directory client over cfg (which must outlive it). Connects lazily. */
int ldap_dir_new(const struct kw_ldap_config *cfg, struct kw_ldap **out);
void ldap_dir_free(struct kw_ldap *dir);

/*
 * Search-then-bind: find exactly one entry for username with the service account, bind as
 * it with password (an empty password is refused before any bind), then read group
 * membership and disable flags. The password is never logged or kept.
 */
int ldap_dir_login(struct kw_ldap *dir, const char *username, const char *password, size_t password_len,
		   struct kw_ldap_login *out);
/* The user's standing now, as a login would see it but without a bind: 0 with *out (its
 * password is never involved), -ENOENT when the entry is gone or ambiguous, or another
 * negative errno when the directory cannot answer. */
int ldap_dir_user_roles(struct kw_ldap *dir, const char *username, struct kw_ldap_login *out);
/* The same, calling gate with the entry's own username once it is found and before the
 * bind; a non-zero answer stops there with -EAGAIN (the login limiter's canonical key). */
int ldap_dir_login_gated(struct kw_ldap *dir, const char *username, const char *password, size_t password_len,
			 int (*gate)(void *arg, const char *canonical), void *gate_arg, struct kw_ldap_login *out);

/*
 * The sync's question: for each username, is the entry there, in the VPN group, enabled?
 * Reads the VPN group once and the users in OR-filter batches with paged results. Any
 * failure (unreachable, truncated, group unreadable, a batch with no entries at all) is
 * returned as an error with a one-line reason in err, and then no fact may be trusted.
 * With nested_groups, a user reached by no group read so far while some nested group could
 * not be read (depth limit, an unreadable group) gets group_unknown; the call still
 * returns 0, with the reason in err.
 */
int ldap_dir_check_users(struct kw_ldap *dir, struct kw_ldap_user_fact *facts, size_t n,
			 struct kw_ldap_check_stats *stats, char *err, size_t errlen);

/*
 * Optional: make the publish_attribute of username's entry hold exactly keys (base64
 * WireGuard public keys; n = 0 removes them all). No-op without publish_attribute.
 */
int ldap_dir_publish_keys(struct kw_ldap *dir, const char *username, const char *const *keys, size_t n);
/* The same for a known entry DN (the sync has it from its search). */
int ldap_dir_publish_keys_dn(struct kw_ldap *dir, const char *dn, const char *const *keys, size_t n);

/* Close every pooled connection (the next use reconnects). */
void ldap_dir_disconnect(struct kw_ldap *dir);

#endif
