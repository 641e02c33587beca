/* keywayctl devices: list, show, suspend, restore, revoke. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keywayctl.h"

static const char *const device_keys[] = { "id",	   "username",	 "hostname",	 "role",	 "state",
					   "state_reason", "address",	 "address6",	 "public_key",	 "endpoint",
					   "listen_port",  "created_at", "suspended_at", "revoked_at",	 "config_version",
					   NULL };

static const struct ctl_col device_cols[] = {
	{ "ID", "id", NULL },	  { "USER", "username", NULL },	  { "HOSTNAME", "hostname", NULL },
	{ "ROLE", "role", NULL }, { "STATE", "state", NULL },	  { "ADDRESS", "address", NULL },
	{ "CREATED", "created_at", ctl_time },			  { "REASON", "state_reason", NULL },
};
static const struct ctl_view device_view = { "devices", device_cols, CTL_NCOLS(device_cols) };

static int devices_list(struct ctl *c, int argc, char **argv)
{
	const char *user = NULL, *state = NULL, *role = NULL;
	const struct ctl_opt opts[] = { CTL_OPT("--user", &user), CTL_OPT("--state", &state), CTL_OPT("--role", &role), CTL_OPT_END };
	char path[CTL_PATH_MAX] = "/api/v1/devices";
	int ret;

	ret = ctl_parse(argc, argv, opts, NULL, 0,
			"keywayctl devices list [--user NAME] [--state active|suspended|revoked] [--role device|gateway]");
	if (ret)
		return ret;
	if ((user && ctl_query_add(path, sizeof(path), "username", user) < 0) ||
	    (state && ctl_query_add(path, sizeof(path), "state", state) < 0) ||
	    (role && ctl_query_add(path, sizeof(path), "role", role) < 0))
		return ctl_usage_error("filters too long");
	return ctl_request(c, "GET", path, NULL, ctl_show_table, &device_view);
}

/* The device answered, or one line for revoke, which answers with no body. */
static int device_show(const json_t *out, const void *id)
{
	if (out)
		ctl_print_fields(out, device_keys);
	else
		printf("device %s revoked\n", (const char *)id);
	return CTL_EXIT_OK;
}

/* show, suspend, restore, revoke: one device id, maybe a body, the device (or nothing) back. */
static int devices_one(struct ctl *c, int argc, char **argv, const char *verb)
{
	const char *reason = NULL, *id;
	const struct ctl_opt opts[] = { CTL_OPT("--reason", &reason), CTL_OPT_END };
	const bool suspend = strcmp(verb, "suspend") == 0;
	char path[CTL_PATH_MAX], usage[96];
	const char *method = "POST", *suffix = NULL;
	json_t *body = NULL;
	int ret;

	snprintf(usage, sizeof(usage), "keywayctl devices %s ID%s", verb, suspend ? " [--reason TEXT]" : "");
	ret = ctl_parse(argc, argv, suspend ? opts : NULL, &id, 1, usage);
	if (strcmp(verb, "show") == 0)
		method = "GET";
	else if (strcmp(verb, "revoke") == 0)
		method = "DELETE";
	else
		suffix = suspend ? "/suspend" : "/restore";
	if (ret || (ret = ctl_id_path(path, sizeof(path), "device", "devices", id, suffix)))
		return ret;
	if (reason && !(body = json_pack("{s:s}", "reason", reason)))
		return ctl_usage_error("the reason must be UTF-8 text");
	ret = ctl_request(c, method, path, body, device_show, id);
	json_decref(body);
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
	return ctl_group_usage("devices", sub,
			       "usage: keywayctl devices list [--user NAME] [--state STATE] [--role ROLE]\n"
			       "       keywayctl devices show ID\n"
			       "       keywayctl devices suspend ID [--reason TEXT]\n"
			       "       keywayctl devices restore ID\n"
			       "       keywayctl devices revoke ID\n");
}
