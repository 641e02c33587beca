/* Userspace TSO/USO and GRO for the TUN virtio-net header: split a TCP or
 * UDP super-packet read from the TUN into MTU-sized IP packets, and coalesce
 * decrypted TCP segments (or equal UDP datagrams) of one flow into a
 * super-packet for one TUN write. Pure packet
 * surgery except offload_write_coalesced(), which calls tun_write(). */
#ifndef KW_WG_OFFLOAD_H
#define KW_WG_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

struct wg_tun;
struct wg_tun_batch;

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#define VIRTIO_NET_HDR_GSO_TCPV6 4

struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
} __attribute__((packed));

/* frame = vnet header + packet (len bytes in all): a plain packet (its
 * checksum finished if NEEDS_CSUM), or a TCPv4/TCPv6/UDP_L4 super-packet to
 * cut into gso_size segments with their own headers and checksums (IPv4 ids
 * counting up, TCP sequence numbers advancing). Writes up to max_segs IP
 * packets to out + i * stride (each at most stride bytes), their lengths to
 * seg_len[i]. Returns the number of segments, or -EINVAL for a frame that
 * cannot be split (dropped by the caller). */
int offload_split(const uint8_t *frame, size_t len, uint8_t *out, size_t stride,
		  unsigned max_segs, uint16_t *seg_len);

/* Internet checksum helpers. */
uint32_t csum_partial(const uint8_t *p, size_t len, uint32_t sum);
uint16_t csum_fold(uint32_t sum);

/* Write a batch of plain IP packets through a vnet-header TUN, coalescing
 * runs of in-order TCP segments of one flow. */
void offload_write_coalesced(struct wg_tun *t, struct wg_tun_batch *b);

#endif
