/*
 * What a device asks with its own token: GET /api/v1/devices/{id}/config (signed envelope,
 * long-poll with ?after=N&wait=S) and PUT /api/v1/devices/{id}/public-key (rotation).
 */
#include "config.h"

#include <errno.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "api_json.h"
#include "core/conf.h"
#include "log.h"
#include "store/store.h"
#include "core/gwhealth.h"
#include "core/wgconf.h"

#define LONGPOLL_MAX_S 60

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The caller must be this device (its token), and the device must be usable. */
static int own_device(struct kw_req *req, struct kw_device *d, json_t **out)
{
	int64_t id;
	int ret;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such device");
	if (req->principal.kind != KW_PRINCIPAL_DEVICE)
		return api_error(out, 403, "forbidden", "only the device itself may do this, with its device token");
	if (req->principal.id != id)
		return api_error(out, 403, "forbidden", "this device token belongs to another device");
	if (req->auth_device && ((const struct kw_device *)req->auth_device)->id == id && req->ncalls <= 1) {
		/* Read by authentication a moment ago, in this request: no second query. */
		*d = *(const struct kw_device *)req->auth_device;
	} else {
		ret = store_device_get(req->srv->store, id, d);
		if (ret < 0)
			return api_error_errno(out, ret, "device");
	}
	if (d->state == KW_STATE_REVOKED || d->state == KW_STATE_SUSPENDED)
		return wgconf_denied(req->srv, d, out);
	return 0;
}

int api_device_config_get(struct kw_req *req, json_t *in, json_t **out)
{
	const char *after_s = req_query(req, "after"), *wait_s = req_query(req, "wait");
	int64_t after = -1, wait = 0, lifetime = server_conf(req->srv)->config_lifetime, now;
	struct kw_device d;
	char *text = NULL;
	size_t len = 0;
	int st, ret;

	if (after_s && !api_parse_uint(after_s, 0, INT64_MAX, &after))
		return api_error(out, 400, "invalid_query", "after must be a non-negative integer");
	if (wait_s && !api_parse_uint(wait_s, 0, INT64_MAX, &wait))
		return api_error(out, 400, "invalid_query", "wait must be a non-negative number of seconds");
	if (wait > LONGPOLL_MAX_S)
		wait = LONGPOLL_MAX_S;
	/* Read the change counter before the device: a change after this read wakes us. */
	req->wait_seen = store_change_counter(req->srv->store);
	req->ncalls++;
	now = req->ncalls > 1 ? (int64_t)time(NULL) : req->now;
	if ((st = own_device(req, &d, out)))
		return st;
	if (d.role == KW_DEV_GATEWAY) {
		/* A gateway's request arriving is a sign of life (not its parked request being
		 * resumed: the gateway may have died meanwhile); its long-poll is kept short so a
		 * silent one is noticed (gwhealth.h). */
		if (req->ncalls == 1 && gwhealth_seen(req->srv, d.id, now) < 0)
			log_warn("gateway health: could not record gateway %lld", (long long)d.id);
		if (wait > gwhealth_poll_max(req->srv))
			wait = gwhealth_poll_max(req->srv);
	}
	/* Renew before half the lifetime is gone: a new version the long-poll delivers. */
	if (now - d.renewed_at >= lifetime / 2) {
		ret = store_device_renew(req->srv->store, d.id, now);
		if (ret == 0)
			ret = store_device_get(req->srv->store, d.id, &d);
		if (ret < 0)
			return api_error_errno(out, ret, "device");
		req->wait_seen = store_change_counter(req->srv->store);
	}
	if (after >= 0 && d.version <= after) {
		if (wait > 0 && req->wait_deadline_ms == 0 && req->ncalls == 1)
			req_longpoll_until(req, now_ms() + wait * 1000);
		if (req->wait_deadline_ms && now_ms() < req->wait_deadline_ms)
			return KW_HTTP_SUSPEND;
		return 304;
	}
	ret = wgconf_envelope(req->srv, &d, now, &text, &len);
	if (ret < 0)
		return api_error_errno(out, ret, "config");
	req_set_body_owned(req, "application/json", text, len);
	return 200;
}

int api_device_key_put(struct kw_req *req, json_t *in, json_t **out)
{
	const char *pub;
	uint8_t key[32];
	struct kw_device d;
	char *text = NULL;
	size_t len = 0;
	json_t *env;
	int st, ret;

	if ((st = own_device(req, &d, out)))
		return st;
	if ((st = json_get_wg_key(in, "public_key", true, &pub, key, out)))
		return st;
	ret = store_device_rotate_key_limited(req->srv->store, d.id, pub, req->principal.actor, req->now,
					      server_conf(req->srv)->rotations_per_hour);
	if (ret == -EAGAIN) {
		(void)req_add_header(req, "Retry-After", "3600");
		return api_error(out, 429, "rotation_rate_limited", "too many key rotations for this device in the last hour");
	}
	if (ret == -EEXIST)
		return api_error(out, 409, "public_key_in_use", "this public key is already enrolled");
	if (ret == -EPERM && store_device_get(req->srv->store, d.id, &d) == 0 && d.state != KW_STATE_ACTIVE)
		return wgconf_denied(req->srv, &d, out); /* suspended or revoked meanwhile: the signed answer */
	if (ret == -EPERM)
		return api_error(out, 403, "device_suspended", "this device is not active");
	if (ret < 0)
		return api_error_errno(out, ret, "device");
	ret = store_device_get(req->srv->store, d.id, &d);
	if (ret < 0)
		return api_error_errno(out, ret, "device");
	ret = wgconf_envelope(req->srv, &d, req->now, &text, &len);
	env = ret == 0 ? json_loadb(text, len, 0, NULL) : NULL;
	free(text);
	*out = json_pack("{s:I, s:s, s:I, s:o}", "device_id", (json_int_t)d.id, "public_key", d.public_key,
			 "config_version", (json_int_t)d.version, "config", env ? env : json_null());
	return *out ? 200 : api_error(out, 500, "internal_error", "out of memory");
}
