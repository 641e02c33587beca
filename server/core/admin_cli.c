#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin_cli.h"
#include "fileutil.h"
#include "store/store.h"
#include "token.h"

static int usage(void)
{
	fprintf(stderr, "usage: keywayd [-c FILE] admin-token create --name NAME\n");
	return 2;
}

int admin_cli_main(const struct kw_conf *conf, int argc, char **argv)
{
	char path[PATH_MAX], text[KW_TOKEN_TEXT_MAX];
	uint8_t hash[KW_TOKEN_HASH_BYTES];
	const char *name = NULL;
	struct kw_store *st = NULL;
	int64_t id;
	int ret;

	if (argc < 2 || strcmp(argv[0], "admin-token") != 0 || strcmp(argv[1], "create") != 0)
		return usage();
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strncmp(argv[i], "--name=", 7) == 0)
			name = argv[i] + 7;
		else
			return usage();
	}
	if (!name || !*name || strlen(name) > 128) {
		fprintf(stderr, "keywayd: admin-token create: --name of 1 to 128 characters is required\n");
		return 2;
	}
	ret = dir_ensure(conf->state_dir, 0700);
	if (ret < 0) {
		fprintf(stderr, "keywayd: cannot create state directory %s: %s\n", conf->state_dir, strerror(-ret));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/keyway.db", conf->state_dir);
	ret = store_open(path, NULL, &st);
	if (ret < 0) {
		fprintf(stderr, "keywayd: cannot open database %s: %s\n", path, strerror(-ret));
		return 1;
	}
	token_new(text, KW_TOKEN_PREFIX_API, hash);
	ret = store_api_token_create(st, name, hash, "cli", (int64_t)time(NULL), &id);
	store_close(st);
	if (ret < 0) {
		sodium_memzero(text, sizeof(text));
		fprintf(stderr, "keywayd: cannot create the token: %s\n", strerror(-ret));
		return 1;
	}
	/* The only time the token is ever shown. */
	printf("%s\n", text);
	fflush(stdout);
	sodium_memzero(text, sizeof(text));
	fprintf(stderr, "keywayd: admin API token id=%lld name=%s created; it is shown only once\n", (long long)id,
		name);
	return 0;
}
