/*
 * In-process cost of one config fetch (token lookup + device row + signed envelope), the
 * part of a request that could grow with the number of devices, timed without HTTP, wrk or
 * the scheduler noise of a shared machine: at 100 and at 100,000 devices.
 * Usage: fetch_cost [DEVICES] (default 100000). Built by `make bench-controller`.
 */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/request.h"
#include "http/auth.h"
#include "core/conf.h"
#include "bench_time.h"
#include "key.h"
#include "core/signer.h"
#include "store/store.h"
#include "core/token.h"
#include "core/wgconf.h"

#define ITER 20000
#define ROUNDS 5

static char (*tokens)[KW_TOKEN_TEXT_MAX];
static long ntokens;

static int enroll_n(struct kw_store *st, const char *etok, long n)
{
	uint8_t th[KW_TOKEN_HASH_BYTES], dh[KW_TOKEN_HASH_BYTES], key[32];
	char pub[KW_KEY_B64_LEN + 1];
	struct kw_device d;

	token_hash(etok, th);
	for (long i = 0; i < n; i++) {
		struct kw_enroll_params p = { .token_hash = th, .hostname = "bench", .actor = "",
					      .now = (int64_t)time(NULL) };

		randombytes_buf(key, sizeof(key));
		key_to_base64(pub, key);
		token_new(tokens[ntokens], KW_TOKEN_PREFIX_DEVICE, dh);
		p.public_key = pub;
		p.device_token_hash = dh;
		if (store_enroll(st, &p, &d) < 0)
			return -1;
		ntokens++;
	}
	return 0;
}

/* One fetch as the HTTP layer does it: resolve the token, then the cached envelope. */
static int64_t one_fetch(struct kw_server *srv, const char *tok)
{
	struct kw_principal pr;
	struct kw_device d;
	json_t *err = NULL;
	char *text = NULL;
	size_t len;
	int64_t t0 = bench_now_ns(), t1;

	if (auth_resolve_device(srv, tok, (int64_t)time(NULL), &pr, NULL, &d, &err) != 0 ||
	    wgconf_envelope(srv, &d, (int64_t)time(NULL), &text, &len) < 0) {
		fprintf(stderr, "fetch failed\n");
		exit(1);
	}
	t1 = bench_now_ns();
	free(text);
	return t1 - t0;
}

static void measure(struct kw_server *srv, const char *what, bool random_device)
{
	static int64_t ns[ITER];
	double p50s[ROUNDS], p99s[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < ITER; i++) {
			long k = random_device ? (long)randombytes_uniform((uint32_t)ntokens) : 0;

			ns[i] = one_fetch(srv, tokens[k]);
		}
		qsort(ns, ITER, sizeof(ns[0]), bench_cmp64);
		p50s[r] = (double)ns[ITER / 2] / 1000.0;
		p99s[r] = (double)ns[ITER * 99 / 100] / 1000.0;
	}
	{
		double m50 = 0, m99 = 1e18, med99;
		double sorted[ROUNDS];

		memcpy(sorted, p99s, sizeof(sorted));
		for (int a = 0; a < ROUNDS; a++)
			for (int b = a + 1; b < ROUNDS; b++)
				if (sorted[b] < sorted[a]) {
					double t = sorted[a];

					sorted[a] = sorted[b];
					sorted[b] = t;
				}
		med99 = sorted[ROUNDS / 2];
		for (int r = 0; r < ROUNDS; r++) {
			m50 += p50s[r] / ROUNDS;
			if (p99s[r] < m99)
				m99 = p99s[r];
		}
		printf("FETCHCOST devices=%ld %s p50_us=%.1f p99_us_median=%.1f p99_us_best=%.1f\n", ntokens, what, m50,
		       med99, m99);
	}
}

int main(int argc, char **argv)
{
	long big = argc > 1 ? atol(argv[1]) : 100000;
	char dir[] = "/tmp/kws-fetchcost.XXXXXX", db[64], etok[KW_TOKEN_TEXT_MAX], cmd[96];
	uint8_t eh[KW_TOKEN_HASH_BYTES], gh[KW_TOKEN_HASH_BYTES], gk[32];
	char gpub[KW_KEY_B64_LEN + 1], gtok[KW_TOKEN_TEXT_MAX];
	struct kw_store_net net = { .quarantine = 0 };
	struct kw_conf conf;
	struct kw_server srv = { .conf = &conf, .version = "bench" };
	struct kw_device gw;
	int64_t id;

	if (sodium_init() < 0 || !mkdtemp(dir) || big < 100)
		return 1;
	tokens = calloc((size_t)big + 1, sizeof(*tokens));
	conf_defaults(&conf);
	(void)cidr_parse_network(&conf.cidr, "10.0.0.0/8");
	net.cidr = conf.cidr;
	snprintf(db, sizeof(db), "%s/keyway.db", dir);
	if (!tokens || store_open(db, &net, &srv.store) < 0 || signer_open(dir, &srv.signer) < 0 ||
	    wgconf_cache_new(&srv.wgcache) < 0)
		return 1;
	/* A gateway, so a device's config has a peer. */
	token_new(etok, KW_TOKEN_PREFIX_ENROLL, eh);
	if (store_enrollment_token_create(srv.store, "ops", KW_DEV_GATEWAY, (int64_t)time(NULL) + 86400, 1, eh, "b",
					  (int64_t)time(NULL), &id) < 0)
		return 1;
	randombytes_buf(gk, sizeof(gk));
	key_to_base64(gpub, gk);
	token_new(gtok, KW_TOKEN_PREFIX_DEVICE, gh);
	{
		struct kw_enroll_params p = { .token_hash = eh, .public_key = gpub, .hostname = "gw", .actor = "",
					      .device_token_hash = gh, .now = (int64_t)time(NULL) };

		if (store_enroll(srv.store, &p, &gw) < 0)
			return 1;
	}
	token_new(etok, KW_TOKEN_PREFIX_ENROLL, eh);
	if (store_enrollment_token_create(srv.store, "bench", KW_DEV_DEVICE, (int64_t)time(NULL) + 86400, big, eh, "b",
					  (int64_t)time(NULL), &id) < 0)
		return 1;
	if (enroll_n(srv.store, etok, 100) < 0)
		return 1;
	measure(&srv, "same-device", false);
	measure(&srv, "random-device-cached", true);
	if (enroll_n(srv.store, etok, big - 100) < 0)
		return 1;
	{
		/* A gateway's config lists every device: build it (payload, then signed). */
		struct kw_device g;
		char *payload = NULL, *text = NULL;
		size_t len = 0;
		int64_t t0, t1, t2;

		if (store_device_get(srv.store, gw.id, &g) < 0)
			return 1;
		t0 = bench_now_ns();
		if (wgconf_payload(&srv, &g, (int64_t)time(NULL), &payload) < 0)
			return 1;
		t1 = bench_now_ns();
		if (wgconf_envelope(&srv, &g, (int64_t)time(NULL), &text, &len) < 0)
			return 1;
		t2 = bench_now_ns();
		printf("GATEWAYCONF devices=%ld payload_bytes=%zu payload_ms=%.0f envelope_bytes=%zu signed_envelope_ms=%.0f\n",
		       ntokens, strlen(payload), (double)(t1 - t0) / 1e6, len, (double)(t2 - t1) / 1e6);
		free(payload);
		free(text);
	}
	measure(&srv, "same-device", false);
	measure(&srv, "random-device-mostly-unsigned", true);
	for (long i = 0; i < ntokens; i++) /* every device's envelope signed and cached */
		(void)one_fetch(&srv, tokens[i]);
	measure(&srv, "random-device-cached", true);
	wgconf_cache_free(srv.wgcache);
	signer_free(srv.signer);
	store_close(srv.store);
	free(tokens);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
