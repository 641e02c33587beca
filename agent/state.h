/*
 * The agent's state directory: everything it needs to come back after a reboot while
 * the controller is down. Files (all 0600, written atomically):
 *   private.key   WireGuard X25519 private key, base64 (generated here, never sent)
 *   device.token  the device's bearer token for the controller
 *   state.json    server URL, device id, pinned signing key, TLS options, role
 *   config.json   the last good signed config envelope, exactly as received
 *   status.json   what `run` is doing now (pid, interface, state), read by `status`
 *   denied.json   the last verified suspension or revocation envelope (verify.h), so a
 *                 restart does not bring back a tunnel the controller switched off
 */
#ifndef KW_AGENT_STATE_H
#define KW_AGENT_STATE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "key.h"

#define AGENT_STATE_DIR_DEFAULT "/var/lib/keyway-agent"
#define AGENT_URL_MAX 512
#define AGENT_ID_MAX 64
#define AGENT_TOKEN_MAX 256

struct agent_state {
	char dir[PATH_MAX];
	char server[AGENT_URL_MAX];
	char device_id[AGENT_ID_MAX];
	char device_token[AGENT_TOKEN_MAX]; /* secret: zeroed by state_clear() */
	uint8_t signing_pk[KW_KEY_LEN];     /* the pinned controller key */
	char ca_file[PATH_MAX];             /* empty: system CAs */
	bool insecure_http;
	char hostname[256];
};

/* A fresh X25519 key pair (clamped private key, public = base point * private). */
void state_keypair_generate(uint8_t priv[KW_KEY_LEN], uint8_t pub[KW_KEY_LEN]);
/* The public key of a private key. -EINVAL when the result would be all zero. */
int state_public_from_private(uint8_t pub[KW_KEY_LEN], const uint8_t priv[KW_KEY_LEN]);

/* Build DIR/NAME into out (PATH_MAX). -ENAMETOOLONG. */
int state_path(char out[PATH_MAX], const char *dir, const char *name);

/*
 * The state directory must be a real directory (not a symlink) owned by this user:
 * -ENOTDIR, -EPERM otherwise. One that group or others may enter (e.g. a pre-existing
 * 0755) is tightened to 0700 with a warning line. state_save, state_private_key_save
 * and state_load apply it.
 */
int state_dir_secure(const char *dir);

/* Private key file NAME ("private.key" or "private.key.next") in dir, 0600. */
int state_private_key_save(const char *dir, const char *name, const uint8_t key[KW_KEY_LEN]);
/* -ENOENT when missing, -EINVAL when malformed, -EPERM when group/other can read it or
 * another user owns it. */
int state_private_key_load(const char *dir, const char *name, uint8_t key[KW_KEY_LEN]);

/* Enrollment: state.json + device.token. Creates dir (0700) if missing. */
int state_save(const struct agent_state *st);
/* Fill st from st->dir (set it first). -ENOENT when not enrolled. */
int state_load(struct agent_state *st);
/* Zero the secrets in st. */
void state_clear(struct agent_state *st);

/* The last good envelope (config.json), atomically. */
int state_config_save(const char *dir, const json_t *envelope);
/* *envelope is a new reference; -ENOENT when none saved. */
int state_config_load(const char *dir, json_t **envelope);

/* denied.json: the signed_state envelope of a verified suspension or revocation. */
int state_denial_save(const char *dir, const json_t *envelope);
/* *envelope is a new reference; -ENOENT when none saved. */
int state_denial_load(const char *dir, json_t **envelope);

/* status.json, written by `run` and read by `status`. */
int state_status_save(const char *dir, const json_t *status);
int state_status_load(const char *dir, json_t **status);

#endif
