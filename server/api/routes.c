/* API v1: every route of keywayd but the directory's, in one table. */
#include "config.h"

#include "api.h"

const struct kw_route api_v1_routes[] = {
	{ "GET", "/api/v1/health", api_health_get, KW_AUTH_NONE, KW_BODY_NONE },
	{ "GET", "/api/v1/info", api_info_get, KW_AUTH_NONE, KW_BODY_NONE },
	{ "GET", "/api/v1/openapi.json", api_openapi_get, KW_AUTH_NONE, KW_BODY_NONE },

	{ "POST", "/api/v1/enrollment-tokens", api_enrollment_tokens_post, KW_AUTH_ADMIN, KW_BODY_JSON },
	{ "GET", "/api/v1/enrollment-tokens", api_enrollment_tokens_list, KW_AUTH_ADMIN, KW_BODY_NONE },
	{ "DELETE", "/api/v1/enrollment-tokens/{}", api_enrollment_tokens_delete, KW_AUTH_ADMIN, KW_BODY_NONE },

	{ "POST", "/api/v1/enroll", api_enroll_post, KW_AUTH_NONE, KW_BODY_JSON },

	{ "GET", "/api/v1/devices", api_devices_list, KW_AUTH_ANY, KW_BODY_NONE },
	{ "GET", "/api/v1/devices/{}", api_devices_get, KW_AUTH_ANY, KW_BODY_NONE },
	{ "DELETE", "/api/v1/devices/{}", api_devices_delete, KW_AUTH_ANY, KW_BODY_NONE },
	{ "GET", "/api/v1/devices/{}/config", api_device_config_get, KW_AUTH_ANY, KW_BODY_NONE },
	{ "PUT", "/api/v1/devices/{}/public-key", api_device_key_put, KW_AUTH_ANY, KW_BODY_JSON },
	{ "POST", "/api/v1/devices/{}/suspend", api_devices_suspend, KW_AUTH_ADMIN, KW_BODY_OPTIONAL },
	{ "POST", "/api/v1/devices/{}/restore", api_devices_restore, KW_AUTH_ADMIN, KW_BODY_OPTIONAL },

	{ "GET", "/api/v1/users", api_users_list, KW_AUTH_ADMIN, KW_BODY_NONE },
	{ "POST", "/api/v1/users/{}/revoke", api_users_revoke, KW_AUTH_ADMIN, KW_BODY_OPTIONAL },

	{ "GET", "/api/v1/users/{}/access", api_users_access, KW_AUTH_ANY, KW_BODY_NONE },

	{ "POST", "/api/v1/sites", api_sites_post, KW_AUTH_ADMIN, KW_BODY_JSON },
	{ "GET", "/api/v1/sites", api_sites_list, KW_AUTH_ADMIN, KW_BODY_NONE },
	{ "GET", "/api/v1/sites/{}", api_sites_get, KW_AUTH_ADMIN, KW_BODY_NONE },
	{ "PUT", "/api/v1/sites/{}", api_sites_put, KW_AUTH_ADMIN, KW_BODY_JSON },
	{ "DELETE", "/api/v1/sites/{}", api_sites_delete, KW_AUTH_ADMIN, KW_BODY_NONE },

	{ "POST", "/api/v1/policies", api_policies_post, KW_AUTH_ADMIN, KW_BODY_JSON },
	{ "GET", "/api/v1/policies", api_policies_list, KW_AUTH_ADMIN, KW_BODY_NONE },
	{ "GET", "/api/v1/policies/{}", api_policies_get, KW_AUTH_ADMIN, KW_BODY_NONE },
	{ "PUT", "/api/v1/policies/{}", api_policies_put, KW_AUTH_ADMIN, KW_BODY_JSON },
	{ "DELETE", "/api/v1/policies/{}", api_policies_delete, KW_AUTH_ADMIN, KW_BODY_NONE },

	{ "GET", "/api/v1/audit", api_audit_list, KW_AUTH_ADMIN, KW_BODY_NONE },

	{ "POST", "/api/v1/api-tokens", api_tokens_post, KW_AUTH_ADMIN, KW_BODY_JSON },
	{ "GET", "/api/v1/api-tokens", api_tokens_list, KW_AUTH_ADMIN, KW_BODY_NONE },
	{ "DELETE", "/api/v1/api-tokens/{}", api_tokens_delete, KW_AUTH_ADMIN, KW_BODY_NONE },
};

const size_t api_v1_nroutes = sizeof(api_v1_routes) / sizeof(api_v1_routes[0]);
