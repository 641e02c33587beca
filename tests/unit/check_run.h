/* The end of every Check program's main(): run the suite, return the exit status. */
#ifndef KW_CHECK_RUN_H
#define KW_CHECK_RUN_H

#include <check.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Runs every test of s (then freed); 0 when all passed, 1 otherwise. */
static inline int check_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/*
 * The suite of a program with one test case: name is the suite's and the case's name; setup and teardown
 * (either may be NULL) run around every test in its forked child; timeout_s is the case's timeout in seconds
 * (0: Check's default); tests[0..n) are the START_TEST names in the order they run.
 */
static inline Suite *check_suite(const char *name, void (*setup)(void), void (*teardown)(void),
				 double timeout_s, const TTest *const *tests, size_t n)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);
	size_t i;

	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
	if (timeout_s > 0)
		tcase_set_timeout(tc, timeout_s);
	for (i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

/* Writes text to path (created or emptied), then sets its mode; fails the test on any error. */
static inline void check_write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot create %s", path);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* The result of a call that answers 0 and a string (malloc'd) in got is want; got is freed. */
static inline void check_str_answer(int ret, char *got, const char *want)
{
	ck_assert_int_eq(ret, 0);
	ck_assert_str_eq(got, want);
	free(got);
}

/* Fails the test, naming the first string of the list that text does not contain. */
#define CHECK_HAS_ALL(text, ...)                                                                              \
	do {                                                                                                  \
		const char *const want_[] = { __VA_ARGS__ };                                                  \
		for (size_t i_ = 0; i_ < sizeof(want_) / sizeof(want_[0]); i_++)                              \
			ck_assert_msg(strstr((text), want_[i_]) != NULL, "missing \"%s\"", want_[i_]);       \
	} while (0)

/* check_suite() run by check_run_suite(); tests is an array (its length is taken here). */
#define CHECK_RUN_TESTS(name, setup, teardown, timeout_s, tests)                                              \
	check_run_suite(check_suite((name), (setup), (teardown), (timeout_s), (tests),                       \
				    sizeof(tests) / sizeof((tests)[0])))

/* CHECK_RUN_TESTS() for a program whose code under test uses libsodium: sodium_init() first (exit status 1 when
 * it fails). */
#define CHECK_RUN_SODIUM_TESTS(name, setup, teardown, timeout_s, tests)                                       \
	(sodium_init() < 0 ? 1 : CHECK_RUN_TESTS(name, setup, teardown, timeout_s, tests))

#endif
