/*
 * The login limiter's keys. A directory's matching rules fold a username (case, leading and
 * trailing spaces, runs of inner spaces, fullwidth forms under most servers' Unicode
 * preparation), so the limiter folds the same way before it counts: " wim", "WIM" and
 * "ｗｉｍ" share wim's counter. Addresses: IPv4 exact, IPv6 by its /64 (one host holds a
 * whole /64), IPv4-mapped IPv6 as IPv4.
 */
#ifndef KW_LOGIN_KEY_H
#define KW_LOGIN_KEY_H

#include <stddef.h>

/* "u:" and the folded username, cut to fit len. */
void login_key_user(const char *username, char *out, size_t len);
/* "a:" and the address ("a:192.0.2.1", "a:2001:db8:1:2::/64"); the text itself when it is
 * not an address. */
void login_key_addr(const char *addr, char *out, size_t len);

#endif
