/* Private to wgconf*.c: the peers part of a config payload, decided by sites and policies. */
#ifndef KW_WGCONF_SITES_H
#define KW_WGCONF_SITES_H

#include "http/request.h"
#include "sbuf.h"
#include "store/store.h"

/* ["a","a6"] (a6 only when not empty). */
void wgconf_ips_json(struct sbuf *b, const char *a, const char *a6);
/* A device's config: "peers":[…],"sites":[…] (no braces around). */
int wgconf_device_part(const struct kw_server *srv, const struct kw_device *d, struct sbuf *b);
/* A gateway's config: "site":{…},"peers":[…] with each device peer's "access". */
int wgconf_gateway_part(const struct kw_server *srv, const struct kw_device *g, struct sbuf *b);

#endif
