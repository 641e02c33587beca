/* The UAPI set/get parser on a detached device (no TUN, no threads), the
 * public configuration API, and the receive path's handling of junk. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "device.h"
#include "key.h"
#include "check_run.h"

#define PRIV_A "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define PUB_1 "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
#define PUB_2 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"

static struct wg_device *dev;

static void setup(void)
{
	ck_assert_int_eq(device_new_detached(&dev, "kwgunit"), 0);
}

static void teardown(void)
{
	wg_device_free(dev);
	dev = NULL;
}

static char *get(void)
{
	char *out = NULL;
	ck_assert_int_eq(wg_device_uapi_get(dev, &out), 0);
	return out;
}

START_TEST(test_set_get_roundtrip)
{
	char *g;

	ck_assert_int_eq(wg_device_uapi_set(dev, "private_key=" PRIV_A "\n"
						 "fwmark=51\n"
						 "public_key=" PUB_1 "\n"
						 "preshared_key=0101010101010101010101010101010101010101010101010101010101010101\n"
						 "endpoint=192.0.2.7:51820\n"
						 "persistent_keepalive_interval=25\n"
						 "allowed_ip=10.0.0.0/24\n"
						 "allowed_ip=2001:db8::/64\n"
						 "protocol_version=1\n"
						 "public_key=" PUB_2 "\n"
						 "endpoint=[2001:db8::9]:7\n"
						 "allowed_ip=10.0.1.1/32\n"),
			 0);
	g = get();
	ck_assert_ptr_nonnull(strstr(g, "private_key=" PRIV_A "\n"));
	ck_assert_ptr_nonnull(strstr(g, "fwmark=51\n"));
	ck_assert_ptr_nonnull(strstr(g, "public_key=" PUB_1 "\npreshared_key=0101"));
	ck_assert_ptr_nonnull(strstr(g, "endpoint=192.0.2.7:51820\n"));
	ck_assert_ptr_nonnull(strstr(g, "persistent_keepalive_interval=25\n"));
	ck_assert_ptr_nonnull(strstr(g, "allowed_ip=10.0.0.0/24\n"));
	ck_assert_ptr_nonnull(strstr(g, "allowed_ip=2001:db8::/64\n"));
	ck_assert_ptr_nonnull(strstr(g, "endpoint=[2001:db8::9]:7\n"));
	ck_assert_ptr_nonnull(strstr(g, "last_handshake_time_sec=0\n"));
	ck_assert_ptr_nonnull(strstr(g, "rx_bytes=0\n"));
	/* Peers in insertion order. */
	ck_assert(strstr(g, PUB_1) < strstr(g, PUB_2));
	free(g);

	/* Public API view of the same. */
	struct wg_peer_stats *st;
	size_t n;
	ck_assert_int_eq(wg_device_peer_stats(dev, &st, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(st[0].n_allowed_ips, 2);
	ck_assert_uint_eq(st[0].persistent_keepalive, 25);
	ck_assert_int_eq(st[1].endpoint.ss_family, AF_INET6);
	free(st);
}
END_TEST

START_TEST(test_peer_ops)
{
	char *g;

	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nallowed_ip=10.0.0.0/24\n"
						 "allowed_ip=10.0.2.0/24\n"), 0);
	/* update_only on an unknown peer creates nothing. */
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_2 "\nupdate_only=true\n"
						 "allowed_ip=10.9.9.9/32\n"), 0);
	g = get();
	ck_assert_ptr_null(strstr(g, PUB_2));
	free(g);
	/* Removing one allowed IP with a leading '-', replacing all. */
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nallowed_ip=-10.0.0.0/24\n"), 0);
	g = get();
	ck_assert_ptr_null(strstr(g, "10.0.0.0/24"));
	ck_assert_ptr_nonnull(strstr(g, "10.0.2.0/24"));
	free(g);
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nreplace_allowed_ips=true\n"
						 "allowed_ip=10.0.3.0/24\n"), 0);
	g = get();
	ck_assert_ptr_null(strstr(g, "10.0.2.0/24"));
	ck_assert_ptr_nonnull(strstr(g, "10.0.3.0/24"));
	free(g);
	/* remove, then replace_peers. */
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nremove=true\n"
						 "public_key=" PUB_2 "\n"), 0);
	g = get();
	ck_assert_ptr_null(strstr(g, PUB_1));
	ck_assert_ptr_nonnull(strstr(g, PUB_2));
	free(g);
	ck_assert_int_eq(wg_device_uapi_set(dev, "replace_peers=true\n"), 0);
	g = get();
	ck_assert_ptr_null(strstr(g, "public_key"));
	free(g);
}
END_TEST

START_TEST(test_own_key_peer_ignored)
{
	uint8_t priv[32], pub[32];
	char hex[65], line[200], *g;

	key_from_hex(priv, PRIV_A);
	ck_assert_int_eq(wg_device_set_private_key(dev, priv), 0);
	ck_assert_int_eq(wg_device_get_public_key(dev, pub), 0);
	key_to_hex(hex, pub);
	snprintf(line, sizeof(line), "public_key=%s\nallowed_ip=10.1.0.0/16\n", hex);
	ck_assert_int_eq(wg_device_uapi_set(dev, line), 0);
	g = get();
	ck_assert_ptr_null(strstr(g, "public_key"));
	free(g);
	/* Clearing the key with all zeros. */
	ck_assert_int_eq(wg_device_uapi_set(dev, "private_key=0000000000000000000000000000000000000000000000000000000000000000\n"), 0);
	ck_assert_int_eq(wg_device_get_public_key(dev, pub), -ENOKEY);
}
END_TEST

START_TEST(test_bad_input)
{
	ck_assert_int_eq(wg_device_uapi_set(dev, "private_key=zz\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "private_key=" PRIV_A "00\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "listen_port=65536\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "listen_port=-1\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "fwmark=4294967296\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "bogus=1\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "no equals sign\n"), -EPROTO);
	ck_assert_int_eq(wg_device_uapi_set(dev, "replace_peers=yes\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nprotocol_version=2\n"), -EPROTO);
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nendpoint=1.2.3.4\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nendpoint=[::1:5\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nallowed_ip=10.0.0.0/33\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nallowed_ip=10.0.0/8\n"), -EINVAL);
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\npersistent_keepalive_interval=70000\n"), -EINVAL);
	/* Device keys after a peer section are peer keys, hence invalid. */
	ck_assert_int_eq(wg_device_uapi_set(dev, "public_key=" PUB_1 "\nlisten_port=5\n"), -EINVAL);
}
END_TEST

START_TEST(test_large_config)
{
	/* 100k allowed IPs on one peer round-trip through set and get. */
	size_t cap = 100000 * 32 + 256, len = 0, i;
	char *text = malloc(cap), *g;
	unsigned found = 0;

	len += (size_t)snprintf(text + len, cap - len, "public_key=" PUB_1 "\n");
	for (i = 0; i < 100000; i++)
		len += (size_t)snprintf(text + len, cap - len, "allowed_ip=10.%zu.%zu.%zu/32\n",
					(i >> 16) & 255, (i >> 8) & 255, i & 255);
	ck_assert_int_eq(wg_device_uapi_set(dev, text), 0);
	g = get();
	for (char *p = g; (p = strstr(p, "allowed_ip=")); p++)
		found++;
	ck_assert_uint_eq(found, 100000);
	free(g);
	free(text);
}
END_TEST

START_TEST(test_receive_junk_counted)
{
	uint8_t buf[256];
	union wg_endpoint src;
	struct wg_tun_batch tb = { 0 };
	uint64_t before;
	int i;

	memset(&src, 0, sizeof(src));
	src.in4.sin_family = AF_INET;
	src.in4.sin_port = htons(1);
	ck_assert_int_eq(wg_device_uapi_set(dev, "private_key=" PRIV_A "\n"), 0);
	before = atomic_load(&dev->drop_invalid) + atomic_load(&dev->drop_mac);
	for (i = 0; i < 200; i++) {
		size_t len = (size_t)(i % 200);
		randombytes_buf(buf, sizeof(buf));
		buf[0] = (uint8_t)(i % 6);
		buf[1] = buf[2] = buf[3] = 0;
		receive_datagram(dev, buf, len, &src, &tb);
	}
	ck_assert_uint_eq(tb.n, 0);
	ck_assert_uint_eq(atomic_load(&dev->drop_invalid) + atomic_load(&dev->drop_mac) - before, 200);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wg_uapi");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_set_get_roundtrip);
	tcase_add_test(tc, test_peer_ops);
	tcase_add_test(tc, test_own_key_peer_ignored);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_large_config);
	tcase_add_test(tc, test_receive_junk_counted);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
