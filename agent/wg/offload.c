#include "config.h"

#include "offload.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "tun.h"

uint32_t csum_partial(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t s = sum;
	uint32_t w;

	while (len >= 8) {
		uint64_t q;
		memcpy(&q, p, 8);
		s += (q & 0xffffffffULL) + (q >> 32);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w, p, 4);
		s += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t h;
		memcpy(&h, p, 2);
		s += h;
		p += 2;
		len -= 2;
	}
	if (len)
		s += *p; /* little-endian host: the odd byte is the low byte */
	s = (s & 0xffffffffULL) + (s >> 32);
	s = (s & 0xffffffffULL) + (s >> 32);
	return (uint32_t)s;
}

uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Pseudo-header sum (not folded) for a TCP/UDP packet of l4len bytes. */
static uint32_t pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4len)
{
	uint32_t s;
	uint8_t tail[4] = { 0, 0, 0, proto };

	if (v6)
		s = csum_partial(ip + 8, 32, 0);
	else
		s = csum_partial(ip + 12, 8, 0);
	s = csum_partial(tail, 4, s);
	put_be16(tail, (uint16_t)(l4len >> 16));
	put_be16(tail + 2, (uint16_t)l4len);
	tail[0] = 0;
	tail[1] = 0;
	return csum_partial(tail, 4, s);
}

static void ipv4_fix_csum(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	uint16_t c = csum_fold(csum_partial(ip, ihl, 0));
	memcpy(ip + 10, &c, 2);
}

/*
 * One pass over a TUN super-packet: parse its virtio header, then cut TCP or UDP segments
 * with their own lengths, ids, sequence numbers and checksums. Longer than 100 lines on
 * purpose: a data-path loop kept in one piece so the per-segment work stays in registers and
 * the TCP and UDP cases share one walk (fuzz_offload and test_wg_offload cover every branch).
 */
int offload_split(const uint8_t *frame, size_t len, uint8_t *out, size_t stride,
		  unsigned max_segs, uint16_t *seg_len)
{
	struct vnet_hdr h;
	const uint8_t *pkt = frame + sizeof(h);
	size_t plen, iphl, l4hl, hdrs, payload, off;
	unsigned i, nseg;
	uint8_t proto;
	bool v6;

	if (len < sizeof(h) + 20)
		return -EINVAL;
	memcpy(&h, frame, sizeof(h));
	plen = len - sizeof(h);
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if (plen > stride || max_segs < 1)
			return -EINVAL;
		memcpy(out, pkt, plen);
		if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			if ((size_t)h.csum_start + h.csum_offset + 2 > plen)
				return -EINVAL;
			out[h.csum_start + h.csum_offset] = 0;
			out[h.csum_start + h.csum_offset + 1] = 0;
			/* The field held the pseudo-header sum; fold it in. */
			uint32_t s = csum_partial(pkt + h.csum_start + h.csum_offset, 2, 0);
			s = csum_partial(out + h.csum_start, plen - h.csum_start, s);
			uint16_t c = csum_fold(s);
			memcpy(out + h.csum_start + h.csum_offset, &c, 2);
		}
		seg_len[0] = (uint16_t)plen;
		return 1;
	}
	switch (h.gso_type & ~0x80) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		proto = IPPROTO_TCP;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		proto = IPPROTO_UDP;
		break;
	default:
		return -EINVAL;
	}
	v6 = (pkt[0] >> 4) == 6;
	if (v6) {
		iphl = 40;
		if (plen < 40 || pkt[6] != proto)
			return -EINVAL;
	} else {
		iphl = (size_t)(pkt[0] & 0xf) * 4;
		if ((pkt[0] >> 4) != 4 || iphl < 20 || pkt[9] != proto)
			return -EINVAL;
	}
	if (plen < iphl + (proto == IPPROTO_TCP ? 20 : 8))
		return -EINVAL;
	l4hl = proto == IPPROTO_TCP ? (size_t)(pkt[iphl + 12] >> 4) * 4 : 8;
	hdrs = iphl + l4hl;
	if (l4hl < 8 || plen < hdrs || !h.gso_size)
		return -EINVAL;
	payload = plen - hdrs;
	nseg = (unsigned)((payload + h.gso_size - 1) / h.gso_size);
	if (nseg == 0)
		nseg = 1;
	if (nseg > max_segs || hdrs + h.gso_size > stride)
		return -EINVAL;

	uint32_t seq = proto == IPPROTO_TCP ? be32(pkt + iphl + 4) : 0;
	uint16_t id = v6 ? 0 : be16(pkt + 4);
	uint8_t flags = proto == IPPROTO_TCP ? pkt[iphl + 13] : 0;
	for (i = 0, off = 0; i < nseg; i++) {
		uint8_t *o = out + (size_t)i * stride;
		size_t l = payload - off > h.gso_size ? h.gso_size : payload - off;
		size_t tot = hdrs + l;
		uint8_t *l4 = o + iphl;
		size_t csum_at;

		memcpy(o, pkt, hdrs);
		memcpy(o + hdrs, pkt + hdrs + off, l);
		if (v6) {
			put_be16(o + 4, (uint16_t)(tot - 40));
		} else {
			put_be16(o + 2, (uint16_t)tot);
			put_be16(o + 4, (uint16_t)(id + i));
			ipv4_fix_csum(o, iphl);
		}
		if (proto == IPPROTO_TCP) {
			put_be32(l4 + 4, seq + (uint32_t)off);
			/* FIN/PSH only on the last segment, CWR only on the first. */
			uint8_t f = flags;
			if (i + 1 < nseg)
				f &= (uint8_t)~(0x01 | 0x08);
			if (i > 0)
				f &= (uint8_t)~0x80;
			l4[13] = f;
			csum_at = 16;
		} else {
			put_be16(l4 + 4, (uint16_t)(8 + l)); /* UDP length */
			csum_at = 6;
		}
		l4[csum_at] = l4[csum_at + 1] = 0;
		uint32_t s = pseudo_sum(o, v6, proto, l4hl + l);
		s = csum_partial(l4, l4hl + l, s);
		uint16_t c = csum_fold(s);
		if (proto == IPPROTO_UDP && c == 0)
			c = 0xffff; /* zero means "no checksum" in UDP */
		memcpy(l4 + csum_at, &c, 2);
		seg_len[i] = (uint16_t)tot;
		off += l;
	}
	return (int)nseg;
}

/* --- receive side coalescing --- */

struct tcp_view {
	bool ok, v6;
	size_t iphl, tcphl, payload;
	uint32_t seq;
	uint8_t flags;
};

static struct tcp_view tcp_parse(const uint8_t *p, size_t len)
{
	struct tcp_view v = { 0 };

	if (len < 20)
		return v;
	if ((p[0] >> 4) == 4) {
		v.iphl = (size_t)(p[0] & 0xf) * 4;
		/* No options, no fragments (DF allowed), TCP. */
		if (v.iphl != 20 || p[9] != IPPROTO_TCP || (be16(p + 6) & 0x3fff) ||
		    be16(p + 2) != len)
			return v;
	} else if ((p[0] >> 4) == 6) {
		v.v6 = true;
		v.iphl = 40;
		if (len < 60 || p[6] != IPPROTO_TCP || (size_t)be16(p + 4) + 40 != len)
			return v;
	} else {
		return v;
	}
	if (len < v.iphl + 20)
		return v;
	v.tcphl = (size_t)(p[v.iphl + 12] >> 4) * 4;
	if (v.tcphl < 20 || len < v.iphl + v.tcphl)
		return v;
	v.payload = len - v.iphl - v.tcphl;
	v.seq = be32(p + v.iphl + 4);
	v.flags = p[v.iphl + 13];
	/* Only plain ACK (+PSH) data segments are coalesced. */
	v.ok = v.payload > 0 && (v.flags & ~0x08) == 0x10;
	return v;
}

/* Can b follow a (whose accumulated segment is `a`) in one super-packet? */
static bool tcp_can_merge(const uint8_t *a, const struct tcp_view *va, uint32_t next_seq,
			  const uint8_t *b, const struct tcp_view *vb)
{
	if (!vb->ok || va->v6 != vb->v6 || va->tcphl != vb->tcphl || vb->seq != next_seq)
		return false;
	if (va->v6) {
		/* Version/class/flow, next header, hop limit, addresses. */
		if (memcmp(a, b, 4) || a[6] != b[6] || a[7] != b[7] || memcmp(a + 8, b + 8, 32))
			return false;
	} else {
		if (a[1] != b[1] || a[8] != b[8] || memcmp(a + 12, b + 12, 8) ||
		    (a[6] & 0x40) != (b[6] & 0x40))
			return false;
	}
	const uint8_t *ta = a + va->iphl, *tb = b + vb->iphl;
	/* Ports, ack number, window, and identical options. */
	if (memcmp(ta, tb, 4) || memcmp(ta + 8, tb + 8, 4) || memcmp(ta + 14, tb + 14, 2) ||
	    memcmp(ta + 20, tb + 20, va->tcphl - 20))
		return false;
	return true;
}

#define GRO_MAX 65535

/* UDP: runs of equal-size datagrams of one flow become one GSO_UDP_L4 write
 * (the kernel segments them again on delivery). */
struct udp_view {
	bool ok, v6;
	size_t iphl, payload;
};

static struct udp_view udp_parse(const uint8_t *p, size_t len)
{
	struct udp_view v = { 0 };

	if (len < 28)
		return v;
	if ((p[0] >> 4) == 4) {
		v.iphl = (size_t)(p[0] & 0xf) * 4;
		if (v.iphl != 20 || p[9] != IPPROTO_UDP || (be16(p + 6) & 0x3fff) ||
		    be16(p + 2) != len)
			return v;
	} else if ((p[0] >> 4) == 6) {
		v.v6 = true;
		v.iphl = 40;
		if (len < 48 || p[6] != IPPROTO_UDP || (size_t)be16(p + 4) + 40 != len)
			return v;
	} else {
		return v;
	}
	if (be16(p + v.iphl + 4) != len - v.iphl)
		return v;
	v.payload = len - v.iphl - 8;
	v.ok = v.payload > 0;
	return v;
}

static bool udp_can_merge(const uint8_t *a, const struct udp_view *va, const uint8_t *b,
			  const struct udp_view *vb)
{
	if (!vb->ok || va->v6 != vb->v6)
		return false;
	if (va->v6) {
		if (memcmp(a, b, 4) || a[7] != b[7] || memcmp(a + 8, b + 8, 32))
			return false;
	} else {
		if (a[1] != b[1] || a[8] != b[8] || memcmp(a + 12, b + 12, 8) ||
		    (a[6] & 0x40) != (b[6] & 0x40))
			return false;
	}
	return !memcmp(a + va->iphl, b + vb->iphl, 4); /* ports */
}

/* Returns the index after the run written, or `i` if nothing was merged. */
static unsigned udp_coalesce(struct wg_tun *t, struct wg_tun_batch *b, unsigned i)
{
	uint8_t *p = b->pkt[i], *o = t->gro_buf + TUN_VNET_HDR_LEN;
	struct udp_view v = udp_parse(p, b->len[i]);
	size_t total, gso, off;
	struct vnet_hdr h;
	unsigned j = i + 1, k;

	if (!v.ok || !t->uso_ok)
		return i;
	gso = v.payload;
	total = b->len[i];
	while (j < b->n && j - i < 64) {
		struct udp_view w = udp_parse(b->pkt[j], b->len[j]);
		if (!udp_can_merge(p, &v, b->pkt[j], &w) || w.payload > gso ||
		    total + w.payload > GRO_MAX)
			break;
		total += w.payload;
		j++;
		if (w.payload < gso)
			break;
	}
	if (j == i + 1)
		return i;
	memcpy(o, p, v.iphl + 8);
	off = v.iphl + 8;
	for (k = i; k < j; k++) {
		size_t pl = b->len[k] - v.iphl - 8;
		memcpy(o + off, b->pkt[k] + v.iphl + 8, pl);
		off += pl;
	}
	if (v.v6) {
		put_be16(o + 4, (uint16_t)(total - 40));
	} else {
		put_be16(o + 2, (uint16_t)total);
		ipv4_fix_csum(o, v.iphl);
	}
	put_be16(o + v.iphl + 4, (uint16_t)(total - v.iphl));
	uint32_t s = pseudo_sum(o, v.v6, IPPROTO_UDP, total - v.iphl);
	uint16_t ps = (uint16_t)~csum_fold(s);
	memcpy(o + v.iphl + 6, &ps, 2);
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	h.hdr_len = (uint16_t)(v.iphl + 8);
	h.gso_size = (uint16_t)gso;
	h.csum_start = (uint16_t)v.iphl;
	h.csum_offset = 6;
	memcpy(t->gro_buf, &h, sizeof(h));
	if (tun_write(t, t->gro_buf, TUN_VNET_HDR_LEN + total) != 0) {
		/* This kernel does not take UDP GSO writes: stop trying. */
		t->uso_ok = false;
		return i;
	}
	return j;
}

void offload_write_coalesced(struct wg_tun *t, struct wg_tun_batch *b)
{
	unsigned i = 0, j;

	uint8_t *gro_buf = t->gro_buf; /* only the device's receive thread writes */

	while (i < b->n) {
		uint8_t *p = b->pkt[i];
		size_t len = b->len[i];
		struct tcp_view v = tcp_parse(p, len);
		struct vnet_hdr h;

		memset(&h, 0, sizeof(h));
		j = udp_coalesce(t, b, i);
		if (j != i) {
			i = j;
			continue;
		}
		j = i + 1;
		if (v.ok) {
			uint32_t next = v.seq + (uint32_t)v.payload;
			size_t hdrs = v.iphl + v.tcphl, total = len, gso = v.payload;
			bool last_short = false;
			while (j < b->n && !last_short) {
				struct tcp_view w = tcp_parse(b->pkt[j], b->len[j]);
				if (!tcp_can_merge(p, &v, next, b->pkt[j], &w) || w.payload > gso ||
				    total + w.payload > GRO_MAX)
					break;
				if (w.payload < gso)
					last_short = true;
				/* PSH ends a run: merge it as the last one. */
				if (w.flags & 0x08)
					last_short = true;
				total += w.payload;
				next += (uint32_t)w.payload;
				j++;
			}
			if (j > i + 1 && !(v.flags & 0x08)) {
				uint8_t *o = gro_buf + TUN_VNET_HDR_LEN;
				size_t off = hdrs;
				unsigned k;
				memcpy(o, p, hdrs);
				for (k = i; k < j; k++) {
					struct tcp_view w = tcp_parse(b->pkt[k], b->len[k]);
					memcpy(o + off, b->pkt[k] + hdrs, w.payload);
					off += w.payload;
					if (k + 1 == j)
						o[v.iphl + 13] |= w.flags & 0x08;
				}
				if (v.v6) {
					put_be16(o + 4, (uint16_t)(total - 40));
				} else {
					put_be16(o + 2, (uint16_t)total);
					ipv4_fix_csum(o, v.iphl);
				}
				/* Partial checksum: the pseudo-header sum, finished by the kernel. */
				uint32_t s = pseudo_sum(o, v.v6, IPPROTO_TCP, total - v.iphl);
				uint16_t ps = (uint16_t)~csum_fold(s);
				memcpy(o + v.iphl + 16, &ps, 2);
				h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
				h.gso_type = v.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
				h.hdr_len = (uint16_t)hdrs;
				h.gso_size = (uint16_t)gso;
				h.csum_start = (uint16_t)v.iphl;
				h.csum_offset = 16;
				memcpy(gro_buf, &h, sizeof(h));
				(void)tun_write(t, gro_buf, TUN_VNET_HDR_LEN + total);
				i = j;
				continue;
			}
			j = i + 1;
		}
		/* Alone: a zero header in the headroom in front of the packet. */
		memcpy(p - TUN_VNET_HDR_LEN, &h, sizeof(h));
		(void)tun_write(t, p - TUN_VNET_HDR_LEN, len + TUN_VNET_HDR_LEN);
		i = j;
	}
}
