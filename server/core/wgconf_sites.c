/*
 * The peers of a config payload, decided by sites, gateway health and access policies.
 *
 * A device's config holds, for each site with an active gateway, exactly one gateway peer:
 * the site's active gateway, carrying its own tunnel address(es) and the site's part
 * ("allowed_ips" of the site: its routes under "allow", what the user's policies grant
 * under "deny"). No prefix is ever given to two peers: WireGuard would move it to the last
 * one. The VPN network itself is routed only (a) by the 'default' site while its default
 * is "allow" (an upgraded install keeps device-to-device traffic through its gateway) and
 * (b) where a policy grants a destination inside it; a prefix inside another peer's prefix
 * (a gateway's /32 inside a granted VPN range) is fine: the longest prefix wins.
 * "sites" lists every site's gateways in order (the agent's failover candidates).
 *
 * A gateway's config holds every active device as a peer with its "access" on the gateway's
 * site (see README, "Sites and access policies", for the contract).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_snap.h"
#include "conf.h"
#include "wgconf_sites.h"

void wgconf_ips_json(struct sbuf *b, const char *a, const char *a6)
{
	sb_add(b, "[", 1);
	sb_json_str(b, a);
	if (a6 && a6[0]) {
		sb_add(b, ",", 1);
		sb_json_str(b, a6);
	}
	sb_add(b, "]", 1);
}

/* Prefixes handed out so far in one device config, with the peer (site index) holding each. */
struct pfx_list {
	struct kw_cidr *v;
	size_t *peer;
	size_t n, cap;
};

/* 1: c is new (recorded for peer), 0: identical to one handed out, or inside one of the same
 * peer (nothing to add), <0: no memory. */
static int pfx_take(struct pfx_list *l, const struct kw_cidr *c, size_t peer)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].family == c->family && l->v[i].prefix == c->prefix && cidr_contains(&l->v[i], c))
			return 0;
		if (l->peer[i] == peer && cidr_contains(&l->v[i], c))
			return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct kw_cidr *v = realloc(l->v, cap * sizeof(*v));
		size_t *p;

		if (!v)
			return -ENOMEM;
		l->v = v;
		p = realloc(l->peer, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->peer = p;
		l->cap = cap;
	}
	l->v[l->n] = *c;
	l->peer[l->n] = peer;
	l->n++;
	return 1;
}

/* A site's part of a device's config: the prefixes beyond its gateway's own address. */
struct site_plan {
	const struct kw_snap_site *ss;
	struct kw_cidr *ips;
	size_t n;
	/* the gateway's own address lies inside one of ips (the VPN network of an upgraded
	 * install): not listed again, so such a config is the same as before sites existed */
	bool own_covered, own6_covered;
};

static bool covered(const struct site_plan *p, const char *addr)
{
	struct kw_cidr a;

	if (!addr[0] || cidr_parse(&a, addr) < 0)
		return false;
	for (size_t i = 0; i < p->n; i++)
		if (cidr_contains(&p->ips[i], &a))
			return true;
	return false;
}

static int plan_add(struct pfx_list *l, struct site_plan *p, size_t peer, const struct kw_cidr *c)
{
	int r = pfx_take(l, c, peer);

	if (r <= 0)
		return r;
	p->ips[p->n++] = *c;
	return 0;
}

static int plan_site(const struct kw_access_snap *s, const struct kw_device *d, struct pfx_list *l, size_t peer,
		     struct site_plan *p)
{
	const struct kw_site *site = &p->ss->site;
	struct kw_dest_list grants = { 0 };
	int ret = access_snap_grants(s, p->ss, d->username, &grants);

	p->ips = calloc((size_t)site->nroutes + grants.n + 2, sizeof(*p->ips));
	if (ret == 0 && !p->ips)
		ret = -ENOMEM;
	if (ret == 0 && p->ss->carries_vpn) {
		ret = plan_add(l, p, peer, &s->vpn);
		if (ret == 0 && s->has_vpn6)
			ret = plan_add(l, p, peer, &s->vpn6);
	}
	for (int i = 0; ret == 0 && site->default_action == KW_SITE_ALLOW && i < site->nroutes; i++)
		ret = plan_add(l, p, peer, &site->routes[i]);
	for (size_t i = 0; ret == 0 && i < grants.n; i++)
		ret = plan_add(l, p, peer, &grants.v[i].cidr);
	access_dest_list_clear(&grants);
	return ret;
}

static void cidrs_json(struct sbuf *b, const struct kw_cidr *v, size_t n, bool comma_first)
{
	char buf[KW_CIDR_STRLEN];

	for (size_t i = 0; i < n; i++) {
		if (comma_first || i)
			sb_add(b, ",", 1);
		cidr_format(buf, &v[i]);
		sb_json_str(b, buf);
	}
}

static void gateway_peer_json(struct sbuf *b, const struct kw_conf *conf, const struct kw_site_gateway *g,
			      const struct site_plan *p)
{
	const char *ep = g->endpoint[0] ? g->endpoint : conf->gateway_endpoint;

	sb_str(b, "{\"public_key\":");
	sb_json_str(b, g->public_key);
	sb_str(b, ",\"endpoint\":");
	if (ep[0])
		sb_json_str(b, ep);
	else
		sb_str(b, "null");
	sb_str(b, ",\"allowed_ips\":[");
	if (!p || !p->own_covered)
		sb_json_str(b, g->address);
	if (g->address6[0] && (!p || !p->own6_covered)) {
		if (!p || !p->own_covered)
			sb_add(b, ",", 1);
		sb_json_str(b, g->address6);
	}
	if (p)
		cidrs_json(b, p->ips, p->n, !p->own_covered || (g->address6[0] && !p->own6_covered));
	sb_fmt(b, "],\"persistent_keepalive\":%d", conf->persistent_keepalive);
}

/* "sites":[{"name","default","allowed_ips","gateways":[…candidates in order…]}] */
static void sites_json(struct sbuf *b, const struct kw_conf *conf, const struct site_plan *plans, size_t n)
{
	sb_str(b, ",\"sites\":[");
	for (size_t i = 0; i < n; i++) {
		const struct kw_snap_site *ss = plans[i].ss;
		bool first = true;

		sb_str(b, i ? ",{\"name\":" : "{\"name\":");
		sb_json_str(b, ss->site.name);
		sb_fmt(b, ",\"default\":\"%s\",\"allowed_ips\":[", store_site_action_name(ss->site.default_action));
		cidrs_json(b, plans[i].ips, plans[i].n, false);
		sb_str(b, "],\"gateways\":[");
		for (size_t j = 0; j < ss->ngws; j++) {
			if (strcmp(ss->gws[j].state, "active") != 0)
				continue;
			if (!first)
				sb_add(b, ",", 1);
			first = false;
			gateway_peer_json(b, conf, &ss->gws[j], NULL);
			sb_fmt(b, ",\"online\":%s,\"active\":%s}", ss->gws[j].online ? "true" : "false",
			       (int)j == ss->active ? "true" : "false");
		}
		sb_str(b, "]}");
	}
	sb_str(b, "]");
}

int wgconf_device_part(const struct kw_server *srv, const struct kw_device *d, struct sbuf *b)
{
	const struct kw_conf *conf = server_conf(srv);
	struct kw_access_snap *s = NULL;
	struct pfx_list l = { 0 };
	struct site_plan *plans = NULL;
	size_t np = 0;
	int ret = access_snap_load(srv, d->username, &s);

	if (ret == 0) {
		plans = calloc(s->nsites + 1, sizeof(*plans));
		if (!plans)
			ret = -ENOMEM;
	}
	/* Gateways' own addresses first: no grant can take them away. */
	for (size_t i = 0; ret == 0 && i < s->nsites; i++) {
		const struct kw_snap_site *ss = &s->sites[i];
		struct kw_cidr a;

		if (ss->active < 0)
			continue;
		plans[np].ss = ss;
		if (cidr_parse(&a, ss->gws[ss->active].address) == 0 && pfx_take(&l, &a, np) < 0)
			ret = -ENOMEM;
		if (ss->gws[ss->active].address6[0] && cidr_parse(&a, ss->gws[ss->active].address6) == 0 &&
		    pfx_take(&l, &a, np) < 0)
			ret = -ENOMEM;
		np++;
	}
	for (size_t i = 0; ret == 0 && i < np; i++) {
		const struct kw_site_gateway *g = &plans[i].ss->gws[plans[i].ss->active];

		ret = plan_site(s, d, &l, i, &plans[i]);
		plans[i].own_covered = covered(&plans[i], g->address);
		plans[i].own6_covered = covered(&plans[i], g->address6);
	}
	if (ret == 0) {
		sb_str(b, "\"peers\":[");
		for (size_t i = 0; i < np; i++) {
			if (i)
				sb_add(b, ",", 1);
			gateway_peer_json(b, conf, &plans[i].ss->gws[plans[i].ss->active], &plans[i]);
			sb_str(b, ",\"site\":");
			sb_json_str(b, plans[i].ss->site.name);
			sb_str(b, "}");
		}
		sb_str(b, "]");
		sites_json(b, conf, plans, np);
	}
	for (size_t i = 0; plans && i < np; i++)
		free(plans[i].ips);
	free(plans);
	free(l.v);
	free(l.peer);
	access_snap_free(s);
	return ret;
}

/*
 * The "access" text of a device on the gateway's site depends only on which of the site's
 * policies apply to its user: it is rendered once per distinct set (few, however many users),
 * found by the set's key ("3,17,42": policy indices).
 */
#define ACCESS_BUCKETS 4096

struct access_entry {
	struct access_entry *next;
	char *text;
	char key[];
};

struct access_cache {
	const struct kw_access_snap *s;
	const struct kw_snap_site *ss;
	size_t *idx;  /* scratch: the applicable policies of one user */
	char *key;    /* scratch: their key */
	size_t keycap;
	struct access_entry *b[ACCESS_BUCKETS];
};

static unsigned key_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ACCESS_BUCKETS;
}

static int access_render(const struct access_cache *c, size_t n, struct sbuf *t)
{
	struct kw_dest_list grants = { 0 };
	int ret = c->ss ? access_snap_dests_of(c->s, c->ss, c->idx, n, &grants) : 0;

	sb_fmt(t, "{\"default\":\"%s\",\"destinations\":[",
	       c->ss ? store_site_action_name(c->ss->site.default_action) : "deny");
	for (size_t i = 0; ret == 0 && i < grants.n; i++) {
		char buf[KW_CIDR_STRLEN];

		cidr_format(buf, &grants.v[i].cidr);
		sb_str(t, i ? ",{\"cidr\":" : "{\"cidr\":");
		sb_json_str(t, buf);
		sb_fmt(t, ",\"protocol\":\"%s\"", access_proto_name(grants.v[i].proto));
		/* no "ports" member for every port (and never with icmp or any) */
		if (grants.v[i].ports[0]) {
			sb_str(t, ",\"ports\":");
			sb_json_str(t, grants.v[i].ports);
		}
		sb_str(t, "}");
	}
	sb_str(t, "]}");
	access_dest_list_clear(&grants);
	return ret < 0 ? ret : t->oom ? -ENOMEM : 0;
}

/* "" when the peer carries no "access" member at all: on the site that routes the VPN
 * network (the 'default' site allowing everything), so that an upgraded install's gateway
 * filters nothing, device-to-device traffic included, as before sites existed. */
static const char *access_text(struct access_cache *c, const char *username)
{
	struct access_entry *e;
	struct sbuf t = { 0 };
	size_t n = 0, len = 0;
	unsigned h;

	if (c->ss && c->ss->carries_vpn)
		return "";
	if (c->ss)
		access_snap_applicable(c->s, c->ss, username, c->idx, c->s->npolicies, &n);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(c->key + len, c->keycap - len, i ? ",%zu" : "%zu", c->idx[i]);
	c->key[len] = '\0';
	h = key_hash(c->key);
	for (e = c->b[h]; e; e = e->next)
		if (strcmp(e->key, c->key) == 0)
			return e->text;
	if (access_render(c, n, &t) < 0) {
		free(t.p);
		return NULL;
	}
	e = malloc(sizeof(*e) + len + 1);
	if (!e) {
		free(t.p);
		return NULL;
	}
	memcpy(e->key, c->key, len + 1);
	e->text = t.p;
	e->next = c->b[h];
	c->b[h] = e;
	return e->text;
}

static void access_cache_clear(struct access_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < ACCESS_BUCKETS; i++) {
		struct access_entry *e = c->b[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e->text);
			free(e);
		}
	}
	free(c->idx);
	free(c->key);
	free(c);
}

struct gw_peers_ctx {
	struct sbuf *b;
	struct access_cache *cache;
	bool first;
};

static int gw_device_peer(const struct kw_device_peer *p, void *arg)
{
	struct gw_peers_ctx *x = arg;
	const char *access = access_text(x->cache, p->username);

	if (!access)
		return -ENOMEM;
	sb_str(x->b, x->first ? "{\"public_key\":" : ",{\"public_key\":");
	x->first = false;
	sb_json_str(x->b, p->public_key);
	sb_str(x->b, ",\"endpoint\":null,\"allowed_ips\":");
	wgconf_ips_json(x->b, p->address, p->address6);
	sb_str(x->b, ",\"persistent_keepalive\":0");
	if (access[0]) {
		sb_str(x->b, ",\"access\":");
		sb_str(x->b, access);
	}
	sb_str(x->b, "}");
	return x->b->oom ? -ENOMEM : 0;
}

int wgconf_gateway_part(const struct kw_server *srv, const struct kw_device *g, struct sbuf *b)
{
	struct kw_access_snap *s = NULL;
	struct access_cache *cache = calloc(1, sizeof(*cache));
	struct gw_peers_ctx x = { .b = b, .cache = cache, .first = true };
	int ret = cache ? access_snap_load(srv, NULL, &s) : -ENOMEM;

	if (ret == 0) {
		cache->s = s;
		cache->ss = access_snap_site_of_gateway(s, g->id);
		/* a key is at most npolicies numbers of 20 digits and commas */
		cache->keycap = s->npolicies * 21 + 1;
		cache->idx = calloc(s->npolicies + 1, sizeof(*cache->idx));
		cache->key = malloc(cache->keycap);
		if (!cache->idx || !cache->key)
			ret = -ENOMEM;
	}
	if (ret == 0) {
		sb_str(b, "\"site\":");
		if (cache->ss) {
			sb_str(b, "{\"name\":");
			sb_json_str(b, cache->ss->site.name);
			sb_fmt(b, ",\"default\":\"%s\",\"routes\":[",
			       store_site_action_name(cache->ss->site.default_action));
			cidrs_json(b, cache->ss->site.routes, (size_t)cache->ss->site.nroutes, false);
			sb_str(b, "]}");
		} else {
			sb_str(b, "null");
		}
		sb_str(b, ",\"peers\":[");
		ret = store_site_device_peers(srv->store, gw_device_peer, &x);
		sb_str(b, "]");
	}
	access_cache_clear(cache);
	access_snap_free(s);
	return ret;
}
