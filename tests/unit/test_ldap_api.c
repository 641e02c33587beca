/*
 * Check suite for the LDAP module's handlers and hooks, called directly with a store but
 * with a directory that does not answer (a closed loopback port): every path that must
 * not depend on the directory, and every way an outage must show (503, a failed sync that
 * changes nothing, /ldap/status). The paths that need answers run against a real slapd in
 * tests/integration/ldap/.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/request.h"
#include "check_run.h"
#include "directory/directory_int.h"
#include "directory/directory.h"
#include "server_fixture.h"
#include "server_helpers.h"
#include "store/store.h"

static struct fixture F;
static char conf_path[160], secret_path[160];

static int dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd); /* nothing listens there now: connections are refused at once */
	return port;
}

static void write_conf(const char *extra, mode_t secret_mode)
{
	FILE *f;

	snprintf(secret_path, sizeof(secret_path), "%s/ldap.secret", F.dir);
	check_write_file(secret_path, "s3cret\n", secret_mode);
	snprintf(conf_path, sizeof(conf_path), "%s/keywayd.conf", F.dir);
	f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"[ldap]\nuri = ldap://127.0.0.1:%d\nbind_dn = cn=keyway,dc=example,dc=com\n"
		"bind_password_file = %s\nuser_base = dc=example,dc=com\n"
		"vpn_group = cn=vpn,dc=example,dc=com\ntimeout = 1\nsync_interval = 0\n%s",
		dead_port(), secret_path, extra);
	fclose(f);
}

static void setup(void)
{
	fixture_up(&F, "192.0.2.0/28", 3600);
	write_conf("", 0600);
	ck_assert_int_eq(directory_init(&F.srv, conf_path), 0);
	ck_assert_ptr_nonnull(F.srv.dir);
}

static void teardown(void)
{
	directory_stop(&F.srv);
	fixture_down(&F);
}

static int call(kw_handler_fn fn, enum kw_principal_kind kind, enum kw_role role, const char *body, json_t **out,
		struct kw_req *keep)
{
	struct kw_req req;

	fixture_req(&F, &req, "POST", "/", kind, role, 7, "alice");
	snprintf(req.client_addr, sizeof(req.client_addr), "192.0.2.9");
	return srvtest_invoke(fn, &req, body, out, keep);
}

#define ANON KW_PRINCIPAL_NONE, KW_ROLE_NONE
#define ADMIN KW_PRINCIPAL_API_TOKEN, KW_ROLE_ADMIN

static void expect_error(int st, json_t *out, int want_status, const char *want_code)
{
	ck_assert_int_eq(st, want_status);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(srvtest_err_code(out), want_code);
	json_decref(out);
}

/* Call fn and expect an error status and code (the call happens before anything reads out). */
static void expect_call_error(kw_handler_fn fn, enum kw_principal_kind kind, enum kw_role role, const char *body,
			      int want_status, const char *want_code)
{
	json_t *out = NULL;
	int st = call(fn, kind, role, body, &out, NULL);

	expect_error(st, out, want_status, want_code);
}

START_TEST(test_login_validation)
{

	expect_call_error(api_login_post, ANON, "{\"username\":\"alice\"}", 400, "missing_field");
	expect_call_error(api_login_post, ANON, "{\"password\":\"x\"}", 400, "missing_field");
	expect_call_error(api_login_post, ANON, "{\"username\":\"alice\",\"password\":7}", 400, "invalid_field");
	expect_call_error(api_login_post, ANON, "{\"username\":\"al\\nice\",\"password\":\"x\"}", 400, "invalid_field");
	expect_call_error(api_login_post, ANON, "{\"username\":\"\",\"password\":\"x\"}", 400, "invalid_field");
	/* the empty password never reaches the directory, and is audited */
	expect_call_error(api_login_post, ANON, "{\"username\":\"alice\",\"password\":\"\"}", 400, "empty_password");
	ck_assert_int_eq(fixture_count(&F, "audit"), 1);
	ck_assert_int_eq(fixture_count(&F, "sessions"), 0);
}
END_TEST

START_TEST(test_login_directory_down_is_503)
{
	json_t *out;
	char *dump;

	expect_call_error(api_login_post, ANON, "{\"username\":\"alice\",\"password\":\"Passw0rd!\"}", 503, "ldap_unavailable");
	ck_assert_int_eq(fixture_count(&F, "sessions"), 0);
	dump = fixture_dump(&F);
	ck_assert_ptr_nonnull(strstr(dump, "directory unreachable"));
	ck_assert_ptr_null(strstr(dump, "Passw0rd!")); /* never a password in a row */
	free(dump);
	/* an outage is not a failed login: no 429 after many */
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(call(api_login_post, ANON, "{\"username\":\"alice\",\"password\":\"x\"}", &out, NULL),
				 503);
		json_decref(out);
	}
}
END_TEST

START_TEST(test_enroll_hooks_directory_down)
{
	struct kw_req req;
	json_t *out = NULL;
	int max = -1, st;

	fixture_req(&F, &req, "POST", "/", ANON, 0, NULL);
	st = F.srv.dir_ops->enroll_check(&req, "alice", "Passw0rd!", &max, &out);
	expect_error(st, out, 503, "ldap_unavailable");
	ck_assert_int_eq(max, 0);
	out = NULL;
	st = F.srv.dir_ops->enroll_check(&req, "alice", "", &max, &out);
	expect_error(st, out, 400, "empty_password");
	req_release(&req);
	fixture_req(&F, &req, "POST", "/", KW_PRINCIPAL_SESSION, KW_ROLE_USER, 3, "alice");
	out = NULL;
	st = directory_session_enroll_check(&req, &out);
	expect_error(st, out, 503, "ldap_unavailable");
	req_release(&req);
	ck_assert_int_eq(directory_max_devices(&F.srv), 5);
}
END_TEST

START_TEST(test_logout_needs_a_session)
{

	expect_call_error(api_logout_post, ADMIN, NULL, 400, "not_a_session");
}
END_TEST

START_TEST(test_sync_fails_safe_when_down)
{
	struct kw_device d;
	struct kw_req keep;
	json_t *out, *last;
	char tok[64];

	/* nobody holds a device: a run with nothing to ask is fine */
	ck_assert_int_eq(call(api_ldap_sync_post, ADMIN, "{}", &out, NULL), 200);
	ck_assert_str_eq(json_string_value(json_object_get(out, "outcome")), "ok");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "checked")), 0);
	json_decref(out);

	fixture_enroll_token(&F, "bob", KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&F, tok, 1000, &d, NULL), 0);
	ck_assert_int_eq(call(api_ldap_sync_post, ADMIN, "{\"confirm_mass_change\":true}", &out, NULL), 200);
	ck_assert_str_eq(json_string_value(json_object_get(out, "outcome")), "failed");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "suspended")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "revoked")), 0);
	ck_assert_int_ge(json_integer_value(json_object_get(out, "errors")), 1);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(out, "message")));
	json_decref(out);
	ck_assert_int_eq(store_device_get(F.srv.store, d.id, &d), 0);
	ck_assert_int_eq(d.state, KW_STATE_ACTIVE);

	ck_assert_int_eq(call(api_ldap_status_get, ADMIN, NULL, &out, &keep), 200);
	req_release(&keep);
	last = json_object_get(out, "last_run");
	ck_assert_str_eq(json_string_value(json_object_get(last, "outcome")), "failed");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "failures")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "runs")), 2);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(out, "last_error")));
	ck_assert(json_is_null(json_object_get(out, "pending_confirmation")));
	json_decref(out);

	expect_call_error(api_ldap_sync_post, ADMIN, "{\"confirm_mass_change\":1}", 400, "invalid_field");
}
END_TEST

/* GET /api/v1/users with the module and a dead directory: the list still answers, with
 * "directory_error" and no per-user directory state. */
START_TEST(test_users_directory_down)
{
	struct kw_device d;
	json_t *out, *u;
	char tok[64];

	/* a name holding only a gateway is not a directory account: not asked about */
	fixture_enroll_token(&F, "gw-one", KW_DEV_GATEWAY, 1, tok);
	ck_assert_int_eq(fixture_enroll(&F, tok, 1000, &d, NULL), 0);
	ck_assert_int_eq(call(api_users_list, ADMIN, NULL, &out, NULL), 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "users")), 1);
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(out, "users"), 0), "directory"));
	ck_assert_ptr_null(json_object_get(out, "directory_error"));
	json_decref(out);

	fixture_enroll_token(&F, "bob", KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&F, tok, 1000, &d, NULL), 0);
	ck_assert_int_eq(call(api_users_list, ADMIN, NULL, &out, NULL), 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "users")), 2);
	u = json_array_get(json_object_get(out, "users"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(u, "username")), "bob");
	ck_assert_int_eq(json_integer_value(json_object_get(u, "active")), 1);
	ck_assert_ptr_null(json_object_get(u, "directory"));
	ck_assert_ptr_nonnull(json_string_value(json_object_get(out, "directory_error")));
	json_decref(out);
}
END_TEST

START_TEST(test_module_config_errors)
{
	struct kw_server srv = F.srv;

	write_conf("", 0644);
	srv.dir = NULL;
	ck_assert_int_eq(directory_init(&srv, conf_path), -EPERM); /* password file readable by others */
	ck_assert_ptr_null(srv.dir);
	write_conf("group_style = nested\n", 0600);
	ck_assert_int_lt(directory_init(&srv, conf_path), 0);
	ck_assert_ptr_null(srv.dir);
}
END_TEST

START_TEST(test_module_off_without_uri)
{
	struct kw_server srv = F.srv;
	json_t *out;
	struct kw_req req;
	int st;

	check_write_file(conf_path, "[server]\nlisten = 127.0.0.1:1\n", 0644);
	srv.dir = (void *)1;
	ck_assert_int_eq(directory_init(&srv, conf_path), 0);
	ck_assert_ptr_null(srv.dir);
	req_init_test(&req, &srv, "POST", "/api/v1/login");
	out = NULL;
	st = api_ldap_sync_post(&req, NULL, &out);
	expect_error(st, out, 400, "ldap_not_configured");
	ck_assert_int_eq(directory_max_devices(&srv), 0);
	out = NULL;
	ck_assert_int_eq(directory_session_enroll_check(&req, &out), 0);
	out = json_pack("{s:[]}", "users");
	ck_assert_int_eq(directory_users(&req, out), 0); /* no module: the list is left alone */
	ck_assert_int_eq(json_object_size(out), 1);
	json_decref(out);
	req_release(&req);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_login_validation,
		test_login_directory_down_is_503,
		test_enroll_hooks_directory_down,
		test_logout_needs_a_session,
		test_sync_fails_safe_when_down,
		test_users_directory_down,
		test_module_config_errors,
		test_module_off_without_uri,
	};

	return CHECK_RUN_TESTS("ldap_api", setup, teardown, 30, tests);
}
