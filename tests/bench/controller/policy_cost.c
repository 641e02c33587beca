/*
 * keywayd's side of access policies, timed in process: the signed config of a gateway whose
 * site is "deny" and has POLICIES policies (3 destinations each, one directory group each)
 * over DEVICES devices of as many users, each user in 3 of the groups; and one device's
 * config. Prints build times (median of 5) and sizes; the sites and policies are parsed once
 * per store change as in keywayd (KW_BENCH_NO_CACHE=1: every build reads them).
 * Usage: policy_cost [DEVICES [POLICIES]] (default 5000 200). Built by `make bench-sites`.
 */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/access_snap.h"
#include "core/conf.h"
#include "core/signer.h"
#include "core/token.h"
#include "core/wgconf.h"
#include "http/request.h"
#include "bench_time.h"
#include "key.h"
#include "store/store.h"

static int enroll_one(struct kw_store *st, const char *user, enum kw_device_role role, int64_t site,
		      struct kw_device *d)
{
	uint8_t th[KW_TOKEN_HASH_BYTES], dh[KW_TOKEN_HASH_BYTES], key[32];
	char etok[KW_TOKEN_TEXT_MAX], dtok[KW_TOKEN_TEXT_MAX], pub[KW_KEY_B64_LEN + 1];
	int64_t now = (int64_t)time(NULL), id;
	struct kw_enroll_params p = { .hostname = "bench", .actor = "", .now = now };
	int ret;

	token_new(etok, KW_TOKEN_PREFIX_ENROLL, th);
	ret = role == KW_DEV_GATEWAY ? store_site_token_create(st, user, site, now + 600, 1, th, "b", now, &id)
				     : store_enrollment_token_create(st, user, role, now + 600, 1, th, "b", now, &id);
	if (ret < 0)
		return ret;
	randombytes_buf(key, sizeof(key));
	key_to_base64(pub, key);
	token_new(dtok, KW_TOKEN_PREFIX_DEVICE, dh);
	p.token_hash = th;
	p.public_key = pub;
	p.device_token_hash = dh;
	return store_enroll(st, &p, d);
}

/* POLICIES policies on the site, policy i for group gI; each user in groups u, u+1, u+2. */
static int populate(struct kw_server *srv, int64_t site, long devices, long policies)
{
	char name[64], groups[64], dests[512], user[32];
	const char **members = calloc((size_t)devices + 1, sizeof(*members));
	char (*users)[32] = calloc((size_t)devices + 1, sizeof(*users));
	int64_t id;
	int ret = members && users ? 0 : -ENOMEM;

	for (long i = 0; ret == 0 && i < policies; i++) {
		struct kw_policy_row p = { .name = name, .site_id = site, .groups = groups, .users = "[]",
					   .destinations = dests };

		snprintf(name, sizeof(name), "p%ld", i);
		snprintf(groups, sizeof(groups), "[\"g%ld\"]", i);
		snprintf(dests, sizeof(dests),
			 "[{\"cidr\":\"10.1.%ld.0/24\",\"protocol\":\"tcp\",\"ports\":\"22,443,8000-8100\"},"
			 "{\"cidr\":\"10.1.%ld.53/32\",\"protocol\":\"udp\",\"ports\":\"53\"},"
			 "{\"cidr\":\"10.1.%ld.1/32\",\"protocol\":\"icmp\",\"ports\":\"\"}]",
			 i % 250, i % 250, i % 250);
		ret = store_policy_create(srv->store, &p, "bench", (int64_t)time(NULL), &id);
	}
	for (long i = 0; ret == 0 && i < devices; i++) {
		struct kw_device d;

		snprintf(user, sizeof(user), "u%ld", i);
		snprintf(users[i], sizeof(users[i]), "%s", user);
		ret = enroll_one(srv->store, user, KW_DEV_DEVICE, 0, &d);
	}
	for (long g = 0; ret == 0 && g < policies; g++) {
		size_t n = 0;

		for (long i = 0; i < devices; i++)
			if ((i - g + 3 * policies) % policies < 3)
				members[n++] = users[i];
		snprintf(name, sizeof(name), "g%ld", g);
		ret = store_group_members_replace(srv->store, name, members, n, (int64_t)time(NULL));
		if (ret > 0)
			ret = 0;
	}
	free(members);
	free(users);
	return ret;
}

static int64_t time_payload(struct kw_server *srv, struct kw_device *d, size_t *len)
{
	int64_t t[5];
	char *text = NULL;

	for (int r = 0; r < 5; r++) {
		int64_t t0 = bench_now_ns();

		if (wgconf_payload(srv, d, (int64_t)time(NULL), &text) < 0)
			return -1;
		t[r] = bench_now_ns() - t0;
		*len = strlen(text);
		free(text);
	}
	qsort(t, 5, sizeof(t[0]), bench_cmp64);
	return t[2];
}

int main(int argc, char **argv)
{
	long devices = argc > 1 ? atol(argv[1]) : 5000, policies = argc > 2 ? atol(argv[2]) : 200;
	char dir[] = "/tmp/kw-policy-cost.XXXXXX", db[64], cmd[96];
	struct kw_store_net net = { .quarantine = 0 };
	struct kw_server srv = { .version = "bench" };
	struct kw_site_change sc = { .name = "hq", .has_action = true, .default_action = KW_SITE_DENY };
	struct kw_cidr route;
	struct kw_device gw, dev;
	struct kw_conf conf;
	char other[256];
	int64_t site, t0, gw_ns, dev_ns;
	size_t gw_len = 0, dev_len = 0;
	int ret;

	if (sodium_init() < 0 || !mkdtemp(dir) || devices < 1 || policies < 1)
		return 1;
	snprintf(db, sizeof(db), "%s/keyway.db", dir);
	conf_defaults(&conf);
	(void)cidr_parse_network(&conf.cidr, "10.128.0.0/12");
	net.cidr = conf.cidr;
	snprintf(net.fingerprint, sizeof(net.fingerprint), "bench");
	srv.conf = &conf;
	(void)cidr_parse_network(&route, "10.1.0.0/16");
	sc.has_routes = true;
	sc.routes = &route;
	sc.nroutes = 1;
	ret = store_open(db, &net, &srv.store);
	if (ret == 0 && getenv("KW_BENCH_NO_CACHE") == NULL)
		ret = access_cache_new(&srv.access_cache);
	if (ret == 0)
		ret = signer_open(dir, &srv.signer);
	if (ret == 0)
		ret = store_site_create(srv.store, &sc, "bench", (int64_t)time(NULL), &site, other);
	t0 = bench_now_ns();
	if (ret == 0)
		ret = enroll_one(srv.store, "ops", KW_DEV_GATEWAY, site, &gw);
	if (ret == 0)
		ret = populate(&srv, site, devices, policies);
	if (ret == 0)
		ret = store_device_get(srv.store, gw.id, &gw);
	if (ret == 0)
		ret = store_device_get(srv.store, gw.id + 1, &dev);
	if (ret < 0) {
		fprintf(stderr, "policy_cost: setup failed: %s\n", strerror(-ret));
		return 1;
	}
	printf("setup: %ld devices, %ld policies (3 destinations each), 3 groups per user: %.1f s\n", devices,
	       policies, (double)(bench_now_ns() - t0) / 1e9);
	gw_ns = time_payload(&srv, &gw, &gw_len);
	dev_ns = time_payload(&srv, &dev, &dev_len);
	printf("gateway config (every device with its access): %.1f ms, %zu bytes\n", (double)gw_ns / 1e6, gw_len);
	printf("one device's config (its site peers and candidates): %.3f ms, %zu bytes\n", (double)dev_ns / 1e6,
	       dev_len);
	signer_free(srv.signer);
	access_cache_free(srv.access_cache);
	store_close(srv.store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 && gw_ns > 0 && dev_ns > 0 ? 0 : 1;
}
