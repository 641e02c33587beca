/* Check suite for agent/fetch.c and enroll helpers: URL policy, backoff, pinning,
 * password reading, and requests against a tiny canned HTTP server on loopback. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_run.h"
#include "envelope.h"
#include "enroll.h"
#include "fetch.h"

START_TEST(test_url_policy)
{
	ck_assert_int_eq(fetch_url_check("https://vpn.example.com", false), 0);
	ck_assert_int_eq(fetch_url_check("http://127.0.0.1:8080", false), 0);
	ck_assert_int_eq(fetch_url_check("http://127.9.9.9", false), 0);
	ck_assert_int_eq(fetch_url_check("http://localhost:1", false), 0);
	ck_assert_int_eq(fetch_url_check("http://[::1]:8080", false), 0);
	ck_assert_int_eq(fetch_url_check("http://192.0.2.1:8080", false), -EPERM);
	ck_assert_int_eq(fetch_url_check("http://vpn.example.com", false), -EPERM);
	ck_assert_int_eq(fetch_url_check("http://[2001:db8::1]:8080", false), -EPERM);
	ck_assert_int_eq(fetch_url_check("http://192.0.2.1:8080", true), 0);
	ck_assert_int_eq(fetch_url_check("ftp://127.0.0.1", true), -EPROTONOSUPPORT);
	ck_assert_int_eq(fetch_url_check("file:///etc/passwd", true), -EPROTONOSUPPORT);
	ck_assert_int_ne(fetch_url_check("not a url", true), 0);
}
END_TEST

START_TEST(test_backoff)
{
	unsigned a;
	int i;

	for (i = 0; i < 200; i++) {
		long d0 = fetch_backoff_ms(0, 500, 60000);
		long d3 = fetch_backoff_ms(3, 500, 60000);
		long dmax = fetch_backoff_ms(30, 500, 60000);

		ck_assert(d0 >= 250 && d0 <= 500);
		ck_assert(d3 >= 2000 && d3 <= 4000);
		ck_assert(dmax >= 30000 && dmax <= 60000);
	}
	/* Grows and never passes the cap. */
	for (a = 0; a < 64; a++)
		ck_assert_int_le(fetch_backoff_ms(a, 1000, 30000), 30000);
	/* Jitter: not always the same value. */
	{
		long first = fetch_backoff_ms(5, 500, 60000);
		bool differs = false;

		for (i = 0; i < 50 && !differs; i++)
			differs = fetch_backoff_ms(5, 500, 60000) != first;
		ck_assert(differs);
	}
}
END_TEST

/* --pin takes the full public key or its 256-bit fingerprint; the 64-bit key id, which
 * a second key could be ground to match, is refused with its own error. */
START_TEST(test_pin)
{
	uint8_t pk[KW_KEY_LEN], other[KW_KEY_LEN], h[32];
	char b64[KW_KEY_B64_LEN + 1], id[KW_KEY_ID_LEN + 1], fp[ENROLL_FINGERPRINT_LEN + 1];
	char upper[ENROLL_FINGERPRINT_LEN + 1], want[ENROLL_FINGERPRINT_LEN + 1];
	size_t i;

	randombytes_buf(pk, sizeof(pk));
	randombytes_buf(other, sizeof(other));
	key_to_base64(b64, pk);
	envelope_key_id(id, pk);
	enroll_key_fingerprint(fp, pk);
	crypto_hash_sha256(h, pk, sizeof(pk));
	sodium_bin2hex(want, sizeof(want), h, sizeof(h));
	ck_assert_str_eq(fp, want);
	ck_assert_int_eq(strncmp(fp, id, KW_KEY_ID_LEN), 0); /* the id is its prefix */
	for (i = 0; i <= ENROLL_FINGERPRINT_LEN; i++)
		upper[i] = (char)((fp[i] >= 'a' && fp[i] <= 'f') ? fp[i] - 32 : fp[i]);
	ck_assert_int_eq(enroll_pin_match(b64, pk), 0);
	ck_assert_int_eq(enroll_pin_match(fp, pk), 0);
	ck_assert_int_eq(enroll_pin_match(upper, pk), 0);
	ck_assert_int_eq(enroll_pin_match(b64, other), -EKEYREJECTED);
	ck_assert_int_eq(enroll_pin_match(fp, other), -EKEYREJECTED);
	/* The short id no longer pins, even when it matches. */
	ck_assert_int_eq(enroll_pin_match(id, pk), -EDOM);
	ck_assert_ptr_nonnull(strstr(enroll_pin_error(-EDOM), "full public key"));
	fp[ENROLL_FINGERPRINT_LEN - 1] = '\0';
	ck_assert_int_eq(enroll_pin_match(fp, pk), -EINVAL);
	ck_assert_int_eq(enroll_pin_match("xyz", pk), -EINVAL);
	ck_assert_int_eq(enroll_pin_match("", pk), -EINVAL);
	ck_assert_int_eq(enroll_pin_match("zzzzzzzzzzzzzzzz", pk), -EINVAL);
}
END_TEST

static FILE *text_file(const char *text)
{
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	rewind(f);
	return f;
}

START_TEST(test_read_secret)
{
	char buf[16];
	FILE *f = text_file("s3cret pass\nnext\n");

	ck_assert_int_eq(enroll_read_secret(f, stderr, "pw: ", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "s3cret pass");
	fclose(f);
	f = text_file("\n");
	ck_assert_int_eq(enroll_read_secret(f, stderr, "pw: ", buf, sizeof(buf)), -ENODATA);
	fclose(f);
	f = text_file("");
	ck_assert_int_eq(enroll_read_secret(f, stderr, "pw: ", buf, sizeof(buf)), -ENODATA);
	fclose(f);
	f = text_file("this password is far too long for the buffer\n");
	ck_assert_int_eq(enroll_read_secret(f, stderr, "pw: ", buf, sizeof(buf)), -E2BIG);
	fclose(f);
}
END_TEST

/* A one-connection-per-answer HTTP server on loopback with canned replies. */
struct canned {
	int lfd;
	int port;
	const char *replies[4];
	int n;
	char last_request[2048];
};

static void *serve(void *arg)
{
	struct canned *c = arg;
	int i;

	for (i = 0; i < c->n; i++) {
		int fd = accept(c->lfd, NULL, NULL);
		size_t len = 0;

		if (fd < 0)
			break;
		while (len < sizeof(c->last_request) - 1) {
			ssize_t r = read(fd, c->last_request + len, sizeof(c->last_request) - 1 - len);

			if (r <= 0)
				break;
			len += (size_t)r;
			c->last_request[len] = '\0';
			if (strstr(c->last_request, "\r\n\r\n")) {
				char *cl = strcasestr(c->last_request, "Content-Length: ");
				char *body = strstr(c->last_request, "\r\n\r\n") + 4;

				if (!cl || (size_t)(len - (size_t)(body - c->last_request)) >= (size_t)atoi(cl + 16))
					break;
			}
		}
		if (write(fd, c->replies[i], strlen(c->replies[i])) < 0)
			break;
		close(fd);
	}
	return NULL;
}

static void canned_start(struct canned *c, pthread_t *th)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	c->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(c->lfd, 0);
	ck_assert_int_eq(bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(c->lfd, 4), 0);
	ck_assert_int_eq(getsockname(c->lfd, (struct sockaddr *)&sa, &sl), 0);
	c->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(th, NULL, serve, c), 0);
}

START_TEST(test_requests)
{
	struct canned c = { .n = 4 };
	pthread_t th;
	char url[64];
	struct fetch_opts o = { .server = url };
	json_t *reply = NULL, *body = json_pack("{s:s}", "public_key", "x");
	long status = 0;

	c.replies[0] = "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"status\":\"ok\"}";
	c.replies[1] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 61\r\nConnection: close\r\n\r\n"
		       "{\"error\":{\"code\":\"device_suspended\",\"message\":\"suspended\"}}  ";
	c.replies[2] = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 42\r\n"
		       "Connection: close\r\n\r\n{\"error\":{\"code\":\"busy\",\"message\":\"busy\"}}";
	c.replies[3] = "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n";
	canned_start(&c, &th);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", c.port);

	ck_assert_int_eq(fetch_request(&o, "GET", "/api/v1/health", NULL, NULL, &status, &reply), 0);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(reply, "status")), "ok");
	json_decref(reply);

	ck_assert_int_eq(fetch_request(&o, "PUT", "/api/v1/devices/3/public-key", "tok123", body,
				       &status, &reply), 0);
	ck_assert_int_eq(status, 403);
	ck_assert_str_eq(fetch_error_code(reply), "device_suspended");
	CHECK_HAS_ALL(c.last_request,
		      "PUT /api/v1/devices/3/public-key",
		      "Authorization: Bearer tok123",
		      "{\"public_key\":\"x\"}");
	json_decref(reply);

	/* The long-poll path: 304 means nothing new. */
	{
		struct fetch_poll *p = NULL;
		bool extra = false;
		int err = 1, done = 0, i;

		ck_assert_int_eq(fetch_poll_new(&p), 0);
		/* A busy controller: 503 and how long to stay away. */
		ck_assert_int_eq(fetch_poll_start(p, &o, "3", "tok", 7, 30), 0);
		for (i = 0; i < 100 && !done; i++)
			done = fetch_poll_wait(p, -1, 100, &extra, &status, &reply, &err);
		ck_assert_int_eq(done, 1);
		ck_assert_int_eq(status, 503);
		ck_assert_str_eq(fetch_error_code(reply), "busy");
		ck_assert_int_eq(fetch_poll_retry_after(p), 7);
		json_decref(reply);
		reply = NULL;
		done = 0;

		ck_assert_int_eq(fetch_poll_start(p, &o, "3", "tok", 7, 30), 0);
		ck_assert(fetch_poll_busy(p));
		ck_assert_int_eq(fetch_poll_start(p, &o, "3", "tok", 7, 30), -EBUSY);
		for (i = 0; i < 100 && !done; i++)
			done = fetch_poll_wait(p, -1, 100, &extra, &status, &reply, &err);
		ck_assert_int_eq(done, 1);
		ck_assert_int_eq(err, 0);
		ck_assert_int_eq(status, 304);
		ck_assert_int_eq(fetch_poll_retry_after(p), 0);
		ck_assert_ptr_null(reply);
		ck_assert_ptr_nonnull(strstr(c.last_request, "GET /api/v1/devices/3/config?after=7&wait=30"));
		fetch_poll_free(p);
	}
	pthread_join(th, NULL);
	close(c.lfd);

	/* Nobody listening: a transport error, not an HTTP status. */
	ck_assert_int_eq(fetch_request(&o, "GET", "/api/v1/health", NULL, NULL, &status, &reply),
			 -ECONNREFUSED);
	/* Plain http to a non-loopback address is refused before any connection. */
	o.server = "http://192.0.2.1:9";
	ck_assert_int_eq(fetch_request(&o, "GET", "/api/v1/health", NULL, NULL, &status, &reply),
			 -EPERM);
	json_decref(body);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_url_policy,
		test_backoff,
		test_pin,
		test_read_secret,
		test_requests,
	};
	int ret;

	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	ret = CHECK_RUN_TESTS("agent_fetch", NULL, NULL, 30, tests);
	curl_global_cleanup();
	return ret;
}
