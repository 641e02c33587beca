/* Private to server/store/: what the PostgreSQL backend offers the rest of the store. */
#ifndef KW_STORE_PG_H
#define KW_STORE_PG_H

#include <libpq-fe.h>
#include <stdbool.h>

struct kw_store;
extern const struct kw_store_backend_ops kw_store_pg_ops;

/* A libpq connection to conninfo (password: NULL or the one to use); NULL on failure, logged
 * as an error (quiet: at debug level). */
PGconn *store_pg_connect(const char *conninfo, const char *password, bool quiet);
/* The backend's state for st (before the backend is opened). */
int store_pg_prepare(struct kw_store *st, const char *conninfo, const char *password);

#endif
