/*
 * Nested group membership, as a pure walk: which people does a group hold once the groups
 * among its members are followed (recursively)? No LDAP here: the directory comes in as
 * two callbacks (is this DN a group entry? what are its members?), so the Check suite can
 * walk cycles, diamonds and the depth limit on an in-memory directory.
 *
 * DNs are compared as given: callers pass canonical DNs (kwl_dn_canon_dup).
 */
#ifndef KW_GROUP_NEST_H
#define KW_GROUP_NEST_H

#include <stdbool.h>
#include <stddef.h>

struct kw_nest_src {
	/* Is dn a group entry (one whose members are followed)? */
	bool (*is_group)(void *arg, const char *dn);
	/*
	 * The members of group dn: 0 with *out (malloc'd array of malloc'd strings, the
	 * caller frees both) and *n; or a negative errno. -EHOSTUNREACH/-ETIMEDOUT abort the
	 * walk; any other error only leaves the result incomplete.
	 */
	int (*read_members)(void *arg, const char *dn, char ***out, size_t *n);
	void *arg;
};

struct kw_nest_result {
	char **people;       /* sorted, unique: every non-group member reached (owned) */
	size_t n_people;
	unsigned groups;     /* nested groups read (the root not counted) */
	unsigned depth;      /* deepest level read (root = 0) */
	bool cycle;          /* some group contains itself, directly or through others */
	char cycle_at[256];  /* a group on (or below) the cycle, for the log line */
	bool incomplete;     /* a nested group was not read: depth limit or an error */
	char why[320];       /* one line: what was not read and why */
};

/*
 * Walk breadth-first from root (members root_members, already read by the caller) down to
 * max_depth levels of nested groups (a group directly in root is level 1). A group seen
 * again (a cycle or a diamond) is read once. A group beyond max_depth is not read and
 * makes the result incomplete, as does a group whose read fails. Returns 0 (check
 * res->incomplete), -ENOMEM, or the read's -EHOSTUNREACH/-ETIMEDOUT. res is always
 * initialised; free it with group_nest_result_free().
 */
int group_nest_expand(const char *root, char *const *root_members, size_t n_root, unsigned max_depth,
		      const struct kw_nest_src *src, struct kw_nest_result *res);

/* Is dn among res->people? */
bool group_nest_has(const struct kw_nest_result *res, const char *dn);

void group_nest_result_free(struct kw_nest_result *res);

#endif
