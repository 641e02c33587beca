/* BLAKE2s (RFC 7693), its keyed form, HMAC-BLAKE2s and the WireGuard HKDF.
 * libsodium has BLAKE2b only; WireGuard needs BLAKE2s. No I/O, no allocation. */
#ifndef KW_WG_BLAKE2S_H
#define KW_WG_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE2S_BLOCK_LEN 64
#define BLAKE2S_HASH_LEN 32
#define BLAKE2S_KEY_LEN 32

struct blake2s_state {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f[2];
	uint8_t buf[BLAKE2S_BLOCK_LEN];
	size_t buflen;
	size_t outlen;
};

/* outlen 1..32; key may be NULL with keylen 0, keylen <= 32. */
void blake2s_init(struct blake2s_state *s, size_t outlen, const uint8_t *key, size_t keylen);
void blake2s_update(struct blake2s_state *s, const uint8_t *in, size_t inlen);
void blake2s_final(struct blake2s_state *s, uint8_t *out);
/* One shot. */
void blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
	     const uint8_t *key, size_t keylen);

/* HMAC-BLAKE2s-256 (RFC 2104 with a 64-byte block). */
void blake2s_hmac(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in, size_t inlen,
		  const uint8_t *key, size_t keylen);

/* WireGuard KDF_n: up to three 32-byte outputs (NULL to skip trailing ones)
 * from chaining key `key` and `in`. */
void blake2s_kdf(uint8_t *t0, uint8_t *t1, uint8_t *t2, const uint8_t *key, size_t keylen,
		 const uint8_t *in, size_t inlen);

#endif
