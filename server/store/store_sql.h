/*
 * The store's statements by name. The store's functions say which statement they run
 * (KW_SQL_DEVICE_BY_ID), never its text: each backend holds the text of every statement
 * in its own dialect, in one file (sql_sqlite.c, sql_pg.c), indexed by this enum.
 * Parameters are numbered ?1.. in SQLite and $1.. in PostgreSQL and bound in the same order.
 */
#ifndef KW_STORE_SQL_H
#define KW_STORE_SQL_H

#define KW_SQL_LIST(X)                                                                           \
	/* schema and counters (store.c) */                                                      \
	X(SCHEMA_TABLE) X(SCHEMA_CURRENT) X(SCHEMA_RECORD) X(SEQ_NEXT) X(FP_GET) X(FP_SET)       \
	X(BUMP_ALL) X(AUDIT_INSERT)                                                              \
	/* devices (store_devices.c) */                                                          \
	X(DEVICE_BY_ID) X(DEVICE_BY_TOKEN) X(DEVICE_LIST_ALL) X(DEVICE_LIST_USER) X(PEER_LIST)   \
	X(DEVICE_COUNTS)                                                                         \
	X(BUMP_DEVICES_SEQ) X(BUMP_GATEWAYS_SEQ) X(KEY_TAKEN) X(IPAM_MAX) X(IPAM_GAP)            \
	X(IPAM_QUARANTINED) X(ENROLL_TOKEN_CHECK) X(USER_DEVICE_COUNT) X(READDRESS_SELECT)       \
	X(READDRESS_UPDATE) X(DEVICE_INSERT) X(LEASE_NEW) X(LEASE_REUSE) X(TOKEN_SPEND)          \
	X(DEVICE_REVOKE) X(DEVICE_SUSPEND) X(DEVICE_RESTORE) X(LEASE_RELEASE) X(KEY_RETIRE)      \
	X(DEVICE_ROTATE) X(DEVICE_RENEW) X(USER_LIST) X(USER_SUSPEND) X(USER_RESTORE)            \
	X(USER_RELEASE) X(USER_REVOKE)                                                           \
	/* sessions and audit (store_sessions.c) */                                              \
	X(SESSION_INSERT) X(SESSION_LOOKUP) X(SESSION_DELETE) X(SESSION_PURGE) X(AUDIT_LIST)     \
	/* tokens (store_tokens.c) */                                                            \
	X(API_TOKEN_DELETE)            \
	X(ENROLL_TOKEN_INSERT) X(ENROLL_TOKEN_REVOKE) X(ENROLL_TOKEN_LIST)                       \
	/* copying a whole database (store_copy.c), the signing key's id (store.c) */             \
	X(COPY_SELECT_META) X(COPY_INSERT_META) X(COPY_SELECT_API_TOKENS) \
	X(COPY_INSERT_API_TOKENS) X(COPY_SELECT_ENROLLMENT_TOKENS) \
	X(COPY_INSERT_ENROLLMENT_TOKENS) X(COPY_SELECT_SITES) X(COPY_INSERT_SITES) \
	X(COPY_SELECT_ENROLLMENT_TOKEN_SITES) X(COPY_INSERT_ENROLLMENT_TOKEN_SITES) \
	X(COPY_SELECT_DEVICES) X(COPY_INSERT_DEVICES) X(COPY_SELECT_GATEWAY_SITES) \
	X(COPY_INSERT_GATEWAY_SITES) X(COPY_SELECT_GATEWAY_HEALTH) X(COPY_INSERT_GATEWAY_HEALTH) \
	X(COPY_SELECT_RETIRED_KEYS) X(COPY_INSERT_RETIRED_KEYS) X(COPY_SELECT_ADDRESS_LEASES) \
	X(COPY_INSERT_ADDRESS_LEASES) X(COPY_SELECT_SESSIONS) X(COPY_INSERT_SESSIONS) \
	X(COPY_SELECT_AUDIT) X(COPY_INSERT_AUDIT) X(COPY_SELECT_POLICIES) \
	X(COPY_INSERT_POLICIES) X(COPY_SELECT_GROUP_MEMBERS) X(COPY_INSERT_GROUP_MEMBERS) \
	X(COPY_COUNT)            \
	X(COPY_FIX_IDS) X(KEY_ID_RECORD) X(KEY_ID_GET)                                           \
	/* sites, policies, limits, roles */                                                     \
	X(DEVICE_ROTATE_KEY_LIMITED_RETIRE) X(DEVICE_ROTATE_KEY_LIMITED_UPD) \
	X(SITE_USAGE) X(API_TOKEN_CREATE_EX) X(API_TOKEN_LOOKUP_AT) X(API_TOKEN_LIST) \
	X(ENROLL_USER_LIMITS_HELD_SQL) X(ENROLL_USER_LIMITS_HOUR_SQL) \
	X(ENROLL_USER_LIMITS_USED_SQL) X(ROTATIONS_LIMIT) X(AUDIT_PURGE_BEFORE) \
	X(PRINCIPAL_USERS) X(USER_ROLES_APPLY_DEL_SESSIONS) X(USER_ROLES_APPLY_DOWNGRADE) \
	X(USER_ROLES_APPLY_DEL_TOKENS) X(SESSION_CHECKED_AT) X(SESSION_MARK_CHECKED) \
	X(BUMP_ALL_BUMP) X(SITE_GET) X(SITE_BY_NAME) X(SITE_LIST) X(CHECK_OVERLAP) \
	X(SITE_CREATE_INS) X(SITE_UPDATE_GET) X(SITE_UPDATE_UPD) X(SITE_DELETE_GET) \
	X(SITE_DELETE_UNLINK) X(SITE_DELETE_REVOKE) X(SITE_DELETE_UNTOKEN) X(SITE_DELETE_DEL) \
	X(SITE_TOKEN_CREATE_INS) X(SITE_TOKEN_CREATE_LINK) X(SITE_TOKEN_LIST) X(SITE_GATEWAYS) \
	X(GATEWAY_SET_ONLINE_GET) X(GATEWAY_SET_ONLINE_PUT) X(GATEWAY_SET_ONLINE_BUMP) \
	X(SITE_DEVICE_PEERS) X(POLICY_LIST) X(POLICY_GET) X(SITE_EXISTS) X(POLICY_WRITE_INS) \
	X(POLICY_WRITE_UPD) X(POLICY_DELETE_DEL) X(POLICY_GROUPS) X(GROUP_MEMBERS_LIST_ALL) \
	X(GROUP_MEMBERS_LIST_ONE) X(GROUP_MEMBERS_REPLACE_CUR) X(GROUP_MEMBERS_REPLACE_DEL) \
	X(GROUP_MEMBERS_REPLACE_INS)

#define KW_SQL_ENUM(name) KW_SQL_##name,
enum kw_sql { KW_SQL_LIST(KW_SQL_ENUM) KW_SQL__COUNT };
#undef KW_SQL_ENUM

/* "DEVICE_BY_ID": for log lines. */
const char *store_sql_name(enum kw_sql id);

/* The statement texts, one array per backend (NULL entries are refused at open). */
extern const char *const kw_sql_sqlite[KW_SQL__COUNT];
extern const char *const kw_sql_pg[KW_SQL__COUNT];

#endif
