/*
 * keywayd's configuration file: [server], [network], [log], [web], [metrics], declared in conf.c's
 * tables (confschema.h). Other sections ([ldap], …) belong to other modules, which parse the
 * same file themselves; this parser skips them. Unknown keys in its own sections are an
 * error with file:line.
 */
#ifndef KW_CONF_H
#define KW_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define KW_CONF_ROUTES_MAX 64
#define KW_CONF_STR_MAX 512

struct kw_conf {
	/* [server] */
	char listen[KW_CONF_STR_MAX];   /* "127.0.0.1:8080" | "[::1]:8080" */
	char state_dir[KW_CONF_STR_MAX];
	char tls_cert[KW_CONF_STR_MAX];
	char tls_key[KW_CONF_STR_MAX];
	int threads;                    /* HTTP worker threads */
	int max_connections;
	int per_ip_connections;         /* open connections from one client address */
	int header_timeout;             /* s from accept until the request headers are in */
	int body_timeout;               /* s from the headers until the body is in */
	int user_enrollments_per_hour;  /* self-service enrollments per user and hour */
	int rotations_per_hour;         /* public-key rotations per device and hour */
	/* [audit] */
	int audit_keep_days;            /* audit rows older than this are deleted; 0 = kept */
	/* [network] */
	struct kw_cidr cidr;
	bool has_cidr6;
	struct kw_cidr cidr6;
	struct kw_cidr routes[KW_CONF_ROUTES_MAX];
	int nroutes;
	char gateway_endpoint[KW_CONF_STR_MAX];
	int gateway_port;               /* listen port given to gateways that report none */
	int64_t config_lifetime;
	int64_t address_quarantine;
	int mtu;
	int persistent_keepalive;
	int64_t gateway_timeout;        /* s without a config request before a gateway is offline */
	/* [log] */
	char log_level[16];
	/* [web] */
	char web_root[KW_CONF_STR_MAX]; /* empty: the package's data directory */
	/* [metrics] */
	char metrics_listen[KW_CONF_STR_MAX]; /* empty: no metrics listener */
};

struct cs_section;
/* The sections conf_load() reads, for the documentation generator and the tests. */
extern const struct cs_section *const conf_sections[];
extern const size_t conf_nsections;

/* Defaults for every key (the tables in conf.c; the README lists them). */
void conf_defaults(struct kw_conf *c);
/*
 * Parse path over the defaults. On error returns a negative errno and writes one line
 * "FILE:LINE: reason" into err (LINE 0 when it is about the whole file).
 */
int conf_load(struct kw_conf *c, const char *path, char *err, size_t err_len);
/* Parse from a string (tests); name is used in messages. */
int conf_load_string(struct kw_conf *c, const char *name, const char *text, char *err, size_t err_len);

#endif
