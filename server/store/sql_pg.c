/*
 * Every statement of the store in PostgreSQL's dialect, by name (store_sql.h): the twin
 * of sql_sqlite.c, statement for statement. The schema itself is in sql/pg/NNNN_*.sql.
 * Parameters are $N; a parameter whose type nothing around it fixes is cast.
 */
#include "config.h"

#include "store_sql.h"

/* The version a device of each role must see: its own, or the other role's last change. */
#define DEV_COLS                                                                                  \
	"d.id, d.username, d.hostname, d.role, d.state, d.state_reason, d.public_key, d.address, "   \
	"d.address6, d.endpoint, d.listen_port, d.created_at, coalesce(d.suspended_at, 0), "          \
	"coalesce(d.revoked_at, 0), d.renewed_at, "                                                   \
	"CASE d.role WHEN 'device' THEN greatest(d.own_seq, (SELECT value FROM meta WHERE key = 'gateways_seq')) " \
	"ELSE greatest(d.own_seq, (SELECT value FROM meta WHERE key = 'devices_seq')) END"

const char *const kw_sql_pg[KW_SQL__COUNT] =  {
	[KW_SQL_SCHEMA_TABLE] = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
				"name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
	[KW_SQL_SCHEMA_CURRENT] = "SELECT coalesce(max(version), 0) FROM schema_version",
	[KW_SQL_SCHEMA_RECORD] = "INSERT INTO schema_version (version, name, applied_at) "
				 "VALUES ($1, $2, extract(epoch FROM now())::bigint)",
	[KW_SQL_SEQ_NEXT] = "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value",
	[KW_SQL_FP_GET] = "SELECT text FROM meta WHERE key = 'net_fingerprint'",
	[KW_SQL_FP_SET] = "UPDATE meta SET text = $1 WHERE key = 'net_fingerprint'",
	[KW_SQL_BUMP_ALL] = "UPDATE meta SET value = $1 WHERE key IN ('devices_seq', 'gateways_seq')",
	[KW_SQL_AUDIT_INSERT] = "INSERT INTO audit (at, actor, action, object, outcome, detail) "
				"VALUES ($1, $2, $3, $4, $5, $6)",

	[KW_SQL_DEVICE_BY_ID] = "SELECT " DEV_COLS " FROM devices d WHERE d.id = $1",
	[KW_SQL_DEVICE_BY_TOKEN] = "SELECT " DEV_COLS " FROM devices d WHERE d.token_hash = $1",
	[KW_SQL_DEVICE_LIST_ALL] = "SELECT " DEV_COLS " FROM devices d ORDER BY d.id",
	[KW_SQL_DEVICE_LIST_USER] = "SELECT " DEV_COLS " FROM devices d WHERE d.username = $1 ORDER BY d.id",
	[KW_SQL_DEVICE_COUNTS] = "SELECT state, role, count(*) FROM devices GROUP BY state, role",
	[KW_SQL_PEER_LIST] = "SELECT id, public_key, address, address6, endpoint, listen_port FROM devices "
			     "WHERE role = $1 AND state = 'active' ORDER BY id",
	[KW_SQL_BUMP_DEVICES_SEQ] = "UPDATE meta SET value = $1 WHERE key = 'devices_seq'",
	[KW_SQL_BUMP_GATEWAYS_SEQ] = "UPDATE meta SET value = $1 WHERE key = 'gateways_seq'",
	[KW_SQL_KEY_TAKEN] = "SELECT 1 FROM devices WHERE public_key = $1 "
			     "UNION ALL SELECT 1 FROM retired_keys WHERE public_key = $1 LIMIT 1",
	[KW_SQL_IPAM_MAX] = "SELECT max(address_offset) FROM address_leases",
	[KW_SQL_IPAM_GAP] = "SELECT o FROM (SELECT $1::bigint AS o UNION ALL SELECT address_offset + 1 FROM address_leases "
			    "WHERE address_offset BETWEEN $1 AND $2::bigint - 1) AS g "
			    "WHERE o NOT IN (SELECT address_offset FROM address_leases) ORDER BY o LIMIT 1",
	[KW_SQL_IPAM_QUARANTINED] = "SELECT address_offset FROM address_leases WHERE released_at IS NOT NULL "
				    "AND released_at <= $1 AND address_offset BETWEEN $2 AND $3 "
				    "ORDER BY released_at, address_offset LIMIT 1",
	[KW_SQL_ENROLL_TOKEN_CHECK] = "SELECT id, username, role, expires_at, uses_left, (revoked_at IS NOT NULL)::int "
				      "FROM enrollment_tokens WHERE token_hash = $1",
	[KW_SQL_USER_DEVICE_COUNT] = "SELECT count(*) FROM devices WHERE username = $1 AND state != 'revoked'",
	[KW_SQL_READDRESS_SELECT] = "SELECT id, address_offset, state, address, address6 FROM devices ORDER BY id",
	[KW_SQL_READDRESS_UPDATE] = "UPDATE devices SET address = $1, address6 = $2 WHERE id = $3",
	[KW_SQL_DEVICE_INSERT] = 
		"INSERT INTO devices (username, hostname, role, public_key, address_offset, address, address6, "
		"endpoint, listen_port, token_hash, enrollment_token_id, own_seq, renewed_at, created_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
	[KW_SQL_LEASE_NEW] = "INSERT INTO address_leases (address_offset, device_id) VALUES ($1, $2)",
	[KW_SQL_LEASE_REUSE] = "UPDATE address_leases SET device_id = $2, released_at = NULL WHERE address_offset = $1",
	[KW_SQL_TOKEN_SPEND] = "UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE id = $1",
	[KW_SQL_DEVICE_REVOKE] = "UPDATE devices SET state = 'revoked', revoked_at = $2, suspended_at = NULL, "
				 "state_reason = $3, own_seq = $4 WHERE id = $1",
	[KW_SQL_DEVICE_SUSPEND] = "UPDATE devices SET state = 'suspended', suspended_at = $2, "
				  "state_reason = $3, own_seq = $4 WHERE id = $1",
	[KW_SQL_DEVICE_RESTORE] = "UPDATE devices SET state = 'active', suspended_at = NULL, "
				  "state_reason = '', own_seq = $4, renewed_at = $2 WHERE id = $1 AND $3::text IS NOT NULL",
	[KW_SQL_LEASE_RELEASE] = "UPDATE address_leases SET released_at = $1 WHERE device_id = $2",
	[KW_SQL_KEY_RETIRE] = "INSERT INTO retired_keys (public_key, device_id, retired_at) VALUES ($1, $2, $3)",
	[KW_SQL_DEVICE_ROTATE] = "UPDATE devices SET public_key = $2, own_seq = $3, renewed_at = $4 WHERE id = $1",
	[KW_SQL_DEVICE_RENEW] = "UPDATE devices SET own_seq = $2, renewed_at = $3 WHERE id = $1 AND state = 'active'",
	[KW_SQL_USER_LIST] = 
		"SELECT username, count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE state = 'suspended'), "
		"coalesce(min(suspended_at), 0) "
		"FROM devices WHERE state != 'revoked' GROUP BY username ORDER BY username",
	[KW_SQL_USER_SUSPEND] = 
		"UPDATE devices SET state = 'suspended', suspended_at = $2, state_reason = $3, own_seq = $4 "
		"WHERE username = $1 AND state = 'active' RETURNING role",
	[KW_SQL_USER_RESTORE] = 
		"UPDATE devices SET state = 'active', suspended_at = NULL, state_reason = '', own_seq = $4, "
		"renewed_at = $2 WHERE username = $1 AND state = 'suspended' AND $3::text IS NOT NULL RETURNING role",
	[KW_SQL_USER_RELEASE] = "UPDATE address_leases SET released_at = $2 WHERE device_id IN "
				"(SELECT id FROM devices WHERE username = $1 AND state != 'revoked')",
	[KW_SQL_USER_REVOKE] = 
		"UPDATE devices SET state = 'revoked', revoked_at = $2, suspended_at = NULL, state_reason = $3, "
		"own_seq = $4 WHERE username = $1 AND state != 'revoked' RETURNING role",

	[KW_SQL_SESSION_INSERT] = "INSERT INTO sessions (token_hash, username, role, csrf_hash, created_at, "
				  "expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
	[KW_SQL_SESSION_LOOKUP] = "SELECT id, username, role, csrf_hash, created_at, expires_at FROM sessions "
				  "WHERE token_hash = $1",
	[KW_SQL_SESSION_DELETE] = "DELETE FROM sessions WHERE id = $1 AND $2::bigint IS NOT NULL",
	[KW_SQL_SESSION_PURGE] = "DELETE FROM sessions WHERE expires_at <= $1",
	/* NULL parameters match every row; the filters are bound, never spliced into the SQL. */
	[KW_SQL_AUDIT_LIST] = "SELECT id, at, actor, action, object, outcome, detail FROM audit "
			      "WHERE ($1::bigint = 0 OR id < $1) AND ($3::text IS NULL OR actor = $3) "
			      "AND ($4::text IS NULL OR action = $4) ORDER BY id DESC LIMIT $2",

	[KW_SQL_API_TOKEN_DELETE] = "DELETE FROM api_tokens WHERE id = $1 AND $2::bigint IS NOT NULL",
	[KW_SQL_ENROLL_TOKEN_INSERT] = 
		"INSERT INTO enrollment_tokens (username, role, token_hash, created_at, expires_at, uses_total, "
		"uses_left, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
	[KW_SQL_ENROLL_TOKEN_REVOKE] = "UPDATE enrollment_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
	[KW_SQL_ENROLL_TOKEN_LIST] = "SELECT id, username, role, created_at, expires_at, uses_left, uses_total, "
				     "coalesce(revoked_at, 0), created_by FROM enrollment_tokens ORDER BY id",
	/* migrate-store (store_copy.c): every table, column by column, in key order */
	[KW_SQL_COPY_SELECT_META] = "SELECT key, value, text FROM meta ORDER BY 1",
	[KW_SQL_COPY_INSERT_META] =
		"INSERT INTO meta (key, value, text) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = "
		"excluded.value, text = excluded.text",
	[KW_SQL_COPY_SELECT_API_TOKENS] = "SELECT id, name, token_hash, created_at, owner, expires_at FROM api_tokens ORDER BY 1",
	[KW_SQL_COPY_INSERT_API_TOKENS] =
		"INSERT INTO api_tokens (id, name, token_hash, created_at, owner, expires_at) VALUES ($1, $2, $3,"
		" $4, $5, $6)",
	[KW_SQL_COPY_SELECT_ENROLLMENT_TOKENS] = "SELECT id, username, role, token_hash, created_at, expires_at, uses_total, uses_left, revoked_at, created_by FROM enrollment_tokens ORDER BY 1",
	[KW_SQL_COPY_INSERT_ENROLLMENT_TOKENS] =
		"INSERT INTO enrollment_tokens (id, username, role, token_hash, created_at, expires_at, "
		"uses_total, uses_left, revoked_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
	[KW_SQL_COPY_SELECT_SITES] = "SELECT id, name, routes, routes_from_conf, default_action, created_at, updated_at FROM sites ORDER BY 1",
	[KW_SQL_COPY_INSERT_SITES] =
		"INSERT INTO sites (id, name, routes, routes_from_conf, default_action, created_at, updated_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET name = excluded.name, routes "
		"= excluded.routes, routes_from_conf = excluded.routes_from_conf, default_action = "
		"excluded.default_action, created_at = excluded.created_at, updated_at = excluded.updated_at",
	[KW_SQL_COPY_SELECT_ENROLLMENT_TOKEN_SITES] = "SELECT token_id, site_id FROM enrollment_token_sites ORDER BY 1",
	[KW_SQL_COPY_INSERT_ENROLLMENT_TOKEN_SITES] =
		"INSERT INTO enrollment_token_sites (token_id, site_id) VALUES ($1, $2)",
	[KW_SQL_COPY_SELECT_DEVICES] = "SELECT id, username, hostname, role, state, state_reason, public_key, address_offset, address, address6, endpoint, listen_port, token_hash, enrollment_token_id, own_seq, renewed_at, created_at, suspended_at, revoked_at FROM devices ORDER BY 1",
	[KW_SQL_COPY_INSERT_DEVICES] =
		"INSERT INTO devices (id, username, hostname, role, state, state_reason, public_key, "
		"address_offset, address, address6, endpoint, listen_port, token_hash, enrollment_token_id, "
		"own_seq, renewed_at, created_at, suspended_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
		"$8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
	[KW_SQL_COPY_SELECT_GATEWAY_SITES] = "SELECT device_id, site_id FROM gateway_sites ORDER BY 1",
	[KW_SQL_COPY_INSERT_GATEWAY_SITES] =
		"INSERT INTO gateway_sites (device_id, site_id) VALUES ($1, $2) ON CONFLICT (device_id) DO UPDATE"
		" SET site_id = excluded.site_id",
	[KW_SQL_COPY_SELECT_GATEWAY_HEALTH] = "SELECT device_id, online, last_seen, changed_at FROM gateway_health ORDER BY 1",
	[KW_SQL_COPY_INSERT_GATEWAY_HEALTH] =
		"INSERT INTO gateway_health (device_id, online, last_seen, changed_at) VALUES ($1, $2, $3, $4)",
	[KW_SQL_COPY_SELECT_RETIRED_KEYS] = "SELECT public_key, device_id, retired_at FROM retired_keys ORDER BY 1",
	[KW_SQL_COPY_INSERT_RETIRED_KEYS] =
		"INSERT INTO retired_keys (public_key, device_id, retired_at) VALUES ($1, $2, $3)",
	[KW_SQL_COPY_SELECT_ADDRESS_LEASES] = "SELECT address_offset, device_id, released_at FROM address_leases ORDER BY 1",
	[KW_SQL_COPY_INSERT_ADDRESS_LEASES] =
		"INSERT INTO address_leases (address_offset, device_id, released_at) VALUES ($1, $2, $3)",
	[KW_SQL_COPY_SELECT_SESSIONS] = "SELECT id, token_hash, username, role, csrf_hash, created_at, expires_at, checked_at FROM sessions ORDER BY 1",
	[KW_SQL_COPY_INSERT_SESSIONS] =
		"INSERT INTO sessions (id, token_hash, username, role, csrf_hash, created_at, expires_at, "
		"checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	[KW_SQL_COPY_SELECT_AUDIT] = "SELECT id, at, actor, action, object, outcome, detail FROM audit ORDER BY 1",
	[KW_SQL_COPY_INSERT_AUDIT] =
		"INSERT INTO audit (id, at, actor, action, object, outcome, detail) VALUES ($1, $2, $3, $4, $5, "
		"$6, $7)",
	[KW_SQL_COPY_SELECT_POLICIES] = "SELECT id, name, site_id, groups, users, destinations, created_at, updated_at FROM policies ORDER BY 1",
	[KW_SQL_COPY_INSERT_POLICIES] =
		"INSERT INTO policies (id, name, site_id, groups, users, destinations, created_at, updated_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	[KW_SQL_COPY_SELECT_GROUP_MEMBERS] = "SELECT group_name, username FROM group_members ORDER BY 1",
	[KW_SQL_COPY_INSERT_GROUP_MEMBERS] =
		"INSERT INTO group_members (group_name, username) VALUES ($1, $2)",
	[KW_SQL_COPY_COUNT] = "SELECT (SELECT count(*) FROM devices) + (SELECT count(*) FROM api_tokens) + "
			      "(SELECT count(*) FROM enrollment_tokens) + (SELECT count(*) FROM sessions) + "
			      "(SELECT count(*) FROM audit) + (SELECT count(*) FROM address_leases) + "
			      "(SELECT count(*) FROM policies) + (SELECT count(*) FROM sites WHERE name != 'default')",
	/* Rows copied with their ids: the identity sequences continue after them (a script). */
	[KW_SQL_COPY_FIX_IDS] = "SELECT setval(pg_get_serial_sequence('api_tokens', 'id'), coalesce(max(id), 0) + 1, false) FROM api_tokens;"
		"SELECT setval(pg_get_serial_sequence('enrollment_tokens', 'id'), coalesce(max(id), 0) + 1, false) FROM enrollment_tokens;"
		"SELECT setval(pg_get_serial_sequence('devices', 'id'), coalesce(max(id), 0) + 1, false) FROM devices;"
		"SELECT setval(pg_get_serial_sequence('sessions', 'id'), coalesce(max(id), 0) + 1, false) FROM sessions;"
		"SELECT setval(pg_get_serial_sequence('audit', 'id'), coalesce(max(id), 0) + 1, false) FROM audit;"
		"SELECT setval(pg_get_serial_sequence('sites', 'id'), coalesce(max(id), 0) + 1, false) FROM sites;"
		"SELECT setval(pg_get_serial_sequence('policies', 'id'), coalesce(max(id), 0) + 1, false) FROM policies;",
	[KW_SQL_KEY_ID_RECORD] = "INSERT INTO meta (key, value, text) VALUES ('signing_key_id', 0, $1) "
				 "ON CONFLICT (key) DO NOTHING",
	[KW_SQL_KEY_ID_GET] = "SELECT text FROM meta WHERE key = 'signing_key_id'",
	/* sites, policies, limits, roles (store_sites.c, store_policies.c, store_limits.c, store_roles.c) */
	[KW_SQL_DEVICE_ROTATE_KEY_LIMITED_RETIRE] =
		"INSERT INTO retired_keys (public_key, device_id, retired_at) VALUES ($1, $2, $3)",
	[KW_SQL_DEVICE_ROTATE_KEY_LIMITED_UPD] =
		"UPDATE devices SET public_key = $2, own_seq = $3, renewed_at = $4 WHERE id = $1",
	[KW_SQL_API_TOKEN_CREATE_EX] =
		"INSERT INTO api_tokens (name, token_hash, created_at, owner, expires_at) VALUES ($1, $2, $3, $4,"
		" $5) RETURNING id",
	[KW_SQL_API_TOKEN_LOOKUP_AT] =
		"SELECT id, name, created_at, owner, expires_at FROM api_tokens WHERE token_hash = $1",
	[KW_SQL_API_TOKEN_LIST] =
		"SELECT id, name, created_at, owner, expires_at FROM api_tokens ORDER BY id",
	[KW_SQL_ENROLL_USER_LIMITS_HELD_SQL] =
		"SELECT count(*) FROM devices WHERE username = $1 AND (state != 'revoked' OR revoked_at > $2)",
	[KW_SQL_ENROLL_USER_LIMITS_HOUR_SQL] =
		"SELECT count(*) FROM devices WHERE username = $1 AND created_at > $2 AND enrollment_token_id IS "
		"NULL",
	[KW_SQL_ENROLL_USER_LIMITS_USED_SQL] =
		"SELECT count(*) FROM address_leases WHERE address_offset BETWEEN $1 AND $2 AND (released_at IS "
		"NULL OR released_at > $3)",
	[KW_SQL_ROTATIONS_LIMIT] =
		"SELECT count(*) FROM retired_keys WHERE device_id = $1 AND retired_at > $2",
	[KW_SQL_AUDIT_PURGE_BEFORE] =
		"DELETE FROM audit WHERE at < $1",
	[KW_SQL_PRINCIPAL_USERS] =
		"SELECT username FROM sessions UNION SELECT substr(owner, 6) FROM api_tokens WHERE owner LIKE "
		"'user:%' ORDER BY 1",
	[KW_SQL_USER_ROLES_APPLY_DEL_SESSIONS] =
		"DELETE FROM sessions WHERE username = $1",
	[KW_SQL_USER_ROLES_APPLY_DOWNGRADE] =
		"UPDATE sessions SET role = 'user' WHERE username = $1 AND role = 'admin'",
	[KW_SQL_USER_ROLES_APPLY_DEL_TOKENS] =
		"DELETE FROM api_tokens WHERE owner = $1",
	[KW_SQL_SESSION_CHECKED_AT] =
		"SELECT checked_at FROM sessions WHERE id = $1",
	[KW_SQL_SESSION_MARK_CHECKED] =
		"UPDATE sessions SET checked_at = $2 WHERE id = $1",
	[KW_SQL_BUMP_ALL_BUMP] =
		"UPDATE meta SET value = $1 WHERE key IN ('devices_seq', 'gateways_seq')",
	[KW_SQL_SITE_GET] =
		"SELECT id, name, routes, routes_from_conf, default_action, created_at, updated_at FROM sites "
		"WHERE id = $1",
	[KW_SQL_SITE_BY_NAME] =
		"SELECT id, name, routes, routes_from_conf, default_action, created_at, updated_at FROM sites "
		"WHERE name = $1",
	[KW_SQL_SITE_LIST] =
		"SELECT id, name, routes, routes_from_conf, default_action, created_at, updated_at FROM sites "
		"ORDER BY name",
	[KW_SQL_CHECK_OVERLAP] =
		"SELECT id, name, routes, routes_from_conf, default_action, created_at, updated_at FROM sites",
	[KW_SQL_SITE_CREATE_INS] =
		"INSERT INTO sites (name, routes, default_action, created_at, updated_at) VALUES ($1, $2, $3, $4,"
		" $4) RETURNING id",
	[KW_SQL_SITE_UPDATE_GET] =
		"SELECT id, name, routes, routes_from_conf, default_action, created_at, updated_at FROM sites "
		"WHERE id = $1",
	[KW_SQL_SITE_UPDATE_UPD] =
		"UPDATE sites SET name = $2, routes = $3, routes_from_conf = $4, default_action = $5, updated_at "
		"= $6 WHERE id = $1",
	[KW_SQL_SITE_DELETE_GET] =
		"SELECT id, name, routes, routes_from_conf, default_action, created_at, updated_at FROM sites "
		"WHERE id = $1",
	[KW_SQL_SITE_DELETE_UNLINK] =
		"DELETE FROM gateway_sites WHERE site_id = $1",
	[KW_SQL_SITE_DELETE_REVOKE] =
		"UPDATE enrollment_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND id IN (SELECT token_id"
		" FROM enrollment_token_sites WHERE site_id = $1)",
	[KW_SQL_SITE_DELETE_UNTOKEN] =
		"DELETE FROM enrollment_token_sites WHERE site_id = $1",
	[KW_SQL_SITE_DELETE_DEL] =
		"DELETE FROM sites WHERE id = $1",
	[KW_SQL_SITE_TOKEN_CREATE_INS] =
		"INSERT INTO enrollment_tokens (username, role, token_hash, created_at, expires_at, uses_total, "
		"uses_left, created_by) VALUES ($1, 'gateway', $2, $3, $4, $5, $6, $7) RETURNING id",
	[KW_SQL_SITE_TOKEN_CREATE_LINK] =
		"INSERT INTO enrollment_token_sites (token_id, site_id) SELECT $1::bigint, id FROM sites WHERE id"
		" = $2",
	[KW_SQL_SITE_TOKEN_LIST] =
		"SELECT t.token_id, s.name FROM enrollment_token_sites t JOIN sites s ON s.id = t.site_id ORDER "
		"BY t.token_id",
	[KW_SQL_SITE_GATEWAYS] =
		"SELECT d.id, s.id, s.name, d.hostname, d.state, d.public_key, d.address, d.address6, d.endpoint,"
		" d.listen_port, coalesce(h.online, 1), coalesce(h.last_seen, 0) FROM devices d JOIN "
		"gateway_sites g ON g.device_id = d.id JOIN sites s ON s.id = g.site_id LEFT JOIN gateway_health "
		"h ON h.device_id = d.id WHERE d.role = 'gateway' AND d.state != 'revoked' AND ($1::bigint = 0 OR"
		" s.id = $1) ORDER BY s.name, d.id",
	[KW_SQL_GATEWAY_SET_ONLINE_GET] =
		"SELECT coalesce((SELECT online FROM gateway_health WHERE device_id = $1), 1) FROM devices WHERE "
		"id = $1 AND role = 'gateway'",
	[KW_SQL_GATEWAY_SET_ONLINE_PUT] =
		"INSERT INTO gateway_health (device_id, online, last_seen, changed_at) VALUES ($1, $2, $3, $4) ON"
		" CONFLICT (device_id) DO UPDATE SET online = $2, last_seen = $3, changed_at = $4",
	[KW_SQL_GATEWAY_SET_ONLINE_BUMP] =
		"UPDATE meta SET value = $1 WHERE key = 'gateways_seq'",
	[KW_SQL_SITE_DEVICE_PEERS] =
		"SELECT id, username, public_key, address, address6 FROM devices WHERE role = 'device' AND state "
		"= 'active' ORDER BY id",
	[KW_SQL_POLICY_LIST] =
		"SELECT p.id, p.name, p.site_id, s.name, p.groups, p.users, p.destinations, p.created_at, "
		"p.updated_at FROM policies p JOIN sites s ON s.id = p.site_id WHERE $1::bigint = 0 OR p.site_id "
		"= $1 ORDER BY s.name, p.name",
	[KW_SQL_POLICY_GET] =
		"SELECT p.id, p.name, p.site_id, s.name, p.groups, p.users, p.destinations, p.created_at, "
		"p.updated_at FROM policies p JOIN sites s ON s.id = p.site_id WHERE p.id = $1",
	[KW_SQL_SITE_EXISTS] =
		"SELECT count(*) FROM sites WHERE id = $1",
	[KW_SQL_POLICY_WRITE_INS] =
		"INSERT INTO policies (name, site_id, groups, users, destinations, created_at, updated_at) "
		"VALUES ($2, $3, $4, $5, $6, $7, $7) RETURNING id, $1::bigint",
	[KW_SQL_POLICY_WRITE_UPD] =
		"UPDATE policies SET name = $2, site_id = $3, groups = $4, users = $5, destinations = $6, "
		"updated_at = $7 WHERE id = $1",
	[KW_SQL_POLICY_DELETE_DEL] =
		"DELETE FROM policies WHERE id = $1",
	[KW_SQL_POLICY_GROUPS] =
		"SELECT DISTINCT j.value #>> '{}' FROM policies p, json_array_elements(p.groups::json) AS "
		"j(value) WHERE json_typeof(j.value) = 'string' ORDER BY 1",
	[KW_SQL_GROUP_MEMBERS_LIST_ALL] =
		"SELECT group_name, username FROM group_members ORDER BY 1, 2",
	[KW_SQL_GROUP_MEMBERS_LIST_ONE] =
		"SELECT group_name, username FROM group_members WHERE username = $1 ORDER BY 1",
	[KW_SQL_GROUP_MEMBERS_REPLACE_CUR] =
		"SELECT username FROM group_members WHERE group_name = $1 ORDER BY username",
	[KW_SQL_GROUP_MEMBERS_REPLACE_DEL] =
		"DELETE FROM group_members WHERE group_name = $1",
	[KW_SQL_GROUP_MEMBERS_REPLACE_INS] =
		"INSERT INTO group_members (group_name, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
	[KW_SQL_SITE_USAGE] =
		"SELECT (SELECT count(*) FROM gateway_sites g JOIN devices d ON d.id = g.device_id "
		"WHERE g.site_id = $1 AND d.state != 'revoked'), (SELECT count(*) FROM policies WHERE site_id = $1)",
};
