/*
 * The groups access policies name, read at every sync run: for each group, which of the
 * users holding devices are members (nested groups followed as for the VPN group), recorded
 * in the store (group_members). The fail-safe rules of the sync apply per user and group:
 * a user whose membership could not be decided (entry ambiguous or unchecked, a nested group
 * unreadable) keeps what was recorded; a group that cannot be read at all changes nothing.
 *
 * A group is named by its DN, or by a plain name taken as cn=NAME beside the VPN group
 * (cn=eng,ou=groups,dc=example,dc=com when vpn_group is cn=vpn,ou=groups,dc=example,dc=com).
 * The question asked is the VPN group's, with the group swapped: ldap_dir_check_users() over
 * a copy of the settings.
 */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldap_escape.h"
#include "directory_int.h"
#include "log.h"
#include "store/store.h"

/* The DN of a group as a policy names it (new, free()). */
int sync_group_dn(const char *group, const char *vpn_group, char **out)
{
	const char *parent = vpn_group;
	char *esc = NULL;
	int ret;

	*out = NULL;
	if (strchr(group, '=')) {
		*out = strdup(group);
		return *out ? 0 : -ENOMEM;
	}
	/* the VPN group's parent: past its first comma not escaped by a backslash */
	for (; *parent; parent++) {
		if (*parent == '\\' && parent[1]) {
			parent++;
			continue;
		}
		if (*parent == ',')
			break;
	}
	if (*parent != ',')
		return -EINVAL;
	ret = ldap_dn_escape_dup(group, strlen(group), &esc);
	if (ret < 0)
		return ret;
	if (asprintf(out, "cn=%s%s", esc, parent) < 0) {
		*out = NULL;
		ret = -ENOMEM;
	}
	free(esc);
	return ret;
}

struct str_list {
	char **v;
	size_t n, cap;
};

static int str_list_add(struct str_list *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static void str_list_clear(struct str_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int group_cb(const char *group, void *arg)
{
	return str_list_add(arg, group);
}

struct old_members {
	const char *group;
	struct str_list users;
};

static int old_member_cb(const char *group, const char *username, void *arg)
{
	struct old_members *o = arg;

	return strcmp(group, o->group) == 0 ? str_list_add(&o->users, username) : 0;
}

static bool was_member(const struct old_members *o, const char *username)
{
	for (size_t i = 0; i < o->users.n; i++)
		if (strcmp(o->users.v[i], username) == 0)
			return true;
	return false;
}

/* One group: ask the directory, keep what cannot be decided, record. */
static int sync_one_group(struct kwl_module *m, struct kwl_gen *g, const char *group, const char *const *users,
			  size_t n, int64_t now)
{
	struct kw_ldap_config cfg = g->cfg;
	struct kw_ldap_user_fact *facts = calloc(n + 1, sizeof(*facts));
	struct old_members old = { .group = group };
	const char **members = calloc(n + 1, sizeof(*members));
	struct kw_ldap_check_stats stats = { 0 };
	struct kw_ldap *dir = NULL;
	char err[256] = "", *dn = NULL;
	size_t k = 0;
	int ret = facts && members ? sync_group_dn(group, g->cfg.vpn_group, &dn) : -ENOMEM;

	if (ret == 0)
		ret = store_group_members_list(m->srv->store, NULL, old_member_cb, &old);
	if (ret == 0) {
		cfg.vpn_group = dn;
		cfg.publish_attribute = NULL;
		ret = ldap_dir_new(&cfg, &dir);
	}
	for (size_t i = 0; ret == 0 && i < n; i++)
		facts[i].username = users[i];
	if (ret == 0)
		ret = ldap_dir_check_users(dir, facts, n, &stats, err, sizeof(err));
	if (ret < 0)
		log_warn("ldap-sync: policy group %s not read, memberships kept: %s", group, err[0] ? err : "error");
	for (size_t i = 0; ret == 0 && i < n; i++) {
		bool found = facts[i].presence == KW_LDAP_USER_FOUND;
		bool undecided = !found ? facts[i].presence != KW_LDAP_USER_MISSING :
					  !facts[i].in_vpn_group && facts[i].group_unknown;

		if ((found && facts[i].in_vpn_group) || (undecided && was_member(&old, users[i])))
			members[k++] = users[i];
	}
	if (ret == 0) {
		ret = store_group_members_replace(m->srv->store, group, members, k, now);
		if (ret > 0)
			log_info("ldap-sync: policy group %s now has %zu member(s) holding devices", group, k);
	}
	if (dir)
		ldap_dir_free(dir);
	if (facts)
		ldap_user_facts_release(facts, n);
	sodium_memzero(cfg.bind_password, sizeof(cfg.bind_password));
	str_list_clear(&old.users);
	free(facts);
	free(members);
	free(dn);
	return ret < 0 ? ret : 0;
}

unsigned sync_policy_groups(struct kwl_module *m, struct kwl_gen *g, const char *const *users, size_t n,
			    int64_t now)
{
	struct str_list groups = { 0 };
	unsigned errors = 0;
	int ret = store_policy_groups(m->srv->store, group_cb, &groups);

	if (ret < 0) {
		log_error("ldap-sync: cannot list the groups policies name (%d)", ret);
		return 1;
	}
	for (size_t i = 0; i < groups.n; i++)
		if (sync_one_group(m, g, groups.v[i], users, n, now) < 0)
			errors++;
	str_list_clear(&groups);
	return errors;
}
