/*
 * Running statements for server/store*.c: bind a parameter list, step, map the result
 * code to an errno, reset. Every store function goes through these, so the
 * prepare/bind/step/reset/errno sequence is written once.
 */
#include "config.h"

#include <errno.h>

#include "log.h"
#include "store_internal.h"

int store_prepare(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n, sqlite3_stmt **out)
{
	sqlite3_stmt *s = store_stmt(c, sql);
	int rc = SQLITE_OK;

	*out = NULL;
	if (!s)
		return -EIO;
	for (unsigned i = 0; i < n && rc == SQLITE_OK; i++) {
		int idx = (int)i + 1;

		switch (b[i].type) {
		case KW_BIND_INT:
			rc = sqlite3_bind_int64(s, idx, b[i].i);
			break;
		case KW_BIND_TEXT:
			rc = sqlite3_bind_text(s, idx, b[i].p, -1, SQLITE_STATIC);
			break;
		case KW_BIND_BLOB:
			rc = sqlite3_bind_blob(s, idx, b[i].p, b[i].len, SQLITE_STATIC);
			break;
		case KW_BIND_NULL:
			rc = sqlite3_bind_null(s, idx);
			break;
		}
	}
	if (rc != SQLITE_OK) {
		log_error("store: bind failed code=%d error=\"%s\"", rc, sqlite3_errmsg(c->db));
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	*out = s;
	return 0;
}

int store_exec(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n)
{
	sqlite3_stmt *s;
	int ret, rc;

	ret = store_prepare(c, sql, b, n, &s);
	if (ret < 0)
		return ret;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return store_errno(c, rc);
}

int store_exec_int(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n, int64_t *out)
{
	sqlite3_stmt *s;
	int ret, rc;

	ret = store_prepare(c, sql, b, n, &s);
	if (ret < 0)
		return ret;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store_errno(c, rc) ?: -EIO;
	*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

/* At most max rows (0: all) to row(); -ENOENT when there was none and max is 1. */
static int rows(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n, unsigned max,
		int (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	sqlite3_stmt *s;
	unsigned seen = 0;
	int ret, rc;

	ret = store_prepare(c, sql, b, n, &s);
	if (ret < 0)
		return ret;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ret = row(s, arg);
		if (ret < 0 || ++seen == max)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = store_errno(c, rc);
	else
		ret = max == 1 ? -ENOENT : 0;
out:
	sqlite3_reset(s);
	return ret;
}

int store_each_row(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n,
		   int (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	return rows(c, sql, b, n, 0, row, arg);
}

int store_first_row(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n,
		    int (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	return rows(c, sql, b, n, 1, row, arg);
}

static int query(struct kw_store *st, const char *sql, const struct kw_bind *b, unsigned n, unsigned max,
		 int (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	struct kw_conn *c;
	int ret;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = rows(c, sql, b, n, max, row, arg);
	store_conn_put(st, c);
	return ret;
}

int store_query(struct kw_store *st, const char *sql, const struct kw_bind *b, unsigned n,
		int (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	return query(st, sql, b, n, 0, row, arg);
}

int store_query_one(struct kw_store *st, const char *sql, const struct kw_bind *b, unsigned n,
		    int (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	return query(st, sql, b, n, 1, row, arg);
}

int store_write_begin(struct kw_store *st, struct kw_conn **out)
{
	int ret;

	ret = store_conn_get(st, out);
	if (ret < 0)
		return ret;
	ret = store_tx_begin(st, *out);
	if (ret < 0) {
		store_conn_put(st, *out);
		*out = NULL;
	}
	return ret;
}

int store_write_end(struct kw_store *st, struct kw_conn *c, int ret)
{
	if (ret >= 0) {
		int rc = store_tx_commit(st, c); /* rolls back itself on failure */

		if (rc < 0)
			ret = rc;
	} else {
		store_tx_rollback(st, c);
	}
	store_conn_put(st, c);
	return ret;
}
