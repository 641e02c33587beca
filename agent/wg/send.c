/* The send thread: TUN -> cryptokey routing -> encrypt -> UDP. Reads a burst
 * of frames, splits TSO super-packets (offload.c), lays every segment out in
 * a preallocated arena with its counter, then seals the whole burst with the
 * crypto pool (pool.c: this thread plus the workers) and hands it to one
 * sendmmsg with UDP GSO trains. The burst leaves in the order it was read,
 * so per-peer order holds; nothing is allocated per packet. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "device.h"
#include "log.h"
#include "offload.h"

#define SEND_ARENA (1u << 20)
#define SEND_BURST 64
#define SEND_MAX_SEGS 128
#define GSO_MAX_BYTES 65000
#define GSO_MAX_SEGS 64 /* UDP_MAX_SEGMENTS of older kernels */

/* One segment to seal at the flush. */
struct seal_item {
	struct wg_keypair *kp;
	uint8_t *out; /* header, then the plaintext at out + MSG_DATA_HEADER_LEN */
	uint64_t ctr;
	uint16_t len;
};

#define SEND_MAX_ITEMS 4096

struct send_ctx {
	struct wg_device *dev;
	int mtu;          /* for this burst */
	uint8_t *in;      /* one TUN frame */
	uint8_t *arena;   /* encrypted output of the burst */
	size_t used;
	struct udp_tx_batch batch;
	struct wg_peer *owner[UDP_TX_MSGS]; /* peer of each batch message */
	int nsegs[UDP_TX_MSGS];             /* datagrams in each batch message */
	uint16_t seg_len[SEND_MAX_SEGS];
	struct seal_item *items;            /* SEND_MAX_ITEMS, sealed at the flush */
	unsigned n_items;
	struct wg_keypair *kps[SEND_BURST]; /* references held until the flush */
	unsigned n_kps;
};

static void seal_one(void *ctx, unsigned i)
{
	struct send_ctx *c = ctx;
	struct seal_item *it = &c->items[i];

	(void)peer_seal(it->kp, it->ctr, it->out, it->out + MSG_DATA_HEADER_LEN, it->len, c->mtu);
}

/* Appends k datagrams (one, or a train of seg-byte datagrams whose last may
 * be shorter) at buf to the batch. When they continue the previous message in
 * the arena, go to the same place and have its segment size, that message
 * grows into a longer GSO train instead: a burst of small packets for one
 * peer then crosses the kernel as one datagram train, not one each. */
static void batch_add(struct send_ctx *c, struct wg_peer *peer, const union wg_endpoint *ep,
		      const struct wg_src *src, uint8_t *buf, size_t len, size_t seg, int k)
{
	unsigned n = c->batch.n;

	if (n) {
		__typeof__(c->batch.msg[0]) *p = &c->batch.msg[n - 1];
		size_t pseg = p->gso_size ? p->gso_size : p->len;

		if (c->owner[n - 1] == peer && p->buf + p->len == buf && p->len % pseg == 0 &&
		    (k > 1 ? seg == pseg : len <= pseg) && p->len + len <= GSO_MAX_BYTES &&
		    c->nsegs[n - 1] + k <= GSO_MAX_SEGS && endpoint_eq(&p->dst, ep) &&
		    src_eq(&p->src, src)) {
			p->len += len;
			p->gso_size = (uint16_t)pseg;
			c->nsegs[n - 1] += k;
			return;
		}
	}
	c->batch.msg[n].buf = buf;
	c->batch.msg[n].len = len;
	c->batch.msg[n].gso_size = k > 1 ? (uint16_t)seg : 0;
	c->batch.msg[n].dst = *ep;
	c->batch.msg[n].src = *src;
	c->owner[n] = peer;
	c->nsegs[n] = k;
	c->batch.n = n + 1;
}

static void send_flush(struct send_ctx *c)
{
	unsigned i, n = c->batch.n;

	pool_run(c->dev->pool, c->n_items, seal_one, c);
	c->n_items = 0;
	for (i = 0; i < c->n_kps; i++)
		keypair_put(c->kps[i]);
	c->n_kps = 0;
	if (n) {
		(void)udp_send_batch(&c->dev->udp, &c->batch);
		/* Sticky sources that turned out gone: the peers forget them. */
		for (i = 0; i < n; i++)
			if (c->batch.msg[i].src_failed)
				peer_forget_src(c->owner[i], &c->batch.msg[i].src);
	}
	c->used = 0;
}

/* Longest IP packet the frame will yield (a full segment), or 0 if bad. */
static size_t frame_max_segment(const uint8_t *frame, size_t len, bool vnet)
{
	struct vnet_hdr h;
	const uint8_t *p;
	size_t iphl, plen;

	if (!vnet)
		return len;
	if (len < sizeof(h) + 1)
		return 0;
	memcpy(&h, frame, sizeof(h));
	p = frame + sizeof(h);
	plen = len - sizeof(h);
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return plen;
	iphl = (p[0] >> 4) == 6 ? 40 : (size_t)(p[0] & 0xf) * 4;
	if ((h.gso_type & ~0x80) == VIRTIO_NET_HDR_GSO_UDP_L4)
		return plen < iphl + 8 ? 0 : iphl + 8 + h.gso_size;
	if (plen < iphl + 20)
		return 0;
	return iphl + (size_t)(p[iphl + 12] >> 4) * 4 + h.gso_size;
}

/*
 * The send path's per-frame loop: split one TUN frame, find its peer and key, and queue its
 * segments for sealing. Longer than
 * 100 lines on purpose: it is the hot loop of the data path, and splitting it would cost a
 * call and a context struct per packet.
 */
static void send_frame(struct send_ctx *c, size_t flen)
{
	struct wg_device *dev = c->dev;
	bool vnet = dev->tun->vnet_hdr;
	int mtu = c->mtu;
	size_t maxseg, stride, total = 0, last = 0;
	uint8_t *base, *ip;
	struct wg_peer *peer;
	struct wg_keypair *kp;
	union wg_endpoint ep;
	struct wg_src src;
	uint64_t ctr, now;
	int nseg, i;

	maxseg = frame_max_segment(c->in, flen, vnet);
	if (!maxseg || maxseg > 65535) {
		atomic_fetch_add(&dev->drop_invalid, 1);
		return;
	}
	stride = peer_wire_len(maxseg, mtu);
	if (c->used + stride * SEND_MAX_SEGS > SEND_ARENA || c->batch.n + 4 > UDP_TX_MSGS ||
	    c->n_items + SEND_MAX_SEGS > SEND_MAX_ITEMS || c->n_kps == SEND_BURST)
		send_flush(c);
	base = c->arena + c->used;
	if (vnet) {
		nseg = offload_split(c->in, flen, base + MSG_DATA_HEADER_LEN, stride,
				     SEND_MAX_SEGS, c->seg_len);
	} else {
		memcpy(base + MSG_DATA_HEADER_LEN, c->in, flen);
		c->seg_len[0] = (uint16_t)flen;
		nseg = 1;
	}
	if (nseg <= 0) {
		atomic_fetch_add(&dev->drop_invalid, 1);
		return;
	}
	ip = base + MSG_DATA_HEADER_LEN;
	if ((ip[0] >> 4) == 4 && c->seg_len[0] >= 20)
		peer = allowedips_lookup(&dev->aips, AF_INET, ip + 16);
	else if ((ip[0] >> 4) == 6 && c->seg_len[0] >= 40)
		peer = allowedips_lookup(&dev->aips, AF_INET6, ip + 24);
	else
		peer = NULL;
	if (!peer) {
		atomic_fetch_add(&dev->drop_no_peer, 1);
		return;
	}

	pthread_mutex_lock(&peer->lock);
	kp = peer_current_keypair_get(peer);
	ep = peer->endpoint;
	src = peer->src;
	if (!kp || !ep.sa.sa_family) {
		/* No session yet: keep the packets for when the handshake completes. */
		for (i = 0; i < nseg; i++)
			peer_stage(peer, base + MSG_DATA_HEADER_LEN + (size_t)i * stride,
				   c->seg_len[i]);
		if (!kp)
			peer_send_initiation(peer, false);
		pthread_mutex_unlock(&peer->lock);
		keypair_put(kp);
		return;
	}
	pthread_mutex_unlock(&peer->lock);

	ctr = atomic_fetch_add(&kp->k.send_counter, (uint64_t)nseg);
	if (ctr + (uint64_t)nseg >= REJECT_AFTER_MESSAGES) {
		keypair_put(kp);
		return;
	}
	/* Sealed at the flush, all segments of the burst together. */
	for (i = 0; i < nseg; i++) {
		struct seal_item *it = &c->items[c->n_items++];
		it->kp = kp;
		it->out = base + (size_t)i * stride;
		it->ctr = ctr + (uint64_t)i;
		it->len = c->seg_len[i];
		last = peer_wire_len(c->seg_len[i], mtu);
		total += last;
	}
	c->used += (size_t)(nseg - 1) * stride + last;
	c->kps[c->n_kps++] = kp; /* put after sealing */
	/* One GSO train per at most GSO_MAX_BYTES (the IP length limit). */
	{
		int per = (int)(GSO_MAX_BYTES / stride), done = 0;
		if (per < 1)
			per = 1;
		while (done < nseg) {
			int k = nseg - done < per ? nseg - done : per;
			size_t len = (k == nseg - done) ? total - (size_t)done * stride
							: (size_t)k * stride;
			batch_add(c, peer, &ep, &src, base + (size_t)done * stride, len,
				  k > 1 ? stride : len, k);
			done += k;
		}
	}
	atomic_fetch_add(&peer->tx_bytes, total);

	now = wg_now();
	pthread_mutex_lock(&peer->lock);
	timers_any_authenticated_packet_traversal(&peer->timers, now);
	timers_any_authenticated_packet_sent(&peer->timers);
	/* Jitter only when the timer gets armed: randomness costs a syscall. */
	timers_data_sent(&peer->timers, now, peer->timers.new_handshake ? 0 : wg_jitter());
	if (kp->k.initiator && (atomic_load(&kp->k.send_counter) > REKEY_AFTER_MESSAGES ||
				now - kp->k.birth > REKEY_AFTER_TIME))
		peer_send_initiation(peer, false);
	pthread_mutex_unlock(&peer->lock);
}

void *send_thread_main(void *arg)
{
	struct send_ctx c = { .dev = arg };
	struct wg_device *dev = c.dev;
	size_t cap = TUN_VNET_HDR_LEN + 65536;

	c.in = malloc(cap);
	c.arena = malloc(SEND_ARENA);
	c.items = malloc(SEND_MAX_ITEMS * sizeof(*c.items));
	if (!c.in || !c.arena || !c.items) {
		device_request_stop(dev, -ENOMEM);
		goto out;
	}
	while (!atomic_load(&dev->stopping)) {
		bool idle = false;
		int k;

		pthread_rwlock_rdlock(&dev->cfg_lock);
		c.mtu = atomic_load(&dev->mtu);
		for (k = 0; k < SEND_BURST; k++) {
			ssize_t r = tun_read(dev->tun, c.in, cap);
			if (r == -EAGAIN) {
				idle = true;
				break;
			}
			if (r == -EINTR)
				continue;
			if (r < 0) {
				log_error("tun read failed: %s", strerror((int)-r));
				device_request_stop(dev, (int)r);
				break;
			}
			send_frame(&c, (size_t)r);
		}
		send_flush(&c);
		pthread_rwlock_unlock(&dev->cfg_lock);
		if (idle) {
			struct pollfd p[2] = { { .fd = dev->tun->fd, .events = POLLIN },
					       { .fd = dev->stop_efd, .events = POLLIN } };
			(void)poll(p, 2, -1);
		}
	}
out:
	if (c.arena)
		sodium_memzero(c.arena, SEND_ARENA);
	free(c.in);
	free(c.arena);
	free(c.items);
	return NULL;
}
