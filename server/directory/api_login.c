/*
 * POST /api/v1/login, POST /api/v1/logout, and the LDAP half of self-enrollment.
 *
 * Every attempt is an audit row (a success through store_session_create, the rest through
 * store_audit_add), except refusals by the limiter: one row per key per minute, with their
 * number. Each attempt counts against the folded username and the client address (IPv6 by
 * /64) before the directory is asked, and past the limit the answer is 429 with Retry-After. The
 * password goes to ldap.c and nowhere else: never a log line, never an audit row.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "http/request.h"
#include "core/conf.h"
#include "core/metrics.h"
#include "directory_int.h"
#include "directory.h"
#include "log.h"
#include "login_key.h"
#include "store/store.h"
#include "core/token.h"

#define USERNAME_JSON_MAX 4096 /* longer is 400; up to this, the directory simply finds nobody */

static void audit_attempt(struct kw_req *req, const char *username, const char *outcome, const char *detail)
{
	char actor[KW_STORE_NAME_MAX], object[KW_STORE_NAME_MAX];

	/* The attempted name may be hostile: bounded, and stored as a bound parameter. */
	snprintf(actor, sizeof(actor), "user:%.200s", username);
	snprintf(object, sizeof(object), "%.200s", username);
	if (store_audit_add(req->srv->store, req->now, actor, "login", object, outcome, detail) < 0)
		log_error("login: audit row failed");
}

static int too_many(struct kw_req *req, json_t **out, int64_t retry_after)
{
	char v[32];

	snprintf(v, sizeof(v), "%" PRId64, retry_after);
	if (req_add_header(req, "Retry-After", v) < 0)
		log_warn("login: cannot add Retry-After");
	return api_error(out, 429, "too_many_attempts", "too many failed logins; retry in %" PRId64 " s", retry_after);
}

/* One audit row per limiter key per interval for refused attempts, with their number: a
 * flood of refused logins cannot grow the database. */
#define LOGIN_REFUSED_AUDIT_INTERVAL 60

static void audit_refused(struct kw_req *req, struct kw_ratelimit *rl, const char *key, const char *username,
			  const char *what)
{
	char detail[128];
	uint64_t n;

	metrics_login_rate_limited();
	if (!ratelimit_note_refused(rl, key, req->now, LOGIN_REFUSED_AUDIT_INTERVAL, &n))
		return;
	snprintf(detail, sizeof(detail), "%s: %" PRIu64 " attempts refused (one row per key per %d s)", what, n,
		 LOGIN_REFUSED_AUDIT_INTERVAL);
	audit_attempt(req, username, "rate_limited", detail);
}

/* What the limiter counted for one attempt, to give back what did not fail. */
struct login_take {
	struct kwl_module *m;
	int64_t now;
	char ukey[KW_LDAP_USERNAME_MAX + 8];  /* the typed name, folded */
	char ckey[KW_LDAP_USERNAME_MAX + 8];  /* the directory's name, folded, when it differs */
	char akey[96];
	bool canon_taken;
	int64_t retry_after;
};

/* Called with the entry's own name before the bind: count it there too when it folds to
 * another key than the typed name (a directory matching more loosely than the fold). */
static int login_gate(void *arg, const char *canonical)
{
	struct login_take *t = arg;

	login_key_user(canonical, t->ckey, sizeof(t->ckey));
	if (strcmp(t->ckey, t->ukey) == 0)
		return 0;
	if (!ratelimit_take(t->m->rl_user, t->ckey, t->now, &t->retry_after))
		return -1;
	t->canon_taken = true;
	return 0;
}

static void login_refund(struct login_take *t, bool success)
{
	if (success) {
		ratelimit_success(t->m->rl_user, t->ukey);
		if (t->canon_taken)
			ratelimit_success(t->m->rl_user, t->ckey);
	} else {
		ratelimit_refund(t->m->rl_user, t->ukey, t->now);
		if (t->canon_taken)
			ratelimit_refund(t->m->rl_user, t->ckey, t->now);
	}
	ratelimit_refund(t->m->rl_addr, t->akey, t->now);
}

/*
 * The limits, before anything is sent: a failure is counted for the name and the address
 * first (refused at once past either limit), and given back when the attempt did not fail.
 * 0 when the attempt may go on, else 429 with *out.
 */
static int login_limits(struct kw_req *req, struct login_take *t, const char *username, const char *what,
			json_t **out)
{
	int64_t ra = 0;

	login_key_user(username, t->ukey, sizeof(t->ukey));
	login_key_addr(req->client_addr, t->akey, sizeof(t->akey));
	if (!ratelimit_take(t->m->rl_user, t->ukey, req->now, &ra)) {
		audit_refused(req, t->m->rl_user, t->ukey, username, what);
		return too_many(req, out, ra);
	}
	if (!ratelimit_take(t->m->rl_addr, t->akey, req->now, &ra)) {
		ratelimit_refund(t->m->rl_user, t->ukey, req->now);
		audit_refused(req, t->m->rl_addr, t->akey, username, what);
		return too_many(req, out, ra);
	}
	return 0;
}

/*
 * The common part of login and self-enrollment: limits, directory, audit of failures.
 * Returns 0 with *lg filled, or an HTTP status with *out set.
 */
static int authenticate(struct kw_req *req, const char *username, const char *password, size_t password_len,
			const char *what, struct kw_ldap_login *lg, json_t **out)
{
	struct kwl_module *m = req->srv->dir;
	struct login_take t = { .m = m, .now = req->now };
	struct kwl_gen *g;
	int r, st;

	if (!m)
		return api_error(out, 400, "ldap_not_configured", "this server has no [ldap] section");
	if (!username[0])
		return api_error(out, 400, "invalid_field", "field 'username' must not be empty");
	if (password_len == 0) {
		/* Refused before any bind: an empty password would be an anonymous bind. */
		audit_attempt(req, username, "denied", "empty password");
		metrics_login_failure(METRICS_LOGIN_EMPTY_PASSWORD);
		return api_error(out, 400, "empty_password", "field 'password' must not be empty");
	}
	if ((st = login_limits(req, &t, username, what, out)))
		return st;
	g = kwl_gen_get(m); /* a SIGHUP may swap the settings meanwhile: this login keeps its own */
	r = ldap_dir_login_gated(g->dir, username, password, password_len, login_gate, &t, lg);
	kwl_gen_put(g);
	switch (r) {
	case 0:
		break;
	case -EAGAIN:
		login_refund(&t, false);
		audit_refused(req, m->rl_user, t.ckey, username, what);
		return too_many(req, out, t.retry_after);
	case -EACCES:
	case -EINVAL:
		/* Counted before the attempt: the failure stays. */
		audit_attempt(req, username, "denied", "invalid credentials");
		metrics_login_failure(METRICS_LOGIN_INVALID_CREDENTIALS);
		log_info("login: denied user=\"%.64s\" addr=%s for=%s", username, req->client_addr, what);
		return api_error(out, 401, "invalid_credentials", "invalid username or password");
	case -EHOSTUNREACH:
	case -ETIMEDOUT:
		login_refund(&t, false);
		audit_attempt(req, username, "error", "directory unreachable");
		metrics_directory_error(METRICS_DIR_LOGIN);
		return api_error(out, 503, "ldap_unavailable", "the directory cannot be reached; try again later");
	default:
		login_refund(&t, false);
		audit_attempt(req, username, "error", "directory error");
		metrics_directory_error(METRICS_DIR_LOGIN);
		return api_error(out, 503, "ldap_error", "the directory answered with an error");
	}
	login_refund(&t, true);
	if (lg->disabled) {
		char d[64];

		snprintf(d, sizeof(d), "account disabled (%s)", ldap_disabled_name(lg->disabled));
		audit_attempt(req, lg->username, "denied", d);
		metrics_login_failure(METRICS_LOGIN_ACCOUNT_DISABLED);
		return api_error(out, 403, "account_disabled", "this account is disabled in the directory");
	}
	return 0;
}

/* The password as jansson holds it, with its real length (a \u0000 inside is refused). */
static int get_password(json_t *in, const char **pw, size_t *len, json_t **out)
{
	json_t *p = json_object_get(in, "password");

	if (!p)
		return api_error(out, 400, "missing_field", "field 'password' is required");
	if (!json_is_string(p))
		return api_error(out, 400, "invalid_field", "field 'password' must be a string");
	*pw = json_string_value(p);
	*len = json_string_length(p);
	if (strlen(*pw) != *len || *len > 1024)
		return api_error(out, 400, "invalid_field", "field 'password' is not a valid password");
	return 0;
}

static void cookie_header(char *buf, size_t len, const struct kw_req *req, const char *token, int64_t max_age)
{
	const struct kw_conf *conf = server_conf(req->srv);
	bool tls = conf && conf->tls_cert[0];

	if (token)
		snprintf(buf, len, "kw_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%" PRId64 "%s", token,
			 max_age, tls ? "; Secure" : "");
	else
		snprintf(buf, len, "kw_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s", tls ? "; Secure" : "");
}

int api_login_post(struct kw_req *req, json_t *in, json_t **out)
{
	struct kwl_module *m = req->srv->dir;
	struct kw_ldap_login lg;
	char token[KW_TOKEN_TEXT_MAX], csrf[KW_TOKEN_TEXT_MAX], cookie[KW_TOKEN_TEXT_MAX + 128];
	uint8_t token_hash[KW_TOKEN_HASH_BYTES], csrf_hash[KW_TOKEN_HASH_BYTES];
	const char *username = NULL, *password = NULL;
	size_t pwlen = 0;
	int64_t expires_at, id, lifetime;
	struct kwl_gen *g;
	int st, r;

	if ((st = json_get_label(in, "username", true, USERNAME_JSON_MAX, &username, out)) ||
	    (st = get_password(in, &password, &pwlen, out)))
		return st;
	st = authenticate(req, username, password, pwlen, "login", &lg, out);
	if (st)
		return st;

	g = kwl_gen_get(m);
	lifetime = g->cfg.session_lifetime;
	kwl_gen_put(g);
	expires_at = req->now + lifetime;
	token_new(token, KW_TOKEN_PREFIX_SESSION, token_hash);
	token_new(csrf, KW_TOKEN_PREFIX_CSRF, csrf_hash);
	r = store_session_create(req->srv->store, token_hash, lg.username, lg.is_admin ? KW_SESSION_ADMIN : KW_SESSION_USER,
				 csrf_hash, expires_at, req->now, &id);
	if (r < 0) {
		st = api_error_errno(out, r, "session");
		goto out;
	}
	cookie_header(cookie, sizeof(cookie), req, token, lifetime);
	if (req_add_header(req, "Set-Cookie", cookie) < 0 || req_add_header(req, "Cache-Control", "no-store") < 0) {
		st = api_error(out, 500, "internal_error", "internal error");
		goto out;
	}
	*out = json_pack("{s:s, s:I, s:s, s:s, s:s, s:b}", "token", token, "expires_at", (json_int_t)expires_at, "role",
			 lg.is_admin ? "admin" : "user", "csrf_token", csrf, "username", lg.username, "vpn_member",
			 lg.in_vpn_group);
	st = *out ? 200 : api_error(out, 500, "internal_error", "internal error");
	log_info("login: ok user=%s role=%s addr=%s", lg.username, lg.is_admin ? "admin" : "user", req->client_addr);
out:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(csrf, sizeof(csrf));
	sodium_memzero(cookie, sizeof(cookie));
	return st;
}

int api_logout_post(struct kw_req *req, json_t *in, json_t **out)
{
	char cookie[128];
	int r;

	(void)in;
	if (req->principal.kind != KW_PRINCIPAL_SESSION)
		return api_error(out, 400, "not_a_session", "only a login session can log out");
	r = store_session_delete(req->srv->store, req->principal.id, req->principal.actor, req->now);
	if (r < 0 && r != -ENOENT)
		return api_error_errno(out, r, "session");
	cookie_header(cookie, sizeof(cookie), req, NULL, 0);
	if (req_add_header(req, "Set-Cookie", cookie) < 0)
		log_warn("logout: cannot clear the cookie");
	*out = NULL;
	return 204;
}

int kwl_enroll_check(struct kw_req *req, const char *username, const char *password, int *max_devices, json_t **out)
{
	struct kw_ldap_login lg;
	int st;

	*max_devices = 0;
	st = authenticate(req, username, password, strlen(password), "enroll", &lg, out);
	if (st)
		return st;
	if (!lg.in_vpn_group) {
		audit_attempt(req, lg.username, "denied", "enroll: not in the VPN group");
		return api_error(out, 403, "not_in_vpn_group", "you are not a member of the VPN group");
	}
	if (strcmp(lg.username, username)) {
		/* Devices are filed under the directory's spelling; the caller files them under
		 * the typed one, so the two must agree (else limits and sync would split). */
		audit_attempt(req, username, "denied", "enroll: username spelling differs from the directory");
		return api_error(out, 400, "username_spelling", "use the username exactly as the directory has it: %s",
				 lg.username);
	}
	*max_devices = kwl_max_devices(req->srv);
	return 0;
}

int kwl_session_enroll_check(struct kw_req *req, json_t **out)
{
	struct kwl_module *m = req->srv->dir;
	struct kw_ldap_user_fact f = { .username = req->principal.username };
	struct kwl_gen *g;
	char err[256] = "";
	int r;

	if (!m)
		return 0;
	/* A session outlives a group change: ask the directory again before a new device. */
	g = kwl_gen_get(m);
	r = ldap_dir_check_users(g->dir, &f, 1, NULL, err, sizeof(err));
	kwl_gen_put(g);
	ldap_user_facts_release(&f, 1);
	if (r == -ENODATA || (r == 0 && f.presence != KW_LDAP_USER_FOUND))
		return api_error(out, 403, "not_in_vpn_group", "your directory entry cannot be found");
	if (r == -EHOSTUNREACH || r == -ETIMEDOUT || (r < 0 && r != -ENODATA))
		metrics_directory_error(METRICS_DIR_SESSION);
	if (r == -EHOSTUNREACH || r == -ETIMEDOUT)
		return api_error(out, 503, "ldap_unavailable", "the directory cannot be reached; try again later");
	if (r < 0) {
		log_warn("enroll: directory check failed user=%s error=\"%s\"", f.username, err);
		return api_error(out, 503, "ldap_error", "the directory check failed");
	}
	if (f.disabled)
		return api_error(out, 403, "account_disabled", "this account is disabled in the directory");
	if (!f.in_vpn_group)
		return api_error(out, 403, "not_in_vpn_group", "you are not a member of the VPN group");
	return 0;
}
