#include "config.h"
#include "apply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static bool cidr_same(const struct kw_cidr *a, const struct kw_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix && memcmp(a->addr, b->addr, 16) == 0;
}

static bool cidr_in(const struct kw_cidr *list, size_t n, const struct kw_cidr *c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_same(&list[i], c))
			return true;
	return false;
}

static int cidr_cmp(const void *pa, const void *pb)
{
	const struct kw_cidr *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

static bool cidr_in_sorted(const struct kw_cidr *list, size_t n, const struct kw_cidr *c)
{
	return n > 0 && bsearch(c, list, n, sizeof(*list), cidr_cmp) != NULL;
}

int apply_routes(const struct agent_config *cfg, struct kw_cidr **out, size_t *n)
{
	struct kw_cidr *r = NULL;
	size_t total = 0, cnt = 0, kept = 0, i, j;

	*out = NULL;
	*n = 0;
	if (!cfg)
		return 0;
	for (i = 0; i < cfg->n_peers; i++)
		total += cfg->peers[i].n_allowed;
	r = calloc(total + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (i = 0; i < cfg->n_peers; i++) {
		for (j = 0; j < cfg->peers[i].n_allowed; j++) {
			const struct kw_cidr *c = &cfg->peers[i].allowed[j];

			if (c->prefix == 0 || cidr_in(cfg->addresses, cfg->n_addresses, c))
				continue;
			r[cnt++] = *c;
		}
	}
	/* Sorted and unique: a gateway has one route per device, so keep this n log n. */
	qsort(r, cnt, sizeof(*r), cidr_cmp);
	for (i = 0; i < cnt; i++)
		if (kept == 0 || cidr_cmp(&r[kept - 1], &r[i]) != 0)
			r[kept++] = r[i];
	*out = r;
	*n = kept;
	return 0;
}

static int keep_first(int ret, int r)
{
	return ret < 0 ? ret : r;
}

static int apply_peers(const struct agent_config *old_cfg, const struct agent_config *new_cfg,
		       const struct apply_ops *ops, void *ctx, struct apply_stats *st)
{
	size_t i;
	int ret = 0;

	if (old_cfg) {
		for (i = 0; i < old_cfg->n_peers; i++) {
			const struct agent_peer *p = &old_cfg->peers[i];

			if (agent_config_find_peer(new_cfg, p->public_key))
				continue;
			ret = keep_first(ret, ops->peer_remove(ctx, p->public_key));
			st->peers_removed++;
		}
	}
	if (!new_cfg)
		return ret;
	for (i = 0; i < new_cfg->n_peers; i++) {
		const struct agent_peer *p = &new_cfg->peers[i];
		const struct agent_peer *was = agent_config_find_peer(old_cfg, p->public_key);

		if (was && agent_peer_equal(was, p)) {
			st->peers_kept++;
			continue;
		}
		ret = keep_first(ret, ops->peer_set(ctx, p));
		if (was)
			st->peers_changed++;
		else
			st->peers_added++;
	}
	return ret;
}

static int apply_addresses(const struct agent_config *old_cfg, const struct agent_config *new_cfg,
			   const struct apply_ops *ops, void *ctx)
{
	size_t i;
	int ret = 0;

	if (old_cfg)
		for (i = 0; i < old_cfg->n_addresses; i++)
			if (!new_cfg || !cidr_in(new_cfg->addresses, new_cfg->n_addresses,
						 &old_cfg->addresses[i]))
				ret = keep_first(ret, ops->address(ctx, &old_cfg->addresses[i], false));
	if (new_cfg)
		for (i = 0; i < new_cfg->n_addresses; i++)
			if (!old_cfg || !cidr_in(old_cfg->addresses, old_cfg->n_addresses,
						 &new_cfg->addresses[i]))
				ret = keep_first(ret, ops->address(ctx, &new_cfg->addresses[i], true));
	return ret;
}

static int apply_route_diff(const struct agent_config *old_cfg, const struct agent_config *new_cfg,
			    const struct apply_ops *ops, void *ctx, struct apply_stats *st)
{
	struct kw_cidr *old_r = NULL, *new_r = NULL;
	size_t n_old = 0, n_new = 0, i;
	int ret;

	ret = apply_routes(old_cfg, &old_r, &n_old);
	if (ret == 0)
		ret = apply_routes(new_cfg, &new_r, &n_new);
	if (ret < 0)
		goto out;
	for (i = 0; i < n_old; i++) {
		if (cidr_in_sorted(new_r, n_new, &old_r[i]))
			continue;
		ret = keep_first(ret, ops->route(ctx, &old_r[i], false));
		st->routes_removed++;
	}
	for (i = 0; i < n_new; i++) {
		if (cidr_in_sorted(old_r, n_old, &new_r[i]))
			continue;
		ret = keep_first(ret, ops->route(ctx, &new_r[i], true));
		st->routes_added++;
	}
out:
	free(old_r);
	free(new_r);
	return ret;
}

int apply_config(const struct agent_config *old_cfg, const struct agent_config *new_cfg,
		 const struct apply_ops *ops, void *ctx, struct apply_stats *stats)
{
	struct apply_stats local;
	int ret = 0;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (new_cfg && new_cfg->listen_port >= 0 &&
	    (!old_cfg || old_cfg->listen_port != new_cfg->listen_port))
		ret = keep_first(ret, ops->listen_port(ctx, (uint16_t)new_cfg->listen_port));
	if (new_cfg && new_cfg->mtu > 0 && (!old_cfg || old_cfg->mtu != new_cfg->mtu))
		ret = keep_first(ret, ops->mtu(ctx, new_cfg->mtu));
	/* Addresses, then peers, then routes: a new route never points into the tunnel
	 * before the peer behind it exists. */
	ret = keep_first(ret, apply_addresses(old_cfg, new_cfg, ops, ctx));
	ret = keep_first(ret, apply_peers(old_cfg, new_cfg, ops, ctx, stats));
	ret = keep_first(ret, apply_route_diff(old_cfg, new_cfg, ops, ctx, stats));
	return ret;
}
