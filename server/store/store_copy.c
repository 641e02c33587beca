/*
 * Copying a whole database into an empty one (keywayd migrate-store): every row of every
 * table with its id, in one write transaction on the target, through both backends' own
 * statements; the target's identity counters then continue after the copied ids.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_internal.h"

/* A table: its SELECT and INSERT, and its columns' types (i integer, t text, b 32-byte hash). */
struct copy_table {
	const char *name;
	enum kw_sql sel, ins;
	const char *types;
};

/* In an order that satisfies the foreign keys. */
static const struct copy_table tables[] = {
	{ "meta", KW_SQL_COPY_SELECT_META, KW_SQL_COPY_INSERT_META, "tit" },
	{ "api_tokens", KW_SQL_COPY_SELECT_API_TOKENS, KW_SQL_COPY_INSERT_API_TOKENS, "itbiti" },
	{ "enrollment_tokens", KW_SQL_COPY_SELECT_ENROLLMENT_TOKENS, KW_SQL_COPY_INSERT_ENROLLMENT_TOKENS, "ittbiiiiit" },
	{ "sites", KW_SQL_COPY_SELECT_SITES, KW_SQL_COPY_INSERT_SITES, "ittitii" },
	{ "enrollment_token_sites", KW_SQL_COPY_SELECT_ENROLLMENT_TOKEN_SITES, KW_SQL_COPY_INSERT_ENROLLMENT_TOKEN_SITES, "ii" },
	{ "devices", KW_SQL_COPY_SELECT_DEVICES, KW_SQL_COPY_INSERT_DEVICES, "ittttttitttibiiiiii" },
	{ "gateway_sites", KW_SQL_COPY_SELECT_GATEWAY_SITES, KW_SQL_COPY_INSERT_GATEWAY_SITES, "ii" },
	{ "gateway_health", KW_SQL_COPY_SELECT_GATEWAY_HEALTH, KW_SQL_COPY_INSERT_GATEWAY_HEALTH, "iiii" },
	{ "retired_keys", KW_SQL_COPY_SELECT_RETIRED_KEYS, KW_SQL_COPY_INSERT_RETIRED_KEYS, "tii" },
	{ "address_leases", KW_SQL_COPY_SELECT_ADDRESS_LEASES, KW_SQL_COPY_INSERT_ADDRESS_LEASES, "iii" },
	{ "sessions", KW_SQL_COPY_SELECT_SESSIONS, KW_SQL_COPY_INSERT_SESSIONS, "ibttbiii" },
	{ "audit", KW_SQL_COPY_SELECT_AUDIT, KW_SQL_COPY_INSERT_AUDIT, "iittttt" },
	{ "policies", KW_SQL_COPY_SELECT_POLICIES, KW_SQL_COPY_INSERT_POLICIES, "ititttii" },
	{ "group_members", KW_SQL_COPY_SELECT_GROUP_MEMBERS, KW_SQL_COPY_INSERT_GROUP_MEMBERS, "tt" },
};

#define COPY_MAX_COLS 20

struct copy_ctx {
	const struct copy_table *t;
	struct kw_conn *to;
	int64_t rows;
};

static int copy_row(const struct kw_row *r, void *arg)
{
	struct copy_ctx *x = arg;
	uint8_t blobs[COPY_MAX_COLS][KW_TOKEN_HASH_LEN];
	struct kw_bind b[COPY_MAX_COLS];
	unsigned n = 0;
	int ret;

	for (const char *ty = x->t->types; *ty && n < COPY_MAX_COLS; ty++, n++) {
		int col = (int)n;

		if (store_col_null(r, col)) {
			b[n] = STORE_NULL;
		} else if (*ty == 'i') {
			b[n] = STORE_INT(store_col_int(r, col));
		} else if (*ty == 't') {
			b[n] = STORE_TEXT(store_col_str(r, col));
		} else {
			ret = store_col_blob(r, col, blobs[n], KW_TOKEN_HASH_LEN);
			if (ret < 0) {
				log_error("store: copy: %s: a hash of the wrong length", x->t->name);
				return ret;
			}
			b[n] = STORE_HASH(blobs[n]);
		}
	}
	ret = store_exec(x->to, x->t->ins, b, n);
	if (ret < 0)
		log_error("store: copy: %s: row %lld refused: %s", x->t->name, (long long)x->rows + 1, strerror(-ret));
	x->rows++;
	return ret;
}

int store_copy_all(struct kw_store *from, struct kw_store *to)
{
	struct copy_ctx x = { .t = NULL };
	int64_t n = 0;
	int ret;

	ret = store_write_begin(to, &x.to);
	if (ret < 0)
		return ret;
	ret = store_exec_int(x.to, KW_SQL_COPY_COUNT, NULL, 0, &n);
	if (ret == 0 && n > 0) {
		log_error("store: copy: the target database is not empty (%lld rows): refusing", (long long)n);
		ret = -ENOTEMPTY;
	}
	for (unsigned i = 0; ret == 0 && i < sizeof(tables) / sizeof(tables[0]); i++) {
		x.t = &tables[i];
		x.rows = 0;
		ret = store_query(from, tables[i].sel, NULL, 0, copy_row, &x);
		if (ret == 0)
			log_info("store: copy: %s rows=%lld", tables[i].name, (long long)x.rows);
	}
	if (ret == 0)
		ret = to->ops->script(x.to, to->ops->sql[KW_SQL_COPY_FIX_IDS], "identity counters");
	return store_write_end(to, x.to, ret);
}
