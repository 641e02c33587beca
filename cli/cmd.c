/* The flow every subcommand shares: one request, then its answer printed either as the
 * API's JSON (--json) or for people (a table of a list, key: value lines, one line of
 * text), and the exit code. The resource files only say which request and which view. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "keywayctl.h"

#define CTL_CELL_MAX 2048

int ctl_table_list(const json_t *list, const struct ctl_col *cols, size_t ncols)
{
	const char *head[CTL_COLS_MAX], *row[CTL_COLS_MAX];
	char (*b)[CTL_CELL_MAX] = ncols <= CTL_COLS_MAX ? calloc(ncols, CTL_CELL_MAX) : NULL;
	struct ctl_table *t = NULL;
	size_t i;
	json_t *item;
	int ret = CTL_EXIT_OK;

	for (size_t k = 0; b && k < ncols; k++)
		head[k] = cols[k].head;
	if (!b || !(t = ctl_table_new(head, ncols))) {
		free(b);
		return ctl_usage_error("out of memory");
	}
	json_array_foreach(list, i, item) {
		for (size_t k = 0; k < ncols; k++) {
			const json_t *v = cols[k].key ? json_object_get(item, cols[k].key) : item;

			row[k] = (cols[k].cell ? cols[k].cell : ctl_cell)(v, b[k], CTL_CELL_MAX);
		}
		if (ctl_table_add(t, row) < 0) {
			ret = ctl_usage_error("out of memory");
			break;
		}
	}
	if (ret == CTL_EXIT_OK)
		ctl_table_print(t);
	ctl_table_free(t);
	free(b);
	return ret;
}

int ctl_show_table(const json_t *answer, const void *view)
{
	const struct ctl_view *v = view;

	return ctl_table_list(v->key ? json_object_get(answer, v->key) : answer, v->cols, v->ncols);
}

int ctl_show_fields(const json_t *answer, const void *keys)
{
	ctl_print_fields(answer, keys);
	return CTL_EXIT_OK;
}

int ctl_show_text(const json_t *answer, const void *text)
{
	(void)answer;
	printf("%s\n", (const char *)text);
	return CTL_EXIT_OK;
}

int ctl_answer(struct ctl *c, json_t *out, ctl_show_fn show, const void *arg)
{
	int ret = CTL_EXIT_OK;

	if (c->json)
		ctl_print_json(out);
	else if (show)
		ret = show(out, arg);
	json_decref(out);
	return ret;
}

int ctl_request(struct ctl *c, const char *method, const char *path, json_t *body, ctl_show_fn show,
		const void *arg)
{
	json_t *out;
	int ret = ctl_http(c, method, path, body, &out);

	if (ret != CTL_EXIT_OK) {
		json_decref(out);
		return ret;
	}
	return ctl_answer(c, out, show, arg);
}

int ctl_list(struct ctl *c, int argc, char **argv, const char *usage, const char *path,
	     const struct ctl_view *view)
{
	int ret = ctl_parse(argc, argv, NULL, NULL, 0, usage);

	return ret ? ret : ctl_request(c, "GET", path, NULL, ctl_show_table, view);
}

int ctl_group_usage(const char *group, const char *sub, const char *usage)
{
	bool help = ctl_is_help(sub);

	if (!help)
		ctl_usage_error("unknown %s command %s", group, sub);
	fputs(usage, help ? stdout : stderr);
	return help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

int ctl_id_path(char *path, size_t len, const char *what, const char *prefix, const char *id, const char *suffix)
{
	if (!ctl_valid_id(id))
		return ctl_usage_error("%s id must be a positive number, not %s", what, id);
	if (ctl_path_id(path, len, prefix, id, suffix) < 0)
		return ctl_usage_error("%s id too long", what);
	return 0;
}
