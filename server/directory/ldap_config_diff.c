/* Which [ldap] keys changed: one comparison per key, in the order of the README. */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "ldap_config_diff.h"

/*
 * A key this file does not compare would be ignored by SIGHUP when it is the only change:
 * when struct kw_ldap_config grows, this fails the build until ldap_config_diff() (and this
 * size) are updated. Checked on LP64 only, where the size is known.
 */
#if __SIZEOF_POINTER__ == 8
_Static_assert(sizeof(struct kw_ldap_config) == 504, "a new [ldap] key: compare it in ldap_config_diff()");
#endif

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool uris_eq(const struct kw_ldap_config *a, const struct kw_ldap_config *b)
{
	if (a->n_uris != b->n_uris)
		return false;
	for (size_t i = 0; i < a->n_uris; i++)
		if (!str_eq(a->uris[i], b->uris[i]))
			return false;
	return true;
}

static bool password_eq(const struct kw_ldap_config *a, const struct kw_ldap_config *b)
{
	return sodium_memcmp(a->bind_password, b->bind_password, sizeof(a->bind_password)) == 0;
}

static void add(char *out, size_t outlen, unsigned *n, const char *name)
{
	size_t used = strlen(out);

	(*n)++;
	snprintf(out + used, outlen - used, "%sldap.%s", used ? "," : "", name);
}

unsigned ldap_config_diff(const struct kw_ldap_config *a, const struct kw_ldap_config *b, char *out, size_t outlen)
{
	unsigned n = 0;

	if (outlen)
		out[0] = '\0';
#define STR(f)                              \
	if (!str_eq(a->f, b->f))            \
		add(out, outlen, &n, #f)
#define NUM(f)                              \
	if (a->f != b->f)                   \
		add(out, outlen, &n, #f)
	if (!uris_eq(a, b))
		add(out, outlen, &n, "uri");
	NUM(starttls);
	STR(ca_file);
	NUM(tls_verify);
	STR(bind_dn);
	STR(bind_password_file);
	if (!password_eq(a, b))
		add(out, outlen, &n, "bind_password");
	STR(user_base);
	STR(user_filter);
	STR(user_attribute);
	STR(vpn_group);
	STR(admin_group);
	NUM(group_style);
	NUM(nested_groups);
	NUM(nested_depth);
	NUM(disabled_checks);
	NUM(sync_interval);
	NUM(revoke_after);
	if (a->mass_change_pct != b->mass_change_pct || a->mass_change_abs != b->mass_change_abs)
		add(out, outlen, &n, "mass_change_limit");
	NUM(max_devices_per_user);
	NUM(timeout);
	NUM(network_timeout);
	NUM(page_size);
	NUM(batch_size);
	NUM(pool_size);
	NUM(session_lifetime);
	NUM(login_max_failures);
	if (a->login_max_failures_addr != b->login_max_failures_addr)
		add(out, outlen, &n, "login_max_failures_address");
	NUM(login_window);
	NUM(admin_recheck_interval);
	STR(publish_attribute);
#undef STR
#undef NUM
	return n;
}
