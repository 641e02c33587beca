/*
 * keywayd's own sections, [server], [network], [log], [web] and [metrics]: one table per section (see
 * confschema.h); the engine parses, compares and documents them. Adding a key: a field in
 * struct kw_conf and one line here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "conf.h"
#include "conf_diff.h"
#include "confschema.h"

static const int ipv4 = AF_INET, ipv6 = AF_INET6;

#define C struct kw_conf
/* Why each key is live or not:
 * - listen, tls_cert/tls_key, threads, max_connections are libmicrohttpd daemon options, fixed
 *   once it listens (and the listening socket may have been bound before privileges drop).
 * - state_dir holds the open database and the signing key.
 * - cidr/cidr6 drive IPAM and the IPv6 re-addressing done at start; address_quarantine is
 *   the store's copy of the plan, set at store_open.
 * - routes, gateway_endpoint, gateway_port, config_lifetime, mtu, persistent_keepalive are
 *   read when a config payload is built: swap them in and bump every config version.
 * - log level is one variable of the logger; web root is read once, at the first page.
 * - per_ip_connections, header_timeout, body_timeout are set on the HTTP guard at start;
 *   user_enrollments_per_hour, rotations_per_hour and audit keep_days are read per use.
 * - metrics listen is a libmicrohttpd daemon of its own, bound at start. */
static const struct cs_key server_keys[] = {
	{ "server.listen", CS_HOSTPORT, CS_NONEMPTY, CS_FIELD(C, listen), .def = "127.0.0.1:8080",
	  .doc = "address:port of the REST API; IPv6 as `[::1]:8080`" },
	{ "server.state_dir", CS_PATH, CS_NONEMPTY, CS_FIELD(C, state_dir), .def = "/var/lib/keyway",
	  .doc = "created 0700; holds `keyway.db` (SQLite, WAL) and `signing.key` (Ed25519 seed, 0600, refused if "
		 "others can read it)" },
	{ "server.tls_cert", CS_PATH, 0, CS_FIELD(C, tls_cert),
	  .doc = "PEM certificate: serve HTTPS (libmicrohttpd + GnuTLS); with `tls_key`, or neither" },
	{ "server.tls_key", CS_PATH, 0, CS_FIELD(C, tls_key), .doc = "PEM private key of `tls_cert`" },
	{ "server.threads", CS_INT, 0, CS_FIELD(C, threads), .min = 1, .max = 64, .def = "4",
	  .doc = "HTTP worker threads (a parked long-poll holds none)" },
	{ "server.max_connections", CS_INT, 0, CS_FIELD(C, max_connections), .min = 16, .max = 100000, .def = "8192",
	  .doc = "simultaneous connections, parked long-polls included; an eighth (at most 64) is kept for other "
		 "requests (a long-poll beyond that answers 503 `busy` with `Retry-After`): set it above the "
		 "number of agents" },
	{ "server.per_ip_connections", CS_INT, 0, CS_FIELD(C, per_ip_connections), .min = 1, .max = 100000,
	  .def = "128", .doc = "open connections from one client address; more are closed at once (behind a proxy "
		 "every client has the proxy's address: raise it)" },
	{ "server.header_timeout", CS_DURATION, 0, CS_FIELD(C, header_timeout), .min = 1, .max = 3600, .def = "15",
	  .doc = "absolute deadline for a request's headers, from the accept (or the end of the previous request "
		 "on a kept-alive connection), however slowly bytes keep coming" },
	{ "server.body_timeout", CS_DURATION, 0, CS_FIELD(C, body_timeout), .min = 1, .max = 3600, .def = "30",
	  .doc = "absolute deadline for a request's body, from the end of its headers" },
	{ "server.user_enrollments_per_hour", CS_INT, CS_LIVE, CS_FIELD(C, user_enrollments_per_hour), .min = 1,
	  .max = 100000, .def = "10", .doc = "self-service enrollments (login session or LDAP password) per user "
		 "and hour; more answer 429 `enroll_rate_limited`" },
	{ "server.rotations_per_hour", CS_INT, CS_LIVE, CS_FIELD(C, rotations_per_hour), .min = 1, .max = 100000,
	  .def = "10", .doc = "public-key rotations per device and hour; more answer 429 `rotation_rate_limited`" },
};

static const struct cs_key network_keys[] = {
	{ "network.cidr", CS_CIDR, 0, CS_FIELD(C, cidr), .min = 8, .max = 30, .arg = &ipv4, .def = "10.77.0.0/16",
	  .doc = "IPv4 network of device addresses; the network address, `.1` (kept for a router) and the "
		 "broadcast address are never handed out; a device keeps its host offset when the network changes "
		 "(moved or resized at the next start, every config re-issued), and keywayd refuses to start with "
		 "a network that cannot hold a device that is not revoked (one error line names it)" },
	{ "network.cidr6", CS_CIDR, 0, CS_FIELD(C, cidr6), CS_AUX(C, has_cidr6), .min = 48, .max = 120, .arg = &ipv6,
	  .doc = "optional IPv6 prefix, e.g. `fd00:77::/64`; a device gets the same host offset in it (a prefix "
		 "smaller than `cidr` limits how many devices enroll); adding, moving or removing it reaches "
		 "devices already enrolled at the next start" },
	{ "network.routes", CS_CIDR_LIST, CS_LIVE | CS_PAYLOAD, CS_FIELD(C, routes), CS_AUX(C, nroutes),
	  .max = KW_CONF_ROUTES_MAX, .doc = "comma-separated networks behind the gateways of the site `default` "
		 "(in devices' `allowed_ips`) until an admin sets that site's routes through the API" },
	{ "network.gateway_endpoint", CS_HOSTPORT, CS_LIVE | CS_PAYLOAD, CS_FIELD(C, gateway_endpoint),
	  .def = "vpn.example.com:51820", .doc = "endpoint of a gateway that did not report its own at enrollment" },
	{ "network.gateway_port", CS_INT, CS_LIVE | CS_PAYLOAD, CS_FIELD(C, gateway_port), .min = 1, .max = 65535,
	  .def = "51820", .doc = "`listen_port` of a gateway that reported none" },
	{ "network.config_lifetime", CS_DURATION, CS_LIVE | CS_PAYLOAD, CS_FIELD(C, config_lifetime), .min = 60,
	  .max = 365LL * 86400, .def = "86400", .doc = "how long a signed config stays valid (`expires_at - "
		 "issued_at`)" },
	{ "network.address_quarantine", CS_DURATION, 0, CS_FIELD(C, address_quarantine), .min = 0,
	  .max = 10LL * 365 * 86400, .def = "604800", .doc = "how long a revoked device's address waits before it "
		 "is handed out again" },
	{ "network.mtu", CS_INT, CS_LIVE | CS_PAYLOAD, CS_FIELD(C, mtu), .min = 1280, .max = 9000, .def = "1420",
	  .doc = "interface MTU in every config" },
	{ "network.persistent_keepalive", CS_INT, CS_LIVE | CS_PAYLOAD, CS_FIELD(C, persistent_keepalive), .min = 0,
	  .max = 65535, .def = "25", .doc = "seconds, on devices' gateway peers (0 = off)" },
	/* gateway_timeout is read once, by the gateway health tracker made at start. */
	{ "network.gateway_timeout", CS_DURATION, 0, CS_FIELD(C, gateway_timeout), .min = 2, .max = 3600, .def = "8",
	  .doc = "how long a gateway may go without a config request before it is offline and devices move to "
		 "another gateway of its site; a gateway's long-poll is held at most half of it" },
};

static const struct cs_word log_levels[] = {
	{ "debug", 0, false }, { "info", 0, false }, { "warn", 0, false }, { "warning", 0, true },
	{ "error", 0, false },
};

static const struct cs_key log_keys[] = {
	{ "log.level", CS_ENUM, CS_LIVE, CS_FIELD(C, log_level), .arg = CS_WORDS(log_levels), .def = "info",
	  .doc = "`debug` (one line per request), `info`, `warn`, `error`; to stderr" },
};

static const struct cs_key audit_keys[] = {
	{ "audit.keep_days", CS_INT, CS_LIVE, CS_FIELD(C, audit_keep_days), .min = 0, .max = 36500, .def = "365",
	  .doc = "audit rows older than this many days are deleted every 5 minutes (0 keeps everything)" },
};

static const struct cs_key web_keys[] = {
	{ "web.root", CS_PATH, 0, CS_FIELD(C, web_root),
	  .shown = "`web` in the package's data directory (`/usr/share/keyway/web`)",
	  .doc = "directory of the web console's files (`KEYWAY_WEB_ROOT` in the environment comes first)" },
};

/* Its own listener, so that a firewall can keep it apart from the API; no token on it. */
static const struct cs_key metrics_keys[] = {
	{ "metrics.listen", CS_HOSTPORT, 0, CS_FIELD(C, metrics_listen),
	  .shown = "none (off)",
	  .doc = "address:port of `GET /metrics` (Prometheus text format, no credential): its own listener, "
		 "apart from the API; keep it on a management address or firewall it" },
};
#undef C

const struct cs_section conf_section_server = { "server", server_keys, CS_NKEYS(server_keys) };
const struct cs_section conf_section_network = { "network", network_keys, CS_NKEYS(network_keys) };
const struct cs_section conf_section_log = { "log", log_keys, CS_NKEYS(log_keys) };
const struct cs_section conf_section_web = { "web", web_keys, CS_NKEYS(web_keys) };
const struct cs_section conf_section_metrics = { "metrics", metrics_keys, CS_NKEYS(metrics_keys) };
const struct cs_section conf_section_audit = { "audit", audit_keys, CS_NKEYS(audit_keys) };

const struct cs_section *const conf_sections[] = {
	&conf_section_server,
	&conf_section_network,
	&conf_section_log,
	&conf_section_web,
	&conf_section_metrics,
	&conf_section_audit,
};
const size_t conf_nsections = CS_NKEYS(conf_sections);

void conf_defaults(struct kw_conf *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < conf_nsections; i++)
		(void)cs_defaults(conf_sections[i], c); /* nothing allocated: cannot fail */
}

/* Checks that need several keys; reported as line 0. */
static int conf_check_tls_pair(const struct kw_conf *c, char *reason, size_t len)
{
	if ((c->tls_cert[0] != '\0') != (c->tls_key[0] != '\0')) {
		snprintf(reason, len, "tls_cert and tls_key must be given together");
		return -EINVAL;
	}
	return 0;
}

static int finish(const struct kw_conf *c, const char *name, int ret, char *err, size_t err_len)
{
	char reason[256];

	if (ret < 0)
		return ret;
	if (conf_check_tls_pair(c, reason, sizeof(reason)) < 0) {
		snprintf(err, err_len, "%s:0: %s", name, reason);
		return -EINVAL;
	}
	return 0;
}

int conf_load(struct kw_conf *c, const char *path, char *err, size_t err_len)
{
	const struct cs_file f = { conf_sections, conf_nsections, c, true };

	return finish(c, path, cs_parse_file(&f, path, err, err_len), err, err_len);
}

int conf_load_string(struct kw_conf *c, const char *name, const char *text, char *err, size_t err_len)
{
	const struct cs_file f = { conf_sections, conf_nsections, c, true };

	return finish(c, name, cs_parse_string(&f, name, text, err, err_len), err, err_len);
}

/* SIGHUP: the changed keys of every section, in table order. */
size_t conf_diff_nkeys(void)
{
	size_t n = 0;

	for (size_t i = 0; i < conf_nsections; i++)
		n += conf_sections[i]->nkeys;
	return n;
}

size_t conf_diff(const struct kw_conf *running, const struct kw_conf *fresh, struct kw_conf_change *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < conf_nsections; i++) {
		const struct cs_section *sec = conf_sections[i];

		for (size_t j = 0; j < sec->nkeys; j++) {
			const struct cs_key *k = &sec->keys[j];

			if (!cs_key_differs(k, running, fresh))
				continue;
			if (n < max)
				out[n] = (struct kw_conf_change){ k->name, k->flags & CS_LIVE, k->flags & CS_PAYLOAD };
			n++;
		}
	}
	return n;
}

void conf_merge_live(struct kw_conf *out, const struct kw_conf *running, const struct kw_conf *fresh)
{
	if (out != running)
		memcpy(out, running, sizeof(*out));
	for (size_t i = 0; i < conf_nsections; i++)
		cs_copy_live(conf_sections[i], out, fresh);
}

/* Not generated from the table: the stored fingerprint of existing databases must stay the
 * same, or every device would fetch its config again after an upgrade. */
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
