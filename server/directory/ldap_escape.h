/* Escaping of untrusted values put into LDAP filters (RFC 4515) and DNs (RFC 4514). Pure. */
#ifndef KW_LDAP_ESCAPE_H
#define KW_LDAP_ESCAPE_H

#include <stddef.h>

/*
 * RFC 4515 assertion value: '*', '(', ')', '\' and NUL become \2a \28 \29 \5c \00, so the
 * value can only ever be compared for equality. len bytes of in (may hold NULs).
 * *out is a new string (free()). 0 or -ENOMEM / -E2BIG.
 */
int ldap_filter_escape_dup(const char *in, size_t len, char **out);

/*
 * RFC 4514 attribute value of one RDN: '"', '+', ',', ';', '<', '>', '\' and '=' are
 * backslash-escaped, a leading '#' or space and a trailing space too, NUL and other control
 * bytes become \XX. *out is a new string. 0 or a negative errno.
 */
int ldap_dn_escape_dup(const char *in, size_t len, char **out);

/*
 * Expand a filter template: every "%s" becomes the filter-escaped value. The template is
 * trusted configuration (validated at load); the value is not. *out is a new string.
 */
int ldap_filter_from_template(const char *tmpl, const char *value, char **out);

#endif
