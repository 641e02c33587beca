/*
 * Check suite for keywayd's store and pure parts: migrations, IPAM (exhaustion,
 * quarantine, concurrent allocation), tokens, sessions, audit rows, user operations,
 * config file parsing, the signed envelope.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check_run.h"
#include "core/conf.h"
#include "envelope.h"
#include "core/housekeeping.h"
#include "core/ipam.h"
#include "server_fixture.h"
#include "core/signer.h"
#include "store/store.h"
#include "store/store_migrations.h"
#include "core/token.h"
#include "core/wgconf.h"

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

START_TEST(test_migrations_applied_once)
{
	struct fixture f;
	struct kw_store_net net = { .quarantine = 0 };
	struct kw_store *again = NULL;
	int v = 0;
	sqlite3 *db;
	sqlite3_stmt *s;

	fixture_up(&f, "10.77.0.0/16", 0);
	ck_assert_int_eq(store_schema_version(f.srv.store, &v), 0);
	ck_assert_int_eq(v, kw_migrations[kw_migrations_count - 1].version);
	ck_assert_int_eq(fixture_count(&f, "schema_version"), (long)kw_migrations_count);
	/* Reopening applies nothing twice. */
	net.cidr = f.conf.cidr;
	snprintf(net.fingerprint, sizeof(net.fingerprint), "test");
	ck_assert_int_eq(store_open(f.db, &net, &again), 0);
	store_close(again);
	ck_assert_int_eq(fixture_count(&f, "schema_version"), (long)kw_migrations_count);
	/* WAL is a property of the file. */
	ck_assert_int_eq(sqlite3_open(f.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	/* A database from a newer keywayd is refused, not mangled. */
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO schema_version VALUES (9999, 'future', 0)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_open(f.db, &net, &again), -EPROTO);
	fixture_down(&f);
}
END_TEST

/* Schema (every object's SQL) plus the schema_version rows, as one string; "" when absent. */
static char *schema_snapshot(const char *path)
{
	static const char *const q[] = {
		"SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name",
		"SELECT version || ' ' || name || ' ' || applied_at FROM schema_version ORDER BY version",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	sqlite3 *db;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (unsigned i = 0; i < 2; i++) {
		sqlite3_stmt *s = NULL;

		if (sqlite3_prepare_v2(db, q[i], -1, &s, NULL) != SQLITE_OK) {
			fprintf(out, "[no %u]\n", i); /* no schema_version table yet */
			continue;
		}
		while (sqlite3_step(s) == SQLITE_ROW)
			fprintf(out, "%s\n", (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	fclose(out);
	return buf;
}

/* The real migrations plus two more: one that works and one that fails half-way. */
static struct kw_migration *migrations_with_broken(unsigned *count)
{
	struct kw_migration *l = calloc(kw_migrations_count + 2, sizeof(*l));
	int last = kw_migrations[kw_migrations_count - 1].version;

	ck_assert_ptr_nonnull(l);
	memcpy(l, kw_migrations, kw_migrations_count * sizeof(*l));
	l[kw_migrations_count] = (struct kw_migration){ last + 1, "good_extra",
		"CREATE TABLE kw_extra (a INTEGER); INSERT INTO kw_extra VALUES (1);" };
	l[kw_migrations_count + 1] = (struct kw_migration){ last + 2, "broken",
		"ALTER TABLE devices ADD COLUMN kw_new TEXT; CREATE INDEX kw_idx ON devices (kw_new); "
		"UPDATE meta SET value = 4242 WHERE key = 'seq'; INSERT INTO no_such_table VALUES (1);" };
	*count = kw_migrations_count + 2;
	return l;
}

START_TEST(test_migration_failure_rolls_back)
{
	struct fixture f;
	struct kw_store_net net = { .quarantine = 0 };
	struct kw_store *st = NULL;
	struct kw_migration *list;
	char *schema_before, *rows_before, *schema_after, *rows_after, fresh[128];
	unsigned n;
	int v = 0;

	list = migrations_with_broken(&n);
	fixture_up(&f, "10.77.0.0/16", 0);
	net.cidr = f.conf.cidr;
	snprintf(net.fingerprint, sizeof(net.fingerprint), "test");
	/* An existing database at the current version, with data in it. */
	{
		char tok[64];
		struct kw_device d;

		fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 1, tok);
		ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d, NULL), 0);
	}
	store_close(f.srv.store); /* keywayd stops; a newer one starts on the same file */
	f.srv.store = NULL;
	schema_before = schema_snapshot(f.db);
	rows_before = fixture_dump(&f);
	ck_assert_int_eq(store_open_migrations(f.db, &net, list, n, &st), -EIO);
	ck_assert_ptr_null(st);
	schema_after = schema_snapshot(f.db);
	rows_after = fixture_dump(&f);
	ck_assert_str_eq(schema_after, schema_before);
	ck_assert_str_eq(rows_after, rows_before);
	ck_assert_ptr_null(strstr(schema_after, "kw_extra")); /* the good one went too */
	/* And the same database still opens with the real list, at the old version. */
	ck_assert_int_eq(store_open(f.db, &net, &f.srv.store), 0);
	ck_assert_int_eq(store_schema_version(f.srv.store, &v), 0);
	ck_assert_int_eq(v, kw_migrations[kw_migrations_count - 1].version);

	/* A fresh database: a failure leaves no table at all (not even schema_version). */
	snprintf(fresh, sizeof(fresh), "%s/fresh.db", f.dir);
	ck_assert_int_eq(store_open_migrations(fresh, &net, list, n, &st), -EIO);
	ck_assert_ptr_null(st);
	free(schema_after);
	schema_after = schema_snapshot(fresh);
	ck_assert_str_eq(schema_after, "[no 1]\n");
	free(schema_before);
	free(rows_before);
	free(schema_after);
	free(rows_after);
	free(list);
	fixture_down(&f);
}
END_TEST

START_TEST(test_foreign_keys_on)
{
	struct fixture f;
	struct kw_device d;
	char tok[64];

	fixture_up(&f, "10.77.0.0/16", 0);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d, NULL), 0);
	/* The store's connections enforce foreign keys: deleting a device with a lease fails
	 * through the store's own path (revoke keeps the row; nothing deletes devices). We
	 * check the pragma on a connection opened the way the store opens them. */
	{
		sqlite3 *db;
		int rc;

		ck_assert_int_eq(sqlite3_open(f.db, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL), SQLITE_OK);
		rc = sqlite3_exec(db, "INSERT INTO address_leases (address_offset, device_id) VALUES (99, 12345)", NULL,
				  NULL, NULL);
		ck_assert_int_ne(rc, SQLITE_OK);
		sqlite3_close(db);
	}
	fixture_down(&f);
}
END_TEST

START_TEST(test_ipam_math)
{
	struct kw_cidr net, a;
	char buf[KW_CIDR_STRLEN];
	uint64_t first, last;

	ck_assert_int_eq(cidr_parse_network(&net, "10.77.0.0/16"), 0);
	ck_assert_int_eq(ipam_pool_range(&net, &first, &last), 0);
	ck_assert_uint_eq(first, 2);
	ck_assert_uint_eq(last, 65534);
	ck_assert_int_eq(ipam_address(&net, 2, &a), 0);
	cidr_format(buf, &a);
	ck_assert_str_eq(buf, "10.77.0.2/32");
	ck_assert_int_eq(ipam_address(&net, 65534, &a), 0);
	cidr_format(buf, &a);
	ck_assert_str_eq(buf, "10.77.255.254/32");
	ck_assert_int_eq(ipam_address(&net, 65536, &a), -ERANGE);
	ck_assert_int_eq(cidr_parse_network(&net, "192.0.2.0/31"), 0);
	ck_assert_int_eq(ipam_pool_range(&net, &first, &last), -EINVAL);
	ck_assert_int_eq(cidr_parse_network(&net, "fd00:77::/64"), 0);
	ck_assert_int_eq(ipam_address(&net, 258, &a), 0);
	cidr_format(buf, &a);
	ck_assert_str_eq(buf, "fd00:77::102/128");
}
END_TEST

START_TEST(test_ipam_exhaustion_and_quarantine)
{
	struct fixture f;
	struct kw_device d[6];
	char tok[64], *before, *after;
	long audit;
	int n;

	/* 192.0.2.0/29: .0 network, .1 gateway, .7 broadcast: .2 to .6 are handed out. */
	fixture_up(&f, "192.0.2.0/29", 3600);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 100, tok);
	for (n = 0; n < 5; n++) {
		char want[32];

		ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d[n], NULL), 0);
		snprintf(want, sizeof(want), "192.0.2.%d/32", n + 2);
		ck_assert_str_eq(d[n].address, want);
	}
	audit = fixture_count(&f, "audit");
	before = fixture_dump(&f);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d[5], NULL), -ENOSPC);
	after = fixture_dump(&f);
	ck_assert_str_eq(before, after); /* the rejected enrollment changed nothing */
	free(before);
	free(after);
	ck_assert_int_eq(fixture_count(&f, "audit"), audit);

	/* Revoked: the address waits out the quarantine. */
	ck_assert_int_eq(store_device_revoke(f.srv.store, d[2].id, "test", now_s()), 0);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s() + 10, &d[5], NULL), -ENOSPC);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s() + 3601, &d[5], NULL), 0);
	ck_assert_str_eq(d[5].address, d[2].address);
	fixture_down(&f);
}
END_TEST

/* keywayd restarted with another [network] plan: reopen the fixture's store with cidr6
 * (NULL: none) and a fingerprint standing for the whole plan. */
static void fixture_reopen_net(struct fixture *f, const char *cidr6, const char *fingerprint)
{
	struct kw_store_net net = { .cidr = f->conf.cidr, .quarantine = f->conf.address_quarantine };

	if (cidr6) {
		net.has_cidr6 = true;
		ck_assert_int_eq(cidr_parse_network(&net.cidr6, cidr6), 0);
	}
	snprintf(net.fingerprint, sizeof(net.fingerprint), "%s", fingerprint);
	store_close(f->srv.store);
	f->srv.store = NULL;
	ck_assert_int_eq(store_open(f->db, &net, &f->srv.store), 0);
}

START_TEST(test_ipam_cidr6_smaller_than_cidr)
{
	struct fixture f;
	struct kw_device d;
	char tok[64], *before, *after;
	int n;

	/* The IPv4 /16 has offsets 2 to 65,534, the IPv6 /120 only 2 to 255: a device gets the
	 * same offset in both, so the /120 is the limit, and the device after it gets a clean
	 * -ENOSPC (409 pool_exhausted) rather than an address the prefix cannot hold. */
	fixture_up(&f, "10.77.0.0/16", 0);
	fixture_reopen_net(&f, "2001:db8:77::/120", "small-v6");
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 300, tok);
	for (n = 2; n <= 255; n++)
		ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d, NULL), 0);
	ck_assert_str_eq(d.address, "10.77.0.255/32");
	ck_assert_str_eq(d.address6, "2001:db8:77::ff/128");
	before = fixture_dump(&f);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d, NULL), -ENOSPC);
	after = fixture_dump(&f);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	fixture_down(&f);
}
END_TEST

static const char *peer_ip(const json_t *payload, size_t peer, size_t i)
{
	return json_string_value(json_array_get(
		json_object_get(json_array_get(json_object_get(payload, "peers"), peer), "allowed_ips"), i));
}

START_TEST(test_cidr6_follows_the_network_plan)
{
	struct fixture f;
	struct kw_device gw, d1, now;
	char gtok[64], dtok[64], *text = NULL;
	int64_t v0;
	json_t *p;

	/* Devices enrolled before cidr6 was configured. */
	fixture_up(&f, "10.77.0.0/16", 0);
	fixture_enroll_token(&f, "ops", KW_DEV_GATEWAY, 1, gtok);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 1, dtok);
	ck_assert_int_eq(fixture_enroll(&f, gtok, now_s(), &gw, NULL), 0);
	ck_assert_int_eq(fixture_enroll(&f, dtok, now_s(), &d1, NULL), 0);
	ck_assert_str_eq(d1.address6, "");
	ck_assert_int_eq(store_device_get(f.srv.store, d1.id, &now), 0);
	v0 = now.version;

	/* cidr6 added: every device gets its offset in it, with a newer config version. */
	fixture_reopen_net(&f, "2001:db8:77::/64", "with-v6");
	ck_assert_int_eq(store_device_get(f.srv.store, d1.id, &now), 0);
	ck_assert_str_eq(now.address, d1.address);
	ck_assert_str_eq(now.address6, "2001:db8:77::3/128");
	ck_assert_int_gt(now.version, v0);
	ck_assert_int_eq(store_device_get(f.srv.store, gw.id, &gw), 0);
	ck_assert_str_eq(gw.address6, "2001:db8:77::2/128");
	/* … and the gateway's config lists the device's /128 as an allowed IP. */
	ck_assert_int_eq(wgconf_payload(&f.srv, &gw, 1000, &text), 0);
	p = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(peer_ip(p, 0, 0), d1.address);
	ck_assert_str_eq(peer_ip(p, 0, 1), "2001:db8:77::3/128");
	json_decref(p);
	free(text);

	/* cidr6 moved, then removed: the addresses follow. */
	fixture_reopen_net(&f, "2001:db8:99::/64", "moved-v6");
	ck_assert_int_eq(store_device_get(f.srv.store, d1.id, &now), 0);
	ck_assert_str_eq(now.address6, "2001:db8:99::3/128");
	fixture_reopen_net(&f, NULL, "no-v6");
	ck_assert_int_eq(store_device_get(f.srv.store, d1.id, &now), 0);
	ck_assert_str_eq(now.address6, "");
	ck_assert_str_eq(now.address, d1.address);
	fixture_down(&f);
}
END_TEST

/* Reopens the store with another [network] cidr (no cidr6); returns store_open's result. */
static int reopen_cidr(struct fixture *f, const char *cidr, const char *fingerprint)
{
	struct kw_store_net net = { .quarantine = f->conf.address_quarantine };

	ck_assert_int_eq(cidr_parse_network(&net.cidr, cidr), 0);
	snprintf(net.fingerprint, sizeof(net.fingerprint), "%s", fingerprint);
	store_close(f->srv.store);
	f->srv.store = NULL;
	return store_open(f->db, &net, &f->srv.store);
}

START_TEST(test_cidr_follows_the_network_plan)
{
	struct fixture f;
	struct kw_device d1, d2, now;
	char tok[64];
	int64_t v0;

	fixture_up(&f, "10.77.0.0/16", 0);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 2, tok);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d1, NULL), 0);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d2, NULL), 0);
	ck_assert_str_eq(d2.address, "10.77.0.3/32");
	v0 = d2.version;

	/* Moved to another network: each device keeps its host offset there, newer config. */
	ck_assert_int_eq(reopen_cidr(&f, "10.88.0.0/24", "moved"), 0);
	ck_assert_int_eq(store_device_get(f.srv.store, d2.id, &now), 0);
	ck_assert_str_eq(now.address, "10.88.0.3/32");
	ck_assert_int_gt(now.version, v0);
	ck_assert_int_eq(store_device_get(f.srv.store, d1.id, &now), 0);
	ck_assert_str_eq(now.address, "10.88.0.2/32");

	/* A network too small for a live device is refused, and changes nothing. */
	ck_assert_int_eq(reopen_cidr(&f, "10.99.0.0/30", "too-small"), -ERANGE);
	ck_assert_ptr_null(f.srv.store);
	ck_assert_int_eq(reopen_cidr(&f, "10.88.0.0/24", "moved"), 0);
	ck_assert_int_eq(store_device_get(f.srv.store, d2.id, &now), 0);
	ck_assert_str_eq(now.address, "10.88.0.3/32");

	/* With that device revoked, the small network is accepted (nothing uses its address). */
	ck_assert_int_eq(store_device_revoke(f.srv.store, d2.id, "test", now_s()), 0);
	ck_assert_int_eq(reopen_cidr(&f, "10.99.0.0/30", "small"), 0);
	ck_assert_int_eq(store_device_get(f.srv.store, d1.id, &now), 0);
	ck_assert_str_eq(now.address, "10.99.0.2/32");
	fixture_down(&f);
}
END_TEST

struct conc_arg {
	struct fixture *f;
	const char *tok;
	int n;
	int64_t ids[64];
	int ok;
};

static void *conc_main(void *arg)
{
	struct conc_arg *a = arg;
	struct kw_device d;

	for (int i = 0; i < a->n; i++)
		if (fixture_enroll(a->f, a->tok, now_s(), &d, NULL) == 0)
			a->ids[a->ok++] = d.id;
	return NULL;
}

START_TEST(test_ipam_concurrent)
{
	struct fixture f;
	struct conc_arg args[4];
	pthread_t th[4];
	char tok[64];
	sqlite3 *db;
	sqlite3_stmt *s;

	fixture_up(&f, "10.1.0.0/24", 0);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 1000, tok);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct conc_arg){ .f = &f, .tok = tok, .n = 60 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, conc_main, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].ok, 60);
	}
	ck_assert_int_eq(fixture_count(&f, "devices"), 240);
	ck_assert_int_eq(sqlite3_open(f.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(DISTINCT address) FROM devices", -1, &s, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(s, 0), 240);
	sqlite3_finalize(s);
	sqlite3_close(db);
	fixture_down(&f);
}
END_TEST

START_TEST(test_enrollment_token_rules)
{
	struct fixture f;
	struct kw_device d;
	char tok[64], pub[45] = "", pub2[45] = "";
	uint8_t hash[KW_TOKEN_HASH_BYTES];
	int64_t id;

	fixture_up(&f, "10.77.0.0/16", 0);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d, pub), 0);
	ck_assert_str_eq(d.username, "alice");
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d, NULL), -EACCES); /* used up */
	ck_assert_int_eq(fixture_enroll(&f, "kwe_nonexistent", now_s(), &d, NULL), -EACCES);
	/* expired */
	fixture_enroll_token(&f, "bob", KW_DEV_DEVICE, 5, tok);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s() + 90000, &d, NULL), -EACCES);
	/* the same key twice: conflict, even with a good token */
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d, pub), -EEXIST);
	/* revoked token */
	token_new(tok, KW_TOKEN_PREFIX_ENROLL, hash);
	ck_assert_int_eq(store_enrollment_token_create(f.srv.store, "carol", KW_DEV_GATEWAY, now_s() + 60, 3, hash, "t",
						       now_s(), &id),
			 0);
	ck_assert_int_eq(store_enrollment_token_revoke(f.srv.store, id, "t", now_s()), 0);
	ck_assert_int_eq(store_enrollment_token_revoke(f.srv.store, id, "t", now_s()), -ENOENT);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &d, pub2), -EACCES);
	fixture_down(&f);
}
END_TEST

START_TEST(test_versions_and_states)
{
	struct fixture f;
	struct kw_device gw, dev, dev2, g2;
	char gtok[64], dtok[64], pub[45] = "";
	int64_t v_gw, v_dev;
	int n;

	fixture_up(&f, "10.77.0.0/16", 0);
	fixture_enroll_token(&f, "ops", KW_DEV_GATEWAY, 1, gtok);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 5, dtok);
	ck_assert_int_eq(fixture_enroll(&f, gtok, now_s(), &gw, NULL), 0);
	ck_assert_int_eq(gw.role, KW_DEV_GATEWAY);
	ck_assert_int_eq(fixture_enroll(&f, dtok, now_s(), &dev, NULL), 0);
	ck_assert_int_eq(store_device_get(f.srv.store, gw.id, &g2), 0);
	v_gw = g2.version;
	v_dev = dev.version;
	/* A new device: every gateway's version grows, other devices' not. */
	ck_assert_int_eq(fixture_enroll(&f, dtok, now_s(), &dev2, NULL), 0);
	ck_assert_int_eq(store_device_get(f.srv.store, gw.id, &g2), 0);
	ck_assert_int_gt(g2.version, v_gw);
	ck_assert_int_eq(store_device_get(f.srv.store, dev.id, &dev2), 0);
	ck_assert_int_eq(dev2.version, v_dev);
	/* Suspend: state, reason, gateway version. */
	v_gw = g2.version;
	ck_assert_int_eq(store_device_suspend(f.srv.store, dev.id, "locked", "test", now_s()), 0);
	ck_assert_int_eq(store_device_suspend(f.srv.store, dev.id, "locked", "test", now_s()), -EPERM);
	ck_assert_int_eq(store_device_get(f.srv.store, dev.id, &dev2), 0);
	ck_assert_int_eq(dev2.state, KW_STATE_SUSPENDED);
	ck_assert_str_eq(dev2.state_reason, "locked");
	ck_assert_int_eq(store_device_get(f.srv.store, gw.id, &g2), 0);
	ck_assert_int_gt(g2.version, v_gw);
	ck_assert_int_eq(store_device_restore(f.srv.store, dev.id, "test", now_s()), 0);
	ck_assert_int_eq(store_device_restore(f.srv.store, dev.id, "test", now_s()), -EPERM);
	/* Rotation: the old key is never accepted again. */
	ck_assert_int_eq(store_device_get(f.srv.store, dev.id, &dev2), 0);
	snprintf(pub, sizeof(pub), "%s", dev2.public_key);
	ck_assert_int_eq(store_device_rotate_key(f.srv.store, dev.id, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=", "t",
						 now_s()),
			 0);
	ck_assert_int_eq(store_device_rotate_key(f.srv.store, dev.id, pub, "t", now_s()), -EEXIST);
	ck_assert_int_eq(fixture_enroll(&f, dtok, now_s(), &dev2, pub), -EEXIST);
	/* User operations: one transaction, one audit row each. */
	{
		long audit = fixture_count(&f, "audit");

		ck_assert_int_eq(store_user_suspend(f.srv.store, "alice", "left group", "sync", now_s(), &n), 0);
		ck_assert_int_eq(n, 2);
		ck_assert_int_eq(fixture_count(&f, "audit"), audit + 1);
		ck_assert_int_eq(store_user_suspend(f.srv.store, "alice", "again", "sync", now_s(), &n), 0);
		ck_assert_int_eq(n, 0);
		ck_assert_int_eq(fixture_count(&f, "audit"), audit + 1);
		ck_assert_int_eq(store_user_restore(f.srv.store, "alice", "sync", now_s(), &n), 0);
		ck_assert_int_eq(n, 2);
		ck_assert_int_eq(store_user_revoke(f.srv.store, "alice", "gone", "sync", now_s(), &n), 0);
		ck_assert_int_eq(n, 2);
		ck_assert_int_eq(fixture_count(&f, "audit"), audit + 3);
	}
	ck_assert_int_eq(store_device_revoke(f.srv.store, dev.id, "t", now_s()), -EPERM);
	ck_assert_int_eq(store_device_revoke(f.srv.store, 9999, "t", now_s()), -ENOENT);
	fixture_down(&f);
}
END_TEST

static int count_user(const char *u, int active, int suspended, int64_t since, void *arg)
{
	int *n = arg;

	if (strcmp(u, "alice") == 0)
		n[0] = active, n[1] = suspended;
	n[2]++;
	return 0;
}

START_TEST(test_user_list)
{
	struct fixture f;
	struct kw_device a, b, c;
	char tok[64], tok2[64];
	int counts[3] = { 0, 0, 0 };

	fixture_up(&f, "10.77.0.0/16", 0);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 5, tok);
	fixture_enroll_token(&f, "bob", KW_DEV_DEVICE, 5, tok2);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &a, NULL), 0);
	ck_assert_int_eq(fixture_enroll(&f, tok, now_s(), &b, NULL), 0);
	ck_assert_int_eq(fixture_enroll(&f, tok2, now_s(), &c, NULL), 0);
	ck_assert_int_eq(store_device_suspend(f.srv.store, b.id, "x", "t", now_s()), 0);
	ck_assert_int_eq(store_device_revoke(f.srv.store, c.id, "t", now_s()), 0);
	ck_assert_int_eq(store_user_list(f.srv.store, count_user, counts), 0);
	ck_assert_int_eq(counts[0], 1);
	ck_assert_int_eq(counts[1], 1);
	ck_assert_int_eq(counts[2], 1); /* bob holds only a revoked device */
	fixture_down(&f);
}
END_TEST

START_TEST(test_tokens_hashing)
{
	char a[KW_TOKEN_TEXT_MAX], b[KW_TOKEN_TEXT_MAX];
	uint8_t ha[KW_TOKEN_HASH_BYTES], hb[KW_TOKEN_HASH_BYTES], again[KW_TOKEN_HASH_BYTES];

	token_new(a, KW_TOKEN_PREFIX_API, ha);
	token_new(b, KW_TOKEN_PREFIX_API, hb);
	ck_assert_int_eq(strlen(a), 4 + 43);
	ck_assert(token_has_prefix(a, KW_TOKEN_PREFIX_API));
	ck_assert(!token_has_prefix(a, KW_TOKEN_PREFIX_DEVICE));
	ck_assert_str_ne(a, b);
	ck_assert_mem_ne(ha, hb, sizeof(ha));
	token_hash(a, again);
	ck_assert_mem_eq(ha, again, sizeof(ha));
	ck_assert(token_matches(a, ha));
	a[10] ^= 1;
	ck_assert(!token_matches(a, ha));
	ck_assert(!token_matches(NULL, ha));
	ck_assert(!token_has_prefix("kwa_short", KW_TOKEN_PREFIX_API));
}
END_TEST

START_TEST(test_token_store_hashed)
{
	struct fixture f;
	char t[KW_TOKEN_TEXT_MAX], *dump;
	uint8_t h[KW_TOKEN_HASH_BYTES];
	struct kw_api_token at;
	int64_t id;

	fixture_up(&f, "10.77.0.0/16", 0);
	token_new(t, KW_TOKEN_PREFIX_API, h);
	ck_assert_int_eq(store_api_token_create(f.srv.store, "ci", h, "cli", now_s(), &id), 0);
	ck_assert_int_eq(store_api_token_lookup(f.srv.store, h, &at), 0);
	ck_assert_str_eq(at.name, "ci");
	dump = fixture_dump(&f);
	ck_assert_ptr_null(strstr(dump, t + 4)); /* the secret itself is nowhere */
	free(dump);
	ck_assert_int_eq(store_api_token_delete(f.srv.store, id, "t", now_s()), 0);
	ck_assert_int_eq(store_api_token_lookup(f.srv.store, h, &at), -ENOENT);
	ck_assert_int_eq(store_api_token_delete(f.srv.store, id, "t", now_s()), -ENOENT);
	fixture_down(&f);
}
END_TEST

START_TEST(test_sessions)
{
	struct fixture f;
	char t[KW_TOKEN_TEXT_MAX], csrf[KW_TOKEN_TEXT_MAX];
	uint8_t h[KW_TOKEN_HASH_BYTES], ch[KW_TOKEN_HASH_BYTES];
	struct kw_session s;
	long audit;
	int64_t id;

	fixture_up(&f, "10.77.0.0/16", 0);
	token_new(t, KW_TOKEN_PREFIX_SESSION, h);
	token_new(csrf, KW_TOKEN_PREFIX_CSRF, ch);
	audit = fixture_count(&f, "audit");
	ck_assert_int_eq(store_session_create(f.srv.store, h, "alice", KW_SESSION_USER, ch, now_s() + 60, now_s(), &id), 0);
	ck_assert_int_eq(fixture_count(&f, "audit"), audit + 1);
	ck_assert_int_eq(store_session_lookup(f.srv.store, h, now_s(), &s), 0);
	ck_assert_str_eq(s.username, "alice");
	ck_assert_int_eq(s.role, KW_SESSION_USER);
	ck_assert(token_matches(csrf, s.csrf_hash));
	ck_assert_int_eq(store_session_lookup(f.srv.store, h, now_s() + 61, &s), -EKEYEXPIRED);
	ck_assert_int_eq(store_session_delete(f.srv.store, id, "user:alice", now_s()), 0);
	ck_assert_int_eq(store_session_lookup(f.srv.store, h, now_s(), &s), -ENOENT);
	ck_assert_int_eq(fixture_count(&f, "audit"), audit + 2);
	fixture_down(&f);
}
END_TEST

static void session_at(struct fixture *f, int64_t expires_at, int64_t now, uint8_t h[KW_TOKEN_HASH_BYTES])
{
	char t[KW_TOKEN_TEXT_MAX], csrf[KW_TOKEN_TEXT_MAX];
	uint8_t ch[KW_TOKEN_HASH_BYTES];
	int64_t id;

	token_new(t, KW_TOKEN_PREFIX_SESSION, h);
	token_new(csrf, KW_TOKEN_PREFIX_CSRF, ch);
	ck_assert_int_eq(store_session_create(f->srv.store, h, "alice", KW_SESSION_USER, ch, expires_at, now, &id), 0);
}

START_TEST(test_session_purge)
{
	struct fixture f;
	uint8_t h1[KW_TOKEN_HASH_BYTES], h2[KW_TOKEN_HASH_BYTES], h3[KW_TOKEN_HASH_BYTES];
	struct kw_session s;
	const int64_t t = 1700000000;
	long audit;

	fixture_up(&f, "10.77.0.0/16", 0);
	session_at(&f, t - 10, t - 100, h1);
	session_at(&f, t, t - 100, h2); /* expires exactly now: gone */
	session_at(&f, t + 100, t - 100, h3);
	audit = fixture_count(&f, "audit");
	ck_assert_int_eq(store_session_purge_expired(f.srv.store, t), 2);
	ck_assert_int_eq(fixture_count(&f, "sessions"), 1);
	ck_assert_int_eq(fixture_count(&f, "audit"), audit); /* nobody acted */
	ck_assert_int_eq(store_session_lookup(f.srv.store, h1, t - 20, &s), -ENOENT);
	ck_assert_int_eq(store_session_lookup(f.srv.store, h3, t, &s), 0);
	ck_assert_int_eq(store_session_purge_expired(f.srv.store, t), 0);
	fixture_down(&f);
}
END_TEST

START_TEST(test_housekeeping_schedule)
{
	struct fixture f;
	struct kw_housekeeping hk;
	uint8_t h[KW_TOKEN_HASH_BYTES];
	const int64_t t = 1700000000;

	fixture_up(&f, "10.77.0.0/16", 0);
	housekeeping_init(&hk, 300, t);
	ck_assert_int_eq(housekeeping_wait(&hk, t), 0); /* due at start */
	session_at(&f, t - 1, t - 100, h);
	ck_assert_int_eq(housekeeping_tick(&hk, f.srv.store, t), 1);
	ck_assert_int_eq(hk.runs, 1);
	ck_assert_int_eq(housekeeping_wait(&hk, t), 300);
	/* Sessions that expire while keywayd runs go at the next run, not at the next start. */
	session_at(&f, t + 60, t, h);
	session_at(&f, t + 1000, t, h);
	ck_assert_int_eq(housekeeping_tick(&hk, f.srv.store, t + 100), 0); /* not due: nothing done */
	ck_assert_int_eq(hk.runs, 1);
	ck_assert_int_eq(fixture_count(&f, "sessions"), 2);
	ck_assert_int_eq(housekeeping_wait(&hk, t + 100), 200);
	ck_assert_int_eq(housekeeping_wait(&hk, t + 299), 1);
	ck_assert_int_eq(housekeeping_wait(&hk, t + 300), 0);
	ck_assert_int_eq(housekeeping_tick(&hk, f.srv.store, t + 300), 1);
	ck_assert_int_eq(hk.runs, 2);
	ck_assert_int_eq(fixture_count(&f, "sessions"), 1);
	/* Late wake-up (suspended VM): runs once, next one an interval after the actual time. */
	ck_assert_int_eq(housekeeping_tick(&hk, f.srv.store, t + 5000), 1);
	ck_assert_int_eq(hk.next_at, t + 5300);
	/* Clock set back by an hour: the wait never exceeds one interval, and the run happens. */
	ck_assert_int_eq(housekeeping_wait(&hk, t + 1400), 300);
	ck_assert_int_eq(housekeeping_tick(&hk, f.srv.store, t + 1400), 0);
	ck_assert_int_eq(hk.runs, 4);
	ck_assert_int_eq(hk.next_at, t + 1700);
	fixture_down(&f);
}
END_TEST

static int collect_audit(const struct kw_audit_row *r, void *arg)
{
	int64_t *ids = arg;

	ids[++ids[0]] = r->id;
	return 0;
}

START_TEST(test_audit_paging)
{
	struct fixture f;
	int64_t ids[16] = { 0 };

	fixture_up(&f, "10.77.0.0/16", 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(store_audit_add(f.srv.store, now_s(), "t", "login", "user:x", "failure", "bad"), 0);
	ck_assert_int_eq(store_audit_list(f.srv.store, 0, 2, collect_audit, ids), 0);
	ck_assert_int_eq(ids[0], 2);
	ck_assert_int_gt(ids[1], ids[2]); /* newest first */
	ck_assert_int_eq(store_audit_list(f.srv.store, ids[2], 10, collect_audit, ids), 0);
	ck_assert_int_eq(ids[0], 5);
	ck_assert_int_eq(store_audit_list(f.srv.store, 0, 0, collect_audit, ids), -EINVAL);
	fixture_down(&f);
}
END_TEST

START_TEST(test_conf_parse)
{
	struct kw_conf c;
	char err[600];

	conf_defaults(&c);
	ck_assert_int_eq(conf_load_string(&c, "k.conf",
					  "[server]\nlisten = [::1]:8443 ; comment\nstate_dir = /tmp/x\n"
					  "[network]\ncidr = 10.9.0.0/16\nroutes = 192.168.10.0/24, 198.51.100.0/24\n"
					  "gateway_endpoint = vpn.example.com:51820\nconfig_lifetime = 3600\n"
					  "address_quarantine = 0\n[ldap]\nuri = ldap://x\nwhatever = 1\n[log]\nlevel = debug\n",
					  err, sizeof(err)),
			 0);
	ck_assert_str_eq(c.listen, "[::1]:8443");
	ck_assert_int_eq(c.nroutes, 2);
	ck_assert_int_eq(c.config_lifetime, 3600);
	ck_assert_str_eq(c.log_level, "debug");

	conf_defaults(&c);
	ck_assert_int_eq(conf_load_string(&c, "k.conf", "[server]\nlisten = 127.0.0.1:1\nbogus = 1\n", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "k.conf:3: unknown key 'bogus' in [server]");
	ck_assert_int_eq(conf_load_string(&c, "k.conf", "[network]\n\ncidr = 10.0.0.0/33\n", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "k.conf:3: cidr"));
	ck_assert_int_eq(conf_load_string(&c, "k.conf", "[network]\ncidr = 10.0.0.1/16\n", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(conf_load_string(&c, "k.conf", "[log]\nlevel = loud\n", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(conf_load_string(&c, "k.conf", "[network]\nconfig_lifetime = 12x\n", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(conf_load_string(&c, "k.conf", "[server]\ntls_cert = /x\n", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "k.conf:0: tls_cert and tls_key must be given together");
	ck_assert_int_eq(conf_load_string(&c, "k.conf", "[server]\nlisten 127.0.0.1:1\n", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "k.conf:2:"));
	ck_assert_int_eq(conf_load(&c, "/nonexistent/kws.conf", err, sizeof(err)), -ENOENT);
}
END_TEST

START_TEST(test_envelope_and_signer)
{
	struct fixture f;
	struct kw_device gw, dev;
	struct stat stbuf;
	char gtok[64], dtok[64], path[160], *text = NULL;
	size_t len = 0;
	json_t *env, *payload = NULL;
	const char *b64;

	fixture_up(&f, "10.77.0.0/16", 0);
	snprintf(path, sizeof(path), "%s/signing.key", f.dir);
	ck_assert_int_eq(stat(path, &stbuf), 0);
	ck_assert_int_eq(stbuf.st_mode & 0777, 0600);
	fixture_enroll_token(&f, "ops", KW_DEV_GATEWAY, 1, gtok);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 1, dtok);
	ck_assert_int_eq(fixture_enroll(&f, gtok, now_s(), &gw, NULL), 0);
	ck_assert_int_eq(fixture_enroll(&f, dtok, now_s(), &dev, NULL), 0);
	ck_assert_int_eq(wgconf_envelope(&f.srv, &dev, now_s(), &text, &len), 0);
	env = json_loadb(text, len, 0, NULL);
	ck_assert_ptr_nonnull(env);
	ck_assert_int_eq(envelope_verify(env, f.srv.signer->pk, &payload), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(payload, "device_id")), dev.id);
	ck_assert_int_eq(json_integer_value(json_object_get(payload, "version")), dev.version);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(payload, "peers"), 0),
							   "public_key")),
			 gw.public_key);
	json_decref(payload);
	/* One flipped bit in the payload: rejected. */
	b64 = json_string_value(json_object_get(env, "payload"));
	{
		char *bad = strdup(b64);

		bad[5] = bad[5] == 'A' ? 'B' : 'A';
		json_object_set_new(env, "payload", json_string(bad));
		free(bad);
	}
	ck_assert_int_eq(envelope_verify(env, f.srv.signer->pk, &payload), -EBADMSG);
	json_decref(env);
	free(text);
	/* The same key comes back after a restart. */
	{
		struct kw_signer *s2;

		ck_assert_int_eq(signer_open(f.dir, &s2), 0);
		ck_assert_mem_eq(s2->pk, f.srv.signer->pk, 32);
		signer_free(s2);
		ck_assert_int_eq(chmod(path, 0644), 0);
		ck_assert_int_eq(signer_open(f.dir, &s2), -EPERM);
	}
	fixture_down(&f);
}
END_TEST

START_TEST(test_payload_json)
{
	struct fixture f;
	struct kw_device gw, d1, d2;
	char gtok[64], dtok[64], *text = NULL;
	json_t *p, *peers;

	fixture_up(&f, "10.77.0.0/16", 0);
	f.conf.has_cidr6 = true;
	ck_assert_int_eq(cidr_parse_network(&f.conf.cidr6, "fd00:77::/64"), 0);
	snprintf(f.conf.gateway_endpoint, sizeof(f.conf.gateway_endpoint), "[2001:db8::1]:51820");
	fixture_enroll_token(&f, "ops", KW_DEV_GATEWAY, 1, gtok);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 2, dtok);
	ck_assert_int_eq(fixture_enroll(&f, gtok, now_s(), &gw, NULL), 0);
	ck_assert_int_eq(fixture_enroll(&f, dtok, now_s(), &d1, NULL), 0);
	ck_assert_int_eq(fixture_enroll(&f, dtok, now_s(), &d2, NULL), 0);
	ck_assert_int_eq(store_device_get(f.srv.store, gw.id, &gw), 0);

	ck_assert_int_eq(wgconf_payload(&f.srv, &gw, 1000, &text), 0);
	p = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "version")), gw.version);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "expires_at")), 1000 + f.conf.config_lifetime);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(p, "interface"), "listen_port")), 51820);
	peers = json_object_get(p, "peers");
	ck_assert_int_eq(json_array_size(peers), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(peers, 1), "public_key")), d2.public_key);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_array_get(peers, 0), "allowed_ips"), 0)),
			 d1.address);
	ck_assert(json_is_null(json_object_get(json_array_get(peers, 0), "endpoint")));
	json_decref(p);
	free(text);

	ck_assert_int_eq(wgconf_payload(&f.srv, &d1, 1000, &text), 0);
	p = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(p);
	peers = json_object_get(p, "peers");
	ck_assert_int_eq(json_array_size(peers), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(peers, 0), "endpoint")), "[2001:db8::1]:51820");
	ck_assert_int_eq(json_array_size(json_object_get(json_array_get(peers, 0), "allowed_ips")), 3);
	ck_assert_ptr_null(json_object_get(json_object_get(p, "interface"), "listen_port"));
	json_decref(p);
	free(text);
	fixture_down(&f);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("server_store");
	TCase *tc = tcase_create("store");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_migrations_applied_once);
	tcase_add_test(tc, test_migration_failure_rolls_back);
	tcase_add_test(tc, test_foreign_keys_on);
	tcase_add_test(tc, test_ipam_math);
	tcase_add_test(tc, test_ipam_exhaustion_and_quarantine);
	tcase_add_test(tc, test_ipam_concurrent);
	tcase_add_test(tc, test_ipam_cidr6_smaller_than_cidr);
	tcase_add_test(tc, test_cidr6_follows_the_network_plan);
	tcase_add_test(tc, test_cidr_follows_the_network_plan);
	tcase_add_test(tc, test_enrollment_token_rules);
	tcase_add_test(tc, test_versions_and_states);
	tcase_add_test(tc, test_user_list);
	tcase_add_test(tc, test_tokens_hashing);
	tcase_add_test(tc, test_token_store_hashed);
	tcase_add_test(tc, test_sessions);
	tcase_add_test(tc, test_session_purge);
	tcase_add_test(tc, test_housekeeping_schedule);
	tcase_add_test(tc, test_audit_paging);
	tcase_add_test(tc, test_conf_parse);
	tcase_add_test(tc, test_envelope_and_signer);
	tcase_add_test(tc, test_payload_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
