/* The state directory's owner and modes (see statedir.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "statedir.h"

/* Owned by us and of the expected type; tightened to mode when group/other bits are set
 * (or refused with -EPERM when !fix). 0 also when the path does not exist. */
static int secure_one(const char *path, bool dir, mode_t mode, bool fix)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)) {
		log_error("state: %s is not a %s; refused", path, dir ? "directory" : "regular file");
		return -EPERM;
	}
	if (sb.st_uid != geteuid()) {
		log_error("state: %s is owned by uid %u, not by keywayd's uid %u; refused", path, (unsigned)sb.st_uid,
			  (unsigned)geteuid());
		return -EPERM;
	}
	if ((sb.st_mode & 077) == 0)
		return 0;
	if (!fix) {
		log_error("state: %s is open to group or others (mode %03o); refused: replace it", path,
			  (unsigned)(sb.st_mode & 0777));
		return -EPERM;
	}
	if (chmod(path, mode) < 0) {
		int e = errno;

		log_error("state: cannot chmod %s to %03o: %s", path, (unsigned)mode, strerror(e));
		return -e;
	}
	log_warn("state: tightened path=%s mode=%03o was=%03o", path, (unsigned)mode, (unsigned)(sb.st_mode & 0777));
	return 0;
}

int statedir_secure(const char *dir)
{
	static const char *const db_files[] = { "keyway.db", "keyway.db-wal", "keyway.db-shm", "keyway.db-journal" };
	char path[PATH_MAX];
	int ret = secure_one(dir, true, 0700, true);

	for (size_t i = 0; ret == 0 && i < sizeof(db_files) / sizeof(db_files[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, db_files[i]) >= sizeof(path))
			return -ENAMETOOLONG;
		ret = secure_one(path, false, 0600, true);
	}
	if (ret == 0) {
		if ((size_t)snprintf(path, sizeof(path), "%s/signing.key", dir) >= sizeof(path))
			return -ENAMETOOLONG;
		ret = secure_one(path, false, 0600, false);
	}
	return ret;
}
