#include "config.h"
#include "envelope.h"
#include "key.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void envelope_key_id(char out[KW_KEY_ID_LEN + 1], const uint8_t pk[KW_SIGN_PK_LEN])
{
	uint8_t digest[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];

	crypto_hash_sha256(digest, pk, KW_SIGN_PK_LEN);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	memcpy(out, hex, KW_KEY_ID_LEN);
	out[KW_KEY_ID_LEN] = '\0';
}

int envelope_sign(const uint8_t sk[KW_SIGN_SK_LEN], const uint8_t pk[KW_SIGN_PK_LEN],
		  const char *payload, size_t payload_len, json_t **out)
{
	uint8_t sig[crypto_sign_BYTES];
	char key_id[KW_KEY_ID_LEN + 1];
	char *payload_b64 = NULL, *sig_b64 = NULL;
	json_t *env = NULL;
	int ret = -ENOMEM;

	*out = NULL;
	crypto_sign_detached(sig, NULL, (const uint8_t *)payload, payload_len, sk);
	envelope_key_id(key_id, pk);
	payload_b64 = b64_encode_dup((const uint8_t *)payload, payload_len);
	sig_b64 = b64_encode_dup(sig, sizeof(sig));
	if (!payload_b64 || !sig_b64)
		goto out;
	env = json_pack("{s:s, s:s, s:s}", "payload", payload_b64, "signature", sig_b64,
			"key_id", key_id);
	if (!env)
		goto out;
	*out = env;
	ret = 0;
out:
	free(payload_b64);
	free(sig_b64);
	return ret;
}

int envelope_verify(const json_t *envelope, const uint8_t pk[KW_SIGN_PK_LEN], json_t **payload)
{
	const char *payload_b64, *sig_b64, *key_id;
	char want_id[KW_KEY_ID_LEN + 1];
	uint8_t *bytes = NULL, *sig = NULL;
	size_t bytes_len = 0, sig_len = 0;
	json_t *parsed;
	int ret;

	*payload = NULL;
	if (!json_is_object(envelope))
		return -EINVAL;
	payload_b64 = json_string_value(json_object_get(envelope, "payload"));
	sig_b64 = json_string_value(json_object_get(envelope, "signature"));
	key_id = json_string_value(json_object_get(envelope, "key_id"));
	if (!payload_b64 || !sig_b64 || !key_id)
		return -EINVAL;
	envelope_key_id(want_id, pk);
	if (strlen(key_id) != KW_KEY_ID_LEN || sodium_memcmp(key_id, want_id, KW_KEY_ID_LEN) != 0)
		return -EKEYREJECTED;
	ret = b64_decode_dup(sig_b64, &sig, &sig_len);
	if (ret < 0)
		goto out;
	ret = b64_decode_dup(payload_b64, &bytes, &bytes_len);
	if (ret < 0)
		goto out;
	if (sig_len != crypto_sign_BYTES) {
		ret = -EINVAL;
		goto out;
	}
	if (crypto_sign_verify_detached(sig, bytes, bytes_len, pk) != 0) {
		ret = -EBADMSG;
		goto out;
	}
	/* Only bytes that carry a valid signature are ever parsed. */
	parsed = json_loadb((const char *)bytes, bytes_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(parsed)) {
		json_decref(parsed);
		ret = -EINVAL;
		goto out;
	}
	*payload = parsed;
	ret = 0;
out:
	free(bytes);
	free(sig);
	return ret;
}
