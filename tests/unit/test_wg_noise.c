/* Noise_IKpsk2 between two in-memory peers: keys agree, transport works both
 * ways, and replays, wrong keys, wrong preshared keys, forged messages and
 * low-order public keys all fail. Plus the pure timer state machine. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "noise.h"
#include "timers.h"
#include "check_run.h"

struct side {
	struct noise_local local;
	struct noise_handshake hs; /* state towards the other side */
};

static void side_init(struct side *s, struct side *other_keys_later)
{
	uint8_t priv[32];
	(void)other_keys_later;
	memset(s, 0, sizeof(*s));
	randombytes_buf(priv, 32);
	noise_local_set(&s->local, priv);
}

static void pair(struct side *a, struct side *b, const uint8_t *psk_a, const uint8_t *psk_b)
{
	memcpy(a->hs.remote_static, b->local.public_key, 32);
	memcpy(b->hs.remote_static, a->local.public_key, 32);
	if (psk_a)
		memcpy(a->hs.preshared_key, psk_a, 32);
	if (psk_b)
		memcpy(b->hs.preshared_key, psk_b, 32);
	ck_assert(noise_handshake_precompute(&a->hs, &a->local));
	ck_assert(noise_handshake_precompute(&b->hs, &b->local));
}

static void ts(uint8_t t[12], int64_t sec)
{
	noise_tai64n(t, sec, 0);
}

/* Full handshake a -> b; returns 0 and fills both keypairs, or the error. */
static int handshake(struct side *a, struct side *b, struct noise_keypair *ka,
		     struct noise_keypair *kb, int64_t sec, uint64_t now)
{
	struct msg_initiation init;
	struct msg_response resp;
	struct noise_initiation_scratch sc;
	uint8_t t[12];
	int ret;

	ts(t, sec);
	ret = noise_create_initiation(&a->hs, &a->local, &init, 0x11111111, t);
	if (ret)
		return ret;
	ret = noise_consume_initiation_begin(&b->local, &init, &sc);
	if (ret)
		return ret;
	ck_assert_mem_eq(sc.remote_static, a->local.public_key, 32);
	ret = noise_consume_initiation_finish(&b->hs, &b->local, &init, &sc, now);
	if (ret)
		return ret;
	ret = noise_create_response(&b->hs, &resp, 0x22222222);
	if (ret)
		return ret;
	ck_assert_uint_eq(resp.receiver_index, 0x11111111);
	ret = noise_consume_response(&a->hs, &a->local, &resp);
	if (ret)
		return ret;
	ck_assert_int_eq(noise_begin_session(&a->hs, ka, now), 0);
	ck_assert_int_eq(noise_begin_session(&b->hs, kb, now), 0);
	return 0;
}

START_TEST(test_handshake_and_transport)
{
	struct side a, b;
	struct noise_keypair ka, kb;
	uint8_t psk[32], buf[64 + 16], orig[64];

	side_init(&a, NULL);
	side_init(&b, NULL);
	randombytes_buf(psk, 32);
	pair(&a, &b, psk, psk);
	ck_assert_int_eq(handshake(&a, &b, &ka, &kb, 1000, 1 * NS_PER_SEC), 0);
	ck_assert(ka.initiator);
	ck_assert(!kb.initiator);
	ck_assert_mem_eq(ka.send_key, kb.recv_key, 32);
	ck_assert_mem_eq(ka.recv_key, kb.send_key, 32);
	ck_assert_uint_eq(ka.remote_index, 0x22222222);
	ck_assert_uint_eq(kb.remote_index, 0x11111111);
	ck_assert_int_eq(a.hs.state, NOISE_ZEROED);

	randombytes_buf(orig, sizeof(orig));
	memcpy(buf, orig, 64);
	noise_encrypt(&ka, 7, buf, 64);
	ck_assert(memcmp(buf, orig, 64) != 0);
	ck_assert_int_eq(noise_decrypt(&kb, 6, buf, sizeof(buf)), -EBADMSG); /* wrong counter */
	memcpy(buf, orig, 64); /* a failed open wipes the buffer (libsodium) */
	noise_encrypt(&ka, 7, buf, 64);
	ck_assert_int_eq(noise_decrypt(&kb, 7, buf, sizeof(buf)), 0);
	ck_assert_mem_eq(buf, orig, 64);
	memcpy(buf, orig, 64);
	noise_encrypt(&kb, 0, buf, 64);
	buf[10] ^= 0x80;
	ck_assert_int_eq(noise_decrypt(&ka, 0, buf, sizeof(buf)), -EBADMSG); /* forged */
}
END_TEST

START_TEST(test_replayed_initiation)
{
	struct side a, b;
	struct msg_initiation init;
	struct noise_initiation_scratch sc;
	uint8_t t[12];

	side_init(&a, NULL);
	side_init(&b, NULL);
	pair(&a, &b, NULL, NULL);
	ts(t, 2000);
	ck_assert_int_eq(noise_create_initiation(&a.hs, &a.local, &init, 5, t), 0);
	ck_assert_int_eq(noise_consume_initiation_begin(&b.local, &init, &sc), 0);
	ck_assert_int_eq(noise_consume_initiation_finish(&b.hs, &b.local, &init, &sc, NS_PER_SEC), 0);
	/* Same message again, much later: the timestamp did not grow. */
	ck_assert_int_eq(noise_consume_initiation_begin(&b.local, &init, &sc), 0);
	ck_assert_int_eq(noise_consume_initiation_finish(&b.hs, &b.local, &init, &sc,
							 100 * NS_PER_SEC), -EALREADY);
	/* A fresh initiation too soon after the last one: flood limit. */
	ts(t, 2001);
	ck_assert_int_eq(noise_create_initiation(&a.hs, &a.local, &init, 6, t), 0);
	ck_assert_int_eq(noise_consume_initiation_begin(&b.local, &init, &sc), 0);
	ck_assert_int_eq(noise_consume_initiation_finish(&b.hs, &b.local, &init, &sc,
							 NS_PER_SEC + 1000), -EBUSY);
	ck_assert_int_eq(noise_consume_initiation_begin(&b.local, &init, &sc), 0);
	ck_assert_int_eq(noise_consume_initiation_finish(&b.hs, &b.local, &init, &sc,
							 2 * NS_PER_SEC), 0);
}
END_TEST

START_TEST(test_wrong_keys)
{
	struct side a, b, c;
	struct noise_keypair ka, kb;
	struct msg_initiation init;
	struct noise_initiation_scratch sc;
	uint8_t psk1[32], psk2[32], t[12];

	side_init(&a, NULL);
	side_init(&b, NULL);
	side_init(&c, NULL);
	/* Preshared keys differ: the response does not authenticate. */
	randombytes_buf(psk1, 32);
	randombytes_buf(psk2, 32);
	pair(&a, &b, psk1, psk2);
	ck_assert_int_eq(handshake(&a, &b, &ka, &kb, 3000, NS_PER_SEC), -EBADMSG);

	/* a thinks it talks to b, but the message reaches c: static fails. */
	side_init(&a, NULL);
	side_init(&b, NULL);
	pair(&a, &b, NULL, NULL);
	ts(t, 3001);
	ck_assert_int_eq(noise_create_initiation(&a.hs, &a.local, &init, 9, t), 0);
	ck_assert_int_eq(noise_consume_initiation_begin(&c.local, &init, &sc), -EBADMSG);
	/* A flipped bit in the timestamp ciphertext. */
	init.encrypted_timestamp[0] ^= 1;
	ck_assert_int_eq(noise_consume_initiation_begin(&b.local, &init, &sc), 0);
	ck_assert_int_eq(noise_consume_initiation_finish(&b.hs, &b.local, &init, &sc, NS_PER_SEC),
			 -EBADMSG);
}
END_TEST

START_TEST(test_low_order_key)
{
	/* A small-order point: the shared secret is all zeros, so the peer can
	 * never be used (the selftest: "low-order public keys produce no packets"). */
	static const uint8_t zero_point[32] = { 0 };
	struct side a;
	struct msg_initiation init;
	uint8_t t[12];

	side_init(&a, NULL);
	memcpy(a.hs.remote_static, zero_point, 32);
	ck_assert(!noise_handshake_precompute(&a.hs, &a.local));
	ts(t, 1);
	ck_assert_int_eq(noise_create_initiation(&a.hs, &a.local, &init, 1, t), -EINVAL);
}
END_TEST

START_TEST(test_no_identity)
{
	struct noise_local none;
	struct msg_initiation init;
	struct noise_initiation_scratch sc;

	noise_local_set(&none, NULL);
	memset(&init, 0, sizeof(init));
	ck_assert_int_eq(noise_consume_initiation_begin(&none, &init, &sc), -ENOKEY);
}
END_TEST

START_TEST(test_timers)
{
	struct wg_timers t;
	uint64_t now = 1000 * NS_PER_SEC;
	unsigned act, i;

	memset(&t, 0, sizeof(t));
	/* Data sent and nothing back: a new handshake after KEEPALIVE+REKEY_TIMEOUT. */
	timers_data_sent(&t, now, 0);
	ck_assert_uint_eq(timers_expire(&t, now + KEEPALIVE_TIMEOUT), 0);
	act = timers_expire(&t, now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
	ck_assert_uint_eq(act, TIMER_SEND_INITIATION);
	/* ...unless an authenticated packet came back. */
	timers_data_sent(&t, now, 0);
	timers_any_authenticated_packet_received(&t);
	ck_assert_uint_eq(timers_expire(&t, now + 60 * NS_PER_SEC), 0);

	/* Data received: a keepalive after KEEPALIVE_TIMEOUT unless we send. */
	timers_data_received(&t, now);
	ck_assert_uint_eq(timers_expire(&t, now + KEEPALIVE_TIMEOUT), TIMER_SEND_KEEPALIVE);
	timers_data_received(&t, now);
	timers_any_authenticated_packet_sent(&t);
	ck_assert_uint_eq(timers_expire(&t, now + KEEPALIVE_TIMEOUT), 0);

	/* Retransmits stop after MAX_TIMER_HANDSHAKES and keys are zeroed later. */
	memset(&t, 0, sizeof(t));
	for (i = 0; i <= MAX_TIMER_HANDSHAKES; i++) {
		timers_handshake_initiated(&t, now, 0);
		now += REKEY_TIMEOUT;
		ck_assert_uint_eq(timers_expire(&t, now), TIMER_SEND_INITIATION);
	}
	timers_handshake_initiated(&t, now, 0);
	now += REKEY_TIMEOUT;
	ck_assert_uint_eq(timers_expire(&t, now), TIMER_GIVE_UP);
	ck_assert_uint_eq(timers_expire(&t, now + 3 * REJECT_AFTER_TIME), TIMER_ZERO_KEYS);

	/* Persistent keepalive. */
	memset(&t, 0, sizeof(t));
	t.persistent_keepalive_interval = 25;
	timers_any_authenticated_packet_traversal(&t, now);
	ck_assert_uint_eq(timers_expire(&t, now + 24 * NS_PER_SEC), 0);
	ck_assert_uint_eq(timers_expire(&t, now + 25 * NS_PER_SEC), TIMER_SEND_KEEPALIVE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wg_noise");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	noise_init();
	tcase_add_test(tc, test_handshake_and_transport);
	tcase_add_test(tc, test_replayed_initiation);
	tcase_add_test(tc, test_wrong_keys);
	tcase_add_test(tc, test_low_order_key);
	tcase_add_test(tc, test_no_identity);
	tcase_add_test(tc, test_timers);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
