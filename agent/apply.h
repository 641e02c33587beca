/*
 * Apply a verified config by difference from the one running: only peers that are new
 * or changed are set, only peers that are gone are removed, so unchanged peers keep
 * their sessions (and their roamed endpoints). Addresses and routes likewise. The
 * work is done through a small table of operations so tests can record it; tunnel.c
 * provides the real one (the embedded data plane and rtnetlink).
 */
#ifndef KW_AGENT_APPLY_H
#define KW_AGENT_APPLY_H

#include "verify.h"

struct apply_ops {
	int (*peer_set)(void *ctx, const struct agent_peer *peer);
	int (*peer_remove)(void *ctx, const uint8_t public_key[KW_KEY_LEN]);
	int (*listen_port)(void *ctx, uint16_t port);
	int (*mtu)(void *ctx, int mtu);
	int (*address)(void *ctx, const struct kw_cidr *addr, bool add);
	int (*route)(void *ctx, const struct kw_cidr *net, bool add);
};

struct apply_stats {
	size_t peers_added, peers_changed, peers_removed, peers_kept;
	size_t routes_added, routes_removed;
};

/*
 * Move from old (NULL: nothing configured) to new (NULL: tear everything down).
 * Keeps going after a failed step and returns the first error (0 when all went well).
 */
int apply_config(const struct agent_config *old_cfg, const struct agent_config *new_cfg,
		 const struct apply_ops *ops, void *ctx, struct apply_stats *stats);

/*
 * The routes a config needs: every peer's allowed IPs, deduplicated, without default
 * routes (0.0.0.0/0 and ::/0 would capture the tunnel's own UDP) and without prefixes
 * equal to an interface address; sorted and unique. *out is malloc'd.
 */
int apply_routes(const struct agent_config *cfg, struct kw_cidr **out, size_t *n);

#endif
