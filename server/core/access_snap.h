/*
 * One consistent read of sites, their gateways, policies and group memberships, for one
 * config build (wgconf.c) or one GET /users/{u}/access. Loaded from the store; [network]
 * routes of the running config stand in for the routes of a site that follows the file.
 */
#ifndef KW_ACCESS_SNAP_H
#define KW_ACCESS_SNAP_H

#include <stdbool.h>
#include <stddef.h>

#include "access.h"
#include "http/request.h"
#include "store/store.h"

struct kw_snap_site {
	struct kw_site site;
	struct kw_site_gateway *gws; /* non-revoked gateways, by id */
	size_t ngws;
	/* Index in gws of the gateway devices use: the first active (not suspended) one that is
	 * online, else the first active one; -1 when the site has no active gateway. */
	int active;
	/* whether this site's gateways also carry the VPN network (the 'default' site while it
	 * allows everything: an upgraded install routes device-to-device as before) */
	bool carries_vpn;
};

struct kw_group_member {
	char *username;
	char *group;
};

/* Sites, gateways and policies: shared by every build between two store changes. */
struct kw_access_common;

struct kw_access_snap {
	const struct kw_server *srv;
	struct kw_access_common *common;
	const struct kw_snap_site *sites; /* the common part's */
	size_t nsites;
	const struct kw_policy *policies;
	size_t npolicies;
	struct kw_group_member *members; /* this load's, sorted by username */
	size_t nmembers;
	struct kw_cidr vpn, vpn6;
	bool has_vpn6;
};

/*
 * The shared part is loaded once per store change (store_change_counter) when the server has
 * a cache (srv->access_cache): after a change bumps every config, every device refetching
 * builds its config from the same parsed policies. NULL: every load reads the store.
 */
struct kw_access_cache;
int access_cache_new(struct kw_access_cache **out);
void access_cache_free(struct kw_access_cache *c);

/* username NULL: every membership (a gateway's config); else only that user's. */
int access_snap_load(const struct kw_server *srv, const char *username, struct kw_access_snap **out);
void access_snap_free(struct kw_access_snap *s);

/* One warning line per route of the site that follows [network] routes that overlaps another
 * site's routes (the API refuses that overlap, but the file can be edited): keywayd runs on,
 * devices route the narrower prefix to its site. Returns how many. */
int access_warn_conf_overlaps(const struct kw_server *srv);

/* The site holding gateway id (NULL: none). */
const struct kw_snap_site *access_snap_site_of_gateway(const struct kw_access_snap *s, int64_t id);

/* The groups recorded for username: a new array (free() it; the strings belong to s). */
int access_snap_user_groups(const struct kw_access_snap *s, const char *username, const char ***groups,
			    size_t *n);

/*
 * The indices (in s->policies) of the policies of site ss that apply to username, at most
 * max, in order; no allocation (a gateway's config asks this once per device). *n is how
 * many were written.
 */
void access_snap_applicable(const struct kw_access_snap *s, const struct kw_snap_site *ss, const char *username,
			    size_t *idx, size_t max, size_t *n);
/* The usable destinations of those policies, duplicates dropped. */
int access_snap_dests_of(const struct kw_access_snap *s, const struct kw_snap_site *ss, const size_t *idx,
			 size_t n, struct kw_dest_list *out);

/* What username may reach on site ss beyond its default: the usable destinations of every
 * policy of the site that applies to them, duplicates dropped. */
int access_snap_grants(const struct kw_access_snap *s, const struct kw_snap_site *ss, const char *username,
		       struct kw_dest_list *out);

#endif
