/*
 * Gateway health, decided by keywayd: a gateway that has not asked for its config for more
 * than `timeout` seconds is offline, and devices' configs name another gateway of its site
 * (store_gateway_set_online bumps them; their long-polls wake). A gateway's long-poll is held
 * at most timeout/2 seconds (gwhealth_poll_max), so a live gateway is seen at least twice per
 * timeout. The first request of a gateway that was offline puts it back. A gateway not seen
 * yet (just enrolled, or keywayd just started) has timeout seconds from when keywayd first
 * looks at it.
 * Time is passed in (tests walk it). A server without one (srv->gwhealth NULL) skips all this.
 */
#ifndef KW_GWHEALTH_H
#define KW_GWHEALTH_H

#include <stdint.h>

#include "server.h"

struct kw_gwhealth;

/* now: keywayd's start; a gateway not seen since counts from there. */
int gwhealth_new(int64_t timeout, int64_t now, struct kw_gwhealth **out);
void gwhealth_free(struct kw_gwhealth *h);
/* A gateway asked for its config at now: 0, or a negative errno from the store. */
int gwhealth_seen(struct kw_server *srv, int64_t id, int64_t now);
/* Every gateway the store has online and that was not seen for more than timeout goes
 * offline. Returns how many changed, or a negative errno. */
int gwhealth_tick(struct kw_server *srv, int64_t now);
/* When keywayd last saw gateway id (0: not since it started). */
int64_t gwhealth_last_seen(const struct kw_server *srv, int64_t id);
/* Longest a gateway's long-poll is held, in seconds (>= 1). */
int64_t gwhealth_poll_max(const struct kw_server *srv);

#endif
