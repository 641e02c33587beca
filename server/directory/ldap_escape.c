/* RFC 4515 filter and RFC 4514 DN escaping: the only way a username reaches LDAP. */
#include "config.h"

#include "ldap_escape.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values longer than this are refused outright: no directory has such usernames. */
#define ESCAPE_MAX_IN 4096

static const char hex[] = "0123456789abcdef";

static char *put_hex(char *p, unsigned char c)
{
	*p++ = '\\';
	*p++ = hex[c >> 4];
	*p++ = hex[c & 0xf];
	return p;
}

/* RFC 4515: * ( ) \ and NUL as \xx. */
static char *filter_put(char *p, const char *in, size_t len, size_t i)
{
	unsigned char c = (unsigned char)in[i];

	if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0')
		return put_hex(p, c);
	*p++ = (char)c;
	return p;
}

/* RFC 4514: controls as \xx; specials, a leading space or #, a trailing space as \c. */
static char *dn_put(char *p, const char *in, size_t len, size_t i)
{
	unsigned char c = (unsigned char)in[i];
	bool lead = i == 0 && (c == ' ' || c == '#');
	bool trail = i == len - 1 && c == ' ';

	if (c < 0x20 || c == 0x7f)
		return put_hex(p, c);
	if (lead || trail || strchr("\"+,;<>\\=", c))
		*p++ = '\\';
	*p++ = (char)c;
	return p;
}

/* A new string: every byte of in written by put (at most 3 bytes each). */
static int escape_dup(const char *in, size_t len, char **out,
		      char *(*put)(char *p, const char *in, size_t len, size_t i))
{
	char *buf, *p;

	*out = NULL;
	if (len > ESCAPE_MAX_IN)
		return -E2BIG;
	buf = malloc(len * 3 + 1);
	if (!buf)
		return -ENOMEM;
	p = buf;
	for (size_t i = 0; i < len; i++)
		p = put(p, in, len, i);
	*p = '\0';
	*out = buf;
	return 0;
}

int ldap_filter_escape_dup(const char *in, size_t len, char **out)
{
	return escape_dup(in, len, out, filter_put);
}

int ldap_dn_escape_dup(const char *in, size_t len, char **out)
{
	return escape_dup(in, len, out, dn_put);
}

int ldap_filter_from_template(const char *tmpl, const char *value, char **out)
{
	char *esc = NULL, *buf = NULL;
	size_t n_s = 0, tlen = strlen(tmpl), elen, pos = 0;
	int r;

	*out = NULL;
	r = ldap_filter_escape_dup(value, strlen(value), &esc);
	if (r < 0)
		return r;
	elen = strlen(esc);
	for (const char *p = strstr(tmpl, "%s"); p; p = strstr(p + 2, "%s"))
		n_s++;
	buf = malloc(tlen + n_s * elen + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (const char *p = tmpl; *p;) {
		if (p[0] == '%' && p[1] == 's') {
			memcpy(buf + pos, esc, elen);
			pos += elen;
			p += 2;
		} else {
			buf[pos++] = *p++;
		}
	}
	buf[pos] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(esc);
	free(buf);
	return r;
}
