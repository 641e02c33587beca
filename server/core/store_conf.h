/* The store named by keywayd.conf's [store] section. */
#ifndef KW_STORE_CONF_H
#define KW_STORE_CONF_H

#include "conf.h"
#include "store/store.h"

/* Open it (net may be NULL for tools); errors are logged. 0 or a negative errno. */
int store_conf_open(const struct kw_conf *conf, const struct kw_store_net *net, struct kw_store **out);

#endif
