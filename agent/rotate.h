/* Key rotation: a new key pair here, PUT …/public-key, then the new key replaces the old. */
#ifndef KW_AGENT_ROTATE_H
#define KW_AGENT_ROTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "fetch.h"
#include "key.h"
#include "state.h"

/* Puts the key now in private.key into the running tunnel. */
typedef int (*rotate_switch_fn)(void *ctx);

/*
 * Generate a key pair and send its public key to the controller (PUT …/public-key).
 * Who switches first matters, because the first handshake must find its peer:
 *  - a laptop (switch_first false) sends the key, then private.key is replaced; the
 *    caller switches the running tunnel a moment later, once the gateways (which
 *    long-poll) hold the new key;
 *  - a gateway (switch_first true) replaces private.key and calls switch_fn before the
 *    PUT, so the laptops that learn its new key find it already in use. If the PUT
 *    fails, the old key is put back and switch_fn called again.
 * *new_priv receives the new private key (zero it after use). On failure private.key
 * holds the old key.
 */
int rotate_perform(const struct agent_state *st, bool switch_first, rotate_switch_fn switch_fn,
		   void *ctx, uint8_t new_priv[KW_KEY_LEN]);
/* True when the stored config is a gateway's (it carries a listen port). */
bool rotate_is_gateway(const struct agent_state *st);

#endif
