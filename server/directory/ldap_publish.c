/* Optional: publish active devices' public keys into the user's entry. */
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

/* ---------- publishing keys (optional) ---------- */

static int publish_modify(struct kw_ldap *d, struct ldap_slot *s, const char *dn, const char *const *keys,
			  size_t n);

int ldap_dir_publish_keys(struct kw_ldap *d, const char *username, const char *const *keys, size_t n)
{
	const struct kw_ldap_config *cfg = d->cfg;
	struct ldap_slot *s;
	LDAPMessage *res = NULL;
	char *dn = NULL;
	int r, rc;

	if (!cfg->publish_attribute || !*cfg->publish_attribute)
		return 0;
	s = kwl_slot_acquire(d);
	r = kwl_user_search(d, s, username, &res, &rc);
	if (r < 0)
		goto out;
	if (rc != LDAP_SUCCESS || ldap_count_entries(s->svc, res) != 1) {
		r = rc != LDAP_SUCCESS ? kwl_rc_to_errno(rc) : -ENOENT;
		goto out;
	}
	dn = ldap_get_dn(s->svc, ldap_first_entry(s->svc, res));
	if (!dn) {
		r = -EIO;
		goto out;
	}
	r = publish_modify(d, s, dn, keys, n);
out:
	kwl_slot_release(s);
	if (dn)
		ldap_memfree(dn);
	ldap_msgfree(res);
	return r;
}

int ldap_dir_publish_keys_dn(struct kw_ldap *d, const char *dn, const char *const *keys, size_t n)
{
	struct ldap_slot *s;
	bool fresh;
	int r;

	if (!d->cfg->publish_attribute || !*d->cfg->publish_attribute)
		return 0;
	s = kwl_slot_acquire(d);
	r = kwl_conn_ensure(d, &s->svc, true, &fresh);
	if (r == 0)
		r = publish_modify(d, s, dn, keys, n);
	kwl_slot_release(s);
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
		if (kwl_rc_is_down(rc) || rc == LDAP_TIMEOUT)
			kwl_conn_drop(&s->svc);
		r = kwl_rc_to_errno(rc);
		return r ? r : -EIO;
	}
	return 0;
}

