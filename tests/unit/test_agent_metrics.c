/* Check suite for agent/metrics.c: the text page (escaping, values, states) and the
 * listener, parsed by Prometheus' own rules where it matters. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_run.h"
#include "metrics.h"

static const char *const states[] = { "connecting", "up", "suspended" };

static char *render(const struct metrics_view *v, const struct metrics_peer *p, size_t n)
{
	char *out = NULL;
	size_t len = 0;

	ck_assert_int_eq(metrics_render(v, p, n, &out, &len), 0);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

START_TEST(test_escape)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	metrics_label_escape(f, "a\\b\"c\nd\te");
	fclose(f);
	ck_assert_str_eq(buf, "a\\\\b\\\"c\\nd\te");
	free(buf);
}
END_TEST

START_TEST(test_render)
{
	struct metrics_peer peers[2] = { 0 };
	struct metrics_identity ids[1] = { 0 };
	char b64[KW_KEY_B64_LEN + 1], line[512], *out;
	struct metrics_view v = { .state = "up", .state_names = states, .n_states = 3,
				  .version = 42, .expires_at = 1000 + 3600, .now = 1000 };

	memset(peers[0].public_key, 1, KW_KEY_LEN);
	memset(peers[1].public_key, 2, KW_KEY_LEN);
	peers[0].rx_bytes = 12345;
	peers[0].tx_bytes = 678;
	peers[0].last_handshake = 990; /* 10 s ago: up */
	peers[1].last_handshake = 500; /* 500 s ago: down */
	memcpy(ids[0].public_key, peers[0].public_key, KW_KEY_LEN);
	strcpy(ids[0].device_id, "17");
	ids[0].username = (char *)"mal\"lory\\\n";
	v.ids = ids;
	v.n_ids = 1;
	out = render(&v, peers, 2);
	key_to_base64(b64, peers[0].public_key);
	snprintf(line, sizeof(line),
		 "wireguard_peer_received_bytes_total{public_key=\"%s\",device_id=\"17\","
		 "username=\"mal\\\"lory\\\\\\n\"} 12345\n", b64);
	ck_assert_ptr_nonnull(strstr(out, line));
	snprintf(line, sizeof(line), "wireguard_peer_up{public_key=\"%s\",device_id=\"17\"", b64);
	ck_assert_ptr_nonnull(strstr(out, line));
	key_to_base64(b64, peers[1].public_key);
	snprintf(line, sizeof(line), "wireguard_peer_up{public_key=\"%s\"} 0\n", b64);
	ck_assert_ptr_nonnull(strstr(out, line)); /* unknown peer: no identity labels */
	snprintf(line, sizeof(line), "wireguard_peer_last_handshake_seconds{public_key=\"%s\"} 500\n", b64);
	ck_assert_ptr_nonnull(strstr(out, line));
	CHECK_HAS_ALL(out,
		      "# TYPE wireguard_peer_sent_bytes_total counter\n",
		      "} 678\n",
		      "\nkeyway_agent_config_version 42\n",
		      "\nkeyway_agent_config_expires_seconds 3600\n",
		      "keyway_agent_state{state=\"up\"} 1\n",
		      "keyway_agent_state{state=\"suspended\"} 0\n");
	free(out);

	/* No config, no peers: still a valid page; an expired config counts 0 s. */
	v = (struct metrics_view){ .state = "connecting", .state_names = states, .n_states = 3,
				   .expires_at = 10, .now = 1000 };
	out = render(&v, NULL, 0);
	ck_assert_ptr_nonnull(strstr(out, "keyway_agent_config_expires_seconds 0\n"));
	ck_assert_ptr_nonnull(strstr(out, "keyway_agent_state{state=\"connecting\"} 1\n"));
	ck_assert_ptr_null(strstr(out, "wireguard_peer_up{"));
	free(out);
}
END_TEST

static int fake_peers(void *ctx, struct metrics_peer **out, size_t *n)
{
	*out = calloc(1, sizeof(**out));
	memset((*out)->public_key, 3, KW_KEY_LEN);
	(*out)->rx_bytes = *(uint64_t *)ctx;
	*n = 1;
	return 0;
}

/* GET /metrics over a real socket, through libmicrohttpd. */
static char *scrape(int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static char buf[16384];
	size_t len = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	dprintf(fd, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	while ((r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
	return buf;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

START_TEST(test_listener)
{
	struct metrics *m = NULL;
	uint64_t rx = 111;
	char addr[64], *page;
	int port = free_port();

	ck_assert_int_eq(metrics_start(&m, "nonsense", states, 3, fake_peers, &rx), -EINVAL);
	ck_assert_int_eq(metrics_start(&m, "localhost:9586", states, 3, fake_peers, &rx), -EINVAL);
	ck_assert_int_eq(metrics_start(&m, "[::1:9586", states, 3, fake_peers, &rx), -EINVAL);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ck_assert_int_eq(metrics_start(&m, addr, states, 3, fake_peers, &rx), 0);
	metrics_publish(m, "suspended", 9, NULL);
	page = scrape(port, "/metrics");
	ck_assert_msg(strstr(page, " 200 ") != NULL, "%s", page);
	CHECK_HAS_ALL(page,
		      "text/plain; version=0.0.4",
		      "} 111\n",
		      "keyway_agent_config_version 9\n",
		      "keyway_agent_state{state=\"suspended\"} 1\n");
	rx = 222; /* read again at each scrape */
	page = scrape(port, "/metrics");
	ck_assert_ptr_nonnull(strstr(page, "} 222\n"));
	/* A config naming the peer: its labels appear, escaped. */
	{
		uint8_t k[KW_KEY_LEN];
		char b64[KW_KEY_B64_LEN + 1], text[512], want[256];
		struct agent_config *cfg = NULL;
		json_t *payload;

		memset(k, 3, sizeof(k));
		key_to_base64(b64, k);
		snprintf(text, sizeof(text),
			 "{\"version\":10,\"device_id\":1,\"expires_at\":4000000000,"
			 "\"interface\":{\"addresses\":[]},\"peers\":[{\"public_key\":\"%s\","
			 "\"allowed_ips\":[],\"device_id\":5,\"username\":\"a\\\"b\"}]}", b64);
		payload = json_loads(text, 0, NULL);
		ck_assert_ptr_nonnull(payload);
		ck_assert_int_eq(agent_config_from_json(payload, &cfg), 0);
		metrics_publish(m, "up", 10, cfg);
		page = scrape(port, "/metrics");
		snprintf(want, sizeof(want),
			 "wireguard_peer_sent_bytes_total{public_key=\"%s\",device_id=\"5\","
			 "username=\"a\\\"b\"} 0\n", b64);
		ck_assert_msg(strstr(page, want) != NULL, "%s", page);
		ck_assert_ptr_nonnull(strstr(page, "keyway_agent_config_version 10\n"));
		metrics_publish(m, "up", 10, cfg); /* the same config: nothing copied again */
		metrics_publish(m, "expired", 10, NULL);
		agent_config_free(cfg);
		json_decref(payload);
		page = scrape(port, "/metrics");
		ck_assert_ptr_null(strstr(page, "device_id=\"5\""));
	}
	page = scrape(port, "/other");
	ck_assert_ptr_nonnull(strstr(page, " 404"));
	metrics_stop(m);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_escape,
		test_render,
		test_listener,
	};

	return CHECK_RUN_SODIUM_TESTS("agent_metrics", NULL, NULL, 0, tests);
}
