/* The TUN interface: open/create, MTU, and packet I/O. With the virtio-net
 * header (IFF_VNET_HDR) and TSO enabled, one read may return a TCP
 * super-packet that offload.c splits, and one write may carry several
 * coalesced segments. */
#ifndef KW_WG_TUN_H
#define KW_WG_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wg_tun {
	int fd;
	char name[IFNAMSIZ]; /* current name (renames are followed) */
	bool vnet_hdr; /* every read/write starts with a struct virtio_net_hdr */
	bool uso_ok;      /* UDP GSO writes accepted (cleared on the first refusal) */
	uint8_t *gro_buf; /* TUN_VNET_HDR_LEN + 65535 bytes when vnet_hdr */
};

#define TUN_VNET_HDR_LEN 10

/* Create (or attach to) the TUN interface `name`, non-blocking. offload:
 * try IFF_VNET_HDR with checksum and TSO offloads. */
int tun_open(struct wg_tun **out, const char *name, bool offload);
void tun_close(struct wg_tun *t);
/* MTU of the interface, or a negative errno: -ENODEV only once the interface
 * is deleted. Found through the TUN fd, so it follows the interface across a
 * rename or a move to another network namespace (and updates name). */
int tun_mtu(struct wg_tun *t);
int tun_set_mtu(struct wg_tun *t, int mtu);
/* Bytes read (including the vnet header if enabled), -EAGAIN, or errno. */
ssize_t tun_read(struct wg_tun *t, uint8_t *buf, size_t cap);
/* Write one frame (with vnet header if enabled). */
int tun_write(struct wg_tun *t, const uint8_t *buf, size_t len);

/* Decrypted packets waiting to be written to the TUN. Each pkt has
 * TUN_VNET_HDR_LEN bytes of headroom in front of it that the writer may use. */
#define TUN_BATCH 256
struct wg_tun_batch {
	unsigned n;
	uint8_t *pkt[TUN_BATCH];
	uint16_t len[TUN_BATCH];
};
/* Write the batch (coalescing TCP segments when the TUN has offloads) and
 * empty it. */
void tun_write_batch(struct wg_tun *t, struct wg_tun_batch *b);

#endif
