#include "config.h"

#include <sodium.h>
#include <string.h>

#include "token.h"

#define TOKEN_RANDOM_BYTES 32

void token_hash(const char *text, uint8_t hash[KW_TOKEN_HASH_BYTES])
{
	crypto_hash_sha256(hash, (const uint8_t *)text, strlen(text));
}

void token_new(char text[KW_TOKEN_TEXT_MAX], const char *prefix, uint8_t hash[KW_TOKEN_HASH_BYTES])
{
	uint8_t rnd[TOKEN_RANDOM_BYTES];
	size_t plen = strlen(prefix);

	randombytes_buf(rnd, sizeof(rnd));
	memcpy(text, prefix, plen);
	sodium_bin2base64(text + plen, KW_TOKEN_TEXT_MAX - plen, rnd, sizeof(rnd),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(rnd, sizeof(rnd));
	if (hash)
		token_hash(text, hash);
}

bool token_has_prefix(const char *text, const char *prefix)
{
	size_t plen = strlen(prefix), n = strlen(text);

	if (n != plen + 43 || strncmp(text, prefix, plen) != 0)
		return false;
	for (size_t i = plen; i < n; i++) {
		char ch = text[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_'))
			return false;
	}
	return true;
}

bool token_matches(const char *text, const uint8_t hash[KW_TOKEN_HASH_BYTES])
{
	uint8_t h[KW_TOKEN_HASH_BYTES];
	bool ok;

	if (!text)
		return false;
	token_hash(text, h);
	ok = sodium_memcmp(h, hash, KW_TOKEN_HASH_BYTES) == 0;
	sodium_memzero(h, sizeof(h));
	return ok;
}
