/*
 * Hooks between keywayd and the LDAP module (issue 3). keywayd calls these; weak no-op
 * defaults live in server/hooks_default.c, so keywayd builds and runs without the module.
 *
 * IMPORTANT for the module's Makefile fragment: add its objects to server_keywayd_SOURCES (linked
 * directly), not to libkeywayd.la: a weak default is only overridden by an object that is
 * actually linked, and the linker never pulls an archive member to replace a weak symbol.
 */
#ifndef KW_LDAP_MODULE_H
#define KW_LDAP_MODULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct kw_server;
struct kw_req;

/* After the store and signer are up, before HTTP starts. Parse [ldap] from config_path
 * (keywayd's own parser ignores that section), set srv->ldap, register routes with
 * routes_register(). No [ldap] section: return 0 and do nothing. Negative errno: keywayd
 * exits 1 (print the one-line reason yourself). */
int ldap_module_init(struct kw_server *srv, const char *config_path);
/* After HTTP is listening: start the sync thread. */
int ldap_module_start(struct kw_server *srv);
/* On shutdown, before the store closes: stop threads, free srv->ldap. */
void ldap_module_stop(struct kw_server *srv);

/*
 * SIGHUP, in two steps so that a broken file changes nothing anywhere:
 * prepare parses and checks [ldap] again (reading the bind password file) and changes
 * nothing; 0 with *pending (NULL: nothing to apply) and the comma-separated names of the
 * changed keys in changed ("" when none), or a negative errno with the one-line reason in
 * err. apply swaps *pending in when do_apply (logging one line per key that needs a restart)
 * or just frees it; it takes NULL. Defaults (no module): nothing to do.
 */
int ldap_module_reload_prepare(struct kw_server *srv, const char *config_path, void **pending, char *changed,
			       size_t changed_len, char *err, size_t errlen);
void ldap_module_reload_apply(struct kw_server *srv, void *pending, bool do_apply);

/*
 * POST /api/v1/enroll with {"username","password"} instead of {"token"}: may this person
 * enroll one more device? Return 0 and set *max_devices (0 = no limit) when yes; else an
 * HTTP status with *out set by api_error() (401 bad credentials, 403 not in the VPN group,
 * 429 + Retry-After, 503 directory down). The default (no LDAP module) answers 400
 * ldap_not_configured.
 */
int ldap_enroll_check(struct kw_req *req, const char *username, const char *password, int *max_devices,
		      json_t **out);

/* POST /api/v1/enroll by a login session: is the session's user still in the VPN group and
 * enabled? 0 when yes; else an HTTP status with *out set (403, 503). Default: 0. */
int ldap_session_enroll_check(struct kw_req *req, json_t **out);

/* Device limit per user for a self-service enrollment by a login session (0 = none). */
int ldap_max_devices(struct kw_server *srv);

/*
 * GET /api/v1/users: add to each object of list's "users" array its live directory state,
 * "directory": {"found","in_vpn_group","disabled","reason","checked_at"}, asked with the
 * sync's batched check (never one round-trip per user, bounded by the configured timeout).
 * Directory unreachable or untrustworthy: no per-user state, list gets "directory_error".
 * Negative errno only for local failures (out of memory). Default (no module): 0, no change.
 */
int ldap_users_directory(struct kw_req *req, json_t *list);

#endif
