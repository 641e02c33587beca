/* The cross-platform userspace API (wireguard.com/xplatform): the set=1
 * parser (line at a time, so 100k-line configurations stream), the get=1
 * writer, and the Unix socket server that wg(8) talks to. */
#ifndef KW_WG_UAPI_H
#define KW_WG_UAPI_H

#include <stdbool.h>
#include <stdio.h>

struct wg_device;
struct wg_peer;

struct uapi_set {
	struct wg_device *dev;
	struct wg_peer *peer; /* current peer section, NULL for device keys or a dummy */
	bool in_peer;         /* a public_key line was seen */
	bool peer_created;
	int err;              /* first error; later lines are ignored */
};

/* begin takes the device's configuration lock for writing; end releases it
 * and returns 0 or the first negative errno. */
void uapi_set_begin(struct uapi_set *s, struct wg_device *dev);
/* One line without the newline ("key=value"). */
void uapi_set_line(struct uapi_set *s, char *line);
int uapi_set_end(struct uapi_set *s);

/* Write the get=1 body (without errno=) to f. */
int uapi_get_write(struct wg_device *dev, FILE *f);

/* Handle requests on one connected stream until EOF (used by the socket
 * server; also the fuzzing entry point with a socketpair or pipe). */
void uapi_serve_fd(struct wg_device *dev, int fd);

#endif
