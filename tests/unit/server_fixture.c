#include "config.h"

#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "key.h"
#include "server_fixture.h"
#include "core/signer.h"
#include "core/token.h"
#include "core/wgconf.h"

void fixture_up(struct fixture *f, const char *cidr, int64_t quarantine)
{
	struct kw_store_net net = { .quarantine = quarantine };
	struct kw_conf *c = &f->conf;

	ck_assert_int_ge(sodium_init(), 0);
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/kws-unit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/keyway.db", f->dir);
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
	ck_assert_int_eq(store_open(f->db, &net, &f->srv.store), 0);
	ck_assert_int_eq(signer_open(f->dir, &f->srv.signer), 0);
	ck_assert_int_eq(wgconf_cache_new(&f->srv.wgcache), 0);
}

void fixture_down(struct fixture *f)
{
	char cmd[128];

	wgconf_cache_free(f->srv.wgcache);
	signer_free(f->srv.signer);
	store_close(f->srv.store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	ck_assert_int_eq(system(cmd), 0);
}

long fixture_count(struct fixture *f, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char sql[128];
	long n = -1;

	ck_assert_int_eq(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void dump_table(sqlite3 *db, const char *table, FILE *out)
{
	sqlite3_stmt *s;
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY 1", table);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		fprintf(out, "%s:", table);
		for (int i = 0; i < sqlite3_column_count(s); i++) {
			if (sqlite3_column_type(s, i) == SQLITE_BLOB)
				fprintf(out, " blob%d", sqlite3_column_bytes(s, i));
			else
				fprintf(out, " %s", sqlite3_column_text(s, i) ? (const char *)sqlite3_column_text(s, i) : "NULL");
		}
		fputc('\n', out);
	}
	sqlite3_finalize(s);
}

char *fixture_dump(struct fixture *f)
{
	static const char *const tables[] = { "meta", "api_tokens", "enrollment_tokens", "devices", "retired_keys",
					      "address_leases", "sessions", "audit", "schema_version",
					      /* migration 3 */
					      "sites", "gateway_sites", "enrollment_token_sites", "gateway_health",
					      "policies", "group_members" };
	sqlite3 *db;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (unsigned i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		dump_table(db, tables[i], out);
	sqlite3_close(db);
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
