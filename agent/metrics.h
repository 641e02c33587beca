/*
 * Prometheus metrics of keyway-agent (text exposition format 0.0.4), served on an
 * opt-in listener: `keyway-agent run --metrics-listen 127.0.0.1:9586`. Port 9586 is the
 * one the widespread prometheus_wireguard_exporter uses, so existing scrape configs and
 * dashboards fit; the metric names are the ones wg-portal and that exporter export.
 * Nothing listens without the option; bind it to loopback or a management address: the
 * page names every peer.
 *
 *   wireguard_peer_received_bytes_total{public_key,device_id,username}  counter
 *   wireguard_peer_sent_bytes_total{…}                                   counter
 *   wireguard_peer_last_handshake_seconds{…}  gauge, unix time of the last handshake, 0 never
 *   wireguard_peer_up{…}                      gauge, 1 when the last handshake is under
 *                                             180 s old (a session may still be in use)
 *   keyway_agent_config_version               gauge, the running config's version
 *   keyway_agent_config_expires_seconds       gauge, seconds until it expires (0: expired
 *                                             or none)
 *   keyway_agent_state{state}                 gauge, 1 for the current state, 0 others
 *
 * device_id and username are set when the signed config names the peer (a gateway's
 * config does), and left out otherwise. The label set is bounded by the peers configured.
 *
 * The HTTP server (libmicrohttpd) runs its own thread; the run loop publishes what it
 * knows with metrics_publish() under a mutex, and peer counters are read from the data
 * plane at each scrape through the peers callback.
 */
#ifndef KW_AGENT_METRICS_H
#define KW_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "key.h"
#include "verify.h"

/* One peer's counters as the data plane reports them. */
struct metrics_peer {
	uint8_t public_key[KW_KEY_LEN];
	int64_t last_handshake; /* unix seconds, 0 never */
	uint64_t rx_bytes, tx_bytes;
};

/* Snapshot of the data plane's peers: *out malloc'd (free()), *n entries. */
typedef int (*metrics_peers_fn)(void *ctx, struct metrics_peer **out, size_t *n);

/* Who a peer is, from the signed config. */
struct metrics_identity {
	uint8_t public_key[KW_KEY_LEN];
	char device_id[24];
	char *username; /* owned, may be NULL */
};

/* What the run loop knows, rendered with the peers. */
struct metrics_view {
	const char *state;               /* current state name */
	const char *const *state_names;  /* every state name, n_states of them */
	size_t n_states;
	uint64_t version;
	int64_t expires_at;              /* 0: no config */
	int64_t now;                     /* unix seconds */
	const struct metrics_identity *ids; /* sorted by public key */
	size_t n_ids;
};

/* Write a label value with the format's escapes (\\, \", \n). */
void metrics_label_escape(FILE *f, const char *s);

/* The whole page. Pure: tests call it directly. 0 or -ENOMEM. *out malloc'd. */
int metrics_render(const struct metrics_view *v, const struct metrics_peer *peers, size_t n,
		   char **out, size_t *len);

struct metrics;
struct sockaddr_storage;

/* "ADDR:PORT" or "[V6ADDR]:PORT", numeric only. 0 or -EINVAL. */
int metrics_listen_parse(const char *text, struct sockaddr_storage *ss, bool *v6);

/* Listen on "ADDR:PORT" or "[V6ADDR]:PORT" (numeric only). -EINVAL bad address,
 * -EADDRINUSE / other errno when it cannot listen. */
int metrics_start(struct metrics **out, const char *listen, const char *const *state_names,
		  size_t n_states, metrics_peers_fn peers, void *peers_ctx);
/* Publish the run loop's view (cfg may be NULL: no config). Copies what it needs. */
void metrics_publish(struct metrics *m, const char *state, uint64_t version,
		     const struct agent_config *cfg);
/* Stop the listener and free. NULL is a no-op. */
void metrics_stop(struct metrics *m);

#endif
