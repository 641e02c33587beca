/*
 * Command-line parsing shared by the subcommands: each declares its options as a table
 * (name, kind, destination, range) and cli_parse() fills them. Every subcommand takes
 * --state DIR (default AGENT_STATE_DIR_DEFAULT) and --help, so those are built in.
 * A bad value is one readable line on stderr and exit status 2.
 */
#ifndef KW_AGENT_CLI_H
#define KW_AGENT_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum cli_kind {
	CLI_FLAG,   /* no argument; dst is bool * */
	CLI_STRING, /* dst is const char ** (points into argv) */
	CLI_BUF,    /* dst is char[cap]; too long is an error, never truncated */
	CLI_LONG,   /* dst is long *; decimal, min..max, else an error */
};

struct cli_opt {
	const char *name; /* without the leading "--" */
	enum cli_kind kind;
	void *dst;
	size_t cap;    /* CLI_BUF: size of dst */
	long min, max; /* CLI_LONG: accepted range */
};

/* cli_parse() returns this when the subcommand should go on. */
#define CLI_CONTINUE (-1)

/*
 * Parse argv[1..] (argv[0] is the subcommand) against opts (n entries) plus the
 * built-in --state and --help. state_dir (PATH_MAX) receives --state or the default.
 * Returns CLI_CONTINUE, or the exit status the subcommand should return at once:
 * 0 after --help (usage on stdout), 2 after a bad option or value (one line and the
 * usage on stderr). Positional arguments are refused.
 */
int cli_parse(int argc, char **argv, const char *usage, const struct cli_opt *opts, size_t n,
	      char state_dir[PATH_MAX]);

/* A decimal integer in min..max: 0, or -EINVAL (not a number) / -ERANGE. */
int cli_parse_long(const char *text, long min, long max, long *out);

struct agent_state;
/* state_load() with one readable line on stderr when it fails (not enrolled, a state
 * directory refused by state_dir_secure, …). 0 or the negative errno. */
int cli_state_load(struct agent_state *st);
/* The start of a subcommand that works on an enrolled state: *st cleared, cli_parse() into st->dir, then
 * cli_state_load(). CLI_CONTINUE, or the exit status to return at once (1: no usable state). */
int cli_begin(int argc, char **argv, const char *usage, const struct cli_opt *opts, size_t n,
	      struct agent_state *st);

#endif
