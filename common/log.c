#include "config.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Atomic: keywayd changes it on SIGHUP while its HTTP threads log. */
static atomic_int threshold = KW_LOG_INFO;
static const char *program = "keyway";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int log_set_level_name(const char *name)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			atomic_store_explicit(&threshold, (int)i, memory_order_relaxed);
			return 0;
		}
	}
	if (strcmp(name, "warning") == 0) {
		atomic_store_explicit(&threshold, KW_LOG_WARN, memory_order_relaxed);
		return 0;
	}
	return -EINVAL;
}

void log_set_level(enum kw_log_level level)
{
	atomic_store_explicit(&threshold, (int)level, memory_order_relaxed);
}

enum kw_log_level log_get_level(void)
{
	return (enum kw_log_level)atomic_load_explicit(&threshold, memory_order_relaxed);
}

void log_set_program(const char *name)
{
	program = name;
}

void kw_log(enum kw_log_level level, const char *fmt, ...)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if ((int)level < atomic_load_explicit(&threshold, memory_order_relaxed))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	/* One line per event, written under a lock so threads never interleave. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s.%03ldZ %s level=%s ", stamp, ts.tv_nsec / 1000000, program,
		level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}
