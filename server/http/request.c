/* Helpers every handler uses: errors, request accessors, body validation. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"
#include "core/server.h"
#include "key.h"
#include "log.h"

int api_error(json_t **out, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(*out);
	*out = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
	return status;
}

int api_error_errno(json_t **out, int err, const char *what)
{
	switch (err) {
	case -ENOENT:
		return api_error(out, 404, "not_found", "%s not found", what);
	case -EEXIST:
		return api_error(out, 409, "conflict", "%s conflicts with an existing one", what);
	case -ENOSPC:
		return api_error(out, 409, "pool_exhausted", "no free address left in the network");
	case -EPERM:
		return api_error(out, 409, "invalid_state", "%s is not in a state that allows this", what);
	case -EINVAL:
		return api_error(out, 400, "invalid_request", "invalid %s", what);
	case -EBUSY:
		return api_error(out, 503, "busy", "the database is busy or unreachable, retry");
	default:
		log_error("api: internal error what=\"%s\" errno=%d", what, -err);
		return api_error(out, 500, "internal_error", "internal error");
	}
}

int api_list_reply(json_t **out, int ret, json_t *a, const char *key, const char *what)
{
	if (ret < 0) {
		json_decref(a);
		return api_error_errno(out, ret, what);
	}
	*out = json_pack("{s:o}", key, a);
	if (!*out)
		return api_error(out, 500, "internal_error", "out of memory");
	return 200;
}

int api_delete_by_id(struct kw_req *req, json_t **out,
		     int (*del)(struct kw_store *st, int64_t id, const char *actor, int64_t now), const char *what)
{
	int64_t id;
	int ret;

	if (!req_param_id(req, 0, &id))
		return api_error(out, 404, "not_found", "no such %s", what);
	ret = del(req->srv->store, id, req->principal.actor, req->now);
	return ret < 0 ? api_error_errno(out, ret, what) : 204;
}

static const char *kv_find(const struct kw_kv *kv, size_t n, const char *name, bool icase)
{
	for (size_t i = 0; i < n; i++)
		if (kv[i].key && (icase ? strcasecmp(kv[i].key, name) : strcmp(kv[i].key, name)) == 0)
			return kv[i].value ? kv[i].value : "";
	return NULL;
}

const char *req_query(const struct kw_req *req, const char *name)
{
	return kv_find(req->query, req->nquery, name, false);
}

const char *req_header(const struct kw_req *req, const char *name)
{
	return kv_find(req->headers, req->nheaders, name, true);
}

const char *req_cookie(const struct kw_req *req, const char *name)
{
	return kv_find(req->cookies, req->ncookies, name, false);
}

bool api_parse_uint(const char *s, int64_t min, int64_t max, int64_t *v)
{
	char *end;
	long long n;

	if (!s || !*s || strlen(s) > 18)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	n = strtoll(s, &end, 10);
	if (*end || n < min || n > max)
		return false;
	*v = n;
	return true;
}

bool req_param_id(const struct kw_req *req, size_t i, int64_t *id)
{
	/* No leading zero: one spelling per id. */
	return i < req->nparams && req->params[i] && req->params[i][0] != '0' &&
	       api_parse_uint(req->params[i], 1, INT64_MAX, id);
}

int req_add_header(struct kw_req *req, const char *name, const char *value)
{
	char *k, *v;

	if (req->nresp_headers == KW_MAX_RESP_HEADERS)
		return -ENOSPC;
	k = strdup(name);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	req->resp_headers[req->nresp_headers].key = k;
	req->resp_headers[req->nresp_headers].value = v;
	req->nresp_headers++;
	return 0;
}

int req_set_body(struct kw_req *req, const char *content_type, const void *data, size_t len)
{
	char *b = malloc(len ? len : 1);

	if (!b)
		return -ENOMEM;
	memcpy(b, data, len);
	free(req->resp_body);
	req->resp_body = b;
	req->resp_body_len = len;
	snprintf(req->resp_type, sizeof(req->resp_type), "%s", content_type);
	return 0;
}

void req_set_body_owned(struct kw_req *req, const char *content_type, char *data, size_t len)
{
	free(req->resp_body);
	req->resp_body = data;
	req->resp_body_len = len;
	snprintf(req->resp_type, sizeof(req->resp_type), "%s", content_type);
}

void req_longpoll_until(struct kw_req *req, int64_t deadline_ms)
{
	req->wait_deadline_ms = deadline_ms;
}

bool req_is_admin(const struct kw_req *req)
{
	return req->principal.role == KW_ROLE_ADMIN;
}

void req_init_test(struct kw_req *req, struct kw_server *srv, const char *method, const char *path)
{
	memset(req, 0, sizeof(*req));
	req->srv = srv;
	req->method = method;
	req->path = path;
	snprintf(req->client_addr, sizeof(req->client_addr), "127.0.0.1");
}

void req_release(struct kw_req *req)
{
	for (size_t i = 0; i < req->nresp_headers; i++) {
		free((char *)req->resp_headers[i].key);
		free((char *)req->resp_headers[i].value);
	}
	req->nresp_headers = 0;
	free(req->resp_body);
	req->resp_body = NULL;
	req->resp_body_len = 0;
}

static int field_error(json_t **err, const char *field, bool missing, const char *what)
{
	if (missing)
		return api_error(err, 400, "missing_field", "field '%s' is required", field);
	return api_error(err, 400, "invalid_field", "field '%s' must be %s", field, what);
}

int json_get_string(json_t *in, const char *field, bool required, size_t max_len, const char **value,
		    json_t **err)
{
	json_t *v = in ? json_object_get(in, field) : NULL;
	char what[64];

	*value = NULL;
	if (!v || json_is_null(v))
		return required ? field_error(err, field, true, NULL) : 0;
	snprintf(what, sizeof(what), "a string of 1 to %zu characters", max_len);
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max_len ||
	    strlen(json_string_value(v)) != json_string_length(v) /* embedded NUL */)
		return field_error(err, field, false, what);
	*value = json_string_value(v);
	return 0;
}

int json_get_label(json_t *in, const char *field, bool required, size_t max_len, const char **value,
		   json_t **err)
{
	int st = json_get_string(in, field, required, max_len, value, err);

	if (st || !*value)
		return st;
	for (const unsigned char *p = (const unsigned char *)*value; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*value = NULL;
			return api_error(err, 400, "invalid_field", "field '%s' must not hold control characters",
					 field);
		}
	}
	if (text_has_invisible(*value)) {
		*value = NULL;
		return api_error(err, 400, "invalid_field",
				 "field '%s' must not hold bidirectional, zero-width or C1 control characters", field);
	}
	return 0;
}

/*
 * Characters that make a name look like another on screen or in a log: C1 controls
 * (U+0080-009F), zero-width ones (U+200B-200D, U+2060, U+FEFF), direction marks and
 * bidirectional embeddings, overrides and isolates (U+200E-200F, U+202A-202E, U+2066-2069).
 * Text is valid UTF-8 (jansson checked it), so their encodings can be matched bytewise.
 */
bool text_has_invisible(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return true;
		if (p[0] == 0xe2 && p[1] == 0x80 && p[2] &&
		    ((p[2] >= 0x8b && p[2] <= 0x8f) || (p[2] >= 0xaa && p[2] <= 0xae)))
			return true;
		if (p[0] == 0xe2 && p[1] == 0x81 && p[2] && (p[2] == 0xa0 || (p[2] >= 0xa6 && p[2] <= 0xa9)))
			return true;
		if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
			return true;
	}
	return false;
}

int json_get_int(json_t *in, const char *field, bool required, int64_t min, int64_t max, int64_t *value,
		 json_t **err)
{
	json_t *v = in ? json_object_get(in, field) : NULL;
	char what[96];

	if (!v || json_is_null(v))
		return required ? field_error(err, field, true, NULL) : 0;
	snprintf(what, sizeof(what), "an integer from %lld to %lld", (long long)min, (long long)max);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return field_error(err, field, false, what);
	*value = json_integer_value(v);
	return 0;
}

int json_get_bool(json_t *in, const char *field, bool required, bool *value, json_t **err)
{
	json_t *v = in ? json_object_get(in, field) : NULL;

	if (!v || json_is_null(v))
		return required ? field_error(err, field, true, NULL) : 0;
	if (!json_is_boolean(v))
		return field_error(err, field, false, "true or false");
	*value = json_is_true(v);
	return 0;
}

int json_get_wg_key(json_t *in, const char *field, bool required, const char **b64, uint8_t key[32],
		    json_t **err)
{
	json_t *v = in ? json_object_get(in, field) : NULL;

	*b64 = NULL;
	if (!v || json_is_null(v))
		return required ? field_error(err, field, true, NULL) : 0;
	if (!json_is_string(v))
		return field_error(err, field, false, "a string");
	if (key_from_base64(key, json_string_value(v)) < 0)
		return api_error(err, 400, "invalid_public_key",
				 "field '%s' must be the base64 of a 32-byte WireGuard key", field);
	if (key_is_zero(key))
		return api_error(err, 400, "invalid_public_key", "field '%s' is the all-zero key", field);
	*b64 = json_string_value(v);
	return 0;
}
