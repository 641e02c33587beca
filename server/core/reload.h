/*
 * SIGHUP: re-read the whole config file; when every section parses, apply at once each key
 * that can change while running and log one line per changed key that needs a restart. A
 * file that does not parse changes nothing (one error line).
 */
#ifndef KW_RELOAD_H
#define KW_RELOAD_H

#include "conf.h"

struct kw_server;
struct reload_retired;

struct kw_reload {
	const struct kw_conf *running; /* what srv->conf points at */
	/* Configurations swapped out. A request may still be reading one, and there is no
	 * reference count on srv->conf, so they live until keywayd exits (one per SIGHUP that
	 * changed a key of keywayd's own sections: a few KiB each). */
	struct reload_retired *retired;
};

void reload_init(struct kw_reload *r, const struct kw_conf *start);
/* Called by the main thread only (the signal loop). */
void reload_run(struct kw_reload *r, struct kw_server *srv, const char *config_path);
/* After HTTP has stopped. */
void reload_free(struct kw_reload *r);

#endif
