/*
 * The running tunnel: the embedded data plane (agent/wg/wg.h) on a TUN interface plus
 * its addresses and routes (netlink.c), driven by apply.c's difference.
 */
#ifndef KW_AGENT_TUNNEL_H
#define KW_AGENT_TUNNEL_H

#include <net/if.h>
#include <stdbool.h>

#include "apply.h"

struct wg_device;

struct tunnel {
	struct wg_device *dev;
	char ifname[IFNAMSIZ];
	int ifindex;
	bool up;
};

/* Create the TUN interface and the device with this private key (privileged). */
int tunnel_create(struct tunnel *t, const char *ifname, const uint8_t priv[KW_KEY_LEN]);
/* Start the device threads and serve the UAPI socket (uapi_dir NULL:
 * /var/run/wireguard). The link stays down until a config is applied. */
int tunnel_start(struct tunnel *t, const char *uapi_dir);
/* From old to new (old NULL when down). Brings the link up first. */
int tunnel_apply(struct tunnel *t, const struct agent_config *old_cfg,
		 const struct agent_config *new_cfg, struct apply_stats *stats);
/* Remove every peer, route and address of cfg and set the link down; keys stay. */
int tunnel_down(struct tunnel *t, const struct agent_config *cfg);
int tunnel_set_private_key(struct tunnel *t, const uint8_t priv[KW_KEY_LEN]);
/*
 * Peers of cfg with an endpoint that sent a handshake but never got an answer are
 * removed and set again, so the next packet starts a fresh handshake at once instead
 * of after the protocol's 5 s retry. That happens when our first handshake reached a
 * gateway before the gateway's long-poll brought it our key (enroll, rotate). Returns
 * how many peers were still waiting.
 */
int tunnel_nudge(struct tunnel *t, const struct agent_config *cfg);
/* Stop the device and remove the interface. */
void tunnel_close(struct tunnel *t);

struct metrics_peer;
/* metrics_peers_fn (metrics.h) over the data plane's peer statistics; ctx is the
 * struct tunnel. Thread-safe: the metrics listener calls it from its thread. */
int tunnel_metrics_peers(void *ctx, struct metrics_peer **out, size_t *n);

/* "host:port" or "[v6]:port" to a socket address (may resolve a name). */
int tunnel_parse_endpoint(const char *text, struct sockaddr_storage *out);

#endif
