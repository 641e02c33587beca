#include "config.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "state.h"

#define CLI_MAX_OPTS 24
#define CLI_STATE_VAL 1000
#define CLI_HELP_VAL 1001

int cli_parse_long(const char *text, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	if (!text[0] || text[0] == ' ' || text[0] == '\t')
		return -EINVAL;
	v = strtol(text, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Store one option's value; 0 or an error line already printed (-EINVAL). */
static int cli_store(const struct cli_opt *o, const char *arg)
{
	int ret;

	switch (o->kind) {
	case CLI_FLAG: *(bool *)o->dst = true; return 0;
	case CLI_STRING: *(const char **)o->dst = arg; return 0;
	case CLI_BUF:
		if (strlen(arg) >= o->cap) {
			agent_errorf("--%s: value too long (at most %zu bytes)", o->name, o->cap - 1);
			return -EINVAL;
		}
		strcpy(o->dst, arg);
		return 0;
	case CLI_LONG:
		ret = cli_parse_long(arg, o->min, o->max, o->dst);
		if (ret == -EINVAL)
			agent_errorf("--%s: '%s' is not a whole number", o->name, arg);
		else if (ret < 0)
			agent_errorf("--%s: %s is out of range (%ld..%ld)", o->name, arg, o->min, o->max);
		return ret < 0 ? -EINVAL : 0;
	}
	return -EINVAL;
}

int cli_parse(int argc, char **argv, const char *usage, const struct cli_opt *opts, size_t n,
	      char state_dir[PATH_MAX])
{
	struct option lo[CLI_MAX_OPTS + 3];
	size_t i;
	int c;

	if (n > CLI_MAX_OPTS)
		return 2;
	for (i = 0; i < n; i++)
		lo[i] = (struct option){ opts[i].name,
					 opts[i].kind == CLI_FLAG ? no_argument : required_argument,
					 NULL, (int)i };
	lo[n] = (struct option){ "state", required_argument, NULL, CLI_STATE_VAL };
	lo[n + 1] = (struct option){ "help", no_argument, NULL, CLI_HELP_VAL };
	lo[n + 2] = (struct option){ NULL, 0, NULL, 0 };
	strcpy(state_dir, AGENT_STATE_DIR_DEFAULT);
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h' || c == CLI_HELP_VAL) {
			fputs(usage, stdout);
			return 0;
		}
		if (c == CLI_STATE_VAL) {
			if (strlen(optarg) >= PATH_MAX) {
				agent_errorf("--state: path too long");
				return 2;
			}
			strcpy(state_dir, optarg);
			continue;
		}
		if (c < 0 || (size_t)c >= n || cli_store(&opts[c], optarg) < 0) {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		agent_errorf("unexpected argument '%s'", argv[optind]);
		fputs(usage, stderr);
		return 2;
	}
	return CLI_CONTINUE;
}

int cli_state_load(struct agent_state *st)
{
	int ret = state_load(st);

	if (ret == -ENOENT)
		agent_errorf("not enrolled (no state in %s); run `keyway-agent enroll` first", st->dir);
	else if (ret == -EPERM || ret == -ENOTDIR)
		agent_errorf("state directory %s refused: it, or a secret in it, is not a directory "
			     "owned by this user, or is readable by others", st->dir);
	else if (ret < 0)
		agent_errorf("cannot read the state in %s: %s", st->dir, strerror(-ret));
	return ret;
}

int cli_begin(int argc, char **argv, const char *usage, const struct cli_opt *opts, size_t n,
	      struct agent_state *st)
{
	int ret;

	memset(st, 0, sizeof(*st));
	ret = cli_parse(argc, argv, usage, opts, n, st->dir);
	if (ret != CLI_CONTINUE)
		return ret;
	return cli_state_load(st) < 0 ? 1 : CLI_CONTINUE;
}
