/*
 * The PostgreSQL backend of the store (libpq). Several keywayd replicas share one database:
 *   - writers take one transaction-scoped advisory lock after BEGIN, so write transactions
 *     run one at a time over every replica, as SQLite's BEGIN IMMEDIATE does on one machine:
 *     the counters, addresses and keys they hand out come from the database, never twice;
 *   - a commit that changed configs carries a NOTIFY for each change (sent with the COMMIT,
 *     delivered only if it commits); the other replicas' listener thread wakes their
 *     long-polls; after the listener reconnects it wakes them all (the notifications sent
 *     meanwhile are lost, so everyone re-reads);
 *   - singleton jobs (the directory sync) run under a session advisory lock held on a
 *     connection of their own: when that replica dies, its lock goes with it;
 *   - a database that cannot be reached is -EBUSY, as a busy one: the API answers 503 busy
 *     with Retry-After, and the broken connection is dropped, to be opened again on next use.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "core/metrics.h"
#include "log.h"
#include "store_internal.h"
#include "store_pg.h"

#define PG_WRITE_LOCK 0x6b657977 /* "keyw": the writers' advisory lock */
#define PG_CHANNEL "keyway_change"
#define PG_SINGLETON_CLASS "1801812343" /* singleton locks: (this, hashtext(name)) */
#define PG_MAX_BINDS 24 /* the widest row: a device, 19 columns */

struct pg_conn {
	PGconn *pg;
	bool prepared[KW_SQL__COUNT];
	bool broken; /* lost: closed when given back, opened again on next use */
	int64_t changes;
};

struct pg_singleton {
	char name[64];
	PGconn *pg; /* holds the session lock while held is true */
	bool held;
};

struct pg_store {
	char *conninfo;
	char *password; /* NULL: none (or in conninfo / ~/.pgpass) */
	char nonce[24]; /* this replica's mark on its own notifications */
	pthread_t listener;
	bool listening;
	int stop_pipe[2];
	pthread_mutex_t lock; /* singletons */
	struct pg_singleton singles[4];
};

static struct pg_store *store_pg(struct kw_store *st)
{
	return st->be;
}

PGconn *store_pg_connect(const char *conninfo, const char *password, bool quiet)
{
	/* conninfo is expanded in place of dbname; keywords after it override it, keywords
	 * before it are defaults that it may override. TCP keepalives: a server gone without a
	 * word (a dead machine, a dropped route) is noticed within about 25 s. */
	const char *keys[] = { "application_name", "connect_timeout", "keepalives", "keepalives_idle",
			       "keepalives_interval", "keepalives_count", "options", "dbname", "password", NULL };
	const char *vals[] = { "keywayd", "5", "1", "10", "5", "3",
			       "-c client_min_messages=warning -c lock_timeout=10s", conninfo, password, NULL };
	const char *msg;
	PGconn *pg;

	if (!password)
		keys[8] = NULL;
	pg = PQconnectdbParams(keys, vals, 1);
	if (pg && PQstatus(pg) == CONNECTION_OK)
		return pg;
	msg = pg ? PQerrorMessage(pg) : "out of memory";
	kw_log(quiet ? KW_LOG_DEBUG : KW_LOG_ERROR, "store: cannot connect to PostgreSQL error=\"%.*s\"",
	       (int)strcspn(msg, "\n"), msg);
	PQfinish(pg);
	return NULL;
}

/* The errno of a failed result (res may be NULL: the connection failed). */
static int pg_errno(PGconn *pg, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg;

	if (PQstatus(pg) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0) {
		log_warn("store: PostgreSQL unavailable during %s", what);
		return -EBUSY;
	}
	if (strncmp(state, "23", 2) == 0)
		return -EEXIST;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
	    strcmp(state, "57014") == 0) {
		log_warn("store: database busy during %s sqlstate=%s", what, state);
		metrics_store_busy();
		return -EBUSY;
	}
	msg = PQresultErrorMessage(res);
	log_error("store: PostgreSQL error during %s sqlstate=%s error=\"%.*s\"", what, state,
		  (int)strcspn(msg, "\n"), msg);
	return -EIO;
}

/* Run a parameterless command, no rows wanted. */
static int pg_command(struct kw_conn *c, const char *sql, const char *what)
{
	struct pg_conn *pc = c->h;
	PGresult *res = PQexec(pc->pg, sql);
	int ret = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		ret = pg_errno(pc->pg, res, what);
		if (PQstatus(pc->pg) != CONNECTION_OK)
			pc->broken = true;
	}
	PQclear(res);
	return ret;
}

static int pg_conn_open(struct kw_store *st, struct kw_conn *c)
{
	struct pg_store *ps = store_pg(st);
	struct pg_conn *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return -ENOMEM;
	pc->pg = store_pg_connect(ps->conninfo, ps->password, false);
	if (!pc->pg) {
		free(pc);
		return -EBUSY;
	}
	c->h = pc;
	return 0;
}

static void pg_conn_close(struct kw_conn *c)
{
	struct pg_conn *pc = c->h;

	if (!pc)
		return;
	PQfinish(pc->pg);
	free(pc);
	c->h = NULL;
}

static void pg_conn_idle(struct kw_conn *c)
{
	struct pg_conn *pc = c->h;

	if (pc && (pc->broken || PQstatus(pc->pg) != CONNECTION_OK))
		pg_conn_close(c);
}

static void pg_rollback(struct kw_conn *c);

static int pg_begin(struct kw_conn *c)
{
	char sql[96];

	int ret;

	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%d)", PG_WRITE_LOCK);
	ret = pg_command(c, sql, "BEGIN");
	if (ret < 0) /* the lock not granted in time (lock_timeout): leave no transaction open */
		pg_rollback(c);
	return ret;
}

/* COMMIT, preceded by a NOTIFY for each change of the transaction (one round trip): the
 * other replicas hear of it exactly when it commits, and never of one rolled back. The
 * payload is "NONCE ID": this replica skips its own. */
static int pg_commit(struct kw_conn *c)
{
	struct pg_conn *pc = c->h;
	struct pg_store *ps = store_pg(c->st);
	char sql[KW_NOTIFY_MAX * 96 + 16];
	size_t len = 0;
	PGresult *res;
	int ret = 0;

	for (unsigned i = 0; i < c->npending; i++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "NOTIFY " PG_CHANNEL ", '%s %" PRId64 "'; ",
					ps->nonce, c->pending[i]);
	snprintf(sql + len, sizeof(sql) - len, "COMMIT");
	res = PQexec(pc->pg, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		ret = pg_errno(pc->pg, res, "COMMIT");
		if (PQstatus(pc->pg) != CONNECTION_OK)
			pc->broken = true;
	} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		ret = -EIO; /* the transaction had failed: COMMIT rolled it back */
	}
	PQclear(res);
	return ret;
}

static void pg_rollback(struct kw_conn *c)
{
	struct pg_conn *pc = c->h;

	if (pc && !pc->broken && PQstatus(pc->pg) == CONNECTION_OK)
		(void)pg_command(c, "ROLLBACK", "ROLLBACK");
}

static int pg_script(struct kw_conn *c, const char *sql, const char *what)
{
	return pg_command(c, sql, what);
}

static int prepare(struct pg_conn *pc, enum kw_sql id, const char *name)
{
	PGresult *res;
	int ret = 0;

	if (pc->prepared[id])
		return 0;
	res = PQprepare(pc->pg, name, kw_sql_pg[id], 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		ret = pg_errno(pc->pg, res, store_sql_name(id));
	else
		pc->prepared[id] = true;
	PQclear(res);
	return ret;
}

static int pg_run(struct kw_conn *c, enum kw_sql id, const struct kw_bind *b, unsigned n, struct kw_row *r)
{
	struct pg_conn *pc = c->h;
	const char *vals[PG_MAX_BINDS];
	int lens[PG_MAX_BINDS], fmts[PG_MAX_BINDS];
	char ints[PG_MAX_BINDS][24], name[16];
	PGresult *res;
	ExecStatusType status;
	int ret;

	*r = (struct kw_row){ .ops = &kw_store_pg_ops, .i = -1 };
	if (n > PG_MAX_BINDS)
		return -EINVAL;
	snprintf(name, sizeof(name), "kw%d", (int)id);
	ret = prepare(pc, id, name);
	if (ret < 0)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		lens[i] = 0;
		fmts[i] = 0;
		switch (b[i].type) {
		case KW_BIND_INT:
			snprintf(ints[i], sizeof(ints[i]), "%" PRId64, b[i].i);
			vals[i] = ints[i];
			break;
		case KW_BIND_TEXT:
			vals[i] = b[i].p;
			break;
		case KW_BIND_BLOB:
			vals[i] = b[i].p;
			lens[i] = b[i].len;
			fmts[i] = 1; /* bytea, binary */
			break;
		case KW_BIND_NULL:
			vals[i] = NULL;
			break;
		}
	}
	res = PQexecPrepared(pc->pg, name, (int)n, vals, lens, fmts, 0);
	status = PQresultStatus(res);
	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
		ret = pg_errno(pc->pg, res, store_sql_name(id));
		PQclear(res);
		goto fail;
	}
	pc->changes = strtoll(PQcmdTuples(res), NULL, 10);
	r->h = res;
	r->n = PQntuples(res);
	return 0;
fail:
	if (PQstatus(pc->pg) != CONNECTION_OK)
		pc->broken = true;
	return ret;
}

static int pg_next(struct kw_conn *c, struct kw_row *r)
{
	(void)c;
	return ++r->i < r->n ? 1 : 0;
}

static void pg_done(struct kw_conn *c, struct kw_row *r)
{
	(void)c;
	PQclear(r->h);
	r->h = NULL;
}

static int64_t pg_changes(struct kw_conn *c)
{
	return ((struct pg_conn *)c->h)->changes;
}

static bool pg_col_null(const struct kw_row *r, int col)
{
	return PQgetisnull(r->h, r->i, col);
}

static int64_t pg_col_int(const struct kw_row *r, int col)
{
	const char *v = PQgetvalue(r->h, r->i, col);

	if (v[0] == 't')
		return 1; /* a boolean */
	return strtoll(v, NULL, 10);
}

static const char *pg_col_text(const struct kw_row *r, int col)
{
	return PQgetisnull(r->h, r->i, col) ? NULL : PQgetvalue(r->h, r->i, col);
}

static int pg_col_blob(const struct kw_row *r, int col, void *buf, size_t len)
{
	const char *v = PQgetvalue(r->h, r->i, col); /* bytea as text: \x then hex */
	size_t got = 0;

	if (PQgetisnull(r->h, r->i, col) || strncmp(v, "\\x", 2) != 0 || strlen(v + 2) != 2 * len)
		return -EINVAL;
	if (sodium_hex2bin(buf, len, v + 2, 2 * len, NULL, &got, NULL) != 0 || got != len)
		return -EINVAL;
	return 0;
}

/* ---- notifications between replicas ---- */

/* Hand every pending notification from another replica to the store's change callback. */
static void listener_drain(struct kw_store *st, PGconn *pg)
{
	struct pg_store *ps = store_pg(st);
	PGnotify *n;

	while ((n = PQnotifies(pg)) != NULL) {
		char nonce[sizeof(ps->nonce)];
		long long id;

		if (sscanf(n->extra, "%23s %lld", nonce, &id) == 2 && strcmp(nonce, ps->nonce) != 0)
			store_notify_local(st, (int64_t)id);
		PQfreemem(n);
	}
}

/* quiet: the last attempt failed already (one error line per outage, not one a second). */
static PGconn *listener_connect(struct kw_store *st, bool again, bool quiet)
{
	struct pg_store *ps = store_pg(st);
	PGconn *pg = store_pg_connect(ps->conninfo, ps->password, quiet);
	PGresult *res;

	if (!pg)
		return NULL;
	res = PQexec(pg, "LISTEN " PG_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		PQfinish(pg);
		return NULL;
	}
	PQclear(res);
	if (again) {
		/* Whatever was notified while we were away is lost: every long-poll re-reads. */
		log_info("store: PostgreSQL listener reconnected, waking every long-poll");
		store_notify_local(st, KW_CHANGE_ALL);
	}
	return pg;
}

static void *listener_main(void *arg)
{
	struct kw_store *st = arg;
	struct pg_store *ps = store_pg(st);
	PGconn *pg = NULL;
	bool again = false, failing = false;

	for (;;) {
		struct pollfd fds[2] = { { .fd = ps->stop_pipe[0], .events = POLLIN }, { .fd = -1, .events = POLLIN } };
		int rc;

		if (!pg) {
			pg = listener_connect(st, again, failing);
			failing = !pg;
			again = true;
		}
		fds[1].fd = pg ? PQsocket(pg) : -1;
		rc = poll(fds, 2, 1000);
		if (rc < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (!pg)
			continue;
		if ((fds[1].revents && !PQconsumeInput(pg)) || PQstatus(pg) != CONNECTION_OK) {
			log_warn("store: PostgreSQL listener lost its connection, reconnecting");
			PQfinish(pg);
			pg = NULL;
			continue;
		}
		listener_drain(st, pg);
	}
	PQfinish(pg);
	return NULL;
}

/* ---- singleton jobs ---- */

static struct pg_singleton *singleton_slot(struct pg_store *ps, const char *name)
{
	struct pg_singleton *free_slot = NULL;

	for (unsigned i = 0; i < sizeof(ps->singles) / sizeof(ps->singles[0]); i++) {
		if (strcmp(ps->singles[i].name, name) == 0)
			return &ps->singles[i];
		if (!ps->singles[i].name[0] && !free_slot)
			free_slot = &ps->singles[i];
	}
	if (free_slot)
		snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
	return free_slot;
}

/* Is the lock's connection still alive (and so the lock still ours)? */
static bool singleton_alive(struct pg_singleton *s)
{
	PGresult *res = PQexec(s->pg, "SELECT 1");
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	PQclear(res);
	return ok;
}

static int singleton_try_locked(struct pg_store *ps, struct pg_singleton *s)
{
	const char *vals[1] = { s->name };
	PGresult *res;
	int ret;

	if (s->held && singleton_alive(s))
		return 1;
	if (s->held)
		log_warn("store: lost the lock of singleton job %s with its connection", s->name);
	s->held = false;
	if (s->pg && PQstatus(s->pg) != CONNECTION_OK) {
		PQfinish(s->pg);
		s->pg = NULL;
	}
	if (!s->pg)
		s->pg = store_pg_connect(ps->conninfo, ps->password, false);
	if (!s->pg)
		return -EBUSY;
	res = PQexecParams(s->pg, "SELECT pg_try_advisory_lock(" PG_SINGLETON_CLASS ", hashtext($1))", 1, NULL, vals,
			   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ret = pg_errno(s->pg, res, "pg_try_advisory_lock");
	} else {
		s->held = PQgetvalue(res, 0, 0)[0] == 't';
		ret = s->held ? 1 : 0;
		if (s->held)
			log_info("store: this replica now runs singleton job %s", s->name);
	}
	PQclear(res);
	return ret;
}

static int pg_singleton_try(struct kw_store *st, const char *name)
{
	struct pg_store *ps = store_pg(st);
	struct pg_singleton *s;
	int ret = -ENOSPC;

	pthread_mutex_lock(&ps->lock);
	s = singleton_slot(ps, name);
	if (s)
		ret = singleton_try_locked(ps, s);
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

static void singleton_drop(struct pg_singleton *s)
{
	const char *vals[1] = { s->name };

	/* Unlocked before the session ends, so the next replica may take it at once (the
	 * session's end would release it too, a moment later). */
	if (s->held && s->pg && PQstatus(s->pg) == CONNECTION_OK)
		PQclear(PQexecParams(s->pg, "SELECT pg_advisory_unlock(" PG_SINGLETON_CLASS ", hashtext($1))", 1, NULL,
				     vals, NULL, NULL, 0));
	PQfinish(s->pg); /* the session lock goes with the session */
	s->pg = NULL;
	s->held = false;
}

static void pg_singleton_release(struct kw_store *st, const char *name)
{
	struct pg_store *ps = store_pg(st);
	struct pg_singleton *s;

	pthread_mutex_lock(&ps->lock);
	s = singleton_slot(ps, name);
	if (s)
		singleton_drop(s);
	pthread_mutex_unlock(&ps->lock);
}

/* ---- life cycle ---- */

static void pg_close(struct kw_store *st)
{
	struct pg_store *ps = store_pg(st);

	if (!ps)
		return;
	if (ps->listening) {
		(void)!write(ps->stop_pipe[1], "x", 1);
		pthread_join(ps->listener, NULL);
	}
	for (unsigned i = 0; i < sizeof(ps->singles) / sizeof(ps->singles[0]); i++)
		singleton_drop(&ps->singles[i]);
	if (ps->stop_pipe[0] >= 0) {
		close(ps->stop_pipe[0]);
		close(ps->stop_pipe[1]);
	}
	if (ps->password) {
		sodium_memzero(ps->password, strlen(ps->password));
		free(ps->password);
	}
	free(ps->conninfo);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
	st->be = NULL;
}

int store_pg_prepare(struct kw_store *st, const char *conninfo, const char *password)
{
	struct pg_store *ps = calloc(1, sizeof(*ps));
	uint8_t rnd[8];

	if (!ps)
		return -ENOMEM;
	st->be = ps;
	ps->stop_pipe[0] = ps->stop_pipe[1] = -1;
	pthread_mutex_init(&ps->lock, NULL);
	ps->conninfo = strdup(conninfo);
	ps->password = password ? strdup(password) : NULL;
	if (!ps->conninfo || (password && !ps->password))
		return -ENOMEM;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(ps->nonce, sizeof(ps->nonce), rnd, sizeof(rnd));
	return 0;
}

static int pg_open(struct kw_store *st)
{
	struct pg_store *ps = store_pg(st);

	if (!ps)
		return -EINVAL;
	if (pipe(ps->stop_pipe) < 0)
		return -errno;
	if (pthread_create(&ps->listener, NULL, listener_main, st) != 0)
		return -EAGAIN;
	ps->listening = true;
	return 0;
}

const struct kw_store_backend_ops kw_store_pg_ops = {
	.name = "postgresql",
	.sql = kw_sql_pg,
	.open = pg_open,
	.close = pg_close,
	.conn_open = pg_conn_open,
	.conn_close = pg_conn_close,
	.conn_idle = pg_conn_idle,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.script = pg_script,
	.run = pg_run,
	.next = pg_next,
	.done = pg_done,
	.changes = pg_changes,
	.col_null = pg_col_null,
	.col_int = pg_col_int,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.singleton_try = pg_singleton_try,
	.singleton_release = pg_singleton_release,
};
