/*
 * Limits the store enforces inside the transaction of the change they guard, so that
 * concurrent requests can never get past them: how many devices and enrollments a user of
 * self-service enrollment may have, the share of the address pool kept for enrollment
 * tokens, key rotations per device, and the age of the audit trail.
 */
#include "config.h"

#include <errno.h>

#include "store_internal.h"

/*
 * A self-service (LDAP or session) enrollment for p->ldap_username:
 * - max_devices counts the devices not revoked plus the revoked ones whose address is still
 *   in quarantine: enrolling and revoking in a loop cannot hold more addresses than that;
 * - max_per_hour bounds the self-service enrollments of the last hour (-EAGAIN past it; an
 *   admin's enrollment tokens for the user do not count);
 * - the last sixteenth of the pool is kept for enrollment tokens (an admin's): a user alone
 *   can never exhaust the pool for everyone (-ENOSPC).
 */
int store_enroll_user_limits(struct kw_store *st, struct kw_conn *c, const struct kw_enroll_params *p)
{
	static const char held_sql[] = "SELECT count(*) FROM devices WHERE username = ?1 AND "
				       "(state != 'revoked' OR revoked_at > ?2)";
	static const char hour_sql[] = "SELECT count(*) FROM devices WHERE username = ?1 AND created_at > ?2 "
				       "AND enrollment_token_id IS NULL";
	static const char used_sql[] = "SELECT count(*) FROM address_leases WHERE address_offset BETWEEN ?1 AND ?2 "
				       "AND (released_at IS NULL OR released_at > ?3)";
	uint64_t pool = st->pool_last >= st->pool_first ? st->pool_last - st->pool_first + 1 : 0;
	int64_t n, since_q = p->now - st->net.quarantine;
	int ret;

	if (p->max_devices > 0) {
		ret = store_exec_int(c, held_sql, STORE_BINDS(STORE_TEXT(p->ldap_username), STORE_INT(since_q)), &n);
		if (ret < 0)
			return ret;
		if (n >= p->max_devices)
			return -EDQUOT;
	}
	if (p->max_per_hour > 0) {
		ret = store_exec_int(c, hour_sql, STORE_BINDS(STORE_TEXT(p->ldap_username), STORE_INT(p->now - 3600)),
				     &n);
		if (ret < 0)
			return ret;
		if (n >= p->max_per_hour)
			return -EAGAIN;
	}
	if (pool / 16 == 0)
		return 0;
	ret = store_exec_int(c, used_sql,
			     STORE_BINDS(STORE_INT((int64_t)st->pool_first), STORE_INT((int64_t)st->pool_last),
					 STORE_INT(since_q)),
			     &n);
	if (ret < 0)
		return ret;
	return (uint64_t)n + pool / 16 >= pool ? -ENOSPC : 0;
}

int store_rotations_limit(struct kw_conn *c, int64_t device_id, int max_per_hour, int64_t now)
{
	static const char sql[] = "SELECT count(*) FROM retired_keys WHERE device_id = ?1 AND retired_at > ?2";
	int64_t n;
	int ret;

	if (max_per_hour <= 0)
		return 0;
	ret = store_exec_int(c, sql, STORE_BINDS(STORE_INT(device_id), STORE_INT(now - 3600)), &n);
	if (ret < 0)
		return ret;
	return n >= max_per_hour ? -EAGAIN : 0;
}

int store_audit_purge_before(struct kw_store *st, int64_t before)
{
	static const char sql[] = "DELETE FROM audit WHERE at < ?";
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_exec(c, sql, STORE_BINDS(STORE_INT(before)));
	if (ret == 0)
		ret = sqlite3_changes(c->db);
	return store_write_end(st, c, ret);
}
