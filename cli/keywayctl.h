/* keywayctl: the admin command line of Keyway. Shared declarations of the small files
 * in cli/: main.c dispatches, conf.c finds the controller and the token, http.c is the
 * REST client, table.c prints human tables, cmd.c runs one request and prints its
 * answer, and one file per resource (devices.c, tokens.c, users.c, audit.c, ldap.c,
 * sites.c, policies.c) owns its subcommands. */
#ifndef KEYWAYCTL_H
#define KEYWAYCTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Exit codes scripts can rely on. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_API = 1,	/* the controller answered 4xx/5xx (or an answer that is not the API's) */
	CTL_EXIT_USAGE = 2,	/* bad command line or configuration */
	CTL_EXIT_CONNECT = 3,	/* cannot reach the controller: DNS, connection, TLS, timeout */
};

#define CTL_URL_MAX 512
#define CTL_TOKEN_MAX 256
#define CTL_PATH_MAX 1024

struct ctl {
	char url[CTL_URL_MAX];		/* base URL, no trailing slash */
	char token[CTL_TOKEN_MAX];	/* admin API token; zeroed by ctl_conf_wipe() */
	char ca_file[CTL_URL_MAX];	/* optional CA bundle for https */
	long timeout;			/* seconds per request */
	bool json;			/* --json: print the API's JSON as it came */
	bool insecure_http;		/* allow http:// to a host that is not loopback */
	bool loaded;			/* url and token found (ctl_conf_load ran) */
	const char *config_path;	/* --config, else the default places */
	void *http;			/* the curl handle, owned by http.c */
};

/* One subcommand group ("devices", "tokens", ...). Adding a resource (sites, policies)
 * is one file with its run function and one line in main.c's table. */
struct ctl_group {
	const char *name;
	const char *alias;
	int (*run)(struct ctl *c, int argc, char **argv);
	const char *summary;
};

int ctl_devices(struct ctl *c, int argc, char **argv);
int ctl_tokens(struct ctl *c, int argc, char **argv);
int ctl_users(struct ctl *c, int argc, char **argv);
int ctl_audit(struct ctl *c, int argc, char **argv);
int ctl_ldap(struct ctl *c, int argc, char **argv);
int ctl_sites(struct ctl *c, int argc, char **argv);
int ctl_policies(struct ctl *c, int argc, char **argv);

/* conf.c */
/* Finds url and token: KEYWAY_URL / KEYWAY_TOKEN, else the config file (--config, else
 * ~/.config/keyway/keywayctl.conf, else /etc/keyway/keywayctl.conf), which must be 0600. */
int ctl_conf_load(struct ctl *c);
void ctl_conf_wipe(struct ctl *c);

/* http.c: one request. Returns CTL_EXIT_OK with *out (owned by the caller, may be NULL
 * for an empty answer), or an exit code after printing one line on stderr. When
 * --json is set the raw body of a successful answer is printed too (raw_printed). */
int ctl_http(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out);
void ctl_http_close(struct ctl *c);
/* Appends "&key=value" (or "?key=value" first) with value URL-encoded; -ENOSPC if too long. */
int ctl_query_add(char *path, size_t len, const char *key, const char *value);
/* Builds "/api/v1/<prefix>/<escaped id><suffix>". */
int ctl_path_id(char *path, size_t len, const char *prefix, const char *id, const char *suffix);
/* Prints the JSON answer for --json, pretty and key-ordered as received. */
void ctl_print_json(const json_t *j);

/* table.c */
struct ctl_table;
struct ctl_table *ctl_table_new(const char *const *headers, size_t ncols);
int ctl_table_add(struct ctl_table *t, const char *const *cells);
void ctl_table_print(const struct ctl_table *t);
void ctl_table_free(struct ctl_table *t);
/* One JSON value as table text: strings as they are, null as "-", times as UTC. */
const char *ctl_cell(const json_t *v, char *buf, size_t len);
const char *ctl_time(const json_t *v, char *buf, size_t len);
/* A JSON array of strings as "a, b" ("-" when empty); other items as compact JSON. */
const char *ctl_join(const json_t *a, char *buf, size_t len);
/* key: value lines for one object, in the order of keys given (NULL-terminated). */
void ctl_print_fields(const json_t *obj, const char *const *keys);

/* cmd.c: the request -> answer -> exit code flow of every subcommand. */
#define CTL_COLS_MAX 16
/* One table column: the header, the item's field (NULL: the whole item goes to cell),
 * and how it is written (NULL: ctl_cell). */
struct ctl_col {
	const char *head;
	const char *key;
	const char *(*cell)(const json_t *v, char *buf, size_t len);
};
/* A table of the array answer[key] (key NULL: the answer is the array). */
struct ctl_view {
	const char *key;
	const struct ctl_col *cols;
	size_t ncols;
};
#define CTL_NCOLS(cols) (sizeof(cols) / sizeof((cols)[0]))
/* Prints one answer for people; arg is what the function needs; returns an exit code. */
typedef int (*ctl_show_fn)(const json_t *answer, const void *arg);
/* An aligned table of a JSON array's objects; CTL_EXIT_OK or an exit code. */
int ctl_table_list(const json_t *list, const struct ctl_col *cols, size_t ncols);
int ctl_show_table(const json_t *answer, const void *view);   /* arg: struct ctl_view */
int ctl_show_fields(const json_t *answer, const void *keys);  /* arg: NULL-ended keys */
int ctl_show_text(const json_t *answer, const void *text);    /* arg: one line of text */
/* Prints out as it came with --json, else through show (NULL: nothing), and frees it. */
int ctl_answer(struct ctl *c, json_t *out, ctl_show_fn show, const void *arg);
/* ctl_http, then ctl_answer on success; returns the exit code. */
int ctl_request(struct ctl *c, const char *method, const char *path, json_t *body, ctl_show_fn show,
		const void *arg);
/* A list subcommand without options: GET path, shown as view. */
int ctl_list(struct ctl *c, int argc, char **argv, const char *usage, const char *path,
	     const struct ctl_view *view);

/* The end of a group's dispatch: its usage on stdout for help (exit 0), else "unknown
 * GROUP command SUB" and the usage on stderr (exit 2). */
int ctl_group_usage(const char *group, const char *sub, const char *usage);
/* ctl_path_id for a positive decimal id; 0, or a usage error naming WHAT ("device"). */
int ctl_id_path(char *path, size_t len, const char *what, const char *prefix, const char *id, const char *suffix);

/* main.c helpers shared by the groups */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool ctl_is_help(const char *arg);
/* Options of one subcommand: "--name VALUE", "--name=VALUE", or a flag ("--name"). */
struct ctl_opt {
	const char *name;
	const char **value; /* for an option with a value */
	bool *flag;	    /* for a flag */
	json_t *list;	    /* for a repeatable option: each value appended as a JSON string */
};
#define CTL_OPT(n, v) { .name = (n), .value = (v), .flag = NULL, .list = NULL }
#define CTL_FLAG(n, f) { .name = (n), .value = NULL, .flag = (f), .list = NULL }
#define CTL_LIST(n, l) { .name = (n), .value = NULL, .flag = NULL, .list = (l) }
#define CTL_OPT_END { .name = NULL, .value = NULL, .flag = NULL, .list = NULL }
/* Parses argv (after the subcommand) against opts; exactly npos positional arguments
 * go to pos[]. Returns 0, or CTL_EXIT_USAGE after printing one line and the usage. */
int ctl_parse(int argc, char **argv, const struct ctl_opt *opts, const char **pos, size_t npos,
	      const char *usage);
/* Checks that arg is a positive decimal id. */
bool ctl_valid_id(const char *arg);

/* policies.c: one destination {"cidr","protocol","ports"} as "CIDR[:PROTO[:PORTS]]". */
const char *ctl_dest_text(const json_t *d, char *buf, size_t len);
/* sites.c: "ID" as it is, or a site NAME looked up in the site list; 0 or an exit code. */
int ctl_site_ref(struct ctl *c, const char *ref, char *id, size_t len);

#endif
