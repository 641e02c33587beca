#include "config.h"

#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

static int udp_bind(int family, uint16_t port, uint32_t fwmark)
{
	int fd, one = 1, zero = 0, bufsz = 4 << 20;
	union wg_endpoint a;
	socklen_t alen;

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	{
		/* Blocking receive with a timeout: the receive thread sleeps in
		 * recvmmsg itself and still notices a stop request. */
		struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	memset(&a, 0, sizeof(a));
	if (family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
			goto fail;
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		a.in6.sin6_addr = in6addr_any;
		alen = sizeof(a.in6);
	} else {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
		a.in4.sin_addr.s_addr = htonl(INADDR_ANY);
		alen = sizeof(a.in4);
	}
	/* Large buffers absorb bursts between batches; FORCE works as root. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	(void)one;
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		goto fail;
	if (bind(fd, &a.sa, alen) < 0)
		goto fail;
	return fd;
fail:
	{
		int e = -errno;
		close(fd);
		return e;
	}
}

int udp_open(struct wg_udp *u, uint16_t port, uint32_t fwmark)
{
	union wg_endpoint a;
	socklen_t alen = sizeof(a);
	int fd, one = 1;

	u->fd = -1;
	fd = udp_bind(AF_INET6, port, fwmark);
	u->family = AF_INET6;
	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL) {
		fd = udp_bind(AF_INET, port, fwmark);
		u->family = AF_INET;
	}
	if (fd < 0)
		return fd;
	if (getsockname(fd, &a.sa, &alen) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	u->port = ntohs(a.sa.sa_family == AF_INET6 ? a.in6.sin6_port : a.in4.sin_port);
	u->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	/* The local address of each datagram, for source stickiness. IPv4
	 * traffic on the dual-stack socket reports IP_PKTINFO. */
	(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (u->family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	u->gso = true; /* probed on first use: EIO/EINVAL turns it off */
	u->fd = fd;
	return 0;
}

void udp_close(struct wg_udp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->port = 0;
}

int udp_set_fwmark(struct wg_udp *u, uint32_t fwmark)
{
	if (u->fd < 0)
		return 0;
	if (setsockopt(u->fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		return -errno;
	return 0;
}

/* Destination in the socket's family. */
static socklen_t dst_for_socket(const struct wg_udp *u, const union wg_endpoint *ep,
				union wg_endpoint *out)
{
	if (u->family == AF_INET6 && ep->sa.sa_family == AF_INET) {
		memset(out, 0, sizeof(*out));
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = ep->in4.sin_port;
		out->in6.sin6_addr.s6_addr[10] = 0xff;
		out->in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->in6.sin6_addr.s6_addr[12], &ep->in4.sin_addr, 4);
		return sizeof(out->in6);
	}
	*out = *ep;
	if (ep->sa.sa_family == AF_INET6)
		return sizeof(out->in6);
	if (ep->sa.sa_family == AF_INET)
		return sizeof(out->in4);
	return 0;
}

bool src_eq(const struct wg_src *a, const struct wg_src *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->a4.s_addr == b->a4.s_addr;
	if (a->family == AF_INET6)
		return !memcmp(&a->a6, &b->a6, sizeof(a->a6)) && a->ifindex == b->ifindex;
	return true;
}

/* Room for one UDP_SEGMENT cmsg followed by one PKTINFO cmsg. */
#define SEG_SPACE CMSG_SPACE(sizeof(uint16_t))
#define PKTINFO_SPACE CMSG_SPACE(sizeof(struct in6_pktinfo))
union udp_cmsg_buf {
	char buf[SEG_SPACE + PKTINFO_SPACE];
	struct cmsghdr align;
};

/* Writes a PKTINFO cmsg for src at c (at most PKTINFO_SPACE bytes). Returns
 * its space, or 0 if src does not apply to a destination of dst_family. */
static size_t put_pktinfo(struct cmsghdr *c, const struct wg_src *src, sa_family_t dst_family)
{
	if (!src || !src->family || src->family != dst_family)
		return 0;
	memset(c, 0, PKTINFO_SPACE);
	if (src->family == AF_INET) {
		/* Also understood by a dual-stack socket sending to a v4-mapped address. */
		struct in_pktinfo pi = { .ipi_ifindex = 0, .ipi_spec_dst = src->a4 };
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_addr = src->a6, .ipi6_ifindex = src->ifindex };
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
}

int udp_send_src(struct wg_udp *u, const union wg_endpoint *ep, const struct wg_src *src,
		 const void *buf, size_t len)
{
	union udp_cmsg_buf cm;
	union wg_endpoint d;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { 0 };
	socklen_t dlen;

	if (u->fd < 0)
		return -ENOTCONN;
	dlen = dst_for_socket(u, ep, &d);
	if (!dlen)
		return -EDESTADDRREQ;
	mh.msg_name = &d;
	mh.msg_namelen = dlen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_controllen = put_pktinfo((struct cmsghdr *)cm.buf, src, ep->sa.sa_family);
	if (mh.msg_controllen)
		mh.msg_control = cm.buf;
	if (sendmsg(u->fd, &mh, 0) < 0)
		return -errno;
	return 0;
}

int udp_send(struct wg_udp *u, const union wg_endpoint *ep, const void *buf, size_t len)
{
	return udp_send_src(u, ep, NULL, buf, len);
}

/* Sends m[0..n). On failure returns the negative errno and in *at the index
 * of the message that failed (those before it went out). */
static int send_mmsg_all(int fd, struct mmsghdr *m, unsigned n, unsigned *at)
{
	unsigned done = 0;
	int r;

	while (done < n) {
		r = sendmmsg(fd, m + done, n - done, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS) {
				/* Socket buffer full: wait briefly rather than drop the burst. */
				struct timespec ts = { 0, 20000 };
				nanosleep(&ts, NULL);
				continue;
			}
			*at = done;
			return -errno;
		}
		done += (unsigned)r;
	}
	return 0;
}

#define TX_MMSG (UDP_TX_MSGS * 4)

/*
 * Send a batch with as few system calls as the kernel allows: UDP_SEGMENT trains of equal
 * datagrams, sendmmsg for the batch, and the fallback to single datagrams when GSO is
 * refused. Longer than 100 lines on purpose: one batch loop of the data path, whose branches
 * share the message arrays it fills.
 */
int udp_send_batch(struct wg_udp *u, struct udp_tx_batch *b)
{
	struct mmsghdr m[TX_MMSG];
	struct iovec iov[TX_MMSG];
	uint8_t orig[TX_MMSG]; /* message index of each mmsghdr */
	union wg_endpoint dst[UDP_TX_MSGS];
	union udp_cmsg_buf cm[UDP_TX_MSGS];
	unsigned i, j, first = 0, n, done, at;
	int ret = 0, r;

	if (u->fd < 0) {
		b->n = 0;
		return -ENOTCONN;
	}
	for (i = 0; i < b->n; i++)
		b->msg[i].src_failed = false;
retry:
	n = 0;
	for (i = first; i < b->n; i++) {
		socklen_t dlen = dst_for_socket(u, &b->msg[i].dst, &dst[i]);
		bool train = b->msg[i].gso_size && b->msg[i].len > b->msg[i].gso_size;
		/* cm[i]: UDP_SEGMENT at the start, PKTINFO after it. */
		size_t pi = put_pktinfo((struct cmsghdr *)(cm[i].buf + SEG_SPACE),
					b->msg[i].src_failed ? NULL : &b->msg[i].src,
					b->msg[i].dst.sa.sa_family);
		if (!dlen)
			continue;
		if (train && !u->gso) {
			/* No GSO: one message per datagram of the train. */
			size_t off;
			for (off = 0; off < b->msg[i].len; off += b->msg[i].gso_size) {
				size_t l = b->msg[i].len - off;
				if (l > b->msg[i].gso_size)
					l = b->msg[i].gso_size;
				if (n == TX_MMSG) {
					/* Rare (64 trains of 4+ without GSO): flush, keep going. */
					done = 0;
					while (done < n &&
					       (r = send_mmsg_all(u->fd, m + done, n - done, &at)) < 0) {
						ret = r;
						done += at + 1;
					}
					n = 0;
				}
				iov[n].iov_base = (void *)(b->msg[i].buf + off);
				iov[n].iov_len = l;
				memset(&m[n], 0, sizeof(m[n]));
				m[n].msg_hdr.msg_name = &dst[i];
				m[n].msg_hdr.msg_namelen = dlen;
				m[n].msg_hdr.msg_iov = &iov[n];
				m[n].msg_hdr.msg_iovlen = 1;
				if (pi) {
					m[n].msg_hdr.msg_control = cm[i].buf + SEG_SPACE;
					m[n].msg_hdr.msg_controllen = pi;
				}
				orig[n] = (uint8_t)i;
				n++;
			}
			continue;
		}
		iov[n].iov_base = (void *)b->msg[i].buf;
		iov[n].iov_len = b->msg[i].len;
		memset(&m[n], 0, sizeof(m[n]));
		m[n].msg_hdr.msg_name = &dst[i];
		m[n].msg_hdr.msg_namelen = dlen;
		m[n].msg_hdr.msg_iov = &iov[n];
		m[n].msg_hdr.msg_iovlen = 1;
		if (train) {
			struct cmsghdr *c = (struct cmsghdr *)cm[i].buf;
			memset(c, 0, SEG_SPACE);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			memcpy(CMSG_DATA(c), &b->msg[i].gso_size, sizeof(uint16_t));
			m[n].msg_hdr.msg_control = cm[i].buf;
			m[n].msg_hdr.msg_controllen = SEG_SPACE + pi;
		} else if (pi) {
			m[n].msg_hdr.msg_control = cm[i].buf + SEG_SPACE;
			m[n].msg_hdr.msg_controllen = pi;
		}
		orig[n] = (uint8_t)i;
		n++;
	}
	done = 0;
	while (done < n) {
		r = send_mmsg_all(u->fd, m + done, n - done, &at);
		if (!r)
			break;
		at += done;
		i = orig[at];
		if (udp_src_gone(r) && b->msg[i].src.family && !b->msg[i].src_failed) {
			/* The local address went away: drop it from every message that
			 * uses it and send those again from whatever the route picks. */
			struct wg_src gone = b->msg[i].src;
			for (j = 0; j < b->n; j++)
				if (b->msg[j].src.family && src_eq(&b->msg[j].src, &gone))
					b->msg[j].src_failed = true;
			for (j = at; j < n; j++) {
				if (!b->msg[orig[j]].src_failed)
					continue;
				if (m[j].msg_hdr.msg_control == cm[orig[j]].buf) {
					m[j].msg_hdr.msg_controllen = SEG_SPACE;
				} else {
					m[j].msg_hdr.msg_control = NULL;
					m[j].msg_hdr.msg_controllen = 0;
				}
			}
			done = at;
			continue;
		}
		if (r == -EIO && u->gso) {
			/* The route's device cannot segment: do it ourselves from now on. */
			u->gso = false;
			first = i;
			goto retry;
		}
		/* This datagram cannot go (no route, ...): the others still may. */
		ret = r;
		done = at + 1;
	}
	b->n = 0;
	return ret;
}

int udp_recv_batch(struct wg_udp *u, struct udp_rx_batch *b, unsigned max, bool wait)
{
	return udp_recv_batch_fd(u->fd, b, max, wait);
}

int udp_recv_batch_fd(int fd, struct udp_rx_batch *b, unsigned max, bool wait)
{
	struct mmsghdr m[UDP_RX_MSGS];
	struct iovec iov[UDP_RX_MSGS];
	union {
		char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
			 CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cm[UDP_RX_MSGS];
	unsigned i;
	int r;

	if (max > UDP_RX_MSGS)
		max = UDP_RX_MSGS;
	for (i = 0; i < max; i++) {
		iov[i].iov_base = b->msg[i].buf;
		iov[i].iov_len = UDP_RX_BUF;
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_name = &b->msg[i].src;
		m[i].msg_hdr.msg_namelen = sizeof(b->msg[i].src);
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_control = cm[i].buf;
		m[i].msg_hdr.msg_controllen = sizeof(cm[i].buf);
	}
	r = recvmmsg(fd, m, max, wait ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (i = 0; i < (unsigned)r; i++) {
		struct cmsghdr *c;
		b->msg[i].len = m[i].msg_len;
		b->msg[i].gso_size = 0;
		b->msg[i].local.family = 0;
		for (c = CMSG_FIRSTHDR(&m[i].msg_hdr); c; c = CMSG_NXTHDR(&m[i].msg_hdr, c)) {
			if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
				int g;
				memcpy(&g, CMSG_DATA(c), sizeof(g));
				b->msg[i].gso_size = (uint16_t)g;
			} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				b->msg[i].local.family = AF_INET;
				b->msg[i].local.ifindex = 0;
				b->msg[i].local.a4 = pi.ipi_addr;
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
				   b->msg[i].local.family != AF_INET) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr)) {
					b->msg[i].local.family = AF_INET;
					b->msg[i].local.ifindex = 0;
					memcpy(&b->msg[i].local.a4, &pi.ipi6_addr.s6_addr[12], 4);
				} else {
					b->msg[i].local.family = AF_INET6;
					b->msg[i].local.a6 = pi.ipi6_addr;
					b->msg[i].local.ifindex = IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr)
									  ? (unsigned)pi.ipi6_ifindex
									  : 0;
				}
			}
		}
		if (m[i].msg_hdr.msg_flags & MSG_CTRUNC)
			b->msg[i].local.family = 0;
		endpoint_normalize(&b->msg[i].src);
	}
	b->n = (unsigned)r;
	return r;
}

void endpoint_normalize(union wg_endpoint *ep)
{
	if (ep->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr)) {
		struct sockaddr_in v4;
		memset(&v4, 0, sizeof(v4));
		v4.sin_family = AF_INET;
		v4.sin_port = ep->in6.sin6_port;
		memcpy(&v4.sin_addr, &ep->in6.sin6_addr.s6_addr[12], 4);
		memset(ep, 0, sizeof(*ep));
		ep->in4 = v4;
	}
}

bool endpoint_eq(const union wg_endpoint *a, const union wg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
	return true;
}

size_t endpoint_to_bytes(const union wg_endpoint *ep, uint8_t out[18])
{
	if (ep->sa.sa_family == AF_INET) {
		memcpy(out, &ep->in4.sin_addr, 4);
		memcpy(out + 4, &ep->in4.sin_port, 2);
		return 6;
	}
	if (ep->sa.sa_family == AF_INET6) {
		memcpy(out, &ep->in6.sin6_addr, 16);
		memcpy(out + 16, &ep->in6.sin6_port, 2);
		return 18;
	}
	memset(out, 0, 6);
	return 6;
}

int endpoint_parse(union wg_endpoint *ep, const char *s)
{
	char host[INET6_ADDRSTRLEN + 16];
	const char *port_s;
	size_t hlen;
	char *end;
	unsigned long port;

	memset(ep, 0, sizeof(*ep));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return -EINVAL;
		hlen = (size_t)(rb - s - 1);
		port_s = rb + 2;
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen);
		host[hlen] = 0;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hlen);
		host[hlen] = 0;
		port_s = colon + 1;
	}
	if (!*port_s)
		return -EINVAL;
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno || *end || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &ep->in4.sin_addr) == 1) {
		ep->in4.sin_family = AF_INET;
		ep->in4.sin_port = htons((uint16_t)port);
		return 0;
	}
	{
		char *pct = strchr(host, '%');
		unsigned scope = 0;
		if (pct) {
			*pct = 0;
			scope = if_nametoindex(pct + 1);
			if (!scope) {
				scope = (unsigned)strtoul(pct + 1, &end, 10);
				if (*end)
					return -EINVAL;
			}
		}
		if (inet_pton(AF_INET6, host, &ep->in6.sin6_addr) == 1) {
			ep->in6.sin6_family = AF_INET6;
			ep->in6.sin6_port = htons((uint16_t)port);
			ep->in6.sin6_scope_id = scope;
			endpoint_normalize(ep);
			return 0;
		}
	}
	memset(ep, 0, sizeof(*ep));
	return -EINVAL;
}

void endpoint_format(const union wg_endpoint *ep, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->in4.sin_addr, a, sizeof(a));
		snprintf(out, outlen, "%s:%u", a, ntohs(ep->in4.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->in6.sin6_addr, a, sizeof(a));
		if (ep->in6.sin6_scope_id)
			snprintf(out, outlen, "[%s%%%u]:%u", a, ep->in6.sin6_scope_id,
				 ntohs(ep->in6.sin6_port));
		else
			snprintf(out, outlen, "[%s]:%u", a, ntohs(ep->in6.sin6_port));
	} else if (outlen) {
		out[0] = 0;
	}
}
