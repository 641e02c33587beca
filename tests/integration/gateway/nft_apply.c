/*
 * Test and benchmark driver for agent/policy.c + agent/nft.c: loads the access policy of
 * a config payload (a JSON file) into nftables exactly as the gateway agent does.
 *   nft-apply apply IFNAME [--dry-run] PAYLOAD.json...
 *       parse, compile and apply each payload in turn, one line of figures for each;
 *       like the agent, the process keeps what it loaded, so the second and later
 *       versions go in as differences. The pseudo payload "--remove-behind" deletes
 *       the table without telling that state (as a firewall reload would).
 *   nft-apply print IFNAME PAYLOAD.json             print the transaction text
 *   nft-apply remove IFNAME                         delete keyway_IFNAME
 * Exit status: 0 done, 2 config refused (malformed), 1 any other failure.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "nft.h"
#include "policy.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this process, user + system: the kernel's part of a transaction runs in
 * the sending process, so this is the apply's cost whatever else shares the machine. */
static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int load(const char *path, struct policy_set **ps)
{
	json_error_t je;
	json_t *payload = json_load_file(path, 0, &je);
	int ret;

	if (!payload) {
		fprintf(stderr, "nft-apply: %s:%d: %s\n", path, je.line, je.text);
		return 1;
	}
	ret = policy_set_from_json(payload, ps);
	json_decref(payload);
	if (ret < 0) {
		fprintf(stderr, "nft-apply: %s: policy refused: %s\n", path, strerror(-ret));
		return 2;
	}
	return 0;
}

static int apply_one(const char *ifname, const char *path, bool dry_run, struct nft_state **state)
{
	struct policy_set *ps = NULL;
	struct nft_stats st;
	char err[1024], *text = NULL;
	double t0 = now_ms(), t1, t2, t3, c2, c3;
	int ret = load(path, &ps);

	if (ret)
		return ret;
	t1 = now_ms();
	ret = nft_compile(ps, ifname, &text, &st); /* timed alone; nft_apply compiles again */
	t2 = now_ms();
	free(text);
	c2 = cpu_ms();
	if (ret == 0)
		ret = nft_apply(ps, ifname, dry_run, state, err, sizeof(err), &st);
	t3 = now_ms();
	c3 = cpu_ms();
	policy_set_free(ps);
	if (ret < 0) {
		fprintf(stderr, "nft-apply: %s: %s\n", strerror(-ret), ret == -EIO ? err : "");
		return ret == -EINVAL || ret == -E2BIG ? 2 : 1;
	}
	printf("parse_ms=%.1f compile_ms=%.1f compile_apply_ms=%.1f (cpu %.1f) elements=%zu "
	       "rules=%zu changed=%zu transaction=%s text_bytes=%zu\n",
	       t1 - t0, t2 - t1, t3 - t2, c3 - c2, st.elements, st.rules, st.changed,
	       st.incremental ? "difference" : "whole-table", st.text_len);
	fflush(stdout);
	return 0;
}

static int cmd_apply(const char *ifname, int argc, char **argv)
{
	struct nft_state *state = NULL;
	bool dry_run = argc > 0 && strcmp(argv[0], "--dry-run") == 0;
	char err[1024];
	int ret = 0;

	for (int i = dry_run ? 1 : 0; i < argc && ret == 0; i++) {
		if (strcmp(argv[i], "--remove-behind") != 0) {
			ret = apply_one(ifname, argv[i], dry_run, &state);
		} else if (nft_remove(ifname, err, sizeof(err)) < 0) {
			fprintf(stderr, "nft-apply: remove: %s\n", err);
			ret = 1;
		}
	}
	nft_state_free(state);
	return ret;
}

int main(int argc, char **argv)
{
	struct policy_set *ps = NULL;
	char err[1024], *text = NULL;
	int ret;

	if (argc == 3 && strcmp(argv[1], "remove") == 0) {
		ret = nft_remove(argv[2], err, sizeof(err));
		if (ret < 0)
			fprintf(stderr, "nft-apply: remove: %s %s\n", strerror(-ret), err);
		return ret < 0;
	}
	if (argc >= 4 && strcmp(argv[1], "apply") == 0)
		return cmd_apply(argv[2], argc - 3, argv + 3);
	if (argc == 4 && strcmp(argv[1], "print") == 0) {
		ret = load(argv[3], &ps);
		if (ret)
			return ret;
		ret = nft_compile(ps, argv[2], &text, NULL);
		policy_set_free(ps);
		if (ret < 0)
			return 2;
		fputs(text, stdout);
		free(text);
		return 0;
	}
	fprintf(stderr, "usage: nft-apply apply IFNAME [--dry-run] PAYLOAD.json... | print IFNAME "
			"PAYLOAD.json | remove IFNAME\n");
	return 1;
}
