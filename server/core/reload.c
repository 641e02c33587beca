/* SIGHUP: validate the whole file first, then apply the live keys and name the others. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "conf_diff.h"
#include "directory/directory.h"
#include "log.h"
#include "access_snap.h"
#include "reload.h"
#include "store/store.h"

struct reload_retired {
	struct reload_retired *next;
	struct kw_conf conf;
};

void reload_init(struct kw_reload *r, const struct kw_conf *start)
{
	r->running = start;
	r->retired = NULL;
}

void reload_free(struct kw_reload *r)
{
	while (r->retired) {
		struct reload_retired *n = r->retired->next;

		free(r->retired);
		r->retired = n;
	}
}

static void list_add(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	if (!name[0])
		return;
	snprintf(buf + used, len - used, "%s%s", used ? "," : "", name);
}

static void log_reloaded(const char *path, const char *level, const char *changed)
{
	log_info("SIGHUP: config reloaded path=%s log_level=%s changed=%s", path, level, changed[0] ? changed : "none");
}

void reload_run(struct kw_reload *r, struct kw_server *srv, const char *config_path)
{
	struct kw_conf_change ch[32];
	struct reload_retired *node = NULL;
	struct kw_conf fresh;
	char err[800], changed[1024] = "", ldap_changed[512] = "", fp[65];
	void *ldap_pending = NULL;
	bool live = false, payload = false, info_before;
	size_t n;
	int ret;

	if (!config_path) {
		log_warn("SIGHUP: no config file (built-in defaults); nothing to reload");
		return;
	}
	conf_defaults(&fresh);
	ret = conf_load(&fresh, config_path, err, sizeof(err));
	if (ret == 0)
		ret = directory_reload_prepare(srv, config_path, &ldap_pending, ldap_changed, sizeof(ldap_changed),
						 err, sizeof(err));
	if (ret < 0) {
		log_error("SIGHUP: config not reloaded, keeping the running configuration: %s", err);
		return;
	}
	n = conf_diff(r->running, &fresh, ch, sizeof(ch) / sizeof(ch[0]));
	for (size_t i = 0; i < n && i < sizeof(ch) / sizeof(ch[0]); i++) {
		live |= ch[i].live;
		payload |= ch[i].payload;
	}
	if (live) {
		node = calloc(1, sizeof(*node));
		if (!node) {
			directory_reload_apply(srv, ldap_pending, false);
			log_error("SIGHUP: config not reloaded, keeping the running configuration: out of memory");
			return;
		}
	}
	for (size_t i = 0; i < n && i < sizeof(ch) / sizeof(ch[0]); i++) {
		if (ch[i].live)
			list_add(changed, sizeof(changed), ch[i].key);
		else
			log_warn("SIGHUP: %s changed; it takes effect at the next restart (the running value stays)",
				 ch[i].key);
	}
	list_add(changed, sizeof(changed), ldap_changed);
	/* One info line, under whichever of the old and new levels lets it through. */
	info_before = log_get_level() <= KW_LOG_INFO;
	if (info_before)
		log_reloaded(config_path, fresh.log_level, changed);
	if (node) {
		conf_merge_live(&node->conf, r->running, &fresh);
		/* Requests read srv->conf without a lock (server_conf(): an acquire load): publish
		 * the whole new struct at once. The old one stays readable (retired list) for those
		 * that loaded it already. */
		__atomic_store_n(&srv->conf, &node->conf, __ATOMIC_RELEASE);
		r->running = &node->conf;
		node->next = r->retired;
		r->retired = node;
		(void)log_set_level_name(node->conf.log_level); /* conf_load checked it */
		if (payload) {
			/* After the swap: a device that sees the bumped version gets the new payload. */
			conf_net_fingerprint(&node->conf, fp);
			ret = store_net_refresh(srv->store, fp);
			if (ret < 0)
				log_error("SIGHUP: could not bump the config versions (%s); devices get the new "
					  "settings with their next change", strerror(-ret));
			(void)access_warn_conf_overlaps(srv);
		}
	}
	directory_reload_apply(srv, ldap_pending, true);
	if (!info_before)
		log_reloaded(config_path, fresh.log_level, changed);
}
