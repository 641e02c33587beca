/*
 * Check suite of the console's static file server (server/web.c) without the HTTP layer:
 * the path whitelist, Content-Types, and web_serve() on a throwaway root with a symlink,
 * a directory and a hidden file in it. (It lives beside the browser tests it belongs to.)
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/request.h"
#include "http/web.h"

static char root[64];

static void write_file(const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
	char p[256];

	snprintf(root, sizeof(root), "/tmp/kww-webtest.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	write_file("index.html", "<!doctype html><title>t</title>");
	write_file("app.js", "export {};");
	write_file(".secret.js", "hidden");
	snprintf(p, sizeof(p), "%s/dir.js", root);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/link.html", root);
	ck_assert_int_eq(symlink("/etc/passwd", p), 0);
	web_set_root(root);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	web_set_root(NULL);
}

static const char *header(const struct kw_req *req, const char *name)
{
	for (size_t i = 0; i < req->nresp_headers; i++)
		if (strcasecmp(req->resp_headers[i].key, name) == 0)
			return req->resp_headers[i].value;
	return NULL;
}

/* Serve one path; returns the status, leaves the response in req (req_release it). */
static int serve(struct kw_req *req, const char *method, const char *path, json_t **out)
{
	req_init_test(req, NULL, method, path);
	*out = NULL;
	return web_serve(req, NULL, out);
}

START_TEST(test_resolve_good)
{
	char rel[300];

	ck_assert_int_eq(web_path_resolve("/", rel, sizeof(rel)), 0);
	ck_assert_str_eq(rel, "index.html");
	ck_assert_int_eq(web_path_resolve("/app.js", rel, sizeof(rel)), 0);
	ck_assert_str_eq(rel, "app.js");
	ck_assert_int_eq(web_path_resolve("/favicon.svg", rel, sizeof(rel)), 0);
	ck_assert_int_eq(web_path_resolve("/a-b_c.1.css", rel, sizeof(rel)), 0);
}
END_TEST

START_TEST(test_resolve_bad)
{
	static const char *bad[] = { "", "app.js", "/..", "/../etc/passwd", "/../app.js", "/.hidden.js", "/a/../app.js",
				     "/sub/app.js", "//app.js", "/app.js/", "/a\\b.js", "/a%2e.js", "/a b.js",
				     "/\xc3\xa9.js", "/a..js", "/./app.js", NULL };
	char rel[300];

	for (int i = 0; bad[i]; i++)
		ck_assert_msg(web_path_resolve(bad[i], rel, sizeof(rel)) == -EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(web_path_resolve(NULL, rel, sizeof(rel)), -EINVAL);
	/* Extensions the console never serves. */
	ck_assert_int_eq(web_path_resolve("/x", rel, sizeof(rel)), -ENOENT);
	ck_assert_int_eq(web_path_resolve("/package.json.bak", rel, sizeof(rel)), -ENOENT);
	ck_assert_int_eq(web_path_resolve("/build.mjs.map", rel, sizeof(rel)), -ENOENT);
}
END_TEST

START_TEST(test_resolve_long)
{
	char path[400], rel[300];

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	memcpy(path + 300, ".js", 4);
	ck_assert_int_eq(web_path_resolve(path, rel, sizeof(rel)), -ENAMETOOLONG);
	/* A buffer too small for a name that is otherwise fine. */
	ck_assert_int_eq(web_path_resolve("/index.html", rel, 5), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_content_types)
{
	ck_assert_str_eq(web_content_type("index.html"), "text/html; charset=utf-8");
	ck_assert_str_eq(web_content_type("app.js"), "text/javascript; charset=utf-8");
	ck_assert_str_eq(web_content_type("app.css"), "text/css; charset=utf-8");
	ck_assert_str_eq(web_content_type("favicon.svg"), "image/svg+xml");
	ck_assert_ptr_null(web_content_type("x.exe"));
	ck_assert_ptr_null(web_content_type("noext"));
	ck_assert_ptr_null(web_content_type("a.js/b"));
}
END_TEST

START_TEST(test_serve_index)
{
	struct kw_req req;
	json_t *out;

	ck_assert_int_eq(serve(&req, "GET", "/", &out), 200);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(req.resp_type, "text/html; charset=utf-8");
	ck_assert_uint_eq(req.resp_body_len, strlen("<!doctype html><title>t</title>"));
	ck_assert_ptr_nonnull(strstr(header(&req, "Content-Security-Policy"), "frame-ancestors 'none'"));
	ck_assert_ptr_nonnull(strstr(header(&req, "Content-Security-Policy"), "script-src 'self'"));
	ck_assert_ptr_null(strstr(header(&req, "Content-Security-Policy"), "unsafe"));
	ck_assert_str_eq(header(&req, "X-Content-Type-Options"), "nosniff");
	ck_assert_str_eq(header(&req, "Referrer-Policy"), "no-referrer");
	ck_assert_str_eq(header(&req, "X-Frame-Options"), "DENY");
	ck_assert_ptr_null(header(&req, "Strict-Transport-Security")); /* no TLS here */
	req_release(&req);

	ck_assert_int_eq(serve(&req, "HEAD", "/app.js", &out), 200);
	ck_assert_str_eq(req.resp_type, "text/javascript; charset=utf-8");
	req_release(&req);
}
END_TEST

START_TEST(test_serve_refused)
{
	static const char *paths[] = { "/link.html", "/dir.js", "/.secret.js", "/missing.js", "/../index.html", "/x", NULL };
	struct kw_req req;
	json_t *out;

	for (int i = 0; paths[i]; i++) {
		int st = serve(&req, "GET", paths[i], &out);
		ck_assert_msg(st == 404, "%s: %d", paths[i], st);
		ck_assert_ptr_nonnull(out);
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(out, "error"), "code")), "not_found");
		ck_assert_ptr_nonnull(header(&req, "Content-Security-Policy"));
		ck_assert_ptr_null(req.resp_body);
		json_decref(out);
		req_release(&req);
	}
	ck_assert_int_eq(serve(&req, "POST", "/", &out), 405);
	json_decref(out);
	req_release(&req);
}
END_TEST

START_TEST(test_serve_no_root)
{
	struct kw_req req;
	json_t *out;

	web_set_root("/nonexistent/kww-web");
	ck_assert_int_eq(serve(&req, "GET", "/", &out), 404);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(out, "error"), "message")),
				     "not installed"));
	json_decref(out);
	req_release(&req);
}
END_TEST

static Suite *web_suite(void)
{
	Suite *s = suite_create("web");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_resolve_good);
	tcase_add_test(tc, test_resolve_bad);
	tcase_add_test(tc, test_resolve_long);
	tcase_add_test(tc, test_content_types);
	tcase_add_test(tc, test_serve_index);
	tcase_add_test(tc, test_serve_refused);
	tcase_add_test(tc, test_serve_no_root);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(web_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
