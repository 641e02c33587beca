/* Admin API tokens and enrollment tokens (hashes only). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

int store_api_token_create(struct kw_store *st, const char *name, const uint8_t hash[KW_TOKEN_HASH_LEN],
			   const char *actor, int64_t now, int64_t *id)
{
	return store_api_token_create_ex(st, name, hash, actor, 0, now, id);
}

int store_api_token_create_ex(struct kw_store *st, const char *name, const uint8_t hash[KW_TOKEN_HASH_LEN],
			      const char *actor, int64_t expires_at, int64_t now, int64_t *id)
{
	static const char sql[] = "INSERT INTO api_tokens (name, token_hash, created_at, owner, expires_at) "
				  "VALUES (?, ?, ?, ?, ?) RETURNING id";
	char detail[2 * KW_STORE_NAME_MAX + 48];

	snprintf(detail, sizeof(detail), "name=%s owner=%s expires_at=%lld", name, actor ? actor : "",
		 (long long)expires_at);
	return store_insert_one(st, sql,
				STORE_BINDS(STORE_TEXT(name), STORE_HASH(hash), STORE_INT(now),
					    STORE_TEXT(actor ? actor : ""),
					    expires_at > 0 ? STORE_INT(expires_at) : STORE_NULL),
				actor, "api_token_create", "api-token", detail, now, id);
}

/* Row of "SELECT id, name, created_at, owner, expires_at" into the struct kw_api_token at arg. */
static int api_token_row(sqlite3_stmt *s, void *arg)
{
	struct kw_api_token *t = arg;

	t->id = store_col_int(s, 0);
	store_col_text(s, 1, t->name, sizeof(t->name));
	t->created_at = store_col_int(s, 2);
	store_col_text(s, 3, t->owner, sizeof(t->owner));
	t->expires_at = store_col_int(s, 4);
	return 0;
}

int store_api_token_lookup_at(struct kw_store *st, const uint8_t hash[KW_TOKEN_HASH_LEN], int64_t now,
			      struct kw_api_token *out)
{
	static const char sql[] = "SELECT id, name, created_at, owner, expires_at FROM api_tokens WHERE token_hash = ?";
	int ret = store_query_one(st, sql, STORE_BINDS(STORE_HASH(hash)), api_token_row, out);

	return ret == 0 && out->expires_at > 0 && out->expires_at <= now ? -EKEYEXPIRED : ret;
}

int store_api_token_lookup(struct kw_store *st, const uint8_t hash[KW_TOKEN_HASH_LEN], struct kw_api_token *out)
{
	return store_api_token_lookup_at(st, hash, (int64_t)time(NULL), out);
}

int store_api_token_delete(struct kw_store *st, int64_t id, const char *actor, int64_t now)
{
	static const char sql[] = "DELETE FROM api_tokens WHERE id = ?1 AND ?2 IS NOT NULL";

	return store_change_one(st, sql, id, now, actor, "api_token_delete", "api-token");
}

struct api_token_each {
	int (*fn)(const struct kw_api_token *t, void *arg);
	void *arg;
};

static int api_token_each(sqlite3_stmt *s, void *arg)
{
	const struct api_token_each *e = arg;
	struct kw_api_token t;

	api_token_row(s, &t);
	return e->fn(&t, e->arg);
}

int store_api_token_list(struct kw_store *st, int (*fn)(const struct kw_api_token *t, void *arg), void *arg)
{
	static const char sql[] = "SELECT id, name, created_at, owner, expires_at FROM api_tokens ORDER BY id";
	struct api_token_each e = { fn, arg };

	return store_query(st, sql, NULL, 0, api_token_each, &e);
}

int store_enrollment_token_create(struct kw_store *st, const char *username, enum kw_device_role role,
				  int64_t expires_at, int64_t uses, const uint8_t hash[KW_TOKEN_HASH_LEN],
				  const char *actor, int64_t now, int64_t *id)
{
	static const char sql[] =
		"INSERT INTO enrollment_tokens (username, role, token_hash, created_at, expires_at, uses_total, "
		"uses_left, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
	char detail[KW_STORE_NAME_MAX + 64];

	snprintf(detail, sizeof(detail), "username=%s role=%s uses=%lld", username, store_role_name(role),
		 (long long)uses);
	return store_insert_one(st, sql,
				 STORE_BINDS(STORE_TEXT(username), STORE_TEXT(store_role_name(role)), STORE_HASH(hash),
					     STORE_INT(now), STORE_INT(expires_at), STORE_INT(uses), STORE_INT(uses),
					     STORE_TEXT(actor)),
				 actor, "enrollment_token_create", "enrollment-token", detail, now, id);
}

int store_enrollment_token_revoke(struct kw_store *st, int64_t id, const char *actor, int64_t now)
{
	static const char sql[] = "UPDATE enrollment_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";

	return store_change_one(st, sql, id, now, actor, "enrollment_token_revoke", "enrollment-token");
}

struct enrollment_token_each {
	int (*fn)(const struct kw_enrollment_token *t, void *arg);
	void *arg;
};

static int enrollment_token_each(sqlite3_stmt *s, void *arg)
{
	const struct enrollment_token_each *e = arg;
	struct kw_enrollment_token t;
	char role[16];

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
	return e->fn(&t, e->arg);
}

int store_enrollment_token_list(struct kw_store *st,
				int (*fn)(const struct kw_enrollment_token *t, void *arg), void *arg)
{
	static const char sql[] = "SELECT id, username, role, created_at, expires_at, uses_left, uses_total, "
				  "coalesce(revoked_at, 0), created_by FROM enrollment_tokens ORDER BY id";
	struct enrollment_token_each e = { fn, arg };

	return store_query(st, sql, NULL, 0, enrollment_token_each, &e);
}
