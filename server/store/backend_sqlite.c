/*
 * The SQLite backend of the store: one database file in WAL mode, a prepared statement
 * cached per connection for each statement name, BEGIN IMMEDIATE for writers.
 */
#include "config.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "log.h"
#include "store_internal.h"

struct sqlite_conn {
	sqlite3 *db;
	sqlite3_stmt *stmts[KW_SQL__COUNT]; /* prepared on first use */
};

static sqlite3 *conn_db(struct kw_conn *c)
{
	return ((struct sqlite_conn *)c->h)->db;
}

static int sqlite_errno(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_warn("store: database busy");
		metrics_store_busy();
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		log_error("store: sqlite error code=%d error=\"%s\"", rc, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		return -EIO;
	}
}

static int sqlite_conn_open(struct kw_store *st, struct kw_conn *c)
{
	struct sqlite_conn *sc = calloc(1, sizeof(*sc));
	int rc;

	if (!sc)
		return -ENOMEM;
	rc = sqlite3_open_v2(st->path, &sc->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		log_error("store: cannot open database path=%s error=\"%s\"", st->path,
			  sc->db ? sqlite3_errmsg(sc->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(sc->db, 10000);
	/* WAL: readers never block the writer. synchronous=NORMAL is durable against
	 * corruption; a power cut may lose the last commits (never half of one). Reads go
	 * through a memory map: a token lookup among 100,000 devices costs no read(2). */
	rc = sqlite3_exec(sc->db,
			  "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; "
			  "PRAGMA mmap_size=268435456;",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_error("store: cannot set pragmas path=%s error=\"%s\"", st->path, sqlite3_errmsg(sc->db));
		goto fail;
	}
	c->h = sc;
	return 0;
fail:
	sqlite3_close(sc->db);
	free(sc);
	return -EIO;
}

static void sqlite_conn_close(struct kw_conn *c)
{
	struct sqlite_conn *sc = c->h;

	if (!sc)
		return;
	for (unsigned i = 0; i < KW_SQL__COUNT; i++)
		sqlite3_finalize(sc->stmts[i]);
	sqlite3_close(sc->db);
	free(sc);
	c->h = NULL;
}

static void sqlite_conn_idle(struct kw_conn *c)
{
	struct sqlite_conn *sc = c->h;

	for (unsigned i = 0; i < KW_SQL__COUNT; i++) {
		if (sc->stmts[i]) {
			sqlite3_reset(sc->stmts[i]);
			sqlite3_clear_bindings(sc->stmts[i]);
		}
	}
}

static int sqlite_begin(struct kw_conn *c)
{
	int rc = sqlite3_exec(conn_db(c), "BEGIN IMMEDIATE", NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sqlite_errno(conn_db(c), rc);
}

static int sqlite_commit(struct kw_conn *c)
{
	int rc;

	/* Pending SELECTs would not stop COMMIT, but reset them so no snapshot lingers. */
	sqlite_conn_idle(c);
	rc = sqlite3_exec(conn_db(c), "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(conn_db(c), rc) ?: -EIO;
	return 0;
}

static void sqlite_rollback(struct kw_conn *c)
{
	sqlite_conn_idle(c);
	if (sqlite3_get_autocommit(conn_db(c)) == 0)
		(void)sqlite3_exec(conn_db(c), "ROLLBACK", NULL, NULL, NULL);
}

static int sqlite_script(struct kw_conn *c, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(conn_db(c), sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("store: %s failed error=\"%s\"", what, msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static sqlite3_stmt *stmt_get(struct kw_conn *c, enum kw_sql id)
{
	struct sqlite_conn *sc = c->h;

	if (sc->stmts[id]) {
		sqlite3_reset(sc->stmts[id]);
		sqlite3_clear_bindings(sc->stmts[id]);
		return sc->stmts[id];
	}
	if (sqlite3_prepare_v3(sc->db, kw_sql_sqlite[id], -1, SQLITE_PREPARE_PERSISTENT, &sc->stmts[id], NULL) !=
	    SQLITE_OK) {
		log_error("store: prepare failed statement=%s error=\"%s\"", store_sql_name(id),
			  sqlite3_errmsg(sc->db));
		sc->stmts[id] = NULL;
	}
	return sc->stmts[id];
}

static int sqlite_run(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n, struct kw_row *r)
{
	sqlite3_stmt *s = stmt_get(c, id);
	int rc = SQLITE_OK;

	*r = (struct kw_row){ .ops = &kw_store_sqlite_ops };
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
		log_error("store: bind failed statement=%s code=%d error=\"%s\"", store_sql_name(id), rc,
			  sqlite3_errmsg(conn_db(c)));
		sqlite3_reset(s);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	r->h = s;
	return 0;
}

static int sqlite_next(struct kw_conn *c, struct kw_row *r)
{
	int rc = sqlite3_step(r->h);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sqlite_errno(conn_db(c), rc);
}

static void sqlite_done(struct kw_conn *c, struct kw_row *r)
{
	(void)c;
	if (r->h)
		sqlite3_reset(r->h);
	r->h = NULL;
}

static int64_t sqlite_changes(struct kw_conn *c)
{
	return sqlite3_changes(conn_db(c));
}

static bool sqlite_col_null(const struct kw_row *r, int col)
{
	return sqlite3_column_type(r->h, col) == SQLITE_NULL;
}

static int64_t sqlite_col_int(const struct kw_row *r, int col)
{
	return sqlite3_column_int64(r->h, col);
}

static const char *sqlite_col_text(const struct kw_row *r, int col)
{
	return (const char *)sqlite3_column_text(r->h, col);
}

static int sqlite_col_blob(const struct kw_row *r, int col, void *buf, size_t len)
{
	const void *p = sqlite3_column_blob(r->h, col);

	if (!p || (size_t)sqlite3_column_bytes(r->h, col) != len)
		return -EINVAL;
	memcpy(buf, p, len);
	return 0;
}

const struct kw_store_backend_ops kw_store_sqlite_ops = {
	.name = "sqlite",
	.sql = kw_sql_sqlite,
	.conn_open = sqlite_conn_open,
	.conn_close = sqlite_conn_close,
	.conn_idle = sqlite_conn_idle,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.script = sqlite_script,
	.run = sqlite_run,
	.next = sqlite_next,
	.done = sqlite_done,
	.changes = sqlite_changes,
	.col_null = sqlite_col_null,
	.col_int = sqlite_col_int,
	.col_text = sqlite_col_text,
	.col_blob = sqlite_col_blob,
};
