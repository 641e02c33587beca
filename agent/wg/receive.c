/* The receive thread: UDP -> (handshake | decrypt) -> source check -> TUN.
 * Data messages of a recvmmsg batch are opened together on the crypto pool
 * (pool.c), then finished one by one in arrival order, so replay windows,
 * timers and TUN writes see them as they came. Handshake messages are
 * checked here (length, MAC1; under load a valid cookie MAC, else we answer
 * with a cookie reply, and the per-source rate limiter) and their X25519 work
 * is queued for the handshake thread (handshake.c), so data keeps flowing
 * during a storm of handshakes. Every dropped packet is counted. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "device.h"
#include "log.h"

static void wall_now(int64_t *sec, int64_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
}

/* MAC checks and the load policy shared by initiations and responses.
 * Returns true when the message may proceed to the Noise layer. */
static bool handshake_admit(struct wg_device *dev, uint8_t *msg, size_t len,
			    uint32_t sender_index, const union wg_endpoint *src,
			    const struct wg_src *local, uint64_t now)
{
	uint8_t sb[18];
	size_t sl = endpoint_to_bytes(src, sb);
	bool load = device_under_load(dev, now);
	enum cookie_verdict v = cookie_validate(&dev->cookie, msg, len, sb, sl, load, now);

	if (v == COOKIE_INVALID_MAC) {
		atomic_fetch_add(&dev->drop_mac, 1);
		return false;
	}
	if (!load)
		return true;
	if (v != COOKIE_VALID_MAC_WITH_COOKIE) {
		struct msg_cookie_reply reply;
		cookie_create_reply(&dev->cookie, &reply, msg, len, sender_index, sb, sl, now);
		(void)udp_send_src(&dev->udp, src, local, &reply, sizeof(reply));
		atomic_fetch_add(&dev->cookies_sent, 1);
		return false;
	}
	if (!ratelimiter_allow(&dev->ratelimiter, sb, sl - 2, now)) {
		atomic_fetch_add(&dev->drop_ratelimit, 1);
		return false;
	}
	return true;
}

/* An admitted initiation (length and MACs checked): the X25519 work. */
static void initiation_process(struct wg_device *dev, uint8_t *buf, const union wg_endpoint *src,
			       const struct wg_src *local)
{
	struct msg_initiation *msg = (struct msg_initiation *)buf;
	struct noise_initiation_scratch sc;
	struct msg_response resp;
	struct wg_keypair *kp;
	struct wg_peer *peer;
	uint64_t now = wg_now();
	uint32_t idx;

	if (noise_consume_initiation_begin(&dev->local, msg, &sc) != 0)
		goto bad;
	peer = device_peer_lookup(dev, sc.remote_static);
	if (!peer) {
		sodium_memzero(&sc, sizeof(sc));
		goto bad;
	}
	kp = calloc(1, sizeof(*kp));
	if (!kp) {
		sodium_memzero(&sc, sizeof(sc));
		return;
	}
	pthread_mutex_lock(&peer->lock);
	if (noise_consume_initiation_finish(&peer->hs, &dev->local, msg, &sc, now) != 0) {
		pthread_mutex_unlock(&peer->lock);
		free(kp);
		goto bad;
	}
	peer_update_endpoint(peer, src, local);
	atomic_fetch_add(&peer->rx_bytes, sizeof(*msg));
	timers_any_authenticated_packet_received(&peer->timers);
	timers_any_authenticated_packet_traversal(&peer->timers, now);

	index_unregister(dev, &peer->hs_idx);
	idx = index_register(dev, &peer->hs_idx);
	if (noise_create_response(&peer->hs, &resp, idx) != 0) {
		index_unregister(dev, &peer->hs_idx);
		pthread_mutex_unlock(&peer->lock);
		free(kp);
		return;
	}
	cookie_add_macs(&peer->cookie, (uint8_t *)&resp, sizeof(resp), now);
	if (noise_begin_session(&peer->hs, &kp->k, now) != 0) {
		index_unregister(dev, &peer->hs_idx);
		pthread_mutex_unlock(&peer->lock);
		free(kp);
		return;
	}
	device_keypair_take_index(peer, kp);
	peer_add_keypair(peer, kp);
	timers_session_derived(&peer->timers, now);
	(void)peer_udp_send(peer, &resp, sizeof(resp));
	timers_any_authenticated_packet_traversal(&peer->timers, now);
	timers_any_authenticated_packet_sent(&peer->timers);
	pthread_mutex_unlock(&peer->lock);
	return;
bad:
	atomic_fetch_add(&dev->drop_invalid, 1);
}

/* An admitted response: the X25519 work. */
static void response_process(struct wg_device *dev, uint8_t *buf, const union wg_endpoint *src,
			     const struct wg_src *local)
{
	struct msg_response *msg = (struct msg_response *)buf;
	struct wg_keypair *kp;
	struct wg_peer *peer;
	uint64_t now = wg_now();
	uint32_t recv_idx;

	recv_idx = le32_read(&msg->receiver_index);
	peer = index_lookup_handshake(dev, recv_idx);
	if (!peer)
		goto bad;
	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return;
	pthread_mutex_lock(&peer->lock);
	if (peer->hs.state != NOISE_CREATED_INITIATION || peer->hs.local_index != recv_idx ||
	    peer->hs_idx.index != recv_idx ||
	    noise_consume_response(&peer->hs, &dev->local, msg) != 0 ||
	    noise_begin_session(&peer->hs, &kp->k, now) != 0) {
		pthread_mutex_unlock(&peer->lock);
		free(kp);
		goto bad;
	}
	device_keypair_take_index(peer, kp);
	peer_add_keypair(peer, kp);
	peer_update_endpoint(peer, src, local);
	atomic_fetch_add(&peer->rx_bytes, sizeof(*msg));
	timers_session_derived(&peer->timers, now);
	timers_handshake_complete(&peer->timers);
	timers_any_authenticated_packet_received(&peer->timers);
	timers_any_authenticated_packet_traversal(&peer->timers, now);
	wall_now(&peer->last_handshake_sec, &peer->last_handshake_nsec);
	/* Confirm the session to the responder: staged data or a keepalive. */
	peer_send_keepalive(peer);
	pthread_mutex_unlock(&peer->lock);
	return;
bad:
	atomic_fetch_add(&dev->drop_invalid, 1);
}

void receive_handshake_admitted(struct wg_device *dev, uint8_t *buf, size_t len,
				const union wg_endpoint *src, const struct wg_src *local)
{
	if (len == sizeof(struct msg_initiation) && le32_read(buf) == MSG_INITIATION)
		initiation_process(dev, buf, src, local);
	else if (len == sizeof(struct msg_response) && le32_read(buf) == MSG_RESPONSE)
		response_process(dev, buf, src, local);
}

/* An initiation or response: length, MAC1 and the load policy here, on the
 * receive thread (cheap, and a cookie reply leaves at once); the X25519 work
 * on the handshake thread when the device has one, else inline. */
static void receive_handshake(struct wg_device *dev, uint8_t *buf, size_t len,
			      const union wg_endpoint *src, const struct wg_src *local)
{
	size_t want = le32_read(buf) == MSG_INITIATION ? sizeof(struct msg_initiation)
						       : sizeof(struct msg_response);

	if (len != want || len < 8) {
		atomic_fetch_add(&dev->drop_invalid, 1);
		return;
	}
	if (!handshake_admit(dev, buf, len, le32_read(buf + 4), src, local, wg_now()))
		return;
	if (!handshake_enqueue(dev, buf, len, src, local))
		receive_handshake_admitted(dev, buf, len, src, local);
}

static void receive_cookie_reply(struct wg_device *dev, uint8_t *buf, size_t len)
{
	struct msg_cookie_reply *msg = (struct msg_cookie_reply *)buf;
	struct wg_peer *peer;
	int ret;

	if (len != sizeof(*msg))
		goto bad;
	peer = index_lookup_handshake(dev, le32_read(&msg->receiver_index));
	if (!peer)
		goto bad;
	pthread_mutex_lock(&peer->lock);
	ret = cookie_consume_reply(&peer->cookie, msg, wg_now());
	pthread_mutex_unlock(&peer->lock);
	if (ret == 0)
		return;
bad:
	atomic_fetch_add(&dev->drop_invalid, 1);
}

/* A data message on its way through the three stages: data_prepare()
 * (serial: header, keypair lookup), data_open() (decryption, on the crypto
 * pool), data_finish() (serial, in arrival order: replay window, peer state,
 * source check, into the TUN batch). */
struct rx_item {
	struct wg_keypair *kp; /* referenced */
	uint8_t *buf;
	size_t len;
	uint64_t counter;
	uint64_t now; /* when it arrived (wg_now) */
	const union wg_endpoint *src;
	const struct wg_src *local;
	bool ok;
};

static bool data_prepare(struct wg_device *dev, uint8_t *buf, size_t len,
			 const union wg_endpoint *src, const struct wg_src *local,
			 struct rx_item *it)
{
	struct wg_keypair *kp;
	uint64_t now;

	if (len < MSG_DATA_MIN_LEN) {
		atomic_fetch_add(&dev->drop_invalid, 1);
		return false;
	}
	kp = index_lookup_keypair(dev, le32_read(buf + 4));
	if (!kp) {
		atomic_fetch_add(&dev->drop_invalid, 1);
		return false;
	}
	now = wg_now();
	if (!atomic_load(&kp->k.receiving_ok) || now - kp->k.birth >= REJECT_AFTER_TIME) {
		atomic_fetch_add(&dev->drop_invalid, 1);
		keypair_put(kp);
		return false;
	}
	it->kp = kp;
	it->buf = buf;
	it->len = len;
	it->counter = le64_read(buf + 8);
	it->now = now;
	it->src = src;
	it->local = local;
	it->ok = false;
	return true;
}

static void data_open(struct rx_item *it)
{
	it->ok = noise_decrypt(&it->kp->k, it->counter, it->buf + MSG_DATA_HEADER_LEN,
			       it->len - MSG_DATA_HEADER_LEN) == 0;
}

static void data_finish(struct wg_device *dev, struct rx_item *it, struct wg_tun_batch *out)
{
	struct wg_keypair *kp = it->kp;
	const union wg_endpoint *src = it->src;
	const struct wg_src *local = it->local;
	struct wg_peer *peer, *routed;
	uint64_t counter = it->counter, now = it->now;
	uint8_t *pkt = it->buf + MSG_DATA_HEADER_LEN;
	size_t len = it->len, plen, tot;

	if (!it->ok) {
		atomic_fetch_add(&dev->drop_invalid, 1);
		goto out;
	}
	/* Only the receive thread touches the replay window. */
	if (!replay_check(&kp->k.replay, counter)) {
		atomic_fetch_add(&dev->drop_replay, 1);
		goto out;
	}
	peer = kp->k.peer;
	plen = len - MSG_DATA_MIN_LEN;

	pthread_mutex_lock(&peer->lock);
	if (peer_received_with_keypair(peer, kp)) {
		timers_handshake_complete(&peer->timers);
		wall_now(&peer->last_handshake_sec, &peer->last_handshake_nsec);
		peer_send_staged(peer);
	}
	peer_update_endpoint(peer, src, local);
	atomic_fetch_add(&peer->rx_bytes, len);
	timers_any_authenticated_packet_received(&peer->timers);
	timers_any_authenticated_packet_traversal(&peer->timers, now);
	/* Receiver side of keep_key_fresh: the initiator rekeys before the
	 * session dies even if it only receives. */
	if (peer->kp_current == kp && kp->k.initiator && !peer->timers.sent_lastminute_handshake &&
	    now - kp->k.birth > REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
		peer->timers.sent_lastminute_handshake = true;
		peer_send_initiation(peer, false);
	}
	if (plen)
		timers_data_received(&peer->timers, now);
	pthread_mutex_unlock(&peer->lock);

	if (!plen)
		goto out; /* keepalive */
	/* Inner packet: trim padding by the IP length, check the source is one
	 * the peer may use (cryptokey routing, inbound). */
	if ((pkt[0] >> 4) == 4 && plen >= 20) {
		tot = (size_t)pkt[2] << 8 | pkt[3];
		if (tot < 20 || tot > plen)
			goto invalid;
		routed = allowedips_lookup(&dev->aips, AF_INET, pkt + 12);
	} else if ((pkt[0] >> 4) == 6 && plen >= 40) {
		tot = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		if (tot > plen)
			goto invalid;
		routed = allowedips_lookup(&dev->aips, AF_INET6, pkt + 8);
	} else {
		goto invalid;
	}
	if (routed != peer) {
		atomic_fetch_add(&dev->drop_source, 1);
		goto out;
	}
	if (out && out->n < TUN_BATCH) {
		out->pkt[out->n] = pkt;
		out->len[out->n] = (uint16_t)tot;
		out->n++;
	}
	goto out;
invalid:
	atomic_fetch_add(&dev->drop_invalid, 1);
out:
	keypair_put(kp);
}

static void receive_data(struct wg_device *dev, uint8_t *buf, size_t len,
			 const union wg_endpoint *src, const struct wg_src *local,
			 struct wg_tun_batch *out)
{
	struct rx_item it;

	if (!data_prepare(dev, buf, len, src, local, &it))
		return;
	data_open(&it);
	data_finish(dev, &it, out);
}

void receive_datagram(struct wg_device *dev, uint8_t *buf, size_t len,
		      const union wg_endpoint *src, struct wg_tun_batch *out)
{
	receive_datagram_local(dev, buf, len, src, NULL, out);
}

void receive_datagram_local(struct wg_device *dev, uint8_t *buf, size_t len,
			    const union wg_endpoint *src, const struct wg_src *local,
			    struct wg_tun_batch *out)
{
	if (len < 4) {
		atomic_fetch_add(&dev->drop_invalid, 1);
		return;
	}
	switch (le32_read(buf)) {
	case MSG_DATA:
		receive_data(dev, buf, len, src, local, out);
		break;
	case MSG_INITIATION:
	case MSG_RESPONSE:
		receive_handshake(dev, buf, len, src, local);
		break;
	case MSG_COOKIE_REPLY:
		receive_cookie_reply(dev, buf, len);
		break;
	default:
		atomic_fetch_add(&dev->drop_invalid, 1);
	}
}

#define RX_MSGS 32
/* Data messages opened together: a full batch of GRO trains. */
#define RX_MAX_ITEMS (RX_MSGS * 64)

struct rx_burst {
	struct wg_device *dev;
	struct rx_item *items; /* RX_MAX_ITEMS */
	unsigned n;
	struct wg_tun_batch *tb;
};

static void open_one(void *ctx, unsigned i)
{
	struct rx_burst *r = ctx;

	data_open(&r->items[i]);
}

/* Opens the pending data messages on the crypto pool, then finishes them in
 * the order they arrived. */
static void burst_flush(struct rx_burst *r)
{
	unsigned i;

	pool_run(r->dev->pool, r->n, open_one, r);
	for (i = 0; i < r->n; i++) {
		if (r->tb->n == TUN_BATCH)
			tun_write_batch(r->dev->tun, r->tb);
		data_finish(r->dev, &r->items[i], r->tb);
	}
	r->n = 0;
}

/* One datagram of a received batch: data messages wait for the burst's
 * flush; anything else first flushes them, so a handshake and the data that
 * follows it are handled in order. */
static void burst_add(struct rx_burst *r, uint8_t *buf, size_t len, const union wg_endpoint *src,
		      const struct wg_src *local)
{
	if (len >= 4 && le32_read(buf) == MSG_DATA) {
		if (r->n == RX_MAX_ITEMS)
			burst_flush(r);
		if (data_prepare(r->dev, buf, len, src, local, &r->items[r->n]))
			r->n++;
		return;
	}
	burst_flush(r);
	if (r->tb->n == TUN_BATCH)
		tun_write_batch(r->dev->tun, r->tb);
	receive_datagram_local(r->dev, buf, len, src, local, r->tb);
}

void *receive_thread_main(void *arg)
{
	struct wg_device *dev = arg;
	struct udp_rx_batch *b = calloc(1, sizeof(*b));
	struct rx_burst rb = { .dev = dev };
	uint8_t *mem = malloc((size_t)RX_MSGS * UDP_RX_BUF);
	unsigned i;

	rb.tb = calloc(1, sizeof(*rb.tb));
	rb.items = malloc(RX_MAX_ITEMS * sizeof(*rb.items));
	if (!b || !rb.tb || !rb.items || !mem) {
		device_request_stop(dev, -ENOMEM);
		goto out;
	}
	for (i = 0; i < RX_MSGS; i++)
		b->msg[i].buf = mem + (size_t)i * UDP_RX_BUF;
	while (!atomic_load(&dev->stopping)) {
		int fd, r;

		/* Sleep in recvmmsg outside the lock (configuration must not wait on
		 * an idle socket). A rebind shuts the old socket down, which wakes
		 * us; its fd stays open until we close it here. */
		pthread_rwlock_rdlock(&dev->cfg_lock);
		if (dev->old_udp_fd >= 0) {
			close(dev->old_udp_fd);
			dev->old_udp_fd = -1;
		}
		fd = dev->udp.fd;
		pthread_rwlock_unlock(&dev->cfg_lock);
		if (fd < 0) {
			struct pollfd p = { .fd = dev->stop_efd, .events = POLLIN };
			(void)poll(&p, 1, 100);
			continue;
		}
		r = udp_recv_batch_fd(fd, b, RX_MSGS, true);
		if (r <= 0) {
			if (r != -EAGAIN && r != -EINTR && r != 0) {
				/* A shut-down old socket, or a transient error: do not spin. */
				struct timespec ts = { 0, 1000000 };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		pthread_rwlock_rdlock(&dev->cfg_lock);
		for (i = 0; i < (unsigned)r; i++) {
			size_t seg = b->msg[i].gso_size ? b->msg[i].gso_size : b->msg[i].len;
			size_t off;
			/* A GRO'd message is a train of datagrams of `seg` bytes. */
			for (off = 0; off < b->msg[i].len; off += seg) {
				size_t l = b->msg[i].len - off < seg ? b->msg[i].len - off : seg;
				burst_add(&rb, b->msg[i].buf + off, l, &b->msg[i].src,
					  &b->msg[i].local);
			}
		}
		burst_flush(&rb);
		tun_write_batch(dev->tun, rb.tb);
		pthread_rwlock_unlock(&dev->cfg_lock);
	}
out:
	free(mem);
	free(b);
	free(rb.tb);
	free(rb.items);
	return NULL;
}
