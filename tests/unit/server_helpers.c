/* Handler calls for the Check suites: the request the router would build, the call, the error code. */
#include "config.h"

#include <check.h>
#include <sodium.h>
#include <stdio.h>

#include "server_helpers.h"

void srvtest_req(struct fixture *f, struct kw_req *req, const char *method, const char *path, const char *param,
		 enum kw_principal_kind kind, enum kw_role role, int64_t id, const char *user)
{
	fixture_req(f, req, method, path, kind, role, id, user);
	if (param) {
		snprintf(req->param_buf[0], sizeof(req->param_buf[0]), "%s", param);
		req->params[0] = req->param_buf[0];
		req->nparams = 1;
	}
}

int srvtest_invoke(kw_handler_fn fn, struct kw_req *req, const char *body, json_t **out, struct kw_req *keep)
{
	json_t *in = body ? json_loads(body, 0, NULL) : NULL;
	int st;

	if (body)
		ck_assert_msg(in != NULL, "bad test JSON %s", body);
	*out = NULL;
	st = fn(req, in, out);
	json_decref(in);
	if (keep)
		*keep = *req;
	else
		req_release(req);
	return st;
}

const char *srvtest_err_code(json_t *out)
{
	return json_string_value(json_object_get(json_object_get(out, "error"), "code"));
}

void srvtest_random_pub(char pub[45])
{
	uint8_t k[32];

	randombytes_buf(k, sizeof(k));
	sodium_bin2base64(pub, 45, k, 32, sodium_base64_VARIANT_ORIGINAL);
}
