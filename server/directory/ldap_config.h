/* The [ldap] section of keywayd's configuration file: parsed, validated, defaults, compared
 * (its table of keys is in ldap_config.c). */
#ifndef KW_LDAP_CONFIG_H
#define KW_LDAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KW_LDAP_MAX_URIS 8
#define KW_LDAP_PASSWORD_MAX 256

enum kw_ldap_group_style {
	KW_LDAP_GROUP_MEMBER = 0,    /* groupOfNames: member = user DN */
	KW_LDAP_GROUP_UNIQUE_MEMBER, /* groupOfUniqueNames: uniqueMember = user DN */
	KW_LDAP_GROUP_MEMBER_UID,    /* posixGroup: memberUid = username */
	KW_LDAP_GROUP_MEMBER_OF,     /* the user's memberOf = group DN */
};

/* Disabled-account detectors (bit mask). */
enum kw_ldap_disabled {
	KW_LDAP_DISABLED_PPOLICY = 1u << 0,       /* pwdAccountLockedTime present */
	KW_LDAP_DISABLED_NSACCOUNTLOCK = 1u << 1, /* nsAccountLock: TRUE */
	KW_LDAP_DISABLED_AD = 1u << 2,            /* userAccountControl & 0x2 */
	KW_LDAP_DISABLED_SHADOW = 1u << 3,        /* shadowExpire in the past */
};
#define KW_LDAP_DISABLED_ALL 0xfu

struct kw_ldap_config {
	bool enabled;              /* an [ldap] section with a uri */
	char *uris[KW_LDAP_MAX_URIS];
	size_t n_uris;
	bool starttls;
	char *ca_file;
	bool tls_verify;           /* default yes; `tls_verify = no` only for labs */
	char *bind_dn;
	char *bind_password_file;
	char bind_password[KW_LDAP_PASSWORD_MAX]; /* read from the file; zeroed on free */
	char *user_base;
	char *user_filter;         /* template, %s = the escaped username */
	char *user_attribute;      /* the attribute holding the username (derived from the filter) */
	char *vpn_group;
	char *admin_group;         /* optional */
	enum kw_ldap_group_style group_style;
	bool nested_groups;        /* member/uniqueMember: follow groups among the members */
	unsigned nested_depth;     /* levels of nested groups followed (a group in the group = 1) */
	unsigned disabled_checks;
	unsigned sync_interval;    /* s; 0 = no periodic sync */
	unsigned revoke_after;     /* s */
	unsigned mass_change_pct;  /* when mass_change_limit is a percentage, else 0 */
	unsigned mass_change_abs;  /* when it is a count */
	unsigned max_devices_per_user;
	unsigned timeout;          /* s, per operation */
	unsigned network_timeout;  /* s, per connection attempt (default: timeout) */
	unsigned page_size;        /* RFC 2696 page size for sync searches */
	unsigned batch_size;       /* usernames per OR-filter in the sync */
	unsigned pool_size;        /* connections kept open */
	unsigned session_lifetime; /* s, for sessions made by POST /login */
	unsigned login_max_failures; /* failed logins per username/address before 429 */
	unsigned login_max_failures_addr;
	unsigned login_window;     /* s: failures counted over, and the lockout */
	unsigned admin_recheck_interval; /* s: an admin session's request re-checks the directory
					    when its last check is older (0: every request) */
	char *publish_attribute;   /* optional: where active devices' public keys are written */
};

/* Defaults of every key; enabled = false until a uri is set. */
void ldap_config_init(struct kw_ldap_config *cfg);

/*
 * Parse the [ldap] section of the INI file at path (other sections are ignored), then
 * validate and read the bind password file (must be a regular file of mode 0600 or
 * stricter). On error: a negative errno and a one-line reason "FILE:LINE: why" in err.
 */
int ldap_config_load(struct kw_ldap_config *cfg, const char *path, char *err, size_t errlen);

/* Set one key as the parser would (tests, and the parser itself). 0 or -EINVAL with err. */
int ldap_config_set(struct kw_ldap_config *cfg, const char *key, const char *value, char *err, size_t errlen);

/* Check consistency and read the password file. 0 or a negative errno with err. */
int ldap_config_finish(struct kw_ldap_config *cfg, char *err, size_t errlen);

/* Read a secret file: refuses anything but a regular file readable by its owner only. */
int ldap_config_read_secret(const char *path, char *buf, size_t bufsize, char *err, size_t errlen);

/* Free every string and zero the password. */
void ldap_config_free(struct kw_ldap_config *cfg);

/*
 * SIGHUP: write the names of the changed keys ("ldap.vpn_group,ldap.bind_password", …) into
 * out (always terminated; "" when nothing changed) and return how many changed. The bind
 * password is compared, never written out: a new password in the same file counts as
 * "ldap.bind_password". Every key is applied by a reload; only switching the module on or
 * off (a uri appears or goes) needs a restart, which the caller checks.
 */
unsigned ldap_config_diff(const struct kw_ldap_config *a, const struct kw_ldap_config *b, char *out, size_t outlen);

/* The mass-change threshold for n users holding devices: at least 10. */
unsigned ldap_config_mass_limit(const struct kw_ldap_config *cfg, unsigned n_holders);

#endif
