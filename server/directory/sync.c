/*
 * The revocation sync: gather who holds devices (store), ask the directory about them
 * (ldap.c), let sync_plan_make() decide, apply the actions through the store, record the
 * outcome. Runs every sync_interval seconds on its own thread and on POST /ldap/sync.
 *
 * Devices the sync suspends carry the reason "ldap:<why>"; only those are restored when
 * the directory enables the user again (an admin's suspension stays an admin's).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/metrics.h"
#include "core/server.h"
#include "directory_int.h"
#include "log.h"
#include "vec.h"
#include "store/store.h"

#define SYNC_ACTOR "ldap-sync"
#define LDAP_REASON_PREFIX "ldap:"

struct holder_dev {
	char username[KW_STORE_NAME_MAX];
	int64_t id;
	enum kw_device_state state;
	bool by_ldap;
	int64_t suspended_at;
	char public_key[KW_KEY_B64_LEN + 1];
};

struct holder_list {
	struct holder_dev *v;
	size_t n, cap;
};

static int collect_cb(const struct kw_device *d, void *arg)
{
	struct holder_list *l = arg;

	if (d->role != KW_DEV_DEVICE || d->state == KW_STATE_REVOKED || !d->username[0])
		return 0; /* gateways and revoked devices are not the directory's business */
	if (vec_reserve((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	struct holder_dev *h = &l->v[l->n++];

	snprintf(h->username, sizeof(h->username), "%s", d->username);
	h->id = d->id;
	h->state = d->state;
	h->by_ldap = d->state == KW_STATE_SUSPENDED &&
		     !strncmp(d->state_reason, LDAP_REASON_PREFIX, strlen(LDAP_REASON_PREFIX));
	h->suspended_at = d->suspended_at;
	snprintf(h->public_key, sizeof(h->public_key), "%s", d->public_key);
	return 0;
}

static int cmp_holder(const void *a, const void *b)
{
	const struct holder_dev *x = a, *y = b;
	int c = strcmp(x->username, y->username);

	return c ? c : (x->id < y->id ? -1 : x->id > y->id);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void status_record(struct kwl_module *m, int64_t at, int64_t dur_ms, const struct kw_sync_plan *plan,
			  unsigned apply_errors, const char *error)
{
	struct kwl_sync_status *s = &m->status;
	enum kw_sync_outcome prev;

	pthread_mutex_lock(&m->status_lock);
	prev = s->last_outcome;
	s->last_run_at = at;
	s->last_duration_ms = dur_ms;
	s->last_outcome = plan->outcome;
	s->last_plan = *plan;
	s->last_apply_errors = apply_errors;
	s->runs++;
	if (plan->outcome == KW_SYNC_FAILED)
		s->failures++;
	if (error && *error) {
		snprintf(s->last_error, sizeof(s->last_error), "%s", error);
		s->last_error_at = at;
	}
	if (plan->outcome == KW_SYNC_HELD) {
		s->held++;
		if (!s->pending)
			s->pending_since = at;
		s->pending = true;
		s->pending_cut = plan->cut;
		s->pending_limit = plan->limit;
	} else if (plan->outcome == KW_SYNC_OK) {
		s->pending = false;
	}
	pthread_mutex_unlock(&m->status_lock);
	(void)prev;
}

/* The run in the metrics: outcome, duration, and a failed run as a directory error. */
static void sync_metrics(const struct kw_sync_plan *plan, int64_t dur_ms, int64_t now)
{
	enum metrics_sync_outcome o = plan->outcome == KW_SYNC_OK     ? METRICS_SYNC_OK
				      : plan->outcome == KW_SYNC_HELD ? METRICS_SYNC_HELD
								      : METRICS_SYNC_FAILED;

	if (o == METRICS_SYNC_FAILED)
		metrics_directory_error(METRICS_DIR_SYNC);
	metrics_sync_run(o, (double)dur_ms / 1e3, now);
}

/* Apply one user's action; the holders of that user are h[0..n). */
static int apply_user(struct kwl_module *m, const struct kw_sync_user *u, const struct holder_dev *h, size_t n,
		      int64_t now)
{
	struct kw_store *st = m->srv->store;
	char reason[96];
	int count = 0, r = 0;

	snprintf(reason, sizeof(reason), LDAP_REASON_PREFIX "%s", u->reason);
	switch (u->action) {
	case KW_SYNC_SUSPEND:
		r = store_user_suspend(st, u->username, reason, SYNC_ACTOR, now, &count);
		break;
	case KW_SYNC_REVOKE:
		r = store_user_revoke(st, u->username, reason, SYNC_ACTOR, now, &count);
		break;
	case KW_SYNC_RESTORE:
		for (size_t i = 0; i < n; i++) {
			int r2;

			if (!h[i].by_ldap)
				continue;
			r2 = store_device_restore(st, h[i].id, SYNC_ACTOR, now);
			if (r2 < 0 && r2 != -EPERM && r2 != -ENOENT)
				r = r2;
			else if (r2 == 0)
				count++;
		}
		break;
	case KW_SYNC_NONE:
		return 0;
	}
	if (r < 0)
		log_error("ldap-sync: %s failed user=%s error=%d", sync_action_name(u->action), u->username, -r);
	else
		log_info("ldap-sync: %s user=%s reason=%s devices=%d", sync_action_name(u->action), u->username,
			 u->reason, count);
	return r;
}

static bool key_in(const char *key, char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i], key))
			return true;
	return false;
}

/*
 * Optional: make publish_attribute of each user's entry hold exactly the public keys of
 * the devices that are active after this run. Writes only where the directory differs.
 */
static unsigned publish_keys(struct kwl_module *m, struct kwl_gen *g, const struct kw_sync_user *users,
			     const struct kw_ldap_user_fact *facts, size_t n_users, const struct holder_list *hl,
			     const size_t *first)
{
	const char **want = NULL;
	unsigned errors = 0, written = 0;

	for (size_t k = 0; k < n_users; k++) {
		const struct kw_ldap_user_fact *f = &facts[k];
		size_t nw = 0, cnt = first[k + 1] - first[k];
		bool same;

		if (f->presence != KW_LDAP_USER_FOUND || !f->dn)
			continue;
		free(want);
		want = calloc(cnt + 1, sizeof(*want));
		if (!want)
			return errors + 1;
		if (users[k].action != KW_SYNC_SUSPEND && users[k].action != KW_SYNC_REVOKE) {
			for (size_t i = first[k]; i < first[k + 1]; i++) {
				const struct holder_dev *h = &hl->v[i];

				if (h->state == KW_STATE_ACTIVE || (users[k].action == KW_SYNC_RESTORE && h->by_ldap))
					want[nw++] = h->public_key;
			}
		}
		same = nw == f->n_published;
		for (size_t i = 0; same && i < nw; i++)
			same = key_in(want[i], f->published, f->n_published);
		if (same)
			continue;
		if (ldap_dir_publish_keys_dn(g->dir, f->dn, want, nw) < 0)
			errors++;
		else
			written++;
	}
	free(want);
	if (written || errors)
		log_info("ldap-sync: published keys entries=%u errors=%u", written, errors);
	return errors;
}

/* The groups access policies name, for the users holding devices (sync_groups.c). */
static unsigned sync_groups_of_users(struct kwl_module *m, struct kwl_gen *g, const struct kw_sync_user *users,
				     size_t n, int64_t now)
{
	const char **names = calloc(n + 1, sizeof(*names));
	unsigned errors;

	if (!names)
		return 1;
	for (size_t k = 0; k < n; k++)
		names[k] = users[k].username;
	errors = sync_policy_groups(m, g, names, n, now);
	free(names);
	return errors;
}

/* One run's working set: every device holder from the store, one entry per user. */
struct sync_run_set {
	struct holder_list hl;
	struct kw_sync_user *users;
	struct kw_ldap_user_fact *facts;
	size_t *first; /* first[k]: index in hl of user k's first device; first[n_users] = hl.n */
	size_t n_users;
};

static void run_set_free(struct sync_run_set *rs)
{
	if (rs->facts)
		ldap_user_facts_release(rs->facts, rs->n_users);
	free(rs->hl.v);
	free(rs->first);
	free(rs->users);
	free(rs->facts);
}

/* Read every device from the store and group them by user. 0 or a negative errno with err set. */
static int run_set_gather(struct kwl_module *m, int64_t now, struct sync_run_set *rs, char *err, size_t errlen)
{
	struct holder_list *hl = &rs->hl;
	int r;

	r = store_device_list(m->srv->store, NULL, collect_cb, hl);
	if (r < 0) {
		snprintf(err, errlen, "reading devices from the store failed (%d)", r);
		return r;
	}
	if (hl->n)
		qsort(hl->v, hl->n, sizeof(*hl->v), cmp_holder);
	rs->first = calloc(hl->n + 1, sizeof(*rs->first));
	rs->users = calloc(hl->n + 1, sizeof(*rs->users));
	rs->facts = calloc(hl->n + 1, sizeof(*rs->facts));
	if (!rs->first || !rs->users || !rs->facts) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < hl->n; i++) {
		struct kw_sync_user *u;

		if (i == 0 || strcmp(hl->v[i].username, hl->v[i - 1].username)) {
			rs->first[rs->n_users] = i;
			rs->users[rs->n_users].username = hl->v[i].username;
			rs->facts[rs->n_users].username = hl->v[i].username;
			rs->n_users++;
		}
		u = &rs->users[rs->n_users - 1];
		if (hl->v[i].state == KW_STATE_ACTIVE)
			u->active++;
		if (hl->v[i].by_ldap) {
			u->ldap_suspended++;
			if (!u->ldap_suspended_at || (hl->v[i].suspended_at && hl->v[i].suspended_at < u->ldap_suspended_at))
				u->ldap_suspended_at = hl->v[i].suspended_at ? hl->v[i].suspended_at : now;
		}
	}
	rs->first[rs->n_users] = hl->n;
	return 0;
}

/* A held mass change: log it, and one audit row when the hold starts (not one per run). */
static void run_held(struct kwl_module *m, const struct kw_sync_plan *plan, size_t n_users, int64_t now, char *err,
		     size_t errlen)
{
	bool already;

	snprintf(err, errlen, "held: %u of %zu users would be cut off, more than the limit of %u; "
		 "confirm with {\"confirm_mass_change\":true}", plan->cut, n_users, plan->limit);
	log_warn("ldap-sync: mass change held would_cut=%u limit=%u holders=%zu", plan->cut, plan->limit, n_users);
	pthread_mutex_lock(&m->status_lock);
	already = m->status.pending;
	pthread_mutex_unlock(&m->status_lock);
	if (!already && store_audit_add(m->srv->store, now, SYNC_ACTOR, "ldap_sync", "directory", "held", err) < 0)
		log_error("ldap-sync: audit row failed");
}

/* A failed run changes nothing; one audit row when failures start. */
static void run_failed(struct kwl_module *m, int64_t now, const char *err)
{
	bool was_failing;

	log_error("ldap-sync: run failed, nothing changed error=\"%s\"", err);
	pthread_mutex_lock(&m->status_lock);
	was_failing = m->status.runs && m->status.last_outcome == KW_SYNC_FAILED;
	pthread_mutex_unlock(&m->status_lock);
	if (!was_failing && store_audit_add(m->srv->store, now, SYNC_ACTOR, "ldap_sync", "directory", "failed", err) < 0)
		log_error("ldap-sync: audit row failed");
}

/* Carry out the plan: each user's action, then the published keys. Returns the errors. */
static unsigned run_apply(struct kwl_module *m, struct kwl_gen *g, struct sync_run_set *rs,
			  const struct kw_sync_plan *plan, bool confirm, int64_t now)
{
	unsigned errors = 0;

	for (size_t k = 0; k < rs->n_users; k++) {
		if (rs->users[k].action == KW_SYNC_NONE)
			continue;
		if (apply_user(m, &rs->users[k], &rs->hl.v[rs->first[k]], rs->first[k + 1] - rs->first[k], now) < 0)
			errors++;
	}
	if (g->cfg.publish_attribute && *g->cfg.publish_attribute)
		errors += publish_keys(m, g, rs->users, rs->facts, rs->n_users, &rs->hl, rs->first);
	errors += sync_groups_of_users(m, g, rs->users, rs->n_users, now);
	if (plan->cut && confirm)
		(void)store_audit_add(m->srv->store, now, SYNC_ACTOR, "ldap_sync", "directory", "confirmed",
				      "mass change confirmed by an admin");
	return errors;
}

int sync_run(struct kwl_module *m, bool confirm, struct kw_sync_plan *plan_out, unsigned *apply_errors_out)
{
	struct sync_run_set rs = { 0 };
	struct kw_sync_plan plan;
	struct kw_sync_policy pol;
	struct kw_ldap_check_stats stats = { 0 };
	char err[512] = "";
	unsigned apply_errors = 0;
	int64_t t0 = now_ms(), now;
	struct kwl_gen *g;
	bool dir_ok;
	int r;

	pthread_mutex_lock(&m->run_lock);
	g = kwl_gen_get(m); /* one run, one set of settings, even across a SIGHUP */
	now = (int64_t)time(NULL);
	memset(&plan, 0, sizeof(plan));

	if (run_set_gather(m, now, &rs, err, sizeof(err)) < 0) {
		plan.outcome = KW_SYNC_FAILED;
		plan.errors = 1;
		goto record;
	}
	r = ldap_dir_check_users(g->dir, rs.facts, rs.n_users, &stats, err, sizeof(err));
	dir_ok = r == 0;
	for (size_t k = 0; dir_ok && k < rs.n_users; k++) {
		rs.users[k].presence = rs.facts[k].presence;
		rs.users[k].in_vpn_group = rs.facts[k].in_vpn_group;
		rs.users[k].group_unknown = rs.facts[k].group_unknown;
		rs.users[k].disabled = rs.facts[k].disabled;
	}
	pol.now = now;
	pol.revoke_after = g->cfg.revoke_after;
	pol.mass_limit = ldap_config_mass_limit(&g->cfg, (unsigned)rs.n_users);
	pol.confirm_mass_change = confirm;
	sync_plan_make(rs.users, rs.n_users, &pol, dir_ok, &plan);

	if (plan.outcome == KW_SYNC_HELD)
		run_held(m, &plan, rs.n_users, now, err, sizeof(err));
	else if (plan.outcome == KW_SYNC_FAILED)
		run_failed(m, now, err);
	else
		apply_errors = run_apply(m, g, &rs, &plan, confirm, now);
	/* Sessions and API tokens follow the directory too, user by user, also when the device
	 * plan is held or its batch check failed: a demotion is no mass cut-off of devices, and
	 * roles_sync stops at the first answer that is not "found" or "no such entry". */
	if (roles_sync(m, g, now) < 0)
		apply_errors++;
record:
	status_record(m, now, now_ms() - t0, &plan, apply_errors, err);
	sync_metrics(&plan, now_ms() - t0, (int64_t)time(NULL));
	log_info("ldap-sync: run outcome=%s checked=%u suspended=%u restored=%u revoked=%u errors=%u searches=%u "
		 "pages=%u duration_ms=%lld",
		 sync_outcome_name(plan.outcome), plan.checked, plan.suspend, plan.restore, plan.revoke,
		 plan.errors + apply_errors, stats.searches, stats.pages, (long long)(now_ms() - t0));
	kwl_gen_put(g);
	pthread_mutex_unlock(&m->run_lock);
	if (plan_out)
		*plan_out = plan;
	if (apply_errors_out)
		*apply_errors_out = apply_errors;
	run_set_free(&rs);
	return 0;
}

static void *sync_thread_main(void *arg)
{
	struct kwl_module *m = arg;
	struct timespec until;
	struct kwl_gen *g;
	unsigned interval;
	bool due;

	for (;;) {
		g = kwl_gen_get(m);
		interval = g->cfg.sync_interval; /* a SIGHUP may change it: read it every round */
		kwl_gen_put(g);
		pthread_mutex_lock(&m->wake_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += interval;
		due = false;
		while (!m->stopping && !m->retime && !due) {
			if (interval == 0) /* periodic sync switched off by a SIGHUP: wait to be told */
				pthread_cond_wait(&m->wake, &m->wake_lock);
			else if (pthread_cond_timedwait(&m->wake, &m->wake_lock, &until) == ETIMEDOUT)
				due = true;
		}
		if (m->retime && !m->stopping) {
			m->retime = false; /* new interval: start the wait again, no run now */
			pthread_mutex_unlock(&m->wake_lock);
			continue;
		}
		if (m->stopping) {
			pthread_mutex_unlock(&m->wake_lock);
			break;
		}
		pthread_mutex_unlock(&m->wake_lock);
		(void)sync_run(m, false, NULL, NULL);
	}
	return NULL;
}

int sync_thread_start(struct kwl_module *m)
{
	int r = pthread_create(&m->thread, NULL, sync_thread_main, m);

	if (r)
		return -r;
	m->thread_started = true;
	return 0;
}

void sync_thread_stop(struct kwl_module *m)
{
	if (!m->thread_started)
		return;
	pthread_mutex_lock(&m->wake_lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->wake_lock);
	pthread_join(m->thread, NULL);
	m->thread_started = false;
}
