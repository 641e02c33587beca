/*
 * The directory part (LDAP): the only header other parts include.
 *
 * Lifecycle: keywayd calls directory_init() at start (libldap is always linked). With an
 * [ldap] uri it sets srv->dir and srv->dir_ops and registers the directory's routes (login,
 * logout, LDAP status and sync); without one both stay NULL and keywayd runs without a
 * directory. Request-time calls go through srv->dir_ops (NULL: "no directory configured");
 * the directory_* wrappers below give each call its answer for that case.
 */
#ifndef KW_DIRECTORY_H
#define KW_DIRECTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/server.h"
#include "http/request.h"

struct kw_directory_ops {
	/* After HTTP is listening: start the sync thread. */
	int (*start)(struct kw_server *srv);
	/* On shutdown, before the store closes: stop threads, free srv->dir, clear srv->dir_ops. */
	void (*stop)(struct kw_server *srv);
	/*
	 * POST /api/v1/enroll with {"username","password"}: may this person enroll one more
	 * device? 0 with *max_devices (0 = no limit); else an HTTP status with *out set (401 bad
	 * credentials, 403 not in the VPN group, 429 + Retry-After, 503 directory down).
	 */
	int (*enroll_check)(struct kw_req *req, const char *username, const char *password, int *max_devices,
			    json_t **out);
	/* POST /api/v1/enroll by a login session: is its user still enabled and in the VPN
	 * group? 0 when yes; else an HTTP status with *out set (403, 503). */
	int (*session_enroll_check)(struct kw_req *req, json_t **out);
	/* Device limit per user for a self-service enrollment by a login session (0 = none). */
	int (*max_devices)(struct kw_server *srv);
	/*
	 * GET /api/v1/users: add to each object of list's "users" array its live directory state
	 * ("directory": {"found","in_vpn_group","disabled","reason","checked_at"}), or set
	 * "directory_error" on list when the directory cannot be trusted. Negative errno only
	 * for local failures.
	 */
	int (*users_directory)(struct kw_req *req, json_t *list);
};

/* The routes directory_init() registers when a directory is configured (read-only: the
 * OpenAPI test checks that the document lists each of them). */
extern const struct kw_route directory_routes[];
extern const size_t directory_nroutes;

/* The [ldap] section's table of keys (core/confschema.h), for keywayd-confdoc. */
struct cs_section;
extern const struct cs_section directory_conf_section;

/* Parse [ldap] from config_path; see above. 0, or a negative errno after printing one line. */
int directory_init(struct kw_server *srv, const char *config_path);

/*
 * SIGHUP, in two steps so that a broken file changes nothing anywhere: prepare parses and
 * checks [ldap] again (reading the bind password file) and changes nothing; 0 with *pending
 * (NULL: nothing to apply) and the comma-separated names of the changed keys in changed,
 * or a negative errno with the one-line reason in err. apply swaps *pending in when do_apply
 * (a directory switched on or off takes effect at the next restart) or just frees it.
 */
int directory_reload_prepare(struct kw_server *srv, const char *config_path, void **pending, char *changed,
			     size_t changed_len, char *err, size_t errlen);
void directory_reload_apply(struct kw_server *srv, void *pending, bool do_apply);

static inline int directory_start(struct kw_server *srv)
{
	return srv->dir_ops ? srv->dir_ops->start(srv) : 0;
}

static inline void directory_stop(struct kw_server *srv)
{
	if (srv->dir_ops)
		srv->dir_ops->stop(srv);
}

static inline int directory_enroll_check(struct kw_req *req, const char *username, const char *password,
					 int *max_devices, json_t **out)
{
	if (!req->srv->dir_ops)
		return api_error(out, 400, "ldap_not_configured",
				 "this controller has no LDAP directory; enroll with an enrollment token");
	return req->srv->dir_ops->enroll_check(req, username, password, max_devices, out);
}

static inline int directory_session_enroll_check(struct kw_req *req, json_t **out)
{
	return req->srv->dir_ops ? req->srv->dir_ops->session_enroll_check(req, out) : 0;
}

static inline int directory_max_devices(struct kw_server *srv)
{
	return srv->dir_ops ? srv->dir_ops->max_devices(srv) : 0;
}

static inline int directory_users(struct kw_req *req, json_t *list)
{
	return req->srv->dir_ops ? req->srv->dir_ops->users_directory(req, list) : 0;
}

#endif
