/*
 * Test driver for server/ldap.c against a real slapd (tests/integration/ldap/test_ldap_client.sh):
 *   ldap_probe CONF login USERNAME PASSWORD   -> "ok user=alice vpn=1 admin=0 disabled=none" | "error=EACCES"
 *   ldap_probe CONF check USER...             -> one "user=X presence=found vpn=1 disabled=none" line each
 *   ldap_probe CONF check-gen N               -> checks user00001..userN (+ prints timing)
 *   ldap_probe CONF logins N USER PASS        -> N logins in a row (reuse), prints logins/s
 *   ldap_probe CONF relogin USER PASS         -> logs in now and again on every line read from stdin,
 *                                               printing "N <result>" (one client across a restart)
 * The password may be given as "-" for an empty one.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "directory/ldap_config.h"
#include "directory/ldap_client.h"

static const char *err_name(int r)
{
	switch (r) {
	case -EACCES: return "EACCES";
	case -EINVAL: return "EINVAL";
	case -EHOSTUNREACH: return "EHOSTUNREACH";
	case -ETIMEDOUT: return "ETIMEDOUT";
	case -ENOENT: return "ENOENT";
	case -E2BIG: return "E2BIG";
	case -ENODATA: return "ENODATA";
	default: return "EIO";
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *presence_name(enum kw_ldap_presence p)
{
	switch (p) {
	case KW_LDAP_USER_FOUND: return "found";
	case KW_LDAP_USER_MISSING: return "missing";
	case KW_LDAP_USER_AMBIGUOUS: return "ambiguous";
	default: return "unchecked";
	}
}

static int do_check(struct kw_ldap *dir, const char **names, size_t n, bool quiet)
{
	struct kw_ldap_user_fact *f = calloc(n, sizeof(*f));
	struct kw_ldap_check_stats st;
	char err[512] = "";
	double t0;
	int r;

	if (!f)
		return 1;
	for (size_t i = 0; i < n; i++)
		f[i].username = names[i];
	t0 = now_s();
	r = ldap_dir_check_users(dir, f, n, &st, err, sizeof(err));
	if (r < 0) {
		printf("error=%s reason=\"%s\"\n", err_name(r), err);
		ldap_user_facts_release(f, n);
		free(f);
		return 0;
	}
	if (quiet) {
		size_t found = 0, vpn = 0;

		for (size_t i = 0; i < n; i++) {
			found += f[i].presence == KW_LDAP_USER_FOUND;
			vpn += f[i].in_vpn_group;
		}
		printf("checked=%zu found=%zu vpn=%zu searches=%u pages=%u seconds=%.3f\n", n, found, vpn, st.searches,
		       st.pages, now_s() - t0);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("user=%s presence=%s vpn=%d disabled=%s\n", f[i].username, presence_name(f[i].presence),
			       f[i].in_vpn_group, ldap_disabled_name(f[i].disabled));
	}
	ldap_user_facts_release(f, n);
	free(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct kw_ldap_config cfg;
	struct kw_ldap *dir = NULL;
	char err[512];
	int r, rc = 1;

	log_set_level(KW_LOG_ERROR);
	if (argc < 3) {
		fprintf(stderr, "usage: ldap_probe CONF login|check|check-gen|logins ...\n");
		return 2;
	}
	ldap_config_init(&cfg);
	r = ldap_config_load(&cfg, argv[1], err, sizeof(err));
	if (r < 0 || !cfg.enabled) {
		printf("config-error: %s\n", r < 0 ? err : "no [ldap] uri");
		ldap_config_free(&cfg);
		return 1;
	}
	if (ldap_dir_new(&cfg, &dir) < 0)
		goto out;
	if (!strcmp(argv[2], "login") && argc == 5) {
		struct kw_ldap_login lg;
		const char *pw = strcmp(argv[4], "-") ? argv[4] : "";
		double t0 = now_s();

		r = ldap_dir_login(dir, argv[3], pw, strlen(pw), &lg);
		if (r < 0)
			printf("error=%s seconds=%.3f\n", err_name(r), now_s() - t0);
		else
			printf("ok user=%s vpn=%d admin=%d disabled=%s\n", lg.username, lg.in_vpn_group, lg.is_admin,
			       ldap_disabled_name(lg.disabled));
		rc = 0;
	} else if (!strcmp(argv[2], "check") && argc > 3) {
		rc = do_check(dir, (const char **)argv + 3, (size_t)argc - 3, false);
	} else if (!strcmp(argv[2], "check-gen") && argc == 4) {
		size_t n = strtoul(argv[3], NULL, 10);
		char **names = calloc(n, sizeof(*names));

		for (size_t i = 0; names && i < n; i++) {
			names[i] = malloc(32);
			snprintf(names[i], 32, "user%05zu", i + 1);
		}
		rc = names ? do_check(dir, (const char **)names, n, true) : 1;
		for (size_t i = 0; names && i < n; i++)
			free(names[i]);
		free(names);
	} else if (!strcmp(argv[2], "relogin") && argc == 5) {
		char line[64];
		int i = 1;

		setvbuf(stdout, NULL, _IOLBF, 0);
		do {
			struct kw_ldap_login lg;

			r = ldap_dir_login(dir, argv[3], argv[4], strlen(argv[4]), &lg);
			if (r < 0)
				printf("%d error=%s\n", i++, err_name(r));
			else
				printf("%d ok user=%s\n", i++, lg.username);
		} while (fgets(line, sizeof(line), stdin));
		rc = 0;
	} else if (!strcmp(argv[2], "logins") && argc == 6) {
		long n = strtol(argv[3], NULL, 10), ok = 0;
		struct kw_ldap_login lg;
		double t0 = now_s();

		for (long i = 0; i < n; i++)
			ok += ldap_dir_login(dir, argv[4], argv[5], strlen(argv[5]), &lg) == 0;
		printf("logins=%ld ok=%ld per_second=%.0f\n", n, ok, (double)n / (now_s() - t0));
		rc = 0;
	} else {
		fprintf(stderr, "ldap_probe: bad command\n");
		rc = 2;
	}
out:
	ldap_dir_free(dir);
	ldap_config_free(&cfg);
	return rc;
}
