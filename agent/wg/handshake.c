/* The handshake queue: initiations and responses that passed the cheap
 * checks on the receive thread (length, MAC1, and under load MAC2 and the
 * per-source rate limiter) wait here for the handshake thread, which does
 * the X25519 work. The receive thread goes straight back to data messages,
 * so a reconnect storm of thousands of peers does not hold up the traffic of
 * the peers that already have a session. Bounded (4096 messages, about
 * 0.9 MB of address space, touched only as far as a storm fills it; 1024 in
 * wireguard-go dropped a third of a 2000-peer storm): when full, a handshake
 * is dropped and its sender retries, and one that waited REKEY_TIMEOUT is
 * dropped when it comes out. The entries are wire bytes and addresses,
 * nothing secret. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "device.h"
#include "log.h"

struct hs_entry {
	uint8_t msg[sizeof(struct msg_initiation)];
	size_t len;
	uint64_t queued_at; /* wg_now() */
	union wg_endpoint src;
	struct wg_src local;
	bool has_local;
};

struct wg_hsq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	unsigned head, count;
	struct hs_entry e[HSQ_CAP];
};

bool handshake_enqueue(struct wg_device *dev, const uint8_t *buf, size_t len,
		       const union wg_endpoint *src, const struct wg_src *local)
{
	struct wg_hsq *q = dev->hsq;
	struct hs_entry *e;

	if (!q || len > sizeof(e->msg))
		return false;
	pthread_mutex_lock(&q->lock);
	if (q->count == HSQ_CAP) {
		pthread_mutex_unlock(&q->lock);
		atomic_fetch_add(&dev->drop_hs_queue, 1);
		return true; /* dropped: the sender retries */
	}
	e = &q->e[(q->head + q->count) % HSQ_CAP];
	memcpy(e->msg, buf, len);
	e->len = len;
	e->queued_at = wg_now();
	e->src = *src;
	e->has_local = local != NULL;
	if (local)
		e->local = *local;
	q->count++;
	atomic_store(&dev->hs_queued, q->count);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return true;
}

/* Takes the oldest entry into *out; false once the device stops. */
static bool hsq_pop(struct wg_device *dev, struct hs_entry *out)
{
	struct wg_hsq *q = dev->hsq;

	pthread_mutex_lock(&q->lock);
	while (!q->count && !atomic_load(&dev->stopping))
		pthread_cond_wait(&q->cond, &q->lock);
	if (atomic_load(&dev->stopping)) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	*out = q->e[q->head];
	q->head = (q->head + 1) % HSQ_CAP;
	q->count--;
	atomic_store(&dev->hs_queued, q->count);
	pthread_mutex_unlock(&q->lock);
	return true;
}

static void *handshake_thread_main(void *arg)
{
	struct wg_device *dev = arg;
	struct hs_entry e;

	while (hsq_pop(dev, &e)) {
		/* Its sender has sent a new one by now (REKEY_TIMEOUT): answering
		 * this one would only feed a backlog that grows with every retry. */
		if (wg_now() - e.queued_at >= REKEY_TIMEOUT) {
			atomic_fetch_add(&dev->drop_hs_queue, 1);
			continue;
		}
		/* Peers and keys may change between messages, not during one. */
		pthread_rwlock_rdlock(&dev->cfg_lock);
		receive_handshake_admitted(dev, e.msg, e.len, &e.src, e.has_local ? &e.local : NULL);
		pthread_rwlock_unlock(&dev->cfg_lock);
	}
	return NULL;
}

int handshake_queue_start(struct wg_device *dev)
{
	struct wg_hsq *q = calloc(1, sizeof(*q));
	int ret;

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	dev->hsq = q;
	ret = -pthread_create(&q->thread, NULL, handshake_thread_main, dev);
	if (ret) {
		dev->hsq = NULL;
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->cond);
		free(q);
	}
	return ret;
}

/* After device_request_stop(): wakes the thread, joins it, frees the queue.
 * The receive thread must be joined already (it enqueues). */
void handshake_queue_stop(struct wg_device *dev)
{
	struct wg_hsq *q = dev->hsq;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	dev->hsq = NULL;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}
