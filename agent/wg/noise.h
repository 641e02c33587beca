/* Noise_IKpsk2 handshake and transport keypairs. No I/O, no locks, no clock:
 * callers pass time in and own the locking of each struct (a peer's
 * noise_handshake is protected by that peer's lock). */
#ifndef KW_WG_NOISE_H
#define KW_WG_NOISE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"
#include "replay.h"

/* The device's own static identity. */
struct noise_local {
	bool has_identity;
	uint8_t private_key[NOISE_PUBLIC_KEY_LEN];
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
};

enum noise_state {
	NOISE_ZEROED = 0,
	NOISE_CREATED_INITIATION,
	NOISE_CONSUMED_INITIATION,
	NOISE_CREATED_RESPONSE,
	NOISE_CONSUMED_RESPONSE,
};

/* Per-peer handshake state. */
struct noise_handshake {
	enum noise_state state;
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN]; /* all zero = unusable peer */
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint64_t last_initiation_consumption; /* monotonic ns, 0 = never */
	uint32_t local_index;
	uint32_t remote_index;
};

/* A transport session. Shared between the send and receive paths by
 * reference count; keys are zeroed when the last reference goes. */
struct noise_keypair {
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];
	_Atomic uint64_t send_counter;
	struct replay_counter replay;
	uint64_t birth;          /* monotonic ns */
	uint32_t local_index;
	uint32_t remote_index;
	bool initiator;
	_Atomic bool receiving_ok; /* false once REJECT_AFTER_* reached or zeroed */
	_Atomic int refcount;
	void *peer;              /* owner (struct wg_peer *), not a reference */
};

/* State carried from the identity-only first half of consuming an
 * initiation to the peer-specific second half. */
struct noise_initiation_scratch {
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
};

/* Process-wide constants (HASH(CONSTRUCTION), ...). Call once; idempotent. */
void noise_init(void);

/* Set (key non-NULL, non-zero) or clear the identity. */
void noise_local_set(struct noise_local *local, const uint8_t *private_key);

/* (Re)compute the peer's static-static DH after either key changes. Returns
 * false when the result is all-zero (low-order key): the peer cannot
 * handshake. */
bool noise_handshake_precompute(struct noise_handshake *hs, const struct noise_local *local);
void noise_handshake_clear(struct noise_handshake *hs); /* zero ephemeral state */

/* TAI64N of the given wall time, nanoseconds masked as wireguard-go does. */
void noise_tai64n(uint8_t out[NOISE_TIMESTAMP_LEN], int64_t sec, long nsec);

/* Initiator: fill msg (MACs left zero) with sender index local_index.
 * -EINVAL when there is no identity or the peer is unusable. */
int noise_create_initiation(struct noise_handshake *hs, const struct noise_local *local,
			    struct msg_initiation *msg, uint32_t local_index,
			    const uint8_t timestamp[NOISE_TIMESTAMP_LEN]);

/* Responder, first half: decrypt the initiator's static key with our
 * identity only. -EBADMSG when it does not authenticate. */
int noise_consume_initiation_begin(const struct noise_local *local,
				   const struct msg_initiation *msg,
				   struct noise_initiation_scratch *scratch);
/* Second half, with the peer found by scratch->remote_static: decrypt the
 * timestamp, reject replays (-EALREADY) and floods (-EBUSY), store state. */
int noise_consume_initiation_finish(struct noise_handshake *hs, const struct noise_local *local,
				    const struct msg_initiation *msg,
				    struct noise_initiation_scratch *scratch, uint64_t now);

/* Responder: answer a consumed initiation. */
int noise_create_response(struct noise_handshake *hs, struct msg_response *msg,
			  uint32_t local_index);
/* Initiator: hs must be in CREATED_INITIATION with local_index equal to
 * msg->receiver_index (the caller found it that way). */
int noise_consume_response(struct noise_handshake *hs, const struct noise_local *local,
			   const struct msg_response *msg);

/* After CREATED_RESPONSE or CONSUMED_RESPONSE: derive the transport keys
 * into kp (refcount set to 1) and zero the handshake. */
int noise_begin_session(struct noise_handshake *hs, struct noise_keypair *kp, uint64_t now);

/* Transport data. buf holds plaintext of len bytes with room for the 16-byte
 * tag after it; encrypted in place. */
void noise_encrypt(const struct noise_keypair *kp, uint64_t counter, uint8_t *buf, size_t len);
/* buf holds len bytes of ciphertext+tag; decrypted in place, plaintext is
 * len-16 bytes. -EBADMSG on forgery. Replay is checked separately. */
int noise_decrypt(const struct noise_keypair *kp, uint64_t counter, uint8_t *buf, size_t len);

#endif
