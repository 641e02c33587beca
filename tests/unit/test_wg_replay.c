/* Replay window: the cases of Linux drivers/net/wireguard/selftest/counter.c,
 * ported to replay_check(). */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "messages.h"
#include "replay.h"
#include "check_run.h"

static struct replay_counter r;
static int case_no;

#define T_INIT replay_init(&r)
#define T_LIM (REPLAY_WINDOW_SIZE + 1)
#define T(n, want)                                                                       \
	do {                                                                             \
		case_no++;                                                               \
		ck_assert_msg(replay_check(&r, (n)) == (want), "case %d: counter %llu", \
			      case_no, (unsigned long long)(n));                          \
	} while (0)

START_TEST(test_counter_selftest)
{
	uint64_t i;

	T_INIT;
	T(0, true);
	T(1, true);
	T(1, false);
	T(9, true);
	T(8, true);
	T(7, true);
	T(7, false);
	T(T_LIM, true);
	T(T_LIM - 1, true);
	T(T_LIM - 1, false);
	T(T_LIM - 2, true);
	T(2, true);
	T(2, false);
	T(T_LIM + 16, true);
	T(3, false);
	T(T_LIM + 16, false);
	T(T_LIM * 4, true);
	T(T_LIM * 4 - (T_LIM - 1), true);
	T(10, false);
	T(T_LIM * 4 - T_LIM, false);
	T(T_LIM * 4 - (T_LIM + 1), false);
	T(T_LIM * 4 - (T_LIM - 2), true);
	T(T_LIM * 4 + 1 - T_LIM, false);
	T(0, false);
	T(REJECT_AFTER_MESSAGES, false);
	T(REJECT_AFTER_MESSAGES - 1, true);
	T(REJECT_AFTER_MESSAGES, false);
	T(REJECT_AFTER_MESSAGES - 1, false);
	T(REJECT_AFTER_MESSAGES - 2, true);
	T(REJECT_AFTER_MESSAGES + 1, false);
	T(REJECT_AFTER_MESSAGES + 2, false);
	T(REJECT_AFTER_MESSAGES - 2, false);
	T(REJECT_AFTER_MESSAGES - 3, true);
	T(0, false);

	T_INIT;
	for (i = 1; i <= REPLAY_WINDOW_SIZE; ++i)
		T(i, true);
	T(0, true);
	T(0, false);

	T_INIT;
	for (i = 2; i <= REPLAY_WINDOW_SIZE + 1; ++i)
		T(i, true);
	T(1, true);
	T(0, false);

	T_INIT;
	for (i = REPLAY_WINDOW_SIZE + 1; i-- > 0;)
		T(i, true);

	T_INIT;
	for (i = REPLAY_WINDOW_SIZE + 2; i-- > 1;)
		T(i, true);
	T(0, false);

	T_INIT;
	for (i = REPLAY_WINDOW_SIZE + 1; i-- > 1;)
		T(i, true);
	T(REPLAY_WINDOW_SIZE + 1, true);
	T(0, false);

	T_INIT;
	for (i = REPLAY_WINDOW_SIZE + 1; i-- > 1;)
		T(i, true);
	T(0, true);
	T(REPLAY_WINDOW_SIZE + 1, true);
}
END_TEST

START_TEST(test_window_edges)
{
	T_INIT;
	T(100000, true);
	T(100000 - REPLAY_WINDOW_SIZE, true);      /* oldest still inside */
	T(100000 - REPLAY_WINDOW_SIZE - 1, false); /* just outside */
	T(100001, true);
	T(100000, false);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wg_replay");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_counter_selftest);
	tcase_add_test(tc, test_window_edges);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
