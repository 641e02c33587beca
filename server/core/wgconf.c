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
#include "sbuf.h"
#include "wgconf.h"
#include "wgconf_sites.h"

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

int wgconf_payload(const struct kw_server *srv, const struct kw_device *d, int64_t now, char **payload)
{
	const struct kw_conf *conf = server_conf(srv);
	struct sbuf b = { 0 };
	int ret;

	*payload = NULL;
	sb_fmt(&b, "{\"version\":%lld,\"device_id\":%lld,\"role\":\"%s\",\"issued_at\":%lld,\"expires_at\":%lld,",
	       (long long)d->version, (long long)d->id, store_role_name(d->role), (long long)now,
	       (long long)(now + conf->config_lifetime));
	sb_str(&b, "\"interface\":{\"addresses\":");
	wgconf_ips_json(&b, d->address, d->address6);
	sb_fmt(&b, ",\"mtu\":%d", conf->mtu);
	if (d->role == KW_DEV_GATEWAY)
		sb_fmt(&b, ",\"listen_port\":%d", d->listen_port ? d->listen_port : conf->gateway_port);
	sb_str(&b, "},");
	/* Sites, their gateways and the policies decide the peers (wgconf_sites.c). */
	if (d->role == KW_DEV_GATEWAY)
		ret = wgconf_gateway_part(srv, d, &b);
	else
		ret = wgconf_device_part(srv, d, &b);
	sb_str(&b, "}");
	if (ret == 0 && b.oom)
		ret = -ENOMEM;
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
