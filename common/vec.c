/* Growable arrays (see vec.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

int vec_reserve(void **v, size_t *cap, size_t need, size_t elem_size)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -EOVERFLOW;
		ncap *= 2;
	}
	if (elem_size && ncap > SIZE_MAX / elem_size)
		return -EOVERFLOW;
	nv = realloc(*v, ncap * elem_size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

int strvec_push(struct strvec *s, char *owned)
{
	int r;

	if (!owned)
		return -ENOMEM;
	r = vec_reserve((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	if (r < 0) {
		free(owned);
		return r;
	}
	s->v[s->n++] = owned;
	return 0;
}

int strvec_push_dup(struct strvec *s, const char *str)
{
	return strvec_push(s, strdup(str));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_sort(struct strvec *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
}

bool strvec_has(const struct strvec *s, const char *str)
{
	return s->n && bsearch(&str, s->v, s->n, sizeof(*s->v), cmp_str);
}

char **strvec_steal(struct strvec *s, size_t *n)
{
	char **v = s->v;

	*n = s->n;
	memset(s, 0, sizeof(*s));
	return v;
}

void strvec_free(struct strvec *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
