/*
 * A gateway's access policy, read from its verified config payload into plain structs.
 * Pure: no I/O. agent/nft.h turns the result into one nftables transaction.
 *
 * The contract (keywayd emits it; this parser is its reference):
 *
 * Each object of the payload's "peers" array (a device peer on a gateway) may carry
 *
 *   "access": {"default": "allow" | "deny",
 *              "destinations": [{"cidr": "10.1.0.0/24",
 *                                "protocol": "tcp" | "udp" | "icmp" | "any",
 *                                "ports": "22,443,8000-8100"}, ...]}
 *
 *   - No "access" member: the peer is unrestricted, as before policies existed (it may
 *     also reach other tunnel devices). When no peer of a config has "access", the
 *     gateway filters nothing and keeps no nftables table at all.
 *   - "default": "allow": the peer reaches everything behind the gateway, but another
 *     tunnel device only where a destination grants it.
 *   - "default": "deny": only what "destinations" grants passes.
 *   - The peer's source addresses are its "allowed_ips" (its tunnel /32 and /128).
 *   - "destinations" may be absent or empty (with "deny": nothing passes).
 *   - "cidr": an IPv4 or IPv6 network with no host bits set beyond the prefix
 *     ("10.1.0.10" is 10.1.0.10/32). It also decides the family: an IPv4 destination
 *     applies to the peer's IPv4 sources only, an IPv6 one to its IPv6 sources.
 *   - "protocol": required. "icmp" means ICMP for IPv4 and ICMPv6 for IPv6.
 *   - "ports": only with "tcp" or "udp", optional there (absent: every port). A
 *     non-empty comma-separated list of items, each a port "N" or a range "N-M", with
 *     1 <= N <= M <= 65535, plain decimal digits, no sign, no leading zero, no spaces.
 *     Overlapping items are allowed and merged.
 *   - Unknown members in "access" or in a destination are refused: an older gateway
 *     must not silently ignore a restriction it does not understand.
 *
 * Bounds (exceeding one is malformed input): POLICY_MAX_DESTINATIONS per peer,
 * POLICY_MAX_PORT_RANGES items per "ports", POLICY_MAX_PORTS_LEN characters per
 * "ports", and POLICY_MAX_ELEMENTS for the worst-case number of set elements of the
 * whole config (sources x destinations x port items, summed over the peers).
 *
 * When some peer has "access", the source prefixes of all peers must not overlap (each
 * packet's source must name exactly one peer, as WireGuard's allowed IPs do).
 *
 * Anything malformed gives -EINVAL and no result: the caller refuses the whole config
 * and applies nothing of it.
 */
#ifndef KW_AGENT_POLICY_H
#define KW_AGENT_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define POLICY_MAX_DESTINATIONS 1024
#define POLICY_MAX_PORT_RANGES 64
#define POLICY_MAX_PORTS_LEN 1024
#define POLICY_MAX_SOURCES 256 /* allowed_ips per peer, as the agent's own bound */
#define POLICY_MAX_PEERS 100000
#define POLICY_MAX_ELEMENTS 200000 /* the kernel loads ~60,000 in 1 s: keep a config bounded */

enum policy_default {
	POLICY_UNRESTRICTED = 0, /* no "access": everything, tunnel devices included */
	POLICY_DEFAULT_ALLOW,    /* everything but other tunnel devices, unless granted */
	POLICY_DEFAULT_DENY,     /* only the destinations */
};

enum policy_proto {
	POLICY_PROTO_ANY = 0,
	POLICY_PROTO_TCP,
	POLICY_PROTO_UDP,
	POLICY_PROTO_ICMP,
};

struct policy_port_range {
	uint16_t lo, hi; /* inclusive */
};

struct policy_dest {
	struct kw_cidr cidr;
	enum policy_proto proto;
	/* tcp/udp: sorted, merged, non-empty (absent "ports" is 0-65535); else 0 */
	size_t n_ports;
	struct policy_port_range ports[POLICY_MAX_PORT_RANGES];
};

struct policy_peer {
	enum policy_default def;
	size_t n_sources;
	struct kw_cidr *sources; /* owned; the peer's allowed_ips */
	size_t n_dests;
	struct policy_dest *dests; /* owned */
};

struct policy_set {
	size_t n_peers;
	struct policy_peer *peers; /* owned, in the payload's order */
	bool filters;              /* some peer carries "access" */
};

/*
 * Read the access policy of every peer of a verified config payload (the object with
 * "peers"). 0 and *out a new set (policy_set_free), or -EINVAL (malformed, over a
 * bound) or -ENOMEM with *out NULL.
 */
int policy_set_from_json(const json_t *payload, struct policy_set **out);
void policy_set_free(struct policy_set *set);

/*
 * Parse a "ports" text into sorted, merged ranges. 0 or -EINVAL. Exposed for tests.
 */
int policy_ports_parse(const char *text, struct policy_port_range *out, size_t max, size_t *n);

/* Sort ranges and merge those that overlap or touch, in place; the new count. */
size_t policy_ports_merge(struct policy_port_range *r, size_t n);

const char *policy_proto_name(enum policy_proto p);

#endif
