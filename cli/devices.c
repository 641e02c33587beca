/* keywayctl devices: list, show, suspend, restore, revoke. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keywayctl.h"

static const char *const device_keys[] = { "id",	   "username",	 "hostname",	 "role",	 "state",
					   "state_reason", "address",	 "address6",	 "public_key",	 "endpoint",
					   "listen_port",  "created_at", "suspended_at", "revoked_at",	 "config_version",
					   NULL };

static int devices_table(const json_t *list)
{
	static const char *const head[] = { "ID", "USER", "HOSTNAME", "ROLE", "STATE", "ADDRESS", "CREATED", "REASON" };
	struct ctl_table *t = ctl_table_new(head, 8);
	size_t i;
	json_t *d;

	if (!t)
		return ctl_usage_error("out of memory");
	json_array_foreach(list, i, d) {
		char b[8][256];
		const char *row[8] = {
			ctl_cell(json_object_get(d, "id"), b[0], sizeof(b[0])),
			ctl_cell(json_object_get(d, "username"), b[1], sizeof(b[1])),
			ctl_cell(json_object_get(d, "hostname"), b[2], sizeof(b[2])),
			ctl_cell(json_object_get(d, "role"), b[3], sizeof(b[3])),
			ctl_cell(json_object_get(d, "state"), b[4], sizeof(b[4])),
			ctl_cell(json_object_get(d, "address"), b[5], sizeof(b[5])),
			ctl_time(json_object_get(d, "created_at"), b[6], sizeof(b[6])),
			ctl_cell(json_object_get(d, "state_reason"), b[7], sizeof(b[7])),
		};

		if (ctl_table_add(t, row) < 0) {
			ctl_table_free(t);
			return ctl_usage_error("out of memory");
		}
	}
	ctl_table_print(t);
	ctl_table_free(t);
	return CTL_EXIT_OK;
}

static int devices_list(struct ctl *c, int argc, char **argv)
{
	const char *user = NULL, *state = NULL, *role = NULL;
	const struct ctl_opt opts[] = { CTL_OPT("--user", &user), CTL_OPT("--state", &state), CTL_OPT("--role", &role), CTL_OPT_END };
	char path[CTL_PATH_MAX] = "/api/v1/devices";
	json_t *out;
	int ret;

	ret = ctl_parse(argc, argv, opts, NULL, 0,
			"keywayctl devices list [--user NAME] [--state active|suspended|revoked] [--role device|gateway]");
	if (ret)
		return ret;
	if ((user && ctl_query_add(path, sizeof(path), "username", user) < 0) ||
	    (state && ctl_query_add(path, sizeof(path), "state", state) < 0) ||
	    (role && ctl_query_add(path, sizeof(path), "role", role) < 0))
		return ctl_usage_error("filters too long");
	ret = ctl_http(c, "GET", path, NULL, &out);
	if (ret == CTL_EXIT_OK)
		ret = c->json ? (ctl_print_json(out), 0) : devices_table(json_object_get(out, "devices"));
	json_decref(out);
	return ret;
}

/* show, suspend, restore, revoke: one device id, maybe a body, the device (or nothing) back. */
static int devices_one(struct ctl *c, int argc, char **argv, const char *verb)
{
	const char *reason = NULL, *id;
	const struct ctl_opt opts[] = { CTL_OPT("--reason", &reason), CTL_OPT_END };
	const bool suspend = strcmp(verb, "suspend") == 0;
	char path[CTL_PATH_MAX], usage[96];
	const char *method = "POST", *suffix = NULL;
	json_t *body = NULL, *out;
	int ret;

	snprintf(usage, sizeof(usage), "keywayctl devices %s ID%s", verb, suspend ? " [--reason TEXT]" : "");
	ret = ctl_parse(argc, argv, suspend ? opts : NULL, &id, 1, usage);
	if (ret)
		return ret;
	if (!ctl_valid_id(id))
		return ctl_usage_error("device id must be a positive number, not %s", id);
	if (strcmp(verb, "show") == 0)
		method = "GET";
	else if (strcmp(verb, "revoke") == 0)
		method = "DELETE";
	else
		suffix = suspend ? "/suspend" : "/restore";
	if (ctl_path_id(path, sizeof(path), "devices", id, suffix) < 0)
		return ctl_usage_error("device id too long");
	if (reason && !(body = json_pack("{s:s}", "reason", reason)))
		return ctl_usage_error("the reason must be UTF-8 text");
	ret = ctl_http(c, method, path, body, &out);
	json_decref(body);
	if (ret == CTL_EXIT_OK) {
		if (c->json)
			ctl_print_json(out);
		else if (out)
			ctl_print_fields(out, device_keys);
		else
			printf("device %s revoked\n", id);
	}
	json_decref(out);
	return ret;
}

int ctl_devices(struct ctl *c, int argc, char **argv)
{
	static const char *const verbs[] = { "show", "suspend", "restore", "revoke" };
	const char *sub = argc > 0 ? argv[0] : "list";

	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return devices_list(c, argc > 0 ? argc - 1 : 0, argv + (argc > 0));
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(sub, verbs[i]) == 0)
			return devices_one(c, argc - 1, argv + 1, verbs[i]);
	if (!ctl_is_help(sub))
		ctl_usage_error("unknown devices command %s", sub);
	fprintf(ctl_is_help(sub) ? stdout : stderr,
		"usage: keywayctl devices list [--user NAME] [--state STATE] [--role ROLE]\n"
		"       keywayctl devices show ID\n"
		"       keywayctl devices suspend ID [--reason TEXT]\n"
		"       keywayctl devices restore ID\n"
		"       keywayctl devices revoke ID\n");
	return ctl_is_help(sub) ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}
