/*
 * `keyway-agent run`: the one event loop. It waits on the config long-poll (curl multi)
 * and a signalfd together; everything else (verify, apply, persist) happens here in
 * order, so there is no locking. The data plane runs its own threads (agent/wg/).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "envelope.h"
#include "fetch.h"
#include "gateway_policy.h"
#include "log.h"
#include "metrics.h"
#include "privdrop.h"
#include "rotate.h"
#include "state.h"
#include "tunnel.h"
#include "verify.h"

enum run_state {
	RUN_CONNECTING, /* no usable config yet */
	RUN_UP,
	RUN_SUSPENDED, /* 403 device_suspended: tunnel down, keys kept, asking again */
	RUN_REVOKED,
	RUN_EXPIRED, /* the last good config expired before a new one came */
	RUN_STOPPED,
};

static const char *const run_state_names[] = { "connecting", "up", "suspended", "revoked",
					       "expired", "stopped" };

struct runner {
	struct agent_state st;
	struct fetch_opts fo;
	char ifname[IFNAMSIZ];
	const char *uapi_dir;
	uint8_t priv[KW_KEY_LEN];
	struct tunnel tun;
	struct gwpol gp;          /* a gateway's access policy in nftables */
	struct agent_config *cur; /* applied; NULL while the tunnel is down */
	uint64_t version;         /* highest version accepted: never go below it */
	uint64_t denied_version;  /* of the last verified suspension/revocation, 0: none */
	enum run_state state;
	unsigned failures;  /* consecutive failed polls (backoff) */
	unsigned suspended_polls;
	int64_t next_poll_ms;
	int64_t nudge_ms; /* when to look for unanswered handshakes (0: not needed) */
	unsigned nudges;
	bool refreshing; /* the poll in flight asks for the running version again */
	int64_t last_contact;
	char last_error[160];
	/* options */
	int wait_s;
	long backoff_base_ms, backoff_max_ms, suspend_max_ms, revoked_ms;
	long rotate_days;
	long policy_check_ms; /* a gateway's table checked at most this often (gwpol_refresh) */
	const char *metrics_listen; /* NULL: no metrics listener */
	struct metrics *metrics;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void runner_save_status(struct runner *r)
{
	json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "state",
			      run_state_names[r->state], "pid", (json_int_t)getpid(), "interface",
			      r->ifname, "uapi_dir", r->uapi_dir ? r->uapi_dir : "/var/run/wireguard",
			      "server", r->st.server, "version", (json_int_t)r->version,
			      "expires_at", (json_int_t)(r->cur ? r->cur->expires_at : 0),
			      "last_contact", (json_int_t)r->last_contact, "last_error",
			      r->last_error);
	int ret;

	metrics_publish(r->metrics, run_state_names[r->state], r->version, r->cur);
	if (!j)
		return;
	ret = state_status_save(r->st.dir, j);
	if (ret < 0)
		log_warn("event=status_write_failed error=\"%s\"", strerror(-ret));
	json_decref(j);
}

static void runner_set_state(struct runner *r, enum run_state s, const char *why)
{
	if (r->state != s)
		log_info("event=state from=%s to=%s reason=%s", run_state_names[r->state],
			 run_state_names[s], why);
	r->state = s;
	runner_save_status(r);
}

/* The tunnel down, then a gateway's policy table (after the peers: no device is ever
 * there without its restrictions). why names the cause in the policy's log line. */
static void runner_teardown(struct runner *r, const char *why)
{
	int ret;

	if (r->cur || r->tun.up) {
		ret = tunnel_down(&r->tun, r->cur);
		if (ret < 0)
			log_warn("event=teardown_incomplete error=\"%s\"", strerror(-ret));
		agent_config_free(r->cur);
		r->cur = NULL;
		log_info("event=tunnel_down interface=%s", r->ifname);
	}
	gwpol_remove(&r->gp, why);
}

/* A verified config: apply the difference and persist it as the last good one. */
static void runner_accept(struct runner *r, struct agent_config *cfg, const json_t *env)
{
	struct apply_stats s = { 0 };
	int ret;

	ret = tunnel_apply(&r->tun, r->cur, cfg, &s);
	if (ret < 0)
		log_warn("event=apply_incomplete version=%" PRIu64 " error=\"%s\"", cfg->version,
			 strerror(-ret));
	log_info("event=config_applied version=%" PRIu64 " peers=%zu added=%zu changed=%zu "
		 "removed=%zu kept=%zu expires_at=%" PRId64,
		 cfg->version, cfg->n_peers, s.peers_added, s.peers_changed, s.peers_removed,
		 s.peers_kept, cfg->expires_at);
	if (s.peers_added > 0 || !r->cur) {
		r->nudge_ms = now_ms() + 1000;
		r->nudges = 0;
	}
	agent_config_free(r->cur);
	r->cur = cfg;
	r->version = cfg->version;
	if (env) {
		ret = state_config_save(r->st.dir, env);
		if (ret < 0)
			log_warn("event=config_persist_failed error=\"%s\"", strerror(-ret));
	}
	r->last_error[0] = '\0';
	runner_set_state(r, RUN_UP, "config");
}

static void runner_schedule(struct runner *r, long delay_ms)
{
	r->next_poll_ms = now_ms() + delay_ms;
}

static void runner_fail(struct runner *r, const char *what)
{
	long d = fetch_backoff_ms(r->failures, r->backoff_base_ms, r->backoff_max_ms);

	r->failures++;
	snprintf(r->last_error, sizeof(r->last_error), "%s", what);
	log_warn("event=poll_failed error=\"%s\" attempt=%u retry_ms=%ld", what, r->failures, d);
	runner_schedule(r, d);
	runner_save_status(r);
}

/*
 * A verified config's access policy, before its peers (gateway_policy.h). 0, or it
 * failed: logged, counted as a failed poll, and the caller applies nothing of the
 * config (the running one, and its table, stay).
 */
static int runner_policy(struct runner *r, const json_t *payload, uint64_t version)
{
	char err[512], what[160];
	int ret = gwpol_apply(&r->gp, payload, version, err, sizeof(err));

	if (ret == 0)
		return 0;
	if (ret == -EINVAL || ret == -E2BIG) {
		log_warn("event=config_rejected reason=bad_access version=%" PRIu64
			 " applied_version=%" PRIu64 " error=\"%s\" action=keep_running",
			 version, r->version, err);
		snprintf(what, sizeof(what), "config rejected: bad_access (%.100s)", err);
	} else {
		log_warn("event=policy_apply_failed version=%" PRIu64 " applied_version=%" PRIu64
			 " error=\"%s\" action=keep_running",
			 version, r->version, err[0] ? err : strerror(-ret));
		snprintf(what, sizeof(what), "access policy not applied: %.100s",
			 err[0] ? err : strerror(-ret));
	}
	runner_fail(r, what);
	return ret;
}

static void runner_on_config(struct runner *r, const json_t *env)
{
	struct agent_config *cfg = NULL;
	json_t *payload = NULL;
	struct verify_params vp = {
		.signing_pk = r->st.signing_pk,
		.device_id = r->st.device_id,
		.min_version = verify_min_config_version(r->cur != NULL, r->refreshing, r->version,
							 r->denied_version),
		.now = time(NULL),
	};
	enum verify_result vr = verify_envelope_payload(env, &vp, &cfg, &payload);
	int ret;

	if (vr != VERIFY_OK) {
		char what[96];

		log_warn("event=config_rejected reason=%s applied_version=%" PRIu64
			 " action=keep_running",
			 verify_result_name(vr), r->version);
		snprintf(what, sizeof(what), "config rejected: %s", verify_result_name(vr));
		runner_fail(r, what);
		return;
	}
	ret = runner_policy(r, payload, cfg->version);
	json_decref(payload);
	if (ret < 0) {
		agent_config_free(cfg);
		return;
	}
	r->failures = 0;
	r->suspended_polls = 0;
	if (r->cur && cfg->version == r->version) {
		/* A re-signed copy of the running version: only its lifetime may be new. */
		bool later = cfg->expires_at > r->cur->expires_at;

		if (later) {
			log_info("event=config_refreshed version=%" PRIu64 " expires_at=%" PRId64,
				 cfg->version, cfg->expires_at);
			runner_accept(r, cfg, env);
		} else {
			agent_config_free(cfg);
		}
		r->refreshing = false;
		runner_schedule(r, later ? 0 : 30000);
		return;
	}
	runner_accept(r, cfg, env);
	runner_schedule(r, 0);
}

/*
 * The controller answers a long-poll only for a newer version, so a config that does
 * not change would run out. Past 60% of its lifetime, ask for the current version
 * again (after = version - 1): the controller re-signs it with a fresh expiry.
 */
static bool runner_wants_refresh(const struct runner *r)
{
	int64_t life;

	if (!r->cur || r->version == 0)
		return false;
	life = r->cur->expires_at - r->cur->issued_at;
	if (r->cur->issued_at <= 0 || life <= 0)
		return r->cur->expires_at - time(NULL) < 600; /* no issue time: the last 10 min */
	return time(NULL) >= r->cur->issued_at + life * 6 / 10;
}

/* Act on a verified suspension or revocation: the tunnel goes down, keys stay, and no
 * config at or below its version is taken again (verify_min_config_version). */
static void runner_deny(struct runner *r, const struct agent_state_change *c)
{
	bool revoked = c->state == AGENT_DEVICE_REVOKED;

	r->failures = 0;
	r->denied_version = c->version;
	runner_teardown(r, revoked ? "revoked" : "suspended");
	snprintf(r->last_error, sizeof(r->last_error), "device %s by the controller (version %" PRIu64 ")",
		 revoked ? "revoked" : "suspended", c->version);
	runner_set_state(r, revoked ? RUN_REVOKED : RUN_SUSPENDED,
			 revoked ? "device_revoked" : "device_suspended");
	if (revoked)
		runner_schedule(r, r->revoked_ms);
	else
		runner_schedule(r, fetch_backoff_ms(r->suspended_polls++, 1000, r->suspend_max_ms));
}

/*
 * 401/403/404/410. Only an answer carrying a signed_state that verifies (verify.h) takes
 * the tunnel down: anyone on the path (a proxy, a fake controller behind --insecure-http)
 * can send a status code, so an unsigned one is handled like an unreachable controller.
 */
static void runner_on_denied(struct runner *r, long status, const json_t *reply)
{
	struct agent_state_change c;
	struct verify_params vp = { .signing_pk = r->st.signing_pk, .device_id = r->st.device_id,
				    .min_version = r->version + 1, .now = time(NULL) };
	const json_t *env = json_object_get(json_object_get(reply, "error"), "signed_state");
	enum verify_result vr = env ? verify_state_change(env, &vp, &c) : VERIFY_MALFORMED;
	char what[160];
	int ret;

	if (vr != VERIFY_OK) {
		log_warn("event=unverified_denial status=%ld code=%s reason=%s applied_version=%" PRIu64
			 " action=keep_running",
			 status, fetch_error_code(reply), env ? verify_result_name(vr) : "unsigned",
			 r->version);
		snprintf(what, sizeof(what), "unverified HTTP %ld %s (%s): treated as unreachable",
			 status, fetch_error_code(reply), env ? verify_result_name(vr) : "unsigned");
		runner_fail(r, what);
		return;
	}
	log_info("event=verified_denial state=%s version=%" PRIu64,
		 c.state == AGENT_DEVICE_REVOKED ? "revoked" : "suspended", c.version);
	ret = state_denial_save(r->st.dir, env);
	if (ret < 0)
		log_warn("event=denial_persist_failed error=\"%s\"", strerror(-ret));
	runner_deny(r, &c);
}

static void runner_on_answer(struct runner *r, long status, const json_t *reply, int err,
			     long retry_after_s)
{
	const char *code = fetch_error_code(reply);
	char what[160];

	if (err < 0) {
		snprintf(what, sizeof(what), "%s", strerror(-err));
		runner_fail(r, what);
		return;
	}
	r->last_contact = time(NULL);
	if (r->failures) {
		/* Back on the controller after failed polls: say so, and let `status` show it. */
		log_info("event=poll_resumed after_failures=%u", r->failures);
		runner_save_status(r);
	}
	if (status == 200) {
		runner_on_config(r, reply);
	} else if (status == 304) {
		r->failures = 0;
		gwpol_refresh(&r->gp); /* brings the table back after a firewall reload */
		runner_schedule(r, 0);
	} else if (status == 401 || status == 403 || status == 404 || status == 410) {
		runner_on_denied(r, status, reply);
	} else {
		snprintf(what, sizeof(what), "HTTP %ld %s", status, code);
		runner_fail(r, what);
		/* A busy controller (503 + Retry-After) is not asked again sooner than it says. */
		if (retry_after_s > 0 && r->next_poll_ms < now_ms() + retry_after_s * 1000)
			runner_schedule(r, retry_after_s * 1000);
	}
}

static void runner_check_expiry(struct runner *r)
{
	if (r->cur && r->cur->expires_at <= time(NULL)) {
		log_warn("event=config_expired version=%" PRIu64 " action=tunnel_down", r->version);
		runner_teardown(r, "expired");
		snprintf(r->last_error, sizeof(r->last_error), "config expired");
		runner_set_state(r, RUN_EXPIRED, "expired");
	}
}

/* SIGHUP: re-read the state directory (token, key) and ask again at once. */
static void runner_reload(struct runner *r, struct fetch_poll *poll)
{
	struct agent_state st = r->st;
	uint8_t priv[KW_KEY_LEN];
	int ret;

	log_info("event=reload");
	ret = state_load(&st);
	if (ret == 0) {
		state_clear(&r->st);
		r->st = st;
	} else {
		log_warn("event=reload_state_failed error=\"%s\"", strerror(-ret));
	}
	sodium_memzero(&st, sizeof(st));
	ret = state_private_key_load(r->st.dir, "private.key", priv);
	if (ret == 0 && sodium_memcmp(priv, r->priv, KW_KEY_LEN) != 0) {
		ret = tunnel_set_private_key(&r->tun, priv);
		if (ret == 0) {
			memcpy(r->priv, priv, KW_KEY_LEN);
			log_info("event=private_key_switched");
			r->nudge_ms = now_ms() + 1000;
			r->nudges = 0;
		} else {
			log_error("event=private_key_switch_failed error=\"%s\"", strerror(-ret));
		}
	} else if (ret < 0) {
		log_warn("event=reload_key_failed error=\"%s\"", strerror(-ret));
	}
	sodium_memzero(priv, sizeof(priv));
	fetch_poll_cancel(poll);
	r->failures = 0;
	runner_schedule(r, 0);
}

static void runner_maybe_nudge(struct runner *r)
{
	if (!r->nudge_ms || now_ms() < r->nudge_ms)
		return;
	if (!r->cur || tunnel_nudge(&r->tun, r->cur) == 0 || ++r->nudges >= 8)
		r->nudge_ms = 0;
	else
		r->nudge_ms = now_ms() + 1000;
}

static int runner_switch_key(void *ctx)
{
	struct runner *r = ctx;
	uint8_t priv[KW_KEY_LEN];
	int ret = state_private_key_load(r->st.dir, "private.key", priv);

	if (ret == 0)
		ret = tunnel_set_private_key(&r->tun, priv);
	if (ret == 0) {
		memcpy(r->priv, priv, KW_KEY_LEN);
		r->nudge_ms = now_ms() + 1000;
		r->nudges = 0;
	}
	sodium_memzero(priv, sizeof(priv));
	return ret;
}

static void runner_maybe_rotate(struct runner *r)
{
	char path[PATH_MAX];
	struct stat sb;
	uint8_t priv[KW_KEY_LEN];
	bool gateway;

	if (r->rotate_days <= 0 || r->state != RUN_UP)
		return;
	if (state_path(path, r->st.dir, "private.key") < 0 || stat(path, &sb) < 0)
		return;
	if (time(NULL) - sb.st_mtime < r->rotate_days * 86400)
		return;
	gateway = r->cur && r->cur->listen_port >= 0;
	if (rotate_perform(&r->st, gateway, runner_switch_key, r, priv) < 0) {
		(void)utimensat(AT_FDCWD, path, NULL, 0); /* do not retry in a tight loop */
		return;
	}
	sodium_memzero(priv, sizeof(priv));
	if (!gateway) {
		struct timespec ts = { 0, 100 * 1000000L };

		nanosleep(&ts, NULL); /* let the gateways take the new key first */
		(void)runner_switch_key(r);
	}
}

/* A suspension or revocation verified before a restart still holds. */
static void runner_load_denial(struct runner *r)
{
	struct verify_params vp = { .signing_pk = r->st.signing_pk, .device_id = r->st.device_id,
				    .min_version = 0, .now = time(NULL) };
	struct agent_state_change c;
	json_t *env = NULL;

	if (state_denial_load(r->st.dir, &env) < 0)
		return;
	if (verify_state_change(env, &vp, &c) == VERIFY_OK) {
		r->denied_version = c.version;
		r->state = c.state == AGENT_DEVICE_REVOKED ? RUN_REVOKED : RUN_SUSPENDED;
		log_info("event=last_denial state=%s version=%" PRIu64, run_state_names[r->state],
			 c.version);
	}
	json_decref(env);
}

/* The last good config brings the tunnel back while the controller is away, unless a
 * verified suspension or revocation came after it. */
static void runner_load_last_config(struct runner *r)
{
	struct verify_params vp = {
		.signing_pk = r->st.signing_pk, .device_id = r->st.device_id,
		.min_version = verify_min_config_version(false, false, 0, r->denied_version),
		.now = time(NULL),
	};
	struct agent_config *cfg = NULL;
	enum verify_result vr;
	json_t *env = NULL, *payload = NULL;

	if (state_config_load(r->st.dir, &env) < 0)
		return;
	/* A gateway's table left by an earlier run goes first, whatever this config is worth
	 * now (expired, superseded by a denial): the signature alone says it was ours. */
	if (envelope_verify(env, r->st.signing_pk, &payload) == 0)
		gwpol_start(&r->gp, payload);
	json_decref(payload);
	payload = NULL;
	vr = verify_envelope_payload(env, &vp, &cfg, &payload);
	if (vr == VERIFY_OK && runner_policy(r, payload, cfg->version) < 0) {
		agent_config_free(cfg); /* the controller is asked for a config as usual */
	} else if (vr == VERIFY_OK) {
		log_info("event=last_good_config version=%" PRIu64, cfg->version);
		runner_accept(r, cfg, NULL);
	} else {
		log_warn("event=last_good_config_unusable reason=%s", verify_result_name(vr));
		if (vr == VERIFY_EXPIRED)
			runner_set_state(r, RUN_EXPIRED, "expired");
	}
	json_decref(payload);
	json_decref(env);
}

static int runner_start_tunnel(struct runner *r)
{
	int ret;

	ret = tunnel_create(&r->tun, r->ifname, r->priv);
	if (ret < 0) {
		agent_errorf("cannot create interface %s: %s", r->ifname, strerror(-ret));
		return ret;
	}
	/* The interface exists: from here on only CAP_NET_ADMIN is needed. */
	ret = privdrop_keep_net_admin();
	if (ret < 0) {
		agent_errorf("cannot drop privileges: %s", strerror(-ret));
		return ret;
	}
	log_info("event=privileges_dropped kept=CAP_NET_ADMIN");
	ret = tunnel_start(&r->tun, r->uapi_dir);
	if (ret < 0) {
		agent_errorf("cannot start the data plane on %s: %s", r->ifname, strerror(-ret));
		return ret;
	}
	runner_load_denial(r);
	runner_load_last_config(r);
	return 0;
}

static const char usage_run[] =
	"usage: keyway-agent run [--state DIR] [--interface NAME] [--uapi-dir DIR]\n"
	"                        [--wait S] [--backoff-max S] [--suspended-max S]\n"
	"                        [--rotate-days N] [--policy-check S] [--log-level LEVEL]\n"
	"                        [--metrics-listen ADDR:PORT]  (Prometheus, e.g. 127.0.0.1:9586)\n";

/* Defaults, then the options. CLI_CONTINUE or the exit status. */
static int run_parse(int argc, char **argv, struct runner *r)
{
	const char *ifname = NULL, *level = NULL;
	long wait_s = 55, backoff_max_s = 60, suspend_max_s = 30;
	long policy_check_s = GWPOL_REFRESH_MS / 1000;
	const struct cli_opt opts[] = {
		{ "interface", CLI_STRING, &ifname, 0, 0, 0 },
		{ "uapi-dir", CLI_STRING, &r->uapi_dir, 0, 0, 0 },
		{ "wait", CLI_LONG, &wait_s, 0, 1, 60 },
		{ "backoff-max", CLI_LONG, &backoff_max_s, 0, 1, 86400 },
		{ "suspended-max", CLI_LONG, &suspend_max_s, 0, 1, 30 },
		{ "rotate-days", CLI_LONG, &r->rotate_days, 0, 0, 3650 },
		{ "policy-check", CLI_LONG, &policy_check_s, 0, 1, 3600 },
		{ "log-level", CLI_STRING, &level, 0, 0, 0 },
		{ "metrics-listen", CLI_STRING, &r->metrics_listen, 0, 0, 0 },
	};
	int rc;

	rc = cli_parse(argc, argv, usage_run, opts, sizeof(opts) / sizeof(opts[0]), r->st.dir);
	if (rc != CLI_CONTINUE)
		return rc;
	if (ifname && strlen(ifname) >= sizeof(r->ifname)) {
		agent_errorf("--interface: name too long: %s", ifname);
		return 2;
	}
	strcpy(r->ifname, ifname ? ifname : "keyway0");
	if (r->metrics_listen) {
		struct sockaddr_storage ss;
		bool v6;

		if (metrics_listen_parse(r->metrics_listen, &ss, &v6) < 0) {
			agent_errorf("--metrics-listen: '%s' is not a numeric ADDR:PORT or [V6ADDR]:PORT",
				     r->metrics_listen);
			return 2;
		}
	}
	if (level && log_set_level_name(level) < 0) {
		agent_errorf("--log-level: unknown log level %s", level);
		return 2;
	}
	r->wait_s = (int)wait_s;
	r->backoff_base_ms = 500;
	r->backoff_max_ms = backoff_max_s * 1000;
	r->suspend_max_ms = suspend_max_s * 1000;
	r->policy_check_ms = policy_check_s * 1000;
	r->revoked_ms = 300000;
	return CLI_CONTINUE;
}

/* Signals arrive on a descriptor the loop waits on. Blocked before any thread exists
 * (the data plane's), so only the signalfd sees them. */
static int run_signalfd(void)
{
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		agent_errorf("signalfd: %s", strerror(errno));
	return sfd;
}

/* Start a poll when one is due and none is in flight. */
static void runner_poll_start(struct runner *r, struct fetch_poll *poll)
{
	uint64_t after = r->cur ? r->version : 0;
	int ret;

	if (fetch_poll_busy(poll) || now_ms() < r->next_poll_ms)
		return;
	r->refreshing = runner_wants_refresh(r);
	if (r->refreshing)
		after = r->version - 1;
	ret = fetch_poll_start(poll, &r->fo, r->st.device_id, r->st.device_token, after, r->wait_s);
	if (ret < 0)
		runner_fail(r, strerror(-ret));
}

/* The event loop, until SIGTERM or SIGINT. */
static void runner_loop(struct runner *r, struct fetch_poll *poll, int sfd)
{
	bool stop = false;

	while (!stop) {
		struct signalfd_siginfo si;
		bool sig_ready = false;
		json_t *reply = NULL;
		long status = 0;
		int err = 0, timeout, ret;

		runner_check_expiry(r);
		runner_maybe_rotate(r);
		runner_maybe_nudge(r);
		runner_poll_start(r, poll);
		timeout = fetch_poll_busy(poll) ? 1000 : (int)(r->next_poll_ms - now_ms());
		if (timeout > 250)
			timeout = 250; /* wake up now and then: expiry, handshake nudges */
		if (timeout < 0)
			timeout = 0;
		ret = fetch_poll_wait(poll, sfd, timeout, &sig_ready, &status, &reply, &err);
		if (ret == 1)
			runner_on_answer(r, status, reply, err, fetch_poll_retry_after(poll));
		json_decref(reply);
		while (sig_ready && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				runner_reload(r, poll);
			} else {
				log_info("event=stopping signal=%u", si.ssi_signo);
				stop = true;
			}
		}
	}
}

int cmd_run(int argc, char **argv)
{
	struct runner *r;
	struct fetch_poll *poll = NULL;
	int sfd = -1, ret, rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		return 1;
	/* 1. Options. */
	rc = run_parse(argc, argv, r);
	if (rc != CLI_CONTINUE)
		goto out;
	gwpol_init(&r->gp, r->ifname, &gwpol_nft_ops, r->policy_check_ms);
	rc = 1;
	/* 2. Signals, before any thread. */
	sfd = run_signalfd();
	if (sfd < 0)
		goto out;
	/* 3. The enrollment. */
	if (cli_state_load(&r->st) < 0)
		goto out;
	ret = state_private_key_load(r->st.dir, "private.key", r->priv);
	if (ret < 0) {
		agent_errorf("cannot use %s/private.key: %s", r->st.dir, strerror(-ret));
		goto out;
	}
	r->fo = (struct fetch_opts){ .server = r->st.server, .ca_file = r->st.ca_file,
				     .insecure_http = r->st.insecure_http };
	/* 4. The tunnel, privileges dropped, the last good config. */
	if (fetch_poll_new(&poll) < 0 || runner_start_tunnel(r) < 0)
		goto out;
	if (r->metrics_listen) {
		ret = metrics_start(&r->metrics, r->metrics_listen, run_state_names,
				    sizeof(run_state_names) / sizeof(run_state_names[0]),
				    tunnel_metrics_peers, &r->tun);
		if (ret < 0) {
			agent_errorf("--metrics-listen %s: %s", r->metrics_listen,
				     ret == -EINVAL ? "not a numeric ADDR:PORT or [V6]:PORT" : strerror(-ret));
			goto out;
		}
		log_info("event=metrics_listening address=%s", r->metrics_listen);
	}
	log_info("event=started device_id=%s interface=%s server=%s version=%" PRIu64,
		 r->st.device_id, r->ifname, r->st.server, r->version);
	runner_save_status(r);
	runner_schedule(r, 0);
	/* 5. Follow the controller until told to stop. */
	runner_loop(r, poll, sfd);
	rc = 0;
out:
	fetch_poll_free(poll);
	metrics_stop(r->metrics); /* before the device goes: it reads the device's peers */
	r->metrics = NULL;
	if (r->tun.dev) {
		runner_teardown(r, "stop");
		tunnel_close(&r->tun);
		if (rc == 0) {
			if (r->state != RUN_REVOKED)
				r->state = RUN_STOPPED;
			runner_save_status(r);
		}
	}
	if (sfd >= 0)
		close(sfd);
	agent_config_free(r->cur);
	gwpol_free(&r->gp);
	sodium_memzero(r->priv, sizeof(r->priv));
	state_clear(&r->st);
	free(r);
	return rc;
}
