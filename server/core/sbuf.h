/*
 * A growing text buffer for config payloads written as text (a gateway's config lists every
 * device: building that many JSON objects first would cost more than the rest of the
 * request). Allocation failure is sticky: check `oom` once at the end.
 */
#ifndef KW_SBUF_H
#define KW_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

void sb_add(struct sbuf *b, const char *s, size_t n);
void sb_str(struct sbuf *b, const char *s);
void sb_fmt(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal, quotes included. */
void sb_json_str(struct sbuf *b, const char *s);

#endif
