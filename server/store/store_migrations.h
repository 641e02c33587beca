/* The schema migrations embedded at build time from sql/NNNN_*.sql (sql/embed.sh). */
#ifndef KW_STORE_MIGRATIONS_H
#define KW_STORE_MIGRATIONS_H

struct kw_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct kw_migration kw_migrations[];
extern const unsigned kw_migrations_count;

struct kw_store;
struct kw_store_net;
/* store_open() with another migration list (store_open passes kw_migrations): the seam the
 * Check suite uses to prove that a failing migration leaves the database as it was. */
int store_open_migrations(const char *path, const struct kw_store_net *net, const struct kw_migration *list,
			  unsigned count, struct kw_store **out);

#endif
