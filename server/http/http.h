/* The HTTP layer: libmicrohttpd, routing, credentials, bodies, responses. Nothing else
 * in keywayd includes microhttpd.h except longpoll.c. */
#ifndef KW_HTTP_H
#define KW_HTTP_H

#include "request.h"

struct kw_http;

/* Listen on srv->conf->listen (TLS when tls_cert/tls_key are set). One line on error. */
int http_start(struct kw_server *srv, struct kw_http **out);
/* The port actually bound (listen port 0 picks one). */
int http_port(const struct kw_http *h);
void http_stop(struct kw_http *h);

#endif
