/* Sessions (user logins) and the audit log. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

int store_session_create(struct kw_store *st, const uint8_t token_hash[KW_TOKEN_HASH_LEN],
			 const char *username, enum kw_session_role role,
			 const uint8_t csrf_hash[KW_TOKEN_HASH_LEN], int64_t expires_at, int64_t now,
			 int64_t *id)
{
	static const char sql[] = "INSERT INTO sessions (token_hash, username, role, csrf_hash, created_at, "
				  "expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id";
	char actor[KW_STORE_NAME_MAX + 8];

	snprintf(actor, sizeof(actor), "user:%s", username);
	return store_insert_one(st, sql,
				STORE_BINDS(STORE_HASH(token_hash), STORE_TEXT(username),
					    STORE_TEXT(role == KW_SESSION_ADMIN ? "admin" : "user"),
					    STORE_HASH(csrf_hash), STORE_INT(now), STORE_INT(expires_at)),
				actor, "login", "session", role == KW_SESSION_ADMIN ? "role=admin" : "role=user", now,
				id);
}

struct session_lookup {
	struct kw_session *out;
	int64_t now;
};

static int session_row(sqlite3_stmt *s, void *arg)
{
	const struct session_lookup *l = arg;
	struct kw_session *out = l->out;
	char role[16];

	memset(out, 0, sizeof(*out));
	out->id = store_col_int(s, 0);
	store_col_text(s, 1, out->username, sizeof(out->username));
	store_col_text(s, 2, role, sizeof(role));
	out->role = strcmp(role, "admin") == 0 ? KW_SESSION_ADMIN : KW_SESSION_USER;
	if (sqlite3_column_bytes(s, 3) == KW_TOKEN_HASH_LEN)
		memcpy(out->csrf_hash, sqlite3_column_blob(s, 3), KW_TOKEN_HASH_LEN);
	out->created_at = store_col_int(s, 4);
	out->expires_at = store_col_int(s, 5);
	return out->expires_at > l->now ? 0 : -EKEYEXPIRED;
}

int store_session_lookup(struct kw_store *st, const uint8_t token_hash[KW_TOKEN_HASH_LEN], int64_t now,
			 struct kw_session *out)
{
	static const char sql[] = "SELECT id, username, role, csrf_hash, created_at, expires_at FROM sessions "
				  "WHERE token_hash = ?";
	struct session_lookup l = { out, now };

	return store_query_one(st, sql, STORE_BINDS(STORE_HASH(token_hash)), session_row, &l);
}

int store_session_delete(struct kw_store *st, int64_t id, const char *actor, int64_t now)
{
	static const char sql[] = "DELETE FROM sessions WHERE id = ?1 AND ?2 IS NOT NULL";

	return store_change_one(st, sql, id, now, actor, "logout", "session");
}

int store_session_purge_expired(struct kw_store *st, int64_t now)
{
	static const char sql[] = "DELETE FROM sessions WHERE expires_at <= ?";
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_exec(c, sql, STORE_BINDS(STORE_INT(now)));
	if (ret == 0)
		ret = sqlite3_changes(c->db); /* how many: returned once committed */
	return store_write_end(st, c, ret);
}

int store_audit_add(struct kw_store *st, int64_t now, const char *actor, const char *action,
		    const char *object, const char *outcome, const char *detail)
{
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_audit_insert(c, now, actor, action, object, outcome, detail);
	return store_write_end(st, c, ret);
}

int store_audit_list(struct kw_store *st, int64_t before, int limit,
		     int (*fn)(const struct kw_audit_row *r, void *arg), void *arg)
{
	return store_audit_list_filtered(st, before, limit, NULL, NULL, fn, arg);
}

struct audit_each {
	int (*fn)(const struct kw_audit_row *r, void *arg);
	void *arg;
};

static int audit_each(sqlite3_stmt *s, void *arg)
{
	const struct audit_each *e = arg;
	struct kw_audit_row r;

	r.id = store_col_int(s, 0);
	r.at = store_col_int(s, 1);
	store_col_text(s, 2, r.actor, sizeof(r.actor));
	store_col_text(s, 3, r.action, sizeof(r.action));
	store_col_text(s, 4, r.object, sizeof(r.object));
	store_col_text(s, 5, r.outcome, sizeof(r.outcome));
	store_col_text(s, 6, r.detail, sizeof(r.detail));
	return e->fn(&r, e->arg);
}

int store_audit_list_filtered(struct kw_store *st, int64_t before, int limit, const char *actor,
			      const char *action, int (*fn)(const struct kw_audit_row *r, void *arg), void *arg)
{
	/* NULL parameters match every row; the filters are bound, never spliced into the SQL. */
	static const char sql[] = "SELECT id, at, actor, action, object, outcome, detail FROM audit "
				  "WHERE (?1 = 0 OR id < ?1) AND (?3 IS NULL OR actor = ?3) "
				  "AND (?4 IS NULL OR action = ?4) ORDER BY id DESC LIMIT ?2";
	struct audit_each e = { fn, arg };

	if (limit < 1 || limit > 1000 || before < 0)
		return -EINVAL;
	return store_query(st, sql,
			   STORE_BINDS(STORE_INT(before), STORE_INT(limit), STORE_TEXT(actor), STORE_TEXT(action)),
			   audit_each, &e);
}
