/*
 * Talking to the controller with libcurl: one-shot requests (info, enroll, key
 * rotation) and the config long-poll, which runs on a curl multi handle so the run
 * loop can wait on it together with its signal descriptor.
 * https:// verifies the server certificate (system CAs or a CA file); plain http:// is
 * allowed only to a loopback address, or with an explicit insecure_http.
 */
#ifndef KW_AGENT_FETCH_H
#define KW_AGENT_FETCH_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct fetch_opts {
	const char *server;  /* base URL, e.g. https://vpn.example.com or http://127.0.0.1:8080 */
	const char *ca_file; /* NULL/empty: system CAs */
	bool insecure_http;
	long timeout_s;      /* whole request; 0 = 30 */
};

/* 0 when the URL may be used; -EPROTONOSUPPORT for a scheme other than http(s),
 * -EPERM for plain http to a non-loopback host without insecure_http, -EINVAL. */
int fetch_url_check(const char *url, bool insecure_http);

/*
 * One request: method, path below the server ("/api/v1/info"), optional bearer token,
 * optional JSON body. *status is the HTTP status; *reply the parsed JSON body when there
 * is one (new reference, may be NULL). Returns 0 when an HTTP answer came back, or a
 * negative errno for transport failures (-ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH,
 * -EPROTO for TLS problems).
 */
int fetch_request(const struct fetch_opts *o, const char *method, const char *path,
		  const char *token, const json_t *body, long *status, json_t **reply);

/* The same with a body already serialised (JSON text of body_len bytes, or NULL): the
 * caller owns the bytes, so a body holding a password can live in memory the caller
 * zeroes (enroll.c). libcurl reads it in place and keeps no copy. */
int fetch_request_text(const struct fetch_opts *o, const char *method, const char *path,
		       const char *token, const char *body, size_t body_len, long *status,
		       json_t **reply);

/* The error code of a controller error body {"error":{"code":…}}, or "". */
const char *fetch_error_code(const json_t *reply);

/* Asynchronous long-poll of GET /api/v1/devices/{id}/config?after=N&wait=S. */
struct fetch_poll;

int fetch_poll_new(struct fetch_poll **out);
void fetch_poll_free(struct fetch_poll *p);
/* Start one poll (none may be in flight). */
int fetch_poll_start(struct fetch_poll *p, const struct fetch_opts *o, const char *device_id,
		     const char *token, uint64_t after, int wait_s);
bool fetch_poll_busy(const struct fetch_poll *p);
/* Abort the one in flight, if any. */
void fetch_poll_cancel(struct fetch_poll *p);
/*
 * Wait up to timeout_ms for the poll and for extra_fd (may be -1) to become readable.
 * fetch_request: *err 0 or negative errno), 0 otherwise; *extra_ready tells about
 * fetch_request: *err 0 or negative errno), 0 otherwise; *extra_ready tells about
 * extra_fd.
 */
/* Seconds the controller asked us to wait (Retry-After) with the last answer, or 0. */
long fetch_poll_retry_after(const struct fetch_poll *p);
int fetch_poll_wait(struct fetch_poll *p, int extra_fd, int timeout_ms, bool *extra_ready,
		    long *status, json_t **reply, int *err);

/*
 * Delay before retry number attempt (0-based): min(max_ms, base_ms * 2^attempt), then a
 * uniform random factor in [0.5, 1] so a fleet does not retry in lock step.
 */
long fetch_backoff_ms(unsigned attempt, long base_ms, long max_ms);

#endif
