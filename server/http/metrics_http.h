/* The metrics listener ([metrics] listen): GET /metrics, Prometheus text format 0.0.4. */
#ifndef KW_METRICS_HTTP_H
#define KW_METRICS_HTTP_H

#include "core/server.h"

struct kw_metrics_http;

/* Listen on [metrics] listen; with none set, *out stays NULL and nothing listens. One line on error. */
int metrics_http_start(struct kw_server *srv, struct kw_metrics_http **out);
/* The port actually bound (0 when off). */
int metrics_http_port(const struct kw_metrics_http *m);
void metrics_http_stop(struct kw_metrics_http *m);

#endif
