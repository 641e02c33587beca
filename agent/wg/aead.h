/* ChaCha20-Poly1305 (RFC 8439, no associated data) for transport data
 * messages, built from libsodium's ChaCha20 and Poly1305 primitives.
 *
 * Why not libsodium's AEAD call: below 256 bytes its ChaCha20 runs one
 * 64-byte block at a time (~150 ns a block here), and the AEAD always asks
 * for the Poly1305 key block and the message tail separately. Asking for the
 * key block and the keystream of the whole message in one call, rounded up to
 * 256 bytes, keeps it on its vectorised paths. Output is byte-identical to
 * crypto_aead_chacha20poly1305_ietf_*_detached (tests/unit/test_wg_aead.c);
 * speed side by side: tests/bench/dataplane/aead-bench. */
#ifndef KW_WG_AEAD_H
#define KW_WG_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN 32
#define AEAD_TAG_LEN 16

/* Encrypt buf[0..len) in place and write the tag. The nonce is 32 zero bits
 * followed by the little-endian counter, as WireGuard uses it. */
void aead_seal(uint8_t *buf, size_t len, uint8_t tag[AEAD_TAG_LEN], uint64_t counter,
	       const uint8_t key[AEAD_KEY_LEN]);
/* Check the tag (constant time), then decrypt in place. Returns 0, or
 * -EBADMSG with buf untouched. */
int aead_open(uint8_t *buf, size_t len, const uint8_t tag[AEAD_TAG_LEN], uint64_t counter,
	      const uint8_t key[AEAD_KEY_LEN]);

#endif
