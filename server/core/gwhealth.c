/* Gateway health from config requests (gwhealth.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "gwhealth.h"
#include "log.h"
#include "store/store.h"

struct gw_seen {
	int64_t id;
	int64_t last_seen;
	int64_t since; /* first looked at: a gateway never seen has timeout seconds from then */
	int online;    /* as last written or read: -1 unknown */
};

struct kw_gwhealth {
	pthread_mutex_t lock;
	int64_t timeout;
	int64_t started;
	struct gw_seen *v;
	size_t n, cap;
};

int gwhealth_new(int64_t timeout, int64_t now, struct kw_gwhealth **out)
{
	struct kw_gwhealth *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->timeout = timeout > 1 ? timeout : 2;
	h->started = now;
	*out = h;
	return 0;
}

void gwhealth_free(struct kw_gwhealth *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h->v);
	free(h);
}

/* The entry of id, created when missing (NULL: no memory). Under the lock. */
static struct gw_seen *entry(struct kw_gwhealth *h, int64_t id)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].id == id)
			return &h->v[i];
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct gw_seen *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n] = (struct gw_seen){ .id = id, .last_seen = 0, .since = 0, .online = -1 };
	return &h->v[h->n++];
}

int gwhealth_seen(struct kw_server *srv, int64_t id, int64_t now)
{
	struct kw_gwhealth *h = srv->gwhealth;
	struct gw_seen *e;
	bool write;
	int ret;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	e = entry(h, id);
	if (e)
		e->last_seen = now;
	write = e && e->online != 1;
	pthread_mutex_unlock(&h->lock);
	if (!e)
		return -ENOMEM;
	if (!write)
		return 0;
	ret = store_gateway_set_online(srv->store, id, true, now, now);
	if (ret < 0)
		return ret;
	if (ret > 0)
		log_info("gateway online id=%lld: devices use it again", (long long)id);
	pthread_mutex_lock(&h->lock);
	e = entry(h, id);
	if (e)
		e->online = 1;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

struct tick_ctx {
	struct kw_server *srv;
	int64_t now;
	int changed;
	int err;
};

static int tick_gateway(const struct kw_site_gateway *g, void *arg)
{
	struct tick_ctx *x = arg;
	struct kw_gwhealth *h = x->srv->gwhealth;
	struct gw_seen *e;
	int64_t last;
	int ret;

	if (!g->online)
		return 0;
	pthread_mutex_lock(&h->lock);
	e = entry(h, g->id);
	/* A gateway enrolled a moment ago (or keywayd just started) gets a full timeout to
	 * show up before it counts as gone. */
	if (e && !e->since)
		e->since = x->now > h->started ? x->now : h->started;
	last = e && e->last_seen ? e->last_seen : e ? e->since : h->started;
	pthread_mutex_unlock(&h->lock);
	if (x->now - last <= h->timeout)
		return 0;
	ret = store_gateway_set_online(x->srv->store, g->id, false, last, x->now);
	if (ret < 0) {
		x->err = ret;
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	e = entry(h, g->id);
	if (e)
		e->online = 0;
	pthread_mutex_unlock(&h->lock);
	if (ret > 0) {
		x->changed++;
		log_warn("gateway offline id=%lld site=%s: not seen for %llds, devices move to another gateway",
			 (long long)g->id, g->site, (long long)(x->now - last));
	}
	return 0;
}

int gwhealth_tick(struct kw_server *srv, int64_t now)
{
	struct tick_ctx x = { .srv = srv, .now = now };
	int ret;

	if (!srv->gwhealth)
		return 0;
	ret = store_site_gateways(srv->store, 0, tick_gateway, &x);
	if (ret < 0)
		return ret;
	return x.err ? x.err : x.changed;
}

int64_t gwhealth_last_seen(const struct kw_server *srv, int64_t id)
{
	struct kw_gwhealth *h = srv->gwhealth;
	int64_t v = 0;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].id == id)
			v = h->v[i].last_seen;
	pthread_mutex_unlock(&h->lock);
	return v;
}

int64_t gwhealth_poll_max(const struct kw_server *srv)
{
	int64_t t = srv->gwhealth ? srv->gwhealth->timeout / 2 : 60;

	return t >= 1 ? t : 1;
}
