/* Enrollment tokens (one-time, for a device or a gateway): create (secret shown once), list, revoke. */
#include "config.h"

#include <errno.h>

#include <sodium.h>
#include <string.h>

#include "api.h"
#include "api_json.h"
#include "core/token.h"
#include "store/store.h"

int api_enrollment_tokens_post(struct kw_req *req, json_t *in, json_t **out)
{
	char text[KW_TOKEN_TEXT_MAX];
	uint8_t hash[KW_TOKEN_HASH_BYTES];
	enum kw_device_role role = KW_DEV_DEVICE;
	const char *username, *role_s;
	int64_t expires_in = 86400, uses = 1, id;
	int st, ret;

	if ((st = json_get_label(in, "username", true, 255, &username, out)) ||
	    (st = json_get_string(in, "role", false, 16, &role_s, out)) ||
	    (st = json_get_int(in, "expires_in", false, 60, 366LL * 86400, &expires_in, out)) ||
	    (st = json_get_int(in, "uses", false, 1, 1000000, &uses, out)))
		return st;
	if (role_s && store_role_parse(role_s, &role) < 0)
		return api_error(out, 400, "invalid_field", "field 'role' must be \"device\" or \"gateway\"");
	token_new(text, KW_TOKEN_PREFIX_ENROLL, hash);
	ret = store_enrollment_token_create(req->srv->store, username, role, req->now + expires_in, uses, hash,
					    req->principal.actor, req->now, &id);
	if (ret < 0) {
		sodium_memzero(text, sizeof(text));
		return api_error_errno(out, ret, "enrollment token");
	}
	*out = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I}", "id", (json_int_t)id, "token", text, "username", username,
			 "role", store_role_name(role), "uses", (json_int_t)uses, "expires_at",
			 (json_int_t)(req->now + expires_in));
	sodium_memzero(text, sizeof(text));
	return *out ? 201 : api_error(out, 500, "internal_error", "out of memory");
}

struct etok_ctx {
	json_t *a;
	int64_t now;
};

static int enrollment_token_row(const struct kw_enrollment_token *t, void *arg)
{
	struct etok_ctx *x = arg;
	const char *state = t->revoked_at ? "revoked" : t->uses_left == 0 ? "used" :
			    t->expires_at <= x->now ? "expired" : "active";
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:s}", "id", (json_int_t)t->id,
			      "username", t->username, "role", store_role_name(t->role), "state", state,
			      "created_at", (json_int_t)t->created_at, "expires_at", (json_int_t)t->expires_at,
			      "uses_left", (json_int_t)t->uses_left, "uses_total", (json_int_t)t->uses_total,
			      "revoked_at", api_time_json(t->revoked_at), "created_by", t->created_by);

	return o && json_array_append_new(x->a, o) == 0 ? 0 : -ENOMEM;
}

int api_enrollment_tokens_list(struct kw_req *req, json_t *in, json_t **out)
{
	struct etok_ctx x = { .a = json_array(), .now = req->now };
	int ret = x.a ? store_enrollment_token_list(req->srv->store, enrollment_token_row, &x) : -ENOMEM;

	if (ret < 0) {
		json_decref(x.a);
		return api_error_errno(out, ret, "enrollment tokens");
	}
	*out = json_pack("{s:o}", "enrollment_tokens", x.a);
	return 200;
}

int api_enrollment_tokens_delete(struct kw_req *req, json_t *in, json_t **out)
{
	int64_t id;
	int ret;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such enrollment token");
	ret = store_enrollment_token_revoke(req->srv->store, id, req->principal.actor, req->now);
	if (ret == -ENOENT)
		return api_error(out, 404, "not_found", "no such enrollment token (or already revoked)");
	if (ret < 0)
		return api_error_errno(out, ret, "enrollment token");
	return 204;
}
