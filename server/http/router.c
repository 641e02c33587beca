/* Routing: the registered route tables (API v1, the directory's) and matching a path against them. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "router.h"


#define MAX_TABLES 8

static struct {
	const struct kw_route *table;
	size_t n;
} tables[MAX_TABLES];
static size_t ntables;
static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;

int routes_register(const struct kw_route *table, size_t n)
{
	int ret = 0;

	pthread_mutex_lock(&tables_lock);
	if (ntables == MAX_TABLES)
		ret = -ENOSPC;
	else
		tables[ntables++] = (typeof(tables[0])){ table, n };
	pthread_mutex_unlock(&tables_lock);
	return ret;
}

void routes_reset(void)
{
	pthread_mutex_lock(&tables_lock);
	ntables = 0;
	pthread_mutex_unlock(&tables_lock);
}

/* Segment-wise match; "{}" takes one non-empty segment. */
static bool pattern_match(const char *pat, const char *path, const char **params, size_t *nparams,
			  char storage[][256])
{
	size_t n = 0;

	while (*pat && *path) {
		if (pat[0] == '{' && pat[1] == '}') {
			const char *end = strchr(path, '/');
			size_t len = end ? (size_t)(end - path) : strlen(path);

			if (len == 0 || len >= 256 || n == KW_MAX_PATH_PARAMS)
				return false;
			memcpy(storage[n], path, len);
			storage[n][len] = '\0';
			params[n] = storage[n];
			n++;
			pat += 2;
			path += len;
			continue;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	if (*pat || *path)
		return false;
	*nparams = n;
	return true;
}

enum routes_match routes_find(const char *method, const char *path, struct kw_req *req,
			      const struct kw_route **route, char *allow, size_t allow_len)
{
	const char *params[KW_MAX_PATH_PARAMS];
	enum routes_match res = ROUTES_NO_PATH;
	size_t nparams = 0, used = 0;
	char storage[KW_MAX_PATH_PARAMS][256];
	bool head = strcmp(method, "HEAD") == 0;

	if (allow_len)
		allow[0] = '\0';
	pthread_mutex_lock(&tables_lock);
	for (size_t t = 0; t < ntables; t++) {
		for (size_t i = 0; i < tables[t].n; i++) {
			const struct kw_route *r = &tables[t].table[i];

			if (!pattern_match(r->pattern, path, params, &nparams, storage))
				continue;
			if (strcmp(r->method, method) == 0 || (head && strcmp(r->method, "GET") == 0)) {
				pthread_mutex_unlock(&tables_lock);
				memcpy(req->param_buf, storage, sizeof(storage));
				for (size_t k = 0; k < nparams; k++)
					req->params[k] = req->param_buf[k];
				req->nparams = nparams;
				*route = r;
				return ROUTES_FOUND;
			}
			res = ROUTES_NO_METHOD;
			if (allow_len && !strstr(allow, r->method)) {
				int w = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", r->method);

				if (w > 0 && (size_t)w < allow_len - used)
					used += (size_t)w;
			}
		}
	}
	pthread_mutex_unlock(&tables_lock);
	return res;
}
