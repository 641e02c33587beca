/* The router: route tables registered at start (API v1's, the directory's), matched per request. */
#ifndef KW_HTTP_ROUTER_H
#define KW_HTTP_ROUTER_H

#include "request.h"

enum routes_match {
	ROUTES_FOUND = 0,
	ROUTES_NO_PATH,    /* 404 */
	ROUTES_NO_METHOD,  /* 405, *allow lists the methods */
};

/* Find the route for method + path; fills req->params. allow: "GET, POST" for a 405. */
enum routes_match routes_find(const char *method, const char *path, struct kw_req *req,
			      const struct kw_route **route, char *allow, size_t allow_len);
/* Add a table (static storage, kept by pointer). Call before http_start(). 0 or -ENOSPC. */
int routes_register(const struct kw_route *table, size_t n);
/* Forget every table (tests). */
void routes_reset(void);

#endif
