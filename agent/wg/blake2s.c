/* BLAKE2s reference construction (RFC 7693 section 3), written for clarity and
 * constant time (no data-dependent branches or table lookups). */
#include "config.h"

#include "blake2s.h"

#include <string.h>
#include <sodium.h>

static const uint32_t blake2s_iv[8] = {
	0x6A09E667UL, 0xBB67AE85UL, 0x3C6EF372UL, 0xA54FF53AUL,
	0x510E527FUL, 0x9B05688CUL, 0x1F83D9ABUL, 0x5BE0CD19UL,
};

static const uint8_t blake2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static inline uint32_t ror32(uint32_t w, unsigned c)
{
	return (w >> c) | (w << (32 - c));
}

static inline uint32_t load32_le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store32_le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void blake2s_compress(struct blake2s_state *s, const uint8_t block[BLAKE2S_BLOCK_LEN],
			     uint32_t inc)
{
	uint32_t m[16], v[16];
	int i, r;

	s->t[0] += inc;
	s->t[1] += (s->t[0] < inc);
	for (i = 0; i < 16; i++)
		m[i] = load32_le(block + 4 * i);
	for (i = 0; i < 8; i++)
		v[i] = s->h[i];
	v[8] = blake2s_iv[0];
	v[9] = blake2s_iv[1];
	v[10] = blake2s_iv[2];
	v[11] = blake2s_iv[3];
	v[12] = blake2s_iv[4] ^ s->t[0];
	v[13] = blake2s_iv[5] ^ s->t[1];
	v[14] = blake2s_iv[6] ^ s->f[0];
	v[15] = blake2s_iv[7] ^ s->f[1];

#define G(r, i, a, b, c, d)                                   \
	do {                                                  \
		a += b + m[blake2s_sigma[r][2 * i]];          \
		d = ror32(d ^ a, 16);                         \
		c += d;                                       \
		b = ror32(b ^ c, 12);                         \
		a += b + m[blake2s_sigma[r][2 * i + 1]];      \
		d = ror32(d ^ a, 8);                          \
		c += d;                                       \
		b = ror32(b ^ c, 7);                          \
	} while (0)

	for (r = 0; r < 10; r++) {
		G(r, 0, v[0], v[4], v[8], v[12]);
		G(r, 1, v[1], v[5], v[9], v[13]);
		G(r, 2, v[2], v[6], v[10], v[14]);
		G(r, 3, v[3], v[7], v[11], v[15]);
		G(r, 4, v[0], v[5], v[10], v[15]);
		G(r, 5, v[1], v[6], v[11], v[12]);
		G(r, 6, v[2], v[7], v[8], v[13]);
		G(r, 7, v[3], v[4], v[9], v[14]);
	}
#undef G
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
}

void blake2s_init(struct blake2s_state *s, size_t outlen, const uint8_t *key, size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	s->h[0] ^= 0x01010000UL ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		memcpy(s->buf, key, keylen);
		s->buflen = BLAKE2S_BLOCK_LEN;
	}
}

void blake2s_update(struct blake2s_state *s, const uint8_t *in, size_t inlen)
{
	/* The last block is compressed in final(), with the final flag set, so
	 * only compress a full buffer once more input is known to follow. */
	while (inlen) {
		if (s->buflen == BLAKE2S_BLOCK_LEN) {
			blake2s_compress(s, s->buf, BLAKE2S_BLOCK_LEN);
			s->buflen = 0;
		}
		if (s->buflen == 0) {
			while (inlen > BLAKE2S_BLOCK_LEN) {
				blake2s_compress(s, in, BLAKE2S_BLOCK_LEN);
				in += BLAKE2S_BLOCK_LEN;
				inlen -= BLAKE2S_BLOCK_LEN;
			}
		}
		size_t n = BLAKE2S_BLOCK_LEN - s->buflen;
		if (n > inlen)
			n = inlen;
		memcpy(s->buf + s->buflen, in, n);
		s->buflen += n;
		in += n;
		inlen -= n;
	}
}

void blake2s_final(struct blake2s_state *s, uint8_t *out)
{
	uint8_t full[BLAKE2S_HASH_LEN];
	int i;

	memset(s->buf + s->buflen, 0, BLAKE2S_BLOCK_LEN - s->buflen);
	s->f[0] = 0xffffffffUL;
	blake2s_compress(s, s->buf, (uint32_t)s->buflen);
	for (i = 0; i < 8; i++)
		store32_le(full + 4 * i, s->h[i]);
	memcpy(out, full, s->outlen);
	sodium_memzero(full, sizeof(full));
	sodium_memzero(s, sizeof(*s));
}

void blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
	     const uint8_t *key, size_t keylen)
{
	struct blake2s_state s;

	blake2s_init(&s, outlen, key, keylen);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out);
}

void blake2s_hmac(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in, size_t inlen,
		  const uint8_t *key, size_t keylen)
{
	struct blake2s_state s;
	uint8_t x_key[BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t i_hash[BLAKE2S_HASH_LEN];
	int i;

	if (keylen > BLAKE2S_BLOCK_LEN)
		blake2s(x_key, BLAKE2S_HASH_LEN, key, keylen, NULL, 0);
	else if (keylen)
		memcpy(x_key, key, keylen);

	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		x_key[i] ^= 0x36;
	blake2s_init(&s, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&s, x_key, BLAKE2S_BLOCK_LEN);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, i_hash);

	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		x_key[i] ^= 0x5c ^ 0x36;
	blake2s_init(&s, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&s, x_key, BLAKE2S_BLOCK_LEN);
	blake2s_update(&s, i_hash, BLAKE2S_HASH_LEN);
	blake2s_final(&s, out);

	sodium_memzero(x_key, sizeof(x_key));
	sodium_memzero(i_hash, sizeof(i_hash));
}

void blake2s_kdf(uint8_t *t0, uint8_t *t1, uint8_t *t2, const uint8_t *key, size_t keylen,
		 const uint8_t *in, size_t inlen)
{
	uint8_t prk[BLAKE2S_HASH_LEN], out[BLAKE2S_HASH_LEN + 1];

	blake2s_hmac(prk, in, inlen, key, keylen);
	out[0] = 1;
	blake2s_hmac(out, out, 1, prk, sizeof(prk));
	if (t0)
		memcpy(t0, out, BLAKE2S_HASH_LEN);
	if (t1 || t2) {
		out[BLAKE2S_HASH_LEN] = 2;
		blake2s_hmac(out, out, sizeof(out), prk, sizeof(prk));
		if (t1)
			memcpy(t1, out, BLAKE2S_HASH_LEN);
	}
	if (t2) {
		out[BLAKE2S_HASH_LEN] = 3;
		blake2s_hmac(out, out, sizeof(out), prk, sizeof(prk));
		memcpy(t2, out, BLAKE2S_HASH_LEN);
	}
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(out, sizeof(out));
}
