/* The store's core: opening, migrations, the connection pool, transactions. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipam.h"
#include "core/metrics.h"
#include "log.h"
#include "store_internal.h"
#include "store_migrations.h"

static int conn_open(struct kw_store *st, struct kw_conn *c)
{
	int rc;

	rc = sqlite3_open_v2(st->path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_error("store: cannot open database path=%s error=\"%s\"", st->path,
			  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		sqlite3_close(c->db);
		c->db = NULL;
		return -EIO;
	}
	sqlite3_busy_timeout(c->db, 10000);
	/* WAL: readers never block the writer. synchronous=NORMAL is durable against
	 * corruption; a power cut may lose the last commits (never half of one). Reads go
	 * through a memory map: a token lookup among 100,000 devices costs no read(2). */
	rc = sqlite3_exec(c->db,
			  "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; "
			  "PRAGMA mmap_size=268435456;",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_error("store: cannot set pragmas path=%s error=\"%s\"", st->path, sqlite3_errmsg(c->db));
		sqlite3_close(c->db);
		c->db = NULL;
		return -EIO;
	}
	return 0;
}

int store_conn_get(struct kw_store *st, struct kw_conn **out)
{
	struct kw_conn *c = NULL;
	int ret = 0;

	pthread_mutex_lock(&st->lock);
	for (;;) {
		/* Prefer an open idle connection, then an unopened slot. */
		for (unsigned i = 0; i < KW_STORE_POOL && !c; i++)
			if (!st->conns[i].busy && st->conns[i].db)
				c = &st->conns[i];
		for (unsigned i = 0; i < KW_STORE_POOL && !c; i++)
			if (!st->conns[i].busy)
				c = &st->conns[i];
		if (c)
			break;
		pthread_cond_wait(&st->cond, &st->lock);
	}
	c->busy = true;
	pthread_mutex_unlock(&st->lock);
	if (!c->db)
		ret = conn_open(st, c);
	if (ret < 0) {
		pthread_mutex_lock(&st->lock);
		c->busy = false;
		pthread_cond_signal(&st->cond);
		pthread_mutex_unlock(&st->lock);
		return ret;
	}
	*out = c;
	return 0;
}

void store_conn_put(struct kw_store *st, struct kw_conn *c)
{
	for (unsigned i = 0; i < c->nstmts; i++) {
		if (c->stmts[i].used) {
			sqlite3_reset(c->stmts[i].stmt);
			sqlite3_clear_bindings(c->stmts[i].stmt);
			c->stmts[i].used = false;
		}
	}
	if (c->in_write) {
		log_warn("store: transaction left open, rolling back");
		store_tx_rollback(st, c);
	}
	pthread_mutex_lock(&st->lock);
	c->busy = false;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

sqlite3_stmt *store_stmt(struct kw_conn *c, const char *sql)
{
	sqlite3_stmt *s = NULL;
	unsigned i;

	for (i = 0; i < c->nstmts; i++) {
		if (c->stmts[i].sql == sql) {
			if (c->stmts[i].used) {
				sqlite3_reset(c->stmts[i].stmt);
				sqlite3_clear_bindings(c->stmts[i].stmt);
			}
			c->stmts[i].used = true;
			return c->stmts[i].stmt;
		}
	}
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		log_error("store: prepare failed error=\"%s\"", sqlite3_errmsg(c->db));
		return NULL;
	}
	if (c->nstmts == KW_STMT_CACHE) {
		/* Cache full (should not happen): use it once; finalised when the slot is recycled. */
		sqlite3_finalize(c->stmts[KW_STMT_CACHE - 1].stmt);
		c->nstmts--;
	}
	c->stmts[c->nstmts].sql = sql;
	c->stmts[c->nstmts].stmt = s;
	c->stmts[c->nstmts].used = true;
	c->nstmts++;
	return s;
}

int store_errno(struct kw_conn *c, int rc)
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
	default:
		log_error("store: sqlite error code=%d error=\"%s\"", rc, sqlite3_errmsg(c->db));
		return -EIO;
	}
}

void store_col_text(sqlite3_stmt *s, int col, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	if (size == 0)
		return;
	if (!t) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, size, "%s", (const char *)t);
}

int64_t store_col_int(sqlite3_stmt *s, int col)
{
	return sqlite3_column_int64(s, col);
}

int store_tx_begin(struct kw_store *st, struct kw_conn *c)
{
	int rc;

	pthread_mutex_lock(&st->write_lock);
	rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		pthread_mutex_unlock(&st->write_lock);
		return store_errno(c, rc);
	}
	c->in_write = true;
	return 0;
}

int store_tx_commit(struct kw_store *st, struct kw_conn *c)
{
	int rc;

	/* Pending SELECTs would not stop COMMIT, but reset them so no snapshot lingers. */
	for (unsigned i = 0; i < c->nstmts; i++)
		if (c->stmts[i].used)
			sqlite3_reset(c->stmts[i].stmt);
	rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int ret = store_errno(c, rc);

		store_tx_rollback(st, c);
		return ret < 0 ? ret : -EIO;
	}
	c->in_write = false;
	pthread_mutex_unlock(&st->write_lock);
	return 0;
}

void store_tx_rollback(struct kw_store *st, struct kw_conn *c)
{
	if (!c->in_write)
		return;
	for (unsigned i = 0; i < c->nstmts; i++)
		if (c->stmts[i].used)
			sqlite3_reset(c->stmts[i].stmt);
	if (sqlite3_get_autocommit(c->db) == 0)
		(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	c->in_write = false;
	pthread_mutex_unlock(&st->write_lock);
}

void store_notify_change(struct kw_store *st, int64_t device_id)
{
	void (*cb)(void *, int64_t);
	void *arg;

	atomic_fetch_add(&st->changes, 1);
	pthread_mutex_lock(&st->lock);
	cb = st->change_cb;
	arg = st->change_arg;
	pthread_mutex_unlock(&st->lock);
	if (cb)
		cb(arg, device_id);
}

void store_set_change_cb(struct kw_store *st, void (*cb)(void *arg, int64_t device_id), void *arg)
{
	pthread_mutex_lock(&st->lock);
	st->change_cb = cb;
	st->change_arg = arg;
	pthread_mutex_unlock(&st->lock);
}

uint64_t store_change_counter(struct kw_store *st)
{
	return atomic_load(&st->changes);
}

int store_seq_next(struct kw_conn *c, int64_t *seq)
{
	static const char sql[] = "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value";

	return store_exec_int(c, sql, NULL, 0, seq);
}

static int schema_current(struct kw_conn *c, int *version)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_exec(c->db,
			  "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
			  "name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_errno(c, rc);
	rc = sqlite3_prepare_v2(c->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(c, rc);
	rc = sqlite3_step(s);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : store_errno(c, rc);
}

/* Every pending migration in ONE transaction: all applied, or none. */
static int migrate(struct kw_store *st, struct kw_conn *c, const struct kw_migration *list, unsigned count)
{
	int current = 0, ret, last = 0;
	char *msg = NULL;

	ret = store_tx_begin(st, c);
	if (ret < 0)
		return ret;
	ret = schema_current(c, &current);
	if (ret < 0)
		goto out;
	for (unsigned i = 0; i < count; i++) {
		const struct kw_migration *m = &list[i];
		sqlite3_stmt *s = NULL;
		int rc;

		if (m->version <= last) {
			log_error("store: migrations out of order at %s", m->name);
			ret = -EINVAL;
			goto out;
		}
		last = m->version;
		if (m->version <= current)
			continue;
		if (sqlite3_exec(c->db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
			log_error("store: migration failed name=%s error=\"%s\"", m->name, msg ? msg : "?");
			sqlite3_free(msg);
			ret = -EIO;
			goto out;
		}
		rc = sqlite3_prepare_v2(c->db,
					"INSERT INTO schema_version (version, name, applied_at) "
					"VALUES (?, ?, strftime('%s','now'))",
					-1, &s, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int(s, 1, m->version);
			sqlite3_bind_text(s, 2, m->name, -1, SQLITE_STATIC);
			rc = sqlite3_step(s);
		}
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE) {
			ret = store_errno(c, rc) ?: -EIO;
			goto out;
		}
		log_info("store: migration applied version=%d name=%s", m->version, m->name);
	}
	if (current > last) {
		log_error("store: database schema version %d is newer than this keywayd (%d)", current, last);
		ret = -EPROTO;
		goto out;
	}
	return store_tx_commit(st, c);
out:
	store_tx_rollback(st, c);
	return ret;
}

/*
 * A changed [network] (routes, endpoint, lifetime…) changes every config: bump them all.
 * fp is the new fingerprint. Returns 1 when the versions were bumped, 0 when fp is the stored one.
 */
static int check_fingerprint(struct kw_store *st, struct kw_conn *c, const char *fp)
{
	static const char get[] = "SELECT text FROM meta WHERE key = 'net_fingerprint'";
	static const char set[] =
		"UPDATE meta SET text = ?1 WHERE key = 'net_fingerprint';";
	static const char bump[] =
		"UPDATE meta SET value = ?1 WHERE key IN ('devices_seq', 'gateways_seq')";
	char old[80] = "";
	sqlite3_stmt *s;
	int64_t seq;
	int ret;

	ret = store_tx_begin(st, c);
	if (ret < 0)
		return ret;
	ret = store_prepare(c, get, NULL, 0, &s);
	if (ret == 0 && sqlite3_step(s) != SQLITE_ROW)
		ret = -EIO;
	if (ret < 0)
		goto out;
	store_col_text(s, 0, old, sizeof(old));
	sqlite3_reset(s);
	if (strcmp(old, fp) == 0) {
		store_tx_rollback(st, c);
		return 0;
	}
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;
	ret = store_exec(c, set, STORE_BINDS(STORE_TEXT(fp)));
	if (ret < 0)
		goto out;
	ret = store_exec(c, bump, STORE_BINDS(STORE_INT(seq)));
	if (ret == 0)
		ret = store_devices_readdress(st, c);
	if (ret < 0)
		goto out;
	if (old[0])
		log_info("store: network settings changed, every config version bumped to %lld", (long long)seq);
	ret = store_tx_commit(st, c);
	return ret < 0 ? ret : 1;
out:
	store_tx_rollback(st, c);
	return ret;
}

int store_open(const char *path, const struct kw_store_net *net, struct kw_store **out)
{
	return store_open_migrations(path, net, kw_migrations, kw_migrations_count, out);
}

int store_open_migrations(const char *path, const struct kw_store_net *net, const struct kw_migration *list,
			  unsigned count, struct kw_store **out)
{
	struct kw_store *st;
	struct kw_conn *c = NULL;
	uint64_t first6, last6;
	int ret;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->path = strdup(path);
	if (!st->path) {
		free(st);
		return -ENOMEM;
	}
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->write_lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	atomic_init(&st->changes, 0);
	if (net) {
		st->has_net = true;
		st->net = *net;
		ret = ipam_pool_range(&net->cidr, &st->pool_first, &st->pool_last);
		if (ret < 0) {
			log_error("store: network too small for devices cidr prefix=%u", net->cidr.prefix);
			goto fail;
		}
		/* A device has the same offset in cidr6: a smaller IPv6 prefix is the limit. */
		if (net->has_cidr6 && ipam_pool_range(&net->cidr6, &first6, &last6) == 0 &&
		    last6 < st->pool_last) {
			log_info("store: cidr6 holds fewer addresses than cidr: pool limited to %llu devices",
				 (unsigned long long)(last6 - st->pool_first + 1));
			st->pool_last = last6;
		}
	}
	ret = store_conn_get(st, &c);
	if (ret < 0)
		goto fail;
	ret = migrate(st, c, list, count);
	if (ret == 0 && net)
		ret = check_fingerprint(st, c, st->net.fingerprint);
	store_conn_put(st, c);
	if (ret < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	store_close(st);
	return ret;
}

int store_net_refresh(struct kw_store *st, const char *fingerprint)
{
	struct kw_conn *c;
	int ret;

	if (!st->has_net || strlen(fingerprint) >= sizeof(st->net.fingerprint))
		return -EINVAL;
	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = check_fingerprint(st, c, fingerprint);
	store_conn_put(st, c);
	if (ret < 0)
		return ret;
	/* Only check_fingerprint reads it, and only from the thread that opened the store or reloads. */
	snprintf(st->net.fingerprint, sizeof(st->net.fingerprint), "%s", fingerprint);
	if (ret > 0)
		store_notify_change(st, KW_CHANGE_ALL);
	return ret;
}

void store_close(struct kw_store *st)
{
	if (!st)
		return;
	for (unsigned i = 0; i < KW_STORE_POOL; i++) {
		struct kw_conn *c = &st->conns[i];

		for (unsigned j = 0; j < c->nstmts; j++)
			sqlite3_finalize(c->stmts[j].stmt);
		if (c->db)
			sqlite3_close(c->db);
	}
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->write_lock);
	pthread_cond_destroy(&st->cond);
	free(st->path);
	free(st);
}

int store_schema_version(struct kw_store *st, int *version)
{
	struct kw_conn *c;
	int ret;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = schema_current(c, version);
	store_conn_put(st, c);
	return ret;
}

int store_audit_insert(struct kw_conn *c, int64_t now, const char *actor, const char *action,
		       const char *object, const char *outcome, const char *detail)
{
	static const char sql[] = "INSERT INTO audit (at, actor, action, object, outcome, detail) "
				  "VALUES (?, ?, ?, ?, ?, ?)";

	return store_exec(c, sql, STORE_BINDS(STORE_INT(now), STORE_TEXT(actor ? actor : "system"),
					      STORE_TEXT(action), STORE_TEXT(object ? object : ""),
					      STORE_TEXT(outcome ? outcome : "success"),
					      STORE_TEXT(detail ? detail : "")));
}

/* DELETE/UPDATE by id (?1; ?2 is now) that must touch exactly one row, plus the audit row
 * "KIND:ID" in the same transaction. -ENOENT when no row matched. */
int store_change_one(struct kw_store *st, const char *sql, int64_t id, int64_t now, const char *actor,
		     const char *action, const char *kind)
{
	char object[64];
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_exec(c, sql, STORE_BINDS(STORE_INT(id), STORE_INT(now)));
	if (ret < 0)
		goto out;
	if (sqlite3_changes(c->db) != 1) {
		ret = -ENOENT;
		goto out;
	}
	snprintf(object, sizeof(object), "%s:%lld", kind, (long long)id);
	ret = store_audit_insert(c, now, actor, action, object, "success", "");
out:
	return store_write_end(st, c, ret);
}

/* INSERT ... RETURNING id plus the audit row "KIND:ID" in one write transaction. */
int store_insert_one(struct kw_store *st, const char *sql, const struct kw_bind *b, unsigned n,
		     const char *actor, const char *action, const char *kind, const char *detail, int64_t now,
		     int64_t *id)
{
	char object[64];
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_exec_int(c, sql, b, n, id);
	if (ret < 0)
		goto out;
	snprintf(object, sizeof(object), "%s:%lld", kind, (long long)*id);
	ret = store_audit_insert(c, now, actor, action, object, "success", detail);
out:
	return store_write_end(st, c, ret);
}
