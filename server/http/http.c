/*
 * libmicrohttpd glue: one place that turns HTTP into a struct kw_req, authenticates it,
 * reads and parses the body (capped at 64 KiB), dispatches to the route's handler and
 * turns its answer into a response. Per-request state is freed in the completion callback.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "auth.h"
#include "core/conf.h"
#include "core/metrics.h"
#include "fileutil.h"
#include "guard.h"
#include "http.h"
#include "log.h"
#include "longpoll.h"
#include "router.h"
#include "store/store.h"
#include "core/token.h"
#include "web.h"

#define MAX_KV 48
/* Connection slots never taken by parked long-polls: an eighth, at most 64. */
static unsigned longpoll_reserve(unsigned max_connections)
{
	return max_connections / 8 < 64 ? max_connections / 8 : 64;
}

struct kw_http {
	struct MHD_Daemon *daemon;
	struct kw_server *srv;
	struct kw_guard *guard;
	char *tls_cert;
	char *tls_key;
	size_t tls_key_len;
	int port;
};

struct http_ctx {
	struct kw_req req;
	struct kw_http *h;
	char *body;
	size_t body_len;
	bool too_large;
	bool prepared;
	bool web;
	const struct kw_route *route;
	json_t *in;
	struct timespec start;
	struct kw_device auth_device; /* a device token's row, for the handler */
	struct kw_kv query[MAX_KV], headers[MAX_KV], cookies[MAX_KV];
};

struct kv_fill {
	struct kw_kv *kv;
	size_t n;
};

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct kv_fill *f = cls;

	if (f->n < MAX_KV) {
		f->kv[f->n].key = key;
		f->kv[f->n].value = value;
		f->n++;
	}
	return MHD_YES;
}

static void collect(struct MHD_Connection *conn, enum MHD_ValueKind kind, struct kw_kv *kv, size_t *n)
{
	struct kv_fill f = { .kv = kv };

	MHD_get_connection_values(conn, kind, collect_kv, &f);
	*n = f.n;
}

static void client_addr(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	buf[0] = '\0';
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf, (socklen_t)len);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_ctx *x = *con_cls;

	if (!x)
		return;
	guard_request_completed(x->h->guard, conn);
	json_decref(x->in);
	req_release(&x->req);
	if (x->body) {
		sodium_memzero(x->body, x->body_len); /* may hold a password or token */
		free(x->body);
	}
	sodium_memzero(&x->req.principal, sizeof(x->req.principal));
	free(x);
	*con_cls = NULL;
}

static const char *status_default_code(int status)
{
	return status == 404 ? "not_found" : status == 405 ? "method_not_allowed" : "error";
}

static enum MHD_Result respond(struct http_ctx *x, struct MHD_Connection *conn, int status, json_t *out)
{
	struct MHD_Response *resp;
	struct kw_req *req = &x->req;
	enum MHD_Result r;
	char *text = NULL;
	const char *ctype = "application/json";
	struct timespec end;

	if (status < 100 || status > 599) {
		log_error("http: handler returned status=%d path=%s", status, req->path);
		json_decref(out);
		out = NULL;
		status = api_error(&out, 500, "internal_error", "internal error");
	}
	if (status == 204 || status == 304) {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else if (req->resp_body) {
		resp = MHD_create_response_from_buffer(req->resp_body_len, req->resp_body, MHD_RESPMEM_MUST_FREE);
		if (resp)
			req->resp_body = NULL; /* MHD frees it */
		ctype = req->resp_type[0] ? req->resp_type : "application/octet-stream";
	} else {
		if (!out)
			api_error(&out, status, status_default_code(status), "no body");
		text = out ? json_dumps(out, JSON_COMPACT) : NULL;
		resp = text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
			    : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	json_decref(out);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (status != 204 && status != 304)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (strncmp(req->path, "/api/", 5) == 0)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	for (size_t i = 0; i < req->nresp_headers; i++)
		MHD_add_response_header(resp, req->resp_headers[i].key, req->resp_headers[i].value);
	r = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	metrics_http_request(req->method, x->route ? x->route->pattern : NULL, x->web, status, &x->start);
	if (log_get_level() == KW_LOG_DEBUG || status >= 500) {
		char path[256];
		size_t i;

		/* The path comes from the client: printable ASCII only in a log line. */
		for (i = 0; i + 1 < sizeof(path) && req->path[i]; i++)
			path[i] = (req->path[i] < 0x20 || req->path[i] > 0x7e || req->path[i] == '"') ? '?' : req->path[i];
		path[i] = '\0';
		clock_gettime(CLOCK_MONOTONIC, &end);
		kw_log(status >= 500 ? KW_LOG_WARN : KW_LOG_DEBUG,
		       "http: request method=%s path=\"%s\" status=%d client=%s actor=%s ms=%.1f", req->method,
		       path, status, req->client_addr, req->principal.actor[0] ? req->principal.actor : "-",
		       (double)(end.tv_sec - x->start.tv_sec) * 1e3 + (double)(end.tv_nsec - x->start.tv_nsec) / 1e6);
	}
	return r;
}

static bool method_changes_state(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

/*
 * Credentials: "Authorization: Bearer T" first, else the kw_session cookie. A cookie
 * session on a state-changing method must carry X-CSRF-Token. Returns 0 or a status.
 */
static int authenticate(struct http_ctx *x, enum kw_auth need, json_t **out)
{
	struct kw_req *req = &x->req;
	const char *authz = req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *token = NULL;
	uint8_t csrf[KW_TOKEN_HASH_LEN];
	bool cookie = false;
	int st;

	if (authz) {
		if (strncasecmp(authz, "Bearer ", 7) != 0 || !authz[7]) {
			if (need == KW_AUTH_NONE)
				return 0;
			return api_error(out, 401, "invalid_token", "Authorization must be \"Bearer <token>\"");
		}
		token = authz + 7;
		while (*token == ' ')
			token++;
	} else if ((token = req_cookie(req, "kw_session")) && *token) {
		cookie = true;
	} else {
		token = NULL;
	}
	if (!token) {
		if (need == KW_AUTH_NONE)
			return 0;
		return api_error(out, 401, "unauthorized", "this needs a credential (Authorization: Bearer <token>)");
	}
	memset(csrf, 0, sizeof(csrf));
	st = auth_resolve_device(req->srv, token, req->now, &req->principal, csrf, &x->auth_device, out);
	if (st == 0 && req->principal.kind == KW_PRINCIPAL_DEVICE)
		req->auth_device = &x->auth_device;
	if (st) {
		if (need == KW_AUTH_NONE) {
			/* Public route: a stale credential does not stop it; it is simply ignored. */
			json_decref(*out);
			*out = NULL;
			memset(&req->principal, 0, sizeof(req->principal));
			return 0;
		}
		return st;
	}
	if (cookie) {
		req->principal.via_cookie = true;
		if (req->principal.kind != KW_PRINCIPAL_SESSION) {
			memset(&req->principal, 0, sizeof(req->principal));
			return need == KW_AUTH_NONE ? 0
						    : api_error(out, 401, "invalid_token", "the cookie is not a session");
		}
		if (method_changes_state(req->method) &&
		    !token_matches(req_header(req, "X-CSRF-Token"), csrf)) {
			sodium_memzero(csrf, sizeof(csrf));
			if (need == KW_AUTH_NONE) {
				/* A public route (login, enroll) runs anonymously instead: the
				 * cookie alone never acts, and a stale cookie never blocks a login. */
				memset(&req->principal, 0, sizeof(req->principal));
				req->auth_device = NULL;
				return 0;
			}
			return api_error(out, 403, "csrf_failed", "missing or wrong X-CSRF-Token header");
		}
	}
	sodium_memzero(csrf, sizeof(csrf));
	if (need == KW_AUTH_ADMIN && req_is_admin(req) && req->srv->admin_recheck &&
	    (st = req->srv->admin_recheck(req, out)))
		return st; /* an admin session past its re-check interval asks the directory again */
	if (need == KW_AUTH_ADMIN && !req_is_admin(req))
		return api_error(out, 403, "forbidden", "admin role required");
	return 0;
}

/* A request without a credential header may send only a small body (login, enroll): a
 * connection that has not shown who it is cannot make keywayd buffer 64 KiB. */
static size_t body_max(const struct http_ctx *x)
{
	return guard_has_credential(&x->req) ? KW_BODY_MAX : KW_GUARD_ANON_BODY_MAX;
}

/* Routing, credentials and body: 0 when the handler may run, else a status with *out. */
static int prepare(struct http_ctx *x, json_t **out)
{
	struct kw_req *req = &x->req;
	char allow[64];
	json_error_t jerr;
	int st;

	if (x->too_large)
		return api_error(out, 400, "body_too_large", "the request body is larger than %zu bytes", body_max(x));
	if (strncmp(req->path, "/api/", 5) != 0 && strcmp(req->path, "/api") != 0) {
		if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
			req_add_header(req, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
			return api_error(out, 405, "method_not_allowed", "only GET here");
		}
		x->web = true;
		(void)authenticate(x, KW_AUTH_NONE, out);
		return 0;
	}
	switch (routes_find(req->method, req->path, req, &x->route, allow, sizeof(allow))) {
	case ROUTES_FOUND:
		break;
	case ROUTES_NO_METHOD:
		req_add_header(req, MHD_HTTP_HEADER_ALLOW, allow);
		return api_error(out, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)", req->method,
				 allow);
	default:
		return api_error(out, 404, "not_found", "no such API route");
	}
	st = guard_api_request(req, x->route, x->body_len, out);
	if (st)
		return st;
	st = authenticate(x, x->route->auth, out);
	if (st)
		return st;
	if (x->route->body == KW_BODY_NONE || (x->route->body == KW_BODY_OPTIONAL && x->body_len == 0))
		return 0;
	if (x->body_len == 0)
		return api_error(out, 400, "invalid_json", "a JSON object body is required");
	x->in = json_loadb(x->body, x->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!x->in)
		return api_error(out, 400, "invalid_json", "malformed JSON at line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
	if (!json_is_object(x->in))
		return api_error(out, 400, "invalid_json", "the body must be a JSON object");
	return 0;
}

/* The first call of a request (its headers are in): the per-request state, and the answers
 * that need no body (a refused path or header, a declared body over the cap). */
static enum MHD_Result request_begin(struct kw_http *h, struct MHD_Connection *conn, const char *url,
				     const char *method, void **con_cls)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	struct http_ctx *x = calloc(1, sizeof(*x));
	json_t *out = NULL;
	int st;

	if (!x)
		return MHD_NO;
	*con_cls = x;
	x->h = h;
	clock_gettime(CLOCK_MONOTONIC, &x->start);
	x->req.srv = h->srv;
	x->req.method = method;
	x->req.path = url;
	x->req.now = (int64_t)time(NULL);
	x->req.http = x;
	client_addr(conn, x->req.client_addr, sizeof(x->req.client_addr));
	collect(conn, MHD_GET_ARGUMENT_KIND, x->query, &x->req.nquery);
	collect(conn, MHD_HEADER_KIND, x->headers, &x->req.nheaders);
	collect(conn, MHD_COOKIE_KIND, x->cookies, &x->req.ncookies);
	x->req.query = x->query;
	x->req.headers = x->headers;
	x->req.cookies = x->cookies;
	st = guard_request_headers(h->guard, conn, url, &out);
	if (st) {
		x->prepared = true;
		return respond(x, conn, st, out);
	}
	if (cl && strtoull(cl, NULL, 10) > body_max(x)) {
		/* Answer at once, without reading the body; MHD closes the connection. */
		x->too_large = true;
		x->prepared = true;
		st = api_error(&out, 400, "body_too_large", "the request body is larger than %zu bytes", body_max(x));
		return respond(x, conn, st, out);
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct kw_http *h = cls;
	struct http_ctx *x = *con_cls;
	json_t *out = NULL;
	int st;

	if (!x)
		return request_begin(h, conn, url, method, con_cls);
	if (*upload_data_size) {
		if (!guard_body_in_time(h->guard, conn))
			return MHD_NO; /* past the body deadline: drop the connection */
		if (!x->too_large) {
			if (x->body_len + *upload_data_size > body_max(x)) {
				x->too_large = true;
			} else {
				char *nb = realloc(x->body, x->body_len + *upload_data_size + 1);

				if (!nb)
					return MHD_NO;
				x->body = nb;
				memcpy(x->body + x->body_len, upload_data, *upload_data_size);
				x->body_len += *upload_data_size;
				x->body[x->body_len] = '\0';
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!x->prepared) {
		x->prepared = true;
		guard_request_answered(h->guard, conn);
		st = prepare(x, &out);
		if (st)
			return respond(x, conn, st, out);
	}
	for (int tries = 0;; tries++) {
		if (x->web)
			st = web_serve(&x->req, NULL, &out);
		else
			st = x->route->handler(&x->req, x->in, &out);
		if (st != KW_HTTP_SUSPEND)
			break;
		json_decref(out);
		out = NULL;
		/* Parked requests hold connection slots: keep some for everything else. */
		unsigned maxc = (unsigned)server_conf(h->srv)->max_connections;
		if (longpoll_count(h->srv->longpoll) + longpoll_reserve(maxc) >= maxc) {
			req_add_header(&x->req, MHD_HTTP_HEADER_RETRY_AFTER, "15");
			st = api_error(&out, 503, "busy", "too many waiting requests; retry later");
			return respond(x, conn, st, out);
		}
		switch (longpoll_park(h->srv->longpoll, conn, x->req.principal.id, x->req.principal.is_gateway,
				      x->req.wait_seen,
				      x->req.wait_deadline_ms, &x->req.wait_deadline_ms)) {
		case LONGPOLL_PARKED:
			return MHD_YES;
		case LONGPOLL_STOPPING:
			st = api_error(&out, 503, "shutting_down", "keywayd is stopping");
			return respond(x, conn, st, out);
		case LONGPOLL_RETRY:
			if (tries < 100)
				continue;
			st = api_error(&out, 503, "busy", "too many changes, retry");
			return respond(x, conn, st, out);
		}
	}
	if (st < 100 || st > 599) {
		/* A handler bug (a stray `return 0`): answer it, never park or hang. */
		log_error("http: handler for %s %s returned %d", x->req.method, x->req.path, st);
		json_decref(out);
		st = api_error(&out, 500, "internal_error", "internal error");
	}
	return respond(x, conn, st, out);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	long port;
	char *end;
	size_t hl;

	if (!colon)
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - listen);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*v6 = true;
		return 0;
	}
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*v6 = false;
	}
	return 0;
}

int http_start(struct kw_server *srv, struct kw_http **out)
{
	const struct kw_conf *conf = server_conf(srv);
	struct sockaddr_storage ss;
	struct MHD_OptionItem opts[20];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG | MHD_USE_TURBO;
	struct kw_http *h;
	size_t n = 0, len;
	bool v6 = false;
	int ret;

	*out = NULL;
	if (parse_listen(conf->listen, &ss, &v6) < 0) {
		log_error("http: listen address '%s' is not address:port", conf->listen);
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->srv = srv;
	if (v6)
		flags |= MHD_USE_IPv6;
	ret = guard_new(conf, &h->guard);
	if (ret < 0)
		goto fail;
	guard_options(h->guard, opts, &n);
	if (conf->tls_cert[0]) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			log_error("http: this libmicrohttpd has no TLS support");
			ret = -ENOTSUP;
			goto fail;
		}
		ret = file_read_all(conf->tls_cert, 1 << 20, &h->tls_cert, &len);
		if (ret < 0) {
			log_error("http: cannot read tls_cert %s: %s", conf->tls_cert, strerror(-ret));
			goto fail;
		}
		ret = file_read_all(conf->tls_key, 1 << 20, &h->tls_key, &h->tls_key_len);
		if (ret < 0) {
			log_error("http: cannot read tls_key %s: %s", conf->tls_key, strerror(-ret));
			goto fail;
		}
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)conf->threads, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)conf->max_connections, NULL };
	/* An idle limit; guard.c adds absolute deadlines for headers and body. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, 90, NULL };
	/* Requests are small (bodies go to our own buffer): 16 KiB per connection is plenty. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 16 * 1024, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, h };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!h->daemon) {
		log_error("http: cannot listen on %s (address in use, or a bad TLS certificate/key?)", conf->listen);
		ret = -EADDRINUSE;
		goto fail;
	}
	ret = guard_start(h->guard);
	if (ret < 0)
		goto fail;
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);

		h->port = di ? di->port : 0;
	}
	log_info("http: listening address=%s port=%d tls=%s threads=%d per_ip_connections=%d header_timeout=%d "
		 "body_timeout=%d",
		 conf->listen, h->port, conf->tls_cert[0] ? "yes" : "no", conf->threads, conf->per_ip_connections,
		 conf->header_timeout, conf->body_timeout);
	*out = h;
	return 0;
fail:
	http_stop(h);
	return ret;
}

int http_port(const struct kw_http *h)
{
	return h->port;
}

void http_stop(struct kw_http *h)
{
	if (!h)
		return;
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	guard_free(h->guard);
	free(h->tls_cert);
	if (h->tls_key) {
		sodium_memzero(h->tls_key, h->tls_key_len);
		free(h->tls_key);
	}
	free(h);
}
