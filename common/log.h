/* One logger for every Keyway program: levels, one line per event, to stderr. */
#ifndef KW_LOG_H
#define KW_LOG_H

#include <stdbool.h>

enum kw_log_level {
	KW_LOG_DEBUG = 0,
	KW_LOG_INFO,
	KW_LOG_WARN,
	KW_LOG_ERROR,
};

/* Set the threshold; returns 0, or -EINVAL for an unknown name. */
int log_set_level_name(const char *name);
void log_set_level(enum kw_log_level level);
enum kw_log_level log_get_level(void);
/* Prefix every line with this program name (not copied: pass a literal). */
void log_set_program(const char *name);

void kw_log(enum kw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) kw_log(KW_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) kw_log(KW_LOG_INFO, __VA_ARGS__)
#define log_warn(...) kw_log(KW_LOG_WARN, __VA_ARGS__)
#define log_error(...) kw_log(KW_LOG_ERROR, __VA_ARGS__)

#endif
