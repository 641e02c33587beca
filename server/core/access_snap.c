/* Loading sites, gateways, policies and memberships for one config build (access_snap.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_snap.h"
#include "conf.h"
#include "log.h"

struct load_ctx {
	struct kw_access_snap *s;
	const struct kw_conf *conf;
	size_t cap;
	int err;
};

static int site_cb(const struct kw_site *site, void *arg)
{
	struct load_ctx *x = arg;
	struct kw_access_snap *s = x->s;
	struct kw_snap_site *ss;

	if (s->nsites == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8;
		struct kw_snap_site *v = realloc(s->sites, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->sites = v;
		x->cap = cap;
	}
	ss = &s->sites[s->nsites++];
	memset(ss, 0, sizeof(*ss));
	ss->site = *site;
	ss->active = -1;
	if (site->routes_from_conf) {
		int n = x->conf->nroutes < KW_SITE_ROUTES_MAX ? x->conf->nroutes : KW_SITE_ROUTES_MAX;

		memcpy(ss->site.routes, x->conf->routes, sizeof(*ss->site.routes) * (size_t)n);
		ss->site.nroutes = n;
	}
	ss->carries_vpn = strcmp(site->name, KW_SITE_DEFAULT) == 0 && site->default_action == KW_SITE_ALLOW;
	return 0;
}

static struct kw_snap_site *site_by_id(struct kw_access_snap *s, int64_t id)
{
	for (size_t i = 0; i < s->nsites; i++)
		if (s->sites[i].site.id == id)
			return &s->sites[i];
	return NULL;
}

static int gateway_cb(const struct kw_site_gateway *g, void *arg)
{
	struct load_ctx *x = arg;
	struct kw_snap_site *ss = site_by_id(x->s, g->site_id);
	struct kw_site_gateway *v;

	if (!ss)
		return 0;
	v = realloc(ss->gws, (ss->ngws + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ss->gws = v;
	ss->gws[ss->ngws++] = *g;
	return 0;
}

static void pick_active(struct kw_snap_site *ss)
{
	ss->active = -1;
	for (size_t i = 0; i < ss->ngws; i++) {
		if (strcmp(ss->gws[i].state, "active") != 0)
			continue;
		if (ss->active < 0)
			ss->active = (int)i;
		if (ss->gws[i].online) {
			ss->active = (int)i;
			return;
		}
	}
}

static int policy_cb(const struct kw_policy_row *p, void *arg)
{
	struct load_ctx *x = arg;
	struct kw_access_snap *s = x->s;
	struct kw_policy *v = realloc(s->policies, (s->npolicies + 1) * sizeof(*v));
	char err[256];
	int ret;

	if (!v)
		return -ENOMEM;
	s->policies = v;
	ret = access_policy_from_text(p->id, p->site_id, p->groups, p->users, p->destinations, &v[s->npolicies],
				      err, sizeof(err));
	if (ret == -EINVAL) {
		log_warn("access: policy %lld is unreadable, ignored: %s", (long long)p->id, err);
		return 0;
	}
	if (ret < 0)
		return ret;
	s->npolicies++;
	return 0;
}

static int member_cb(const char *group, const char *username, void *arg)
{
	struct load_ctx *x = arg;
	struct kw_access_snap *s = x->s;
	struct kw_group_member *m;

	if (s->nmembers == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		struct kw_group_member *v = realloc(s->members, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->members = v;
		x->cap = cap;
	}
	m = &s->members[s->nmembers];
	m->username = strdup(username);
	m->group = strdup(group);
	if (!m->username || !m->group) {
		free(m->username);
		free(m->group);
		return -ENOMEM;
	}
	s->nmembers++;
	return 0;
}

static int member_cmp(const void *a, const void *b)
{
	const struct kw_group_member *x = a, *y = b;
	int c = strcmp(x->username, y->username);

	return c ? c : strcmp(x->group, y->group);
}

int access_snap_load(const struct kw_server *srv, const char *username, struct kw_access_snap **out)
{
	const struct kw_conf *conf = server_conf(srv);
	struct kw_access_snap *s = calloc(1, sizeof(*s));
	struct load_ctx x = { .s = s, .conf = conf };
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->vpn = conf->cidr;
	s->vpn6 = conf->cidr6;
	s->has_vpn6 = conf->has_cidr6;
	ret = store_site_list(srv->store, site_cb, &x);
	if (ret == 0)
		ret = store_site_gateways(srv->store, 0, gateway_cb, &x);
	for (size_t i = 0; ret == 0 && i < s->nsites; i++)
		pick_active(&s->sites[i]);
	if (ret == 0)
		ret = store_policy_list(srv->store, 0, policy_cb, &x);
	x.cap = 0;
	if (ret == 0)
		ret = store_group_members_list(srv->store, username, member_cb, &x);
	if (ret < 0) {
		access_snap_free(s);
		return ret;
	}
	if (s->nmembers)
		qsort(s->members, s->nmembers, sizeof(*s->members), member_cmp);
	*out = s;
	return 0;
}

void access_snap_free(struct kw_access_snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nsites; i++)
		free(s->sites[i].gws);
	free(s->sites);
	for (size_t i = 0; i < s->npolicies; i++)
		access_policy_clear(&s->policies[i]);
	free(s->policies);
	for (size_t i = 0; i < s->nmembers; i++) {
		free(s->members[i].username);
		free(s->members[i].group);
	}
	free(s->members);
	free(s);
}

const struct kw_snap_site *access_snap_site_of_gateway(const struct kw_access_snap *s, int64_t id)
{
	for (size_t i = 0; i < s->nsites; i++)
		for (size_t j = 0; j < s->sites[i].ngws; j++)
			if (s->sites[i].gws[j].id == id)
				return &s->sites[i];
	return NULL;
}

int access_snap_user_groups(const struct kw_access_snap *s, const char *username, const char ***groups,
			    size_t *n)
{
	size_t lo = 0, hi = s->nmembers, k = 0;
	const char **v;

	/* first row with username >= the one asked */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->members[mid].username, username) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hi = lo; hi < s->nmembers && strcmp(s->members[hi].username, username) == 0; hi++)
		;
	v = calloc(hi - lo + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = lo; i < hi; i++)
		v[k++] = s->members[i].group;
	*groups = v;
	*n = k;
	return 0;
}

int access_snap_grants(const struct kw_access_snap *s, const struct kw_snap_site *ss, const char *username,
		       struct kw_dest_list *out)
{
	const char **groups = NULL;
	size_t ng = 0;
	int ret = access_snap_user_groups(s, username, &groups, &ng);

	for (size_t i = 0; ret == 0 && i < s->npolicies; i++) {
		const struct kw_policy *p = &s->policies[i];

		if (p->site_id != ss->site.id || !access_policy_applies(p, username, groups, ng))
			continue;
		for (size_t j = 0; ret == 0 && j < p->ndests; j++) {
			if (access_dest_usable(&p->dests[j], ss->site.routes, ss->site.nroutes, &s->vpn,
					       s->has_vpn6 ? &s->vpn6 : NULL))
				ret = access_dest_list_add(out, &p->dests[j]);
		}
	}
	free(groups);
	return ret;
}
