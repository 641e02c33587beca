/* Devices: enrollment (with IPAM), state changes, key rotation, per-user operations. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipam.h"
#include "log.h"
#include "store_internal.h"

#define DEV_COLS                                                                                  \
	"d.id, d.username, d.hostname, d.role, d.state, d.state_reason, d.public_key, d.address, "   \
	"d.address6, d.endpoint, d.listen_port, d.created_at, coalesce(d.suspended_at, 0), "          \
	"coalesce(d.revoked_at, 0), d.renewed_at, "                                                   \
	"CASE d.role WHEN 'device' THEN max(d.own_seq, (SELECT value FROM meta WHERE key = 'gateways_seq')) " \
	"ELSE max(d.own_seq, (SELECT value FROM meta WHERE key = 'devices_seq')) END"

static const char *const role_names[] = { "device", "gateway" };
static const char *const state_names[] = { "active", "suspended", "revoked" };

const char *store_role_name(enum kw_device_role r)
{
	return (unsigned)r < 2 ? role_names[r] : "?";
}

int store_role_parse(const char *s, enum kw_device_role *r)
{
	for (unsigned i = 0; i < 2; i++) {
		if (s && strcmp(s, role_names[i]) == 0) {
			*r = (enum kw_device_role)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *store_state_name(enum kw_device_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "?";
}

static enum kw_device_state state_parse(const char *s)
{
	for (unsigned i = 0; i < 3; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum kw_device_state)i;
	return KW_STATE_REVOKED; /* unknown: fail closed */
}

static void device_from_row(sqlite3_stmt *s, struct kw_device *d)
{
	char buf[32];

	memset(d, 0, sizeof(*d));
	d->id = store_col_int(s, 0);
	store_col_text(s, 1, d->username, sizeof(d->username));
	store_col_text(s, 2, d->hostname, sizeof(d->hostname));
	store_col_text(s, 3, buf, sizeof(buf));
	if (store_role_parse(buf, &d->role) < 0)
		d->role = KW_DEV_DEVICE;
	store_col_text(s, 4, buf, sizeof(buf));
	d->state = state_parse(buf);
	store_col_text(s, 5, d->state_reason, sizeof(d->state_reason));
	store_col_text(s, 6, d->public_key, sizeof(d->public_key));
	store_col_text(s, 7, d->address, sizeof(d->address));
	store_col_text(s, 8, d->address6, sizeof(d->address6));
	store_col_text(s, 9, d->endpoint, sizeof(d->endpoint));
	d->listen_port = (int)store_col_int(s, 10);
	d->created_at = store_col_int(s, 11);
	d->suspended_at = store_col_int(s, 12);
	d->revoked_at = store_col_int(s, 13);
	d->renewed_at = store_col_int(s, 14);
	d->version = store_col_int(s, 15);
}

static int device_get_conn(struct kw_conn *c, int64_t id, struct kw_device *out)
{
	static const char sql[] = "SELECT " DEV_COLS " FROM devices d WHERE d.id = ?";
	sqlite3_stmt *s = store_stmt(c, sql);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		device_from_row(s, out);
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? -ENOENT : store_errno(c, rc);
}

int store_device_get(struct kw_store *st, int64_t id, struct kw_device *out)
{
	struct kw_conn *c;
	int ret = store_conn_get(st, &c);

	if (ret < 0)
		return ret;
	ret = device_get_conn(c, id, out);
	store_conn_put(st, c);
	return ret;
}

int store_device_by_token(struct kw_store *st, const uint8_t hash[KW_TOKEN_HASH_LEN], struct kw_device *out)
{
	static const char sql[] = "SELECT " DEV_COLS " FROM devices d WHERE d.token_hash = ?";
	struct kw_conn *c;
	sqlite3_stmt *s;
	int ret, rc;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	s = store_stmt(c, sql);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_blob(s, 1, hash, KW_TOKEN_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		device_from_row(s, out);
	ret = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : store_errno(c, rc);
out:
	store_conn_put(st, c);
	return ret;
}

static int list_rows(struct kw_store *st, const char *sql, const char *text, int role,
		     int (*fn)(const struct kw_device *d, void *arg), void *arg)
{
	struct kw_conn *c;
	struct kw_device d;
	sqlite3_stmt *s;
	int ret, rc;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	s = store_stmt(c, sql);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	if (text)
		sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
	if (role >= 0)
		sqlite3_bind_text(s, 1, store_role_name((enum kw_device_role)role), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		device_from_row(s, &d);
		ret = fn(&d, arg);
		if (ret < 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : store_errno(c, rc);
out:
	store_conn_put(st, c);
	return ret;
}

int store_device_list(struct kw_store *st, const char *username,
		      int (*fn)(const struct kw_device *d, void *arg), void *arg)
{
	static const char all[] = "SELECT " DEV_COLS " FROM devices d ORDER BY d.id";
	static const char one[] = "SELECT " DEV_COLS " FROM devices d WHERE d.username = ? ORDER BY d.id";

	return list_rows(st, username ? one : all, username, -1, fn, arg);
}

int store_peer_list(struct kw_store *st, enum kw_device_role role,
		    int (*fn)(const struct kw_device *d, void *arg), void *arg)
{
	static const char sql[] = "SELECT id, public_key, address, address6, endpoint, listen_port FROM devices "
				  "WHERE role = ? AND state = 'active' ORDER BY id";
	struct kw_conn *c;
	struct kw_device d;
	sqlite3_stmt *s;
	int ret, rc;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	s = store_stmt(c, sql);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_text(s, 1, store_role_name(role), -1, SQLITE_STATIC);
	memset(&d, 0, sizeof(d));
	d.role = role;
	d.state = KW_STATE_ACTIVE;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		d.id = store_col_int(s, 0);
		store_col_text(s, 1, d.public_key, sizeof(d.public_key));
		store_col_text(s, 2, d.address, sizeof(d.address));
		store_col_text(s, 3, d.address6, sizeof(d.address6));
		store_col_text(s, 4, d.endpoint, sizeof(d.endpoint));
		d.listen_port = (int)store_col_int(s, 5);
		ret = fn(&d, arg);
		if (ret < 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : store_errno(c, rc);
out:
	store_conn_put(st, c);
	return ret;
}

/* Record that a device of this role changed at seq: every peer of the other kind sees it. */
static int bump_role_seq(struct kw_conn *c, enum kw_device_role role, int64_t seq)
{
	static const char devs[] = "UPDATE meta SET value = ? WHERE key = 'devices_seq'";
	static const char gws[] = "UPDATE meta SET value = ? WHERE key = 'gateways_seq'";
	sqlite3_stmt *s = store_stmt(c, role == KW_DEV_DEVICE ? devs : gws);

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, seq);
	return store_step_done(c, s);
}

/* Whose configs a change to a device of this role alters: the other role's. */
static int64_t change_scope(enum kw_device_role role)
{
	return role == KW_DEV_DEVICE ? KW_CHANGE_GATEWAYS : KW_CHANGE_DEVICES;
}

static int key_taken(struct kw_conn *c, const char *public_key)
{
	static const char sql[] = "SELECT 1 FROM devices WHERE public_key = ?1 "
				  "UNION ALL SELECT 1 FROM retired_keys WHERE public_key = ?1 LIMIT 1";
	sqlite3_stmt *s = store_stmt(c, sql);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, public_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return -EEXIST;
	return rc == SQLITE_DONE ? 0 : store_errno(c, rc);
}

/*
 * The next free host offset: one past the highest ever leased while the pool lasts, then
 * the longest-released lease whose quarantine is over. *reuse says the lease row exists.
 */
static int ipam_pick(struct kw_store *st, struct kw_conn *c, int64_t now, uint64_t *off, bool *reuse)
{
	static const char max_sql[] = "SELECT max(address_offset) FROM address_leases";
	static const char old_sql[] = "SELECT address_offset FROM address_leases WHERE released_at IS NOT NULL "
				      "AND released_at <= ? AND address_offset BETWEEN ? AND ? "
				      "ORDER BY released_at, address_offset LIMIT 1";
	static const char gap_sql[] =
		"SELECT o FROM (SELECT ?1 AS o UNION ALL SELECT address_offset + 1 FROM address_leases "
		"WHERE address_offset BETWEEN ?1 AND ?2 - 1) "
		"WHERE o NOT IN (SELECT address_offset FROM address_leases) ORDER BY o LIMIT 1";
	sqlite3_stmt *s;
	int rc;

	*reuse = false;
	s = store_stmt(c, max_sql);
	if (!s)
		return -EIO;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store_errno(c, rc) ?: -EIO;
	if (sqlite3_column_type(s, 0) == SQLITE_NULL) {
		*off = st->pool_first;
		sqlite3_reset(s);
		return 0;
	}
	{
		int64_t max = sqlite3_column_int64(s, 0);

		sqlite3_reset(s);
		if (max >= (int64_t)st->pool_first - 1 && max < (int64_t)st->pool_last) {
			*off = (uint64_t)(max < (int64_t)st->pool_first ? (int64_t)st->pool_first : max + 1);
			return 0;
		}
	}
	/* Past the end (or the network changed): any hole below, then quarantine-expired leases. */
	s = store_stmt(c, gap_sql);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, (int64_t)st->pool_first);
	sqlite3_bind_int64(s, 2, (int64_t)st->pool_last);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_int64(s, 0) <= (int64_t)st->pool_last) {
		*off = (uint64_t)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_errno(c, rc);
	s = store_stmt(c, old_sql);
	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, now - st->net.quarantine);
	sqlite3_bind_int64(s, 2, (int64_t)st->pool_first);
	sqlite3_bind_int64(s, 3, (int64_t)st->pool_last);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*off = (uint64_t)sqlite3_column_int64(s, 0);
		*reuse = true;
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? -ENOSPC : store_errno(c, rc);
}

struct enroll_who {
	char username[KW_STORE_NAME_MAX];
	enum kw_device_role role;
	int64_t token_id; /* 0 for an LDAP enrollment */
};

static int enroll_check_token(struct kw_conn *c, const struct kw_enroll_params *p, struct enroll_who *who)
{
	static const char sql[] = "SELECT id, username, role, expires_at, uses_left, revoked_at IS NOT NULL "
				  "FROM enrollment_tokens WHERE token_hash = ?";
	sqlite3_stmt *s = store_stmt(c, sql);
	char role[16];
	int rc, ret = -EACCES;

	if (!s)
		return -EIO;
	sqlite3_bind_blob(s, 1, p->token_hash, KW_TOKEN_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? -EACCES : store_errno(c, rc);
	}
	who->token_id = store_col_int(s, 0);
	store_col_text(s, 1, who->username, sizeof(who->username));
	store_col_text(s, 2, role, sizeof(role));
	if (store_role_parse(role, &who->role) == 0 && store_col_int(s, 3) > p->now &&
	    store_col_int(s, 4) > 0 && store_col_int(s, 5) == 0)
		ret = 0;
	sqlite3_reset(s);
	return ret;
}

static int enroll_check_limit(struct kw_conn *c, const struct kw_enroll_params *p)
{
	static const char sql[] = "SELECT count(*) FROM devices WHERE username = ? AND state != 'revoked'";
	sqlite3_stmt *s;
	int64_t n;
	int rc;

	if (p->max_devices <= 0)
		return 0;
	s = store_stmt(c, sql);
	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, p->ldap_username, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store_errno(c, rc) ?: -EIO;
	n = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return n >= p->max_devices ? -EDQUOT : 0;
}

static int format_offset(const struct kw_cidr *net, uint64_t off, char out[KW_CIDR_STRLEN])
{
	struct kw_cidr a;
	int ret = ipam_address(net, off, &a);

	if (ret < 0)
		return ret;
	cidr_format(out, &a);
	return 0;
}

/*
 * A device's IPv6 address is its host offset in the configured cidr6, like its IPv4 one in
 * cidr. The text is stored at enrollment, so when [network] cidr6 is added, moved or removed
 * this writes it again for every device (no cidr6, or an offset the prefix cannot hold:
 * none). Called by store_open inside the transaction that bumps every config version.
 */
int store_devices_readdress6(struct kw_store *st, struct kw_conn *c)
{
	static const char sel[] = "SELECT id, address_offset FROM devices ORDER BY id";
	static const char upd[] = "UPDATE devices SET address6 = ?1 WHERE id = ?2";
	char addr6[KW_CIDR_STRLEN];
	sqlite3_stmt *s, *u;
	int ret = 0, rc;

	s = store_stmt(c, sel);
	u = store_stmt(c, upd);
	if (!s || !u)
		return -EIO;
	/* Changing a column no index covers while the scan is open is safe in SQLite. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t off = sqlite3_column_int64(s, 1);

		addr6[0] = '\0';
		if (st->net.has_cidr6 && off > 0 && format_offset(&st->net.cidr6, (uint64_t)off, addr6) < 0)
			addr6[0] = '\0';
		sqlite3_bind_text(u, 1, addr6, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(u, 2, sqlite3_column_int64(s, 0));
		ret = store_step_done(c, u);
		sqlite3_reset(u);
		if (ret < 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_errno(c, rc) ?: -EIO;
	sqlite3_reset(s);
	return ret;
}

int store_enroll(struct kw_store *st, const struct kw_enroll_params *p, struct kw_device *out)
{
	static const char ins[] =
		"INSERT INTO devices (username, hostname, role, public_key, address_offset, address, address6, "
		"endpoint, listen_port, token_hash, enrollment_token_id, own_seq, renewed_at, created_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
	static const char lease_new[] = "INSERT INTO address_leases (address_offset, device_id) VALUES (?, ?)";
	static const char lease_reuse[] =
		"UPDATE address_leases SET device_id = ?2, released_at = NULL WHERE address_offset = ?1";
	static const char spend[] = "UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE id = ?";
	struct enroll_who who = { .token_id = 0 };
	char addr[KW_CIDR_STRLEN], addr6[KW_CIDR_STRLEN] = "", object[48], detail[512], actor[48];
	struct kw_conn *c;
	sqlite3_stmt *s;
	uint64_t off = 0;
	bool reuse = false;
	int64_t seq, id;
	int ret, rc;

	if (!st->has_net || (!p->token_hash == !p->ldap_username) || !p->public_key || !p->device_token_hash)
		return -EINVAL;
	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = store_tx_begin(st, c);
	if (ret < 0)
		goto put;
	if (p->token_hash) {
		ret = enroll_check_token(c, p, &who);
	} else {
		snprintf(who.username, sizeof(who.username), "%s", p->ldap_username);
		who.role = p->ldap_role;
		ret = enroll_check_limit(c, p);
	}
	if (ret < 0)
		goto out;
	ret = key_taken(c, p->public_key);
	if (ret < 0)
		goto out;
	ret = ipam_pick(st, c, p->now, &off, &reuse);
	if (ret < 0)
		goto out;
	ret = format_offset(&st->net.cidr, off, addr);
	if (ret == 0 && st->net.has_cidr6)
		ret = format_offset(&st->net.cidr6, off, addr6);
	if (ret < 0)
		goto out;
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;

	s = store_stmt(c, ins);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_text(s, 1, who.username, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, p->hostname ? p->hostname : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, store_role_name(who.role), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, p->public_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (int64_t)off);
	sqlite3_bind_text(s, 6, addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, addr6, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, who.role == KW_DEV_GATEWAY && p->endpoint ? p->endpoint : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 9, who.role == KW_DEV_GATEWAY ? p->listen_port : 0);
	sqlite3_bind_blob(s, 10, p->device_token_hash, KW_TOKEN_HASH_LEN, SQLITE_STATIC);
	if (who.token_id)
		sqlite3_bind_int64(s, 11, who.token_id);
	else
		sqlite3_bind_null(s, 11);
	sqlite3_bind_int64(s, 12, seq);
	sqlite3_bind_int64(s, 13, p->now);
	sqlite3_bind_int64(s, 14, p->now);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		ret = store_errno(c, rc) ?: -EIO;
		goto out;
	}
	id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);

	s = store_stmt(c, reuse ? lease_reuse : lease_new);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_int64(s, 1, (int64_t)off);
	sqlite3_bind_int64(s, 2, id);
	ret = store_step_done(c, s);
	if (ret < 0)
		goto out;
	if (who.token_id) {
		s = store_stmt(c, spend);
		if (!s) {
			ret = -EIO;
			goto out;
		}
		sqlite3_bind_int64(s, 1, who.token_id);
		ret = store_step_done(c, s);
		if (ret < 0)
			goto out;
	}
	ret = bump_role_seq(c, who.role, seq);
	if (ret < 0)
		goto out;
	snprintf(object, sizeof(object), "device:%lld", (long long)id);
	snprintf(detail, sizeof(detail), "username=%s role=%s address=%s via=%s", who.username,
		 store_role_name(who.role), addr, who.token_id ? "token" : "ldap");
	snprintf(actor, sizeof(actor), "enrollment-token:%lld", (long long)who.token_id);
	ret = store_audit_insert(c, p->now, p->actor && *p->actor ? p->actor : actor, "enroll", object, "success",
				 detail);
	if (ret < 0)
		goto out;
	ret = device_get_conn(c, id, out);
	if (ret < 0)
		goto out;
	ret = store_tx_commit(st, c);
	if (ret == 0) {
		store_conn_put(st, c);
		store_notify_change(st, change_scope(who.role));
		return 0;
	}
out:
	store_tx_rollback(st, c);
put:
	store_conn_put(st, c);
	if (ret == -EEXIST || ret == -ENOSPC || ret == -EACCES || ret == -EDQUOT)
		return ret;
	return ret < 0 ? ret : -EIO;
}

/* Load the device inside the transaction and check its state is one of `allowed` (bit mask). */
static int tx_device(struct kw_conn *c, int64_t id, unsigned allowed, struct kw_device *d)
{
	int ret = device_get_conn(c, id, d);

	if (ret < 0)
		return ret;
	return (allowed & (1u << d->state)) ? 0 : -EPERM;
}

/*
 * The common end of a change to one device inside an open transaction: bump the role's
 * config sequence, write the audit row "device:ID", commit, and wake whoever long-polls
 * (the device's role scope and the device itself: a 403 or 401 at once). Always gives the
 * connection back; rolls back on failure.
 */
static int device_change_commit(struct kw_store *st, struct kw_conn *c, const struct kw_device *d,
				int64_t id, int64_t seq, int64_t now, const char *actor,
				const char *action, const char *detail)
{
	char object[48];
	int ret;

	ret = bump_role_seq(c, d->role, seq);
	if (ret < 0)
		goto out;
	snprintf(object, sizeof(object), "device:%lld", (long long)id);
	ret = store_audit_insert(c, now, actor, action, object, "success", detail);
	if (ret < 0)
		goto out;
	ret = store_tx_commit(st, c);
	if (ret < 0)
		goto out;
	store_conn_put(st, c);
	store_notify_change(st, change_scope(d->role));
	store_notify_change(st, id);
	return 0;
out:
	store_tx_rollback(st, c);
	store_conn_put(st, c);
	return ret;
}

enum dev_change { CH_REVOKE, CH_SUSPEND, CH_RESTORE };

static int device_change(struct kw_store *st, int64_t id, enum dev_change what, const char *reason,
			 const char *actor, int64_t now)
{
	static const char revoke_sql[] = "UPDATE devices SET state = 'revoked', revoked_at = ?2, suspended_at = NULL, "
					 "state_reason = ?3, own_seq = ?4 WHERE id = ?1";
	static const char suspend_sql[] = "UPDATE devices SET state = 'suspended', suspended_at = ?2, "
					  "state_reason = ?3, own_seq = ?4 WHERE id = ?1";
	static const char restore_sql[] = "UPDATE devices SET state = 'active', suspended_at = NULL, "
					  "state_reason = '', own_seq = ?4, renewed_at = ?2 WHERE id = ?1 AND ?3 IS NOT NULL";
	static const char release_sql[] = "UPDATE address_leases SET released_at = ? WHERE device_id = ?";
	static const char *const actions[] = { "revoke", "suspend", "restore" };
	static const unsigned allowed[] = {
		(1u << KW_STATE_ACTIVE) | (1u << KW_STATE_SUSPENDED),
		1u << KW_STATE_ACTIVE,
		1u << KW_STATE_SUSPENDED,
	};
	const char *sqls[] = { revoke_sql, suspend_sql, restore_sql };
	struct kw_device d;
	struct kw_conn *c;
	char detail[KW_STORE_NAME_MAX + 32];
	sqlite3_stmt *s;
	int64_t seq;
	int ret;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = store_tx_begin(st, c);
	if (ret < 0)
		goto put;
	ret = tx_device(c, id, allowed[what], &d);
	if (ret < 0)
		goto out;
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;
	s = store_stmt(c, sqls[what]);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, seq);
	ret = store_step_done(c, s);
	if (ret < 0)
		goto out;
	if (what == CH_REVOKE) {
		s = store_stmt(c, release_sql);
		if (!s) {
			ret = -EIO;
			goto out;
		}
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, id);
		ret = store_step_done(c, s);
		if (ret < 0)
			goto out;
	}
	snprintf(detail, sizeof(detail), "username=%s%s%s", d.username, reason && *reason ? " reason=" : "",
		 reason ? reason : "");
	return device_change_commit(st, c, &d, id, seq, now, actor, actions[what], detail);
out:
	store_tx_rollback(st, c);
put:
	store_conn_put(st, c);
	return ret;
}

int store_device_revoke(struct kw_store *st, int64_t id, const char *actor, int64_t now)
{
	return device_change(st, id, CH_REVOKE, "", actor, now);
}

int store_device_suspend(struct kw_store *st, int64_t id, const char *reason, const char *actor, int64_t now)
{
	return device_change(st, id, CH_SUSPEND, reason, actor, now);
}

int store_device_restore(struct kw_store *st, int64_t id, const char *actor, int64_t now)
{
	return device_change(st, id, CH_RESTORE, "", actor, now);
}

int store_device_rotate_key(struct kw_store *st, int64_t id, const char *public_key, const char *actor,
			    int64_t now)
{
	static const char retire[] = "INSERT INTO retired_keys (public_key, device_id, retired_at) VALUES (?, ?, ?)";
	static const char upd[] = "UPDATE devices SET public_key = ?2, own_seq = ?3, renewed_at = ?4 WHERE id = ?1";
	struct kw_device d;
	struct kw_conn *c;
	char detail[128];
	sqlite3_stmt *s;
	int64_t seq;
	int ret;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = store_tx_begin(st, c);
	if (ret < 0)
		goto put;
	ret = tx_device(c, id, 1u << KW_STATE_ACTIVE, &d);
	if (ret < 0)
		goto out;
	ret = key_taken(c, public_key);
	if (ret < 0)
		goto out;
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;
	s = store_stmt(c, retire);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_text(s, 1, d.public_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	sqlite3_bind_int64(s, 3, now);
	ret = store_step_done(c, s);
	if (ret < 0)
		goto out;
	s = store_stmt(c, upd);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, public_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, seq);
	sqlite3_bind_int64(s, 4, now);
	ret = store_step_done(c, s);
	if (ret < 0)
		goto out;
	snprintf(detail, sizeof(detail), "old_key=%.44s", d.public_key);
	return device_change_commit(st, c, &d, id, seq, now, actor, "rotate_key", detail);
out:
	store_tx_rollback(st, c);
put:
	store_conn_put(st, c);
	return ret;
}

int store_device_renew(struct kw_store *st, int64_t id, int64_t now)
{
	static const char upd[] = "UPDATE devices SET own_seq = ?2, renewed_at = ?3 WHERE id = ?1 AND state = 'active'";
	struct kw_conn *c;
	sqlite3_stmt *s;
	int64_t seq;
	int ret;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = store_tx_begin(st, c);
	if (ret < 0)
		goto put;
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;
	s = store_stmt(c, upd);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, seq);
	sqlite3_bind_int64(s, 3, now);
	ret = store_step_done(c, s);
	if (ret < 0)
		goto out;
	ret = store_tx_commit(st, c);
	if (ret == 0) {
		store_conn_put(st, c);
		store_notify_change(st, id); /* only this device's config changed */
		return 0;
	}
out:
	store_tx_rollback(st, c);
put:
	store_conn_put(st, c);
	return ret;
}

int store_user_list(struct kw_store *st,
		    int (*fn)(const char *username, int active, int suspended, int64_t oldest_suspended_at,
			      void *arg),
		    void *arg)
{
	static const char sql[] =
		"SELECT username, sum(state = 'active'), sum(state = 'suspended'), coalesce(min(suspended_at), 0) "
		"FROM devices WHERE state != 'revoked' GROUP BY username ORDER BY username";
	char name[KW_STORE_NAME_MAX];
	struct kw_conn *c;
	sqlite3_stmt *s;
	int ret, rc;

	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	s = store_stmt(c, sql);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_col_text(s, 0, name, sizeof(name));
		ret = fn(name, sqlite3_column_int(s, 1), sqlite3_column_int(s, 2), sqlite3_column_int64(s, 3), arg);
		if (ret < 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : store_errno(c, rc);
out:
	store_conn_put(st, c);
	return ret;
}

enum user_change { UC_SUSPEND, UC_RESTORE, UC_REVOKE };

static int user_change(struct kw_store *st, const char *username, enum user_change what, const char *reason,
		       const char *actor, int64_t now, int *count)
{
	static const char suspend_sql[] =
		"UPDATE devices SET state = 'suspended', suspended_at = ?2, state_reason = ?3, own_seq = ?4 "
		"WHERE username = ?1 AND state = 'active' RETURNING role";
	static const char restore_sql[] =
		"UPDATE devices SET state = 'active', suspended_at = NULL, state_reason = '', own_seq = ?4, "
		"renewed_at = ?2 WHERE username = ?1 AND state = 'suspended' AND ?3 IS NOT NULL RETURNING role";
	static const char release_sql[] =
		"UPDATE address_leases SET released_at = ?2 WHERE device_id IN "
		"(SELECT id FROM devices WHERE username = ?1 AND state != 'revoked')";
	static const char revoke_sql[] =
		"UPDATE devices SET state = 'revoked', revoked_at = ?2, suspended_at = NULL, state_reason = ?3, "
		"own_seq = ?4 WHERE username = ?1 AND state != 'revoked' RETURNING role";
	static const char *const actions[] = { "suspend_user", "restore_user", "revoke_user" };
	const char *sqls[] = { suspend_sql, restore_sql, revoke_sql };
	char object[KW_STORE_NAME_MAX + 8], detail[KW_STORE_NAME_MAX + 32], role[16];
	bool roles[2] = { false, false };
	struct kw_conn *c;
	sqlite3_stmt *s;
	int64_t seq;
	int ret, rc, n = 0;

	*count = 0;
	ret = store_conn_get(st, &c);
	if (ret < 0)
		return ret;
	ret = store_tx_begin(st, c);
	if (ret < 0)
		goto put;
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;
	if (what == UC_REVOKE) {
		s = store_stmt(c, release_sql);
		if (!s) {
			ret = -EIO;
			goto out;
		}
		sqlite3_bind_text(s, 1, username, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, now);
		ret = store_step_done(c, s);
		if (ret < 0)
			goto out;
	}
	s = store_stmt(c, sqls[what]);
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_text(s, 1, username, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, seq);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		enum kw_device_role r;

		store_col_text(s, 0, role, sizeof(role));
		if (store_role_parse(role, &r) == 0)
			roles[r] = true;
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		ret = store_errno(c, rc) ?: -EIO;
		goto out;
	}
	if (n == 0) {
		/* Nothing changed: no audit row, no version bump. */
		store_tx_rollback(st, c);
		store_conn_put(st, c);
		return 0;
	}
	for (int r = 0; r < 2; r++) {
		if (roles[r]) {
			ret = bump_role_seq(c, (enum kw_device_role)r, seq);
			if (ret < 0)
				goto out;
		}
	}
	snprintf(object, sizeof(object), "user:%s", username);
	snprintf(detail, sizeof(detail), "devices=%d%s%s", n, reason && *reason ? " reason=" : "",
		 reason ? reason : "");
	ret = store_audit_insert(c, now, actor, actions[what], object, "success", detail);
	if (ret < 0)
		goto out;
	ret = store_tx_commit(st, c);
	if (ret == 0) {
		store_conn_put(st, c);
		*count = n;
		store_notify_change(st, KW_CHANGE_ALL); /* the user's own devices too */
		return 0;
	}
out:
	store_tx_rollback(st, c);
put:
	store_conn_put(st, c);
	return ret;
}

int store_user_suspend(struct kw_store *st, const char *username, const char *reason, const char *actor,
		       int64_t now, int *count)
{
	return user_change(st, username, UC_SUSPEND, reason, actor, now, count);
}

int store_user_restore(struct kw_store *st, const char *username, const char *actor, int64_t now, int *count)
{
	return user_change(st, username, UC_RESTORE, "", actor, now, count);
}

int store_user_revoke(struct kw_store *st, const char *username, const char *reason, const char *actor,
		      int64_t now, int *count)
{
	return user_change(st, username, UC_REVOKE, reason, actor, now, count);
}
