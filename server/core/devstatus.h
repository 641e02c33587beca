/*
 * Signed status answers. A device's 401 device_revoked and 403 device_suspended answers
 * carry, inside their error object, "signed_state": an envelope made with the config signing
 * key (the agent's agent/verify.h reads it) over
 *   {"type":"device_status","device_id":N,"state":"suspended"|"revoked","reason":"…",
 *    "version":V,"issued_at":T}
 * where V is the device's config version, which the suspension or revocation raised above
 * every config served before it. An agent acts on such an answer only when the envelope
 * verifies with its pinned key, names its own device id and carries a version above its last
 * config: an on-path attacker cannot forge one, and one that is replayed is no newer than
 * what the agent has already seen.
 */
#ifndef KW_CORE_DEVSTATUS_H
#define KW_CORE_DEVSTATUS_H

#include <jansson.h>
#include <stdint.h>

#include "server.h"
#include "store/store.h"

/* Add "signed_state" for d (suspended or revoked) to the error object of body
 * ({"error":{...}}). 0, or a negative errno (the body is left as it was). */
int devstatus_attach(struct kw_server *srv, const struct kw_device *d, int64_t now, json_t *body);

#endif
