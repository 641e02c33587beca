/* keyway-wg [-f] IFNAME: a drop-in for wireguard-go. Creates the TUN
 * interface, serves /var/run/wireguard/IFNAME.sock for wg(8), and runs until
 * SIGINT/SIGTERM, the socket file is deleted, or the interface disappears. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "wg.h"

static struct wg_device *g_dev;

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) == 0) {
			log_info("signal=%d stopping", sig);
			wg_device_stop_async(g_dev);
		}
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: keyway-wg [-f] IFNAME\n"
			"  -f  stay in the foreground\n");
}

int main(int argc, char **argv)
{
	struct rlimit no_core = { 0, 0 };
	static sigset_t set;
	pthread_t st;
	bool foreground = false;
	const char *ifname = NULL;
	int i, ret, ready[2] = { -1, -1 };

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground"))
			foreground = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage();
			return 0;
		} else if (argv[i][0] == '-' || ifname) {
			usage();
			return 2;
		} else
			ifname = argv[i];
	}
	if (!ifname) {
		usage();
		return 2;
	}
	log_set_program("keyway-wg");
	if (getenv("LOG_LEVEL") && log_set_level_name(getenv("LOG_LEVEL")) < 0)
		log_warn("unknown LOG_LEVEL, keeping the default");
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0);

	if (!foreground) {
		/* Detach like wireguard-go: the parent returns once the device is up. */
		if (pipe(ready) < 0) {
			fprintf(stderr, "keyway-wg: pipe: %s\n", strerror(errno));
			return 1;
		}
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "keyway-wg: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid > 0) {
			char c = 1;
			close(ready[1]);
			if (read(ready[0], &c, 1) != 1)
				c = 1;
			return c;
		}
		close(ready[0]);
		setsid();
	}

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = wg_device_new(&g_dev, ifname);
	if (ret) {
		fprintf(stderr, "keyway-wg: cannot create interface %s: %s\n", ifname, strerror(-ret));
		goto fail;
	}
	ret = wg_device_start(g_dev);
	if (!ret)
		ret = wg_device_uapi_listen(g_dev, getenv("WG_SOCKET_DIR"));
	if (ret) {
		fprintf(stderr, "keyway-wg: cannot start %s: %s\n", ifname, strerror(-ret));
		wg_device_free(g_dev);
		goto fail;
	}
	pthread_create(&st, NULL, signal_thread, &set);
	log_info("device up ifname=%s", ifname);
	if (!foreground) {
		char c = 0;
		if (write(ready[1], &c, 1) != 1) {
			/* parent gone: keep running */
		}
		close(ready[1]);
		int devnull = open("/dev/null", 0);
		if (devnull >= 0) {
			dup2(devnull, 0);
			close(devnull);
		}
	}
	ret = wg_device_wait(g_dev);
	wg_device_free(g_dev);
	log_info("device down ifname=%s", ifname);
	return ret ? 1 : 0;
fail:
	if (ready[1] >= 0) {
		char c = 1;
		if (write(ready[1], &c, 1) != 1) {
			/* nothing to do */
		}
	}
	return 1;
}
