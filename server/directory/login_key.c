/* The login limiter's keys (see login_key.h). */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "login_key.h"

/* Length of the UTF-8 sequence at p if it is a space a directory would ignore at the ends
 * of a value or fold into one: ASCII blanks, U+00A0, U+3000. 0 otherwise. */
static size_t space_len(const unsigned char *p)
{
	if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f')
		return 1;
	if (p[0] == 0xc2 && p[1] == 0xa0)
		return 2;
	if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/* The ASCII letter a fullwidth form U+FF01..U+FF5E at p stands for (0 if none). */
static char fullwidth(const unsigned char *p)
{
	if (p[0] != 0xef)
		return 0;
	if (p[1] == 0xbc && p[2] >= 0x81 && p[2] <= 0xbf)
		return (char)(p[2] - 0x81 + 0x21);
	if (p[1] == 0xbd && p[2] >= 0x80 && p[2] <= 0x9e)
		return (char)(p[2] - 0x80 + 0x60);
	return 0;
}

void login_key_user(const char *username, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)username;
	size_t n = 0, sl;
	bool pending_space = false;

	if (len < 3) {
		if (len)
			out[0] = '\0';
		return;
	}
	out[n++] = 'u';
	out[n++] = ':';
	while ((sl = space_len(p)))
		p += sl;
	while (*p && n + 2 < len) {
		char c;

		if ((sl = space_len(p))) {
			pending_space = true; /* written only if something follows */
			p += sl;
			continue;
		}
		if (pending_space) {
			out[n++] = ' ';
			pending_space = false;
			if (n + 2 >= len)
				break;
		}
		c = fullwidth(p);
		if (c) {
			p += 3;
		} else {
			c = (char)*p;
			p++;
		}
		out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
}

void login_key_addr(const char *addr, char *out, size_t len)
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(a6.s6_addr, mapped, sizeof(mapped)) == 0) {
			inet_ntop(AF_INET, a6.s6_addr + 12, text, sizeof(text));
			snprintf(out, len, "a:%s", text);
			return;
		}
		memset(a6.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &a6, text, sizeof(text));
		snprintf(out, len, "a:%s/64", text);
		return;
	}
	snprintf(out, len, "a:%s", addr);
}
