/*
 * `keywayd [-c FILE] migrate-store --to postgresql`: copy this install's SQLite database
 * (state_dir/keyway.db) into the empty PostgreSQL database that [store] names, every row
 * intact (devices, addresses, keys ever used, tokens, sessions, audit, versions), so agents
 * notice nothing when keywayd restarts on it. A non-empty target is refused.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin_cli.h"
#include "store/store.h"
#include "store_conf.h"

int migrate_cli_main(const struct kw_conf *conf, int argc, char **argv)
{
	struct kw_store *from = NULL, *to = NULL;
	char path[KW_CONF_STR_MAX + 16];
	int ret;

	if (argc != 3 || strcmp(argv[1], "--to") != 0 || strcmp(argv[2], "postgresql") != 0) {
		fprintf(stderr, "usage: keywayd [-c FILE] migrate-store --to postgresql\n");
		return 2;
	}
	if (strcmp(conf->store_backend, "postgresql") != 0) {
		fprintf(stderr, "keywayd: migrate-store: set [store] backend = postgresql and conninfo first\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/keyway.db", conf->state_dir);
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "keywayd: migrate-store: no SQLite database at %s\n", path);
		return 1;
	}
	ret = store_open(path, NULL, &from);
	if (ret == 0)
		ret = store_conf_open(conf, NULL, &to);
	if (ret == 0)
		ret = store_copy_all(from, to);
	store_close(to);
	store_close(from);
	if (ret < 0) {
		fprintf(stderr, "keywayd: migrate-store: failed, PostgreSQL left as it was: %s\n", strerror(-ret));
		return 1;
	}
	fprintf(stderr, "keywayd: migrate-store: %s copied into PostgreSQL; start keywayd with [store] "
			"backend = postgresql\n", path);
	return 0;
}
