/* WireGuard wire formats and protocol constants (whitepaper section 5.4,
 * Linux messages.h). All integers little-endian on the wire. */
#ifndef KW_WG_MESSAGES_H
#define KW_WG_MESSAGES_H

#include <stdint.h>

#define NOISE_PUBLIC_KEY_LEN 32
#define NOISE_SYMMETRIC_KEY_LEN 32
#define NOISE_TIMESTAMP_LEN 12
#define NOISE_AUTHTAG_LEN 16
#define NOISE_HASH_LEN 32
#define COOKIE_LEN 16
#define COOKIE_NONCE_LEN 24

#define MSG_INITIATION 1
#define MSG_RESPONSE 2
#define MSG_COOKIE_REPLY 3
#define MSG_DATA 4

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS 1000000ULL

/* Timers: the real values, or shortened ones in the test-only build
 * (configure --enable-test-timers builds a separate binary with KW_TEST_TIMERS;
 * the shipped keyway-wg never has it). */
#define REKEY_AFTER_MESSAGES (1ULL << 60)
#define REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13)) /* 2^64 - 2^13 - 1 */
#ifdef KW_TEST_TIMERS
#define REKEY_AFTER_TIME (6 * NS_PER_SEC)
#define REJECT_AFTER_TIME (9 * NS_PER_SEC)
#define REKEY_ATTEMPT_TIME (8 * NS_PER_SEC)
#define REKEY_TIMEOUT (1 * NS_PER_SEC)
#define KEEPALIVE_TIMEOUT (2 * NS_PER_SEC)
#define COOKIE_SECRET_MAX_AGE (6 * NS_PER_SEC)
#else
#define REKEY_AFTER_TIME (120 * NS_PER_SEC)
#define REJECT_AFTER_TIME (180 * NS_PER_SEC)
#define REKEY_ATTEMPT_TIME (90 * NS_PER_SEC)
#define REKEY_TIMEOUT (5 * NS_PER_SEC)
#define KEEPALIVE_TIMEOUT (10 * NS_PER_SEC)
#define COOKIE_SECRET_MAX_AGE (120 * NS_PER_SEC)
#endif
#define REKEY_TIMEOUT_JITTER_MAX_MS 334
#define MAX_TIMER_HANDSHAKES (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT)
#define COOKIE_SECRET_LATENCY (5 * NS_PER_SEC)
#define INITIATIONS_PER_SECOND 50
#define MAX_STAGED_PACKETS 128

struct msg_initiation {
	uint32_t type;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[NOISE_PUBLIC_KEY_LEN + NOISE_AUTHTAG_LEN];
	uint8_t encrypted_timestamp[NOISE_TIMESTAMP_LEN + NOISE_AUTHTAG_LEN];
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct msg_response {
	uint32_t type;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[NOISE_AUTHTAG_LEN];
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct msg_cookie_reply {
	uint32_t type;
	uint32_t receiver_index;
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[COOKIE_LEN + NOISE_AUTHTAG_LEN];
} __attribute__((packed));

struct msg_data {
	uint32_t type;
	uint32_t receiver_index;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

#define MSG_DATA_HEADER_LEN 16
#define MSG_DATA_MIN_LEN (MSG_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN)

_Static_assert(sizeof(struct msg_initiation) == 148, "initiation size");
_Static_assert(sizeof(struct msg_response) == 92, "response size");
_Static_assert(sizeof(struct msg_cookie_reply) == 64, "cookie reply size");
_Static_assert(sizeof(struct msg_data) == 16, "data header size");

static inline uint32_t le32_read(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void le32_write(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline uint64_t le64_read(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)le32_read(b) | (uint64_t)le32_read(b + 4) << 32;
}

static inline void le64_write(void *p, uint64_t v)
{
	uint8_t *b = p;
	le32_write(b, (uint32_t)v);
	le32_write(b + 4, (uint32_t)(v >> 32));
}

#endif
