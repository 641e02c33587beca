/*
 * What the directory's re-checks change: a user's sessions and API tokens follow their
 * standing in the directory (disabled, deleted, out of the VPN group, no longer admin).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

struct user_each {
	int (*fn)(const char *username, void *arg);
	void *arg;
};

static int user_each(sqlite3_stmt *s, void *arg)
{
	const struct user_each *e = arg;
	char name[KW_STORE_NAME_MAX];

	store_col_text(s, 0, name, sizeof(name));
	return name[0] ? e->fn(name, e->arg) : 0;
}

int store_principal_users(struct kw_store *st, int (*fn)(const char *username, void *arg), void *arg)
{
	static const char sql[] = "SELECT username FROM sessions UNION "
				  "SELECT substr(owner, 6) FROM api_tokens WHERE owner LIKE 'user:%' ORDER BY 1";
	struct user_each e = { fn, arg };

	return store_query(st, sql, NULL, 0, user_each, &e);
}

int store_user_roles_apply(struct kw_store *st, const char *username, bool keep_sessions, bool admin,
			   const char *actor, int64_t now, int *changed)
{
	static const char del_sessions[] = "DELETE FROM sessions WHERE username = ?";
	static const char downgrade[] = "UPDATE sessions SET role = 'user' WHERE username = ? AND role = 'admin'";
	static const char del_tokens[] = "DELETE FROM api_tokens WHERE owner = ?";
	char object[KW_STORE_NAME_MAX + 8], detail[96];
	int sessions = 0, downgraded = 0, tokens = 0;
	struct kw_conn *c;
	int ret;

	*changed = 0;
	snprintf(object, sizeof(object), "user:%s", username);
	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	if (!keep_sessions) {
		ret = store_exec(c, del_sessions, STORE_BINDS(STORE_TEXT(username)));
		sessions = ret == 0 ? sqlite3_changes(c->db) : 0;
	} else if (!admin) {
		ret = store_exec(c, downgrade, STORE_BINDS(STORE_TEXT(username)));
		downgraded = ret == 0 ? sqlite3_changes(c->db) : 0;
	}
	if (ret == 0 && (!admin || !keep_sessions)) {
		ret = store_exec(c, del_tokens, STORE_BINDS(STORE_TEXT(object)));
		tokens = ret == 0 ? sqlite3_changes(c->db) : 0;
	}
	if (ret == 0 && sessions + downgraded + tokens > 0) {
		snprintf(detail, sizeof(detail), "sessions_deleted=%d sessions_downgraded=%d api_tokens_deleted=%d",
			 sessions, downgraded, tokens);
		ret = store_audit_insert(c, now, actor, "directory_recheck", object, "success", detail);
	}
	ret = store_write_end(st, c, ret);
	if (ret == 0)
		*changed = sessions + downgraded + tokens;
	return ret;
}

static int checked_row(sqlite3_stmt *s, void *arg)
{
	*(int64_t *)arg = store_col_int(s, 0);
	return 0;
}

int store_session_checked_at(struct kw_store *st, int64_t id, int64_t *checked_at)
{
	static const char sql[] = "SELECT checked_at FROM sessions WHERE id = ?";

	return store_query_one(st, sql, STORE_BINDS(STORE_INT(id)), checked_row, checked_at);
}

int store_session_mark_checked(struct kw_store *st, int64_t id, int64_t now)
{
	static const char sql[] = "UPDATE sessions SET checked_at = ?2 WHERE id = ?1";
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_exec(c, sql, STORE_BINDS(STORE_INT(id), STORE_INT(now)));
	return store_write_end(st, c, ret);
}
