/* Signed status answers (see devstatus.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devstatus.h"
#include "signer.h"

int devstatus_attach(struct kw_server *srv, const struct kw_device *d, int64_t now, json_t *body)
{
	json_t *error = json_object_get(body, "error"), *payload, *env = NULL;
	char *text;
	int ret;

	if (!json_is_object(error) || (d->state != KW_STATE_SUSPENDED && d->state != KW_STATE_REVOKED))
		return -EINVAL;
	payload = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I}", "type", "device_status", "device_id",
			    (json_int_t)d->id, "state", store_state_name(d->state), "reason", d->state_reason,
			    "version", (json_int_t)d->version, "issued_at", (json_int_t)now);
	text = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(payload);
	if (!text)
		return -ENOMEM;
	ret = signer_sign(srv->signer, text, strlen(text), &env);
	free(text);
	if (ret < 0)
		return ret;
	return json_object_set_new(error, "signed_state", env) == 0 ? 0 : -ENOMEM;
}
