/* keywayd's periodic chores (see housekeeping.h). */
#include "config.h"

#include <string.h>

#include "housekeeping.h"
#include "log.h"
#include "store/store.h"

void housekeeping_init(struct kw_housekeeping *hk, int64_t interval, int64_t now)
{
	hk->interval = interval > 0 ? interval : KW_HOUSEKEEPING_INTERVAL;
	hk->next_at = now;
	hk->runs = 0;
	hk->audit_keep_days = 0;
}

/* Audit retention: rows older than keep_days go (the trail cannot grow without bound). */
static void audit_retention(const struct kw_housekeeping *hk, struct kw_store *st, int64_t now)
{
	int ret;

	if (hk->audit_keep_days <= 0)
		return;
	ret = store_audit_purge_before(st, now - (int64_t)hk->audit_keep_days * 86400);
	if (ret < 0)
		log_warn("housekeeping: could not delete old audit rows: %s", strerror(-ret));
	else if (ret > 0)
		log_info("housekeeping: audit rows past retention deleted count=%d keep_days=%d", ret,
			 hk->audit_keep_days);
}

int64_t housekeeping_wait(const struct kw_housekeeping *hk, int64_t now)
{
	int64_t w = hk->next_at - now;

	if (w <= 0)
		return 0;
	return w > hk->interval ? hk->interval : w;
}

int housekeeping_tick(struct kw_housekeeping *hk, struct kw_store *st, int64_t now)
{
	int ret;

	/* Due when the time has come, or when the clock went back by more than an interval. */
	if (now < hk->next_at && hk->next_at - now <= hk->interval)
		return 0;
	hk->next_at = now + hk->interval;
	hk->runs++;
	audit_retention(hk, st, now);
	ret = store_session_purge_expired(st, now);
	if (ret < 0)
		log_warn("housekeeping: could not purge expired sessions: %s", strerror(-ret));
	else if (ret > 0)
		log_info("housekeeping: expired sessions purged count=%d", ret);
	else
		log_debug("housekeeping: no expired session");
	return ret;
}
