#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "signer.h"
#include "wgconf.h"

#define CACHE_BUCKETS 16384
#define CACHE_MAX_BYTES (256u * 1024 * 1024)

struct cache_entry {
	struct cache_entry *next;
	int64_t device_id;
	int64_t version;
	int64_t issued_at;
	size_t len;
	char text[];
};

struct kw_wgconf_cache {
	pthread_mutex_t lock;
	size_t bytes;
	struct cache_entry *buckets[CACHE_BUCKETS];
};

int wgconf_cache_new(struct kw_wgconf_cache **out)
{
	struct kw_wgconf_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static void cache_clear_locked(struct kw_wgconf_cache *c)
{
	for (unsigned i = 0; i < CACHE_BUCKETS; i++) {
		struct cache_entry *e = c->buckets[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e);
		}
		c->buckets[i] = NULL;
	}
	c->bytes = 0;
}

void wgconf_cache_free(struct kw_wgconf_cache *c)
{
	if (!c)
		return;
	cache_clear_locked(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct peers_ctx {
	const struct kw_server *srv;
	json_t *peers;
	json_t *net_ips; /* device side: allowed_ips of every gateway */
};

static int add_gateway_peer(const struct kw_device *g, void *arg)
{
	struct peers_ctx *x = arg;
	const struct kw_conf *conf = x->srv->conf;
	const char *ep = g->endpoint[0] ? g->endpoint : conf->gateway_endpoint;
	json_t *p;

	p = json_pack("{s:s, s:o, s:O, s:i}", "public_key", g->public_key, "endpoint",
		      ep[0] ? json_string(ep) : json_null(), "allowed_ips", x->net_ips, "persistent_keepalive",
		      conf->persistent_keepalive);
	if (!p || json_array_append_new(x->peers, p) < 0)
		return -ENOMEM;
	return 0;
}

static int add_device_peer(const struct kw_device *d, void *arg)
{
	struct peers_ctx *x = arg;
	json_t *ips, *p;

	ips = json_pack("[s]", d->address);
	if (ips && d->address6[0] && json_array_append_new(ips, json_string(d->address6)) < 0) {
		json_decref(ips);
		return -ENOMEM;
	}
	p = json_pack("{s:s, s:n, s:o, s:i}", "public_key", d->public_key, "endpoint", "allowed_ips", ips,
		      "persistent_keepalive", 0);
	if (!p || json_array_append_new(x->peers, p) < 0)
		return -ENOMEM;
	return 0;
}

static json_t *network_ips(const struct kw_conf *conf)
{
	char buf[KW_CIDR_STRLEN];
	json_t *a = json_array();

	if (!a)
		return NULL;
	cidr_format(buf, &conf->cidr);
	json_array_append_new(a, json_string(buf));
	if (conf->has_cidr6) {
		cidr_format(buf, &conf->cidr6);
		json_array_append_new(a, json_string(buf));
	}
	for (int i = 0; i < conf->nroutes; i++) {
		cidr_format(buf, &conf->routes[i]);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

int wgconf_payload(const struct kw_server *srv, const struct kw_device *d, int64_t now, char **payload)
{
	const struct kw_conf *conf = srv->conf;
	struct peers_ctx x = { .srv = srv };
	json_t *root = NULL, *iface = NULL, *addrs = NULL;
	int ret = -ENOMEM;

	*payload = NULL;
	x.peers = json_array();
	x.net_ips = network_ips(conf);
	addrs = json_pack("[s]", d->address);
	if (!x.peers || !x.net_ips || !addrs)
		goto out;
	if (d->address6[0] && json_array_append_new(addrs, json_string(d->address6)) < 0)
		goto out;
	iface = json_pack("{s:O, s:i}", "addresses", addrs, "mtu", conf->mtu);
	if (!iface)
		goto out;
	if (d->role == KW_DEV_GATEWAY) {
		if (json_object_set_new(iface, "listen_port",
					json_integer(d->listen_port ? d->listen_port : conf->gateway_port)) < 0)
			goto out;
		ret = store_peer_list(srv->store, KW_DEV_DEVICE, add_device_peer, &x);
	} else {
		ret = store_peer_list(srv->store, KW_DEV_GATEWAY, add_gateway_peer, &x);
	}
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	root = json_pack("{s:I, s:I, s:s, s:I, s:I, s:O, s:O}", "version", (json_int_t)d->version, "device_id",
			 (json_int_t)d->id, "role", store_role_name(d->role), "issued_at", (json_int_t)now,
			 "expires_at", (json_int_t)(now + conf->config_lifetime), "interface", iface, "peers",
			 x.peers);
	if (!root)
		goto out;
	*payload = json_dumps(root, JSON_COMPACT);
	ret = *payload ? 0 : -ENOMEM;
out:
	json_decref(root);
	json_decref(iface);
	json_decref(addrs);
	json_decref(x.peers);
	json_decref(x.net_ips);
	return ret;
}

static int sign_new(struct kw_server *srv, const struct kw_device *d, int64_t now, char **text)
{
	json_t *env = NULL;
	char *payload = NULL;
	int ret;

	*text = NULL;
	ret = wgconf_payload(srv, d, now, &payload);
	if (ret < 0)
		return ret;
	ret = signer_sign(srv->signer, payload, strlen(payload), &env);
	free(payload);
	if (ret < 0)
		return ret;
	*text = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return *text ? 0 : -ENOMEM;
}

int wgconf_envelope(struct kw_server *srv, const struct kw_device *d, int64_t now, char **text, size_t *len)
{
	struct kw_wgconf_cache *c = srv->wgcache;
	int64_t fresh = srv->conf->config_lifetime / 2;
	unsigned b = (unsigned)((uint64_t)d->id % CACHE_BUCKETS);
	struct cache_entry *e, **pp, *ne;
	char *t;
	size_t n;
	int ret;

	pthread_mutex_lock(&c->lock);
	for (e = c->buckets[b]; e; e = e->next) {
		if (e->device_id == d->id && e->version == d->version && now < e->issued_at + fresh &&
		    now >= e->issued_at) {
			t = malloc(e->len + 1);
			if (t) {
				memcpy(t, e->text, e->len + 1);
				*len = e->len;
			}
			pthread_mutex_unlock(&c->lock);
			*text = t;
			return t ? 0 : -ENOMEM;
		}
	}
	pthread_mutex_unlock(&c->lock);

	ret = sign_new(srv, d, now, &t);
	if (ret < 0)
		return ret;
	n = strlen(t);
	ne = malloc(sizeof(*ne) + n + 1);
	if (ne) {
		ne->device_id = d->id;
		ne->version = d->version;
		ne->issued_at = now;
		ne->len = n;
		memcpy(ne->text, t, n + 1);
		pthread_mutex_lock(&c->lock);
		/* Replace this device's entry (only the newest is ever useful). */
		for (pp = &c->buckets[b]; *pp; pp = &(*pp)->next) {
			if ((*pp)->device_id == d->id) {
				e = *pp;
				*pp = e->next;
				c->bytes -= e->len;
				free(e);
				break;
			}
		}
		if (c->bytes + n > CACHE_MAX_BYTES)
			cache_clear_locked(c);
		ne->next = c->buckets[b];
		c->buckets[b] = ne;
		c->bytes += n;
		pthread_mutex_unlock(&c->lock);
	}
	*text = t;
	*len = n;
	return 0;
}
