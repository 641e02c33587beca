/* Loading sites, gateways, policies and memberships for one config build (access_snap.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_snap.h"
#include "conf.h"
#include "log.h"

struct kw_access_common {
	unsigned refs; /* under the cache's lock (or owned by one snapshot without a cache) */
	uint64_t counter;
	struct kw_snap_site *sites;
	size_t nsites;
	struct kw_policy *policies;
	size_t npolicies;
};

struct kw_access_cache {
	pthread_mutex_t lock;
	struct kw_access_common *cur;
};

struct load_ctx {
	struct kw_access_common *s;
	struct kw_access_snap *snap;
	const struct kw_conf *conf;
	size_t cap;
	int err;
};

static int site_cb(const struct kw_site *site, void *arg)
{
	struct load_ctx *x = arg;
	struct kw_access_common *s = x->s;
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

static struct kw_snap_site *site_by_id(struct kw_access_common *s, int64_t id)
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
	struct kw_access_common *s = x->s;
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
	struct kw_access_snap *s = x->snap;
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

static void common_free(struct kw_access_common *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nsites; i++)
		free(c->sites[i].gws);
	free(c->sites);
	for (size_t i = 0; i < c->npolicies; i++)
		access_policy_clear(&c->policies[i]);
	free(c->policies);
	free(c);
}

static int common_load(const struct kw_server *srv, const struct kw_conf *conf, uint64_t counter,
		       struct kw_access_common **out)
{
	struct kw_access_common *c = calloc(1, sizeof(*c));
	struct load_ctx x = { .s = c, .conf = conf };
	int ret;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->refs = 1;
	c->counter = counter;
	ret = store_site_list(srv->store, site_cb, &x);
	if (ret == 0)
		ret = store_site_gateways(srv->store, 0, gateway_cb, &x);
	for (size_t i = 0; ret == 0 && i < c->nsites; i++)
		pick_active(&c->sites[i]);
	if (ret == 0)
		ret = store_policy_list(srv->store, 0, policy_cb, &x);
	if (ret < 0) {
		common_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int access_cache_new(struct kw_access_cache **out)
{
	struct kw_access_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void access_cache_free(struct kw_access_cache *c)
{
	if (!c)
		return;
	if (c->cur && --c->cur->refs == 0)
		common_free(c->cur);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The shared part for the store as of counter: the cached one, or loaded (and cached). */
static int common_get(const struct kw_server *srv, const struct kw_conf *conf, struct kw_access_common **out)
{
	struct kw_access_cache *cache = srv->access_cache;
	/* Read before loading: data loaded after it is at least as new as the counter says. */
	uint64_t counter = store_change_counter(srv->store);
	struct kw_access_common *c = NULL, *old = NULL;
	int ret;

	if (cache) {
		pthread_mutex_lock(&cache->lock);
		if (cache->cur && cache->cur->counter == counter) {
			c = cache->cur;
			c->refs++;
		}
		pthread_mutex_unlock(&cache->lock);
		if (c) {
			*out = c;
			return 0;
		}
	}
	ret = common_load(srv, conf, counter, &c);
	if (ret < 0 || !cache) {
		*out = c;
		return ret;
	}
	pthread_mutex_lock(&cache->lock);
	if (!cache->cur || cache->cur->counter <= counter) {
		old = cache->cur;
		cache->cur = c;
		c->refs++;
		if (old && --old->refs > 0)
			old = NULL;
	}
	pthread_mutex_unlock(&cache->lock);
	common_free(old);
	*out = c;
	return 0;
}

static void common_put(const struct kw_server *srv, struct kw_access_common *c)
{
	struct kw_access_cache *cache = srv ? srv->access_cache : NULL;
	bool last;

	if (!c)
		return;
	if (!cache) {
		common_free(c);
		return;
	}
	pthread_mutex_lock(&cache->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&cache->lock);
	if (last)
		common_free(c);
}

int access_snap_load(const struct kw_server *srv, const char *username, struct kw_access_snap **out)
{
	const struct kw_conf *conf = server_conf(srv);
	struct kw_access_snap *s = calloc(1, sizeof(*s));
	struct load_ctx x = { .snap = s, .conf = conf };
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->srv = srv;
	s->vpn = conf->cidr;
	s->vpn6 = conf->cidr6;
	s->has_vpn6 = conf->has_cidr6;
	ret = common_get(srv, conf, &s->common);
	if (ret == 0) {
		s->sites = s->common->sites;
		s->nsites = s->common->nsites;
		s->policies = s->common->policies;
		s->npolicies = s->common->npolicies;
		ret = store_group_members_list(srv->store, username, member_cb, &x);
	}
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
	common_put(s->srv, s->common);
	for (size_t i = 0; i < s->nmembers; i++) {
		free(s->members[i].username);
		free(s->members[i].group);
	}
	free(s->members);
	free(s);
}

int access_warn_conf_overlaps(const struct kw_server *srv)
{
	struct kw_access_snap *s = NULL;
	char a[KW_CIDR_STRLEN], b[KW_CIDR_STRLEN];
	int n = 0;

	if (access_snap_load(srv, "", &s) < 0)
		return 0;
	for (size_t i = 0; i < s->nsites; i++) {
		if (!s->sites[i].site.routes_from_conf)
			continue;
		for (size_t j = 0; j < s->nsites; j++) {
			if (j == i)
				continue;
			for (int x = 0; x < s->sites[i].site.nroutes; x++) {
				for (int y = 0; y < s->sites[j].site.nroutes; y++) {
					if (!store_cidr_overlap(&s->sites[i].site.routes[x], &s->sites[j].site.routes[y]))
						continue;
					cidr_format(a, &s->sites[i].site.routes[x]);
					cidr_format(b, &s->sites[j].site.routes[y]);
					log_warn("[network] routes: %s overlaps %s of site '%s': change one of them "
						 "(devices send the narrower prefix to its site)", a, b, s->sites[j].site.name);
					n++;
				}
			}
		}
	}
	access_snap_free(s);
	return n;
}

const struct kw_snap_site *access_snap_site_of_gateway(const struct kw_access_snap *s, int64_t id)
{
	for (size_t i = 0; i < s->nsites; i++)
		for (size_t j = 0; j < s->sites[i].ngws; j++)
			if (s->sites[i].gws[j].id == id)
				return &s->sites[i];
	return NULL;
}

/* [*lo, *hi): the rows of username in the sorted members. */
static void member_range(const struct kw_access_snap *s, const char *username, size_t *lo_out, size_t *hi_out)
{
	size_t lo = 0, hi = s->nmembers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->members[mid].username, username) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hi = lo; hi < s->nmembers && strcmp(s->members[hi].username, username) == 0; hi++)
		;
	*lo_out = lo;
	*hi_out = hi;
}

static bool policy_applies_range(const struct kw_policy *p, const struct kw_access_snap *s, const char *username,
				 size_t lo, size_t hi)
{
	for (size_t i = 0; i < p->nusers; i++)
		if (strcmp(p->users[i], username) == 0)
			return true;
	for (size_t g = 0; g < p->ngroups; g++)
		for (size_t j = lo; j < hi; j++)
			if (strcmp(p->groups[g], s->members[j].group) == 0)
				return true;
	return false;
}

void access_snap_applicable(const struct kw_access_snap *s, const struct kw_snap_site *ss, const char *username,
			    size_t *idx, size_t max, size_t *n)
{
	size_t lo, hi;

	*n = 0;
	member_range(s, username, &lo, &hi);
	for (size_t i = 0; i < s->npolicies && *n < max; i++)
		if (s->policies[i].site_id == ss->site.id && policy_applies_range(&s->policies[i], s, username, lo, hi))
			idx[(*n)++] = i;
}

int access_snap_dests_of(const struct kw_access_snap *s, const struct kw_snap_site *ss, const size_t *idx,
			 size_t n, struct kw_dest_list *out)
{
	int ret = 0;

	for (size_t k = 0; ret == 0 && k < n; k++) {
		const struct kw_policy *p = &s->policies[idx[k]];

		for (size_t j = 0; ret == 0 && j < p->ndests; j++) {
			if (access_dest_usable(&p->dests[j], ss->site.routes, ss->site.nroutes, &s->vpn,
					       s->has_vpn6 ? &s->vpn6 : NULL))
				ret = access_dest_list_add(out, &p->dests[j]);
		}
	}
	return ret;
}

int access_snap_user_groups(const struct kw_access_snap *s, const char *username, const char ***groups,
			    size_t *n)
{
	size_t lo, hi, k = 0;
	const char **v;

	member_range(s, username, &lo, &hi);
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
	size_t *idx = calloc(s->npolicies + 1, sizeof(*idx)), n = 0;
	int ret;

	if (!idx)
		return -ENOMEM;
	access_snap_applicable(s, ss, username, idx, s->npolicies, &n);
	ret = access_snap_dests_of(s, ss, idx, n, out);
	free(idx);
	return ret;
}
