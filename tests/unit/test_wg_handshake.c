/* The handshake queue (handshake.c) on a detached device: without a queue a
 * handshake is handled inline; with one, messages are copied in, a full
 * queue drops and counts, 128 queued put the device under load, the thread
 * drains the queue once configuration lets go of cfg_lock, and stopping
 * joins a thread that waits on an empty queue. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "check_run.h"

static void junk_initiation(uint8_t msg[sizeof(struct msg_initiation)], unsigned i)
{
	memset(msg, (int)(i & 0xff), sizeof(struct msg_initiation));
	le32_write(msg, MSG_INITIATION);
}

static bool drained(struct wg_device *dev, unsigned secs)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned i;

	for (i = 0; i < secs * 100; i++) {
		if (atomic_load(&dev->hs_queued) == 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

START_TEST(no_queue_means_inline)
{
	struct wg_device *dev;
	uint8_t msg[sizeof(struct msg_initiation)];
	union wg_endpoint src = { .in4 = { .sin_family = AF_INET, .sin_port = htons(9) } };

	ck_assert_int_eq(device_new_detached(&dev, "kwghs0"), 0);
	junk_initiation(msg, 1);
	ck_assert(!handshake_enqueue(dev, msg, sizeof(msg), &src, NULL));
	wg_device_free(dev);
}
END_TEST

START_TEST(full_queue_drops_then_drains)
{
	struct wg_device *dev;
	uint8_t msg[sizeof(struct msg_initiation)];
	union wg_endpoint src = { .in4 = { .sin_family = AF_INET, .sin_port = htons(9) } };
	uint64_t dropped;
	unsigned i;

	ck_assert_int_eq(device_new_detached(&dev, "kwghs1"), 0);
	ck_assert_int_eq(handshake_queue_start(dev), 0);
	/* Configuration holds the lock: the thread can take at most one message. */
	pthread_rwlock_wrlock(&dev->cfg_lock);
	for (i = 0; i < HSQ_CAP + 10; i++) {
		junk_initiation(msg, i);
		ck_assert(handshake_enqueue(dev, msg, sizeof(msg), &src, NULL));
	}
	dropped = atomic_load(&dev->drop_hs_queue);
	ck_assert_msg(dropped == 9 || dropped == 10, "dropped %lu", (unsigned long)dropped);
	ck_assert_uint_ge(atomic_load(&dev->hs_queued), HSQ_CAP - 1);
	ck_assert(device_under_load(dev, wg_now()));
	pthread_rwlock_unlock(&dev->cfg_lock);
	ck_assert(drained(dev, 20));
	/* Junk (no identity here): each one was looked at and dropped once. */
	for (i = 0; i < 500 && atomic_load(&dev->drop_invalid) < HSQ_CAP + 10 - dropped; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	ck_assert_uint_eq(atomic_load(&dev->drop_invalid), HSQ_CAP + 10 - dropped);
	device_request_stop(dev, 0);
	handshake_queue_stop(dev);
	ck_assert_ptr_null(dev->hsq);
	wg_device_free(dev);
}
END_TEST

START_TEST(stop_joins_an_idle_thread)
{
	struct wg_device *dev;

	ck_assert_int_eq(device_new_detached(&dev, "kwghs2"), 0);
	ck_assert_int_eq(handshake_queue_start(dev), 0);
	device_request_stop(dev, 0);
	handshake_queue_stop(dev);
	handshake_queue_stop(dev); /* twice: nothing left to do */
	wg_device_free(dev);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wg_handshake");
	TCase *tc = tcase_create("queue");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, no_queue_means_inline);
	tcase_add_test(tc, full_queue_drops_then_drains);
	tcase_add_test(tc, stop_joins_an_idle_thread);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
