/* GET /api/v1/openapi.json: the API's OpenAPI 3.1 document (server/api/openapi.json, embedded
 * at build time by server/api/embed.sh), public like /health: it describes, it grants nothing. */
#include "config.h"

#include "api.h"

int api_openapi_get(struct kw_req *req, json_t *in, json_t **out)
{
	(void)in;
	*out = NULL;
	if (req_set_body(req, "application/json", kw_openapi_json, kw_openapi_json_len) < 0)
		return api_error(out, 500, "internal_error", "out of memory");
	return 200;
}
