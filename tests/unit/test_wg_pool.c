/* The crypto worker pool: every item runs exactly once, pool_run() returns
 * only when all are done, workers really take part, two callers can share
 * one pool, and the worker count follows KEYWAY_WG_WORKERS. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"
#include "check_run.h"

#define N_ITEMS 5000

struct job {
	_Atomic unsigned hits[N_ITEMS];
	pthread_t who[N_ITEMS];
	unsigned n;
	unsigned delay_us;
};

static void mark(void *ctx, unsigned i)
{
	struct job *j = ctx;

	if (j->delay_us)
		usleep(j->delay_us);
	j->who[i] = pthread_self();
	atomic_fetch_add(&j->hits[i], 1);
}

static void check_once(struct job *j)
{
	unsigned i;

	for (i = 0; i < j->n; i++)
		ck_assert_msg(atomic_load(&j->hits[i]) == 1, "item %u ran %u times", i,
			      atomic_load(&j->hits[i]));
}

START_TEST(no_workers_runs_inline)
{
	struct wg_pool *p;
	struct job *j = calloc(1, sizeof(*j));
	unsigned i;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(pool_new(&p, 0), 0);
	ck_assert_uint_eq(pool_workers(p), 0);
	j->n = 100;
	pool_run(p, j->n, mark, j);
	check_once(j);
	for (i = 0; i < j->n; i++)
		ck_assert(pthread_equal(j->who[i], pthread_self()));
	pool_run(NULL, 0, mark, j); /* nothing to do, no pool: fine */
	pool_free(p);
	free(j);
}
END_TEST

START_TEST(every_item_exactly_once)
{
	struct wg_pool *p;
	struct job *j = malloc(sizeof(*j));
	unsigned round, n;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(pool_new(&p, 3), 0);
	ck_assert_uint_eq(pool_workers(p), 3);
	/* Many sizes, including those too small to split. */
	for (round = 0; round < 300; round++) {
		n = (round * 37) % N_ITEMS;
		memset(j, 0, sizeof(*j));
		j->n = n;
		pool_run(p, n, mark, j);
		check_once(j);
	}
	pool_free(p);
	free(j);
}
END_TEST

START_TEST(workers_take_part)
{
	struct wg_pool *p;
	struct job *j = calloc(1, sizeof(*j));
	unsigned i, others = 0;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(pool_new(&p, 2), 0);
	j->n = 64;
	j->delay_us = 1000; /* long enough that the workers wake and help */
	pool_run(p, j->n, mark, j);
	check_once(j);
	for (i = 0; i < j->n; i++)
		others += !pthread_equal(j->who[i], pthread_self());
	ck_assert_uint_gt(others, 0);
	pool_free(p);
	free(j);
}
END_TEST

struct caller {
	struct wg_pool *p;
	struct job *j;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	unsigned round;

	for (round = 0; round < 200; round++) {
		memset(c->j, 0, sizeof(*c->j));
		c->j->n = 1000 + round;
		pool_run(c->p, c->j->n, mark, c->j);
		check_once(c->j);
	}
	return NULL;
}

START_TEST(two_callers_share_a_pool)
{
	struct caller a, b;
	pthread_t ta, tb;

	ck_assert_int_eq(pool_new(&a.p, 2), 0);
	b.p = a.p;
	a.j = malloc(sizeof(*a.j));
	b.j = malloc(sizeof(*b.j));
	ck_assert(a.j && b.j);
	ck_assert_int_eq(pthread_create(&ta, NULL, caller_main, &a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, caller_main, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pool_free(a.p);
	free(a.j);
	free(b.j);
}
END_TEST

START_TEST(worker_count_from_environment)
{
	struct wg_pool *p;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned machine = ncpu <= 1 ? 0 : ncpu <= 3 ? 1 : (unsigned)(ncpu - 2 > 64 ? 64 : ncpu - 2);

	setenv("KEYWAY_WG_WORKERS", "5", 1);
	ck_assert_uint_eq(pool_default_workers(), 5);
	setenv("KEYWAY_WG_WORKERS", "0", 1);
	ck_assert_uint_eq(pool_default_workers(), 0);
	setenv("KEYWAY_WG_WORKERS", "many", 1);
	ck_assert_uint_eq(pool_default_workers(), machine);
	setenv("KEYWAY_WG_WORKERS", "65", 1);
	ck_assert_uint_eq(pool_default_workers(), machine);
	unsetenv("KEYWAY_WG_WORKERS");
	ck_assert_uint_eq(pool_default_workers(), machine);
	ck_assert_int_eq(pool_new(&p, 65), -EINVAL);
	pool_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wg_pool");
	TCase *tc = tcase_create("pool");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, no_workers_runs_inline);
	tcase_add_test(tc, every_item_exactly_once);
	tcase_add_test(tc, workers_take_part);
	tcase_add_test(tc, two_callers_share_a_pool);
	tcase_add_test(tc, worker_count_from_environment);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
