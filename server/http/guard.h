/*
 * What keeps one client from starving the others at the HTTP layer, and the checks every
 * request passes before routing: per-address connection limit, absolute deadlines for the
 * request headers and body (libmicrohttpd's own timeout restarts on every byte), a smaller
 * body cap without a credential, libmicrohttpd's messages summarised once per interval,
 * and refusals of odd requests (control bytes or %00 in the path, a repeated
 * Content-Length, a JSON body of another media type, a foreign Origin).
 * Internal to the http part.
 */
#ifndef KW_HTTP_GUARD_H
#define KW_HTTP_GUARD_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "request.h"
#include "router.h"

struct kw_guard;
struct kw_conf;

/* Body cap for a request without a credential header (login and enroll bodies are small). */
#define KW_GUARD_ANON_BODY_MAX 8192

/* New guard for conf's limits; its watchdog thread starts with guard_start. */
int guard_new(const struct kw_conf *conf, struct kw_guard **out);
/* Append the libmicrohttpd options the guard needs (at most 4) to opts at *n. */
void guard_options(struct kw_guard *g, struct MHD_OptionItem *opts, size_t *n);
/* The watchdog thread: closes connections past their deadline, logs the summaries. */
int guard_start(struct kw_guard *g);
/* Stop the thread (call after MHD_stop_daemon) and free. NULL is fine. */
void guard_free(struct kw_guard *g);

/* First call for a request (headers complete): 0, or a status with *out (400 for a bad path
 * or a repeated Content-Length). Starts the body deadline. */
int guard_request_headers(struct kw_guard *g, struct MHD_Connection *conn, const char *url, json_t **out);
/* The request is read (answered or parked): no deadline until it completes. */
void guard_request_answered(struct kw_guard *g, struct MHD_Connection *conn);
/* The request completed: a kept-alive connection has header_timeout for its next one. */
void guard_request_completed(struct kw_guard *g, struct MHD_Connection *conn);
/* A body chunk arrived: false when the body deadline has passed (drop the connection). */
bool guard_body_in_time(struct kw_guard *g, struct MHD_Connection *conn);
/* The request's headers carry a credential (Authorization or the session cookie). */
bool guard_has_credential(const struct kw_req *req);
/*
 * Before the handler of an API route: a JSON body must be sent as application/json (415),
 * and a state-changing request without an Authorization header (a cookie or a login) that
 * carries Origin must come from this server's own origin (403). 0 or a status with *out.
 */
int guard_api_request(const struct kw_req *req, const struct kw_route *route, size_t body_len, json_t **out);
/* libmicrohttpd's error log, summarised: the first message of an interval at once, the
 * number of the others in one line at the end of it. */
void guard_mhd_log(void *cls, const char *fmt, va_list ap);

#endif
