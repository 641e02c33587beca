/* `keyway-agent status`: enrollment, controller, config, and the live peers (UAPI). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "envelope.h"
#include "state.h"
#include "verify.h"

/* Ask the running device over its UAPI socket, as `wg show` does. */
int agent_uapi_get(const char *dir, const char *ifname, char **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, n;

	*out = NULL;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", dir, ifname);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, "get=1\n\n", 7) != 7) {
		n = -errno;
		close(fd);
		return n;
	}
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			char *g = realloc(buf, cap + 65536);

			if (!g) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = g;
			cap += 65536;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (len >= 2 && strstr(buf, "\n\n"))
			break;
	}
	close(fd);
	if (!buf)
		return -EIO;
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* Turn the get=1 text into a JSON array of peers. */
static json_t *uapi_peers(char *text)
{
	json_t *peers = json_array(), *cur = NULL;
	char *save = NULL, *line;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq = '\0';
		if (strcmp(line, "public_key") == 0) {
			uint8_t k[KW_KEY_LEN];
			char b64[KW_KEY_B64_LEN + 1] = "?";

			if (key_from_hex(k, eq + 1) == 0)
				key_to_base64(b64, k);
			cur = json_pack("{s:s, s:[], s:I, s:I, s:I}", "public_key", b64,
					"allowed_ips", "last_handshake", (json_int_t)0, "rx_bytes",
					(json_int_t)0, "tx_bytes", (json_int_t)0);
			json_array_append_new(peers, cur);
		} else if (!cur) {
			continue;
		} else if (strcmp(line, "endpoint") == 0) {
			json_object_set_new(cur, "endpoint", json_string(eq + 1));
		} else if (strcmp(line, "allowed_ip") == 0) {
			json_array_append_new(json_object_get(cur, "allowed_ips"), json_string(eq + 1));
		} else if (strcmp(line, "last_handshake_time_sec") == 0) {
			json_object_set_new(cur, "last_handshake", json_integer(atoll(eq + 1)));
		} else if (strcmp(line, "rx_bytes") == 0) {
			json_object_set_new(cur, "rx_bytes", json_integer(atoll(eq + 1)));
		} else if (strcmp(line, "tx_bytes") == 0) {
			json_object_set_new(cur, "tx_bytes", json_integer(atoll(eq + 1)));
		}
	}
	return peers;
}

static void print_human(const json_t *s)
{
	const json_t *cfg = json_object_get(s, "config"), *run = json_object_get(s, "agent");
	const json_t *peers = json_object_get(s, "peers"), *p;
	time_t now = time(NULL);
	size_t i;

	printf("enrollment:  device %s (%s)\n", json_string_value(json_object_get(s, "device_id")),
	       json_string_value(json_object_get(s, "hostname")));
	printf("controller:  %s (signing key id %s)\n",
	       json_string_value(json_object_get(s, "server")),
	       json_string_value(json_object_get(s, "key_id")));
	if (json_is_object(cfg)) {
		json_int_t exp = json_integer_value(json_object_get(cfg, "expires_at"));

		printf("config:      version %" JSON_INTEGER_FORMAT ", %s %" JSON_INTEGER_FORMAT
		       " s%s\n",
		       json_integer_value(json_object_get(cfg, "version")),
		       exp > now ? "expires in" : "EXPIRED", exp > now ? exp - now : now - exp,
		       exp > now ? "" : " ago");
	} else {
		printf("config:      none\n");
	}
	if (json_is_object(run))
		printf("agent:       %s (pid %" JSON_INTEGER_FORMAT ", interface %s)%s%s\n",
		       json_string_value(json_object_get(run, "state")),
		       json_integer_value(json_object_get(run, "pid")),
		       json_string_value(json_object_get(run, "interface")),
		       json_string_length(json_object_get(run, "last_error")) ? ": " : "",
		       json_string_value(json_object_get(run, "last_error")) ?: "");
	else
		printf("agent:       not running\n");
	json_array_foreach(peers, i, p) {
		json_int_t hs = json_integer_value(json_object_get(p, "last_handshake"));
		char ips[512] = "";
		size_t j;
		const json_t *ip;

		json_array_foreach(json_object_get(p, "allowed_ips"), j, ip) {
			if (j)
				strncat(ips, ", ", sizeof(ips) - strlen(ips) - 1);
			strncat(ips, json_string_value(ip), sizeof(ips) - strlen(ips) - 1);
		}
		printf("peer %s\n  endpoint: %s\n  allowed ips: %s\n", json_string_value(json_object_get(p, "public_key")),
		       json_string_value(json_object_get(p, "endpoint")) ?: "(none)", ips);
		if (hs)
			printf("  latest handshake: %" JSON_INTEGER_FORMAT " s ago\n", (json_int_t)now - hs);
		else
			printf("  latest handshake: never\n");
		printf("  transfer: %" JSON_INTEGER_FORMAT " B received, %" JSON_INTEGER_FORMAT " B sent\n",
		       json_integer_value(json_object_get(p, "rx_bytes")),
		       json_integer_value(json_object_get(p, "tx_bytes")));
	}
}

int cmd_status(int argc, char **argv)
{
	static const char usage[] = "usage: keyway-agent status [--state DIR] [--json]\n";
	struct agent_state st;
	struct agent_config *cfg = NULL;
	struct verify_params vp;
	json_t *out = NULL, *env = NULL, *run = NULL;
	char key_id[KW_KEY_ID_LEN + 1], *uapi = NULL;
	bool as_json = false;
	const struct cli_opt opts[] = { { "json", CLI_FLAG, &as_json, 0, 0, 0 } };
	int ret;

	ret = cli_begin(argc, argv, usage, opts, 1, &st);
	if (ret != CLI_CONTINUE)
		return ret;
	envelope_key_id(key_id, st.signing_pk);
	out = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "device_id", st.device_id, "hostname",
			st.hostname, "server", st.server, "key_id", key_id, "peers");
	if (state_config_load(st.dir, &env) == 0) {
		/* Shown as stored; expiry is reported, not enforced, here. */
		vp = (struct verify_params){ .signing_pk = st.signing_pk, .device_id = st.device_id,
					     .min_version = 0, .now = INT64_MIN };
		if (verify_envelope(env, &vp, &cfg) == VERIFY_OK)
			json_object_set_new(out, "config",
					    json_pack("{s:I, s:I, s:I, s:i}", "version",
						      (json_int_t)cfg->version, "issued_at",
						      (json_int_t)cfg->issued_at, "expires_at",
						      (json_int_t)cfg->expires_at, "peers",
						      (int)cfg->n_peers));
		agent_config_free(cfg);
		json_decref(env);
	}
	if (state_status_load(st.dir, &run) == 0) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(run, "pid"));
		const char *s = json_string_value(json_object_get(run, "state"));

		if (pid > 1 && kill(pid, 0) == 0 && s && strcmp(s, "stopped") != 0) {
			const char *dir = json_string_value(json_object_get(run, "uapi_dir"));
			const char *ifn = json_string_value(json_object_get(run, "interface"));

			if (dir && ifn && agent_uapi_get(dir, ifn, &uapi) == 0) {
				json_object_set_new(out, "peers", uapi_peers(uapi));
				free(uapi);
			}
		} else if (!s || strcmp(s, "revoked") != 0) {
			json_object_set_new(run, "state", json_string("stopped"));
		}
		json_object_set(out, "agent", run);
		json_decref(run);
	}
	if (as_json) {
		char *text = json_dumps(out, JSON_INDENT(2));

		if (text)
			puts(text);
		free(text);
	} else {
		print_human(out);
	}
	json_decref(out);
	state_clear(&st);
	return 0;
}
