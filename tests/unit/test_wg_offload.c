/* offload.c: TCP and UDP super-packets from the TUN cut into segments with
 * correct headers and checksums; bad frames refused; decrypted segments of
 * one flow coalesced into one TUN write (through a socketpair standing in for
 * the TUN) that splits back into exactly the packets it was made of. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "offload.h"
#include "tun.h"
#include "check_run.h"

#define STRIDE 1600
#define MAXSEG 64

static uint8_t frame[TUN_VNET_HDR_LEN + 65536];
static uint8_t out[MAXSEG * STRIDE];
static uint16_t seg_len[MAXSEG];

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Sum of the pseudo header for l4len bytes of proto. */
static uint32_t pseudo(const uint8_t *ip, bool v6, uint8_t proto, size_t l4len)
{
	uint8_t t[8] = { 0 };

	put32(t, (uint32_t)l4len);
	t[7] = proto;
	return csum_partial(t, 8, v6 ? csum_partial(ip + 8, 32, 0) : csum_partial(ip + 12, 8, 0));
}

static bool l4_csum_ok(const uint8_t *ip, size_t len, bool v6, uint8_t proto)
{
	size_t iphl = v6 ? 40 : (size_t)(ip[0] & 0xf) * 4;

	return csum_fold(csum_partial(ip + iphl, len - iphl, pseudo(ip, v6, proto, len - iphl))) == 0;
}

/* An IP header + TCP (20 bytes) or UDP header + payload of pattern bytes
 * starting at `from`. Checksums valid. Returns the packet length. */
static size_t build(uint8_t *p, bool v6, uint8_t proto, size_t payload, unsigned from, unsigned id,
		    uint32_t seq, uint8_t flags)
{
	size_t iphl = v6 ? 40 : 20, l4hl = proto == IPPROTO_TCP ? 20 : 8;
	size_t len = iphl + l4hl + payload, i;
	uint8_t *l4 = p + iphl;

	memset(p, 0, iphl + l4hl);
	if (v6) {
		p[0] = 0x60;
		put16(p + 4, (unsigned)(len - 40));
		p[6] = proto;
		p[7] = 64;
		p[8] = 0x20; p[9] = 0x01; p[10] = 0x0d; p[11] = 0xb8; p[23] = 1;
		p[24] = 0x20; p[25] = 0x01; p[26] = 0x0d; p[27] = 0xb8; p[39] = 2;
	} else {
		p[0] = 0x45;
		put16(p + 2, (unsigned)len);
		put16(p + 4, id);
		p[6] = 0x40; /* DF */
		p[8] = 64;
		p[9] = proto;
		p[12] = 10; p[15] = 1;
		p[16] = 10; p[19] = 2;
		uint16_t c = csum_fold(csum_partial(p, 20, 0));
		memcpy(p + 10, &c, 2);
	}
	put16(l4, 40000);
	put16(l4 + 2, 5201);
	if (proto == IPPROTO_TCP) {
		put32(l4 + 4, seq);
		put32(l4 + 8, 777);
		l4[12] = 5 << 4;
		l4[13] = flags;
		put16(l4 + 14, 512);
	} else {
		put16(l4 + 4, (unsigned)(8 + payload));
	}
	for (i = 0; i < payload; i++)
		p[iphl + l4hl + i] = (uint8_t)((from + i) * 7 + 3);
	uint16_t c = csum_fold(csum_partial(l4, l4hl + payload, pseudo(p, v6, proto, l4hl + payload)));
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	memcpy(l4 + (proto == IPPROTO_TCP ? 16 : 6), &c, 2);
	return len;
}

/* A super-packet as the kernel hands it over: vnet header, the headers of the
 * first segment with total lengths for the whole, the pseudo-header sum in the
 * checksum field, NEEDS_CSUM. */
static size_t super_frame(bool v6, uint8_t proto, size_t payload, unsigned gso, uint8_t flags)
{
	struct vnet_hdr h = { 0 };
	uint8_t *p = frame + sizeof(h);
	size_t len = build(p, v6, proto, payload, 0, 100, 5000, flags);
	size_t iphl = v6 ? 40 : 20, l4hl = proto == IPPROTO_TCP ? 20 : 8;
	unsigned at = proto == IPPROTO_TCP ? 16 : 6;
	uint16_t ps = (uint16_t)~csum_fold(pseudo(p, v6, proto, len - iphl));

	memcpy(p + iphl + at, &ps, 2);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = proto == IPPROTO_UDP ? VIRTIO_NET_HDR_GSO_UDP_L4
		     : v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.hdr_len = (uint16_t)(iphl + l4hl);
	h.gso_size = (uint16_t)gso;
	h.csum_start = (uint16_t)iphl;
	h.csum_offset = (uint16_t)at;
	memcpy(frame, &h, sizeof(h));
	return sizeof(h) + len;
}

static void check_split(bool v6, uint8_t proto)
{
	const size_t payload = 10 * 1000 + 500;
	size_t flen = super_frame(v6, proto, payload, 1000, 0x10 | 0x08 | 0x01);
	size_t iphl = v6 ? 40 : 20, l4hl = proto == IPPROTO_TCP ? 20 : 8;
	int n = offload_split(frame, flen, out, STRIDE, MAXSEG, seg_len);
	int i;

	ck_assert_int_eq(n, 11);
	for (i = 0; i < n; i++) {
		uint8_t *o = out + (size_t)i * STRIDE, want[1600];
		size_t l = i < 10 ? 1000 : 500, k;

		ck_assert_uint_eq(seg_len[i], iphl + l4hl + l);
		if (v6) {
			ck_assert_uint_eq(get16(o + 4), l4hl + l);
		} else {
			ck_assert_uint_eq(get16(o + 2), iphl + l4hl + l);
			ck_assert_uint_eq(get16(o + 4), 100 + (unsigned)i);
			ck_assert_uint_eq(csum_fold(csum_partial(o, 20, 0)), 0);
		}
		if (proto == IPPROTO_TCP) {
			ck_assert_uint_eq(get32(o + iphl + 4), 5000 + 1000u * (unsigned)i);
			/* PSH and FIN on the last segment only. */
			ck_assert_uint_eq(o[iphl + 13], i == 10 ? 0x19 : 0x10);
		} else {
			ck_assert_uint_eq(get16(o + iphl + 4), 8 + l);
		}
		ck_assert_msg(l4_csum_ok(o, seg_len[i], v6, proto), "segment %d checksum", i);
		for (k = 0; k < l; k++)
			want[k] = (uint8_t)((1000 * (size_t)i + k) * 7 + 3);
		ck_assert_mem_eq(o + iphl + l4hl, want, l);
	}
}

START_TEST(tcp4_super_packet_split)
{
	check_split(false, IPPROTO_TCP);
}
END_TEST

START_TEST(tcp6_super_packet_split)
{
	check_split(true, IPPROTO_TCP);
}
END_TEST

START_TEST(udp4_super_packet_split)
{
	check_split(false, IPPROTO_UDP);
}
END_TEST

START_TEST(udp6_super_packet_split)
{
	check_split(true, IPPROTO_UDP);
}
END_TEST

START_TEST(plain_packet_checksum_finished)
{
	struct vnet_hdr h = { 0 };
	uint8_t *p = frame + sizeof(h);
	size_t len = build(p, false, IPPROTO_UDP, 333, 0, 1, 0, 0);
	uint16_t ps = (uint16_t)~csum_fold(pseudo(p, false, IPPROTO_UDP, len - 20));

	memcpy(p + 26, &ps, 2); /* as the kernel leaves it with NEEDS_CSUM */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 20;
	h.csum_offset = 6;
	memcpy(frame, &h, sizeof(h));
	ck_assert_int_eq(offload_split(frame, sizeof(h) + len, out, STRIDE, MAXSEG, seg_len), 1);
	ck_assert_uint_eq(seg_len[0], len);
	ck_assert(l4_csum_ok(out, len, false, IPPROTO_UDP));
	/* A plain packet without the flag is passed through as it is. */
	h.flags = 0;
	memcpy(frame, &h, sizeof(h));
	ck_assert_int_eq(offload_split(frame, sizeof(h) + len, out, STRIDE, MAXSEG, seg_len), 1);
	ck_assert_mem_eq(out, p, len);
}
END_TEST

START_TEST(bad_frames_refused)
{
	size_t flen = super_frame(false, IPPROTO_TCP, 5000, 1000, 0x10);
	struct vnet_hdr h;

	ck_assert_int_eq(offload_split(frame, 25, out, STRIDE, MAXSEG, seg_len), -EINVAL);
	/* Fewer segments allowed than the packet holds; a stride too small. */
	ck_assert_int_eq(offload_split(frame, flen, out, STRIDE, 4, seg_len), -EINVAL);
	ck_assert_int_eq(offload_split(frame, flen, out, 1000, MAXSEG, seg_len), -EINVAL);
	memcpy(&h, frame, sizeof(h));
	h.gso_size = 0;
	memcpy(frame, &h, sizeof(h));
	ck_assert_int_eq(offload_split(frame, flen, out, STRIDE, MAXSEG, seg_len), -EINVAL);
	h.gso_size = 1000;
	h.gso_type = 3; /* UFO: not something a TUN may hand us */
	memcpy(frame, &h, sizeof(h));
	ck_assert_int_eq(offload_split(frame, flen, out, STRIDE, MAXSEG, seg_len), -EINVAL);
	/* TCP segmentation asked of a UDP packet, and the reverse. */
	flen = super_frame(false, IPPROTO_UDP, 5000, 1000, 0);
	memcpy(&h, frame, sizeof(h));
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	memcpy(frame, &h, sizeof(h));
	ck_assert_int_eq(offload_split(frame, flen, out, STRIDE, MAXSEG, seg_len), -EINVAL);
	flen = super_frame(true, IPPROTO_TCP, 5000, 1000, 0x10);
	memcpy(&h, frame, sizeof(h));
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	memcpy(frame, &h, sizeof(h));
	ck_assert_int_eq(offload_split(frame, flen, out, STRIDE, MAXSEG, seg_len), -EINVAL);
	/* A plain packet bigger than the stride. */
	flen = super_frame(false, IPPROTO_UDP, 3000, 1000, 0);
	memset(frame, 0, sizeof(h));
	ck_assert_int_eq(offload_split(frame, flen, out, STRIDE, MAXSEG, seg_len), -EINVAL);
}
END_TEST

/* --- coalescing, through a socketpair in place of the TUN --- */

struct fake_tun {
	struct wg_tun t;
	int peer;
	uint8_t *mem;
	struct wg_tun_batch b;
	size_t orig_len[TUN_BATCH];
};

static void fake_open(struct fake_tun *f, bool uso)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	f->t.fd = sv[0];
	f->peer = sv[1];
	f->t.vnet_hdr = true;
	f->t.uso_ok = uso;
	f->t.gro_buf = malloc(TUN_VNET_HDR_LEN + 65535);
	f->mem = calloc(TUN_BATCH, 2048);
	ck_assert(f->t.gro_buf && f->mem);
}

static void fake_close(struct fake_tun *f)
{
	close(f->t.fd);
	close(f->peer);
	free(f->t.gro_buf);
	free(f->mem);
}

/* Adds a packet (built into its own slot, with headroom) to the batch. */
static uint8_t *fake_add(struct fake_tun *f, bool v6, uint8_t proto, size_t payload, unsigned from,
			 unsigned id, uint32_t seq, uint8_t flags)
{
	uint8_t *p = f->mem + (size_t)f->b.n * 2048 + 16;
	size_t len = build(p, v6, proto, payload, from, id, seq, flags);

	f->b.pkt[f->b.n] = p;
	f->b.len[f->b.n] = (uint16_t)len;
	f->orig_len[f->b.n] = len;
	f->b.n++;
	return p;
}

/* Reads the writes the coalescer made; splits each; returns how many writes
 * and checks that the split packets are, in order, the batch's packets. */
static unsigned writes_split_back(struct fake_tun *f, const uint8_t *const *orig, unsigned norig)
{
	unsigned writes = 0, got = 0;
	ssize_t r;

	while ((r = recv(f->peer, frame, sizeof(frame), MSG_DONTWAIT)) > 0) {
		int n = offload_split(frame, (size_t)r, out, STRIDE, MAXSEG, seg_len), i;

		writes++;
		ck_assert_int_gt(n, 0);
		for (i = 0; i < n; i++, got++) {
			ck_assert_uint_lt(got, norig);
			ck_assert_uint_eq(seg_len[i], f->orig_len[got]);
			ck_assert_msg(memcmp(out + (size_t)i * STRIDE, orig[got], seg_len[i]) == 0,
				      "packet %u differs after coalescing and splitting", got);
		}
	}
	ck_assert_uint_eq(got, norig);
	return writes;
}

static void check_coalesce(bool v6, uint8_t proto, bool uso, unsigned want_writes)
{
	struct fake_tun f;
	const uint8_t *orig[12];
	uint8_t keep[12][1600];
	unsigned i;

	fake_open(&f, uso);
	/* 11 full segments and a short last one with PSH (TCP). */
	for (i = 0; i < 12; i++) {
		size_t pl = i < 11 ? 1000 : 300;
		uint8_t *p = fake_add(&f, v6, proto, pl, 1000 * i, 50 + i, 9000 + 1000 * i,
				      i < 11 ? 0x10 : 0x18);
		memcpy(keep[i], p, f.b.len[i]);
		orig[i] = keep[i];
	}
	offload_write_coalesced(&f.t, &f.b);
	ck_assert_uint_eq(writes_split_back(&f, orig, 12), want_writes);
	fake_close(&f);
}

START_TEST(tcp_flow_coalesced_and_split_back)
{
	check_coalesce(false, IPPROTO_TCP, true, 1);
	check_coalesce(true, IPPROTO_TCP, true, 1);
}
END_TEST

START_TEST(udp_flow_coalesced_and_split_back)
{
	check_coalesce(false, IPPROTO_UDP, true, 1);
	check_coalesce(true, IPPROTO_UDP, true, 1);
	/* A TUN that refused UDP GSO writes gets them one by one. */
	check_coalesce(false, IPPROTO_UDP, false, 12);
}
END_TEST

START_TEST(two_flows_not_mixed)
{
	struct fake_tun f;
	const uint8_t *orig[8];
	uint8_t keep[8][1600];
	unsigned i;

	fake_open(&f, true);
	/* Alternating TCP and UDP packets: nothing can merge with its neighbour. */
	for (i = 0; i < 8; i++) {
		uint8_t *p = fake_add(&f, false, i % 2 ? IPPROTO_UDP : IPPROTO_TCP, 500, 500 * i,
				      i, 100 + 500 * (i / 2), 0x10);
		memcpy(keep[i], p, f.b.len[i]);
		orig[i] = keep[i];
	}
	offload_write_coalesced(&f.t, &f.b);
	ck_assert_uint_eq(writes_split_back(&f, orig, 8), 8);
	fake_close(&f);
}
END_TEST

START_TEST(tcp_gap_ends_a_run)
{
	struct fake_tun f;
	const uint8_t *orig[6];
	uint8_t keep[6][1600];
	unsigned i;

	fake_open(&f, true);
	/* Sequence numbers 0,1000,2000 then a hole, then 5000,6000,7000. */
	for (i = 0; i < 6; i++) {
		uint32_t seq = 1000 * i + (i >= 3 ? 2000 : 0);
		uint8_t *p = fake_add(&f, false, IPPROTO_TCP, 1000, seq, 10 + i, seq, 0x10);
		memcpy(keep[i], p, f.b.len[i]);
		orig[i] = keep[i];
	}
	offload_write_coalesced(&f.t, &f.b);
	ck_assert_uint_eq(writes_split_back(&f, orig, 6), 2);
	fake_close(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wg_offload");
	TCase *tc = tcase_create("offload");

	tcase_add_test(tc, tcp4_super_packet_split);
	tcase_add_test(tc, tcp6_super_packet_split);
	tcase_add_test(tc, udp4_super_packet_split);
	tcase_add_test(tc, udp6_super_packet_split);
	tcase_add_test(tc, plain_packet_checksum_finished);
	tcase_add_test(tc, bad_frames_refused);
	tcase_add_test(tc, tcp_flow_coalesced_and_split_back);
	tcase_add_test(tc, udp_flow_coalesced_and_split_back);
	tcase_add_test(tc, two_flows_not_mixed);
	tcase_add_test(tc, tcp_gap_ends_a_run);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
