/* Handler calls for the Check suites that run keywayd's handlers directly on a struct fixture. */
#ifndef KW_SERVER_HELPERS_H
#define KW_SERVER_HELPERS_H

#include <jansson.h>
#include <stdint.h>

#include "http/request.h"
#include "server_fixture.h"

/* A fresh request from fixture_req() with param (NULL: none) as its one path parameter. */
void srvtest_req(struct fixture *f, struct kw_req *req, const char *method, const char *path, const char *param,
		 enum kw_principal_kind kind, enum kw_role role, int64_t id, const char *user);
/*
 * Calls fn on req with body parsed as its JSON (NULL: no body; text that does not parse fails the test);
 * returns the status and *out the response body. req is released, or handed to *keep when keep is not NULL.
 */
int srvtest_invoke(kw_handler_fn fn, struct kw_req *req, const char *body, json_t **out, struct kw_req *keep);
/* The "code" of an error body {"error": {"code": ...}}, NULL when there is none. */
const char *srvtest_err_code(json_t *out);
/* A random Curve25519 public key in base64, as a client would send it. */
void srvtest_random_pub(char pub[45]);

#endif
