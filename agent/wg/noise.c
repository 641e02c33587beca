/* Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s exactly as the WireGuard whitepaper
 * section 5.4 lays it out. Every intermediate secret is zeroed on the way out. */
#include "config.h"

#include "noise.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "aead.h"
#include "blake2s.h"

static const char noise_construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char noise_identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

static uint8_t noise_initial_chaining_key[NOISE_HASH_LEN];
static uint8_t noise_initial_hash[NOISE_HASH_LEN];
static _Atomic int noise_initialized;

void noise_init(void)
{
	struct blake2s_state s;

	if (atomic_load(&noise_initialized))
		return;
	blake2s(noise_initial_chaining_key, NOISE_HASH_LEN, (const uint8_t *)noise_construction,
		strlen(noise_construction), NULL, 0);
	blake2s_init(&s, NOISE_HASH_LEN, NULL, 0);
	blake2s_update(&s, noise_initial_chaining_key, NOISE_HASH_LEN);
	blake2s_update(&s, (const uint8_t *)noise_identifier, strlen(noise_identifier));
	blake2s_final(&s, noise_initial_hash);
	atomic_store(&noise_initialized, 1);
}

static void mix_hash(uint8_t hash[NOISE_HASH_LEN], const uint8_t *in, size_t len)
{
	struct blake2s_state s;

	blake2s_init(&s, NOISE_HASH_LEN, NULL, 0);
	blake2s_update(&s, hash, NOISE_HASH_LEN);
	blake2s_update(&s, in, len);
	blake2s_final(&s, hash);
}

/* ck, key = KDF2(ck, DH(priv, pub)); false on an all-zero shared secret. */
static bool mix_dh(uint8_t ck[NOISE_HASH_LEN], uint8_t *key, const uint8_t priv[32],
		   const uint8_t pub[32])
{
	uint8_t dh[32];

	if (crypto_scalarmult(dh, priv, pub) != 0)
		return false;
	blake2s_kdf(ck, key, NULL, ck, NOISE_HASH_LEN, dh, sizeof(dh));
	sodium_memzero(dh, sizeof(dh));
	return true;
}

static void mix_precomputed(uint8_t ck[NOISE_HASH_LEN], uint8_t key[32], const uint8_t ss[32])
{
	blake2s_kdf(ck, key, NULL, ck, NOISE_HASH_LEN, ss, 32);
}

static void mix_psk(uint8_t ck[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN], uint8_t key[32],
		    const uint8_t psk[32])
{
	uint8_t tau[32];

	blake2s_kdf(ck, tau, key, ck, NOISE_HASH_LEN, psk, 32);
	mix_hash(hash, tau, sizeof(tau));
	sodium_memzero(tau, sizeof(tau));
}

static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

/* out = AEAD(key, 0, in, hash); hash = HASH(hash || out). */
static void seal_and_hash(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32],
			  uint8_t hash[NOISE_HASH_LEN])
{
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, hash, NOISE_HASH_LEN, NULL,
						  zero_nonce, key);
	mix_hash(hash, out, len + NOISE_AUTHTAG_LEN);
}

static bool open_and_hash(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32],
			  uint8_t hash[NOISE_HASH_LEN])
{
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, hash,
						      NOISE_HASH_LEN, zero_nonce, key) != 0)
		return false;
	mix_hash(hash, in, len);
	return true;
}

void noise_local_set(struct noise_local *local, const uint8_t *private_key)
{
	if (!private_key || sodium_is_zero(private_key, NOISE_PUBLIC_KEY_LEN)) {
		sodium_memzero(local, sizeof(*local));
		return;
	}
	memcpy(local->private_key, private_key, NOISE_PUBLIC_KEY_LEN);
	/* Clamp as the kernel and wireguard-go do, so `wg` shows the same key. */
	local->private_key[0] &= 248;
	local->private_key[31] = (local->private_key[31] & 127) | 64;
	crypto_scalarmult_base(local->public_key, local->private_key);
	local->has_identity = true;
}

bool noise_handshake_precompute(struct noise_handshake *hs, const struct noise_local *local)
{
	if (!local->has_identity ||
	    crypto_scalarmult(hs->precomputed_static_static, local->private_key,
			      hs->remote_static) != 0) {
		sodium_memzero(hs->precomputed_static_static, 32);
		return false;
	}
	return true;
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	sodium_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	sodium_memzero(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	sodium_memzero(hs->hash, sizeof(hs->hash));
	sodium_memzero(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->state = NOISE_ZEROED;
}

void noise_tai64n(uint8_t out[NOISE_TIMESTAMP_LEN], int64_t sec, long nsec)
{
	uint64_t s = 0x400000000000000aULL + (uint64_t)sec;
	uint32_t n = (uint32_t)nsec & ~0xFFFFFFu;
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(s >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(n >> (24 - 8 * i));
}

int noise_create_initiation(struct noise_handshake *hs, const struct noise_local *local,
			    struct msg_initiation *msg, uint32_t local_index,
			    const uint8_t timestamp[NOISE_TIMESTAMP_LEN])
{
	uint8_t key[32], e_pub[32];
	int ret = -EINVAL;

	if (!local->has_identity || sodium_is_zero(hs->precomputed_static_static, 32))
		goto out;
	memcpy(hs->chaining_key, noise_initial_chaining_key, NOISE_HASH_LEN);
	memcpy(hs->hash, noise_initial_hash, NOISE_HASH_LEN);
	mix_hash(hs->hash, hs->remote_static, NOISE_PUBLIC_KEY_LEN);

	memset(msg, 0, sizeof(*msg));
	le32_write(&msg->type, MSG_INITIATION);
	le32_write(&msg->sender_index, local_index);

	/* e */
	randombytes_buf(hs->ephemeral_private, 32);
	crypto_scalarmult_base(e_pub, hs->ephemeral_private);
	memcpy(msg->unencrypted_ephemeral, e_pub, 32);
	mix_hash(hs->hash, e_pub, 32);
	blake2s_kdf(hs->chaining_key, NULL, NULL, hs->chaining_key, NOISE_HASH_LEN, e_pub, 32);
	/* es */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, hs->remote_static))
		goto out;
	/* s */
	seal_and_hash(msg->encrypted_static, local->public_key, 32, key, hs->hash);
	/* ss */
	mix_precomputed(hs->chaining_key, key, hs->precomputed_static_static);
	/* {t} */
	seal_and_hash(msg->encrypted_timestamp, timestamp, NOISE_TIMESTAMP_LEN, key, hs->hash);

	hs->local_index = local_index;
	hs->state = NOISE_CREATED_INITIATION;
	ret = 0;
out:
	if (ret)
		noise_handshake_clear(hs);
	sodium_memzero(key, sizeof(key));
	return ret;
}

int noise_consume_initiation_begin(const struct noise_local *local,
				   const struct msg_initiation *msg,
				   struct noise_initiation_scratch *sc)
{
	uint8_t key[32];
	int ret = -EBADMSG;

	if (!local->has_identity)
		return -ENOKEY;
	memcpy(sc->chaining_key, noise_initial_chaining_key, NOISE_HASH_LEN);
	memcpy(sc->hash, noise_initial_hash, NOISE_HASH_LEN);
	mix_hash(sc->hash, local->public_key, 32);
	/* e */
	memcpy(sc->remote_ephemeral, msg->unencrypted_ephemeral, 32);
	mix_hash(sc->hash, sc->remote_ephemeral, 32);
	blake2s_kdf(sc->chaining_key, NULL, NULL, sc->chaining_key, NOISE_HASH_LEN,
		    sc->remote_ephemeral, 32);
	/* es */
	if (!mix_dh(sc->chaining_key, key, local->private_key, sc->remote_ephemeral))
		goto out;
	/* s */
	if (!open_and_hash(sc->remote_static, msg->encrypted_static, sizeof(msg->encrypted_static),
			   key, sc->hash))
		goto out;
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	if (ret)
		sodium_memzero(sc, sizeof(*sc));
	return ret;
}

int noise_consume_initiation_finish(struct noise_handshake *hs, const struct noise_local *local,
				    const struct msg_initiation *msg,
				    struct noise_initiation_scratch *sc, uint64_t now)
{
	uint8_t key[32], t[NOISE_TIMESTAMP_LEN];
	int ret = -EBADMSG;

	if (sodium_is_zero(hs->precomputed_static_static, 32))
		goto out;
	/* ss */
	mix_precomputed(sc->chaining_key, key, hs->precomputed_static_static);
	/* {t} */
	if (!open_and_hash(t, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp), key,
			   sc->hash))
		goto out;
	/* Replay: the TAI64N timestamp must grow (big-endian, so memcmp orders). */
	if (memcmp(t, hs->latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0) {
		ret = -EALREADY;
		goto out;
	}
	/* Flood: at most INITIATIONS_PER_SECOND consumed per peer. */
	if (hs->last_initiation_consumption &&
	    now < hs->last_initiation_consumption + NS_PER_SEC / INITIATIONS_PER_SECOND) {
		ret = -EBUSY;
		goto out;
	}
	(void)local;
	memcpy(hs->remote_ephemeral, sc->remote_ephemeral, 32);
	memcpy(hs->latest_timestamp, t, NOISE_TIMESTAMP_LEN);
	memcpy(hs->hash, sc->hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, sc->chaining_key, NOISE_HASH_LEN);
	sodium_memzero(hs->ephemeral_private, 32);
	hs->remote_index = le32_read(&msg->sender_index);
	hs->last_initiation_consumption = now;
	hs->state = NOISE_CONSUMED_INITIATION;
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(sc, sizeof(*sc));
	return ret;
}

int noise_create_response(struct noise_handshake *hs, struct msg_response *msg,
			  uint32_t local_index)
{
	uint8_t key[32], e_pub[32];
	int ret = -EINVAL;

	if (hs->state != NOISE_CONSUMED_INITIATION)
		goto out;
	memset(msg, 0, sizeof(*msg));
	le32_write(&msg->type, MSG_RESPONSE);
	le32_write(&msg->sender_index, local_index);
	le32_write(&msg->receiver_index, hs->remote_index);
	/* e */
	randombytes_buf(hs->ephemeral_private, 32);
	crypto_scalarmult_base(e_pub, hs->ephemeral_private);
	memcpy(msg->unencrypted_ephemeral, e_pub, 32);
	mix_hash(hs->hash, e_pub, 32);
	blake2s_kdf(hs->chaining_key, NULL, NULL, hs->chaining_key, NOISE_HASH_LEN, e_pub, 32);
	/* ee */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_static))
		goto out;
	/* psk */
	mix_psk(hs->chaining_key, hs->hash, key, hs->preshared_key);
	/* {} */
	seal_and_hash(msg->encrypted_nothing, NULL, 0, key, hs->hash);
	hs->local_index = local_index;
	hs->state = NOISE_CREATED_RESPONSE;
	ret = 0;
out:
	if (ret)
		noise_handshake_clear(hs);
	sodium_memzero(key, sizeof(key));
	return ret;
}

int noise_consume_response(struct noise_handshake *hs, const struct noise_local *local,
			   const struct msg_response *msg)
{
	uint8_t key[32], hash[NOISE_HASH_LEN], ck[NOISE_HASH_LEN], e[32];
	int ret = -EBADMSG;

	if (hs->state != NOISE_CREATED_INITIATION || !local->has_identity)
		return -EINVAL;
	/* Work on copies: a forged response must not disturb the handshake. */
	memcpy(hash, hs->hash, sizeof(hash));
	memcpy(ck, hs->chaining_key, sizeof(ck));
	memcpy(e, msg->unencrypted_ephemeral, 32);
	/* e */
	mix_hash(hash, e, 32);
	blake2s_kdf(ck, NULL, NULL, ck, NOISE_HASH_LEN, e, 32);
	/* ee */
	if (!mix_dh(ck, NULL, hs->ephemeral_private, e))
		goto out;
	/* se */
	if (!mix_dh(ck, NULL, local->private_key, e))
		goto out;
	/* psk */
	mix_psk(ck, hash, key, hs->preshared_key);
	/* {} */
	if (!open_and_hash(NULL, msg->encrypted_nothing, sizeof(msg->encrypted_nothing), key, hash))
		goto out;
	memcpy(hs->remote_ephemeral, e, 32);
	memcpy(hs->hash, hash, sizeof(hash));
	memcpy(hs->chaining_key, ck, sizeof(ck));
	hs->remote_index = le32_read(&msg->sender_index);
	hs->state = NOISE_CONSUMED_RESPONSE;
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(ck, sizeof(ck));
	return ret;
}

int noise_begin_session(struct noise_handshake *hs, struct noise_keypair *kp, uint64_t now)
{
	bool initiator;

	if (hs->state == NOISE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == NOISE_CREATED_RESPONSE)
		initiator = false;
	else
		return -EINVAL;
	memset(kp, 0, sizeof(*kp));
	if (initiator)
		blake2s_kdf(kp->send_key, kp->recv_key, NULL, hs->chaining_key, NOISE_HASH_LEN, NULL, 0);
	else
		blake2s_kdf(kp->recv_key, kp->send_key, NULL, hs->chaining_key, NOISE_HASH_LEN, NULL, 0);
	replay_init(&kp->replay);
	atomic_init(&kp->send_counter, 0);
	atomic_init(&kp->receiving_ok, true);
	atomic_init(&kp->refcount, 1);
	kp->birth = now;
	kp->initiator = initiator;
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	noise_handshake_clear(hs);
	return 0;
}

void noise_encrypt(const struct noise_keypair *kp, uint64_t counter, uint8_t *buf, size_t len)
{
	aead_seal(buf, len, buf + len, counter, kp->send_key);
}

int noise_decrypt(const struct noise_keypair *kp, uint64_t counter, uint8_t *buf, size_t len)
{
	if (len < NOISE_AUTHTAG_LEN)
		return -EBADMSG;
	return aead_open(buf, len - NOISE_AUTHTAG_LEN, buf + len - NOISE_AUTHTAG_LEN, counter,
			 kp->recv_key);
}
