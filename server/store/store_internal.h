/* Private to server/store*.c: the connection pool, statement cache and helpers. */
#ifndef KW_STORE_INTERNAL_H
#define KW_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "store.h"

#define KW_STORE_POOL 8
#define KW_STMT_CACHE 64

struct kw_conn {
	sqlite3 *db;
	bool busy;
	bool in_write; /* holds st->write_lock */
	unsigned nstmts;
	struct {
		const char *sql; /* identity: the static string's address */
		sqlite3_stmt *stmt;
		bool used;
	} stmts[KW_STMT_CACHE];
};

struct kw_store {
	char *path;
	bool has_net;
	struct kw_store_net net;
	uint64_t pool_first, pool_last; /* usable host offsets */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_mutex_t write_lock; /* one writer at a time, without SQLite busy sleeps */
	struct kw_conn conns[KW_STORE_POOL];
	atomic_uint_fast64_t changes;
	void (*change_cb)(void *arg, int64_t device_id);
	void *change_arg;
};

/* Borrow a connection (opened on first use); -EIO when it cannot be opened. */
int store_conn_get(struct kw_store *st, struct kw_conn **out);
/* Give it back: resets every statement it used, rolls back a forgotten transaction. */
void store_conn_put(struct kw_store *st, struct kw_conn *c);
/* A cached prepared statement for a static SQL string; NULL on error (logged). */
sqlite3_stmt *store_stmt(struct kw_conn *c, const char *sql);

/* Write transactions: BEGIN IMMEDIATE under the writer lock; commit or roll back. */
int store_tx_begin(struct kw_store *st, struct kw_conn *c);
int store_tx_commit(struct kw_store *st, struct kw_conn *c);
void store_tx_rollback(struct kw_store *st, struct kw_conn *c);
/* After a commit that changed some config version: bump the counter, call the callback
 * (device_id: the only device concerned, 0 for many). */
void store_notify_change(struct kw_store *st, int64_t device_id);

/*
 * Bound statements (store_exec.c). A statement's parameters are a list of struct kw_bind,
 * bound in order to ?1, ?2, ...; text and blobs are bound SQLITE_STATIC: they must stay valid
 * until the statement has run (it is never stepped again without being bound anew):
 *     ret = store_exec(c, sql, STORE_BINDS(STORE_INT(id), STORE_TEXT(name), STORE_HASH(h)));
 * Errors: -EIO (prepare failed, logged), -EEXIST (constraint), -EBUSY, -ENOMEM.
 */
enum kw_bind_type { KW_BIND_INT, KW_BIND_TEXT, KW_BIND_BLOB, KW_BIND_NULL };
struct kw_bind {
	enum kw_bind_type type;
	int64_t i;
	const void *p; /* text (NUL-terminated; NULL binds SQL NULL) or blob */
	int len;       /* blob length */
};
#define STORE_INT(v) ((struct kw_bind){ .type = KW_BIND_INT, .i = (v) })
#define STORE_TEXT(v) ((struct kw_bind){ .type = KW_BIND_TEXT, .p = (v) })
#define STORE_HASH(v) ((struct kw_bind){ .type = KW_BIND_BLOB, .p = (v), .len = KW_TOKEN_HASH_LEN })
#define STORE_NULL ((struct kw_bind){ .type = KW_BIND_NULL })
/* The (array, count) argument pair of the functions below. */
#define STORE_BINDS(...)                                                   \
	(const struct kw_bind[]){ __VA_ARGS__ },                           \
	(unsigned)(sizeof((const struct kw_bind[]){ __VA_ARGS__ }) / sizeof(struct kw_bind))

/* The cached statement for sql with the parameters bound. */
int store_prepare(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n, sqlite3_stmt **out);
/* Run it to completion, rows ignored (INSERT, UPDATE, DELETE). */
int store_exec(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n);
/* Run it for the integer in column 0 of its first row (INSERT ... RETURNING id, count(*));
 * no row is -EIO. */
int store_exec_int(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n, int64_t *out);
/* Hand every row to row(s, arg) until it returns a negative errno, which is returned. */
int store_each_row(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n,
		   int (*row)(sqlite3_stmt *s, void *arg), void *arg);
/* Only the first row; -ENOENT when there is none. */
int store_first_row(struct kw_conn *c, const char *sql, const struct kw_bind *b, unsigned n,
		    int (*row)(sqlite3_stmt *s, void *arg), void *arg);
/* The same two on a connection borrowed from the pool for the call (reads outside a
 * transaction). */
int store_query(struct kw_store *st, const char *sql, const struct kw_bind *b, unsigned n,
		int (*row)(sqlite3_stmt *s, void *arg), void *arg);
int store_query_one(struct kw_store *st, const char *sql, const struct kw_bind *b, unsigned n,
		    int (*row)(sqlite3_stmt *s, void *arg), void *arg);
/* Borrow a connection and begin a write transaction on it (nothing held on failure). */
int store_write_begin(struct kw_store *st, struct kw_conn **out);
/* End it: ret >= 0 commits and returns ret (or the commit's error), ret < 0 rolls back and
 * returns ret. Always gives the connection back. */
int store_write_end(struct kw_store *st, struct kw_conn *c, int ret);
/* sqlite3 result code to errno, logging the unexpected ones. */
int store_errno(struct kw_conn *c, int rc);
/* Copy a text column into a fixed buffer (truncating). */
void store_col_text(sqlite3_stmt *s, int col, char *buf, size_t size);
int64_t store_col_int(sqlite3_stmt *s, int col);

/* DELETE/UPDATE by id (?1; ?2 is now) touching exactly one row (-ENOENT otherwise), with its
 * audit row "KIND:ID", in one write transaction. */
int store_change_one(struct kw_store *st, const char *sql, int64_t id, int64_t now, const char *actor,
		     const char *action, const char *kind);
/* INSERT ... RETURNING id (into *id) with its audit row "KIND:ID", in one write transaction. */
int store_insert_one(struct kw_store *st, const char *sql, const struct kw_bind *b, unsigned n,
		     const char *actor, const char *action, const char *kind, const char *detail, int64_t now,
		     int64_t *id);
/* Audit row inside the caller's transaction. */
int store_audit_insert(struct kw_conn *c, int64_t now, const char *actor, const char *action,
		       const char *object, const char *outcome, const char *detail);
/* Next value of the global change sequence (inside a write transaction). */
int store_seq_next(struct kw_conn *c, int64_t *seq);

/* Write every device's addresses again from its offset and the current cidr/cidr6 (inside
 * the caller's write transaction). -ERANGE when the cidr cannot hold a device that is not
 * revoked (one error line names it). */
int store_devices_readdress(struct kw_store *st, struct kw_conn *c);

/* store_limits.c: the limits of a self-service enrollment (-EDQUOT, -EAGAIN, -ENOSPC) and of
 * key rotations (-EAGAIN), inside the caller's write transaction. */
int store_enroll_user_limits(struct kw_store *st, struct kw_conn *c, const struct kw_enroll_params *p);
int store_rotations_limit(struct kw_conn *c, int64_t device_id, int max_per_hour, int64_t now);

#endif
