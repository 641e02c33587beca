/*
 * Opening the store that [store] names: the SQLite file in state_dir (the default), or a
 * PostgreSQL database shared by every replica, its password read from a 0600 file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "log.h"
#include "store_conf.h"

/* The password in path: a regular file of mode 0600 (like the LDAP bind password), one line. */
static int read_password(const char *path, char *buf, size_t size)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		log_error("[store] password_file: cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		log_error("[store] password_file: %s must be a regular file of mode 0600 (chmod 600)", path);
		close(fd);
		return -EPERM;
	}
	ret = file_read_fd(fd, size - 1, &text, &len);
	close(fd);
	if (ret < 0) {
		log_error("[store] password_file: cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	len = strcspn(text, "\r\n");
	memcpy(buf, text, len);
	buf[len] = '\0';
	sodium_memzero(text, strlen(text));
	free(text);
	return 0;
}

int store_conf_open(const struct kw_conf *conf, const struct kw_store_net *net, struct kw_store **out)
{
	struct kw_store_conf cf = { .backend = KW_STORE_SQLITE, .pool_size = conf->store_pool_size };
	char path[KW_CONF_STR_MAX + 16], pw[512] = "";
	int ret;

	*out = NULL;
	if (strcmp(conf->store_backend, "postgresql") == 0) {
		cf.backend = KW_STORE_POSTGRESQL;
		cf.conninfo = conf->store_conninfo;
		if (conf->store_password_file[0]) {
			ret = read_password(conf->store_password_file, pw, sizeof(pw));
			if (ret < 0)
				return ret;
			cf.password = pw;
		}
	} else {
		ret = dir_ensure(conf->state_dir, 0700);
		if (ret < 0) {
			log_error("cannot create state directory %s: %s", conf->state_dir, strerror(-ret));
			return ret;
		}
		snprintf(path, sizeof(path), "%s/keyway.db", conf->state_dir);
		cf.path = path;
	}
	ret = store_open_conf(&cf, net, out);
	sodium_memzero(pw, sizeof(pw));
	if (ret < 0)
		log_error("cannot open the %s database %s: %s", conf->store_backend,
			  cf.path ? cf.path : "named by [store] conninfo", strerror(-ret));
	return ret;
}
