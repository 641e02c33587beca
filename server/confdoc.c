/*
 * keywayd-confdoc: the documentation of keywayd.conf generated from the schema tables, so
 * that it cannot drift from the code (built, not installed):
 *   keywayd-confdoc markdown [SECTION,...]   the README's key table of those sections (all)
 *   keywayd-confdoc mdoc TEMPLATE            TEMPLATE with its line ".\" @KEYS@" replaced by
 *                                            the KEYS of every section (keywayd.conf(5))
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/confschema.h"
#include "directory/directory.h"

#define MAX_SECTIONS 32

/* Every section of keywayd.conf, in the order the documentation shows them. */
static size_t all_sections(const struct cs_section **out)
{
	size_t n = 0;

	for (size_t i = 0; i < conf_nsections && n < MAX_SECTIONS; i++)
		out[n++] = conf_sections[i];
	if (n < MAX_SECTIONS)
		out[n++] = &directory_conf_section;
	return n;
}

/* The sections named in list ("server,network"), or -EINVAL naming the unknown one. */
static int pick(const char *list, const struct cs_section **all, size_t nall, const struct cs_section **out,
		size_t *n)
{
	char buf[512], *save = NULL, *tok;
	size_t i;

	*n = 0;
	if (strlen(list) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < nall && strcmp(all[i]->name, tok); i++)
			;
		if (i == nall || *n == MAX_SECTIONS) {
			fprintf(stderr, "keywayd-confdoc: no section [%s]\n", tok);
			return -EINVAL;
		}
		out[(*n)++] = all[i];
	}
	return 0;
}

static int mdoc(const char *template, const struct cs_section *const *all, size_t nall)
{
	char line[4096];
	FILE *in = fopen(template, "r");
	int r = 0, found = 0;

	if (!in) {
		fprintf(stderr, "keywayd-confdoc: %s: %s\n", template, strerror(errno));
		return -errno;
	}
	while (r == 0 && fgets(line, sizeof(line), in)) {
		if (strcmp(line, ".\\\" @KEYS@\n") == 0) {
			r = cs_doc_mdoc(stdout, all, nall);
			found++;
		} else {
			fputs(line, stdout);
		}
	}
	if (ferror(in) || found != 1) {
		fprintf(stderr, "keywayd-confdoc: %s: %s\n", template,
			ferror(in) ? "read error" : "needs exactly one line .\\\" @KEYS@");
		r = -EINVAL;
	}
	fclose(in);
	return r;
}

int main(int argc, char **argv)
{
	const struct cs_section *all[MAX_SECTIONS], *some[MAX_SECTIONS];
	size_t nall = all_sections(all), nsome;
	int r;

	if (argc >= 2 && argc <= 3 && strcmp(argv[1], "markdown") == 0) {
		r = argc == 3 ? pick(argv[2], all, nall, some, &nsome) : 0;
		if (r == 0)
			r = argc == 3 ? cs_doc_markdown(stdout, some, nsome) : cs_doc_markdown(stdout, all, nall);
	} else if (argc == 3 && strcmp(argv[1], "mdoc") == 0) {
		r = mdoc(argv[2], all, nall);
	} else {
		fprintf(stderr, "usage: keywayd-confdoc markdown [SECTION,...] | mdoc TEMPLATE\n");
		return 2;
	}
	if (r == 0 && (fflush(stdout) != 0 || ferror(stdout)))
		r = -EIO;
	return r < 0 ? 1 : 0;
}
