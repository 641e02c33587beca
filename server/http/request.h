/*
 * The request contract every handler codes against (keywayd, API v1): struct kw_req, the
 * route shape, error replies and body validation. The HTTP part (server/http/) fills a
 * kw_req from libmicrohttpd; handlers live in server/api/ and server/directory/.
 *
 * A handler has one shape:
 *     int api_x(struct kw_req *req, json_t *in, json_t **out);
 * - `in` is the parsed JSON body (always an object) for routes declared with KW_BODY_JSON
 *   or KW_BODY_OPTIONAL and a non-empty body; NULL otherwise. The HTTP layer already
 *   rejected malformed JSON, non-objects and bodies over KW_BODY_MAX with 400.
 * - It returns the HTTP status (200, 201, 204, 304, 4xx, 5xx) and sets *out to a new JSON
 *   reference for the body (NULL for none). Errors go through api_error(), which sets *out
 *   to {"error":{"code":…,"message":…}} and returns the status, so `return api_error(…);`.
 * - Instead of *out a handler may set a raw body with req_set_body() (the web console's
 *   files, a cached signed config).
 * - Returning KW_HTTP_SUSPEND (after req_longpoll_until()) parks the request without a
 *   thread; the HTTP layer calls the handler again, with the same req, when the store
 *   reports a change or the deadline passes.
 * Handlers never see libmicrohttpd: the Check suites build a struct kw_req by hand
 * (req_init_test()) and call them directly.
 *
 * The routes of API v1 are one static table (server/api/routes.c); the directory part adds
 * its own (login, logout, LDAP status and sync) when a directory is configured. Both go
 * through routes_register() (server/http/router.h) before http_start().
 */
#ifndef KW_HTTP_REQUEST_H
#define KW_HTTP_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/server.h"

#define KW_BODY_MAX (64 * 1024)
/* Returned by a handler to park the request (long-poll). Not a real status, and not 0, so a
 * stray `return 0` is an error (500), never a parked request. */
#define KW_HTTP_SUSPEND (-1000)
#define KW_MAX_PATH_PARAMS 4

enum kw_principal_kind {
	KW_PRINCIPAL_NONE = 0, /* anonymous */
	KW_PRINCIPAL_API_TOKEN, /* admin API token (automation); always admin */
	KW_PRINCIPAL_SESSION,   /* a user login (LDAP), role admin or user */
	KW_PRINCIPAL_DEVICE,    /* a device token (its own config, its own key) */
};

enum kw_role {
	KW_ROLE_NONE = 0,
	KW_ROLE_ADMIN,
	KW_ROLE_USER,
	KW_ROLE_DEVICE,
};

#define KW_NAME_MAX 256

/* Who is calling; filled by the HTTP layer from Authorization: Bearer or the kw_session cookie. */
struct kw_principal {
	enum kw_principal_kind kind;
	enum kw_role role;
	int64_t id;                  /* api_tokens.id, sessions.id or devices.id */
	char username[KW_NAME_MAX];  /* session or device owner; token name for an API token */
	char actor[KW_NAME_MAX + 16]; /* for audit rows: "api-token:NAME", "user:alice", "device:12" */
	bool via_cookie;             /* session came from the cookie (CSRF was checked) */
	bool is_gateway;             /* a device token of a gateway */
};

struct kw_kv {
	const char *key;
	const char *value;
};

#define KW_MAX_RESP_HEADERS 8

/* One request. Strings are valid for the duration of the request only. */
struct kw_req {
	struct kw_server *srv;
	const char *method;  /* "GET", "POST", … */
	const char *path;    /* without the query string */
	const char *params[KW_MAX_PATH_PARAMS]; /* {id}/{username} path segments, in order */
	size_t nparams;
	char param_buf[KW_MAX_PATH_PARAMS][256]; /* where params point (set by routing) */
	struct kw_principal principal;
	char client_addr[64]; /* "127.0.0.1" or "::1" */
	int64_t now;          /* unix seconds at arrival (tests set it) */

	/* Filled by the HTTP layer (or a test): query args, request headers, cookies. */
	const struct kw_kv *query;
	size_t nquery;
	const struct kw_kv *headers;
	size_t nheaders;
	const struct kw_kv *cookies;
	size_t ncookies;

	/* Response side, filled by the handler through the req_* helpers. */
	struct kw_kv resp_headers[KW_MAX_RESP_HEADERS]; /* owned (malloc'd) copies */
	size_t nresp_headers;
	char *resp_body;          /* raw body (req_set_body), owned */
	size_t resp_body_len;
	char resp_type[64];       /* its Content-Type */

	/* Long-poll state kept across the calls of one request. */
	int64_t wait_deadline_ms; /* 0: not waiting */
	uint64_t wait_seen;       /* store change counter when the handler last looked */
	int ncalls;               /* how often the handler has run for this request */

	void *http; /* the HTTP layer's private state; handlers never touch it */
	const void *auth_device; /* struct kw_device * read by authentication (device tokens), or NULL */
};

typedef int (*kw_handler_fn)(struct kw_req *req, json_t *in, json_t **out);

enum kw_auth {
	KW_AUTH_NONE = 0, /* anyone (health, info, enroll, login) */
	KW_AUTH_ANY,      /* any valid credential; the handler checks which */
	KW_AUTH_ADMIN,    /* admin API token or admin session */
};

enum kw_body {
	KW_BODY_NONE = 0, /* a body is ignored */
	KW_BODY_JSON,     /* a JSON object is required */
	KW_BODY_OPTIONAL, /* a JSON object when present */
};

/*
 * A route: method + pattern. Patterns match segment by segment; "{}" matches one
 * non-empty segment and is passed in req->params. Example: "/api/v1/devices/{}/config".
 */
struct kw_route {
	const char *method;
	const char *pattern;
	kw_handler_fn handler;
	enum kw_auth auth;
	enum kw_body body;
};

/* ---- helpers for handlers (server/http/request.c) ---- */

/* Sets *out to {"error":{"code":code,"message":…}} and returns status. */
int api_error(json_t **out, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Map a negative errno from the store to a status + error (one table for the API). */
int api_error_errno(json_t **out, int err, const char *what);
/* The answer of a list handler that filled array a (ret: 0 or the store's negative errno): {key: a} with 200, or
 * the error (what: as for api_error_errno) with a freed. */
int api_list_reply(json_t **out, int ret, json_t *a, const char *key, const char *what);
struct kw_store;
/* DELETE of the item whose id is the first path parameter: del(store, id, actor, now), then 204; a malformed id
 * is 404 "no such <what>", a store error is answered as by api_error_errno. */
int api_delete_by_id(struct kw_req *req, json_t **out,
		     int (*del)(struct kw_store *st, int64_t id, const char *actor, int64_t now), const char *what);

/* Query argument, request header (case-insensitive), cookie; NULL when absent. */
const char *req_query(const struct kw_req *req, const char *name);
const char *req_header(const struct kw_req *req, const char *name);
const char *req_cookie(const struct kw_req *req, const char *name);
/* Decimal digits only (at most 18: no overflow) with a value in [min, max]; false otherwise. */
bool api_parse_uint(const char *s, int64_t min, int64_t max, int64_t *v);
/* Path parameter i as a positive int64; false when it is not one. */
bool req_param_id(const struct kw_req *req, size_t i, int64_t *id);

/* Add a response header (Set-Cookie, Retry-After, security headers…). 0 or -ENOSPC/-ENOMEM. */
int req_add_header(struct kw_req *req, const char *name, const char *value);
/* Raw response body (copied), instead of *out. 0 or -ENOMEM. */
int req_set_body(struct kw_req *req, const char *content_type, const void *data, size_t len);
/* The same, taking ownership of malloc'd data (freed with free()). */
void req_set_body_owned(struct kw_req *req, const char *content_type, char *data, size_t len);
/* Park the request until the deadline (ms since the epoch, CLOCK_REALTIME) or a change. */
void req_longpoll_until(struct kw_req *req, int64_t deadline_ms);

bool req_is_admin(const struct kw_req *req);

/* Tests: zero a req and set srv, method, path, now. Free with req_release(). */
void req_init_test(struct kw_req *req, struct kw_server *srv, const char *method, const char *path);
/* Free what the response side owns (headers, raw body). */
void req_release(struct kw_req *req);

/* JSON body validation: each returns 0, or a 400 status with *err set (for `return`). */
int json_get_string(json_t *in, const char *field, bool required, size_t max_len,
		    const char **value, json_t **err);
int json_get_int(json_t *in, const char *field, bool required, int64_t min, int64_t max,
		 int64_t *value, json_t **err);
int json_get_bool(json_t *in, const char *field, bool required, bool *value, json_t **err);
/* Does UTF-8 text hold a bidi control, a zero-width character or a C1 control? */
bool text_has_invisible(const char *text);
/* Like json_get_string, for labels (names, usernames, hostnames, reasons): no control,
 * bidirectional or zero-width characters (text_has_invisible). */
int json_get_label(json_t *in, const char *field, bool required, size_t max_len, const char **value,
		   json_t **err);
/* A WireGuard public key: base64 of exactly 32 bytes. */
int json_get_wg_key(json_t *in, const char *field, bool required, const char **b64,
		    uint8_t key[32], json_t **err);

#endif
