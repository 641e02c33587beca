/* Public API of the Keyway userspace WireGuard data plane (libkeyway-wg).
 *
 * keyway-agent embeds a device in-process through this header; keyway-wg is a
 * thin main() over the same calls. Everything here is thread-safe: a device
 * runs its own threads once started and every call below may be made from any
 * other thread while it runs.
 *
 * Errors: every int function returns 0 or a negative errno.
 * Keys: raw 32-byte arrays (see common/key.h for base64/hex).
 */
#ifndef KW_WG_H
#define KW_WG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define WG_KEY_LEN 32

struct wg_device;

/* One allowed-IP prefix: family AF_INET or AF_INET6, cidr 0..32 / 0..128. */
struct wg_allowed_ip {
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint8_t cidr;
};

/* A peer as the caller wants it to be. Fields with has_* false are left as
 * they are when the peer exists (and default when it is new). */
struct wg_peer_config {
	uint8_t public_key[WG_KEY_LEN];
	bool has_preshared_key;
	uint8_t preshared_key[WG_KEY_LEN]; /* all zero = no preshared key */
	bool has_endpoint;
	struct sockaddr_storage endpoint;  /* sockaddr_in or sockaddr_in6 */
	bool has_persistent_keepalive;
	uint16_t persistent_keepalive;     /* seconds, 0 = off */
	bool replace_allowed_ips;          /* drop existing prefixes first */
	size_t n_allowed_ips;
	const struct wg_allowed_ip *allowed_ips; /* added (borrowed for the call) */
};

/* Snapshot of one peer, as `wg show` prints it. */
struct wg_peer_stats {
	uint8_t public_key[WG_KEY_LEN];
	struct sockaddr_storage endpoint;  /* ss_family 0 when unknown */
	int64_t last_handshake_sec;        /* wall clock; 0 = never */
	int64_t last_handshake_nsec;
	uint64_t rx_bytes;                 /* WireGuard UDP payload bytes received */
	uint64_t tx_bytes;                 /* ... and sent */
	uint16_t persistent_keepalive;
	size_t n_allowed_ips;
};

/* Create the TUN interface IFNAME (IFNAMSIZ-1 chars at most) and a device on
 * it, with no key, no peers, listen port 0 (random when a key is set). The
 * interface is left down: the caller sets addresses and `ip link set up`.
 * The device does nothing until wg_device_start(). */
int wg_device_new(struct wg_device **out, const char *ifname);
/* Stop (if running), close the TUN (which removes the interface), remove the
 * UAPI socket if served, zero every key and free. NULL is a no-op. */
void wg_device_free(struct wg_device *dev);
const char *wg_device_ifname(const struct wg_device *dev);

/* Device settings. A NULL or all-zero key clears the private key (the device
 * then neither sends nor accepts handshakes). Port 0 = pick a random port.
 * fwmark 0 clears it. */
int wg_device_set_private_key(struct wg_device *dev, const uint8_t key[WG_KEY_LEN]);
int wg_device_get_public_key(struct wg_device *dev, uint8_t out[WG_KEY_LEN]); /* -ENOKEY if unset */
int wg_device_set_listen_port(struct wg_device *dev, uint16_t port);
uint16_t wg_device_get_listen_port(struct wg_device *dev); /* actual bound port, 0 if none */
int wg_device_set_fwmark(struct wg_device *dev, uint32_t fwmark);

/* Add the peer, or update it if one with that public key exists. A peer whose
 * key equals the device's own public key is ignored (returns 0). */
int wg_device_peer_set(struct wg_device *dev, const struct wg_peer_config *cfg);
/* -ENOENT when no such peer. */
int wg_device_peer_remove(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN]);
void wg_device_peers_clear(struct wg_device *dev);
/* Send the peer a new handshake initiation now, even within REKEY_TIMEOUT
 * of the last one (for a caller that knows the first went unanswered, e.g.
 * because the other side was not configured yet). Packets waiting for the
 * session stay queued. -ENOENT when no such peer. */
int wg_device_peer_initiate(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN]);

/* Snapshot of every peer: *out is malloc'd (free() it), *n its length. */
int wg_device_peer_stats(struct wg_device *dev, struct wg_peer_stats **out, size_t *n);

/* The cross-platform UAPI, in-process: `text` is the body of a set=1
 * request (key=value lines, without the "set=1" line; a trailing empty line
 * is optional). Applies it and returns 0 or the negative errno that a UAPI
 * client would see. The whole text is validated before any change is made
 * where possible; a failure mid-way may leave earlier lines applied, as in
 * wireguard-go. */
int wg_device_uapi_set(struct wg_device *dev, const char *text);
/* The body of a get=1 answer (key=value lines, without errno=0), malloc'd. */
int wg_device_uapi_get(struct wg_device *dev, char **out);

/* Start the device threads (TUN, UDP, timers). */
int wg_device_start(struct wg_device *dev);
/* Serve the UAPI socket /var/run/wireguard/IFNAME.sock (same protocol as
 * wireguard-go, so wg(8) drives the device). Call after wg_device_start().
 * Pass NULL for the default directory. */
int wg_device_uapi_listen(struct wg_device *dev, const char *dir);
/* Ask the threads to stop and join them. Idempotent. */
void wg_device_stop(struct wg_device *dev);
/* Ask the device to stop and return at once (safe from any thread, e.g. a
 * signal-handling one); wg_device_wait() then returns. */
void wg_device_stop_async(struct wg_device *dev);
/* Block until the device stops by itself (UAPI socket deleted, TUN gone) or
 * wg_device_stop() is called from another thread. Returns 0 or why it
 * stopped (negative errno). */
int wg_device_wait(struct wg_device *dev);

#endif
