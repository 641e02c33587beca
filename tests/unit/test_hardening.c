/*
 * Check suite for what a hostile review of keywayd found: each test fails on the code
 * before the fix. Pool exhaustion by one user, the login limiter's keys and exactness,
 * audit retention and key-rotation limits, JSON media type and Origin, state file modes,
 * invisible characters in labels, signed suspension and revocation answers.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "core/housekeeping.h"
#include "core/signer.h"
#include "core/statedir.h"
#include "directory/login_key.h"
#include "envelope.h"
#include "directory/ratelimit.h"
#include "http/auth.h"
#include "http/guard.h"
#include "http/request.h"
#include "server_fixture.h"
#include "server_helpers.h"
#include "store/store.h"
#include "core/token.h"

static struct fixture F;

static void setup(void)
{
	/* A /24 (253 usable offsets) and a week of quarantine, as in the field. */
	fixture_up(&F, "192.0.2.0/24", 604800);
}

static void teardown(void)
{
	fixture_down(&F);
}

static int call(kw_handler_fn fn, const char *method, const char *param, enum kw_principal_kind kind,
		enum kw_role role, int64_t id, const char *user, const char *body, json_t **out)
{
	struct kw_req req;

	srvtest_req(&F, &req, method, "/", param, kind, role, id, user);
	return srvtest_invoke(fn, &req, body, out, NULL);
}

#define SESSION(user) KW_PRINCIPAL_SESSION, KW_ROLE_USER, 1, user
#define DEVICE(dev_id) KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, dev_id, "dev"

/* One user session enrolling and deleting in a loop is refused after the hourly limit, and
 * an admin's enrollment token still gets an address. */
START_TEST(test_session_enroll_loop_is_limited)
{
	char pub[45], body[128], id[24], tok[64];
	struct kw_device d;
	json_t *out;
	int st = 0, i;

	for (i = 0; i < 300; i++) {
		srvtest_random_pub(pub);
		snprintf(body, sizeof(body), "{\"public_key\":\"%s\"}", pub);
		st = call(api_enroll_post, "POST", NULL, SESSION("mallory"), body, &out);
		if (st != 201)
			break;
		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(out, "device_id")));
		json_decref(out);
		ck_assert_int_eq(call(api_devices_delete, "DELETE", id, SESSION("mallory"), NULL, &out), 204);
		json_decref(out);
	}
	ck_assert_int_eq(st, 429);
	ck_assert_str_eq(srvtest_err_code(out), "enroll_rate_limited");
	json_decref(out);
	ck_assert_int_eq(i, F.conf.user_enrollments_per_hour);
	fixture_enroll_token(&F, "laptop-admin", KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&F, tok, (int64_t)time(NULL), &d, NULL), 0);
}
END_TEST

static int enroll_user(const char *user, int max_devices, int max_per_hour, int64_t now, struct kw_device *d)
{
	uint8_t th[32];
	char pub[45];
	struct kw_enroll_params p = { .ldap_username = user, .max_devices = max_devices,
				      .max_per_hour = max_per_hour, .hostname = "h", .public_key = pub,
				      .device_token_hash = th, .actor = "test", .now = now };

	srvtest_random_pub(pub);
	randombytes_buf(th, sizeof(th));
	return store_enroll(F.srv.store, &p, d);
}

/* A revoked device counts against max_devices while its address is in quarantine; the last
 * sixteenth of the pool is kept for enrollment tokens. */
START_TEST(test_quarantine_counts_and_pool_reserve)
{
	struct kw_device d;
	char tok[64];
	int64_t now = 1000000;
	int n = 0, r;

	ck_assert_int_eq(enroll_user("ann", 2, 0, now, &d), 0);
	ck_assert_int_eq(store_device_revoke(F.srv.store, d.id, "test", now), 0);
	ck_assert_int_eq(enroll_user("ann", 2, 0, now, &d), 0);
	ck_assert_int_eq(enroll_user("ann", 2, 0, now, &d), -EDQUOT);
	/* Past the quarantine the revoked one no longer counts. */
	ck_assert_int_eq(enroll_user("ann", 2, 0, now + 604801, &d), 0);
	/* Many users: self-service stops short of the pool's end; a token still enrolls. */
	for (int i = 0; i < 300; i++) {
		char user[16];

		snprintf(user, sizeof(user), "u%d", i);
		r = enroll_user(user, 0, 0, now, &d);
		if (r != 0)
			break;
		n++;
	}
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_int_lt(n, 253 - 3 - 8);
	fixture_enroll_token(&F, "ops", KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&F, tok, now, &d, NULL), 0);
}
END_TEST

START_TEST(test_login_keys)
{
	char a[64], b[64];

	login_key_user("wim", a, sizeof(a));
	ck_assert_str_eq(a, "u:wim");
	for (const char *const *s = (const char *const[]){ " wim", "wim ", "WIM", "\xef\xbd\x97\xef\xbd\x89\xef\xbd\x8d",
							   "\xe3\x80\x80wim\t", " W\xef\xbd\x89m ", NULL };
	     *s; s++) {
		login_key_user(*s, b, sizeof(b));
		ck_assert_str_eq(b, a);
	}
	login_key_user("  ann   lee ", b, sizeof(b));
	ck_assert_str_eq(b, "u:ann lee");
	login_key_user("wimx", b, sizeof(b));
	ck_assert_str_ne(b, a);
	login_key_addr("2001:db8:1:2:aaaa::1", a, sizeof(a));
	login_key_addr("2001:db8:1:2:bbbb:cccc:dddd:eeee", b, sizeof(b));
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(a, "a:2001:db8:1:2::/64");
	login_key_addr("2001:db8:1:3::1", b, sizeof(b));
	ck_assert_str_ne(a, b);
	login_key_addr("192.0.2.7", a, sizeof(a));
	ck_assert_str_eq(a, "a:192.0.2.7");
	login_key_addr("::ffff:192.0.2.7", b, sizeof(b));
	ck_assert_str_eq(a, b);
}
END_TEST

static struct kw_ratelimit *RL;
static int TAKEN;
static pthread_mutex_t TAKEN_LOCK = PTHREAD_MUTEX_INITIALIZER;

static void *taker(void *arg)
{
	int64_t ra;

	if (ratelimit_take(RL, "u:wim", 100, &ra)) {
		usleep(2000); /* the bind's time: the slot stays counted */
		pthread_mutex_lock(&TAKEN_LOCK);
		TAKEN++;
		pthread_mutex_unlock(&TAKEN_LOCK);
	}
	return NULL;
}

/* 40 concurrent attempts with a limit of 5: exactly 5 go on. */
START_TEST(test_ratelimit_take_exact)
{
	pthread_t t[40];
	uint64_t n;
	int64_t ra;

	ck_assert_int_eq(ratelimit_new(64, 5, 300, &RL), 0);
	TAKEN = 0;
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, taker, NULL), 0);
	for (int i = 0; i < 40; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(TAKEN, 5);
	/* A refund gives one back; refusals are written down once per interval. */
	ratelimit_refund(RL, "u:wim", 100);
	ck_assert(ratelimit_take(RL, "u:wim", 100, &ra));
	ck_assert(!ratelimit_take(RL, "u:wim", 100, &ra));
	ck_assert_int_eq(ra, 300);
	ck_assert(ratelimit_note_refused(RL, "u:wim", 100, 60, &n));
	ck_assert_uint_eq(n, 1);
	for (int i = 0; i < 1000; i++)
		ck_assert(!ratelimit_note_refused(RL, "u:wim", 130, 60, &n));
	ck_assert(ratelimit_note_refused(RL, "u:wim", 161, 60, &n));
	ck_assert_uint_eq(n, 1001);
	ratelimit_free(RL);
}
END_TEST

/* Audit rows older than keep_days go at the housekeeping run. */
START_TEST(test_audit_retention)
{
	struct kw_housekeeping hk;
	int64_t now = 400LL * 86400;

	ck_assert_int_eq(store_audit_add(F.srv.store, now - 366LL * 86400, "t", "old", "x", "success", ""), 0);
	ck_assert_int_eq(store_audit_add(F.srv.store, now - 364LL * 86400, "t", "young", "x", "success", ""), 0);
	ck_assert_int_eq(fixture_count(&F, "audit"), 2);
	housekeeping_init(&hk, 300, now);
	hk.audit_keep_days = F.conf.audit_keep_days;
	ck_assert_int_eq(F.conf.audit_keep_days, 365);
	ck_assert_int_ge(housekeeping_tick(&hk, F.srv.store, now), 0);
	ck_assert_int_eq(fixture_count(&F, "audit"), 1);
}
END_TEST

/* Key rotation: at most rotations_per_hour per device, then 429 with Retry-After. */
START_TEST(test_rotation_limit)
{
	struct kw_device d;
	char tok[64], pub[45], body[128], id[24];
	json_t *out;
	int st = 0, i;

	fixture_enroll_token(&F, "dev", KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&F, tok, time(NULL), &d, NULL), 0);
	snprintf(id, sizeof(id), "%lld", (long long)d.id);
	for (i = 0; i < 50; i++) {
		srvtest_random_pub(pub);
		snprintf(body, sizeof(body), "{\"public_key\":\"%s\"}", pub);
		st = call(api_device_key_put, "PUT", id, DEVICE(d.id), body, &out);
		if (st != 200)
			break;
		json_decref(out);
	}
	ck_assert_int_eq(st, 429);
	ck_assert_str_eq(srvtest_err_code(out), "rotation_rate_limited");
	json_decref(out);
	ck_assert_int_eq(i, F.conf.rotations_per_hour);
}
END_TEST

static int guard_with(const char *method, const char *ctype, const char *origin, const char *authz, size_t body_len)
{
	struct kw_kv h[4];
	struct kw_req req;
	struct kw_route route = { .method = method, .body = KW_BODY_JSON };
	json_t *out = NULL;
	size_t n = 0;
	int st;

	fixture_req(&F, &req, method, "/api/v1/login", KW_PRINCIPAL_NONE, KW_ROLE_NONE, 0, NULL);
	h[n++] = (struct kw_kv){ "Host", "vpn.example.com:8443" };
	if (ctype)
		h[n++] = (struct kw_kv){ "Content-Type", ctype };
	if (origin)
		h[n++] = (struct kw_kv){ "Origin", origin };
	if (authz)
		h[n++] = (struct kw_kv){ "Authorization", authz };
	req.headers = h;
	req.nheaders = n;
	st = guard_api_request(&req, &route, body_len, &out);
	if (st)
		ck_assert_ptr_nonnull(srvtest_err_code(out));
	json_decref(out);
	req_release(&req);
	return st;
}

/* Login CSRF: JSON bodies only as application/json; a foreign Origin is refused. */
START_TEST(test_json_type_and_origin)
{
	ck_assert_int_eq(guard_with("POST", "application/json", NULL, NULL, 10), 0);
	ck_assert_int_eq(guard_with("POST", "Application/JSON; charset=utf-8", NULL, NULL, 10), 0);
	ck_assert_int_eq(guard_with("POST", "text/plain", NULL, NULL, 10), 415);
	ck_assert_int_eq(guard_with("POST", "application/x-www-form-urlencoded", NULL, NULL, 10), 415);
	ck_assert_int_eq(guard_with("POST", "multipart/form-data; boundary=x", NULL, NULL, 10), 415);
	ck_assert_int_eq(guard_with("POST", NULL, NULL, NULL, 10), 415);
	ck_assert_int_eq(guard_with("POST", "application/jsonx", NULL, NULL, 10), 415);
	ck_assert_int_eq(guard_with("POST", NULL, NULL, NULL, 0), 0); /* no body, nothing to type */
	ck_assert_int_eq(guard_with("POST", "application/json", "http://vpn.example.com:8443", NULL, 10), 0);
	ck_assert_int_eq(guard_with("POST", "application/json", "https://vpn.example.com:8443", NULL, 10), 0);
	ck_assert_int_eq(guard_with("POST", "application/json", "https://evil.example", NULL, 10), 403);
	ck_assert_int_eq(guard_with("POST", "application/json", "null", NULL, 10), 403);
	ck_assert_int_eq(guard_with("POST", "application/json", "http://vpn.example.com", NULL, 10), 403);
	/* A bearer token is no ambient credential: a script may call from anywhere. */
	ck_assert_int_eq(guard_with("POST", "application/json", "https://evil.example", "Bearer x", 10), 0);
	ck_assert_int_eq(guard_with("GET", NULL, "https://evil.example", NULL, 0), 0);
}
END_TEST

static mode_t mode_of(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(stat(path, &sb), 0);
	return sb.st_mode & 0777;
}

static void make_file(const char *dir, const char *name, mode_t mode, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A 0777 state directory and 0644 database files are tightened; a readable or foreign
 * signing.key is refused. */
START_TEST(test_state_modes)
{
	char dir[64] = "/tmp/kws-modes.XXXXXX", db[128], wal[128], shm[128], key[128], cmd[128];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	make_file(dir, "keyway.db", 0644, db, sizeof(db));
	make_file(dir, "keyway.db-wal", 0644, wal, sizeof(wal));
	make_file(dir, "keyway.db-shm", 0664, shm, sizeof(shm));
	make_file(dir, "signing.key", 0600, key, sizeof(key));
	ck_assert_int_eq(statedir_secure(dir), 0);
	ck_assert_uint_eq(mode_of(dir), 0700);
	ck_assert_uint_eq(mode_of(db), 0600);
	ck_assert_uint_eq(mode_of(wal), 0600);
	ck_assert_uint_eq(mode_of(shm), 0600);
	ck_assert_int_eq(chmod(key, 0640), 0);
	ck_assert_int_eq(statedir_secure(dir), -EPERM);
	ck_assert_int_eq(chmod(key, 0600), 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(key, 4242, 4242), 0);
		ck_assert_int_eq(statedir_secure(dir), -EPERM);
		ck_assert_int_eq(chown(key, 0, 0), 0);
		ck_assert_int_eq(chown(db, 4242, 4242), 0);
		ck_assert_int_eq(statedir_secure(dir), -EPERM);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Bidi controls, zero-width characters and C1 controls are refused in labels. */
START_TEST(test_label_invisible)
{
	static const char *const bad[] = { "wim\xe2\x80\xae", "\xe2\x80\x8bwim", "w\xe2\x80\x8cim", "wi\xe2\x80\x8dm",
					   "\xef\xbb\xbfwim", "wim\xe2\x81\xa0", "\xe2\x81\xa6wim\xe2\x81\xa9",
					   "\xe2\x80\xaawim", "wim\xc2\x85", "\xe2\x80\x8fwim" };
	const char *v;
	json_t *err = NULL, *in;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in = json_pack("{s:s}", "hostname", bad[i]);
		ck_assert_int_eq(json_get_label(in, "hostname", true, 253, &v, &err), 400);
		ck_assert_str_eq(srvtest_err_code(err), "invalid_field");
		json_decref(err);
		err = NULL;
		json_decref(in);
	}
	in = json_pack("{s:s}", "hostname", "Jos\xc3\xa9's laptop \xe2\x80\x94 \xe6\x9d\xb1\xe4\xba\xac");
	ck_assert_int_eq(json_get_label(in, "hostname", true, 253, &v, &err), 0);
	json_decref(in);
}
END_TEST

/* The status payload of a signed 401/403, checked with the signing key; NULL if none. */
static json_t *signed_status_of(json_t *out)
{
	json_t *payload = NULL;

	if (envelope_verify(json_object_get(json_object_get(out, "error"), "signed_state"), F.srv.signer->pk,
			    &payload) < 0)
		return NULL;
	return payload;
}

/* The device's config fetch, refused with want_status and want_code; the verified signed status it carries
 * (*out keeps the whole answer). */
static json_t *signed_status_call(const char *id, int64_t dev_id, int want_status, const char *want_code,
				  json_t **out)
{
	json_t *p;

	ck_assert_int_eq(call(api_device_config_get, "GET", id, DEVICE(dev_id), NULL, out), want_status);
	ck_assert_str_eq(srvtest_err_code(*out), want_code);
	p = signed_status_of(*out);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Suspension and revocation answers are signed, name the device, and carry a version above
 * every config the device was served before. */
START_TEST(test_signed_status)
{
	struct kw_device d, now_d;
	char tok[64], id[24];
	json_t *out, *p;
	int64_t v0, v1;

	fixture_enroll_token(&F, "dev", KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&F, tok, time(NULL), &d, NULL), 0);
	snprintf(id, sizeof(id), "%lld", (long long)d.id);
	v0 = d.version;
	ck_assert_int_eq(store_device_suspend(F.srv.store, d.id, "lost", "test", time(NULL)), 0);
	p = signed_status_call(id, d.id, 403, "device_suspended", &out);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "device_id")), d.id);
	ck_assert_str_eq(json_string_value(json_object_get(p, "state")), "suspended");
	v1 = json_integer_value(json_object_get(p, "version"));
	ck_assert_int_gt(v1, v0);
	json_decref(p);
	/* A byte changed in the signed payload: no longer a valid status. */
	{
		json_t *env = json_object_get(json_object_get(out, "error"), "signed_state");
		char *t = strdup(json_string_value(json_object_get(env, "payload")));

		t[5] = t[5] == 'A' ? 'B' : 'A';
		json_object_set_new(env, "payload", json_string(t));
		free(t);
		ck_assert_ptr_null(signed_status_of(out));
	}
	json_decref(out);
	ck_assert_int_eq(store_device_revoke(F.srv.store, d.id, "test", time(NULL)), 0);
	p = signed_status_call(id, d.id, 401, "device_revoked", &out);
	ck_assert_str_eq(json_string_value(json_object_get(p, "state")), "revoked");
	ck_assert_int_gt(json_integer_value(json_object_get(p, "version")), v1);
	ck_assert_int_eq(store_device_get(F.srv.store, d.id, &now_d), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "version")), now_d.version);
	json_decref(p);
	json_decref(out);
}
END_TEST

/* API tokens carry their owner and an optional expiry, both listed; an expired one is 401. */
static int token_row(const struct kw_api_token *t, void *arg)
{
	if (strcmp(t->name, "script") == 0)
		*(struct kw_api_token *)arg = *t;
	return 0;
}

START_TEST(test_api_token_owner_expiry)
{
	char tok[KW_TOKEN_TEXT_MAX];
	uint8_t hash[KW_TOKEN_HASH_BYTES];
	struct kw_principal p;
	struct kw_api_token t = { 0 };
	json_t *err = NULL;
	int64_t id, now = (int64_t)time(NULL);

	token_new(tok, KW_TOKEN_PREFIX_API, hash);
	ck_assert_int_eq(store_api_token_create_ex(F.srv.store, "script", hash, "user:bob", now + 60, now, &id), 0);
	ck_assert_int_eq(store_api_token_list(F.srv.store, token_row, &t), 0);
	ck_assert_str_eq(t.owner, "user:bob");
	ck_assert_int_eq(t.expires_at, now + 60);
	ck_assert_int_eq(auth_resolve(&F.srv, tok, now, &p, NULL, &err), 0);
	ck_assert_int_eq(p.kind, KW_PRINCIPAL_API_TOKEN);
	ck_assert_int_eq(auth_resolve(&F.srv, tok, now + 60, &p, NULL, &err), 401);
	ck_assert_str_eq(srvtest_err_code(err), "token_expired");
	json_decref(err);
	sodium_memzero(tok, sizeof(tok));
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_session_enroll_loop_is_limited,
		test_quarantine_counts_and_pool_reserve,
		test_login_keys,
		test_ratelimit_take_exact,
		test_audit_retention,
		test_rotation_limit,
		test_json_type_and_origin,
		test_state_modes,
		test_label_invisible,
		test_signed_status,
		test_api_token_owner_expiry,
	};

	return CHECK_RUN_TESTS("hardening", setup, teardown, 60, tests);
}
