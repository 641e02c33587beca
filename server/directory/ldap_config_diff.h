/* SIGHUP: which [ldap] keys differ between the running settings and a freshly read file. */
#ifndef KW_LDAP_CONFIG_DIFF_H
#define KW_LDAP_CONFIG_DIFF_H

#include <stddef.h>

#include "ldap_config.h"

/*
 * Write the names of the changed keys ("ldap.vpn_group,ldap.bind_password", …) into out
 * (always terminated; "" when nothing changed) and return how many changed. The bind
 * password is compared, never written out: a new password in the same file counts as
 * "ldap.bind_password". Every key listed here is applied by a reload; only switching the
 * module on or off (a uri appears or goes) needs a restart, which the caller checks.
 */
unsigned ldap_config_diff(const struct kw_ldap_config *a, const struct kw_ldap_config *b, char *out, size_t outlen);

#endif
