/*
 * The signed config envelope shared by keywayd (signs) and keyway-agent (verifies):
 * {"payload":"<base64 of the exact JSON bytes>","signature":"<base64 Ed25519 detached>",
 *  "key_id":"<first 16 hex chars of SHA-256 of the signing public key>"}
 * Signing the exact bytes means no canonicalisation is needed.
 */
#ifndef KW_ENVELOPE_H
#define KW_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define KW_SIGN_PK_LEN 32
#define KW_SIGN_SK_LEN 64
#define KW_KEY_ID_LEN 16

/* key_id: the first 16 hex characters of SHA-256(public key). */
void envelope_key_id(char out[KW_KEY_ID_LEN + 1], const uint8_t pk[KW_SIGN_PK_LEN]);

/* Sign payload bytes; *out is a new JSON object reference. 0 or -ENOMEM. */
int envelope_sign(const uint8_t sk[KW_SIGN_SK_LEN], const uint8_t pk[KW_SIGN_PK_LEN],
		  const char *payload, size_t payload_len, json_t **out);

/*
 * Verify an envelope object against the pinned public key. On success returns 0 and
 * *payload is a new reference to the parsed payload object. Errors: -EINVAL malformed
 * envelope or payload, -EKEYREJECTED wrong key_id, -EBADMSG bad signature.
 */
int envelope_verify(const json_t *envelope, const uint8_t pk[KW_SIGN_PK_LEN], json_t **payload);

#endif
