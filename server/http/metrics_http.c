/*
 * The metrics listener: GET /metrics in the Prometheus text format 0.0.4, on its own
 * libmicrohttpd daemon at [metrics] listen, so that it can be firewalled apart from the API
 * and needs no token. One thread: a scrape is a few counters and one GROUP BY.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/conf.h"
#include "core/metrics.h"
#include "log.h"
#include "longpoll.h"
#include "metrics_http.h"
#include "store/store.h"

struct kw_metrics_http {
	struct MHD_Daemon *daemon;
	struct kw_server *srv;
	int port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type, char *body,
			     size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result r;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	char *body = strdup(msg);

	return body ? reply(conn, status, "text/plain; charset=utf-8", body, strlen(body)) : MHD_NO;
}

static enum MHD_Result on_scrape(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct kw_metrics_http *m = cls;
	struct metrics_scrape s = { 0 };
	char *text;
	size_t len;

	if (!*con_cls) { /* first call: headers only */
		*con_cls = m;
		return MHD_YES;
	}
	if (*upload_data_size) { /* a body is never wanted: drop it */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "only /metrics here\n");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	s.devices_ok = store_device_counts(m->srv->store, s.devices) == 0;
	s.longpolls = m->srv->longpoll ? longpoll_count(m->srv->longpoll) : 0;
	s.directory = m->srv->dir_ops != NULL;
	s.version = m->srv->version;
	if (metrics_render(&s, &text, &len) < 0)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static int listen_addr(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	size_t hl = colon ? (size_t)(colon - listen) : 0;
	long port;
	char *end;

	if (!colon || hl >= sizeof(host))
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535)
		return -EINVAL;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	*v6 = host[0] == '[';
	if (*v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (hl < 2 || host[hl - 1] != ']')
			return -EINVAL;
		host[hl - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -EINVAL;
}

int metrics_http_start(struct kw_server *srv, struct kw_metrics_http **out)
{
	const char *listen = server_conf(srv)->metrics_listen;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	struct kw_metrics_http *m;
	bool v6 = false;

	*out = NULL;
	if (!listen[0])
		return 0; /* off by default */
	if (listen_addr(listen, &ss, &v6) < 0) {
		log_error("metrics: listen address '%s' is not address:port", listen);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->srv = srv;
	m->daemon = MHD_start_daemon(flags | (v6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, on_scrape, m,
				     MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_CONNECTION_LIMIT, 64,
				     MHD_OPTION_CONNECTION_TIMEOUT, 30, MHD_OPTION_END);
	if (!m->daemon) {
		log_error("metrics: cannot listen on %s", listen);
		free(m);
		return -EADDRINUSE;
	}
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);

		m->port = di ? di->port : 0;
	}
	log_info("metrics: listening address=%s port=%d", listen, m->port);
	*out = m;
	return 0;
}

int metrics_http_port(const struct kw_metrics_http *m)
{
	return m ? m->port : 0;
}

void metrics_http_stop(struct kw_metrics_http *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon);
	free(m);
}
