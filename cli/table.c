/* Human output: aligned columns, and "key: value" blocks for one object. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keywayctl.h"

struct ctl_table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows + 1 rows (headers first) of ncols strings */
};

struct ctl_table *ctl_table_new(const char *const *headers, size_t ncols)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	if (ctl_table_add(t, headers) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

int ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	size_t row = t->cells ? t->nrows + 1 : 0;

	if ((row + 1) * t->ncols > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16 * t->ncols;
		char **grown = realloc(t->cells, cap * sizeof(*grown));

		if (!grown)
			return -1;
		t->cells = grown;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		t->cells[row * t->ncols + i] = strdup(cells[i] ? cells[i] : "-");
		if (!t->cells[row * t->ncols + i]) {
			for (size_t k = 0; k < i; k++)
				free(t->cells[row * t->ncols + k]);
			return -1;
		}
	}
	if (row)
		t->nrows++;
	return 0;
}

void ctl_table_print(const struct ctl_table *t)
{
	size_t w[32] = { 0 };
	size_t ncols = t->ncols < 32 ? t->ncols : 32;

	for (size_t r = 0; r <= t->nrows; r++)
		for (size_t i = 0; i < ncols; i++) {
			size_t n = strlen(t->cells[r * t->ncols + i]);

			if (n > w[i])
				w[i] = n;
		}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t i = 0; i < ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];

			if (i + 1 == ncols)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)w[i], s);
		}
	}
}

void ctl_table_free(struct ctl_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* Control characters from the API (a hostname, an audit detail) never reach the terminal raw. */
static const char *cell_clean(char *buf)
{
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return buf;
}

const char *ctl_cell(const json_t *v, char *buf, size_t len)
{
	if (!v || json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "yes");
	else if (json_is_false(v))
		snprintf(buf, len, "no");
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else {
		char *s = json_dumps(v, JSON_COMPACT);

		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
	}
	return cell_clean(buf);
}

const char *ctl_join(const json_t *a, char *buf, size_t len)
{
	size_t i, used = 0;
	const json_t *v;

	if (!json_is_array(a) || json_array_size(a) == 0)
		return ctl_cell(NULL, buf, len);
	buf[0] = '\0';
	json_array_foreach(a, i, v) {
		char one[512];
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", ctl_cell(v, one, sizeof(one)));

		if (n < 0 || (size_t)n >= len - used)
			break; /* cut: a table cell, not data */
		used += (size_t)n;
	}
	return buf;
}

const char *ctl_time(const json_t *v, char *buf, size_t len)
{
	struct tm tm;
	time_t t;

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return ctl_cell(v, buf, len);
	t = (time_t)json_integer_value(v);
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm))
		return ctl_cell(v, buf, len);
	return buf;
}

static bool key_is_time(const char *k)
{
	size_t n = strlen(k);

	return (n > 3 && strcmp(k + n - 3, "_at") == 0) || strcmp(k, "at") == 0 || strcmp(k, "since") == 0 ||
	       strcmp(k, "suspended_since") == 0;
}

void ctl_print_fields(const json_t *obj, const char *const *keys)
{
	size_t w = 0;
	char buf[1024];

	for (size_t i = 0; keys[i]; i++)
		if (json_object_get(obj, keys[i]) && strlen(keys[i]) > w)
			w = strlen(keys[i]);
	for (size_t i = 0; keys[i]; i++) {
		const json_t *v = json_object_get(obj, keys[i]);

		if (!v)
			continue; /* optional fields (address6, endpoint) only when present */
		printf("%s:%*s  %s\n", keys[i], (int)(w - strlen(keys[i])), "",
		       key_is_time(keys[i]) ? ctl_time(v, buf, sizeof(buf)) : ctl_cell(v, buf, sizeof(buf)));
	}
}
