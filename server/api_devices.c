/*
 * Devices: list, show, revoke (admin; a user session: its own), suspend and restore
 * (admin), and revoking every device of a user.
 */
#include "config.h"

#include <errno.h>

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_json.h"
#include "ldap_module.h"
#include "store.h"

json_t *api_device_json(const struct kw_device *d)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:I}", "id",
			      (json_int_t)d->id, "username", d->username, "hostname", d->hostname, "role",
			      store_role_name(d->role), "state", store_state_name(d->state), "state_reason",
			      d->state_reason, "address", d->address, "public_key", d->public_key, "created_at",
			      (json_int_t)d->created_at, "suspended_at", api_time_json(d->suspended_at),
			      "revoked_at", api_time_json(d->revoked_at), "config_version", (json_int_t)d->version);

	if (!o)
		return NULL;
	if (d->address6[0])
		json_object_set_new(o, "address6", json_string(d->address6));
	if (d->role == KW_DEV_GATEWAY) {
		json_object_set_new(o, "endpoint", d->endpoint[0] ? json_string(d->endpoint) : json_null());
		json_object_set_new(o, "listen_port", json_integer(d->listen_port));
	}
	return o;
}

struct list_ctx {
	json_t *a;
	const char *state;
	const char *role;
};

static int device_row(const struct kw_device *d, void *arg)
{
	struct list_ctx *x = arg;
	json_t *o;

	if (x->state && strcmp(x->state, store_state_name(d->state)) != 0)
		return 0;
	if (x->role && strcmp(x->role, store_role_name(d->role)) != 0)
		return 0;
	o = api_device_json(d);
	return o && json_array_append_new(x->a, o) == 0 ? 0 : -ENOMEM;
}

static bool is_user_session(const struct kw_req *req)
{
	return req->principal.kind == KW_PRINCIPAL_SESSION && req->principal.role == KW_ROLE_USER;
}

int api_devices_list(struct kw_req *req, json_t *in, json_t **out)
{
	struct list_ctx x = { .state = req_query(req, "state"), .role = req_query(req, "role") };
	const char *username = req_query(req, "username");
	int ret;

	if (username && !*username)
		username = NULL;
	if (is_user_session(req)) {
		if (username && strcmp(username, req->principal.username) != 0)
			return api_error(out, 403, "forbidden", "you may only list your own devices");
		username = req->principal.username;
	} else if (!req_is_admin(req)) {
		return api_error(out, 403, "forbidden", "admin role required");
	}
	if (x.state && strcmp(x.state, "active") && strcmp(x.state, "suspended") && strcmp(x.state, "revoked"))
		return api_error(out, 400, "invalid_query", "state must be active, suspended or revoked");
	if (x.role && strcmp(x.role, "device") && strcmp(x.role, "gateway"))
		return api_error(out, 400, "invalid_query", "role must be device or gateway");
	x.a = json_array();
	ret = x.a ? store_device_list(req->srv->store, username, device_row, &x) : -ENOMEM;
	if (ret < 0) {
		json_decref(x.a);
		return api_error_errno(out, ret, "devices");
	}
	*out = json_pack("{s:o}", "devices", x.a);
	return 200;
}

/* Load {id} and check the caller may see it: admin, or a user session owning it. */
static int device_for_caller(struct kw_req *req, struct kw_device *d, json_t **out)
{
	int64_t id;
	int ret;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such device");
	if (!req_is_admin(req) && !is_user_session(req))
		return api_error(out, 403, "forbidden", "admin role required");
	ret = store_device_get(req->srv->store, id, d);
	if (ret < 0)
		return api_error_errno(out, ret, "device");
	if (is_user_session(req) && strcmp(d->username, req->principal.username) != 0)
		return api_error(out, 404, "not_found", "no such device"); /* do not reveal others' ids */
	return 0;
}

int api_devices_get(struct kw_req *req, json_t *in, json_t **out)
{
	struct kw_device d;
	int st = device_for_caller(req, &d, out);

	if (st)
		return st;
	*out = api_device_json(&d);
	return *out ? 200 : api_error(out, 500, "internal_error", "out of memory");
}

int api_devices_delete(struct kw_req *req, json_t *in, json_t **out)
{
	struct kw_device d;
	int ret, st = device_for_caller(req, &d, out);

	if (st)
		return st;
	ret = store_device_revoke(req->srv->store, d.id, req->principal.actor, req->now);
	if (ret == -EPERM)
		return api_error(out, 409, "invalid_state", "device %lld is already revoked", (long long)d.id);
	if (ret < 0)
		return api_error_errno(out, ret, "device");
	return 204;
}

static int suspend_restore(struct kw_req *req, json_t *in, json_t **out, bool suspend)
{
	const char *reason = NULL;
	struct kw_device d;
	int64_t id;
	int ret, st;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such device");
	if ((st = json_get_label(in, "reason", false, 200, &reason, out)))
		return st;
	if (suspend)
		ret = store_device_suspend(req->srv->store, id, reason ? reason : "admin", req->principal.actor,
					   req->now);
	else
		ret = store_device_restore(req->srv->store, id, req->principal.actor, req->now);
	if (ret == -EPERM)
		return api_error(out, 409, "invalid_state", "device %lld is not %s", (long long)id,
				 suspend ? "active" : "suspended");
	if (ret < 0)
		return api_error_errno(out, ret, "device");
	ret = store_device_get(req->srv->store, id, &d);
	if (ret < 0)
		return api_error_errno(out, ret, "device");
	*out = api_device_json(&d);
	return *out ? 200 : api_error(out, 500, "internal_error", "out of memory");
}

int api_devices_suspend(struct kw_req *req, json_t *in, json_t **out)
{
	return suspend_restore(req, in, out, true);
}

int api_devices_restore(struct kw_req *req, json_t *in, json_t **out)
{
	return suspend_restore(req, in, out, false);
}

int api_users_revoke(struct kw_req *req, json_t *in, json_t **out)
{
	const char *username = req->nparams ? req->params[0] : NULL, *reason = NULL;
	int ret, st, n = 0;

	if (!username || !*username || strlen(username) > 255)
		return api_error(out, 404, "not_found", "no such user");
	for (const unsigned char *p = (const unsigned char *)username; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return api_error(out, 404, "not_found", "no such user");
	if ((st = json_get_label(in, "reason", false, 200, &reason, out)))
		return st;
	ret = store_user_revoke(req->srv->store, username, reason ? reason : "admin", req->principal.actor,
				req->now, &n);
	if (ret < 0)
		return api_error_errno(out, ret, "user");
	*out = json_pack("{s:s, s:i}", "username", username, "revoked", n);
	return 200;
}

static int user_row(const char *username, int active, int suspended, int64_t oldest, void *arg)
{
	json_t *o = json_pack("{s:s, s:i, s:i, s:o}", "username", username, "active", active, "suspended",
			      suspended, "suspended_since", api_time_json(oldest));

	return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

int api_users_list(struct kw_req *req, json_t *in, json_t **out)
{
	json_t *a = json_array();
	int ret = a ? store_user_list(req->srv->store, user_row, a) : -ENOMEM;

	if (ret < 0) {
		json_decref(a);
		return api_error_errno(out, ret, "users");
	}
	*out = json_pack("{s:o}", "users", a);
	if (!*out)
		return api_error(out, 500, "internal_error", "out of memory");
	/* With the LDAP module: each user's live directory state (or "directory_error"). */
	ret = ldap_users_directory(req, *out);
	if (ret < 0) {
		json_decref(*out);
		*out = NULL;
		return api_error_errno(out, ret, "users");
	}
	return 200;
}

static int audit_row(const struct kw_audit_row *r, void *arg)
{
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)r->id, "at",
			      (json_int_t)r->at, "actor", r->actor, "action", r->action, "object", r->object,
			      "outcome", r->outcome, "detail", r->detail);

	return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

/* An exact-match filter value: 1..max bytes, no control characters. */
static bool valid_query_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int api_audit_list(struct kw_req *req, json_t *in, json_t **out)
{
	const char *ls = req_query(req, "limit"), *bs = req_query(req, "before");
	const char *actor = req_query(req, "actor"), *action = req_query(req, "action");
	int64_t limit = 100, before = 0;
	json_t *a, *last;
	int ret;

	if (ls && !api_parse_uint(ls, 1, 1000, &limit))
		return api_error(out, 400, "invalid_query", "limit must be an integer from 1 to 1000");
	if (bs && !api_parse_uint(bs, 1, INT64_MAX / 2, &before))
		return api_error(out, 400, "invalid_query", "before must be a positive audit id");
	if (actor && !valid_query_label(actor, sizeof(((struct kw_audit_row *)0)->actor) - 1))
		return api_error(out, 400, "invalid_query", "actor must be 1 to 255 characters without control characters");
	if (action && !valid_query_label(action, sizeof(((struct kw_audit_row *)0)->action) - 1))
		return api_error(out, 400, "invalid_query", "action must be 1 to 63 characters without control characters");
	a = json_array();
	ret = a ? store_audit_list_filtered(req->srv->store, before, (int)limit, actor, action, audit_row, a) : -ENOMEM;
	if (ret < 0) {
		json_decref(a);
		return api_error_errno(out, ret, "audit");
	}
	last = json_array_size(a) == (size_t)limit ? json_array_get(a, json_array_size(a) - 1) : NULL;
	*out = json_pack("{s:o, s:o}", "audit", a, "next_before",
			 last ? json_incref(json_object_get(last, "id")) : json_null());
	return 200;
}
