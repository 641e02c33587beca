/* 32-byte keys (WireGuard X25519, Ed25519 public keys) and their text forms. */
#ifndef KW_KEY_H
#define KW_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KW_KEY_LEN 32
#define KW_KEY_B64_LEN 44 /* without the terminating NUL */
#define KW_KEY_HEX_LEN 64

/* Standard base64 with padding, exactly 44 characters for 32 bytes. */
void key_to_base64(char out[KW_KEY_B64_LEN + 1], const uint8_t key[KW_KEY_LEN]);
/* 0, or -EINVAL when the text is not exactly the base64 of 32 bytes. */
int key_from_base64(uint8_t key[KW_KEY_LEN], const char *b64);
void key_to_hex(char out[KW_KEY_HEX_LEN + 1], const uint8_t key[KW_KEY_LEN]);
int key_from_hex(uint8_t key[KW_KEY_LEN], const char *hex);
/* Constant-time: true when every byte is zero. */
bool key_is_zero(const uint8_t key[KW_KEY_LEN]);

/* Generic base64 helpers (standard alphabet, padded). *_dup returns malloc'd memory. */
char *b64_encode_dup(const uint8_t *data, size_t len);
/* Decodes into a malloc'd buffer; -EINVAL on bad input, -ENOMEM. */
int b64_decode_dup(const char *b64, uint8_t **out, size_t *out_len);

#endif
