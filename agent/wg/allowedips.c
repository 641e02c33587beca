/* Each node holds a prefix (bits masked to cidr) and an optional peer; child
 * [b] continues with bit `cidr` equal to b. Nodes without a peer exist only
 * as branch points with two children, so the trie stays O(prefixes). */
#include "config.h"

#include "allowedips.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct aip_node {
	struct aip_node *child[2];
	void *peer;
	uint8_t bits[16];
	uint8_t cidr;
};

static inline unsigned bit_at(const uint8_t *ip, unsigned i)
{
	return (ip[i >> 3] >> (7 - (i & 7))) & 1;
}

static void mask_bits(uint8_t *out, const uint8_t *ip, unsigned cidr, unsigned bytes)
{
	unsigned i;

	memset(out, 0, 16);
	for (i = 0; i < bytes; i++) {
		if (cidr >= 8 * (i + 1))
			out[i] = ip[i];
		else if (cidr > 8 * i)
			out[i] = ip[i] & (uint8_t)(0xff << (8 - (cidr - 8 * i)));
	}
}

/* Number of leading bits on which a and b agree, at most max. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned i = 0;

	while (i < max && (i & 7) == 0 && i + 8 <= max && a[i >> 3] == b[i >> 3])
		i += 8;
	while (i < max && bit_at(a, i) == bit_at(b, i))
		i++;
	return i;
}

static int family_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : -1;
}

void allowedips_init(struct allowedips *t)
{
	memset(t, 0, sizeof(*t));
}

static void free_tree(struct aip_node *n)
{
	if (!n)
		return;
	free_tree(n->child[0]);
	free_tree(n->child[1]);
	free(n);
}

void allowedips_free(struct allowedips *t)
{
	free_tree(t->root4);
	free_tree(t->root6);
	t->root4 = t->root6 = NULL;
	t->count = 0;
}

static struct aip_node *node_new(const uint8_t *key, uint8_t cidr, void *peer)
{
	struct aip_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	memcpy(n->bits, key, 16);
	n->cidr = cidr;
	n->peer = peer;
	return n;
}

int allowedips_insert(struct allowedips *t, int family, const uint8_t *ip, uint8_t cidr, void *peer)
{
	int nbits = family_bits(family);
	struct aip_node **pp, *n, *nn, *mid;
	uint8_t key[16];
	unsigned c;

	if (nbits < 0 || cidr > nbits || !peer)
		return -EINVAL;
	mask_bits(key, ip, cidr, (unsigned)nbits / 8);
	pp = family == AF_INET ? &t->root4 : &t->root6;
	while ((n = *pp)) {
		c = common_bits(n->bits, key, n->cidr < cidr ? n->cidr : cidr);
		if (c == n->cidr) {
			if (n->cidr == cidr) {
				if (!n->peer)
					t->count++;
				n->peer = peer;
				return 0;
			}
			pp = &n->child[bit_at(key, n->cidr)];
			continue;
		}
		nn = node_new(key, cidr, peer);
		if (!nn)
			return -ENOMEM;
		if (c == cidr) {
			/* The new prefix contains n: it becomes n's parent. */
			nn->child[bit_at(n->bits, cidr)] = n;
			*pp = nn;
		} else {
			/* Diverge at bit c: a branch point with both below it. */
			uint8_t mk[16];
			mask_bits(mk, key, c, (unsigned)nbits / 8);
			mid = node_new(mk, (uint8_t)c, NULL);
			if (!mid) {
				free(nn);
				return -ENOMEM;
			}
			mid->child[bit_at(key, c)] = nn;
			mid->child[bit_at(n->bits, c)] = n;
			*pp = mid;
		}
		t->count++;
		return 0;
	}
	nn = node_new(key, cidr, peer);
	if (!nn)
		return -ENOMEM;
	*pp = nn;
	t->count++;
	return 0;
}

/* Drop peerless nodes that no longer branch. */
static void prune(struct aip_node **pp)
{
	struct aip_node *n = *pp;

	if (!n || n->peer)
		return;
	if (n->child[0] && n->child[1])
		return;
	*pp = n->child[0] ? n->child[0] : n->child[1];
	free(n);
}

static int remove_rec(struct aip_node **pp, const uint8_t *key, uint8_t cidr, void *peer,
		      size_t *count)
{
	struct aip_node *n = *pp;
	int ret;

	if (!n || common_bits(n->bits, key, n->cidr < cidr ? n->cidr : cidr) < n->cidr ||
	    n->cidr > cidr)
		return -ENOENT;
	if (n->cidr == cidr) {
		if (!n->peer || n->peer != peer)
			return -ENOENT;
		n->peer = NULL;
		(*count)--;
		prune(pp);
		return 0;
	}
	ret = remove_rec(&n->child[bit_at(key, n->cidr)], key, cidr, peer, count);
	if (ret == 0)
		prune(pp);
	return ret;
}

int allowedips_remove(struct allowedips *t, int family, const uint8_t *ip, uint8_t cidr, void *peer)
{
	int nbits = family_bits(family);
	uint8_t key[16];

	if (nbits < 0 || cidr > nbits)
		return -EINVAL;
	mask_bits(key, ip, cidr, (unsigned)nbits / 8);
	return remove_rec(family == AF_INET ? &t->root4 : &t->root6, key, cidr, peer, &t->count);
}

static void remove_peer_rec(struct aip_node **pp, void *peer, size_t *count)
{
	struct aip_node *n = *pp;

	if (!n)
		return;
	remove_peer_rec(&n->child[0], peer, count);
	remove_peer_rec(&n->child[1], peer, count);
	if (n->peer == peer) {
		n->peer = NULL;
		(*count)--;
	}
	prune(pp);
}

void allowedips_remove_peer(struct allowedips *t, void *peer)
{
	remove_peer_rec(&t->root4, peer, &t->count);
	remove_peer_rec(&t->root6, peer, &t->count);
}

void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *ip)
{
	int nbits = family_bits(family);
	const struct aip_node *n;
	void *best = NULL;

	if (nbits < 0)
		return NULL;
	n = family == AF_INET ? t->root4 : t->root6;
	while (n) {
		if (common_bits(n->bits, ip, n->cidr) < n->cidr)
			break;
		if (n->peer)
			best = n->peer;
		if (n->cidr >= nbits)
			break;
		n = n->child[bit_at(ip, n->cidr)];
	}
	return best;
}

static int walk_rec(const struct aip_node *n, int family, void *peer,
		    int (*fn)(void *, int, const uint8_t *, uint8_t, void *), void *ctx)
{
	int ret;

	if (!n)
		return 0;
	if (n->peer && (!peer || n->peer == peer)) {
		ret = fn(ctx, family, n->bits, n->cidr, n->peer);
		if (ret)
			return ret;
	}
	ret = walk_rec(n->child[0], family, peer, fn, ctx);
	if (ret)
		return ret;
	return walk_rec(n->child[1], family, peer, fn, ctx);
}

int allowedips_walk(const struct allowedips *t, void *peer,
		    int (*fn)(void *ctx, int family, const uint8_t *ip, uint8_t cidr, void *peer),
		    void *ctx)
{
	int ret = walk_rec(t->root4, AF_INET, peer, fn, ctx);

	return ret ? ret : walk_rec(t->root6, AF_INET6, peer, fn, ctx);
}
