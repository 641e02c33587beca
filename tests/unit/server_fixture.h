/* A keywayd server context on a fresh temporary state directory, for the Check suites. */
#ifndef KW_SERVER_FIXTURE_H
#define KW_SERVER_FIXTURE_H

#include "api/api.h"
#include "core/conf.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	char db[128];
	struct kw_conf conf;
	struct kw_server srv;
};

/* cidr e.g. "10.77.0.0/16"; quarantine in seconds. Aborts the test on failure. */
void fixture_up(struct fixture *f, const char *cidr, int64_t quarantine);
void fixture_down(struct fixture *f);
/* Count rows of a table through a separate SQLite connection. */
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
