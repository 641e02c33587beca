/*
 * The store: keywayd's SQLite database, the only code that speaks SQL (server/store*.c).
 *
 * Every function returns 0 or a negative errno:
 *   -ENOENT  no such object          -EEXIST  conflict (key already enrolled, duplicate)
 *   -ENOSPC  address pool exhausted  -EACCES  credential not valid (token used up, expired…)
 *   -EINVAL  bad argument            -EPERM   object in a state that forbids the change
 *   -EDQUOT  per-user device limit   -EIO     SQLite error (logged)
 *   -EAGAIN  per-user or per-device rate limit (enrollments, key rotations per hour)
 * Every state-changing function writes its audit row in the same transaction as the change
 * and rolls everything back on any error: a rejected request changes nothing.
 * Thread-safe: connections come from a small pool, writers use BEGIN IMMEDIATE.
 * Times are unix seconds passed in by the caller (tests control the clock).
 */
#ifndef KW_STORE_H
#define KW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "key.h"

struct kw_store;

#define KW_TOKEN_HASH_LEN 32 /* SHA-256 of the token text */
#define KW_STORE_NAME_MAX 256

enum kw_device_role { KW_DEV_DEVICE = 0, KW_DEV_GATEWAY };
enum kw_device_state { KW_STATE_ACTIVE = 0, KW_STATE_SUSPENDED, KW_STATE_REVOKED };

const char *store_role_name(enum kw_device_role r);       /* "device" | "gateway" */
int store_role_parse(const char *s, enum kw_device_role *r);
const char *store_state_name(enum kw_device_state s);     /* "active" | "suspended" | "revoked" */

/* Address plan handed to store_open (from [network]); the store does IPAM with it. */
struct kw_store_net {
	struct kw_cidr cidr;     /* IPv4 network */
	bool has_cidr6;
	struct kw_cidr cidr6;    /* optional IPv6 (ULA) prefix: same host offset as IPv4 */
	int64_t quarantine;      /* seconds before a revoked device's address is reused */
	char fingerprint[65];    /* hash of everything in a config payload that comes from the
				    config file; a change bumps every config version at start */
};

struct kw_device {
	int64_t id;
	char username[KW_STORE_NAME_MAX];
	char hostname[KW_STORE_NAME_MAX];
	enum kw_device_role role;
	enum kw_device_state state;
	char state_reason[KW_STORE_NAME_MAX];
	char public_key[KW_KEY_B64_LEN + 1];
	char address[KW_CIDR_STRLEN];  /* "10.77.0.2/32" */
	char address6[KW_CIDR_STRLEN]; /* "fd00::2/128" or "" */
	char endpoint[KW_STORE_NAME_MAX]; /* gateways: "host:port" or "" */
	int listen_port;                  /* gateways */
	int64_t created_at;
	int64_t suspended_at; /* 0 when not suspended */
	int64_t revoked_at;   /* 0 when not revoked */
	int64_t renewed_at;   /* last time its own version was bumped */
	int64_t version;      /* config version this device must see now */
};

struct kw_enroll_params {
	/* Exactly one of: an enrollment token's hash, or an LDAP-authorised username. */
	const uint8_t *token_hash;      /* KW_TOKEN_HASH_LEN bytes, or NULL */
	const char *ldap_username;      /* self-enrollment (or a user session), or NULL */
	enum kw_device_role ldap_role;  /* role for an ldap_username enrollment (device) */
	int max_devices;                /* ldap_username: limit of devices not revoked or revoked
					   with their address in quarantine, 0 none */
	int max_per_hour;               /* ldap_username: enrollments in the last hour, 0 none */
	const char *public_key;         /* base64, already validated */
	const char *hostname;
	const char *endpoint;           /* gateway "host:port" or NULL */
	int listen_port;                /* gateway port or 0 */
	const uint8_t *device_token_hash; /* hash of the new device token */
	const char *actor;
	int64_t now;
};

struct kw_api_token {
	int64_t id;
	char name[KW_STORE_NAME_MAX];
	int64_t created_at;
	char owner[KW_STORE_NAME_MAX]; /* who made it: "user:alice", "api-token:ci", "cli" */
	int64_t expires_at;            /* 0: never */
};

struct kw_enrollment_token {
	int64_t id;
	char username[KW_STORE_NAME_MAX];
	enum kw_device_role role;
	int64_t created_at;
	int64_t expires_at;
	int64_t uses_left;
	int64_t uses_total;
	int64_t revoked_at; /* 0 when usable */
	char created_by[KW_STORE_NAME_MAX];
};

enum kw_session_role { KW_SESSION_USER = 0, KW_SESSION_ADMIN };

struct kw_session {
	int64_t id;
	char username[KW_STORE_NAME_MAX];
	enum kw_session_role role;
	uint8_t csrf_hash[KW_TOKEN_HASH_LEN];
	int64_t created_at;
	int64_t expires_at;
};

struct kw_audit_row {
	int64_t id;
	int64_t at;
	char actor[KW_STORE_NAME_MAX];
	char action[64];
	char object[KW_STORE_NAME_MAX];
	char outcome[32];
	char detail[512];
};

/* ---- life cycle (store.c) ---- */
/* Open (create) the database at path: WAL, foreign_keys=ON, migrations applied in one
 * transaction. net may be NULL for tools that only touch tokens (admin-token create). */
int store_open(const char *path, const struct kw_store_net *net, struct kw_store **out);
/* SIGHUP: the payload settings may have changed. When fingerprint differs from the stored one,
 * bump every config version and wake every long-poll (returns 1); 0 when unchanged. */
int store_net_refresh(struct kw_store *st, const char *fingerprint);
void store_close(struct kw_store *st);
/* Highest applied migration number. */
int store_schema_version(struct kw_store *st, int *version);
/* Called (outside any lock) after every commit that changed some config version; device_id
 * names the only device concerned (> 0), or a KW_CHANGE_* scope. */
#define KW_CHANGE_ALL 0
#define KW_CHANGE_GATEWAYS (-1) /* every gateway's config (a device changed) */
#define KW_CHANGE_DEVICES (-2)  /* every device's config (a gateway changed) */
void store_set_change_cb(struct kw_store *st, void (*cb)(void *arg, int64_t device_id), void *arg);
/* Monotonic counter of such commits (for long-poll races). */
uint64_t store_change_counter(struct kw_store *st);

/* ---- admin API tokens (store_tokens.c) ---- */
int store_api_token_create(struct kw_store *st, const char *name, const uint8_t hash[KW_TOKEN_HASH_LEN],
			   const char *actor, int64_t now, int64_t *id);
/* The same with an expiry (0: never); the owner is actor. */
int store_api_token_create_ex(struct kw_store *st, const char *name, const uint8_t hash[KW_TOKEN_HASH_LEN],
			      const char *actor, int64_t expires_at, int64_t now, int64_t *id);
/* -EKEYEXPIRED for an expired token (see store_api_token_lookup_at). */
int store_api_token_lookup(struct kw_store *st, const uint8_t hash[KW_TOKEN_HASH_LEN], struct kw_api_token *out);
int store_api_token_lookup_at(struct kw_store *st, const uint8_t hash[KW_TOKEN_HASH_LEN], int64_t now,
			      struct kw_api_token *out);
int store_api_token_delete(struct kw_store *st, int64_t id, const char *actor, int64_t now);
int store_api_token_list(struct kw_store *st, int (*fn)(const struct kw_api_token *t, void *arg), void *arg);

/* ---- enrollment tokens (store_tokens.c) ---- */
int store_enrollment_token_create(struct kw_store *st, const char *username, enum kw_device_role role,
				  int64_t expires_at, int64_t uses, const uint8_t hash[KW_TOKEN_HASH_LEN],
				  const char *actor, int64_t now, int64_t *id);
int store_enrollment_token_revoke(struct kw_store *st, int64_t id, const char *actor, int64_t now);
int store_enrollment_token_list(struct kw_store *st,
				int (*fn)(const struct kw_enrollment_token *t, void *arg), void *arg);

/* ---- devices (store_devices.c) ---- */
/* One transaction: check the token (-EACCES: unknown, expired, used up, revoked) or the
 * per-user limit (-EDQUOT), the key (-EEXIST: any key ever enrolled), allocate the address
 * (-ENOSPC), insert, spend one use, audit, bump versions. *out is the new device. */
int store_enroll(struct kw_store *st, const struct kw_enroll_params *p, struct kw_device *out);
int store_device_get(struct kw_store *st, int64_t id, struct kw_device *out);
/* The device holding this device token (any state: the caller decides what revoked means). */
int store_device_by_token(struct kw_store *st, const uint8_t hash[KW_TOKEN_HASH_LEN], struct kw_device *out);
/* username NULL: every device. Ordered by id. */
int store_device_list(struct kw_store *st, const char *username,
		      int (*fn)(const struct kw_device *d, void *arg), void *arg);
/* Devices by [state][role] (enum kw_device_state, enum kw_device_role), for the metrics. */
int store_device_counts(struct kw_store *st, int64_t counts[3][2]);
/* Peers of a config: role KW_DEV_GATEWAY lists active gateways, KW_DEV_DEVICE active devices.
 * Only id, role, public_key, address, address6, endpoint and listen_port are filled (a
 * gateway's config lists every device: this is the one query that must stay light). */
int store_peer_list(struct kw_store *st, enum kw_device_role role,
		    int (*fn)(const struct kw_device *d, void *arg), void *arg);
/* -ENOENT, -EPERM (already revoked). Releases the address into quarantine. */
int store_device_revoke(struct kw_store *st, int64_t id, const char *actor, int64_t now);
/* -EPERM unless active (suspend) / suspended (restore). */
int store_device_suspend(struct kw_store *st, int64_t id, const char *reason, const char *actor, int64_t now);
int store_device_restore(struct kw_store *st, int64_t id, const char *actor, int64_t now);
/* Key rotation: -EEXIST when the key was ever enrolled, -EPERM when not active. */
/* The same, refused with -EAGAIN when the device rotated max_per_hour keys in the last hour
 * (0: no limit). */
int store_device_rotate_key_limited(struct kw_store *st, int64_t id, const char *public_key, const char *actor,
				    int64_t now, int max_per_hour);
int store_device_rotate_key(struct kw_store *st, int64_t id, const char *public_key, const char *actor,
			    int64_t now);
/* Bump a device's own version (config renewal before expiry). */
int store_device_renew(struct kw_store *st, int64_t id, int64_t now);

/* ---- users (store_devices.c): what the LDAP sync and the admin API call ---- */
/* Every username holding a non-revoked device, with counts. */
int store_user_list(struct kw_store *st,
		    int (*fn)(const char *username, int active, int suspended, int64_t oldest_suspended_at,
			      void *arg),
		    void *arg);
/* All in one transaction with one audit row; *count = devices changed (0 is not an error). */
int store_user_suspend(struct kw_store *st, const char *username, const char *reason, const char *actor,
		       int64_t now, int *count);
int store_user_restore(struct kw_store *st, const char *username, const char *actor, int64_t now, int *count);
int store_user_revoke(struct kw_store *st, const char *username, const char *reason, const char *actor,
		      int64_t now, int *count);

/* ---- sessions (store_sessions.c): bearer tokens of user logins ---- */
/* Creates the session and its "login" audit row in one transaction. */
int store_session_create(struct kw_store *st, const uint8_t token_hash[KW_TOKEN_HASH_LEN],
			 const char *username, enum kw_session_role role,
			 const uint8_t csrf_hash[KW_TOKEN_HASH_LEN], int64_t expires_at, int64_t now,
			 int64_t *id);
/* -ENOENT unknown, -EKEYEXPIRED expired. */
int store_session_lookup(struct kw_store *st, const uint8_t token_hash[KW_TOKEN_HASH_LEN], int64_t now,
			 struct kw_session *out);
/* Logout: deletes it, with a "logout" audit row. */
int store_session_delete(struct kw_store *st, int64_t id, const char *actor, int64_t now);
/* Deletes every session expired at now (no audit row: nobody acted). Returns how many (>= 0)
 * or a negative errno. keywayd calls it at start and every few minutes (housekeeping.c). */
/* ---- what the directory's re-checks change (store_roles.c) ---- */
/* Every user holding a session or owning an API token ("user:NAME"), each once. */
int store_principal_users(struct kw_store *st, int (*fn)(const char *username, void *arg), void *arg);
/* A user the directory no longer knows as enabled: every session deleted; when admin is
 * false also their admin sessions downgraded and their API tokens deleted. Audit rows
 * in the same transaction; *changed counts what changed. */
int store_user_roles_apply(struct kw_store *st, const char *username, bool keep_sessions, bool admin,
			   const char *actor, int64_t now, int *changed);
/* When the session's owner was last checked (0: never); mark it checked now. */
int store_session_checked_at(struct kw_store *st, int64_t id, int64_t *checked_at);
int store_session_mark_checked(struct kw_store *st, int64_t id, int64_t now);
int store_session_purge_expired(struct kw_store *st, int64_t now);

/* ---- audit (store_audit.c) ---- */
/* A standalone audit row (e.g. a failed login), its own transaction. */
/* Retention: delete the audit rows older than before; the number deleted. */
int store_audit_purge_before(struct kw_store *st, int64_t before);
int store_audit_add(struct kw_store *st, int64_t now, const char *actor, const char *action,
		    const char *object, const char *outcome, const char *detail);
/* Newest first; before = 0 for the newest; limit 1..1000. */
int store_audit_list(struct kw_store *st, int64_t before, int limit,
		     int (*fn)(const struct kw_audit_row *r, void *arg), void *arg);
/* The same, only rows whose actor and action equal these exactly (NULL: any). */
int store_audit_list_filtered(struct kw_store *st, int64_t before, int limit, const char *actor,
			      const char *action, int (*fn)(const struct kw_audit_row *r, void *arg), void *arg);

/* Sites, policies, group memberships, gateway health. */
#include "store_sites.h"

#endif
