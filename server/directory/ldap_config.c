/*
 * The [ldap] section of keywayd's INI file: one table of keys (see core/confschema.h), the
 * cross-field checks, and the bind password file (0600, zeroed when freed).
 */
#include "config.h"

#include "ldap_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/confschema.h"
#include "directory.h"

static int parse_mass_limit(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len);

static const struct cs_custom mass_limit = { parse_mass_limit, "percentage or count" };
static const char *const ldap_schemes[] = { "ldap://", "ldaps://", NULL };
static const struct cs_word group_styles[] = {
	{ "member", KW_LDAP_GROUP_MEMBER, false },
	{ "uniqueMember", KW_LDAP_GROUP_UNIQUE_MEMBER, false },
	{ "memberUid", KW_LDAP_GROUP_MEMBER_UID, false },
	{ "memberOf", KW_LDAP_GROUP_MEMBER_OF, false },
};
static const struct cs_word detectors[] = {
	{ "ppolicy", KW_LDAP_DISABLED_PPOLICY, false },
	{ "nsaccountlock", KW_LDAP_DISABLED_NSACCOUNTLOCK, false },
	{ "ad", KW_LDAP_DISABLED_AD, false },
	{ "shadow", KW_LDAP_DISABLED_SHADOW, false },
};

/* Every key is live: SIGHUP builds a new directory client from the whole section (only a uri
 * appearing in or leaving a file that had none / had one waits for a restart). The order is
 * the order SIGHUP names changed keys in. */
#define L struct kw_ldap_config
#define LIVE CS_LIVE
#define S (CS_LIVE | CS_ALLOC)
static const struct cs_key ldap_keys[] = {
	{ "ldap.uri", CS_URI_LIST, LIVE, CS_FIELD(L, uris), CS_AUX(L, n_uris), .max = KW_LDAP_MAX_URIS,
	  .arg = ldap_schemes, .shown = "none (LDAP off)",
	  .doc = "space-separated `ldap://`/`ldaps://` URIs, tried in order on every (re)connection; adding the first "
		 "or removing the last takes effect at the next restart" },
	{ "ldap.starttls", CS_BOOL, LIVE, CS_FIELD(L, starttls), .def = "no",
	  .doc = "`yes`: StartTLS on `ldap://` URIs, failing closed" },
	{ "ldap.ca_file", CS_PATH, S, CS_FIELD(L, ca_file), .shown = "system store",
	  .doc = "PEM CA bundle for `ldaps://`/StartTLS" },
	{ "ldap.tls_verify", CS_BOOL, LIVE, CS_FIELD(L, tls_verify), .def = "yes",
	  .doc = "`no` skips certificate checks (labs only)" },
	{ "ldap.bind_dn", CS_STRING, S, CS_FIELD(L, bind_dn), .shown = "required",
	  .doc = "DN of the service account (keywayd never searches anonymously)" },
	{ "ldap.bind_password_file", CS_PATH, S, CS_FIELD(L, bind_password_file), .shown = "required",
	  .doc = "file holding the service account's password, mode 0600 or stricter (re-read by SIGHUP); "
		 "`bind_password` inline is refused" },
	{ "ldap.bind_password", CS_SECRET, LIVE | CS_NODOC, CS_FIELD(L, bind_password) },
	{ "ldap.user_base", CS_STRING, S, CS_FIELD(L, user_base), .shown = "required",
	  .doc = "where a username is looked up" },
	{ "ldap.user_filter", CS_STRING, S, CS_FIELD(L, user_filter), .def = "(&(objectClass=inetOrgPerson)(uid=%s))",
	  .doc = "how a username is looked up; `%s` is the RFC 4515-escaped username" },
	{ "ldap.user_attribute", CS_STRING, S, CS_FIELD(L, user_attribute), .shown = "derived from the filter (`uid`)",
	  .doc = "the attribute holding the username; its value becomes the canonical username" },
	{ "ldap.vpn_group", CS_STRING, S, CS_FIELD(L, vpn_group), .shown = "required",
	  .doc = "DN of the group whose members may enroll devices" },
	{ "ldap.admin_group", CS_STRING, S, CS_FIELD(L, admin_group), .shown = "none",
	  .doc = "DN of the group whose members get the admin role" },
	{ "ldap.group_style", CS_ENUM, LIVE, CS_FIELD(L, group_style), .arg = CS_WORDS(group_styles), .def = "member",
	  .doc = "`member` (groupOfNames), `uniqueMember` (groupOfUniqueNames), `memberUid` (posixGroup), "
		 "`memberOf` (on the user, e.g. AD)" },
	{ "ldap.nested_groups", CS_BOOL, LIVE, CS_FIELD(L, nested_groups), .def = "no",
	  .doc = "`yes`: with `member`/`uniqueMember`, a member that is itself a group entry (an entry holding "
		 "that attribute, in the naming context of the group) counts with its members, recursively, for "
		 "`vpn_group` and `admin_group`, at login, enrollment and in the sync alike; each group is read "
		 "once (cycles are followed once and logged). Off by default because turning it on widens who may "
		 "enroll. Refused with `memberUid` (values are usernames, not DNs: a posixGroup cannot hold a "
		 "group; use rfc2307bis `groupOfNames` + `member`) and `memberOf` (the directory's own answer, "
		 "unchanged)" },
	{ "ldap.nested_depth", CS_INT, LIVE, CS_FIELD(L, nested_depth), .min = 1, .max = 64, .def = "8",
	  .doc = "levels of nested groups followed (a group directly in the group is level 1). A deeper group is "
		 "not read: the walk is then incomplete" },
	{ "ldap.disabled_checks", CS_FLAGS, LIVE, CS_FIELD(L, disabled_checks), .arg = CS_WORDS(detectors),
	  .def = "ppolicy nsaccountlock ad shadow",
	  .doc = "`ppolicy` (`pwdAccountLockedTime` present), `nsaccountlock` (`nsAccountLock: TRUE`), `ad` "
		 "(`userAccountControl` bit 0x2), `shadow` (`shadowExpire` day reached), or `none`" },
	{ "ldap.sync_interval", CS_DURATION, LIVE, CS_FIELD(L, sync_interval), .min = 0, .max = 86400, .def = "60",
	  .doc = "time between syncs (0: only on `POST /api/v1/ldap/sync`)" },
	{ "ldap.revoke_after", CS_DURATION, LIVE, CS_FIELD(L, revoke_after), .min = 0, .max = 315360000,
	  .def = "2592000", .doc = "how long a directory suspension lasts before the devices are revoked" },
	{ "ldap.mass_change_limit", CS_CUSTOM, LIVE, CS_FIELD(L, mass_change_pct), CS_AUX(L, mass_change_abs),
	  .arg = &mass_limit, .def = "25%",
	  .doc = "most users one run may suspend or revoke without an admin's confirmation (never below 10)" },
	{ "ldap.max_devices_per_user", CS_INT, LIVE, CS_FIELD(L, max_devices_per_user), .min = 0, .max = 10000,
	  .def = "5", .doc = "non-revoked devices per person for self-enrollment (409 past it)" },
	{ "ldap.timeout", CS_DURATION, LIVE, CS_FIELD(L, timeout), .min = 1, .max = 300, .def = "5",
	  .doc = "time allowed per operation" },
	{ "ldap.network_timeout", CS_DURATION, LIVE, CS_FIELD(L, network_timeout), .min = 1, .max = 300,
	  .shown = "= `timeout`", .doc = "time allowed per connection attempt" },
	{ "ldap.page_size", CS_INT, LIVE, CS_FIELD(L, page_size), .min = 1, .max = 100000, .def = "500",
	  .doc = "RFC 2696 page size of the sync's searches" },
	{ "ldap.batch_size", CS_INT, LIVE, CS_FIELD(L, batch_size), .min = 1, .max = 1000, .def = "100",
	  .doc = "usernames per OR-filter in the sync" },
	{ "ldap.pool_size", CS_INT, LIVE, CS_FIELD(L, pool_size), .min = 1, .max = 64, .def = "4",
	  .doc = "pooled connections" },
	{ "ldap.session_lifetime", CS_DURATION, LIVE, CS_FIELD(L, session_lifetime), .min = 60, .max = 2592000,
	  .def = "28800", .doc = "how long a login session lasts" },
	{ "ldap.login_max_failures", CS_INT, LIVE, CS_FIELD(L, login_max_failures), .min = 1, .max = 100000, .def = "5",
	  .doc = "failed logins per username within `login_window` before 429 + `Retry-After`" },
	{ "ldap.login_max_failures_address", CS_INT, LIVE, CS_FIELD(L, login_max_failures_addr), .min = 1,
	  .max = 1000000, .def = "20", .doc = "failed logins per client address within `login_window` before 429" },
	{ "ldap.login_window", CS_DURATION, LIVE, CS_FIELD(L, login_window), .min = 1, .max = 86400, .def = "300",
	  .doc = "the time failed logins are counted over, and the lockout; usernames are folded (case, spaces, "
		 "fullwidth forms) and IPv6 addresses counted per /64" },
	{ "ldap.admin_recheck_interval", CS_DURATION, LIVE, CS_FIELD(L, admin_recheck_interval), .min = 0,
	  .max = 86400, .def = "60", .doc = "an admin request by a login session asks the directory again whether "
		 "its user is still enabled and admin when the last check is older than this (0: every request)" },
	{ "ldap.publish_attribute", CS_STRING, S, CS_FIELD(L, publish_attribute), .shown = "none",
	  .doc = "optional: attribute of the user's entry that receives the active devices' public keys" },
};
#undef L
#undef LIVE
#undef S

const struct cs_section directory_conf_section = { "ldap", ldap_keys, CS_NKEYS(ldap_keys) };

void ldap_config_init(struct kw_ldap_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* The only allocated default is user_filter: left NULL by a failed copy, which
	 * ldap_config_finish() reports. */
	(void)cs_defaults(&directory_conf_section, cfg);
}

/* "25%" (0..100 per cent of the users holding devices) or a count (0..10000000). */
static int parse_mass_limit(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	struct kw_ldap_config *cfg = obj;
	bool pct;
	unsigned long x;
	char *end = NULL;

	(void)k;
	errno = 0;
	x = (*v >= '0' && *v <= '9') ? strtoul(v, &end, 10) : ULONG_MAX;
	pct = x != ULONG_MAX && strcmp(end, "%") == 0;
	if (x == ULONG_MAX || errno || (*end && !pct) || x > (pct ? 100 : 10000000)) {
		snprintf(reason, len, "mass_change_limit: expected a percentage (25%%) or a count");
		return -EINVAL;
	}
	cfg->mass_change_pct = pct ? (unsigned)x : 0;
	cfg->mass_change_abs = pct ? 0 : (unsigned)x;
	return 0;
}

int ldap_config_set(struct kw_ldap_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	return cs_set(&directory_conf_section, cfg, key, value, err, errlen);
}

int ldap_config_read_secret(const char *path, char *buf, size_t bufsize, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "bind_password_file: cannot open %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "bind_password_file: cannot stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "bind_password_file: %s is not a regular file", path);
		r = -EINVAL;
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "bind_password_file: %s is mode %04o; it must be 0600 (chmod 600)", path,
			 (unsigned)(st.st_mode & 07777));
		r = -EPERM;
		goto out;
	}
	while (len < bufsize) {
		n = read(fd, buf + len, bufsize - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			snprintf(err, errlen, "bind_password_file: cannot read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == bufsize) {
		snprintf(err, errlen, "bind_password_file: %s is longer than %zu bytes", path, bufsize - 1);
		r = -EFBIG;
		goto out;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\0', len)) {
		snprintf(err, errlen, "bind_password_file: %s holds no usable password", path);
		r = -EINVAL;
		goto out;
	}
out:
	if (r < 0)
		sodium_memzero(buf, bufsize);
	close(fd);
	return r;
}

/* "(&(objectClass=inetOrgPerson)(uid=%s))" -> "uid" */
static int derive_user_attribute(const char *filter, char **out)
{
	const char *p = strstr(filter, "=%s"), *start;

	if (!p)
		return -EINVAL;
	start = p;
	while (start > filter && start[-1] != '(' && start[-1] != '&' && start[-1] != '|')
		start--;
	if (start == p)
		return -EINVAL;
	*out = strndup(start, (size_t)(p - start));
	return *out ? 0 : -ENOMEM;
}

static bool filter_template_ok(const char *t)
{
	int depth = 0, n_s = 0;

	if (t[0] != '(')
		return false;
	for (const char *p = t; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')') {
			if (--depth < 0)
				return false;
		} else if (*p == '%') {
			if (p[1] == 's')
				n_s++;
			else
				return false; /* only %s is expanded */
			p++;
		}
	}
	return depth == 0 && n_s >= 1;
}

/* Cross-field checks, each naming the key to fix. */
static int ldap_config_check_filter(struct kw_ldap_config *cfg, char *err, size_t errlen)
{
	if (!cfg->user_filter) { /* its default could not be copied */
		snprintf(err, errlen, "user_filter: out of memory");
		return -ENOMEM;
	}
	if (!filter_template_ok(cfg->user_filter)) {
		snprintf(err, errlen, "user_filter: must be a parenthesised LDAP filter with %%s for the username");
		return -EINVAL;
	}
	if (!cfg->user_attribute && derive_user_attribute(cfg->user_filter, &cfg->user_attribute) < 0) {
		snprintf(err, errlen, "user_attribute: cannot derive it from user_filter; set it");
		return -EINVAL;
	}
	return 0;
}

static int ldap_config_check_required(const struct kw_ldap_config *cfg, char *err, size_t errlen)
{
	if (!cfg->user_base || !*cfg->user_base) {
		snprintf(err, errlen, "user_base: required when uri is set");
		return -EINVAL;
	}
	if (!cfg->vpn_group || !*cfg->vpn_group) {
		snprintf(err, errlen, "vpn_group: required when uri is set");
		return -EINVAL;
	}
	return 0;
}

static int ldap_config_check_nesting(const struct kw_ldap_config *cfg, char *err, size_t errlen)
{
	if (cfg->nested_groups && cfg->group_style != KW_LDAP_GROUP_MEMBER &&
	    cfg->group_style != KW_LDAP_GROUP_UNIQUE_MEMBER) {
		/* memberUid holds usernames, not DNs; memberOf is the directory's own answer. */
		snprintf(err, errlen, "nested_groups: only with group_style = member or uniqueMember");
		return -EINVAL;
	}
	return 0;
}

static int ldap_config_check_bind(const struct kw_ldap_config *cfg, char *err, size_t errlen)
{
	if (cfg->bind_dn && !cfg->bind_password_file) {
		snprintf(err, errlen, "bind_password_file: required with bind_dn");
		return -EINVAL;
	}
	if (!cfg->bind_dn) {
		snprintf(err, errlen, "bind_dn: required (keywayd never searches anonymously)");
		return -EINVAL;
	}
	return 0;
}

int ldap_config_finish(struct kw_ldap_config *cfg, char *err, size_t errlen)
{
	int r;

	cfg->enabled = cfg->n_uris > 0;
	if (!cfg->enabled)
		return 0;
	r = ldap_config_check_filter(cfg, err, errlen);
	r = r ? r : ldap_config_check_required(cfg, err, errlen);
	r = r ? r : ldap_config_check_nesting(cfg, err, errlen);
	r = r ? r : ldap_config_check_bind(cfg, err, errlen);
	if (r < 0)
		return r;
	if (!cfg->network_timeout)
		cfg->network_timeout = cfg->timeout; /* its default */
	return ldap_config_read_secret(cfg->bind_password_file, cfg->bind_password, sizeof(cfg->bind_password), err,
				       errlen);
}


int ldap_config_load(struct kw_ldap_config *cfg, const char *path, char *err, size_t errlen)
{
	const struct cs_section *const sections[] = { &directory_conf_section };
	const struct cs_file f = { sections, 1, cfg, false };
	char reason[512] = "";
	int r;

	r = cs_parse_file(&f, path, err, errlen);
	if (r < 0)
		return r;
	r = ldap_config_finish(cfg, reason, sizeof(reason));
	if (r < 0)
		snprintf(err, errlen, "%s: [ldap] %s", path, reason);
	return r;
}

void ldap_config_free(struct kw_ldap_config *cfg)
{
	cs_free(&directory_conf_section, cfg); /* the strings, the URIs, and the password zeroed */
	sodium_memzero(cfg->bind_password, sizeof(cfg->bind_password));
	memset(cfg, 0, sizeof(*cfg));
}

unsigned ldap_config_diff(const struct kw_ldap_config *a, const struct kw_ldap_config *b, char *out, size_t outlen)
{
	return cs_diff_names(&directory_conf_section, a, b, out, outlen);
}

unsigned ldap_config_mass_limit(const struct kw_ldap_config *cfg, unsigned n_holders)
{
	unsigned limit;

	if (cfg->mass_change_pct)
		limit = (unsigned)(((unsigned long long)n_holders * cfg->mass_change_pct) / 100);
	else
		limit = cfg->mass_change_abs;
	return limit < 10 ? 10 : limit;
}
