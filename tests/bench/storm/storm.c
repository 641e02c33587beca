/* storm: a reconnect storm against one WireGuard gateway (make bench-storm).
 *
 *   storm conf N SEED
 *     prints the [Peer] sections of N peers for `wg addconf` (keys derived
 *     from SEED, so `run` with the same N and SEED has the private halves).
 *   storm run GW_ADDR6 GW_PORT GW_PUB N SEED [FLOOD_PPS] [TIMEOUT_S]
 *     N peers, each a UDP socket on its own IPv6 /64 (2001:db8:5:i::2, bound
 *     with IPV6_FREEBIND; the caller routes 2001:db8:5::/48 locally), send a
 *     real Noise_IKpsk2 initiation each, at once, built with agent/wg's
 *     noise.c and cookie.c. A cookie reply is checked and the initiation sent
 *     again at once with MAC2 (an eager client: a real one waits for its
 *     retransmit timer, which would measure timers, not the gateway); no
 *     answer within REKEY_TIMEOUT (5 s, plus jitter, as WireGuard peers do)
 *     means a new initiation. A response is consumed, the
 *     session derived and confirmed with a keepalive: the peer has a session.
 *     FLOOD_PPS > 0 adds a thread sending that many initiations per second
 *     with a valid MAC1 and random contents from spoofed sources
 *     (2001:db8:f::/48, which the caller blackholes): they can never answer
 *     a cookie.
 *     Prints one line of key=value figures; exit 0 when every peer got a
 *     session before TIMEOUT_S (default 60).
 * All initiations are prepared before the clock starts: the peers are
 * separate machines, so the driver's own X25519 work must not be timed. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "blake2s.h"
#include "cookie.h"
#include "key.h"
#include "noise.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

struct storm_peer {
	int fd;
	struct noise_local local;
	struct noise_handshake hs;
	struct cookie_maker cookie;
	struct msg_initiation init;
	uint64_t sent_at;   /* ns, last initiation */
	uint64_t retry_at;  /* ns: REKEY_TIMEOUT plus jitter after a new initiation */
	uint64_t done_at;   /* ns since start, 0 = no session yet */
	unsigned attempts;
};

struct storm {
	struct storm_peer *p;
	unsigned n, done;
	uint8_t gw_pub[NOISE_PUBLIC_KEY_LEN];
	struct sockaddr_in6 gw;
	uint64_t t0;
	unsigned cookies, cookies_bad, responses, responses_bad, retransmits, stale;
	atomic_bool stop;
	unsigned flood_pps;
	atomic_ulong flood_sent;
};

static uint64_t storm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* The private key of peer i: BLAKE2s(seed || i), clamped by X25519 itself. */
static void storm_key(uint8_t priv[32], const char *seed, unsigned i)
{
	char in[128];
	int l = snprintf(in, sizeof(in), "%s/%u", seed, i);

	blake2s(priv, 32, (const uint8_t *)in, (size_t)l, NULL, 0);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

static int storm_conf(unsigned n, const char *seed)
{
	uint8_t priv[32], pub[32];
	char b64[KW_KEY_B64_LEN + 1];
	unsigned i;

	for (i = 0; i < n; i++) {
		storm_key(priv, seed, i);
		crypto_scalarmult_base(pub, priv);
		key_to_base64(b64, pub);
		printf("[Peer]\nPublicKey = %s\nAllowedIPs = 10.98.%u.%u/32\n\n", b64, i >> 8, i & 255);
	}
	sodium_memzero(priv, sizeof(priv));
	return 0;
}

/* A UDP socket bound to 2001:db8:PREFIX:i::2 (or ::1 for the flood). */
static int storm_socket(unsigned prefix, unsigned i, unsigned host)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	uint16_t w[8] = { 0x2001, 0x0db8, (uint16_t)prefix, (uint16_t)i, 0, 0, 0, (uint16_t)host };

	if (fd < 0)
		return -errno;
	for (int k = 0; k < 8; k++) {
		a.sin6_addr.s6_addr[2 * k] = (uint8_t)(w[k] >> 8);
		a.sin6_addr.s6_addr[2 * k + 1] = (uint8_t)w[k];
	}
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* A fresh initiation (new ephemeral, timestamp now) with its MACs. Its
 * sender index carries the attempt in the high half, so a late answer to an
 * earlier attempt is told apart (stale) from a bad one. */
static int storm_initiation(struct storm_peer *p, unsigned i)
{
	struct timespec wall;
	uint8_t ts[NOISE_TIMESTAMP_LEN];

	clock_gettime(CLOCK_REALTIME, &wall);
	noise_tai64n(ts, wall.tv_sec, wall.tv_nsec);
	if (noise_create_initiation(&p->hs, &p->local, &p->init, (p->attempts << 16) | (i + 1), ts))
		return -EINVAL;
	cookie_add_macs(&p->cookie, (uint8_t *)&p->init, sizeof(p->init), storm_now());
	return 0;
}

static int storm_prepare(struct storm *s, const char *seed)
{
	uint8_t priv[32];
	unsigned i;

	s->p = calloc(s->n, sizeof(*s->p));
	if (!s->p)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		struct storm_peer *p = &s->p[i];
		storm_key(priv, seed, i);
		noise_local_set(&p->local, priv);
		memcpy(p->hs.remote_static, s->gw_pub, 32);
		if (!noise_handshake_precompute(&p->hs, &p->local))
			return -EINVAL;
		cookie_maker_init(&p->cookie, s->gw_pub);
		p->fd = storm_socket(5, i, 2);
		if (p->fd < 0)
			return p->fd;
		if (storm_initiation(p, i))
			return -EINVAL;
	}
	sodium_memzero(priv, sizeof(priv));
	return 0;
}

static void storm_send(struct storm *s, struct storm_peer *p)
{
	p->sent_at = storm_now();
	if (!p->retry_at || p->sent_at >= p->retry_at) /* a new initiation: rearm */
		p->retry_at = p->sent_at + REKEY_TIMEOUT +
			      randombytes_uniform(REKEY_TIMEOUT_JITTER_MAX_MS) * NS_PER_MS;
	p->attempts++;
	(void)sendto(p->fd, &p->init, sizeof(p->init), 0, (struct sockaddr *)&s->gw, sizeof(s->gw));
}

/* Response: consume it, derive the session, confirm it with a keepalive. */
static void storm_response(struct storm *s, struct storm_peer *p, const uint8_t *b, size_t len)
{
	const struct msg_response *m = (const struct msg_response *)b;
	struct noise_keypair kp;
	uint8_t ka[MSG_DATA_MIN_LEN];

	if (len != sizeof(*m) || p->done_at || p->hs.state != NOISE_CREATED_INITIATION ||
	    le32_read(&m->receiver_index) != p->hs.local_index ||
	    noise_consume_response(&p->hs, &p->local, m) ||
	    noise_begin_session(&p->hs, &kp, storm_now())) {
		s->responses_bad++;
		return;
	}
	s->responses++;
	le32_write(ka, MSG_DATA);
	le32_write(ka + 4, kp.remote_index);
	le64_write(ka + 8, 0);
	noise_encrypt(&kp, 0, ka + MSG_DATA_HEADER_LEN, 0);
	(void)sendto(p->fd, ka, sizeof(ka), 0, (struct sockaddr *)&s->gw, sizeof(s->gw));
	sodium_memzero(&kp, sizeof(kp));
	p->done_at = storm_now() - s->t0;
	s->done++;
}

static void storm_receive(struct storm *s, unsigned i)
{
	struct storm_peer *p = &s->p[i];
	uint8_t b[256];
	ssize_t r;

	while ((r = recv(p->fd, b, sizeof(b), 0)) >= 12) {
		/* Both carry our sender index at offset 8 (response) or 4 (cookie). */
		uint32_t to = le32_read(b + (le32_read(b) == MSG_RESPONSE ? 8 : 4));
		if (to != p->hs.local_index) {
			s->stale++;
		} else if (le32_read(b) == MSG_RESPONSE) {
			storm_response(s, p, b, (size_t)r);
		} else if (le32_read(b) == MSG_COOKIE_REPLY && !p->done_at) {
			/* Check it, then send the same initiation again with MAC2:
			 * the gateway did not consume it, so its timestamp is new. */
			if (r != sizeof(struct msg_cookie_reply) ||
			    cookie_consume_reply(&p->cookie, (const struct msg_cookie_reply *)b,
						 storm_now())) {
				s->cookies_bad++;
				continue;
			}
			s->cookies++;
			cookie_add_macs(&p->cookie, (uint8_t *)&p->init, sizeof(p->init), storm_now());
			storm_send(s, p);
		}
	}
}

/* No answer within REKEY_TIMEOUT (5 s, plus up to 333 ms of jitter, as
 * WireGuard peers do): a new initiation (the old one may have been consumed,
 * so its timestamp cannot be used again). */
static void storm_retransmit(struct storm *s, uint64_t now)
{
	unsigned i;

	for (i = 0; i < s->n; i++) {
		struct storm_peer *p = &s->p[i];
		if (p->done_at || now < p->retry_at)
			continue;
		if (storm_initiation(p, i) == 0) {
			s->retransmits++;
			storm_send(s, p);
		}
	}
}

/* Spoofed initiations: valid MAC1 (anyone can compute it from the gateway's
 * public key), random contents, sources that never see the reply. */
static void *storm_flood(void *arg)
{
	struct storm *s = arg;
	struct cookie_maker m;
	struct msg_initiation msg;
	int fds[64];
	unsigned k, nfd = 0;
	uint64_t start = storm_now(), sent = 0;

	cookie_maker_init(&m, s->gw_pub);
	for (k = 0; k < 64; k++) {
		int fd = storm_socket(0xf, randombytes_uniform(65536), 1 + randombytes_uniform(65535));
		if (fd >= 0)
			fds[nfd++] = fd;
	}
	while (nfd && !atomic_load(&s->stop)) {
		uint64_t due = (storm_now() - start) * s->flood_pps / NS_PER_SEC;
		if (sent >= due) {
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
			continue;
		}
		randombytes_buf(&msg, sizeof(msg));
		le32_write(&msg.type, MSG_INITIATION);
		memset(msg.mac2, 0, sizeof(msg.mac2));
		m.cookie_birth = 0;
		cookie_add_macs(&m, (uint8_t *)&msg, sizeof(msg), storm_now());
		(void)sendto(fds[sent % nfd], &msg, sizeof(msg), 0, (struct sockaddr *)&s->gw,
			     sizeof(s->gw));
		sent++;
	}
	atomic_store(&s->flood_sent, sent);
	for (k = 0; k < nfd; k++)
		close(fds[k]);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void storm_report(struct storm *s, uint64_t elapsed)
{
	uint64_t *t = calloc(s->n, sizeof(*t));
	struct rusage ru;
	unsigned i, k = 0;

	for (i = 0; i < s->n; i++)
		if (s->p[i].done_at)
			t[k++] = s->p[i].done_at;
	qsort(t, k, sizeof(*t), cmp_u64);
	getrusage(RUSAGE_SELF, &ru);
	printf("peers=%u sessions=%u all_ms=%.1f p50_ms=%.1f p99_ms=%.1f cookies=%u cookies_bad=%u "
	       "responses=%u responses_bad=%u retransmits=%u stale=%u flood_sent=%lu "
	       "driver_cpu_ms=%ld\n",
	       s->n, s->done, (double)elapsed / 1e6, k ? (double)t[k / 2] / 1e6 : -1.0,
	       k ? (double)t[(k * 99 + 99) / 100 - 1] / 1e6 : -1.0,
	       s->cookies, s->cookies_bad, s->responses, s->responses_bad, s->retransmits,
	       s->stale, (unsigned long)atomic_load(&s->flood_sent),
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
		       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L);
	free(t);
}

static int storm_loop(struct storm *s, unsigned timeout_s)
{
	struct epoll_event ev[256];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint64_t last_check = 0, now;
	unsigned i;

	if (ep < 0)
		return -errno;
	for (i = 0; i < s->n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s->p[i].fd, &e) < 0)
			return -errno;
	}
	s->t0 = storm_now();
	for (i = 0; i < s->n; i++)
		storm_send(s, &s->p[i]);
	while (s->done < s->n) {
		int k, r = epoll_wait(ep, ev, 256, 50);
		for (k = 0; k < r; k++)
			storm_receive(s, ev[k].data.u32);
		now = storm_now();
		if (now - s->t0 > (uint64_t)timeout_s * NS_PER_SEC)
			break;
		if (now - last_check > 100 * NS_PER_MS) {
			storm_retransmit(s, now);
			last_check = now;
		}
	}
	close(ep);
	return 0;
}

static int storm_run(int argc, char **argv)
{
	struct storm s = { 0 };
	pthread_t flood;
	uint64_t elapsed;
	int ret;

	s.n = (unsigned)atoi(argv[5]);
	s.flood_pps = argc > 7 ? (unsigned)atoi(argv[7]) : 0;
	s.gw.sin6_family = AF_INET6;
	s.gw.sin6_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET6, argv[2], &s.gw.sin6_addr) != 1 || key_from_base64(s.gw_pub, argv[4]) ||
	    s.n == 0 || s.n > 65535) {
		fprintf(stderr, "storm: bad gateway address, key or peer count\n");
		return 2;
	}
	if ((ret = storm_prepare(&s, argv[6]))) {
		fprintf(stderr, "storm: preparing the peers: %s\n", strerror(-ret));
		return 1;
	}
	if (s.flood_pps && pthread_create(&flood, NULL, storm_flood, &s)) {
		fprintf(stderr, "storm: cannot start the flood thread\n");
		return 1;
	}
	ret = storm_loop(&s, argc > 8 ? (unsigned)atoi(argv[8]) : 60);
	elapsed = storm_now() - s.t0;
	atomic_store(&s.stop, true);
	if (s.flood_pps)
		pthread_join(flood, NULL);
	storm_report(&s, elapsed);
	return ret == 0 && s.done == s.n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	noise_init();
	if (argc == 4 && !strcmp(argv[1], "conf"))
		return storm_conf((unsigned)atoi(argv[2]), argv[3]);
	if (argc >= 7 && argc <= 9 && !strcmp(argv[1], "run"))
		return storm_run(argc, argv);
	fprintf(stderr, "usage: storm conf N SEED\n"
			"       storm run GW_ADDR6 GW_PORT GW_PUB N SEED [FLOOD_PPS] [TIMEOUT_S]\n");
	return 2;
}
