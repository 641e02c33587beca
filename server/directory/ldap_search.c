/* The sync's question to the directory: the VPN group once, then users in OR-filter
 * batches, every search paged (RFC 2696). */
#include "config.h"

#include <errno.h>
#include <ldap.h>
#include <lber.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ldap_escape.h"
#include "ldap_int.h"
#include "log.h"
#include "vec.h"

/* ---------- paged searches (RFC 2696) ---------- */

int kwl_search_paged(struct kw_ldap *d, LDAP *ld, const char *base, int scope, const char *filter, char **attrs,
		     kwl_entry_cb cb, void *arg, struct kw_ldap_check_stats *st, int *ldap_rc)
{
	struct berval cookie = { 0 };
	LDAPControl *page = NULL, *ctrls[2] = { NULL, NULL };
	int r = 0, rc;

	*ldap_rc = LDAP_SUCCESS;
	st->searches++;
	do {
		LDAPMessage *res = NULL, *e;
		LDAPControl **rctrls = NULL, *pr;
		struct timeval tv = kwl_op_timeout(d);
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
			r = kwl_rc_to_errno(rc);
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
				r = kwl_rc_to_errno(*ldap_rc);
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
	struct strvec members; /* canonical DNs or lower-case uids */
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
	v = ldap_get_values_len(ld, e, kwl_group_attr(g->style));
	for (size_t i = 0; v && v[i] && r == 0; i++) {
		char *c = NULL;

		if (g->style == KW_LDAP_GROUP_MEMBER_UID) {
			c = lower_dup(v[i]->bv_val, v[i]->bv_len);
			r = c ? strvec_push(&g->members, c) : -ENOMEM;
		} else if (kwl_dn_canon_dup(v[i]->bv_val, v[i]->bv_len, &c) == 0) {
			r = strvec_push(&g->members, c);
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
	char **ndn;              /* nested_groups: canonical DNs of users not direct members */
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
			kwl_read_flags(ld, e, &f);
			fa->disabled = ldap_disabled_reasons(&f, b->d->cfg->disabled_checks, b->now);
			switch (b->group->style) {
			case KW_LDAP_GROUP_MEMBER_OF:
				fa->in_vpn_group = kwl_entry_member_of(ld, e, b->canon_group);
				break;
			case KW_LDAP_GROUP_MEMBER_UID: {
				char *lu = lower_dup(fa->username, strlen(fa->username));

				if (!lu) {
					r = -ENOMEM;
					goto out;
				}
				fa->in_vpn_group = strvec_has(&b->group->members, lu);
				free(lu);
				break;
			}
			default:
				if (!canon) {
					dn = ldap_get_dn(ld, e);
					if (!dn || kwl_dn_canon_dup(dn, strlen(dn), &canon) < 0) {
						r = -EIO;
						goto out;
					}
				}
				fa->in_vpn_group = strvec_has(&b->group->members, canon);
				if (!fa->in_vpn_group && b->ndn && !b->ndn[i]) {
					b->ndn[i] = strdup(canon);
					if (!b->ndn[i]) {
						r = -ENOMEM;
						goto out;
					}
				}
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

/* Step 3 of ldap_dir_check_users(): users found but not direct members (ndn[i] set). */
static int check_nested(struct kw_ldap *d, struct ldap_slot *sl, const struct group_read *group, struct kw_ldap_user_fact *facts,
			char **ndn, size_t n, struct kw_ldap_check_stats *st, char *err, size_t errlen)
{
	struct kw_nest_result res;
	unsigned unknown = 0, added = 0;
	bool any = false;
	int r;

	for (size_t i = 0; i < n && !any; i++)
		any = ndn[i] && facts[i].presence == KW_LDAP_USER_FOUND;
	if (!any)
		return 0;
	r = kwl_nested_expand(d, sl->svc, d->cfg->vpn_group, group->members.v, group->members.n, &res);
	st->searches += res.groups + 2; /* root DSE, group entries, one read per nested group */
	if (r < 0) {
		if (r == -EHOSTUNREACH || r == -ETIMEDOUT)
			kwl_conn_drop(&sl->svc);
		snprintf(err, errlen, "reading the nested groups of the VPN group failed (%s)", strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ndn[i] || facts[i].presence != KW_LDAP_USER_FOUND)
			continue;
		if (group_nest_has(&res, ndn[i])) {
			facts[i].in_vpn_group = true;
			added++;
		} else if (res.incomplete) {
			facts[i].group_unknown = true;
			unknown++;
		}
	}
	if (unknown) {
		log_warn("ldap: %u users are in no VPN group read, and nested groups were not all read (%s): "
			 "their devices are left as they are", unknown, res.why);
		snprintf(err, errlen, "nested groups not read completely, %u users left unchanged: %s", unknown, res.why);
	}
	log_debug("ldap: nested groups of the VPN group groups=%u depth=%u members_through_nesting=%u", res.groups,
		  res.depth, added);
out:
	group_nest_result_free(&res);
	return r;
}

/* Read the VPN group entry (its members, for the direct-membership test); once more on a
 * reused connection that turns out dead. 0, or a negative errno with err set. */
static int read_vpn_group(struct kw_ldap *d, struct ldap_slot *s, char **gattrs, struct group_read *group,
			  struct kw_ldap_check_stats *st, char *err, size_t errlen)
{
	const struct kw_ldap_config *cfg = d->cfg;
	bool fresh;
	int r = 0, rc = LDAP_SUCCESS;

	for (int attempt = 0; attempt < 2; attempt++) {
		r = kwl_conn_ensure(d, &s->svc, true, &fresh);
		if (r < 0) {
			snprintf(err, errlen, "%s", r == -ETIMEDOUT ? "the directory did not answer within the timeout"
								   : "no directory URI could be reached");
			return r;
		}
		strvec_free(&group->members);
		group->seen = false;
		r = kwl_search_paged(d, s->svc, cfg->vpn_group, LDAP_SCOPE_BASE, "(objectClass=*)", gattrs, group_entry_cb,
				 group, st, &rc);
		if (r < 0 && (kwl_rc_is_down(rc) || rc == LDAP_TIMEOUT)) {
			kwl_conn_drop(&s->svc);
			if (!fresh && rc != LDAP_TIMEOUT)
				continue;
		}
		break;
	}
	if (r < 0 || !group->seen) {
		if (r == -ENOENT || (r == 0 && !group->seen)) {
			r = -ENOENT;
			snprintf(err, errlen, "VPN group entry %s cannot be read", cfg->vpn_group);
		} else if (r == -ENOTSUP) {
			snprintf(err, errlen, "the VPN group is served in ranges (Active Directory); use group_style = memberOf");
		} else {
			snprintf(err, errlen, "reading the VPN group failed: %s", ldap_err2string(rc));
		}
		return r;
	}
	strvec_sort(&group->members);
	return 0;
}

/* Look up the users, batch_size at a time with one OR filter each, filling facts. 0, or a
 * negative errno with err set. */
static int check_batches(struct kw_ldap *d, struct ldap_slot *s, struct kw_ldap_user_fact *facts, size_t n,
			 struct group_read *group, const char *canon_group, char **ndn, char **attrs,
			 struct kw_ldap_check_stats *st, char *err, size_t errlen)
{
	const struct kw_ldap_config *cfg = d->cfg;
	char *filter = NULL;
	int r = 0, rc;

	for (size_t off = 0; off < n; off += cfg->batch_size) {
		size_t m = n - off < cfg->batch_size ? n - off : cfg->batch_size;
		struct batch_ctx b = { .d = d, .facts = facts + off, .n = m, .group = group,
				       .canon_group = canon_group, .ndn = ndn ? ndn + off : NULL,
				       .now = time(NULL) };

		free(filter);
		r = batch_filter(cfg, facts + off, m, &filter);
		if (r < 0) {
			snprintf(err, errlen, "cannot build a search filter (%s)", strerror(-r));
			break;
		}
		r = kwl_search_paged(d, s->svc, cfg->user_base, LDAP_SCOPE_SUBTREE, filter, attrs, batch_entry_cb, &b, st,
				 &rc);
		if (r < 0) {
			if (kwl_rc_is_down(rc) || rc == LDAP_TIMEOUT)
				kwl_conn_drop(&s->svc);
			if (r == -E2BIG)
				snprintf(err, errlen, "user search truncated by the server (%s)", ldap_err2string(rc));
			else if (r == -ENOENT)
				snprintf(err, errlen, "user_base %s does not exist", cfg->user_base);
			else
				snprintf(err, errlen, "user search failed: %s", ldap_err2string(rc));
			break;
		}
		if (b.matched == 0) {
			snprintf(err, errlen, "a search for %zu users holding devices returned no entries", m);
			r = -ENODATA;
			break;
		}
		for (size_t i = 0; i < m; i++)
			if (facts[off + i].presence == KW_LDAP_USER_UNCHECKED)
				facts[off + i].presence = KW_LDAP_USER_MISSING;
	}
	free(filter);
	return r;
}

int ldap_dir_check_users(struct kw_ldap *d, struct kw_ldap_user_fact *facts, size_t n,
			 struct kw_ldap_check_stats *st, char *err, size_t errlen)
{
	const struct kw_ldap_config *cfg = d->cfg;
	struct group_read group = { .style = cfg->group_style };
	struct kw_ldap_check_stats st0 = { 0 };
	struct ldap_slot *s;
	char *attrs[A_END + 1], *gattrs[2] = { NULL, NULL }, *canon_group = NULL;
	char **ndn = NULL;
	bool nested = cfg->nested_groups && (cfg->group_style == KW_LDAP_GROUP_MEMBER ||
						     cfg->group_style == KW_LDAP_GROUP_UNIQUE_MEMBER);
	int r = 0;

	if (!st)
		st = &st0;
	memset(st, 0, sizeof(*st));
	ldap_user_facts_release(facts, n);
	for (size_t i = 0; i < n; i++) {
		facts[i].presence = KW_LDAP_USER_UNCHECKED;
		facts[i].in_vpn_group = false;
		facts[i].group_unknown = false;
		facts[i].disabled = 0;
	}
	if (n == 0)
		return 0;
	kwl_user_attrs(d, attrs);
	gattrs[0] = cfg->group_style == KW_LDAP_GROUP_MEMBER_OF ? "1.1" : (char *)kwl_group_attr(cfg->group_style);
	r = kwl_dn_canon_dup(cfg->vpn_group, strlen(cfg->vpn_group), &canon_group);
	if (r < 0) {
		snprintf(err, errlen, "vpn_group is not a valid DN");
		return r;
	}

	if (nested) {
		ndn = calloc(n, sizeof(*ndn));
		if (!ndn) {
			free(canon_group);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	s = kwl_slot_acquire(d);
	/* 1. the VPN group entry: its absence is a reason to change nothing. */
	r = read_vpn_group(d, s, gattrs, &group, st, err, errlen);
	if (r < 0)
		goto out;

	/* 2. users, batch_size at a time, one OR filter each. */
	r = check_batches(d, s, facts, n, &group, canon_group, ndn, attrs, st, err, errlen);
	if (r < 0)
		goto out;
	/* 3. nested groups, only when someone found is not a direct member (membership only
	 * grows through nesting, so otherwise there is nothing to learn). */
	if (nested) {
		r = check_nested(d, s, &group, facts, ndn, n, st, err, errlen);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	kwl_slot_release(s);
	strvec_free(&group.members);
	for (size_t i = 0; ndn && i < n; i++)
		free(ndn[i]);
	free(ndn);
	free(canon_group);
	return r;
}

