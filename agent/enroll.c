#include "config.h"
#include "enroll.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "envelope.h"
#include "fetch.h"
#include "log.h"
#include "state.h"
#include "verify.h"

int enroll_pin_match(const char *pin, const uint8_t server_pk[KW_KEY_LEN])
{
	uint8_t pinned[KW_KEY_LEN];
	char id[KW_KEY_ID_LEN + 1], lower[KW_KEY_ID_LEN + 1];
	size_t i;

	if (key_from_base64(pinned, pin) == 0)
		return sodium_memcmp(pinned, server_pk, KW_KEY_LEN) == 0 ? 0 : -EKEYREJECTED;
	if (strlen(pin) != KW_KEY_ID_LEN)
		return -EINVAL;
	for (i = 0; i < KW_KEY_ID_LEN; i++) {
		if (!isxdigit((unsigned char)pin[i]))
			return -EINVAL;
		lower[i] = (char)tolower((unsigned char)pin[i]);
	}
	lower[KW_KEY_ID_LEN] = '\0';
	envelope_key_id(id, server_pk);
	return strcmp(id, lower) == 0 ? 0 : -EKEYREJECTED;
}

int enroll_read_secret(FILE *in, FILE *prompt_out, const char *prompt, char *buf, size_t cap)
{
	struct termios old, noecho;
	bool tty = isatty(fileno(in));
	size_t len;
	int ret = 0;

	if (tty) {
		fprintf(prompt_out, "%s", prompt);
		fflush(prompt_out);
		if (tcgetattr(fileno(in), &old) == 0) {
			noecho = old;
			noecho.c_lflag &= ~(tcflag_t)ECHO;
			(void)tcsetattr(fileno(in), TCSAFLUSH, &noecho);
		} else {
			tty = false;
		}
	}
	if (!fgets(buf, (int)cap, in))
		ret = -ENODATA;
	if (tty) {
		(void)tcsetattr(fileno(in), TCSAFLUSH, &old);
		fprintf(prompt_out, "\n");
	}
	if (ret < 0)
		return ret;
	len = strlen(buf);
	if (len == cap - 1 && buf[len - 1] != '\n') {
		sodium_memzero(buf, cap);
		return -E2BIG;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return len == 0 ? -ENODATA : 0;
}

/* Without --pin: show the fingerprint and ask on the terminal; refuse without one. */
static int confirm_key(const uint8_t pk[KW_KEY_LEN])
{
	char id[KW_KEY_ID_LEN + 1], b64[KW_KEY_B64_LEN + 1], answer[16];
	FILE *tty = fopen("/dev/tty", "r+");
	int ret = -EKEYREJECTED;

	if (!tty || !isatty(fileno(tty))) {
		if (tty)
			fclose(tty);
		agent_die_msg("no --pin given and no terminal to confirm the controller's signing key; "
			      "pass --pin KEY_ID (see GET /api/v1/info or keywayd's log)");
		return -ENOTTY;
	}
	envelope_key_id(id, pk);
	key_to_base64(b64, pk);
	fprintf(tty, "The controller's config signing key is\n  key id:     %s\n  public key: %s\n"
		     "Compare it with what your administrator published. Trust it? [y/N] ",
		id, b64);
	fflush(tty);
	if (fgets(answer, sizeof(answer), tty) && (answer[0] == 'y' || answer[0] == 'Y'))
		ret = 0;
	fclose(tty);
	if (ret < 0)
		agent_die_msg("controller key not confirmed; nothing was changed");
	return ret;
}

static void die_http(const char *what, long status, const json_t *reply)
{
	const char *msg = json_string_value(
		json_object_get(json_object_get(reply, "error"), "message"));

	agent_die_msg("%s: HTTP %ld %s%s%s", what, status, fetch_error_code(reply),
		      msg ? ": " : "", msg ? msg : "");
}

static void usage_enroll(void)
{
	fprintf(stderr,
		"usage: keyway-agent enroll --server URL [--pin KEY_ID_OR_PUBKEY]\n"
		"                           (--token TOKEN | --user NAME) [--hostname H]\n"
		"                           [--endpoint HOST:PORT] [--state DIR] [--ca-file FILE]\n"
		"                           [--insecure-http]\n"
		"  With --user the password is read from the terminal, or one line of stdin.\n");
}

int cmd_enroll(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "pin", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "state", required_argument, NULL, 'd' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "insecure-http", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pin = NULL, *token = NULL, *user = NULL, *endpoint = NULL, *addr6;
	struct agent_state st;
	struct fetch_opts fo;
	struct verify_params vp;
	struct agent_config *cfg = NULL;
	uint8_t priv[KW_KEY_LEN], pub[KW_KEY_LEN], server_pk[KW_KEY_LEN];
	char pub_b64[KW_KEY_B64_LEN + 1], password[512] = "", path[PATH_MAX];
	json_t *reply = NULL, *body = NULL, *env;
	const json_t *v;
	enum verify_result vr;
	long status = 0;
	int c, ret, rc = 1;

	memset(&st, 0, sizeof(st));
	strcpy(st.dir, AGENT_STATE_DIR_DEFAULT);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': snprintf(st.server, sizeof(st.server), "%s", optarg); break;
		case 'p': pin = optarg; break;
		case 't': token = optarg; break;
		case 'u': user = optarg; break;
		case 'H': snprintf(st.hostname, sizeof(st.hostname), "%s", optarg); break;
		case 'e': endpoint = optarg; break;
		case 'd': snprintf(st.dir, sizeof(st.dir), "%s", optarg); break;
		case 'c': snprintf(st.ca_file, sizeof(st.ca_file), "%s", optarg); break;
		case 'k': st.insecure_http = true; break;
		default: usage_enroll(); return c == 'h' ? 0 : 2;
		}
	}
	if (!st.server[0] || (!token == !user) || optind != argc) {
		usage_enroll();
		return 2;
	}
	if (!st.hostname[0] && gethostname(st.hostname, sizeof(st.hostname) - 1) < 0)
		strcpy(st.hostname, "unknown");
	ret = fetch_url_check(st.server, st.insecure_http);
	if (ret == -EPERM) {
		agent_die_msg("refusing plain http:// to a non-loopback controller; use https:// "
			      "or --insecure-http");
		return 1;
	} else if (ret < 0) {
		agent_die_msg("bad --server URL (http:// or https:// only): %s", st.server);
		return 1;
	}
	if (pin) {
		uint8_t probe[KW_KEY_LEN] = { 0 };

		if (enroll_pin_match(pin, probe) == -EINVAL) {
			agent_die_msg("--pin must be the key id (16 hex) or the base64 public key");
			return 1;
		}
	}
	if (state_path(path, st.dir, "state.json") == 0 && access(path, F_OK) == 0) {
		agent_die_msg("already enrolled (state in %s); remove it to enroll again", st.dir);
		return 1;
	}
	fo = (struct fetch_opts){ .server = st.server, .ca_file = st.ca_file,
				  .insecure_http = st.insecure_http };

	/* 1. The controller's signing key, pinned before anything is trusted. */
	ret = fetch_request(&fo, "GET", "/api/v1/info", NULL, NULL, &status, &reply);
	if (ret < 0) {
		agent_die_msg("cannot reach %s: %s", st.server, strerror(-ret));
		goto out;
	}
	if (status != 200 || !json_string_value(json_object_get(reply, "signing_key")) ||
	    key_from_base64(server_pk, json_string_value(json_object_get(reply, "signing_key"))) < 0) {
		die_http("GET /api/v1/info gave no signing key", status, reply);
		goto out;
	}
	json_decref(reply);
	reply = NULL;
	if (pin) {
		ret = enroll_pin_match(pin, server_pk);
		if (ret == -EINVAL) {
			agent_die_msg("--pin must be the key id (16 hex) or the base64 public key");
			goto out;
		} else if (ret < 0) {
			agent_die_msg("the controller's signing key does not match --pin; not enrolling");
			goto out;
		}
	} else if (confirm_key(server_pk) < 0) {
		goto out;
	}
	memcpy(st.signing_pk, server_pk, KW_KEY_LEN);

	/* 2. Credentials: a password only from the terminal or stdin, never argv. */
	if (user) {
		char prompt[300];

		snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
		ret = enroll_read_secret(stdin, stderr, prompt, password, sizeof(password));
		if (ret < 0) {
			agent_die_msg(ret == -E2BIG ? "password too long" : "no password given");
			goto out;
		}
	}

	/* 3. The key pair, made here; only the public half leaves the device. */
	state_keypair_generate(priv, pub);
	ret = state_private_key_save(st.dir, "private.key", priv);
	if (ret < 0) {
		agent_die_msg("cannot write the private key in %s: %s", st.dir, strerror(-ret));
		goto out;
	}
	key_to_base64(pub_b64, pub);
	body = json_pack("{s:s, s:s}", "public_key", pub_b64, "hostname", st.hostname);
	if (!body)
		goto out;
	if (token)
		json_object_set_new(body, "token", json_string(token));
	else {
		json_object_set_new(body, "username", json_string(user));
		json_object_set_new(body, "password", json_string(password));
	}
	if (endpoint)
		json_object_set_new(body, "endpoint", json_string(endpoint));
	ret = fetch_request(&fo, "POST", "/api/v1/enroll", NULL, body, &status, &reply);
	if (ret < 0) {
		agent_die_msg("enroll: %s", strerror(-ret));
		goto out;
	}
	if (status != 201 && status != 200) {
		die_http("enroll refused", status, reply);
		goto out;
	}
	v = json_object_get(reply, "device_id");
	if (json_is_integer(v))
		snprintf(st.device_id, sizeof(st.device_id), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	else if (json_is_string(v))
		snprintf(st.device_id, sizeof(st.device_id), "%s", json_string_value(v));
	v = json_object_get(reply, "device_token");
	if (!st.device_id[0] || !json_is_string(v) ||
	    strlen(json_string_value(v)) >= sizeof(st.device_token)) {
		agent_die_msg("enroll: malformed answer from the controller");
		goto out;
	}
	strcpy(st.device_token, json_string_value(v));

	/* 4. The first config must already pass every check. */
	env = json_object_get(reply, "config");
	vp = (struct verify_params){ .signing_pk = st.signing_pk, .device_id = st.device_id,
				     .min_version = 0, .now = time(NULL) };
	vr = verify_envelope(env, &vp, &cfg);
	if (vr != VERIFY_OK) {
		agent_die_msg("enroll: the first config was rejected (%s)", verify_result_name(vr));
		goto out;
	}
	ret = state_save(&st);
	if (ret == 0)
		ret = state_config_save(st.dir, env);
	if (ret < 0) {
		agent_die_msg("cannot save the enrollment in %s: %s", st.dir, strerror(-ret));
		goto out;
	}
	addr6 = json_string_value(json_object_get(reply, "address6")); /* only with a cidr6 pool */
	printf("enrolled: device %s, address %s%s%s, config version %llu, state in %s\n", st.device_id,
	       json_string_value(json_object_get(reply, "address")) ?: "?", addr6 ? " " : "",
	       addr6 ? addr6 : "", (unsigned long long)cfg->version, st.dir);
	rc = 0;
out:
	agent_config_free(cfg);
	if (body) {
		json_t *pw = json_object_get(body, "password");

		if (pw && json_string_value(pw))
			sodium_memzero((char *)json_string_value(pw), strlen(json_string_value(pw)));
	}
	json_decref(body);
	json_decref(reply);
	sodium_memzero(password, sizeof(password));
	sodium_memzero(priv, sizeof(priv));
	state_clear(&st);
	return rc;
}
