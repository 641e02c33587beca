/* Internal structures of a WireGuard device, shared by device.c (lifecycle,
 * configuration, threads), peer.c (keypairs, handshakes, staging), send.c,
 * receive.c, uapi.c. Not part of the public API (wg.h). */
#ifndef KW_WG_DEVICE_H
#define KW_WG_DEVICE_H

#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "allowedips.h"
#include "cookie.h"
#include "noise.h"
#include "pool.h"
#include "timers.h"
#include "tun.h"
#include "udp.h"
#include "wg.h"

struct wg_peer;

enum wg_index_type { INDEX_HANDSHAKE = 1, INDEX_KEYPAIR };

/* Receiver-index table entry (intrusive in handshakes and keypairs). */
struct wg_index {
	uint32_t index;
	enum wg_index_type type;
	struct wg_peer *peer;
	struct wg_keypair *kp;
	struct wg_index *next;
};

struct wg_keypair {
	struct noise_keypair k; /* k.refcount governs lifetime */
	struct wg_index idx;
};

struct wg_staged {
	uint16_t len;
	uint8_t data[];
};

struct wg_peer {
	struct wg_device *dev;
	pthread_mutex_t lock; /* everything below except the atomics */
	uint8_t public_key[WG_KEY_LEN];
	struct noise_handshake hs;
	struct wg_index hs_idx; /* registered while hs awaits a response */
	struct cookie_maker cookie;
	struct wg_keypair *kp_current, *kp_previous, *kp_next;
	struct wg_timers timers;
	union wg_endpoint endpoint;
	struct wg_src src; /* local address to reply from (sticky), family 0 = any */
	uint64_t last_sent_handshake; /* monotonic ns, 0 = never */
	int64_t last_handshake_sec, last_handshake_nsec; /* wall clock */
	_Atomic uint64_t rx_bytes, tx_bytes;
	struct wg_staged **staged; /* ring of MAX_STAGED_PACKETS, allocated on first use */
	unsigned staged_head, staged_count;
	bool handshake_usable; /* precomputed static-static is non-zero */
	struct wg_peer *next;      /* device list, in insertion order */
	struct wg_peer *hash_next; /* public-key hash chain */
};

#define WG_PEER_HASH_SIZE 1024
#define WG_INDEX_HASH_SIZE 4096

struct wg_device {
	char ifname[IFNAMSIZ];
	/* cfg_lock: write for configuration (peers, keys, allowed IPs, port),
	 * read for everything that uses them (data path, handshakes, timers). */
	pthread_rwlock_t cfg_lock;
	struct noise_local local;
	struct cookie_checker cookie;
	struct ratelimiter ratelimiter;
	struct allowedips aips;
	struct wg_peer *peers, *peers_tail;
	size_t n_peers;
	struct wg_peer *peer_hash[WG_PEER_HASH_SIZE];
	uint16_t listen_port;   /* requested */
	uint32_t fwmark;

	pthread_mutex_t index_lock;
	struct wg_index *index_hash[WG_INDEX_HASH_SIZE];

	struct wg_tun *tun;
	struct wg_udp udp;
	struct wg_pool *pool;   /* crypto workers (NULL when not started) */
	struct wg_hsq *hsq;     /* handshake queue and thread (NULL: handled inline) */
	_Atomic unsigned hs_queued;
	_Atomic int mtu;

	/* Handshake load: count of handshake messages in the current second. */
	_Atomic uint64_t load_window_start;
	_Atomic unsigned load_count;
	_Atomic uint64_t under_load_until;

	/* Threads and their stop protocol. */
	pthread_t tx_thread, rx_thread, timer_thread, uapi_thread;
	bool started, uapi_started;
	_Atomic bool stopping;
	int stop_efd;           /* eventfd: readable once stopping */
	int stop_reason;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	int old_udp_fd;         /* replaced socket, closed by the receive thread */
	bool threads_running;
	int uapi_fd;
	char uapi_path[108];

	/* Counters of dropped packets, for tests and logs. */
	_Atomic uint64_t drop_invalid, drop_no_peer, drop_replay, drop_source, drop_mac,
		drop_ratelimit, drop_hs_queue;
	_Atomic uint64_t cookies_sent;
};

/* Clock and randomness seams. */
uint64_t wg_now(void);          /* monotonic ns */
uint64_t wg_jitter(void);       /* [0, REKEY_TIMEOUT_JITTER_MAX_MS) in ns */

/* device.c */
/* A device without a TUN interface or threads: for unit tests and fuzzing
 * (configuration, UAPI, receive_datagram()). Freed with wg_device_free(). */
int device_new_detached(struct wg_device **out, const char *name);
struct wg_peer *device_peer_lookup(struct wg_device *dev, const uint8_t pub[WG_KEY_LEN]);
void device_request_stop(struct wg_device *dev, int reason);
bool device_under_load(struct wg_device *dev, uint64_t now);

/* Configuration helpers, cfg_lock held for writing (device.c; used by uapi.c). */
struct wg_peer *device_peer_get_or_create_locked(struct wg_device *dev,
						 const uint8_t pub[WG_KEY_LEN], bool create,
						 int *err);
void device_set_private_key_locked(struct wg_device *dev, const uint8_t *key);
int device_set_listen_port_locked(struct wg_device *dev, uint16_t port);
int device_set_fwmark_locked(struct wg_device *dev, uint32_t fwmark);
void device_peer_remove_locked(struct wg_device *dev, struct wg_peer *peer);
void device_peers_clear_locked(struct wg_device *dev);
int device_peer_add_aip_locked(struct wg_device *dev, struct wg_peer *p,
			       const struct wg_allowed_ip *a);
void device_peer_set_keepalive_locked(struct wg_device *dev, struct wg_peer *p, uint16_t secs);
void device_peer_set_psk_locked(struct wg_peer *p, const uint8_t psk[WG_KEY_LEN]);
void device_peer_set_endpoint_locked(struct wg_peer *p, const union wg_endpoint *ep);
void device_keypair_take_index(struct wg_peer *peer, struct wg_keypair *kp);
/* uapi.c */
void uapi_stop(struct wg_device *dev);

/* index table (device.c) */
uint32_t index_register(struct wg_device *dev, struct wg_index *e);
void index_unregister(struct wg_device *dev, struct wg_index *e);
/* Returns a referenced keypair for a data packet's receiver index, or NULL. */
struct wg_keypair *index_lookup_keypair(struct wg_device *dev, uint32_t index);
/* Returns the peer whose pending handshake has this index, or NULL. */
struct wg_peer *index_lookup_handshake(struct wg_device *dev, uint32_t index);

/* peer.c (callers hold cfg_lock for reading at least) */
struct wg_peer *peer_new(struct wg_device *dev, const uint8_t pub[WG_KEY_LEN]);
void peer_free(struct wg_peer *peer);       /* cfg_lock held for writing */
void keypair_put(struct wg_keypair *kp);
/* With peer->lock held: */
struct wg_keypair *peer_current_keypair_get(struct wg_peer *peer); /* referenced, or NULL */
void peer_add_keypair(struct wg_peer *peer, struct wg_keypair *kp);
bool peer_received_with_keypair(struct wg_peer *peer, struct wg_keypair *kp);
void peer_zero_keys(struct wg_peer *peer);
void peer_send_initiation(struct wg_peer *peer, bool retry);
void peer_send_keepalive(struct wg_peer *peer);
void peer_send_staged(struct wg_peer *peer);
void peer_stage(struct wg_peer *peer, const uint8_t *pkt, size_t len);
void peer_clear_staged(struct wg_peer *peer);
/* Roaming and source stickiness: the peer's endpoint becomes the packet's
 * source, and our reply source the local address it arrived on (local NULL:
 * unknown, leave it). */
void peer_update_endpoint(struct wg_peer *peer, const union wg_endpoint *src,
			  const struct wg_src *local);
/* Sends one datagram to the peer's endpoint from its sticky source; if that
 * address is gone, forgets it and sends from the route's choice. Counts
 * tx_bytes. Returns 0 or a negative errno. */
int peer_udp_send(struct wg_peer *peer, const void *buf, size_t len);
/* After a batch send found the source gone (lock not held). */
void peer_forget_src(struct wg_peer *peer, const struct wg_src *gone);
void peer_timers_tick(struct wg_peer *peer, uint64_t now);
/* Encrypt one IP packet (or keepalive, len 0) for kp into out, which has
 * room for MSG_DATA_HEADER_LEN + padded len + 16. Returns the wire length. */
size_t peer_seal(struct wg_keypair *kp, uint64_t counter, uint8_t *out, const uint8_t *pkt,
		 size_t len, int mtu);
/* The wire length peer_seal() will return for a packet of len bytes. */
size_t peer_wire_len(size_t len, int mtu);

/* send.c / receive.c: the two data-path threads. */
void *send_thread_main(void *arg);
void *receive_thread_main(void *arg);

/* handshake.c: handshakes wait here for their own thread, off the receive
 * thread. enqueue copies the message; false when there is no queue (a
 * detached device: handle it inline). */
#define HSQ_CAP 4096
#define HSQ_LOAD 128 /* queued handshakes that put the device under load */
struct wg_hsq;
int handshake_queue_start(struct wg_device *dev);
void handshake_queue_stop(struct wg_device *dev);
bool handshake_enqueue(struct wg_device *dev, const uint8_t *buf, size_t len,
		       const union wg_endpoint *src, const struct wg_src *local);
/* receive.c: an initiation or response that passed handshake_admit(); cfg_lock
 * held for reading. */
void receive_handshake_admitted(struct wg_device *dev, uint8_t *buf, size_t len,
				const union wg_endpoint *src, const struct wg_src *local);
/* One datagram from the UDP socket (also the fuzzing entry point). buf is
 * modified in place. */
void receive_datagram(struct wg_device *dev, uint8_t *buf, size_t len,
		      const union wg_endpoint *src, struct wg_tun_batch *out);
/* The same with the local address the datagram arrived on (NULL = unknown). */
void receive_datagram_local(struct wg_device *dev, uint8_t *buf, size_t len,
			    const union wg_endpoint *src, const struct wg_src *local,
			    struct wg_tun_batch *out);

#endif
