/*
 * The REST resources of API v1, one file each in server/api/, and their route table.
 * Handler contract: server/http/request.h.
 */
#ifndef KW_API_API_H
#define KW_API_API_H

#include <stddef.h>

#include "http/request.h"

/* Every route of API v1 but the directory's (server/directory/directory.h). */
extern const struct kw_route api_v1_routes[];
extern const size_t api_v1_nroutes;

int api_health_get(struct kw_req *req, json_t *in, json_t **out);
int api_info_get(struct kw_req *req, json_t *in, json_t **out);
/* GET /api/v1/openapi.json: server/api/openapi.json, embedded at build time. */
int api_openapi_get(struct kw_req *req, json_t *in, json_t **out);
extern const char kw_openapi_json[];
extern const size_t kw_openapi_json_len;
int api_enrollment_tokens_post(struct kw_req *req, json_t *in, json_t **out);
int api_enrollment_tokens_list(struct kw_req *req, json_t *in, json_t **out);
int api_enrollment_tokens_delete(struct kw_req *req, json_t *in, json_t **out);
int api_enroll_post(struct kw_req *req, json_t *in, json_t **out);
int api_device_config_get(struct kw_req *req, json_t *in, json_t **out);
int api_device_key_put(struct kw_req *req, json_t *in, json_t **out);
int api_devices_list(struct kw_req *req, json_t *in, json_t **out);
int api_devices_get(struct kw_req *req, json_t *in, json_t **out);
int api_devices_delete(struct kw_req *req, json_t *in, json_t **out);
int api_devices_suspend(struct kw_req *req, json_t *in, json_t **out);
int api_devices_restore(struct kw_req *req, json_t *in, json_t **out);
int api_users_revoke(struct kw_req *req, json_t *in, json_t **out);
int api_users_list(struct kw_req *req, json_t *in, json_t **out);
int api_audit_list(struct kw_req *req, json_t *in, json_t **out);
int api_tokens_post(struct kw_req *req, json_t *in, json_t **out);
int api_tokens_list(struct kw_req *req, json_t *in, json_t **out);
int api_tokens_delete(struct kw_req *req, json_t *in, json_t **out);
int api_sites_post(struct kw_req *req, json_t *in, json_t **out);
int api_sites_list(struct kw_req *req, json_t *in, json_t **out);
int api_sites_get(struct kw_req *req, json_t *in, json_t **out);
int api_sites_put(struct kw_req *req, json_t *in, json_t **out);
int api_sites_delete(struct kw_req *req, json_t *in, json_t **out);
int api_policies_post(struct kw_req *req, json_t *in, json_t **out);
int api_policies_list(struct kw_req *req, json_t *in, json_t **out);
int api_policies_get(struct kw_req *req, json_t *in, json_t **out);
int api_policies_put(struct kw_req *req, json_t *in, json_t **out);
int api_policies_delete(struct kw_req *req, json_t *in, json_t **out);
int api_users_access(struct kw_req *req, json_t *in, json_t **out);

#endif
