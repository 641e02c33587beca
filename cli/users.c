/* keywayctl users: everyone holding a device, with the directory's live word on them;
 * revoking all of one person's devices; one person's effective access per site. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keywayctl.h"

/* "ok", the directory's reason ("not_in_vpn_group", "disabled:ppolicy", ...) or "-" without LDAP. */
static const char *directory_cell(const json_t *u, char *buf, size_t len)
{
	const json_t *d = json_object_get(u, "directory");

	if (!json_is_object(d))
		return ctl_cell(NULL, buf, len);
	if (json_is_string(json_object_get(d, "reason")))
		return ctl_cell(json_object_get(d, "reason"), buf, len);
	snprintf(buf, len, "ok");
	return buf;
}

static const struct ctl_col user_cols[] = {
	{ "USER", "username", NULL },
	{ "ACTIVE", "active", NULL },
	{ "SUSPENDED", "suspended", NULL },
	{ "SUSPENDED SINCE", "suspended_since", ctl_time },
	{ "DIRECTORY", NULL, directory_cell },
};

/* The table, then why the directory column is empty when the directory could not be asked. */
static int users_show(const json_t *answer, const void *unused)
{
	const json_t *err = json_object_get(answer, "directory_error");
	int ret = ctl_table_list(json_object_get(answer, "users"), user_cols, CTL_NCOLS(user_cols));

	(void)unused;
	if (ret == CTL_EXIT_OK && json_is_string(err))
		fprintf(stderr, "keywayctl: the directory could not be asked: %s\n", json_string_value(err));
	return ret;
}

static int users_list(struct ctl *c, int argc, char **argv)
{
	int ret = ctl_parse(argc, argv, NULL, NULL, 0, "keywayctl users list");

	return ret ? ret : ctl_request(c, "GET", "/api/v1/users", NULL, users_show, NULL);
}

static int revoked_show(const json_t *answer, const void *name)
{
	printf("%s: %lld device(s) revoked\n", (const char *)name,
	       (long long)json_integer_value(json_object_get(answer, "revoked")));
	return CTL_EXIT_OK;
}

/* Revokes every device of a person who leaves (the directory sync does it too, later). */
static int users_revoke(struct ctl *c, int argc, char **argv)
{
	const char *reason = NULL, *name;
	const struct ctl_opt opts[] = { CTL_OPT("--reason", &reason), CTL_OPT_END };
	char path[CTL_PATH_MAX];
	json_t *body = NULL;
	int ret = ctl_parse(argc, argv, opts, &name, 1, "keywayctl users revoke NAME [--reason TEXT]");

	if (ret)
		return ret;
	if (ctl_path_id(path, sizeof(path), "users", name, "/revoke") < 0)
		return ctl_usage_error("user name too long");
	if (reason && !(body = json_pack("{s:s}", "reason", reason)))
		return ctl_usage_error("the reason must be UTF-8 text");
	ret = ctl_request(c, "POST", path, body, revoked_show, name);
	json_decref(body);
	return ret;
}

static const char *dests_cell(const json_t *dests, char *buf, size_t len)
{
	size_t i, used = 0;
	const json_t *d;

	snprintf(buf, len, "-");
	json_array_foreach(dests, i, d) {
		char one[512];
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", ctl_dest_text(d, one, sizeof(one)));

		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* One row per site: its default, whether a gateway serves it, the policies that apply to
 * this person, what they grant, and what the person's device configs route there. */
static const struct ctl_col access_cols[] = {
	{ "SITE", "site", NULL },		   { "DEFAULT", "default", NULL },
	{ "REACHABLE", "reachable", NULL },	   { "POLICIES", "policies", ctl_join },
	{ "DESTINATIONS", "destinations", dests_cell }, { "ALLOWED IPS", "allowed_ips", ctl_join },
};

static int access_print(const json_t *answer, const void *unused)
{
	char buf[2048];

	(void)unused;
	printf("user:   %s\n", ctl_cell(json_object_get(answer, "username"), buf, sizeof(buf)));
	printf("groups: %s\n\n", ctl_join(json_object_get(answer, "groups"), buf, sizeof(buf)));
	return ctl_table_list(json_object_get(answer, "sites"), access_cols, CTL_NCOLS(access_cols));
}

static int users_access(struct ctl *c, int argc, char **argv)
{
	char path[CTL_PATH_MAX];
	const char *name;
	int ret = ctl_parse(argc, argv, NULL, &name, 1, "keywayctl users access NAME");

	if (ret)
		return ret;
	if (ctl_path_id(path, sizeof(path), "users", name, "/access") < 0)
		return ctl_usage_error("user name too long");
	return ctl_request(c, "GET", path, NULL, access_print, NULL);
}

int ctl_users(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "list";

	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return users_list(c, argc > 0 ? argc - 1 : 0, argv + (argc > 0));
	if (strcmp(sub, "revoke") == 0)
		return users_revoke(c, argc - 1, argv + 1);
	if (strcmp(sub, "access") == 0)
		return users_access(c, argc - 1, argv + 1);
	return ctl_group_usage("users", sub,
			       "usage: keywayctl users list\n       keywayctl users revoke NAME [--reason TEXT]\n"
			       "       keywayctl users access NAME\n");
}
