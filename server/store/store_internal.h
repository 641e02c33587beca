/* Private to server/store/: the backend seam, the connection pool and the helpers. */
#ifndef KW_STORE_INTERNAL_H
#define KW_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "store.h"
#include "store_sql.h"

#define KW_STORE_POOL 8      /* default connections */
#define KW_STORE_POOL_MAX 64

struct kw_conn;
struct kw_migration;

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


/* A row being read: the backend's cursor (SQLite statement, PostgreSQL result and index). */
struct kw_row {
	const struct kw_store_backend_ops *ops;
	void *h;
	int i, n;
};

/*
 * A database behind the store: a table of operations chosen at store_open (SQLite's VFS,
 * OpenBSD's noise upcalls). The store's functions speak only through it, by statement name
 * (store_sql.h), so a second database needs a second table and its statement texts, and no
 * change above. Every int function returns 0 or a negative errno; a busy or locked database
 * is -EBUSY, an unreachable one -EAGAIN, a constraint violated -EEXIST, anything else -EIO.
 */
struct kw_store_backend_ops {
	const char *name;                 /* "sqlite" */
	const char *const *sql;           /* statement texts indexed by enum kw_sql */
	/* Backend-wide state in st->be (listeners, locks); undone by close. */
	int (*open)(struct kw_store *st);
	void (*close)(struct kw_store *st);
	/* One pooled connection: c->h. conn_close also frees what conn_open made. */
	int (*conn_open)(struct kw_store *st, struct kw_conn *c);
	void (*conn_close)(struct kw_conn *c);
	/* Forget any statement left half-read (connection given back to the pool). */
	void (*conn_idle)(struct kw_conn *c);
	/* A write transaction: one writer at a time over the whole database. */
	int (*begin)(struct kw_conn *c);
	/* Commit; a backend shared by replicas also tells them c->pending's changes, in the same
	 * round trip, so a commit and its notification are never separated. */
	int (*commit)(struct kw_conn *c);
	void (*rollback)(struct kw_conn *c);
	/* Several statements without parameters (a migration), inside the caller's transaction. */
	int (*script)(struct kw_conn *c, const char *sql, const char *what);
	/* Prepare (cached per connection) and bind statement id, and run it as far as its
	 * first row: r then reads rows through next (1 a row, 0 done, < 0 errno) until done. */
	int (*run)(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n, struct kw_row *r);
	int (*next)(struct kw_conn *c, struct kw_row *r);
	void (*done)(struct kw_conn *c, struct kw_row *r);
	/* Rows changed by the last INSERT, UPDATE or DELETE on c. */
	int64_t (*changes)(struct kw_conn *c);
	/* Columns of the current row (0-based). Text is NULL for SQL NULL and valid until next. */
	bool (*col_null)(const struct kw_row *r, int col);
	int64_t (*col_int)(const struct kw_row *r, int col);
	const char *(*col_text)(const struct kw_row *r, int col);
	/* Exactly len bytes of a blob column into buf; -EINVAL when it has another length. */
	int (*col_blob)(const struct kw_row *r, int col, void *buf, size_t len);
	/* Singleton jobs: see store_singleton_try. */
	int (*singleton_try)(struct kw_store *st, const char *name);
	void (*singleton_release)(struct kw_store *st, const char *name);
};

extern const struct kw_store_backend_ops kw_store_sqlite_ops;

#define KW_NOTIFY_MAX 4

struct kw_conn {
	struct kw_store *st;
	void *h;       /* the backend's connection, NULL until opened */
	bool busy;
	bool in_write; /* holds st->write_lock */
	unsigned npending;
	int64_t pending[KW_NOTIFY_MAX]; /* changes of the open write transaction (store_tx_notify) */
};

struct kw_store {
	const struct kw_store_backend_ops *ops;
	void *be;      /* the backend's own state */
	char *path;    /* SQLite: the file */
	bool has_net;
	struct kw_store_net net;
	uint64_t pool_first, pool_last; /* usable host offsets */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_mutex_t write_lock; /* one writer at a time, without database busy sleeps */
	unsigned pool_size;
	struct kw_conn conns[KW_STORE_POOL_MAX];
	atomic_uint_fast64_t changes;
	void (*change_cb)(void *arg, int64_t device_id);
	void *change_arg;
};

/* Borrow a connection (opened on first use); -EIO when it cannot be opened. */
int store_conn_get(struct kw_store *st, struct kw_conn **out);
/* Give it back: resets every statement it used, rolls back a forgotten transaction. */
void store_conn_put(struct kw_store *st, struct kw_conn *c);

/* Write transactions: BEGIN IMMEDIATE under the writer lock; commit or roll back. */
int store_tx_begin(struct kw_store *st, struct kw_conn *c);
int store_tx_commit(struct kw_store *st, struct kw_conn *c);
void store_tx_rollback(struct kw_store *st, struct kw_conn *c);
/* The open write transaction changes some config versions: once it commits, bump the
 * counter and call the change callback with device_id (the only device concerned, or a
 * KW_CHANGE_* scope), and tell the other replicas. Nothing when it rolls back. */
void store_tx_notify(struct kw_conn *c, int64_t device_id);
/* Bump the counter and call the callback now: a change committed (here or by a replica). */
void store_notify_local(struct kw_store *st, int64_t device_id);

/*
 * Bound statements (store_exec.c). A statement's parameters are a list of struct kw_bind,
 * bound in order to parameter 1, 2, ...; text and blobs are not copied: they must stay valid
 * until the statement has run:
 *     ret = store_exec(c, KW_SQL_X, STORE_BINDS(STORE_INT(id), STORE_TEXT(name), STORE_HASH(h)));
 * Errors: -EIO (prepare failed, logged), -EEXIST (constraint), -EBUSY, -EAGAIN, -ENOMEM.
 */
/* Run it to completion, rows ignored (INSERT, UPDATE, DELETE). */
int store_exec(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n);
/* Run it for the integer in column 0 of its first row (INSERT ... RETURNING id, count(*));
 * no row is -EIO. */
int store_exec_int(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n, int64_t *out);
/* Hand every row to row(r, arg) until it returns a negative errno, which is returned. */
int store_each_row(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n,
		   int (*row)(const struct kw_row *r, void *arg), void *arg);
/* Only the first row; -ENOENT when there is none. */
int store_first_row(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n,
		    int (*row)(const struct kw_row *r, void *arg), void *arg);
/* The same two on a connection borrowed from the pool for the call (reads outside a
 * transaction). */
int store_query(struct kw_store *st, enum kw_sql id, const struct kw_bind *b, unsigned n,
		int (*row)(const struct kw_row *r, void *arg), void *arg);
int store_query_one(struct kw_store *st, enum kw_sql id, const struct kw_bind *b, unsigned n,
		    int (*row)(const struct kw_row *r, void *arg), void *arg);
/* Borrow a connection and begin a write transaction on it (nothing held on failure). */
int store_write_begin(struct kw_store *st, struct kw_conn **out);
/* End it: ret >= 0 commits and returns ret (or the commit's error), ret < 0 rolls back and
 * returns ret. Always gives the connection back. */
int store_write_end(struct kw_store *st, struct kw_conn *c, int ret);
/* Rows changed by the last statement on c. */
int64_t store_changes(struct kw_conn *c);
/* Columns of a row: copy a text column into a fixed buffer (truncating; "" for NULL). */
void store_col_text(const struct kw_row *r, int col, char *buf, size_t size);
int64_t store_col_int(const struct kw_row *r, int col);
bool store_col_null(const struct kw_row *r, int col);
/* The text itself (NULL for SQL NULL), valid until the next row. */
const char *store_col_str(const struct kw_row *r, int col);
int store_col_blob(const struct kw_row *r, int col, void *buf, size_t len);

/* DELETE/UPDATE by id (parameter 1; 2 is now) touching exactly one row (-ENOENT otherwise),
 * with its audit row "KIND:ID", in one write transaction. */
int store_change_one(struct kw_store *st, enum kw_sql id, int64_t obj_id, int64_t now, const char *actor,
		     const char *action, const char *kind);
/* INSERT ... RETURNING id (into *id) with its audit row "KIND:ID", in one write transaction. */
int store_insert_one(struct kw_store *st, enum kw_sql sql, const struct kw_bind *b, unsigned n,
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
