/* keywayctl audit: the audit log, newest first, filtered by the API. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keywayctl.h"

static const struct ctl_col audit_cols[] = {
	{ "ID", "id", NULL },	       { "AT", "at", ctl_time },	  { "ACTOR", "actor", NULL },
	{ "ACTION", "action", NULL },  { "OBJECT", "object", NULL },	  { "OUTCOME", "outcome", NULL },
	{ "DETAIL", "detail", NULL },
};

/* The table, then how to ask for the next page when there is one. */
static int audit_show(const json_t *answer, const void *unused)
{
	const json_t *next = json_object_get(answer, "next_before");
	int ret = ctl_table_list(json_object_get(answer, "audit"), audit_cols, CTL_NCOLS(audit_cols));

	(void)unused;
	if (ret == CTL_EXIT_OK && json_is_integer(next))
		fprintf(stderr, "keywayctl: more entries: add --before %lld\n", (long long)json_integer_value(next));
	return ret;
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
	return ctl_request(c, "GET", path, NULL, audit_show, NULL);
}
