#include "config.h"
#include "rotate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "log.h"
#include "verify.h"

static int put_key(const struct agent_state *st, const char *b64)
{
	struct fetch_opts fo = { .server = st->server, .ca_file = st->ca_file,
				 .insecure_http = st->insecure_http };
	char url[AGENT_ID_MAX + 64];
	json_t *body, *reply = NULL;
	long status = 0;
	int ret;

	body = json_pack("{s:s}", "public_key", b64);
	if (!body)
		return -ENOMEM;
	snprintf(url, sizeof(url), "/api/v1/devices/%s/public-key", st->device_id);
	ret = fetch_request(&fo, "PUT", url, st->device_token, body, &status, &reply);
	if (ret == 0 && status != 200 && status != 204) {
		log_error("event=rotate_refused status=%ld code=%s", status, fetch_error_code(reply));
		ret = status == 409 ? -EEXIST : -EACCES;
	}
	json_decref(body);
	json_decref(reply);
	return ret;
}

int rotate_perform(const struct agent_state *st, bool switch_first, rotate_switch_fn switch_fn,
		   void *ctx, uint8_t new_priv[KW_KEY_LEN])
{
	char cur[PATH_MAX], next[PATH_MAX], prev[PATH_MAX], b64[KW_KEY_B64_LEN + 1];
	uint8_t pub[KW_KEY_LEN];
	bool switched = false;
	int ret;

	if (state_path(cur, st->dir, "private.key") < 0 ||
	    state_path(next, st->dir, "private.key.next") < 0 ||
	    state_path(prev, st->dir, "private.key.prev") < 0)
		return -ENAMETOOLONG;
	state_keypair_generate(new_priv, pub);
	key_to_base64(b64, pub);
	ret = state_private_key_save(st->dir, "private.key.next", new_priv);
	if (ret < 0)
		goto out;
	if (switch_first) {
		/* Keep the old key until the controller has the new one. */
		(void)unlink(prev);
		if (link(cur, prev) < 0) {
			ret = -errno;
			goto out;
		}
		if (rename(next, cur) < 0) {
			ret = -errno;
			goto out;
		}
		switched = true;
		if (switch_fn)
			(void)switch_fn(ctx);
	}
	ret = put_key(st, b64);
	if (ret < 0)
		goto out;
	if (!switch_first && rename(next, cur) < 0) {
		ret = -errno;
		goto out;
	}
	log_info("event=key_rotated public_key=%s", b64);
out:
	if (ret < 0) {
		if (switched && rename(prev, cur) == 0 && switch_fn)
			(void)switch_fn(ctx); /* back to the key the controller knows */
		(void)unlink(next);
		sodium_memzero(new_priv, KW_KEY_LEN);
	}
	(void)unlink(prev);
	return ret;
}

bool rotate_is_gateway(const struct agent_state *st)
{
	struct verify_params vp = { .signing_pk = st->signing_pk, .device_id = st->device_id,
				    .min_version = 0, .now = INT64_MIN };
	struct agent_config *cfg = NULL;
	json_t *env = NULL;
	bool gw = false;

	if (state_config_load(st->dir, &env) == 0 && verify_envelope(env, &vp, &cfg) == VERIFY_OK)
		gw = cfg->listen_port >= 0;
	agent_config_free(cfg);
	json_decref(env);
	return gw;
}

struct running {
	pid_t pid;
	char ifname[64];
	char uapi_dir[PATH_MAX];
	const char *state_dir;
};

static bool running_agent(const struct agent_state *st, struct running *ra)
{
	json_t *status = NULL;

	memset(ra, 0, sizeof(*ra));
	ra->state_dir = st->dir;
	if (state_status_load(st->dir, &status) < 0)
		return false;
	ra->pid = (pid_t)json_integer_value(json_object_get(status, "pid"));
	snprintf(ra->ifname, sizeof(ra->ifname), "%s",
		 json_string_value(json_object_get(status, "interface")) ?: "");
	snprintf(ra->uapi_dir, sizeof(ra->uapi_dir), "%s",
		 json_string_value(json_object_get(status, "uapi_dir")) ?: "/var/run/wireguard");
	if (ra->pid <= 1 || kill(ra->pid, 0) < 0 ||
	    strcmp(json_string_value(json_object_get(status, "state")) ?: "", "stopped") == 0)
		ra->pid = 0;
	json_decref(status);
	return ra->pid > 0;
}

/* True when the running device holds the key now in private.key. */
static bool device_has_key(const struct running *ra)
{
	uint8_t priv[KW_KEY_LEN];
	char hex[KW_KEY_HEX_LEN + 1], want[KW_KEY_HEX_LEN + 16], *text = NULL;
	bool yes = false;

	if (state_private_key_load(ra->state_dir, "private.key", priv) < 0)
		return false;
	key_to_hex(hex, priv);
	snprintf(want, sizeof(want), "private_key=%s\n", hex);
	if (agent_uapi_get(ra->uapi_dir, ra->ifname, &text) == 0) {
		yes = strstr(text, want) != NULL;
		sodium_memzero(text, strlen(text));
		free(text);
	}
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(want, sizeof(want));
	return yes;
}

/* SIGHUP the running agent, then wait (up to 2 s) until its device uses the new key:
 * a gateway must hold it before its laptops hear of it. */
static int signal_switch(void *ctx)
{
	const struct running *ra = ctx;
	struct timespec ts = { 0, 2 * 1000000L };
	int i;

	if (ra->pid <= 0)
		return 0;
	if (kill(ra->pid, SIGHUP) < 0)
		return -errno;
	for (i = 0; i < 1000; i++) {
		if (device_has_key(ra))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int cmd_rotate(int argc, char **argv)
{
	static const char usage[] =
		"usage: keyway-agent rotate [--state DIR] [--switch-delay-ms MS]\n";
	struct agent_state st;
	uint8_t priv[KW_KEY_LEN], pub[KW_KEY_LEN];
	char b64[KW_KEY_B64_LEN + 1];
	long delay_ms = 100;
	const struct cli_opt opts[] = {
		{ "switch-delay-ms", CLI_LONG, &delay_ms, 0, 0, 60000 },
	};
	struct running ra;
	bool gateway;
	int ret;

	ret = cli_begin(argc, argv, usage, opts, 1, &st);
	if (ret != CLI_CONTINUE)
		return ret;
	gateway = rotate_is_gateway(&st);
	(void)running_agent(&st, &ra);
	ret = rotate_perform(&st, gateway, signal_switch, &ra, priv);
	if (ret < 0) {
		agent_errorf("key rotation failed: %s; the old key stays in use", strerror(-ret));
		state_clear(&st);
		return 1;
	}
	(void)state_public_from_private(pub, priv);
	sodium_memzero(priv, sizeof(priv));
	key_to_base64(b64, pub);
	if (!gateway && ra.pid > 0) {
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		ret = signal_switch(&ra);
	}
	if (ra.pid > 0 && ret == 0)
		printf("running agent (pid %d) switched to the new key\n", (int)ra.pid);
	else if (ra.pid > 0)
		printf("running agent (pid %d) did not confirm the switch: %s\n", (int)ra.pid, strerror(-ret));
	printf("rotated: new public key %s\n", b64);
	state_clear(&st);
	return 0;
}
