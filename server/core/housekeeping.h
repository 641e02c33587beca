/*
 * keywayd's periodic chores, run by the main thread between signals: today, deleting
 * expired login sessions (a session table that only shrinks at start grows without bound
 * on a controller that runs for months), and audit rows older than [audit] keep_days. The schedule is plain arithmetic on a clock the
 * caller passes in, so the Check suite walks it without sleeping.
 */
#ifndef KW_HOUSEKEEPING_H
#define KW_HOUSEKEEPING_H

#include <stdint.h>

struct kw_store;

#define KW_HOUSEKEEPING_INTERVAL 300 /* seconds between two purges */

struct kw_housekeeping {
	int64_t interval; /* seconds, > 0 */
	int64_t next_at;  /* unix time of the next run */
	uint64_t runs;
	int audit_keep_days; /* > 0: audit rows older than this are deleted at each run */
};

/* The first run is due at once (now). */
void housekeeping_init(struct kw_housekeeping *hk, int64_t interval, int64_t now);
/* Seconds to sleep before the next run: 0 when due, never more than one interval (a clock
 * set back does not postpone the chores by the size of the jump). */
int64_t housekeeping_wait(const struct kw_housekeeping *hk, int64_t now);
/* Runs the chores when due (else returns 0 at once) and schedules the next run one interval
 * after now. Returns the number of sessions purged, or a negative errno (logged; the next
 * run is still scheduled). */
int housekeeping_tick(struct kw_housekeeping *hk, struct kw_store *st, int64_t now);

#endif
