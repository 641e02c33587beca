/* Disabled-account detectors: pure decisions over facts ldap.c read from an entry. */
#include "config.h"

#include "ldap_client.h"

unsigned ldap_disabled_reasons(const struct kw_ldap_flags *f, unsigned checks, time_t now)
{
	unsigned r = 0;

	if ((checks & KW_LDAP_DISABLED_PPOLICY) && f->pwd_locked)
		r |= KW_LDAP_DISABLED_PPOLICY;
	if ((checks & KW_LDAP_DISABLED_NSACCOUNTLOCK) && f->ns_locked)
		r |= KW_LDAP_DISABLED_NSACCOUNTLOCK;
	/* ACCOUNTDISABLE is bit 0x2 of userAccountControl. */
	if ((checks & KW_LDAP_DISABLED_AD) && f->uac_present && (f->uac & 0x2))
		r |= KW_LDAP_DISABLED_AD;
	/*
	 * shadowExpire counts days since 1970; the account is expired from that day on. -1
	 * and 0 mean "never" in practice (shadow(5) warns 0 is ambiguous: we read it as never).
	 */
	if ((checks & KW_LDAP_DISABLED_SHADOW) && f->shadow_present && f->shadow_expire > 0 &&
	    (long long)(now / 86400) >= f->shadow_expire)
		r |= KW_LDAP_DISABLED_SHADOW;
	return r;
}

const char *ldap_disabled_name(unsigned reasons)
{
	if (reasons & KW_LDAP_DISABLED_PPOLICY)
		return "ppolicy";
	if (reasons & KW_LDAP_DISABLED_NSACCOUNTLOCK)
		return "nsaccountlock";
	if (reasons & KW_LDAP_DISABLED_AD)
		return "ad";
	if (reasons & KW_LDAP_DISABLED_SHADOW)
		return "shadow";
	return "none";
}
