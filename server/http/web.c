/*
 * The web console's static files: every GET/HEAD path outside /api/ comes here.
 *
 * The files are the built console (web/dist: index.html, app.js, app.css, favicon.svg).
 * Where they are, in order: the KEYWAY_WEB_ROOT environment variable, `[web] root` in
 * keywayd's config file, then PKGDATADIR/web where `make install` puts them.
 *
 * Path handling is a whitelist, not a blacklist: the HTTP layer has already
 * percent-decoded the path, which must name one file of the (flat) root: made of
 * [A-Za-z0-9_.-] only, not starting with a dot, no "..", a known extension, and a regular
 * file opened with O_NOFOLLOW below the root. Anything else is 404, as the API's JSON
 * error. Every answer, 404 included, carries the security headers below.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "request.h"
#include "core/conf.h"
#include "fileutil.h"
#include "log.h"
#include "web.h"

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/keyway"
#endif

#define WEB_PATH_MAX 256
#define WEB_FILE_MAX (4 * 1024 * 1024)

/*
 * A strict policy: scripts and styles only from this origin, no inline script or style,
 * no eval, no framing, no plugins, forms and fetches only to this origin.
 */
static const char web_csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
	"connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; "
	"frame-ancestors 'none'; object-src 'none'";

static const struct {
	const char *ext;
	const char *type;
} web_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static pthread_mutex_t web_lock = PTHREAD_MUTEX_INITIALIZER;
static bool web_root_known;
static char web_root[WEB_PATH_MAX * 2];

const char *web_content_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t i;

	if (!dot || strchr(dot, '/'))
		return NULL;
	for (i = 0; i < sizeof(web_types) / sizeof(web_types[0]); i++)
		if (strcmp(dot, web_types[i].ext) == 0)
			return web_types[i].type;
	return NULL;
}

int web_path_resolve(const char *url_path, char *rel, size_t rel_len)
{
	const char *p;
	size_t n = 0;

	if (!url_path || url_path[0] != '/')
		return -EINVAL;
	p = url_path[1] ? url_path + 1 : "index.html";
	if (strlen(p) >= WEB_PATH_MAX || strlen(p) >= rel_len)
		return -ENAMETOOLONG;
	/* The console is one flat directory: no "/" past the first, so no directory (or
	 * symlinked directory) is ever walked, and no leading dot ("..", ".hidden"). */
	if (p[0] == '.')
		return -EINVAL;
	for (; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return -EINVAL; /* "/", "%", "\\", spaces, non-ASCII… */
		rel[n++] = c;
	}
	rel[n] = '\0';
	if (strstr(rel, ".."))
		return -EINVAL;
	if (!web_content_type(rel))
		return -ENOENT;
	return 0;
}

static void web_root_init(const struct kw_server *srv)
{
	const char *env = getenv("KEYWAY_WEB_ROOT");
	const struct kw_conf *conf = srv ? server_conf(srv) : NULL;

	if (env && *env && strlen(env) < sizeof(web_root))
		strcpy(web_root, env);
	else if (conf && conf->web_root[0] && strlen(conf->web_root) < sizeof(web_root))
		strcpy(web_root, conf->web_root);
	else
		snprintf(web_root, sizeof(web_root), "%s/web", PKGDATADIR);
	if (access(web_root, R_OK | X_OK) != 0)
		log_warn("web: console root %s is not readable: %s; every page answers 404", web_root,
			 strerror(errno));
	else
		log_info("web: serving the console from %s", web_root);
	web_root_known = true;
}

void web_set_root(const char *dir)
{
	pthread_mutex_lock(&web_lock);
	if (dir && strlen(dir) < sizeof(web_root)) {
		strcpy(web_root, dir);
		web_root_known = true;
	} else {
		web_root_known = false;
	}
	pthread_mutex_unlock(&web_lock);
}

static int web_add_headers(struct kw_req *req, const char *cache)
{
	const struct kw_conf *conf;
	int rc = 0;

	rc = rc ? rc : req_add_header(req, "Content-Security-Policy", web_csp);
	rc = rc ? rc : req_add_header(req, "X-Content-Type-Options", "nosniff");
	rc = rc ? rc : req_add_header(req, "Referrer-Policy", "no-referrer");
	rc = rc ? rc : req_add_header(req, "X-Frame-Options", "DENY");
	rc = rc ? rc : req_add_header(req, "Cross-Origin-Opener-Policy", "same-origin");
	rc = rc ? rc : req_add_header(req, "Cache-Control", cache);
	conf = req->srv ? server_conf(req->srv) : NULL;
	if (conf && conf->tls_cert[0])
		rc = rc ? rc : req_add_header(req, "Strict-Transport-Security", "max-age=31536000");
	return rc;
}

/* 404 as the API's JSON error (one error format for the whole port), with the headers. */
static int web_not_found(struct kw_req *req, json_t **out, bool no_root)
{
	if (web_add_headers(req, "no-store") != 0)
		return api_error(out, 500, "internal_error", "Out of memory");
	if (no_root)
		return api_error(out, 404, "not_found", "The web console is not installed on this server");
	return api_error(out, 404, "not_found", "No such page");
}

/* Read a regular file below root, at most WEB_FILE_MAX bytes. *data is malloc'd. */
static int web_read(const char *root, const char *rel, char **data, size_t *len)
{
	int dirfd = -1, fd = -1, rc = 0;
	struct stat sb;

	dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = -errno;
		goto out;
	}
	fd = openat(dirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -ENOENT;
		goto out;
	}
	rc = file_read_fd(fd, WEB_FILE_MAX, data, len);
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

int web_serve(struct kw_req *req, json_t *in, json_t **out)
{
	char rel[WEB_PATH_MAX + 16];
	char root[sizeof(web_root)];
	char *data = NULL;
	size_t len = 0;
	const char *type;
	int rc;

	(void)in;
	*out = NULL;
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return api_error(out, 405, "method_not_allowed", "Only GET and HEAD are allowed here");

	pthread_mutex_lock(&web_lock);
	if (!web_root_known)
		web_root_init(req->srv);
	memcpy(root, web_root, sizeof(root));
	pthread_mutex_unlock(&web_lock);

	if (web_path_resolve(req->path, rel, sizeof(rel)) != 0)
		return web_not_found(req, out, false);
	type = web_content_type(rel);
	rc = web_read(root, rel, &data, &len);
	if (rc == -ENOENT || rc == -ELOOP || rc == -ENOTDIR || rc == -EFBIG || rc == -EACCES)
		return web_not_found(req, out, rc == -ENOENT && access(root, X_OK) != 0);
	if (rc != 0) {
		log_error("web: reading %s failed: %s", rel, strerror(-rc));
		return api_error(out, 500, "internal_error", "Cannot read the console files");
	}
	/* index.html is always revalidated so a new build shows at once. */
	rc = web_add_headers(req, "no-cache");
	if (rc == 0)
		rc = req_set_body(req, type, data, len);
	free(data);
	if (rc != 0)
		return api_error(out, 500, "internal_error", "Out of memory");
	return 200;
}
