/* POST /api/v1/ldap/sync and GET /api/v1/ldap/status (admin). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "http/request.h"
#include "directory_int.h"
#include "directory.h"
#include "log.h"
#include "vec.h"
#include "store/store.h"

static json_t *plan_json(const struct kw_sync_plan *p, unsigned apply_errors)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:s}", "checked", (int)p->checked, "suspended", (int)p->suspend,
			 "restored", (int)p->restore, "revoked", (int)p->revoke, "errors",
			 (int)(p->errors + apply_errors), "outcome", sync_outcome_name(p->outcome));
}

int api_ldap_sync_post(struct kw_req *req, json_t *in, json_t **out)
{
	struct kwl_module *m = req->srv->dir;
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
	struct kwl_module *m = req->srv->dir;
	struct kwl_sync_status s;
	struct kwl_gen *g;
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
	g = kwl_gen_get(m);
	*out = json_pack("{s:b, s:o, s:o, s:s?, s:o, s:I, s:I, s:I, s:i, s:s}", "enabled", 1, "last_run", last,
			 "pending_confirmation", pending, "last_error", s.last_error[0] ? s.last_error : NULL,
			 "last_error_at", s.last_error_at ? json_integer(s.last_error_at) : json_null(), "runs",
			 (json_int_t)s.runs, "failures", (json_int_t)s.failures, "held", (json_int_t)s.held,
			 "sync_interval", (int)g->cfg.sync_interval, "uri", g->cfg.uris[0]);
	kwl_gen_put(g);
	return *out ? 200 : api_error(out, 500, "internal_error", "internal error");
}

/*
 * GET /api/v1/users (server/api_devices.c) asks here for the live directory state of the
 * users it lists: one ldap_dir_check_users() call, the sync's batched and paged check.
 * Like the sync, only people are asked about: a name that holds nothing but gateways is
 * not a directory account (and a batch of such names alone would fail the check).
 */

static int person_cb(const struct kw_device *d, void *arg)
{
	if (d->role != KW_DEV_DEVICE || d->state == KW_STATE_REVOKED || !d->username[0])
		return 0;
	return strvec_push_dup(arg, d->username);
}




static json_t *user_directory_json(const struct kw_ldap_user_fact *f, int64_t checked_at)
{
	bool found = f->presence == KW_LDAP_USER_FOUND;
	char reason[48] = "";

	if (f->presence == KW_LDAP_USER_MISSING)
		snprintf(reason, sizeof(reason), "not_found");
	else if (f->presence != KW_LDAP_USER_FOUND)
		snprintf(reason, sizeof(reason), "ambiguous");
	else if (f->disabled)
		snprintf(reason, sizeof(reason), "disabled:%s", ldap_disabled_name(f->disabled));
	else if (!f->in_vpn_group)
		snprintf(reason, sizeof(reason), "%s",
			 f->group_unknown ? "group_unknown" : "not_in_vpn_group");
	return json_pack("{s:b, s:b, s:b, s:o, s:I}", "found", found, "in_vpn_group", found && f->in_vpn_group,
			 "disabled", found && f->disabled != 0, "reason", reason[0] ? json_string(reason) : json_null(),
			 "checked_at", (json_int_t)checked_at);
}

int kwl_users_directory(struct kw_req *req, json_t *list)
{
	struct kwl_module *m = req->srv->dir;
	json_t *users = json_object_get(list, "users");
	struct kw_ldap_user_fact *facts = NULL;
	struct strvec people = { 0 };
	struct kwl_gen *g;
	size_t n_rows = json_array_size(users), n = 0, *row = NULL;
	char err[512] = "";
	int64_t checked_at;
	int r;

	if (!m)
		return 0;
	r = store_device_list(req->srv->store, NULL, person_cb, &people);
	if (r < 0)
		goto out;
	strvec_sort(&people);
	facts = calloc(n_rows + 1, sizeof(*facts));
	row = calloc(n_rows + 1, sizeof(*row));
	if (!facts || !row) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_rows; i++) {
		const char *u = json_string_value(json_object_get(json_array_get(users, i), "username"));

		if (!u || !strvec_has(&people, u))
			continue;
		row[n] = i;
		facts[n++].username = u;
	}
	g = kwl_gen_get(m);
	r = ldap_dir_check_users(g->dir, facts, n, NULL, err, sizeof(err));
	kwl_gen_put(g);
	checked_at = (int64_t)time(NULL);
	if (r < 0) {
		/* the list itself is still right: show it, say why the directory state is missing */
		log_warn("ldap: users directory check failed users=%zu error=\"%s\"", n, err);
		r = json_object_set_new(list, "directory_error",
					json_string(err[0] ? err : "the directory check failed")) ? -ENOMEM : 0;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		json_t *d = user_directory_json(&facts[k], checked_at);

		if (!d || json_object_set_new(json_array_get(users, row[k]), "directory", d)) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = 0;
out:
	if (facts)
		ldap_user_facts_release(facts, n);
	free(facts);
	free(row);
	strvec_free(&people);
	return r;
}
