/* The documentation of the configuration keys, generated from the same tables: the README's
 * key tables (Markdown) and the KEYS section of keywayd.conf(5) (mdoc). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "confschema.h"

/* 86400 -> "1d", 90 -> "90s": the largest unit that divides it. */
static void fmt_seconds(char *out, size_t len, int64_t s)
{
	if (s != 0 && s % 86400 == 0)
		snprintf(out, len, "%" PRId64 "d", s / 86400);
	else if (s != 0 && s % 3600 == 0)
		snprintf(out, len, "%" PRId64 "h", s / 3600);
	else if (s != 0 && s % 60 == 0)
		snprintf(out, len, "%" PRId64 "m", s / 60);
	else
		snprintf(out, len, "%" PRId64 "s", s);
}

/* "a, b, c" with each word quoted as `word` (q = "`") or bare. */
static void fmt_words(char *out, size_t len, const struct cs_words *w, const char *extra)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < w->n && used < len; i++)
		if (!w->v[i].alias)
			used += (size_t)snprintf(out + used, len - used, "%s`%s`", used ? ", " : "", w->v[i].word);
	if (extra && used < len)
		snprintf(out + used, len - used, ", `%s`", extra);
}

/* The type column: what the value looks like, with its bounds. */
static void fmt_type(char *out, size_t len, const struct cs_key *k)
{
	int fam = k->arg ? *(const int *)k->arg : 0;
	char lo[32], hi[32], words[256];

	switch (k->type) {
	case CS_STRING: snprintf(out, len, "text"); break;
	case CS_PATH: snprintf(out, len, "path"); break;
	case CS_HOSTPORT: snprintf(out, len, "host:port"); break;
	case CS_BOOL: snprintf(out, len, "yes or no"); break;
	case CS_INT: snprintf(out, len, "integer %" PRId64 "..%" PRId64, k->min, k->max); break;
	case CS_DURATION:
		fmt_seconds(lo, sizeof(lo), k->min);
		fmt_seconds(hi, sizeof(hi), k->max);
		snprintf(out, len, "duration %s..%s", lo, hi);
		break;
	case CS_ENUM:
		fmt_words(words, sizeof(words), k->arg, NULL);
		snprintf(out, len, "one of %s", words);
		break;
	case CS_FLAGS:
		fmt_words(words, sizeof(words), k->arg, "none");
		snprintf(out, len, "words of %s", words);
		break;
	case CS_CIDR:
		snprintf(out, len, "%s /%" PRId64 "../%" PRId64,
			 fam == AF_INET6 ? "IPv6 prefix" : fam == AF_INET ? "IPv4 network" : "network", k->min, k->max);
		break;
	case CS_CIDR_LIST: snprintf(out, len, "networks (at most %" PRId64 ")", k->max); break;
	case CS_URI_LIST: snprintf(out, len, "URIs (at most %" PRId64 ")", k->max); break;
	case CS_SECRET: snprintf(out, len, "secret"); break;
	case CS_CUSTOM: snprintf(out, len, "%s", ((const struct cs_custom *)k->arg)->type_name); break;
	}
}

static void fmt_default(char *out, size_t len, const struct cs_key *k)
{
	if (k->shown)
		snprintf(out, len, "%s", k->shown);
	else if (k->def && *k->def)
		snprintf(out, len, "`%s`", k->def);
	else
		snprintf(out, len, "empty");
}

static const char *fmt_reload(const struct cs_key *k)
{
	if (!(k->flags & CS_LIVE))
		return "restart";
	return k->flags & CS_PAYLOAD ? "live, configs re-issued" : "live";
}

#define DOC_TEXT_MAX 512

/* The next key of sec from *i on that the documentation shows (NULL: none left), with its type and default
 * written out into type and def (DOC_TEXT_MAX bytes each). */
static const struct cs_key *doc_next_key(const struct cs_section *sec, size_t *i, char *type, char *def)
{
	while (*i < sec->nkeys) {
		const struct cs_key *k = &sec->keys[(*i)++];

		if (k->flags & CS_NODOC)
			continue;
		fmt_type(type, DOC_TEXT_MAX, k);
		fmt_default(def, DOC_TEXT_MAX, k);
		return k;
	}
	return NULL;
}

int cs_doc_markdown(FILE *out, const struct cs_section *const *sections, size_t n)
{
	char type[DOC_TEXT_MAX], def[DOC_TEXT_MAX];
	const struct cs_key *k;

	fprintf(out, "| key | type | default | SIGHUP | meaning |\n|---|---|---|---|---|\n");
	for (size_t s = 0; s < n; s++) {
		size_t i = 0;

		while ((k = doc_next_key(sections[s], &i, type, def))) {
			fprintf(out, "| `[%s] %s` | %s | %s | %s | %s |\n", sections[s]->name, cs_key_short(k), type,
				def, fmt_reload(k), k->doc ? k->doc : "");
		}
	}
	return ferror(out) ? -EIO : 0;
}

/* Whether the dot at p ends an abbreviation such as "e.g." (another dot in the same word). */
static bool abbreviation(const char *text, const char *p)
{
	for (const char *q = p; q > text && q[-1] != ' '; q--)
		if (q[-1] == '.')
			return true;
	return false;
}

/* mdoc text: `code` in bold, backslashes escaped, each sentence on a line of its own and lines
 * broken at a space past 50 columns (mandoc wants both), no line starting with a control
 * character; the first letter a capital. */
static void mdoc_text(FILE *out, const char *prefix, const char *text, const char *suffix)
{
	bool bold = false, line_start = !*prefix;
	int col = fputs(prefix, out) < 0 ? 0 : (int)strlen(prefix);

	for (const char *p = text; *p; p++) {
		if (line_start && (*p == '.' || *p == '\''))
			col += fprintf(out, "\\&");
		line_start = false;
		if (*p == '`') {
			col += fprintf(out, "%s", bold ? "\\fP" : "\\fB");
			bold = !bold;
		} else if (*p == '\\') {
			col += fprintf(out, "\\e");
		} else if (*p == '.' && (p[1] == ' ' || !p[1]) && abbreviation(text, p)) {
			col += fprintf(out, ".\\&"); /* not the end of a sentence */
		} else if ((!bold && strchr(".?!", *p) && p[1] == ' ' && p[2] >= 'A' && p[2] <= 'Z') ||
			   (*p == ' ' && col >= 50)) {
			if (*p != ' ')
				fputc(*p++, out);
			fputc('\n', out);
			line_start = true;
			col = 0;
		} else {
			fputc(p == text && *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, out);
			col++;
		}
	}
	if (bold)
		fputs("\\fP", out);
	fputs(suffix, out);
}

int cs_doc_mdoc(FILE *out, const struct cs_section *const *sections, size_t n)
{
	char type[DOC_TEXT_MAX], def[DOC_TEXT_MAX];
	const struct cs_key *k;

	for (size_t s = 0; s < n; s++) {
		size_t i = 0;

		fprintf(out, ".Ss \\&[%s] section\n.Bl -tag -width Ds\n", sections[s]->name);
		while ((k = doc_next_key(sections[s], &i, type, def))) {
			fprintf(out, ".It Cm %s\n", cs_key_short(k));
			mdoc_text(out, "", k->doc ? k->doc : "", ".\n");
			mdoc_text(out, "Value: ", type, ".\n");
			mdoc_text(out, "Default: ", def, ".\n");
			fprintf(out, "SIGHUP: %s.\n",
				!(k->flags & CS_LIVE)	     ? "applied at the next restart"
				: k->flags & CS_PAYLOAD ? "applied at once; every device's config is re-issued"
							 : "applied at once");
		}
		fprintf(out, ".El\n");
	}
	return ferror(out) ? -EIO : 0;
}
