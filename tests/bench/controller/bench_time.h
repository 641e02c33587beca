/* Timing pieces of the controller benchmarks: a monotonic clock in nanoseconds, a sort order for samples. */
#ifndef KW_BENCH_TIME_H
#define KW_BENCH_TIME_H

#include <stdint.h>
#include <time.h>

static inline int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* qsort() order of int64_t samples, smallest first. */
static inline int bench_cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

#endif
