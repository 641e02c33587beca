/*
 * GET /api/v1/users/{username}/access: what a user may reach, per site, as the configs
 * keywayd signs right now decide it (admin, or the user's own session).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_json.h"
#include "core/access_snap.h"
#include "store/store.h"

static json_t *cidr_str(const struct kw_cidr *c)
{
	char buf[KW_CIDR_STRLEN];

	cidr_format(buf, c);
	return json_string(buf);
}

/* The policies of site ss that apply to username, by name. */
struct names_ctx {
	json_t *a;
	int64_t site_id;
	const char *username;
	const char *const *groups;
	size_t ngroups;
	const struct kw_access_snap *s;
};

static int policy_name_cb(const struct kw_policy_row *r, void *arg)
{
	struct names_ctx *x = arg;

	for (size_t i = 0; i < x->s->npolicies; i++) {
		const struct kw_policy *p = &x->s->policies[i];

		if (p->id == r->id && access_policy_applies(p, x->username, x->groups, x->ngroups))
			return json_array_append_new(x->a, json_string(r->name)) == 0 ? 0 : -ENOMEM;
	}
	return 0;
}

static json_t *site_access(struct kw_req *req, const struct kw_access_snap *s, const struct kw_snap_site *ss,
			   const char *username, const char *const *groups, size_t ng)
{
	struct kw_dest_list grants = { 0 };
	struct names_ctx x = { .a = json_array(), .site_id = ss->site.id, .username = username, .groups = groups,
			       .ngroups = ng, .s = s };
	json_t *dests = json_array(), *ips = json_array(), *o;
	bool allow = ss->site.default_action == KW_SITE_ALLOW;
	int ret = access_snap_grants(s, ss, username, &grants);

	if (ret == 0 && x.a)
		ret = store_policy_list(req->srv->store, ss->site.id, policy_name_cb, &x);
	for (size_t i = 0; ret == 0 && i < grants.n; i++) {
		json_array_append_new(dests, access_dest_json(&grants.v[i]));
		if (!allow)
			json_array_append_new(ips, cidr_str(&grants.v[i].cidr));
	}
	if (allow && ss->carries_vpn) {
		json_array_append_new(ips, cidr_str(&s->vpn));
		if (s->has_vpn6)
			json_array_append_new(ips, cidr_str(&s->vpn6));
	}
	for (int i = 0; allow && i < ss->site.nroutes; i++)
		json_array_append_new(ips, cidr_str(&ss->site.routes[i]));
	access_dest_list_clear(&grants);
	o = ret == 0 ? json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}", "site", ss->site.name, "default",
				 store_site_action_name(ss->site.default_action), "reachable", ss->active >= 0,
				 "policies", x.a ? x.a : json_array(), "destinations", dests, "allowed_ips", ips)
		     : NULL;
	if (!o) {
		json_decref(x.a);
		json_decref(dests);
		json_decref(ips);
	}
	return o;
}

int api_users_access(struct kw_req *req, json_t *in, json_t **out)
{
	const char *username = req->nparams ? req->params[0] : NULL;
	struct kw_access_snap *s = NULL;
	const char **groups = NULL;
	json_t *sites, *g;
	size_t ng = 0;
	int ret;

	if (!username || !*username)
		return api_error(out, 404, "not_found", "no such user");
	if (!req_is_admin(req) && !(req->principal.kind == KW_PRINCIPAL_SESSION &&
				    strcmp(req->principal.username, username) == 0))
		return api_error(out, 403, "forbidden", "admin role required (or your own access)");
	ret = access_snap_load(req->srv, username, &s);
	if (ret == 0)
		ret = access_snap_user_groups(s, username, &groups, &ng);
	sites = json_array();
	g = json_array();
	for (size_t i = 0; ret == 0 && i < ng; i++)
		json_array_append_new(g, json_string(groups[i]));
	for (size_t i = 0; ret == 0 && s && i < s->nsites; i++) {
		json_t *o = site_access(req, s, &s->sites[i], username, groups, ng);

		if (!o || json_array_append_new(sites, o) < 0)
			ret = -ENOMEM;
	}
	free(groups);
	access_snap_free(s);
	if (ret < 0 || !sites || !g) {
		json_decref(sites);
		json_decref(g);
		return api_error_errno(out, ret < 0 ? ret : -ENOMEM, "access");
	}
	*out = json_pack("{s:s, s:o, s:o}", "username", username, "groups", g, "sites", sites);
	return 200;
}
