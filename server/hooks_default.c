/*
 * Weak defaults for the module hooks, so keywayd builds and runs without the LDAP and web
 * modules. This file is linked into keywayd directly (not via libkeywayd.la): a module's
 * strong definition, also linked directly, replaces these.
 */
#include "config.h"

#include "api.h"
#include "ldap_module.h"
#include "web.h"

__attribute__((weak)) int ldap_module_init(struct kw_server *srv, const char *config_path)
{
	return 0;
}

__attribute__((weak)) int ldap_module_start(struct kw_server *srv)
{
	return 0;
}

__attribute__((weak)) void ldap_module_stop(struct kw_server *srv)
{
}

__attribute__((weak)) int ldap_module_reload_prepare(struct kw_server *srv, const char *config_path,
						     void **pending, char *changed, size_t changed_len, char *err,
						     size_t errlen)
{
	*pending = NULL;
	if (changed_len)
		changed[0] = '\0';
	return 0;
}

__attribute__((weak)) void ldap_module_reload_apply(struct kw_server *srv, void *pending, bool do_apply)
{
}

__attribute__((weak)) int ldap_enroll_check(struct kw_req *req, const char *username, const char *password,
					    int *max_devices, json_t **out)
{
	return api_error(out, 400, "ldap_not_configured",
			 "this controller has no LDAP directory; enroll with an enrollment token");
}

__attribute__((weak)) int ldap_session_enroll_check(struct kw_req *req, json_t **out)
{
	return 0;
}

__attribute__((weak)) int ldap_max_devices(struct kw_server *srv)
{
	return 0;
}

__attribute__((weak)) int ldap_users_directory(struct kw_req *req, json_t *list)
{
	return 0;
}

__attribute__((weak)) int web_serve(struct kw_req *req, json_t *in, json_t **out)
{
	return api_error(out, 404, "not_found", "no such page (the web console is not installed)");
}
