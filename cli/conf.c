/* Where keywayctl finds the controller and its admin token: the environment
 * (KEYWAY_URL, KEYWAY_TOKEN), else one INI file readable by its owner alone. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <sodium.h>

#include "keywayctl.h"

#define CTL_SYSTEM_CONF SYSCONFDIR "/keyway/keywayctl.conf"

struct conf_ctx {
	struct ctl *c;
	bool url_set, token_set; /* from the environment or the command line: they win */
	char err[160];
};

static int conf_set(char *dst, size_t len, const char *value)
{
	size_t n = strlen(value);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, value, n + 1);
	return 0;
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_ctx *x = user;
	struct ctl *c = x->c;
	int r = 0;

	if (section[0] && strcmp(section, "keywayctl") != 0) {
		snprintf(x->err, sizeof(x->err), "unknown section [%s]", section);
		return 0;
	}
	if (strcmp(name, "url") == 0) {
		if (!x->url_set)
			r = conf_set(c->url, sizeof(c->url), value);
	} else if (strcmp(name, "token") == 0) {
		if (!x->token_set)
			r = conf_set(c->token, sizeof(c->token), value);
	} else if (strcmp(name, "ca_file") == 0) {
		if (!c->ca_file[0])
			r = conf_set(c->ca_file, sizeof(c->ca_file), value);
	} else {
		snprintf(x->err, sizeof(x->err), "unknown key %s", name);
		return 0;
	}
	if (r < 0)
		snprintf(x->err, sizeof(x->err), "value of %s is too long", name);
	return r == 0;
}

/* The token is a secret: refuse a file others could read or write. */
static int conf_file_read(struct conf_ctx *x, const char *path)
{
	struct stat st;
	FILE *f;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		fprintf(stderr, "keywayctl: %s: not a regular file\n", path);
		return -EINVAL;
	}
	if ((st.st_mode & 07777) != 0600) {
		close(fd);
		fprintf(stderr, "keywayctl: %s: mode %04o, must be 0600 (it holds the admin token)\n", path,
			(unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -errno;
	}
	r = ini_parse_file(f, conf_handler, x);
	fclose(f);
	if (r != 0) {
		fprintf(stderr, "keywayctl: %s:%d: %s\n", path, r > 0 ? r : 0,
			x->err[0] ? x->err : "cannot be parsed");
		return -EINVAL;
	}
	return 0;
}

/* The first of --config, ~/.config/keyway (or $XDG_CONFIG_HOME/keyway), /etc/keyway. */
static int conf_file_find(struct conf_ctx *x)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char user_path[1024] = "";
	int r;

	if (x->c->config_path) {
		r = conf_file_read(x, x->c->config_path);
		if (r == -ENOENT || r == -ELOOP || r == -EACCES)
			fprintf(stderr, "keywayctl: %s: %s\n", x->c->config_path, strerror(-r));
		return r;
	}
	if (xdg && xdg[0] == '/')
		snprintf(user_path, sizeof(user_path), "%s/keyway/keywayctl.conf", xdg);
	else if (home && home[0] == '/')
		snprintf(user_path, sizeof(user_path), "%s/.config/keyway/keywayctl.conf", home);
	if (user_path[0]) {
		r = conf_file_read(x, user_path);
		if (r != -ENOENT)
			return r;
	}
	r = conf_file_read(x, CTL_SYSTEM_CONF);
	return r == -ENOENT ? 0 : r;
}

/* Takes KEYWAY_TOKEN and wipes it from the environment, so /proc/PID/environ no longer
 * shows it while keywayctl runs. */
static int conf_env_token(struct ctl *c)
{
	char *t = getenv("KEYWAY_TOKEN");
	int r;

	if (!t || !t[0])
		return 0;
	r = conf_set(c->token, sizeof(c->token), t);
	sodium_memzero(t, strlen(t));
	unsetenv("KEYWAY_TOKEN");
	return r;
}

int ctl_conf_load(struct ctl *c)
{
	struct conf_ctx x = { .c = c };
	const char *u = getenv("KEYWAY_URL");
	size_t n;

	if (!c->url[0] && u && u[0] && conf_set(c->url, sizeof(c->url), u) < 0)
		return ctl_usage_error("KEYWAY_URL is too long");
	if (conf_env_token(c) < 0)
		return ctl_usage_error("KEYWAY_TOKEN is too long");
	x.url_set = c->url[0] != '\0';
	x.token_set = c->token[0] != '\0';
	if ((!x.url_set || !x.token_set || c->config_path) && conf_file_find(&x) < 0)
		return CTL_EXIT_USAGE;
	if (!c->url[0])
		return ctl_usage_error("no controller URL: set KEYWAY_URL, --url or url in the config file");
	if (!c->token[0])
		return ctl_usage_error("no admin API token: set KEYWAY_TOKEN or token in the config file");
	n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	c->loaded = true;
	return 0;
}

void ctl_conf_wipe(struct ctl *c)
{
	sodium_memzero(c->token, sizeof(c->token));
}
