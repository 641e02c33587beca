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

/* Run a statement to completion (no rows expected). 0, -EEXIST (constraint), -EIO. */
int store_step_done(struct kw_conn *c, sqlite3_stmt *s);
/* sqlite3 result code to errno, logging the unexpected ones. */
int store_errno(struct kw_conn *c, int rc);
/* Copy a text column into a fixed buffer (truncating). */
void store_col_text(sqlite3_stmt *s, int col, char *buf, size_t size);
int64_t store_col_int(sqlite3_stmt *s, int col);

/* Audit row inside the caller's transaction. */
/* DELETE/UPDATE by id (?1; ?2 is now) touching exactly one row, with its audit row "KIND:ID". */
int store_change_one(struct kw_store *st, const char *sql, int64_t id, int64_t now, const char *actor,
		     const char *action, const char *kind);
int store_audit_insert(struct kw_conn *c, int64_t now, const char *actor, const char *action,
		       const char *object, const char *outcome, const char *detail);
/* Next value of the global change sequence (inside a write transaction). */
int store_seq_next(struct kw_conn *c, int64_t *seq);

/* Write every device's IPv6 address again from its offset and the current cidr6 (inside the
 * caller's write transaction). */
int store_devices_readdress6(struct kw_store *st, struct kw_conn *c);

#endif
