/*
 * Running statements for server/store/: bind a parameter list, run, read rows, map the
 * result to an errno, all through the backend's operations (store_internal.h). Every store
 * function goes through these, so the run/read/reset/errno sequence is written once.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "log.h"
#include "store_internal.h"

#define KW_SQL_NAME(name) #name,
static const char *const sql_names[KW_SQL__COUNT] = { KW_SQL_LIST(KW_SQL_NAME) };
#undef KW_SQL_NAME

const char *store_sql_name(enum kw_sql id)
{
	return (unsigned)id < KW_SQL__COUNT ? sql_names[id] : "?";
}

int store_exec(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n)
{
	const struct kw_store_backend_ops *ops = c->st->ops;
	struct kw_row r;
	int ret;

	ret = ops->run(c, id, b, n, &r);
	if (ret < 0)
		return ret;
	while ((ret = ops->next(c, &r)) > 0)
		;
	ops->done(c, &r);
	return ret;
}

int store_exec_int(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n, int64_t *out)
{
	const struct kw_store_backend_ops *ops = c->st->ops;
	struct kw_row r;
	int ret;

	ret = ops->run(c, id, b, n, &r);
	if (ret < 0)
		return ret;
	ret = ops->next(c, &r);
	if (ret > 0) {
		*out = ops->col_int(&r, 0);
		ret = 0;
	} else if (ret == 0) {
		ret = -EIO;
	}
	ops->done(c, &r);
	return ret;
}

/* At most max rows (0: all) to row(); -ENOENT when there was none and max is 1. */
static int rows(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n, unsigned max,
		int (*row)(const struct kw_row *r, void *arg), void *arg)
{
	const struct kw_store_backend_ops *ops = c->st->ops;
	struct kw_row r;
	unsigned seen = 0;
	int ret, rc;

	ret = ops->run(c, id, b, n, &r);
	if (ret < 0)
		return ret;
	while ((rc = ops->next(c, &r)) > 0) {
		ret = row(&r, arg);
		if (ret < 0 || ++seen == max)
			goto out;
	}
	if (rc < 0)
		ret = rc;
	else
		ret = max == 1 ? -ENOENT : 0;
out:
	ops->done(c, &r);
	return ret;
}

int store_each_row(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n,
		   int (*row)(const struct kw_row *r, void *arg), void *arg)
{
	return rows(c, id, b, n, 0, row, arg);
}

int store_first_row(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n,
		    int (*row)(const struct kw_row *r, void *arg), void *arg)
{
	return rows(c, id, b, n, 1, row, arg);
}

static int query(struct kw_store *st, enum kw_sql id, const struct kw_bind *b, unsigned n, unsigned max,
		 int (*row)(const struct kw_row *r, void *arg), void *arg)
{
	struct kw_conn *c;
	int ret;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = rows(c, id, b, n, max, row, arg);
	store_conn_put(st, c);
	return ret;
}

int store_query(struct kw_store *st, enum kw_sql id, const struct kw_bind *b, unsigned n,
		int (*row)(const struct kw_row *r, void *arg), void *arg)
{
	return query(st, id, b, n, 0, row, arg);
}

int store_query_one(struct kw_store *st, enum kw_sql id, const struct kw_bind *b, unsigned n,
		    int (*row)(const struct kw_row *r, void *arg), void *arg)
{
	return query(st, id, b, n, 1, row, arg);
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

int64_t store_changes(struct kw_conn *c)
{
	return c->st->ops->changes(c);
}

void store_col_text(const struct kw_row *r, int col, char *buf, size_t size)
{
	const char *t = r->ops->col_text(r, col);

	if (size == 0)
		return;
	if (!t) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, size, "%s", t);
}

const char *store_col_str(const struct kw_row *r, int col)
{
	return r->ops->col_text(r, col);
}

int64_t store_col_int(const struct kw_row *r, int col)
{
	return r->ops->col_int(r, col);
}

bool store_col_null(const struct kw_row *r, int col)
{
	return r->ops->col_null(r, col);
}

int store_col_blob(const struct kw_row *r, int col, void *buf, size_t len)
{
	return r->ops->col_blob(r, col, buf, len);
}
