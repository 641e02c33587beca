/* keywayd: the controller. Parses the command line, starts the parts, waits for a signal. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "core/admin_cli.h"
#include "core/conf.h"
#include "core/conf_diff.h"
#include "fileutil.h"
#include "core/access_snap.h"
#include "core/gwhealth.h"
#include "core/housekeeping.h"
#include "core/statedir.h"
#include "http/http.h"
#include "directory/directory.h"
#include "log.h"
#include "http/longpoll.h"
#include "http/metrics_http.h"
#include "http/router.h"
#include "core/reload.h"
#include "core/signer.h"
#include "core/store_conf.h"
#include "store/store.h"
#include "core/wgconf.h"

#define DEFAULT_CONFIG SYSCONFDIR "/keyway/keywayd.conf"

static void usage(FILE *f)
{
	fprintf(f, "usage: keywayd [-c FILE] [--foreground]\n"
		   "       keywayd --version\n"
		   "       keywayd [-c FILE] admin-token create --name NAME\n"
		   "       keywayd [-c FILE] migrate-store --to postgresql\n"
		   "default config file: %s (built-in defaults when it does not exist)\n",
		DEFAULT_CONFIG);
}

/* The state directory: created 0700 if absent; its owner and its files' modes checked (a
 * 0644 keyway.db would give its WAL and SHM files 0644 too) before the database opens. */
static int state_dir_prepare(const char *dir)
{
	int ret = dir_ensure(dir, 0700);

	if (ret < 0) {
		log_error("cannot create state directory %s: %s", dir, strerror(-ret));
		return ret;
	}
	return statedir_secure(dir);
}

/*
 * The main thread's loop: signals, and the periodic chores between them (the first run, at
 * once, purges the sessions that expired while keywayd was down). SIGHUP reloads; returns the
 * signal that stops keywayd (-1 when waiting for signals failed).
 */
static int main_loop(struct kw_server *srv, sigset_t *sigs, struct kw_reload *reload, const char *config_path)
{
	struct kw_housekeeping hk;
	int sig;

	housekeeping_init(&hk, KW_HOUSEKEEPING_INTERVAL, (int64_t)time(NULL));
	for (;;) {
		struct timespec wait = { 1, 0 };
		int64_t now = (int64_t)time(NULL);

		hk.audit_keep_days = server_conf(srv)->audit_keep_days;
		(void)housekeeping_tick(&hk, srv->store, now);
		/* Gateways gone quiet: every second, so devices move within gateway_timeout + 1 s. */
		if (gwhealth_tick(srv, now) < 0)
			log_error("gateway health: could not update the store");
		sig = sigtimedwait(sigs, NULL, &wait);
		if (sig < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			log_error("sigtimedwait: %s", strerror(errno));
			return -1;
		}
		if (sig != SIGHUP)
			return sig;
		reload_run(reload, srv, config_path);
	}
}

static int run(struct kw_conf *conf, const char *config_path)
{
	struct kw_server srv = { .conf = conf, .config_path = config_path, .version = PACKAGE_VERSION };
	struct kw_store_net net = { .cidr = conf->cidr, .has_cidr6 = conf->has_cidr6, .cidr6 = conf->cidr6,
				    .quarantine = conf->address_quarantine };
	struct kw_http *http = NULL;
	struct kw_metrics_http *metrics = NULL;
	struct kw_reload reload;
	sigset_t sigs;
	int ret, sig = 0, code = 1;
	bool dir_inited = false;

	reload_init(&reload, conf);
	/* Signals are taken by sigwait() below: block them before any thread starts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (state_dir_prepare(conf->state_dir) < 0)
		return 1;
	conf_net_fingerprint(conf, net.fingerprint);
	if (store_conf_open(conf, &net, &srv.store) < 0)
		return 1;
	ret = signer_open(conf->state_dir, &srv.signer);
	if (ret < 0) {
		log_error("cannot load the signing key in %s: %s", conf->state_dir, strerror(-ret));
		goto out;
	}
	/* Replicas on one database sign with one key: the first records it, the others compare. */
	if (strcmp(conf->store_backend, "postgresql") == 0 &&
	    store_signing_key_check(srv.store, srv.signer->key_id) < 0)
		goto out;
	if (wgconf_cache_new(&srv.wgcache) < 0 || longpoll_new(srv.store, &srv.longpoll) < 0 ||
	    gwhealth_new(conf->gateway_timeout, (int64_t)time(NULL), &srv.gwhealth) < 0 ||
	    access_cache_new(&srv.access_cache) < 0) {
		log_error("out of memory");
		goto out;
	}
	store_set_change_cb(srv.store, longpoll_on_change, srv.longpoll);
	(void)access_warn_conf_overlaps(&srv);
	if (routes_register(api_v1_routes, api_v1_nroutes) < 0)
		goto out;
	ret = directory_init(&srv, config_path);
	if (ret < 0)
		goto out;
	dir_inited = true;
	ret = http_start(&srv, &http);
	if (ret < 0)
		goto out;
	ret = metrics_http_start(&srv, &metrics);
	if (ret < 0)
		goto out;
	ret = directory_start(&srv);
	if (ret < 0)
		goto out;
	log_info("keywayd started version=%s key_id=%s state_dir=%s", PACKAGE_VERSION, srv.signer->key_id,
		 conf->state_dir);
	sig = main_loop(&srv, &sigs, &reload, config_path);
	log_info("keywayd stopping signal=%d", sig);
	code = 0;
out:
	/* The listeners stop first: a request or a scrape still running reads srv->dir and the
	 * directory's locks, which directory_stop() frees. */
	metrics_http_stop(metrics);
	store_set_change_cb(srv.store, NULL, NULL);
	longpoll_shutdown(srv.longpoll);
	http_stop(http);
	if (dir_inited)
		directory_stop(&srv);
	longpoll_free(srv.longpoll);
	wgconf_cache_free(srv.wgcache);
	gwhealth_free(srv.gwhealth);
	access_cache_free(srv.access_cache);
	signer_free(srv.signer);
	store_close(srv.store);
	reload_free(&reload);
	return code;
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool foreground = false;
	struct rlimit no_core = { 0, 0 };
	struct kw_conf conf;
	char err[600];
	int i, ret;

	log_set_program("keywayd");
	/* Secrets live in this process: no core dumps, no ptrace by the same uid. */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	umask(077);
	/* Every parked long-poll is an open socket: allow as many as the hard limit does. */
	{
		struct rlimit nofile;

		if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
			nofile.rlim_cur = nofile.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &nofile);
		}
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "keywayd: libsodium failed to initialise\n");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--foreground") == 0 || strcmp(argv[i], "-f") == 0)
			foreground = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("keywayd %s\n", PACKAGE_VERSION);
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "keywayd: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		} else
			break;
	}
	conf_defaults(&conf);
	if (config_path || access(DEFAULT_CONFIG, F_OK) == 0) {
		if (!config_path)
			config_path = DEFAULT_CONFIG;
		ret = conf_load(&conf, config_path, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "keywayd: %s\n", err);
			return 1;
		}
	}
	(void)log_set_level_name(conf.log_level);
	if (i < argc) {
		if (strcmp(argv[i], "admin-token") == 0)
			return admin_cli_main(&conf, argc - i, argv + i);
		if (strcmp(argv[i], "migrate-store") == 0)
			return migrate_cli_main(&conf, argc - i, argv + i);
		fprintf(stderr, "keywayd: unknown command %s\n", argv[i]);
		usage(stderr);
		return 2;
	}
	if (!foreground && daemon(0, 1) < 0) {
		fprintf(stderr, "keywayd: cannot daemonize: %s\n", strerror(errno));
		return 1;
	}
	return run(&conf, config_path);
}
