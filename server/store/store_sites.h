/*
 * Sites, access policies, the directory group memberships policies name, and gateway
 * health (store_sites.c, store_policies.c; migration sql/0003_sites.sql). Part of the
 * store's public interface: store.h includes it. Errors as in store.h, and:
 *   -EADDRINUSE  a route overlaps another site's (its name in `other`)
 *   -EPERM       the site still has gateways or policies, or it is 'default' (delete)
 * Every change bumps every config version (devices' and gateways') in its transaction and
 * wakes every long-poll after the commit.
 */
#ifndef KW_STORE_SITES_H
#define KW_STORE_SITES_H

#include <stdbool.h>
#include <stdint.h>

#include "cidr.h"

struct kw_store;

#define KW_SITE_ROUTES_MAX 64
#define KW_SITE_DEFAULT "default"

enum kw_site_action { KW_SITE_ALLOW = 0, KW_SITE_DENY };

const char *store_site_action_name(enum kw_site_action a); /* "allow" | "deny" */
int store_site_action_parse(const char *s, enum kw_site_action *a);

struct kw_site {
	int64_t id;
	char name[256];
	struct kw_cidr routes[KW_SITE_ROUTES_MAX];
	int nroutes;
	/* The 'default' site of an upgraded install: its routes are [network] routes of the
	 * config file (the caller substitutes them) until an admin sets routes through the API. */
	bool routes_from_conf;
	enum kw_site_action default_action;
	int64_t created_at, updated_at;
};

/* What a create or update writes. For an update, has_* false keeps the stored value. */
struct kw_site_change {
	const char *name;
	bool has_routes;
	const struct kw_cidr *routes;
	int nroutes;
	bool has_action;
	enum kw_site_action default_action;
	/* [network] routes of the running config: the routes of a site that follows the file,
	 * for the overlap check. */
	const struct kw_cidr *conf_routes;
	int nconf_routes;
};

/* Whether two prefixes share an address (one contains the other). */
bool store_cidr_overlap(const struct kw_cidr *a, const struct kw_cidr *b);

/* -EEXIST name taken, -EADDRINUSE overlap (other = the site's name), -EINVAL. */
int store_site_create(struct kw_store *st, const struct kw_site_change *in, const char *actor, int64_t now,
		      int64_t *id, char other[256]);
/* The same errors, and -ENOENT. Setting routes on a site that follows the file ends that. */
int store_site_update(struct kw_store *st, int64_t id, const struct kw_site_change *in, const char *actor,
		      int64_t now, char other[256]);
/* -ENOENT; -EPERM when it is 'default' or still has non-revoked gateways or policies. Its
 * gateway enrollment tokens still usable are revoked with it. */
int store_site_delete(struct kw_store *st, int64_t id, const char *actor, int64_t now);
int store_site_get(struct kw_store *st, int64_t id, struct kw_site *out);
int store_site_by_name(struct kw_store *st, const char *name, struct kw_site *out);
/* Ordered by name. */
int store_site_list(struct kw_store *st, int (*fn)(const struct kw_site *s, void *arg), void *arg);
/* How many non-revoked gateways and how many policies a site has. */
int store_site_usage(struct kw_store *st, int64_t id, int *gateways, int *policies);

/* A gateway enrollment token enrolling into site_id (store_enrollment_token_create's
 * errors; -ENOENT when the site is gone), in one transaction. */
int store_site_token_create(struct kw_store *st, const char *username, int64_t site_id, int64_t expires_at,
			    int64_t uses, const uint8_t *hash, const char *actor, int64_t now, int64_t *id);
/* The site of each enrollment token that has one. */
int store_site_token_list(struct kw_store *st, int (*fn)(int64_t token_id, const char *site, void *arg),
			  void *arg);

/* A gateway as a site's listing and a device's config see it. */
struct kw_site_gateway {
	int64_t id;
	int64_t site_id;
	char site[256];
	char hostname[256];
	char state[16];      /* devices.state */
	char public_key[64];
	char address[KW_CIDR_STRLEN];
	char address6[KW_CIDR_STRLEN];
	char endpoint[256];
	int listen_port;
	bool online;         /* no health row yet: online */
	int64_t last_seen;   /* 0: never recorded */
};

/* Non-revoked gateways (site_id 0: of every site), ordered by site name then id. */
int store_site_gateways(struct kw_store *st, int64_t site_id,
			int (*fn)(const struct kw_site_gateway *g, void *arg), void *arg);

/* Record a gateway's liveness. Writes (and bumps every device's config) only when `online`
 * differs from the stored value; returns 1 then, 0 when unchanged. last_seen is written
 * with it. */
int store_gateway_set_online(struct kw_store *st, int64_t id, bool online, int64_t last_seen, int64_t now);

/* A device peer of a gateway's config, with its owner (the access decision needs it). */
struct kw_device_peer {
	int64_t id;
	char username[256];
	char public_key[64];
	char address[KW_CIDR_STRLEN];
	char address6[KW_CIDR_STRLEN];
};
/* Active devices (role device), by id. */
int store_site_device_peers(struct kw_store *st, int (*fn)(const struct kw_device_peer *p, void *arg), void *arg);

/* ---- policies (store_policies.c) ---- */
/* The JSON array texts as the API validated them. */
struct kw_policy_row {
	int64_t id;
	const char *name;
	int64_t site_id;
	const char *site;
	const char *groups;       /* JSON array of strings */
	const char *users;        /* JSON array of strings */
	const char *destinations; /* JSON array of {"cidr","protocol","ports"} */
	int64_t created_at, updated_at;
};

/* -EEXIST name taken, -ENOENT no such site. */
int store_policy_create(struct kw_store *st, const struct kw_policy_row *p, const char *actor, int64_t now,
			int64_t *id);
int store_policy_update(struct kw_store *st, const struct kw_policy_row *p, const char *actor, int64_t now);
int store_policy_delete(struct kw_store *st, int64_t id, const char *actor, int64_t now);
/* site_id 0: every policy. Ordered by site name, then policy name. */
int store_policy_list(struct kw_store *st, int64_t site_id, int (*fn)(const struct kw_policy_row *p, void *arg),
		      void *arg);
int store_policy_get(struct kw_store *st, int64_t id, int (*fn)(const struct kw_policy_row *p, void *arg),
		     void *arg);
/* Every distinct group some policy names. */
int store_policy_groups(struct kw_store *st, int (*fn)(const char *group, void *arg), void *arg);

/* group_members: username NULL lists every row. */
int store_group_members_list(struct kw_store *st, const char *username,
			     int (*fn)(const char *group, const char *username, void *arg), void *arg);
/* Make `group` hold exactly users[0..n) (sorted or not, duplicates ignored). Writes and bumps
 * every config version only when that differs; returns 1 then, 0 when unchanged. */
int store_group_members_replace(struct kw_store *st, const char *group, const char *const *users, size_t n,
				int64_t now);

#endif
