/* SIGHUP's view of keywayd's own keys: which changed, which apply at once. */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "conf_diff.h"

/* A new key of struct kw_conf fails the build here until keys[] below says what SIGHUP does
 * with it (and this size is updated). LP64 only, where the size is known. */
#if __SIZEOF_POINTER__ == 8
_Static_assert(sizeof(struct kw_conf) == 4216, "a new keywayd key: classify it in conf_diff.c");
#endif

static bool cidr_eq(const struct kw_cidr *a, const struct kw_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static bool routes_eq(const struct kw_conf *a, const struct kw_conf *b)
{
	if (a->nroutes != b->nroutes)
		return false;
	for (int i = 0; i < a->nroutes; i++)
		if (!cidr_eq(&a->routes[i], &b->routes[i]))
			return false;
	return true;
}

static void routes_copy(struct kw_conf *dst, const struct kw_conf *src)
{
	dst->nroutes = src->nroutes;
	memcpy(dst->routes, src->routes, sizeof(dst->routes));
}

/*
 * Why each key is live or not:
 * - listen, tls_cert/tls_key, threads, max_connections are libmicrohttpd daemon options, fixed
 *   once it listens (and the listening socket may have been bound before privileges drop).
 * - state_dir holds the open database and the signing key.
 * - cidr/cidr6 drive IPAM and the IPv6 re-addressing done at start; address_quarantine is
 *   the store's copy of the plan, set at store_open.
 * - routes, gateway_endpoint, gateway_port, config_lifetime, mtu, persistent_keepalive are
 *   read when a config payload is built: swap them in and bump every config version.
 * - log level is one variable of the logger.
 */
enum key_id {
	K_LISTEN, K_STATE_DIR, K_TLS_CERT, K_TLS_KEY, K_THREADS, K_MAX_CONN,
	K_CIDR, K_CIDR6, K_ROUTES, K_GW_ENDPOINT, K_GW_PORT, K_LIFETIME, K_QUARANTINE, K_MTU, K_KEEPALIVE, K_GW_TIMEOUT,
	K_LOG_LEVEL, K_COUNT
};

static const struct kw_conf_change keys[K_COUNT] = {
	[K_LISTEN] = { "server.listen", false, false },
	[K_STATE_DIR] = { "server.state_dir", false, false },
	[K_TLS_CERT] = { "server.tls_cert", false, false },
	[K_TLS_KEY] = { "server.tls_key", false, false },
	[K_THREADS] = { "server.threads", false, false },
	[K_MAX_CONN] = { "server.max_connections", false, false },
	[K_CIDR] = { "network.cidr", false, false },
	[K_CIDR6] = { "network.cidr6", false, false },
	[K_ROUTES] = { "network.routes", true, true },
	[K_GW_ENDPOINT] = { "network.gateway_endpoint", true, true },
	[K_GW_PORT] = { "network.gateway_port", true, true },
	[K_LIFETIME] = { "network.config_lifetime", true, true },
	[K_QUARANTINE] = { "network.address_quarantine", false, false },
	[K_MTU] = { "network.mtu", true, true },
	[K_KEEPALIVE] = { "network.persistent_keepalive", true, true },
	[K_GW_TIMEOUT] = { "network.gateway_timeout", false, false },
	[K_LOG_LEVEL] = { "log.level", true, false },
};

static bool key_differs(enum key_id k, const struct kw_conf *a, const struct kw_conf *b)
{
	switch (k) {
	case K_LISTEN: return strcmp(a->listen, b->listen) != 0;
	case K_STATE_DIR: return strcmp(a->state_dir, b->state_dir) != 0;
	case K_TLS_CERT: return strcmp(a->tls_cert, b->tls_cert) != 0;
	case K_TLS_KEY: return strcmp(a->tls_key, b->tls_key) != 0;
	case K_THREADS: return a->threads != b->threads;
	case K_MAX_CONN: return a->max_connections != b->max_connections;
	case K_CIDR: return !cidr_eq(&a->cidr, &b->cidr);
	case K_CIDR6: return a->has_cidr6 != b->has_cidr6 || (a->has_cidr6 && !cidr_eq(&a->cidr6, &b->cidr6));
	case K_ROUTES: return !routes_eq(a, b);
	case K_GW_ENDPOINT: return strcmp(a->gateway_endpoint, b->gateway_endpoint) != 0;
	case K_GW_PORT: return a->gateway_port != b->gateway_port;
	case K_LIFETIME: return a->config_lifetime != b->config_lifetime;
	case K_QUARANTINE: return a->address_quarantine != b->address_quarantine;
	case K_MTU: return a->mtu != b->mtu;
	case K_KEEPALIVE: return a->persistent_keepalive != b->persistent_keepalive;
	case K_GW_TIMEOUT: return a->gateway_timeout != b->gateway_timeout;
	case K_LOG_LEVEL: return strcmp(a->log_level, b->log_level) != 0;
	case K_COUNT: break;
	}
	return false;
}

size_t conf_diff_nkeys(void)
{
	return K_COUNT;
}

size_t conf_diff(const struct kw_conf *running, const struct kw_conf *fresh, struct kw_conf_change *out, size_t max)
{
	size_t n = 0;

	for (int k = 0; k < K_COUNT; k++) {
		if (!key_differs((enum key_id)k, running, fresh))
			continue;
		if (n < max)
			out[n] = keys[k];
		n++;
	}
	return n;
}

void conf_merge_live(struct kw_conf *out, const struct kw_conf *running, const struct kw_conf *fresh)
{
	if (out != running)
		memcpy(out, running, sizeof(*out));
	routes_copy(out, fresh);
	snprintf(out->gateway_endpoint, sizeof(out->gateway_endpoint), "%s", fresh->gateway_endpoint);
	out->gateway_port = fresh->gateway_port;
	out->config_lifetime = fresh->config_lifetime;
	out->mtu = fresh->mtu;
	out->persistent_keepalive = fresh->persistent_keepalive;
	snprintf(out->log_level, sizeof(out->log_level), "%s", fresh->log_level);
}

void conf_net_fingerprint(const struct kw_conf *c, char out[65])
{
	crypto_generichash_state h;
	uint8_t digest[32];
	char buf[KW_CIDR_STRLEN + 64];

	crypto_generichash_init(&h, NULL, 0, sizeof(digest));
#define FEED(s) crypto_generichash_update(&h, (const uint8_t *)(s), strlen(s) + 1)
	cidr_format(buf, &c->cidr);
	FEED(buf);
	if (c->has_cidr6) {
		cidr_format(buf, &c->cidr6);
		FEED(buf);
	}
	for (int i = 0; i < c->nroutes; i++) {
		cidr_format(buf, &c->routes[i]);
		FEED(buf);
	}
	FEED(c->gateway_endpoint);
	snprintf(buf, sizeof(buf), "%d/%lld/%d/%d", c->gateway_port, (long long)c->config_lifetime, c->mtu,
		 c->persistent_keepalive);
	FEED(buf);
#undef FEED
	crypto_generichash_final(&h, digest, sizeof(digest));
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}
