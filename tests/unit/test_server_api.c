/*
 * Check suite for keywayd's REST handlers, called directly (no HTTP): JSON validation of
 * each endpoint, error classes, who may call what, and that rejected calls change nothing.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/request.h"
#include "check_run.h"
#include "envelope.h"
#include "http/router.h"
#include "server_fixture.h"
#include "server_helpers.h"
#include "core/signer.h"
#include "store/store.h"
#include "core/token.h"

static struct fixture F;

static void setup(void)
{
	fixture_up(&F, "192.0.2.0/29", 3600);
}

static void teardown(void)
{
	fixture_down(&F);
}

/* Call a handler as an admin with a JSON body text (NULL: none); returns status, *out body. */
static int call(kw_handler_fn fn, const char *method, const char *path, const char *param,
		enum kw_principal_kind kind, enum kw_role role, int64_t id, const char *user, const char *body,
		json_t **out, struct kw_req *keep)
{
	struct kw_req req;

	srvtest_req(&F, &req, method, path, param, kind, role, id, user);
	return srvtest_invoke(fn, &req, body, out, keep);
}

#define ADMIN KW_PRINCIPAL_API_TOKEN, KW_ROLE_ADMIN, 1, "ci"
#define ANON KW_PRINCIPAL_NONE, KW_ROLE_NONE, 0, NULL

/* An error answer: status, code and a message; out is freed. */
static void expect_error(int st, json_t *out, int want_status, const char *want_code)
{
	ck_assert_int_eq(st, want_status);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(srvtest_err_code(out), want_code);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(json_object_get(out, "error"), "message")));
	json_decref(out);
}

/* The list that fn answers holds one token under key, without its secret text. */
static void expect_one_token_listed(kw_handler_fn fn, const char *key)
{
	json_t *out;

	ck_assert_int_eq(call(fn, "GET", "/", NULL, ADMIN, NULL, &out, NULL), 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, key)), 1);
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(out, key), 0), "token"));
	json_decref(out);
}

/* Create an enrollment token through the handler, return its text. */
static void make_token(const char *body, char tok[64])
{
	json_t *out;

	ck_assert_int_eq(call(api_enrollment_tokens_post, "POST", "/", NULL, ADMIN, body, &out, NULL), 201);
	snprintf(tok, 64, "%s", json_string_value(json_object_get(out, "token")));
	json_decref(out);
}

static int enroll(const char *tok, const char *pub, json_t **out)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"public_key\":\"%s\",\"hostname\":\"laptop\"}", tok, pub);
	return call(api_enroll_post, "POST", "/api/v1/enroll", NULL, ANON, body, out, NULL);
}

START_TEST(test_health_info)
{
	json_t *out;

	ck_assert_int_eq(call(api_health_get, "GET", "/", NULL, ANON, NULL, &out, NULL), 200);
	ck_assert_str_eq(json_string_value(json_object_get(out, "status")), "ok");
	json_decref(out);
	ck_assert_int_eq(call(api_info_get, "GET", "/", NULL, ANON, NULL, &out, NULL), 200);
	ck_assert_str_eq(json_string_value(json_object_get(out, "signing_key")), F.srv.signer->pk_b64);
	ck_assert_str_eq(json_string_value(json_object_get(out, "network")), "192.0.2.0/29");
	json_decref(out);
}
END_TEST

START_TEST(test_enrollment_tokens_validation)
{
	static const struct {
		const char *body;
		const char *code;
	} bad[] = {
		{ "{}", "missing_field" },
		{ "{\"username\":5}", "invalid_field" },
		{ "{\"username\":\"\"}", "invalid_field" },
		{ "{\"username\":\"a\\nb\"}", "invalid_field" },
		{ "{\"username\":\"a\",\"role\":\"root\"}", "invalid_field" },
		{ "{\"username\":\"a\",\"uses\":0}", "invalid_field" },
		{ "{\"username\":\"a\",\"uses\":\"3\"}", "invalid_field" },
		{ "{\"username\":\"a\",\"expires_in\":-5}", "invalid_field" },
		{ "{\"username\":\"a\",\"expires_in\":1.5}", "invalid_field" },
	};
	char *before = fixture_dump(&F), *after;
	json_t *out;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = call(api_enrollment_tokens_post, "POST", "/", NULL, ADMIN, bad[i].body, &out, NULL);

		expect_error(st, out, 400, bad[i].code);
	}
	after = fixture_dump(&F);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	ck_assert_int_eq(call(api_enrollment_tokens_post, "POST", "/", NULL, ADMIN,
			      "{\"username\":\"alice\",\"role\":\"gateway\",\"expires_in\":600,\"uses\":2}", &out, NULL),
			 201);
	ck_assert(token_has_prefix(json_string_value(json_object_get(out, "token")), KW_TOKEN_PREFIX_ENROLL));
	ck_assert_str_eq(json_string_value(json_object_get(out, "role")), "gateway");
	json_decref(out);
	expect_one_token_listed(api_enrollment_tokens_list, "enrollment_tokens");
	ck_assert_int_eq(call(api_enrollment_tokens_delete, "DELETE", "/", "1", ADMIN, NULL, &out, NULL), 204);
	ck_assert_int_eq(call(api_enrollment_tokens_delete, "DELETE", "/", "1", ADMIN, NULL, &out, NULL), 404);
	json_decref(out);
	ck_assert_int_eq(call(api_enrollment_tokens_delete, "DELETE", "/", "x1", ADMIN, NULL, &out, NULL), 404);
	json_decref(out);
}
END_TEST

START_TEST(test_enroll_validation_and_conflicts)
{
	char tok[64], pub[45], *before, *after;
	json_t *out;
	int st;

	make_token("{\"username\":\"alice\",\"uses\":10}", tok);
	srvtest_random_pub(pub);
	before = fixture_dump(&F);
	st = call(api_enroll_post, "POST", "/", NULL, ANON, "{\"token\":\"x\"}", &out, NULL);
	expect_error(st, out, 400, "missing_field");
	st = call(api_enroll_post, "POST", "/", NULL, ANON, "{\"token\":\"x\",\"public_key\":\"!!!notbase64!!!\"}", &out,
		  NULL);
	expect_error(st, out, 400, "invalid_public_key");
	/* base64 of 31 bytes */
	st = call(api_enroll_post, "POST", "/", NULL, ANON,
		  "{\"token\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"}", &out, NULL);
	expect_error(st, out, 400, "invalid_public_key");
	st = call(api_enroll_post, "POST", "/", NULL, ANON, "{\"token\":7,\"public_key\":\"x\"}", &out, NULL);
	expect_error(st, out, 400, "invalid_field");
	st = enroll("kwe_doesnotexist", pub, &out);
	expect_error(st, out, 401, "invalid_enrollment_token");
	st = call(api_enroll_post, "POST", "/", NULL, ANON, "{\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\"}",
		  &out, NULL);
	expect_error(st, out, 401, "missing_credential");
	st = call(api_enroll_post, "POST", "/", NULL, ANON,
		  "{\"username\":\"a\",\"password\":\"b\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=\"}",
		  &out, NULL);
	expect_error(st, out, 400, "ldap_not_configured"); /* no LDAP module in this build */
	after = fixture_dump(&F);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	ck_assert_int_eq(enroll(tok, pub, &out), 201);
	ck_assert_str_eq(json_string_value(json_object_get(out, "address")), "192.0.2.2/32");
	ck_assert(token_has_prefix(json_string_value(json_object_get(out, "device_token")), KW_TOKEN_PREFIX_DEVICE));
	{
		json_t *payload = NULL;

		ck_assert_int_eq(envelope_verify(json_object_get(out, "config"), F.srv.signer->pk, &payload), 0);
		json_decref(payload);
	}
	json_decref(out);
	st = enroll(tok, pub, &out);
	expect_error(st, out, 409, "public_key_in_use");
	/* /29: four more addresses, then the pool is full. */
	for (int i = 0; i < 4; i++) {
		srvtest_random_pub(pub);
		ck_assert_int_eq(enroll(tok, pub, &out), 201);
		json_decref(out);
	}
	srvtest_random_pub(pub);
	st = enroll(tok, pub, &out);
	expect_error(st, out, 409, "pool_exhausted");
}
END_TEST

/* A device of alice's with a fresh key (in pub) from a token of her own; its id, also as text in path. */
static int64_t enroll_alice(char pub[45], char path[32])
{
	char tok[64];
	json_t *out;
	int64_t id;

	make_token("{\"username\":\"alice\"}", tok);
	srvtest_random_pub(pub);
	ck_assert_int_eq(enroll(tok, pub, &out), 201);
	id = json_integer_value(json_object_get(out, "device_id"));
	json_decref(out);
	snprintf(path, 32, "%lld", (long long)id);
	return id;
}

START_TEST(test_device_config_and_rotation)
{
	char pub[45], path[32];
	struct kw_req keep;
	json_t *out, *payload = NULL, *env;
	int64_t id, version;
	int st;

	id = enroll_alice(pub, path);

	st = call(api_device_config_get, "GET", "/", path, ADMIN, NULL, &out, NULL);
	expect_error(st, out, 403, "forbidden");
	st = call(api_device_config_get, "GET", "/", path, KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id + 1, "alice", NULL,
		  &out, NULL);
	expect_error(st, out, 403, "forbidden");

	st = call(api_device_config_get, "GET", "/", path, KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id, "alice", NULL, &out,
		  &keep);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(keep.resp_body);
	env = json_loadb(keep.resp_body, keep.resp_body_len, 0, NULL);
	req_release(&keep);
	ck_assert_int_eq(envelope_verify(env, F.srv.signer->pk, &payload), 0);
	version = json_integer_value(json_object_get(payload, "version"));
	ck_assert_int_gt(version, 0);
	json_decref(payload);
	json_decref(env);

	/* Not newer than `after`: 304 at once, or parked for a long-poll. */
	{
		struct kw_req req;
		struct kw_kv q[2] = { { "after", NULL }, { "wait", "5" } };
		char after[32];

		snprintf(after, sizeof(after), "%lld", (long long)version);
		q[0].value = after;
		fixture_req(&F, &req, "GET", "/", KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id, "alice");
		snprintf(req.param_buf[0], 256, "%s", path);
		req.params[0] = req.param_buf[0];
		req.nparams = 1;
		req.query = q;
		req.nquery = 1;
		out = NULL;
		ck_assert_int_eq(api_device_config_get(&req, NULL, &out), 304);
		req.ncalls = 0;
		req.nquery = 2;
		ck_assert_int_eq(api_device_config_get(&req, NULL, &out), KW_HTTP_SUSPEND);
		ck_assert_int_gt(req.wait_deadline_ms, 0);
		q[1].value = "x";
		req.ncalls = 0;
		req.wait_deadline_ms = 0;
		st = api_device_config_get(&req, NULL, &out);
		expect_error(st, out, 400, "invalid_query");
		req_release(&req);
	}

	/* Rotation. */
	st = call(api_device_key_put, "PUT", "/", path, KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id, "alice",
		  "{\"public_key\":\"short\"}", &out, NULL);
	expect_error(st, out, 400, "invalid_public_key");
	st = call(api_device_key_put, "PUT", "/", path, KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id, "alice", "{}", &out, NULL);
	expect_error(st, out, 400, "missing_field");
	{
		char body[128], pub2[45];

		srvtest_random_pub(pub2);
		snprintf(body, sizeof(body), "{\"public_key\":\"%s\"}", pub2);
		ck_assert_int_eq(call(api_device_key_put, "PUT", "/", path, KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id, "alice",
				      body, &out, NULL),
				 200);
		ck_assert_int_gt(json_integer_value(json_object_get(out, "config_version")), version);
		json_decref(out);
		snprintf(body, sizeof(body), "{\"public_key\":\"%s\"}", pub);
		st = call(api_device_key_put, "PUT", "/", path, KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id, "alice", body,
			  &out, NULL);
		expect_error(st, out, 409, "public_key_in_use");
	}

	/* Suspended: 403 device_suspended; revoked: 401 device_revoked. */
	ck_assert_int_eq(call(api_devices_suspend, "POST", "/", path, ADMIN, "{\"reason\":\"lost\"}", &out, NULL), 200);
	ck_assert_str_eq(json_string_value(json_object_get(out, "state")), "suspended");
	json_decref(out);
	st = call(api_devices_suspend, "POST", "/", path, ADMIN, NULL, &out, NULL);
	expect_error(st, out, 409, "invalid_state");
	st = call(api_device_config_get, "GET", "/", path, KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id, "alice", NULL, &out,
		  NULL);
	expect_error(st, out, 403, "device_suspended");
	ck_assert_int_eq(call(api_devices_restore, "POST", "/", path, ADMIN, NULL, &out, NULL), 200);
	json_decref(out);
	ck_assert_int_eq(call(api_devices_delete, "DELETE", "/", path, ADMIN, NULL, &out, NULL), 204);
	st = call(api_devices_delete, "DELETE", "/", path, ADMIN, NULL, &out, NULL);
	expect_error(st, out, 409, "invalid_state");
	st = call(api_device_config_get, "GET", "/", path, KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id, "alice", NULL, &out,
		  NULL);
	expect_error(st, out, 401, "device_revoked");
}
END_TEST

/* Past half its lifetime a config is renewed: a greater version, a fresh expiry. */
START_TEST(test_config_renewal)
{
	char pub[45], path[32];
	struct kw_req req;
	json_t *out, *env, *payload = NULL;
	int64_t id, v1, v2, exp1, exp2;

	F.conf.config_lifetime = 120;
	id = enroll_alice(pub, path);
	for (int round = 0; round < 2; round++) {
		fixture_req(&F, &req, "GET", "/", KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, id, "alice");
		snprintf(req.param_buf[0], 256, "%s", path);
		req.params[0] = req.param_buf[0];
		req.nparams = 1;
		req.now += round * 61;
		out = NULL;
		ck_assert_int_eq(api_device_config_get(&req, NULL, &out), 200);
		env = json_loadb(req.resp_body, req.resp_body_len, 0, NULL);
		ck_assert_int_eq(envelope_verify(env, F.srv.signer->pk, &payload), 0);
		if (round == 0) {
			v1 = json_integer_value(json_object_get(payload, "version"));
			exp1 = json_integer_value(json_object_get(payload, "expires_at"));
		} else {
			v2 = json_integer_value(json_object_get(payload, "version"));
			exp2 = json_integer_value(json_object_get(payload, "expires_at"));
		}
		json_decref(payload);
		json_decref(env);
		req_release(&req);
	}
	ck_assert_int_gt(v2, v1);
	ck_assert_int_ge(exp2, exp1 + 61);
}
END_TEST

START_TEST(test_user_session_scope)
{
	char tok_a[64], tok_b[64], pub[45], path_b[32];
	json_t *out;
	int64_t id_b;
	int st;

	make_token("{\"username\":\"alice\"}", tok_a);
	make_token("{\"username\":\"bob\"}", tok_b);
	srvtest_random_pub(pub);
	ck_assert_int_eq(enroll(tok_a, pub, &out), 201);
	json_decref(out);
	srvtest_random_pub(pub);
	ck_assert_int_eq(enroll(tok_b, pub, &out), 201);
	id_b = json_integer_value(json_object_get(out, "device_id"));
	json_decref(out);
	snprintf(path_b, sizeof(path_b), "%lld", (long long)id_b);

	ck_assert_int_eq(call(api_devices_list, "GET", "/", NULL, KW_PRINCIPAL_SESSION, KW_ROLE_USER, 1, "alice", NULL,
			      &out, NULL),
			 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "devices")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(out, "devices"), 0), "username")),
			 "alice");
	json_decref(out);
	ck_assert_int_eq(call(api_devices_list, "GET", "/", NULL, ADMIN, NULL, &out, NULL), 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "devices")), 2);
	json_decref(out);
	st = call(api_devices_delete, "DELETE", "/", path_b, KW_PRINCIPAL_SESSION, KW_ROLE_USER, 1, "alice", NULL, &out,
		  NULL);
	expect_error(st, out, 404, "not_found");
	st = call(api_devices_list, "GET", "/", NULL, KW_PRINCIPAL_DEVICE, KW_ROLE_DEVICE, 1, "alice", NULL, &out, NULL);
	expect_error(st, out, 403, "forbidden");
	ck_assert_int_eq(call(api_devices_delete, "DELETE", "/", path_b, KW_PRINCIPAL_SESSION, KW_ROLE_USER, 2, "bob",
			      NULL, &out, NULL),
			 204);

	/* Self-service enrollment by a user session. */
	srvtest_random_pub(pub);
	{
		char body[128];

		snprintf(body, sizeof(body), "{\"public_key\":\"%s\",\"hostname\":\"phone\"}", pub);
		ck_assert_int_eq(call(api_enroll_post, "POST", "/", NULL, KW_PRINCIPAL_SESSION, KW_ROLE_USER, 1, "alice",
				      body, &out, NULL),
				 201);
		ck_assert_str_eq(json_string_value(json_object_get(out, "username")), "alice");
		json_decref(out);
	}
	/* Without the LDAP module the users list carries no directory state at all. */
	ck_assert_int_eq(call(api_users_list, "GET", "/", NULL, ADMIN, NULL, &out, NULL), 200);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(out, "users"), 0),
							   "username")),
			 "alice");
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(out, "users"), 0), "directory"));
	ck_assert_ptr_null(json_object_get(out, "directory_error"));
	json_decref(out);
	ck_assert_int_eq(call(api_users_revoke, "POST", "/", "alice", ADMIN, NULL, &out, NULL), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "revoked")), 2);
	json_decref(out);
}
END_TEST

START_TEST(test_audit_and_api_tokens)
{
	json_t *out;
	int st;

	st = call(api_tokens_post, "POST", "/", NULL, ADMIN, "{}", &out, NULL);
	expect_error(st, out, 400, "missing_field");
	ck_assert_int_eq(call(api_tokens_post, "POST", "/", NULL, ADMIN, "{\"name\":\"deploy\"}", &out, NULL), 201);
	ck_assert(token_has_prefix(json_string_value(json_object_get(out, "token")), KW_TOKEN_PREFIX_API));
	json_decref(out);
	expect_one_token_listed(api_tokens_list, "api_tokens");
	ck_assert_int_eq(call(api_tokens_delete, "DELETE", "/", "1", ADMIN, NULL, &out, NULL), 204);
	st = call(api_tokens_delete, "DELETE", "/", "1", ADMIN, NULL, &out, NULL);
	expect_error(st, out, 404, "not_found");

	{
		struct kw_req req;
		struct kw_kv q[1] = { { "limit", "0" } };

		fixture_req(&F, &req, "GET", "/", ADMIN);
		req.query = q;
		req.nquery = 1;
		out = NULL;
		st = api_audit_list(&req, NULL, &out);
		expect_error(st, out, 400, "invalid_query");
		q[0].value = "1";
		out = NULL;
		ck_assert_int_eq(api_audit_list(&req, NULL, &out), 200);
		ck_assert_int_eq(json_array_size(json_object_get(out, "audit")), 1);
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(out, "audit"), 0),
								   "action")),
				 "api_token_delete");
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(out, "audit"), 0),
								   "actor")),
				 "api-token:ci");
		json_decref(out);
		req_release(&req);
	}
}
END_TEST

/* GET /api/v1/audit?actor=&action=: exact matches, bound in the store, paged with limit/before. */
static json_t *audit_query(const char *k1, const char *v1, const char *k2, const char *v2, const char *k3,
			   const char *v3, int want)
{
	struct kw_kv q[3] = { { k1, v1 }, { k2, v2 }, { k3, v3 } };
	struct kw_req req;
	json_t *out = NULL;
	size_t nq = k3 ? 3 : k2 ? 2 : k1 ? 1 : 0;

	fixture_req(&F, &req, "GET", "/", ADMIN);
	req.query = q;
	req.nquery = nq;
	ck_assert_int_eq(api_audit_list(&req, NULL, &out), want);
	req_release(&req);
	return out;
}

static int64_t audit_id(json_t *out, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(json_object_get(out, "audit"), i), "id"));
}

START_TEST(test_audit_filters)
{
	static const char *const bad[][2] = {
		{ "actor", "" },
		{ "action", "" },
		{ "actor", "al\x01ice" },
		{ "action", "revoke\n" },
		{ "action", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }, /* 73 > 63 */
	};
	char long_actor[300];
	int64_t a1, a2, a3;
	json_t *out;
	char idbuf[32];

	/* rows of two actors and two actions, interleaved, so filters have to skip rows */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(store_audit_add(F.srv.store, 1000 + i, "alice", "login", "user:alice", "ok", ""), 0);
		ck_assert_int_eq(store_audit_add(F.srv.store, 1000 + i, "bob", "login", "user:bob", "ok", ""), 0);
		ck_assert_int_eq(store_audit_add(F.srv.store, 1000 + i, "alice", "device_revoke", "device:1", "ok", ""),
				 0);
	}
	ck_assert_int_eq(store_audit_add(F.srv.store, 2000, "alice'; DROP TABLE audit; --", "login", "x", "ok", ""), 0);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = audit_query(bad[i][0], bad[i][1], NULL, NULL, NULL, NULL, 400);
		expect_error(400, out, 400, "invalid_query");
	}
	memset(long_actor, 'a', sizeof(long_actor) - 1);
	long_actor[sizeof(long_actor) - 1] = '\0';
	out = audit_query("actor", long_actor, NULL, NULL, NULL, NULL, 400);
	expect_error(400, out, 400, "invalid_query");

	/* actor only: alice's 6 rows, newest first */
	out = audit_query("actor", "alice", NULL, NULL, NULL, NULL, 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "audit")), 6);
	for (size_t i = 0; i < 6; i++)
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(out, "audit"), i),
								   "actor")),
				 "alice");
	ck_assert(json_is_null(json_object_get(out, "next_before")));
	json_decref(out);

	/* action only */
	out = audit_query("action", "device_revoke", NULL, NULL, NULL, NULL, 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "audit")), 3);
	json_decref(out);

	/* both, paged two at a time: 2 + 1 rows, ids strictly falling, no row twice */
	out = audit_query("actor", "alice", "action", "login", "limit", "2", 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "audit")), 2);
	a1 = audit_id(out, 0);
	a2 = audit_id(out, 1);
	ck_assert_int_gt(a1, a2);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "next_before")), a2);
	for (size_t i = 0; i < 2; i++) {
		json_t *row = json_array_get(json_object_get(out, "audit"), i);

		ck_assert_str_eq(json_string_value(json_object_get(row, "actor")), "alice");
		ck_assert_str_eq(json_string_value(json_object_get(row, "action")), "login");
	}
	json_decref(out);
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)a2);
	{
		struct kw_kv q[4] = { { "actor", "alice" }, { "action", "login" }, { "limit", "2" }, { "before", idbuf } };
		struct kw_req req;

		fixture_req(&F, &req, "GET", "/", ADMIN);
		req.query = q;
		req.nquery = 4;
		out = NULL;
		ck_assert_int_eq(api_audit_list(&req, NULL, &out), 200);
		req_release(&req);
	}
	ck_assert_int_eq(json_array_size(json_object_get(out, "audit")), 1);
	a3 = audit_id(out, 0);
	ck_assert_int_lt(a3, a2);
	ck_assert(json_is_null(json_object_get(out, "next_before")));
	json_decref(out);

	/* no match; a quote in the value is data, not SQL */
	out = audit_query("actor", "nobody", NULL, NULL, NULL, NULL, 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "audit")), 0);
	json_decref(out);
	out = audit_query("actor", "alice'; DROP TABLE audit; --", NULL, NULL, NULL, NULL, 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "audit")), 1);
	json_decref(out);
	out = audit_query("actor", "ALICE", NULL, NULL, NULL, NULL, 200); /* exact: case matters */
	ck_assert_int_eq(json_array_size(json_object_get(out, "audit")), 0);
	json_decref(out);
}
END_TEST

START_TEST(test_routes)
{
	struct kw_req req;
	const struct kw_route *r;
	char allow[64];

	routes_reset();
	ck_assert_int_eq(routes_register(api_v1_routes, api_v1_nroutes), 0);
	req_init_test(&req, &F.srv, "GET", "/");
	ck_assert_int_eq(routes_find("GET", "/api/v1/devices/42/config", &req, &r, allow, sizeof(allow)), ROUTES_FOUND);
	ck_assert_ptr_eq(r->handler, api_device_config_get);
	ck_assert_int_eq(req.nparams, 1);
	ck_assert_str_eq(req.params[0], "42");
	ck_assert_int_eq(routes_find("HEAD", "/api/v1/health", &req, &r, allow, sizeof(allow)), ROUTES_FOUND);
	ck_assert_int_eq(routes_find("PATCH", "/api/v1/devices/42", &req, &r, allow, sizeof(allow)), ROUTES_NO_METHOD);
	ck_assert_str_eq(allow, "GET, DELETE");
	ck_assert_int_eq(routes_find("GET", "/api/v1/devices//config", &req, &r, allow, sizeof(allow)), ROUTES_NO_PATH);
	ck_assert_int_eq(routes_find("GET", "/api/v1/nope", &req, &r, allow, sizeof(allow)), ROUTES_NO_PATH);
	ck_assert_int_eq(routes_find("GET", "/api/v1/health/", &req, &r, allow, sizeof(allow)), ROUTES_NO_PATH);
	req_release(&req);
}
END_TEST

START_TEST(test_req_helpers)
{
	struct kw_req req;
	struct kw_kv h[1] = { { "x-csrf-token", "abc" } };
	int64_t id;

	req_init_test(&req, &F.srv, "GET", "/");
	req.headers = h;
	req.nheaders = 1;
	ck_assert_str_eq(req_header(&req, "X-CSRF-Token"), "abc");
	ck_assert_ptr_null(req_query(&req, "x"));
	for (int i = 0; i < KW_MAX_RESP_HEADERS; i++)
		ck_assert_int_eq(req_add_header(&req, "Set-Cookie", "a=b"), 0);
	ck_assert_int_eq(req_add_header(&req, "Set-Cookie", "a=b"), -ENOSPC);
	snprintf(req.param_buf[0], 256, "007");
	req.params[0] = req.param_buf[0];
	req.nparams = 1;
	ck_assert(!req_param_id(&req, 0, &id));
	snprintf(req.param_buf[0], 256, "99999999999999999999");
	ck_assert(!req_param_id(&req, 0, &id));
	snprintf(req.param_buf[0], 256, "12");
	ck_assert(req_param_id(&req, 0, &id));
	ck_assert_int_eq(id, 12);
	req_release(&req);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_health_info,
		test_enrollment_tokens_validation,
		test_enroll_validation_and_conflicts,
		test_device_config_and_rotation,
		test_user_session_scope,
		test_config_renewal,
		test_audit_and_api_tokens,
		test_audit_filters,
		test_routes,
		test_req_helpers,
	};

	return CHECK_RUN_TESTS("server_api", setup, teardown, 60, tests);
}
