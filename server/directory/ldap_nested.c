/*
 * Nested groups for the member/uniqueMember styles (nested_groups = yes): the LDAP half.
 * group_nest.c walks; this file answers its two questions against the directory:
 *  - which DNs are groups: one paged search, per walk, for every entry holding the style's
 *    attribute ("(member=*)", DNs only) under the naming context that holds the group
 *    (read from the root DSE), so a member is followed only if it really is a group entry;
 *  - a group's members: one base read per nested group reached (each read once).
 * A walk that cannot read everything is reported incomplete with one log line; callers
 * then keep the status quo (the sync) or do not grant (login).
 */
#include "config.h"

#include <errno.h>
#include <ldap.h>
#include <lber.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "group_nest.h"
#include "ldap_int.h"
#include "log.h"
#include "vec.h"


static int ldap_err(int rc)
{
	if (kwl_rc_is_down(rc))
		return -EHOSTUNREACH;
	if (rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED)
		return -ETIMEDOUT;
	return kwl_rc_to_errno(rc) ? kwl_rc_to_errno(rc) : -EIO;
}

int kwl_group_read_members(struct kw_ldap *d, LDAP *ld, const char *group, char ***out, size_t *n)
{
	const char *attr = kwl_group_attr(d->cfg->group_style);
	char *attrs[2] = { (char *)attr, NULL };
	struct timeval tv = kwl_op_timeout(d);
	struct strvec l = { 0 };
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	BerElement *ber = NULL;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	rc = ldap_search_ext_s(ld, group, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &res);
	if (rc != LDAP_SUCCESS) {
		r = ldap_err(rc);
		goto out;
	}
	e = ldap_first_entry(ld, res);
	if (!e) {
		r = -ENOENT;
		goto out;
	}
	/* Active Directory's ranged values would be a partial list: not read. */
	for (char *a = ldap_first_attribute(ld, e, &ber); a; a = ldap_next_attribute(ld, e, ber)) {
		if (strcasestr(a, ";range="))
			r = -ENOTSUP;
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	if (r < 0)
		goto out;
	v = ldap_get_values_len(ld, e, attr);
	for (size_t i = 0; v && v[i] && r == 0; i++) {
		char *c = NULL;

		if (kwl_dn_canon_dup(v[i]->bv_val, v[i]->bv_len, &c) == 0)
			r = strvec_push(&l, c);
		/* an unparsable value matches nobody */
	}
	if (r == 0) {
		*out = strvec_steal(&l, n);
	}
out:
	ldap_value_free_len(v);
	ldap_msgfree(res);
	strvec_free(&l);
	return r;
}

/* The naming context holding canon_group (the longest namingContexts value it ends with). */
static int naming_context(struct kw_ldap *d, LDAP *ld, const char *canon_group, char **out)
{
	char *attrs[2] = { "namingContexts", NULL };
	struct timeval tv = kwl_op_timeout(d);
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	size_t glen = strlen(canon_group), best = 0;
	int rc, r = -ENOENT;

	*out = NULL;
	rc = ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &res);
	if (rc != LDAP_SUCCESS) {
		r = ldap_err(rc);
		goto out;
	}
	e = ldap_first_entry(ld, res);
	v = e ? ldap_get_values_len(ld, e, "namingContexts") : NULL;
	for (size_t i = 0; v && v[i]; i++) {
		char *c = NULL;
		size_t clen;

		if (kwl_dn_canon_dup(v[i]->bv_val, v[i]->bv_len, &c) < 0)
			continue;
		clen = strlen(c);
		if (clen > best && clen <= glen && !strcmp(canon_group + glen - clen, c) &&
		    (clen == glen || canon_group[glen - clen - 1] == ',')) {
			free(*out);
			*out = c;
			best = clen;
			r = 0;
		} else {
			free(c);
		}
	}
out:
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return r;
}

static int group_dn_cb(LDAP *ld, LDAPMessage *e, void *arg)
{
	struct strvec *l = arg;
	char *dn = ldap_get_dn(ld, e), *c = NULL;
	int r = 0;

	if (!dn)
		return -EIO;
	if (kwl_dn_canon_dup(dn, strlen(dn), &c) == 0)
		r = strvec_push(l, c);
	ldap_memfree(dn);
	return r;
}

struct nest_ctx {
	struct kw_ldap *d;
	LDAP *ld;
	struct strvec groups; /* sorted canonical DNs of every group entry */
};

static bool ctx_is_group(void *arg, const char *dn)
{
	struct nest_ctx *c = arg;

	return strvec_has(&c->groups, dn);
}

static int ctx_read_members(void *arg, const char *dn, char ***out, size_t *n)
{
	struct nest_ctx *c = arg;

	return kwl_group_read_members(c->d, c->ld, dn, out, n);
}

int kwl_nested_expand(struct kw_ldap *d, LDAP *ld, const char *group, char *const *root_members, size_t n_root,
		      struct kw_nest_result *res)
{
	struct nest_ctx c = { .d = d, .ld = ld };
	struct kw_nest_src src = { .is_group = ctx_is_group, .read_members = ctx_read_members, .arg = &c };
	struct kw_ldap_check_stats st = { 0 };
	char *canon = NULL, *nc = NULL, filter[64];
	char *attrs[2] = { "1.1", NULL };
	int r, rc = LDAP_SUCCESS;

	memset(res, 0, sizeof(*res));
	r = kwl_dn_canon_dup(group, strlen(group), &canon);
	if (r < 0) {
		res->incomplete = true;
		snprintf(res->why, sizeof(res->why), "group %s is not a valid DN", group);
		r = r == -ENOMEM ? r : 0;
		goto out;
	}
	r = naming_context(d, ld, canon, &nc);
	if (r == -EHOSTUNREACH || r == -ETIMEDOUT)
		goto out;
	if (r < 0) {
		res->incomplete = true;
		snprintf(res->why, sizeof(res->why), "no naming context in the root DSE holds %s", group);
		r = 0;
		goto out;
	}
	snprintf(filter, sizeof(filter), "(%s=*)", kwl_group_attr(d->cfg->group_style));
	r = kwl_search_paged(d, ld, nc, LDAP_SCOPE_SUBTREE, filter, attrs, group_dn_cb, &c.groups, &st, &rc);
	if (r == -ENOMEM || r == -EHOSTUNREACH || r == -ETIMEDOUT)
		goto out;
	if (r < 0) {
		res->incomplete = true;
		snprintf(res->why, sizeof(res->why), "the search for group entries under %s failed: %s", nc,
			 ldap_err2string(rc));
		r = 0;
		goto out;
	}
	strvec_sort(&c.groups);
	r = group_nest_expand(canon, root_members, n_root, d->cfg->nested_depth, &src, res);
out:
	if (r == 0 && res->incomplete)
		log_warn("ldap: nested groups of %s not read completely, their members are not known: %s", group,
			 res->why);
	if (r == 0 && res->cycle)
		log_warn("ldap: nested groups of %s form a cycle at %s; each group is counted once", group,
			 res->cycle_at);
	strvec_free(&c.groups);
	free(canon);
	free(nc);
	return r;
}

int kwl_nested_member(struct kw_ldap *d, LDAP *ld, const char *dn, const char *group)
{
	struct kw_nest_result res = { 0 };
	char **members = NULL, *canon = NULL;
	size_t n = 0;
	int r;

	r = kwl_dn_canon_dup(dn, strlen(dn), &canon);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	r = kwl_group_read_members(d, ld, group, &members, &n);
	if (r == -EHOSTUNREACH || r == -ETIMEDOUT || r == -ENOMEM)
		goto out;
	if (r < 0) {
		/* the group itself unreadable as a list: as the direct compare answered, not a member */
		log_warn("ldap: members of group=\"%s\" cannot be read (%s); nested groups not followed", group,
			 strerror(-r));
		r = 0;
		goto out;
	}
	r = kwl_nested_expand(d, ld, group, members, n, &res);
	if (r < 0)
		goto out;
	r = group_nest_has(&res, canon) ? 1 : 0;
	if (!r && res.incomplete)
		log_warn("ldap: nested membership undecided dn=\"%s\" group=\"%s\"; counted as not a member", dn, group);
out:
	group_nest_result_free(&res);
	for (size_t i = 0; i < n; i++)
		free(members[i]);
	free(members);
	free(canon);
	return r;
}
