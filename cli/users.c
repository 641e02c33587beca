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

static int users_table(const json_t *answer)
{
	static const char *const head[] = { "USER", "ACTIVE", "SUSPENDED", "SUSPENDED SINCE", "DIRECTORY" };
	const json_t *err = json_object_get(answer, "directory_error");
	struct ctl_table *t = ctl_table_new(head, 5);
	size_t i;
	json_t *u;

	if (!t)
		return ctl_usage_error("out of memory");
	json_array_foreach(json_object_get(answer, "users"), i, u) {
		char b[5][256];
		const char *row[5] = {
			ctl_cell(json_object_get(u, "username"), b[0], sizeof(b[0])),
			ctl_cell(json_object_get(u, "active"), b[1], sizeof(b[1])),
			ctl_cell(json_object_get(u, "suspended"), b[2], sizeof(b[2])),
			ctl_time(json_object_get(u, "suspended_since"), b[3], sizeof(b[3])),
			directory_cell(u, b[4], sizeof(b[4])),
		};

		if (ctl_table_add(t, row) < 0) {
			ctl_table_free(t);
			return ctl_usage_error("out of memory");
		}
	}
	ctl_table_print(t);
	ctl_table_free(t);
	if (json_is_string(err))
		fprintf(stderr, "keywayctl: the directory could not be asked: %s\n", json_string_value(err));
	return CTL_EXIT_OK;
}

static int users_list(struct ctl *c, int argc, char **argv)
{
	json_t *out;
	int ret = ctl_parse(argc, argv, NULL, NULL, 0, "keywayctl users list");

	if (ret)
		return ret;
	ret = ctl_http(c, "GET", "/api/v1/users", NULL, &out);
	if (ret == CTL_EXIT_OK)
		ret = c->json ? (ctl_print_json(out), 0) : users_table(out);
	json_decref(out);
	return ret;
}

/* Revokes every device of a person who leaves (the directory sync does it too, later). */
static int users_revoke(struct ctl *c, int argc, char **argv)
{
	const char *reason = NULL, *name;
	const struct ctl_opt opts[] = { CTL_OPT("--reason", &reason), CTL_OPT_END };
	char path[CTL_PATH_MAX];
	json_t *body = NULL, *out;
	int ret = ctl_parse(argc, argv, opts, &name, 1, "keywayctl users revoke NAME [--reason TEXT]");

	if (ret)
		return ret;
	if (ctl_path_id(path, sizeof(path), "users", name, "/revoke") < 0)
		return ctl_usage_error("user name too long");
	if (reason && !(body = json_pack("{s:s}", "reason", reason)))
		return ctl_usage_error("the reason must be UTF-8 text");
	ret = ctl_http(c, "POST", path, body, &out);
	json_decref(body);
	if (ret == CTL_EXIT_OK) {
		if (c->json)
			ctl_print_json(out);
		else
			printf("%s: %lld device(s) revoked\n", name,
			       (long long)json_integer_value(json_object_get(out, "revoked")));
	}
	json_decref(out);
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
static int access_print(const json_t *answer)
{
	static const char *const head[] = { "SITE", "DEFAULT", "REACHABLE", "POLICIES", "DESTINATIONS", "ALLOWED IPS" };
	struct ctl_table *t = ctl_table_new(head, 6);
	char groups[2048];
	size_t i;
	json_t *s;

	if (!t)
		return ctl_usage_error("out of memory");
	json_array_foreach(json_object_get(answer, "sites"), i, s) {
		char b[6][2048];
		const char *row[6] = {
			ctl_cell(json_object_get(s, "site"), b[0], sizeof(b[0])),
			ctl_cell(json_object_get(s, "default"), b[1], sizeof(b[1])),
			ctl_cell(json_object_get(s, "reachable"), b[2], sizeof(b[2])),
			ctl_join(json_object_get(s, "policies"), b[3], sizeof(b[3])),
			dests_cell(json_object_get(s, "destinations"), b[4], sizeof(b[4])),
			ctl_join(json_object_get(s, "allowed_ips"), b[5], sizeof(b[5])),
		};

		if (ctl_table_add(t, row) < 0) {
			ctl_table_free(t);
			return ctl_usage_error("out of memory");
		}
	}
	ctl_cell(json_object_get(answer, "username"), groups, sizeof(groups));
	printf("user:   %s\n", groups);
	printf("groups: %s\n\n", ctl_join(json_object_get(answer, "groups"), groups, sizeof(groups)));
	ctl_table_print(t);
	ctl_table_free(t);
	return CTL_EXIT_OK;
}

static int users_access(struct ctl *c, int argc, char **argv)
{
	char path[CTL_PATH_MAX];
	const char *name;
	json_t *out;
	int ret = ctl_parse(argc, argv, NULL, &name, 1, "keywayctl users access NAME");

	if (ret)
		return ret;
	if (ctl_path_id(path, sizeof(path), "users", name, "/access") < 0)
		return ctl_usage_error("user name too long");
	ret = ctl_http(c, "GET", path, NULL, &out);
	if (ret == CTL_EXIT_OK)
		ret = c->json ? (ctl_print_json(out), 0) : access_print(out);
	json_decref(out);
	return ret;
}

int ctl_users(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "list";
	bool help;

	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return users_list(c, argc > 0 ? argc - 1 : 0, argv + (argc > 0));
	if (strcmp(sub, "revoke") == 0)
		return users_revoke(c, argc - 1, argv + 1);
	if (strcmp(sub, "access") == 0)
		return users_access(c, argc - 1, argv + 1);
	help = ctl_is_help(sub);
	if (!help)
		ctl_usage_error("unknown users command %s", sub);
	fprintf(help ? stdout : stderr, "usage: keywayctl users list\n       keywayctl users revoke NAME [--reason TEXT]\n"
					"       keywayctl users access NAME\n");
	return help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}
