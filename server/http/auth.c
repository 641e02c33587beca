#include "config.h"

#include <errno.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "core/wgconf.h"
#include "core/token.h"

int auth_resolve(struct kw_server *srv, const char *token, int64_t now, struct kw_principal *p,
		 uint8_t csrf_hash[KW_TOKEN_HASH_LEN], json_t **err)
{
	return auth_resolve_device(srv, token, now, p, csrf_hash, NULL, err);
}

int auth_resolve_device(struct kw_server *srv, const char *token, int64_t now, struct kw_principal *p,
			uint8_t csrf_hash[KW_TOKEN_HASH_LEN], struct kw_device *dev, json_t **err)
{
	uint8_t hash[KW_TOKEN_HASH_BYTES];
	int ret = -ENOENT;

	memset(p, 0, sizeof(*p));
	token_hash(token, hash);
	if (token_has_prefix(token, KW_TOKEN_PREFIX_API)) {
		struct kw_api_token t;

		ret = store_api_token_lookup_at(srv->store, hash, now, &t);
		if (ret == -EKEYEXPIRED) {
			sodium_memzero(hash, sizeof(hash));
			return api_error(err, 401, "token_expired", "this API token has expired");
		}
		if (ret == 0) {
			p->kind = KW_PRINCIPAL_API_TOKEN;
			p->role = KW_ROLE_ADMIN;
			p->id = t.id;
			snprintf(p->username, sizeof(p->username), "%s", t.name);
			snprintf(p->actor, sizeof(p->actor), "api-token:%.200s", t.name);
		}
	} else if (token_has_prefix(token, KW_TOKEN_PREFIX_SESSION)) {
		struct kw_session s;

		ret = store_session_lookup(srv->store, hash, now, &s);
		if (ret == -EKEYEXPIRED) {
			sodium_memzero(hash, sizeof(hash));
			return api_error(err, 401, "token_expired", "the session has expired; log in again");
		}
		if (ret == 0) {
			p->kind = KW_PRINCIPAL_SESSION;
			p->role = s.role == KW_SESSION_ADMIN ? KW_ROLE_ADMIN : KW_ROLE_USER;
			p->id = s.id;
			snprintf(p->username, sizeof(p->username), "%s", s.username);
			snprintf(p->actor, sizeof(p->actor), "user:%.200s", s.username);
			if (csrf_hash)
				memcpy(csrf_hash, s.csrf_hash, KW_TOKEN_HASH_LEN);
			sodium_memzero(s.csrf_hash, sizeof(s.csrf_hash));
		}
	} else if (token_has_prefix(token, KW_TOKEN_PREFIX_DEVICE)) {
		struct kw_device d;

		ret = store_device_by_token(srv->store, hash, &d);
		if (ret == 0 && d.state == KW_STATE_REVOKED) {
			sodium_memzero(hash, sizeof(hash));
			return wgconf_denied(srv, &d, err);
		}
		if (ret == 0) {
			p->kind = KW_PRINCIPAL_DEVICE;
			p->role = KW_ROLE_DEVICE;
			p->id = d.id;
			p->is_gateway = d.role == KW_DEV_GATEWAY;
			if (dev)
				*dev = d;
			snprintf(p->username, sizeof(p->username), "%s", d.username);
			snprintf(p->actor, sizeof(p->actor), "device:%lld", (long long)d.id);
		}
	}
	sodium_memzero(hash, sizeof(hash));
	if (ret == 0)
		return 0;
	if (ret != -ENOENT)
		return api_error_errno(err, ret, "credential");
	return api_error(err, 401, "invalid_token", "the credential is not valid");
}
