/* IPv4/IPv6 addresses and prefixes: parse, format, contain. */
#ifndef KW_CIDR_H
#define KW_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kw_cidr {
	int family;      /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes */
	uint8_t prefix;
};

#define KW_CIDR_STRLEN 64

/* "192.0.2.0/24", "2001:db8::/32"; a bare address is a host prefix. 0 or -EINVAL. */
int cidr_parse(struct kw_cidr *out, const char *text);
/* As cidr_parse but also rejects host bits set beyond the prefix. */
int cidr_parse_network(struct kw_cidr *out, const char *text);
void cidr_format(char out[KW_CIDR_STRLEN], const struct kw_cidr *c);
/* Clear host bits beyond the prefix. */
void cidr_mask(struct kw_cidr *c);
bool cidr_contains(const struct kw_cidr *net, const struct kw_cidr *addr);
/* A URL's host part that stays on this machine: "localhost", 127.0.0.0/8 or "[::1]". */
bool cidr_host_is_loopback(const char *host);

#endif
