/*
 * Long-poll waiters: requests parked with MHD_suspend_connection, so a waiting agent costs
 * a socket and a few bytes, never a thread. A store change resumes them all (each
 * re-checks its own version, a cheap indexed read); a timer thread resumes those whose
 * deadline has passed.
 */
#ifndef KW_LONGPOLL_H
#define KW_LONGPOLL_H

#include <stdbool.h>
#include <stdint.h>

struct kw_longpoll;
struct MHD_Connection;
struct kw_store;

int longpoll_new(struct kw_store *store, struct kw_longpoll **out);
/* Stop parking; resume everyone (before MHD_stop_daemon); join the timer thread. */
void longpoll_shutdown(struct kw_longpoll *lp);
void longpoll_free(struct kw_longpoll *lp);

enum longpoll_park_result {
	LONGPOLL_PARKED,  /* suspended; MHD calls the handler again later */
	LONGPOLL_RETRY,   /* the store changed meanwhile: run the handler again now */
	LONGPOLL_STOPPING /* shutting down: answer now */
};

/* Parked requests per device token: one more replaces the oldest, which answers 304 at once
 * (one token cannot hold every long-poll slot; a real agent has one poll at a time). */
#define KW_LONGPOLL_PER_DEVICE 2

/* From inside the access handler: suspend conn (waiting for device_id's config) until a
 * change after `seen` or the deadline. *deadline_slot is the request's own deadline: set to
 * 1 (past) when a newer request of the same device replaces this one. */
enum longpoll_park_result longpoll_park(struct kw_longpoll *lp, struct MHD_Connection *conn, int64_t device_id,
					bool gateway, uint64_t seen, int64_t deadline_ms, int64_t *deadline_slot);
/* Store change callback (store_set_change_cb): a device id wakes its waiters, a KW_CHANGE_*
 * scope every gateway, every device, or everyone. */
void longpoll_on_change(void *lp, int64_t device_id);
/* Number of parked requests (tests, status). */
unsigned longpoll_count(struct kw_longpoll *lp);

#endif
