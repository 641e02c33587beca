#include "config.h"
#include "privdrop.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = 40;

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = 40;
		fclose(f);
	}
	return last;
}

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

	memset(data, 0, 2 * sizeof(*data));
	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

int privdrop_keep_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	int cap, last = cap_last();
	const struct rlimit no_core = { 0, 0 };

	/* Keys live in this process: no core dumps, no ptrace by same-uid processes. */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (cap = 0; cap <= last; cap++) {
		if (cap == CAP_NET_ADMIN)
			continue;
		/* EPERM without CAP_SETPCAP (already unprivileged): nothing to drop there. */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM && errno != EINVAL)
			return -errno;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective = CAP_TO_MASK(CAP_NET_ADMIN);
	data[CAP_TO_INDEX(CAP_NET_ADMIN)].permitted = CAP_TO_MASK(CAP_NET_ADMIN);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return privdrop_only_net_admin() ? 0 : -EPERM;
}

bool privdrop_only_net_admin(void)
{
	struct __user_cap_data_struct data[2];

	if (caps_get(data) < 0)
		return false;
	return data[0].effective == CAP_TO_MASK(CAP_NET_ADMIN) && data[1].effective == 0 &&
	       data[0].permitted == CAP_TO_MASK(CAP_NET_ADMIN) && data[1].permitted == 0 &&
	       data[0].inheritable == 0 && data[1].inheritable == 0;
}
