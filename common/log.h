/* One logger for every Keyway program: levels, one line per event, to stderr. */
#ifndef KW_LOG_H
#define KW_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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

/*
 * printf-like, except that every %s value is written so it stays one field: inside quotes in
 * the format ("%s" or '%s') the quote, '\\' and control characters are escaped (\", \\, \n,
 * \xNN); as a field value (key=%s) a value with a space, quote, backslash or control character
 * is written in double quotes, escaped the same way; in prose, control characters are escaped
 * and a value with a quote, or with both '=' and a space, is quoted.
 */
void kw_log(enum kw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same formatting into buf (tests); 0 or a negative errno. */
int log_format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_vformat(FILE *f, const char *fmt, va_list ap);

#define log_debug(...) kw_log(KW_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) kw_log(KW_LOG_INFO, __VA_ARGS__)
#define log_warn(...) kw_log(KW_LOG_WARN, __VA_ARGS__)
#define log_error(...) kw_log(KW_LOG_ERROR, __VA_ARGS__)

#endif
