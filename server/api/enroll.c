/*
 * POST /api/v1/enroll: a new device or gateway with its public key. Credential, one of:
 * {"token"} an enrollment token; {"username","password"} checked by the LDAP module;
 * or a user session (self-service enrollment from the web console).
 */
#include "config.h"

#include <errno.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_json.h"
#include "core/conf.h"
#include "core/metrics.h"
#include "directory/directory.h"
#include "core/signer.h"
#include "store/store.h"
#include "core/token.h"
#include "core/wgconf.h"

static bool endpoint_ok(const char *ep, int *port)
{
	const char *colon = strrchr(ep, ':');
	char *end;
	long v;

	if (!colon || colon == ep)
		return false;
	for (const char *p = ep; p < colon; p++)
		if (*p <= ' ' || *p == '/' || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
			return false;
	if (ep[0] == '[' && colon[-1] != ']')
		return false;
	v = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || v < 1 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

static int enroll_post(struct kw_req *req, json_t *in, json_t **out)
{
	struct kw_enroll_params p = { .now = req->now };
	uint8_t key[32], tok_hash[KW_TOKEN_HASH_BYTES], dev_hash[KW_TOKEN_HASH_BYTES];
	char dev_token[KW_TOKEN_TEXT_MAX] = "", actor[KW_NAME_MAX + 16];
	const char *token, *username, *password, *pub, *hostname, *endpoint;
	struct kw_device d;
	int64_t listen_port = 0;
	char *env_text = NULL;
	size_t env_len = 0;
	json_t *env;
	int st, ret, ep_port = 0, max_devices = 0;

	if ((st = json_get_string(in, "token", false, 128, &token, out)) ||
	    (st = json_get_label(in, "username", false, 255, &username, out)) ||
	    (st = json_get_string(in, "password", false, 1024, &password, out)) ||
	    (st = json_get_wg_key(in, "public_key", true, &pub, key, out)) ||
	    (st = json_get_label(in, "hostname", false, 253, &hostname, out)) ||
	    (st = json_get_string(in, "endpoint", false, 255, &endpoint, out)) ||
	    (st = json_get_int(in, "listen_port", false, 1, 65535, &listen_port, out)))
		return st;
	if (endpoint && !endpoint_ok(endpoint, &ep_port))
		return api_error(out, 400, "invalid_field", "field 'endpoint' must be \"host:port\"");

	if (token) {
		token_hash(token, tok_hash);
		p.token_hash = tok_hash;
		actor[0] = '\0'; /* the store names the token: "enrollment-token:ID" */
	} else if (username || password) {
		if (!username || !password)
			return api_error(out, 400, "missing_field", "fields 'username' and 'password' go together");
		st = directory_enroll_check(req, username, password, &max_devices, out);
		if (st)
			return st;
		p.ldap_username = username;
		p.max_devices = max_devices;
		p.max_per_hour = server_conf(req->srv)->user_enrollments_per_hour;
		snprintf(actor, sizeof(actor), "user:%s", username);
	} else if (req->principal.kind == KW_PRINCIPAL_SESSION) {
		if ((st = directory_session_enroll_check(req, out)))
			return st;
		p.ldap_username = req->principal.username;
		p.max_devices = directory_max_devices(req->srv);
		p.max_per_hour = server_conf(req->srv)->user_enrollments_per_hour;
		snprintf(actor, sizeof(actor), "%s", req->principal.actor);
	} else {
		return api_error(out, 401, "missing_credential",
				 "enroll needs an enrollment token, a username and password, or a login session");
	}
	p.ldap_role = KW_DEV_DEVICE;
	p.public_key = pub;
	p.hostname = hostname ? hostname : "";
	p.endpoint = endpoint;
	p.listen_port = listen_port ? (int)listen_port : ep_port ? ep_port : server_conf(req->srv)->gateway_port;
	p.actor = actor;
	token_new(dev_token, KW_TOKEN_PREFIX_DEVICE, dev_hash);
	p.device_token_hash = dev_hash;

	ret = store_enroll(req->srv->store, &p, &d);
	switch (ret) {
	case 0:
		break;
	case -EACCES:
		st = api_error(out, 401, "invalid_enrollment_token",
			       "the enrollment token is unknown, expired, used up or revoked");
		goto out;
	case -EEXIST:
		st = api_error(out, 409, "public_key_in_use", "this public key is already enrolled");
		goto out;
	case -EDQUOT:
		st = api_error(out, 409, "device_limit",
			       "the user already has the maximum number of devices (revoked ones count while their "
			       "address is in quarantine)");
		goto out;
	case -EAGAIN:
		(void)req_add_header(req, "Retry-After", "3600");
		st = api_error(out, 429, "enroll_rate_limited", "too many enrollments for this user in the last hour");
		goto out;
	default:
		st = api_error_errno(out, ret, "device");
		goto out;
	}
	ret = wgconf_envelope(req->srv, &d, req->now, &env_text, &env_len);
	env = ret == 0 ? json_loadb(env_text, env_len, 0, NULL) : NULL;
	free(env_text);
	if (!env) {
		/* Enrolled; the agent fetches the config with its token. */
		env = json_null();
	}
	*out = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "device_id", (json_int_t)d.id, "device_token",
			 dev_token, "address", d.address, "role", store_role_name(d.role), "username", d.username,
			 "config", env, "signing_key", req->srv->signer->pk_b64, "key_id", req->srv->signer->key_id);
	if (*out && d.address6[0])
		json_object_set_new(*out, "address6", json_string(d.address6));
	st = *out ? 201 : api_error(out, 500, "internal_error", "out of memory");
out:
	sodium_memzero(dev_token, sizeof(dev_token));
	sodium_memzero(tok_hash, sizeof(tok_hash));
	return st;
}

int api_enroll_post(struct kw_req *req, json_t *in, json_t **out)
{
	int st = enroll_post(req, in, out);

	metrics_enroll_status(st);
	return st;
}
