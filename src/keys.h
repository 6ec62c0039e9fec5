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
 *
 * The secret file comes in two formats (docs/protocol.md, "Keys"): v1 holds
 * the secrets in clear; v2 seals them under a passphrase (Argon2id, then
 * XChaCha20-Poly1305) and keeps the public keys in clear in its header, so
 * what needs only the public half works without the passphrase.
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
	uint8_t *x25519_sk;  /* 32 bytes, sodium_malloc'd; NULL while sealed */
	uint8_t *ed25519_sk; /* 64 bytes (libsodium layout), sodium_malloc'd; NULL while sealed */
	struct hl_pubkey pub;
	bool sealed; /* the file is passphrase-protected (v2) */
};

#define HL_PASS_MAX 1024 /* bytes in a passphrase */

/* What loading a secret file can say beyond hl.h's codes (aliases, for reading). */
#define HL_ERR_KEY_PERMS HL_ERR_AUTH    /* readable by group or others: refused */
#define HL_ERR_KEY_LOCKED HL_ERR_AGAIN  /* protected, and no passphrase was given */
#define HL_ERR_KEY_BADPASS HL_ERR_INVAL /* wrong passphrase (or its salt was altered) */

/* New random identity. Free with hl_identity_free. */
HL_MUST_CHECK int hl_identity_generate(struct hl_identity *id);
/*
 * Load from the secret key file, either format, without a passphrase: the
 * public half always, the secret half only from a clear (v1) file. From a
 * protected file it returns HL_OK with id->sealed set and both secret
 * pointers NULL: whoever needs the secrets calls hl_identity_open.
 * HL_ERR_NOTFOUND, HL_ERR_KEY_PERMS (HL_ERR_AUTH) when the file is readable
 * by group or others (refused, not silently used), HL_ERR_CORRUPT when it
 * does not parse. Nothing is loaded on an error.
 */
HL_MUST_CHECK int hl_identity_load(struct hl_identity *id, const char *path);
/*
 * Load both halves from either format. pass (passlen bytes, borrowed, not
 * NUL-terminated) unlocks a protected file and is ignored for a clear one.
 * Beyond hl_identity_load's errors: HL_ERR_KEY_LOCKED when the file is
 * protected and pass is NULL, HL_ERR_KEY_BADPASS for a wrong passphrase,
 * HL_ERR_CORRUPT when the sealed part or its header was altered,
 * HL_ERR_NOMEM when Argon2id cannot have its memory.
 */
HL_MUST_CHECK int hl_identity_open(struct hl_identity *id, const char *path, const char *pass,
                                   size_t passlen);
/*
 * Rebuild an identity from its 64 secret bytes (x25519_sk || Ed25519
 * seed, as a clear key file holds them; borrowed, not wiped). Free with
 * hl_identity_free.
 */
HL_MUST_CHECK int hl_identity_from_raw(struct hl_identity *id, const uint8_t raw[static 64]);
/* The 64 secret bytes of id (which must hold its secrets) into raw: wipe it after use. */
HL_MUST_CHECK int hl_identity_raw(const struct hl_identity *id, uint8_t raw[static 64]);
/* Save to path in clear (v1) with mode 0600; never overwrites (HL_ERR_EXISTS). */
HL_MUST_CHECK int hl_identity_save(const struct hl_identity *id, const char *path);
/*
 * Write the secret file with mode 0600 (through path.tmp: write, fsync,
 * rename, fsync of the directory): sealed under pass when pass is not NULL
 * (Argon2id with at least the INTERACTIVE limits, a fresh salt and nonce),
 * in clear otherwise. With exclusive an existing file is HL_ERR_EXISTS;
 * without, it is replaced atomically. id must hold its secrets.
 */
HL_MUST_CHECK int hl_identity_write(const struct hl_identity *id, const char *path,
                                    const char *pass, size_t passlen, bool exclusive);
/* Wipe and release the secrets; accepts a freed or zeroed identity. */
void hl_identity_free(struct hl_identity *id);

/*
 * The secret file as parsed, before any passphrase is tried (pure, no I/O;
 * fuzz/fuzz_keyfile.c drives it). For a clear file, secret holds
 * x25519_sk || ed25519 seed: wipe the struct with sodium_memzero after use.
 */
#define HL_KEYFILE_HEADERBYTES 140
#define HL_KEYFILE_BOXBYTES (64 + 16)
#define HL_KEYFILE_TEXT_MAX 512
struct hl_keyfile {
	bool sealed;
	uint8_t secret[64]; /* clear (v1) only */
	/* protected (v2) only: */
	uint32_t opslimit;
	uint64_t memlimit;
	uint8_t salt[16];
	struct hl_pubkey pub;
	uint8_t check[16];
	uint8_t nonce[24];
	uint8_t header[HL_KEYFILE_HEADERBYTES]; /* the bytes above, as sealed (the AEAD's AD) */
	uint8_t box[HL_KEYFILE_BOXBYTES];       /* sealed x25519_sk || ed25519 seed, and tag */
};
/* Parse a secret file's text; HL_ERR_CORRUPT (kf wiped) when it is neither format. */
HL_MUST_CHECK int hl_keyfile_parse(const char *text, size_t len, struct hl_keyfile *kf);
/* The text of kf (its header rebuilt from the fields); *len excludes the NUL. */
void hl_keyfile_format(const struct hl_keyfile *kf, char out[static HL_KEYFILE_TEXT_MAX],
                       size_t *len);

/* Encode the public half as the hl1: string (out holds HL_PUBSTR_MAX). */
void hl_pubkey_encode(const struct hl_pubkey *pk, char out[static HL_PUBSTR_MAX]);
/* Decode and check an hl1: string; HL_ERR_INVAL with no partial output on any error. */
HL_MUST_CHECK int hl_pubkey_decode(const char *s, struct hl_pubkey *pk);
/* A short form of the X25519 key for logs: base64url of its 32 bytes. */
void hl_x25519_b64(const uint8_t key[static HL_KEY_LEN], char out[static 48]);

#endif
