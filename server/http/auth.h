/* Who is calling: a bearer token (API token, session, device token) to a principal. */
#ifndef KW_AUTH_H
#define KW_AUTH_H

#include <jansson.h>
#include <stdint.h>

#include "request.h"
#include "store/store.h"

/*
 * Resolve token text to a principal. 0 on success (with the session's CSRF hash in
 * *csrf_hash when it is a session, if csrf_hash is not NULL); otherwise a 401 status with
 * *err set: invalid_token, token_expired, device_revoked.
 */
int auth_resolve(struct kw_server *srv, const char *token, int64_t now, struct kw_principal *p,
		 uint8_t csrf_hash[KW_TOKEN_HASH_LEN], json_t **err);
/* The same; for a device token also copies the device row into *dev (when dev is not NULL). */
int auth_resolve_device(struct kw_server *srv, const char *token, int64_t now, struct kw_principal *p,
			uint8_t csrf_hash[KW_TOKEN_HASH_LEN], struct kw_device *dev, json_t **err);

#endif
