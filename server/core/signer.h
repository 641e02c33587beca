/*
 * The controller's Ed25519 signing key: generated on first start into STATE_DIR/signing.key
 * (mode 0600, base64 of the 32-byte seed), kept in sodium_malloc'd memory, never served.
 */
#ifndef KW_SIGNER_H
#define KW_SIGNER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "key.h"

struct kw_signer {
	uint8_t *sk; /* KW_SIGN_SK_LEN bytes, sodium_malloc'd, read-only when idle */
	uint8_t pk[KW_SIGN_PK_LEN];
	char pk_b64[KW_KEY_B64_LEN + 1];
	char key_id[KW_KEY_ID_LEN + 1];
};

/* Load STATE_DIR/signing.key, or create it when absent. -EPERM if its mode lets others read it. */
int signer_open(const char *state_dir, struct kw_signer **out);
/* Build the envelope over exactly these payload bytes. */
int signer_sign(struct kw_signer *s, const char *payload, size_t len, json_t **envelope);
/* The same envelope as JSON text (new, free()), written without building JSON objects:
 * a gateway's config can be tens of megabytes. common/envelope.c verifies it (tested). */
int signer_sign_text(struct kw_signer *s, const char *payload, size_t len, char **text, size_t *text_len);
void signer_free(struct kw_signer *s);

#endif
