/* libFuzzer target: the UAPI socket protocol (get=1 / set=1 and every key),
 * fed through a socketpair to uapi_serve_fd() on a fresh detached device. */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"
#include "uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device *dev;
	int sv[2];
	int bufsz = 1 << 20;

	if (size > 65536)
		return 0;
	if (device_new_detached(&dev, "kwgfuzz"))
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
	if (size && write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR);
	/* Replies that do not fit are cut short (the server sees EAGAIN). */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	uapi_serve_fd(dev, sv[1]);
	close(sv[0]);
	close(sv[1]);
	wg_device_free(dev);
	return 0;
}
