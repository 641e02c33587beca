/* keywayctl tokens: enrollment tokens (one-time secrets an admin hands to a device or a
 * gateway). Admin API tokens are made by `keywayd admin-token create` on the controller. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keywayctl.h"

static int parse_count(const char *s, const char *what, long min, long max, json_int_t *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < min || n > max)
		return ctl_usage_error("%s must be a number from %ld to %ld", what, min, max);
	*v = n;
	return 0;
}

static int tokens_create(struct ctl *c, int argc, char **argv)
{
	const char *user = NULL, *role = "device", *expires = NULL, *uses = NULL, *site = NULL;
	const struct ctl_opt opts[] = { CTL_OPT("--user", &user),
					CTL_OPT("--role", &role),
					CTL_OPT("--site", &site),
					CTL_OPT("--expires-in", &expires),
					CTL_OPT("--uses", &uses),
					CTL_OPT_END };
	static const char *const keys[] = { "id", "username", "role", "site", "uses", "expires_at", "token", NULL };
	json_int_t n;
	json_t *body, *out = NULL;
	int ret;

	ret = ctl_parse(argc, argv, opts, NULL, 0,
			"keywayctl tokens create --user NAME [--role device|gateway [--site SITE]] "
			"[--expires-in SECONDS] [--uses N]");
	if (ret)
		return ret;
	if (!user)
		return ctl_usage_error("tokens create: --user NAME is required");
	body = json_pack("{s:s, s:s}", "username", user, "role", role);
	if (!body || (site && json_object_set_new(body, "site", json_string(site)) < 0)) {
		json_decref(body);
		return ctl_usage_error("--user, --role and --site must be UTF-8 text");
	}
	if (expires && (ret = parse_count(expires, "--expires-in", 1, 315360000, &n)) == 0)
		json_object_set_new(body, "expires_in", json_integer(n));
	if (!ret && uses && (ret = parse_count(uses, "--uses", 1, 1000000, &n)) == 0)
		json_object_set_new(body, "uses", json_integer(n));
	if (!ret)
		ret = ctl_http(c, "POST", "/api/v1/enrollment-tokens", body, &out);
	json_decref(body);
	if (ret == CTL_EXIT_OK) {
		if (c->json)
			ctl_print_json(out);
		else
			ctl_print_fields(out, keys);
	}
	/* The enrollment token is shown once; do not leave it in freed memory. */
	if (out && json_string_value(json_object_get(out, "token")))
		sodium_memzero((char *)json_string_value(json_object_get(out, "token")),
			       json_string_length(json_object_get(out, "token")));
	json_decref(out);
	return ret;
}

/* "left/total" uses of one token. */
static const char *uses_cell(const json_t *k, char *buf, size_t len)
{
	char left[64], total[64];

	snprintf(buf, len, "%s/%s", ctl_cell(json_object_get(k, "uses_left"), left, sizeof(left)),
		 ctl_cell(json_object_get(k, "uses_total"), total, sizeof(total)));
	return buf;
}

static const struct ctl_col token_cols[] = {
	{ "ID", "id", NULL },		       { "USER", "username", NULL },	      { "ROLE", "role", NULL },
	{ "STATE", "state", NULL },	       { "SITE", "site", NULL },	      { "USES", NULL, uses_cell },
	{ "CREATED", "created_at", ctl_time }, { "EXPIRES", "expires_at", ctl_time }, { "BY", "created_by", NULL },
};
static const struct ctl_view token_view = { "enrollment_tokens", token_cols, CTL_NCOLS(token_cols) };

static int tokens_revoke(struct ctl *c, int argc, char **argv)
{
	char path[CTL_PATH_MAX], done[CTL_PATH_MAX];
	const char *id;
	int ret = ctl_parse(argc, argv, NULL, &id, 1, "keywayctl tokens revoke ID");

	if (ret || (ret = ctl_id_path(path, sizeof(path), "token", "enrollment-tokens", id, NULL)))
		return ret;
	snprintf(done, sizeof(done), "enrollment token %s revoked", id);
	return ctl_request(c, "DELETE", path, NULL, ctl_show_text, done);
}

int ctl_tokens(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "list";

	if (strcmp(sub, "create") == 0)
		return tokens_create(c, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return ctl_list(c, argc > 0 ? argc - 1 : 0, argv + (argc > 0), "keywayctl tokens list",
				"/api/v1/enrollment-tokens", &token_view);
	if (strcmp(sub, "revoke") == 0 || strcmp(sub, "delete") == 0)
		return tokens_revoke(c, argc - 1, argv + 1);
	return ctl_group_usage("tokens", sub,
			       "usage: keywayctl tokens create --user NAME [--role device|gateway [--site SITE]]\n"
			       "                              [--expires-in SECONDS] [--uses N]\n"
			       "       keywayctl tokens list\n"
			       "       keywayctl tokens revoke ID\n");
}
