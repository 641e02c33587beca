/*
 * The only file that speaks LDAP (OpenLDAP's libldap).
 *
 * A small pool of slots, each with two connections: `svc`, bound as the service account
 * and used for every search and compare, and `auth`, used only for users' simple binds
 * (so a user bind never changes the identity the searches run under). Connections are
 * opened lazily, reused, and re-opened once when the server went away in between (a
 * restarted slapd). Every operation has a timeout; connecting has a network timeout.
 */
#include "config.h"

#include "ldap_dir.h"
#include "ldap_escape.h"

#include <errno.h>
#include <ldap.h>
#include <lber.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "log.h"

struct ldap_slot {
	pthread_mutex_t lock;
	LDAP *svc;
	LDAP *auth;
};

struct kw_ldap {
	const struct kw_ldap_config *cfg;
	struct ldap_slot *slots;
	size_t n_slots;
	atomic_uint next;
};

/* Attributes read from user entries (A_PUBLISH only with publish_attribute). */
enum { A_USER = 0, A_MEMBEROF, A_PWDLOCK, A_NSLOCK, A_UAC, A_SHADOW, A_PUBLISH, A_END };

static bool rc_is_down(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY;
}

static int rc_to_errno(int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return 0;
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
		return -EACCES;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_UNAVAILABLE:
	case LDAP_BUSY:
		return -EHOSTUNREACH;
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
		return -ETIMEDOUT;
	case LDAP_NO_SUCH_OBJECT:
		return -ENOENT;
	case LDAP_SIZELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
		return -E2BIG;
	default:
		return -EIO;
	}
}

int ldap_dir_new(const struct kw_ldap_config *cfg, struct kw_ldap **out)
{
	struct kw_ldap *d;
	size_t n = cfg->pool_size ? cfg->pool_size : 1;

	*out = NULL;
	if (!cfg->enabled)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->slots = calloc(n, sizeof(*d->slots));
	if (!d->slots) {
		free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		pthread_mutex_init(&d->slots[i].lock, NULL);
	d->n_slots = n;
	d->cfg = cfg;
	*out = d;
	return 0;
}

static void conn_drop(LDAP **ld)
{
	if (*ld) {
		ldap_unbind_ext_s(*ld, NULL, NULL);
		*ld = NULL;
	}
}

void ldap_dir_disconnect(struct kw_ldap *d)
{
	for (size_t i = 0; i < d->n_slots; i++) {
		pthread_mutex_lock(&d->slots[i].lock);
		conn_drop(&d->slots[i].svc);
		conn_drop(&d->slots[i].auth);
		pthread_mutex_unlock(&d->slots[i].lock);
	}
}

void ldap_dir_free(struct kw_ldap *d)
{
	if (!d)
		return;
	ldap_dir_disconnect(d);
	for (size_t i = 0; i < d->n_slots; i++)
		pthread_mutex_destroy(&d->slots[i].lock);
	free(d->slots);
	free(d);
}

static struct ldap_slot *slot_acquire(struct kw_ldap *d)
{
	struct ldap_slot *s;
	unsigned start = atomic_fetch_add(&d->next, 1);

	/* Take a free slot if there is one, else queue on ours. */
	for (size_t i = 0; i < d->n_slots; i++) {
		s = &d->slots[(start + i) % d->n_slots];
		if (pthread_mutex_trylock(&s->lock) == 0)
			return s;
	}
	s = &d->slots[start % d->n_slots];
	pthread_mutex_lock(&s->lock);
	return s;
}

static void slot_release(struct ldap_slot *s)
{
	pthread_mutex_unlock(&s->lock);
}

static struct timeval op_timeout(const struct kw_ldap *d)
{
	struct timeval tv = { .tv_sec = d->cfg->timeout, .tv_usec = 0 };

	return tv;
}

/* Open one connection to one URI: options, TLS, and for bind_svc the service bind. */
static int conn_open_uri(struct kw_ldap *d, const char *uri, bool bind_svc, LDAP **out)
{
	const struct kw_ldap_config *cfg = d->cfg;
	struct timeval nt = { .tv_sec = cfg->network_timeout, .tv_usec = 0 };
	struct timeval ot = op_timeout(d);
	int version = LDAP_VERSION3, req = cfg->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	int zero = 0, rc;
	LDAP *ld = NULL;

	*out = NULL;
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		log_error("ldap: bad uri uri=%s error=\"%s\"", uri, ldap_err2string(rc));
		return -EINVAL;
	}
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &nt) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &ot) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) != LDAP_OPT_SUCCESS ||
	    (cfg->ca_file && ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file) != LDAP_OPT_SUCCESS) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
		log_error("ldap: cannot set connection options uri=%s", uri);
		rc = LDAP_LOCAL_ERROR;
		goto fail;
	}
	if (cfg->starttls && strncasecmp(uri, "ldaps://", 8)) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			log_warn("ldap: StartTLS failed uri=%s error=\"%s\"", uri, ldap_err2string(rc));
			goto fail;
		}
	}
	if (bind_svc) {
		struct berval cred = { .bv_val = (char *)cfg->bind_password, .bv_len = strlen(cfg->bind_password) };

		rc = ldap_sasl_bind_s(ld, cfg->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			log_warn("ldap: service bind failed uri=%s bind_dn=\"%s\" error=\"%s\"", uri, cfg->bind_dn,
				 ldap_err2string(rc));
			goto fail;
		}
	} else {
		/* Connect now (an anonymous no-op would bind; ask for nothing instead). */
		rc = ldap_connect(ld);
		if (rc != LDAP_SUCCESS) {
			log_warn("ldap: connect failed uri=%s error=\"%s\"", uri, ldap_err2string(rc));
			goto fail;
		}
	}
	*out = ld;
	return 0;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	/* A refused service bind is a configuration error, not an outage, but either way
	 * keywayd cannot ask the directory: callers answer 503. */
	return rc == LDAP_INVALID_CREDENTIALS ? -EHOSTUNREACH : (rc_to_errno(rc) ? rc_to_errno(rc) : -EIO);
}

/* Try every URI in order. */
static int conn_open(struct kw_ldap *d, bool bind_svc, LDAP **out)
{
	int r = -EHOSTUNREACH;

	for (size_t i = 0; i < d->cfg->n_uris; i++) {
		r = conn_open_uri(d, d->cfg->uris[i], bind_svc, out);
		if (r == 0)
			return 0;
	}
	if (r == -EIO || r == -EACCES || r == -EINVAL)
		r = -EHOSTUNREACH;
	return r;
}

/* Make sure *ld is open; *fresh tells whether it was opened just now. */
static int conn_ensure(struct kw_ldap *d, LDAP **ld, bool bind_svc, bool *fresh)
{
	int r;

	*fresh = false;
	if (*ld)
		return 0;
	r = conn_open(d, bind_svc, ld);
	if (r == 0)
		*fresh = true;
	return r;
}

/* ---------- reading entries ---------- */

static const char *const user_attr_names[A_END] = {
	[A_USER] = NULL, /* cfg->user_attribute */
	[A_MEMBEROF] = "memberOf",
	[A_PWDLOCK] = "pwdAccountLockedTime",
	[A_NSLOCK] = "nsAccountLock",
	[A_UAC] = "userAccountControl",
	[A_SHADOW] = "shadowExpire",
	[A_PUBLISH] = NULL, /* cfg->publish_attribute */
};

static void user_attrs(const struct kw_ldap *d, char **attrs)
{
	for (int i = 0; i < A_END; i++)
		attrs[i] = (char *)user_attr_names[i];
	attrs[A_USER] = d->cfg->user_attribute;
	attrs[A_PUBLISH] = d->cfg->publish_attribute && *d->cfg->publish_attribute ? d->cfg->publish_attribute : NULL;
	attrs[A_END] = NULL;
}

static bool bv_to_ll(const struct berval *bv, long long *out)
{
	char buf[32];
	char *end;

	if (!bv->bv_len || bv->bv_len >= sizeof(buf))
		return false;
	memcpy(buf, bv->bv_val, bv->bv_len);
	buf[bv->bv_len] = '\0';
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return !errno && *end == '\0';
}

/* Canonical form of a DN for comparisons: normalised by libldap, then ASCII lower case. */
static int dn_canon_dup(const char *dn, size_t len, char **out)
{
	char *tmp = strndup(dn, len), *norm = NULL;

	*out = NULL;
	if (!tmp)
		return -ENOMEM;
	if (ldap_dn_normalize(tmp, LDAP_DN_FORMAT_LDAP, &norm, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !norm) {
		free(tmp);
		return -EINVAL;
	}
	free(tmp);
	for (char *p = norm; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	*out = strdup(norm);
	ldap_memfree(norm);
	return *out ? 0 : -ENOMEM;
}

static void read_flags(LDAP *ld, LDAPMessage *e, struct kw_ldap_flags *f)
{
	struct berval **v;

	memset(f, 0, sizeof(*f));
	v = ldap_get_values_len(ld, e, "pwdAccountLockedTime");
	f->pwd_locked = v && v[0];
	ldap_value_free_len(v);
	v = ldap_get_values_len(ld, e, "nsAccountLock");
	f->ns_locked = v && v[0] && v[0]->bv_len == 4 && !strncasecmp(v[0]->bv_val, "true", 4);
	ldap_value_free_len(v);
	v = ldap_get_values_len(ld, e, "userAccountControl");
	f->uac_present = v && v[0] && bv_to_ll(v[0], &f->uac);
	ldap_value_free_len(v);
	v = ldap_get_values_len(ld, e, "shadowExpire");
	f->shadow_present = v && v[0] && bv_to_ll(v[0], &f->shadow_expire);
	ldap_value_free_len(v);
}

/* Is canon_group among the entry's memberOf values? */
static bool entry_member_of(LDAP *ld, LDAPMessage *e, const char *canon_group)
{
	struct berval **v = ldap_get_values_len(ld, e, "memberOf");
	bool found = false;

	for (size_t i = 0; v && v[i] && !found; i++) {
		char *c = NULL;

		if (dn_canon_dup(v[i]->bv_val, v[i]->bv_len, &c) == 0 && !strcmp(c, canon_group))
			found = true;
		free(c);
	}
	ldap_value_free_len(v);
	return found;
}

/* Compare attr=value on the group entry: 1 true, 0 false or no such group, <0 error. */
static int group_compare(LDAP *ld, struct kw_ldap *d, const char *group, const char *attr, const char *value)
{
	struct berval bv = { .bv_val = (char *)value, .bv_len = strlen(value) };
	int rc = ldap_compare_ext_s(ld, group, attr, &bv, NULL, NULL);

	(void)d;
	if (rc == LDAP_COMPARE_TRUE)
		return 1;
	if (rc == LDAP_COMPARE_FALSE || rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_NO_SUCH_ATTRIBUTE ||
	    rc == LDAP_UNDEFINED_TYPE || rc == LDAP_INAPPROPRIATE_MATCHING) {
		if (rc == LDAP_NO_SUCH_OBJECT)
			log_warn("ldap: group entry not found group=\"%s\"", group);
		return 0;
	}
	return rc_is_down(rc) ? -EHOSTUNREACH : rc_to_errno(rc);
}

static const char *group_attr(enum kw_ldap_group_style s)
{
	switch (s) {
	case KW_LDAP_GROUP_MEMBER:
		return "member";
	case KW_LDAP_GROUP_UNIQUE_MEMBER:
		return "uniqueMember";
	case KW_LDAP_GROUP_MEMBER_UID:
		return "memberUid";
	case KW_LDAP_GROUP_MEMBER_OF:
	default:
		return "memberOf";
	}
}

/* Is the user (dn, canonical username, entry e) a member of group? */
static int user_in_group(struct kw_ldap *d, LDAP *ld, LDAPMessage *e, const char *dn, const char *username,
			 const char *group)
{
	enum kw_ldap_group_style s = d->cfg->group_style;
	char *canon = NULL;
	int r;

	if (s == KW_LDAP_GROUP_MEMBER_OF) {
		r = dn_canon_dup(group, strlen(group), &canon);
		if (r < 0)
			return r;
		r = entry_member_of(ld, e, canon);
		free(canon);
		return r;
	}
	return group_compare(ld, d, group, group_attr(s), s == KW_LDAP_GROUP_MEMBER_UID ? username : dn);
}

/* ---------- login ---------- */

static void login_search(struct kw_ldap *d, LDAP *ld, const char *filter, LDAPMessage **res, int *rc_out)
{
	char *attrs[A_END + 1];
	struct timeval tv = op_timeout(d);

	user_attrs(d, attrs);
	/* Size limit 2: one entry is the answer, two mean ambiguous. */
	*rc_out = ldap_search_ext_s(ld, d->cfg->user_base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &tv,
				    2, res);
}

int ldap_dir_login(struct kw_ldap *d, const char *username, const char *password, size_t password_len,
		   struct kw_ldap_login *out)
{
	struct ldap_slot *s = NULL;
	LDAPMessage *res = NULL, *e;
	struct berval **uv = NULL;
	char *filter = NULL, *dn = NULL;
	size_t ulen = strlen(username);
	bool fresh;
	int r, rc = LDAP_SUCCESS, n;

	memset(out, 0, sizeof(*out));
	/* Refused before anything is sent: an empty password would be an anonymous bind. */
	if (password_len == 0 || !password || memchr(password, '\0', password_len))
		return -EINVAL;
	if (ulen == 0 || ulen > KW_LDAP_USERNAME_MAX)
		return -EACCES;
	r = ldap_filter_from_template(d->cfg->user_filter, username, &filter);
	if (r < 0)
		return r;

	s = slot_acquire(d);
	for (int attempt = 0; attempt < 2; attempt++) {
		r = conn_ensure(d, &s->svc, true, &fresh);
		if (r < 0)
			goto out;
		login_search(d, s->svc, filter, &res, &rc);
		if (rc_is_down(rc) || rc == LDAP_TIMEOUT) {
			ldap_msgfree(res);
			res = NULL;
			conn_drop(&s->svc);
			if (!fresh && rc != LDAP_TIMEOUT)
				continue; /* a reused connection to a restarted server: once more */
		}
		break;
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		r = rc_to_errno(rc);
		log_warn("ldap: user search failed error=\"%s\"", ldap_err2string(rc));
		goto out;
	}
	n = ldap_count_entries(s->svc, res);
	if (n != 1 || rc == LDAP_SIZELIMIT_EXCEEDED) {
		if (n > 1 || rc == LDAP_SIZELIMIT_EXCEEDED)
			log_warn("ldap: login matches several entries; refused");
		r = -EACCES;
		goto out;
	}
	e = ldap_first_entry(s->svc, res);
	dn = ldap_get_dn(s->svc, e);
	uv = ldap_get_values_len(s->svc, e, d->cfg->user_attribute);
	if (!dn || !uv || !uv[0] || uv[0]->bv_len == 0 || uv[0]->bv_len > KW_LDAP_USERNAME_MAX ||
	    memchr(uv[0]->bv_val, '\0', uv[0]->bv_len)) {
		log_warn("ldap: entry has no usable %s; refused", d->cfg->user_attribute);
		r = -EACCES;
		goto out;
	}
	memcpy(out->username, uv[0]->bv_val, uv[0]->bv_len);
	out->username[uv[0]->bv_len] = '\0';

	/* Bind as the user on the auth connection. */
	{
		struct berval cred = { .bv_val = (char *)password, .bv_len = password_len };

		for (int attempt = 0; attempt < 2; attempt++) {
			r = conn_ensure(d, &s->auth, false, &fresh);
			if (r < 0)
				goto out;
			rc = ldap_sasl_bind_s(s->auth, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
			if (rc_is_down(rc) || rc == LDAP_TIMEOUT) {
				conn_drop(&s->auth);
				if (!fresh && rc != LDAP_TIMEOUT)
					continue;
			}
			break;
		}
	}
	if (rc != LDAP_SUCCESS) {
		r = rc_to_errno(rc);
		if (r == -EIO)
			log_warn("ldap: user bind failed error=\"%s\"", ldap_err2string(rc));
		goto out;
	}

	{
		struct kw_ldap_flags f;

		read_flags(s->svc, e, &f);
		out->disabled = ldap_disabled_reasons(&f, d->cfg->disabled_checks, time(NULL));
	}
	r = user_in_group(d, s->svc, e, dn, out->username, d->cfg->vpn_group);
	if (r < 0)
		goto out;
	out->in_vpn_group = r;
	if (d->cfg->admin_group && *d->cfg->admin_group) {
		r = user_in_group(d, s->svc, e, dn, out->username, d->cfg->admin_group);
		if (r < 0)
			goto out;
		out->is_admin = r;
	}
	r = 0;
out:
	if (r == -EHOSTUNREACH || r == -ETIMEDOUT) {
		conn_drop(&s->svc);
		conn_drop(&s->auth);
	}
	if (s)
		slot_release(s);
	ldap_value_free_len(uv);
	if (dn)
		ldap_memfree(dn);
	ldap_msgfree(res);
	free(filter);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* ---------- paged searches (RFC 2696) ---------- */

typedef int (*entry_cb)(LDAP *ld, LDAPMessage *e, void *arg);

static int search_paged(struct kw_ldap *d, LDAP *ld, const char *base, int scope, const char *filter, char **attrs,
			entry_cb cb, void *arg, struct kw_ldap_check_stats *st, int *ldap_rc)
{
	struct berval cookie = { 0 };
	LDAPControl *page = NULL, *ctrls[2] = { NULL, NULL };
	int r = 0, rc;

	*ldap_rc = LDAP_SUCCESS;
	st->searches++;
	do {
		LDAPMessage *res = NULL, *e;
		LDAPControl **rctrls = NULL, *pr;
		struct timeval tv = op_timeout(d);
		int err = LDAP_SUCCESS;
		ber_int_t count;

		rc = ldap_create_page_control(ld, (ber_int_t)d->cfg->page_size, cookie.bv_val ? &cookie : NULL, 0,
					      &page);
		if (rc != LDAP_SUCCESS) {
			r = -ENOMEM;
			break;
		}
		ctrls[0] = page;
		rc = ldap_search_ext_s(ld, base, scope, filter, attrs, 0, ctrls, NULL, &tv, LDAP_NO_LIMIT, &res);
		ldap_control_free(page);
		page = NULL;
		if (cookie.bv_val) {
			ber_memfree(cookie.bv_val);
			cookie.bv_val = NULL;
			cookie.bv_len = 0;
		}
		if (rc != LDAP_SUCCESS || !res) {
			*ldap_rc = rc;
			ldap_msgfree(res);
			r = rc_to_errno(rc);
			if (!r)
				r = -EIO;
			break;
		}
		st->pages++;
		for (e = ldap_first_entry(ld, res); e; e = ldap_next_entry(ld, e)) {
			st->entries++;
			r = cb(ld, e, arg);
			if (r < 0)
				break;
		}
		if (r == 0) {
			rc = ldap_parse_result(ld, res, &err, NULL, NULL, NULL, &rctrls, 0);
			if (rc != LDAP_SUCCESS || err != LDAP_SUCCESS) {
				*ldap_rc = rc != LDAP_SUCCESS ? rc : err;
				r = rc_to_errno(*ldap_rc);
				if (!r)
					r = -EIO;
			} else {
				pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
				if (pr && ldap_parse_pageresponse_control(ld, pr, &count, &cookie) != LDAP_SUCCESS)
					r = -EIO;
			}
			ldap_controls_free(rctrls);
		}
		ldap_msgfree(res);
	} while (r == 0 && cookie.bv_val && cookie.bv_len > 0);
	if (cookie.bv_val)
		ber_memfree(cookie.bv_val);
	return r;
}

/* ---------- the sync's batched checks ---------- */

struct strset {
	char **v;
	size_t n, cap;
};

static int strset_add(struct strset *s, char *owned)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			free(owned);
			return -ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = owned;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool strset_has(const struct strset *s, const char *x)
{
	return s->n && bsearch(&x, s->v, s->n, sizeof(*s->v), cmp_str);
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static char *lower_dup(const char *p, size_t len)
{
	char *s = strndup(p, len);

	for (char *q = s; q && *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return s;
}

struct group_read {
	enum kw_ldap_group_style style;
	struct strset members; /* canonical DNs or lower-case uids */
	bool seen;
};

static int group_entry_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct group_read *g = arg;
	struct berval **v;
	int r = 0;

	g->seen = true;
	if (g->style == KW_LDAP_GROUP_MEMBER_OF)
		return 0;
	{
		/* Active Directory hands out big groups in ranges ("member;range=0-1499"): a
		 * partial member list would look like a mass removal, so refuse it outright. */
		BerElement *ber = NULL;
		bool ranged = false;

		for (char *a = ldap_first_attribute(ld, e, &ber); a; a = ldap_next_attribute(ld, e, ber)) {
			if (strcasestr(a, ";range="))
				ranged = true;
			ldap_memfree(a);
		}
		ber_free(ber, 0);
		if (ranged)
			return -ENOTSUP;
	}
	v = ldap_get_values_len(ld, e, group_attr(g->style));
	for (size_t i = 0; v && v[i] && r == 0; i++) {
		char *c = NULL;

		if (g->style == KW_LDAP_GROUP_MEMBER_UID) {
			c = lower_dup(v[i]->bv_val, v[i]->bv_len);
			r = c ? strset_add(&g->members, c) : -ENOMEM;
		} else if (dn_canon_dup(v[i]->bv_val, v[i]->bv_len, &c) == 0) {
			r = strset_add(&g->members, c);
		} /* an unparsable member value matches nobody */
	}
	ldap_value_free_len(v);
	return r;
}

static int read_published(LDAP *ld, LDAPMessage *e, const char *attr, struct kw_ldap_user_fact *fa);

struct batch_ctx {
	struct kw_ldap *d;
	struct kw_ldap_user_fact *facts;
	size_t n;
	const struct group_read *group;
	const char *canon_group; /* memberOf style */
	time_t now;
	unsigned matched;
};

static int batch_entry_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct batch_ctx *b = arg;
	struct berval **uv = ldap_get_values_len(ld, e, b->d->cfg->user_attribute);
	struct kw_ldap_flags f;
	char *dn = NULL, *canon = NULL;
	int r = 0;

	if (!uv)
		return 0; /* matched the filter through another attribute: not one of ours */
	for (size_t j = 0; uv[j]; j++) {
		for (size_t i = 0; i < b->n; i++) {
			struct kw_ldap_user_fact *fa = &b->facts[i];

			if (strlen(fa->username) != uv[j]->bv_len ||
			    strncasecmp(fa->username, uv[j]->bv_val, uv[j]->bv_len))
				continue;
			if (fa->presence == KW_LDAP_USER_FOUND || fa->presence == KW_LDAP_USER_AMBIGUOUS) {
				fa->presence = KW_LDAP_USER_AMBIGUOUS;
				continue;
			}
			fa->presence = KW_LDAP_USER_FOUND;
			b->matched++;
			if (b->d->cfg->publish_attribute && *b->d->cfg->publish_attribute) {
				r = read_published(ld, e, b->d->cfg->publish_attribute, fa);
				if (r < 0)
					goto out;
			}
			read_flags(ld, e, &f);
			fa->disabled = ldap_disabled_reasons(&f, b->d->cfg->disabled_checks, b->now);
			switch (b->group->style) {
			case KW_LDAP_GROUP_MEMBER_OF:
				fa->in_vpn_group = entry_member_of(ld, e, b->canon_group);
				break;
			case KW_LDAP_GROUP_MEMBER_UID: {
				char *lu = lower_dup(fa->username, strlen(fa->username));

				if (!lu) {
					r = -ENOMEM;
					goto out;
				}
				fa->in_vpn_group = strset_has(&b->group->members, lu);
				free(lu);
				break;
			}
			default:
				if (!canon) {
					dn = ldap_get_dn(ld, e);
					if (!dn || dn_canon_dup(dn, strlen(dn), &canon) < 0) {
						r = -EIO;
						goto out;
					}
				}
				fa->in_vpn_group = strset_has(&b->group->members, canon);
			}
		}
	}
out:
	ldap_value_free_len(uv);
	if (dn)
		ldap_memfree(dn);
	free(canon);
	return r;
}

static int read_published(LDAP *ld, LDAPMessage *e, const char *attr, struct kw_ldap_user_fact *fa)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	char *dn = ldap_get_dn(ld, e);
	size_t n = 0;
	int r = 0;

	if (!dn) {
		r = -EIO;
		goto out;
	}
	fa->dn = strdup(dn);
	if (!fa->dn) {
		r = -ENOMEM;
		goto out;
	}
	while (v && v[n])
		n++;
	fa->published = calloc(n + 1, sizeof(*fa->published));
	if (!fa->published) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		fa->published[i] = strndup(v[i]->bv_val, v[i]->bv_len);
		if (!fa->published[i]) {
			r = -ENOMEM;
			goto out;
		}
		fa->n_published++;
	}
out:
	if (dn)
		ldap_memfree(dn);
	ldap_value_free_len(v);
	return r;
}

void ldap_user_facts_release(struct kw_ldap_user_fact *facts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < facts[i].n_published; j++)
			free(facts[i].published[j]);
		free(facts[i].published);
		free(facts[i].dn);
		facts[i].published = NULL;
		facts[i].n_published = 0;
		facts[i].dn = NULL;
	}
}

/* (|T(u1)T(u2)...) for facts[0..n) */
static int batch_filter(const struct kw_ldap_config *cfg, const struct kw_ldap_user_fact *facts, size_t n, char **out)
{
	char *buf = NULL, *one = NULL;
	size_t len = 3, cap = 0;
	int r = 0;

	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t l;

		r = ldap_filter_from_template(cfg->user_filter, facts[i].username, &one);
		if (r < 0)
			goto out;
		l = strlen(one);
		if (len + l + 1 > cap) {
			size_t ncap = (len + l + 1) * 2;
			char *nb = realloc(buf, ncap);

			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			if (!buf)
				strcpy(nb, "(|");
			buf = nb;
			cap = ncap;
		}
		memcpy(buf + len - 1, one, l);
		len += l;
		buf[len - 1] = '\0';
		free(one);
		one = NULL;
	}
	buf[len - 1] = ')';
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(one);
	free(buf);
	return r;
}

int ldap_dir_check_users(struct kw_ldap *d, struct kw_ldap_user_fact *facts, size_t n,
			 struct kw_ldap_check_stats *st, char *err, size_t errlen)
{
	const struct kw_ldap_config *cfg = d->cfg;
	struct group_read group = { .style = cfg->group_style };
	struct kw_ldap_check_stats st0 = { 0 };
	struct ldap_slot *s;
	char *attrs[A_END + 1], *gattrs[2] = { NULL, NULL }, *canon_group = NULL, *filter = NULL;
	bool fresh;
	int r = 0, rc;

	if (!st)
		st = &st0;
	memset(st, 0, sizeof(*st));
	ldap_user_facts_release(facts, n);
	for (size_t i = 0; i < n; i++) {
		facts[i].presence = KW_LDAP_USER_UNCHECKED;
		facts[i].in_vpn_group = false;
		facts[i].disabled = 0;
	}
	if (n == 0)
		return 0;
	user_attrs(d, attrs);
	gattrs[0] = cfg->group_style == KW_LDAP_GROUP_MEMBER_OF ? "1.1" : (char *)group_attr(cfg->group_style);
	r = dn_canon_dup(cfg->vpn_group, strlen(cfg->vpn_group), &canon_group);
	if (r < 0) {
		snprintf(err, errlen, "vpn_group is not a valid DN");
		return r;
	}

	s = slot_acquire(d);
	/* 1. the VPN group entry: its absence is a reason to change nothing. */
	for (int attempt = 0; attempt < 2; attempt++) {
		r = conn_ensure(d, &s->svc, true, &fresh);
		if (r < 0) {
			snprintf(err, errlen, "directory unreachable (%s)", strerror(-r));
			goto out;
		}
		strset_free(&group.members);
		group.seen = false;
		r = search_paged(d, s->svc, cfg->vpn_group, LDAP_SCOPE_BASE, "(objectClass=*)", gattrs, group_entry_cb,
				 &group, st, &rc);
		if (r < 0 && (rc_is_down(rc) || rc == LDAP_TIMEOUT)) {
			conn_drop(&s->svc);
			if (!fresh && rc != LDAP_TIMEOUT)
				continue;
		}
		break;
	}
	if (r < 0 || !group.seen) {
		if (r == -ENOENT || (r == 0 && !group.seen)) {
			r = -ENOENT;
			snprintf(err, errlen, "VPN group entry %s cannot be read", cfg->vpn_group);
		} else if (r == -ENOTSUP) {
			snprintf(err, errlen, "the VPN group is served in ranges (Active Directory); use group_style = memberOf");
		} else {
			snprintf(err, errlen, "reading the VPN group failed: %s", ldap_err2string(rc));
		}
		goto out;
	}
	if (group.members.n)
		qsort(group.members.v, group.members.n, sizeof(*group.members.v), cmp_str);

	/* 2. users, batch_size at a time, one OR filter each. */
	for (size_t off = 0; off < n; off += cfg->batch_size) {
		size_t m = n - off < cfg->batch_size ? n - off : cfg->batch_size;
		struct batch_ctx b = { .d = d, .facts = facts + off, .n = m, .group = &group,
				       .canon_group = canon_group, .now = time(NULL) };

		free(filter);
		r = batch_filter(cfg, facts + off, m, &filter);
		if (r < 0) {
			snprintf(err, errlen, "cannot build a search filter (%s)", strerror(-r));
			goto out;
		}
		r = search_paged(d, s->svc, cfg->user_base, LDAP_SCOPE_SUBTREE, filter, attrs, batch_entry_cb, &b, st,
				 &rc);
		if (r < 0) {
			if (rc_is_down(rc) || rc == LDAP_TIMEOUT)
				conn_drop(&s->svc);
			if (r == -E2BIG)
				snprintf(err, errlen, "user search truncated by the server (%s)", ldap_err2string(rc));
			else if (r == -ENOENT)
				snprintf(err, errlen, "user_base %s does not exist", cfg->user_base);
			else
				snprintf(err, errlen, "user search failed: %s", ldap_err2string(rc));
			goto out;
		}
		if (b.matched == 0) {
			snprintf(err, errlen, "a search for %zu users holding devices returned no entries", m);
			r = -ENODATA;
			goto out;
		}
		for (size_t i = 0; i < m; i++)
			if (facts[off + i].presence == KW_LDAP_USER_UNCHECKED)
				facts[off + i].presence = KW_LDAP_USER_MISSING;
	}
	r = 0;
out:
	slot_release(s);
	strset_free(&group.members);
	free(canon_group);
	free(filter);
	return r;
}

/* ---------- publishing keys (optional) ---------- */

static int publish_modify(struct kw_ldap *d, struct ldap_slot *s, const char *dn, const char *const *keys,
			  size_t n);

int ldap_dir_publish_keys(struct kw_ldap *d, const char *username, const char *const *keys, size_t n)
{
	const struct kw_ldap_config *cfg = d->cfg;
	struct ldap_slot *s;
	LDAPMessage *res = NULL;
	char *filter = NULL, *dn = NULL, *attrs[2] = { "1.1", NULL };
	struct timeval tv = op_timeout(d);
	bool fresh;
	int r, rc;

	if (!cfg->publish_attribute || !*cfg->publish_attribute)
		return 0;
	r = ldap_filter_from_template(cfg->user_filter, username, &filter);
	if (r < 0)
		return r;
	s = slot_acquire(d);
	r = conn_ensure(d, &s->svc, true, &fresh);
	if (r < 0)
		goto out;
	rc = ldap_search_ext_s(s->svc, cfg->user_base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &tv, 2, &res);
	if (rc != LDAP_SUCCESS || ldap_count_entries(s->svc, res) != 1) {
		if (rc_is_down(rc) || rc == LDAP_TIMEOUT)
			conn_drop(&s->svc);
		r = rc != LDAP_SUCCESS ? rc_to_errno(rc) : -ENOENT;
		goto out;
	}
	dn = ldap_get_dn(s->svc, ldap_first_entry(s->svc, res));
	if (!dn) {
		r = -EIO;
		goto out;
	}
	r = publish_modify(d, s, dn, keys, n);
out:
	slot_release(s);
	if (dn)
		ldap_memfree(dn);
	ldap_msgfree(res);
	free(filter);
	return r;
}

int ldap_dir_publish_keys_dn(struct kw_ldap *d, const char *dn, const char *const *keys, size_t n)
{
	struct ldap_slot *s;
	bool fresh;
	int r;

	if (!d->cfg->publish_attribute || !*d->cfg->publish_attribute)
		return 0;
	s = slot_acquire(d);
	r = conn_ensure(d, &s->svc, true, &fresh);
	if (r == 0)
		r = publish_modify(d, s, dn, keys, n);
	slot_release(s);
	return r;
}

static int publish_modify(struct kw_ldap *d, struct ldap_slot *s, const char *dn, const char *const *keys, size_t n)
{
	const struct kw_ldap_config *cfg = d->cfg;
	LDAPMod mod, *mods[2] = { &mod, NULL };
	char **values;
	int r, rc;

	values = calloc(n + 1, sizeof(*values));
	if (!values)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		values[i] = (char *)keys[i];
	mod.mod_op = LDAP_MOD_REPLACE;
	mod.mod_type = cfg->publish_attribute;
	mod.mod_values = n ? values : NULL;
	rc = ldap_modify_ext_s(s->svc, dn, mods, NULL, NULL);
	free(values);
	if (rc == LDAP_NO_SUCH_ATTRIBUTE && n == 0)
		return 0; /* nothing to remove */
	if (rc != LDAP_SUCCESS) {
		log_warn("ldap: publishing keys failed dn=\"%s\" error=\"%s\"", dn, ldap_err2string(rc));
		if (rc_is_down(rc) || rc == LDAP_TIMEOUT)
			conn_drop(&s->svc);
		r = rc_to_errno(rc);
		return r ? r : -EIO;
	}
	return 0;
}
