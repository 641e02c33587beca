/* Crypto worker pool: a parallel for-loop over the packets of one burst.
 *
 * The send and receive threads gather a burst (a TUN read loop, a recvmmsg
 * batch), then seal or open all of its packets with pool_run(): the calling
 * thread and the pool's workers take packets one by one until none is left,
 * and pool_run() returns when every packet is done. The burst then leaves in
 * the order it came in, so per-peer order holds without reorder queues.
 * Both directions may run jobs at the same time; workers help whichever job
 * has packets left. */
#ifndef KW_WG_POOL_H
#define KW_WG_POOL_H

#include <stdbool.h>

struct wg_pool;

typedef void (*pool_fn)(void *ctx, unsigned i);

/* Worker count for this machine: KEYWAY_WG_WORKERS if set (0..64), else one
 * per CPU beyond the two data-path threads, and at least one where there are
 * two CPUs (measured there: see tests/bench/dataplane/run.sh). */
unsigned pool_default_workers(void);
/* A pool of `workers` threads; 0 workers gives a pool that runs everything
 * on the caller. 0 or a negative errno. */
int pool_new(struct wg_pool **out, unsigned workers);
void pool_free(struct wg_pool *p); /* joins the workers; NULL is fine */
unsigned pool_workers(const struct wg_pool *p);
/* Runs fn(ctx, i) for every i in [0, n), in parallel when the pool has
 * workers and n is worth splitting; returns when all are done. */
void pool_run(struct wg_pool *p, unsigned n, pool_fn fn, void *ctx);

#endif
