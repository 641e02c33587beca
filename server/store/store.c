/* The store's core: opening, migrations, the connection pool, transactions. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipam.h"
#include "log.h"
#include "store_internal.h"
#include "store_migrations.h"
#include "store_pg.h"

int store_conn_get(struct kw_store *st, struct kw_conn **out)
{
	struct kw_conn *c = NULL;
	int ret = 0;

	pthread_mutex_lock(&st->lock);
	for (;;) {
		/* Prefer an open idle connection, then an unopened slot. */
		for (unsigned i = 0; i < st->pool_size && !c; i++)
			if (!st->conns[i].busy && st->conns[i].h)
				c = &st->conns[i];
		for (unsigned i = 0; i < st->pool_size && !c; i++)
			if (!st->conns[i].busy)
				c = &st->conns[i];
		if (c)
			break;
		pthread_cond_wait(&st->cond, &st->lock);
	}
	c->busy = true;
	pthread_mutex_unlock(&st->lock);
	c->st = st;
	if (!c->h)
		ret = st->ops->conn_open(st, c);
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
	if (c->in_write) {
		log_warn("store: transaction left open, rolling back");
		store_tx_rollback(st, c);
	}
	if (c->h)
		st->ops->conn_idle(c); /* may close a broken connection: reopened on next use */
	pthread_mutex_lock(&st->lock);
	c->busy = false;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

int store_tx_begin(struct kw_store *st, struct kw_conn *c)
{
	int ret;

	pthread_mutex_lock(&st->write_lock);
	ret = st->ops->begin(c);
	if (ret < 0) {
		pthread_mutex_unlock(&st->write_lock);
		return ret;
	}
	c->in_write = true;
	return 0;
}

int store_tx_commit(struct kw_store *st, struct kw_conn *c)
{
	int64_t done[KW_NOTIFY_MAX];
	unsigned n = c->npending;
	int ret = st->ops->commit(c);

	if (ret < 0) {
		store_tx_rollback(st, c);
		return ret;
	}
	memcpy(done, c->pending, n * sizeof(done[0]));
	c->npending = 0;
	c->in_write = false;
	pthread_mutex_unlock(&st->write_lock);
	for (unsigned i = 0; i < n; i++)
		store_notify_local(st, done[i]);
	return 0;
}

void store_tx_rollback(struct kw_store *st, struct kw_conn *c)
{
	c->npending = 0;
	if (!c->in_write)
		return;
	st->ops->rollback(c);
	c->in_write = false;
	pthread_mutex_unlock(&st->write_lock);
}

void store_tx_notify(struct kw_conn *c, int64_t device_id)
{
	for (unsigned i = 0; i < c->npending; i++)
		if (c->pending[i] == device_id)
			return;
	if (c->npending == KW_NOTIFY_MAX) { /* more than a few: everyone */
		c->pending[0] = KW_CHANGE_ALL;
		c->npending = 1;
		return;
	}
	c->pending[c->npending++] = device_id;
}

void store_notify_local(struct kw_store *st, int64_t device_id)
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
	return store_exec_int(c, KW_SQL_SEQ_NEXT, NULL, 0, seq);
}

static int schema_current(struct kw_conn *c, int *version)
{
	int64_t v = 0;
	int ret;

	ret = c->st->ops->script(c, c->st->ops->sql[KW_SQL_SCHEMA_TABLE], "schema_version table");
	if (ret == 0)
		ret = store_exec_int(c, KW_SQL_SCHEMA_CURRENT, NULL, 0, &v);
	*version = (int)v;
	return ret;
}

/* Every pending migration in ONE transaction: all applied, or none. */
static int migrate(struct kw_store *st, struct kw_conn *c, const struct kw_migration *list, unsigned count)
{
	int current = 0, ret, last = 0;

	ret = store_tx_begin(st, c);
	if (ret < 0)
		return ret;
	ret = schema_current(c, &current);
	if (ret < 0)
		goto out;
	for (unsigned i = 0; i < count; i++) {
		const struct kw_migration *m = &list[i];
		char what[128];

		if (m->version <= last) {
			log_error("store: migrations out of order at %s", m->name);
			ret = -EINVAL;
			goto out;
		}
		last = m->version;
		if (m->version <= current)
			continue;
		snprintf(what, sizeof(what), "migration name=%s", m->name);
		ret = st->ops->script(c, m->sql, what);
		if (ret == 0)
			ret = store_exec(c, KW_SQL_SCHEMA_RECORD, STORE_BINDS(STORE_INT(m->version), STORE_TEXT(m->name)));
		if (ret < 0)
			goto out;
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

static int text_row(const struct kw_row *r, void *arg)
{
	char *buf = arg;

	store_col_text(r, 0, buf, 80);
	return 0;
}

/*
 * A changed [network] (routes, endpoint, lifetime…) changes every config: bump them all.
 * fp is the new fingerprint. Returns 1 when the versions were bumped, 0 when fp is the stored one
 * (unless force: this process's settings changed even though another recorded them first).
 */
static int check_fingerprint(struct kw_store *st, struct kw_conn *c, const char *fp, bool force)
{
	char old[80] = "";
	int64_t seq;
	int ret;

	ret = store_tx_begin(st, c);
	if (ret < 0)
		return ret;
	ret = store_first_row(c, KW_SQL_FP_GET, NULL, 0, text_row, old);
	if (ret == -ENOENT)
		ret = -EIO;
	if (ret < 0)
		goto out;
	if (strcmp(old, fp) == 0 && !force) {
		store_tx_rollback(st, c);
		return 0;
	}
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;
	ret = store_exec(c, KW_SQL_FP_SET, STORE_BINDS(STORE_TEXT(fp)));
	if (ret < 0)
		goto out;
	ret = store_exec(c, KW_SQL_BUMP_ALL, STORE_BINDS(STORE_INT(seq)));
	if (ret == 0)
		ret = store_devices_readdress(st, c);
	if (ret < 0)
		goto out;
	if (old[0])
		log_info("store: network settings changed, every config version bumped to %lld", (long long)seq);
	store_tx_notify(c, KW_CHANGE_ALL);
	ret = store_tx_commit(st, c);
	return ret < 0 ? ret : 1;
out:
	store_tx_rollback(st, c);
	return ret;
}

/* Every statement must have a text in the backend's dialect: a missing one is a bug, caught
 * at open rather than on the first request that needs it. */
static int backend_start(struct kw_store *st, const struct kw_store_backend_ops *ops)
{
	for (unsigned i = 0; i < KW_SQL__COUNT; i++) {
		if (!ops->sql[i]) {
			log_error("store: backend %s has no statement %s", ops->name, store_sql_name(i));
			return -EINVAL;
		}
	}
	st->ops = ops; /* set first: store_close undoes a half-done open */
	return ops->open ? ops->open(st) : 0;
}

int store_open(const char *path, const struct kw_store_net *net, struct kw_store **out)
{
	struct kw_store_conf cf = { .backend = KW_STORE_SQLITE, .path = path };

	return store_open_conf(&cf, net, out);
}

int store_open_conf(const struct kw_store_conf *cf, const struct kw_store_net *net, struct kw_store **out)
{
	if (cf->backend == KW_STORE_POSTGRESQL)
		return store_open_conf_migrations(cf, net, kw_migrations_pg, kw_migrations_pg_count, out);
	return store_open_conf_migrations(cf, net, kw_migrations, kw_migrations_count, out);
}

int store_open_migrations(const char *path, const struct kw_store_net *net, const struct kw_migration *list,
			  unsigned count, struct kw_store **out)
{
	struct kw_store_conf cf = { .backend = KW_STORE_SQLITE, .path = path };

	return store_open_conf_migrations(&cf, net, list, count, out);
}

/* The store without its database: locks, pool size, address plan. */
static int store_new(const struct kw_store_conf *cf, const struct kw_store_net *net, struct kw_store **out)
{
	struct kw_store *st;
	uint64_t first6, last6;

	if (cf->pool_size < 0 || cf->pool_size > KW_STORE_POOL_MAX)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	*out = st;
	st->pool_size = cf->pool_size ? (unsigned)cf->pool_size : KW_STORE_POOL;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->write_lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	atomic_init(&st->changes, 0);
	st->path = strdup(cf->path ? cf->path : "");
	if (!st->path)
		return -ENOMEM;
	if (!net)
		return 0;
	st->has_net = true;
	st->net = *net;
	if (ipam_pool_range(&net->cidr, &st->pool_first, &st->pool_last) < 0) {
		log_error("store: network too small for devices cidr prefix=%u", net->cidr.prefix);
		return -EINVAL;
	}
	/* A device has the same offset in cidr6: a smaller IPv6 prefix is the limit. */
	if (net->has_cidr6 && ipam_pool_range(&net->cidr6, &first6, &last6) == 0 && last6 < st->pool_last) {
		log_info("store: cidr6 holds fewer addresses than cidr: pool limited to %llu devices",
			 (unsigned long long)(last6 - st->pool_first + 1));
		st->pool_last = last6;
	}
	return 0;
}

int store_open_conf_migrations(const struct kw_store_conf *cf, const struct kw_store_net *net,
			       const struct kw_migration *list, unsigned count, struct kw_store **out)
{
	struct kw_store *st = NULL;
	struct kw_conn *c = NULL;
	int ret;

	*out = NULL;
	ret = store_new(cf, net, &st);
	if (ret == 0 && cf->backend == KW_STORE_POSTGRESQL) {
		st->ops = &kw_store_pg_ops;
		ret = cf->conninfo ? store_pg_prepare(st, cf->conninfo, cf->password) : -EINVAL;
		if (ret == 0)
			ret = backend_start(st, &kw_store_pg_ops);
	} else if (ret == 0) {
		ret = backend_start(st, &kw_store_sqlite_ops);
	}
	if (ret < 0)
		goto fail;
	ret = store_conn_get(st, &c);
	if (ret < 0)
		goto fail;
	ret = migrate(st, c, list, count);
	if (ret == 0 && net)
		ret = check_fingerprint(st, c, st->net.fingerprint, false);
	store_conn_put(st, c);
	if (ret < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	store_close(st);
	return ret;
}

int store_signing_key_check(struct kw_store *st, const char *key_id)
{
	char recorded[80] = "";
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_exec(c, KW_SQL_KEY_ID_RECORD, STORE_BINDS(STORE_TEXT(key_id)));
	if (ret == 0)
		ret = store_first_row(c, KW_SQL_KEY_ID_GET, NULL, 0, text_row, recorded);
	ret = store_write_end(st, c, ret);
	if (ret == 0 && strcmp(recorded, key_id) != 0) {
		log_error("store: this keywayd's signing key %s is not the key %s the other replicas sign with: "
			  "copy their signing.key into state_dir", key_id, recorded);
		ret = -EKEYREJECTED;
	}
	return ret;
}

int store_singleton_try(struct kw_store *st, const char *name)
{
	return st->ops->singleton_try ? st->ops->singleton_try(st, name) : 1;
}

void store_singleton_release(struct kw_store *st, const char *name)
{
	if (st->ops->singleton_release)
		st->ops->singleton_release(st, name);
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
	/* Replicas: another one may have recorded this fingerprint already, while this one still
	 * rendered configs from its old settings under the new versions. Bump again, so the
	 * version agents end on is one every reloaded replica renders alike. */
	ret = check_fingerprint(st, c, fingerprint, strcmp(st->net.fingerprint, fingerprint) != 0);
	store_conn_put(st, c);
	if (ret < 0)
		return ret;
	/* Only check_fingerprint reads it, and only from the thread that opened the store or reloads. */
	snprintf(st->net.fingerprint, sizeof(st->net.fingerprint), "%s", fingerprint);
	return ret;
}

void store_close(struct kw_store *st)
{
	if (!st)
		return;
	if (st->ops && st->ops->close)
		st->ops->close(st);
	for (unsigned i = 0; i < st->pool_size && st->ops; i++) {
		struct kw_conn *c = &st->conns[i];

		if (c->h)
			st->ops->conn_close(c);
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
	return store_exec(c, KW_SQL_AUDIT_INSERT, STORE_BINDS(STORE_INT(now), STORE_TEXT(actor ? actor : "system"),
					      STORE_TEXT(action), STORE_TEXT(object ? object : ""),
					      STORE_TEXT(outcome ? outcome : "success"),
					      STORE_TEXT(detail ? detail : "")));
}

/* DELETE/UPDATE by id (?1; ?2 is now) that must touch exactly one row, plus the audit row
 * "KIND:ID" in the same transaction. -ENOENT when no row matched. */
int store_change_one(struct kw_store *st, enum kw_sql sql, int64_t id, int64_t now, const char *actor,
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
	if (store_changes(c) != 1) {
		ret = -ENOENT;
		goto out;
	}
	snprintf(object, sizeof(object), "%s:%lld", kind, (long long)id);
	ret = store_audit_insert(c, now, actor, action, object, "success", "");
out:
	return store_write_end(st, c, ret);
}

/* INSERT ... RETURNING id plus the audit row "KIND:ID" in one write transaction. */
int store_insert_one(struct kw_store *st, enum kw_sql sql, const struct kw_bind *b, unsigned n,
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
