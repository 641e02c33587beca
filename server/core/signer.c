#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileutil.h"
#include "log.h"
#include "signer.h"

static int seed_load(const char *path, uint8_t seed[crypto_sign_SEEDBYTES])
{
	struct stat stbuf;
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (stat(path, &stbuf) < 0)
		return -errno;
	if (stbuf.st_mode & 077) {
		log_error("signer: %s is readable by others (mode %03o); chmod 600 it", path,
			  (unsigned)(stbuf.st_mode & 0777));
		return -EPERM;
	}
	ret = file_read_all(path, 256, &text, &len);
	if (ret < 0)
		return ret;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	ret = key_from_base64(seed, text);
	sodium_memzero(text, len);
	free(text);
	if (ret < 0)
		log_error("signer: %s does not hold a base64 Ed25519 seed", path);
	return ret;
}

static int seed_create(const char *path, uint8_t seed[crypto_sign_SEEDBYTES])
{
	char text[KW_KEY_B64_LEN + 2];
	int ret;

	randombytes_buf(seed, crypto_sign_SEEDBYTES);
	key_to_base64(text, seed);
	text[KW_KEY_B64_LEN] = '\n';
	text[KW_KEY_B64_LEN + 1] = '\0';
	ret = file_write_atomic(path, text, KW_KEY_B64_LEN + 1, 0600);
	sodium_memzero(text, sizeof(text));
	if (ret == 0)
		log_info("signer: new signing key created path=%s", path);
	return ret;
}

int signer_open(const char *state_dir, struct kw_signer **out)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	char path[PATH_MAX];
	struct kw_signer *s;
	int ret;

	*out = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/signing.key", state_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->sk = sodium_malloc(KW_SIGN_SK_LEN);
	if (!s->sk) {
		free(s);
		return -ENOMEM;
	}
	ret = seed_load(path, seed);
	if (ret == -ENOENT)
		ret = seed_create(path, seed);
	if (ret < 0)
		goto fail;
	crypto_sign_seed_keypair(s->pk, s->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_mprotect_readonly(s->sk);
	key_to_base64(s->pk_b64, s->pk);
	envelope_key_id(s->key_id, s->pk);
	*out = s;
	return 0;
fail:
	sodium_memzero(seed, sizeof(seed));
	signer_free(s);
	return ret;
}

int signer_sign(struct kw_signer *s, const char *payload, size_t len, json_t **envelope)
{
	return envelope_sign(s->sk, s->pk, payload, len, envelope);
}

int signer_sign_text(struct kw_signer *s, const char *payload, size_t len, char **text, size_t *text_len)
{
	static const char head[] = "{\"payload\":\"", mid[] = "\",\"signature\":\"", id[] = "\",\"key_id\":\"",
			  tail[] = "\"}";
	uint8_t sig[crypto_sign_BYTES];
	char sig_b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL); /* with NUL */
	size_t total = sizeof(head) - 1 + (b64len - 1) + sizeof(mid) - 1 + sizeof(sig_b64) - 1 + sizeof(id) - 1 +
		       KW_KEY_ID_LEN + sizeof(tail) - 1;
	char *t, *p;

	*text = NULL;
	crypto_sign_detached(sig, NULL, (const uint8_t *)payload, len, s->sk);
	sodium_bin2base64(sig_b64, sizeof(sig_b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	t = malloc(total + 1);
	if (!t)
		return -ENOMEM;
	p = t;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	sodium_bin2base64(p, b64len, (const uint8_t *)payload, len, sodium_base64_VARIANT_ORIGINAL);
	p += b64len - 1;
	memcpy(p, mid, sizeof(mid) - 1);
	p += sizeof(mid) - 1;
	memcpy(p, sig_b64, sizeof(sig_b64) - 1);
	p += sizeof(sig_b64) - 1;
	memcpy(p, id, sizeof(id) - 1);
	p += sizeof(id) - 1;
	memcpy(p, s->key_id, KW_KEY_ID_LEN);
	p += KW_KEY_ID_LEN;
	memcpy(p, tail, sizeof(tail) - 1);
	p += sizeof(tail) - 1;
	*p = '\0';
	*text = t;
	*text_len = (size_t)(p - t);
	return 0;
}

void signer_free(struct kw_signer *s)
{
	if (!s)
		return;
	sodium_free(s->sk); /* zeroes it */
	free(s);
}
