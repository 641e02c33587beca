/* Per-peer protocol state: keypair handover, handshake initiation,
 * keepalives, staged packets and timer actions. Callers hold the device
 * cfg_lock (read) and, where noted in device.h, the peer lock. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "device.h"

struct wg_peer *peer_new(struct wg_device *dev, const uint8_t pub[WG_KEY_LEN])
{
	struct wg_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->dev = dev;
	pthread_mutex_init(&p->lock, NULL);
	memcpy(p->public_key, pub, WG_KEY_LEN);
	memcpy(p->hs.remote_static, pub, WG_KEY_LEN);
	p->handshake_usable = noise_handshake_precompute(&p->hs, &dev->local);
	cookie_maker_init(&p->cookie, pub);
	p->hs_idx.type = INDEX_HANDSHAKE;
	p->hs_idx.peer = p;
	atomic_init(&p->rx_bytes, 0);
	atomic_init(&p->tx_bytes, 0);
	return p;
}

void keypair_put(struct wg_keypair *kp)
{
	if (kp && atomic_fetch_sub(&kp->k.refcount, 1) == 1) {
		sodium_memzero(kp, sizeof(*kp));
		free(kp);
	}
}

/* Take a keypair out of service: no new lookups, freed when unused. */
static void keypair_retire(struct wg_device *dev, struct wg_keypair *kp)
{
	if (!kp)
		return;
	atomic_store(&kp->k.receiving_ok, false);
	index_unregister(dev, &kp->idx);
	keypair_put(kp);
}

void peer_zero_keys(struct wg_peer *peer)
{
	keypair_retire(peer->dev, peer->kp_previous);
	keypair_retire(peer->dev, peer->kp_current);
	keypair_retire(peer->dev, peer->kp_next);
	peer->kp_previous = peer->kp_current = peer->kp_next = NULL;
	index_unregister(peer->dev, &peer->hs_idx);
	noise_handshake_clear(&peer->hs);
}

void peer_clear_staged(struct wg_peer *peer)
{
	while (peer->staged_count) {
		free(peer->staged[peer->staged_head]);
		peer->staged[peer->staged_head] = NULL;
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
}

void peer_free(struct wg_peer *peer)
{
	if (!peer)
		return;
	peer_zero_keys(peer);
	peer_clear_staged(peer);
	free(peer->staged);
	pthread_mutex_destroy(&peer->lock);
	sodium_memzero(peer, sizeof(*peer));
	free(peer);
}

static bool keypair_usable_for_send(const struct wg_keypair *kp, uint64_t now)
{
	return kp && atomic_load(&kp->k.receiving_ok) && now - kp->k.birth < REJECT_AFTER_TIME &&
	       atomic_load(&kp->k.send_counter) < REJECT_AFTER_MESSAGES;
}

struct wg_keypair *peer_current_keypair_get(struct wg_peer *peer)
{
	struct wg_keypair *kp = peer->kp_current;

	if (!keypair_usable_for_send(kp, wg_now()))
		return NULL;
	atomic_fetch_add(&kp->k.refcount, 1);
	return kp;
}

void peer_add_keypair(struct wg_peer *peer, struct wg_keypair *kp)
{
	struct wg_device *dev = peer->dev;

	if (kp->k.initiator) {
		struct wg_keypair *old_prev = peer->kp_previous;
		if (peer->kp_next) {
			peer->kp_previous = peer->kp_next;
			peer->kp_next = NULL;
			keypair_retire(dev, peer->kp_current);
		} else {
			peer->kp_previous = peer->kp_current;
		}
		keypair_retire(dev, old_prev);
		peer->kp_current = kp;
	} else {
		/* Responder: usable once the initiator proves it has it. */
		keypair_retire(dev, peer->kp_next);
		peer->kp_next = kp;
		keypair_retire(dev, peer->kp_previous);
		peer->kp_previous = NULL;
	}
}

bool peer_received_with_keypair(struct wg_peer *peer, struct wg_keypair *kp)
{
	struct wg_keypair *old_prev;

	if (kp != peer->kp_next)
		return false;
	old_prev = peer->kp_previous;
	peer->kp_previous = peer->kp_current;
	peer->kp_current = kp;
	peer->kp_next = NULL;
	keypair_retire(peer->dev, old_prev);
	return true;
}

void peer_update_endpoint(struct wg_peer *peer, const union wg_endpoint *src,
			  const struct wg_src *local)
{
	if (!endpoint_eq(&peer->endpoint, src))
		peer->endpoint = *src;
	if (local && !src_eq(&peer->src, local))
		peer->src = *local;
}

int peer_udp_send(struct wg_peer *peer, const void *buf, size_t len)
{
	int r;

	if (!peer->endpoint.sa.sa_family)
		return -EDESTADDRREQ;
	r = udp_send_src(&peer->dev->udp, &peer->endpoint, &peer->src, buf, len);
	if (r && udp_src_gone(r) && peer->src.family) {
		/* Our old address disappeared: fall over to whatever the route picks. */
		peer->src.family = 0;
		r = udp_send_src(&peer->dev->udp, &peer->endpoint, NULL, buf, len);
	}
	if (r == 0)
		atomic_fetch_add(&peer->tx_bytes, len);
	return r;
}

void peer_forget_src(struct wg_peer *peer, const struct wg_src *gone)
{
	pthread_mutex_lock(&peer->lock);
	if (src_eq(&peer->src, gone))
		peer->src.family = 0;
	pthread_mutex_unlock(&peer->lock);
}

void peer_send_initiation(struct wg_peer *peer, bool retry)
{
	struct wg_device *dev = peer->dev;
	struct msg_initiation msg;
	uint8_t ts[NOISE_TIMESTAMP_LEN];
	struct timespec wall;
	uint64_t now = wg_now();

	if (!retry)
		peer->timers.handshake_attempts = 0;
	if (!dev->local.has_identity || !peer->handshake_usable)
		return;
	if (peer->last_sent_handshake && now - peer->last_sent_handshake < REKEY_TIMEOUT)
		return;
	index_unregister(dev, &peer->hs_idx);
	uint32_t idx = index_register(dev, &peer->hs_idx);
	clock_gettime(CLOCK_REALTIME, &wall);
	noise_tai64n(ts, wall.tv_sec, wall.tv_nsec);
	if (noise_create_initiation(&peer->hs, &dev->local, &msg, idx, ts) != 0) {
		index_unregister(dev, &peer->hs_idx);
		return;
	}
	cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now);
	timers_any_authenticated_packet_traversal(&peer->timers, now);
	timers_any_authenticated_packet_sent(&peer->timers);
	peer->last_sent_handshake = now;
	peer_udp_send(peer, &msg, sizeof(msg));
	timers_handshake_initiated(&peer->timers, now, wg_jitter());
}

/* Padding to a multiple of 16, but never past the MTU (whitepaper 5.4.6). */
static size_t padded_len(size_t len, int mtu)
{
	size_t padded = (len + 15) & ~(size_t)15;

	if (mtu > 0 && padded > (size_t)mtu)
		padded = len > (size_t)mtu ? len : (size_t)mtu;
	return padded;
}

size_t peer_wire_len(size_t len, int mtu)
{
	return MSG_DATA_HEADER_LEN + padded_len(len, mtu) + NOISE_AUTHTAG_LEN;
}

size_t peer_seal(struct wg_keypair *kp, uint64_t counter, uint8_t *out, const uint8_t *pkt,
		 size_t len, int mtu)
{
	size_t padded = padded_len(len, mtu);

	le32_write(out, MSG_DATA);
	le32_write(out + 4, kp->k.remote_index);
	le64_write(out + 8, counter);
	/* A keepalive has no payload (and may come with a NULL pointer: memmove forbids it). */
	if (len > 0 && pkt != out + MSG_DATA_HEADER_LEN)
		memmove(out + MSG_DATA_HEADER_LEN, pkt, len);
	memset(out + MSG_DATA_HEADER_LEN + len, 0, padded - len);
	noise_encrypt(&kp->k, counter, out + MSG_DATA_HEADER_LEN, padded);
	return MSG_DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN;
}

/* Start a new handshake when the current session is getting old (sender
 * side of Linux keep_key_fresh). */
static void peer_keep_key_fresh_send(struct wg_peer *peer, struct wg_keypair *kp, uint64_t now)
{
	if (kp && kp->k.initiator &&
	    (atomic_load(&kp->k.send_counter) > REKEY_AFTER_MESSAGES ||
	     now - kp->k.birth > REKEY_AFTER_TIME))
		peer_send_initiation(peer, false);
}

static void peer_send_one(struct wg_peer *peer, struct wg_keypair *kp, const uint8_t *pkt,
			  size_t len)
{
	uint8_t buf[MSG_DATA_HEADER_LEN + 65536 + 32];
	uint64_t counter = atomic_fetch_add(&kp->k.send_counter, 1);
	size_t wire;

	if (counter >= REJECT_AFTER_MESSAGES || len > 65536)
		return;
	wire = peer_seal(kp, counter, buf, pkt, len, atomic_load(&peer->dev->mtu));
	peer_udp_send(peer, buf, wire);
	sodium_memzero(buf, wire); /* plaintext went through this buffer */
}

void peer_send_staged(struct wg_peer *peer)
{
	struct wg_keypair *kp = peer_current_keypair_get(peer);
	uint64_t now = wg_now();
	bool sent = false;

	if (!kp) {
		peer_send_initiation(peer, false);
		return;
	}
	while (peer->staged_count) {
		struct wg_staged *s = peer->staged[peer->staged_head];
		peer->staged[peer->staged_head] = NULL;
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_count--;
		peer_send_one(peer, kp, s->data, s->len);
		sodium_memzero(s->data, s->len);
		free(s);
		sent = true;
	}
	if (sent) {
		timers_any_authenticated_packet_traversal(&peer->timers, now);
		timers_any_authenticated_packet_sent(&peer->timers);
		timers_data_sent(&peer->timers, now, peer->timers.new_handshake ? 0 : wg_jitter());
	}
	peer_keep_key_fresh_send(peer, kp, now);
	keypair_put(kp);
}

void peer_send_keepalive(struct wg_peer *peer)
{
	struct wg_keypair *kp;
	uint64_t now = wg_now();

	if (peer->staged_count) {
		peer_send_staged(peer);
		return;
	}
	kp = peer_current_keypair_get(peer);
	if (!kp) {
		peer_send_initiation(peer, false);
		return;
	}
	peer_send_one(peer, kp, NULL, 0);
	timers_any_authenticated_packet_traversal(&peer->timers, now);
	timers_any_authenticated_packet_sent(&peer->timers);
	peer_keep_key_fresh_send(peer, kp, now);
	keypair_put(kp);
}

void peer_stage(struct wg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct wg_staged *s;
	unsigned slot;

	if (!peer->staged) {
		peer->staged = calloc(MAX_STAGED_PACKETS, sizeof(*peer->staged));
		if (!peer->staged)
			return;
	}
	if (peer->staged_count == MAX_STAGED_PACKETS) {
		/* Full: drop the oldest, as Linux does. */
		free(peer->staged[peer->staged_head]);
		peer->staged[peer->staged_head] = NULL;
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	s = malloc(sizeof(*s) + len);
	if (!s)
		return;
	s->len = (uint16_t)len;
	memcpy(s->data, pkt, len);
	slot = (peer->staged_head + peer->staged_count) % MAX_STAGED_PACKETS;
	peer->staged[slot] = s;
	peer->staged_count++;
}

void peer_timers_tick(struct wg_peer *peer, uint64_t now)
{
	unsigned act = timers_expire(&peer->timers, now);

	if (act & TIMER_GIVE_UP)
		peer_clear_staged(peer);
	if (act & TIMER_SEND_INITIATION)
		peer_send_initiation(peer, true);
	if (act & TIMER_SEND_KEEPALIVE)
		peer_send_keepalive(peer);
	if (act & TIMER_ZERO_KEYS)
		peer_zero_keys(peer);
}
