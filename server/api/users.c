/* Users: who has devices (with their live directory state), and revoking all of a user's devices. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "api.h"
#include "api_json.h"
#include "directory/directory.h"
#include "store/store.h"

int api_users_revoke(struct kw_req *req, json_t *in, json_t **out)
{
	const char *username = req->nparams ? req->params[0] : NULL, *reason = NULL;
	int ret, st, n = 0;

	if (!username || !*username || strlen(username) > 255)
		return api_error(out, 404, "not_found", "no such user");
	for (const unsigned char *p = (const unsigned char *)username; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return api_error(out, 404, "not_found", "no such user");
	if ((st = json_get_label(in, "reason", false, 200, &reason, out)))
		return st;
	ret = store_user_revoke(req->srv->store, username, reason ? reason : "admin", req->principal.actor,
				req->now, &n);
	if (ret < 0)
		return api_error_errno(out, ret, "user");
	*out = json_pack("{s:s, s:i}", "username", username, "revoked", n);
	return 200;
}

static int user_row(const char *username, int active, int suspended, int64_t oldest, void *arg)
{
	json_t *o = json_pack("{s:s, s:i, s:i, s:o}", "username", username, "active", active, "suspended",
			      suspended, "suspended_since", api_time_json(oldest));

	return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

int api_users_list(struct kw_req *req, json_t *in, json_t **out)
{
	json_t *a = json_array();
	int ret = a ? store_user_list(req->srv->store, user_row, a) : -ENOMEM;
	int st = api_list_reply(out, ret, a, "users", "users");

	if (st != 200)
		return st;
	/* With the LDAP module: each user's live directory state (or "directory_error"). */
	ret = directory_users(req, *out);
	if (ret < 0) {
		json_decref(*out);
		*out = NULL;
		return api_error_errno(out, ret, "users");
	}
	return 200;
}
