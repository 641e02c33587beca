/* The configuration engine: every key's parsing, default, comparison and copy, by its type. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cidr.h"
#include "confschema.h"

#define LIST_SEPARATORS " \t,"

static void *field(void *obj, size_t off)
{
	return (char *)obj + off;
}

static const void *cfield(const void *obj, size_t off)
{
	return (const char *)obj + off;
}

/* Integer fields are int, unsigned, int64_t, size_t or bool: read and written by size. */
static int64_t int_get(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const int16_t *)p;
	case 4: return *(const int32_t *)p;
	default: return *(const int64_t *)p;
	}
}

static void int_put(void *p, size_t size, int64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: *(int16_t *)p = (int16_t)v; break;
	case 4: *(int32_t *)p = (int32_t)v; break;
	default: *(int64_t *)p = v; break;
	}
}

const char *cs_key_short(const struct cs_key *k)
{
	const char *dot = strchr(k->name, '.');

	return dot ? dot + 1 : k->name;
}

const struct cs_key *cs_find(const struct cs_section *sec, const char *name)
{
	for (size_t i = 0; i < sec->nkeys; i++)
		if (strcmp(cs_key_short(&sec->keys[i]), name) == 0)
			return &sec->keys[i];
	return NULL;
}

static int parse_int64(const char *v, int64_t *out)
{
	char *end;
	long long n;

	if (!((*v >= '0' && *v <= '9') || ((*v == '-' || *v == '+') && v[1] >= '0' && v[1] <= '9')))
		return -EINVAL;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = n;
	return 0;
}

/* Seconds: "90", "90s", "15m", "12h", "30d". */
static int parse_duration(const char *v, int64_t *out)
{
	static const struct {
		char suffix;
		int64_t mult;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	size_t len = strlen(v);
	char num[32];

	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	for (size_t i = 0; i < CS_NKEYS(units); i++) {
		if (v[len - 1] != units[i].suffix)
			continue;
		memcpy(num, v, len - 1);
		num[len - 1] = '\0';
		if (parse_int64(num, out) < 0 || *out > INT64_MAX / units[i].mult || *out < INT64_MIN / units[i].mult)
			return -EINVAL;
		*out *= units[i].mult;
		return 0;
	}
	return parse_int64(v, out);
}

/* "host:port" or "[v6]:port" with a port 1..65535. */
static bool hostport_ok(const char *v)
{
	const char *colon = strrchr(v, ':');
	int64_t port;

	if (!colon || colon == v)
		return false;
	if (v[0] == '[' && colon[-1] != ']')
		return false;
	for (const char *p = v; p < colon; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '/')
			return false;
	return parse_int64(colon + 1, &port) == 0 && port >= 1 && port <= 65535;
}

static int set_string(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	if ((k->flags & CS_NONEMPTY) && !*v) {
		snprintf(reason, len, "%s: empty", cs_key_short(k));
		return -EINVAL;
	}
	if (k->type == CS_HOSTPORT && *v && !hostport_ok(v)) {
		snprintf(reason, len, "%s: '%.64s' is not host:port", cs_key_short(k), v);
		return -EINVAL;
	}
	if (k->flags & CS_ALLOC) {
		char **dst = field(obj, k->offset), *s = strdup(v);

		if (!s) {
			snprintf(reason, len, "%s: out of memory", cs_key_short(k));
			return -ENOMEM;
		}
		free(*dst);
		*dst = s;
		return 0;
	}
	if (strlen(v) >= k->size) {
		snprintf(reason, len, "%s: value too long", cs_key_short(k));
		return -EINVAL;
	}
	memcpy(field(obj, k->offset), v, strlen(v) + 1);
	return 0;
}

static int set_bool(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	bool b;

	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
		b = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off"))
		b = false;
	else {
		snprintf(reason, len, "%s: expected yes or no", cs_key_short(k));
		return -EINVAL;
	}
	*(bool *)field(obj, k->offset) = b;
	return 0;
}

static int set_number(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	int64_t n;
	int r = k->type == CS_DURATION ? parse_duration(v, &n) : parse_int64(v, &n);

	if (r < 0 || n < k->min || n > k->max) {
		if (k->type == CS_DURATION)
			snprintf(reason, len,
				 "%s: '%.64s' is not a duration in %lld..%lld seconds (e.g. 90, 15m, 12h, 30d)",
				 cs_key_short(k), v, (long long)k->min, (long long)k->max);
		else
			snprintf(reason, len, "%s: '%.64s' is not a whole number in %lld..%lld", cs_key_short(k), v,
				 (long long)k->min, (long long)k->max);
		return -EINVAL;
	}
	int_put(field(obj, k->offset), k->size, n);
	return 0;
}

/* "a, b or c" from the words that are not aliases. */
static void words_list(const struct cs_words *w, const char *sep, const char *last, char *out, size_t len)
{
	size_t used = 0, shown = 0, total = 0;

	for (size_t i = 0; i < w->n; i++)
		total += !w->v[i].alias;
	out[0] = '\0';
	for (size_t i = 0; i < w->n && used < len; i++) {
		if (w->v[i].alias)
			continue;
		shown++;
		used += (size_t)snprintf(out + used, len - used, "%s%s", shown == 1 ? "" : shown == total ? last : sep,
					 w->v[i].word);
	}
}

static const struct cs_word *word_find(const struct cs_words *w, const char *v)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcasecmp(w->v[i].word, v))
			return &w->v[i];
	return NULL;
}

static int set_enum(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	const struct cs_words *w = k->arg;
	const struct cs_word *hit = word_find(w, v);
	char list[256];

	if (!hit) {
		words_list(w, ", ", " or ", list, sizeof(list));
		snprintf(reason, len, "%s: '%.64s' is not %s", cs_key_short(k), v, list);
		return -EINVAL;
	}
	if (k->size == sizeof(int))
		*(int *)field(obj, k->offset) = hit->value;
	else
		snprintf(field(obj, k->offset), k->size, "%s", hit->word); /* the table's spelling */
	return 0;
}

static int set_flags(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	const struct cs_words *w = k->arg;
	char *copy = strdup(v), *save = NULL, *tok, list[256];
	unsigned mask = 0;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, LIST_SEPARATORS, &save); tok; tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		const struct cs_word *hit = word_find(w, tok);

		if (!hit && strcasecmp(tok, "none")) {
			words_list(w, " ", " ", list, sizeof(list));
			snprintf(reason, len, "%s: unknown word '%.64s' (%s none)", cs_key_short(k), tok, list);
			r = -EINVAL;
			goto out;
		}
		mask |= hit ? (unsigned)hit->value : 0;
	}
	*(unsigned *)field(obj, k->offset) = mask;
out:
	free(copy);
	return r;
}

static int key_family(const struct cs_key *k)
{
	return k->arg ? *(const int *)k->arg : 0;
}

static int set_cidr(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	struct kw_cidr c;
	int fam = key_family(k);

	if (!*v && k->aux_size) {
		*(bool *)field(obj, k->aux) = false;
		return 0;
	}
	if (cidr_parse_network(&c, v) < 0 || (fam && c.family != fam) || c.prefix < k->min || c.prefix > k->max) {
		snprintf(reason, len, "%s: '%.64s' is not %s of /%lld to /%lld", cs_key_short(k), v,
			 fam == AF_INET ? "an IPv4 network" : fam == AF_INET6 ? "an IPv6 prefix" : "a network",
			 (long long)k->min, (long long)k->max);
		return -EINVAL;
	}
	memcpy(field(obj, k->offset), &c, sizeof(c));
	if (k->aux_size)
		*(bool *)field(obj, k->aux) = true;
	return 0;
}

static int set_cidr_list(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	struct kw_cidr *list = calloc((size_t)k->max, sizeof(*list));
	char *copy = strdup(v), *save = NULL, *tok;
	int64_t n = 0;
	int r = 0;

	if (!list || !copy) {
		r = -ENOMEM;
		goto out;
	}
	for (tok = strtok_r(copy, LIST_SEPARATORS, &save); tok; tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		if (n == k->max) {
			snprintf(reason, len, "%s: more than %lld networks", cs_key_short(k), (long long)k->max);
			r = -EINVAL;
			goto out;
		}
		if (cidr_parse_network(&list[n], tok) < 0 || (key_family(k) && list[n].family != key_family(k))) {
			snprintf(reason, len, "%s: '%.64s' is not a network (e.g. 192.168.10.0/24)", cs_key_short(k),
				 tok);
			r = -EINVAL;
			goto out;
		}
		n++;
	}
	memset(field(obj, k->offset), 0, k->size);
	memcpy(field(obj, k->offset), list, (size_t)n * sizeof(*list));
	int_put(field(obj, k->aux), k->aux_size, n);
out:
	free(list);
	free(copy);
	return r;
}

static bool scheme_ok(const char *const *schemes, const char *tok)
{
	for (size_t i = 0; schemes && schemes[i]; i++)
		if (!strncasecmp(tok, schemes[i], strlen(schemes[i])))
			return true;
	return !schemes;
}

static void uris_free(char **uris, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(uris[i]);
		uris[i] = NULL;
	}
}

static int set_uri_list(const struct cs_key *k, void *obj, const char *v, char *reason, size_t len)
{
	const char *const *schemes = k->arg;
	char **fresh = calloc((size_t)k->max, sizeof(char *)), *copy = strdup(v), *save = NULL, *tok;
	char **dst = field(obj, k->offset);
	int64_t n = 0;
	int r = 0;

	if (!fresh || !copy) {
		r = -ENOMEM;
		goto out;
	}
	for (tok = strtok_r(copy, LIST_SEPARATORS, &save); tok; tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		if (!scheme_ok(schemes, tok)) {
			snprintf(reason, len, "%s: %.200s is not %s or %s", cs_key_short(k), tok, schemes[0],
				 schemes[1]);
			r = -EINVAL;
			goto out;
		}
		if (n == k->max) {
			snprintf(reason, len, "%s: at most %lld URIs", cs_key_short(k), (long long)k->max);
			r = -EINVAL;
			goto out;
		}
		fresh[n] = strdup(tok);
		if (!fresh[n++]) {
			r = -ENOMEM;
			goto out;
		}
	}
	uris_free(dst, (size_t)int_get(field(obj, k->aux), k->aux_size));
	memcpy(dst, fresh, (size_t)n * sizeof(char *));
	int_put(field(obj, k->aux), k->aux_size, n);
	n = 0; /* moved */
out:
	if (fresh)
		uris_free(fresh, (size_t)n);
	free(fresh);
	free(copy);
	return r;
}

int cs_set(const struct cs_section *sec, void *obj, const char *name, const char *value, char *reason, size_t len)
{
	const struct cs_key *k = cs_find(sec, name);
	char dummy[8];

	if (!reason || !len) {
		reason = dummy;
		len = sizeof(dummy);
	}
	reason[0] = '\0';
	if (!k) {
		snprintf(reason, len, "unknown key '%.64s' in [%s]", name, sec->name);
		return -EINVAL;
	}
	switch (k->type) {
	case CS_STRING:
	case CS_PATH:
	case CS_HOSTPORT: return set_string(k, obj, value, reason, len);
	case CS_BOOL: return set_bool(k, obj, value, reason, len);
	case CS_INT:
	case CS_DURATION: return set_number(k, obj, value, reason, len);
	case CS_ENUM: return set_enum(k, obj, value, reason, len);
	case CS_FLAGS: return set_flags(k, obj, value, reason, len);
	case CS_CIDR: return set_cidr(k, obj, value, reason, len);
	case CS_CIDR_LIST: return set_cidr_list(k, obj, value, reason, len);
	case CS_URI_LIST: return set_uri_list(k, obj, value, reason, len);
	case CS_SECRET:
		snprintf(reason, len, "%s: never inline; use %s_file (mode 0600)", name, name);
		return -EINVAL;
	case CS_CUSTOM: return ((const struct cs_custom *)k->arg)->parse(k, obj, value, reason, len);
	}
	return -EINVAL;
}

int cs_defaults(const struct cs_section *sec, void *obj)
{
	int ret = 0;

	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct cs_key *k = &sec->keys[i];

		if (k->def && cs_set(sec, obj, cs_key_short(k), k->def, NULL, 0) < 0)
			ret = -ENOMEM; /* the defaults are checked by the Check suite: only memory fails */
	}
	return ret;
}

void cs_free(const struct cs_section *sec, void *obj)
{
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct cs_key *k = &sec->keys[i];

		if (k->type == CS_SECRET) {
			sodium_memzero(field(obj, k->offset), k->size);
		} else if (k->type == CS_URI_LIST) {
			uris_free(field(obj, k->offset), (size_t)int_get(field(obj, k->aux), k->aux_size));
			int_put(field(obj, k->aux), k->aux_size, 0);
		} else if (k->flags & CS_ALLOC) {
			char **p = field(obj, k->offset);

			free(*p);
			*p = NULL;
		}
	}
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool cidr_eq(const struct kw_cidr *a, const struct kw_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static bool list_eq(const struct cs_key *k, const void *a, const void *b)
{
	int64_t n = int_get(cfield(a, k->aux), k->aux_size);

	if (n != int_get(cfield(b, k->aux), k->aux_size))
		return false;
	for (int64_t i = 0; i < n; i++) {
		const struct kw_cidr *ca = cfield(a, k->offset), *cb = cfield(b, k->offset);
		char *const *sa = cfield(a, k->offset), *const *sb = cfield(b, k->offset);

		if (k->type == CS_CIDR_LIST ? !cidr_eq(&ca[i], &cb[i]) : !str_eq(sa[i], sb[i]))
			return false;
	}
	return true;
}

bool cs_key_differs(const struct cs_key *k, const void *a, const void *b)
{
	const void *fa = cfield(a, k->offset), *fb = cfield(b, k->offset);

	switch (k->type) {
	case CS_STRING:
	case CS_PATH:
	case CS_HOSTPORT:
		if (k->flags & CS_ALLOC)
			return !str_eq(*(char *const *)fa, *(char *const *)fb);
		return strcmp(fa, fb) != 0;
	case CS_ENUM:
		if (k->size != sizeof(int))
			return strcmp(fa, fb) != 0;
		return memcmp(fa, fb, k->size) != 0;
	case CS_CIDR:
		if (k->aux_size && !*(const bool *)cfield(a, k->aux))
			return *(const bool *)cfield(b, k->aux);
		if (k->aux_size && !*(const bool *)cfield(b, k->aux))
			return true;
		return !cidr_eq(fa, fb);
	case CS_CIDR_LIST:
	case CS_URI_LIST: return !list_eq(k, a, b);
	case CS_SECRET: return sodium_memcmp(fa, fb, k->size) != 0;
	case CS_CUSTOM:
		if (k->aux_size && memcmp(cfield(a, k->aux), cfield(b, k->aux), k->aux_size) != 0)
			return true;
		return memcmp(fa, fb, k->size) != 0;
	case CS_BOOL:
	case CS_INT:
	case CS_DURATION:
	case CS_FLAGS: return memcmp(fa, fb, k->size) != 0;
	}
	return true;
}

size_t cs_diff(const struct cs_section *sec, const void *a, const void *b, const struct cs_key **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sec->nkeys; i++) {
		if (!cs_key_differs(&sec->keys[i], a, b))
			continue;
		if (n < max)
			out[n] = &sec->keys[i];
		n++;
	}
	return n;
}

unsigned cs_diff_names(const struct cs_section *sec, const void *a, const void *b, char *out, size_t outlen)
{
	unsigned n = 0;
	size_t used = 0;

	if (outlen)
		out[0] = '\0';
	for (size_t i = 0; i < sec->nkeys; i++) {
		if (!cs_key_differs(&sec->keys[i], a, b))
			continue;
		n++;
		if (used < outlen) {
			int w = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", sec->keys[i].name);

			used = w < 0 ? outlen : used + (size_t)w;
		}
	}
	return n;
}

void cs_copy_live(const struct cs_section *sec, void *dst, const void *src)
{
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct cs_key *k = &sec->keys[i];

		if (!(k->flags & CS_LIVE) || (k->flags & CS_ALLOC) || k->type == CS_URI_LIST || k->type == CS_SECRET)
			continue;
		memcpy(field(dst, k->offset), cfield(src, k->offset), k->size);
		if (k->aux_size)
			memcpy(field(dst, k->aux), cfield(src, k->aux), k->aux_size);
	}
}

/* Parsing: libinih over a reader that counts lines, so an error names its own line. */
struct cs_parse {
	const struct cs_file *f;
	FILE *file;        /* or text: */
	const char *text;
	int line;          /* the line being read */
	bool at_line_start;
	int fail_line, fail_ret;
	char reason[512];
};

static char *reader(char *str, int num, void *stream)
{
	struct cs_parse *x = stream;
	char *got = NULL;

	if (x->file) {
		got = fgets(str, num, x->file);
	} else if (*x->text && num > 1) {
		size_t n = strcspn(x->text, "\n");

		n = n + (x->text[n] == '\n');
		if (n > (size_t)num - 1)
			n = (size_t)num - 1;
		memcpy(str, x->text, n);
		str[n] = '\0';
		x->text += n;
		got = str;
	}
	if (!got)
		return NULL;
	if (x->at_line_start)
		x->line++;
	x->at_line_start = strchr(got, '\n') != NULL;
	return got;
}

static const struct cs_section *section_find(const struct cs_file *f, const char *name)
{
	for (size_t i = 0; i < f->nsections; i++)
		if (!strcasecmp(f->sections[i]->name, name))
			return f->sections[i];
	return NULL;
}

/* inih: return 0 to report an error at the current line (the parse goes on; keep the first). */
static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct cs_parse *x = user;
	const struct cs_section *sec;
	int r;

	if (!name || x->fail_line)
		return 1;
	if (!section[0]) {
		if (!x->f->no_global)
			return 1;
		snprintf(x->reason, sizeof(x->reason), "key '%.64s' outside any section", name);
		r = -EINVAL;
	} else {
		sec = section_find(x->f, section);
		if (!sec)
			return 1; /* another module's section */
		r = cs_set(sec, x->f->obj, name, value, x->reason, sizeof(x->reason));
	}
	if (r == 0)
		return 1;
	if (!x->reason[0])
		snprintf(x->reason, sizeof(x->reason), "invalid value for %.64s", name);
	x->fail_line = x->line;
	x->fail_ret = r;
	return 0;
}

static int parse(struct cs_parse *x, const char *name, char *err, size_t err_len)
{
	int rc;

	x->at_line_start = true;
	rc = ini_parse_stream(reader, x, handler, x);
	if (rc == -2) {
		snprintf(err, err_len, "%s:0: out of memory", name);
		return -ENOMEM;
	}
	if (rc == 0 && !x->fail_line)
		return 0;
	if (x->fail_line && (rc == 0 || rc == x->fail_line)) {
		snprintf(err, err_len, "%s:%d: %s", name, x->fail_line, x->reason);
		return x->fail_ret;
	}
	snprintf(err, err_len, "%s:%d: syntax error", name, rc);
	return -EINVAL;
}

int cs_parse_file(const struct cs_file *f, const char *path, char *err, size_t err_len)
{
	struct cs_parse x = { .f = f };
	int r;

	x.file = fopen(path, "re");
	if (!x.file) {
		snprintf(err, err_len, "%s:0: cannot open: %s", path, strerror(errno));
		return -ENOENT;
	}
	r = parse(&x, path, err, err_len);
	fclose(x.file);
	return r;
}

int cs_parse_string(const struct cs_file *f, const char *name, const char *text, char *err, size_t err_len)
{
	struct cs_parse x = { .f = f, .text = text };

	return parse(&x, name, err, err_len);
}
