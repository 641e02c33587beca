/* keywayctl sites: the networks behind a set of gateways. A listing shows each site's
 * routes and how many of its gateways are online; `show` has one row per gateway with
 * its health (online, active or standby, last seen). A site is named by its id or, where
 * the argument is not a number, by its name (looked up in the site list). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keywayctl.h"

static const char *const site_keys[] = { "id", "name", "default", "routes", "routes_from_config",
					 "created_at", "updated_at", "gateways", NULL };

int ctl_site_ref(struct ctl *c, const char *ref, char *id, size_t len)
{
	json_t *out, *s;
	size_t i;
	int ret;

	if (ctl_valid_id(ref)) {
		snprintf(id, len, "%s", ref);
		return CTL_EXIT_OK;
	}
	ret = ctl_http(c, "GET", "/api/v1/sites", NULL, &out);
	if (ret)
		return ret;
	ret = CTL_EXIT_API;
	json_array_foreach(json_object_get(out, "sites"), i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));

		if (name && strcmp(name, ref) == 0 && json_is_integer(json_object_get(s, "id"))) {
			snprintf(id, len, "%lld", (long long)json_integer_value(json_object_get(s, "id")));
			ret = CTL_EXIT_OK;
			break;
		}
	}
	json_decref(out);
	if (ret)
		fprintf(stderr, "keywayctl: not_found: no site named %s\n", ref);
	return ret;
}

/* "2/3 online, active gw-a" from a site's gateways. */
static const char *gateways_cell(const json_t *gws, char *buf, size_t len)
{
	size_t i, online = 0;
	const json_t *g, *active = NULL;
	char host[256];

	json_array_foreach(gws, i, g) {
		if (json_is_true(json_object_get(g, "online")))
			online++;
		if (!active && json_is_string(json_object_get(g, "role")) &&
		    strcmp(json_string_value(json_object_get(g, "role")), "active") == 0)
			active = json_object_get(g, "hostname");
	}
	if (json_array_size(gws) == 0)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%zu/%zu online, active %s", online, json_array_size(gws),
			 ctl_cell(active, host, sizeof(host)));
	return buf;
}

static const struct ctl_col site_cols[] = {
	{ "ID", "id", NULL },		 { "NAME", "name", NULL },		{ "DEFAULT", "default", NULL },
	{ "ROUTES", "routes", ctl_join }, { "GATEWAYS", "gateways", gateways_cell },
};
static const struct ctl_view site_view = { "sites", site_cols, CTL_NCOLS(site_cols) };

static const struct ctl_col gateway_cols[] = {
	{ "ID", "id", NULL },		     { "HOSTNAME", "hostname", NULL }, { "STATE", "state", NULL },
	{ "ROLE", "role", NULL },	     { "ONLINE", "online", NULL },     { "LAST SEEN", "last_seen", ctl_time },
	{ "ADDRESS", "address", NULL },	     { "ENDPOINT", "endpoint", NULL },
};

static int sites_list(struct ctl *c, int argc, char **argv)
{
	return ctl_list(c, argc, argv, "keywayctl sites list", "/api/v1/sites", &site_view);
}

/* The fields of one site, then a table of its gateways with their health. */
static int site_print(const json_t *s, const void *unused)
{
	char routes[2048], gws[512];
	json_t *copy = json_copy((json_t *)s);

	(void)unused;
	if (!copy)
		return ctl_usage_error("out of memory");
	json_object_set_new(copy, "routes", json_string(ctl_join(json_object_get(s, "routes"), routes, sizeof(routes))));
	json_object_set_new(copy, "gateways", json_string(gateways_cell(json_object_get(s, "gateways"), gws, sizeof(gws))));
	ctl_print_fields(copy, site_keys);
	json_decref(copy);
	if (json_array_size(json_object_get(s, "gateways")) == 0)
		return CTL_EXIT_OK;
	printf("\n");
	return ctl_table_list(json_object_get(s, "gateways"), gateway_cols, CTL_NCOLS(gateway_cols));
}

/* show and delete: one site by id or name. */
static int sites_one(struct ctl *c, int argc, char **argv, bool del)
{
	char path[CTL_PATH_MAX], id[32], done[CTL_PATH_MAX];
	const char *ref;
	int ret = ctl_parse(argc, argv, NULL, &ref, 1,
			    del ? "keywayctl sites delete ID|NAME" : "keywayctl sites show ID|NAME");

	if (ret || (ret = ctl_site_ref(c, ref, id, sizeof(id))))
		return ret;
	if (ctl_path_id(path, sizeof(path), "sites", id, NULL) < 0)
		return ctl_usage_error("site id too long");
	snprintf(done, sizeof(done), "site %s deleted", ref);
	return del ? ctl_request(c, "DELETE", path, NULL, ctl_show_text, done)
		   : ctl_request(c, "GET", path, NULL, site_print, NULL);
}

#define SITES_CREATE_USAGE "keywayctl sites create NAME [--route CIDR]... [--default allow|deny]"
#define SITES_UPDATE_USAGE                                                                                            \
	"keywayctl sites update ID|NAME [--name NEW] [--route CIDR]... [--no-routes] [--default allow|deny]"

/* create (POST) and update (PUT): the body holds what the command line names. */
static int sites_write(struct ctl *c, int argc, char **argv, bool create)
{
	const char *ref = NULL, *name = NULL, *def = NULL;
	bool no_routes = false;
	json_t *routes = json_array(), *body = json_object();
	/* create has no --name or --no-routes: their NULL names end its option list early */
	const struct ctl_opt opts[] = { CTL_LIST("--route", routes), CTL_OPT("--default", &def),
					CTL_OPT(create ? NULL : "--name", &name), CTL_FLAG(create ? NULL : "--no-routes", &no_routes),
					CTL_OPT_END };
	char path[CTL_PATH_MAX] = "/api/v1/sites", id[32];
	int ret = routes && body ? 0 : ctl_usage_error("out of memory");

	if (!ret)
		ret = ctl_parse(argc, argv, opts, &ref, 1, create ? SITES_CREATE_USAGE : SITES_UPDATE_USAGE);
	if (!ret && no_routes && json_array_size(routes))
		ret = ctl_usage_error("sites update: --route and --no-routes exclude each other");
	if (!ret && create)
		name = ref;
	if (!ret && ((name && json_object_set_new(body, "name", json_string(name))) ||
		     (def && json_object_set_new(body, "default", json_string(def)))))
		ret = ctl_usage_error("NAME and --default must be UTF-8 text");
	if (!ret && (create || no_routes || json_array_size(routes)))
		json_object_set(body, "routes", routes);
	if (!ret && !create && json_object_size(body) == 0)
		ret = ctl_usage_error("sites update: nothing to change\nusage: %s", SITES_UPDATE_USAGE);
	if (!ret && !create && !(ret = ctl_site_ref(c, ref, id, sizeof(id))) &&
	    ctl_path_id(path, sizeof(path), "sites", id, NULL) < 0)
		ret = ctl_usage_error("site id too long");
	if (!ret)
		ret = ctl_request(c, create ? "POST" : "PUT", path, body, site_print, NULL);
	json_decref(routes);
	json_decref(body);
	return ret;
}

int ctl_sites(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "list";

	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return sites_list(c, argc > 0 ? argc - 1 : 0, argv + (argc > 0));
	if (strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0)
		return sites_one(c, argc - 1, argv + 1, sub[0] == 'd');
	if (strcmp(sub, "create") == 0 || strcmp(sub, "update") == 0)
		return sites_write(c, argc - 1, argv + 1, sub[0] == 'c');
	return ctl_group_usage("sites", sub,
			       "usage: keywayctl sites list\n"
			       "       keywayctl sites show ID|NAME\n"
			       "       " SITES_CREATE_USAGE "\n"
			       "       " SITES_UPDATE_USAGE "\n"
			       "       keywayctl sites delete ID|NAME\n");
}
