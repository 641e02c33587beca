/*
 * The HTTP guard (see guard.h). libmicrohttpd restarts its connection timeout on every byte
 * received, so a client sending one byte every few seconds holds a connection forever; the
 * guard gives each connection an absolute deadline instead: header_timeout from the accept
 * (or from the end of the previous request on a kept-alive connection) until the headers are
 * in, then body_timeout until the body is in. A watchdog thread shuts down the socket of a
 * connection past its deadline, which makes libmicrohttpd read end-of-file and close it.
 * Answered and parked (long-poll) requests have no deadline.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "core/conf.h"
#include "guard.h"
#include "log.h"

#define GUARD_TICK_MS 250
#define GUARD_SUMMARY_S 60

enum guard_phase { GUARD_HEADERS = 0, GUARD_BODY, GUARD_ANSWERED };

struct guard_conn {
	struct guard_conn *prev, *next;
	int fd;
	enum guard_phase phase;
	int64_t deadline_ms;
	bool shut;
};

struct kw_guard {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop;
	struct guard_conn head; /* circular list of open connections */
	int64_t header_ms, body_ms;
	unsigned per_ip;
	atomic_uint closed_late;   /* closed past a deadline since the last summary */
	atomic_uint mhd_messages;  /* libmicrohttpd messages since the last summary */
	atomic_uint mhd_logged;    /* of which logged at once (the first of an interval) */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int guard_new(const struct kw_conf *conf, struct kw_guard **out)
{
	struct kw_guard *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->head.prev = g->head.next = &g->head;
	g->header_ms = (int64_t)conf->header_timeout * 1000;
	g->body_ms = (int64_t)conf->body_timeout * 1000;
	g->per_ip = (unsigned)conf->per_ip_connections;
	*out = g;
	return 0;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct kw_guard *g = cls;
	struct guard_conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		c = calloc(1, sizeof(*c));
		if (!c)
			return; /* unguarded, as before: libmicrohttpd's own timeout still applies */
		c->fd = ci ? ci->connect_fd : -1;
		c->deadline_ms = now_ms() + g->header_ms;
		pthread_mutex_lock(&g->lock);
		c->next = g->head.next;
		c->prev = &g->head;
		g->head.next->prev = c;
		g->head.next = c;
		pthread_mutex_unlock(&g->lock);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	/* Called before libmicrohttpd closes the socket: once unlinked, the watchdog never
	 * touches this descriptor again. */
	pthread_mutex_lock(&g->lock);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	pthread_mutex_unlock(&g->lock);
	free(c);
	*socket_context = NULL;
}

static struct guard_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void set_phase(struct kw_guard *g, struct MHD_Connection *conn, enum guard_phase phase, int64_t ms)
{
	struct guard_conn *c = conn_of(conn);

	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->phase = phase;
	c->deadline_ms = now_ms() + ms;
	pthread_mutex_unlock(&g->lock);
}

void guard_request_answered(struct kw_guard *g, struct MHD_Connection *conn)
{
	set_phase(g, conn, GUARD_ANSWERED, 0);
}

void guard_request_completed(struct kw_guard *g, struct MHD_Connection *conn)
{
	/* Kept alive: the next request's headers have header_timeout from now. */
	set_phase(g, conn, GUARD_HEADERS, g->header_ms);
}

bool guard_body_in_time(struct kw_guard *g, struct MHD_Connection *conn)
{
	struct guard_conn *c = conn_of(conn);
	bool ok;

	if (!c)
		return true;
	pthread_mutex_lock(&g->lock);
	ok = c->phase != GUARD_BODY || now_ms() <= c->deadline_ms;
	pthread_mutex_unlock(&g->lock);
	if (!ok)
		atomic_fetch_add(&g->closed_late, 1);
	return ok;
}

static enum MHD_Result count_content_length(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		(*(unsigned *)cls)++;
	return MHD_YES;
}

int guard_request_headers(struct kw_guard *g, struct MHD_Connection *conn, const char *url, json_t **out)
{
	unsigned n_cl = 0;

	set_phase(g, conn, GUARD_BODY, g->body_ms);
	/* The unescape callback turned %00 into 0x01: any control byte in the path is refused
	 * instead of cutting the path short where the NUL was. */
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return api_error(out, 400, "invalid_path", "the path must not hold control characters or %%00");
	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_content_length, &n_cl);
	if (n_cl > 1)
		return api_error(out, 400, "invalid_request", "more than one Content-Length header");
	return 0;
}

bool guard_has_credential(const struct kw_req *req)
{
	const char *cookie = req_cookie(req, "kw_session");

	return req_header(req, MHD_HTTP_HEADER_AUTHORIZATION) || (cookie && *cookie);
}

/* "application/json", any case, optionally followed by parameters (";charset=utf-8"). */
static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, sizeof(want) - 1) != 0)
		return false;
	ct += sizeof(want) - 1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Does origin ("scheme://host[:port]") name this server, as the Host header does? */
static bool origin_is_ours(const char *origin, const char *host, bool tls)
{
	const char *scheme_end = strstr(origin, "://"), *o_host;
	char h[300];
	size_t hl;
	bool https;

	if (!scheme_end || !host || !*host)
		return false;
	https = (size_t)(scheme_end - origin) == 5 && strncasecmp(origin, "https", 5) == 0;
	if (!https && !((size_t)(scheme_end - origin) == 4 && strncasecmp(origin, "http", 4) == 0))
		return false;
	/* Behind a TLS-terminating proxy keywayd speaks plain HTTP to a browser on https;
	 * with TLS of its own, only an https page is ours. */
	if (tls && !https)
		return false;
	o_host = scheme_end + 3;
	hl = strlen(host);
	if (hl >= sizeof(h))
		return false;
	memcpy(h, host, hl + 1);
	/* A default port may be written in Host and left out of Origin. */
	if (hl > 4 && strcmp(h + hl - 4, ":443") == 0 && https)
		h[hl - 4] = '\0';
	else if (hl > 3 && strcmp(h + hl - 3, ":80") == 0 && !https)
		h[hl - 3] = '\0';
	return strcasecmp(o_host, h) == 0;
}

int guard_api_request(const struct kw_req *req, const struct kw_route *route, size_t body_len, json_t **out)
{
	const char *origin = req_header(req, "Origin");
	bool changes = strcmp(req->method, "GET") && strcmp(req->method, "HEAD") && strcmp(req->method, "OPTIONS");

	if (route->body != KW_BODY_NONE && body_len > 0 && !is_json_type(req_header(req, "Content-Type")))
		return api_error(out, 415, "unsupported_media_type", "the body must be sent as application/json");
	/* A browser sends Origin on cross-site requests; one without a bearer token acts
	 * with its cookie (or logs in): only this server's own pages may do that. */
	if (changes && origin && !req_header(req, MHD_HTTP_HEADER_AUTHORIZATION) &&
	    !origin_is_ours(origin, req_header(req, MHD_HTTP_HEADER_HOST), server_conf(req->srv)->tls_cert[0] != '\0'))
		return api_error(out, 403, "origin_mismatch", "requests from another site's pages are refused");
	return 0;
}

/* libmicrohttpd decodes %XX in the path and query; %00 becomes 0x01 so that the path keeps
 * its length and guard_request_headers refuses it, instead of a NUL cutting it short. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	for (char *p = strstr(s, "%00"); p; p = strstr(p + 3, "%00"))
		p[2] = '1';
	return MHD_http_unescape(s);
}

void guard_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct kw_guard *g = cls;
	char buf[512];

	if (atomic_fetch_add(&g->mhd_messages, 1) != 0)
		return; /* counted; the summary line tells how many */
	atomic_fetch_add(&g->mhd_logged, 1);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warn("http: libmicrohttpd: %s (further messages are counted, one summary line per %d s)", buf,
		 GUARD_SUMMARY_S);
}

void guard_options(struct kw_guard *g, struct MHD_OptionItem *opts, size_t *n)
{
	opts[(*n)++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)guard_mhd_log, g };
	opts[(*n)++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, g };
	opts[(*n)++] = (struct MHD_OptionItem){ MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, g };
	opts[(*n)++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)g->per_ip, NULL };
}

/* Shut down every connection past its deadline; returns how many. Under the lock. */
static unsigned sweep(struct kw_guard *g, int64_t now)
{
	unsigned n = 0;

	for (struct guard_conn *c = g->head.next; c != &g->head; c = c->next) {
		if (c->phase == GUARD_ANSWERED || c->shut || now <= c->deadline_ms || c->fd < 0)
			continue;
		(void)shutdown(c->fd, SHUT_RDWR);
		c->shut = true;
		n++;
	}
	return n;
}

static void summary(struct kw_guard *g)
{
	unsigned late = atomic_exchange(&g->closed_late, 0);
	unsigned msgs = atomic_exchange(&g->mhd_messages, 0);
	unsigned logged = atomic_exchange(&g->mhd_logged, 0);

	if (late || msgs > logged)
		log_warn("http: in the last %d s: closed=%u connections past their header or body deadline, "
			 "libmicrohttpd_messages=%u not logged (connection limits, timeouts, resets)",
			 GUARD_SUMMARY_S, late, msgs - logged);
}

static void *watchdog(void *arg)
{
	struct kw_guard *g = arg;
	int64_t next_summary = now_ms() + GUARD_SUMMARY_S * 1000;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec ts;
		int64_t now = now_ms();
		unsigned n = sweep(g, now);

		if (n)
			atomic_fetch_add(&g->closed_late, n);
		if (now >= next_summary) {
			pthread_mutex_unlock(&g->lock);
			summary(g);
			pthread_mutex_lock(&g->lock);
			next_summary = now + GUARD_SUMMARY_S * 1000;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += GUARD_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	summary(g);
	return NULL;
}

int guard_start(struct kw_guard *g)
{
	int r = pthread_create(&g->thread, NULL, watchdog, g);

	if (r)
		return -r;
	g->running = true;
	return 0;
}

void guard_free(struct kw_guard *g)
{
	if (!g)
		return;
	if (g->running) {
		pthread_mutex_lock(&g->lock);
		g->stop = true;
		pthread_cond_signal(&g->cond);
		pthread_mutex_unlock(&g->lock);
		pthread_join(g->thread, NULL);
	}
	/* MHD_stop_daemon closed every connection, so the list is empty. */
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
	free(g);
}
