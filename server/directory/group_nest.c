/* Nested group membership as a pure breadth-first walk (see group_nest.h). */
#include "config.h"

#include "group_nest.h"
#include "vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct nest_node {
	char *dn;
	unsigned depth;
	bool beyond; /* seen past max_depth: not read */
};

struct nest_edge {
	size_t from, to;
};

struct nest_walk {
	struct nest_node *nodes;
	size_t n_nodes, cap_nodes;
	struct nest_edge *edges;
	size_t n_edges, cap_edges;
	char **people;
	size_t n_people, cap_people;
};


static ssize_t node_find(const struct nest_walk *w, const char *dn)
{
	for (size_t i = 0; i < w->n_nodes; i++)
		if (!strcmp(w->nodes[i].dn, dn))
			return (ssize_t)i;
	return -1;
}

static int node_add(struct nest_walk *w, const char *dn, unsigned depth, bool beyond)
{
	char *c;

	if (vec_reserve((void **)&w->nodes, &w->cap_nodes, w->n_nodes + 1, sizeof(*w->nodes)) < 0)
		return -ENOMEM;
	c = strdup(dn);
	if (!c)
		return -ENOMEM;
	w->nodes[w->n_nodes++] = (struct nest_node){ .dn = c, .depth = depth, .beyond = beyond };
	return 0;
}

static int edge_add(struct nest_walk *w, size_t from, size_t to)
{
	if (vec_reserve((void **)&w->edges, &w->cap_edges, w->n_edges + 1, sizeof(*w->edges)) < 0)
		return -ENOMEM;
	w->edges[w->n_edges++] = (struct nest_edge){ .from = from, .to = to };
	return 0;
}

static int person_add(struct nest_walk *w, const char *dn)
{
	char *c;

	if (vec_reserve((void **)&w->people, &w->cap_people, w->n_people + 1, sizeof(*w->people)) < 0)
		return -ENOMEM;
	c = strdup(dn);
	if (!c)
		return -ENOMEM;
	w->people[w->n_people++] = c;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The members of node idx (read by the caller for the root). */
static int visit(struct nest_walk *w, const char *root, size_t idx, char *const *members, size_t n,
		 unsigned max_depth, const struct kw_nest_src *src, struct kw_nest_result *res)
{
	unsigned depth = w->nodes[idx].depth;

	for (size_t i = 0; i < n; i++) {
		const char *m = members[i];
		ssize_t j;
		int r;

		if (strcmp(m, root) && !src->is_group(src->arg, m)) {
			r = person_add(w, m);
			if (r < 0)
				return r;
			continue;
		}
		j = node_find(w, m);
		if (j < 0) {
			bool beyond = depth + 1 > max_depth;

			r = node_add(w, m, depth + 1, beyond);
			if (r < 0)
				return r;
			j = (ssize_t)(w->n_nodes - 1);
			if (beyond && !res->incomplete) {
				res->incomplete = true;
				snprintf(res->why, sizeof(res->why), "nested_depth %u reached: group %s (level %u) not read",
					 max_depth, m, depth + 1);
			}
		}
		r = edge_add(w, idx, (size_t)j);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Peel groups with no incoming or no outgoing edge until none is left: what remains lies
 * on a cycle (or between two). */
static void find_cycle(const struct nest_walk *w, struct kw_nest_result *res)
{
	bool *gone = calloc(w->n_nodes ? w->n_nodes : 1, sizeof(*gone));
	unsigned *in = calloc(w->n_nodes ? w->n_nodes : 1, sizeof(*in));
	unsigned *out = calloc(w->n_nodes ? w->n_nodes : 1, sizeof(*out));
	bool changed = true;

	if (!gone || !in || !out)
		goto out; /* no cycle report; the walk itself is complete either way */
	while (changed) {
		changed = false;
		memset(in, 0, w->n_nodes * sizeof(*in));
		memset(out, 0, w->n_nodes * sizeof(*out));
		for (size_t e = 0; e < w->n_edges; e++) {
			if (gone[w->edges[e].from] || gone[w->edges[e].to])
				continue;
			out[w->edges[e].from]++;
			in[w->edges[e].to]++;
		}
		for (size_t i = 0; i < w->n_nodes; i++) {
			if (!gone[i] && (!in[i] || !out[i])) {
				gone[i] = true;
				changed = true;
			}
		}
	}
	for (size_t i = 0; i < w->n_nodes; i++) {
		if (!gone[i]) {
			res->cycle = true;
			snprintf(res->cycle_at, sizeof(res->cycle_at), "%s", w->nodes[i].dn);
			break;
		}
	}
out:
	free(gone);
	free(in);
	free(out);
}

int group_nest_expand(const char *root, char *const *root_members, size_t n_root, unsigned max_depth,
		      const struct kw_nest_src *src, struct kw_nest_result *res)
{
	struct nest_walk w = { 0 };
	int r;

	memset(res, 0, sizeof(*res));
	r = node_add(&w, root, 0, false);
	if (r < 0)
		goto out;
	r = visit(&w, root, 0, root_members, n_root, max_depth, src, res);
	/* Breadth-first: nodes are appended in level order, so each group is first met on its
	 * shortest path and read once, at that depth. */
	for (size_t idx = 1; r == 0 && idx < w.n_nodes; idx++) {
		char **members = NULL;
		size_t n = 0;

		if (w.nodes[idx].beyond)
			continue;
		r = src->read_members(src->arg, w.nodes[idx].dn, &members, &n);
		if (r == -EHOSTUNREACH || r == -ETIMEDOUT || r == -ENOMEM)
			break;
		if (r < 0) {
			if (!res->incomplete) {
				res->incomplete = true;
				snprintf(res->why, sizeof(res->why), "group %s cannot be read (%s)", w.nodes[idx].dn,
					 strerror(-r));
			}
			r = 0;
			continue;
		}
		res->groups++;
		if (w.nodes[idx].depth > res->depth)
			res->depth = w.nodes[idx].depth;
		r = visit(&w, root, idx, members, n, max_depth, src, res);
		for (size_t i = 0; i < n; i++)
			free(members[i]);
		free(members);
	}
	if (r < 0)
		goto out;
	find_cycle(&w, res);
	if (w.n_people) {
		size_t k = 0;

		qsort(w.people, w.n_people, sizeof(*w.people), cmp_str);
		for (size_t i = 0; i < w.n_people; i++) {
			if (k && !strcmp(w.people[k - 1], w.people[i]))
				free(w.people[i]);
			else
				w.people[k++] = w.people[i];
		}
		w.n_people = k;
	}
	res->people = w.people;
	res->n_people = w.n_people;
	w.people = NULL;
	w.n_people = 0;
out:
	for (size_t i = 0; i < w.n_nodes; i++)
		free(w.nodes[i].dn);
	free(w.nodes);
	free(w.edges);
	for (size_t i = 0; i < w.n_people; i++)
		free(w.people[i]);
	free(w.people);
	return r;
}

bool group_nest_has(const struct kw_nest_result *res, const char *dn)
{
	return res->n_people && bsearch(&dn, res->people, res->n_people, sizeof(*res->people), cmp_str);
}

void group_nest_result_free(struct kw_nest_result *res)
{
	for (size_t i = 0; i < res->n_people; i++)
		free(res->people[i]);
	free(res->people);
	res->people = NULL;
	res->n_people = 0;
}
