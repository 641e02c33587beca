#include "config.h"
#include "key.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void key_to_base64(char out[KW_KEY_B64_LEN + 1], const uint8_t key[KW_KEY_LEN])
{
	sodium_bin2base64(out, KW_KEY_B64_LEN + 1, key, KW_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int key_from_base64(uint8_t key[KW_KEY_LEN], const char *b64)
{
	size_t len = 0;
	const char *end = NULL;

	if (!b64 || strlen(b64) != KW_KEY_B64_LEN)
		return -EINVAL;
	if (sodium_base642bin(key, KW_KEY_LEN, b64, KW_KEY_B64_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != KW_KEY_LEN || *end != '\0') {
		sodium_memzero(key, KW_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

void key_to_hex(char out[KW_KEY_HEX_LEN + 1], const uint8_t key[KW_KEY_LEN])
{
	sodium_bin2hex(out, KW_KEY_HEX_LEN + 1, key, KW_KEY_LEN);
}

int key_from_hex(uint8_t key[KW_KEY_LEN], const char *hex)
{
	size_t len = 0;
	const char *end = NULL;

	if (!hex || strlen(hex) != KW_KEY_HEX_LEN)
		return -EINVAL;
	if (sodium_hex2bin(key, KW_KEY_LEN, hex, KW_KEY_HEX_LEN, NULL, &len, &end) != 0 ||
	    len != KW_KEY_LEN || *end != '\0') {
		sodium_memzero(key, KW_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

bool key_is_zero(const uint8_t key[KW_KEY_LEN])
{
	return sodium_is_zero(key, KW_KEY_LEN) == 1;
}

char *b64_encode_dup(const uint8_t *data, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(cap);

	if (!out)
		return NULL;
	sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

int b64_decode_dup(const char *b64, uint8_t **out, size_t *out_len)
{
	size_t in_len, cap, len = 0;
	const char *end = NULL;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (!b64)
		return -EINVAL;
	in_len = strlen(b64);
	cap = in_len / 4 * 3 + 3;
	buf = malloc(cap ? cap : 1);
	if (!buf)
		return -ENOMEM;
	if (sodium_base642bin(buf, cap, b64, in_len, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || *end != '\0') {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*out_len = len;
	return 0;
}
