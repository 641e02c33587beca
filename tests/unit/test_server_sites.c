/*
 * Check suite for sites, access policies and gateway health: the store (migration of an
 * install without sites, overlap checks, 409s, nothing written on rejection), the handlers
 * called directly, the config payloads they decide (one gateway peer per site, no prefix
 * twice, failover candidates, per-device access on gateways) and the pure parsers.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "core/access.h"
#include "core/access_snap.h"
#include "core/gwhealth.h"
#include "core/wgconf.h"
#include "http/request.h"
#include "server_fixture.h"
#include "server_helpers.h"
#include "store/store.h"
#include "store/store_migrations.h"

int sync_group_dn(const char *group, const char *vpn_group, char **out); /* directory/sync_groups.c */

static struct fixture F;

static void setup(void)
{
	fixture_up(&F, "10.77.0.0/16", 3600);
}

static void teardown(void)
{
	fixture_down(&F);
}

/* Call a handler as an admin with a JSON body text (NULL: none) and path parameter. */
static int call(kw_handler_fn fn, const char *method, const char *param, const char *body, json_t **out)
{
	struct kw_req req;

	srvtest_req(&F, &req, method, "/api/v1/x", param, KW_PRINCIPAL_API_TOKEN, KW_ROLE_ADMIN, 1, "ci");
	return srvtest_invoke(fn, &req, body, out, NULL);
}

static const char *err_msg(json_t *out)
{
	return json_string_value(json_object_get(json_object_get(out, "error"), "message"));
}

static int64_t make_site(const char *body)
{
	json_t *out;
	int64_t id;

	ck_assert_int_eq(call(api_sites_post, "POST", NULL, body, &out), 201);
	id = json_integer_value(json_object_get(out, "id"));
	json_decref(out);
	return id;
}

/* A gateway enrolled with a token of this site (NULL: none named). */
static void make_gateway(const char *site, struct kw_device *gw)
{
	char body[256], tok[128];
	json_t *out;

	snprintf(body, sizeof(body), site ? "{\"username\":\"ops\",\"role\":\"gateway\",\"site\":\"%s\"}" :
					    "{\"username\":\"ops\",\"role\":\"gateway\"%s}", site ? site : "");
	ck_assert_int_eq(call(api_enrollment_tokens_post, "POST", NULL, body, &out), 201);
	snprintf(tok, sizeof(tok), "%s", json_string_value(json_object_get(out, "token")));
	ck_assert_str_eq(json_string_value(json_object_get(out, "site")), site ? site : "default");
	json_decref(out);
	ck_assert_int_eq(fixture_enroll(&F, tok, (int64_t)time(NULL), gw, NULL), 0);
}

static void make_device(const char *user, struct kw_device *d)
{
	char tok[64];

	fixture_enroll_token(&F, user, KW_DEV_DEVICE, 1, tok);
	ck_assert_int_eq(fixture_enroll(&F, tok, (int64_t)time(NULL), d, NULL), 0);
}

static json_t *payload(struct kw_device *d)
{
	char *text = NULL;
	json_t *p;

	ck_assert_int_eq(store_device_get(F.srv.store, d->id, d), 0);
	ck_assert_int_eq(wgconf_payload(&F.srv, d, 1000, &text), 0);
	p = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_msg(p != NULL, "payload is not JSON: %s", text);
	free(text);
	return p;
}

/* The peer of a device config for this site (NULL: none). */
static json_t *site_peer(json_t *p, const char *site)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(p, "peers"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "site")), site) == 0)
			return v;
	return NULL;
}

static bool has_ip(json_t *peer, const char *ip)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(peer, "allowed_ips"), i, v)
		if (strcmp(json_string_value(v), ip) == 0)
			return true;
	return false;
}

/* No prefix appears twice across the peers of a config (WireGuard would move it). */
static void assert_no_duplicate_prefix(json_t *p)
{
	size_t i, j;
	json_t *peer, *ip;
	char seen[64][KW_CIDR_STRLEN];
	size_t n = 0;

	json_array_foreach(json_object_get(p, "peers"), i, peer) {
		json_array_foreach(json_object_get(peer, "allowed_ips"), j, ip) {
			for (size_t k = 0; k < n; k++)
				ck_assert_str_ne(seen[k], json_string_value(ip));
			ck_assert_uint_lt(n, 64);
			snprintf(seen[n++], KW_CIDR_STRLEN, "%s", json_string_value(ip));
		}
	}
}

START_TEST(test_migration_of_an_install_without_sites)
{
	struct fixture f;
	struct kw_store_net net = { .quarantine = 0 };
	struct kw_device gw, dev;
	struct kw_site s;
	char gtok[64], dtok[64], *before = NULL, *after = NULL;
	json_t *p, *peer;
	unsigned n;

	fixture_up(&f, "10.77.0.0/16", 0);
	store_close(f.srv.store);
	/* A database as keywayd wrote it before sites: migration 1 only, a gateway and a device. */
	net.cidr = f.conf.cidr;
	snprintf(net.fingerprint, sizeof(net.fingerprint), "test");
	fixture_reset_db(&f);
	ck_assert_int_eq(fixture_open(&f, NULL, &net, fixture_migrations(&n), 1, &f.srv.store), 0);
	fixture_enroll_token(&f, "ops", KW_DEV_GATEWAY, 1, gtok);
	fixture_enroll_token(&f, "alice", KW_DEV_DEVICE, 1, dtok);
	ck_assert_int_eq(fixture_enroll(&f, gtok, 100, &gw, NULL), 0);
	ck_assert_int_eq(fixture_enroll(&f, dtok, 100, &dev, NULL), 0);
	store_close(f.srv.store);
	/* The upgrade: the same file, the same config file ([network] routes 192.168.10.0/24). */
	ck_assert_int_eq(fixture_open(&f, NULL, &net, NULL, 0, &f.srv.store), 0);
	ck_assert_int_eq(store_site_by_name(f.srv.store, "default", &s), 0);
	ck_assert(s.routes_from_conf);
	ck_assert_int_eq(s.default_action, KW_SITE_ALLOW);
	ck_assert_int_eq(fixture_count(&f, "gateway_sites"), 1);
	ck_assert_int_eq(store_device_get(f.srv.store, dev.id, &dev), 0);
	ck_assert_int_eq(wgconf_payload(&f.srv, &dev, 1000, &before), 0);
	p = json_loads(before, 0, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(p, "peers")), 1);
	peer = json_array_get(json_object_get(p, "peers"), 0);
	/* exactly what it routed before: the VPN network and [network] routes, nothing else */
	ck_assert_int_eq(json_array_size(json_object_get(peer, "allowed_ips")), 2);
	ck_assert(has_ip(peer, "10.77.0.0/16"));
	ck_assert(has_ip(peer, "192.168.10.0/24"));
	ck_assert_str_eq(json_string_value(json_object_get(peer, "public_key")), gw.public_key);
	json_decref(p);
	/* The gateway's config: every device, with no "access" (the gateway filters nothing). */
	ck_assert_int_eq(store_device_get(f.srv.store, gw.id, &gw), 0);
	ck_assert_int_eq(wgconf_payload(&f.srv, &gw, 1000, &after), 0);
	p = json_loads(after, 0, NULL);
	peer = json_array_get(json_object_get(p, "peers"), 0);
	ck_assert_ptr_null(json_object_get(peer, "access"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "site"), "name")), "default");
	json_decref(p);
	free(before);
	free(after);
	fixture_down(&f);
}
END_TEST

START_TEST(test_site_crud_and_conflicts)
{
	json_t *out;
	char id[32], *dump;
	int64_t hq;
	struct kw_device gw;

	hq = make_site("{\"name\":\"hq\",\"routes\":[\"10.1.0.0/24\"],\"default\":\"deny\"}");
	ck_assert_int_gt(hq, 0);
	dump = fixture_dump(&F);
	/* overlapping routes: 409 naming the other site, nothing written */
	ck_assert_int_eq(call(api_sites_post, "POST", NULL, "{\"name\":\"dc\",\"routes\":[\"10.1.0.128/25\"]}", &out),
			 409);
	ck_assert_str_eq(srvtest_err_code(out), "conflict");
	ck_assert_ptr_nonnull(strstr(err_msg(out), "'hq'"));
	json_decref(out);
	/* overlapping the default site's [network] routes */
	ck_assert_int_eq(call(api_sites_post, "POST", NULL, "{\"name\":\"dc\",\"routes\":[\"192.168.0.0/16\"]}", &out),
			 409);
	ck_assert_ptr_nonnull(strstr(err_msg(out), "'default'"));
	json_decref(out);
	ck_assert_int_eq(call(api_sites_post, "POST", NULL, "{\"name\":\"hq\"}", &out), 409);
	json_decref(out);
	ck_assert_int_eq(call(api_sites_post, "POST", NULL, "{\"name\":\"a b\"}", &out), 400);
	ck_assert_str_eq(srvtest_err_code(out), "invalid_field");
	json_decref(out);
	ck_assert_int_eq(call(api_sites_post, "POST", NULL, "{\"name\":\"x\",\"routes\":[\"10.2.0.1/24\"]}", &out), 400);
	json_decref(out);
	ck_assert_int_eq(call(api_sites_post, "POST", NULL, "{\"name\":\"x\",\"routes\":[\"10.77.1.0/24\"]}", &out), 400);
	json_decref(out);
	ck_assert_int_eq(call(api_sites_post, "POST", NULL, "{\"name\":\"x\",\"default\":\"maybe\"}", &out), 400);
	json_decref(out);
	ck_assert_int_eq(call(api_sites_post, "POST", NULL,
			      "{\"name\":\"x\",\"routes\":[\"10.3.0.0/16\",\"10.3.1.0/24\"]}", &out), 400);
	json_decref(out);
	{
		char *now_dump = fixture_dump(&F);

		ck_assert_str_eq(now_dump, dump);
		free(now_dump);
	}
	free(dump);
	/* PUT: new routes, then a rename; the default site cannot be renamed or deleted */
	snprintf(id, sizeof(id), "%lld", (long long)hq);
	ck_assert_int_eq(call(api_sites_put, "PUT", id, "{\"routes\":[\"10.1.0.0/23\"]}", &out), 200);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(out, "routes"), 0)), "10.1.0.0/23");
	ck_assert_str_eq(json_string_value(json_object_get(out, "default")), "deny");
	json_decref(out);
	ck_assert_int_eq(call(api_sites_put, "PUT", "1", "{\"name\":\"main\"}", &out), 409);
	ck_assert_str_eq(srvtest_err_code(out), "invalid_state");
	json_decref(out);
	ck_assert_int_eq(call(api_sites_delete, "DELETE", "1", NULL, &out), 409);
	json_decref(out);
	/* a site with a gateway cannot go */
	make_gateway("hq", &gw);
	ck_assert_int_eq(call(api_sites_delete, "DELETE", id, NULL, &out), 409);
	ck_assert_str_eq(srvtest_err_code(out), "invalid_state");
	json_decref(out);
	ck_assert_int_eq(call(api_sites_get, "GET", id, NULL, &out), 200);
	ck_assert_int_eq(json_array_size(json_object_get(out, "gateways")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(out, "gateways"), 0), "role")),
			 "active");
	json_decref(out);
	ck_assert_int_eq(store_device_revoke(F.srv.store, gw.id, "t", 100), 0);
	{
		/* an unused token of the site: revoked with it, never enrolling into 'default' */
		char tok[128];
		struct kw_device g2;

		ck_assert_int_eq(call(api_enrollment_tokens_post, "POST", NULL,
				      "{\"username\":\"o\",\"role\":\"gateway\",\"site\":\"hq\"}", &out), 201);
		snprintf(tok, sizeof(tok), "%s", json_string_value(json_object_get(out, "token")));
		json_decref(out);
		ck_assert_int_eq(call(api_sites_delete, "DELETE", id, NULL, &out), 204);
		ck_assert_int_eq(fixture_enroll(&F, tok, (int64_t)time(NULL), &g2, NULL), -EACCES);
	}
	ck_assert_int_eq(call(api_sites_get, "GET", id, NULL, &out), 404);
	json_decref(out);
	ck_assert_int_eq(call(api_enrollment_tokens_post, "POST", NULL,
			      "{\"username\":\"o\",\"role\":\"gateway\",\"site\":\"nope\"}", &out), 400);
	json_decref(out);
	ck_assert_int_eq(call(api_enrollment_tokens_post, "POST", NULL, "{\"username\":\"o\",\"site\":\"default\"}",
			      &out), 400);
	json_decref(out);
}
END_TEST

START_TEST(test_device_config_one_peer_per_site_with_candidates)
{
	struct kw_device g1, g2, g3, dev, gw0;
	json_t *p, *hq, *dc, *sites;
	int64_t v0;

	make_site("{\"name\":\"hq\",\"routes\":[\"10.1.0.0/24\"]}");
	make_site("{\"name\":\"dc\",\"routes\":[\"10.2.0.0/24\",\"fd10::/64\"]}");
	make_gateway(NULL, &gw0);
	make_gateway("hq", &g1);
	make_gateway("hq", &g2);
	make_gateway("dc", &g3);
	make_device("alice", &dev);
	p = payload(&dev);
	ck_assert_int_eq(json_array_size(json_object_get(p, "peers")), 3);
	hq = site_peer(p, "hq");
	dc = site_peer(p, "dc");
	ck_assert_str_eq(json_string_value(json_object_get(hq, "public_key")), g1.public_key);
	ck_assert(has_ip(hq, g1.address) && has_ip(hq, "10.1.0.0/24"));
	ck_assert(!has_ip(hq, "10.2.0.0/24") && !has_ip(hq, "10.77.0.0/16"));
	ck_assert(has_ip(dc, g3.address) && has_ip(dc, "10.2.0.0/24") && has_ip(dc, "fd10::/64"));
	ck_assert(has_ip(site_peer(p, "default"), "10.77.0.0/16"));
	assert_no_duplicate_prefix(p);
	/* the candidates of hq, in order, the second standing by */
	sites = json_object_get(p, "sites");
	ck_assert_int_eq(json_array_size(sites), 3);
	{
		json_t *s = json_array_get(sites, 2), *gws = json_object_get(s, "gateways");

		ck_assert_str_eq(json_string_value(json_object_get(s, "name")), "hq");
		ck_assert_int_eq(json_array_size(gws), 2);
		ck_assert(json_is_true(json_object_get(json_array_get(gws, 0), "active")));
		ck_assert(json_is_false(json_object_get(json_array_get(gws, 1), "active")));
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(gws, 1), "public_key")), g2.public_key);
		ck_assert_str_eq(json_string_value(json_array_get(json_object_get(s, "allowed_ips"), 0)), "10.1.0.0/24");
	}
	json_decref(p);
	/* g1 goes quiet: devices move to g2, with a new config version */
	v0 = dev.version;
	ck_assert_int_eq(store_gateway_set_online(F.srv.store, g1.id, false, 900, 1000), 1);
	ck_assert_int_eq(store_gateway_set_online(F.srv.store, g1.id, false, 900, 1000), 0);
	p = payload(&dev);
	ck_assert_int_gt(dev.version, v0);
	ck_assert_str_eq(json_string_value(json_object_get(site_peer(p, "hq"), "public_key")), g2.public_key);
	ck_assert(has_ip(site_peer(p, "hq"), "10.1.0.0/24"));
	json_decref(p);
	/* every hq gateway down: the first one stays named (nothing better), others untouched */
	ck_assert_int_eq(store_gateway_set_online(F.srv.store, g2.id, false, 900, 1000), 1);
	p = payload(&dev);
	ck_assert_str_eq(json_string_value(json_object_get(site_peer(p, "hq"), "public_key")), g1.public_key);
	ck_assert(has_ip(site_peer(p, "dc"), "10.2.0.0/24"));
	json_decref(p);
	/* g2 back: it takes the traffic */
	ck_assert_int_eq(store_gateway_set_online(F.srv.store, g2.id, true, 1001, 1001), 1);
	p = payload(&dev);
	ck_assert_str_eq(json_string_value(json_object_get(site_peer(p, "hq"), "public_key")), g2.public_key);
	json_decref(p);
}
END_TEST

static int64_t make_policy(const char *body)
{
	json_t *out;
	int64_t id;
	int st = call(api_policies_post, "POST", NULL, body, &out);

	ck_assert_msg(st == 201, "policy %s: %d %s", body, st, out ? err_msg(out) : "");
	id = json_integer_value(json_object_get(out, "id"));
	json_decref(out);
	return id;
}

/* The "access" of device d in gateway g's config. */
static json_t *access_of(json_t *gp, const struct kw_device *d)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(gp, "peers"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "public_key")), d->public_key) == 0)
			return json_object_get(v, "access");
	return NULL;
}

/* Policy bodies the API refuses: 400 or 409, and the database stays as it was. */
static void policy_rejections_change_nothing(void)
{
	json_t *out;
	char *dump;

	dump = fixture_dump(&F);
	ck_assert_int_eq(call(api_policies_post, "POST", NULL,
			      "{\"name\":\"bad\",\"site\":\"hq\",\"users\":[\"a\"],\"destinations\":"
			      "[{\"cidr\":\"10.5.0.0/24\"}]}", &out), 400);
	json_decref(out);
	ck_assert_int_eq(call(api_policies_post, "POST", NULL,
			      "{\"name\":\"bad\",\"site\":\"hq\",\"users\":[\"a\"],\"destinations\":"
			      "[{\"cidr\":\"10.1.0.0/24\",\"protocol\":\"icmp\",\"ports\":\"22\"}]}", &out), 400);
	json_decref(out);
	ck_assert_int_eq(call(api_policies_post, "POST", NULL, "{\"name\":\"bad\",\"site\":\"zz\",\"users\":[\"a\"]}",
			      &out), 400);
	json_decref(out);
	ck_assert_int_eq(call(api_policies_post, "POST", NULL, "{\"name\":\"ssh\",\"site\":\"hq\",\"users\":[\"a\"]}",
			      &out), 409);
	json_decref(out);
	ck_assert_int_eq(call(api_policies_post, "POST", NULL, "{\"name\":\"none\",\"site\":\"hq\"}", &out), 400);
	json_decref(out);
	{
		char *now_dump = fixture_dump(&F);

		ck_assert_str_eq(now_dump, dump);
		free(now_dump);
		free(dump);
	}
}

START_TEST(test_policies_narrow_and_enforce)
{
	struct kw_device gw, alice, bob;
	const char *groups[] = { "alice" };
	json_t *out, *p, *a, *d0;
	int64_t pid;

	make_site("{\"name\":\"hq\",\"routes\":[\"10.1.0.0/24\",\"10.9.0.0/24\"],\"default\":\"deny\"}");
	make_gateway("hq", &gw);
	make_device("alice", &alice);
	make_device("bob", &bob);
	pid = make_policy("{\"name\":\"ssh\",\"site\":\"hq\",\"users\":[\"alice\"],\"destinations\":"
			  "[{\"cidr\":\"10.1.0.10/32\",\"protocol\":\"tcp\",\"ports\":\"22,0443,8000-8100\"}]}");
	make_policy("{\"name\":\"eng\",\"site\":\"hq\",\"groups\":[\"cn=eng,ou=groups,dc=x\"],\"destinations\":"
		    "[{\"cidr\":\"10.9.0.0/24\",\"protocol\":\"udp\",\"ports\":\"53\"}]}");
	policy_rejections_change_nothing();
	/* alice: only the granted host, on hq's peer; bob: only the gateway itself */
	p = payload(&alice);
	ck_assert(has_ip(site_peer(p, "hq"), "10.1.0.10/32"));
	ck_assert(!has_ip(site_peer(p, "hq"), "10.1.0.0/24"));
	ck_assert(!has_ip(site_peer(p, "hq"), "10.9.0.0/24"));
	json_decref(p);
	p = payload(&bob);
	ck_assert_int_eq(json_array_size(json_object_get(site_peer(p, "hq"), "allowed_ips")), 1);
	json_decref(p);
	/* the gateway: per device, what it may reach */
	p = payload(&gw);
	a = access_of(p, &alice);
	ck_assert_str_eq(json_string_value(json_object_get(a, "default")), "deny");
	ck_assert_int_eq(json_array_size(json_object_get(a, "destinations")), 1);
	d0 = json_array_get(json_object_get(a, "destinations"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(d0, "cidr")), "10.1.0.10/32");
	ck_assert_str_eq(json_string_value(json_object_get(d0, "protocol")), "tcp");
	ck_assert_str_eq(json_string_value(json_object_get(d0, "ports")), "22,443,8000-8100");
	ck_assert_int_eq(json_array_size(json_object_get(access_of(p, &bob), "destinations")), 0);
	json_decref(p);
	/* bob joins the group (as the directory sync records it): he gains eng's destination */
	{
		const char *bob_only[] = { "bob" };

		ck_assert_int_eq(store_group_members_replace(F.srv.store, "cn=eng,ou=groups,dc=x", bob_only, 1, 5), 1);
		ck_assert_int_eq(store_group_members_replace(F.srv.store, "cn=eng,ou=groups,dc=x", bob_only, 1, 5), 0);
	}
	p = payload(&bob);
	ck_assert(has_ip(site_peer(p, "hq"), "10.9.0.0/24"));
	json_decref(p);
	ck_assert_int_eq(call(api_users_access, "GET", "bob", NULL, &out), 200);
	a = json_array_get(json_object_get(out, "sites"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(a, "site")), "hq");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(a, "policies"), 0)), "eng");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(out, "groups"), 0)), "cn=eng,ou=groups,dc=x");
	json_decref(out);
	/* and loses it when he leaves */
	ck_assert_int_eq(store_group_members_replace(F.srv.store, "cn=eng,ou=groups,dc=x", groups, 0, 6), 1);
	p = payload(&bob);
	ck_assert(!has_ip(site_peer(p, "hq"), "10.9.0.0/24"));
	json_decref(p);
	/* PUT changes one field; DELETE removes the grant */
	{
		char id[32];

		snprintf(id, sizeof(id), "%lld", (long long)pid);
		ck_assert_int_eq(call(api_policies_put, "PUT", id, "{\"users\":[\"bob\"]}", &out), 200);
		ck_assert_str_eq(json_string_value(json_array_get(json_object_get(out, "users"), 0)), "bob");
		ck_assert_int_eq(json_array_size(json_object_get(out, "destinations")), 1);
		json_decref(out);
		p = payload(&alice);
		ck_assert(!has_ip(site_peer(p, "hq"), "10.1.0.10/32"));
		json_decref(p);
		ck_assert_int_eq(call(api_policies_delete, "DELETE", id, NULL, &out), 204);
		ck_assert_int_eq(call(api_policies_get, "GET", id, NULL, &out), 404);
		json_decref(out);
	}
	/* a site with policies cannot be deleted */
	ck_assert_int_eq(call(api_sites_delete, "DELETE", "2", NULL, &out), 409);
	json_decref(out);
}
END_TEST

/* With the shared snapshot (as keywayd runs): every change is seen by the next build. */
START_TEST(test_cache_follows_changes)
{
	struct kw_device gw, dev;
	json_t *p;

	ck_assert_int_eq(access_cache_new(&F.srv.access_cache), 0);
	make_site("{\"name\":\"hq\",\"routes\":[\"10.1.0.0/24\"],\"default\":\"deny\"}");
	make_gateway("hq", &gw);
	make_device("alice", &dev);
	p = payload(&dev);
	ck_assert_int_eq(json_array_size(json_object_get(site_peer(p, "hq"), "allowed_ips")), 1);
	json_decref(p);
	p = payload(&dev); /* the same snapshot again */
	ck_assert_int_eq(json_array_size(json_object_get(site_peer(p, "hq"), "allowed_ips")), 1);
	json_decref(p);
	make_policy("{\"name\":\"a\",\"site\":\"hq\",\"users\":[\"alice\"],\"destinations\":[{\"cidr\":\"10.1.0.0/25\"}]}");
	p = payload(&dev);
	ck_assert(has_ip(site_peer(p, "hq"), "10.1.0.0/25"));
	json_decref(p);
	ck_assert_int_eq(store_gateway_set_online(F.srv.store, gw.id, false, 1, 2), 1);
	p = payload(&dev);
	ck_assert(json_is_false(json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(p, "sites"), 0), "gateways"), 0), "online")));
	json_decref(p);
	access_cache_free(F.srv.access_cache);
	F.srv.access_cache = NULL;
}
END_TEST

/* The file may be edited into an overlap the API would refuse: keywayd says so. */
START_TEST(test_conf_routes_overlap_warned)
{
	make_site("{\"name\":\"hq\",\"routes\":[\"10.1.0.0/24\"]}");
	ck_assert_int_eq(access_warn_conf_overlaps(&F.srv), 0);
	ck_assert_int_eq(cidr_parse_network(&F.conf.routes[1], "10.1.0.0/25"), 0);
	F.conf.nroutes = 2;
	ck_assert_int_eq(access_warn_conf_overlaps(&F.srv), 1);
}
END_TEST

START_TEST(test_gateway_health_timeout)
{
	struct kw_device g1, g2, dev;
	struct kw_gwhealth *h;
	json_t *p;

	make_site("{\"name\":\"hq\",\"routes\":[\"10.1.0.0/24\"]}");
	make_gateway("hq", &g1);
	make_gateway("hq", &g2);
	make_device("alice", &dev);
	ck_assert_int_eq(gwhealth_new(10, 1000, &h), 0);
	F.srv.gwhealth = h;
	ck_assert_int_eq(gwhealth_poll_max(&F.srv), 5);
	ck_assert_int_eq(gwhealth_tick(&F.srv, 1000), 0);
	ck_assert_int_eq(gwhealth_seen(&F.srv, g1.id, 1005), 0);
	ck_assert_int_eq(gwhealth_seen(&F.srv, g2.id, 1005), 0);
	ck_assert_int_eq(gwhealth_tick(&F.srv, 1010), 0);
	ck_assert_int_eq(gwhealth_seen(&F.srv, g2.id, 1012), 0);
	/* g1 silent for 11 s: offline, devices move to g2 */
	ck_assert_int_eq(gwhealth_tick(&F.srv, 1016), 1);
	ck_assert_int_eq(gwhealth_last_seen(&F.srv, g1.id), 1005);
	p = payload(&dev);
	ck_assert_str_eq(json_string_value(json_object_get(site_peer(p, "hq"), "public_key")), g2.public_key);
	json_decref(p);
	/* g1 asks for its config again: back online, and first in line again */
	ck_assert_int_eq(gwhealth_seen(&F.srv, g1.id, 1020), 0);
	p = payload(&dev);
	ck_assert_str_eq(json_string_value(json_object_get(site_peer(p, "hq"), "public_key")), g1.public_key);
	json_decref(p);
	/* a gateway enrolled now, never seen: a full timeout from when keywayd first looks */
	{
		struct kw_device g3;

		make_gateway("hq", &g3);
		ck_assert_int_eq(gwhealth_tick(&F.srv, 1030), 1); /* g2, silent since 1012 */
		ck_assert_int_eq(gwhealth_tick(&F.srv, 1041), 2); /* g1 (1020) and g3 (first looked at 1030) */
	}
	F.srv.gwhealth = NULL;
	gwhealth_free(h);
}
END_TEST

START_TEST(test_ports_and_destinations)
{
	char out[KW_PORTS_STRLEN];
	struct kw_access_dest d;
	char err[256];
	json_t *o;

	ck_assert_int_eq(access_ports_parse("22", out), 0);
	ck_assert_str_eq(out, "22");
	ck_assert_int_eq(access_ports_parse("22,443,8000-8100", out), 0);
	ck_assert_str_eq(out, "22,443,8000-8100");
	ck_assert_int_eq(access_ports_parse("00022,1-65535", out), 0);
	ck_assert_str_eq(out, "22,1-65535");
	ck_assert_int_eq(access_ports_parse("", out), -EINVAL);
	ck_assert_int_eq(access_ports_parse("0", out), -EINVAL);
	ck_assert_int_eq(access_ports_parse("65536", out), -EINVAL);
	ck_assert_int_eq(access_ports_parse("100-99", out), -EINVAL);
	ck_assert_int_eq(access_ports_parse("22,", out), -EINVAL);
	ck_assert_int_eq(access_ports_parse(" 22", out), -EINVAL);
	ck_assert_int_eq(access_ports_parse("1-2-3", out), -EINVAL);
	ck_assert_int_eq(access_ports_parse("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
					    "28,29,30,31,32,33", out), -EINVAL);
	o = json_loads("{\"cidr\":\"10.1.0.0/24\"}", 0, NULL);
	ck_assert_int_eq(access_dest_parse(o, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(d.proto, KW_PROTO_ANY);
	ck_assert_str_eq(d.ports, "");
	json_decref(o);
	o = json_loads("{\"cidr\":\"10.1.0.0/24\",\"extra\":1}", 0, NULL);
	ck_assert_int_eq(access_dest_parse(o, &d, err, sizeof(err)), -EINVAL);
	json_decref(o);
	o = json_loads("{\"cidr\":\"10.1.0.1/24\"}", 0, NULL);
	ck_assert_int_eq(access_dest_parse(o, &d, err, sizeof(err)), -EINVAL);
	json_decref(o);
	o = json_loads("{\"cidr\":\"fd00::/64\",\"protocol\":\"udp\",\"ports\":\"53\"}", 0, NULL);
	ck_assert_int_eq(access_dest_parse(o, &d, err, sizeof(err)), 0);
	json_decref(o);
	o = json_loads("{\"cidr\":\"fd00::/64\",\"protocol\":\"any\",\"ports\":\"53\"}", 0, NULL);
	ck_assert_int_eq(access_dest_parse(o, &d, err, sizeof(err)), -EINVAL);
	json_decref(o);
}
END_TEST

/* A policy's group named relative to the VPN group's DN is want. */
static void assert_group_dn(const char *group, const char *vpn_group, const char *want)
{
	char *dn = NULL;
	int ret = sync_group_dn(group, vpn_group, &dn);

	check_str_answer(ret, dn, want);
}

START_TEST(test_group_dn)
{
	char *dn = NULL;

	assert_group_dn("eng", "cn=vpn,ou=groups,dc=example,dc=com", "cn=eng,ou=groups,dc=example,dc=com");
	assert_group_dn("a,b", "cn=v\\,pn,ou=g,dc=x", "cn=a\\,b,ou=g,dc=x");
	assert_group_dn("cn=ops,dc=x", "cn=vpn,dc=y", "cn=ops,dc=x");
	ck_assert_int_eq(sync_group_dn("eng", "cn=vpn", &dn), -EINVAL);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_migration_of_an_install_without_sites,
		test_ports_and_destinations,
		test_group_dn,
		test_site_crud_and_conflicts,
		test_device_config_one_peer_per_site_with_candidates,
		test_policies_narrow_and_enforce,
		test_gateway_health_timeout,
		test_cache_follows_changes,
		test_conf_routes_overlap_warned,
	};

	return CHECK_RUN_TESTS("server_sites", setup, teardown, 60, tests);
}
