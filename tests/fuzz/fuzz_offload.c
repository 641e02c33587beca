/* libFuzzer target: offload.c, the userspace segmentation and coalescing.
 * The first input byte picks the mode:
 *   even: the rest is one frame read from the TUN (virtio-net header +
 *         packet) for offload_split();
 *   odd:  the rest is a batch of decrypted packets, each prefixed by its
 *         length (one byte, times 8), for offload_write_coalesced(), which
 *         parses whatever an authenticated peer put inside its packets. The
 *         writes go to /dev/null.
 * Every segment offload_split() reports must fit its stride. */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offload.h"
#include "tun.h"

#define STRIDE 1600
#define MAXSEG 64

static struct wg_tun tun;
static uint8_t out[MAXSEG * STRIDE];
static uint8_t slots[TUN_BATCH][16 + 2048];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tun.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	tun.vnet_hdr = true;
	tun.gro_buf = malloc(TUN_VNET_HDR_LEN + 65535);
	if (tun.fd < 0 || !tun.gro_buf)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t seg_len[MAXSEG];
	struct wg_tun_batch b = { 0 };
	size_t off = 1;
	int n, i;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		n = offload_split(data + 1, size - 1, out, STRIDE, MAXSEG, seg_len);
		for (i = 0; i < n; i++)
			if (seg_len[i] > STRIDE)
				abort();
		return 0;
	}
	tun.uso_ok = data[0] & 2;
	while (off < size && b.n < TUN_BATCH) {
		size_t len = (size_t)data[off++] * 8;
		if (len > size - off)
			len = size - off;
		if (len > 2048)
			len = 2048;
		memcpy(slots[b.n] + 16, data + off, len);
		b.pkt[b.n] = slots[b.n] + 16;
		b.len[b.n] = (uint16_t)len;
		b.n++;
		off += len;
	}
	offload_write_coalesced(&tun, &b);
	return 0;
}
