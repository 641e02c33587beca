/* aead.c against libsodium's own ChaCha20-Poly1305 AEAD: byte-identical
 * ciphertext and tag for every length around the keystream strides and the
 * chunk boundary, round trips, and forgeries refused with the buffer kept. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "aead.h"
#include "check_run.h"

#define MAXLEN 65535

static uint8_t *plain, *mine, *ref;

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	plain = malloc(MAXLEN);
	mine = malloc(MAXLEN + AEAD_TAG_LEN);
	ref = malloc(MAXLEN + AEAD_TAG_LEN);
	ck_assert(plain && mine && ref);
	randombytes_buf(plain, MAXLEN);
}

static void teardown(void)
{
	free(plain);
	free(mine);
	free(ref);
}

/* Seals len bytes both ways and compares; then opens ours back. */
static void check_len(size_t len, uint64_t counter)
{
	uint8_t key[AEAD_KEY_LEN], nonce[12] = { 0 }, tag[AEAD_TAG_LEN];
	unsigned i;

	randombytes_buf(key, sizeof(key));
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
	memcpy(mine, plain, len);
	aead_seal(mine, len, tag, counter, key);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(ref, ref + len, NULL, plain, len, NULL,
							   0, NULL, nonce, key);
	ck_assert_msg(memcmp(mine, ref, len) == 0, "ciphertext differs at len %zu", len);
	ck_assert_msg(memcmp(tag, ref + len, AEAD_TAG_LEN) == 0, "tag differs at len %zu", len);
	ck_assert_int_eq(aead_open(mine, len, tag, counter, key), 0);
	ck_assert_msg(memcmp(mine, plain, len) == 0, "round trip differs at len %zu", len);
}

START_TEST(every_short_length)
{
	size_t len;

	for (len = 0; len <= 2200; len++)
		check_len(len, len * 977u);
}
END_TEST

START_TEST(long_lengths)
{
	static const size_t lens[] = { 4032, 4033, 8191, 9000, 16384, 65000, MAXLEN };
	unsigned i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		check_len(lens[i], 1);
}
END_TEST

START_TEST(counter_edges)
{
	check_len(96, 0);
	check_len(96, UINT64_MAX);
	check_len(1440, 0xfffffffe00000000ull);
}
END_TEST

START_TEST(forgery_refused_buffer_kept)
{
	uint8_t key[AEAD_KEY_LEN], tag[AEAD_TAG_LEN], sealed[300], tampered[300];
	size_t len = sizeof(sealed);

	randombytes_buf(key, sizeof(key));
	memcpy(sealed, plain, len);
	aead_seal(sealed, len, tag, 7, key);

	/* A flipped ciphertext bit. */
	memcpy(tampered, sealed, len);
	tampered[123] ^= 0x10;
	ck_assert_int_eq(aead_open(tampered, len, tag, 7, key), -EBADMSG);
	sealed[123] ^= 0x10;
	ck_assert_mem_eq(tampered, sealed, len);
	sealed[123] ^= 0x10;
	/* A flipped tag bit, the wrong counter, the wrong key. */
	tag[0] ^= 1;
	ck_assert_int_eq(aead_open(tampered, len, tag, 7, key), -EBADMSG);
	tag[0] ^= 1;
	memcpy(tampered, sealed, len);
	ck_assert_int_eq(aead_open(tampered, len, tag, 8, key), -EBADMSG);
	ck_assert_mem_eq(tampered, sealed, len);
	key[31] ^= 0x80;
	ck_assert_int_eq(aead_open(tampered, len, tag, 7, key), -EBADMSG);
	key[31] ^= 0x80;
	/* A truncated message. */
	ck_assert_int_eq(aead_open(tampered, len - 1, tag, 7, key), -EBADMSG);
	/* And the genuine one still opens. */
	ck_assert_int_eq(aead_open(tampered, len, tag, 7, key), 0);
	ck_assert_mem_eq(tampered, plain, len);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wg_aead");
	TCase *tc = tcase_create("aead");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_short_length);
	tcase_add_test(tc, long_lengths);
	tcase_add_test(tc, counter_edges);
	tcase_add_test(tc, forgery_refused_buffer_kept);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
