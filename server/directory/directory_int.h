/* The directory part's state inside keywayd (srv->dir points at one of these), shared by its
 * files only: directory.c, ldap_reload.c, sync.c, api_login.c, api_ldap.c, roles.c. */
#ifndef KW_DIRECTORY_INT_H
#define KW_DIRECTORY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "directory.h"
#include "ratelimit.h"
#include "ldap_config.h"
#include "ldap_client.h"
#include "sync_plan.h"

struct kw_server;

/* What GET /api/v1/ldap/status shows. */
struct kwl_sync_status {
	int64_t last_run_at;       /* 0: never */
	int64_t last_duration_ms;
	enum kw_sync_outcome last_outcome;
	struct kw_sync_plan last_plan;
	unsigned last_apply_errors;
	char last_error[256];
	int64_t last_error_at;
	uint64_t runs, failures, held;
	bool pending;              /* a mass change waits for confirmation */
	unsigned pending_cut, pending_limit;
	int64_t pending_since;
};

/*
 * One generation of the [ldap] settings and the directory client (connection pool) built
 * over them. SIGHUP builds a new one and swaps m->gen; a login or a sync run that took a
 * reference before keeps using its generation, and the last kwl_gen_put() closes the old
 * pool and zeroes its bind password.
 */
struct kwl_gen {
	atomic_uint refs;
	struct kw_ldap_config cfg;
	struct kw_ldap *dir;
};

struct kwl_module {
	struct kw_server *srv;
	pthread_mutex_t gen_lock;    /* guards the pointer m->gen, not what it points at */
	struct kwl_gen *gen;         /* the current generation; use kwl_gen_get() */
	struct kw_ratelimit *rl_user, *rl_addr;
	pthread_mutex_t run_lock;    /* one sync at a time */
	pthread_mutex_t status_lock;
	struct kwl_sync_status status;
	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	bool stopping;
	bool retime;                 /* under wake_lock: sync_interval changed, recompute the wait */
	bool thread_started;
	pthread_t thread;
};

/* ldap_reload.c: a new generation over cfg (taken over, also on error), refs = 1. */
int kwl_gen_new(struct kw_ldap_config *cfg, struct kwl_gen **out);
/* A reference to the current generation (never NULL while the module runs). */
struct kwl_gen *kwl_gen_get(struct kwl_module *m);
void kwl_gen_put(struct kwl_gen *g);

/* sync.c: one run (blocking; serialised). Fills *plan and *apply_errors. */
int sync_run(struct kwl_module *m, bool confirm_mass_change, struct kw_sync_plan *plan, unsigned *apply_errors);
int sync_thread_start(struct kwl_module *m);
/* sync_groups.c: record which of users[0..n) are in each group some policy names; returns
 * the number of groups that could not be recorded. */
unsigned sync_policy_groups(struct kwl_module *m, struct kwl_gen *g, const char *const *users, size_t n,
			    int64_t now);
/* The DN of a policy's group: a DN as is, a plain name as cn=NAME beside vpn_group (new). */
int sync_group_dn(const char *group, const char *vpn_group, char **out);
void sync_thread_stop(struct kwl_module *m);

/* The ops behind struct kw_directory_ops (directory.h), for directory.c's table. */
int kwl_enroll_check(struct kw_req *req, const char *username, const char *password, int *max_devices,
		     json_t **out);
int kwl_session_enroll_check(struct kw_req *req, json_t **out);
int kwl_max_devices(struct kw_server *srv);
int kwl_users_directory(struct kw_req *req, json_t *list);
int kwl_session_recheck(struct kw_req *req, json_t **out);

/* roles.c: at the end of a sync run, every user with a session or an API token re-read
 * (see roles.c). 0 or the directory's error. */
int roles_sync(struct kwl_module *m, struct kwl_gen *g, int64_t now);

/* api_login.c / api_ldap.c handlers */
int api_login_post(struct kw_req *req, json_t *in, json_t **out);
int api_logout_post(struct kw_req *req, json_t *in, json_t **out);
int api_ldap_sync_post(struct kw_req *req, json_t *in, json_t **out);
int api_ldap_status_get(struct kw_req *req, json_t *in, json_t **out);

#endif
