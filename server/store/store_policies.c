/* Access policies and the directory group memberships they name. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sites_internal.h"

#define POLICY_COLS                                                                                   \
	"p.id, p.name, p.site_id, s.name, p.groups, p.users, p.destinations, p.created_at, p.updated_at"

struct policy_each {
	int (*fn)(const struct kw_policy_row *p, void *arg);
	void *arg;
};

static const char *col(const struct kw_row *s, int i)
{
	const char *t = store_col_str(s, i);

	return t ? t : "";
}

static int policy_row(const struct kw_row *s, void *arg)
{
	const struct policy_each *e = arg;
	struct kw_policy_row p = {
		.id = store_col_int(s, 0),
		.name = col(s, 1),
		.site_id = store_col_int(s, 2),
		.site = col(s, 3),
		.groups = col(s, 4),
		.users = col(s, 5),
		.destinations = col(s, 6),
		.created_at = store_col_int(s, 7),
		.updated_at = store_col_int(s, 8),
	};

	return e->fn(&p, e->arg);
}

int store_policy_list(struct kw_store *st, int64_t site_id, int (*fn)(const struct kw_policy_row *p, void *arg),
		      void *arg)
{
	struct policy_each e = { fn, arg };

	return store_query(st, KW_SQL_POLICY_LIST, STORE_BINDS(STORE_INT(site_id)), policy_row, &e);
}

int store_policy_get(struct kw_store *st, int64_t id, int (*fn)(const struct kw_policy_row *p, void *arg),
		     void *arg)
{
	struct policy_each e = { fn, arg };

	return store_query_one(st, KW_SQL_POLICY_GET, STORE_BINDS(STORE_INT(id)), policy_row, &e);
}

/* store_sites_commit() with the audit row of policy id: its name (NULL: not named) and site. */
static int policy_commit(struct kw_store *st, struct kw_conn *c, int ret, const char *actor, const char *action,
			 int64_t id, const char *name, int64_t site_id, int64_t now)
{
	char object[48], detail[KW_STORE_NAME_MAX + 48];

	snprintf(object, sizeof(object), "policy:%lld", (long long)id);
	snprintf(detail, sizeof(detail), "name=%s site=%lld", name ? name : "", (long long)site_id);
	return store_sites_commit(st, c, ret, actor, action, object, detail, now);
}

/* A site that is gone is -ENOENT rather than a constraint failure (-EEXIST: name taken). */
static int site_exists(struct kw_conn *c, int64_t site_id)
{
	int64_t n = 0;
	int ret = store_exec_int(c, KW_SQL_SITE_EXISTS, STORE_BINDS(STORE_INT(site_id)), &n);

	return ret < 0 ? ret : n == 1 ? 0 : -ENOENT;
}

/* Inserts p (id not NULL: *id is its new id) or updates the row p->id; its site must exist. */
static int policy_write(struct kw_store *st, const struct kw_policy_row *p, const char *actor, int64_t now,
			int64_t *id)
{
	/* ?1 is the row to update; an insert leaves it out. */
	const struct kw_bind b[] = { STORE_INT(id ? 0 : p->id), STORE_TEXT(p->name), STORE_INT(p->site_id),
				     STORE_TEXT(p->groups), STORE_TEXT(p->users), STORE_TEXT(p->destinations),
				     STORE_INT(now) };
	const unsigned nb = sizeof(b) / sizeof(b[0]);
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = site_exists(c, p->site_id);
	if (ret == 0 && id) {
		ret = store_exec_int(c, KW_SQL_POLICY_WRITE_INS, b, nb, id);
	} else if (ret == 0) {
		ret = store_exec(c, KW_SQL_POLICY_WRITE_UPD, b, nb);
		if (ret == 0 && store_changes(c) != 1)
			ret = -ENOENT;
	}
	if (id)
		return policy_commit(st, c, ret, actor, "policy_create", ret == 0 ? *id : 0, p->name, p->site_id, now);
	return policy_commit(st, c, ret, actor, "policy_update", p->id, p->name, p->site_id, now);
}

int store_policy_create(struct kw_store *st, const struct kw_policy_row *p, const char *actor, int64_t now,
			int64_t *id)
{
	return policy_write(st, p, actor, now, id);
}

int store_policy_update(struct kw_store *st, const struct kw_policy_row *p, const char *actor, int64_t now)
{
	return policy_write(st, p, actor, now, NULL);
}

int store_policy_delete(struct kw_store *st, int64_t id, const char *actor, int64_t now)
{
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_exec(c, KW_SQL_POLICY_DELETE_DEL, STORE_BINDS(STORE_INT(id)));
	if (ret == 0 && store_changes(c) != 1)
		ret = -ENOENT;
	return policy_commit(st, c, ret, actor, "policy_delete", id, NULL, 0, now);
}

struct name_each {
	int (*fn)(const char *group, void *arg);
	void *arg;
};

static int group_name_row(const struct kw_row *s, void *arg)
{
	const struct name_each *e = arg;

	return e->fn(col(s, 0), e->arg);
}

int store_policy_groups(struct kw_store *st, int (*fn)(const char *group, void *arg), void *arg)
{
	struct name_each e = { fn, arg };

	return store_query(st, KW_SQL_POLICY_GROUPS, NULL, 0, group_name_row, &e);
}

struct member_each {
	int (*fn)(const char *group, const char *username, void *arg);
	void *arg;
};

static int member_row(const struct kw_row *s, void *arg)
{
	const struct member_each *e = arg;

	return e->fn(col(s, 0), col(s, 1), e->arg);
}

int store_group_members_list(struct kw_store *st, const char *username,
			     int (*fn)(const char *group, const char *username, void *arg), void *arg)
{
	struct member_each e = { fn, arg };

	if (!username)
		return store_query(st, KW_SQL_GROUP_MEMBERS_LIST_ALL, NULL, 0, member_row, &e);
	return store_query(st, KW_SQL_GROUP_MEMBERS_LIST_ONE, STORE_BINDS(STORE_TEXT(username)), member_row, &e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The stored members of a group, compared in order with the wanted sorted list. */
struct member_cmp {
	const char *const *want;
	size_t n, i;
	bool differ;
};

static int member_cmp_row(const struct kw_row *s, void *arg)
{
	struct member_cmp *m = arg;

	if (m->i >= m->n || strcmp(col(s, 0), m->want[m->i]) != 0)
		m->differ = true;
	m->i++;
	return 0;
}

int store_group_members_replace(struct kw_store *st, const char *group, const char *const *users, size_t n,
				int64_t now)
{
	const char **v = calloc(n + 1, sizeof(*v));
	struct member_cmp m = { .differ = false };
	char detail[64];
	struct kw_conn *c;
	size_t k = 0;
	int ret;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = users[i];
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++) /* drop duplicates */
		if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
			v[k++] = v[i];
	m.want = v;
	m.n = k;
	ret = store_write_begin(st, &c);
	if (ret < 0)
		goto free;
	ret = store_each_row(c, KW_SQL_GROUP_MEMBERS_REPLACE_CUR, STORE_BINDS(STORE_TEXT(group)), member_cmp_row, &m);
	if (ret == 0 && !m.differ && m.i == m.n) {
		store_tx_rollback(st, c);
		store_conn_put(st, c);
		goto free;
	}
	if (ret == 0)
		ret = store_exec(c, KW_SQL_GROUP_MEMBERS_REPLACE_DEL, STORE_BINDS(STORE_TEXT(group)));
	for (size_t i = 0; ret == 0 && i < k; i++)
		ret = store_exec(c, KW_SQL_GROUP_MEMBERS_REPLACE_INS, STORE_BINDS(STORE_TEXT(group), STORE_TEXT(v[i])));
	snprintf(detail, sizeof(detail), "members=%zu", k);
	ret = store_sites_commit(st, c, ret, "ldap-sync", "group_members", group, detail, now);
	if (ret == 0)
		ret = 1;
free:
	free(v);
	return ret;
}
