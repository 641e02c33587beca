#include "config.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "longpoll.h"
#include "store/store.h"

struct waiter {
	struct waiter *next;
	struct MHD_Connection *conn;
	int64_t device_id;
	bool gateway;
	int64_t deadline_ms;
	int64_t *deadline_slot; /* the request's deadline, ended when replaced */
};

struct kw_longpoll {
	struct kw_store *store;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t timer;
	bool timer_started;
	bool stopping;
	int64_t next_wake_ms; /* when the timer thread looks next */
	unsigned count;
	struct waiter *head;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *timer_main(void *arg)
{
	struct kw_longpoll *lp = arg;

	pthread_mutex_lock(&lp->lock);
	while (!lp->stopping) {
		int64_t now = now_ms(), next = now + 1000;
		struct waiter **pp = &lp->head, *w;
		struct timespec ts;

		while ((w = *pp)) {
			if (w->deadline_ms <= now) {
				*pp = w->next;
				MHD_resume_connection(w->conn);
				free(w);
				lp->count--;
				continue;
			}
			if (w->deadline_ms < next)
				next = w->deadline_ms;
			pp = &w->next;
		}
		lp->next_wake_ms = next;
		ts.tv_sec = (time_t)(next / 1000);
		ts.tv_nsec = (long)(next % 1000) * 1000000L;
		pthread_cond_timedwait(&lp->cond, &lp->lock, &ts);
	}
	pthread_mutex_unlock(&lp->lock);
	return NULL;
}

int longpoll_new(struct kw_store *store, struct kw_longpoll **out)
{
	struct kw_longpoll *lp = calloc(1, sizeof(*lp));
	int ret;

	if (!lp)
		return -ENOMEM;
	lp->store = store;
	pthread_mutex_init(&lp->lock, NULL);
	pthread_cond_init(&lp->cond, NULL);
	ret = pthread_create(&lp->timer, NULL, timer_main, lp);
	if (ret) {
		pthread_mutex_destroy(&lp->lock);
		pthread_cond_destroy(&lp->cond);
		free(lp);
		return -ret;
	}
	lp->timer_started = true;
	*out = lp;
	return 0;
}

static void resume_all_locked(struct kw_longpoll *lp)
{
	struct waiter *w, *n;

	for (w = lp->head; w; w = n) {
		n = w->next;
		MHD_resume_connection(w->conn);
		free(w);
	}
	lp->head = NULL;
	lp->count = 0;
}

void longpoll_shutdown(struct kw_longpoll *lp)
{
	if (!lp)
		return;
	pthread_mutex_lock(&lp->lock);
	lp->stopping = true;
	resume_all_locked(lp);
	pthread_cond_broadcast(&lp->cond);
	pthread_mutex_unlock(&lp->lock);
	if (lp->timer_started) {
		pthread_join(lp->timer, NULL);
		lp->timer_started = false;
	}
}

void longpoll_free(struct kw_longpoll *lp)
{
	if (!lp)
		return;
	longpoll_shutdown(lp);
	pthread_mutex_destroy(&lp->lock);
	pthread_cond_destroy(&lp->cond);
	free(lp);
}

/* Resume the oldest parked request of device_id if it already has KW_LONGPOLL_PER_DEVICE - 1
 * others; its deadline ends so its handler answers 304. Lock held. */
static void replace_oldest_locked(struct kw_longpoll *lp, int64_t device_id)
{
	struct waiter **pp, **oldest = NULL, *w;
	unsigned n = 0;

	for (pp = &lp->head; (w = *pp); pp = &w->next) {
		if (w->device_id == device_id) {
			n++;
			oldest = pp; /* newest first: the last match is the oldest */
		}
	}
	if (n < KW_LONGPOLL_PER_DEVICE || !oldest)
		return;
	w = *oldest;
	*oldest = w->next;
	if (w->deadline_slot)
		*w->deadline_slot = 1;
	MHD_resume_connection(w->conn);
	free(w);
	lp->count--;
}

enum longpoll_park_result longpoll_park(struct kw_longpoll *lp, struct MHD_Connection *conn, int64_t device_id,
					bool gateway, uint64_t seen, int64_t deadline_ms, int64_t *deadline_slot)
{
	struct waiter *w;
	enum longpoll_park_result res = LONGPOLL_PARKED;

	pthread_mutex_lock(&lp->lock);
	if (lp->stopping) {
		res = LONGPOLL_STOPPING;
		goto out;
	}
	/* The change counter moves before the callback takes this lock: no lost wake-up. */
	if (store_change_counter(lp->store) != seen) {
		res = LONGPOLL_RETRY;
		goto out;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		res = LONGPOLL_STOPPING;
		goto out;
	}
	replace_oldest_locked(lp, device_id);
	w->conn = conn;
	w->device_id = device_id;
	w->gateway = gateway;
	w->deadline_ms = deadline_ms;
	w->deadline_slot = deadline_slot;
	MHD_suspend_connection(conn);
	w->next = lp->head;
	lp->head = w;
	lp->count++;
	if (deadline_ms < lp->next_wake_ms)
		pthread_cond_signal(&lp->cond); /* the timer must wake earlier */
out:
	pthread_mutex_unlock(&lp->lock);
	return res;
}

void longpoll_on_change(void *arg, int64_t device_id)
{
	struct kw_longpoll *lp = arg;
	struct waiter **pp, *w;

	pthread_mutex_lock(&lp->lock);
	if (device_id == KW_CHANGE_ALL) {
		resume_all_locked(lp);
	} else {
		for (pp = &lp->head; (w = *pp);) {
			if (w->device_id == device_id || (device_id == KW_CHANGE_GATEWAYS && w->gateway) ||
			    (device_id == KW_CHANGE_DEVICES && !w->gateway)) {
				*pp = w->next;
				MHD_resume_connection(w->conn);
				free(w);
				lp->count--;
				continue;
			}
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&lp->lock);
}

unsigned longpoll_count(struct kw_longpoll *lp)
{
	unsigned n;

	pthread_mutex_lock(&lp->lock);
	n = lp->count;
	pthread_mutex_unlock(&lp->lock);
	return n;
}
