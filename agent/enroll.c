#include "config.h"
#include "enroll.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "envelope.h"
#include "fetch.h"
#include "log.h"
#include "state.h"
#include "verify.h"

void enroll_key_fingerprint(char out[ENROLL_FINGERPRINT_LEN + 1], const uint8_t pk[KW_KEY_LEN])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, KW_KEY_LEN);
	sodium_bin2hex(out, ENROLL_FINGERPRINT_LEN + 1, h, sizeof(h));
}

static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return s[n] == '\0';
}

int enroll_pin_match(const char *pin, const uint8_t server_pk[KW_KEY_LEN])
{
	uint8_t pinned[KW_KEY_LEN];
	char fp[ENROLL_FINGERPRINT_LEN + 1], lower[ENROLL_FINGERPRINT_LEN + 1];
	size_t i, len = strlen(pin);

	if (key_from_base64(pinned, pin) == 0)
		return sodium_memcmp(pinned, server_pk, KW_KEY_LEN) == 0 ? 0 : -EKEYREJECTED;
	if (len == KW_KEY_ID_LEN && all_hex(pin, len))
		return -EDOM; /* the short id: 64 bits, for display only */
	if (len != ENROLL_FINGERPRINT_LEN || !all_hex(pin, len))
		return -EINVAL;
	for (i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)pin[i]);
	enroll_key_fingerprint(fp, server_pk);
	return sodium_memcmp(fp, lower, ENROLL_FINGERPRINT_LEN) == 0 ? 0 : -EKEYREJECTED;
}

const char *enroll_pin_error(int ret)
{
	if (ret == -EDOM)
		return "--pin: a 16-hex key id is only 64 bits and cannot pin the controller; pass its "
		       "full public key (base64, 44 characters) or its SHA-256 fingerprint (64 hex)";
	if (ret == -EINVAL)
		return "--pin must be the controller's public key (base64) or its SHA-256 "
		       "fingerprint (64 hex)";
	return "the controller's signing key does not match --pin; not enrolling";
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
	char fp[ENROLL_FINGERPRINT_LEN + 1];
	FILE *tty = fopen("/dev/tty", "r+");
	int ret = -EKEYREJECTED;

	if (!tty || !isatty(fileno(tty))) {
		if (tty)
			fclose(tty);
		agent_errorf("no --pin given and no terminal to confirm the controller's signing key; "
			     "pass --pin PUBLIC_KEY (see GET /api/v1/info or keywayd's log)");
		return -ENOTTY;
	}
	envelope_key_id(id, pk);
	key_to_base64(b64, pk);
	enroll_key_fingerprint(fp, pk);
	fprintf(tty, "The controller's config signing key is\n  public key:  %s\n"
		     "  fingerprint: %s\n  key id:      %s (display only)\n"
		     "Compare the key or the fingerprint with what your administrator published. "
		     "Trust it? [y/N] ",
		b64, fp, id);
	fflush(tty);
	if (fgets(answer, sizeof(answer), tty) && (answer[0] == 'y' || answer[0] == 'Y'))
		ret = 0;
	fclose(tty);
	if (ret < 0)
		agent_errorf("controller key not confirmed; nothing was changed");
	return ret;
}

static void die_http(const char *what, long status, const json_t *reply)
{
	const char *msg = json_string_value(
		json_object_get(json_object_get(reply, "error"), "message"));

	agent_errorf("%s: HTTP %ld %s%s%s", what, status, fetch_error_code(reply),
		     msg ? ": " : "", msg ? msg : "");
}

/* Append s as a JSON string (quoted, escaped); cap was sized by enroll_body_build. */
static void put_json_string(char *out, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;

	out[(*pos)++] = '"';
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			out[(*pos)++] = '\\';
			out[(*pos)++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			memcpy(out + *pos, "\\u00", 4);
			out[*pos + 4] = hex[*p >> 4];
			out[*pos + 5] = hex[*p & 15];
			*pos += 6;
		} else {
			out[(*pos)++] = (char)*p;
		}
	}
	out[(*pos)++] = '"';
}

static void put_member(char *out, size_t *pos, const char *name, const char *value)
{
	if (*pos > 1)
		out[(*pos)++] = ',';
	put_json_string(out, pos, name);
	out[(*pos)++] = ':';
	put_json_string(out, pos, value);
}

int enroll_body_build(const struct enroll_request *rq, char **out, size_t *len)
{
	const char *names[] = { "public_key", "hostname", "token", "username", "password",
				"endpoint" };
	const char *values[] = { rq->public_key, rq->hostname, rq->token, rq->username,
				 rq->password, rq->endpoint };
	size_t i, cap = 3, pos = 0;
	char *body;

	*out = NULL;
	*len = 0;
	if (!rq->public_key || !rq->hostname || !rq->token == !rq->username ||
	    !rq->username != !rq->password)
		return -EINVAL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (values[i])
			cap += strlen(names[i]) + 6 * strlen(values[i]) + 6;
	/* One copy of the password, in guarded memory that sodium_free zeroes. */
	body = sodium_malloc(cap);
	if (!body)
		return -ENOMEM;
	body[pos++] = '{';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (values[i])
			put_member(body, &pos, names[i], values[i]);
	body[pos++] = '}';
	body[pos] = '\0';
	*out = body;
	*len = pos;
	return 0;
}

void enroll_body_free(char *body)
{
	if (body)
		sodium_free(body); /* zeroes the whole buffer first */
}

static const char usage_enroll[] =
	"usage: keyway-agent enroll --server URL [--pin PUBLIC_KEY|SHA256_FINGERPRINT]\n"
	"                           (--token TOKEN | --user NAME) [--hostname H]\n"
	"                           [--endpoint HOST:PORT] [--state DIR] [--ca-file FILE]\n"
	"                           [--insecure-http]\n"
	"  With --user the password is read from the terminal, or one line of stdin.\n";

struct enroll_args {
	const char *pin, *token, *user, *endpoint;
};

/* Options and the checks that need no network. CLI_CONTINUE or an exit status. */
static int enroll_parse(int argc, char **argv, struct agent_state *st, struct enroll_args *a)
{
	const struct cli_opt opts[] = {
		{ "server", CLI_BUF, st->server, sizeof(st->server), 0, 0 },
		{ "pin", CLI_STRING, &a->pin, 0, 0, 0 },
		{ "token", CLI_STRING, &a->token, 0, 0, 0 },
		{ "user", CLI_STRING, &a->user, 0, 0, 0 },
		{ "hostname", CLI_BUF, st->hostname, sizeof(st->hostname), 0, 0 },
		{ "endpoint", CLI_STRING, &a->endpoint, 0, 0, 0 },
		{ "ca-file", CLI_BUF, st->ca_file, sizeof(st->ca_file), 0, 0 },
		{ "insecure-http", CLI_FLAG, &st->insecure_http, 0, 0, 0 },
	};
	char path[PATH_MAX];
	int rc, ret;

	rc = cli_parse(argc, argv, usage_enroll, opts, sizeof(opts) / sizeof(opts[0]), st->dir);
	if (rc != CLI_CONTINUE)
		return rc;
	if (!st->server[0] || !a->token == !a->user) {
		fputs(usage_enroll, stderr);
		return 2;
	}
	if (!st->hostname[0] && gethostname(st->hostname, sizeof(st->hostname) - 1) < 0)
		strcpy(st->hostname, "unknown");
	ret = fetch_url_check(st->server, st->insecure_http);
	if (ret == -EPERM) {
		agent_errorf("refusing plain http:// to a non-loopback controller; use https:// "
			     "or --insecure-http");
		return 1;
	} else if (ret < 0) {
		agent_errorf("bad --server URL (http:// or https:// only): %s", st->server);
		return 1;
	}
	if (a->pin) {
		uint8_t probe[KW_KEY_LEN] = { 0 };

		ret = enroll_pin_match(a->pin, probe);
		if (ret == -EINVAL || ret == -EDOM) {
			agent_errorf("%s", enroll_pin_error(ret));
			return 1;
		}
	}
	if (state_path(path, st->dir, "state.json") == 0 && access(path, F_OK) == 0) {
		agent_errorf("already enrolled (state in %s); remove it to enroll again", st->dir);
		return 1;
	}
	return CLI_CONTINUE;
}

/* 1. The controller's signing key, pinned before anything is trusted. */
static int enroll_pin_key(const struct fetch_opts *fo, const char *pin, struct agent_state *st)
{
	uint8_t server_pk[KW_KEY_LEN];
	json_t *reply = NULL;
	const char *key;
	long status = 0;
	int ret;

	ret = fetch_request(fo, "GET", "/api/v1/info", NULL, NULL, &status, &reply);
	if (ret < 0) {
		agent_errorf("cannot reach %s: %s", st->server, strerror(-ret));
		return ret;
	}
	key = json_string_value(json_object_get(reply, "signing_key"));
	if (status != 200 || !key || key_from_base64(server_pk, key) < 0) {
		die_http("GET /api/v1/info gave no signing key", status, reply);
		json_decref(reply);
		return -EPROTO;
	}
	json_decref(reply);
	if (pin) {
		ret = enroll_pin_match(pin, server_pk);
		if (ret < 0)
			agent_errorf("%s", enroll_pin_error(ret));
	} else {
		ret = confirm_key(server_pk);
	}
	if (ret == 0)
		memcpy(st->signing_pk, server_pk, KW_KEY_LEN);
	return ret;
}

/* 2. A password only from the terminal or stdin, never argv. */
static int enroll_password(const char *user, char *password, size_t cap)
{
	char prompt[300];
	int ret;

	snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
	ret = enroll_read_secret(stdin, stderr, prompt, password, cap);
	if (ret < 0)
		agent_errorf(ret == -E2BIG ? "password too long" : "no password given");
	return ret;
}

/* 3. The key pair, made here; only the public half leaves the device. *reply is the
 * controller's answer (device id, token, first config) on success. */
static int enroll_post(const struct fetch_opts *fo, struct agent_state *st,
		       const struct enroll_args *a, const char *password, json_t **reply)
{
	uint8_t priv[KW_KEY_LEN], pub[KW_KEY_LEN];
	char pub_b64[KW_KEY_B64_LEN + 1], *body = NULL;
	struct enroll_request rq;
	size_t len = 0;
	long status = 0;
	int ret;

	*reply = NULL;
	state_keypair_generate(priv, pub);
	ret = state_private_key_save(st->dir, "private.key", priv);
	sodium_memzero(priv, sizeof(priv));
	if (ret < 0) {
		agent_errorf("cannot write the private key in %s: %s", st->dir, strerror(-ret));
		return ret;
	}
	key_to_base64(pub_b64, pub);
	rq = (struct enroll_request){ .public_key = pub_b64, .hostname = st->hostname,
				      .token = a->token, .username = a->user,
				      .password = a->user ? password : NULL,
				      .endpoint = a->endpoint };
	ret = enroll_body_build(&rq, &body, &len);
	if (ret == 0)
		ret = fetch_request_text(fo, "POST", "/api/v1/enroll", NULL, body, len, &status,
					 reply);
	enroll_body_free(body);
	if (ret < 0) {
		agent_errorf("enroll: %s", strerror(-ret));
		return ret;
	}
	if (status != 201 && status != 200) {
		die_http("enroll refused", status, *reply);
		return -EACCES;
	}
	return 0;
}

/* 4. The device id and token from the answer; the first config must already pass
 * every check before anything is saved. */
static int enroll_finish(struct agent_state *st, const json_t *reply)
{
	struct agent_config *cfg = NULL;
	struct verify_params vp;
	const json_t *v = json_object_get(reply, "device_id"), *env;
	const char *addr6;
	enum verify_result vr;
	int ret;

	if (json_is_integer(v))
		snprintf(st->device_id, sizeof(st->device_id), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	else if (json_is_string(v))
		snprintf(st->device_id, sizeof(st->device_id), "%s", json_string_value(v));
	v = json_object_get(reply, "device_token");
	if (!st->device_id[0] || !json_is_string(v) ||
	    strlen(json_string_value(v)) >= sizeof(st->device_token)) {
		agent_errorf("enroll: malformed answer from the controller");
		return -EPROTO;
	}
	strcpy(st->device_token, json_string_value(v));
	env = json_object_get(reply, "config");
	vp = (struct verify_params){ .signing_pk = st->signing_pk, .device_id = st->device_id,
				     .min_version = 0, .now = time(NULL) };
	vr = verify_envelope(env, &vp, &cfg);
	if (vr != VERIFY_OK) {
		agent_errorf("enroll: the first config was rejected (%s)", verify_result_name(vr));
		return -EBADMSG;
	}
	ret = state_save(st);
	if (ret == 0)
		ret = state_config_save(st->dir, env);
	if (ret < 0) {
		agent_errorf("cannot save the enrollment in %s: %s", st->dir, strerror(-ret));
	} else {
		addr6 = json_string_value(json_object_get(reply, "address6")); /* with a cidr6 pool */
		printf("enrolled: device %s, address %s%s%s, config version %llu, state in %s\n",
		       st->device_id, json_string_value(json_object_get(reply, "address")) ?: "?",
		       addr6 ? " " : "", addr6 ? addr6 : "", (unsigned long long)cfg->version,
		       st->dir);
	}
	agent_config_free(cfg);
	return ret;
}

int cmd_enroll(int argc, char **argv)
{
	struct agent_state st;
	struct enroll_args a = { 0 };
	struct fetch_opts fo;
	char password[512] = "";
	json_t *reply = NULL;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = enroll_parse(argc, argv, &st, &a);
	if (rc != CLI_CONTINUE)
		return rc;
	fo = (struct fetch_opts){ .server = st.server, .ca_file = st.ca_file,
				  .insecure_http = st.insecure_http };
	rc = 1;
	if (enroll_pin_key(&fo, a.pin, &st) < 0)
		goto out;
	if (a.user && enroll_password(a.user, password, sizeof(password)) < 0)
		goto out;
	if (enroll_post(&fo, &st, &a, password, &reply) < 0)
		goto out;
	if (enroll_finish(&st, reply) == 0)
		rc = 0;
out:
	json_decref(reply);
	sodium_memzero(password, sizeof(password));
	state_clear(&st);
	return rc;
}
