/*
 * The WireGuard config a device or gateway must run, as a signed envelope
 * (common/envelope.h). Signed envelopes are cached per device and config version: a fetch that hits
 * the cache costs a hash lookup, not a signature.
 */
#ifndef KW_WGCONF_H
#define KW_WGCONF_H

#include <stddef.h>
#include <stdint.h>

#include "http/request.h"
#include "store/store.h"

struct kw_wgconf_cache;

int wgconf_cache_new(struct kw_wgconf_cache **out);
void wgconf_cache_free(struct kw_wgconf_cache *c);

/* The payload JSON text (new, free()) for device d as of now. */
int wgconf_payload(const struct kw_server *srv, const struct kw_device *d, int64_t now, char **payload);

/*
 * The envelope JSON text for d at d->version (new, free()). Served from the cache while the
 * version is unchanged and the cached copy is younger than half the config lifetime.
 */
int wgconf_envelope(struct kw_server *srv, const struct kw_device *d, int64_t now, char **text, size_t *len);

/*
 * Answer a device whose access ended: api_error() with 401 device_revoked or 403
 * device_suspended, and inside the error object "signed_state", an envelope (same key and
 * format as configs) over {"device_id":ID,"state":"revoked"|"suspended","version":V}, V being
 * the device's version after the change (above every config it was sent). The agent acts on
 * such an answer only when the signature verifies, so an on-path attacker cannot tear a
 * tunnel down with a forged status; without a signature (out of memory) it is still the plain
 * error. Returns the status.
 */
int wgconf_denied(struct kw_server *srv, const struct kw_device *d, json_t **out);

#endif
