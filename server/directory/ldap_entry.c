/* Reading user entries: attributes, disable flags, group membership. */
#include "config.h"

#include <errno.h>
#include <ldap.h>
#include <lber.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ldap_escape.h"
#include "ldap_int.h"
#include "log.h"

static const char *const user_attr_names[A_END] = {
	[A_USER] = NULL, /* cfg->user_attribute */
	[A_MEMBEROF] = "memberOf",
	[A_PWDLOCK] = "pwdAccountLockedTime",
	[A_NSLOCK] = "nsAccountLock",
	[A_UAC] = "userAccountControl",
	[A_SHADOW] = "shadowExpire",
	[A_PUBLISH] = NULL, /* cfg->publish_attribute */
};

void kwl_user_attrs(const struct kw_ldap *d, char **attrs)
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
int kwl_dn_canon_dup(const char *dn, size_t len, char **out)
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

void kwl_read_flags(LDAP *ld, LDAPMessage *e, struct kw_ldap_flags *f)
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
bool kwl_entry_member_of(LDAP *ld, LDAPMessage *e, const char *canon_group)
{
	struct berval **v = ldap_get_values_len(ld, e, "memberOf");
	bool found = false;

	for (size_t i = 0; v && v[i] && !found; i++) {
		char *c = NULL;

		if (kwl_dn_canon_dup(v[i]->bv_val, v[i]->bv_len, &c) == 0 && !strcmp(c, canon_group))
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
	return kwl_rc_is_down(rc) ? -EHOSTUNREACH : kwl_rc_to_errno(rc);
}

const char *kwl_group_attr(enum kw_ldap_group_style s)
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
int kwl_user_in_group(struct kw_ldap *d, LDAP *ld, LDAPMessage *e, const char *dn, const char *username,
			 const char *group)
{
	enum kw_ldap_group_style s = d->cfg->group_style;
	char *canon = NULL;
	int r;

	if (s == KW_LDAP_GROUP_MEMBER_OF) {
		r = kwl_dn_canon_dup(group, strlen(group), &canon);
		if (r < 0)
			return r;
		r = kwl_entry_member_of(ld, e, canon);
		free(canon);
		return r;
	}
	r = group_compare(ld, d, group, kwl_group_attr(s), s == KW_LDAP_GROUP_MEMBER_UID ? username : dn);
	/* Not a direct member: maybe through nested groups (the sync's answer, ldap_search.c). */
	if (r == 0 && d->cfg->nested_groups && (s == KW_LDAP_GROUP_MEMBER || s == KW_LDAP_GROUP_UNIQUE_MEMBER))
		r = kwl_nested_member(d, ld, dn, group);
	return r;
}


int kwl_user_search(struct kw_ldap *d, struct ldap_slot *s, const char *username, LDAPMessage **res, int *rc)
{
	char *attrs[A_END + 1], *filter = NULL;
	struct timeval tv = kwl_op_timeout(d);
	bool fresh;
	int r;

	kwl_user_attrs(d, attrs);
	*rc = LDAP_SUCCESS;
	r = ldap_filter_from_template(d->cfg->user_filter, username, &filter);
	for (int attempt = 0; r == 0 && attempt < 2; attempt++) {
		r = kwl_conn_ensure(d, &s->svc, true, &fresh);
		if (r < 0)
			break;
		*rc = ldap_search_ext_s(s->svc, d->cfg->user_base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL,
					&tv, 2, res);
		if (kwl_rc_is_down(*rc) || *rc == LDAP_TIMEOUT) {
			ldap_msgfree(*res);
			*res = NULL;
			kwl_conn_drop(&s->svc);
			if (!fresh && *rc != LDAP_TIMEOUT)
				continue; /* a reused connection to a restarted server: once more */
		}
		break;
	}
	free(filter);
	return r;
}

int kwl_user_facts(struct kw_ldap *d, struct ldap_slot *s, LDAPMessage *e, const char *dn,
		   struct kw_ldap_login *out)
{
	struct kw_ldap_flags f;
	int r;

	kwl_read_flags(s->svc, e, &f);
	out->disabled = ldap_disabled_reasons(&f, d->cfg->disabled_checks, time(NULL));
	r = kwl_user_in_group(d, s->svc, e, dn, out->username, d->cfg->vpn_group);
	if (r < 0)
		return r;
	out->in_vpn_group = r;
	if (d->cfg->admin_group && *d->cfg->admin_group) {
		r = kwl_user_in_group(d, s->svc, e, dn, out->username, d->cfg->admin_group);
		if (r < 0)
			return r;
		out->is_admin = r;
	}
	return 0;
}

int kwl_user_entry_name(struct kw_ldap *d, LDAP *ld, LDAPMessage *e, char **dn, char *username)
{
	struct berval **uv = ldap_get_values_len(ld, e, d->cfg->user_attribute);
	int r = -ENOENT;

	*dn = ldap_get_dn(ld, e);
	if (*dn && uv && uv[0] && uv[0]->bv_len > 0 && uv[0]->bv_len <= KW_LDAP_USERNAME_MAX &&
	    !memchr(uv[0]->bv_val, '\0', uv[0]->bv_len)) {
		memcpy(username, uv[0]->bv_val, uv[0]->bv_len);
		username[uv[0]->bv_len] = '\0';
		r = 0;
	}
	ldap_value_free_len(uv);
	return r;
}
