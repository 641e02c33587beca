/* Check suite for agent/cli.c (the shared option parser) and the enroll request body. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "check_run.h"
#include "cli.h"
#include "enroll.h"
#include "state.h"

START_TEST(test_parse_long)
{
	long v = 7;

	ck_assert_int_eq(cli_parse_long("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(cli_parse_long("-3", -5, 5, &v), 0);
	ck_assert_int_eq(v, -3);
	/* atoi would have taken each of these silently. */
	ck_assert_int_eq(cli_parse_long("12abc", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(cli_parse_long("", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(cli_parse_long(" 5", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(cli_parse_long("101", 0, 100, &v), -ERANGE);
	ck_assert_int_eq(cli_parse_long("99999999999999999999999", 0, LONG_MAX, &v), -ERANGE);
	ck_assert_int_eq(cli_parse_long("-1", 0, 100, &v), -ERANGE);
	ck_assert_int_eq(v, -3); /* untouched on error */
}
END_TEST

static int parse(const char **args, int n, long *num, bool *flag, char *buf, size_t cap,
		 char dir[PATH_MAX])
{
	const struct cli_opt opts[] = {
		{ "num", CLI_LONG, num, 0, 1, 60 },
		{ "flag", CLI_FLAG, flag, 0, 0, 0 },
		{ "buf", CLI_BUF, buf, cap, 0, 0 },
	};
	char *argv[16];
	int i;

	for (i = 0; i < n; i++)
		argv[i] = (char *)args[i];
	argv[n] = NULL;
	return cli_parse(n, argv, "usage: test\n", opts, 3, dir);
}

START_TEST(test_parse)
{
	char dir[PATH_MAX], buf[8] = "";
	long num = 5;
	bool flag = false;
	const char *a1[] = { "x" };
	const char *a2[] = { "x", "--num", "60", "--flag", "--buf", "abc", "--state", "/tmp/s" };
	const char *a3[] = { "x", "--num", "61" };
	const char *a4[] = { "x", "--num", "6x" };
	const char *a5[] = { "x", "--buf", "far too long" };
	const char *a6[] = { "x", "extra" };
	const char *a7[] = { "x", "--help" };
	const char *a8[] = { "x", "--nope" };

	ck_assert_int_eq(parse(a1, 1, &num, &flag, buf, sizeof(buf), dir), CLI_CONTINUE);
	ck_assert_str_eq(dir, AGENT_STATE_DIR_DEFAULT);
	ck_assert_int_eq(num, 5);
	ck_assert_int_eq(parse(a2, 8, &num, &flag, buf, sizeof(buf), dir), CLI_CONTINUE);
	ck_assert_int_eq(num, 60);
	ck_assert(flag);
	ck_assert_str_eq(buf, "abc");
	ck_assert_str_eq(dir, "/tmp/s");
	ck_assert_int_eq(parse(a3, 3, &num, &flag, buf, sizeof(buf), dir), 2);
	ck_assert_int_eq(parse(a4, 3, &num, &flag, buf, sizeof(buf), dir), 2);
	ck_assert_int_eq(parse(a5, 3, &num, &flag, buf, sizeof(buf), dir), 2);
	ck_assert_str_eq(buf, "abc"); /* never truncated into place */
	ck_assert_int_eq(parse(a6, 2, &num, &flag, buf, sizeof(buf), dir), 2);
	ck_assert_int_eq(parse(a7, 2, &num, &flag, buf, sizeof(buf), dir), 0);
	ck_assert_int_eq(parse(a8, 2, &num, &flag, buf, sizeof(buf), dir), 2);
}
END_TEST

START_TEST(test_enroll_body)
{
	const char *pw = "p\"w\\\n\x01 \xc3\xa9nd";
	struct enroll_request rq = { .public_key = "PUB", .hostname = "host \"x\"",
				     .username = "alice", .password = pw };
	json_t *j;
	char *body = NULL;
	size_t len = 0;

	ck_assert_int_eq(enroll_body_build(&rq, &body, &len), 0);
	ck_assert_uint_eq(len, strlen(body));
	j = json_loadb(body, len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "password")), pw);
	ck_assert_str_eq(json_string_value(json_object_get(j, "hostname")), "host \"x\"");
	ck_assert_str_eq(json_string_value(json_object_get(j, "username")), "alice");
	ck_assert_ptr_null(json_object_get(j, "token"));
	ck_assert_ptr_null(json_object_get(j, "endpoint"));
	json_decref(j);
	enroll_body_free(body);

	rq = (struct enroll_request){ .public_key = "PUB", .hostname = "h", .token = "kwe_1",
				      .endpoint = "192.0.2.1:51820" };
	ck_assert_int_eq(enroll_body_build(&rq, &body, &len), 0);
	ck_assert_str_eq(body, "{\"public_key\":\"PUB\",\"hostname\":\"h\",\"token\":\"kwe_1\","
			       "\"endpoint\":\"192.0.2.1:51820\"}");
	enroll_body_free(body);
	/* Both or neither credential: refused. */
	rq.username = "alice";
	rq.password = "x";
	ck_assert_int_eq(enroll_body_build(&rq, &body, &len), -EINVAL);
	ck_assert_ptr_null(body);
	rq.token = NULL;
	rq.password = NULL;
	ck_assert_int_eq(enroll_body_build(&rq, &body, &len), -EINVAL);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_parse_long,
		test_parse,
		test_enroll_body,
	};

	return CHECK_RUN_SODIUM_TESTS("agent_cli", NULL, NULL, 0, tests);
}
