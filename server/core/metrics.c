/*
 * The metrics registry (relaxed atomic counters, no locks) and the Prometheus text format
 * 0.0.4 renderer. See metrics.h.
 */
#include "config.h"

#include <errno.h>
#include <math.h> /* isnan, isinf: macros, no libm */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

/* ---- text ---- */

static void text_put(struct metrics_text *t, const char *s, size_t n)
{
	if (t->err)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;

		while (t->len + n + 1 > cap)
			cap *= 2;
		p = realloc(t->p, cap);
		if (!p) {
			t->err = -ENOMEM;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_str(struct metrics_text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

static void text_escape(struct metrics_text *t, const char *v, bool quote)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\\')
			text_put(t, "\\\\", 2);
		else if (*p == '\n')
			text_put(t, "\\n", 2);
		else if (*p == '"' && quote)
			text_put(t, "\\\"", 2);
		else
			text_put(t, p, 1);
	}
}

void metrics_text_escaped(struct metrics_text *t, const char *v)
{
	text_escape(t, v, true);
}

void metrics_text_header(struct metrics_text *t, const char *name, const char *type, const char *help)
{
	text_str(t, "# HELP ");
	text_str(t, name);
	text_str(t, " ");
	text_escape(t, help, false);
	text_str(t, "\n# TYPE ");
	text_str(t, name);
	text_str(t, " ");
	text_str(t, type);
	text_str(t, "\n");
}

static void format_value(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	else if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.15g", v);
}

static void sample_labels(struct metrics_text *t, const struct metrics_label *labels, size_t n, const char *le)
{
	if (n == 0 && !le)
		return;
	text_str(t, "{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			text_str(t, ",");
		text_str(t, labels[i].name);
		text_str(t, "=\"");
		metrics_text_escaped(t, labels[i].value ? labels[i].value : "");
		text_str(t, "\"");
	}
	if (le) {
		text_str(t, n ? ",le=\"" : "le=\"");
		text_str(t, le);
		text_str(t, "\"");
	}
	text_str(t, "}");
}

static void sample_line(struct metrics_text *t, const char *name, const char *suffix,
			const struct metrics_label *labels, size_t n, const char *le, double value)
{
	char v[64];

	text_str(t, name);
	text_str(t, suffix);
	sample_labels(t, labels, n, le);
	format_value(v, sizeof(v), value);
	text_str(t, " ");
	text_str(t, v);
	text_str(t, "\n");
}

void metrics_text_sample(struct metrics_text *t, const char *name, const struct metrics_label *labels,
			 size_t nlabels, double value)
{
	sample_line(t, name, "", labels, nlabels, NULL, value);
}

void metrics_text_free(struct metrics_text *t)
{
	free(t->p);
	memset(t, 0, sizeof(*t));
}

/* ---- histograms ---- */

void metrics_histogram_observe(struct metrics_histogram *h, const struct metrics_bounds *b, double seconds)
{
	size_t i = 0;

	if (!(seconds >= 0)) /* negative or NaN: a clock step; count it as 0 */
		seconds = 0;
	while (i < b->n && seconds > b->v[i])
		i++;
	ADD(&h->bucket[i], 1);
	ADD(&h->sum_us, (uint64_t)(seconds * 1e6 + 0.5));
}

void metrics_text_histogram(struct metrics_text *t, const char *name, const struct metrics_label *labels,
			    size_t nlabels, const struct metrics_histogram *h, const struct metrics_bounds *b)
{
	uint64_t cum = 0;
	char le[64];

	for (size_t i = 0; i <= b->n; i++) {
		cum += LOAD(&h->bucket[i]);
		if (i < b->n)
			format_value(le, sizeof(le), b->v[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		sample_line(t, name, "_bucket", labels, nlabels, le, (double)cum);
	}
	sample_line(t, name, "_sum", labels, nlabels, NULL, (double)LOAD(&h->sum_us) / 1e6);
	sample_line(t, name, "_count", labels, nlabels, NULL, (double)cum);
}

/* ---- the registry ---- */

static const double http_bounds_v[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
static const struct metrics_bounds http_bounds = { http_bounds_v, sizeof(http_bounds_v) / sizeof(double) };
static const double sync_bounds_v[] = { 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600 };
static const struct metrics_bounds sync_bounds = { sync_bounds_v, sizeof(sync_bounds_v) / sizeof(double) };

static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other" };
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/*
 * HTTP series in one open-addressed table: a slot is claimed once with a compare-and-swap
 * and never freed, so a reader that sees it READY may read its key without a lock. The key
 * is (method, route pattern, status); status HIST_SLOT marks the latency histogram of
 * (method, route). The route count is bounded by the route tables, so the table never
 * fills in practice; if it did, the request is counted in http_dropped.
 */
#define HTTP_SLOTS 1024
#define HIST_SLOT (-1)
enum { SLOT_EMPTY = 0, SLOT_WRITING, SLOT_READY };

struct http_slot {
	unsigned state;
	unsigned method;
	int status;
	const char *route;
	uint64_t count;
	struct metrics_histogram hist;
};

static struct {
	struct http_slot http[HTTP_SLOTS];
	uint64_t http_dropped;
	uint64_t enroll[METRICS_ENROLL_N];
	uint64_t login_failures[METRICS_LOGIN_N];
	uint64_t login_rate_limited;
	uint64_t directory_errors[METRICS_DIR_N];
	uint64_t sync_runs[METRICS_SYNC_N];
	struct metrics_histogram sync_duration;
	int64_t sync_last_success;
	uint64_t store_busy;
} reg;

static const char *const enroll_names[METRICS_ENROLL_N] = {
	"success", "invalid_request", "unauthorized", "forbidden", "conflict", "rate_limited", "unavailable", "error",
};
static const char *const login_names[METRICS_LOGIN_N] = { "invalid_credentials", "account_disabled",
							  "empty_password" };
static const char *const dir_names[METRICS_DIR_N] = { "login", "session_check", "sync" };
static const char *const sync_names[METRICS_SYNC_N] = { "ok", "held", "failed" };

static unsigned method_index(const char *m)
{
	for (unsigned i = 0; i + 1 < NMETHODS; i++)
		if (m && strcmp(m, methods[i]) == 0)
			return i;
	return NMETHODS - 1;
}

static uint32_t slot_hash(unsigned method, const char *route, int status)
{
	uint32_t h = 2166136261u;

	for (const char *p = route; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ method) * 16777619u;
	return (h ^ (uint32_t)status) * 16777619u;
}

static struct http_slot *http_slot_get(unsigned method, const char *route, int status)
{
	uint32_t h = slot_hash(method, route, status);

	for (unsigned i = 0; i < HTTP_SLOTS; i++) {
		struct http_slot *s = &reg.http[(h + i) % HTTP_SLOTS];
		unsigned st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

		if (st == SLOT_EMPTY) {
			unsigned expect = SLOT_EMPTY;

			if (__atomic_compare_exchange_n(&s->state, &expect, SLOT_WRITING, false, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				s->method = method;
				s->status = status;
				s->route = route;
				__atomic_store_n(&s->state, SLOT_READY, __ATOMIC_RELEASE);
				return s;
			}
			st = expect;
		}
		while (st == SLOT_WRITING) /* another thread is writing three fields: a few instructions */
			st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (s->method == method && s->status == status && strcmp(s->route, route) == 0)
			return s;
	}
	return NULL;
}

void metrics_http_request(const char *method, const char *route, bool web, int status,
			  const struct timespec *start)
{
	unsigned m = method_index(method);
	struct http_slot *c, *h;
	struct timespec now;
	double seconds;

	clock_gettime(CLOCK_MONOTONIC, &now);
	seconds = (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;

	if (!route)
		route = web ? "web" : "unmatched";
	if (status < 100 || status > 599)
		status = 500;
	c = http_slot_get(m, route, status);
	h = http_slot_get(m, route, HIST_SLOT);
	if (!c || !h) {
		ADD(&reg.http_dropped, 1);
		return;
	}
	ADD(&c->count, 1);
	metrics_histogram_observe(&h->hist, &http_bounds, seconds);
}

void metrics_enroll_status(int status)
{
	enum metrics_enroll_outcome o;

	switch (status) {
	case 200: case 201: o = METRICS_ENROLL_SUCCESS; break;
	case 400: o = METRICS_ENROLL_INVALID_REQUEST; break;
	case 401: o = METRICS_ENROLL_UNAUTHORIZED; break;
	case 403: o = METRICS_ENROLL_FORBIDDEN; break;
	case 409: o = METRICS_ENROLL_CONFLICT; break;
	case 429: o = METRICS_ENROLL_RATE_LIMITED; break;
	case 503: o = METRICS_ENROLL_UNAVAILABLE; break;
	default: o = METRICS_ENROLL_ERROR; break;
	}
	ADD(&reg.enroll[o], 1);
}

void metrics_login_failure(enum metrics_login_failure why)
{
	if ((unsigned)why < METRICS_LOGIN_N)
		ADD(&reg.login_failures[why], 1);
}

void metrics_login_rate_limited(void)
{
	ADD(&reg.login_rate_limited, 1);
}

void metrics_directory_error(enum metrics_directory_op op)
{
	if ((unsigned)op < METRICS_DIR_N)
		ADD(&reg.directory_errors[op], 1);
}

void metrics_sync_run(enum metrics_sync_outcome outcome, double seconds, int64_t now)
{
	if ((unsigned)outcome >= METRICS_SYNC_N)
		return;
	ADD(&reg.sync_runs[outcome], 1);
	metrics_histogram_observe(&reg.sync_duration, &sync_bounds, seconds);
	if (outcome == METRICS_SYNC_OK)
		__atomic_store_n(&reg.sync_last_success, now, __ATOMIC_RELAXED);
}

void metrics_store_busy(void)
{
	ADD(&reg.store_busy, 1);
}

void metrics_reset(void)
{
	memset(&reg, 0, sizeof(reg));
}

/* ---- rendering ---- */

static void render_vec(struct metrics_text *t, const char *name, const char *type, const char *help,
		       const char *label, const char *const *names, const uint64_t *v, size_t n)
{
	metrics_text_header(t, name, type, help);
	for (size_t i = 0; i < n; i++) {
		struct metrics_label l = { label, names[i] };

		metrics_text_sample(t, name, &l, 1, (double)LOAD(&v[i]));
	}
}

static void render_one(struct metrics_text *t, const char *name, const char *type, const char *help, double v)
{
	metrics_text_header(t, name, type, help);
	metrics_text_sample(t, name, NULL, 0, v);
}

static void render_http(struct metrics_text *t)
{
	char status[8];

	metrics_text_header(t, "keyway_http_requests_total", "counter",
			    "HTTP requests answered, by method, route pattern and status");
	for (size_t i = 0; i < HTTP_SLOTS; i++) {
		const struct http_slot *s = &reg.http[i];

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_READY || s->status == HIST_SLOT)
			continue;
		snprintf(status, sizeof(status), "%d", s->status);
		struct metrics_label l[3] = { { "method", methods[s->method] }, { "route", s->route },
					      { "status", status } };
		metrics_text_sample(t, "keyway_http_requests_total", l, 3, (double)LOAD(&s->count));
	}
	metrics_text_header(t, "keyway_http_request_duration_seconds", "histogram",
			    "time from the request's arrival to its answer (a long-poll's includes its wait)");
	for (size_t i = 0; i < HTTP_SLOTS; i++) {
		const struct http_slot *s = &reg.http[i];

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SLOT_READY || s->status != HIST_SLOT)
			continue;
		struct metrics_label l[2] = { { "method", methods[s->method] }, { "route", s->route } };
		metrics_text_histogram(t, "keyway_http_request_duration_seconds", l, 2, &s->hist, &http_bounds);
	}
	render_one(t, "keyway_http_series_dropped_total", "counter",
		   "requests not counted because the series table was full", (double)LOAD(&reg.http_dropped));
}

static void render_devices(struct metrics_text *t, const struct metrics_scrape *s)
{
	static const char *const states[] = { "active", "suspended", "revoked" };
	static const char *const roles[] = { "device", "gateway" };

	if (!s->devices_ok)
		return;
	metrics_text_header(t, "keyway_devices", "gauge", "devices in the database, by state and role");
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 2; j++) {
			struct metrics_label l[2] = { { "state", states[i] }, { "role", roles[j] } };

			metrics_text_sample(t, "keyway_devices", l, 2, (double)s->devices[i][j]);
		}
}

static void render_directory(struct metrics_text *t)
{
	render_vec(t, "keyway_login_failures_total", "counter", "refused logins (and password enrollments), by reason",
		   "reason", login_names, reg.login_failures, METRICS_LOGIN_N);
	render_one(t, "keyway_login_rate_limited_total", "counter", "logins refused by the failed-login rate limit",
		   (double)LOAD(&reg.login_rate_limited));
	render_vec(t, "keyway_directory_errors_total", "counter",
		   "directory (LDAP) unreachable or answering an error, by operation", "operation", dir_names,
		   reg.directory_errors, METRICS_DIR_N);
	render_vec(t, "keyway_ldap_sync_runs_total", "counter", "LDAP sync runs, by outcome", "outcome", sync_names,
		   reg.sync_runs, METRICS_SYNC_N);
	metrics_text_header(t, "keyway_ldap_sync_duration_seconds", "histogram", "duration of LDAP sync runs");
	metrics_text_histogram(t, "keyway_ldap_sync_duration_seconds", NULL, 0, &reg.sync_duration, &sync_bounds);
	render_one(t, "keyway_ldap_sync_held_mass_changes_total", "counter",
		   "sync runs held by the mass-change guard (waiting for an admin's confirmation)",
		   (double)LOAD(&reg.sync_runs[METRICS_SYNC_HELD]));
	render_one(t, "keyway_ldap_sync_last_success_timestamp_seconds", "gauge",
		   "unix time of the last successful sync run (0: none since keywayd started)",
		   (double)__atomic_load_n(&reg.sync_last_success, __ATOMIC_RELAXED));
}

int metrics_render(const struct metrics_scrape *s, char **text, size_t *len)
{
	struct metrics_text t = { 0 };
	struct metrics_label v = { "version", s->version ? s->version : "" };

	metrics_text_header(&t, "keyway_build_info", "gauge", "keywayd's version, as a label; always 1");
	metrics_text_sample(&t, "keyway_build_info", &v, 1, 1);
	render_http(&t);
	render_vec(&t, "keyway_enrollments_total", "counter", "enrollments (POST /api/v1/enroll), by outcome",
		   "outcome", enroll_names, reg.enroll, METRICS_ENROLL_N);
	render_devices(&t, s);
	render_one(&t, "keyway_longpolls_parked", "gauge", "config long-polls parked, waiting for a change",
		   (double)s->longpolls);
	if (s->directory)
		render_directory(&t);
	render_one(&t, "keyway_store_busy_total", "counter", "database busy answers (HTTP 503 busy)",
		   (double)LOAD(&reg.store_busy));
	if (t.err) {
		int err = t.err;

		metrics_text_free(&t);
		return err;
	}
	*text = t.p;
	*len = t.len;
	return 0;
}
