/* Sites (their routes, default action, gateways and health) and site-bound enrollment tokens. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_sites_internal.h"

static const char *const action_names[] = { "allow", "deny" };

const char *store_site_action_name(enum kw_site_action a)
{
	return (unsigned)a < 2 ? action_names[a] : "?";
}

int store_site_action_parse(const char *s, enum kw_site_action *a)
{
	for (unsigned i = 0; i < 2; i++) {
		if (s && strcmp(s, action_names[i]) == 0) {
			*a = (enum kw_site_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool store_cidr_overlap(const struct kw_cidr *a, const struct kw_cidr *b)
{
	return cidr_contains(a, b) || cidr_contains(b, a);
}

/* Every config changed: bump both sequences (inside the caller's transaction). */
int store_bump_all(struct kw_conn *c)
{
	int64_t seq;
	int ret = store_seq_next(c, &seq);

	return ret < 0 ? ret : store_exec(c, KW_SQL_BUMP_ALL_BUMP, STORE_BINDS(STORE_INT(seq)));
}

int store_sites_commit(struct kw_store *st, struct kw_conn *c, int ret, const char *actor, const char *action,
		       const char *object, const char *detail, int64_t now)
{
	if (ret == 0)
		ret = store_bump_all(c);
	if (ret == 0)
		ret = store_audit_insert(c, now, actor, action, object, "success", detail);
	store_tx_notify(c, KW_CHANGE_ALL);
	return store_write_end(st, c, ret);
}

/*
 * store_query() with its per-row state in a zeroed heap block of size bytes (a site row holds its routes:
 * too large for a request thread's stack). The block starts with the head_size bytes of head, the caller's
 * callback and argument; row gets the block for every row.
 */
static int query_heap(struct kw_store *st, enum kw_sql sql, const struct kw_bind *b, unsigned n,
		      int (*row)(const struct kw_row *s, void *arg), const void *head, size_t head_size, size_t size)
{
	void *e = calloc(1, size);
	int ret;

	if (!e)
		return -ENOMEM;
	memcpy(e, head, head_size);
	ret = store_query(st, sql, b, n, row, e);
	free(e);
	return ret;
}

/* "a,b,c" -> routes (canonical networks). -EINVAL on anything else. */
static int routes_parse(const char *text, struct kw_cidr *routes, int *n)
{
	char buf[KW_CIDR_STRLEN];
	const char *p = text, *e;

	*n = 0;
	while (p && *p) {
		size_t len;

		e = strchr(p, ',');
		len = e ? (size_t)(e - p) : strlen(p);
		if (len == 0 || len >= sizeof(buf) || *n >= KW_SITE_ROUTES_MAX)
			return -EINVAL;
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (cidr_parse_network(&routes[*n], buf) < 0)
			return -EINVAL;
		(*n)++;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

static int routes_format(const struct kw_cidr *routes, int n, char *out, size_t size)
{
	char one[KW_CIDR_STRLEN];
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int w;

		cidr_format(one, &routes[i]);
		w = snprintf(out + len, size - len, "%s%s", i ? "," : "", one);
		if (w < 0 || (size_t)w >= size - len)
			return -EINVAL;
		len += (size_t)w;
	}
	return 0;
}

#define SITE_COLS "id, name, routes, routes_from_conf, default_action, created_at, updated_at"

static int site_row(const struct kw_row *s, void *arg)
{
	struct kw_site *x = arg;
	char buf[16];
	const char *routes;

	memset(x, 0, sizeof(*x));
	x->id = store_col_int(s, 0);
	store_col_text(s, 1, x->name, sizeof(x->name));
	routes = store_col_str(s, 2);
	if (routes_parse(routes ? routes : "", x->routes, &x->nroutes) < 0)
		log_warn("store: site %lld has unreadable routes, ignored", (long long)x->id);
	x->routes_from_conf = store_col_int(s, 3) != 0;
	store_col_text(s, 4, buf, sizeof(buf));
	if (store_site_action_parse(buf, &x->default_action) < 0)
		x->default_action = KW_SITE_DENY; /* unknown: fail closed */
	x->created_at = store_col_int(s, 5);
	x->updated_at = store_col_int(s, 6);
	return 0;
}

int store_site_get(struct kw_store *st, int64_t id, struct kw_site *out)
{

	return store_query_one(st, KW_SQL_SITE_GET, STORE_BINDS(STORE_INT(id)), site_row, out);
}

int store_site_by_name(struct kw_store *st, const char *name, struct kw_site *out)
{

	return store_query_one(st, KW_SQL_SITE_BY_NAME, STORE_BINDS(STORE_TEXT(name)), site_row, out);
}

struct site_cb {
	int (*fn)(const struct kw_site *s, void *arg);
	void *arg;
};

struct site_each {
	struct site_cb cb; /* first: query_heap's head */
	struct kw_site s;
};

static int site_each(const struct kw_row *s, void *arg)
{
	struct site_each *e = arg;

	site_row(s, &e->s);
	return e->cb.fn(&e->s, e->cb.arg);
}

int store_site_list(struct kw_store *st, int (*fn)(const struct kw_site *s, void *arg), void *arg)
{
	const struct site_cb cb = { fn, arg };

	return query_heap(st, KW_SQL_SITE_LIST, NULL, 0, site_each, &cb, sizeof(cb), sizeof(struct site_each));
}

/* The overlap check against every other site, inside the write transaction. */
struct overlap_check {
	int64_t self;
	const struct kw_cidr *routes;
	int nroutes;
	const struct kw_site_change *in;
	char *other;
	struct kw_site s;
};

static int overlap_row(const struct kw_row *s, void *arg)
{
	struct overlap_check *k = arg;
	const struct kw_cidr *theirs;
	int n;

	site_row(s, &k->s);
	if (k->s.id == k->self)
		return 0;
	theirs = k->s.routes_from_conf ? k->in->conf_routes : k->s.routes;
	n = k->s.routes_from_conf ? k->in->nconf_routes : k->s.nroutes;
	for (int i = 0; i < k->nroutes; i++) {
		for (int j = 0; j < n; j++) {
			if (store_cidr_overlap(&k->routes[i], &theirs[j])) {
				snprintf(k->other, 256, "%s", k->s.name);
				return -EADDRINUSE;
			}
		}
	}
	return 0;
}

static int check_overlap(struct kw_conn *c, int64_t self, const struct kw_cidr *routes, int n,
			 const struct kw_site_change *in, char other[256])
{
	struct overlap_check *k = malloc(sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	*k = (struct overlap_check){ .self = self, .routes = routes, .nroutes = n, .in = in, .other = other };
	for (int i = 0; i < n; i++) {
		for (int j = i + 1; j < n; j++) {
			if (store_cidr_overlap(&routes[i], &routes[j])) {
				free(k);
				return -EINVAL; /* a site's own routes overlap: a bad request */
			}
		}
	}
	ret = store_each_row(c, KW_SQL_CHECK_OVERLAP, NULL, 0, overlap_row, k);
	free(k);
	return ret;
}

/* store_sites_commit() with the audit row of site id: its name and routes (NULL: not named). */
static int site_commit(struct kw_store *st, struct kw_conn *c, int ret, const char *actor, const char *action,
		       int64_t id, const char *name, const char *routes, int64_t now)
{
	char object[48], detail[KW_SITE_ROUTES_MAX * KW_CIDR_STRLEN + 300];

	snprintf(object, sizeof(object), "site:%lld", (long long)id);
	snprintf(detail, sizeof(detail), "name=%s%s%s", name, routes ? " routes=" : "", routes ? routes : "");
	return store_sites_commit(st, c, ret, actor, action, object, detail, now);
}

int store_site_create(struct kw_store *st, const struct kw_site_change *in, const char *actor, int64_t now,
		      int64_t *id, char other[256])
{
	char routes[KW_SITE_ROUTES_MAX * KW_CIDR_STRLEN];
	struct kw_conn *c;
	int ret;

	if (!in->name || routes_format(in->routes, in->has_routes ? in->nroutes : 0, routes, sizeof(routes)) < 0)
		return -EINVAL;
	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = check_overlap(c, 0, in->routes, in->has_routes ? in->nroutes : 0, in, other);
	if (ret == 0)
		ret = store_exec_int(c, KW_SQL_SITE_CREATE_INS,
				     STORE_BINDS(STORE_TEXT(in->name), STORE_TEXT(routes),
						 STORE_TEXT(store_site_action_name(in->has_action ? in->default_action
												   : KW_SITE_ALLOW)),
						 STORE_INT(now)),
				     id);
	return site_commit(st, c, ret, actor, "site_create", ret == 0 ? *id : 0, in->name, routes, now);
}

int store_site_update(struct kw_store *st, int64_t id, const struct kw_site_change *in, const char *actor,
		      int64_t now, char other[256])
{
	char routes[KW_SITE_ROUTES_MAX * KW_CIDR_STRLEN] = "";
	struct kw_site *cur = calloc(1, sizeof(*cur)); /* zeroed: site_commit may name it after an error */
	struct kw_conn *c;
	int ret;

	if (!cur)
		return -ENOMEM;
	ret = store_write_begin(st, &c);
	if (ret < 0)
		goto free;
	ret = store_first_row(c, KW_SQL_SITE_UPDATE_GET, STORE_BINDS(STORE_INT(id)), site_row, cur);
	if (ret < 0)
		goto out;
	if (in->name)
		snprintf(cur->name, sizeof(cur->name), "%s", in->name);
	if (in->has_routes) {
		if (in->nroutes > KW_SITE_ROUTES_MAX) {
			ret = -EINVAL;
			goto out;
		}
		memcpy(cur->routes, in->routes, sizeof(*in->routes) * (size_t)in->nroutes);
		cur->nroutes = in->nroutes;
		cur->routes_from_conf = false;
	}
	if (in->has_action)
		cur->default_action = in->default_action;
	ret = routes_format(cur->routes, cur->nroutes, routes, sizeof(routes));
	if (ret == 0 && !cur->routes_from_conf)
		ret = check_overlap(c, id, cur->routes, cur->nroutes, in, other);
	if (ret == 0)
		ret = store_exec(c, KW_SQL_SITE_UPDATE_UPD,
				 STORE_BINDS(STORE_INT(id), STORE_TEXT(cur->name), STORE_TEXT(routes),
					     STORE_INT(cur->routes_from_conf), STORE_TEXT(store_site_action_name(cur->default_action)),
					     STORE_INT(now)));
out:
	ret = site_commit(st, c, ret, actor, "site_update", id, cur->name,
			  cur->routes_from_conf ? "[network]" : routes, now);
free:
	free(cur);
	return ret;
}

static int count_row(const struct kw_row *s, void *arg)
{
	int *v = arg;

	v[0] = (int)store_col_int(s, 0);
	v[1] = (int)store_col_int(s, 1);
	return 0;
}


int store_site_usage(struct kw_store *st, int64_t id, int *gateways, int *policies)
{
	int v[2] = { 0, 0 };
	int ret = store_query_one(st, KW_SQL_SITE_USAGE, STORE_BINDS(STORE_INT(id)), count_row, v);

	*gateways = v[0];
	*policies = v[1];
	return ret;
}

int store_site_delete(struct kw_store *st, int64_t id, const char *actor, int64_t now)
{
	/* Revoked gateways keep their row (the audit trail names their site): drop only those. */
	/* A gateway token of the site, not used up: revoked (it must not enroll into 'default'). */
	struct kw_site *cur = calloc(1, sizeof(*cur)); /* zeroed: site_commit may name it after an error */
	struct kw_conn *c;
	int v[2] = { 0, 0 };
	int ret;

	if (!cur)
		return -ENOMEM;
	ret = store_write_begin(st, &c);
	if (ret < 0)
		goto free;
	ret = store_first_row(c, KW_SQL_SITE_DELETE_GET, STORE_BINDS(STORE_INT(id)), site_row, cur);
	if (ret == 0)
		ret = store_first_row(c, KW_SQL_SITE_USAGE, STORE_BINDS(STORE_INT(id)), count_row, v);
	if (ret == 0 && (v[0] || v[1] || strcmp(cur->name, KW_SITE_DEFAULT) == 0))
		ret = -EPERM;
	if (ret == 0)
		ret = store_exec(c, KW_SQL_SITE_DELETE_UNLINK, STORE_BINDS(STORE_INT(id)));
	if (ret == 0)
		ret = store_exec(c, KW_SQL_SITE_DELETE_REVOKE, STORE_BINDS(STORE_INT(id), STORE_INT(now)));
	if (ret == 0)
		ret = store_exec(c, KW_SQL_SITE_DELETE_UNTOKEN, STORE_BINDS(STORE_INT(id)));
	if (ret == 0)
		ret = store_exec(c, KW_SQL_SITE_DELETE_DEL, STORE_BINDS(STORE_INT(id)));
	ret = site_commit(st, c, ret, actor, "site_delete", id, cur->name, NULL, now);
free:
	free(cur);
	return ret;
}

int store_site_token_create(struct kw_store *st, const char *username, int64_t site_id, int64_t expires_at,
			    int64_t uses, const uint8_t *hash, const char *actor, int64_t now, int64_t *id)
{
	char object[48], detail[KW_STORE_NAME_MAX + 96];
	struct kw_conn *c;
	int ret;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_exec_int(c, KW_SQL_SITE_TOKEN_CREATE_INS,
			     STORE_BINDS(STORE_TEXT(username), STORE_HASH(hash), STORE_INT(now), STORE_INT(expires_at),
					 STORE_INT(uses), STORE_INT(uses), STORE_TEXT(actor)),
			     id);
	if (ret == 0)
		ret = store_exec(c, KW_SQL_SITE_TOKEN_CREATE_LINK, STORE_BINDS(STORE_INT(*id), STORE_INT(site_id)));
	if (ret == 0 && store_changes(c) != 1)
		ret = -ENOENT;
	if (ret == 0) {
		snprintf(object, sizeof(object), "enrollment-token:%lld", (long long)*id);
		snprintf(detail, sizeof(detail), "username=%s role=gateway uses=%lld site=%lld", username,
			 (long long)uses, (long long)site_id);
		ret = store_audit_insert(c, now, actor, "enrollment_token_create", object, "success", detail);
	}
	return store_write_end(st, c, ret);
}

struct token_site_each {
	int (*fn)(int64_t token_id, const char *site, void *arg);
	void *arg;
};

static int token_site_row(const struct kw_row *s, void *arg)
{
	const struct token_site_each *e = arg;
	char name[256];

	store_col_text(s, 1, name, sizeof(name));
	return e->fn(store_col_int(s, 0), name, e->arg);
}

int store_site_token_list(struct kw_store *st, int (*fn)(int64_t token_id, const char *site, void *arg),
			  void *arg)
{
	struct token_site_each e = { fn, arg };

	return store_query(st, KW_SQL_SITE_TOKEN_LIST, NULL, 0, token_site_row, &e);
}

struct gateway_cb {
	int (*fn)(const struct kw_site_gateway *g, void *arg);
	void *arg;
};

struct gateway_each {
	struct gateway_cb cb; /* first: query_heap's head */
	struct kw_site_gateway g;
};

static int gateway_row(const struct kw_row *s, void *arg)
{
	struct gateway_each *e = arg;
	struct kw_site_gateway *g = &e->g;

	memset(g, 0, sizeof(*g));
	g->id = store_col_int(s, 0);
	g->site_id = store_col_int(s, 1);
	store_col_text(s, 2, g->site, sizeof(g->site));
	store_col_text(s, 3, g->hostname, sizeof(g->hostname));
	store_col_text(s, 4, g->state, sizeof(g->state));
	store_col_text(s, 5, g->public_key, sizeof(g->public_key));
	store_col_text(s, 6, g->address, sizeof(g->address));
	store_col_text(s, 7, g->address6, sizeof(g->address6));
	store_col_text(s, 8, g->endpoint, sizeof(g->endpoint));
	g->listen_port = (int)store_col_int(s, 9);
	g->online = store_col_int(s, 10) != 0;
	g->last_seen = store_col_int(s, 11);
	return e->cb.fn(g, e->cb.arg);
}

int store_site_gateways(struct kw_store *st, int64_t site_id,
			int (*fn)(const struct kw_site_gateway *g, void *arg), void *arg)
{
	const struct gateway_cb cb = { fn, arg };

	return query_heap(st, KW_SQL_SITE_GATEWAYS, STORE_BINDS(STORE_INT(site_id)), gateway_row, &cb, sizeof(cb),
			  sizeof(struct gateway_each));
}

static int online_row(const struct kw_row *s, void *arg)
{
	*(int *)arg = (int)store_col_int(s, 0);
	return 0;
}

int store_gateway_set_online(struct kw_store *st, int64_t id, bool online, int64_t last_seen, int64_t now)
{
	char object[48];
	struct kw_conn *c;
	int cur = -1, ret;
	int64_t seq;

	ret = store_write_begin(st, &c);
	if (ret < 0)
		return ret;
	ret = store_first_row(c, KW_SQL_GATEWAY_SET_ONLINE_GET, STORE_BINDS(STORE_INT(id)), online_row, &cur);
	if (ret == 0 && cur == (int)online) {
		store_tx_rollback(st, c);
		store_conn_put(st, c);
		return 0;
	}
	if (ret == 0)
		ret = store_exec(c, KW_SQL_GATEWAY_SET_ONLINE_PUT, STORE_BINDS(STORE_INT(id), STORE_INT(online), STORE_INT(last_seen),
						     STORE_INT(now)));
	/* Only devices' configs name gateways: only their sequence moves. */
	if (ret == 0)
		ret = store_seq_next(c, &seq);
	if (ret == 0)
		ret = store_exec(c, KW_SQL_GATEWAY_SET_ONLINE_BUMP, STORE_BINDS(STORE_INT(seq)));
	if (ret == 0) {
		snprintf(object, sizeof(object), "device:%lld", (long long)id);
		ret = store_audit_insert(c, now, "keywayd", online ? "gateway_online" : "gateway_offline", object,
					 "success", "");
	}
	store_tx_notify(c, KW_CHANGE_DEVICES);
	ret = store_write_end(st, c, ret);
	if (ret < 0)
		return ret;
	return 1;
}

struct peer_cb {
	int (*fn)(const struct kw_device_peer *p, void *arg);
	void *arg;
};

struct peer_each {
	struct peer_cb cb; /* first: query_heap's head */
	struct kw_device_peer p;
};

static int device_peer_row(const struct kw_row *s, void *arg)
{
	struct peer_each *e = arg;

	e->p.id = store_col_int(s, 0);
	store_col_text(s, 1, e->p.username, sizeof(e->p.username));
	store_col_text(s, 2, e->p.public_key, sizeof(e->p.public_key));
	store_col_text(s, 3, e->p.address, sizeof(e->p.address));
	store_col_text(s, 4, e->p.address6, sizeof(e->p.address6));
	return e->cb.fn(&e->p, e->cb.arg);
}

int store_site_device_peers(struct kw_store *st, int (*fn)(const struct kw_device_peer *p, void *arg), void *arg)
{
	const struct peer_cb cb = { fn, arg };

	return query_heap(st, KW_SQL_SITE_DEVICE_PEERS, NULL, 0, device_peer_row, &cb, sizeof(cb), sizeof(struct peer_each));
}
