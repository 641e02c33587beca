/* Check suite for agent/verify.c: every reason a config is refused, and the parser. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "envelope.h"
#include "key.h"
#include "verify.h"

static uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static uint8_t other_pk[crypto_sign_PUBLICKEYBYTES], other_sk[crypto_sign_SECRETKEYBYTES];
static char peer_a[KW_KEY_B64_LEN + 1], peer_b[KW_KEY_B64_LEN + 1];

#define NOW 1700000000

static void setup(void)
{
	uint8_t k[KW_KEY_LEN];

	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(other_pk, other_sk);
	randombytes_buf(k, sizeof(k));
	key_to_base64(peer_a, k);
	randombytes_buf(k, sizeof(k));
	key_to_base64(peer_b, k);
}

static char *payload_text(int version, const char *device, long expires)
{
	char *p = NULL;

	if (asprintf(&p,
		     "{\"version\":%d,\"device_id\":%s,\"issued_at\":%d,\"expires_at\":%ld,"
		     "\"interface\":{\"addresses\":[\"10.77.0.5/32\"],\"mtu\":1420},"
		     "\"peers\":[{\"public_key\":\"%s\",\"endpoint\":\"192.0.2.1:51820\","
		     "\"allowed_ips\":[\"10.77.0.0/16\",\"198.51.100.0/24\"],"
		     "\"persistent_keepalive\":25},"
		     "{\"public_key\":\"%s\",\"endpoint\":null,\"allowed_ips\":[]}]}",
		     version, device, NOW - 10, expires, peer_a, peer_b) < 0)
		return NULL;
	return p;
}

static json_t *sign_with(const uint8_t *s, const uint8_t *p, const char *text)
{
	json_t *env = NULL;

	ck_assert_int_eq(envelope_sign(s, p, text, strlen(text), &env), 0);
	return env;
}

static json_t *make(int version, const char *device, long expires)
{
	char *text = payload_text(version, device, expires);
	json_t *env = sign_with(sk, pk, text);

	free(text);
	return env;
}

static enum verify_result check(const json_t *env, uint64_t min_version, struct agent_config **cfg)
{
	struct verify_params p = { .signing_pk = pk, .device_id = "7", .min_version = min_version,
				   .now = NOW };

	return verify_envelope(env, &p, cfg);
}

/* Sign a config for device `device` (version, expires_at), verify it as device 7 having seen
 * min_version, and expect `want`; a refused config must leave no agent_config behind. */
static void expect(int version, const char *device, long expires, uint64_t min_version, enum verify_result want)
{
	struct agent_config *cfg = NULL;
	json_t *env = make(version, device, expires);

	ck_assert_int_eq(check(env, min_version, &cfg), want);
	if (want == VERIFY_OK)
		ck_assert_ptr_nonnull(cfg);
	else
		ck_assert_ptr_null(cfg);
	agent_config_free(cfg);
	json_decref(env);
}

START_TEST(test_good_config)
{
	struct agent_config *cfg = NULL;
	json_t *env = make(5, "7", NOW + 3600);
	char text[KW_CIDR_STRLEN];
	const struct agent_peer *a;
	uint8_t ka[KW_KEY_LEN];

	ck_assert_int_eq(check(env, 5, &cfg), VERIFY_OK);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->version, 5);
	ck_assert_str_eq(cfg->device_id, "7");
	ck_assert_int_eq(cfg->mtu, 1420);
	ck_assert_int_eq(cfg->listen_port, -1);
	ck_assert_uint_eq(cfg->n_addresses, 1);
	cidr_format(text, &cfg->addresses[0]);
	ck_assert_str_eq(text, "10.77.0.5/32");
	ck_assert_uint_eq(cfg->n_peers, 2);
	ck_assert_int_eq(key_from_base64(ka, peer_a), 0);
	a = agent_config_find_peer(cfg, ka);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->endpoint, "192.0.2.1:51820");
	ck_assert_uint_eq(a->n_allowed, 2);
	ck_assert_uint_eq(a->persistent_keepalive, 25);
	agent_config_free(cfg);
	json_decref(env);
}
END_TEST

START_TEST(test_string_device_id)
{
	expect(1, "\"7\"", NOW + 60, 0, VERIFY_OK);
}
END_TEST

START_TEST(test_flipped_byte)
{
	struct agent_config *cfg = NULL;
	json_t *env = make(5, "7", NOW + 3600);
	char *p = strdup(json_string_value(json_object_get(env, "payload")));
	size_t i;

	/* Flip one base64 character at several places: each must fail the signature. */
	for (i = 4; i < strlen(p); i += 37) {
		char saved = p[i];

		p[i] = p[i] == 'A' ? 'B' : 'A';
		json_object_set_new(env, "payload", json_string(p));
		ck_assert_int_eq(check(env, 0, &cfg), VERIFY_BAD_SIGNATURE);
		ck_assert_ptr_null(cfg);
		p[i] = saved;
	}
	json_object_set_new(env, "payload", json_string(p));
	ck_assert_int_eq(check(env, 0, &cfg), VERIFY_OK);
	agent_config_free(cfg);
	free(p);
	json_decref(env);
}
END_TEST

START_TEST(test_foreign_key)
{
	struct agent_config *cfg = NULL;
	char *text = payload_text(9, "7", NOW + 3600);
	json_t *env = sign_with(other_sk, other_pk, text);
	char id[KW_KEY_ID_LEN + 1];

	ck_assert_int_eq(check(env, 0, &cfg), VERIFY_FOREIGN_KEY);
	ck_assert_ptr_null(cfg);
	/* Signed by another key but claiming ours: the signature gives it away. */
	envelope_key_id(id, pk);
	json_object_set_new(env, "key_id", json_string(id));
	ck_assert_int_eq(check(env, 0, &cfg), VERIFY_BAD_SIGNATURE);
	json_decref(env);
	free(text);
}
END_TEST

START_TEST(test_wrong_device)
{
	expect(5, "8", NOW + 3600, 0, VERIFY_WRONG_DEVICE);
}
END_TEST

START_TEST(test_rollback)
{
	expect(5, "7", NOW + 3600, 5, VERIFY_OK); /* the same version again is not a rollback */
	expect(5, "7", NOW + 3600, 6, VERIFY_ROLLBACK);
	expect(5, "7", NOW + 3600, 1000, VERIFY_ROLLBACK);
}
END_TEST

START_TEST(test_expired)
{
	expect(5, "7", NOW + 1, 0, VERIFY_OK);
	expect(5, "7", NOW, 0, VERIFY_EXPIRED);
	expect(5, "7", NOW - 1, 0, VERIFY_EXPIRED);
}
END_TEST

START_TEST(test_malformed)
{
	static const char *const bad[] = {
		"{}",
		"[]",
		"{\"version\":1,\"device_id\":7,\"expires_at\":1800000000}",
		"{\"version\":-1,\"device_id\":7,\"expires_at\":1800000000,\"interface\":{\"addresses\":[]},\"peers\":[]}",
		"{\"version\":1,\"device_id\":7,\"expires_at\":1800000000,\"interface\":{\"addresses\":[\"nope\"]},\"peers\":[]}",
		"{\"version\":1,\"device_id\":7,\"expires_at\":1800000000,\"interface\":{\"addresses\":[],\"mtu\":10},\"peers\":[]}",
		"{\"version\":1,\"device_id\":7,\"expires_at\":1800000000,\"interface\":{\"addresses\":[]},\"peers\":[{\"public_key\":\"short\",\"allowed_ips\":[]}]}",
		"{\"version\":1,\"device_id\":7,\"expires_at\":1800000000,\"interface\":{\"addresses\":[]},\"peers\":[{\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"allowed_ips\":[\"10.0.0.0/99\"]}]}",
		"{\"version\":1,\"device_id\":7,\"expires_at\":1800000000,\"interface\":{\"addresses\":[]},\"peers\":[{\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"allowed_ips\":[]},{\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"allowed_ips\":[]}]}",
		"{\"version\":1,\"device_id\":{},\"expires_at\":1800000000,\"interface\":{\"addresses\":[]},\"peers\":[]}",
		"not json",
	};
	struct agent_config *cfg = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *env = sign_with(sk, pk, bad[i]);

		ck_assert_msg(check(env, 0, &cfg) == VERIFY_MALFORMED, "case %zu", i);
		ck_assert_ptr_null(cfg);
		json_decref(env);
	}
	{
		json_t *junk = json_pack("{s:i}", "payload", 3);

		ck_assert_int_eq(check(junk, 0, &cfg), VERIFY_MALFORMED);
		json_decref(junk);
		ck_assert_int_eq(check(NULL, 0, &cfg), VERIFY_MALFORMED);
	}
}
END_TEST

START_TEST(test_gateway_listen_port)
{
	const char *text = "{\"version\":2,\"device_id\":7,\"expires_at\":1800000000,"
			   "\"interface\":{\"addresses\":[\"10.77.0.2/32\"],\"listen_port\":51820},"
			   "\"peers\":[]}";
	json_t *env = sign_with(sk, pk, text);
	struct agent_config *cfg = NULL;

	ck_assert_int_eq(check(env, 0, &cfg), VERIFY_OK);
	ck_assert_int_eq(cfg->listen_port, 51820);
	ck_assert_uint_eq(cfg->n_peers, 0);
	agent_config_free(cfg);
	json_decref(env);
}
END_TEST

START_TEST(test_result_names)
{
	ck_assert_str_eq(verify_result_name(VERIFY_BAD_SIGNATURE), "bad_signature");
	ck_assert_str_eq(verify_result_name(VERIFY_ROLLBACK), "rollback");
	ck_assert_str_eq(verify_result_name(VERIFY_FOREIGN_KEY), "foreign_key");
}
END_TEST

/* The signed_state envelope of a suspension/revocation, as keywayd makes it. */
static json_t *state_env(const uint8_t *s_, const uint8_t *p_, const char *device, const char *state,
			 long version)
{
	char text[200];

	snprintf(text, sizeof(text), "{\"device_id\":%s,\"state\":\"%s\",\"version\":%ld}", device,
		 state, version);
	return sign_with(s_, p_, text);
}

static enum verify_result check_state(const json_t *env, uint64_t last_config,
				      struct agent_state_change *c)
{
	struct verify_params p = { .signing_pk = pk, .device_id = "7",
				   .min_version = last_config + 1, .now = NOW };

	return verify_state_change(env, &p, c);
}

/* Verified ones are acted on: suspended or revoked, with their version. */
START_TEST(test_state_change_verified)
{
	struct agent_state_change c = { 0 };
	json_t *env = state_env(sk, pk, "7", "suspended", 12);

	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_OK);
	ck_assert_int_eq(c.state, AGENT_DEVICE_SUSPENDED);
	ck_assert_uint_eq(c.version, 12);
	json_decref(env);
	env = state_env(sk, pk, "\"7\"", "revoked", 30);
	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_OK);
	ck_assert_int_eq(c.state, AGENT_DEVICE_REVOKED);
	ck_assert_uint_eq(c.version, 30);
	json_decref(env);
}
END_TEST

/* Forged, foreign, for another device, old, or not a state at all: ignored. */
START_TEST(test_state_change_refused)
{
	struct agent_state_change c = { 0 };
	json_t *env;
	char *p;

	env = state_env(other_sk, other_pk, "7", "suspended", 12); /* another controller's key */
	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_FOREIGN_KEY);
	json_decref(env);
	env = state_env(other_sk, other_pk, "7", "suspended", 12); /* same, claiming our key_id */
	{
		char id[KW_KEY_ID_LEN + 1];

		envelope_key_id(id, pk);
		json_object_set_new(env, "key_id", json_string(id));
	}
	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_BAD_SIGNATURE);
	json_decref(env);
	env = state_env(sk, pk, "7", "suspended", 12); /* a byte of the payload flipped */
	p = strdup(json_string_value(json_object_get(env, "payload")));
	p[5] = p[5] == 'A' ? 'B' : 'A';
	json_object_set_new(env, "payload", json_string(p));
	free(p);
	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_BAD_SIGNATURE);
	json_decref(env);
	env = state_env(sk, pk, "8", "suspended", 12);
	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_WRONG_DEVICE);
	json_decref(env);
	/* Not above the last config: an old suspension replayed after a restore. */
	env = state_env(sk, pk, "7", "suspended", 11);
	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_ROLLBACK);
	ck_assert_int_eq(check_state(env, 10, &c), VERIFY_OK);
	json_decref(env);
	env = state_env(sk, pk, "7", "active", 12);
	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_MALFORMED);
	json_decref(env);
	/* A config envelope is not a state change, and the reverse. */
	env = make(12, "7", NOW + 60);
	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_MALFORMED);
	json_decref(env);
	expect(0, "7", NOW + 60, 0, VERIFY_OK);
	{
		struct agent_config *cfg = NULL;

		env = state_env(sk, pk, "7", "suspended", 12);
		ck_assert_int_eq(check(env, 0, &cfg), VERIFY_MALFORMED);
		ck_assert_ptr_null(cfg);
		json_decref(env);
	}
	/* Unsigned: the bare error body, or no envelope at all. */
	env = json_pack("{s:{s:s}}", "error", "code", "device_suspended");
	ck_assert_int_eq(check_state(env, 11, &c), VERIFY_MALFORMED);
	json_decref(env);
	ck_assert_int_eq(check_state(NULL, 11, &c), VERIFY_MALFORMED);
}
END_TEST

/* After a verified suspension at version 12, the config that ran before it (version 11,
 * still within its lifetime) is a replay and may not bring the tunnel back; 13 may. */
START_TEST(test_replay_after_suspension)
{
	uint64_t min;

	/* Without a suspension: up takes only newer, down takes the last one again. */
	ck_assert_uint_eq(verify_min_config_version(true, false, 11, 0), 12);
	ck_assert_uint_eq(verify_min_config_version(true, true, 11, 0), 11);
	ck_assert_uint_eq(verify_min_config_version(false, false, 11, 0), 11);
	min = verify_min_config_version(false, false, 11, 12);
	ck_assert_uint_eq(min, 13);
	expect(11, "7", NOW + 3600, min, VERIFY_ROLLBACK);
	expect(12, "7", NOW + 3600, min, VERIFY_ROLLBACK);
	expect(13, "7", NOW + 3600, min, VERIFY_OK);
	/* At start, from the state directory: the same floor. */
	ck_assert_uint_eq(verify_min_config_version(false, false, 0, 12), 13);
	/* Up again at 13: the floor no longer matters. */
	ck_assert_uint_eq(verify_min_config_version(true, false, 13, 12), 14);
}
END_TEST

/* A gateway's peers may name their device and user (metrics labels); optional. */
START_TEST(test_peer_identity)
{
	struct agent_config *cfg = NULL;
	char *text = NULL;
	json_t *payload;

	ck_assert_int_ge(asprintf(&text,
				  "{\"version\":3,\"device_id\":7,\"expires_at\":%d,"
				  "\"interface\":{\"addresses\":[\"10.77.0.1/32\"],\"listen_port\":51820},"
				  "\"peers\":[{\"public_key\":\"%s\",\"allowed_ips\":[],\"device_id\":17,"
				  "\"username\":\"bob\"},{\"public_key\":\"%s\",\"allowed_ips\":[]}]}",
				  NOW + 60, peer_a, peer_b), 0);
	payload = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(payload);
	ck_assert_int_eq(agent_config_from_json(payload, &cfg), 0);
	for (size_t i = 0; i < cfg->n_peers; i++) {
		char b64[KW_KEY_B64_LEN + 1];

		key_to_base64(b64, cfg->peers[i].public_key);
		if (strcmp(b64, peer_a) == 0) {
			ck_assert_str_eq(cfg->peers[i].device_id, "17");
			ck_assert_str_eq(cfg->peers[i].username, "bob");
		} else {
			ck_assert_str_eq(cfg->peers[i].device_id, "");
			ck_assert_ptr_null(cfg->peers[i].username);
		}
	}
	agent_config_free(cfg);
	json_decref(payload);
	free(text);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_good_config,
		test_string_device_id,
		test_flipped_byte,
		test_foreign_key,
		test_wrong_device,
		test_rollback,
		test_expired,
		test_malformed,
		test_gateway_listen_port,
		test_result_names,
		test_state_change_verified,
		test_state_change_refused,
		test_replay_after_suspension,
		test_peer_identity,
	};

	return CHECK_RUN_SODIUM_TESTS("agent_verify", setup, NULL, 0, tests);
}
