/* Check suite for agent/netlink.c and agent/privdrop.c against the real kernel, each test
 * in a fresh network namespace of its own (needs root; skipped otherwise). */
#define _GNU_SOURCE
#include "config.h"

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cidr.h"
#include "netlink.h"
#include "privdrop.h"

static bool have_root(void)
{
	return geteuid() == 0;
}

/* A private network namespace for this (forked) test, with a veth link "kwad0" (no dummy module needed). */
static int netns_with_dummy(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	return system("ip link add kwad0 type veth peer name kwad1") == 0 ? 0 : -EIO;
}

static bool ip_shows(const char *cmd, const char *needle)
{
	char buf[4096];
	size_t n;
	FILE *p = popen(cmd, "r");

	if (!p)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	pclose(p);
	return strstr(buf, needle) != NULL;
}

START_TEST(test_netlink_link_addr_route)
{
	struct kw_cidr a, r, r6, a6;
	int idx;

	if (!have_root())
		return;
	ck_assert_int_eq(netns_with_dummy(), 0);
	idx = netlink_ifindex("kwad0");
	ck_assert_int_gt(idx, 0);
	ck_assert_int_eq(netlink_ifindex("kwa-none"), -ENODEV);
	ck_assert_int_eq(netlink_link_set(idx, true, 1380), 0);
	ck_assert(ip_shows("ip link show kwad0", "mtu 1380"));
	ck_assert(ip_shows("ip link show kwad0", ",UP"));

	ck_assert_int_eq(cidr_parse(&a, "10.77.0.5/32"), 0);
	ck_assert_int_eq(netlink_address(idx, &a, true), 0);
	ck_assert_int_eq(netlink_address(idx, &a, true), 0); /* replace: idempotent */
	ck_assert(ip_shows("ip -4 addr show kwad0", "inet 10.77.0.5/32"));
	ck_assert_int_eq(cidr_parse(&a6, "2001:db8::5/128"), 0);
	ck_assert_int_eq(netlink_address(idx, &a6, true), 0);
	ck_assert(ip_shows("ip -6 addr show kwad0", "2001:db8::5/128"));

	ck_assert_int_eq(cidr_parse(&r, "198.51.100.0/24"), 0);
	ck_assert_int_eq(netlink_route(idx, &r, true), 0);
	ck_assert_int_eq(netlink_route(idx, &r, true), 0);
	ck_assert(ip_shows("ip -4 route show", "198.51.100.0/24 dev kwad0"));
	ck_assert_int_eq(cidr_parse(&r6, "2001:db8:1::/48"), 0);
	ck_assert_int_eq(netlink_route(idx, &r6, true), 0);
	ck_assert(ip_shows("ip -6 route show", "2001:db8:1::/48 dev kwad0"));

	ck_assert_int_eq(netlink_route(idx, &r, false), 0);
	ck_assert(!ip_shows("ip -4 route show", "198.51.100.0/24"));
	ck_assert_int_eq(netlink_route(idx, &r, false), 0); /* already gone: fine */
	ck_assert_int_eq(netlink_address(idx, &a, false), 0);
	ck_assert(!ip_shows("ip -4 addr show kwad0", "10.77.0.5"));
	ck_assert_int_eq(netlink_address(idx, &a, false), 0);

	ck_assert_int_eq(netlink_link_set(idx, false, 0), 0);
	ck_assert(!ip_shows("ip link show kwad0", ",UP"));
	ck_assert_int_eq(netlink_link_set(99999, true, 0), -ENODEV);
}
END_TEST

START_TEST(test_privdrop)
{
	if (!have_root())
		return;
	ck_assert_int_eq(netns_with_dummy(), 0);
	ck_assert(!privdrop_only_net_admin());
	ck_assert_int_eq(privdrop_keep_net_admin(), 0);
	ck_assert(privdrop_only_net_admin());
	ck_assert(ip_shows("grep ^CapBnd /proc/self/status", "0000000000001000"));
	ck_assert_int_eq(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
	ck_assert_int_eq(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	/* What is left still works: rtnetlink changes need CAP_NET_ADMIN only. */
	ck_assert_int_eq(netlink_link_set(netlink_ifindex("kwad0"), true, 1400), 0);
	/* What is gone is gone: binding a port below 1024 needs CAP_NET_BIND_SERVICE. */
	ck_assert_int_ne(system("python3 -c 'import socket; socket.socket().bind((\"127.0.0.1\", 81))' 2>/dev/null"), 0);
	/* Dropping again is harmless. */
	ck_assert_int_eq(privdrop_keep_net_admin(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_system");
	TCase *tc = tcase_create("system");
	SRunner *sr;
	int failed;

	if (!have_root())
		fprintf(stderr, "test_agent_system: not root, kernel checks skipped\n");
	/* Every test forks (CK_FORK default), so namespaces and capabilities stay in it. */
	tcase_add_test(tc, test_netlink_link_addr_route);
	tcase_add_test(tc, test_privdrop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (!have_root())
		return 77;
	return failed ? 1 : 0;
}
