#include "config.h"

#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "key.h"
#include "server_fixture.h"
#include "store/store_migrations.h"
#include "core/signer.h"
#include "core/token.h"
#include "core/wgconf.h"

/* With KW_STORE_BACKEND=postgresql every fixture gets a fresh database named after it on the
 * server KW_STORE_CONNINFO (no dbname; KW_STORE_PASSWORD_FILE for the password): the same
 * tests run against both backends. */
bool fixture_pg(void)
{
	const char *b = getenv("KW_STORE_BACKEND");

	return b && strcmp(b, "postgresql") == 0;
}

static void pg_password(char *buf, size_t size)
{
	const char *path = getenv("KW_STORE_PASSWORD_FILE");
	FILE *fp;

	buf[0] = '\0';
	if (!path || !(fp = fopen(path, "r")))
		return;
	if (!fgets(buf, (int)size, fp))
		buf[0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	fclose(fp);
}

static PGconn *pg_connect(const char *dbname)
{
	char info[1024], pw[256];
	PGconn *pg;

	pg_password(pw, sizeof(pw));
	snprintf(info, sizeof(info), "%s dbname=%s%s%s", getenv("KW_STORE_CONNINFO") ?: "", dbname,
		 pw[0] ? " password=" : "", pw);
	pg = PQconnectdb(info);
	if (PQstatus(pg) != CONNECTION_OK)
		ck_abort_msg("fixture: cannot connect to PostgreSQL: %s", PQerrorMessage(pg));
	PQclear(PQexec(pg, "SET client_min_messages = warning"));
	return pg;
}

/* "VERB DATABASE name TAIL" on the server's postgres database. */
static void pg_admin(const char *verb, const char *name, const char *tail)
{
	PGconn *pg = pg_connect("postgres");
	char sql[256];
	PGresult *res;

	snprintf(sql, sizeof(sql), "%s DATABASE %s%s", verb, name, tail);
	res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		ck_abort_msg("fixture: %s: %s", sql, PQerrorMessage(pg));
	PQclear(res);
	PQfinish(pg);
}

/* The database "name" of the fixture: NULL its own, else another one beside it. */
static void db_name(struct fixture *f, const char *other, char *buf, size_t size)
{
	if (fixture_pg())
		snprintf(buf, size, "%s%s%s", f->pgdb, other ? "_" : "", other ? other : "");
	else if (other)
		snprintf(buf, size, "%s/%s.db", f->dir, other);
	else
		snprintf(buf, size, "%s", f->db);
}

int fixture_open(struct fixture *f, const char *other, const struct kw_store_net *net,
		 const struct kw_migration *list, unsigned n, struct kw_store **out)
{
	struct kw_store_conf cf = { .backend = KW_STORE_SQLITE };
	char name[160], info[1024], pw[256];
	int ret;

	db_name(f, other, name, sizeof(name));
	cf.path = name;
	if (fixture_pg()) {
		if (other && !f->pg_other) {
			pg_admin("CREATE", name, "");
			f->pg_other = true;
		}
		snprintf(info, sizeof(info), "%s dbname=%s", getenv("KW_STORE_CONNINFO") ?: "", name);
		pg_password(pw, sizeof(pw));
		cf = (struct kw_store_conf){ .backend = KW_STORE_POSTGRESQL, .conninfo = info,
					     .password = pw[0] ? pw : NULL };
	}
	if (!list) {
		list = fixture_pg() ? kw_migrations_pg : kw_migrations;
		n = fixture_pg() ? kw_migrations_pg_count : kw_migrations_count;
	}
	ret = store_open_conf_migrations(&cf, net, list, n, out);
	sodium_memzero(pw, sizeof(pw));
	return ret;
}

void fixture_reset_db(struct fixture *f)
{
	if (fixture_pg()) {
		pg_admin("DROP", f->pgdb, " WITH (FORCE)");
		pg_admin("CREATE", f->pgdb, "");
	} else {
		ck_assert_int_eq(unlink(f->db), 0);
	}
}

const struct kw_migration *fixture_migrations(unsigned *n)
{
	*n = fixture_pg() ? kw_migrations_pg_count : kw_migrations_count;
	return fixture_pg() ? kw_migrations_pg : kw_migrations;
}

void fixture_up(struct fixture *f, const char *cidr, int64_t quarantine)
{
	static unsigned serial;
	struct kw_store_net net = { .quarantine = quarantine };
	struct kw_conf *c = &f->conf;

	ck_assert_int_ge(sodium_init(), 0);
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/kws-unit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/keyway.db", f->dir);
	if (fixture_pg()) {
		snprintf(f->pgdb, sizeof(f->pgdb), "kwt_%ld_%u_%u", (long)getpid(), serial++, randombytes_random() % 100000);
		pg_admin("CREATE", f->pgdb, "");
	}
	conf_defaults(c);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", f->dir);
	ck_assert_int_eq(cidr_parse_network(&c->cidr, cidr), 0);
	ck_assert_int_eq(cidr_parse_network(&c->routes[0], "192.168.10.0/24"), 0);
	c->nroutes = 1;
	c->address_quarantine = quarantine;
	net.cidr = c->cidr;
	snprintf(net.fingerprint, sizeof(net.fingerprint), "test");
	f->srv.conf = c;
	f->srv.version = "test";
	ck_assert_int_eq(fixture_open(f, NULL, &net, NULL, 0, &f->srv.store), 0);
	ck_assert_int_eq(signer_open(f->dir, &f->srv.signer), 0);
	ck_assert_int_eq(wgconf_cache_new(&f->srv.wgcache), 0);
}

void fixture_down(struct fixture *f)
{
	char cmd[128], other[160];

	wgconf_cache_free(f->srv.wgcache);
	signer_free(f->srv.signer);
	store_close(f->srv.store);
	if (fixture_pg()) {
		pg_admin("DROP", f->pgdb, " WITH (FORCE)");
		if (f->pg_other) {
			db_name(f, "fresh", other, sizeof(other));
			pg_admin("DROP", other, " WITH (FORCE)");
		}
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void sqlite_rows(const char *path, const char *sql, const char *prefix, FILE *out, bool *ok)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL); /* as the store's connections */
	*ok = sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK;
	while (*ok && sqlite3_step(s) == SQLITE_ROW) {
		fprintf(out, "%s", prefix);
		for (int i = 0; i < sqlite3_column_count(s); i++) {
			if (sqlite3_column_type(s, i) == SQLITE_BLOB)
				fprintf(out, " blob%d", sqlite3_column_bytes(s, i));
			else
				fprintf(out, " %s", sqlite3_column_text(s, i) ? (const char *)sqlite3_column_text(s, i) : "NULL");
		}
		fputc('\n', out);
	}
	if (*ok)
		*ok = sqlite3_finalize(s) == SQLITE_OK;
	sqlite3_close(db);
}

static void pg_rows(const char *name, const char *sql, const char *prefix, FILE *out, bool *ok)
{
	PGconn *pg = pg_connect(name);
	PGresult *res = PQexec(pg, sql);

	*ok = PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK;
	for (int r = 0; *ok && r < PQntuples(res); r++) {
		fprintf(out, "%s", prefix);
		for (int i = 0; i < PQnfields(res); i++) {
			const char *v = PQgetvalue(res, r, i);

			if (PQgetisnull(res, r, i))
				fprintf(out, " NULL");
			else if (PQftype(res, i) == 17 /* bytea */)
				fprintf(out, " blob%zu", (strlen(v) - 2) / 2);
			else
				fprintf(out, " %s", v);
		}
		fputc('\n', out);
	}
	PQclear(res);
	PQfinish(pg);
}

char *fixture_sql(struct fixture *f, const char *other, const char *sql)
{
	char name[160], *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	bool ok = false;

	ck_assert_ptr_nonnull(out);
	db_name(f, other, name, sizeof(name));
	if (fixture_pg())
		pg_rows(name, sql, "", out, &ok);
	else
		sqlite_rows(name, sql, "", out, &ok);
	fclose(out);
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

long fixture_scalar(struct fixture *f, const char *sql)
{
	char *r = fixture_sql(f, NULL, sql);
	long n;

	ck_assert_ptr_nonnull(r);
	n = strtol(r, NULL, 10);
	free(r);
	return n;
}

long fixture_count(struct fixture *f, const char *table)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return fixture_scalar(f, sql);
}

char *fixture_dump(struct fixture *f)
{
	static const char *const tables[] = { "meta", "api_tokens", "enrollment_tokens", "devices", "retired_keys",
					      "address_leases", "sessions", "audit", "schema_version",
					      /* migration 3 */
					      "sites", "gateway_sites", "enrollment_token_sites", "gateway_health",
					      "policies", "group_members" };
	char *buf = NULL, name[160], sql[128], prefix[64];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	bool ok;

	ck_assert_ptr_nonnull(out);
	db_name(f, NULL, name, sizeof(name));
	for (unsigned i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1", tables[i]);
		snprintf(prefix, sizeof(prefix), "%s:", tables[i]);
		if (fixture_pg())
			pg_rows(name, sql, prefix, out, &ok);
		else
			sqlite_rows(name, sql, prefix, out, &ok);
		ck_assert(ok);
	}
	fclose(out);
	return buf;
}

void fixture_req(struct fixture *f, struct kw_req *req, const char *method, const char *path,
		 enum kw_principal_kind kind, enum kw_role role, int64_t id, const char *username)
{
	req_init_test(req, &f->srv, method, path);
	req->now = (int64_t)time(NULL);
	req->principal.kind = kind;
	req->principal.role = role;
	req->principal.id = id;
	snprintf(req->principal.username, sizeof(req->principal.username), "%s", username ? username : "");
	if (kind == KW_PRINCIPAL_DEVICE)
		snprintf(req->principal.actor, sizeof(req->principal.actor), "device:%lld", (long long)id);
	else if (kind == KW_PRINCIPAL_SESSION)
		snprintf(req->principal.actor, sizeof(req->principal.actor), "user:%s", username);
	else if (kind != KW_PRINCIPAL_NONE)
		snprintf(req->principal.actor, sizeof(req->principal.actor), "api-token:%s", username ? username : "t");
}

void fixture_enroll_token(struct fixture *f, const char *username, enum kw_device_role role, int64_t uses,
			  char buf[64])
{
	uint8_t hash[KW_TOKEN_HASH_BYTES];
	int64_t id;

	token_new(buf, KW_TOKEN_PREFIX_ENROLL, hash);
	ck_assert_int_eq(store_enrollment_token_create(f->srv.store, username, role, (int64_t)time(NULL) + 86400, uses,
						       hash, "test", (int64_t)time(NULL), &id),
			 0);
}

int fixture_enroll(struct fixture *f, const char *token, int64_t now, struct kw_device *d, char pub[45])
{
	uint8_t key[KW_KEY_LEN], th[KW_TOKEN_HASH_BYTES], dh[KW_TOKEN_HASH_BYTES];
	char dev[KW_TOKEN_TEXT_MAX], b64[KW_KEY_B64_LEN + 1];
	struct kw_enroll_params p = { .now = now, .hostname = "host", .actor = "" };

	if (pub && pub[0]) {
		memcpy(b64, pub, sizeof(b64)); /* enroll this given key */
	} else {
		randombytes_buf(key, sizeof(key));
		key_to_base64(b64, key);
		if (pub)
			memcpy(pub, b64, sizeof(b64));
	}
	token_hash(token, th);
	token_new(dev, KW_TOKEN_PREFIX_DEVICE, dh);
	p.token_hash = th;
	p.public_key = b64;
	p.device_token_hash = dh;
	return store_enroll(f->srv.store, &p, d);
}
