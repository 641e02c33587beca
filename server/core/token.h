/*
 * Bearer secrets: API tokens, enrollment tokens, device tokens, sessions, CSRF tokens.
 * A token is a prefix naming its kind plus 32 random bytes in unpadded base64url
 * ("kwa_…", 47 characters). Only its SHA-256 is stored; 32 random bytes need no slow hash.
 */
#ifndef KW_TOKEN_H
#define KW_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KW_TOKEN_TEXT_MAX 64
#define KW_TOKEN_HASH_BYTES 32

#define KW_TOKEN_PREFIX_API "kwa_"
#define KW_TOKEN_PREFIX_ENROLL "kwe_"
#define KW_TOKEN_PREFIX_DEVICE "kwd_"
#define KW_TOKEN_PREFIX_SESSION "kws_"
#define KW_TOKEN_PREFIX_CSRF "kwc_"

/* New random token text with the prefix, and its hash. Zero `text` when done with it. */
void token_new(char text[KW_TOKEN_TEXT_MAX], const char *prefix, uint8_t hash[KW_TOKEN_HASH_BYTES]);
/* SHA-256 of the token text (any text: an unknown token simply matches nothing). */
void token_hash(const char *text, uint8_t hash[KW_TOKEN_HASH_BYTES]);
/* Does text start with prefix and have the right shape? */
bool token_has_prefix(const char *text, const char *prefix);
/* Constant-time: does SHA-256(text) equal hash? (CSRF check) */
bool token_matches(const char *text, const uint8_t hash[KW_TOKEN_HASH_BYTES]);

#endif
