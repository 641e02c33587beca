/* libFuzzer target: the packet receive path (receive_datagram). The first
 * input byte picks the mode:
 *   even: the rest is one raw datagram (handshake messages, junk, forged data);
 *   odd:  the rest is [counter u64][plaintext] sealed as a valid transport
 *         message of an established session, so inner-packet parsing, padding
 *         and the source check see arbitrary plaintext.
 * The session is set up once, in-process, by a real handshake over loopback. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "device.h"

static struct wg_device *dev;
static struct noise_keypair ikp; /* the fuzzer's (initiator's) session */
static union wg_endpoint me;
static uint64_t next_counter;

static void die(const char *m)
{
	fprintf(stderr, "fuzz setup: %s\n", m);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct noise_local ilocal;
	struct noise_handshake ihs;
	struct cookie_maker cm;
	struct msg_initiation init;
	struct msg_response resp;
	struct wg_tun_batch tb = { 0 };
	uint8_t ipriv[32], dpriv[32], dpub[32], ts[12];
	char hex[65], cfg[512];
	socklen_t sl = sizeof(me);
	int s;

	if (device_new_detached(&dev, "kwgfuzz") || sodium_init() < 0)
		die("device");
	randombytes_buf(dpriv, 32);
	randombytes_buf(ipriv, 32);
	noise_local_set(&ilocal, ipriv);
	if (wg_device_set_private_key(dev, dpriv) || wg_device_get_public_key(dev, dpub))
		die("key");
	/* The device gets a loopback socket; the fuzzer talks from another one. */
	if (udp_open(&dev->udp, 0, 0))
		die("udp");
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&me, 0, sizeof(me));
	me.in4.sin_family = AF_INET;
	me.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, &me.sa, sizeof(me.in4)) || getsockname(s, &me.sa, &sl))
		die("bind");
	struct timeval tv = { 1, 0 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", ilocal.public_key[i]);
	snprintf(cfg, sizeof(cfg),
		 "public_key=%s\nendpoint=127.0.0.1:%u\nallowed_ip=10.0.0.0/8\nallowed_ip=2001:db8::/32\n",
		 hex, ntohs(me.in4.sin_port));
	if (wg_device_uapi_set(dev, cfg))
		die("uapi");

	memset(&ihs, 0, sizeof(ihs));
	memcpy(ihs.remote_static, dpub, 32);
	if (!noise_handshake_precompute(&ihs, &ilocal))
		die("precompute");
	noise_tai64n(ts, 1700000000, 0);
	if (noise_create_initiation(&ihs, &ilocal, &init, 4242, ts))
		die("initiation");
	cookie_maker_init(&cm, dpub);
	cookie_add_macs(&cm, (uint8_t *)&init, sizeof(init), wg_now());
	pthread_rwlock_rdlock(&dev->cfg_lock);
	receive_datagram(dev, (uint8_t *)&init, sizeof(init), &me, &tb);
	pthread_rwlock_unlock(&dev->cfg_lock);
	if (recv(s, &resp, sizeof(resp), 0) != sizeof(resp) ||
	    noise_consume_response(&ihs, &ilocal, &resp) ||
	    noise_begin_session(&ihs, &ikp, wg_now()))
		die("response");
	close(s); /* later sends from the device go nowhere */
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[MSG_DATA_HEADER_LEN + 65536 + 32];
	struct wg_tun_batch tb = { 0 };
	size_t len;

	if (size < 1 || size > 65536)
		return 0;
	if (data[0] & 1) {
		uint64_t ctr;
		size_t plen;
		if (size < 9)
			return 0;
		memcpy(&ctr, data + 1, 8);
		/* Mostly fresh counters, sometimes the fuzzer's own (replays, old). */
		if (!(data[0] & 2))
			ctr = next_counter++;
		plen = size - 9;
		memcpy(buf + MSG_DATA_HEADER_LEN, data + 9, plen);
		le32_write(buf, MSG_DATA);
		le32_write(buf + 4, ikp.remote_index);
		le64_write(buf + 8, ctr);
		noise_encrypt(&ikp, ctr, buf + MSG_DATA_HEADER_LEN, plen);
		len = MSG_DATA_HEADER_LEN + plen + NOISE_AUTHTAG_LEN;
	} else {
		memcpy(buf, data + 1, size - 1);
		len = size - 1;
	}
	pthread_rwlock_rdlock(&dev->cfg_lock);
	receive_datagram(dev, buf, len, &me, &tb);
	pthread_rwlock_unlock(&dev->cfg_lock);
	/* What would be written to the TUN must lie inside the datagram. */
	for (unsigned i = 0; i < tb.n; i++)
		if (tb.pkt[i] < buf || tb.pkt[i] + tb.len[i] > buf + len)
			abort();
	return 0;
}
