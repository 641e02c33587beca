/*
 * Access policies (POST/GET /api/v1/policies, GET/PUT/DELETE /api/v1/policies/{id}):
 * {"name","site","groups":[…],"users":[…],"destinations":[{"cidr","protocol","ports"}]}.
 * A PUT changes the fields it names. Every destination must lie inside one of the site's
 * routes or inside the VPN network (device-to-device); anything else is a 400.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_json.h"
#include "core/access.h"
#include "core/conf.h"
#include "store/store.h"

#define POLICY_NAME_MAX 128

static json_t *loads(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	return j ? j : json_array();
}

static json_t *policy_json(const struct kw_policy_row *p)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:o, s:o, s:o, s:I, s:I}", "id", (json_int_t)p->id, "name", p->name,
			 "site", p->site, "site_id", (json_int_t)p->site_id, "groups", loads(p->groups), "users",
			 loads(p->users), "destinations", loads(p->destinations), "created_at",
			 (json_int_t)p->created_at, "updated_at", (json_int_t)p->updated_at);
}

static int policy_append(const struct kw_policy_row *p, void *arg)
{
	json_t *o = policy_json(p);

	return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

static int policy_one(const struct kw_policy_row *p, void *arg)
{
	json_t **o = arg;

	*o = policy_json(p);
	return *o ? 0 : -ENOMEM;
}

/* The merged policy of a POST or PUT, validated; texts canonical and owned. */
struct policy_in {
	const char *name;
	struct kw_site site;
	char *groups, *users, *destinations;
};

static void policy_in_clear(struct policy_in *p)
{
	free(p->groups);
	free(p->users);
	free(p->destinations);
}

/* "groups"/"users": an array of labels; canonical text into *text. */
static int names_field(json_t *in, const char *field, char **text, json_t **out)
{
	json_t *a = json_object_get(in, field), *v;
	size_t i;

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > KW_POLICY_NAMES_MAX)
		return api_error(out, 400, "invalid_field", "field '%s' must be an array of at most %d names", field,
				 KW_POLICY_NAMES_MAX);
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		bool ok = s && *s && strlen(s) <= 1024;

		for (const unsigned char *p = (const unsigned char *)s; ok && *p; p++)
			ok = *p >= 0x20 && *p != 0x7f;
		if (!ok)
			return api_error(out, 400, "invalid_field",
					 "field '%s' must hold non-empty names without control characters", field);
	}
	free(*text);
	*text = json_dumps(a, JSON_COMPACT);
	return *text ? 0 : api_error(out, 500, "internal_error", "out of memory");
}

static int dests_field(json_t *in, struct policy_in *p, json_t **out)
{
	json_t *a = json_object_get(in, "destinations"), *v, *canon;
	struct kw_access_dest d;
	char err[256];
	size_t i;

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > KW_POLICY_DESTS_MAX)
		return api_error(out, 400, "invalid_field", "field 'destinations' must be an array of at most %d",
				 KW_POLICY_DESTS_MAX);
	canon = json_array();
	json_array_foreach(a, i, v) {
		if (access_dest_parse(v, &d, err, sizeof(err)) < 0) {
			json_decref(canon);
			return api_error(out, 400, "invalid_field", "destinations[%zu]: %s", i, err);
		}
		json_array_append_new(canon, access_dest_json(&d));
	}
	free(p->destinations);
	p->destinations = json_dumps(canon, JSON_COMPACT);
	json_decref(canon);
	return p->destinations ? 0 : api_error(out, 500, "internal_error", "out of memory");
}

/* Every destination inside the site's routes or the VPN network. */
static int dests_check_site(struct kw_req *req, const struct policy_in *p, json_t **out)
{
	const struct kw_conf *conf = server_conf(req->srv);
	const struct kw_cidr *routes = p->site.routes_from_conf ? conf->routes : p->site.routes;
	int nroutes = p->site.routes_from_conf ? conf->nroutes : p->site.nroutes;
	struct kw_policy pol;
	char err[256];
	int ret = access_policy_from_text(0, 0, "[]", "[]", p->destinations, &pol, err, sizeof(err));

	if (ret < 0)
		return api_error(out, 400, "invalid_field", "%s", err);
	for (size_t i = 0; i < pol.ndests; i++) {
		if (!access_dest_usable(&pol.dests[i], routes, nroutes, &conf->cidr,
					conf->has_cidr6 ? &conf->cidr6 : NULL)) {
			access_policy_clear(&pol);
			return api_error(out, 400, "invalid_field",
					 "destinations[%zu] is outside the routes of site '%s' and the VPN network", i,
					 p->site.name);
		}
	}
	access_policy_clear(&pol);
	return 0;
}

static int policy_body(struct kw_req *req, json_t *in, bool create, struct policy_in *p, json_t **out)
{
	const char *site = NULL;
	int st, ret;

	if ((st = json_get_label(in, "name", create, POLICY_NAME_MAX, &p->name, out)) ||
	    (st = json_get_string(in, "site", create, 256, &site, out)))
		return st;
	if (p->name && !*p->name)
		return api_error(out, 400, "invalid_field", "field 'name' may not be empty");
	if (site) {
		ret = store_site_by_name(req->srv->store, site, &p->site);
		if (ret == -ENOENT)
			return api_error(out, 400, "invalid_field", "no site named '%.64s'", site);
		if (ret < 0)
			return api_error_errno(out, ret, "site");
	}
	if ((st = names_field(in, "groups", &p->groups, out)) || (st = names_field(in, "users", &p->users, out)) ||
	    (st = dests_field(in, p, out)))
		return st;
	if (!strcmp(p->groups ? p->groups : "[]", "[]") && !strcmp(p->users ? p->users : "[]", "[]"))
		return api_error(out, 400, "invalid_field", "a policy needs at least one of 'groups' and 'users'");
	return dests_check_site(req, p, out);
}

static int policy_write_error(int ret, json_t **out)
{
	if (ret == -EEXIST)
		return api_error(out, 409, "conflict", "a policy with this name exists");
	if (ret == -ENOENT)
		return api_error(out, 404, "not_found", "no such policy (or its site is gone)");
	return api_error_errno(out, ret, "policy");
}

static int policy_reply(struct kw_req *req, int64_t id, int status, json_t **out)
{
	json_t *o = NULL;
	int ret = store_policy_get(req->srv->store, id, policy_one, &o);

	if (ret < 0) {
		json_decref(o);
		return api_error_errno(out, ret, "policy");
	}
	*out = o;
	return status;
}

int api_policies_post(struct kw_req *req, json_t *in, json_t **out)
{
	struct policy_in p = { 0 };
	struct kw_policy_row row;
	int64_t id;
	int st, ret;

	if ((st = policy_body(req, in, true, &p, out))) {
		policy_in_clear(&p);
		return st;
	}
	row = (struct kw_policy_row){ .name = p.name, .site_id = p.site.id, .groups = p.groups ? p.groups : "[]",
				      .users = p.users ? p.users : "[]",
				      .destinations = p.destinations ? p.destinations : "[]" };
	ret = store_policy_create(req->srv->store, &row, req->principal.actor, req->now, &id);
	policy_in_clear(&p);
	if (ret < 0)
		return policy_write_error(ret, out);
	return policy_reply(req, id, 201, out);
}

int api_policies_list(struct kw_req *req, json_t *in, json_t **out)
{
	json_t *a = json_array();
	int ret = a ? store_policy_list(req->srv->store, 0, policy_append, a) : -ENOMEM;

	return api_list_reply(out, ret, a, "policies", "policies");
}

int api_policies_get(struct kw_req *req, json_t *in, json_t **out)
{
	int64_t id;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such policy");
	return policy_reply(req, id, 200, out);
}

/* The stored policy into p (texts copied): what a PUT starts from. */
struct policy_cur {
	struct policy_in *p;
	char name[POLICY_NAME_MAX * 4 + 1];
	int64_t site_id;
};

static int policy_cur_row(const struct kw_policy_row *r, void *arg)
{
	struct policy_cur *c = arg;

	snprintf(c->name, sizeof(c->name), "%s", r->name);
	c->site_id = r->site_id;
	c->p->groups = strdup(r->groups);
	c->p->users = strdup(r->users);
	c->p->destinations = strdup(r->destinations);
	return c->p->groups && c->p->users && c->p->destinations ? 0 : -ENOMEM;
}

int api_policies_put(struct kw_req *req, json_t *in, json_t **out)
{
	struct policy_in p = { 0 };
	struct policy_cur cur = { .p = &p };
	struct kw_policy_row row;
	int64_t id;
	int st, ret;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such policy");
	ret = store_policy_get(req->srv->store, id, policy_cur_row, &cur);
	if (ret == 0)
		ret = store_site_get(req->srv->store, cur.site_id, &p.site);
	if (ret < 0) {
		policy_in_clear(&p);
		return api_error_errno(out, ret, "policy");
	}
	if ((st = policy_body(req, in, false, &p, out))) {
		policy_in_clear(&p);
		return st;
	}
	row = (struct kw_policy_row){ .id = id, .name = p.name ? p.name : cur.name, .site_id = p.site.id,
				      .groups = p.groups, .users = p.users, .destinations = p.destinations };
	ret = store_policy_update(req->srv->store, &row, req->principal.actor, req->now);
	policy_in_clear(&p);
	if (ret < 0)
		return policy_write_error(ret, out);
	return policy_reply(req, id, 200, out);
}

int api_policies_delete(struct kw_req *req, json_t *in, json_t **out)
{
	return api_delete_by_id(req, out, store_policy_delete, "policy");
}
