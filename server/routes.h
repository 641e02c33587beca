/* The route table: every API v1 route in one place (routes.c), plus modules' tables. */
#ifndef KW_ROUTES_H
#define KW_ROUTES_H

#include "api.h"

enum routes_match {
	ROUTES_FOUND = 0,
	ROUTES_NO_PATH,    /* 404 */
	ROUTES_NO_METHOD,  /* 405, *allow lists the methods */
};

/* Find the route for method + path; fills req->params. allow: "GET, POST" for a 405. */
enum routes_match routes_find(const char *method, const char *path, struct kw_req *req,
			      const struct kw_route **route, char *allow, size_t allow_len);
/* Forget the modules' tables (tests). */
void routes_reset(void);

#endif
