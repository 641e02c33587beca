/* Private to store_sites.c and store_policies.c. */
#ifndef KW_STORE_SITES_INTERNAL_H
#define KW_STORE_SITES_INTERNAL_H

#include "store_internal.h"

/* Every config changed: bump the devices' and the gateways' sequence (inside the caller's
 * write transaction). */
int store_bump_all(struct kw_conn *c);
/*
 * The end of a write that changes every config: when ret is 0, store_bump_all() and the audit row (action by
 * actor on object, with detail); then commit (or roll back when anything failed) and, on success, wake every
 * long-poll. Returns 0 or the first error.
 */
int store_sites_commit(struct kw_store *st, struct kw_conn *c, int ret, const char *actor, const char *action,
		       const char *object, const char *detail, int64_t now);

#endif
