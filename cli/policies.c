/* keywayctl policies: who (directory groups, user names) may reach what (destinations
 * inside one site's routes) through that site's gateways. A destination is written
 * CIDR[:PROTO[:PORTS]] on the command line, e.g. 10.1.0.10/32:tcp:22,443. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keywayctl.h"

static const char *const policy_keys[] = { "id", "name", "site", "groups", "users", "destinations",
					   "created_at", "updated_at", NULL };

const char *ctl_dest_text(const json_t *d, char *buf, size_t len)
{
	const char *cidr = json_string_value(json_object_get(d, "cidr"));
	const char *proto = json_string_value(json_object_get(d, "protocol"));
	const char *ports = json_string_value(json_object_get(d, "ports"));

	if (!cidr)
		return ctl_cell(d, buf, len);
	if (!proto || (strcmp(proto, "any") == 0 && (!ports || !*ports)))
		snprintf(buf, len, "%s", cidr);
	else if (!ports || !*ports)
		snprintf(buf, len, "%s:%s", cidr, proto);
	else
		snprintf(buf, len, "%s:%s:%s", cidr, proto, ports);
	return buf;
}

static const char *dests_cell(const json_t *dests, char *buf, size_t len)
{
	json_t *texts = json_array();
	size_t i;
	const json_t *d;

	json_array_foreach(dests, i, d) {
		char one[512];

		json_array_append_new(texts, json_string(ctl_dest_text(d, one, sizeof(one))));
	}
	ctl_join(texts, buf, len);
	json_decref(texts);
	return buf;
}

/* "CIDR[:PROTO[:PORTS]]" into {"cidr","protocol","ports"}. The CIDR ends after its
 * "/prefix" (IPv6 addresses hold colons themselves); without a prefix an IPv4 address
 * ends at the first ':' and an IPv6 one takes the whole text. */
static json_t *dest_parse(const char *text)
{
	const char *slash = strchr(text, '/'), *end, *colon;
	char cidr[128], proto[32];
	json_t *d;

	if (slash)
		end = slash + 1 + strspn(slash + 1, "0123456789");
	else if (strchr(text, ':') && strchr(strchr(text, ':') + 1, ':'))
		end = text + strlen(text);
	else
		end = text + strcspn(text, ":");
	if (end == text || (size_t)(end - text) >= sizeof(cidr) || (*end && *end != ':'))
		return NULL;
	memcpy(cidr, text, (size_t)(end - text));
	cidr[end - text] = '\0';
	if (!(d = json_pack("{s:s}", "cidr", cidr)) || !*end)
		return d;
	colon = strchr(end + 1, ':');
	if (snprintf(proto, sizeof(proto), "%.*s", colon ? (int)(colon - end - 1) : (int)strlen(end + 1), end + 1) >=
		    (int)sizeof(proto) ||
	    !proto[0] || json_object_set_new(d, "protocol", json_string(proto)) < 0 ||
	    (colon && json_object_set_new(d, "ports", json_string(colon + 1)) < 0)) {
		json_decref(d);
		return NULL;
	}
	return d;
}

/* The --dest texts (a JSON array of strings) into the API's destination objects. */
static int dests_parse(json_t *texts, json_t **out)
{
	size_t i;
	json_t *t;

	*out = json_array();
	if (!*out)
		return ctl_usage_error("out of memory");
	json_array_foreach(texts, i, t) {
		json_t *d = dest_parse(json_string_value(t));

		if (!d || json_array_append_new(*out, d) < 0) {
			json_decref(*out);
			*out = NULL;
			return ctl_usage_error("--dest %s: expected CIDR[:PROTO[:PORTS]], e.g. 10.1.0.10/32:tcp:22,443",
					       json_string_value(t));
		}
	}
	return 0;
}

static const struct ctl_col policy_cols[] = {
	{ "ID", "id", NULL },		  { "NAME", "name", NULL },	  { "SITE", "site", NULL },
	{ "GROUPS", "groups", ctl_join }, { "USERS", "users", ctl_join }, { "DESTINATIONS", "destinations", dests_cell },
};
static const struct ctl_view policy_view = { "policies", policy_cols, CTL_NCOLS(policy_cols) };

/* The API lists every policy; --site keeps one site's (for --json too, same shape). */
static void policies_keep_site(json_t *answer, const char *site)
{
	json_t *list = json_object_get(answer, "policies");

	for (size_t i = json_array_size(list); site && i-- > 0;) {
		const char *s = json_string_value(json_object_get(json_array_get(list, i), "site"));

		if (!s || strcmp(s, site) != 0)
			json_array_remove(list, i);
	}
}

static int policies_list(struct ctl *c, int argc, char **argv)
{
	const char *site = NULL;
	const struct ctl_opt opts[] = { CTL_OPT("--site", &site), CTL_OPT_END };
	json_t *out;
	int ret = ctl_parse(argc, argv, opts, NULL, 0, "keywayctl policies list [--site NAME]");

	if (ret)
		return ret;
	ret = ctl_http(c, "GET", "/api/v1/policies", NULL, &out);
	if (ret != CTL_EXIT_OK)
		return ret;
	policies_keep_site(out, site);
	return ctl_answer(c, out, ctl_show_table, &policy_view);
}

static int policy_print(const json_t *p, const void *unused)
{
	char g[2048], u[2048], d[4096];
	json_t *copy = json_copy((json_t *)p);

	(void)unused;
	if (!copy)
		return ctl_usage_error("out of memory");
	json_object_set_new(copy, "groups", json_string(ctl_join(json_object_get(p, "groups"), g, sizeof(g))));
	json_object_set_new(copy, "users", json_string(ctl_join(json_object_get(p, "users"), u, sizeof(u))));
	json_object_set_new(copy, "destinations", json_string(dests_cell(json_object_get(p, "destinations"), d, sizeof(d))));
	ctl_print_fields(copy, policy_keys);
	json_decref(copy);
	return CTL_EXIT_OK;
}

/* show and delete: one policy by id. */
static int policies_one(struct ctl *c, int argc, char **argv, bool del)
{
	char path[CTL_PATH_MAX], done[CTL_PATH_MAX];
	const char *id;
	int ret = ctl_parse(argc, argv, NULL, &id, 1, del ? "keywayctl policies delete ID" : "keywayctl policies show ID");

	if (ret || (ret = ctl_id_path(path, sizeof(path), "policy", "policies", id, NULL)))
		return ret;
	snprintf(done, sizeof(done), "policy %s deleted", id);
	return del ? ctl_request(c, "DELETE", path, NULL, ctl_show_text, done)
		   : ctl_request(c, "GET", path, NULL, policy_print, NULL);
}

#define POLICIES_CREATE_USAGE                                                                                         \
	"keywayctl policies create NAME --site SITE [--group GROUP]... [--user USER]... "                             \
	"--dest CIDR[:PROTO[:PORTS]]..."
#define POLICIES_UPDATE_USAGE                                                                                         \
	"keywayctl policies update ID [--name NEW] [--site SITE] [--group GROUP]... [--no-groups] "                   \
	"[--user USER]... [--no-users] [--dest CIDR[:PROTO[:PORTS]]]..."

struct policy_args {
	const char *ref, *name, *site;
	bool no_groups, no_users;
	json_t *groups, *users, *dests; /* --group, --user and --dest as given */
};

/* The request body from the command line: on update only what it names. */
static int policy_body(const struct policy_args *a, bool create, json_t *body)
{
	json_t *dests = NULL;
	int ret;

	if ((a->no_groups && json_array_size(a->groups)) || (a->no_users && json_array_size(a->users)))
		return ctl_usage_error("--no-groups/--no-users and --group/--user exclude each other");
	if (create && !a->site)
		return ctl_usage_error("policies create: --site SITE is required\nusage: %s", POLICIES_CREATE_USAGE);
	if (create && !json_array_size(a->dests))
		return ctl_usage_error("policies create: at least one --dest\nusage: %s", POLICIES_CREATE_USAGE);
	if ((a->name && json_object_set_new(body, "name", json_string(a->name))) ||
	    (a->site && json_object_set_new(body, "site", json_string(a->site))))
		return ctl_usage_error("NAME and --site must be UTF-8 text");
	if (create || a->no_groups || json_array_size(a->groups))
		json_object_set(body, "groups", a->groups);
	if (create || a->no_users || json_array_size(a->users))
		json_object_set(body, "users", a->users);
	if (json_array_size(a->dests)) {
		if ((ret = dests_parse(a->dests, &dests)))
			return ret;
		json_object_set_new(body, "destinations", dests);
	}
	if (!create && json_object_size(body) == 0)
		return ctl_usage_error("policies update: nothing to change\nusage: %s", POLICIES_UPDATE_USAGE);
	return 0;
}

static int policies_write(struct ctl *c, int argc, char **argv, bool create)
{
	struct policy_args a = { .groups = json_array(), .users = json_array(), .dests = json_array() };
	/* create has no --name, --no-groups or --no-users: their NULL names end its list early */
	const struct ctl_opt opts[] = { CTL_OPT("--site", &a.site), CTL_LIST("--group", a.groups),
					CTL_LIST("--user", a.users), CTL_LIST("--dest", a.dests),
					CTL_OPT(create ? NULL : "--name", &a.name),
					CTL_FLAG(create ? NULL : "--no-groups", &a.no_groups),
					CTL_FLAG(create ? NULL : "--no-users", &a.no_users), CTL_OPT_END };
	char path[CTL_PATH_MAX] = "/api/v1/policies";
	json_t *body = json_object();
	int ret = body && a.groups && a.users && a.dests ? 0 : ctl_usage_error("out of memory");

	if (!ret)
		ret = ctl_parse(argc, argv, opts, &a.ref, 1, create ? POLICIES_CREATE_USAGE : POLICIES_UPDATE_USAGE);
	if (!ret && create)
		a.name = a.ref;
	if (!ret && !create)
		ret = ctl_id_path(path, sizeof(path), "policy", "policies", a.ref, NULL);
	if (!ret)
		ret = policy_body(&a, create, body);
	if (!ret)
		ret = ctl_request(c, create ? "POST" : "PUT", path, body, policy_print, NULL);
	json_decref(a.groups);
	json_decref(a.users);
	json_decref(a.dests);
	json_decref(body);
	return ret;
}

int ctl_policies(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "list";

	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return policies_list(c, argc > 0 ? argc - 1 : 0, argv + (argc > 0));
	if (strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0)
		return policies_one(c, argc - 1, argv + 1, sub[0] == 'd');
	if (strcmp(sub, "create") == 0 || strcmp(sub, "update") == 0)
		return policies_write(c, argc - 1, argv + 1, sub[0] == 'c');
	return ctl_group_usage("policies", sub,
			       "usage: keywayctl policies list [--site NAME]\n"
			       "       keywayctl policies show ID\n"
			       "       " POLICIES_CREATE_USAGE "\n"
			       "       " POLICIES_UPDATE_USAGE "\n"
			       "       keywayctl policies delete ID\n");
}
