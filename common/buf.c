/* Growable byte buffer (see buf.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "vec.h"

int kw_buf_append(struct kw_buf *b, const void *p, size_t n)
{
	int ret;

	if (b->max && (b->len > b->max || n > b->max - b->len)) {
		b->overflow = true;
		return -EFBIG;
	}
	if (n > (size_t)-1 - b->len - 1)
		return -ENOMEM;
	ret = vec_reserve((void **)&b->data, &b->cap, b->len + n + 1, 1);
	if (ret < 0)
		return -ENOMEM;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void kw_buf_free(struct kw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->overflow = false;
}
