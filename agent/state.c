#include "config.h"
#include "state.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "log.h"

#define STATE_FILE_MAX (1024 * 1024)

void state_keypair_generate(uint8_t priv[KW_KEY_LEN], uint8_t pub[KW_KEY_LEN])
{
	do {
		randombytes_buf(priv, KW_KEY_LEN);
		/* Curve25519 clamping, as `wg genkey` does. */
		priv[0] &= 248;
		priv[31] = (uint8_t)((priv[31] & 127) | 64);
	} while (state_public_from_private(pub, priv) < 0);
}

int state_public_from_private(uint8_t pub[KW_KEY_LEN], const uint8_t priv[KW_KEY_LEN])
{
	if (crypto_scalarmult_curve25519_base(pub, priv) != 0 || key_is_zero(pub))
		return -EINVAL;
	return 0;
}

int state_path(char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int state_dir_secure(const char *dir)
{
	struct stat sb;
	int fd, ret = 0;

	/* O_NOFOLLOW: a symlink put in place of the directory is refused, not followed. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	if (fstat(fd, &sb) < 0) {
		ret = -errno;
	} else if (sb.st_uid != geteuid()) {
		/* Someone else could swap the files under us: refuse, do not take it over. */
		log_error("event=state_dir_refused dir=\"%s\" owner=%u want=%u", dir,
			  (unsigned)sb.st_uid, (unsigned)geteuid());
		ret = -EPERM;
	} else if (sb.st_mode & 077) {
		if (fchmod(fd, 0700) < 0) {
			ret = -errno;
		} else {
			log_warn("event=state_dir_tightened dir=\"%s\" mode_was=%04o mode=0700", dir,
				 (unsigned)(sb.st_mode & 07777));
		}
	}
	close(fd);
	return ret;
}

/* Create dir (0700) if missing, then hold it to state_dir_secure's rules. */
static int state_dir_prepare(const char *dir)
{
	int ret = dir_ensure(dir, 0700);

	return ret < 0 ? ret : state_dir_secure(dir);
}

int state_private_key_save(const char *dir, const char *name, const uint8_t key[KW_KEY_LEN])
{
	char path[PATH_MAX], b64[KW_KEY_B64_LEN + 2];
	int ret;

	ret = state_dir_prepare(dir);
	if (ret < 0)
		return ret;
	ret = state_path(path, dir, name);
	if (ret < 0)
		return ret;
	key_to_base64(b64, key);
	b64[KW_KEY_B64_LEN] = '\n';
	ret = file_write_atomic(path, b64, KW_KEY_B64_LEN + 1, 0600);
	sodium_memzero(b64, sizeof(b64));
	return ret;
}

/* Read a small secret file, refusing one that others can read. */
static int read_secret(const char *dir, const char *name, char **out, size_t *len)
{
	char path[PATH_MAX];
	struct stat sb;
	int ret;

	ret = state_path(path, dir, name);
	if (ret < 0)
		return ret;
	if (stat(path, &sb) < 0)
		return -errno;
	if ((sb.st_mode & 077) || sb.st_uid != geteuid())
		return -EPERM;
	return file_read_all(path, 4096, out, len);
}

static void strip_newline(char *s, size_t *len)
{
	while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r' || s[*len - 1] == ' '))
		s[--*len] = '\0';
}

int state_private_key_load(const char *dir, const char *name, uint8_t key[KW_KEY_LEN])
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = read_secret(dir, name, &text, &len);
	if (ret < 0)
		return ret;
	strip_newline(text, &len);
	ret = key_from_base64(key, text);
	if (ret == 0 && key_is_zero(key))
		ret = -EINVAL;
	sodium_memzero(text, len);
	free(text);
	return ret;
}

int state_save(const struct agent_state *st)
{
	char path[PATH_MAX], pk_b64[KW_KEY_B64_LEN + 1];
	json_t *j = NULL;
	char *text = NULL;
	int ret;

	ret = state_dir_prepare(st->dir);
	if (ret < 0)
		return ret;
	key_to_base64(pk_b64, st->signing_pk);
	j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "server", st->server, "device_id",
		      st->device_id, "signing_key", pk_b64, "ca_file", st->ca_file,
		      "insecure_http", st->insecure_http, "hostname", st->hostname);
	if (!j)
		return -ENOMEM;
	text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (!text)
		return -ENOMEM;
	ret = state_path(path, st->dir, "device.token");
	if (ret < 0)
		goto out;
	/* The token first: a state.json without its token would look enrolled. */
	ret = file_write_atomic(path, st->device_token, strlen(st->device_token), 0600);
	if (ret < 0)
		goto out;
	ret = state_path(path, st->dir, "state.json");
	if (ret < 0)
		goto out;
	ret = file_write_atomic(path, text, strlen(text), 0600);
out:
	free(text);
	return ret;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
	if (!src)
		src = "";
	if (strlen(src) >= cap)
		return -EINVAL;
	strcpy(dst, src);
	return 0;
}

int state_load(struct agent_state *st)
{
	char path[PATH_MAX], *text = NULL, *token = NULL;
	size_t len = 0, tlen = 0;
	json_t *j = NULL;
	int ret;

	ret = state_path(path, st->dir, "state.json");
	if (ret < 0)
		return ret;
	if (access(path, F_OK) < 0)
		return -errno; /* not enrolled: nothing to hold to the rules yet */
	ret = state_dir_secure(st->dir);
	if (ret < 0)
		return ret;
	ret = file_read_all(path, STATE_FILE_MAX, &text, &len);
	if (ret < 0)
		return ret;
	j = json_loadb(text, len, 0, NULL);
	if (!json_is_object(j)) {
		ret = -EINVAL;
		goto out;
	}
	ret = copy_str(st->server, sizeof(st->server), json_string_value(json_object_get(j, "server")));
	if (ret == 0)
		ret = copy_str(st->device_id, sizeof(st->device_id),
			       json_string_value(json_object_get(j, "device_id")));
	if (ret == 0)
		ret = copy_str(st->ca_file, sizeof(st->ca_file),
			       json_string_value(json_object_get(j, "ca_file")));
	if (ret == 0)
		ret = copy_str(st->hostname, sizeof(st->hostname),
			       json_string_value(json_object_get(j, "hostname")));
	if (ret == 0)
		ret = key_from_base64(st->signing_pk,
				      json_string_value(json_object_get(j, "signing_key")) ?: "");
	if (ret < 0)
		goto out;
	st->insecure_http = json_is_true(json_object_get(j, "insecure_http"));
	if (!st->server[0] || !st->device_id[0]) {
		ret = -EINVAL;
		goto out;
	}
	ret = read_secret(st->dir, "device.token", &token, &tlen);
	if (ret < 0)
		goto out;
	strip_newline(token, &tlen);
	ret = copy_str(st->device_token, sizeof(st->device_token), token);
out:
	if (token) {
		sodium_memzero(token, tlen);
		free(token);
	}
	json_decref(j);
	free(text);
	return ret;
}

void state_clear(struct agent_state *st)
{
	sodium_memzero(st->device_token, sizeof(st->device_token));
}

static int save_json(const char *dir, const char *name, const json_t *j)
{
	char path[PATH_MAX], *text;
	int ret;

	ret = state_path(path, dir, name);
	if (ret < 0)
		return ret;
	text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	ret = file_write_atomic(path, text, strlen(text), 0600);
	free(text);
	return ret;
}

static int load_json(const char *dir, const char *name, json_t **out)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	ret = state_path(path, dir, name);
	if (ret < 0)
		return ret;
	ret = file_read_all(path, STATE_FILE_MAX, &text, &len);
	if (ret < 0)
		return ret;
	*out = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

int state_config_save(const char *dir, const json_t *envelope)
{
	return save_json(dir, "config.json", envelope);
}

int state_config_load(const char *dir, json_t **envelope)
{
	return load_json(dir, "config.json", envelope);
}

int state_status_save(const char *dir, const json_t *status)
{
	return save_json(dir, "status.json", status);
}

int state_status_load(const char *dir, json_t **status)
{
	return load_json(dir, "status.json", status);
}

int state_denial_save(const char *dir, const json_t *envelope)
{
	return save_json(dir, "denied.json", envelope);
}

int state_denial_load(const char *dir, json_t **envelope)
{
	return load_json(dir, "denied.json", envelope);
}
