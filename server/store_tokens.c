/* Admin API tokens and enrollment tokens (hashes only). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* Run an INSERT … RETURNING id plus its audit row in one transaction. */
static int insert_with_audit(struct kw_store *st, struct kw_conn *c, sqlite3_stmt *s, const char *actor,
			     const char *action, const char *kind, const char *detail, int64_t now, int64_t *id)
{
	char object[64];
	int ret, rc;

	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		ret = store_errno(c, rc) ?: -EIO;
		goto out;
	}
	*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	snprintf(object, sizeof(object), "%s:%lld", kind, (long long)*id);
	ret = store_audit_insert(c, now, actor, action, object, "success", detail);
	if (ret < 0)
		goto out;
	return store_tx_commit(st, c);
out:
	store_tx_rollback(st, c);
	return ret;
}

int store_api_token_create(struct kw_store *st, const char *name, const uint8_t hash[KW_TOKEN_HASH_LEN],
			   const char *actor, int64_t now, int64_t *id)
{
	static const char sql[] = "INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?) RETURNING id";
	char detail[KW_STORE_NAME_MAX + 8];
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
	if (!s) {
		store_tx_rollback(st, c);
		ret = -EIO;
		goto put;
	}
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, hash, KW_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	snprintf(detail, sizeof(detail), "name=%s", name);
	ret = insert_with_audit(st, c, s, actor, "api_token_create", "api-token", detail, now, id);
put:
	store_conn_put(st, c);
	return ret;
}

int store_api_token_lookup(struct kw_store *st, const uint8_t hash[KW_TOKEN_HASH_LEN], struct kw_api_token *out)
{
	static const char sql[] = "SELECT id, name, created_at FROM api_tokens WHERE token_hash = ?";
	struct kw_conn *c;
	sqlite3_stmt *s;
	int ret, rc;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	s = store_stmt(c, sql);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_blob(s, 1, hash, KW_TOKEN_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->id = store_col_int(s, 0);
		store_col_text(s, 1, out->name, sizeof(out->name));
		out->created_at = store_col_int(s, 2);
	}
	ret = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : store_errno(c, rc);
out:
	store_conn_put(st, c);
	return ret;
}

int store_api_token_delete(struct kw_store *st, int64_t id, const char *actor, int64_t now)
{
	static const char sql[] = "DELETE FROM api_tokens WHERE id = ?1 AND ?2 IS NOT NULL";

	return store_change_one(st, sql, id, now, actor, "api_token_delete", "api-token");
}

int store_api_token_list(struct kw_store *st, int (*fn)(const struct kw_api_token *t, void *arg), void *arg)
{
	static const char sql[] = "SELECT id, name, created_at FROM api_tokens ORDER BY id";
	struct kw_api_token t;
	struct kw_conn *c;
	sqlite3_stmt *s;
	int ret, rc;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	s = store_stmt(c, sql);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		t.id = store_col_int(s, 0);
		store_col_text(s, 1, t.name, sizeof(t.name));
		t.created_at = store_col_int(s, 2);
		ret = fn(&t, arg);
		if (ret < 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : store_errno(c, rc);
out:
	store_conn_put(st, c);
	return ret;
}

int store_enrollment_token_create(struct kw_store *st, const char *username, enum kw_device_role role,
				  int64_t expires_at, int64_t uses, const uint8_t hash[KW_TOKEN_HASH_LEN],
				  const char *actor, int64_t now, int64_t *id)
{
	static const char sql[] =
		"INSERT INTO enrollment_tokens (username, role, token_hash, created_at, expires_at, uses_total, "
		"uses_left, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
	char detail[KW_STORE_NAME_MAX + 64];
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
	if (!s) {
		store_tx_rollback(st, c);
		ret = -EIO;
		goto put;
	}
	sqlite3_bind_text(s, 1, username, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, store_role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, hash, KW_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, expires_at);
	sqlite3_bind_int64(s, 6, uses);
	sqlite3_bind_int64(s, 7, uses);
	sqlite3_bind_text(s, 8, actor, -1, SQLITE_STATIC);
	snprintf(detail, sizeof(detail), "username=%s role=%s uses=%lld", username, store_role_name(role),
		 (long long)uses);
	ret = insert_with_audit(st, c, s, actor, "enrollment_token_create", "enrollment-token", detail, now, id);
put:
	store_conn_put(st, c);
	return ret;
}

int store_enrollment_token_revoke(struct kw_store *st, int64_t id, const char *actor, int64_t now)
{
	static const char sql[] = "UPDATE enrollment_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";

	return store_change_one(st, sql, id, now, actor, "enrollment_token_revoke", "enrollment-token");
}

int store_enrollment_token_list(struct kw_store *st,
				int (*fn)(const struct kw_enrollment_token *t, void *arg), void *arg)
{
	static const char sql[] = "SELECT id, username, role, created_at, expires_at, uses_left, uses_total, "
				  "coalesce(revoked_at, 0), created_by FROM enrollment_tokens ORDER BY id";
	struct kw_enrollment_token t;
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
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		t.id = store_col_int(s, 0);
		store_col_text(s, 1, t.username, sizeof(t.username));
		store_col_text(s, 2, role, sizeof(role));
		if (store_role_parse(role, &t.role) < 0)
			t.role = KW_DEV_DEVICE;
		t.created_at = store_col_int(s, 3);
		t.expires_at = store_col_int(s, 4);
		t.uses_left = store_col_int(s, 5);
		t.uses_total = store_col_int(s, 6);
		t.revoked_at = store_col_int(s, 7);
		store_col_text(s, 8, t.created_by, sizeof(t.created_by));
		ret = fn(&t, arg);
		if (ret < 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : store_errno(c, rc);
out:
	store_conn_put(st, c);
	return ret;
}
