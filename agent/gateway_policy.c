/*
 * The gateway agent's access policy in nftables: when to load, replace and remove
 * (gateway_policy.h). Parsing is policy.c's, the ruleset nft.c's.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway_policy.h"
#include "log.h"

static int nft_ops_apply(const struct policy_set *set, const char *ifname,
			 struct nft_state **state, char *err, size_t errlen, struct nft_stats *stats)
{
	return nft_apply(set, ifname, false, state, err, errlen, stats);
}

const struct gwpol_ops gwpol_nft_ops = {
	.apply = nft_ops_apply,
	.remove = nft_remove,
};

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* nftables' messages span lines and quote things: one log field needs neither. */
static void flatten(char *s)
{
	for (; s && *s; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
		else if (*s == '"')
			*s = '\'';
	}
}

void gwpol_init(struct gwpol *g, const char *ifname, const struct gwpol_ops *ops, long refresh_ms)
{
	memset(g, 0, sizeof(*g));
	g->ops = ops;
	g->refresh_ms = refresh_ms;
	snprintf(g->ifname, sizeof(g->ifname), "%s", ifname);
}

void gwpol_free(struct gwpol *g)
{
	nft_state_free(g->nft);
	g->nft = NULL;
	policy_set_free(g->ps);
	g->ps = NULL;
	g->loaded = false;
}

bool gwpol_is_gateway(const json_t *payload)
{
	const json_t *role = json_object_get(payload, "role");

	if (role)
		return json_is_string(role) && strcmp(json_string_value(role), "gateway") == 0;
	return json_is_integer(json_object_get(json_object_get(payload, "interface"), "listen_port"));
}

void gwpol_start(struct gwpol *g, const json_t *saved_payload)
{
	char err[512] = "";
	int ret;

	if (!saved_payload || !gwpol_is_gateway(saved_payload))
		return;
	ret = g->ops->remove(g->ifname, err, sizeof(err));
	flatten(err);
	if (ret < 0)
		log_warn("event=policy_remove_failed reason=start interface=%s error=\"%s\"", g->ifname,
			 err[0] ? err : strerror(-ret));
	else
		log_info("event=policy_cleared reason=start interface=%s", g->ifname);
}

void gwpol_remove(struct gwpol *g, const char *why)
{
	char err[512] = "";
	int ret;

	if (!g->loaded)
		return;
	ret = g->ops->remove(g->ifname, err, sizeof(err));
	flatten(err);
	if (ret < 0) {
		/* still believed loaded: the next teardown or the stop tries again */
		log_warn("event=policy_remove_failed reason=%s interface=%s error=\"%s\"", why, g->ifname,
			 err[0] ? err : strerror(-ret));
		return;
	}
	log_info("event=policy_removed reason=%s interface=%s version=%" PRIu64, why, g->ifname,
		 g->version);
	gwpol_free(g);
}

/* Load ps (a new version's, or the one in force again). 0 or the apply's error. */
static int gwpol_load(struct gwpol *g, const struct policy_set *ps, uint64_t version,
		      const char *why, char *err, size_t errlen)
{
	struct nft_stats st = { 0 };
	double t0 = mono_ms();
	int ret = g->ops->apply(ps, g->ifname, &g->nft, err, errlen, &st);

	flatten(err);
	if (ret < 0)
		return ret;
	g->loaded_at_ms = mono_ms();
	if (strcmp(why, "refresh") != 0 || !st.incremental)
		log_info("event=policy_applied reason=%s version=%" PRIu64 " interface=%s filters=%s "
			 "elements=%zu changed=%zu transaction=%s ms=%.1f",
			 why, version, g->ifname, ps->filters ? "yes" : "no", st.elements, st.changed,
			 !ps->filters ? "remove" : st.incremental ? "difference" : "whole-table",
			 mono_ms() - t0);
	return 0;
}

int gwpol_apply(struct gwpol *g, const json_t *payload, uint64_t version, char *err,
		size_t errlen)
{
	struct policy_set *ps = NULL;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!gwpol_is_gateway(payload)) {
		gwpol_remove(g, "not_a_gateway"); /* a table only while the role says gateway */
		return 0;
	}
	ret = policy_set_from_json(payload, &ps);
	if (ret < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", ret == -ENOMEM ? "out of memory" : "malformed access");
		return ret;
	}
	if (!ps->filters && !g->loaded) { /* nothing to filter, nothing loaded: no nftables */
		policy_set_free(ps);
		return 0;
	}
	ret = gwpol_load(g, ps, version, "config", err, errlen);
	if (ret < 0) {
		policy_set_free(ps);
		return ret;
	}
	policy_set_free(g->ps);
	g->ps = NULL;
	g->version = version;
	if (ps->filters) {
		g->ps = ps;
		g->loaded = true;
	} else { /* the apply removed the table */
		policy_set_free(ps);
		gwpol_free(g);
	}
	return 0;
}

void gwpol_refresh(struct gwpol *g)
{
	char err[512] = "";
	int ret;

	if (!g->loaded || !g->ps || mono_ms() - g->loaded_at_ms < (double)g->refresh_ms)
		return;
	ret = gwpol_load(g, g->ps, g->version, "refresh", err, sizeof(err));
	if (ret < 0)
		log_warn("event=policy_refresh_failed version=%" PRIu64 " interface=%s error=\"%s\"",
			 g->version, g->ifname, err[0] ? err : strerror(-ret));
}
