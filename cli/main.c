/* keywayctl: dispatch only. Global options, then one subcommand group per resource. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "keywayctl.h"

static const struct ctl_group groups[] = {
	{ "devices", "device", ctl_devices, "list, show, suspend, restore and revoke devices" },
	{ "tokens", "token", ctl_tokens, "create, list and revoke enrollment tokens" },
	{ "users", "user", ctl_users, "list users with their directory state, revoke a user" },
	{ "audit", NULL, ctl_audit, "read the audit log, with filters" },
	{ "ldap", NULL, ctl_ldap, "directory sync status, run a sync" },
	{ "sites", "site", ctl_sites, "sites with their routes and gateways' health; create, update, delete" },
	{ "policies", "policy", ctl_policies, "access policies of a site; create, update, delete" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: keywayctl [OPTIONS] COMMAND [ARGS]\n\n"
		   "Options (anywhere before COMMAND; --json anywhere):\n"
		   "  --json             print the API's JSON instead of tables\n"
		   "  --url URL          controller URL (else KEYWAY_URL or the config file)\n"
		   "  --config FILE      config file (else ~/.config/keyway/keywayctl.conf,\n"
		   "                     then /etc/keyway/keywayctl.conf); must be mode 0600\n"
		   "  --cacert FILE      CA bundle for https\n"
		   "  --timeout SECONDS  per request (default 30)\n"
		   "  --insecure-http    allow http:// to a host that is not loopback\n"
		   "  -h, --help         this help;  --version  the version\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		fprintf(f, "  %-9s %s\n", groups[i].name, groups[i].summary);
	fprintf(f, "\nThe admin API token comes from KEYWAY_TOKEN or the config file, never argv.\n"
		   "Exit codes: 0 ok, 1 API error, 2 usage or configuration error, 3 controller unreachable.\n");
}

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("keywayctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_USAGE;
}

bool ctl_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "help") == 0;
}

bool ctl_valid_id(const char *arg)
{
	size_t n = strspn(arg, "0123456789");

	return n > 0 && n <= 18 && arg[n] == '\0' && arg[0] != '0';
}

static const struct ctl_opt *opt_find(const struct ctl_opt *opts, const char *arg, const char **inline_value)
{
	for (; opts && opts->name; opts++) {
		size_t n = strlen(opts->name);

		if (strncmp(arg, opts->name, n) != 0)
			continue;
		if (arg[n] == '\0') {
			*inline_value = NULL;
			return opts;
		}
		if (arg[n] == '=' && !opts->flag) {
			*inline_value = arg + n + 1;
			return opts;
		}
	}
	return NULL;
}

int ctl_parse(int argc, char **argv, const struct ctl_opt *opts, const char **pos, size_t npos, const char *usage_line)
{
	size_t n = 0;

	for (int i = 0; i < argc; i++) {
		const struct ctl_opt *o;
		const char *v;

		if (ctl_is_help(argv[i])) {
			printf("usage: %s\n", usage_line);
			exit(CTL_EXIT_OK);
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			o = opt_find(opts, argv[i], &v);
			if (!o)
				return ctl_usage_error("unknown option %s\nusage: %s", argv[i], usage_line);
			if (o->flag) {
				*o->flag = true;
				continue;
			}
			if (!v && i + 1 >= argc)
				return ctl_usage_error("%s needs a value\nusage: %s", o->name, usage_line);
			if (!v)
				v = argv[++i];
			if (o->list && json_array_append_new(o->list, json_string(v)) < 0)
				return ctl_usage_error("%s must be UTF-8 text", o->name);
			if (o->value)
				*o->value = v;
			continue;
		}
		if (n == npos)
			return ctl_usage_error("unexpected argument %s\nusage: %s", argv[i], usage_line);
		pos[n++] = argv[i];
	}
	if (n < npos)
		return ctl_usage_error("missing argument\nusage: %s", usage_line);
	return 0;
}

/* --json may come anywhere (scripts write it last): take it out of argv. */
static int strip_json(int argc, char **argv, bool *json)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			*json = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

static int global_opts(struct ctl *c, int argc, char **argv, int *i)
{
	static const char *url, *cacert, *timeout;
	const char *v;

	for (; *i < argc && argv[*i][0] == '-'; (*i)++) {
		const char *a = argv[*i];
		bool has = *i + 1 < argc;

		if (ctl_is_help(a)) {
			usage(stdout);
			exit(CTL_EXIT_OK);
		} else if (strcmp(a, "--version") == 0) {
			printf("keywayctl %s\n", PACKAGE_VERSION);
			exit(CTL_EXIT_OK);
		} else if (strcmp(a, "--insecure-http") == 0) {
			c->insecure_http = true;
			continue;
		}
		if (strcmp(a, "--url") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--cacert") == 0 ||
		    strcmp(a, "--timeout") == 0) {
			if (!has)
				return ctl_usage_error("%s needs a value", a);
			v = argv[++*i];
		} else {
			return ctl_usage_error("unknown option %s (see keywayctl --help)", a);
		}
		if (strcmp(a, "--url") == 0)
			url = v;
		else if (strcmp(a, "--config") == 0)
			c->config_path = v;
		else if (strcmp(a, "--cacert") == 0)
			cacert = v;
		else
			timeout = v;
	}
	if (url && snprintf(c->url, sizeof(c->url), "%s", url) >= (int)sizeof(c->url))
		return ctl_usage_error("--url is too long");
	if (cacert && snprintf(c->ca_file, sizeof(c->ca_file), "%s", cacert) >= (int)sizeof(c->ca_file))
		return ctl_usage_error("--cacert is too long");
	if (timeout) {
		char *end;
		long t = strtol(timeout, &end, 10);

		if (*end || t < 1 || t > 3600)
			return ctl_usage_error("--timeout must be 1 to 3600 seconds");
		c->timeout = t;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl c = { .timeout = 30 };
	int i = 1, ret;

	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "keywayctl: cannot initialise libsodium or libcurl\n");
		return CTL_EXIT_USAGE;
	}
	argc = strip_json(argc, argv, &c.json);
	ret = global_opts(&c, argc, argv, &i);
	if (ret)
		goto out;
	if (i >= argc) {
		usage(stderr);
		ret = CTL_EXIT_USAGE;
		goto out;
	}
	ret = -1;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (strcmp(argv[i], groups[g].name) == 0 || (groups[g].alias && strcmp(argv[i], groups[g].alias) == 0)) {
			ret = groups[g].run(&c, argc - i - 1, argv + i + 1);
			break;
		}
	}
	if (ret < 0) {
		ctl_usage_error("unknown command %s (see keywayctl --help)", argv[i]);
		ret = CTL_EXIT_USAGE;
	}
out:
	ctl_http_close(&c);
	ctl_conf_wipe(&c);
	curl_global_cleanup();
	return ret;
}
