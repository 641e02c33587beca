/*
 * The LDAP module's settings as generations (struct kwl_gen), and SIGHUP for [ldap]: a new
 * generation with its own connection pool is built from the file and swapped in under
 * gen_lock; requests and sync runs holding the old one finish on it, the last to let go
 * closes its pool.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/request.h"
#include "directory_int.h"
#include "directory.h"
#include "log.h"

int kwl_gen_new(struct kw_ldap_config *cfg, struct kwl_gen **out)
{
	struct kwl_gen *g;
	int r;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g) {
		ldap_config_free(cfg);
		return -ENOMEM;
	}
	g->cfg = *cfg; /* the strings move over; the stack copy's password is zeroed below */
	sodium_memzero(cfg->bind_password, sizeof(cfg->bind_password));
	memset(cfg, 0, sizeof(*cfg));
	atomic_init(&g->refs, 1);
	r = ldap_dir_new(&g->cfg, &g->dir); /* dir keeps a pointer to g->cfg: g never moves */
	if (r < 0) {
		ldap_config_free(&g->cfg);
		free(g);
		return r;
	}
	*out = g;
	return 0;
}

struct kwl_gen *kwl_gen_get(struct kwl_module *m)
{
	struct kwl_gen *g;

	pthread_mutex_lock(&m->gen_lock);
	g = m->gen;
	atomic_fetch_add(&g->refs, 1);
	pthread_mutex_unlock(&m->gen_lock);
	return g;
}

void kwl_gen_put(struct kwl_gen *g)
{
	if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	ldap_dir_free(g->dir);
	ldap_config_free(&g->cfg); /* zeroes the bind password */
	free(g);
}

/* What prepare hands to apply. */
struct kwl_pending {
	struct kw_ldap_config cfg;
	bool enabled_changed;
};

int directory_reload_prepare(struct kw_server *srv, const char *config_path, void **pending, char *changed,
			       size_t changed_len, char *err, size_t errlen)
{
	struct kwl_module *m = srv->dir;
	struct kwl_pending *p;
	struct kwl_gen *cur;
	int r;

	*pending = NULL;
	if (changed_len)
		changed[0] = '\0';
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ldap_config_init(&p->cfg);
	r = ldap_config_load(&p->cfg, config_path, err, errlen);
	if (r < 0) {
		ldap_config_free(&p->cfg);
		free(p);
		return r;
	}
	if (!m) {
		/* Started without [ldap]: the routes and the module exist only after a restart. */
		p->enabled_changed = p->cfg.enabled;
	} else if (!p->cfg.enabled) {
		p->enabled_changed = true; /* [ldap] uri removed: keep the directory until a restart */
	} else {
		cur = kwl_gen_get(m);
		(void)ldap_config_diff(&cur->cfg, &p->cfg, changed, changed_len);
		kwl_gen_put(cur);
	}
	if (!p->enabled_changed && !(changed_len && changed[0])) {
		ldap_config_free(&p->cfg); /* nothing changed: keep the pool and its connections */
		free(p);
		return 0;
	}
	*pending = p;
	return 0;
}

static void apply(struct kwl_module *m, struct kwl_pending *p)
{
	struct kwl_gen *g, *old;
	unsigned old_interval;
	int r;

	r = kwl_gen_new(&p->cfg, &g);
	if (r < 0) {
		log_error("SIGHUP: ldap: settings not applied, keeping the running ones: %s", strerror(-r));
		return;
	}
	/* ldap_config_load checked both are >= 1 */
	(void)ratelimit_set_limits(m->rl_user, g->cfg.login_max_failures, g->cfg.login_window);
	(void)ratelimit_set_limits(m->rl_addr, g->cfg.login_max_failures_addr, g->cfg.login_window);
	pthread_mutex_lock(&m->gen_lock);
	old = m->gen;
	m->gen = g;
	pthread_mutex_unlock(&m->gen_lock);
	old_interval = old->cfg.sync_interval;
	kwl_gen_put(old); /* closed now, or by the last request or sync run still using it */
	if (g->cfg.sync_interval == old_interval)
		return;
	if (!m->thread_started) {
		r = sync_thread_start(m);
		if (r < 0)
			log_error("SIGHUP: ldap: cannot start the sync thread: %s", strerror(-r));
		return;
	}
	pthread_mutex_lock(&m->wake_lock);
	m->retime = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->wake_lock);
}

void directory_reload_apply(struct kw_server *srv, void *pending, bool do_apply)
{
	struct kwl_pending *p = pending;

	if (!p)
		return;
	if (do_apply && p->enabled_changed)
		log_warn("SIGHUP: ldap.uri %s; it takes effect at the next restart (the running value stays)",
			 srv->dir ? "removed (directory switched off)" : "added (directory switched on)");
	else if (do_apply && srv->dir)
		apply(srv->dir, p);
	ldap_config_free(&p->cfg);
	free(p);
}
