/*
 * The web console hook: keywayd passes every GET/HEAD request whose path is not under
 * /api/ to web_serve(). Handler contract as in server/api.h (return a status; body via
 * req_set_body(), headers via req_add_header(), errors via api_error()). A weak default
 * in server/hooks_default.c answers 404 JSON until the web module is linked (add its
 * objects to server_keywayd_SOURCES, see server/ldap_module.h for why).
 */
#ifndef KW_WEB_H
#define KW_WEB_H

#include "api.h"

int web_serve(struct kw_req *req, json_t *in, json_t **out);

#endif
