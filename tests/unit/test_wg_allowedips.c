/* Allowed-IPs trie: fixed cases (after Linux selftest/allowedips.c) and a
 * randomised comparison with a naive longest-prefix scan. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "allowedips.h"
#include "check_run.h"

static int P[8]; /* distinct peer pointers */
#define PEER(i) ((void *)&P[i])

static void ins(struct allowedips *t, const char *ip, uint8_t cidr, int peer)
{
	uint8_t a[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(fam, ip, a), 1);
	ck_assert_int_eq(allowedips_insert(t, fam, a, cidr, PEER(peer)), 0);
}

static void *look(struct allowedips *t, const char *ip)
{
	uint8_t a[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(fam, ip, a), 1);
	return allowedips_lookup(t, fam, a);
}

START_TEST(test_fixed)
{
	struct allowedips t;

	allowedips_init(&t);
	ins(&t, "192.168.4.0", 24, 1);
	ins(&t, "192.168.4.4", 32, 2);
	ins(&t, "192.168.0.0", 16, 3);
	ins(&t, "192.95.5.64", 27, 4);
	ins(&t, "192.95.5.65", 27, 5); /* same prefix: moves to 5 */
	ins(&t, "0.0.0.0", 0, 6);
	ins(&t, "2607:5300:60:6b00::", 64, 1);
	ins(&t, "2607:5300:60:6b00::c05f:543", 128, 2);
	ins(&t, "::", 0, 7);
	ins(&t, "10.1.0.0", 16, 1);
	ins(&t, "10.1.0.0", 24, 2); /* more specific on another peer */

	ck_assert_ptr_eq(look(&t, "192.168.4.20"), PEER(1));
	ck_assert_ptr_eq(look(&t, "192.168.4.4"), PEER(2));
	ck_assert_ptr_eq(look(&t, "192.168.200.182"), PEER(3));
	ck_assert_ptr_eq(look(&t, "192.95.5.68"), PEER(5));
	ck_assert_ptr_eq(look(&t, "8.8.8.8"), PEER(6));
	ck_assert_ptr_eq(look(&t, "2607:5300:60:6b00::c05f:543"), PEER(2));
	ck_assert_ptr_eq(look(&t, "2607:5300:60:6b00::1"), PEER(1));
	ck_assert_ptr_eq(look(&t, "2001:db8::1"), PEER(7));
	ck_assert_ptr_eq(look(&t, "10.1.0.5"), PEER(2));
	ck_assert_ptr_eq(look(&t, "10.1.1.5"), PEER(1));

	/* Removing a prefix exposes the shorter one; only the owner may remove. */
	uint8_t a[4];
	inet_pton(AF_INET, "192.168.4.4", a);
	ck_assert_int_eq(allowedips_remove(&t, AF_INET, a, 32, PEER(1)), -ENOENT);
	ck_assert_int_eq(allowedips_remove(&t, AF_INET, a, 32, PEER(2)), 0);
	ck_assert_ptr_eq(look(&t, "192.168.4.4"), PEER(1));

	allowedips_remove_peer(&t, PEER(1));
	ck_assert_ptr_eq(look(&t, "192.168.4.20"), PEER(3));
	ck_assert_ptr_eq(look(&t, "10.1.1.5"), PEER(6));
	ck_assert_ptr_eq(look(&t, "10.1.0.5"), PEER(2));
	ck_assert_ptr_eq(look(&t, "2607:5300:60:6b00::1"), PEER(7));
	allowedips_remove_peer(&t, PEER(6));
	allowedips_remove_peer(&t, PEER(7));
	ck_assert_ptr_eq(look(&t, "8.8.8.8"), NULL);
	allowedips_free(&t);
}
END_TEST

struct naive {
	int fam;
	uint8_t ip[16];
	uint8_t cidr;
	int peer;
	int live;
};

static int match(const uint8_t *a, const uint8_t *b, unsigned cidr)
{
	unsigned i;
	for (i = 0; i < cidr; i++)
		if (((a[i / 8] >> (7 - i % 8)) & 1) != ((b[i / 8] >> (7 - i % 8)) & 1))
			return 0;
	return 1;
}

static int walk_count(void *ctx, int family, const uint8_t *ip, uint8_t cidr, void *peer)
{
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_random_vs_naive)
{
	enum { N = 3000, Q = 20000 };
	struct naive *n = calloc(N, sizeof(*n));
	struct allowedips t;
	int i, j, live = 0, counted = 0;

	srand(42);
	allowedips_init(&t);
	for (i = 0; i < N; i++) {
		n[i].fam = (rand() & 1) ? AF_INET : AF_INET6;
		int bytes = n[i].fam == AF_INET ? 4 : 16;
		for (j = 0; j < bytes; j++)
			n[i].ip[j] = (uint8_t)(rand() & 0x0f); /* small space: many overlaps */
		n[i].cidr = (uint8_t)(rand() % (bytes * 8 + 1));
		n[i].peer = 1 + rand() % 6;
		n[i].live = 1;
		ck_assert_int_eq(allowedips_insert(&t, n[i].fam, n[i].ip, n[i].cidr, PEER(n[i].peer)), 0);
		/* A later insert of the same prefix supersedes earlier ones. */
		for (j = 0; j < i; j++)
			if (n[j].live && n[j].fam == n[i].fam && n[j].cidr == n[i].cidr &&
			    match(n[j].ip, n[i].ip, n[i].cidr))
				n[j].live = 0;
	}
	allowedips_remove_peer(&t, PEER(3));
	for (i = 0; i < N; i++)
		if (n[i].peer == 3)
			n[i].live = 0;
	for (i = 0; i < N; i++)
		live += n[i].live;
	allowedips_walk(&t, NULL, walk_count, &counted);
	ck_assert_int_eq(counted, live);
	ck_assert_uint_eq(t.count, (size_t)live);
	for (i = 0; i < Q; i++) {
		uint8_t q[16];
		int fam = (rand() & 1) ? AF_INET : AF_INET6, bytes = fam == AF_INET ? 4 : 16;
		int best = -1;
		for (j = 0; j < bytes; j++)
			q[j] = (uint8_t)(rand() & 0x0f);
		for (j = 0; j < N; j++)
			if (n[j].live && n[j].fam == fam && match(n[j].ip, q, n[j].cidr) &&
			    (best < 0 || n[j].cidr > n[best].cidr))
				best = j;
		ck_assert_ptr_eq(allowedips_lookup(&t, fam, q), best < 0 ? NULL : PEER(n[best].peer));
	}
	allowedips_free(&t);
	free(n);
}
END_TEST

START_TEST(test_bad_input)
{
	struct allowedips t;
	uint8_t a[16] = { 0 };

	allowedips_init(&t);
	ck_assert_int_eq(allowedips_insert(&t, AF_INET, a, 33, PEER(1)), -EINVAL);
	ck_assert_int_eq(allowedips_insert(&t, AF_INET6, a, 129, PEER(1)), -EINVAL);
	ck_assert_int_eq(allowedips_insert(&t, 12345, a, 1, PEER(1)), -EINVAL);
	ck_assert_ptr_eq(allowedips_lookup(&t, AF_INET, a), NULL);
	allowedips_free(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wg_allowedips");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fixed);
	tcase_add_test(tc, test_random_vs_naive);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
