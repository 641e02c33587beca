#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "ipam.h"

int ipam_pool_range(const struct kw_cidr *net, uint64_t *first, uint64_t *last)
{
	unsigned bits;

	if (net->family == AF_INET) {
		bits = 32u - net->prefix;
		if (net->prefix > 30)
			return -EINVAL;
		*first = 2;
		*last = (UINT64_C(1) << bits) - 2;
		return 0;
	}
	if (net->family == AF_INET6) {
		bits = 128u - net->prefix;
		if (net->prefix > 126)
			return -EINVAL;
		*first = 2;
		/* Offsets are 64-bit; a /64 or larger network is capped well inside that. */
		*last = bits >= 48 ? (UINT64_C(1) << 48) : (UINT64_C(1) << bits) - 1;
		return 0;
	}
	return -EINVAL;
}

int ipam_address(const struct kw_cidr *net, uint64_t offset, struct kw_cidr *out)
{
	unsigned len = net->family == AF_INET ? 4 : 16;
	unsigned bits = (len * 8u) - net->prefix;
	uint64_t carry = offset;

	if (net->family != AF_INET && net->family != AF_INET6)
		return -EINVAL;
	if (bits < 64 && offset >> bits)
		return -ERANGE;
	*out = *net;
	cidr_mask(out);
	/* Add offset to the address, big-endian, from the last byte. */
	for (int i = (int)len - 1; i >= 0 && carry; i--) {
		unsigned sum = out->addr[i] + (unsigned)(carry & 0xff);

		out->addr[i] = (uint8_t)sum;
		carry = (carry >> 8) + (sum >> 8);
	}
	out->prefix = (uint8_t)(len * 8);
	return 0;
}
