/*
 * Verification of a signed config envelope before anything is applied, and the plain
 * struct the rest of the agent works on. A config is accepted only when:
 *   - it is signed by the pinned controller key (common/envelope.h),
 *   - its device_id is ours,
 *   - its version is greater than the one applied (no rollback),
 *   - its expires_at is in the future,
 *   - and its payload is well formed.
 * Pure: no I/O, the clock is a parameter, so tests call it directly.
 */
#ifndef KW_AGENT_VERIFY_H
#define KW_AGENT_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "key.h"

#define AGENT_MAX_ADDRESSES 16
#define AGENT_MAX_ALLOWED 256
#define AGENT_MAX_PEERS 100000

struct agent_peer {
	uint8_t public_key[KW_KEY_LEN];
	char endpoint[256]; /* "host:port", "[v6]:port", or "" for none */
	uint16_t persistent_keepalive;
	size_t n_allowed;
	struct kw_cidr *allowed; /* owned */
	/* Who the peer is, when the controller says so (a gateway's peers): labels for the
	 * metrics only, never used to configure anything. "" / NULL when not given. */
	char device_id[24];
	char *username; /* owned */
};

struct agent_config {
	uint64_t version;
	char device_id[64];
	int64_t issued_at;
	int64_t expires_at;
	size_t n_addresses;
	struct kw_cidr addresses[AGENT_MAX_ADDRESSES];
	int mtu;          /* 0: leave as is */
	int listen_port;  /* -1: none given (a laptop); gateways carry theirs */
	size_t n_peers;
	struct agent_peer *peers; /* owned, sorted by public key */
};

/* Why a config was refused; stable names for log lines and tests. */
enum verify_result {
	VERIFY_OK = 0,
	VERIFY_MALFORMED,     /* not an envelope, or a payload we cannot use */
	VERIFY_FOREIGN_KEY,   /* key_id is not the pinned key's */
	VERIFY_BAD_SIGNATURE, /* signature does not match the bytes */
	VERIFY_WRONG_DEVICE,  /* device_id is not ours */
	VERIFY_ROLLBACK,      /* version not greater than applied */
	VERIFY_EXPIRED,       /* expires_at not in the future */
};

const char *verify_result_name(enum verify_result r);

struct verify_params {
	const uint8_t *signing_pk; /* pinned, 32 bytes */
	const char *device_id;     /* ours */
	uint64_t min_version;      /* accept only version >= min_version */
	int64_t now;               /* unix seconds */
};

/*
 * Verify envelope; on VERIFY_OK *out is a new config (agent_config_free). On any other
 * result *out is NULL and nothing should change.
 */
enum verify_result verify_envelope(const json_t *envelope, const struct verify_params *p,
				   struct agent_config **out);
/* The same, and on VERIFY_OK also the verified payload object (a new reference, or
 * NULL when payload is NULL), for what struct agent_config does not hold (the access
 * policy of a gateway's peers, agent/gateway_policy.h). */
enum verify_result verify_envelope_payload(const json_t *envelope, const struct verify_params *p,
					   struct agent_config **out, json_t **payload);

/* Parse an already-verified payload. 0, -EINVAL or -ENOMEM. Exposed for tests. */
int agent_config_from_json(const json_t *payload, struct agent_config **out);
void agent_config_free(struct agent_config *cfg);

/* Peers are kept sorted by key; find one, or NULL. */
const struct agent_peer *agent_config_find_peer(const struct agent_config *cfg,
						 const uint8_t key[KW_KEY_LEN]);
/* True when two peers would be configured identically. */
bool agent_peer_equal(const struct agent_peer *a, const struct agent_peer *b);

/*
 * A signed suspension or revocation. The controller's 403 device_suspended and 401
 * device_revoked answers carry the same envelope as a config (same key,
 * common/envelope.h) inside their error object, as "signed_state" (the error object
 * keeps its shape, so clients that read only code and message are unaffected):
 *
 *   {"error": {"code": "device_suspended", "message": "…",
 *              "signed_state": {"payload": "<base64>", "signature": "<base64>",
 *                               "key_id": "<16 hex>"}}}
 *
 * whose payload is exactly one JSON object with these three members (others ignored):
 *
 *   {"device_id": 42, "state": "suspended", "version": 17}
 *
 *   device_id  the device, as in its configs (integer; a string is accepted too)
 *   state      "suspended" or "revoked"
 *   version    an integer from the same sequence as the device's config versions and
 *              above every config version the device was sent before the change; the
 *              config sent after a restore carries a version above it.
 *
 * The agent acts on one only when it verifies against the pinned key, names this device
 * and carries a version above the last config version it accepted. Anything else (no
 * signed_state, a forged or foreign signature, another device, an old version) counts as
 * "controller unreachable": the tunnel stays as it is and the agent asks again.
 */
enum agent_device_state {
	AGENT_DEVICE_SUSPENDED,
	AGENT_DEVICE_REVOKED,
};

struct agent_state_change {
	enum agent_device_state state;
	uint64_t version;
};

/* Verify the "signed_state" envelope of a 401/403 answer; p->min_version is the lowest
 * version taken (last accepted config version + 1). On VERIFY_OK *out is filled. */
enum verify_result verify_state_change(const json_t *envelope, const struct verify_params *p,
				       struct agent_state_change *out);

/*
 * The lowest version a config may carry to be taken:
 *  - while the tunnel is up: above the running version, or the running version again
 *    when asking for a fresh expiry (refreshing);
 *  - while it is down: the last version again (expired, then renewed), never an older one;
 *  - and always above the version of a verified suspension or revocation, so a replayed
 *    config that is still within its lifetime cannot bring the tunnel back.
 */
uint64_t verify_min_config_version(bool up, bool refreshing, uint64_t version,
				   uint64_t denied_version);

#endif
