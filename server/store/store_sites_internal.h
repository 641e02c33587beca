/* Private to store_sites.c and store_policies.c. */
#ifndef KW_STORE_SITES_INTERNAL_H
#define KW_STORE_SITES_INTERNAL_H

#include "store_internal.h"

/* Every config changed: bump the devices' and the gateways' sequence (inside the caller's
 * write transaction). */
int store_bump_all(struct kw_conn *c);

#endif
