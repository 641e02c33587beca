/* Enrollment tokens (one-time, for a device or a gateway): create (secret shown once), list, revoke. */
#include "config.h"

#include <errno.h>

#include <sodium.h>
#include <stdio.h>
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
	const char *username, *role_s, *site_s = NULL;
	int64_t expires_in = 86400, uses = 1, id;
	struct kw_site site;
	int st, ret;

	if ((st = json_get_label(in, "username", true, 255, &username, out)) ||
	    (st = json_get_string(in, "role", false, 16, &role_s, out)) ||
	    (st = json_get_int(in, "expires_in", false, 60, 366LL * 86400, &expires_in, out)) ||
	    (st = json_get_int(in, "uses", false, 1, 1000000, &uses, out)) ||
	    (st = json_get_string(in, "site", false, 256, &site_s, out)))
		return st;
	if (role_s && store_role_parse(role_s, &role) < 0)
		return api_error(out, 400, "invalid_field", "field 'role' must be \"device\" or \"gateway\"");
	/* A gateway belongs to exactly one site: the token's ('default' when it names none). */
	if (site_s && role != KW_DEV_GATEWAY)
		return api_error(out, 400, "invalid_field", "field 'site' is for gateway tokens only");
	ret = store_site_by_name(req->srv->store, site_s ? site_s : KW_SITE_DEFAULT, &site);
	if (ret == -ENOENT && site_s)
		return api_error(out, 400, "invalid_field", "no site named '%.64s'", site_s);
	if (ret < 0 && role == KW_DEV_GATEWAY)
		return api_error_errno(out, ret, "site");
	token_new(text, KW_TOKEN_PREFIX_ENROLL, hash);
	if (site_s)
		ret = store_site_token_create(req->srv->store, username, site.id, req->now + expires_in, uses, hash,
					      req->principal.actor, req->now, &id);
	else
		ret = store_enrollment_token_create(req->srv->store, username, role, req->now + expires_in, uses,
						    hash, req->principal.actor, req->now, &id);
	if (ret < 0) {
		sodium_memzero(text, sizeof(text));
		return api_error_errno(out, ret, "enrollment token");
	}
	*out = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I}", "id", (json_int_t)id, "token", text, "username", username,
			 "role", store_role_name(role), "uses", (json_int_t)uses, "expires_at",
			 (json_int_t)(req->now + expires_in));
	if (*out && role == KW_DEV_GATEWAY)
		json_object_set_new(*out, "site", json_string(site_s ? site_s : KW_SITE_DEFAULT));
	sodium_memzero(text, sizeof(text));
	return *out ? 201 : api_error(out, 500, "internal_error", "out of memory");
}

struct etok_ctx {
	json_t *a;
	int64_t now;
	json_t *sites; /* token id (text) -> site name, for gateway tokens that name one */
};

static int token_site_cb(int64_t token_id, const char *site, void *arg)
{
	char key[24];

	snprintf(key, sizeof(key), "%lld", (long long)token_id);
	return json_object_set_new(arg, key, json_string(site)) == 0 ? 0 : -ENOMEM;
}

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
	char key[24];

	snprintf(key, sizeof(key), "%lld", (long long)t->id);
	if (o && t->role == KW_DEV_GATEWAY) {
		json_t *site = json_object_get(x->sites, key);

		json_object_set_new(o, "site", site ? json_incref(site) : json_string(KW_SITE_DEFAULT));
	}
	return o && json_array_append_new(x->a, o) == 0 ? 0 : -ENOMEM;
}

int api_enrollment_tokens_list(struct kw_req *req, json_t *in, json_t **out)
{
	struct etok_ctx x = { .a = json_array(), .now = req->now, .sites = json_object() };
	int ret = x.a && x.sites ? store_site_token_list(req->srv->store, token_site_cb, x.sites) : -ENOMEM;

	if (ret == 0)
		ret = store_enrollment_token_list(req->srv->store, enrollment_token_row, &x);
	json_decref(x.sites);
	return api_list_reply(out, ret, x.a, "enrollment_tokens", "enrollment tokens");
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
