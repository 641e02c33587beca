/*
 * Sites: the networks behind a set of gateways (POST/GET /api/v1/sites, GET/PUT/DELETE
 * /api/v1/sites/{id}). Every listing shows each site's gateways with their health: when
 * keywayd last saw them, online or not, and which one devices use (active) or keep in
 * reserve (standby).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_json.h"
#include "core/access_snap.h"
#include "core/conf.h"
#include "core/gwhealth.h"
#include "store/store.h"

#define SITE_NAME_MAX 64

/* Names go into URLs, audit lines and the gateway's firewall comments: keep them plain. */
static bool site_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SITE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return false;
	return true;
}

static json_t *cidrs_json(const struct kw_cidr *v, int n)
{
	json_t *a = json_array();
	char buf[KW_CIDR_STRLEN];

	for (int i = 0; a && i < n; i++) {
		cidr_format(buf, &v[i]);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *gateway_json(const struct kw_server *srv, const struct kw_snap_site *ss, size_t i)
{
	const struct kw_site_gateway *g = &ss->gws[i];
	int64_t seen = gwhealth_last_seen(srv, g->id);
	const char *role = strcmp(g->state, "active") != 0 ? "none" : (int)i == ss->active ? "active" : "standby";
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:o}", "id", (json_int_t)g->id, "hostname",
			      g->hostname, "state", g->state, "address", g->address, "public_key", g->public_key,
			      "online", g->online, "role", role, "last_seen",
			      api_time_json(seen ? seen : g->last_seen));

	if (o && g->address6[0])
		json_object_set_new(o, "address6", json_string(g->address6));
	if (o)
		json_object_set_new(o, "endpoint", g->endpoint[0] ? json_string(g->endpoint) : json_null());
	return o;
}

static json_t *site_json(const struct kw_server *srv, const struct kw_snap_site *ss)
{
	const struct kw_site *s = &ss->site;
	json_t *gws = json_array();
	json_t *o;

	for (size_t i = 0; gws && i < ss->ngws; i++)
		json_array_append_new(gws, gateway_json(srv, ss, i));
	o = json_pack("{s:I, s:s, s:o, s:b, s:s, s:I, s:I, s:o}", "id", (json_int_t)s->id, "name", s->name, "routes",
		      cidrs_json(s->routes, s->nroutes), "routes_from_config", s->routes_from_conf, "default",
		      store_site_action_name(s->default_action), "created_at", (json_int_t)s->created_at, "updated_at",
		      (json_int_t)s->updated_at, "gateways", gws ? gws : json_array());
	return o;
}

/* One site ({id} or NULL for all) as the API shows it, from one snapshot. */
static int sites_render(struct kw_req *req, int64_t id, json_t **out)
{
	struct kw_access_snap *s = NULL;
	json_t *a;
	int ret = access_snap_load(req->srv, "", &s);

	if (ret < 0)
		return api_error_errno(out, ret, "sites");
	a = json_array();
	for (size_t i = 0; a && i < s->nsites; i++) {
		if (id && s->sites[i].site.id != id)
			continue;
		json_array_append_new(a, site_json(req->srv, &s->sites[i]));
	}
	access_snap_free(s);
	if (!a)
		return api_error(out, 500, "internal_error", "out of memory");
	if (!id) {
		*out = json_pack("{s:o}", "sites", a);
		return 200;
	}
	if (json_array_size(a) == 0) {
		json_decref(a);
		return api_error(out, 404, "not_found", "no such site");
	}
	*out = json_incref(json_array_get(a, 0));
	json_decref(a);
	return 200;
}

/* The body of a POST (create: name required) or PUT (every field optional). */
static int site_body(json_t *in, bool create, struct kw_site_change *c, struct kw_cidr *routes, json_t **out)
{
	const char *name = NULL, *def = NULL;
	json_t *r, *v;
	size_t i;
	int st;

	if ((st = json_get_string(in, "name", create, 256, &name, out)) ||
	    (st = json_get_string(in, "default", false, 16, &def, out)))
		return st;
	if (name && !site_name_ok(name))
		return api_error(out, 400, "invalid_field",
				 "field 'name' must be 1-%d letters, digits, '-', '_' or '.'", SITE_NAME_MAX);
	c->name = name;
	if (def) {
		if (store_site_action_parse(def, &c->default_action) < 0)
			return api_error(out, 400, "invalid_field", "field 'default' must be \"allow\" or \"deny\"");
		c->has_action = true;
	}
	r = json_object_get(in, "routes");
	if (!r)
		return 0;
	if (!json_is_array(r) || json_array_size(r) > KW_SITE_ROUTES_MAX)
		return api_error(out, 400, "invalid_field", "field 'routes' must be an array of at most %d networks",
				 KW_SITE_ROUTES_MAX);
	json_array_foreach(r, i, v) {
		if (!json_is_string(v) || cidr_parse_network(&routes[i], json_string_value(v)) < 0)
			return api_error(out, 400, "invalid_field",
					 "field 'routes' must hold networks such as \"10.1.0.0/24\" (no host bits)");
	}
	c->has_routes = true;
	c->routes = routes;
	c->nroutes = (int)json_array_size(r);
	return 0;
}

/* The running [network]: routes of a site that follows the file, and the VPN network. */
static int site_check_vpn(struct kw_req *req, const struct kw_site_change *c, json_t **out)
{
	const struct kw_conf *conf = server_conf(req->srv);

	for (int i = 0; c->has_routes && i < c->nroutes; i++) {
		if (store_cidr_overlap(&c->routes[i], &conf->cidr) ||
		    (conf->has_cidr6 && store_cidr_overlap(&c->routes[i], &conf->cidr6)))
			return api_error(out, 400, "invalid_field",
					 "field 'routes' may not overlap the VPN network itself ([network] cidr)");
	}
	return 0;
}

static int site_write_error(int ret, const char *other, json_t **out)
{
	if (ret == -EADDRINUSE)
		return api_error(out, 409, "conflict", "routes overlap those of site '%s'", other);
	if (ret == -EEXIST)
		return api_error(out, 409, "conflict", "a site with this name exists");
	if (ret == -EINVAL)
		return api_error(out, 400, "invalid_field", "field 'routes' holds overlapping networks");
	return api_error_errno(out, ret, "site");
}

int api_sites_post(struct kw_req *req, json_t *in, json_t **out)
{
	const struct kw_conf *conf = server_conf(req->srv);
	struct kw_cidr routes[KW_SITE_ROUTES_MAX];
	struct kw_site_change c = { .conf_routes = conf->routes, .nconf_routes = conf->nroutes };
	char other[256] = "";
	int64_t id;
	int st, ret;

	if ((st = site_body(in, true, &c, routes, out)) || (st = site_check_vpn(req, &c, out)))
		return st;
	ret = store_site_create(req->srv->store, &c, req->principal.actor, req->now, &id, other);
	if (ret < 0)
		return site_write_error(ret, other, out);
	st = sites_render(req, id, out);
	return st == 200 ? 201 : st;
}

int api_sites_list(struct kw_req *req, json_t *in, json_t **out)
{
	return sites_render(req, 0, out);
}

int api_sites_get(struct kw_req *req, json_t *in, json_t **out)
{
	int64_t id;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such site");
	return sites_render(req, id, out);
}

int api_sites_put(struct kw_req *req, json_t *in, json_t **out)
{
	const struct kw_conf *conf = server_conf(req->srv);
	struct kw_cidr routes[KW_SITE_ROUTES_MAX];
	struct kw_site_change c = { .conf_routes = conf->routes, .nconf_routes = conf->nroutes };
	struct kw_site cur;
	char other[256] = "";
	int64_t id;
	int st, ret;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such site");
	if ((st = site_body(in, false, &c, routes, out)) || (st = site_check_vpn(req, &c, out)))
		return st;
	ret = store_site_get(req->srv->store, id, &cur);
	if (ret < 0)
		return api_error_errno(out, ret, "site");
	if (c.name && strcmp(cur.name, KW_SITE_DEFAULT) == 0 && strcmp(c.name, KW_SITE_DEFAULT) != 0)
		return api_error(out, 409, "invalid_state", "the site 'default' cannot be renamed");
	ret = store_site_update(req->srv->store, id, &c, req->principal.actor, req->now, other);
	if (ret < 0)
		return site_write_error(ret, other, out);
	return sites_render(req, id, out);
}

int api_sites_delete(struct kw_req *req, json_t *in, json_t **out)
{
	struct kw_site cur;
	int gateways = 0, policies = 0;
	int64_t id;
	int ret;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such site");
	ret = store_site_get(req->srv->store, id, &cur);
	if (ret == 0)
		ret = store_site_usage(req->srv->store, id, &gateways, &policies);
	if (ret < 0)
		return api_error_errno(out, ret, "site");
	if (strcmp(cur.name, KW_SITE_DEFAULT) == 0)
		return api_error(out, 409, "invalid_state", "the site 'default' cannot be deleted");
	if (gateways)
		return api_error(out, 409, "invalid_state", "site '%s' still has %d gateway(s): revoke them first",
				 cur.name, gateways);
	if (policies)
		return api_error(out, 409, "invalid_state", "site '%s' still has %d policy(ies): delete them first",
				 cur.name, policies);
	ret = store_site_delete(req->srv->store, id, req->principal.actor, req->now);
	if (ret == -EPERM)
		return api_error(out, 409, "invalid_state", "site '%s' gained gateways or policies meanwhile", cur.name);
	if (ret < 0)
		return api_error_errno(out, ret, "site");
	return 204;
}
