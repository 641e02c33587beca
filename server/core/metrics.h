/*
 * keywayd's Prometheus metrics: a small lock-free registry and the text exposition format
 * 0.0.4 renderer.
 *
 * Every series has a fixed label set known at compile time (outcomes, reasons) or taken
 * from static strings with a bounded count (route patterns of the registered tables, never
 * the raw path). Updates are relaxed atomic adds, safe from any thread, with no lock: a
 * request or a sync run never waits for a scrape. The registry is one per process (like a
 * Prometheus client's default registry); metrics_reset() clears it for the tests.
 *
 * Values read from elsewhere at scrape time (devices by state and role, parked long-polls)
 * are passed to metrics_render() in struct metrics_scrape by the caller (http/metrics_http.c).
 */
#ifndef KW_CORE_METRICS_H
#define KW_CORE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- the exposition text (pure; the unit tests drive it directly) ---- */

/* A growable text buffer; on allocation failure err is set and further writes are dropped. */
struct metrics_text {
	char *p;
	size_t len, cap;
	int err; /* 0 or -ENOMEM */
};

struct metrics_label {
	const char *name;
	const char *value; /* any bytes; escaped as the format wants (\\, \", \n) */
};

/* The label value v escaped: backslash, double quote and line feed. */
void metrics_text_escaped(struct metrics_text *t, const char *v);
/* "# HELP name help\n# TYPE name type\n" (help escaped: \\ and \n). */
void metrics_text_header(struct metrics_text *t, const char *name, const char *type, const char *help);
/* One sample line: name{l1="v1",...} value. Values are written with %.17g ("+Inf" for infinity). */
void metrics_text_sample(struct metrics_text *t, const char *name, const struct metrics_label *labels,
			 size_t nlabels, double value);
void metrics_text_free(struct metrics_text *t);

/* A histogram: cumulative buckets over fixed upper bounds (seconds), plus sum and count. */
#define METRICS_HIST_MAX_BUCKETS 16
struct metrics_histogram {
	/* Observations in (bound[i-1], bound[i]]; the last used one is above every bound. Not
	 * cumulative, and no separate count: the rendered count is their total, so it always
	 * equals the +Inf bucket even while other threads observe. */
	uint64_t bucket[METRICS_HIST_MAX_BUCKETS + 1];
	uint64_t sum_us; /* microseconds: an integer, so an atomic add */
};

struct metrics_bounds {
	const double *v; /* increasing; +Inf is implicit */
	size_t n;        /* at most METRICS_HIST_MAX_BUCKETS */
};

void metrics_histogram_observe(struct metrics_histogram *h, const struct metrics_bounds *b, double seconds);
/* name_bucket{labels,le="..."} (cumulative, then le="+Inf"), name_sum, name_count. */
void metrics_text_histogram(struct metrics_text *t, const char *name, const struct metrics_label *labels,
			    size_t nlabels, const struct metrics_histogram *h, const struct metrics_bounds *b);

/* ---- the registry ---- */

enum metrics_enroll_outcome {
	METRICS_ENROLL_SUCCESS = 0,
	METRICS_ENROLL_INVALID_REQUEST,  /* 400 */
	METRICS_ENROLL_UNAUTHORIZED,     /* 401: unknown/spent token, bad password */
	METRICS_ENROLL_FORBIDDEN,        /* 403: not in the VPN group, disabled */
	METRICS_ENROLL_CONFLICT,         /* 409: key in use, device limit */
	METRICS_ENROLL_RATE_LIMITED,     /* 429 */
	METRICS_ENROLL_UNAVAILABLE,      /* 503: directory or database */
	METRICS_ENROLL_ERROR,            /* anything else */
	METRICS_ENROLL_N
};

enum metrics_login_failure {
	METRICS_LOGIN_INVALID_CREDENTIALS = 0,
	METRICS_LOGIN_ACCOUNT_DISABLED,
	METRICS_LOGIN_EMPTY_PASSWORD,
	METRICS_LOGIN_N
};

enum metrics_directory_op {
	METRICS_DIR_LOGIN = 0,  /* a login or an enrollment with username and password */
	METRICS_DIR_SESSION,    /* the directory check of a session's enrollment */
	METRICS_DIR_SYNC,       /* a sync run that could not read the directory */
	METRICS_DIR_N
};

enum metrics_sync_outcome { METRICS_SYNC_OK = 0, METRICS_SYNC_HELD, METRICS_SYNC_FAILED, METRICS_SYNC_N };

/* One finished HTTP request. route: the matched route's pattern (static storage), or NULL
 * when none matched (then "unmatched" under /api/, "web" for the console's files); start:
 * its arrival on CLOCK_MONOTONIC. */
void metrics_http_request(const char *method, const char *route, bool web, int status,
			  const struct timespec *start);
/* The enrollment's HTTP status, mapped to an outcome. */
void metrics_enroll_status(int status);
void metrics_login_failure(enum metrics_login_failure why);
void metrics_login_rate_limited(void);
void metrics_directory_error(enum metrics_directory_op op);
/* One sync run: its outcome, duration, and (outcome OK) the wall clock time it finished. */
void metrics_sync_run(enum metrics_sync_outcome outcome, double seconds, int64_t now);
/* The store mapped SQLITE_BUSY/LOCKED to -EBUSY. */
void metrics_store_busy(void);

/* What is read at scrape time. */
struct metrics_scrape {
	bool devices_ok;            /* false: the store could not be read, no device series */
	int64_t devices[3][2];      /* [state: active, suspended, revoked][role: device, gateway] */
	unsigned longpolls;         /* parked long-polls */
	bool directory;             /* a directory is configured: the sync series are written */
	const char *version;
};

/* The whole exposition into *text (malloc'd, NUL-terminated). 0 or -ENOMEM. */
int metrics_render(const struct metrics_scrape *s, char **text, size_t *len);
/* Zero every series (tests). Not safe while other threads update. */
void metrics_reset(void);

#endif
