#include "config.h"

#include "cookie.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "blake2s.h"

static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

static void derive_key(uint8_t out[32], const char *label, const uint8_t pub[32])
{
	struct blake2s_state s;

	blake2s_init(&s, 32, NULL, 0);
	blake2s_update(&s, (const uint8_t *)label, 8);
	blake2s_update(&s, pub, 32);
	blake2s_final(&s, out);
}

void cookie_checker_init(struct cookie_checker *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void cookie_checker_destroy(struct cookie_checker *c)
{
	pthread_mutex_destroy(&c->lock);
	sodium_memzero(c, sizeof(*c));
}

void cookie_checker_set_key(struct cookie_checker *c, const uint8_t *public_key)
{
	if (public_key) {
		derive_key(c->mac1_key, label_mac1, public_key);
		derive_key(c->cookie_key, label_cookie, public_key);
	} else {
		sodium_memzero(c->mac1_key, 32);
		sodium_memzero(c->cookie_key, 32);
	}
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	derive_key(m->mac1_key, label_mac1, public_key);
	derive_key(m->cookie_key, label_cookie, public_key);
}

/* The cookie for a source: MAC(secret, src), with the secret rotated every
 * COOKIE_SECRET_MAX_AGE. */
static void make_cookie(struct cookie_checker *c, uint8_t out[COOKIE_LEN], const uint8_t *src,
			size_t src_len, uint64_t now)
{
	pthread_mutex_lock(&c->lock);
	if (!c->secret_birth || now > c->secret_birth + COOKIE_SECRET_MAX_AGE) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_birth = now ? now : 1;
	}
	blake2s(out, COOKIE_LEN, src, src_len, c->secret, sizeof(c->secret));
	pthread_mutex_unlock(&c->lock);
}

enum cookie_verdict cookie_validate(struct cookie_checker *c, const uint8_t *msg, size_t len,
				    const uint8_t *src, size_t src_len, bool check_cookie,
				    uint64_t now)
{
	uint8_t mac[COOKIE_LEN], cookie[COOKIE_LEN];
	const uint8_t *mac1 = msg + len - 2 * COOKIE_LEN, *mac2 = msg + len - COOKIE_LEN;
	enum cookie_verdict v = COOKIE_INVALID_MAC;

	blake2s(mac, COOKIE_LEN, msg, len - 2 * COOKIE_LEN, c->mac1_key, 32);
	if (sodium_memcmp(mac, mac1, COOKIE_LEN) != 0)
		goto out;
	v = COOKIE_VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;
	make_cookie(c, cookie, src, src_len, now);
	blake2s(mac, COOKIE_LEN, msg, len - COOKIE_LEN, cookie, COOKIE_LEN);
	if (sodium_memcmp(mac, mac2, COOKIE_LEN) == 0)
		v = COOKIE_VALID_MAC_WITH_COOKIE;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return v;
}

void cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now)
{
	uint8_t *mac1 = msg + len - 2 * COOKIE_LEN, *mac2 = msg + len - COOKIE_LEN;

	blake2s(mac1, COOKIE_LEN, msg, len - 2 * COOKIE_LEN, m->mac1_key, 32);
	memcpy(m->last_mac1_sent, mac1, COOKIE_LEN);
	m->have_sent_mac1 = true;
	if (m->cookie_birth &&
	    now < m->cookie_birth + COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY)
		blake2s(mac2, COOKIE_LEN, msg, len - COOKIE_LEN, m->cookie, COOKIE_LEN);
	else
		memset(mac2, 0, COOKIE_LEN);
}

void cookie_create_reply(struct cookie_checker *c, struct msg_cookie_reply *reply,
			 const uint8_t *msg, size_t len, uint32_t receiver_index,
			 const uint8_t *src, size_t src_len, uint64_t now)
{
	uint8_t cookie[COOKIE_LEN];
	const uint8_t *mac1 = msg + len - 2 * COOKIE_LEN;

	le32_write(&reply->type, MSG_COOKIE_REPLY);
	le32_write(&reply->receiver_index, receiver_index);
	randombytes_buf(reply->nonce, COOKIE_NONCE_LEN);
	make_cookie(c, cookie, src, src_len, now);
	crypto_aead_xchacha20poly1305_ietf_encrypt(reply->encrypted_cookie, NULL, cookie,
						   COOKIE_LEN, mac1, COOKIE_LEN, NULL,
						   reply->nonce, c->cookie_key);
	sodium_memzero(cookie, sizeof(cookie));
}

int cookie_consume_reply(struct cookie_maker *m, const struct msg_cookie_reply *reply,
			 uint64_t now)
{
	uint8_t cookie[COOKIE_LEN];

	if (!m->have_sent_mac1)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL,
						       reply->encrypted_cookie,
						       sizeof(reply->encrypted_cookie),
						       m->last_mac1_sent, COOKIE_LEN,
						       reply->nonce, m->cookie_key) != 0)
		return -EBADMSG;
	memcpy(m->cookie, cookie, COOKIE_LEN);
	m->cookie_birth = now ? now : 1;
	m->have_sent_mac1 = false;
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}

#define RL_PER_SECOND 20
#define RL_BURST 5
#define RL_COST (NS_PER_SEC / RL_PER_SECOND)
#define RL_MAX_TOKENS (RL_COST * RL_BURST)

void ratelimiter_init(struct ratelimiter *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	randombytes_buf(r->hash_key, sizeof(r->hash_key));
}

void ratelimiter_destroy(struct ratelimiter *r)
{
	pthread_mutex_destroy(&r->lock);
}

bool ratelimiter_allow(struct ratelimiter *r, const uint8_t *ip, size_t ip_len, uint64_t now)
{
	uint8_t h[8];
	uint64_t tag;
	bool ok;

	/* IPv6 sources are limited per /64, as in Linux. */
	crypto_shorthash(h, ip, ip_len == 16 ? 8 : ip_len, r->hash_key);
	memcpy(&tag, h, 8);
	tag |= 1; /* never 0, so an empty slot never matches */
	pthread_mutex_lock(&r->lock);
	__typeof__(r->slot[0]) *s = &r->slot[tag % RATELIMIT_SLOTS];
	if (s->tag != tag || now - s->last > NS_PER_SEC) {
		/* New source (or an idle one recycled): full burst minus this packet. */
		s->tag = tag;
		s->tokens = RL_MAX_TOKENS - RL_COST;
		s->last = now;
		ok = true;
	} else {
		uint64_t tokens = s->tokens + (now - s->last);
		if (tokens > RL_MAX_TOKENS)
			tokens = RL_MAX_TOKENS;
		s->last = now;
		ok = tokens >= RL_COST;
		s->tokens = ok ? tokens - RL_COST : tokens;
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}
