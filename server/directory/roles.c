/*
 * Sessions and API tokens follow the directory. A session keeps the role it got at login,
 * and an API token made by an admin's session never expired by itself: so the sync re-reads
 * every user holding a session or owning a token, and an admin request re-reads its user
 * when the last check is older than admin_recheck_interval. Deleted, disabled, or out of
 * the VPN group (and not an admin): every session goes. No longer admin: admin sessions
 * become user sessions and the user's API tokens go.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "directory_int.h"
#include "log.h"
#include "store/store.h"

#define ROLES_ACTOR "ldap-sync"

struct roles_verdict {
	bool keep;  /* the user may keep sessions */
	bool admin; /* and is an admin */
};

/* Ask the directory about username and apply the answer. 0, or a negative errno when the
 * directory could not answer (nothing changed then). */
static int recheck_user(struct kwl_gen *g, struct kw_store *st, const char *username, int64_t now,
			struct roles_verdict *v, int *changed)
{
	struct kw_ldap_login lg;
	int r = ldap_dir_user_roles(g->dir, username, &lg);

	*changed = 0;
	if (r < 0 && r != -ENOENT)
		return r;
	v->keep = r == 0 && !lg.disabled && (lg.in_vpn_group || lg.is_admin);
	v->admin = v->keep && lg.is_admin;
	r = store_user_roles_apply(st, username, v->keep, v->admin, ROLES_ACTOR, now, changed);
	if (r == 0 && *changed)
		log_info("ldap-sync: sessions and tokens follow the directory user=%s keep_sessions=%s admin=%s "
			 "changed=%d",
			 username, v->keep ? "yes" : "no", v->admin ? "yes" : "no", *changed);
	return r;
}

struct name_list {
	char **v;
	size_t n, cap;
};

static int name_add(const char *username, void *arg)
{
	struct name_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strdup(username);
	return l->v[l->n] ? (l->n++, 0) : -ENOMEM;
}

int roles_sync(struct kwl_module *m, struct kwl_gen *g, int64_t now)
{
	struct name_list l = { 0 };
	struct roles_verdict v;
	int r, changed, total = 0;

	r = store_principal_users(m->srv->store, name_add, &l);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		r = recheck_user(g, m->srv->store, l.v[i], now, &v, &changed);
		total += changed;
	}
	if (r < 0)
		log_warn("ldap-sync: sessions and tokens not re-checked: error=%d (they stay until the next run)", -r);
	else if (l.n)
		log_info("ldap-sync: sessions and tokens re-checked users=%zu changed=%d", l.n, total);
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return r;
}

int kwl_session_recheck(struct kw_req *req, json_t **out)
{
	struct kwl_module *m = req->srv->dir;
	struct roles_verdict v;
	struct kwl_gen *g;
	int64_t checked_at = 0;
	unsigned interval;
	int r, changed;

	if (!m || req->principal.kind != KW_PRINCIPAL_SESSION)
		return 0;
	g = kwl_gen_get(m);
	interval = g->cfg.admin_recheck_interval;
	r = store_session_checked_at(req->srv->store, req->principal.id, &checked_at);
	if (r == 0 && interval && req->now - checked_at < (int64_t)interval) {
		kwl_gen_put(g);
		return 0;
	}
	r = recheck_user(g, req->srv->store, req->principal.username, req->now, &v, &changed);
	kwl_gen_put(g);
	if (r < 0)
		return api_error(out, 503, "ldap_unavailable",
				 "the directory cannot confirm your admin role now; try again later");
	if (!v.keep)
		return api_error(out, 401, "session_revoked", "your directory account no longer allows a session");
	if (!v.admin) {
		req->principal.role = KW_ROLE_USER;
		return api_error(out, 403, "forbidden", "admin role required (the directory no longer grants it)");
	}
	if (store_session_mark_checked(req->srv->store, req->principal.id, req->now) < 0)
		log_warn("ldap: cannot record the session's directory check");
	return 0;
}
