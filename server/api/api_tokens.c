/* Admin API tokens (automation): create (secret shown once), list, revoke. */
#include "config.h"

#include <errno.h>

#include <sodium.h>
#include <string.h>

#include "api.h"
#include "api_json.h"
#include "store/store.h"
#include "core/token.h"

json_t *api_time_json(int64_t t)
{
	return t ? json_integer(t) : json_null();
}

int api_tokens_post(struct kw_req *req, json_t *in, json_t **out)
{
	char text[KW_TOKEN_TEXT_MAX];
	uint8_t hash[KW_TOKEN_HASH_BYTES];
	const char *name;
	int64_t id, expires_in = 0, expires_at;
	int st, ret;

	if ((st = json_get_label(in, "name", true, 128, &name, out)) ||
	    (st = json_get_int(in, "expires_in", false, 60, 10LL * 365 * 86400, &expires_in, out)))
		return st;
	expires_at = expires_in ? req->now + expires_in : 0;
	token_new(text, KW_TOKEN_PREFIX_API, hash);
	/* The owner is who made it: a token made by a session goes when the directory no
	 * longer makes that user an admin. */
	ret = store_api_token_create_ex(req->srv->store, name, hash, req->principal.actor, expires_at, req->now, &id);
	if (ret < 0) {
		sodium_memzero(text, sizeof(text));
		return api_error_errno(out, ret, "api token");
	}
	*out = json_pack("{s:I, s:s, s:s, s:I, s:s, s:o}", "id", (json_int_t)id, "name", name, "token", text,
			 "created_at", (json_int_t)req->now, "owner", req->principal.actor, "expires_at",
			 api_time_json(expires_at));
	sodium_memzero(text, sizeof(text));
	return *out ? 201 : api_error(out, 500, "internal_error", "out of memory");
}

static int api_token_row(const struct kw_api_token *t, void *arg)
{
	json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:o}", "id", (json_int_t)t->id, "name", t->name, "created_at",
			      (json_int_t)t->created_at, "owner", t->owner, "expires_at", api_time_json(t->expires_at));

	return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

int api_tokens_list(struct kw_req *req, json_t *in, json_t **out)
{
	json_t *a = json_array();
	int ret = a ? store_api_token_list(req->srv->store, api_token_row, a) : -ENOMEM;

	return api_list_reply(out, ret, a, "api_tokens", "api tokens");
}

int api_tokens_delete(struct kw_req *req, json_t *in, json_t **out)
{
	return api_delete_by_id(req, out, store_api_token_delete, "api token");
}
