/* Key rotation: a new key pair here, PUT …/public-key, then the new key replaces the old. */
#ifndef KW_AGENT_ROTATE_H
#define KW_AGENT_ROTATE_H

#include <stdint.h>

#include "fetch.h"
#include "key.h"
#include "state.h"

/*
 * Generate a key pair, store it as private.key.next, send the public key to the
 * controller, and on success rename it over private.key. *new_priv receives the new
 * private key (zero it after use). On failure private.key is untouched.
 */
int rotate_perform(const struct agent_state *st, uint8_t new_priv[KW_KEY_LEN]);

#endif
