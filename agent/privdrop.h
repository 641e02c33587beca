/*
 * Keep only CAP_NET_ADMIN. Done with prctl(2)/capset(2) directly (no libcap): clear the
 * bounding set of every other capability (when we may), set effective = permitted =
 * {CAP_NET_ADMIN}, inheritable and ambient empty, and PR_SET_NO_NEW_PRIVS so nothing
 * executed later can gain any. Capabilities are per thread: call this before any
 * thread is started, so every thread inherits the reduced set.
 */
#ifndef KW_AGENT_PRIVDROP_H
#define KW_AGENT_PRIVDROP_H

#include <stdbool.h>

int privdrop_keep_net_admin(void);
/* True when the calling thread has exactly CAP_NET_ADMIN effective (for tests/status). */
bool privdrop_only_net_admin(void);

#endif
