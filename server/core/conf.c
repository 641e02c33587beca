/* keywayd's INI file: [server], [network], [log]; other sections belong to other modules. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "log.h"

struct parse_ctx {
	struct kw_conf *c;
	char reason[256];
	bool failed; /* inih goes on after an error; keep the first one */
};

void conf_defaults(struct kw_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/keyway");
	c->threads = 4;
	c->max_connections = 8192;
	(void)cidr_parse_network(&c->cidr, "10.77.0.0/16");
	snprintf(c->gateway_endpoint, sizeof(c->gateway_endpoint), "vpn.example.com:51820");
	c->gateway_port = 51820;
	c->config_lifetime = 86400;
	c->address_quarantine = 604800;
	c->mtu = 1420;
	c->persistent_keepalive = 25;
	c->gateway_timeout = 8;
	snprintf(c->log_level, sizeof(c->log_level), "info");
}

static int parse_int(const char *v, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

/* "host:port" or "[v6]:port" with a port 1..65535. */
static int check_hostport(const char *v)
{
	const char *colon = strrchr(v, ':');
	int64_t port;

	if (!colon || colon == v || strlen(v) >= KW_CONF_STR_MAX)
		return -EINVAL;
	if (v[0] == '[' && colon[-1] != ']')
		return -EINVAL;
	for (const char *p = v; p < colon; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '/')
			return -EINVAL;
	return parse_int(colon + 1, 1, 65535, &port);
}

static int set_str(char *dst, const char *v, struct parse_ctx *x, const char *name)
{
	if (strlen(v) >= KW_CONF_STR_MAX) {
		snprintf(x->reason, sizeof(x->reason), "%s: value too long", name);
		return -EINVAL;
	}
	snprintf(dst, KW_CONF_STR_MAX, "%s", v);
	return 0;
}

static int set_int(int64_t *dst, const char *v, int64_t min, int64_t max, struct parse_ctx *x, const char *name)
{
	if (parse_int(v, min, max, dst) < 0) {
		snprintf(x->reason, sizeof(x->reason), "%s: '%s' is not a whole number in %lld..%lld", name, v,
			 (long long)min, (long long)max);
		return -EINVAL;
	}
	return 0;
}

/* set_int for an int field (its bounds fit an int); the field is left alone on error. */
static int set_int32(int *dst, const char *v, int min, int max, struct parse_ctx *x, const char *name)
{
	int64_t n;
	int ret = set_int(&n, v, min, max, x, name);

	if (ret == 0)
		*dst = (int)n;
	return ret;
}

static int parse_routes(struct kw_conf *c, const char *v, struct parse_ctx *x)
{
	char buf[4096], *save = NULL, *tok;

	if (strlen(v) >= sizeof(buf)) {
		snprintf(x->reason, sizeof(x->reason), "routes: value too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	c->nroutes = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		for (char *e = tok + strlen(tok); e > tok && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		if (!*tok)
			continue;
		if (c->nroutes == KW_CONF_ROUTES_MAX) {
			snprintf(x->reason, sizeof(x->reason), "routes: more than %d networks", KW_CONF_ROUTES_MAX);
			return -EINVAL;
		}
		if (cidr_parse_network(&c->routes[c->nroutes], tok) < 0) {
			snprintf(x->reason, sizeof(x->reason), "routes: '%.64s' is not a network (e.g. 192.168.10.0/24)",
				 tok);
			return -EINVAL;
		}
		c->nroutes++;
	}
	return 0;
}

static int handle_server(struct kw_conf *c, const char *name, const char *v, struct parse_ctx *x)
{
	if (strcmp(name, "listen") == 0) {
		if (check_hostport(v) < 0) {
			snprintf(x->reason, sizeof(x->reason), "listen: '%.64s' is not address:port", v);
			return -EINVAL;
		}
		return set_str(c->listen, v, x, name);
	}
	if (strcmp(name, "state_dir") == 0) {
		if (!*v) {
			snprintf(x->reason, sizeof(x->reason), "state_dir: empty");
			return -EINVAL;
		}
		return set_str(c->state_dir, v, x, name);
	}
	if (strcmp(name, "tls_cert") == 0)
		return set_str(c->tls_cert, v, x, name);
	if (strcmp(name, "tls_key") == 0)
		return set_str(c->tls_key, v, x, name);
	if (strcmp(name, "threads") == 0)
		return set_int32(&c->threads, v, 1, 64, x, name);
	if (strcmp(name, "max_connections") == 0)
		return set_int32(&c->max_connections, v, 16, 100000, x, name);
	snprintf(x->reason, sizeof(x->reason), "unknown key '%.64s' in [server]", name);
	return -EINVAL;
}

static int handle_network(struct kw_conf *c, const char *name, const char *v, struct parse_ctx *x)
{
	if (strcmp(name, "cidr") == 0) {
		if (cidr_parse_network(&c->cidr, v) < 0 || c->cidr.family != AF_INET || c->cidr.prefix > 30 ||
		    c->cidr.prefix < 8) {
			snprintf(x->reason, sizeof(x->reason),
				 "cidr: '%.64s' is not an IPv4 network of /8 to /30 (e.g. 10.77.0.0/16)", v);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(name, "cidr6") == 0) {
		if (!*v) {
			c->has_cidr6 = false;
			return 0;
		}
		if (cidr_parse_network(&c->cidr6, v) < 0 || c->cidr6.family != AF_INET6 || c->cidr6.prefix > 120 ||
		    c->cidr6.prefix < 48) {
			snprintf(x->reason, sizeof(x->reason),
				 "cidr6: '%.64s' is not an IPv6 prefix of /48 to /120 (e.g. fd00:77::/64)", v);
			return -EINVAL;
		}
		c->has_cidr6 = true;
		return 0;
	}
	if (strcmp(name, "routes") == 0)
		return parse_routes(c, v, x);
	if (strcmp(name, "gateway_endpoint") == 0) {
		if (*v && check_hostport(v) < 0) {
			snprintf(x->reason, sizeof(x->reason), "gateway_endpoint: '%.64s' is not host:port", v);
			return -EINVAL;
		}
		return set_str(c->gateway_endpoint, v, x, name);
	}
	if (strcmp(name, "gateway_port") == 0)
		return set_int32(&c->gateway_port, v, 1, 65535, x, name);
	if (strcmp(name, "config_lifetime") == 0)
		return set_int(&c->config_lifetime, v, 60, 365LL * 86400, x, name);
	if (strcmp(name, "address_quarantine") == 0)
		return set_int(&c->address_quarantine, v, 0, 10LL * 365 * 86400, x, name);
	if (strcmp(name, "mtu") == 0)
		return set_int32(&c->mtu, v, 1280, 9000, x, name);
	if (strcmp(name, "persistent_keepalive") == 0)
		return set_int32(&c->persistent_keepalive, v, 0, 65535, x, name);
	if (strcmp(name, "gateway_timeout") == 0)
		return set_int(&c->gateway_timeout, v, 2, 3600, x, name);
	snprintf(x->reason, sizeof(x->reason), "unknown key '%.64s' in [network]", name);
	return -EINVAL;
}

static int handle_log(struct kw_conf *c, const char *name, const char *v, struct parse_ctx *x)
{
	if (strcmp(name, "level") == 0) {
		if (strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "warn") && strcmp(v, "warning") &&
		    strcmp(v, "error")) {
			snprintf(x->reason, sizeof(x->reason), "level: '%.32s' is not debug, info, warn or error", v);
			return -EINVAL;
		}
		return set_str(c->log_level, v, x, name) < 0 ? -EINVAL : 0;
	}
	snprintf(x->reason, sizeof(x->reason), "unknown key '%.64s' in [log]", name);
	return -EINVAL;
}

/* inih: return 0 to report an error at the current line (ini_parse returns the first). */
static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *x = user;
	int ret;

	if (!name || x->failed)
		return 1; /* a section header alone, or past the first error */
	if (strcmp(section, "server") == 0)
		ret = handle_server(x->c, name, value, x);
	else if (strcmp(section, "network") == 0)
		ret = handle_network(x->c, name, value, x);
	else if (strcmp(section, "log") == 0)
		ret = handle_log(x->c, name, value, x);
	else if (section[0] == '\0') {
		snprintf(x->reason, sizeof(x->reason), "key '%.64s' outside any section", name);
		ret = -EINVAL;
	} else
		ret = 0; /* [ldap], [web], …: parsed by their modules from the same file */
	if (ret < 0 && x->reason[0] == '\0')
		snprintf(x->reason, sizeof(x->reason), "invalid value for %s", name);
	if (ret < 0)
		x->failed = true;
	return ret < 0 ? 0 : 1;
}

/* Checks that need several keys; reported as line 0. */
static int validate(const struct kw_conf *c, char *reason, size_t len)
{
	if ((c->tls_cert[0] != '\0') != (c->tls_key[0] != '\0')) {
		snprintf(reason, len, "tls_cert and tls_key must be given together");
		return -EINVAL;
	}
	return 0;
}

static int finish(struct kw_conf *c, const char *name, int rc, struct parse_ctx *x, char *err, size_t err_len)
{
	char reason[256];

	if (rc == -1) {
		snprintf(err, err_len, "%s:0: cannot open: %s", name, strerror(errno));
		return -ENOENT;
	}
	if (rc == -2) {
		snprintf(err, err_len, "%s:0: out of memory", name);
		return -ENOMEM;
	}
	if (rc > 0) {
		snprintf(err, err_len, "%s:%d: %s", name, rc, x->reason[0] ? x->reason : "syntax error");
		return -EINVAL;
	}
	if (validate(c, reason, sizeof(reason)) < 0) {
		snprintf(err, err_len, "%s:0: %s", name, reason);
		return -EINVAL;
	}
	return 0;
}

int conf_load(struct kw_conf *c, const char *path, char *err, size_t err_len)
{
	struct parse_ctx x = { .c = c };

	return finish(c, path, ini_parse(path, handler, &x), &x, err, err_len);
}

int conf_load_string(struct kw_conf *c, const char *name, const char *text, char *err, size_t err_len)
{
	struct parse_ctx x = { .c = c };

	return finish(c, name, ini_parse_string(text, handler, &x), &x, err, err_len);
}
