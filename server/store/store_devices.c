/* Devices: enrollment (with IPAM), state changes, key rotation, per-user operations. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/ipam.h"
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

/* Row of "SELECT " DEV_COLS into the struct kw_device at arg. */
static int device_row(sqlite3_stmt *s, void *arg)
{
	struct kw_device *d = arg;
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
	return 0;
}

static const char device_by_id[] = "SELECT " DEV_COLS " FROM devices d WHERE d.id = ?";

static int device_get_conn(struct kw_conn *c, int64_t id, struct kw_device *out)
{
	return store_first_row(c, device_by_id, STORE_BINDS(STORE_INT(id)), device_row, out);
}

int store_device_get(struct kw_store *st, int64_t id, struct kw_device *out)
{
	return store_query_one(st, device_by_id, STORE_BINDS(STORE_INT(id)), device_row, out);
}

int store_device_by_token(struct kw_store *st, const uint8_t hash[KW_TOKEN_HASH_LEN], struct kw_device *out)
{
	static const char sql[] = "SELECT " DEV_COLS " FROM devices d WHERE d.token_hash = ?";

	return store_query_one(st, sql, STORE_BINDS(STORE_HASH(hash)), device_row, out);
}

/* A device listing: each row decoded into d and handed to fn. */
struct device_each {
	int (*fn)(const struct kw_device *d, void *arg);
	void *arg;
	struct kw_device d;
};

static int device_each(sqlite3_stmt *s, void *arg)
{
	struct device_each *e = arg;

	device_row(s, &e->d);
	return e->fn(&e->d, e->arg);
}

int store_device_list(struct kw_store *st, const char *username,
		      int (*fn)(const struct kw_device *d, void *arg), void *arg)
{
	static const char all[] = "SELECT " DEV_COLS " FROM devices d ORDER BY d.id";
	static const char one[] = "SELECT " DEV_COLS " FROM devices d WHERE d.username = ? ORDER BY d.id";
	struct device_each e = { .fn = fn, .arg = arg };

	if (!username)
		return store_query(st, all, NULL, 0, device_each, &e);
	return store_query(st, one, STORE_BINDS(STORE_TEXT(username)), device_each, &e);
}

struct count_each {
	int64_t (*counts)[2];
};

static int count_row(sqlite3_stmt *s, void *arg)
{
	struct count_each *e = arg;
	char state[16], role[16];
	enum kw_device_role r;

	store_col_text(s, 0, state, sizeof(state));
	store_col_text(s, 1, role, sizeof(role));
	if (store_role_parse(role, &r) == 0)
		e->counts[state_parse(state)][r] = store_col_int(s, 2);
	return 0;
}

int store_device_counts(struct kw_store *st, int64_t counts[3][2])
{
	static const char sql[] = "SELECT state, role, count(*) FROM devices GROUP BY state, role";
	struct count_each e = { counts };

	memset(counts, 0, sizeof(int64_t) * 3 * 2);
	return store_query(st, sql, NULL, 0, count_row, &e);
}

/* Peer rows: only the columns a config needs; the rest of e->d stays as set by the caller. */
static int peer_each(sqlite3_stmt *s, void *arg)
{
	struct device_each *e = arg;
	struct kw_device *d = &e->d;

	d->id = store_col_int(s, 0);
	store_col_text(s, 1, d->public_key, sizeof(d->public_key));
	store_col_text(s, 2, d->address, sizeof(d->address));
	store_col_text(s, 3, d->address6, sizeof(d->address6));
	store_col_text(s, 4, d->endpoint, sizeof(d->endpoint));
	d->listen_port = (int)store_col_int(s, 5);
	return e->fn(d, e->arg);
}

int store_peer_list(struct kw_store *st, enum kw_device_role role,
		    int (*fn)(const struct kw_device *d, void *arg), void *arg)
{
	static const char sql[] = "SELECT id, public_key, address, address6, endpoint, listen_port FROM devices "
				  "WHERE role = ? AND state = 'active' ORDER BY id";
	struct device_each e = { .fn = fn, .arg = arg };

	e.d.role = role;
	e.d.state = KW_STATE_ACTIVE;
	return store_query(st, sql, STORE_BINDS(STORE_TEXT(store_role_name(role))), peer_each, &e);
}

/* Record that a device of this role changed at seq: every peer of the other kind sees it. */
static int bump_role_seq(struct kw_conn *c, enum kw_device_role role, int64_t seq)
{
	static const char devs[] = "UPDATE meta SET value = ? WHERE key = 'devices_seq'";
	static const char gws[] = "UPDATE meta SET value = ? WHERE key = 'gateways_seq'";

	return store_exec(c, role == KW_DEV_DEVICE ? devs : gws, STORE_BINDS(STORE_INT(seq)));
}

/* Whose configs a change to a device of this role alters: the other role's. */
static int64_t change_scope(enum kw_device_role role)
{
	return role == KW_DEV_DEVICE ? KW_CHANGE_GATEWAYS : KW_CHANGE_DEVICES;
}

static int key_row(sqlite3_stmt *s, void *arg)
{
	return -EEXIST;
}

static int key_taken(struct kw_conn *c, const char *public_key)
{
	static const char sql[] = "SELECT 1 FROM devices WHERE public_key = ?1 "
				  "UNION ALL SELECT 1 FROM retired_keys WHERE public_key = ?1 LIMIT 1";
	int ret = store_first_row(c, sql, STORE_BINDS(STORE_TEXT(public_key)), key_row, NULL);

	return ret == -ENOENT ? 0 : ret;
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
	int ret, rc;

	*reuse = false;
	ret = store_prepare(c, max_sql, NULL, 0, &s);
	if (ret < 0)
		return ret;
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
	ret = store_prepare(c, gap_sql,
			    STORE_BINDS(STORE_INT((int64_t)st->pool_first), STORE_INT((int64_t)st->pool_last)), &s);
	if (ret < 0)
		return ret;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_int64(s, 0) <= (int64_t)st->pool_last) {
		*off = (uint64_t)sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_errno(c, rc);
	ret = store_prepare(c, old_sql,
			    STORE_BINDS(STORE_INT(now - st->net.quarantine), STORE_INT((int64_t)st->pool_first),
					STORE_INT((int64_t)st->pool_last)),
			    &s);
	if (ret < 0)
		return ret;
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

struct enroll_token_check {
	const struct kw_enroll_params *p;
	struct enroll_who *who;
};

/* The token's row: usable (0) or not (-EACCES: expired, used up, revoked, bad role). */
static int enroll_token_row(sqlite3_stmt *s, void *arg)
{
	const struct enroll_token_check *k = arg;
	struct enroll_who *who = k->who;
	char role[16];

	who->token_id = store_col_int(s, 0);
	store_col_text(s, 1, who->username, sizeof(who->username));
	store_col_text(s, 2, role, sizeof(role));
	if (store_role_parse(role, &who->role) == 0 && store_col_int(s, 3) > k->p->now &&
	    store_col_int(s, 4) > 0 && store_col_int(s, 5) == 0)
		return 0;
	return -EACCES;
}

static int enroll_check_token(struct kw_conn *c, const struct kw_enroll_params *p, struct enroll_who *who)
{
	static const char sql[] = "SELECT id, username, role, expires_at, uses_left, revoked_at IS NOT NULL "
				  "FROM enrollment_tokens WHERE token_hash = ?";
	struct enroll_token_check k = { p, who };
	int ret = store_first_row(c, sql, STORE_BINDS(STORE_HASH(p->token_hash)), enroll_token_row, &k);

	return ret == -ENOENT ? -EACCES : ret;
}

/* The address at host offset off of net, or -ERANGE when net does not hand that offset out
 * (outside it, or its network or broadcast address). */
static int format_offset(const struct kw_cidr *net, uint64_t off, char out[KW_CIDR_STRLEN])
{
	uint64_t first, last;
	struct kw_cidr a;
	int ret = ipam_pool_range(net, &first, &last);

	if (ret == 0 && (off < first || off > last))
		ret = -ERANGE;
	if (ret == 0)
		ret = ipam_address(net, off, &a);
	if (ret < 0)
		return ret;
	cidr_format(out, &a);
	return 0;
}

/*
 * A device's addresses are its host offset in the configured cidr (and cidr6). The text is
 * stored at enrollment, so when [network] cidr or cidr6 is changed, added or removed this
 * writes them again for every device: cidr6 gone, or an offset the prefix cannot hold, means
 * no IPv6 address; an offset the new cidr cannot hold refuses the change (-ERANGE, one line
 * naming the device) unless the device is revoked, whose old address nothing uses. Called by
 * store_open inside the transaction that bumps every config version, so a refusal changes
 * nothing.
 */
struct readdress {
	struct kw_store *st;
	struct kw_conn *c;
};

/* One device row (id, address_offset, state, address, address6): its addresses written again
 * where they changed (a [network] change that leaves them, e.g. a new mtu, writes nothing). */
static int readdress_row(sqlite3_stmt *s, void *arg)
{
	static const char upd[] = "UPDATE devices SET address = ?1, address6 = ?2 WHERE id = ?3";
	const struct readdress *r = arg;
	int64_t id = sqlite3_column_int64(s, 0), off = sqlite3_column_int64(s, 1);
	const char *state = (const char *)sqlite3_column_text(s, 2);
	const char *old = (const char *)sqlite3_column_text(s, 3), *old6 = (const char *)sqlite3_column_text(s, 4);
	char addr[KW_CIDR_STRLEN], addr6[KW_CIDR_STRLEN] = "", net[KW_CIDR_STRLEN];

	if (off <= 0 || format_offset(&r->st->net.cidr, (uint64_t)off, addr) < 0) {
		if (state && strcmp(state, "revoked") == 0)
			return 0;
		cidr_format(net, &r->st->net.cidr);
		log_error("store: [network] cidr %s cannot hold device %lld's address (host offset %lld): "
			  "use a network that can, or revoke the device first",
			  net, (long long)id, (long long)off);
		return -ERANGE;
	}
	if (r->st->net.has_cidr6 && format_offset(&r->st->net.cidr6, (uint64_t)off, addr6) < 0)
		addr6[0] = '\0';
	if (old && old6 && strcmp(old, addr) == 0 && strcmp(old6, addr6) == 0)
		return 0;
	return store_exec(r->c, upd, STORE_BINDS(STORE_TEXT(addr), STORE_TEXT(addr6), STORE_INT(id)));
}

int store_devices_readdress(struct kw_store *st, struct kw_conn *c)
{
	static const char sel[] = "SELECT id, address_offset, state, address, address6 FROM devices ORDER BY id";
	struct readdress r = { st, c };

	/* Changing columns no index covers while the scan is open is safe in SQLite. */
	return store_each_row(c, sel, NULL, 0, readdress_row, &r);
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
	uint64_t off = 0;
	bool reuse = false;
	int64_t seq, id;
	int ret;

	if (!st->has_net || (!p->token_hash == !p->ldap_username) || !p->public_key || !p->device_token_hash)
		return -EINVAL;
	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	if (p->token_hash) {
		ret = enroll_check_token(c, p, &who);
	} else {
		snprintf(who.username, sizeof(who.username), "%s", p->ldap_username);
		who.role = p->ldap_role;
		ret = store_enroll_user_limits(st, c, p);
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
	ret = store_exec_int(c, ins,
			     STORE_BINDS(STORE_TEXT(who.username), STORE_TEXT(p->hostname ? p->hostname : ""),
					 STORE_TEXT(store_role_name(who.role)), STORE_TEXT(p->public_key),
					 STORE_INT((int64_t)off), STORE_TEXT(addr), STORE_TEXT(addr6),
					 STORE_TEXT(who.role == KW_DEV_GATEWAY && p->endpoint ? p->endpoint : ""),
					 STORE_INT(who.role == KW_DEV_GATEWAY ? p->listen_port : 0),
					 STORE_HASH(p->device_token_hash),
					 who.token_id ? STORE_INT(who.token_id) : STORE_NULL, STORE_INT(seq),
					 STORE_INT(p->now), STORE_INT(p->now)),
			     &id);
	if (ret < 0)
		goto out;
	ret = store_exec(c, reuse ? lease_reuse : lease_new, STORE_BINDS(STORE_INT((int64_t)off), STORE_INT(id)));
	if (ret < 0)
		goto out;
	if (who.token_id) {
		ret = store_exec(c, spend, STORE_BINDS(STORE_INT(who.token_id)));
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
out:
	ret = store_write_end(st, c, ret);
	if (ret == 0)
		store_notify_change(st, change_scope(who.role));
	return ret;
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
out:
	ret = store_write_end(st, c, ret);
	if (ret < 0)
		return ret;
	store_notify_change(st, change_scope(d->role));
	store_notify_change(st, id);
	return 0;
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
	int64_t seq;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = tx_device(c, id, allowed[what], &d);
	if (ret < 0)
		goto out;
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;
	ret = store_exec(c, sqls[what],
			 STORE_BINDS(STORE_INT(id), STORE_INT(now), STORE_TEXT(reason ? reason : ""), STORE_INT(seq)));
	if (ret < 0)
		goto out;
	if (what == CH_REVOKE) {
		ret = store_exec(c, release_sql, STORE_BINDS(STORE_INT(now), STORE_INT(id)));
		if (ret < 0)
			goto out;
	}
	snprintf(detail, sizeof(detail), "username=%s%s%s", d.username, reason && *reason ? " reason=" : "",
		 reason ? reason : "");
	return device_change_commit(st, c, &d, id, seq, now, actor, actions[what], detail);
out:
	return store_write_end(st, c, ret);
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
	return store_device_rotate_key_limited(st, id, public_key, actor, now, 0);
}

int store_device_rotate_key_limited(struct kw_store *st, int64_t id, const char *public_key, const char *actor,
				    int64_t now, int max_per_hour)
{
	static const char retire[] = "INSERT INTO retired_keys (public_key, device_id, retired_at) VALUES (?, ?, ?)";
	static const char upd[] = "UPDATE devices SET public_key = ?2, own_seq = ?3, renewed_at = ?4 WHERE id = ?1";
	struct kw_device d;
	struct kw_conn *c;
	char detail[128];
	int64_t seq;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = tx_device(c, id, 1u << KW_STATE_ACTIVE, &d);
	if (ret < 0)
		goto out;
	ret = store_rotations_limit(c, id, max_per_hour, now);
	if (ret < 0)
		goto out;
	ret = key_taken(c, public_key);
	if (ret < 0)
		goto out;
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;
	ret = store_exec(c, retire, STORE_BINDS(STORE_TEXT(d.public_key), STORE_INT(id), STORE_INT(now)));
	if (ret < 0)
		goto out;
	ret = store_exec(c, upd, STORE_BINDS(STORE_INT(id), STORE_TEXT(public_key), STORE_INT(seq), STORE_INT(now)));
	if (ret < 0)
		goto out;
	snprintf(detail, sizeof(detail), "old_key=%.44s", d.public_key);
	return device_change_commit(st, c, &d, id, seq, now, actor, "rotate_key", detail);
out:
	return store_write_end(st, c, ret);
}

int store_device_renew(struct kw_store *st, int64_t id, int64_t now)
{
	static const char upd[] = "UPDATE devices SET own_seq = ?2, renewed_at = ?3 WHERE id = ?1 AND state = 'active'";
	struct kw_conn *c;
	int64_t seq;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_seq_next(c, &seq);
	if (ret == 0)
		ret = store_exec(c, upd, STORE_BINDS(STORE_INT(id), STORE_INT(seq), STORE_INT(now)));
	ret = store_write_end(st, c, ret);
	if (ret == 0)
		store_notify_change(st, id); /* only this device's config changed */
	return ret;
}

struct user_each {
	int (*fn)(const char *username, int active, int suspended, int64_t oldest_suspended_at, void *arg);
	void *arg;
};

static int user_each(sqlite3_stmt *s, void *arg)
{
	const struct user_each *e = arg;
	char name[KW_STORE_NAME_MAX];

	store_col_text(s, 0, name, sizeof(name));
	return e->fn(name, sqlite3_column_int(s, 1), sqlite3_column_int(s, 2), sqlite3_column_int64(s, 3), e->arg);
}

int store_user_list(struct kw_store *st,
		    int (*fn)(const char *username, int active, int suspended, int64_t oldest_suspended_at,
			      void *arg),
		    void *arg)
{
	static const char sql[] =
		"SELECT username, sum(state = 'active'), sum(state = 'suspended'), coalesce(min(suspended_at), 0) "
		"FROM devices WHERE state != 'revoked' GROUP BY username ORDER BY username";
	struct user_each e = { fn, arg };

	return store_query(st, sql, NULL, 0, user_each, &e);
}

enum user_change { UC_SUSPEND, UC_RESTORE, UC_REVOKE };

/* What a per-user UPDATE ... RETURNING role touched: how many devices, of which roles. */
struct user_changed {
	int n;
	bool roles[2];
};

static int user_changed_row(sqlite3_stmt *s, void *arg)
{
	struct user_changed *ch = arg;
	enum kw_device_role r;
	char role[16];

	store_col_text(s, 0, role, sizeof(role));
	if (store_role_parse(role, &r) == 0)
		ch->roles[r] = true;
	ch->n++;
	return 0;
}

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
	char object[KW_STORE_NAME_MAX + 8], detail[KW_STORE_NAME_MAX + 32];
	struct user_changed ch = { .n = 0 };
	struct kw_conn *c;
	int64_t seq;
	int ret;

	*count = 0;
	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_seq_next(c, &seq);
	if (ret < 0)
		goto out;
	if (what == UC_REVOKE) {
		ret = store_exec(c, release_sql, STORE_BINDS(STORE_TEXT(username), STORE_INT(now)));
		if (ret < 0)
			goto out;
	}
	ret = store_each_row(c, sqls[what],
			     STORE_BINDS(STORE_TEXT(username), STORE_INT(now), STORE_TEXT(reason ? reason : ""),
					 STORE_INT(seq)),
			     user_changed_row, &ch);
	if (ret < 0)
		goto out;
	if (ch.n == 0) {
		/* Nothing changed: no audit row, no version bump. */
		store_tx_rollback(st, c);
		store_conn_put(st, c);
		return 0;
	}
	for (int r = 0; r < 2; r++) {
		if (ch.roles[r]) {
			ret = bump_role_seq(c, (enum kw_device_role)r, seq);
			if (ret < 0)
				goto out;
		}
	}
	snprintf(object, sizeof(object), "user:%s", username);
	snprintf(detail, sizeof(detail), "devices=%d%s%s", ch.n, reason && *reason ? " reason=" : "",
		 reason ? reason : "");
	ret = store_audit_insert(c, now, actor, actions[what], object, "success", detail);
out:
	ret = store_write_end(st, c, ret);
	if (ret < 0)
		return ret;
	*count = ch.n;
	store_notify_change(st, KW_CHANGE_ALL); /* the user's own devices too */
	return 0;
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
