#include "config.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
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

/*
 * One string value written so that it stays one field. Three places in a format:
 * - inside quotes ("%s" or '%s', q is the quote): the quote, '\\' and control characters
 *   are escaped;
 * - a field value (key=%s, q is '='): a value holding a space, a quote, a backslash or a
 *   control character is put in double quotes and escaped;
 * - prose (q is 0): control characters are escaped, and a value that could read as fields
 *   (a '=' and a space, or a quote) is put in double quotes.
 * A value from a client (a username, a hostname) can then never forge another key=value.
 */
static void log_put_value(FILE *f, const char *s, int prec, char q)
{
	size_t n = s ? (prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s)) : 6;
	bool wrap = false, space = false, eq = false;

	if (!s)
		s = "(null)";
	if (q == '=' || q == 0) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			space |= c == ' ';
			eq |= c == '=';
			if (c == '"' || (q == '=' && (c < 0x20 || c == 0x7f || c == '\\' || c == ' ')))
				wrap = true;
		}
		wrap |= q == 0 && space && eq;
		q = wrap ? '"' : 0;
		if (wrap)
			fputc('"', f);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (q && (c == '\\' || c == (unsigned char)q))
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	if (wrap)
		fputc('"', f);
}

/* One non-string conversion: spec is its text with '*' already replaced by the numbers. The
 * spec was parsed from a format the compiler checked (kw_log's format attribute). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void log_put_conv(FILE *f, const char *spec, char conv, const char *len, va_list *ap)
{
	bool lng = strcmp(len, "l") == 0, llng = strcmp(len, "ll") == 0 || strcmp(len, "q") == 0;
	bool z = strcmp(len, "z") == 0, j = strcmp(len, "j") == 0, t = strcmp(len, "t") == 0;

	switch (conv) {
	case 'd':
	case 'i':
		if (llng)
			fprintf(f, spec, va_arg(*ap, long long));
		else if (lng)
			fprintf(f, spec, va_arg(*ap, long));
		else if (z)
			fprintf(f, spec, va_arg(*ap, ssize_t));
		else if (j)
			fprintf(f, spec, va_arg(*ap, intmax_t));
		else if (t)
			fprintf(f, spec, va_arg(*ap, ptrdiff_t));
		else
			fprintf(f, spec, va_arg(*ap, int));
		break;
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		if (llng)
			fprintf(f, spec, va_arg(*ap, unsigned long long));
		else if (lng)
			fprintf(f, spec, va_arg(*ap, unsigned long));
		else if (z)
			fprintf(f, spec, va_arg(*ap, size_t));
		else if (j)
			fprintf(f, spec, va_arg(*ap, uintmax_t));
		else if (t)
			fprintf(f, spec, va_arg(*ap, ptrdiff_t));
		else
			fprintf(f, spec, va_arg(*ap, unsigned));
		break;
	case 'c':
		fprintf(f, spec, va_arg(*ap, int));
		break;
	case 'p':
		fprintf(f, spec, va_arg(*ap, void *));
		break;
	default: /* e f g a E F G A */
		if (strcmp(len, "L") == 0)
			fprintf(f, spec, va_arg(*ap, long double));
		else
			fprintf(f, spec, va_arg(*ap, double));
		break;
	}
}
#pragma GCC diagnostic pop

/* Parse one conversion after '%' at *pp: append its text to spec, return its letter. */
static char log_parse_spec(const char **pp, char *spec, size_t speclen, char *len, int *prec, va_list *ap)
{
	const char *p = *pp;
	size_t n = 1, ln = 0;

	spec[0] = '%';
	*prec = -1;
	while (*p && strchr("-+ #0'", *p) && n + 1 < speclen)
		spec[n++] = *p++;
	if (*p == '*') {
		n += (size_t)snprintf(spec + n, speclen - n, "%d", va_arg(*ap, int));
		p++;
	}
	while (*p >= '0' && *p <= '9' && n + 1 < speclen)
		spec[n++] = *p++;
	if (*p == '.') {
		p++;
		if (*p == '*') {
			*prec = va_arg(*ap, int);
			p++;
		} else {
			*prec = 0;
			while (*p >= '0' && *p <= '9')
				*prec = *prec * 10 + (*p++ - '0');
		}
		if (n + 16 < speclen)
			n += (size_t)snprintf(spec + n, speclen - n, ".%d", *prec < 0 ? 0 : *prec);
	}
	while (*p && strchr("hlLqjzt", *p) && ln < 2)
		len[ln++] = *p++;
	len[ln] = '\0';
	if (n + ln + 2 < speclen) {
		memcpy(spec + n, len, ln);
		n += ln;
	}
	spec[n] = *p;
	spec[n + 1] = '\0';
	*pp = *p ? p + 1 : p;
	return *p;
}

void log_vformat(FILE *f, const char *fmt, va_list ap_in)
{
	va_list ap;
	const char *p = fmt;

	va_copy(ap, ap_in);
	while (*p) {
		const char *pct = strchr(p, '%');
		char spec[64], len[3], conv;
		int prec;

		if (!pct) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(pct - p), f);
		if (pct[1] == '%') {
			fputc('%', f);
			p = pct + 2;
			continue;
		}
		p = pct + 1;
		conv = log_parse_spec(&p, spec, sizeof(spec), len, &prec, &ap);
		if (!conv)
			break;
		if (conv == 's') {
			char q = pct > fmt && (pct[-1] == '"' || pct[-1] == '\'' || pct[-1] == '=') ? pct[-1] : 0;

			log_put_value(f, va_arg(ap, const char *), prec, q);
		} else if (conv == 'm') {
			log_put_value(f, strerror(errno), -1, 0);
		} else {
			log_put_conv(f, spec, conv, len, &ap);
		}
	}
	va_end(ap);
}

int log_format(char *buf, size_t size, const char *fmt, ...)
{
	FILE *f = fmemopen(buf, size, "w");
	va_list ap;

	if (!f)
		return -errno;
	va_start(ap, fmt);
	log_vformat(f, fmt, ap);
	va_end(ap);
	return fclose(f) == 0 ? 0 : -EIO;
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
	log_vformat(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}
