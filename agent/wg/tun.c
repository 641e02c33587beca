#include "config.h"

#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

#include "log.h"
#include "offload.h"

int tun_open(struct wg_tun **out, const char *name, bool offload)
{
	struct wg_tun *t;
	struct ifreq ifr;
	int ret;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0) {
		ret = -errno;
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		goto fail;
	}
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = 0;
	if (offload) {
		int hdrlen = TUN_VNET_HDR_LEN;
		unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
		/* UDP segmentation offload (Linux 6.2+): a UDP_SEGMENT sender's
		 * datagrams arrive as one super-packet. Without it, TSO only. */
		if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdrlen) == 0 &&
		    (ioctl(t->fd, TUNSETOFFLOAD, off | TUN_F_USO4 | TUN_F_USO6) == 0 ||
		     ioctl(t->fd, TUNSETOFFLOAD, off) == 0) &&
		    (t->gro_buf = malloc(TUN_VNET_HDR_LEN + 65535))) {
			t->vnet_hdr = true;
			t->uso_ok = true;
		} else {
			/* Reopen without the header rather than run half-configured. */
			close(t->fd);
			free(t);
			return tun_open(out, name, false);
		}
	}
	*out = t;
	return 0;
fail:
	if (t->fd >= 0)
		close(t->fd);
	free(t);
	return ret;
}

void tun_close(struct wg_tun *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->gro_buf);
	free(t);
}

/* The interface's current name, from the TUN fd itself: a rename
 * (`ip link set IF name NEW`) changes it and the fd follows. -ENODEV once the
 * interface is deleted (the fd is detached: EBADFD). */
static int tun_current_name(const struct wg_tun *t, char name[IFNAMSIZ])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(t->fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADFD ? -ENODEV : -errno;
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = 0;
	return 0;
}

/* A datagram socket in the namespace the interface lives in now. `ip link
 * set IF netns X` moves the interface but not this process, and interface
 * ioctls by name resolve in the socket's namespace: without this, the moved
 * interface looks deleted (or another one of the same name answers). The
 * calling thread enters the device's namespace for socket() only. */
static int tun_ns_socket(const struct wg_tun *t)
{
	struct stat dev_ns, own_ns;
	int nsfd, selffd = -1, s = -1, ret;

	nsfd = ioctl(t->fd, TUNGETDEVNETNS);
	if (nsfd < 0) { /* kernel before 5.2: the interface is taken to be here */
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		return s < 0 ? -errno : s;
	}
	selffd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (selffd < 0 || fstat(nsfd, &dev_ns) < 0 || fstat(selffd, &own_ns) < 0) {
		ret = -errno;
		goto out;
	}
	if (dev_ns.st_ino == own_ns.st_ino && dev_ns.st_dev == own_ns.st_dev) {
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		ret = s < 0 ? -errno : s;
		goto out;
	}
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		ret = -errno;
		goto out;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ret = s < 0 ? -errno : s;
	if (setns(selffd, CLONE_NEWNET) < 0) {
		/* Cannot happen with the capability we just used; if it did,
		 * this thread would live on in the wrong namespace. */
		log_error("tun: cannot return to own network namespace: %s", strerror(errno));
		abort();
	}
out:
	if (selffd >= 0)
		close(selffd);
	close(nsfd);
	return ret;
}

/* An interface ioctl (SIOCGIFMTU, ...) on the TUN interface wherever it is
 * now and whatever it is called now. */
static int ifreq_ioctl(struct wg_tun *t, unsigned long req, struct ifreq *ifr)
{
	char name[IFNAMSIZ];
	int s, ret;

	if ((ret = tun_current_name(t, name)))
		return ret;
	if (strcmp(name, t->name)) {
		log_info("interface renamed old=%s new=%s", t->name, name);
		memcpy(t->name, name, IFNAMSIZ);
	}
	if ((s = tun_ns_socket(t)) < 0)
		return s;
	memcpy(ifr->ifr_name, name, IFNAMSIZ);
	ret = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return ret;
}

int tun_mtu(struct wg_tun *t)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = ifreq_ioctl(t, SIOCGIFMTU, &ifr);
	return ret ? ret : ifr.ifr_mtu;
}

int tun_set_mtu(struct wg_tun *t, int mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = mtu;
	return ifreq_ioctl(t, SIOCSIFMTU, &ifr);
}

ssize_t tun_read(struct wg_tun *t, uint8_t *buf, size_t cap)
{
	ssize_t r = read(t->fd, buf, cap);

	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

int tun_write(struct wg_tun *t, const uint8_t *buf, size_t len)
{
	for (;;) {
		ssize_t r = write(t->fd, buf, len);
		if (r >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		return -errno;
	}
}

void tun_write_batch(struct wg_tun *t, struct wg_tun_batch *b)
{
	unsigned i;

	if (t && t->vnet_hdr) {
		offload_write_coalesced(t, b);
	} else if (t) {
		for (i = 0; i < b->n; i++)
			(void)tun_write(t, b->pkt[i], b->len[i]);
	}
	b->n = 0;
}
