/* A keywayd server context on a fresh temporary state directory, for the Check suites. */
#ifndef KW_SERVER_FIXTURE_H
#define KW_SERVER_FIXTURE_H

#include "api/api.h"
#include "core/conf.h"
#include "store/store.h"

struct kw_migration;

struct fixture {
	char dir[64];
	char db[128];    /* SQLite: the database file */
	char pgdb[64];   /* PostgreSQL: the database's name */
	bool pg_other;   /* PostgreSQL: the "fresh" database was made */
	struct kw_conf conf;
	struct kw_server srv;
};

/* cidr e.g. "10.77.0.0/16"; quarantine in seconds. Aborts the test on failure. */
void fixture_up(struct fixture *f, const char *cidr, int64_t quarantine);
void fixture_down(struct fixture *f);
/* KW_STORE_BACKEND=postgresql (with KW_STORE_CONNINFO, KW_STORE_PASSWORD_FILE): each fixture
 * runs on a fresh PostgreSQL database instead of an SQLite file. */
bool fixture_pg(void);
/* Open the fixture's database (other NULL) or another one beside it (e.g. "fresh"), with
 * the migrations list (NULL: the backend's own). Returns the store's result. */
int fixture_open(struct fixture *f, const char *other, const struct kw_store_net *net,
		 const struct kw_migration *list, unsigned n, struct kw_store **out);
/* Its database dropped (the store closed first): the next fixture_open starts empty. */
void fixture_reset_db(struct fixture *f);
/* The backend's migration list. */
const struct kw_migration *fixture_migrations(unsigned *n);
/* Run sql on a separate connection to the database: its rows as text lines ("col col\n"),
 * blobs as "blobN", NULL when the statement failed. New, free(). */
char *fixture_sql(struct fixture *f, const char *other, const char *sql);
/* The integer in the first column of the first row. */
long fixture_scalar(struct fixture *f, const char *sql);
/* Count rows of a table through a separate connection. */
long fixture_count(struct fixture *f, const char *table);
/* A dump of every row of every table (to compare before/after a rejected call). New, free(). */
char *fixture_dump(struct fixture *f);

/* Admin API token principal on a fresh request. */
void fixture_req(struct fixture *f, struct kw_req *req, const char *method, const char *path,
		 enum kw_principal_kind kind, enum kw_role role, int64_t id, const char *username);
/* Create an enrollment token; returns its text in buf. */
void fixture_enroll_token(struct fixture *f, const char *username, enum kw_device_role role, int64_t uses,
			  char buf[64]);
/* Enroll with pub when it is non-empty, else a fresh random key (copied to pub when not NULL);
 * returns store_enroll's result, *d filled. */
int fixture_enroll(struct fixture *f, const char *token, int64_t now, struct kw_device *d, char pub[45]);

#endif
