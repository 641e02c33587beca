/* keywayctl's REST client: one libcurl handle for the whole run, the admin token in the
 * Authorization header, every answer parsed as JSON and every failure mapped to one of
 * the exit codes and one line on stderr. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "buf.h"
#include "cidr.h"
#include "keywayctl.h"

#define CTL_BODY_MAX (16u * 1024 * 1024)

struct ctl_http {
	CURL *easy;
	struct curl_slist *headers; /* holds the token: wiped before it is freed */
};

/* libcurl's write callback: a short count (an append refused) aborts the transfer. */
static size_t body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	return kw_buf_append(userdata, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

/* http(s) only; a token in clear text goes to loopback alone unless --insecure-http. */
static int url_check(const struct ctl *c)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ret = CTL_EXIT_USAGE;

	if (!u)
		return ctl_usage_error("out of memory");
	if (curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		ctl_usage_error("the controller URL %s cannot be parsed", c->url);
		goto out;
	}
	if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
		ctl_usage_error("the controller URL must be http:// or https://");
		goto out;
	}
	if (strcmp(scheme, "http") == 0 && !cidr_host_is_loopback(host) && !c->insecure_http) {
		ctl_usage_error("refusing to send the admin token in clear text to %s: use https:// "
				"(or --insecure-http)", host);
		goto out;
	}
	ret = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

static int http_open(struct ctl *c)
{
	struct ctl_http *h;
	char auth[CTL_TOKEN_MAX + 32];
	int ret;

	if (!c->loaded && (ret = ctl_conf_load(c)) != 0)
		return ret;
	if ((ret = url_check(c)) != 0)
		return ret;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->easy = curl_easy_init())) {
		free(h);
		return ctl_usage_error("cannot initialise libcurl");
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
	h->headers = curl_slist_append(NULL, auth);
	sodium_memzero(auth, sizeof(auth));
	sodium_memzero(c->token, sizeof(c->token)); /* only the header holds it now */
	if (h->headers)
		h->headers = curl_slist_append(h->headers, "Content-Type: application/json");
	if (!h->headers) {
		curl_easy_cleanup(h->easy);
		free(h);
		return ctl_usage_error("out of memory");
	}
	curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file[0])
		curl_easy_setopt(h->easy, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT, c->timeout < 10 ? c->timeout : 10L);
	curl_easy_setopt(h->easy, CURLOPT_TIMEOUT, c->timeout);
	curl_easy_setopt(h->easy, CURLOPT_USERAGENT, "keywayctl/" PACKAGE_VERSION);
	curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, body_write);
	c->http = h;
	return 0;
}

void ctl_http_close(struct ctl *c)
{
	struct ctl_http *h = c->http;

	if (!h)
		return;
	for (struct curl_slist *s = h->headers; s; s = s->next)
		sodium_memzero(s->data, strlen(s->data));
	curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->headers);
	free(h);
	c->http = NULL;
}

/* "keywayctl: CODE: message" from the API's error body, or the status when there is none. */
static int api_error_print(long status, const char *body)
{
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	if (code)
		fprintf(stderr, "keywayctl: %s: %s\n", code, msg ? msg : "");
	else
		fprintf(stderr, "keywayctl: http_%ld: the controller answered HTTP %ld\n", status, status);
	json_decref(j);
	return CTL_EXIT_API;
}

static int answer_parse(long status, const struct kw_buf *b, json_t **out)
{
	json_error_t err;

	if (status < 200 || status >= 300)
		return api_error_print(status, b->data);
	if (!b->len)
		return CTL_EXIT_OK;
	*out = json_loads(b->data, JSON_REJECT_DUPLICATES, &err);
	if (!*out) {
		fprintf(stderr, "keywayctl: invalid_answer: HTTP %ld with a body that is not JSON (%s)\n", status,
			err.text);
		return CTL_EXIT_API;
	}
	return CTL_EXIT_OK;
}

int ctl_http(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out)
{
	char url[CTL_URL_MAX + CTL_PATH_MAX], errbuf[CURL_ERROR_SIZE] = "", *send = NULL;
	struct kw_buf b = { .max = CTL_BODY_MAX };
	struct ctl_http *h;
	CURLcode cc;
	long status = 0;
	int ret;

	*out = NULL;
	if (!c->http && (ret = http_open(c)) != 0)
		return ret;
	h = c->http;
	snprintf(url, sizeof(url), "%s%s", c->url, path);
	curl_easy_setopt(h->easy, CURLOPT_URL, url);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L); /* resets the previous request's body */
	if (body) {
		send = json_dumps(body, JSON_COMPACT);
		if (!send)
			return ctl_usage_error("out of memory");
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, send);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, "");
	}
	/* after POSTFIELDS, which would otherwise make it a POST */
	curl_easy_setopt(h->easy, CURLOPT_CUSTOMREQUEST, method);
	cc = curl_easy_perform(h->easy);
	free(send);
	if (cc != CURLE_OK) {
		fprintf(stderr, "keywayctl: cannot reach the controller at %s: %s\n", c->url,
			errbuf[0] ? errbuf : curl_easy_strerror(cc));
		kw_buf_free(&b);
		return CTL_EXIT_CONNECT;
	}
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
	ret = answer_parse(status, &b, out);
	kw_buf_free(&b);
	return ret;
}

int ctl_query_add(char *path, size_t len, const char *key, const char *value)
{
	char *esc = curl_easy_escape(NULL, value, 0);
	size_t used = strlen(path);
	int n;

	if (!esc)
		return -ENOMEM;
	n = snprintf(path + used, len - used, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, esc);
	curl_free(esc);
	return n < 0 || (size_t)n >= len - used ? -ENOSPC : 0;
}

int ctl_path_id(char *path, size_t len, const char *prefix, const char *id, const char *suffix)
{
	char *esc = curl_easy_escape(NULL, id, 0);
	int n;

	if (!esc)
		return -ENOMEM;
	n = snprintf(path, len, "/api/v1/%s/%s%s", prefix, esc, suffix ? suffix : "");
	curl_free(esc);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void ctl_print_json(const json_t *j)
{
	if (!j)
		return;
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}
