/* A user's standing in the directory without a password (see ldap_dir_user_roles). */
#include "config.h"

#include <errno.h>
#include <ldap.h>
#include <stdlib.h>
#include <string.h>

#include "ldap_int.h"
#include "log.h"

/* The user's entry, searched as the service account (size limit 2: two mean ambiguous). */
static int roles_search(struct kw_ldap *d, struct ldap_slot *s, const char *username, LDAPMessage **res)
{
	int rc;
	int r = kwl_user_search(d, s, username, res, &rc);

	if (r < 0)
		return r;
	if (rc == LDAP_SIZELIMIT_EXCEEDED)
		return -ENOENT;
	return rc == LDAP_SUCCESS ? 0 : kwl_rc_to_errno(rc);
}

int ldap_dir_user_roles(struct kw_ldap *d, const char *username, struct kw_ldap_login *out)
{
	struct ldap_slot *s;
	LDAPMessage *res = NULL, *e;
	char *dn = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!*username || strlen(username) > KW_LDAP_USERNAME_MAX)
		return -ENOENT;
	s = kwl_slot_acquire(d);
	r = roles_search(d, s, username, &res);
	if (r < 0)
		goto out;
	if (ldap_count_entries(s->svc, res) != 1) {
		r = -ENOENT;
		goto out;
	}
	e = ldap_first_entry(s->svc, res);
	r = kwl_user_entry_name(d, s->svc, e, &dn, out->username);
	if (r == 0)
		r = kwl_user_facts(d, s, e, dn, out);
out:
	if (r == -EHOSTUNREACH || r == -ETIMEDOUT)
		kwl_conn_drop(&s->svc);
	kwl_slot_release(s);
	if (dn)
		ldap_memfree(dn);
	ldap_msgfree(res);
	return r;
}
