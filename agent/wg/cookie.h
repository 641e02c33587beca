/* MAC1/MAC2, cookie replies and the handshake rate limiter (whitepaper 5.4.4,
 * 5.4.7; Linux cookie.c and ratelimiter.c). No I/O; time passed in. */
#ifndef KW_WG_COOKIE_H
#define KW_WG_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "messages.h"

/* Our side: validates MACs on incoming handshakes and makes cookies. */
struct cookie_checker {
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t secret[NOISE_HASH_LEN];
	uint64_t secret_birth;
	pthread_mutex_t lock; /* secret rotation */
};

/* Per peer: adds MACs to what we send and keeps the cookie it gave us. */
struct cookie_maker {
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birth; /* 0 = no cookie */
	bool have_sent_mac1;
	uint8_t last_mac1_sent[COOKIE_LEN];
};

enum cookie_verdict {
	COOKIE_INVALID_MAC = 0,
	COOKIE_VALID_MAC_BUT_NO_COOKIE,
	COOKIE_VALID_MAC_WITH_COOKIE,
};

void cookie_checker_init(struct cookie_checker *c);
void cookie_checker_destroy(struct cookie_checker *c);
/* Keys derive from our public key (NULL clears). */
void cookie_checker_set_key(struct cookie_checker *c, const uint8_t *public_key);
/* Keys derive from the peer's public key. */
void cookie_maker_init(struct cookie_maker *m, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);

/* msg is a whole initiation or response (len 148 or 92); src is the source
 * address bytes (ip then port) the cookie binds to. check_cookie: also verify
 * MAC2 (only under load). */
enum cookie_verdict cookie_validate(struct cookie_checker *c, const uint8_t *msg, size_t len,
				    const uint8_t *src, size_t src_len, bool check_cookie,
				    uint64_t now);
/* Fill mac1 (and mac2 when we hold a fresh cookie) at the end of msg. */
void cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now);
/* Build a cookie reply to msg (its mac1 is the AAD) for `receiver_index`. */
void cookie_create_reply(struct cookie_checker *c, struct msg_cookie_reply *reply,
			 const uint8_t *msg, size_t len, uint32_t receiver_index,
			 const uint8_t *src, size_t src_len, uint64_t now);
/* Accept a cookie reply for a handshake message we sent; -EBADMSG if forged or
 * unexpected. */
int cookie_consume_reply(struct cookie_maker *m, const struct msg_cookie_reply *reply,
			 uint64_t now);

/* Per-source token bucket for handshakes under load (Linux ratelimiter.c:
 * 20 per second, burst 5, per IPv4 address or IPv6 /64). Fixed-size hashed
 * table: bounded memory whatever the flood. */
#define RATELIMIT_SLOTS 4096
struct ratelimiter {
	pthread_mutex_t lock;
	uint8_t hash_key[16];
	struct {
		uint64_t tag;
		uint64_t last;
		uint64_t tokens;
	} slot[RATELIMIT_SLOTS];
};
void ratelimiter_init(struct ratelimiter *r);
void ratelimiter_destroy(struct ratelimiter *r);
/* ip: 4 or 16 bytes. True when allowed. */
bool ratelimiter_allow(struct ratelimiter *r, const uint8_t *ip, size_t ip_len, uint64_t now);

#endif
