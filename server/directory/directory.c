/* The directory part's entry: parse [ldap], connect, register routes and ops, the sync thread. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http/request.h"
#include "directory_int.h"
#include "directory.h"
#include "http/router.h"
#include "log.h"

const struct kw_route directory_routes[] = {
	{ "POST", "/api/v1/login", api_login_post, KW_AUTH_NONE, KW_BODY_JSON },
	{ "POST", "/api/v1/logout", api_logout_post, KW_AUTH_ANY, KW_BODY_OPTIONAL },
	{ "POST", "/api/v1/ldap/sync", api_ldap_sync_post, KW_AUTH_ADMIN, KW_BODY_OPTIONAL },
	{ "GET", "/api/v1/ldap/status", api_ldap_status_get, KW_AUTH_ADMIN, KW_BODY_NONE },
};
const size_t directory_nroutes = sizeof(directory_routes) / sizeof(directory_routes[0]);

static void module_free(struct kwl_module *m)
{
	if (!m)
		return;
	kwl_gen_put(m->gen);
	ratelimit_free(m->rl_user);
	ratelimit_free(m->rl_addr);
	pthread_mutex_destroy(&m->gen_lock);
	pthread_mutex_destroy(&m->run_lock);
	pthread_mutex_destroy(&m->status_lock);
	pthread_mutex_destroy(&m->wake_lock);
	pthread_cond_destroy(&m->wake);
	free(m);
}

static int kwl_start(struct kw_server *srv);
static void kwl_stop(struct kw_server *srv);

static const struct kw_directory_ops ldap_ops = {
	.start = kwl_start,
	.stop = kwl_stop,
	.enroll_check = kwl_enroll_check,
	.session_enroll_check = kwl_session_enroll_check,
	.max_devices = kwl_max_devices,
	.users_directory = kwl_users_directory,
};

int directory_init(struct kw_server *srv, const char *config_path)
{
	struct kwl_module *m;
	struct kw_ldap_config cfg;
	const struct kw_ldap_config *c;
	char err[768] = "";
	int r;

	srv->dir = NULL;
	srv->dir_ops = NULL;
	srv->admin_recheck = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->gen_lock, NULL);
	pthread_mutex_init(&m->run_lock, NULL);
	pthread_mutex_init(&m->status_lock, NULL);
	pthread_mutex_init(&m->wake_lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	m->srv = srv;
	ldap_config_init(&cfg);
	if (config_path) {
		r = ldap_config_load(&cfg, config_path, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "keywayd: %s\n", err);
			ldap_config_free(&cfg);
			goto fail;
		}
	}
	if (!cfg.enabled) {
		ldap_config_free(&cfg);
		module_free(m);
		return 0; /* no [ldap] uri: keywayd runs without the directory */
	}
	r = kwl_gen_new(&cfg, &m->gen); /* takes cfg over */
	if (r < 0)
		goto fail;
	c = &m->gen->cfg;
	r = ratelimit_new(8192, c->login_max_failures, c->login_window, &m->rl_user);
	if (r < 0)
		goto fail;
	r = ratelimit_new(8192, c->login_max_failures_addr, c->login_window, &m->rl_addr);
	if (r < 0)
		goto fail;
	r = routes_register(directory_routes, directory_nroutes);
	if (r < 0) {
		fprintf(stderr, "keywayd: cannot register the LDAP routes\n");
		goto fail;
	}
	srv->dir = m;
	srv->dir_ops = &ldap_ops;
	srv->admin_recheck = kwl_session_recheck;
	log_info("ldap: enabled uris=%zu first=%s starttls=%s user_base=\"%s\" vpn_group=\"%s\" sync_interval=%u "
		 "nested_groups=%s nested_depth=%u",
		 c->n_uris, c->uris[0], c->starttls ? "yes" : "no", c->user_base, c->vpn_group, c->sync_interval,
		 c->nested_groups ? "yes" : "no", c->nested_depth);
	return 0;
fail:
	module_free(m);
	return r < 0 ? r : -EINVAL;
}

static int kwl_start(struct kw_server *srv)
{
	struct kwl_module *m = srv->dir;
	struct kwl_gen *g;
	unsigned interval;

	if (!m)
		return 0;
	g = kwl_gen_get(m);
	interval = g->cfg.sync_interval;
	kwl_gen_put(g);
	return interval ? sync_thread_start(m) : 0; /* a SIGHUP may start it later */
}

static void kwl_stop(struct kw_server *srv)
{
	struct kwl_module *m = srv->dir;

	if (!m)
		return;
	sync_thread_stop(m);
	srv->dir = NULL;
	srv->dir_ops = NULL;
	srv->admin_recheck = NULL;
	module_free(m);
}

int kwl_max_devices(struct kw_server *srv)
{
	struct kwl_module *m = srv->dir;
	struct kwl_gen *g;
	int n;

	if (!m)
		return 0;
	g = kwl_gen_get(m);
	n = (int)g->cfg.max_devices_per_user;
	kwl_gen_put(g);
	return n;
}
