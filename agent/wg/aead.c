/* ChaCha20-Poly1305 for transport data from libsodium's primitives: one
 * keystream call covers the Poly1305 key block and the first KS_CHUNK - 64
 * bytes of the message; anything longer is XORed by libsodium in place. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "aead.h"
#include "messages.h"

/* Keystream asked for at once: block 0 (the Poly1305 key) and up to 1984
 * message bytes, which covers every packet of a 1500-byte-MTU link. */
#define KS_CHUNK 2048

static size_t keystream_len(size_t len)
{
	size_t t;

	if (len == 0)
		return 64; /* keepalive: the key block alone is the cheapest call */
	/* libsodium's vectorised ChaCha20 takes 256- and 512-byte strides;
	 * what is left over runs a block at a time, much slower per byte. */
	t = (64 + len + 255) & ~(size_t)255;
	return t < KS_CHUNK ? t : KS_CHUNK;
}

static void nonce_make(uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES], uint64_t counter)
{
	memset(nonce, 0, 4);
	le64_write(nonce + 4, counter);
}

static void xor_into(uint8_t *restrict buf, const uint8_t *restrict ks, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t a, b;
		memcpy(&a, buf + i, 8);
		memcpy(&b, ks + i, 8);
		a ^= b;
		memcpy(buf + i, &a, 8);
	}
	for (; i < len; i++)
		buf[i] ^= ks[i];
}

/* ks holds t bytes of keystream from block 0. */
static void stream_xor(uint8_t *buf, size_t len, const uint8_t *ks, size_t t,
		       const uint8_t *nonce, const uint8_t *key)
{
	size_t first = len < t - 64 ? len : t - 64;

	xor_into(buf, ks + 64, first);
	if (len > first)
		crypto_stream_chacha20_ietf_xor_ic(buf + first, buf + first, len - first, nonce,
						   (uint32_t)(t / 64), key);
}

/* RFC 8439 section 2.8 tag with empty associated data. */
static void tag_compute(uint8_t tag[AEAD_TAG_LEN], const uint8_t *ct, size_t len,
			const uint8_t poly_key[32])
{
	static const uint8_t zeros[16];
	crypto_onetimeauth_poly1305_state st;
	uint8_t lens[16] = { 0 }; /* le64 length of the (empty) associated data, then of ct */

	le64_write(lens + 8, (uint64_t)len);
	crypto_onetimeauth_poly1305_init(&st, poly_key);
	crypto_onetimeauth_poly1305_update(&st, ct, len);
	crypto_onetimeauth_poly1305_update(&st, zeros, (16 - (len & 15)) & 15);
	crypto_onetimeauth_poly1305_update(&st, lens, sizeof(lens));
	crypto_onetimeauth_poly1305_final(&st, tag);
	sodium_memzero(&st, sizeof(st));
}

void aead_seal(uint8_t *buf, size_t len, uint8_t tag[AEAD_TAG_LEN], uint64_t counter,
	       const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
	uint8_t ks[KS_CHUNK] __attribute__((aligned(64)));
	size_t t = keystream_len(len);

	nonce_make(nonce, counter);
	crypto_stream_chacha20_ietf(ks, t, nonce, key);
	stream_xor(buf, len, ks, t, nonce, key);
	tag_compute(tag, buf, len, ks);
	sodium_memzero(ks, t);
}

int aead_open(uint8_t *buf, size_t len, const uint8_t tag[AEAD_TAG_LEN], uint64_t counter,
	      const uint8_t key[AEAD_KEY_LEN])
{
	uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
	uint8_t ks[KS_CHUNK] __attribute__((aligned(64)));
	uint8_t want[AEAD_TAG_LEN];
	size_t t = keystream_len(len);
	int ret = 0;

	nonce_make(nonce, counter);
	crypto_stream_chacha20_ietf(ks, t, nonce, key);
	tag_compute(want, buf, len, ks);
	if (crypto_verify_16(want, tag) != 0) {
		ret = -EBADMSG;
		goto out;
	}
	stream_xor(buf, len, ks, t, nonce, key);
out:
	sodium_memzero(ks, t);
	sodium_memzero(want, sizeof(want));
	return ret;
}
