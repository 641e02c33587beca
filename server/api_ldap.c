/* POST /api/v1/ldap/sync and GET /api/v1/ldap/status (admin). */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "api.h"
#include "ldap_mod.h"

static json_t *plan_json(const struct kw_sync_plan *p, unsigned apply_errors)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:s}", "checked", (int)p->checked, "suspended", (int)p->suspend,
			 "restored", (int)p->restore, "revoked", (int)p->revoke, "errors",
			 (int)(p->errors + apply_errors), "outcome", sync_outcome_name(p->outcome));
}

int api_ldap_sync_post(struct kw_req *req, json_t *in, json_t **out)
{
	struct kwl_module *m = req->srv->ldap;
	struct kw_sync_plan plan;
	unsigned apply_errors = 0;
	bool confirm = false;
	int st;

	if (!m)
		return api_error(out, 400, "ldap_not_configured", "this server has no [ldap] section");
	if (in && (st = json_get_bool(in, "confirm_mass_change", false, &confirm, out)))
		return st;
	(void)sync_run(m, confirm, &plan, &apply_errors);
	*out = plan_json(&plan, apply_errors);
	if (!*out)
		return api_error(out, 500, "internal_error", "internal error");
	json_object_set_new(*out, "pending_confirmation", json_boolean(plan.outcome == KW_SYNC_HELD));
	if (plan.outcome == KW_SYNC_HELD) {
		json_object_set_new(*out, "would_cut", json_integer(plan.cut));
		json_object_set_new(*out, "limit", json_integer(plan.limit));
	}
	if (plan.outcome != KW_SYNC_OK) {
		pthread_mutex_lock(&m->status_lock);
		json_object_set_new(*out, "message", json_string(m->status.last_error));
		pthread_mutex_unlock(&m->status_lock);
	}
	return 200;
}

int api_ldap_status_get(struct kw_req *req, json_t *in, json_t **out)
{
	struct kwl_module *m = req->srv->ldap;
	struct kwl_sync_status s;
	json_t *last = NULL, *pending = NULL;

	(void)in;
	if (!m) {
		*out = json_pack("{s:b}", "enabled", 0);
		return *out ? 200 : api_error(out, 500, "internal_error", "internal error");
	}
	pthread_mutex_lock(&m->status_lock);
	s = m->status;
	pthread_mutex_unlock(&m->status_lock);
	if (s.last_run_at) {
		last = plan_json(&s.last_plan, s.last_apply_errors);
		if (last) {
			json_object_set_new(last, "at", json_integer(s.last_run_at));
			json_object_set_new(last, "duration_ms", json_integer(s.last_duration_ms));
		}
	} else {
		last = json_null();
	}
	if (s.pending)
		pending = json_pack("{s:i, s:i, s:I}", "would_cut", (int)s.pending_cut, "limit", (int)s.pending_limit,
				    "since", (json_int_t)s.pending_since);
	else
		pending = json_null();
	*out = json_pack("{s:b, s:o, s:o, s:s?, s:o, s:I, s:I, s:I, s:i, s:s}", "enabled", 1, "last_run", last,
			 "pending_confirmation", pending, "last_error", s.last_error[0] ? s.last_error : NULL,
			 "last_error_at", s.last_error_at ? json_integer(s.last_error_at) : json_null(), "runs",
			 (json_int_t)s.runs, "failures", (json_int_t)s.failures, "held", (json_int_t)s.held,
			 "sync_interval", (int)m->cfg.sync_interval, "uri", m->cfg.uris[0]);
	return *out ? 200 : api_error(out, 500, "internal_error", "internal error");
}
