/* Enrollment helpers shared by enroll.c and its tests. */
#ifndef KW_AGENT_ENROLL_H
#define KW_AGENT_ENROLL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "key.h"

#define ENROLL_FINGERPRINT_LEN 64

/* The SHA-256 of a signing public key in lower-case hex: 256 bits, safe to pin. Its
 * first 16 characters are the envelope's key_id, which is for display only. */
void enroll_key_fingerprint(char out[ENROLL_FINGERPRINT_LEN + 1], const uint8_t pk[KW_KEY_LEN]);

/*
 * Check the server's signing key against --pin, which is either the public key in
 * base64 or its fingerprint (64 hex, any case). 0 when it matches; -EKEYREJECTED when
 * it does not; -EDOM for a 16-hex key id (too short to pin: 64 bits); -EINVAL when
 * the pin is neither form.
 */
int enroll_pin_match(const char *pin, const uint8_t server_pk[KW_KEY_LEN]);
/* The one line to print for an enroll_pin_match() error. */
const char *enroll_pin_error(int ret);

/* Read one line (a password) into buf of cap bytes, without the newline; from the
 * terminal with echo off when in is a terminal. -ENODATA when empty, -E2BIG. */
int enroll_read_secret(FILE *in, FILE *prompt_out, const char *prompt, char *buf, size_t cap);

/* What POST /api/v1/enroll carries; NULL fields are left out. Exactly one of token and
 * username (with password) is set. */
struct enroll_request {
	const char *public_key, *hostname, *token, *username, *password, *endpoint;
};

/*
 * The request body as JSON text, built by hand (strings escaped) in sodium_malloc'd
 * memory: the password is copied once, into memory enroll_body_free() zeroes, and never
 * into a jansson object whose string copies would be freed unzeroed. -EINVAL, -ENOMEM.
 */
int enroll_body_build(const struct enroll_request *rq, char **out, size_t *len);
void enroll_body_free(char *body);

#endif
