/*
 * keywayd's configuration schema: every key of the INI file is declared once, in one table
 * per section (name, type, field, default, bounds, live or restart, one line of
 * documentation). This generic engine drives everything from those tables: parsing (libinih),
 * defaults, errors "FILE:LINE: reason", the SIGHUP diff, merging the live keys, freeing, and
 * the key tables of the README and of keywayd.conf(5). Pure: no I/O but libinih reading the
 * file. Cross-field checks are small named functions in each section's own file.
 *
 * Adding a key: a field in the section's struct and one line in its table (core/conf.c for
 * [server], [network], [log], [web]; directory/ldap_config.c for [ldap]); the README's table
 * is then regenerated (server/keywayd-confdoc markdown SECTIONS; tests/unit/confdoc.sh
 * checks it). Adding a section of struct kw_conf: a table in core/conf.c and one line in
 * conf_sections[]. A section with a struct of its own (as [ldap]): its table and loader in
 * its part, and one line in server/confdoc.c's all_sections(). Either way the README gets a
 * block "<!-- keywayd-confdoc markdown NAME -->" ... "<!-- end keywayd-confdoc -->".
 */
#ifndef KW_CONFSCHEMA_H
#define KW_CONFSCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cs_type {
	CS_STRING,     /* text (char[N] in the struct, or char * with CS_ALLOC) */
	CS_PATH,       /* a file or directory name; stored as CS_STRING */
	CS_HOSTPORT,   /* "host:port" or "[v6]:port", port 1..65535; stored as CS_STRING */
	CS_BOOL,       /* yes/no, true/false, on/off, 1/0 (bool) */
	CS_INT,        /* whole number in min..max (int, unsigned or int64_t) */
	CS_DURATION,   /* seconds in min..max, or with a suffix s, m, h, d (int, unsigned or int64_t) */
	CS_ENUM,       /* one of arg's words (an int field, or char[N]: the word itself) */
	CS_FLAGS,      /* words of arg or'ed together, "none" = 0 (unsigned bit mask) */
	CS_CIDR,       /* a network (struct kw_cidr) of family arg, prefix min..max; aux: bool "set" */
	CS_CIDR_LIST,  /* networks, comma-separated (struct kw_cidr[max]); aux: the count */
	CS_URI_LIST,   /* URIs of arg's schemes, separated by spaces or commas (char *[max]); aux: count */
	CS_SECRET,     /* never set from the file (read elsewhere); compared in constant time, zeroed */
	CS_CUSTOM,     /* parsed by arg (struct cs_custom); compared over the field and aux */
};

/* Flags of a key. */
#define CS_LIVE 0x1u     /* SIGHUP applies it at once; otherwise at the next restart */
#define CS_PAYLOAD 0x2u  /* carried by every signed config: a change bumps config versions */
#define CS_ALLOC 0x4u    /* CS_STRING/PATH/HOSTPORT field is a char * owned by the struct (NULL = unset) */
#define CS_NONEMPTY 0x8u /* an empty value is an error */
#define CS_NODOC 0x10u   /* left out of the README and the man page */

struct cs_key;

/* An enum or flags word. */
struct cs_word {
	const char *word;
	int value;
	bool alias; /* accepted, never shown (e.g. "warning" for "warn") */
};

struct cs_words {
	const struct cs_word *v;
	size_t n;
};

/* A key with its own syntax: set the field(s) from value or write a reason. */
struct cs_custom {
	int (*parse)(const struct cs_key *k, void *obj, const char *value, char *reason, size_t len);
	const char *type_name; /* for the documentation, e.g. "percentage or count" */
};

struct cs_key {
	const char *name;  /* "section.key": the name SIGHUP logs */
	enum cs_type type;
	unsigned flags;
	size_t offset, size;    /* the field in the section's struct */
	size_t aux, aux_size;   /* CIDR: its "set" bool; lists: the count; CUSTOM: a second field */
	int64_t min, max;       /* INT/DURATION bounds; CIDR prefix bounds; lists: most entries */
	const void *arg;        /* ENUM/FLAGS: struct cs_words; CIDR*: the family; URI: schemes; CUSTOM */
	const char *def;        /* the default in the file's syntax; NULL: zero, empty, unset */
	const char *shown;      /* the default as the documentation says it (NULL: def) */
	const char *doc;        /* one line for the README and the man page (`code` in backquotes) */
};

struct cs_section {
	const char *name; /* "network" */
	const struct cs_key *keys;
	size_t nkeys;
};

/* A key's field: CS_FIELD(struct kw_conf, mtu). */
#define CS_FIELD(st, m) .offset = offsetof(st, m), .size = sizeof(((st *)0)->m)
#define CS_AUX(st, m) .aux = offsetof(st, m), .aux_size = sizeof(((st *)0)->m)
#define CS_NKEYS(a) (sizeof(a) / sizeof((a)[0]))
#define CS_WORDS(a) (&(const struct cs_words){ (a), CS_NKEYS(a) })

/* The key called name ("mtu") in sec, or NULL. */
const struct cs_key *cs_find(const struct cs_section *sec, const char *name);
/* "section.key" -> "key" */
const char *cs_key_short(const struct cs_key *k);

/* Every key of sec to its default (fields not in the table are left alone). -ENOMEM when
 * an allocated default cannot be copied (the field then stays NULL). */
int cs_defaults(const struct cs_section *sec, void *obj);
/* Set one key from its text as the file would; 0, -EINVAL with reason "key: why", -ENOMEM. */
int cs_set(const struct cs_section *sec, void *obj, const char *name, const char *value, char *reason,
	   size_t len);
/* Free the allocated fields of sec's keys and zero its secrets (sodium_memzero). */
void cs_free(const struct cs_section *sec, void *obj);

struct cs_file {
	const struct cs_section *const *sections; /* parsed into obj; other sections are skipped */
	size_t nsections;
	void *obj;
	bool no_global; /* a key before any section header is an error */
};

/*
 * Parse path (or, with path NULL, text named name) over obj. A key that is not in its
 * section's table, or a bad value, stops at the first one: a negative errno and one line
 * "NAME:LINE: reason" in err (LINE 0: the file cannot be read). When a key appears twice
 * the last one holds.
 */
int cs_parse_file(const struct cs_file *f, const char *path, char *err, size_t err_len);
int cs_parse_string(const struct cs_file *f, const char *name, const char *text, char *err, size_t err_len);

/* Whether key k differs between a and b. */
bool cs_key_differs(const struct cs_key *k, const void *a, const void *b);
/* The keys of sec that differ between a and b, in table order, into out[0..max); returns
 * how many differ (may exceed max). */
size_t cs_diff(const struct cs_section *sec, const void *a, const void *b, const struct cs_key **out, size_t max);
/* The same as "section.key,section.key" in out (always terminated, "" if none). */
unsigned cs_diff_names(const struct cs_section *sec, const void *a, const void *b, char *out, size_t outlen);
/* dst's CS_LIVE keys of sec from src (not the allocated ones, nor secrets). */
void cs_copy_live(const struct cs_section *sec, void *dst, const void *src);

/* Documentation: the sections' keys as Markdown tables, or as mdoc for keywayd.conf(5). */
int cs_doc_markdown(FILE *out, const struct cs_section *const *sections, size_t n);
int cs_doc_mdoc(FILE *out, const struct cs_section *const *sections, size_t n);

#endif
