/* keyway-agent: only dispatches subcommands (see agent.h). */
#include "config.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: keyway-agent COMMAND [options]\n"
		   "  enroll   generate a key pair here and enroll with the controller\n"
		   "  run      bring up the tunnel and follow the signed configs\n"
		   "  rotate   new key pair, sent to the controller, running tunnel switched over\n"
		   "  status   enrollment, controller, config version and expiry, peers\n"
		   "  COMMAND --help for its options\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "enroll", cmd_enroll },
		{ "run", cmd_run },
		{ "rotate", cmd_rotate },
		{ "status", cmd_status },
	};
	size_t i;
	int rc;

	log_set_program("keyway-agent");
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("keyway-agent %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		agent_errorf("cannot initialise libsodium/libcurl");
		return 1;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0) {
			rc = cmds[i].fn(argc - 1, argv + 1);
			curl_global_cleanup();
			return rc;
		}
	}
	agent_errorf("unknown command '%s'", argv[1]);
	usage(stderr);
	curl_global_cleanup();
	return 2;
}
