/* [ldap] section of keywayd's INI file: one table of keys, one validation function. */
#include "config.h"

#include "ldap_config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

void ldap_config_init(struct kw_ldap_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tls_verify = true;
	cfg->group_style = KW_LDAP_GROUP_MEMBER;
	cfg->nested_groups = false; /* opt-in: following nested groups widens who may enroll */
	cfg->nested_depth = 8;
	cfg->disabled_checks = KW_LDAP_DISABLED_ALL;
	cfg->sync_interval = 60;
	cfg->revoke_after = 2592000;
	cfg->mass_change_pct = 25;
	cfg->max_devices_per_user = 5;
	cfg->timeout = 5;
	cfg->page_size = 500;
	cfg->batch_size = 100;
	cfg->pool_size = 4;
	cfg->session_lifetime = 28800;
	cfg->login_max_failures = 5;
	cfg->login_max_failures_addr = 20;
	cfg->login_window = 300;
	cfg->admin_recheck_interval = 60;
}

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static int set_uris(struct kw_ldap_config *cfg, const char *v, char *err, size_t errlen)
{
	char *copy = strdup(v), *save = NULL, *tok;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_uris; i++)
		free(cfg->uris[i]);
	cfg->n_uris = 0;
	for (tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (strncasecmp(tok, "ldap://", 7) && strncasecmp(tok, "ldaps://", 8)) {
			snprintf(err, errlen, "uri: %s is not ldap:// or ldaps://", tok);
			r = -EINVAL;
			goto out;
		}
		if (cfg->n_uris == KW_LDAP_MAX_URIS) {
			snprintf(err, errlen, "uri: at most %d URIs", KW_LDAP_MAX_URIS);
			r = -EINVAL;
			goto out;
		}
		cfg->uris[cfg->n_uris] = strdup(tok);
		if (!cfg->uris[cfg->n_uris]) {
			r = -ENOMEM;
			goto out;
		}
		cfg->n_uris++;
	}
	cfg->enabled = cfg->n_uris > 0;
out:
	free(copy);
	return r;
}

static int set_disabled_checks(struct kw_ldap_config *cfg, const char *v, char *err, size_t errlen)
{
	char *copy = strdup(v), *save = NULL, *tok;
	unsigned mask = 0;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (!strcasecmp(tok, "ppolicy"))
			mask |= KW_LDAP_DISABLED_PPOLICY;
		else if (!strcasecmp(tok, "nsaccountlock"))
			mask |= KW_LDAP_DISABLED_NSACCOUNTLOCK;
		else if (!strcasecmp(tok, "ad"))
			mask |= KW_LDAP_DISABLED_AD;
		else if (!strcasecmp(tok, "shadow"))
			mask |= KW_LDAP_DISABLED_SHADOW;
		else if (!strcasecmp(tok, "none"))
			;
		else {
			snprintf(err, errlen, "disabled_checks: unknown detector '%s' (ppolicy nsaccountlock ad shadow none)", tok);
			r = -EINVAL;
			goto out;
		}
	}
	cfg->disabled_checks = mask;
out:
	free(copy);
	return r;
}

static int set_mass_limit(struct kw_ldap_config *cfg, const char *v)
{
	size_t n = strlen(v);
	unsigned x;

	if (n > 1 && v[n - 1] == '%') {
		char num[16];

		if (n - 1 >= sizeof(num))
			return -EINVAL;
		memcpy(num, v, n - 1);
		num[n - 1] = '\0';
		if (parse_uint(num, 0, 100, &x) < 0)
			return -EINVAL;
		cfg->mass_change_pct = x;
		cfg->mass_change_abs = 0;
		return 0;
	}
	if (parse_uint(v, 0, 10000000, &x) < 0)
		return -EINVAL;
	cfg->mass_change_abs = x;
	cfg->mass_change_pct = 0;
	return 0;
}

/* Keys taking a bounded unsigned number. */
static const struct {
	const char *key;
	size_t offset;
	unsigned min, max;
} uint_keys[] = {
	{ "sync_interval", offsetof(struct kw_ldap_config, sync_interval), 0, 86400 },
	{ "revoke_after", offsetof(struct kw_ldap_config, revoke_after), 0, 315360000 },
	{ "max_devices_per_user", offsetof(struct kw_ldap_config, max_devices_per_user), 0, 10000 },
	{ "timeout", offsetof(struct kw_ldap_config, timeout), 1, 300 },
	{ "network_timeout", offsetof(struct kw_ldap_config, network_timeout), 1, 300 },
	{ "page_size", offsetof(struct kw_ldap_config, page_size), 1, 100000 },
	{ "batch_size", offsetof(struct kw_ldap_config, batch_size), 1, 1000 },
	{ "pool_size", offsetof(struct kw_ldap_config, pool_size), 1, 64 },
	{ "session_lifetime", offsetof(struct kw_ldap_config, session_lifetime), 60, 2592000 },
	{ "login_max_failures", offsetof(struct kw_ldap_config, login_max_failures), 1, 100000 },
	{ "login_max_failures_address", offsetof(struct kw_ldap_config, login_max_failures_addr), 1, 1000000 },
	{ "login_window", offsetof(struct kw_ldap_config, login_window), 1, 86400 },
	{ "admin_recheck_interval", offsetof(struct kw_ldap_config, admin_recheck_interval), 0, 86400 },
	{ "nested_depth", offsetof(struct kw_ldap_config, nested_depth), 1, 64 },
};

static const struct {
	const char *key;
	size_t offset;
} str_keys[] = {
	{ "ca_file", offsetof(struct kw_ldap_config, ca_file) },
	{ "bind_dn", offsetof(struct kw_ldap_config, bind_dn) },
	{ "bind_password_file", offsetof(struct kw_ldap_config, bind_password_file) },
	{ "user_base", offsetof(struct kw_ldap_config, user_base) },
	{ "user_filter", offsetof(struct kw_ldap_config, user_filter) },
	{ "user_attribute", offsetof(struct kw_ldap_config, user_attribute) },
	{ "vpn_group", offsetof(struct kw_ldap_config, vpn_group) },
	{ "admin_group", offsetof(struct kw_ldap_config, admin_group) },
	{ "publish_attribute", offsetof(struct kw_ldap_config, publish_attribute) },
};

int ldap_config_set(struct kw_ldap_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	int r;

	if (!strcmp(key, "uri"))
		return set_uris(cfg, value, err, errlen);
	if (!strcmp(key, "bind_password")) {
		snprintf(err, errlen, "bind_password: never inline; use bind_password_file (mode 0600)");
		return -EINVAL;
	}
	if (!strcmp(key, "starttls") || !strcmp(key, "tls_verify") || !strcmp(key, "nested_groups")) {
		bool *dst = !strcmp(key, "starttls") ? &cfg->starttls
			    : !strcmp(key, "tls_verify") ? &cfg->tls_verify : &cfg->nested_groups;

		if (parse_bool(value, dst) < 0) {
			snprintf(err, errlen, "%s: expected yes or no", key);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "group_style")) {
		if (!strcasecmp(value, "member"))
			cfg->group_style = KW_LDAP_GROUP_MEMBER;
		else if (!strcasecmp(value, "uniqueMember"))
			cfg->group_style = KW_LDAP_GROUP_UNIQUE_MEMBER;
		else if (!strcasecmp(value, "memberUid"))
			cfg->group_style = KW_LDAP_GROUP_MEMBER_UID;
		else if (!strcasecmp(value, "memberOf"))
			cfg->group_style = KW_LDAP_GROUP_MEMBER_OF;
		else {
			snprintf(err, errlen, "group_style: expected member, uniqueMember, memberUid or memberOf");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "disabled_checks"))
		return set_disabled_checks(cfg, value, err, errlen);
	if (!strcmp(key, "mass_change_limit")) {
		if (set_mass_limit(cfg, value) < 0) {
			snprintf(err, errlen, "mass_change_limit: expected a percentage (25%%) or a count");
			return -EINVAL;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(uint_keys) / sizeof(uint_keys[0]); i++) {
		if (strcmp(key, uint_keys[i].key))
			continue;
		if (parse_uint(value, uint_keys[i].min, uint_keys[i].max,
			       (unsigned *)((char *)cfg + uint_keys[i].offset)) < 0) {
			snprintf(err, errlen, "%s: expected a whole number from %u to %u", key, uint_keys[i].min,
				 uint_keys[i].max);
			return -EINVAL;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(str_keys) / sizeof(str_keys[0]); i++) {
		if (strcmp(key, str_keys[i].key))
			continue;
		r = set_str((char **)((char *)cfg + str_keys[i].offset), value);
		if (r < 0)
			snprintf(err, errlen, "%s: out of memory", key);
		return r;
	}
	snprintf(err, errlen, "unknown key '%s' in [ldap]", key);
	return -EINVAL;
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

int ldap_config_finish(struct kw_ldap_config *cfg, char *err, size_t errlen)
{
	int r;

	if (!cfg->enabled)
		return 0;
	if (!cfg->user_filter && set_str(&cfg->user_filter, "(&(objectClass=inetOrgPerson)(uid=%s))") < 0)
		return -ENOMEM;
	if (!filter_template_ok(cfg->user_filter)) {
		snprintf(err, errlen, "user_filter: must be a parenthesised LDAP filter with %%s for the username");
		return -EINVAL;
	}
	if (!cfg->user_attribute && derive_user_attribute(cfg->user_filter, &cfg->user_attribute) < 0) {
		snprintf(err, errlen, "user_attribute: cannot derive it from user_filter; set it");
		return -EINVAL;
	}
	if (!cfg->user_base || !*cfg->user_base) {
		snprintf(err, errlen, "user_base: required when uri is set");
		return -EINVAL;
	}
	if (!cfg->vpn_group || !*cfg->vpn_group) {
		snprintf(err, errlen, "vpn_group: required when uri is set");
		return -EINVAL;
	}
	if (!cfg->network_timeout)
		cfg->network_timeout = cfg->timeout;
	if (cfg->nested_groups && cfg->group_style != KW_LDAP_GROUP_MEMBER &&
	    cfg->group_style != KW_LDAP_GROUP_UNIQUE_MEMBER) {
		/* memberUid holds usernames, not DNs; memberOf is the directory's own answer. */
		snprintf(err, errlen, "nested_groups: only with group_style = member or uniqueMember");
		return -EINVAL;
	}
	if (cfg->bind_dn && !cfg->bind_password_file) {
		snprintf(err, errlen, "bind_password_file: required with bind_dn");
		return -EINVAL;
	}
	if (!cfg->bind_dn) {
		snprintf(err, errlen, "bind_dn: required (keywayd never searches anonymously)");
		return -EINVAL;
	}
	r = ldap_config_read_secret(cfg->bind_password_file, cfg->bind_password, sizeof(cfg->bind_password), err,
				    errlen);
	if (r < 0)
		return r;
	return 0;
}

struct parse_ctx {
	struct kw_ldap_config *cfg;
	char *err;
	size_t errlen;
	int r;
};

static int config_ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	int r;

	if (strcasecmp(section, "ldap"))
		return 1;
	r = ldap_config_set(ctx->cfg, name, value, ctx->err, ctx->errlen);
	if (r < 0) {
		ctx->r = r;
		return 0;
	}
	return 1;
}

int ldap_config_load(struct kw_ldap_config *cfg, const char *path, char *err, size_t errlen)
{
	struct parse_ctx ctx = { .cfg = cfg, .err = err, .errlen = errlen, .r = 0 };
	char reason[512] = "";
	int line, r;

	ctx.err = reason;
	ctx.errlen = sizeof(reason);
	line = ini_parse(path, config_ini_cb, &ctx);
	if (line == -1) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -ENOENT;
	}
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, line, reason[0] ? reason : "syntax error");
		return ctx.r < 0 ? ctx.r : -EINVAL;
	}
	r = ldap_config_finish(cfg, reason, sizeof(reason));
	if (r < 0)
		snprintf(err, errlen, "%s: [ldap] %s", path, reason);
	return r;
}

void ldap_config_free(struct kw_ldap_config *cfg)
{
	for (size_t i = 0; i < cfg->n_uris; i++)
		free(cfg->uris[i]);
	for (size_t i = 0; i < sizeof(str_keys) / sizeof(str_keys[0]); i++)
		free(*(char **)((char *)cfg + str_keys[i].offset));
	sodium_memzero(cfg->bind_password, sizeof(cfg->bind_password));
	memset(cfg, 0, sizeof(*cfg));
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
