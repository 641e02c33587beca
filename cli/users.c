/* keywayctl users: everyone holding a device, with the directory's live word on them. */
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

int ctl_users(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "list";
	bool help;

	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return users_list(c, argc > 0 ? argc - 1 : 0, argv + (argc > 0));
	help = ctl_is_help(sub);
	if (!help)
		ctl_usage_error("unknown users command %s", sub);
	fprintf(help ? stdout : stderr, "usage: keywayctl users list\n");
	return help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}
