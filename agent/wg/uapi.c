#include "config.h"

#include "uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <sodium.h>

#include "device.h"
#include "key.h"
#include "log.h"

#define UAPI_DEFAULT_DIR "/var/run/wireguard"
#define UAPI_MAX_LINE 4096

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!*v || *v == '-' || *v == '+' || *v == ' ')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

static int parse_cidr(const char *v, struct wg_allowed_ip *a)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);
	uint64_t c;

	if (alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, alen);
	buf[alen] = 0;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, &a->addr.v4) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &a->addr.v6) == 1)
		a->family = AF_INET6;
	else
		return -EINVAL;
	if (!slash) {
		a->cidr = a->family == AF_INET ? 32 : 128;
		return 0;
	}
	if (parse_u64(slash + 1, a->family == AF_INET ? 32 : 128, &c))
		return -EINVAL;
	a->cidr = (uint8_t)c;
	return 0;
}

void uapi_set_begin(struct uapi_set *s, struct wg_device *dev)
{
	memset(s, 0, sizeof(*s));
	s->dev = dev;
	pthread_rwlock_wrlock(&dev->cfg_lock);
}

static int set_device_key(struct uapi_set *s, const char *k, const char *v)
{
	struct wg_device *dev = s->dev;
	uint8_t key[WG_KEY_LEN];
	uint64_t n;
	int ret;

	if (!strcmp(k, "private_key")) {
		if (key_from_hex(key, v))
			return -EINVAL;
		device_set_private_key_locked(dev, key);
		sodium_memzero(key, sizeof(key));
		return 0;
	}
	if (!strcmp(k, "listen_port")) {
		if (parse_u64(v, 65535, &n))
			return -EINVAL;
		ret = device_set_listen_port_locked(dev, (uint16_t)n);
		return ret == -EADDRINUSE || ret == -EACCES ? -EADDRINUSE : ret;
	}
	if (!strcmp(k, "fwmark")) {
		if (parse_u64(v, UINT32_MAX, &n))
			return -EINVAL;
		return device_set_fwmark_locked(dev, (uint32_t)n);
	}
	if (!strcmp(k, "replace_peers")) {
		if (strcmp(v, "true"))
			return -EINVAL;
		device_peers_clear_locked(dev);
		return 0;
	}
	return -EINVAL;
}

static int set_peer_key(struct uapi_set *s, const char *k, const char *v)
{
	struct wg_device *dev = s->dev;
	struct wg_peer *p = s->peer;
	uint8_t key[WG_KEY_LEN];
	uint64_t n;

	if (!strcmp(k, "update_only")) {
		if (strcmp(v, "true"))
			return -EINVAL;
		if (p && s->peer_created) {
			device_peer_remove_locked(dev, p);
			s->peer = NULL;
		}
		return 0;
	}
	if (!strcmp(k, "remove")) {
		if (strcmp(v, "true"))
			return -EINVAL;
		if (p)
			device_peer_remove_locked(dev, p);
		s->peer = NULL;
		return 0;
	}
	if (!strcmp(k, "preshared_key")) {
		if (key_from_hex(key, v))
			return -EINVAL;
		if (p)
			device_peer_set_psk_locked(p, key);
		sodium_memzero(key, sizeof(key));
		return 0;
	}
	if (!strcmp(k, "endpoint")) {
		union wg_endpoint ep;
		if (endpoint_parse(&ep, v))
			return -EINVAL;
		if (p)
			device_peer_set_endpoint_locked(p, &ep);
		return 0;
	}
	if (!strcmp(k, "persistent_keepalive_interval")) {
		if (parse_u64(v, 65535, &n))
			return -EINVAL;
		if (p)
			device_peer_set_keepalive_locked(dev, p, (uint16_t)n);
		return 0;
	}
	if (!strcmp(k, "replace_allowed_ips")) {
		if (strcmp(v, "true"))
			return -EINVAL;
		if (p)
			allowedips_remove_peer(&dev->aips, p);
		return 0;
	}
	if (!strcmp(k, "allowed_ip")) {
		struct wg_allowed_ip a;
		bool del = v[0] == '-';
		if (parse_cidr(v + del, &a))
			return -EINVAL;
		if (!p)
			return 0;
		if (del) {
			int r = allowedips_remove(&dev->aips, a.family, (const uint8_t *)&a.addr,
						  a.cidr, p);
			return r == -ENOENT ? 0 : r;
		}
		return device_peer_add_aip_locked(dev, p, &a);
	}
	if (!strcmp(k, "protocol_version")) {
		return strcmp(v, "1") ? -EPROTO : 0;
	}
	return -EINVAL;
}

void uapi_set_line(struct uapi_set *s, char *line)
{
	char *eq;
	int ret;

	if (s->err || !*line)
		return;
	eq = strchr(line, '=');
	if (!eq) {
		s->err = -EPROTO;
		return;
	}
	*eq = 0;
	const char *k = line, *v = eq + 1;
	if (!strcmp(k, "public_key")) {
		uint8_t pub[WG_KEY_LEN];
		bool existed;
		if (key_from_hex(pub, v)) {
			s->err = -EINVAL;
			return;
		}
		s->in_peer = true;
		existed = device_peer_lookup(s->dev, pub) != NULL;
		s->peer = device_peer_get_or_create_locked(s->dev, pub, true, &ret);
		s->peer_created = s->peer && !existed;
		if (ret)
			s->err = ret;
		return;
	}
	ret = s->in_peer ? set_peer_key(s, k, v) : set_device_key(s, k, v);
	if (ret) {
		log_warn("uapi set rejected key=%s err=%d", k, ret);
		s->err = ret;
	}
}

int uapi_set_end(struct uapi_set *s)
{
	pthread_rwlock_unlock(&s->dev->cfg_lock);
	return s->err;
}

int wg_device_uapi_set(struct wg_device *dev, const char *text)
{
	struct uapi_set s;
	char *copy = strdup(text), *line, *save = NULL;
	int ret;

	if (!copy)
		return -ENOMEM;
	uapi_set_begin(&s, dev);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		uapi_set_line(&s, line);
	ret = uapi_set_end(&s);
	sodium_memzero(copy, strlen(text));
	free(copy);
	return ret;
}

static int print_aip(void *ctx, int family, const uint8_t *ip, uint8_t cidr, void *peer)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, ip, a, sizeof(a));
	fprintf((FILE *)ctx, "allowed_ip=%s/%u\n", a, cidr);
	return 0;
}

int uapi_get_write(struct wg_device *dev, FILE *f)
{
	char hex[KW_KEY_HEX_LEN + 1], ep[INET6_ADDRSTRLEN + 16];
	struct wg_peer *p;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	if (dev->local.has_identity) {
		key_to_hex(hex, dev->local.private_key);
		fprintf(f, "private_key=%s\n", hex);
		sodium_memzero(hex, sizeof(hex));
	}
	if (dev->udp.fd >= 0 ? dev->udp.port : dev->listen_port)
		fprintf(f, "listen_port=%u\n", dev->udp.fd >= 0 ? dev->udp.port : dev->listen_port);
	if (dev->fwmark)
		fprintf(f, "fwmark=%" PRIu32 "\n", dev->fwmark);
	for (p = dev->peers; p; p = p->next) {
		pthread_mutex_lock(&p->lock);
		key_to_hex(hex, p->public_key);
		fprintf(f, "public_key=%s\n", hex);
		key_to_hex(hex, p->hs.preshared_key);
		fprintf(f, "preshared_key=%s\n", hex);
		sodium_memzero(hex, sizeof(hex));
		fprintf(f, "protocol_version=1\n");
		if (p->endpoint.sa.sa_family) {
			endpoint_format(&p->endpoint, ep, sizeof(ep));
			fprintf(f, "endpoint=%s\n", ep);
		}
		fprintf(f, "last_handshake_time_sec=%" PRId64 "\n", p->last_handshake_sec);
		fprintf(f, "last_handshake_time_nsec=%" PRId64 "\n", p->last_handshake_nsec);
		fprintf(f, "tx_bytes=%" PRIu64 "\n", atomic_load(&p->tx_bytes));
		fprintf(f, "rx_bytes=%" PRIu64 "\n", atomic_load(&p->rx_bytes));
		fprintf(f, "persistent_keepalive_interval=%u\n",
			p->timers.persistent_keepalive_interval);
		pthread_mutex_unlock(&p->lock);
		allowedips_walk(&dev->aips, p, print_aip, f);
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
	return ferror(f) ? -EIO : 0;
}

int wg_device_uapi_get(struct wg_device *dev, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	if (!f)
		return -ENOMEM;
	ret = uapi_get_write(dev, f);
	if (fclose(f) != 0 && !ret)
		ret = -ENOMEM;
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	return 0;
}

/* --- the socket --- */

struct line_reader {
	int fd;
	char buf[8192];
	size_t start, end;
};

/* Next line (without \n) into out; 1 = line, 0 = EOF, <0 error. */
static int read_line(struct line_reader *r, char *out, size_t cap)
{
	size_t n = 0;
	bool overflow = false;

	for (;;) {
		while (r->start < r->end) {
			char c = r->buf[r->start++];
			if (c == '\n') {
				out[n] = 0;
				return overflow ? -EPROTO : 1;
			}
			if (n + 1 < cap)
				out[n++] = c;
			else
				overflow = true;
		}
		ssize_t k = read(r->fd, r->buf, sizeof(r->buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return 0;
		r->start = 0;
		r->end = (size_t)k;
	}
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EIO;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static void reply_errno(int fd, int err)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "errno=%d\n\n", err);

	(void)write_all(fd, b, (size_t)n);
}

void uapi_serve_fd(struct wg_device *dev, int fd)
{
	struct line_reader *r = calloc(1, sizeof(*r));
	char *line = malloc(UAPI_MAX_LINE);
	int k;

	if (!r || !line)
		goto out;
	r->fd = fd;
	while ((k = read_line(r, line, UAPI_MAX_LINE)) == 1) {
		if (!strcmp(line, "get=1")) {
			/* The request ends with an empty line. */
			if (read_line(r, line, UAPI_MAX_LINE) != 1 || *line) {
				reply_errno(fd, -EPROTO);
				break;
			}
			char *body = NULL;
			int ret = wg_device_uapi_get(dev, &body);
			if (!ret) {
				ret = write_all(fd, body, strlen(body));
				sodium_memzero(body, strlen(body));
				free(body);
			}
			reply_errno(fd, ret);
		} else if (!strcmp(line, "set=1")) {
			struct uapi_set s;
			int rl;
			uapi_set_begin(&s, dev);
			while ((rl = read_line(r, line, UAPI_MAX_LINE)) == 1 && *line)
				uapi_set_line(&s, line);
			if (rl != 1 && !s.err)
				s.err = rl < 0 ? rl : -EPROTO;
			int ret = uapi_set_end(&s);
			sodium_memzero(line, UAPI_MAX_LINE);
			reply_errno(fd, ret);
			if (rl != 1)
				break;
		} else {
			reply_errno(fd, -EINVAL);
			break;
		}
	}
out:
	if (r)
		sodium_memzero(r, sizeof(*r));
	free(r);
	free(line);
}

static void *uapi_thread_main(void *arg)
{
	struct wg_device *dev = arg;
	struct stat st0, st;

	if (stat(dev->uapi_path, &st0) < 0)
		memset(&st0, 0, sizeof(st0));
	while (!atomic_load(&dev->stopping)) {
		struct pollfd p[2] = { { .fd = dev->uapi_fd, .events = POLLIN },
				       { .fd = dev->stop_efd, .events = POLLIN } };
		int r = poll(p, 2, 500);
		if (r == 0) {
			/* Exit when our socket file is deleted, as wireguard-go does. */
			if (stat(dev->uapi_path, &st) < 0 || st.st_ino != st0.st_ino) {
				log_info("uapi socket removed, stopping ifname=%s", dev->ifname);
				device_request_stop(dev, 0);
			}
			continue;
		}
		if (r < 0 || (p[1].revents & POLLIN))
			continue;
		int c = accept4(dev->uapi_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		struct timeval tv = { .tv_sec = 5 };
		(void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		uapi_serve_fd(dev, c);
		close(c);
	}
	return NULL;
}

int wg_device_uapi_listen(struct wg_device *dev, const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, ret;

	if (!dir)
		dir = UAPI_DEFAULT_DIR;
	if (dev->uapi_started)
		return -EALREADY;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	ret = snprintf(dev->uapi_path, sizeof(dev->uapi_path), "%s/%s.sock", dir, dev->ifname);
	if (ret < 0 || (size_t)ret >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, dev->uapi_path, (size_t)ret + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A live socket means another instance owns the name; a dead one is stale. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(dev->uapi_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(077);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (!ret && listen(fd, 16) < 0)
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	dev->uapi_fd = fd;
	ret = -pthread_create(&dev->uapi_thread, NULL, uapi_thread_main, dev);
	if (ret) {
		close(fd);
		unlink(dev->uapi_path);
		dev->uapi_fd = -1;
		return ret;
	}
	dev->uapi_started = true;
	return 0;
}

void uapi_stop(struct wg_device *dev)
{
	if (!dev->uapi_started)
		return;
	device_request_stop(dev, 0);
	pthread_join(dev->uapi_thread, NULL);
	close(dev->uapi_fd);
	dev->uapi_fd = -1;
	unlink(dev->uapi_path);
	dev->uapi_started = false;
}
