/* Check suite: the configuration engine (core/confschema.c) on a table holding every type,
 * and the rules every real table of keywayd must follow. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check_run.h"
#include "cidr.h"
#include "core/conf.h"
#include "core/confschema.h"
#include "directory/directory.h"

/* A section with one key of each type. */
struct t_conf {
	char name[16];
	char *owned;
	char path[64];
	char hostport[64];
	bool flag;
	int small;
	int64_t big;
	unsigned uns;
	int64_t dur;
	int color;
	char level[16];
	unsigned mask;
	struct kw_cidr net;
	bool has_net6;
	struct kw_cidr net6;
	struct kw_cidr nets[3];
	int nnets;
	char *uris[2];
	size_t nuris;
	char secret[32];
	int half, twice; /* the custom key: a number and its double */
};

static int parse_twice(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	struct t_conf *c = obj;

	(void)k;
	if (strcmp(v, "1") && strcmp(v, "2")) {
		snprintf(reason, len, "twice: 1 or 2");
		return -EINVAL;
	}
	c->half = atoi(v);
	c->twice = 2 * c->half;
	return 0;
}

static const int af4 = AF_INET, af6 = AF_INET6;
static const struct cs_custom twice = { parse_twice, "1 or 2" };
static const char *const schemes[] = { "ldap://", "ldaps://", NULL };
static const struct cs_word colors[] = { { "red", 1, false }, { "green", 2, false }, { "verde", 2, true } };
static const struct cs_word levels[] = { { "low", 0, false }, { "high", 0, false } };
static const struct cs_word bits[] = { { "a", 1, false }, { "b", 2, false }, { "c", 4, false } };

#define T struct t_conf
static const struct cs_key t_keys[] = {
	{ "t.name", CS_STRING, 0, CS_FIELD(T, name), .def = "anon", .doc = "a name" },
	{ "t.owned", CS_STRING, CS_ALLOC | CS_LIVE, CS_FIELD(T, owned), .def = "mine", .doc = "an owned string" },
	{ "t.path", CS_PATH, CS_NONEMPTY, CS_FIELD(T, path), .def = "/var/x", .doc = "a path" },
	{ "t.hostport", CS_HOSTPORT, CS_LIVE, CS_FIELD(T, hostport), .doc = "an endpoint" },
	{ "t.flag", CS_BOOL, CS_LIVE, CS_FIELD(T, flag), .def = "yes", .doc = "a flag" },
	{ "t.small", CS_INT, CS_LIVE | CS_PAYLOAD, CS_FIELD(T, small), .min = -5, .max = 5, .def = "1", .doc = "int" },
	{ "t.big", CS_INT, 0, CS_FIELD(T, big), .min = 0, .max = INT64_C(10000000000), .def = "10000000000",
	  .doc = "big" },
	{ "t.uns", CS_INT, CS_LIVE, CS_FIELD(T, uns), .min = 0, .max = 3000000000, .doc = "unsigned" },
	{ "t.dur", CS_DURATION, CS_LIVE, CS_FIELD(T, dur), .min = 60, .max = 30 * 86400, .def = "1h", .doc = "time" },
	{ "t.color", CS_ENUM, CS_LIVE, CS_FIELD(T, color), .arg = CS_WORDS(colors), .def = "red", .doc = "enum" },
	{ "t.level", CS_ENUM, CS_LIVE, CS_FIELD(T, level), .arg = CS_WORDS(levels), .def = "low", .doc = "word" },
	{ "t.mask", CS_FLAGS, CS_LIVE, CS_FIELD(T, mask), .arg = CS_WORDS(bits), .def = "a c", .doc = "flags" },
	{ "t.net", CS_CIDR, 0, CS_FIELD(T, net), .min = 8, .max = 30, .arg = &af4, .def = "10.1.0.0/16", .doc = "v4" },
	{ "t.net6", CS_CIDR, CS_LIVE, CS_FIELD(T, net6), CS_AUX(T, has_net6), .min = 48, .max = 120, .arg = &af6,
	  .doc = "optional v6" },
	{ "t.nets", CS_CIDR_LIST, CS_LIVE, CS_FIELD(T, nets), CS_AUX(T, nnets), .max = 3, .doc = "networks" },
	{ "t.uris", CS_URI_LIST, CS_LIVE, CS_FIELD(T, uris), CS_AUX(T, nuris), .max = 2, .arg = schemes,
	  .doc = "URIs" },
	{ "t.secret", CS_SECRET, CS_LIVE | CS_NODOC, CS_FIELD(T, secret) },
	{ "t.twice", CS_CUSTOM, CS_LIVE, CS_FIELD(T, half), CS_AUX(T, twice), .arg = &twice, .def = "1", .doc = "c" },
};
#undef T
static const struct cs_section t_section = { "t", t_keys, CS_NKEYS(t_keys) };
static const struct cs_section *const t_sections[] = { &t_section };
static const struct cs_file t_file_strict = { t_sections, 1, NULL, true };

static void t_init(struct t_conf *c)
{
	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(cs_defaults(&t_section, c), 0);
}

static int t_load(struct t_conf *c, const char *text, char *err, size_t len)
{
	struct cs_file f = t_file_strict;

	f.obj = c;
	t_init(c);
	return cs_parse_string(&f, "t.conf", text, err, len);
}

START_TEST(test_defaults)
{
	struct t_conf c;

	t_init(&c);
	ck_assert_str_eq(c.name, "anon");
	ck_assert_str_eq(c.owned, "mine");
	ck_assert_str_eq(c.path, "/var/x");
	ck_assert_str_eq(c.hostport, "");
	ck_assert(c.flag);
	ck_assert_int_eq(c.small, 1);
	ck_assert_int_eq(c.big, INT64_C(10000000000));
	ck_assert_int_eq(c.dur, 3600);
	ck_assert_int_eq(c.color, 1);
	ck_assert_str_eq(c.level, "low");
	ck_assert_uint_eq(c.mask, 5);
	ck_assert_int_eq(c.net.family, AF_INET);
	ck_assert_int_eq(c.net.prefix, 16);
	ck_assert(!c.has_net6);
	ck_assert_int_eq(c.nnets, 0);
	ck_assert_uint_eq(c.nuris, 0);
	ck_assert_int_eq(c.half, 1);
	ck_assert_int_eq(c.twice, 2);
	cs_free(&t_section, &c);
	ck_assert_ptr_null(c.owned);
}
END_TEST

START_TEST(test_every_type_parses)
{
	struct t_conf c;
	char err[512] = "";

	ck_assert_msg(t_load(&c,
			     "[t]\nname = bob\nowned = yours\npath = /etc/y\nhostport = [::1]:99\nflag = off\n"
			     "small = -5\nbig = 0\nuns = 3000000000\ndur = 2d\ncolor = VERDE\nlevel = High\n"
			     "mask = b, c\nnet = 192.168.0.0/24\nnet6 = fd00::/64\nnets = 10.0.0.0/8, 2001:db8::/32 ,\n"
			     "uris = ldap://a ldaps://b\ntwice = 2\n",
			     err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(c.name, "bob");
	ck_assert_str_eq(c.owned, "yours");
	ck_assert_str_eq(c.path, "/etc/y");
	ck_assert_str_eq(c.hostport, "[::1]:99");
	ck_assert(!c.flag);
	ck_assert_int_eq(c.small, -5);
	ck_assert_int_eq(c.big, 0);
	ck_assert_uint_eq(c.uns, 3000000000u);
	ck_assert_int_eq(c.dur, 2 * 86400);
	ck_assert_int_eq(c.color, 2);
	ck_assert_str_eq(c.level, "high"); /* the table's spelling */
	ck_assert_uint_eq(c.mask, 6);
	ck_assert_int_eq(c.net.prefix, 24);
	ck_assert(c.has_net6);
	ck_assert_int_eq(c.net6.family, AF_INET6);
	ck_assert_int_eq(c.nnets, 2);
	ck_assert_int_eq(c.nets[1].family, AF_INET6);
	ck_assert_uint_eq(c.nuris, 2);
	ck_assert_str_eq(c.uris[1], "ldaps://b");
	ck_assert_int_eq(c.twice, 4);
	/* set again: lists are replaced, not appended; an empty optional network unsets it */
	ck_assert_int_eq(cs_set(&t_section, &c, "uris", "ldap://c", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.nuris, 1);
	ck_assert_str_eq(c.uris[0], "ldap://c");
	ck_assert_int_eq(cs_set(&t_section, &c, "nets", "", err, sizeof(err)), 0);
	ck_assert_int_eq(c.nnets, 0);
	ck_assert_int_eq(cs_set(&t_section, &c, "net6", "", err, sizeof(err)), 0);
	ck_assert(!c.has_net6);
	ck_assert_int_eq(cs_set(&t_section, &c, "mask", "none", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.mask, 0);
	ck_assert_int_eq(cs_set(&t_section, &c, "dur", "90", err, sizeof(err)), 0);
	ck_assert_int_eq(c.dur, 90);
	cs_free(&t_section, &c);
	ck_assert_uint_eq(c.nuris, 0);
}
END_TEST

/* Every bad value: an error naming the key, and the field keeps its value. */
START_TEST(test_bad_values_and_bounds)
{
	static const struct {
		const char *key, *value, *want;
	} bad[] = {
		{ "name", "0123456789abcdef", "name: value too long" },
		{ "path", "", "path: empty" },
		{ "hostport", "nohost", "hostport: 'nohost' is not host:port" },
		{ "hostport", "h:0", "is not host:port" },
		{ "hostport", "[::1:80", "is not host:port" },
		{ "flag", "maybe", "flag: expected yes or no" },
		{ "small", "6", "small: '6' is not a whole number in -5..5" },
		{ "small", "-6", "in -5..5" },
		{ "small", "1x", "whole number" },
		{ "small", "", "whole number" },
		{ "small", " 1", "whole number" },
		{ "big", "10000000001", "in 0..10000000000" },
		{ "big", "99999999999999999999", "whole number" },
		{ "uns", "3000000001", "whole number" },
		{ "uns", "-1", "whole number" },
		{ "dur", "59", "dur: '59' is not a duration in 60..2592000 seconds" },
		{ "dur", "31d", "duration" },
		{ "dur", "1w", "duration" },
		{ "dur", "m", "duration" },
		{ "dur", "9999999999999999d", "duration" },
		{ "color", "blue", "color: 'blue' is not red or green" },
		{ "level", "mid", "level: 'mid' is not low or high" },
		{ "mask", "a d", "mask: unknown word 'd' (a b c none)" },
		{ "net", "10.0.0.0/31", "net: '10.0.0.0/31' is not an IPv4 network of /8 to /30" },
		{ "net", "10.0.0.1/16", "is not an IPv4 network" },
		{ "net", "fd00::/64", "is not an IPv4 network" },
		{ "net", "", "is not an IPv4 network" },
		{ "net6", "fd00::/40", "net6: 'fd00::/40' is not an IPv6 prefix of /48 to /120" },
		{ "nets", "10.0.0.0/8, bogus", "nets: 'bogus' is not a network" },
		{ "nets", "10.0.0.0/8,10.1.0.0/16,10.2.0.0/16,10.3.0.0/16", "nets: more than 3 networks" },
		{ "uris", "http://x", "uris: http://x is not ldap:// or ldaps://" },
		{ "uris", "ldap://a ldap://b ldap://c", "uris: at most 2 URIs" },
		{ "secret", "hunter2", "secret: never inline; use secret_file (mode 0600)" },
		{ "twice", "3", "twice: 1 or 2" },
		{ "nosuch", "1", "unknown key 'nosuch' in [t]" },
	};
	struct t_conf c, before;
	char err[512];

	t_init(&c);
	ck_assert_int_eq(cs_set(&t_section, &c, "uris", "ldap://keep", err, sizeof(err)), 0);
	ck_assert_int_eq(cs_set(&t_section, &c, "nets", "10.9.0.0/16", err, sizeof(err)), 0);
	memcpy(&before, &c, sizeof(c));
	for (size_t i = 0; i < CS_NKEYS(bad); i++) {
		err[0] = '\0';
		ck_assert_msg(cs_set(&t_section, &c, bad[i].key, bad[i].value, err, sizeof(err)) == -EINVAL,
			      "accepted %s = %s", bad[i].key, bad[i].value);
		ck_assert_msg(strstr(err, bad[i].want) != NULL, "%s = %s: '%s'", bad[i].key, bad[i].value, err);
		ck_assert_msg(memcmp(&c, &before, sizeof(c)) == 0, "%s = %s changed the struct", bad[i].key,
			      bad[i].value);
		ck_assert_ptr_null(strstr(err, "hunter2"));
	}
	/* the bounds themselves are accepted */
	ck_assert_int_eq(cs_set(&t_section, &c, "small", "5", err, sizeof(err)), 0);
	ck_assert_int_eq(cs_set(&t_section, &c, "dur", "30d", err, sizeof(err)), 0);
	ck_assert_int_eq(cs_set(&t_section, &c, "dur", "1m", err, sizeof(err)), 0);
	ck_assert_int_eq(cs_set(&t_section, &c, "net", "10.0.0.0/8", err, sizeof(err)), 0);
	ck_assert_int_eq(cs_set(&t_section, &c, "nets", "10.0.0.0/8,10.1.0.0/16,10.2.0.0/16", err, sizeof(err)), 0);
	/* no reason buffer: still an error */
	ck_assert_int_eq(cs_set(&t_section, &c, "small", "9", NULL, 0), -EINVAL);
	cs_free(&t_section, &c);
}
END_TEST

START_TEST(test_file_errors_name_their_line)
{
	struct t_conf c;
	char err[512];

	/* unknown key, with the line of the key */
	ck_assert_int_eq(t_load(&c, "[t]\nname = a\n\nbogus = 1\n", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.conf:4: unknown key 'bogus' in [t]");
	cs_free(&t_section, &c);
	/* a bad value after a syntax error: the first one is reported */
	ck_assert_int_eq(t_load(&c, "[t]\nname a\nsmall = 9\n", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.conf:2: syntax error");
	cs_free(&t_section, &c);
	/* a syntax error after a bad value: the bad value */
	ck_assert_int_eq(t_load(&c, "[t]\nsmall = 9\nname a\n", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.conf:2: small: '9' is not a whole number in -5..5");
	cs_free(&t_section, &c);
	/* a key outside any section */
	ck_assert_int_eq(t_load(&c, "name = a\n[t]\n", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: key 'name' outside any section");
	cs_free(&t_section, &c);
	/* other sections are another module's: anything goes there; section names ignore case */
	ck_assert_int_eq(t_load(&c, "[other]\nbogus = 1\n[T]\nname = b\n", err, sizeof(err)), 0);
	ck_assert_str_eq(c.name, "b");
	cs_free(&t_section, &c);
	/* a missing file: line 0, -ENOENT */
	struct cs_file f = t_file_strict;

	f.obj = &c;
	ck_assert_int_eq(cs_parse_file(&f, "/nonexistent/t.conf", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/t.conf:0: cannot open"));
}
END_TEST

/* A key given twice (or a section repeated) takes its last value; lists are not appended. */
START_TEST(test_duplicate_key_last_wins)
{
	struct t_conf c;
	char err[512];

	ck_assert_msg(t_load(&c,
			     "[t]\nsmall = 2\nuris = ldap://a\nnets = 10.0.0.0/8\n[t]\nsmall = 3\nuris = ldap://b\n"
			     "nets = 10.1.0.0/16\nsmall = 4\n",
			     err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(c.small, 4);
	ck_assert_uint_eq(c.nuris, 1);
	ck_assert_str_eq(c.uris[0], "ldap://b");
	ck_assert_int_eq(c.nnets, 1);
	ck_assert_int_eq(c.nets[0].addr[1], 1);
	cs_free(&t_section, &c);
}
END_TEST

START_TEST(test_diff_live_and_restart)
{
	struct t_conf a, b;
	const struct cs_key *ch[32];
	char err[512], names[512];

	ck_assert_int_eq(t_load(&a, "[t]\nnets = 10.0.0.0/8\nuris = ldap://a\n", err, sizeof(err)), 0);
	ck_assert_int_eq(t_load(&b, "[t]\nnets = 10.0.0.0/8 ,\nuris = ldap://a\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(cs_diff(&t_section, &a, &b, ch, 32), 0); /* same values, spelled differently */
	cs_free(&t_section, &b);
	ck_assert_int_eq(t_load(&b,
				"[t]\nnets = 10.0.0.0/8\nuris = ldap://a\nname = x\nsmall = 2\ncolor = green\n"
				"net6 = fd00::/64\ntwice = 2\n",
				err, sizeof(err)),
			 0);
	snprintf(b.secret, sizeof(b.secret), "new");
	ck_assert_uint_eq(cs_diff(&t_section, &a, &b, ch, 32), 6);
	ck_assert_str_eq(ch[0]->name, "t.name");
	ck_assert(!(ch[0]->flags & CS_LIVE));
	ck_assert_str_eq(ch[1]->name, "t.small");
	ck_assert((ch[1]->flags & CS_LIVE) && (ch[1]->flags & CS_PAYLOAD));
	ck_assert_str_eq(ch[2]->name, "t.color");
	ck_assert_str_eq(ch[3]->name, "t.net6");
	ck_assert_str_eq(ch[4]->name, "t.secret");
	ck_assert_str_eq(ch[5]->name, "t.twice");
	ck_assert_uint_eq(cs_diff(&t_section, &a, &b, ch, 2), 6); /* the count past max */
	ck_assert_uint_eq(cs_diff_names(&t_section, &a, &b, names, sizeof(names)), 6);
	ck_assert_str_eq(names, "t.name,t.small,t.color,t.net6,t.secret,t.twice");
	ck_assert_ptr_null(strstr(names, "new"));
	ck_assert_uint_eq(cs_diff_names(&t_section, &a, &b, names, 10), 6);
	ck_assert_uint_lt(strlen(names), 10);
	/* live keys only: name (restart) keeps a's value, the rest follows b */
	cs_copy_live(&t_section, &a, &b);
	ck_assert_str_eq(a.name, "anon");
	ck_assert_int_eq(a.small, 2);
	ck_assert_int_eq(a.twice, 4);
	ck_assert(a.has_net6);
	ck_assert_uint_eq(cs_diff(&t_section, &a, &b, ch, 32), 2); /* name, and the secret (never copied) */
	ck_assert_str_eq(ch[0]->name, "t.name");
	ck_assert_str_eq(ch[1]->name, "t.secret");
	cs_free(&t_section, &a);
	cs_free(&t_section, &b);
	ck_assert_str_eq(b.secret, ""); /* zeroed */
}
END_TEST

START_TEST(test_docs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const struct cs_section *const one[] = { &t_section };

	ck_assert_int_eq(cs_doc_markdown(f, one, 1), 0);
	ck_assert_int_eq(cs_doc_mdoc(f, one, 1), 0);
	fclose(f);
	CHECK_HAS_ALL(buf,
		      "| `[t] small` | integer -5..5 | `1` | live, configs re-issued | int |",
		      "| `[t] dur` | duration 1m..30d | `1h` | live | time |",
		      "| `[t] name` | text | `anon` | restart | a name |");
	ck_assert_ptr_nonnull(strstr(buf, "one of `red`, `green` |")); /* no alias */
	ck_assert_ptr_nonnull(strstr(buf, "words of `a`, `b`, `c`, `none`"));
	ck_assert_ptr_null(strstr(buf, "secret")); /* CS_NODOC */
	ck_assert_ptr_nonnull(strstr(buf, ".Ss \\&[t] section\n.Bl -tag -width Ds\n.It Cm name\nA name.\n"));
	free(buf);
}
END_TEST

/* The rules every real table follows: defaults that parse, names "section.key", fields that
 * fit their bounds, one line of plain ASCII documentation. */
START_TEST(test_real_tables)
{
	const struct cs_section *all[16];
	size_t n = 0;
	union {
		struct kw_conf core;
		char other[8192];
	} obj;

	for (size_t i = 0; i < conf_nsections; i++)
		all[n++] = conf_sections[i];
	all[n++] = &directory_conf_section;
	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < all[s]->nkeys; i++) {
			const struct cs_key *k = &all[s]->keys[i];
			char err[512] = "", prefix[64];

			snprintf(prefix, sizeof(prefix), "%s.", all[s]->name);
			ck_assert_msg(strncmp(k->name, prefix, strlen(prefix)) == 0, "%s not in [%s]", k->name,
				      all[s]->name);
			ck_assert_msg(cs_find(all[s], cs_key_short(k)) == k, "%s twice", k->name);
			ck_assert_msg((k->flags & CS_NODOC) || (k->doc && *k->doc), "%s: no doc", k->name);
			for (const char *p = k->doc ? k->doc : ""; *p; p++)
				ck_assert_msg(*p >= ' ' && *p < 127 && *p != '|', "%s: doc not plain ASCII", k->name);
			ck_assert_msg(!k->doc || k->doc[strlen(k->doc) - 1] != '.', "%s: doc ends with a dot", k->name);
			if ((k->type == CS_INT || k->type == CS_DURATION) && k->size == 4)
				ck_assert_msg(k->min >= INT32_MIN && k->max <= INT32_MAX, "%s: bounds", k->name);
			if (k->def) {
				memset(&obj, 0, sizeof(obj));
				ck_assert_msg(cs_set(all[s], &obj, cs_key_short(k), k->def, err, sizeof(err)) == 0, "%s",
					      err);
				cs_free(all[s], &obj);
			}
		}
	}
}
END_TEST

/* Whether text has a line "key = ..." (a key set, not only mentioned in a comment). */
static bool sets_key(const char *text, const char *key)
{
	for (const char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *p = line + strspn(line, " \t");

		if (strncmp(p, key, strlen(key)) == 0 && p[strlen(key) + strspn(p + strlen(key), " \t")] == '=')
			return true;
	}
	return false;
}

/* The commented example packaging/keywayd.conf parses, and sets every key of [server],
 * [network] and [log] to its default (routes excepted: the example fills it in). */
START_TEST(test_packaged_example)
{
	const char *top = getenv("top_srcdir");
	char path[4096], err[600], text[16384];
	struct kw_conf c, d;
	const struct cs_key *ch[64];
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "%s/packaging/keywayd.conf", top ? top : "..");
	conf_defaults(&c);
	conf_defaults(&d);
	ck_assert_msg(conf_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	text[len] = '\0';
	fclose(f);
	for (size_t s = 0; s < conf_nsections; s++) {
		const struct cs_section *sec = conf_sections[s];
		size_t n;

		if (strcmp(sec->name, "web") == 0)
			continue;
		for (size_t i = 0; i < sec->nkeys; i++)
			ck_assert_msg(sets_key(text, cs_key_short(&sec->keys[i])), "%s is not in %s", sec->keys[i].name,
				      path);
		n = cs_diff(sec, &c, &d, ch, 64);
		for (size_t i = 0; i < n && i < 64; i++)
			ck_assert_msg(strcmp(ch[i]->name, "network.routes") == 0, "%s is not its default in %s",
				      ch[i]->name, path);
	}
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_defaults,
		test_every_type_parses,
		test_bad_values_and_bounds,
		test_file_errors_name_their_line,
		test_duplicate_key_last_wins,
		test_diff_live_and_restart,
		test_docs,
		test_real_tables,
		test_packaged_example,
	};

	return CHECK_RUN_TESTS("confschema", NULL, NULL, 0, tests);
}
