/* keywayctl ldap: the directory sync's status, and a sync run now. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keywayctl.h"

static int status_print(const json_t *s, const void *unused)
{
	static const char *const keys[] = { "enabled", "uri",	 "sync_interval", "runs",     "failures",
					    "held",    "last_error", "last_error_at", NULL };
	static const char *const run_keys[] = { "at",	   "duration_ms", "outcome", "checked", "suspended",
						"restored", "revoked",	   "errors",  NULL };
	static const char *const pending_keys[] = { "would_cut", "limit", "since", NULL };
	const json_t *last = json_object_get(s, "last_run"), *pending = json_object_get(s, "pending_confirmation");

	(void)unused;
	ctl_print_fields(s, keys);
	if (json_is_object(last)) {
		printf("\nlast run:\n");
		ctl_print_fields(last, run_keys);
	}
	if (json_is_object(pending)) {
		printf("\nheld, waiting for an admin's confirmation (keywayctl ldap sync --confirm):\n");
		ctl_print_fields(pending, pending_keys);
	}
	return CTL_EXIT_OK;
}

static int ldap_status(struct ctl *c, int argc, char **argv)
{
	int ret = ctl_parse(argc, argv, NULL, NULL, 0, "keywayctl ldap status");

	return ret ? ret : ctl_request(c, "GET", "/api/v1/ldap/status", NULL, status_print, NULL);
}

/* A held run (it would cut more users than mass_change_limit) changes nothing; --confirm
 * is the admin's word that it may. */
static int sync_print(const json_t *out, const void *unused)
{
	static const char *const keys[] = { "outcome", "checked",  "suspended", "restored", "revoked",
					    "errors",  "would_cut", "limit",	 "message", NULL };

	(void)unused;
	ctl_print_fields(out, keys);
	if (json_is_true(json_object_get(out, "pending_confirmation")))
		printf("nothing changed: run `keywayctl ldap sync --confirm` to apply this run\n");
	return CTL_EXIT_OK;
}

static int ldap_sync(struct ctl *c, int argc, char **argv)
{
	bool confirm = false;
	const struct ctl_opt opts[] = { CTL_FLAG("--confirm", &confirm), CTL_OPT_END };
	json_t *body = NULL;
	int ret = ctl_parse(argc, argv, opts, NULL, 0, "keywayctl ldap sync [--confirm]");

	if (ret)
		return ret;
	if (confirm && !(body = json_pack("{s:b}", "confirm_mass_change", 1)))
		return ctl_usage_error("out of memory");
	ret = ctl_request(c, "POST", "/api/v1/ldap/sync", body, sync_print, NULL);
	json_decref(body);
	return ret;
}

int ctl_ldap(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "status";

	if (strcmp(sub, "status") == 0)
		return ldap_status(c, argc > 0 ? argc - 1 : 0, argv + (argc > 0));
	if (strcmp(sub, "sync") == 0)
		return ldap_sync(c, argc - 1, argv + 1);
	return ctl_group_usage("ldap", sub,
			       "usage: keywayctl ldap status\n       keywayctl ldap sync [--confirm]\n");
}
