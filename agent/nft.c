/* The gateway's access policy as one nftables transaction; the design is in nft.h. */
#include "config.h"
#include "nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A growing text buffer; the first failure sticks and is reported once at the end. */
struct sb {
	char *p;
	size_t len, cap;
	int err;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 65536;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

/* An address as a 128-bit number (IPv4 in the low 32 bits), for interval arithmetic. */
struct a128 {
	uint64_t hi, lo;
};

static int a128_cmp(const struct a128 *x, const struct a128 *y)
{
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : 0;
}

static int a128_qcmp(const void *x, const void *y)
{
	return a128_cmp(x, y);
}

static struct a128 a128_add(struct a128 a, int64_t d)
{
	uint64_t lo = a.lo + (uint64_t)d;

	if (d > 0 && lo < a.lo)
		a.hi++;
	else if (d < 0 && lo > a.lo)
		a.hi--;
	a.lo = lo;
	return a;
}

static struct a128 a128_max(int family)
{
	return family == AF_INET ? (struct a128){ 0, 0xffffffffULL } : (struct a128){ ~0ULL, ~0ULL };
}

/* [*lo, *hi] covered by a masked prefix. */
static void cidr_bounds(const struct kw_cidr *c, struct a128 *lo, struct a128 *hi)
{
	unsigned bits = c->family == AF_INET ? 32 : 128, host = bits - c->prefix;
	struct a128 mask = { 0, 0 };
	uint64_t w[2] = { 0, 0 };

	for (unsigned i = 0; i < bits / 8; i++) {
		unsigned idx = bits == 32 ? 1 : i / 8;

		w[idx] = (w[idx] << 8) | c->addr[i];
	}
	*lo = (struct a128){ w[0], w[1] };
	/* mask of the host bits */
	if (host >= 64) {
		mask.lo = ~0ULL;
		mask.hi = host >= 128 ? ~0ULL : (host == 64 ? 0 : (~0ULL >> (128 - host)));
	} else {
		mask.lo = host ? (~0ULL >> (64 - host)) : 0;
	}
	*hi = (struct a128){ lo->hi | mask.hi, lo->lo | mask.lo };
}

static void a128_format(char out[INET6_ADDRSTRLEN], int family, const struct a128 *a)
{
	uint8_t b[16];

	if (family == AF_INET) {
		uint32_t v = htonl((uint32_t)a->lo);

		memcpy(b, &v, 4);
	} else {
		for (int i = 0; i < 8; i++) {
			b[i] = (uint8_t)(a->hi >> (56 - 8 * i));
			b[8 + i] = (uint8_t)(a->lo >> (56 - 8 * i));
		}
	}
	if (!inet_ntop(family, b, out, INET6_ADDRSTRLEN))
		strcpy(out, "::");
}

static struct a128 a128_sub(struct a128 a, const struct a128 *b)
{
	uint64_t lo = a.lo - b->lo;

	a.hi = a.hi - b->hi - (lo > a.lo);
	a.lo = lo;
	return a;
}

/* The prefix length when [lo, hi] is exactly one prefix, else -1. */
static int span_prefix(int family, const struct a128 *lo, const struct a128 *hi)
{
	struct a128 x = a128_sub(*hi, lo), x1 = a128_add(x, 1);

	/* hi - lo must be 2^k - 1 and lo aligned to 2^k */
	if ((x.hi & x1.hi) || (x.lo & x1.lo) || (lo->hi & x.hi) || (lo->lo & x.lo))
		return -1;
	return (family == AF_INET ? 32 : 128) - __builtin_popcountll(x.hi) -
	       __builtin_popcountll(x.lo);
}

/* "a", "a/len" or "a-b": one address field of an element. */
static void sb_span(struct sb *b, int family, const struct a128 *lo, const struct a128 *hi)
{
	char t1[INET6_ADDRSTRLEN], t2[INET6_ADDRSTRLEN];
	int p = a128_cmp(lo, hi) == 0 ? (family == AF_INET ? 32 : 128) : span_prefix(family, lo, hi);

	a128_format(t1, family, lo);
	if (p == (family == AF_INET ? 32 : 128)) {
		sb_printf(b, "%s", t1);
	} else if (p >= 0) {
		sb_printf(b, "%s/%d", t1, p);
	} else {
		a128_format(t2, family, hi);
		sb_printf(b, "%s-%s", t1, t2);
	}
}

/* What one kind of set is keyed by; the sweep below works the same for all three. */
enum kind { KIND_PORTS, KIND_ICMP, KIND_ANY };

struct item { /* one destination of a peer, as an interval and its ports */
	struct a128 lo, hi;
	const struct policy_port_range *r;
	size_t n;
	uint8_t l4; /* IP protocol number; 0 for "any" */
};

/* One merged element group: a destination interval, a protocol, disjoint port ranges. */
struct seg {
	struct a128 lo, hi;
	uint8_t l4;
	size_t n;
	struct policy_port_range *r;
};

struct emit {
	struct sb *b; /* the set's elements, one per line */
	int family;
	enum kind kind;
	const struct policy_peer *peer;
	size_t elements; /* in this set */
	size_t *total;   /* in all sets, for the bound */
	int err;
};

/* Count one more element against the bound; false (and -E2BIG) when over it. */
static bool emit_count(struct emit *e)
{
	e->elements++;
	if (++*e->total > POLICY_MAX_ELEMENTS) {
		e->err = -E2BIG;
		return false;
	}
	return true;
}

static const struct policy_port_range no_port = { 0, 0 };

static void emit_seg(struct emit *e, const struct seg *s)
{
	for (size_t i = 0; i < e->peer->n_sources && !e->err; i++) {
		const struct kw_cidr *src = &e->peer->sources[i];
		struct a128 slo, shi;

		if (src->family != e->family)
			continue;
		cidr_bounds(src, &slo, &shi);
		for (size_t k = 0; k < s->n; k++) {
			if (!emit_count(e))
				return;
			sb_span(e->b, e->family, &slo, &shi);
			sb_printf(e->b, " . ");
			sb_span(e->b, e->family, &s->lo, &s->hi);
			if (e->kind != KIND_ANY)
				sb_printf(e->b, " . %u", s->l4);
			if (e->kind == KIND_PORTS && s->r[k].lo == s->r[k].hi)
				sb_printf(e->b, " . %u", s->r[k].lo);
			else if (e->kind == KIND_PORTS)
				sb_printf(e->b, " . %u-%u", s->r[k].lo, s->r[k].hi);
			sb_printf(e->b, "\n");
		}
	}
}

static bool ranges_equal(const struct seg *a, const struct policy_port_range *r, size_t n)
{
	return a->n == n && memcmp(a->r, r, n * sizeof(*r)) == 0;
}

/*
 * Split the items' intervals at every boundary, give each piece the union of the ports
 * of the items covering it, join neighbours with equal ports, and emit: elements that
 * cannot overlap, as the kernel requires within one interval set.
 */
static int sweep(struct emit *e, const struct item *it, size_t n, uint8_t l4)
{
	struct a128 *pt = calloc(2 * n + 1, sizeof(*pt)), max = a128_max(e->family);
	size_t np = 0, nr = 0, i, k;
	struct policy_port_range *tmp, *cur;
	struct seg pend = { .l4 = l4 };
	int ret = -ENOMEM;

	for (i = 0; i < n; i++)
		nr += it[i].n;
	tmp = calloc(nr + 1, sizeof(*tmp));
	cur = calloc(nr + 1, sizeof(*cur));
	if (!pt || !tmp || !cur)
		goto out;
	for (i = 0; i < n; i++) {
		pt[np++] = it[i].lo;
		if (a128_cmp(&it[i].hi, &max) != 0)
			pt[np++] = a128_add(it[i].hi, 1);
	}
	qsort(pt, np, sizeof(*pt), a128_qcmp);
	for (k = 0; k < np && !e->err; k++) {
		struct a128 lo = pt[k], hi = k + 1 < np ? a128_add(pt[k + 1], -1) : max;
		size_t m = 0;

		if (k + 1 < np && a128_cmp(&pt[k], &pt[k + 1]) == 0)
			continue; /* duplicate boundary */
		for (i = 0; i < n; i++) {
			if (a128_cmp(&it[i].lo, &lo) <= 0 && a128_cmp(&lo, &it[i].hi) <= 0) {
				memcpy(tmp + m, it[i].r, it[i].n * sizeof(*tmp));
				m += it[i].n;
			}
		}
		m = policy_ports_merge(tmp, m);
		struct a128 prev = a128_add(lo, -1);

		if (pend.n && m && ranges_equal(&pend, tmp, m) && a128_cmp(&pend.hi, &prev) == 0) {
			pend.hi = hi; /* the same ports continue: one wider interval */
			continue;
		}
		if (pend.n)
			emit_seg(e, &pend);
		memcpy(cur, tmp, m * sizeof(*cur));
		pend = (struct seg){ .lo = lo, .hi = hi, .l4 = l4, .n = m, .r = cur };
	}
	if (pend.n && !e->err)
		emit_seg(e, &pend);
	ret = e->err;
out:
	free(pt);
	free(tmp);
	free(cur);
	return ret;
}

static size_t peer_items(const struct policy_peer *pp, int family, enum policy_proto proto,
			 struct item *out)
{
	size_t n = 0;

	for (size_t d = 0; d < pp->n_dests; d++) {
		const struct policy_dest *pd = &pp->dests[d];

		if (pd->cidr.family != family || pd->proto != proto)
			continue;
		cidr_bounds(&pd->cidr, &out[n].lo, &out[n].hi);
		out[n].r = pd->n_ports ? pd->ports : &no_port;
		out[n].n = pd->n_ports ? pd->n_ports : 1;
		n++;
	}
	return n;
}

static bool peer_has_family(const struct policy_peer *pp, int family)
{
	for (size_t i = 0; i < pp->n_sources; i++) {
		if (pp->sources[i].family == family)
			return true;
	}
	return false;
}

/* The elements one restricted peer adds to the grant, icmp or any set of a family. */
static int peer_emit(struct emit *e, struct item *items)
{
	static const enum policy_proto ports[] = { POLICY_PROTO_TCP, POLICY_PROTO_UDP };
	static const uint8_t ports_l4[] = { 6, 17 };
	size_t n;
	int ret = 0;

	if (e->peer->def == POLICY_UNRESTRICTED || !peer_has_family(e->peer, e->family))
		return 0;
	if (e->kind == KIND_PORTS) {
		for (size_t i = 0; i < 2 && ret == 0; i++) {
			n = peer_items(e->peer, e->family, ports[i], items);
			ret = n ? sweep(e, items, n, ports_l4[i]) : 0;
		}
		return ret;
	}
	n = peer_items(e->peer, e->family, e->kind == KIND_ICMP ? POLICY_PROTO_ICMP : POLICY_PROTO_ANY,
		       items);
	return n ? sweep(e, items, n, e->family == AF_INET ? 1 : 58) : 0;
}

/* The sources of every peer whose default is def: set unrestricted or open. */
static void sources_emit(struct emit *e, const struct policy_set *set, enum policy_default def)
{
	for (size_t p = 0; p < set->n_peers && !e->err; p++) {
		const struct policy_peer *pp = &set->peers[p];

		for (size_t i = 0; pp->def == def && i < pp->n_sources; i++) {
			struct a128 lo, hi;

			if (pp->sources[i].family != e->family)
				continue;
			if (!emit_count(e))
				return;
			cidr_bounds(&pp->sources[i], &lo, &hi);
			sb_span(e->b, e->family, &lo, &hi);
			sb_printf(e->b, "\n");
		}
	}
}

struct set_def {
	const char *name;
	enum kind kind;
	int def; /* a policy_default for the address sets, -1 for the keyed ones */
};

static const struct set_def set_defs[] = {
	{ "unrestricted", KIND_ANY, POLICY_UNRESTRICTED },
	{ "open", KIND_ANY, POLICY_DEFAULT_ALLOW },
	{ "grant", KIND_PORTS, -1 },
	{ "icmp", KIND_ICMP, -1 },
	{ "any", KIND_ANY, -1 },
};

/* The elements of every set, one per line in set_defs x {IPv4, IPv6} order. */
#define NFT_SETS (2 * sizeof(set_defs) / sizeof(set_defs[0]))
struct elems {
	struct sb set[NFT_SETS];
	size_t n[NFT_SETS];
	size_t total;
};

static void elems_free(struct elems *el)
{
	for (size_t i = 0; i < NFT_SETS; i++)
		free(el->set[i].p);
	memset(el, 0, sizeof(*el));
}

static int elems_compile(const struct policy_set *set, struct elems *el)
{
	struct item *items = calloc(POLICY_MAX_DESTINATIONS, sizeof(*items));
	int ret = items ? 0 : -ENOMEM;

	memset(el, 0, sizeof(*el));
	for (size_t i = 0; i < NFT_SETS && ret == 0; i++) {
		const struct set_def *sd = &set_defs[i / 2];
		struct emit e = { .b = &el->set[i], .family = i % 2 ? AF_INET6 : AF_INET,
				  .kind = sd->kind, .total = &el->total };

		sb_printf(e.b, "%s", ""); /* an empty set still has a (empty) buffer */
		if (sd->def >= 0)
			sources_emit(&e, set, (enum policy_default)sd->def);
		for (size_t p = 0; sd->def < 0 && p < set->n_peers && !e.err; p++) {
			e.peer = &set->peers[p];
			e.err = peer_emit(&e, items);
		}
		el->n[i] = e.elements;
		ret = e.err ? e.err : e.b->err;
	}
	free(items);
	if (ret < 0)
		elems_free(el);
	return ret;
}

static void set_name(char out[16], size_t i)
{
	snprintf(out, 16, "%s%c", set_defs[i / 2].name, i % 2 ? '6' : '4');
}

/* Element lines as "a,\n\t\t\tb": the list inside "{ }". */
static void sb_lines(struct sb *b, const char *lines, size_t len)
{
	const char *p = lines, *end = lines + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		sb_printf(b, "%s\t\t\t%.*s", p == lines ? "" : ",\n", (int)(nl - p), p);
		p = nl + 1;
	}
}

/* One set declaration with its elements. */
static void set_decl(struct sb *b, const struct elems *el, size_t i)
{
	const struct set_def *sd = &set_defs[i / 2];
	const char *a = i % 2 ? "ipv6_addr" : "ipv4_addr";
	char name[16];

	set_name(name, i);
	sb_printf(b, "\tset %s {\n\t\ttype %s", name, a);
	if (sd->def < 0)
		sb_printf(b, " . %s", a);
	if (sd->def < 0 && sd->kind != KIND_ANY)
		sb_printf(b, " . inet_proto");
	if (sd->def < 0 && sd->kind == KIND_PORTS)
		sb_printf(b, " . inet_service");
	sb_printf(b, "\n\t\tflags interval\n");
	if (el->n[i]) {
		sb_printf(b, "\t\telements = {\n");
		sb_lines(b, el->set[i].p, el->set[i].len);
		sb_printf(b, "\n\t\t}\n");
	}
	sb_printf(b, "\t}\n");
}

int nft_table_name(char out[NFT_TABLE_NAME_MAX], const char *ifname)
{
	size_t n = ifname ? strlen(ifname) : 0;

	if (n == 0 || n > 15)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = ifname[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return -EINVAL;
	}
	snprintf(out, NFT_TABLE_NAME_MAX, "keyway_%s", ifname);
	return 0;
}

/*
 * The rules: fixed, only the sets change between versions. The base chain judges only
 * what comes from the tunnel and passes replies, then sends each family to its own
 * chain, so a packet meets only its family's lookups (grants first: under a policy most
 * peers deny by default). What falls out of policy4/6 comes back and is dropped.
 */
static const char *const chains[] = { "policy4", "policy6", "forward_policy" };
static const struct {
	unsigned chain;    /* index in chains[] */
	const char *iface; /* "iifname != " or "oifname != " before the tunnel's name, or "" */
	const char *rest;
} rules[NFT_RULES] = {
	{ 0, "", "ip saddr . ip daddr . meta l4proto . th sport . th dport @flows4 accept" },
	{ 0, "", "ip saddr . ip daddr . meta l4proto . th dport @grant4 add @flows4 { ip saddr . "
		 "ip daddr . meta l4proto . th sport . th dport } accept" },
	{ 0, "", "ip saddr . ip daddr . meta l4proto . th dport @grant4 accept" },
	{ 0, "", "ip saddr . ip daddr . meta l4proto @icmp4 accept" },
	{ 0, "", "ip saddr . ip daddr @any4 add @flows4 { ip saddr . ip daddr . meta l4proto . "
		 "th sport . th dport } accept" },
	{ 0, "", "ip saddr . ip daddr @any4 accept" },
	{ 0, "", "ip saddr @unrestricted4 accept" },
	{ 0, "oifname != ", "ip saddr @open4 accept" },
	{ 1, "", "ip6 saddr . ip6 daddr . meta l4proto . th sport . th dport @flows6 accept" },
	{ 1, "", "ip6 saddr . ip6 daddr . meta l4proto . th dport @grant6 add @flows6 { ip6 saddr . "
		 "ip6 daddr . meta l4proto . th sport . th dport } accept" },
	{ 1, "", "ip6 saddr . ip6 daddr . meta l4proto . th dport @grant6 accept" },
	{ 1, "", "ip6 saddr . ip6 daddr . meta l4proto @icmp6 accept" },
	{ 1, "", "ip6 saddr . ip6 daddr @any6 add @flows6 { ip6 saddr . ip6 daddr . meta l4proto . "
		 "th sport . th dport } accept" },
	{ 1, "", "ip6 saddr . ip6 daddr @any6 accept" },
	{ 1, "", "ip6 saddr @unrestricted6 accept" },
	{ 1, "oifname != ", "ip6 saddr @open6 accept" },
	{ 2, "iifname != ", "return" },
	{ 2, "", "ct direction reply accept" },
	{ 2, "", "ct state related accept" },
	{ 2, "", "meta nfproto vmap { ipv4 : jump policy4, ipv6 : jump policy6 }" },
	{ 2, "", "counter drop" },
};

/*
 * The flow caches: a packet's addresses, protocol and ports once a grant accepted them,
 * so the rest of a connection costs one hash lookup instead of the interval lookups,
 * whose cost grows with the number of elements. They are created empty with every
 * version (a grant taken away is judged again at once). When one is full, the "add"
 * fails and the rule after it accepts without caching.
 */
static void flow_sets_emit(struct sb *b, const char *pre, const char *post)
{
	for (int f = 4; f <= 6; f += 2) {
		const char *a = f == 4 ? "ipv4_addr" : "ipv6_addr";

		sb_printf(b, "%sset flows%d {\n\t\ttype %s . %s . inet_proto . inet_service . "
			     "inet_service\n\t\tsize %d\n\t\tflags dynamic,timeout\n\t\t"
			     "timeout %ds\n\t}\n%s",
			  pre, f, a, a, NFT_FLOW_CACHE_SIZE, NFT_FLOW_CACHE_TIMEOUT, post);
	}
}

/* The rules of one chain, each on its own line after prefix: "\t\t" inside a chain
 * block, or "add rule inet T <chain> " for rules on their own. */
static void rules_emit(struct sb *b, const char *prefix, unsigned chain, const char *ifname)
{
	for (size_t i = 0; i < NFT_RULES; i++) {
		if (rules[i].chain != chain)
			continue;
		if (*rules[i].iface)
			sb_printf(b, "%s%s\"%s\" %s\n", prefix, rules[i].iface, ifname, rules[i].rest);
		else
			sb_printf(b, "%s%s\n", prefix, rules[i].rest);
	}
}

static void chains_emit(struct sb *b, const char *ifname)
{
	for (unsigned c = 0; c < 3; c++) {
		sb_printf(b, "\tchain %s {\n", chains[c]);
		if (c == 2)
			sb_printf(b, "\t\ttype filter hook forward priority filter; policy accept;\n");
		rules_emit(b, "\t\t", c, ifname);
		sb_printf(b, "\t}\n");
	}
}

/*
 * The whole table, replacing the old one: "flush table" would keep the old sets'
 * elements, so the transaction deletes the table and defines it anew.
 */
static void table_emit(struct sb *b, const struct elems *el, const char *table, const char *ifname)
{
	sb_printf(b, "table inet %s {}\ndelete table inet %s\ntable inet %s {\n", table, table,
		  table);
	for (size_t i = 0; i < NFT_SETS; i++)
		set_decl(b, el, i);
	flow_sets_emit(b, "\t", "");
	chains_emit(b, ifname);
	sb_printf(b, "}\n");
}

int nft_compile(const struct policy_set *set, const char *ifname, char **text,
		struct nft_stats *stats)
{
	char table[NFT_TABLE_NAME_MAX];
	struct elems el = { 0 };
	struct sb b = { 0 };
	int ret = 0;

	*text = NULL;
	if (nft_table_name(table, ifname) < 0)
		return -EINVAL;
	if (set && set->filters)
		ret = elems_compile(set, &el);
	if (ret < 0)
		return ret;
	if (set && set->filters)
		table_emit(&b, &el, table, ifname);
	else /* creating it first makes the delete valid whether the table exists or not */
		sb_printf(&b, "table inet %s {}\ndelete table inet %s\n", table, table);
	if (stats)
		*stats = (struct nft_stats){ .elements = el.total,
					     .rules = set && set->filters ? NFT_RULES : 0,
					     .text_len = b.len, .changed = el.total };
	elems_free(&el);
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*text = b.p;
	return 0;
}

/* One transaction through libnftables; its messages into err, on one line. */
static int nft_run(const char *text, bool dry_run, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
		ret = -ENOMEM;
		goto out;
	}
	nft_ctx_set_dry_run(ctx, dry_run);
	if (nft_run_cmd_from_buffer(ctx, text) != 0) {
		const char *msg = nft_ctx_get_error_buffer(ctx);

		ret = -EIO;
		if (err && errlen) {
			snprintf(err, errlen, "%s", msg && *msg ? msg : "nftables refused the ruleset");
			for (char *c = err; *c; c++)
				*c = (*c == '\n' || *c == '\t') ? ' ' : *c;
		}
	}
out:
	nft_ctx_free(ctx);
	return ret;
}

/* What the last transaction loaded: each set's element lines, sorted for the diff. */
struct nft_state {
	char table[NFT_TABLE_NAME_MAX];
	struct elems el;
	const char **sorted[NFT_SETS];
};

void nft_state_free(struct nft_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < NFT_SETS; i++)
		free(st->sorted[i]);
	elems_free(&st->el);
	free(st);
}

/* Element lines end at '\n'; compare them as strings. */
static int line_cmp(const char *a, const char *b)
{
	while (*a == *b && *a != '\n') {
		a++;
		b++;
	}
	return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

static int line_qcmp(const void *a, const void *b)
{
	return line_cmp(*(const char *const *)a, *(const char *const *)b);
}

static int state_new(const struct policy_set *set, const char *table, struct nft_state **out)
{
	struct nft_state *st = calloc(1, sizeof(*st));
	int ret;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	snprintf(st->table, sizeof(st->table), "%s", table);
	ret = elems_compile(set, &st->el);
	for (size_t i = 0; i < NFT_SETS && ret == 0; i++) {
		const char *p = st->el.set[i].p;

		st->sorted[i] = calloc(st->el.n[i] + 1, sizeof(*st->sorted[i]));
		if (!st->sorted[i]) {
			ret = -ENOMEM;
			break;
		}
		for (size_t k = 0; k < st->el.n[i]; k++) {
			st->sorted[i][k] = p;
			p = strchr(p, '\n') + 1;
		}
		qsort(st->sorted[i], st->el.n[i], sizeof(*st->sorted[i]), line_qcmp);
	}
	if (ret < 0) {
		nft_state_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

/* "cmd element inet T set { ... }" for the lines of a that b lacks; their number. */
static size_t diff_side(struct sb *out, const char *cmd, const char *table, size_t i,
			const char **a, size_t na, const char **b, size_t nb)
{
	size_t ia = 0, ib = 0, n = 0;
	char name[16];

	set_name(name, i);
	while (ia < na) {
		int c = ib < nb ? line_cmp(a[ia], b[ib]) : -1;

		if (c > 0) {
			ib++;
			continue;
		}
		if (c < 0) {
			const char *nl = strchr(a[ia], '\n');

			if (n++ == 0)
				sb_printf(out, "%s element inet %s %s {\n", cmd, table, name);
			sb_printf(out, "%s\t%.*s", n > 1 ? ",\n" : "", (int)(nl - a[ia]), a[ia]);
		} else {
			ib++;
		}
		ia++;
	}
	if (n)
		sb_printf(out, "\n}\n");
	return n;
}

/* The transaction that turns old's elements into new's: deletes, then adds. */
static void diff_emit(struct sb *out, const struct nft_state *old, const struct nft_state *st,
		      size_t *deleted, size_t *added)
{
	*deleted = *added = 0;
	for (size_t i = 0; i < NFT_SETS; i++) {
		*deleted += diff_side(out, "delete", st->table, i, old->sorted[i], old->el.n[i],
				      st->sorted[i], st->el.n[i]);
		*added += diff_side(out, "add", st->table, i, st->sorted[i], st->el.n[i],
				    old->sorted[i], old->el.n[i]);
	}
}

/*
 * Whether sending only the difference is cheaper than loading the whole table. Adding
 * to a big interval set is cheap, but the kernel's deletion from one (pipapo) costs
 * time in proportion to the set's size, for each element: measured on 55,000 elements,
 * about 5 ms per deleted element against 0.4 s of kernel time for the whole table.
 */
#define NFT_DIFF_BUDGET 1000000 /* deleted elements x elements loaded */
static bool diff_worth(size_t deleted, size_t added, size_t total)
{
	return deleted * (total + 1) <= NFT_DIFF_BUDGET && added <= total / 2 + 16;
}

/*
 * Only the elements that changed since old, when diff_worth() says so: the same
 * atomicity (one transaction) at a fraction of the work for a small change, such as
 * a user moved between groups. 0 done, 1 not tried, or the run's error.
 */
static int apply_diff(const struct nft_state *old, const struct nft_state *st, const char *ifname,
		      bool dry_run, char *err, size_t errlen, struct nft_stats *stats)
{
	char prefix[NFT_TABLE_NAME_MAX + 64];
	struct sb b = { 0 };
	size_t deleted, added;
	int ret;

	if (!old || strcmp(old->table, st->table) != 0)
		return 1;
	/*
	 * The rules are written again too: cheap, and the transaction fails (and the whole
	 * table is replaced) when someone removed the table, a set or the chain, e.g. a
	 * firewall reload running "nft flush ruleset".
	 */
	for (unsigned c = 0; c < 3; c++)
		sb_printf(&b, "flush chain inet %s %s\n", st->table, chains[c]);
	/* new, empty flow caches: no flow judged under the old version passes unjudged */
	sb_printf(&b, "delete set inet %s flows4\ndelete set inet %s flows6\n", st->table,
		  st->table);
	snprintf(prefix, sizeof(prefix), "table inet %s {\n\t", st->table);
	flow_sets_emit(&b, prefix, "}\n");
	for (unsigned c = 0; c < 3; c++) {
		snprintf(prefix, sizeof(prefix), "add rule inet %s %s ", st->table, chains[c]);
		rules_emit(&b, prefix, c, ifname);
	}
	diff_emit(&b, old, st, &deleted, &added);
	if (b.err || !diff_worth(deleted, added, st->el.total)) {
		free(b.p);
		return b.err ? b.err : 1;
	}
	ret = nft_run(b.p, dry_run, err, errlen);
	stats->changed = deleted + added;
	stats->text_len = b.len;
	stats->incremental = true;
	free(b.p);
	return ret;
}

/* The whole table in one transaction. */
static int apply_full(const struct nft_state *st, const char *ifname, bool dry_run, char *err,
		      size_t errlen, struct nft_stats *stats)
{
	struct sb b = { 0 };
	int ret;

	table_emit(&b, &st->el, st->table, ifname);
	ret = b.err ? b.err : nft_run(b.p, dry_run, err, errlen);
	stats->changed = st->el.total;
	stats->text_len = b.len;
	stats->incremental = false;
	free(b.p);
	return ret;
}

static void err_set(char *err, size_t errlen, int ret)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", ret == -E2BIG ? "policy has too many set elements" :
					    ret == -EINVAL ? "bad interface name" : "out of memory");
}

int nft_apply(const struct policy_set *set, const char *ifname, bool dry_run,
	      struct nft_state **state, char *err, size_t errlen, struct nft_stats *stats)
{
	char table[NFT_TABLE_NAME_MAX];
	struct nft_stats st_local = { 0 }, *sts = stats ? stats : &st_local;
	struct nft_state *st = NULL, *old = state ? *state : NULL;
	int ret;

	*sts = (struct nft_stats){ 0 };
	if (nft_table_name(table, ifname) < 0) {
		err_set(err, errlen, -EINVAL);
		return -EINVAL;
	}
	if (!set || !set->filters) {
		char text[3 * NFT_TABLE_NAME_MAX + 64];

		snprintf(text, sizeof(text), "table inet %s {}\ndelete table inet %s\n", table, table);
		sts->text_len = strlen(text);
		ret = nft_run(text, dry_run, err, errlen);
		if (ret == 0 && !dry_run && state) {
			nft_state_free(*state);
			*state = NULL;
		}
		return ret;
	}
	ret = state_new(set, table, &st);
	if (ret < 0) {
		err_set(err, errlen, ret);
		return ret;
	}
	sts->elements = st->el.total;
	sts->rules = NFT_RULES;
	ret = apply_diff(old, st, ifname, dry_run, err, errlen, sts);
	if (ret != 0) /* not tried, or the kernel did not hold what we believed: replace all */
		ret = apply_full(st, ifname, dry_run, err, errlen, sts);
	if (ret == 0 && !dry_run && state) {
		nft_state_free(*state);
		*state = st;
		st = NULL;
	} else if (ret < 0 && state) {
		nft_state_free(*state); /* unknown now: the next version replaces the table */
		*state = NULL;
	}
	nft_state_free(st);
	return ret;
}

int nft_remove(const char *ifname, char *err, size_t errlen)
{
	return nft_apply(NULL, ifname, false, NULL, err, errlen, NULL);
}
