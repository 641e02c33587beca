#include "config.h"
#include "fetch.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cidr.h"

#define FETCH_BODY_MAX (16u * 1024 * 1024)

/* libcurl's write callback: a short count (an append refused) aborts the transfer. */
static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	return kw_buf_append(userdata, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

int fetch_url_check(const char *url, bool insecure_http)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ret = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		goto out;
	if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0) {
		ret = -EPROTONOSUPPORT;
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (strcasecmp(scheme, "https") == 0)
		ret = 0;
	else if (insecure_http || cidr_host_is_loopback(host))
		ret = 0;
	else
		ret = -EPERM;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

static int curl_to_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OK: return 0;
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM: return -EPROTO;
	case CURLE_WRITE_ERROR: return -EFBIG;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK: return -ECANCELED;
	default: return -EIO;
	}
}

/* A configured easy handle for one request. The caller owns headers and the buffer. */
struct req {
	CURL *easy;
	struct curl_slist *headers;
	struct kw_buf body; /* max FETCH_BODY_MAX: overflow tells a too big answer from -ENOMEM */
	char auth[300];
};

static void req_free(struct req *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	kw_buf_free(&r->body);
	sodium_memzero(r->auth, sizeof(r->auth));
	memset(r, 0, sizeof(*r));
}

/* body: JSON text sent as is (borrowed: curl reads it during the transfer), or NULL. */
static int req_init(struct req *r, const struct fetch_opts *o, const char *method,
		    const char *path, const char *token, const char *body, size_t body_len)
{
	char url[2048];
	int n, ret;

	memset(r, 0, sizeof(*r));
	r->body.max = FETCH_BODY_MAX;
	ret = fetch_url_check(o->server, o->insecure_http);
	if (ret < 0)
		return ret;
	n = snprintf(url, sizeof(url), "%s%s", o->server, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return -ENAMETOOLONG;
	/* "https://host/" + "/api/…" would give a double slash; trim one. */
	if (strstr(url, "//api/"))
		memmove(strstr(url, "//api/"), strstr(url, "//api/") + 1,
			strlen(strstr(url, "//api/")));
	r->easy = curl_easy_init();
	if (!r->easy)
		return -ENOMEM;
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file && o->ca_file[0])
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 30L);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "keyway-agent/" PACKAGE_VERSION);
	r->headers = curl_slist_append(NULL, "Accept: application/json");
	if (!r->headers)
		return -ENOMEM;
	if (token && token[0]) {
		struct curl_slist *h;

		n = snprintf(r->auth, sizeof(r->auth), "Authorization: Bearer %s", token);
		if (n < 0 || (size_t)n >= sizeof(r->auth))
			return -EINVAL;
		h = curl_slist_append(r->headers, r->auth);
		if (!h)
			return -ENOMEM;
		r->headers = h;
	}
	if (body) {
		struct curl_slist *h = curl_slist_append(r->headers, "Content-Type: application/json");

		if (!h)
			return -ENOMEM;
		r->headers = h;
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)body_len);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	return 0;
}

static void req_result(struct req *r, CURLcode code, long *status, json_t **reply, int *err)
{
	*status = 0;
	*reply = NULL;
	*err = curl_to_errno(code);
	if (code == CURLE_WRITE_ERROR && !r->body.overflow)
		*err = -ENOMEM;
	if (*err < 0)
		return;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, status);
	if (r->body.len > 0)
		*reply = json_loadb(r->body.data, r->body.len, 0, NULL);
}

int fetch_request_text(const struct fetch_opts *o, const char *method, const char *path,
		       const char *token, const char *body, size_t body_len, long *status,
		       json_t **reply)
{
	struct req r;
	int ret, err;

	*status = 0;
	*reply = NULL;
	ret = req_init(&r, o, method, path, token, body, body_len);
	if (ret == 0) {
		req_result(&r, curl_easy_perform(r.easy), status, reply, &err);
		ret = err;
	}
	req_free(&r);
	return ret;
}

int fetch_request(const struct fetch_opts *o, const char *method, const char *path,
		  const char *token, const json_t *body, long *status, json_t **reply)
{
	char *text = NULL;
	int ret;

	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return -ENOMEM;
	}
	ret = fetch_request_text(o, method, path, token, text, text ? strlen(text) : 0, status,
				 reply);
	free(text);
	return ret;
}

const char *fetch_error_code(const json_t *reply)
{
	const char *code = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));

	return code ? code : "";
}

struct fetch_poll {
	CURLM *multi;
	struct req req;
	bool busy;
	long retry_after_s; /* Retry-After of the last answer (503 busy), 0 if none */
};

long fetch_poll_retry_after(const struct fetch_poll *p)
{
	return p->retry_after_s;
}

int fetch_poll_new(struct fetch_poll **out)
{
	struct fetch_poll *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->multi = curl_multi_init();
	if (!p->multi) {
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void fetch_poll_cancel(struct fetch_poll *p)
{
	if (!p || !p->busy)
		return;
	curl_multi_remove_handle(p->multi, p->req.easy);
	req_free(&p->req);
	p->busy = false;
}

void fetch_poll_free(struct fetch_poll *p)
{
	if (!p)
		return;
	fetch_poll_cancel(p);
	curl_multi_cleanup(p->multi);
	free(p);
}

bool fetch_poll_busy(const struct fetch_poll *p)
{
	return p->busy;
}

int fetch_poll_start(struct fetch_poll *p, const struct fetch_opts *o, const char *device_id,
		     const char *token, uint64_t after, int wait_s)
{
	struct fetch_opts lo = *o;
	char path[256];
	char *esc;
	int n, ret;

	if (p->busy)
		return -EBUSY;
	esc = curl_easy_escape(NULL, device_id, 0);
	if (!esc)
		return -ENOMEM;
	n = snprintf(path, sizeof(path), "/api/v1/devices/%s/config?after=%" PRIu64 "&wait=%d", esc,
		     after, wait_s);
	curl_free(esc);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	/* The server holds the request up to wait_s: allow for that plus a margin. */
	lo.timeout_s = wait_s + 15;
	ret = req_init(&p->req, &lo, "GET", path, token, NULL, 0);
	if (ret < 0) {
		req_free(&p->req);
		return ret;
	}
	if (curl_multi_add_handle(p->multi, p->req.easy) != CURLM_OK) {
		req_free(&p->req);
		return -ENOMEM;
	}
	p->busy = true;
	return 0;
}

int fetch_poll_wait(struct fetch_poll *p, int extra_fd, int timeout_ms, bool *extra_ready,
		    long *status, json_t **reply, int *err)
{
	struct curl_waitfd wfd = { .fd = extra_fd, .events = CURL_WAIT_POLLIN };
	int running = 0, left = 0;
	CURLMsg *msg;

	*extra_ready = false;
	*status = 0;
	*reply = NULL;
	*err = 0;
	if (p->busy) {
		curl_multi_poll(p->multi, extra_fd >= 0 ? &wfd : NULL, extra_fd >= 0 ? 1 : 0,
				timeout_ms, NULL);
		*extra_ready = extra_fd >= 0 && (wfd.revents & CURL_WAIT_POLLIN);
	} else {
		struct pollfd pfd = { .fd = extra_fd, .events = POLLIN };

		if (poll(&pfd, extra_fd >= 0 ? 1 : 0, timeout_ms) > 0)
			*extra_ready = (pfd.revents & POLLIN) != 0;
		return 0;
	}
	curl_multi_perform(p->multi, &running);
	while ((msg = curl_multi_info_read(p->multi, &left))) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != p->req.easy)
			continue;
		req_result(&p->req, msg->data.result, status, reply, err);
		p->retry_after_s = 0;
		if (*err == 0) {
			curl_off_t ra = 0;

			if (curl_easy_getinfo(p->req.easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
				p->retry_after_s = ra > 3600 ? 3600 : (long)ra;
		}
		curl_multi_remove_handle(p->multi, p->req.easy);
		req_free(&p->req);
		p->busy = false;
		return 1;
	}
	return 0;
}

long fetch_backoff_ms(unsigned attempt, long base_ms, long max_ms)
{
	long d = base_ms;
	unsigned i;

	for (i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	/* Uniform in [d/2, d]. */
	return d / 2 + (long)randombytes_uniform((uint32_t)(d / 2 + 1));
}
