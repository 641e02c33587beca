/* keywayctl audit: the audit log, newest first, filtered by the API. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keywayctl.h"

static int audit_table(const json_t *answer)
{
	static const char *const head[] = { "ID", "AT", "ACTOR", "ACTION", "OBJECT", "OUTCOME", "DETAIL" };
	const json_t *next = json_object_get(answer, "next_before");
	struct ctl_table *t = ctl_table_new(head, 7);
	size_t i;
	json_t *a;

	if (!t)
		return ctl_usage_error("out of memory");
	json_array_foreach(json_object_get(answer, "audit"), i, a) {
		char b[7][512];
		const char *row[7] = {
			ctl_cell(json_object_get(a, "id"), b[0], sizeof(b[0])),
			ctl_time(json_object_get(a, "at"), b[1], sizeof(b[1])),
			ctl_cell(json_object_get(a, "actor"), b[2], sizeof(b[2])),
			ctl_cell(json_object_get(a, "action"), b[3], sizeof(b[3])),
			ctl_cell(json_object_get(a, "object"), b[4], sizeof(b[4])),
			ctl_cell(json_object_get(a, "outcome"), b[5], sizeof(b[5])),
			ctl_cell(json_object_get(a, "detail"), b[6], sizeof(b[6])),
		};

		if (ctl_table_add(t, row) < 0) {
			ctl_table_free(t);
			return ctl_usage_error("out of memory");
		}
	}
	ctl_table_print(t);
	ctl_table_free(t);
	if (json_is_integer(next))
		fprintf(stderr, "keywayctl: more entries: add --before %lld\n", (long long)json_integer_value(next));
	return CTL_EXIT_OK;
}

int ctl_audit(struct ctl *c, int argc, char **argv)
{
	const char *limit = NULL, *before = NULL, *actor = NULL, *action = NULL;
	const struct ctl_opt opts[] = { CTL_OPT("--limit", &limit),
					CTL_OPT("--before", &before),
					CTL_OPT("--actor", &actor),
					CTL_OPT("--action", &action),
					CTL_OPT_END };
	char path[CTL_PATH_MAX] = "/api/v1/audit";
	json_t *out;
	int ret;

	if (argc > 0 && strcmp(argv[0], "list") == 0)
		argc--, argv++;
	ret = ctl_parse(argc, argv, opts, NULL, 0,
			"keywayctl audit [list] [--limit 1-1000] [--before ID] [--actor ACTOR] [--action ACTION]");
	if (ret)
		return ret;
	/* The controller validates the values (400 invalid_query): one place decides. */
	if ((limit && ctl_query_add(path, sizeof(path), "limit", limit) < 0) ||
	    (before && ctl_query_add(path, sizeof(path), "before", before) < 0) ||
	    (actor && ctl_query_add(path, sizeof(path), "actor", actor) < 0) ||
	    (action && ctl_query_add(path, sizeof(path), "action", action) < 0))
		return ctl_usage_error("filters too long");
	ret = ctl_http(c, "GET", path, NULL, &out);
	if (ret == CTL_EXIT_OK)
		ret = c->json ? (ctl_print_json(out), 0) : audit_table(out);
	json_decref(out);
	return ret;
}
