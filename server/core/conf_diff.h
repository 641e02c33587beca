/*
 * What SIGHUP does with each key of keywayd's own sections ([server], [network], [log], [web]):
 * compare the running configuration with a freshly read one, say which keys changed and
 * whether each applies at once (live) or only at the next restart, and build the
 * configuration to run with. Pure: no I/O, so the Check suites test it directly. Driven
 * by the tables in conf.c (CS_LIVE, CS_PAYLOAD); implemented there.
 */
#ifndef KW_CONF_DIFF_H
#define KW_CONF_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

struct kw_conf_change {
	const char *key; /* "section.key", e.g. "network.mtu" (static storage) */
	bool live;       /* applied by SIGHUP; false: at the next restart */
	bool payload;    /* goes into every signed config: a change bumps config versions */
};

/* Number of keys conf_diff() knows (an upper bound for its output). */
size_t conf_diff_nkeys(void);
/* The changed keys between running and fresh, in file order, into out[0..max). Returns how
 * many changed (may exceed max; only max are written). */
size_t conf_diff(const struct kw_conf *running, const struct kw_conf *fresh, struct kw_conf_change *out, size_t max);
/* out = running with every live key taken from fresh; restart-only keys keep running's value. */
void conf_merge_live(struct kw_conf *out, const struct kw_conf *running, const struct kw_conf *fresh);
/* Hash (hex) of everything a config payload takes from the file; the store bumps every config
 * version when it changes (at start, and on SIGHUP). */
void conf_net_fingerprint(const struct kw_conf *c, char out[65]);

#endif
