/* BLAKE2s (official keyed KATs), HMAC/HKDF (wireguard-go kdf_test.go),
 * the Noise constants, TAI64N, and cookie MACs / replies / rate limiter. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "blake2s.h"
#include "cookie.h"
#include "noise.h"
#include "check_run.h"

static void hex2bin(uint8_t *out, const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2, i;
	for (i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	if (len)
		*len = n;
}

static void ck_hex(const uint8_t *got, const char *want_hex)
{
	uint8_t want[64];
	size_t n;
	hex2bin(want, want_hex, &n);
	ck_assert_mem_eq(got, want, n);
}

/* BLAKE2 project testvectors/blake2s-kat.txt: key = 00..1f, in = 00..(n-1). */
static const struct {
	size_t n;
	const char *hash;
} keyed_kat[] = {
	{ 0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" },
	{ 1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1" },
	{ 2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803" },
	{ 3, "1d220dbe2ee134661fdf6d9e74b41704710556f2f6e5a091b227697445dbea6b" },
	{ 31, "b6156f72d380ee9ea6acd190464f2307a5c179ef01fd71f99f2d0f7a57360aea" },
	{ 32, "c03bc642b20959cbe133a0303e0c1abff3e31ec8e1a328ec8565c36decff5265" },
	{ 63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd" },
	{ 64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4" },
	{ 65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8" },
	{ 127, "ddbfea75cc467882eb3483ce5e2e756a4f4701b76b445519e89f22d60fa86e06" },
	{ 128, "0c311f38c35a4fb90d651c289d486856cd1413df9b0677f53ece2cd9e477c60a" },
	{ 129, "46a73a8dd3e70f59d3942c01df599def783c9da82fd83222cd662b53dce7dbdf" },
	{ 255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd" },
};

START_TEST(test_blake2s_keyed_kat)
{
	uint8_t key[32], in[256], out[32];
	size_t i, split;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	for (i = 0; i < sizeof(keyed_kat) / sizeof(keyed_kat[0]); i++) {
		blake2s(out, 32, in, keyed_kat[i].n, key, 32);
		ck_hex(out, keyed_kat[i].hash);
		/* Same result fed in two pieces at every split point. */
		for (split = 0; split <= keyed_kat[i].n; split++) {
			struct blake2s_state s;
			blake2s_init(&s, 32, key, 32);
			blake2s_update(&s, in, split);
			blake2s_update(&s, in + split, keyed_kat[i].n - split);
			blake2s_final(&s, out);
			ck_hex(out, keyed_kat[i].hash);
		}
	}
}
END_TEST

START_TEST(test_blake2s_unkeyed)
{
	uint8_t out[32];

	blake2s(out, 32, (const uint8_t *)"", 0, NULL, 0);
	ck_hex(out, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
	blake2s(out, 32, (const uint8_t *)"abc", 3, NULL, 0);
	ck_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	/* 16-byte output (the MAC length) changes the parameter block. */
	blake2s(out, 16, (const uint8_t *)"abc", 3, NULL, 0);
	ck_hex(out, "aa4938119b1dc7b87cbad0ffd200d0ae");
	/* WIREGUARD-NOTES: HASH(CONSTRUCTION) and HASH(that || IDENTIFIER). */
	const char *c = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	const char *id = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	blake2s(out, 32, (const uint8_t *)c, strlen(c), NULL, 0);
	ck_hex(out, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	struct blake2s_state s;
	blake2s_init(&s, 32, NULL, 0);
	blake2s_update(&s, out, 32);
	blake2s_update(&s, (const uint8_t *)id, strlen(id));
	blake2s_final(&s, out);
	ck_hex(out, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
}
END_TEST

/* wireguard-go device/kdf_test.go */
static const struct {
	const char *key, *input, *t0, *t1, *t2;
} kdf_vec[] = {
	{ "746573742d6b6579", "746573742d696e707574",
	  "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
	  "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
	  "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24" },
	{ "776972656775617264", "776972656775617264",
	  "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
	  "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
	  "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160" },
	{ "", "", "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
	  "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
	  "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e" },
};

START_TEST(test_kdf_vectors)
{
	uint8_t key[64], in[64], t0[32], t1[32], t2[32];
	size_t kl, il, i;

	for (i = 0; i < 3; i++) {
		hex2bin(key, kdf_vec[i].key, &kl);
		hex2bin(in, kdf_vec[i].input, &il);
		blake2s_kdf(t0, t1, t2, key, kl, in, il);
		ck_hex(t0, kdf_vec[i].t0);
		ck_hex(t1, kdf_vec[i].t1);
		ck_hex(t2, kdf_vec[i].t2);
		/* Fewer outputs give the same prefix. */
		memset(t0, 0, 32);
		blake2s_kdf(t0, NULL, NULL, key, kl, in, il);
		ck_hex(t0, kdf_vec[i].t0);
	}
}
END_TEST

START_TEST(test_hmac_long_key)
{
	/* Keys longer than a block are hashed first (RFC 2104). Compare against
	 * HMAC with the pre-hashed key given directly. */
	uint8_t key[100], hk[32], a[32], b[32];

	memset(key, 0x5a, sizeof(key));
	blake2s(hk, 32, key, sizeof(key), NULL, 0);
	blake2s_hmac(a, (const uint8_t *)"msg", 3, key, sizeof(key));
	blake2s_hmac(b, (const uint8_t *)"msg", 3, hk, 32);
	ck_assert_mem_eq(a, b, 32);
}
END_TEST

START_TEST(test_tai64n)
{
	uint8_t t[12], t2[12];

	noise_tai64n(t, 0, 0);
	ck_hex(t, "400000000000000a00000000");
	noise_tai64n(t, 1700000000, 0x12345678);
	ck_hex(t, "400000006553f10a12000000"); /* nanoseconds masked */
	noise_tai64n(t2, 1700000001, 0);
	ck_assert_int_lt(memcmp(t, t2, 12), 0);
}
END_TEST

START_TEST(test_cookie_mac1_vector)
{
	/* Independent computation: BLAKE2s-128(key=BLAKE2s("mac1----" || pub), msg[0:116]). */
	struct cookie_maker m;
	uint8_t pub[32], msg[148];
	size_t i;

	memset(pub, 9, 32);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	cookie_maker_init(&m, pub);
	cookie_add_macs(&m, msg, sizeof(msg), 1000);
	ck_hex(msg + 116, "03ff418e25056294ec95822c84c07080");
	for (i = 132; i < 148; i++)
		ck_assert_uint_eq(msg[i], 0); /* no cookie yet: mac2 zero */
}
END_TEST

START_TEST(test_cookie_roundtrip)
{
	struct cookie_checker chk;
	struct cookie_maker m;
	struct msg_cookie_reply reply;
	uint8_t priv[32], pub[32], msg[148], src[6] = { 192, 0, 2, 1, 0x12, 0x34 };
	uint8_t other[6] = { 192, 0, 2, 9, 0x12, 0x34 };
	uint64_t now = 5 * NS_PER_SEC;

	ck_assert_int_eq(sodium_init() >= 0, 1);
	randombytes_buf(priv, 32);
	crypto_scalarmult_base(pub, priv);
	cookie_checker_init(&chk);
	cookie_checker_set_key(&chk, pub);
	cookie_maker_init(&m, pub);
	randombytes_buf(msg, sizeof(msg));

	cookie_add_macs(&m, msg, sizeof(msg), now);
	ck_assert_int_eq(cookie_validate(&chk, msg, sizeof(msg), src, 6, false, now),
			 COOKIE_VALID_MAC_BUT_NO_COOKIE);
	ck_assert_int_eq(cookie_validate(&chk, msg, sizeof(msg), src, 6, true, now),
			 COOKIE_VALID_MAC_BUT_NO_COOKIE);
	msg[3] ^= 1;
	ck_assert_int_eq(cookie_validate(&chk, msg, sizeof(msg), src, 6, false, now),
			 COOKIE_INVALID_MAC);
	msg[3] ^= 1;

	/* Under load: a cookie reply, then the retried message carries mac2. */
	cookie_create_reply(&chk, &reply, msg, sizeof(msg), 77, src, 6, now);
	ck_assert_uint_eq(reply.receiver_index, 77);
	struct msg_cookie_reply forged = reply;
	forged.encrypted_cookie[0] ^= 1;
	ck_assert_int_eq(cookie_consume_reply(&m, &forged, now), -EBADMSG);
	ck_assert_int_eq(cookie_consume_reply(&m, &reply, now), 0);
	/* A reply is accepted once per mac1 sent. */
	ck_assert_int_eq(cookie_consume_reply(&m, &reply, now), -EBADMSG);
	cookie_add_macs(&m, msg, sizeof(msg), now + 1);
	ck_assert_int_eq(cookie_validate(&chk, msg, sizeof(msg), src, 6, true, now + 2),
			 COOKIE_VALID_MAC_WITH_COOKIE);
	/* Bound to the source address. */
	ck_assert_int_eq(cookie_validate(&chk, msg, sizeof(msg), other, 6, true, now + 2),
			 COOKIE_VALID_MAC_BUT_NO_COOKIE);
	/* An old cookie is not used for mac2. */
	cookie_add_macs(&m, msg, sizeof(msg), now + COOKIE_SECRET_MAX_AGE);
	ck_assert_int_eq(cookie_validate(&chk, msg, sizeof(msg), src, 6, true, now + 3),
			 COOKIE_VALID_MAC_BUT_NO_COOKIE);
	cookie_checker_destroy(&chk);
}
END_TEST

START_TEST(test_ratelimiter)
{
	struct ratelimiter r;
	uint8_t a[4] = { 192, 0, 2, 1 }, b[4] = { 192, 0, 2, 2 };
	uint64_t now = 10 * NS_PER_SEC;
	int i, ok = 0;

	ratelimiter_init(&r);
	for (i = 0; i < 20; i++)
		ok += ratelimiter_allow(&r, a, 4, now);
	ck_assert_int_eq(ok, 5); /* the burst */
	ck_assert(ratelimiter_allow(&r, b, 4, now)); /* others unaffected */
	ck_assert(!ratelimiter_allow(&r, a, 4, now + NS_PER_SEC / 100));
	ck_assert(ratelimiter_allow(&r, a, 4, now + NS_PER_SEC / 20 + 1));
	ratelimiter_destroy(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wg_crypto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_blake2s_keyed_kat);
	tcase_add_test(tc, test_blake2s_unkeyed);
	tcase_add_test(tc, test_kdf_vectors);
	tcase_add_test(tc, test_hmac_long_key);
	tcase_add_test(tc, test_tai64n);
	tcase_add_test(tc, test_cookie_mac1_vector);
	tcase_add_test(tc, test_cookie_roundtrip);
	tcase_add_test(tc, test_ratelimiter);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
