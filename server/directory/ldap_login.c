/* Search-then-bind login (see ldap_client.h). */
#include "config.h"

#include <errno.h>
#include <ldap.h>
#include <lber.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ldap_int.h"
#include "log.h"

/*
 * An unknown username costs the same round trips as a wrong password: a bind with the
 * given password to a DN that does not exist (the server answers invalidCredentials and
 * no account's failure counter moves). Its result is ignored.
 */
static void decoy_bind(struct kw_ldap *d, struct ldap_slot *s, const char *password, size_t password_len)
{
	struct berval cred = { .bv_val = (char *)password, .bv_len = password_len };
	char dn[1100];
	bool fresh;

	if ((size_t)snprintf(dn, sizeof(dn), "cn=keyway-no-such-user,%s", d->cfg->user_base) >= sizeof(dn))
		return;
	if (kwl_conn_ensure(d, &s->auth, false, &fresh) < 0)
		return;
	if (kwl_rc_is_down(ldap_sasl_bind_s(s->auth, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL)))
		kwl_conn_drop(&s->auth);
}

/* Bind as dn with the password on the slot's auth connection (once more on a reused
 * connection that turns out dead). 0 or a negative errno; *rc is libldap's result. */
static int user_bind(struct kw_ldap *d, struct ldap_slot *s, const char *dn, const char *password,
		     size_t password_len, int *rc)
{
	struct berval cred = { .bv_val = (char *)password, .bv_len = password_len };
	bool fresh;
	int r;

	for (int attempt = 0; attempt < 2; attempt++) {
		r = kwl_conn_ensure(d, &s->auth, false, &fresh);
		if (r < 0)
			return r;
		*rc = ldap_sasl_bind_s(s->auth, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		if (kwl_rc_is_down(*rc) || *rc == LDAP_TIMEOUT) {
			kwl_conn_drop(&s->auth);
			if (!fresh && *rc != LDAP_TIMEOUT)
				continue;
		}
		break;
	}
	return 0;
}

int ldap_dir_login(struct kw_ldap *d, const char *username, const char *password, size_t password_len,
		   struct kw_ldap_login *out)
{
	return ldap_dir_login_gated(d, username, password, password_len, NULL, NULL, out);
}

int ldap_dir_login_gated(struct kw_ldap *d, const char *username, const char *password, size_t password_len,
			 int (*gate)(void *arg, const char *canonical), void *gate_arg, struct kw_ldap_login *out)
{
	struct ldap_slot *s = NULL;
	LDAPMessage *res = NULL, *e;
	char *dn = NULL;
	size_t ulen = strlen(username);
	int r, rc = LDAP_SUCCESS, n;

	memset(out, 0, sizeof(*out));
	/* Refused before anything is sent: an empty password would be an anonymous bind. */
	if (password_len == 0 || !password || memchr(password, '\0', password_len))
		return -EINVAL;
	if (ulen == 0 || ulen > KW_LDAP_USERNAME_MAX)
		return -EACCES;

	s = kwl_slot_acquire(d);
	r = kwl_user_search(d, s, username, &res, &rc);
	if (r < 0)
		goto out;
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		r = kwl_rc_to_errno(rc);
		log_warn("ldap: user search failed error=\"%s\"", ldap_err2string(rc));
		goto out;
	}
	n = ldap_count_entries(s->svc, res);
	if (n != 1 || rc == LDAP_SIZELIMIT_EXCEEDED) {
		if (n > 1 || rc == LDAP_SIZELIMIT_EXCEEDED)
			log_warn("ldap: login matches several entries; refused");
		decoy_bind(d, s, password, password_len);
		r = -EACCES;
		goto out;
	}
	e = ldap_first_entry(s->svc, res);
	if (kwl_user_entry_name(d, s->svc, e, &dn, out->username) < 0) {
		log_warn("ldap: entry has no usable %s; refused", d->cfg->user_attribute);
		r = -EACCES;
		goto out;
	}
	if (gate && gate(gate_arg, out->username) != 0) {
		r = -EAGAIN; /* the entry's own name is at its limit: no bind */
		goto out;
	}

	/* Bind as the user on the auth connection. */
	r = user_bind(d, s, dn, password, password_len, &rc);
	if (r < 0)
		goto out;
	if (rc != LDAP_SUCCESS) {
		r = kwl_rc_to_errno(rc);
		if (r == -EIO)
			log_warn("ldap: user bind failed error=\"%s\"", ldap_err2string(rc));
		goto out;
	}

	r = kwl_user_facts(d, s, e, dn, out);
out:
	if (r == -EHOSTUNREACH || r == -ETIMEDOUT) {
		kwl_conn_drop(&s->svc);
		kwl_conn_drop(&s->auth);
	}
	if (s)
		kwl_slot_release(s);
	if (dn)
		ldap_memfree(dn);
	ldap_msgfree(res);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

