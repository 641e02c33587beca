/*
 * The gateway agent's side of the access policy: when to load, replace and remove the
 * nftables table (agent/nft.h) as configs come and go. agent/run.c calls it; the kernel
 * is reached only through a small table of operations, so a Check test can record what
 * would be done (tests/unit/test_agent_gwpol.c) and the integration tests use the real
 * one (gwpol_nft_ops).
 *
 * The rules it keeps:
 *   - Only a gateway filters: a config whose role is not "gateway" never loads a table
 *     (its "access" members, if any, are not even read).
 *   - At start, a table left by an earlier run (a crash) is removed before anything
 *     else, so it cannot go on filtering with an old policy.
 *   - Each verified config version's policy is loaded BEFORE its peers are applied, so
 *     a new device never has a moment without its restrictions. A config whose access
 *     is malformed, or which nftables refuses as too big, is refused whole (-EINVAL):
 *     the running config and its table stay. Any other failure (-EIO: nftables said
 *     no, no nf_tables in the kernel) also keeps the running config: the peers of a
 *     version whose policy is not in force are not applied.
 *   - A config without any "access" needs no table: the one loaded, if any, goes.
 *   - gwpol_remove() on stop and on every teardown (suspension, revocation, expiry),
 *     after the peers are gone.
 */
#ifndef KW_AGENT_GATEWAY_POLICY_H
#define KW_AGENT_GATEWAY_POLICY_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "nft.h"
#include "policy.h"

struct gwpol_ops {
	/* nft_apply() without dry run: load set's policy for ifname (state as nft.h). */
	int (*apply)(const struct policy_set *set, const char *ifname, struct nft_state **state,
		     char *err, size_t errlen, struct nft_stats *stats);
	/* nft_remove(): delete the table of ifname; 0 also when there is none. */
	int (*remove)(const char *ifname, char *err, size_t errlen);
};

/* The real operations: libnftables. */
extern const struct gwpol_ops gwpol_nft_ops;

struct gwpol {
	const struct gwpol_ops *ops;
	char ifname[IFNAMSIZ];
	struct nft_state *nft;  /* what the last apply loaded (nft.h), NULL: unknown */
	struct policy_set *ps;  /* the policy in force, kept for gwpol_refresh() */
	uint64_t version;       /* of the config whose policy is in force */
	bool loaded;            /* our table is (believed to be) in the kernel */
	long refresh_ms;        /* gwpol_refresh() loads again at most this often */
	double loaded_at_ms;    /* monotonic time of the last successful load */
};

/* How often, at most, gwpol_refresh() loads the policy in force again by default: each
 * load starts the flow caches empty (nft.h), so every open flow is judged again, which
 * is the flow cache's own timeout (NFT_FLOW_CACHE_TIMEOUT) anyway. */
#define GWPOL_REFRESH_MS (NFT_FLOW_CACHE_TIMEOUT * 1000L)

/* refresh_ms: GWPOL_REFRESH_MS, or what `run --policy-check` says. */
void gwpol_init(struct gwpol *g, const char *ifname, const struct gwpol_ops *ops, long refresh_ms);
/* Forget the state without touching the kernel (after gwpol_remove on the way out). */
void gwpol_free(struct gwpol *g);

/* The payload is a gateway's: "role":"gateway" (or, from a controller that sends no
 * role, an "interface" with a "listen_port", which only gateways carry). */
bool gwpol_is_gateway(const json_t *payload);

/*
 * At start, with the payload of the last saved config (NULL: none): when it was a
 * gateway's, remove any table a previous run left. Errors are logged, not returned.
 */
void gwpol_start(struct gwpol *g, const json_t *saved_payload);

/*
 * Put the policy of a verified config payload in force (see the rules above). 0 (also
 * when there was nothing to do), -EINVAL or -E2BIG (the config must be refused), or
 * another negative errno (keep the running config, try again later). err gets the
 * reason on failure.
 */
int gwpol_apply(struct gwpol *g, const json_t *payload, uint64_t version, char *err,
		size_t errlen);

/*
 * Load the policy in force again, when there is one and the last load is refresh_ms
 * old: cheap when the table is intact, and it brings the table back when someone
 * removed it (a firewall reload running "nft flush ruleset"). Called after a long-poll
 * round that brought no new version (a gateway's long-poll is held a few seconds).
 */
void gwpol_refresh(struct gwpol *g);

/* Remove our table when one is loaded; why goes to the log line. */
void gwpol_remove(struct gwpol *g, const char *why);

#endif
