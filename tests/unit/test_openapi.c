/*
 * Check suite: the OpenAPI document (server/api/openapi.json, as embedded in keywayd) and the
 * router agree. Every route of every route table is a path + method of the document, and
 * every path + method of the document is a route; each failure names the route and where
 * it is missing. A new route table is one line in route_tables[].
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "check_run.h"
#include "directory/directory.h"

static const struct {
	const char *name;
	const struct kw_route *table;
	const size_t *n;
} route_tables[] = {
	{ "api_v1_routes (server/api/routes.c)", api_v1_routes, &api_v1_nroutes },
	{ "directory_routes (server/directory/directory.c)", directory_routes, &directory_nroutes },
};
#define NTABLES (sizeof(route_tables) / sizeof(route_tables[0]))

static json_t *load_doc(void)
{
	json_error_t e;
	json_t *doc = json_loadb(kw_openapi_json, kw_openapi_json_len, JSON_REJECT_DUPLICATES, &e);

	ck_assert_msg(doc, "server/api/openapi.json is not valid JSON: line %d column %d: %s", e.line, e.column,
		      e.text);
	return doc;
}

/* A document path with its parameter names as the router writes them: "{id}" -> "{}". */
static void doc_to_pattern(const char *path, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = path; *p && o + 1 < len; p++) {
		if (*p == '{') {
			const char *end = strchr(p, '}');

			if (end) {
				if (o + 3 > len)
					break;
				out[o++] = '{';
				out[o++] = '}';
				p = end;
				continue;
			}
		}
		out[o++] = *p;
	}
	out[o] = '\0';
}

static bool doc_has(json_t *paths, const char *method, const char *pattern)
{
	const char *path;
	json_t *item;
	char pat[512];

	json_object_foreach(paths, path, item) {
		const char *m;
		json_t *op;

		doc_to_pattern(path, pat, sizeof(pat));
		if (strcmp(pat, pattern) != 0)
			continue;
		json_object_foreach(item, m, op) {
			if (strcasecmp(m, method) == 0)
				return true;
		}
	}
	return false;
}

static bool router_has(const char *method, const char *pattern)
{
	for (size_t t = 0; t < NTABLES; t++)
		for (size_t i = 0; i < *route_tables[t].n; i++) {
			const struct kw_route *r = &route_tables[t].table[i];

			if (strcasecmp(r->method, method) == 0 && strcmp(r->pattern, pattern) == 0)
				return true;
		}
	return false;
}

START_TEST(test_every_route_is_documented)
{
	json_t *doc = load_doc(), *paths = json_object_get(doc, "paths");
	unsigned missing = 0, n = 0;

	ck_assert_msg(json_is_object(paths), "server/api/openapi.json has no \"paths\" object");
	for (size_t t = 0; t < NTABLES; t++)
		for (size_t i = 0; i < *route_tables[t].n; i++) {
			const struct kw_route *r = &route_tables[t].table[i];

			n++;
			if (doc_has(paths, r->method, r->pattern))
				continue;
			fprintf(stderr, "route %s %s of %s is missing from server/api/openapi.json\n", r->method,
				r->pattern, route_tables[t].name);
			missing++;
		}
	fprintf(stderr, "%u routes, %u missing from the document\n", n, missing);
	ck_assert_msg(missing == 0, "%u route(s) missing from server/api/openapi.json (listed above)", missing);
	json_decref(doc);
}
END_TEST

START_TEST(test_every_documented_operation_is_routed)
{
	static const char *const methods[] = { "get", "put", "post", "delete", "options", "head", "patch", "trace" };
	json_t *doc = load_doc(), *paths = json_object_get(doc, "paths"), *item;
	const char *path;
	unsigned extra = 0, n = 0;
	char pat[512];

	ck_assert_msg(json_is_object(paths), "server/api/openapi.json has no \"paths\" object");
	json_object_foreach(paths, path, item) {
		doc_to_pattern(path, pat, sizeof(pat));
		for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
			char upper[8];
			size_t k;

			if (!json_object_get(item, methods[i]))
				continue;
			for (k = 0; methods[i][k] && k + 1 < sizeof(upper); k++)
				upper[k] = (char)(methods[i][k] & ~0x20);
			upper[k] = '\0';
			n++;
			if (router_has(upper, pat))
				continue;
			fprintf(stderr, "server/api/openapi.json documents %s %s, but no route table has it (route %s %s)\n",
				upper, path, upper, pat);
			extra++;
		}
	}
	fprintf(stderr, "%u documented operations, %u without a route\n", n, extra);
	ck_assert_msg(extra == 0, "%u documented operation(s) have no route (listed above)", extra);
	json_decref(doc);
}
END_TEST

/* Every operation answers with documented statuses, each with a description. */
START_TEST(test_operations_have_responses)
{
	json_t *doc = load_doc(), *paths = json_object_get(doc, "paths"), *item, *op;
	const char *path, *method;

	ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	json_object_foreach(paths, path, item) {
		json_object_foreach(item, method, op) {
			json_t *resp = json_object_get(op, "responses");

			ck_assert_msg(json_is_object(resp) && json_object_size(resp) > 0,
				      "%s %s has no responses in server/api/openapi.json", method, path);
			ck_assert_msg(json_object_get(resp, "500") != NULL, "%s %s does not document 500", method, path);
		}
	}
	json_decref(doc);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_every_route_is_documented,
		test_every_documented_operation_is_routed,
		test_operations_have_responses,
	};

	return CHECK_RUN_TESTS("openapi", NULL, NULL, 0, tests);
}
