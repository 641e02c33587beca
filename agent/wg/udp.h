/* The device's UDP socket: one dual-stack IPv6 socket (IPv4 peers appear as
 * v4-mapped), or IPv4 only where IPv6 is unavailable. Batched receive and
 * send (recvmmsg/sendmmsg) with UDP GSO/GRO where the kernel has them. */
#ifndef KW_WG_UDP_H
#define KW_WG_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

union wg_endpoint {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

struct wg_udp {
	int fd;           /* -1 when closed */
	int family;       /* of the socket */
	uint16_t port;    /* actually bound */
	bool gso, gro;
};

/* Bind [::]:port (or 0.0.0.0:port). port 0 = random. */
int udp_open(struct wg_udp *u, uint16_t port, uint32_t fwmark);
void udp_close(struct wg_udp *u);
int udp_set_fwmark(struct wg_udp *u, uint32_t fwmark);
/* One datagram. */
int udp_send(struct wg_udp *u, const union wg_endpoint *ep, const void *buf, size_t len);

/* Outgoing batch: each message is one datagram, or with gso_size set, a
 * train of equal datagrams (the last may be shorter) sent as one. */
#define UDP_TX_MSGS 64
struct udp_tx_batch {
	unsigned n;
	struct {
		const uint8_t *buf;
		size_t len;
		uint16_t gso_size; /* 0 = single datagram */
		union wg_endpoint dst;
	} msg[UDP_TX_MSGS];
};
/* Sends everything (falls back from GSO if the kernel refuses it). Returns 0
 * or a negative errno; the batch is emptied either way. */
int udp_send_batch(struct wg_udp *u, struct udp_tx_batch *b);

/* Incoming batch. With GRO one message may hold several datagrams of
 * gso_size bytes each (the last may be shorter). */
#define UDP_RX_MSGS 64
#define UDP_RX_BUF 65536
struct udp_rx_batch {
	unsigned n;
	struct {
		uint8_t *buf;   /* UDP_RX_BUF bytes each (caller allocates) */
		size_t len;
		uint16_t gso_size;
		union wg_endpoint src;
	} msg[UDP_RX_MSGS];
};
/* Number of messages (>0), -EAGAIN, or another negative errno. wait: block
 * until at least one arrives (or the socket's receive timeout passes). */
int udp_recv_batch(struct wg_udp *u, struct udp_rx_batch *b, unsigned max, bool wait);
int udp_recv_batch_fd(int fd, struct udp_rx_batch *b, unsigned max, bool wait);

/* Endpoint helpers. v4-mapped IPv6 addresses are normalised to AF_INET. */
void endpoint_normalize(union wg_endpoint *ep);
bool endpoint_eq(const union wg_endpoint *a, const union wg_endpoint *b);
/* Address bytes then port, for cookies: returns the length (6 or 18). */
size_t endpoint_to_bytes(const union wg_endpoint *ep, uint8_t out[18]);
/* "1.2.3.4:5" or "[::1]:5"; 0 or -EINVAL. */
int endpoint_parse(union wg_endpoint *ep, const char *s);
void endpoint_format(const union wg_endpoint *ep, char *out, size_t outlen);

#endif
