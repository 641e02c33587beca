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
	char actor[KW_STORE_NAME_MAX + 8], object[48];
	struct kw_conn *c;
	sqlite3_stmt *s;
	int ret, rc;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = store_tx_begin(st, c);
	if (ret < 0)
		goto put;
	s = store_stmt(c, sql);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_blob(s, 1, token_hash, KW_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, username, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, role == KW_SESSION_ADMIN ? "admin" : "user", -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, csrf_hash, KW_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now);
	sqlite3_bind_int64(s, 6, expires_at);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		ret = store_errno(c, rc) ?: -EIO;
		goto out;
	}
	*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	snprintf(actor, sizeof(actor), "user:%s", username);
	snprintf(object, sizeof(object), "session:%lld", (long long)*id);
	ret = store_audit_insert(c, now, actor, "login", object, "success",
				 role == KW_SESSION_ADMIN ? "role=admin" : "role=user");
	if (ret < 0)
		goto out;
	ret = store_tx_commit(st, c);
	goto put;
out:
	store_tx_rollback(st, c);
put:
	store_conn_put(st, c);
	return ret;
}

int store_session_lookup(struct kw_store *st, const uint8_t token_hash[KW_TOKEN_HASH_LEN], int64_t now,
			 struct kw_session *out)
{
	static const char sql[] = "SELECT id, username, role, csrf_hash, created_at, expires_at FROM sessions "
				  "WHERE token_hash = ?";
	struct kw_conn *c;
	sqlite3_stmt *s;
	char role[16];
	int ret, rc;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	s = store_stmt(c, sql);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_blob(s, 1, token_hash, KW_TOKEN_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? -ENOENT : store_errno(c, rc);
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->id = store_col_int(s, 0);
	store_col_text(s, 1, out->username, sizeof(out->username));
	store_col_text(s, 2, role, sizeof(role));
	out->role = strcmp(role, "admin") == 0 ? KW_SESSION_ADMIN : KW_SESSION_USER;
	if (sqlite3_column_bytes(s, 3) == KW_TOKEN_HASH_LEN)
		memcpy(out->csrf_hash, sqlite3_column_blob(s, 3), KW_TOKEN_HASH_LEN);
	out->created_at = store_col_int(s, 4);
	out->expires_at = store_col_int(s, 5);
	ret = out->expires_at > now ? 0 : -EKEYEXPIRED;
out:
	store_conn_put(st, c);
	return ret;
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
	sqlite3_stmt *s;
	int ret;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = store_tx_begin(st, c);
	if (ret < 0)
		goto put;
	s = store_stmt(c, sql);
	ret = s ? 0 : -EIO;
	if (s) {
		sqlite3_bind_int64(s, 1, now);
		ret = store_step_done(c, s);
	}
	if (ret == 0) {
		int purged = sqlite3_changes(c->db);

		ret = store_tx_commit(st, c);
		if (ret == 0)
			ret = purged;
	} else {
		store_tx_rollback(st, c);
	}
put:
	store_conn_put(st, c);
	return ret;
}

int store_audit_add(struct kw_store *st, int64_t now, const char *actor, const char *action,
		    const char *object, const char *outcome, const char *detail)
{
	struct kw_conn *c;
	int ret;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = store_tx_begin(st, c);
	if (ret < 0)
		goto put;
	ret = store_audit_insert(c, now, actor, action, object, outcome, detail);
	if (ret == 0)
		ret = store_tx_commit(st, c);
	else
		store_tx_rollback(st, c);
put:
	store_conn_put(st, c);
	return ret;
}

int store_audit_list(struct kw_store *st, int64_t before, int limit,
		     int (*fn)(const struct kw_audit_row *r, void *arg), void *arg)
{
	return store_audit_list_filtered(st, before, limit, NULL, NULL, fn, arg);
}

int store_audit_list_filtered(struct kw_store *st, int64_t before, int limit, const char *actor,
			      const char *action, int (*fn)(const struct kw_audit_row *r, void *arg), void *arg)
{
	/* NULL parameters match every row; the filters are bound, never spliced into the SQL. */
	static const char sql[] = "SELECT id, at, actor, action, object, outcome, detail FROM audit "
				  "WHERE (?1 = 0 OR id < ?1) AND (?3 IS NULL OR actor = ?3) "
				  "AND (?4 IS NULL OR action = ?4) ORDER BY id DESC LIMIT ?2";
	struct kw_audit_row r;
	struct kw_conn *c;
	sqlite3_stmt *s;
	int ret, rc;

	if (limit < 1 || limit > 1000 || before < 0)
		return -EINVAL;
	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	s = store_stmt(c, sql);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_int64(s, 1, before);
	sqlite3_bind_int(s, 2, limit);
	if ((actor && sqlite3_bind_text(s, 3, actor, -1, SQLITE_TRANSIENT) != SQLITE_OK) ||
	    (action && sqlite3_bind_text(s, 4, action, -1, SQLITE_TRANSIENT) != SQLITE_OK)) {
		ret = -ENOMEM;
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r.id = store_col_int(s, 0);
		r.at = store_col_int(s, 1);
		store_col_text(s, 2, r.actor, sizeof(r.actor));
		store_col_text(s, 3, r.action, sizeof(r.action));
		store_col_text(s, 4, r.object, sizeof(r.object));
		store_col_text(s, 5, r.outcome, sizeof(r.outcome));
		store_col_text(s, 6, r.detail, sizeof(r.detail));
		ret = fn(&r, arg);
		if (ret < 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : store_errno(c, rc);
out:
	store_conn_put(st, c);
	return ret;
}
