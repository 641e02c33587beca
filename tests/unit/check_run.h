/* The end of every Check program's main(): run the suite, return the exit status. */
#ifndef KW_CHECK_RUN_H
#define KW_CHECK_RUN_H

#include <check.h>

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

#endif
