/*
 * A growable byte buffer with a size limit: what an HTTP client collects an answer body
 * into (the agent's fetch.c and keywayctl's http.c hand kw_buf_append to libcurl's write
 * callback). The data stays NUL-terminated, so a text body can be parsed as it is.
 */
#ifndef KW_BUF_H
#define KW_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct kw_buf {
	char *data;	/* NULL until the first append; then len bytes and a '\0' */
	size_t len, cap;
	size_t max;	/* the most bytes it may hold; 0: no limit */
	bool overflow;	/* an append was refused because of max */
};

/*
 * Appends n bytes of p. 0; -EFBIG when max would be passed (overflow set); -ENOMEM. On
 * an error the buffer holds what it held before.
 */
int kw_buf_append(struct kw_buf *b, const void *p, size_t n);
/* Frees the data; the buffer is empty (max kept) and reusable. */
void kw_buf_free(struct kw_buf *b);

#endif
