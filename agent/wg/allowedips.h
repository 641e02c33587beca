/* Cryptokey routing table: longest-prefix match from an IPv4 or IPv6 address
 * to a peer, as a path-compressed binary trie per family. No I/O, no locks
 * (the device guards it with its config lock). */
#ifndef KW_WG_ALLOWEDIPS_H
#define KW_WG_ALLOWEDIPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aip_node;

struct allowedips {
	struct aip_node *root4;
	struct aip_node *root6;
	size_t count;
};

void allowedips_init(struct allowedips *t);
void allowedips_free(struct allowedips *t);
/* family AF_INET (ip 4 bytes) or AF_INET6 (16). Host bits are masked off.
 * Re-inserting a prefix moves it to `peer`. 0, -EINVAL or -ENOMEM. */
int allowedips_insert(struct allowedips *t, int family, const uint8_t *ip, uint8_t cidr, void *peer);
/* Remove the prefix only if it belongs to `peer`; -ENOENT otherwise. */
int allowedips_remove(struct allowedips *t, int family, const uint8_t *ip, uint8_t cidr, void *peer);
/* Remove every prefix of peer. */
void allowedips_remove_peer(struct allowedips *t, void *peer);
/* Longest match, or NULL. */
void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *ip);
/* Call fn for every prefix of peer (all peers when peer is NULL). Stops and
 * returns fn's value when it is non-zero. */
int allowedips_walk(const struct allowedips *t, void *peer,
		    int (*fn)(void *ctx, int family, const uint8_t *ip, uint8_t cidr, void *peer),
		    void *ctx);

#endif
