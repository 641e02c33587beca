/*
 * Devices: list, show, revoke (admin; a user session: its own), suspend and restore
 * (admin).
 */
#include "config.h"

#include <errno.h>

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_json.h"
#include "directory/directory.h"
#include "store/store.h"

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
	return api_list_reply(out, ret, x.a, "devices", "devices");
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
