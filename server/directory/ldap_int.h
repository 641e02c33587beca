/*
 * Internal to the LDAP client (ldap*.c): the connection pool and the helpers its parts
 * share. Only the ldap*.c files include <ldap.h>; the rest of keywayd sees ldap_client.h.
 */
#ifndef KW_LDAP_INT_H
#define KW_LDAP_INT_H

#include <ldap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/time.h>

#include "group_nest.h"
#include "ldap_client.h"

struct ldap_slot {
	pthread_mutex_t lock;
	LDAP *svc;
	LDAP *auth;
};

struct kw_ldap {
	const struct kw_ldap_config *cfg;
	struct ldap_slot *slots;
	size_t n_slots;
	atomic_uint next;
};

/* Attributes read from user entries (A_PUBLISH only with publish_attribute). */
enum { A_USER = 0, A_MEMBEROF, A_PWDLOCK, A_NSLOCK, A_UAC, A_SHADOW, A_PUBLISH, A_END };

/* ldap.c: connections */
bool kwl_rc_is_down(int rc);
int kwl_rc_to_errno(int rc);
struct ldap_slot *kwl_slot_acquire(struct kw_ldap *d);
void kwl_slot_release(struct ldap_slot *s);
struct timeval kwl_op_timeout(const struct kw_ldap *d);
void kwl_conn_drop(LDAP **ld);
/* Make sure *ld is open (bound as the service account when bind_svc); *fresh: opened now. */
int kwl_conn_ensure(struct kw_ldap *d, LDAP **ld, bool bind_svc, bool *fresh);

/* ldap_entry.c: reading entries */
void kwl_user_attrs(const struct kw_ldap *d, char **attrs); /* A_END + 1 slots */
int kwl_dn_canon_dup(const char *dn, size_t len, char **out);
void kwl_read_flags(LDAP *ld, LDAPMessage *e, struct kw_ldap_flags *f);
bool kwl_entry_member_of(LDAP *ld, LDAPMessage *e, const char *canon_group);
const char *kwl_group_attr(enum kw_ldap_group_style s);
/* 1 member, 0 not, <0 error */
int kwl_user_in_group(struct kw_ldap *d, LDAP *ld, LDAPMessage *e, const char *dn, const char *username,
		      const char *group);

/*
 * The entry of username (user_filter) below user_base on the slot's service connection (once more on a reused
 * connection that turns out dead). Size limit 2: one entry is the answer, two mean ambiguous. 0 or a negative
 * errno when no filter or connection could be had; *rc is the search's result and *res its answer (NULL after a
 * failure).
 */
int kwl_user_search(struct kw_ldap *d, struct ldap_slot *s, const char *username, LDAPMessage **res, int *rc);
/*
 * The DN of entry e (*dn, ldap_memfree(); it may be set on failure too) and its user_attribute value into
 * username (KW_LDAP_USERNAME_MAX + 1 bytes). -ENOENT when either is missing or the name is empty, too long
 * or holds a NUL.
 */
int kwl_user_entry_name(struct kw_ldap *d, LDAP *ld, LDAPMessage *e, char **dn, char *username);
/* The user's standing from its entry e (dn): disabled flags, VPN and admin group membership, into out. */
int kwl_user_facts(struct kw_ldap *d, struct ldap_slot *s, LDAPMessage *e, const char *dn,
		   struct kw_ldap_login *out);

/* ldap_search.c: a paged search (RFC 2696) calling cb for every entry; 0 or a negative errno
 * with the server's code in *ldap_rc */
typedef int (*kwl_entry_cb)(LDAP *ld, LDAPMessage *e, void *arg);
int kwl_search_paged(struct kw_ldap *d, LDAP *ld, const char *base, int scope, const char *filter, char **attrs,
		     kwl_entry_cb cb, void *arg, struct kw_ldap_check_stats *st, int *ldap_rc);

/* ldap_nested.c: nested groups (nested_groups = yes, member/uniqueMember styles) */
/* The canonical member DNs of group (*out: malloc'd array of malloc'd strings). */
int kwl_group_read_members(struct kw_ldap *d, LDAP *ld, const char *group, char ***out, size_t *n);
/* Everyone group holds through nested groups; root_members: its own members, canonical.
 * 0 (res may be incomplete; one log line says why), or -EHOSTUNREACH/-ETIMEDOUT/-ENOMEM. */
int kwl_nested_expand(struct kw_ldap *d, LDAP *ld, const char *group, char *const *root_members, size_t n_root,
		      struct kw_nest_result *res);
/* Login: is the entry dn in group through nested groups? 1, 0 (also when undecidable), <0. */
int kwl_nested_member(struct kw_ldap *d, LDAP *ld, const char *dn, const char *group);

#endif
