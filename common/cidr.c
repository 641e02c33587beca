#include "config.h"
#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

int cidr_parse(struct kw_cidr *out, const char *text)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	int max;

	memset(out, 0, sizeof(*out));
	if (!text)
		return -EINVAL;
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	if (slash) {
		char *end = NULL;
		long p;

		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		p = strtol(slash + 1, &end, 10);
		if (*end != '\0' || p < 0 || p > max || end - (slash + 1) > 3)
			return -EINVAL;
		out->prefix = (uint8_t)p;
	} else {
		out->prefix = (uint8_t)max;
	}
	return 0;
}

void cidr_mask(struct kw_cidr *c)
{
	unsigned bytes = c->family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		int bits = (int)c->prefix - (int)(i * 8);

		if (bits >= 8)
			continue;
		c->addr[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

int cidr_parse_network(struct kw_cidr *out, const char *text)
{
	struct kw_cidr masked;
	int ret = cidr_parse(out, text);

	if (ret < 0)
		return ret;
	masked = *out;
	cidr_mask(&masked);
	return memcmp(masked.addr, out->addr, sizeof(out->addr)) == 0 ? 0 : -EINVAL;
}

void cidr_format(char out[KW_CIDR_STRLEN], const struct kw_cidr *c)
{
	char addr[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, addr, sizeof(addr))) {
		snprintf(out, KW_CIDR_STRLEN, "invalid");
		return;
	}
	snprintf(out, KW_CIDR_STRLEN, "%s/%u", addr, c->prefix);
}

bool cidr_contains(const struct kw_cidr *net, const struct kw_cidr *addr)
{
	struct kw_cidr a = *addr;

	if (net->family != addr->family || addr->prefix < net->prefix)
		return false;
	a.prefix = net->prefix;
	cidr_mask(&a);
	return memcmp(a.addr, net->addr, net->family == AF_INET ? 4 : 16) == 0;
}

bool cidr_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char inner[64];
	size_t len = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (len > 2 && len < sizeof(inner) + 2 && host[0] == '[' && host[len - 1] == ']') {
		memcpy(inner, host + 1, len - 2);
		inner[len - 2] = '\0';
		return inet_pton(AF_INET6, inner, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return false;
}
