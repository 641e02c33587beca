#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
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

/*
 * The payload is written as text directly: a gateway's config lists every device (100,000
 * peers is 13 MB), and building that many JSON objects first would cost more than the rest
 * of the request. Every string goes through json_escape().
 */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_grow(struct sbuf *b, size_t need)
{
	char *np;
	size_t cap;

	if (b->oom || b->len + need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = true;
		return;
	}
	b->p = np;
	b->cap = cap;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = true; /* never happens with the numbers written here */
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

/* A JSON string literal, quotes included. */
static void json_escape(struct sbuf *b, const char *s)
{
	sb_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p };

			sb_add(b, e, 2);
		} else if (*p < 0x20) {
			sb_fmt(b, "\\u%04x", *p);
		} else {
			sb_add(b, (const char *)p, 1);
		}
	}
	sb_add(b, "\"", 1);
}

static void ips_json(struct sbuf *b, const char *a, const char *a6)
{
	sb_add(b, "[", 1);
	json_escape(b, a);
	if (a6 && a6[0]) {
		sb_add(b, ",", 1);
		json_escape(b, a6);
	}
	sb_add(b, "]", 1);
}

struct peers_ctx {
	const struct kw_server *srv;
	struct sbuf *b;
	const char *net_ips; /* device side: allowed_ips of every gateway, as JSON */
	bool first;
};

static int add_gateway_peer(const struct kw_device *g, void *arg)
{
	struct peers_ctx *x = arg;
	const struct kw_conf *conf = server_conf(x->srv);
	const char *ep = g->endpoint[0] ? g->endpoint : conf->gateway_endpoint;

	sb_str(x->b, x->first ? "{\"public_key\":" : ",{\"public_key\":");
	x->first = false;
	json_escape(x->b, g->public_key);
	sb_str(x->b, ",\"endpoint\":");
	if (ep[0])
		json_escape(x->b, ep);
	else
		sb_str(x->b, "null");
	sb_str(x->b, ",\"allowed_ips\":");
	sb_str(x->b, x->net_ips);
	sb_fmt(x->b, ",\"persistent_keepalive\":%d}", conf->persistent_keepalive);
	return x->b->oom ? -ENOMEM : 0;
}

static int add_device_peer(const struct kw_device *d, void *arg)
{
	struct peers_ctx *x = arg;

	sb_str(x->b, x->first ? "{\"public_key\":" : ",{\"public_key\":");
	x->first = false;
	json_escape(x->b, d->public_key);
	sb_str(x->b, ",\"endpoint\":null,\"allowed_ips\":");
	ips_json(x->b, d->address, d->address6);
	sb_str(x->b, ",\"persistent_keepalive\":0}");
	return x->b->oom ? -ENOMEM : 0;
}

static void network_ips(struct sbuf *b, const struct kw_conf *conf)
{
	char buf[KW_CIDR_STRLEN];

	sb_add(b, "[", 1);
	cidr_format(buf, &conf->cidr);
	json_escape(b, buf);
	if (conf->has_cidr6) {
		cidr_format(buf, &conf->cidr6);
		sb_add(b, ",", 1);
		json_escape(b, buf);
	}
	for (int i = 0; i < conf->nroutes; i++) {
		cidr_format(buf, &conf->routes[i]);
		sb_add(b, ",", 1);
		json_escape(b, buf);
	}
	sb_add(b, "]", 1);
}

int wgconf_payload(const struct kw_server *srv, const struct kw_device *d, int64_t now, char **payload)
{
	const struct kw_conf *conf = server_conf(srv);
	struct sbuf b = { 0 }, net = { 0 };
	struct peers_ctx x = { .srv = srv, .b = &b, .first = true };
	int ret;

	*payload = NULL;
	sb_fmt(&b, "{\"version\":%lld,\"device_id\":%lld,\"role\":\"%s\",\"issued_at\":%lld,\"expires_at\":%lld,",
	       (long long)d->version, (long long)d->id, store_role_name(d->role), (long long)now,
	       (long long)(now + conf->config_lifetime));
	sb_str(&b, "\"interface\":{\"addresses\":");
	ips_json(&b, d->address, d->address6);
	sb_fmt(&b, ",\"mtu\":%d", conf->mtu);
	if (d->role == KW_DEV_GATEWAY)
		sb_fmt(&b, ",\"listen_port\":%d", d->listen_port ? d->listen_port : conf->gateway_port);
	sb_str(&b, "},\"peers\":[");
	if (d->role == KW_DEV_GATEWAY) {
		ret = store_peer_list(srv->store, KW_DEV_DEVICE, add_device_peer, &x);
	} else {
		network_ips(&net, conf);
		x.net_ips = net.p ? net.p : "[]";
		ret = net.oom ? -ENOMEM : store_peer_list(srv->store, KW_DEV_GATEWAY, add_gateway_peer, &x);
	}
	sb_str(&b, "]}");
	if (ret == 0 && b.oom)
		ret = -ENOMEM;
	free(net.p);
	if (ret < 0) {
		free(b.p);
		return ret;
	}
	*payload = b.p;
	return 0;
}

static int sign_new(struct kw_server *srv, const struct kw_device *d, int64_t now, char **text, size_t *len)
{
	char *payload = NULL;
	int ret;

	*text = NULL;
	ret = wgconf_payload(srv, d, now, &payload);
	if (ret < 0)
		return ret;
	ret = signer_sign_text(srv->signer, payload, strlen(payload), text, len);
	free(payload);
	return ret;
}

int wgconf_envelope(struct kw_server *srv, const struct kw_device *d, int64_t now, char **text, size_t *len)
{
	struct kw_wgconf_cache *c = srv->wgcache;
	int64_t fresh = server_conf(srv)->config_lifetime / 2;
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

	ret = sign_new(srv, d, now, &t, &n);
	if (ret < 0)
		return ret;
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

int wgconf_denied(struct kw_server *srv, const struct kw_device *d, json_t **out)
{
	bool revoked = d->state == KW_STATE_REVOKED;
	const char *state = revoked ? "revoked" : "suspended";
	json_t *env = NULL;
	char payload[128];
	int st, n;

	if (revoked)
		st = api_error(out, 401, "device_revoked", "this device has been revoked");
	else
		st = api_error(out, 403, "device_suspended", "this device is suspended%s%s", d->state_reason[0] ? ": " : "",
			       d->state_reason);
	n = snprintf(payload, sizeof(payload), "{\"device_id\":%lld,\"state\":\"%s\",\"version\":%lld}",
		     (long long)d->id, state, (long long)d->version);
	if (*out && n > 0 && (size_t)n < sizeof(payload) && signer_sign(srv->signer, payload, (size_t)n, &env) == 0)
		json_object_set_new(json_object_get(*out, "error"), "signed_state", env);
	else
		log_warn("wgconf: %s answer for device %lld left unsigned", state, (long long)d->id);
	return st;
}
