/* GET /api/v1/audit: the audit log, newest first, with filters (admin). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "api.h"
#include "store/store.h"

static int audit_row(const struct kw_audit_row *r, void *arg)
{
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)r->id, "at",
			      (json_int_t)r->at, "actor", r->actor, "action", r->action, "object", r->object,
			      "outcome", r->outcome, "detail", r->detail);

	return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

/* An exact-match filter value: 1..max bytes, no control characters. */
static bool valid_query_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int api_audit_list(struct kw_req *req, json_t *in, json_t **out)
{
	const char *ls = req_query(req, "limit"), *bs = req_query(req, "before");
	const char *actor = req_query(req, "actor"), *action = req_query(req, "action");
	int64_t limit = 100, before = 0;
	json_t *a, *last;
	int ret;

	if (ls && !api_parse_uint(ls, 1, 1000, &limit))
		return api_error(out, 400, "invalid_query", "limit must be an integer from 1 to 1000");
	if (bs && !api_parse_uint(bs, 1, INT64_MAX / 2, &before))
		return api_error(out, 400, "invalid_query", "before must be a positive audit id");
	if (actor && !valid_query_label(actor, sizeof(((struct kw_audit_row *)0)->actor) - 1))
		return api_error(out, 400, "invalid_query", "actor must be 1 to 255 characters without control characters");
	if (action && !valid_query_label(action, sizeof(((struct kw_audit_row *)0)->action) - 1))
		return api_error(out, 400, "invalid_query", "action must be 1 to 63 characters without control characters");
	a = json_array();
	ret = a ? store_audit_list_filtered(req->srv->store, before, (int)limit, actor, action, audit_row, a) : -ENOMEM;
	if (ret < 0) {
		json_decref(a);
		return api_error_errno(out, ret, "audit");
	}
	last = json_array_size(a) == (size_t)limit ? json_array_get(a, json_array_size(a) - 1) : NULL;
	*out = json_pack("{s:o, s:o}", "audit", a, "next_before",
			 last ? json_incref(json_object_get(last, "id")) : json_null());
	return 200;
}
