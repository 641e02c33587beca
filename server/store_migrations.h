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

#endif
