/* A growing text buffer (sbuf.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

/*
 * The payload is written as text directly: a gateway's config lists every device (100,000
 * peers is 13 MB), and building that many JSON objects first would cost more than the rest
 * of the request. Every string goes through sb_json_str().
 */

static void sb_grow(struct sbuf *b, size_t need)
{
	char *np;
	size_t cap;

	if (b->oom || b->len + need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = true;
		return;
	}
	b->p = np;
	b->cap = cap;
}

void sb_add(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = true; /* never happens with the numbers written here */
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

/* A JSON string literal, quotes included. */
void sb_json_str(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	sb_add(b, "\"", 1);
	for (; *p; p++) {
		if (*p != '"' && *p != '\\' && *p >= 0x20)
			continue;
		/* the plain run before this byte in one copy (keys, addresses: all of them) */
		sb_add(b, (const char *)run, (size_t)(p - run));
		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p };

			sb_add(b, e, 2);
		} else {
			sb_fmt(b, "\\u%04x", *p);
		}
		run = p + 1;
	}
	sb_add(b, (const char *)run, (size_t)(p - run));
	sb_add(b, "\"", 1);
}
