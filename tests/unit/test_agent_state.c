/* Check suite for agent/state.c: keys, enrollment files, last good config, modes. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "state.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/kwa-state.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static mode_t mode_of(const char *name)
{
	char path[PATH_MAX];
	struct stat sb;

	ck_assert_int_eq(state_path(path, dir, name), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	return sb.st_mode & 07777;
}

START_TEST(test_keypair)
{
	uint8_t priv[KW_KEY_LEN], pub[KW_KEY_LEN], want[KW_KEY_LEN], priv2[KW_KEY_LEN];

	state_keypair_generate(priv, pub);
	ck_assert_int_eq(priv[0] & 7, 0);
	ck_assert_int_eq(priv[31] & 128, 0);
	ck_assert_int_eq(priv[31] & 64, 64);
	ck_assert_int_eq(crypto_scalarmult_curve25519_base(want, priv), 0);
	ck_assert_mem_eq(pub, want, KW_KEY_LEN);
	state_keypair_generate(priv2, want);
	ck_assert_int_ne(memcmp(priv, priv2, KW_KEY_LEN), 0);
}
END_TEST

START_TEST(test_private_key_file)
{
	uint8_t priv[KW_KEY_LEN], pub[KW_KEY_LEN], back[KW_KEY_LEN];
	char path[PATH_MAX];

	state_keypair_generate(priv, pub);
	ck_assert_int_eq(state_private_key_save(dir, "private.key", priv), 0);
	ck_assert_int_eq(mode_of("private.key"), 0600);
	ck_assert_int_eq(state_private_key_load(dir, "private.key", back), 0);
	ck_assert_mem_eq(priv, back, KW_KEY_LEN);
	ck_assert_int_eq(state_private_key_load(dir, "missing.key", back), -ENOENT);
	/* A key others can read is refused, not used. */
	ck_assert_int_eq(state_path(path, dir, "private.key"), 0);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(state_private_key_load(dir, "private.key", back), -EPERM);
}
END_TEST

START_TEST(test_private_key_malformed)
{
	char path[PATH_MAX];
	uint8_t back[KW_KEY_LEN];

	ck_assert_int_eq(state_path(path, dir, "private.key"), 0);
	check_write_file(path, "not a key\n", 0600);
	ck_assert_int_eq(state_private_key_load(dir, "private.key", back), -EINVAL);
}
END_TEST

START_TEST(test_enrollment_roundtrip)
{
	struct agent_state st, back;

	memset(&st, 0, sizeof(st));
	snprintf(st.dir, sizeof(st.dir), "%s/sub", dir);
	strcpy(st.server, "https://vpn.example.com");
	strcpy(st.device_id, "42");
	strcpy(st.device_token, "kwd_secret_token");
	strcpy(st.hostname, "laptop");
	randombytes_buf(st.signing_pk, sizeof(st.signing_pk));
	st.insecure_http = true;
	ck_assert_int_eq(state_save(&st), 0);

	memset(&back, 0, sizeof(back));
	strcpy(back.dir, st.dir);
	ck_assert_int_eq(state_load(&back), 0);
	ck_assert_str_eq(back.server, st.server);
	ck_assert_str_eq(back.device_id, "42");
	ck_assert_str_eq(back.device_token, "kwd_secret_token");
	ck_assert_str_eq(back.hostname, "laptop");
	ck_assert(back.insecure_http);
	ck_assert_mem_eq(back.signing_pk, st.signing_pk, KW_KEY_LEN);
	state_clear(&back);
	ck_assert_str_eq(back.device_token, "");

	strcpy(back.dir, dir);
	ck_assert_int_eq(state_load(&back), -ENOENT);
	{
		char path[PATH_MAX];
		struct stat sb;

		ck_assert_int_eq(state_path(path, st.dir, "device.token"), 0);
		ck_assert_int_eq(stat(path, &sb), 0);
		ck_assert_int_eq(sb.st_mode & 0777, 0600);
		ck_assert_int_eq(stat(st.dir, &sb), 0);
		ck_assert_int_eq(sb.st_mode & 0777, 0700);
	}
}
END_TEST

static void fill_state(struct agent_state *st, const char *sub)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->dir, sizeof(st->dir), "%s/%s", dir, sub);
	strcpy(st->server, "https://vpn.example.com");
	strcpy(st->device_id, "42");
	strcpy(st->device_token, "kwd_secret_token");
	randombytes_buf(st->signing_pk, sizeof(st->signing_pk));
}

static mode_t dir_mode(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(lstat(path, &sb), 0);
	return sb.st_mode & 07777;
}

/* A state directory made beforehand with 0755 (or one loosened later) is tightened to
 * 0700 when the agent saves or loads; a symlink in its place is refused. */
START_TEST(test_state_dir_tightened)
{
	struct agent_state st, back;
	char link[PATH_MAX];

	fill_state(&st, "loose");
	ck_assert_int_eq(mkdir(st.dir, 0755), 0);
	ck_assert_int_eq(chmod(st.dir, 0755), 0);
	ck_assert_int_eq(state_save(&st), 0);
	ck_assert_int_eq(dir_mode(st.dir), 0700);
	ck_assert_int_eq(chmod(st.dir, 0777), 0);
	memset(&back, 0, sizeof(back));
	strcpy(back.dir, st.dir);
	ck_assert_int_eq(state_load(&back), 0);
	ck_assert_int_eq(dir_mode(st.dir), 0700);
	ck_assert_int_eq(chmod(st.dir, 0750), 0);
	{
		uint8_t k[KW_KEY_LEN], pub[KW_KEY_LEN];

		state_keypair_generate(k, pub);
		ck_assert_int_eq(state_private_key_save(st.dir, "private.key", k), 0);
	}
	ck_assert_int_eq(dir_mode(st.dir), 0700);
	state_clear(&back);

	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink(st.dir, link), 0);
	strcpy(back.dir, link);
	ck_assert_int_eq(state_load(&back), -ENOTDIR);
	ck_assert_int_eq(state_dir_secure(link), -ENOTDIR);
	state_clear(&back);
	state_clear(&st);
}
END_TEST

/* A state directory, or a secret in it, owned by another user is refused (root only:
 * it needs chown). */
START_TEST(test_state_dir_foreign_owner)
{
	struct agent_state st, back;
	char path[PATH_MAX];

	if (geteuid() != 0)
		return;
	fill_state(&st, "foreign");
	ck_assert_int_eq(state_save(&st), 0);
	ck_assert_int_eq(chown(st.dir, 4242, 4242), 0);
	memset(&back, 0, sizeof(back));
	strcpy(back.dir, st.dir);
	ck_assert_int_eq(state_load(&back), -EPERM);
	ck_assert_int_eq(state_save(&st), -EPERM);
	ck_assert_int_eq(chown(st.dir, 0, 0), 0);
	ck_assert_int_eq(state_load(&back), 0);
	ck_assert_int_eq(state_path(path, st.dir, "device.token"), 0);
	ck_assert_int_eq(chown(path, 4242, 4242), 0);
	ck_assert_int_eq(state_load(&back), -EPERM);
	state_clear(&back);
	state_clear(&st);
}
END_TEST

START_TEST(test_config_persist)
{
	json_t *env = json_pack("{s:s, s:s, s:s}", "payload", "eyJ2IjoxfQ==", "signature", "AA==",
				"key_id", "0011223344556677");
	json_t *back = NULL;
	char path[PATH_MAX];

	ck_assert_int_eq(state_config_load(dir, &back), -ENOENT);
	ck_assert_int_eq(state_config_save(dir, env), 0);
	ck_assert_int_eq(mode_of("config.json"), 0600);
	ck_assert_int_eq(state_config_load(dir, &back), 0);
	ck_assert(json_equal(env, back));
	json_decref(back);
	/* No temporary file is left behind. */
	ck_assert_int_eq(state_path(path, dir, "config.json.tmp"), 0);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* A corrupt file is an error, not a crash. */
	ck_assert_int_eq(state_path(path, dir, "config.json"), 0);
	check_write_file(path, "{broken", 0600);
	ck_assert_int_eq(state_config_load(dir, &back), -EINVAL);
	ck_assert_ptr_null(back);
	json_decref(env);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_keypair,
		test_private_key_file,
		test_private_key_malformed,
		test_enrollment_roundtrip,
		test_config_persist,
		test_state_dir_tightened,
		test_state_dir_foreign_owner,
	};

	return CHECK_RUN_SODIUM_TESTS("agent_state", setup, teardown, 0, tests);
}
