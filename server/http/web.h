/*
 * The web console hook: keywayd passes every GET/HEAD request whose path is not under
 * /api/ to web_serve(). Handler contract as in server/api.h (return a status; body via
 * req_set_body(), headers via req_add_header(), errors via api_error()). A weak default
 * in server/hooks_default.c answers 404 JSON until the web module is linked (web/
 * Makefile.am.inc adds server/web.c to server_keywayd_SOURCES).
 *
 * Where the files are: $KEYWAY_WEB_ROOT, else `[web] root = DIR` in keywayd's config
 * file, else PKGDATADIR/web (where `make install` puts them).
 */
#ifndef KW_WEB_H
#define KW_WEB_H

#include <stddef.h>

#include "request.h"

int web_serve(struct kw_req *req, json_t *in, json_t **out);

/*
 * Map a decoded URL path ("/", "/app.js") to a file name in the (flat) root
 * ("index.html", "app.js"). 0, -EINVAL (a "/" past the first, "..", a leading dot, a character outside
 * [A-Za-z0-9_.-]), -ENAMETOOLONG, or -ENOENT (an extension the console never serves).
 */
int web_path_resolve(const char *url_path, char *rel, size_t rel_len);
/* The Content-Type for a file name by extension; NULL for an unknown one. */
const char *web_content_type(const char *path);
/* Override the root (tests, or a caller with its own config); NULL re-reads it. */
void web_set_root(const char *dir);

#endif
