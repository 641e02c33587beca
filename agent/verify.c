#include "config.h"
#include "verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

const char *verify_result_name(enum verify_result r)
{
	switch (r) {
	case VERIFY_OK: return "ok";
	case VERIFY_MALFORMED: return "malformed";
	case VERIFY_FOREIGN_KEY: return "foreign_key";
	case VERIFY_BAD_SIGNATURE: return "bad_signature";
	case VERIFY_WRONG_DEVICE: return "wrong_device";
	case VERIFY_ROLLBACK: return "rollback";
	case VERIFY_EXPIRED: return "expired";
	}
	return "unknown";
}

/* device_id may be a JSON integer or string; both compare as text. */
static int id_to_text(const json_t *v, char *out, size_t cap)
{
	int n;

	if (json_is_integer(v))
		n = snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v))
		n = snprintf(out, cap, "%s", json_string_value(v));
	else
		return -EINVAL;
	if (n <= 0 || (size_t)n >= cap)
		return -EINVAL;
	return 0;
}

static int parse_cidr_list(const json_t *arr, struct kw_cidr *out, size_t max, size_t *n)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > max)
		return -EINVAL;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || cidr_parse(&out[i], json_string_value(v)) < 0)
			return -EINVAL;
		cidr_mask(&out[i]);
	}
	*n = json_array_size(arr);
	return 0;
}

static int peer_cmp(const void *a, const void *b)
{
	return memcmp(((const struct agent_peer *)a)->public_key,
		      ((const struct agent_peer *)b)->public_key, KW_KEY_LEN);
}

static int parse_peer(const json_t *jp, struct agent_peer *p)
{
	const json_t *ep, *ka, *allowed;
	const char *pk;

	if (!json_is_object(jp))
		return -EINVAL;
	pk = json_string_value(json_object_get(jp, "public_key"));
	if (!pk || key_from_base64(p->public_key, pk) < 0)
		return -EINVAL;
	ep = json_object_get(jp, "endpoint");
	if (json_is_string(ep)) {
		if (strlen(json_string_value(ep)) >= sizeof(p->endpoint))
			return -EINVAL;
		strcpy(p->endpoint, json_string_value(ep));
	} else if (ep && !json_is_null(ep)) {
		return -EINVAL;
	}
	ka = json_object_get(jp, "persistent_keepalive");
	if (json_is_integer(ka)) {
		if (json_integer_value(ka) < 0 || json_integer_value(ka) > 65535)
			return -EINVAL;
		p->persistent_keepalive = (uint16_t)json_integer_value(ka);
	} else if (ka && !json_is_null(ka)) {
		return -EINVAL;
	}
	/* Optional, for display: a peer's device id and username (a gateway's config). */
	if (id_to_text(json_object_get(jp, "device_id"), p->device_id, sizeof(p->device_id)) < 0)
		p->device_id[0] = '\0';
	if (json_is_string(json_object_get(jp, "username"))) {
		p->username = strdup(json_string_value(json_object_get(jp, "username")));
		if (!p->username)
			return -ENOMEM;
	}
	allowed = json_object_get(jp, "allowed_ips");
	if (!json_is_array(allowed) || json_array_size(allowed) > AGENT_MAX_ALLOWED)
		return -EINVAL;
	p->allowed = calloc(json_array_size(allowed) + 1, sizeof(*p->allowed));
	if (!p->allowed)
		return -ENOMEM;
	return parse_cidr_list(allowed, p->allowed, AGENT_MAX_ALLOWED, &p->n_allowed);
}

int agent_config_from_json(const json_t *payload, struct agent_config **out)
{
	struct agent_config *cfg;
	const json_t *v, *iface, *peers;
	size_t i;
	int ret = -EINVAL;

	*out = NULL;
	if (!json_is_object(payload))
		return -EINVAL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->listen_port = -1;
	v = json_object_get(payload, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		goto out;
	cfg->version = (uint64_t)json_integer_value(v);
	if (id_to_text(json_object_get(payload, "device_id"), cfg->device_id,
		       sizeof(cfg->device_id)) < 0)
		goto out;
	v = json_object_get(payload, "issued_at");
	cfg->issued_at = json_is_integer(v) ? json_integer_value(v) : 0;
	v = json_object_get(payload, "expires_at");
	if (!json_is_integer(v))
		goto out;
	cfg->expires_at = json_integer_value(v);
	iface = json_object_get(payload, "interface");
	if (!json_is_object(iface))
		goto out;
	if (parse_cidr_list(json_object_get(iface, "addresses"), cfg->addresses,
			    AGENT_MAX_ADDRESSES, &cfg->n_addresses) < 0)
		goto out;
	v = json_object_get(iface, "mtu");
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 576 || json_integer_value(v) > 65535)
			goto out;
		cfg->mtu = (int)json_integer_value(v);
	}
	v = json_object_get(iface, "listen_port");
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > 65535)
			goto out;
		cfg->listen_port = (int)json_integer_value(v);
	}
	peers = json_object_get(payload, "peers");
	if (!json_is_array(peers) || json_array_size(peers) > AGENT_MAX_PEERS)
		goto out;
	cfg->peers = calloc(json_array_size(peers) + 1, sizeof(*cfg->peers));
	if (!cfg->peers) {
		ret = -ENOMEM;
		goto out;
	}
	json_array_foreach(peers, i, v) {
		cfg->n_peers = i + 1;
		ret = parse_peer(v, &cfg->peers[i]);
		if (ret < 0)
			goto out;
	}
	qsort(cfg->peers, cfg->n_peers, sizeof(*cfg->peers), peer_cmp);
	for (i = 1; i < cfg->n_peers; i++) {
		if (peer_cmp(&cfg->peers[i - 1], &cfg->peers[i]) == 0) {
			ret = -EINVAL; /* the same key twice: ambiguous */
			goto out;
		}
	}
	*out = cfg;
	cfg = NULL;
	ret = 0;
out:
	agent_config_free(cfg);
	return ret;
}

void agent_config_free(struct agent_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n_peers; i++) {
		free(cfg->peers[i].allowed);
		free(cfg->peers[i].username);
	}
	free(cfg->peers);
	free(cfg);
}

const struct agent_peer *agent_config_find_peer(const struct agent_config *cfg,
						 const uint8_t key[KW_KEY_LEN])
{
	struct agent_peer probe;

	if (!cfg || cfg->n_peers == 0)
		return NULL;
	memcpy(probe.public_key, key, KW_KEY_LEN);
	return bsearch(&probe, cfg->peers, cfg->n_peers, sizeof(*cfg->peers), peer_cmp);
}

bool agent_peer_equal(const struct agent_peer *a, const struct agent_peer *b)
{
	size_t i;

	if (memcmp(a->public_key, b->public_key, KW_KEY_LEN) != 0 ||
	    strcmp(a->endpoint, b->endpoint) != 0 ||
	    a->persistent_keepalive != b->persistent_keepalive || a->n_allowed != b->n_allowed)
		return false;
	for (i = 0; i < a->n_allowed; i++) {
		if (a->allowed[i].family != b->allowed[i].family ||
		    a->allowed[i].prefix != b->allowed[i].prefix ||
		    memcmp(a->allowed[i].addr, b->allowed[i].addr, 16) != 0)
			return false;
	}
	return true;
}

/* Check the envelope's signature against the pinned key; *payload a new reference on OK. */
static enum verify_result verify_signature(const json_t *envelope, const uint8_t *pk, json_t **payload)
{
	int ret = envelope_verify(envelope, pk, payload);

	if (ret == -EKEYREJECTED)
		return VERIFY_FOREIGN_KEY;
	if (ret == -EBADMSG)
		return VERIFY_BAD_SIGNATURE;
	return ret < 0 ? VERIFY_MALFORMED : VERIFY_OK;
}

enum verify_result verify_envelope_payload(const json_t *envelope, const struct verify_params *p,
					   struct agent_config **out, json_t **payload_out)
{
	struct agent_config *cfg = NULL;
	json_t *payload = NULL;
	enum verify_result r;
	int ret;

	*out = NULL;
	if (payload_out)
		*payload_out = NULL;
	r = verify_signature(envelope, p->signing_pk, &payload);
	if (r != VERIFY_OK)
		return r;
	ret = agent_config_from_json(payload, &cfg);
	if (ret < 0) {
		json_decref(payload);
		return VERIFY_MALFORMED;
	}
	if (strcmp(cfg->device_id, p->device_id) != 0)
		r = VERIFY_WRONG_DEVICE;
	else if (cfg->version < p->min_version)
		r = VERIFY_ROLLBACK;
	else if (cfg->expires_at <= p->now)
		r = VERIFY_EXPIRED;
	else
		r = VERIFY_OK;
	if (r == VERIFY_OK) {
		*out = cfg;
		if (payload_out) {
			*payload_out = payload;
			payload = NULL;
		}
	} else {
		agent_config_free(cfg);
	}
	json_decref(payload);
	return r;
}

enum verify_result verify_envelope(const json_t *envelope, const struct verify_params *p,
				   struct agent_config **out)
{
	return verify_envelope_payload(envelope, p, out, NULL);
}

enum verify_result verify_state_change(const json_t *envelope, const struct verify_params *p,
				       struct agent_state_change *out)
{
	char id[64];
	json_t *payload = NULL;
	const json_t *v;
	const char *state;
	enum verify_result r;

	r = verify_signature(envelope, p->signing_pk, &payload);
	if (r != VERIFY_OK)
		return r;
	r = VERIFY_MALFORMED;
	state = json_string_value(json_object_get(payload, "state"));
	v = json_object_get(payload, "version");
	if (!state || !json_is_integer(v) || json_integer_value(v) < 0 ||
	    id_to_text(json_object_get(payload, "device_id"), id, sizeof(id)) < 0)
		goto out;
	if (strcmp(state, "suspended") == 0)
		out->state = AGENT_DEVICE_SUSPENDED;
	else if (strcmp(state, "revoked") == 0)
		out->state = AGENT_DEVICE_REVOKED;
	else
		goto out;
	out->version = (uint64_t)json_integer_value(v);
	if (strcmp(id, p->device_id) != 0)
		r = VERIFY_WRONG_DEVICE;
	else if (out->version < p->min_version)
		r = VERIFY_ROLLBACK;
	else
		r = VERIFY_OK;
out:
	json_decref(payload);
	return r;
}

uint64_t verify_min_config_version(bool up, bool refreshing, uint64_t version,
				   uint64_t denied_version)
{
	uint64_t min = up && !refreshing ? version + 1 : version;

	if (denied_version > 0 && min <= denied_version)
		min = denied_version + 1;
	return min;
}
