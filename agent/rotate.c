#include "config.h"
#include "rotate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "verify.h"

int rotate_perform(const struct agent_state *st, uint8_t new_priv[KW_KEY_LEN])
{
	struct fetch_opts fo = { .server = st->server, .ca_file = st->ca_file,
				 .insecure_http = st->insecure_http };
	char path[PATH_MAX], next[PATH_MAX], url[AGENT_ID_MAX + 64], b64[KW_KEY_B64_LEN + 1];
	uint8_t pub[KW_KEY_LEN];
	json_t *body = NULL, *reply = NULL;
	long status = 0;
	int ret;

	state_keypair_generate(new_priv, pub);
	ret = state_private_key_save(st->dir, "private.key.next", new_priv);
	if (ret < 0)
		goto out;
	key_to_base64(b64, pub);
	body = json_pack("{s:s}", "public_key", b64);
	if (!body) {
		ret = -ENOMEM;
		goto out;
	}
	snprintf(url, sizeof(url), "/api/v1/devices/%s/public-key", st->device_id);
	ret = fetch_request(&fo, "PUT", url, st->device_token, body, &status, &reply);
	if (ret == 0 && status != 200 && status != 204) {
		log_error("event=rotate_refused status=%ld code=%s", status, fetch_error_code(reply));
		ret = status == 409 ? -EEXIST : -EACCES;
	}
	if (ret < 0)
		goto out;
	if (state_path(path, st->dir, "private.key") < 0 ||
	    state_path(next, st->dir, "private.key.next") < 0 || rename(next, path) < 0) {
		ret = -errno;
		goto out;
	}
	log_info("event=key_rotated public_key=%s", b64);
out:
	if (ret < 0) {
		if (state_path(next, st->dir, "private.key.next") == 0)
			(void)unlink(next);
		sodium_memzero(new_priv, KW_KEY_LEN);
	}
	json_decref(body);
	json_decref(reply);
	return ret;
}

static bool rotate_is_gateway(const struct agent_state *st)
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

int cmd_rotate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 'd' },
		{ "switch-delay-ms", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_state st;
	uint8_t priv[KW_KEY_LEN], pub[KW_KEY_LEN];
	char b64[KW_KEY_B64_LEN + 1];
	json_t *status = NULL;
	long delay_ms = -1;
	int c, ret;

	memset(&st, 0, sizeof(st));
	strcpy(st.dir, AGENT_STATE_DIR_DEFAULT);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': snprintf(st.dir, sizeof(st.dir), "%s", optarg); break;
		case 'w': delay_ms = atol(optarg); break;
		default:
			fprintf(stderr, "usage: keyway-agent rotate [--state DIR] [--switch-delay-ms MS]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	ret = state_load(&st);
	if (ret < 0) {
		agent_die_msg("not enrolled (state in %s): %s", st.dir, strerror(-ret));
		return 1;
	}
	ret = rotate_perform(&st, priv);
	if (ret < 0) {
		agent_die_msg("key rotation failed: %s; the old key stays in use", strerror(-ret));
		state_clear(&st);
		return 1;
	}
	(void)state_public_from_private(pub, priv);
	sodium_memzero(priv, sizeof(priv));
	key_to_base64(b64, pub);
	/* Who switches first matters: a laptop's new handshake must find its new key on the
	 * gateways, so it gives them a moment (they long-poll) to take it; a gateway switches
	 * at once, before the laptops learn its new key and start handshaking with it. */
	if (delay_ms < 0)
		delay_ms = rotate_is_gateway(&st) ? 0 : 200;
	if (state_status_load(st.dir, &status) == 0) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(status, "pid"));
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };

		if (pid > 1 && kill(pid, 0) == 0) {
			nanosleep(&ts, NULL);
			if (kill(pid, SIGHUP) == 0)
				printf("running agent (pid %d) switched to the new key\n", (int)pid);
		}
		json_decref(status);
	}
	printf("rotated: new public key %s\n", b64);
	state_clear(&st);
	return 0;
}
