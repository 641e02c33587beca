/* Device lifecycle, configuration API (wg.h), the receiver-index table and
 * the timer thread. The data path lives in send.c and receive.c. */
#include "config.h"

#include "device.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "log.h"
#include "tun.h"

uint64_t wg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t wg_jitter(void)
{
	return (uint64_t)randombytes_uniform(REKEY_TIMEOUT_JITTER_MAX_MS * 1000) * 1000;
}

static unsigned key_hash(const uint8_t *k)
{
	return (unsigned)le32_read(k) % WG_PEER_HASH_SIZE;
}

struct wg_peer *device_peer_lookup(struct wg_device *dev, const uint8_t pub[WG_KEY_LEN])
{
	struct wg_peer *p;

	for (p = dev->peer_hash[key_hash(pub)]; p; p = p->hash_next)
		if (!memcmp(p->public_key, pub, WG_KEY_LEN))
			return p;
	return NULL;
}

/* --- receiver index table --- */

uint32_t index_register(struct wg_device *dev, struct wg_index *e)
{
	struct wg_index *it;
	uint32_t idx;

	pthread_mutex_lock(&dev->index_lock);
again:
	idx = randombytes_random();
	if (!idx)
		goto again;
	for (it = dev->index_hash[idx % WG_INDEX_HASH_SIZE]; it; it = it->next)
		if (it->index == idx)
			goto again;
	e->index = idx;
	e->next = dev->index_hash[idx % WG_INDEX_HASH_SIZE];
	dev->index_hash[idx % WG_INDEX_HASH_SIZE] = e;
	pthread_mutex_unlock(&dev->index_lock);
	return idx;
}

/* Put `repl` in place of `old` under the same index (handshake -> keypair). */
static void index_replace(struct wg_device *dev, struct wg_index *old, struct wg_index *repl)
{
	struct wg_index **pp;

	pthread_mutex_lock(&dev->index_lock);
	repl->index = old->index;
	for (pp = &dev->index_hash[old->index % WG_INDEX_HASH_SIZE]; *pp; pp = &(*pp)->next) {
		if (*pp == old) {
			repl->next = old->next;
			*pp = repl;
			old->index = 0;
			old->next = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&dev->index_lock);
}

void index_unregister(struct wg_device *dev, struct wg_index *e)
{
	struct wg_index **pp;

	if (!e->index)
		return;
	pthread_mutex_lock(&dev->index_lock);
	for (pp = &dev->index_hash[e->index % WG_INDEX_HASH_SIZE]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->index = 0;
	e->next = NULL;
	pthread_mutex_unlock(&dev->index_lock);
}

struct wg_keypair *index_lookup_keypair(struct wg_device *dev, uint32_t index)
{
	struct wg_index *it;
	struct wg_keypair *kp = NULL;

	if (!index)
		return NULL;
	pthread_mutex_lock(&dev->index_lock);
	for (it = dev->index_hash[index % WG_INDEX_HASH_SIZE]; it; it = it->next) {
		if (it->index == index) {
			if (it->type == INDEX_KEYPAIR) {
				kp = it->kp;
				atomic_fetch_add(&kp->k.refcount, 1);
			}
			break;
		}
	}
	pthread_mutex_unlock(&dev->index_lock);
	return kp;
}

struct wg_peer *index_lookup_handshake(struct wg_device *dev, uint32_t index)
{
	struct wg_index *it;
	struct wg_peer *p = NULL;

	if (!index)
		return NULL;
	pthread_mutex_lock(&dev->index_lock);
	for (it = dev->index_hash[index % WG_INDEX_HASH_SIZE]; it; it = it->next) {
		if (it->index == index) {
			if (it->type == INDEX_HANDSHAKE)
				p = it->peer;
			break;
		}
	}
	pthread_mutex_unlock(&dev->index_lock);
	return p;
}

/* Called by receive.c when a handshake completes: the keypair inherits the
 * handshake's index so the peer's data packets find it. */
void device_keypair_take_index(struct wg_peer *peer, struct wg_keypair *kp)
{
	kp->idx.type = INDEX_KEYPAIR;
	kp->idx.peer = peer;
	kp->idx.kp = kp;
	kp->k.peer = peer;
	index_replace(peer->dev, &peer->hs_idx, &kp->idx);
}

bool device_under_load(struct wg_device *dev, uint64_t now)
{
	uint64_t start = atomic_load(&dev->load_window_start);
	unsigned count;

	if (now - start > NS_PER_SEC) {
		atomic_store(&dev->load_window_start, now);
		atomic_store(&dev->load_count, 0);
	}
	count = atomic_fetch_add(&dev->load_count, 1) + 1;
	/* More handshakes in a second than a healthy device of this size needs
	 * (wireguard-go: 1/8 of its handshake queue): ask for cookies for the next
	 * second. */
	if (count > 128 || atomic_load(&dev->hs_queued) >= HSQ_LOAD)
		atomic_store(&dev->under_load_until, now + NS_PER_SEC);
	return now < atomic_load(&dev->under_load_until);
}

void device_request_stop(struct wg_device *dev, int reason)
{
	uint64_t one = 1;

	pthread_mutex_lock(&dev->stop_lock);
	if (!atomic_load(&dev->stopping)) {
		dev->stop_reason = reason;
		atomic_store(&dev->stopping, true);
		if (write(dev->stop_efd, &one, sizeof(one)) < 0) {
			/* eventfd counter cannot overflow from one write */
		}
	}
	pthread_cond_broadcast(&dev->stop_cond);
	pthread_mutex_unlock(&dev->stop_lock);
}

/* --- lifecycle --- */

static int device_new_common(struct wg_device **out, const char *ifname, bool with_tun);

int wg_device_new(struct wg_device **out, const char *ifname)
{
	return device_new_common(out, ifname, true);
}

int device_new_detached(struct wg_device **out, const char *name)
{
	return device_new_common(out, name, false);
}

static int device_new_common(struct wg_device **out, const char *ifname, bool with_tun)
{
	struct wg_device *dev;
	pthread_rwlockattr_t attr;
	int ret;

	if (sodium_init() < 0)
		return -EIO;
	noise_init();
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", ifname);
	pthread_rwlockattr_init(&attr);
	/* Writers (configuration) must not starve behind the two data threads. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&dev->cfg_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&dev->index_lock, NULL);
	pthread_mutex_init(&dev->stop_lock, NULL);
	pthread_cond_init(&dev->stop_cond, NULL);
	cookie_checker_init(&dev->cookie);
	ratelimiter_init(&dev->ratelimiter);
	allowedips_init(&dev->aips);
	dev->udp.fd = -1;
	dev->uapi_fd = -1;
	dev->old_udp_fd = -1;
	dev->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->stop_efd < 0) {
		ret = -errno;
		goto fail;
	}
	atomic_store(&dev->mtu, 1420);
	if (with_tun) {
		ret = tun_open(&dev->tun, ifname, getenv("KEYWAY_WG_NO_OFFLOAD") == NULL);
		if (ret)
			goto fail;
		if (tun_mtu(dev->tun) == 1500)
			(void)tun_set_mtu(dev->tun, 1420); /* wireguard-go's default */
		ret = tun_mtu(dev->tun);
		atomic_store(&dev->mtu, ret > 0 ? ret : 1420);
	}
	*out = dev;
	return 0;
fail:
	wg_device_free(dev);
	return ret;
}

const char *wg_device_ifname(const struct wg_device *dev)
{
	return dev->ifname;
}

void wg_device_free(struct wg_device *dev)
{
	struct wg_peer *p, *n;

	if (!dev)
		return;
	wg_device_stop(dev);
	pthread_rwlock_wrlock(&dev->cfg_lock);
	for (p = dev->peers; p; p = n) {
		n = p->next;
		peer_free(p);
	}
	dev->peers = NULL;
	allowedips_free(&dev->aips);
	pthread_rwlock_unlock(&dev->cfg_lock);
	udp_close(&dev->udp);
	if (dev->old_udp_fd >= 0)
		close(dev->old_udp_fd);
	tun_close(dev->tun);
	if (dev->stop_efd >= 0)
		close(dev->stop_efd);
	cookie_checker_destroy(&dev->cookie);
	ratelimiter_destroy(&dev->ratelimiter);
	pthread_rwlock_destroy(&dev->cfg_lock);
	pthread_mutex_destroy(&dev->index_lock);
	pthread_mutex_destroy(&dev->stop_lock);
	pthread_cond_destroy(&dev->stop_cond);
	sodium_memzero(&dev->local, sizeof(dev->local));
	free(dev);
}

/* --- configuration (cfg_lock held for writing by the callers below) --- */

static int device_rebind_locked(struct wg_device *dev)
{
	struct wg_udp nu;
	int ret;

	if (!dev->started)
		return 0;
	ret = udp_open(&nu, dev->listen_port, dev->fwmark);
	if (ret)
		return ret;
	/* The receive thread polls the old fd outside the lock: it notices the
	 * new one when its poll wakes (the old socket is shut down for that). */
	if (dev->udp.fd >= 0) {
		shutdown(dev->udp.fd, SHUT_RDWR);
		if (dev->old_udp_fd >= 0)
			close(dev->old_udp_fd);
		dev->old_udp_fd = dev->udp.fd;
	}
	dev->udp = nu;
	return 0;
}

int wg_device_set_private_key(struct wg_device *dev, const uint8_t key[WG_KEY_LEN])
{
	pthread_rwlock_wrlock(&dev->cfg_lock);
	device_set_private_key_locked(dev, key);
	pthread_rwlock_unlock(&dev->cfg_lock);
	return 0;
}

void device_set_private_key_locked(struct wg_device *dev, const uint8_t *key)
{
	struct wg_peer *p, *self;
	uint8_t old_pub[WG_KEY_LEN];
	bool had = dev->local.has_identity;

	memcpy(old_pub, dev->local.public_key, WG_KEY_LEN);
	noise_local_set(&dev->local, key);
	if (had == dev->local.has_identity &&
	    (!had || !memcmp(old_pub, dev->local.public_key, WG_KEY_LEN)))
		return;
	cookie_checker_set_key(&dev->cookie, dev->local.has_identity ? dev->local.public_key : NULL);
	/* A peer with our own public key cannot exist (wireguard-go removes it). */
	self = dev->local.has_identity ? device_peer_lookup(dev, dev->local.public_key) : NULL;
	if (self)
		device_peer_remove_locked(dev, self);
	for (p = dev->peers; p; p = p->next) {
		pthread_mutex_lock(&p->lock);
		p->handshake_usable = noise_handshake_precompute(&p->hs, &dev->local);
		/* Sessions made with the old key are void. */
		peer_zero_keys(p);
		p->last_sent_handshake = 0;
		pthread_mutex_unlock(&p->lock);
	}
}

int wg_device_get_public_key(struct wg_device *dev, uint8_t out[WG_KEY_LEN])
{
	int ret = -ENOKEY;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	if (dev->local.has_identity) {
		memcpy(out, dev->local.public_key, WG_KEY_LEN);
		ret = 0;
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	return ret;
}

int wg_device_set_listen_port(struct wg_device *dev, uint16_t port)
{
	int ret;

	pthread_rwlock_wrlock(&dev->cfg_lock);
	ret = device_set_listen_port_locked(dev, port);
	pthread_rwlock_unlock(&dev->cfg_lock);
	return ret;
}

int device_set_listen_port_locked(struct wg_device *dev, uint16_t port)
{
	int ret = 0;

	if (port != dev->listen_port || dev->udp.fd < 0) {
		uint16_t old = dev->listen_port;
		dev->listen_port = port;
		if (port == 0 && dev->udp.fd >= 0 && old == 0) {
			/* Already on a random port. */
		} else {
			ret = device_rebind_locked(dev);
			if (ret)
				dev->listen_port = old;
		}
	}
	return ret;
}

uint16_t wg_device_get_listen_port(struct wg_device *dev)
{
	uint16_t p;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	p = dev->udp.fd >= 0 ? dev->udp.port : dev->listen_port;
	pthread_rwlock_unlock(&dev->cfg_lock);
	return p;
}

int wg_device_set_fwmark(struct wg_device *dev, uint32_t fwmark)
{
	int ret;

	pthread_rwlock_wrlock(&dev->cfg_lock);
	ret = device_set_fwmark_locked(dev, fwmark);
	pthread_rwlock_unlock(&dev->cfg_lock);
	return ret;
}

int device_set_fwmark_locked(struct wg_device *dev, uint32_t fwmark)
{
	dev->fwmark = fwmark;
	return udp_set_fwmark(&dev->udp, fwmark);
}

void device_peer_remove_locked(struct wg_device *dev, struct wg_peer *peer)
{
	struct wg_peer **pp, *prev = NULL;

	allowedips_remove_peer(&dev->aips, peer);
	for (pp = &dev->peer_hash[key_hash(peer->public_key)]; *pp; pp = &(*pp)->hash_next)
		if (*pp == peer) {
			*pp = peer->hash_next;
			break;
		}
	for (pp = &dev->peers; *pp; prev = *pp, pp = &(*pp)->next)
		if (*pp == peer) {
			*pp = peer->next;
			if (dev->peers_tail == peer)
				dev->peers_tail = prev;
			break;
		}
	dev->n_peers--;
	/* Nobody else holds the peer lock: every user holds cfg_lock for reading. */
	peer_free(peer);
}

/* Find or create; cfg_lock held for writing. NULL with *err set on failure,
 * or NULL with *err 0 when the key is our own. */
struct wg_peer *device_peer_get_or_create_locked(struct wg_device *dev,
						 const uint8_t pub[WG_KEY_LEN], bool create,
						 int *err)
{
	struct wg_peer *p;

	*err = 0;
	if (dev->local.has_identity && !memcmp(pub, dev->local.public_key, WG_KEY_LEN))
		return NULL;
	p = device_peer_lookup(dev, pub);
	if (p || !create)
		return p;
	p = peer_new(dev, pub);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->hash_next = dev->peer_hash[key_hash(pub)];
	dev->peer_hash[key_hash(pub)] = p;
	if (dev->peers_tail)
		dev->peers_tail->next = p;
	else
		dev->peers = p;
	dev->peers_tail = p;
	dev->n_peers++;
	return p;
}

int device_peer_add_aip_locked(struct wg_device *dev, struct wg_peer *p,
			       const struct wg_allowed_ip *a)
{
	return allowedips_insert(&dev->aips, a->family, (const uint8_t *)&a->addr, a->cidr, p);
}

void device_peer_set_keepalive_locked(struct wg_device *dev, struct wg_peer *p, uint16_t secs)
{
	bool was_off;

	pthread_mutex_lock(&p->lock);
	was_off = p->timers.persistent_keepalive_interval == 0;
	p->timers.persistent_keepalive_interval = secs;
	if (!secs)
		p->timers.persistent_keepalive = 0;
	/* As the kernel does: a newly enabled keepalive goes out at once. */
	if (secs && was_off && dev->started)
		peer_send_keepalive(p);
	pthread_mutex_unlock(&p->lock);
}

void device_peer_set_psk_locked(struct wg_peer *p, const uint8_t psk[WG_KEY_LEN])
{
	pthread_mutex_lock(&p->lock);
	memcpy(p->hs.preshared_key, psk, WG_KEY_LEN);
	pthread_mutex_unlock(&p->lock);
}

void device_peer_set_endpoint_locked(struct wg_peer *p, const union wg_endpoint *ep)
{
	pthread_mutex_lock(&p->lock);
	p->endpoint = *ep;
	p->src.family = 0; /* a configured endpoint: let the route pick the source */
	pthread_mutex_unlock(&p->lock);
}

int wg_device_peer_set(struct wg_device *dev, const struct wg_peer_config *cfg)
{
	struct wg_peer *p;
	size_t i;
	int ret = 0;

	pthread_rwlock_wrlock(&dev->cfg_lock);
	p = device_peer_get_or_create_locked(dev, cfg->public_key, true, &ret);
	if (!p)
		goto out;
	if (cfg->has_preshared_key)
		device_peer_set_psk_locked(p, cfg->preshared_key);
	if (cfg->has_endpoint) {
		union wg_endpoint ep;
		memset(&ep, 0, sizeof(ep));
		memcpy(&ep, &cfg->endpoint,
		       cfg->endpoint.ss_family == AF_INET6 ? sizeof(ep.in6) : sizeof(ep.in4));
		endpoint_normalize(&ep);
		device_peer_set_endpoint_locked(p, &ep);
	}
	if (cfg->replace_allowed_ips)
		allowedips_remove_peer(&dev->aips, p);
	for (i = 0; i < cfg->n_allowed_ips && !ret; i++)
		ret = device_peer_add_aip_locked(dev, p, &cfg->allowed_ips[i]);
	if (cfg->has_persistent_keepalive)
		device_peer_set_keepalive_locked(dev, p, cfg->persistent_keepalive);
out:
	pthread_rwlock_unlock(&dev->cfg_lock);
	return ret;
}

int wg_device_peer_remove(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN])
{
	struct wg_peer *p;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&dev->cfg_lock);
	p = device_peer_lookup(dev, public_key);
	if (p) {
		device_peer_remove_locked(dev, p);
		ret = 0;
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	return ret;
}

int wg_device_peer_initiate(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN])
{
	struct wg_peer *p;
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	p = device_peer_lookup(dev, public_key);
	if (p) {
		pthread_mutex_lock(&p->lock);
		p->last_sent_handshake = 0; /* lift the REKEY_TIMEOUT spacing once */
		peer_send_initiation(p, false);
		pthread_mutex_unlock(&p->lock);
		ret = 0;
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	return ret;
}

void device_peers_clear_locked(struct wg_device *dev)
{
	while (dev->peers)
		device_peer_remove_locked(dev, dev->peers);
}

void wg_device_peers_clear(struct wg_device *dev)
{
	pthread_rwlock_wrlock(&dev->cfg_lock);
	device_peers_clear_locked(dev);
	pthread_rwlock_unlock(&dev->cfg_lock);
}

static int count_aip(void *ctx, int family, const uint8_t *ip, uint8_t cidr, void *peer)
{
	(*(size_t *)ctx)++;
	return 0;
}

int wg_device_peer_stats(struct wg_device *dev, struct wg_peer_stats **out, size_t *n)
{
	struct wg_peer_stats *s;
	struct wg_peer *p;
	size_t i = 0;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	s = calloc(dev->n_peers ? dev->n_peers : 1, sizeof(*s));
	if (!s) {
		pthread_rwlock_unlock(&dev->cfg_lock);
		return -ENOMEM;
	}
	for (p = dev->peers; p; p = p->next, i++) {
		pthread_mutex_lock(&p->lock);
		memcpy(s[i].public_key, p->public_key, WG_KEY_LEN);
		memcpy(&s[i].endpoint, &p->endpoint, sizeof(p->endpoint));
		s[i].last_handshake_sec = p->last_handshake_sec;
		s[i].last_handshake_nsec = p->last_handshake_nsec;
		s[i].persistent_keepalive = p->timers.persistent_keepalive_interval;
		pthread_mutex_unlock(&p->lock);
		s[i].rx_bytes = atomic_load(&p->rx_bytes);
		s[i].tx_bytes = atomic_load(&p->tx_bytes);
		allowedips_walk(&dev->aips, p, count_aip, &s[i].n_allowed_ips);
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	*out = s;
	*n = i;
	return 0;
}

/* --- threads --- */

#ifdef KW_TEST_TIMERS
#define TIMER_TICK_MS 20
#else
#define TIMER_TICK_MS 100
#endif

static void *timer_thread_main(void *arg)
{
	struct wg_device *dev = arg;
	struct pollfd pfd = { .fd = dev->stop_efd, .events = POLLIN };
	unsigned ticks = 0;

	while (!atomic_load(&dev->stopping)) {
		if (poll(&pfd, 1, TIMER_TICK_MS) > 0)
			break;
		uint64_t now = wg_now();
		pthread_rwlock_rdlock(&dev->cfg_lock);
		for (struct wg_peer *p = dev->peers; p; p = p->next) {
			pthread_mutex_lock(&p->lock);
			peer_timers_tick(p, now);
			pthread_mutex_unlock(&p->lock);
		}
		pthread_rwlock_unlock(&dev->cfg_lock);
		if (++ticks % (1000 / TIMER_TICK_MS) == 0) {
			int mtu = tun_mtu(dev->tun);
			if (mtu > 0 && atomic_exchange(&dev->mtu, mtu) != mtu)
				log_info("mtu=%d ifname=%s", mtu, dev->tun->name);
			else if (mtu == -ENODEV)
				device_request_stop(dev, -ENODEV); /* interface deleted */
		}
	}
	return NULL;
}

int wg_device_start(struct wg_device *dev)
{
	int ret;

	if (dev->started)
		return -EALREADY;
	if (!dev->tun)
		return -ENODEV;
	pthread_rwlock_wrlock(&dev->cfg_lock);
	dev->started = true;
	ret = device_rebind_locked(dev);
	pthread_rwlock_unlock(&dev->cfg_lock);
	if (ret) {
		dev->started = false;
		return ret;
	}
	if ((ret = pool_new(&dev->pool, pool_default_workers())))
		goto fail0;
	log_info("crypto workers=%u", pool_workers(dev->pool));
	if ((ret = handshake_queue_start(dev)))
		goto fail0;
	if ((ret = -pthread_create(&dev->rx_thread, NULL, receive_thread_main, dev)))
		goto fail0;
	if ((ret = -pthread_create(&dev->tx_thread, NULL, send_thread_main, dev)))
		goto fail1;
	if ((ret = -pthread_create(&dev->timer_thread, NULL, timer_thread_main, dev)))
		goto fail2;
	dev->threads_running = true;
	return 0;
fail2:
	device_request_stop(dev, 0);
	pthread_join(dev->tx_thread, NULL);
fail1:
	device_request_stop(dev, 0);
	pthread_join(dev->rx_thread, NULL);
fail0:
	if (dev->hsq) {
		device_request_stop(dev, 0);
		handshake_queue_stop(dev);
	}
	pool_free(dev->pool);
	dev->pool = NULL;
	dev->started = false;
	return ret;
}

void wg_device_stop(struct wg_device *dev)
{
	device_request_stop(dev, 0);
	if (dev->threads_running) {
		/* Wake the receive thread out of recvmmsg at once. */
		pthread_rwlock_rdlock(&dev->cfg_lock);
		if (dev->udp.fd >= 0)
			shutdown(dev->udp.fd, SHUT_RD);
		pthread_rwlock_unlock(&dev->cfg_lock);
		pthread_join(dev->rx_thread, NULL);
		pthread_join(dev->tx_thread, NULL);
		pthread_join(dev->timer_thread, NULL);
		handshake_queue_stop(dev);
		dev->threads_running = false;
		pool_free(dev->pool);
		dev->pool = NULL;
	}
	uapi_stop(dev);
}

void wg_device_stop_async(struct wg_device *dev)
{
	device_request_stop(dev, 0);
}

int wg_device_wait(struct wg_device *dev)
{
	int r;

	pthread_mutex_lock(&dev->stop_lock);
	while (!atomic_load(&dev->stopping))
		pthread_cond_wait(&dev->stop_cond, &dev->stop_lock);
	r = dev->stop_reason;
	pthread_mutex_unlock(&dev->stop_lock);
	return r;
}
