/*
 * IP address management, the pure part: host offsets within the network CIDR and the
 * addresses they stand for. Offset 0 (the network), 1 (kept for a gateway/router) and the
 * last (IPv4 broadcast) are never handed out. Which offsets are taken, and quarantine,
 * live in the store (address_leases), where allocation is one transaction.
 */
#ifndef KW_IPAM_H
#define KW_IPAM_H

#include <stdint.h>

#include "cidr.h"

/* Usable offsets [*first, *last]; -EINVAL when the network has none (IPv4 /31, /32). */
int ipam_pool_range(const struct kw_cidr *net, uint64_t *first, uint64_t *last);
/* The host address at offset in net, as a host prefix (/32 or /128). -ERANGE when outside. */
int ipam_address(const struct kw_cidr *net, uint64_t offset, struct kw_cidr *out);

#endif
