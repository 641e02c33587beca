/*
 * Access policies: parsing a policy's destinations, and deciding what a user may reach on a
 * site. Pure (no I/O): the store's rows come in, JSON text for the configs goes out, so the
 * Check suite and the fuzz target call it directly. access_snap.c loads a snapshot from the
 * store for one config build.
 *
 * Semantics (README, "Sites and access policies"):
 * - a policy applies to a user named in its `users`, or a member of one of its `groups` as
 *   the directory sync last recorded it (group_members);
 * - a site's `default` "allow" lets everything through its gateways, "deny" only what some
 *   policy of the site grants;
 * - a destination must lie inside one of its site's routes or inside the VPN network (then
 *   it grants device-to-device traffic through that site's gateway); others are ignored.
 */
#ifndef KW_ACCESS_H
#define KW_ACCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

enum kw_proto { KW_PROTO_ANY = 0, KW_PROTO_TCP, KW_PROTO_UDP, KW_PROTO_ICMP };

#define KW_PORTS_MAX 32           /* items in one "ports" list */
#define KW_PORTS_STRLEN 256
#define KW_POLICY_DESTS_MAX 256   /* destinations in one policy */
#define KW_POLICY_NAMES_MAX 256   /* groups, users in one policy */

struct kw_access_dest {
	struct kw_cidr cidr;
	enum kw_proto proto;
	char ports[KW_PORTS_STRLEN]; /* canonical "22,443,8000-8100"; "" = every port */
};

const char *access_proto_name(enum kw_proto p); /* "any" | "tcp" | "udp" | "icmp" */

/*
 * "22,443,8000-8100": ports 1..65535, ranges lo-hi with lo <= hi, at most KW_PORTS_MAX items,
 * no spaces. Writes the canonical text (numbers without leading zeros) to out. 0 or -EINVAL.
 */
int access_ports_parse(const char *text, char out[KW_PORTS_STRLEN]);

/*
 * One destination object {"cidr","protocol","ports"}: cidr a network (no host bits),
 * protocol default "any", ports only with tcp or udp (absent or "" = every port). 0, or
 * -EINVAL with a one-line reason in err.
 */
int access_dest_parse(const json_t *o, struct kw_access_dest *out, char *err, size_t errlen);
/* The canonical JSON object of a destination (new reference). */
json_t *access_dest_json(const struct kw_access_dest *d);

/* A policy as the access decision uses it. */
struct kw_policy {
	int64_t id;
	int64_t site_id;
	char **groups;
	size_t ngroups;
	char **users;
	size_t nusers;
	struct kw_access_dest *dests;
	size_t ndests;
};

/*
 * Build p from the store's JSON texts (groups, users: arrays of strings; destinations: as
 * access_dest_parse). 0, -EINVAL (err says why) or -ENOMEM. Free with access_policy_clear().
 */
int access_policy_from_text(int64_t id, int64_t site_id, const char *groups, const char *users,
			    const char *dests, struct kw_policy *p, char *err, size_t errlen);
void access_policy_clear(struct kw_policy *p);

/* Whether p applies to username, whose recorded groups are groups[0..n). */
bool access_policy_applies(const struct kw_policy *p, const char *username, const char *const *groups, size_t n);

/* A growing list of destinations, duplicates dropped. */
struct kw_dest_list {
	struct kw_access_dest *v;
	size_t n, cap;
};
int access_dest_list_add(struct kw_dest_list *l, const struct kw_access_dest *d);
void access_dest_list_clear(struct kw_dest_list *l);

/*
 * Whether d may be used on a site with these routes in a network of vpn (and vpn6, may be
 * NULL): inside one route, or inside the VPN network.
 */
bool access_dest_usable(const struct kw_access_dest *d, const struct kw_cidr *routes, int nroutes,
			const struct kw_cidr *vpn, const struct kw_cidr *vpn6);

#endif
