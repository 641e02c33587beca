/* GET /api/v1/health, GET /api/v1/info: anyone. */
#include "config.h"

#include <errno.h>

#include "api.h"
#include "core/conf.h"
#include "core/signer.h"

int api_health_get(struct kw_req *req, json_t *in, json_t **out)
{
	*out = json_pack("{s:s, s:s}", "status", "ok", "version", req->srv->version);
	return *out ? 200 : api_error(out, 500, "internal_error", "out of memory");
}

int api_info_get(struct kw_req *req, json_t *in, json_t **out)
{
	const struct kw_conf *conf = server_conf(req->srv);
	char buf[KW_CIDR_STRLEN];
	json_t *routes = json_array();

	for (int i = 0; routes && i < conf->nroutes; i++) {
		cidr_format(buf, &conf->routes[i]);
		json_array_append_new(routes, json_string(buf));
	}
	cidr_format(buf, &conf->cidr);
	*out = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s, s:s}", "signing_key", req->srv->signer->pk_b64, "key_id",
			 req->srv->signer->key_id, "network", buf, "routes", routes, "config_lifetime",
			 (json_int_t)conf->config_lifetime, "version", req->srv->version, "api", "v1");
	if (*out && conf->has_cidr6) {
		cidr_format(buf, &conf->cidr6);
		json_object_set_new(*out, "network6", json_string(buf));
	}
	return *out ? 200 : api_error(out, 500, "internal_error", "out of memory");
}
