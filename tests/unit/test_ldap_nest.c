/* Check suite: the nested-group walk (server/group_nest.c) on an in-memory directory:
 * nesting, diamonds, cycles, the depth limit, unreadable groups. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "directory/group_nest.h"

/* A directory: each line "group: member member ..." (a group is anything with a line). */
struct fake_dir {
	const char *const *lines;
	size_t n;
	const char *unreadable; /* reading this group fails with err */
	int err;
	unsigned reads;
};

static const char *line_of(const struct fake_dir *f, const char *dn, size_t *len)
{
	size_t l = strlen(dn);

	for (size_t i = 0; i < f->n; i++) {
		if (!strncmp(f->lines[i], dn, l) && f->lines[i][l] == ':') {
			*len = l;
			return f->lines[i];
		}
	}
	return NULL;
}

static bool fake_is_group(void *arg, const char *dn)
{
	size_t l;

	return line_of(arg, dn, &l) != NULL;
}

static int fake_read(void *arg, const char *dn, char ***out, size_t *n)
{
	struct fake_dir *f = arg;
	size_t l;
	const char *p = line_of(f, dn, &l);
	char *copy, *save = NULL;

	f->reads++;
	*out = NULL;
	*n = 0;
	if (f->unreadable && !strcmp(dn, f->unreadable))
		return f->err;
	ck_assert_ptr_nonnull(p);
	copy = strdup(p + l + 1);
	*out = calloc(64, sizeof(**out));
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		(*out)[(*n)++] = strdup(t);
	free(copy);
	return 0;
}

/* Walk from "root" (whose line gives its members) with depth limit max. */
static int walk(struct fake_dir *f, unsigned max, struct kw_nest_result *res)
{
	struct kw_nest_src src = { .is_group = fake_is_group, .read_members = fake_read, .arg = f };
	char **m = NULL;
	size_t n = 0;
	int r;

	ck_assert_int_eq(fake_read(f, "root", &m, &n), 0);
	f->reads = 0;
	r = group_nest_expand("root", m, n, max, &src, res);
	for (size_t i = 0; i < n; i++)
		free(m[i]);
	free(m);
	return r;
}

/* A walk to depth max that completes and finds person. */
static void assert_walk_finds(struct fake_dir *f, unsigned max, const char *person)
{
	struct kw_nest_result r;

	ck_assert_int_eq(walk(f, max, &r), 0);
	ck_assert(!r.incomplete);
	ck_assert(group_nest_has(&r, person));
	group_nest_result_free(&r);
}

#define DIR(...)                                                                   \
	static const char *const lines_[] = { __VA_ARGS__ };                       \
	struct fake_dir f = { .lines = lines_, .n = sizeof(lines_) / sizeof(lines_[0]) }

START_TEST(test_nested_members_reached)
{
	DIR("root: alice eng", "eng: nina alice");
	struct kw_nest_result r;

	ck_assert_int_eq(walk(&f, 8, &r), 0);
	ck_assert(!r.incomplete);
	ck_assert(!r.cycle);
	ck_assert_uint_eq(r.groups, 1);
	ck_assert_uint_eq(r.depth, 1);
	ck_assert_uint_eq(r.n_people, 2); /* alice once */
	ck_assert(group_nest_has(&r, "alice"));
	ck_assert(group_nest_has(&r, "nina"));
	ck_assert(!group_nest_has(&r, "eng"));
	ck_assert(!group_nest_has(&r, "carol"));
	group_nest_result_free(&r);
}
END_TEST

START_TEST(test_cycle_terminates)
{
	DIR("root: a", "a: b ann", "b: a otto");
	struct kw_nest_result r;

	ck_assert_int_eq(walk(&f, 8, &r), 0);
	ck_assert(!r.incomplete);
	ck_assert(r.cycle);
	ck_assert(!strcmp(r.cycle_at, "a") || !strcmp(r.cycle_at, "b"));
	ck_assert_uint_eq(f.reads, 2); /* each group once */
	ck_assert(group_nest_has(&r, "otto"));
	ck_assert(group_nest_has(&r, "ann"));
	group_nest_result_free(&r);
}
END_TEST

START_TEST(test_cycle_through_root)
{
	DIR("root: a x", "a: root y");
	struct kw_nest_result r;

	ck_assert_int_eq(walk(&f, 8, &r), 0);
	ck_assert(r.cycle);
	ck_assert(!r.incomplete);
	ck_assert_uint_eq(f.reads, 1);
	ck_assert(group_nest_has(&r, "x"));
	ck_assert(group_nest_has(&r, "y"));
	ck_assert(!group_nest_has(&r, "root"));
	group_nest_result_free(&r);
}
END_TEST

START_TEST(test_diamond_is_no_cycle)
{
	DIR("root: x y", "x: z", "y: z", "z: p");
	struct kw_nest_result r;

	ck_assert_int_eq(walk(&f, 8, &r), 0);
	ck_assert(!r.cycle);
	ck_assert(!r.incomplete);
	ck_assert_uint_eq(f.reads, 3);
	ck_assert_uint_eq(r.depth, 2);
	ck_assert(group_nest_has(&r, "p"));
	group_nest_result_free(&r);
}
END_TEST

START_TEST(test_depth_limit)
{
	DIR("root: d1 alice", "d1: d2", "d2: d3", "d3: d4", "d4: pete");
	struct kw_nest_result r;

	ck_assert_int_eq(walk(&f, 3, &r), 0);
	ck_assert(r.incomplete);
	ck_assert_ptr_nonnull(strstr(r.why, "nested_depth 3"));
	ck_assert_ptr_nonnull(strstr(r.why, "d4"));
	ck_assert_uint_eq(f.reads, 3); /* d4 not read */
	ck_assert_uint_eq(r.depth, 3);
	ck_assert(!group_nest_has(&r, "pete"));
	ck_assert(group_nest_has(&r, "alice"));
	group_nest_result_free(&r);

	f.reads = 0;
	assert_walk_finds(&f, 4, "pete");
}
END_TEST

/* A group met first at level 1 is read there, though a longer path reaches it too. */
START_TEST(test_depth_is_the_shortest_path)
{
	DIR("root: a c", "a: c", "c: p");

	assert_walk_finds(&f, 1, "p");
}
END_TEST

START_TEST(test_unreadable_group)
{
	DIR("root: a b", "a: ann", "b: bea");
	struct kw_nest_result r;

	f.unreadable = "a";
	f.err = -EACCES;
	ck_assert_int_eq(walk(&f, 8, &r), 0);
	ck_assert(r.incomplete);
	ck_assert_ptr_nonnull(strstr(r.why, "group a cannot be read"));
	ck_assert(!group_nest_has(&r, "ann"));
	ck_assert(group_nest_has(&r, "bea")); /* the rest is still read */
	group_nest_result_free(&r);

	/* the directory going away aborts the walk */
	f.err = -EHOSTUNREACH;
	ck_assert_int_eq(walk(&f, 8, &r), -EHOSTUNREACH);
	ck_assert_uint_eq(r.n_people, 0);
	group_nest_result_free(&r);
}
END_TEST

START_TEST(test_no_groups)
{
	DIR("root: alice bob");
	struct kw_nest_result r;

	ck_assert_int_eq(walk(&f, 8, &r), 0);
	ck_assert_uint_eq(f.reads, 0);
	ck_assert_uint_eq(r.n_people, 2);
	ck_assert(!r.incomplete && !r.cycle);
	group_nest_result_free(&r);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_nested_members_reached,
		test_cycle_terminates,
		test_cycle_through_root,
		test_diamond_is_no_cycle,
		test_depth_limit,
		test_depth_is_the_shortest_path,
		test_unreadable_group,
		test_no_groups,
	};

	return CHECK_RUN_TESTS("ldap_nest", NULL, NULL, 0, tests);
}
