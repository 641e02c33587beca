/*
 * Growable arrays: one growth rule for every hand-sized array, and a list of owned strings
 * that can be sorted once and then searched (the directory's member sets, DN lists, names).
 */
#ifndef KW_VEC_H
#define KW_VEC_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Make room for need elements of elem_size bytes in *v (capacity *cap, doubled from 16).
 * 0, or -ENOMEM with *v and *cap unchanged; -EOVERFLOW when the size would not fit size_t.
 */
int vec_reserve(void **v, size_t *cap, size_t need, size_t elem_size);

/* A list of malloc'd strings, owned by the list. */
struct strvec {
	char **v;
	size_t n, cap;
};

/* Append owned (taken over, also on error: freed then). 0 or -ENOMEM; owned NULL: -ENOMEM. */
int strvec_push(struct strvec *s, char *owned);
/* Append a copy of s. 0 or -ENOMEM. */
int strvec_push_dup(struct strvec *s, const char *str);
/* Sort with strcmp, for strvec_has. */
void strvec_sort(struct strvec *s);
/* Binary search in a sorted list. */
bool strvec_has(const struct strvec *s, const char *str);
/* Hand the array to the caller (who frees each string and the array); the list is empty. */
char **strvec_steal(struct strvec *s, size_t *n);
/* Free every string and the array; the list is empty and reusable. */
void strvec_free(struct strvec *s);

#endif
