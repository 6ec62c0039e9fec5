/* SPDX-License-Identifier: ISC */
/*
 * keys.h: a station's identity. Two key pairs, never derived from one
 * another (NOISE.md, "Key reuse"): X25519 for the Noise link, Ed25519 for
 * signatures. The secrets live in sodium_malloc'd memory (guard pages,
 * mlock) and in a 0600 file; the public half travels as one string:
 *
 *   hl1:<base64url, no padding, of x25519_pk(32) || ed25519_pk(32) || check(4)>
 *
 * where check is the first 4 bytes of BLAKE2b-256 over the 64 key bytes, so
 * a mistyped key handed over out of band is caught, not pinned.
 */
#ifndef HL_KEYS_H
#define HL_KEYS_H

#include "hl.h"

#define HL_KEY_LEN 32
#define HL_PUBSTR_MAX 96 /* "hl1:" + 91 base64url chars + NUL */

struct hl_pubkey {
	uint8_t x25519[HL_KEY_LEN];
	uint8_t ed25519[HL_KEY_LEN];
};

struct hl_identity {
	uint8_t *x25519_sk;  /* 32 bytes, sodium_malloc'd */
	uint8_t *ed25519_sk; /* 64 bytes (libsodium layout), sodium_malloc'd */
	struct hl_pubkey pub;
};

/* New random identity. Free with hl_identity_free. */
HL_MUST_CHECK int hl_identity_generate(struct hl_identity *id);
/*
 * Load from the secret key file. HL_ERR_NOTFOUND, HL_ERR_AUTH when the
 * file is readable by group or others (refused, not silently used),
 * HL_ERR_CORRUPT when it does not parse.
 */
HL_MUST_CHECK int hl_identity_load(struct hl_identity *id, const char *path);
/* Save to path with mode 0600; never overwrites (HL_ERR_EXISTS). */
HL_MUST_CHECK int hl_identity_save(const struct hl_identity *id, const char *path);
void hl_identity_free(struct hl_identity *id);

/* Encode the public half as the hl1: string (out holds HL_PUBSTR_MAX). */
void hl_pubkey_encode(const struct hl_pubkey *pk, char out[static HL_PUBSTR_MAX]);
/* Decode and check an hl1: string; HL_ERR_INVAL with no partial output on any error. */
HL_MUST_CHECK int hl_pubkey_decode(const char *s, struct hl_pubkey *pk);
/* A short form of the X25519 key for logs: base64url of its 32 bytes. */
void hl_x25519_b64(const uint8_t key[static HL_KEY_LEN], char out[static 48]);

#endif
