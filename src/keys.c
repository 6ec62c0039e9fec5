/* SPDX-License-Identifier: ISC */
/*
 * keys.c: identity keys, their file and their public string. The secret
 * file is text: a header line, then base64url of a body. v1 (clear): the
 * body is x25519_sk || ed25519_seed. v2 (protected): a 140-byte header
 * (magic, version, Argon2id limits and salt, both public keys, a passphrase
 * check, the nonce), then those 64 bytes sealed with XChaCha20-Poly1305
 * under a key stretched from the passphrase, the header as additional data.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>

#include "keys.h"
#include "util.h"

#define CLEAR_HEADER "hotline-secret-key v1\n"
#define SEALED_HEADER "hotline-secret-key v2\n"
#define SK_MAGIC "HLSK"
#define SK_VERSION 2
#define SK_KDF_ARGON2ID13 1
#define SK_AEAD_XCHACHA 1
/* What a reader accepts (a bound on the work a file can ask for), and what we write. */
#define SK_OPS_MIN crypto_pwhash_OPSLIMIT_MIN
#define SK_OPS_MAX 16u
#define SK_MEM_MIN crypto_pwhash_MEMLIMIT_MIN
#define SK_MEM_MAX crypto_pwhash_MEMLIMIT_SENSITIVE
#define SK_OPS_WRITE crypto_pwhash_OPSLIMIT_INTERACTIVE
#define SK_MEM_WRITE crypto_pwhash_MEMLIMIT_INTERACTIVE
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define B64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/*
 * libsodium 1.0.18 decodes bytes 0x80-0xff as '_' (it reads them as signed
 * chars), so one key would have many spellings: check the alphabet first.
 */
static bool
b64_clean(const char *s, size_t len, const char *extra)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' ||
		    (!strchr(B64_ALPHABET, s[i]) && !(extra && strchr(extra, s[i]))))
			return false;
	return true;
}

static int
alloc_secrets(struct hl_identity *id)
{
	memset(id, 0, sizeof *id);
	id->x25519_sk = sodium_malloc(HL_KEY_LEN);
	id->ed25519_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!id->x25519_sk || !id->ed25519_sk) {
		hl_identity_free(id);
		return HL_ERR_NOMEM;
	}
	return HL_OK;
}

/* Derive both key pairs from the two 32-byte secrets. */
static int
derive(struct hl_identity *id, const uint8_t xsk[static 32], const uint8_t seed[static 32])
{
	memcpy(id->x25519_sk, xsk, HL_KEY_LEN);
	if (crypto_scalarmult_base(id->pub.x25519, id->x25519_sk) != 0)
		return HL_ERR_CORRUPT;
	if (crypto_sign_seed_keypair(id->pub.ed25519, id->ed25519_sk, seed) != 0)
		return HL_ERR_CORRUPT;
	return HL_OK;
}

int
hl_identity_generate(struct hl_identity *id)
{
	uint8_t raw[64];
	int rc = alloc_secrets(id);

	if (rc < 0)
		return rc;
	randombytes_buf(raw, sizeof raw);
	rc = derive(id, raw, raw + 32);
	sodium_memzero(raw, sizeof raw);
	if (rc < 0)
		hl_identity_free(id);
	return rc;
}

int
hl_identity_from_raw(struct hl_identity *id, const uint8_t raw[static 64])
{
	int rc = alloc_secrets(id);

	if (rc < 0)
		return rc;
	if ((rc = derive(id, raw, raw + 32)) < 0)
		hl_identity_free(id);
	return rc;
}

int
hl_identity_raw(const struct hl_identity *id, uint8_t raw[static 64])
{
	if (!id->x25519_sk || !id->ed25519_sk)
		return HL_ERR_INVAL;
	memcpy(raw, id->x25519_sk, 32);
	memcpy(raw + 32, id->ed25519_sk, 32); /* libsodium keeps the seed first */
	return HL_OK;
}

/* ---- the secret file ---- */

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)(v & 0xff);
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * The v2 header, every field at a fixed offset, integers big-endian:
 *   0 "HLSK"  4 version=2  5 kdf=1 (Argon2id13)  6 aead=1 (XChaCha20-Poly1305)
 *   7 reserved=0  8 opslimit(4)  12 memlimit(8)  20 salt(16)  36 x25519_pk(32)
 *   68 ed25519_pk(32)  100 check(16)  116 nonce(24)  = 140 bytes
 */
static void
header_build(const struct hl_keyfile *kf, uint8_t h[static HL_KEYFILE_HEADERBYTES])
{
	memcpy(h, SK_MAGIC, 4);
	h[4] = SK_VERSION;
	h[5] = SK_KDF_ARGON2ID13;
	h[6] = SK_AEAD_XCHACHA;
	h[7] = 0;
	put_be(h + 8, kf->opslimit, 4);
	put_be(h + 12, kf->memlimit, 8);
	memcpy(h + 20, kf->salt, 16);
	memcpy(h + 36, kf->pub.x25519, 32);
	memcpy(h + 68, kf->pub.ed25519, 32);
	memcpy(h + 100, kf->check, 16);
	memcpy(h + 116, kf->nonce, 24);
}

static int
header_parse(const uint8_t h[static HL_KEYFILE_HEADERBYTES], struct hl_keyfile *kf)
{
	if (memcmp(h, SK_MAGIC, 4) != 0 || h[4] != SK_VERSION || h[5] != SK_KDF_ARGON2ID13 ||
	    h[6] != SK_AEAD_XCHACHA || h[7] != 0)
		return HL_ERR_CORRUPT;
	kf->opslimit = (uint32_t)get_be(h + 8, 4);
	kf->memlimit = get_be(h + 12, 8);
	if (kf->opslimit < SK_OPS_MIN || kf->opslimit > SK_OPS_MAX || kf->memlimit < SK_MEM_MIN ||
	    kf->memlimit > SK_MEM_MAX)
		return HL_ERR_CORRUPT;
	memcpy(kf->salt, h + 20, 16);
	memcpy(kf->pub.x25519, h + 36, 32);
	memcpy(kf->pub.ed25519, h + 68, 32);
	memcpy(kf->check, h + 100, 16);
	memcpy(kf->nonce, h + 116, 24);
	memcpy(kf->header, h, HL_KEYFILE_HEADERBYTES);
	return HL_OK;
}

/* The base64 body after a header line: exactly want bytes, or HL_ERR_CORRUPT. */
static int
body_decode(const char *text, size_t len, size_t hlen, uint8_t *out, size_t want)
{
	size_t binlen = 0;
	const char *end = NULL;

	if (len <= hlen || !b64_clean(text + hlen, len - hlen, "\n") ||
	    sodium_base642bin(out, want, text + hlen, len - hlen, "\n", &binlen, &end, B64) != 0 ||
	    binlen != want)
		return HL_ERR_CORRUPT;
	return HL_OK;
}

int
hl_keyfile_parse(const char *text, size_t len, struct hl_keyfile *kf)
{
	uint8_t raw[HL_KEYFILE_HEADERBYTES + HL_KEYFILE_BOXBYTES];
	int rc = HL_ERR_CORRUPT;

	memset(kf, 0, sizeof *kf);
	if (len > strlen(CLEAR_HEADER) && memcmp(text, CLEAR_HEADER, strlen(CLEAR_HEADER)) == 0) {
		rc = body_decode(text, len, strlen(CLEAR_HEADER), kf->secret, sizeof kf->secret);
	} else if (len > strlen(SEALED_HEADER) &&
	           memcmp(text, SEALED_HEADER, strlen(SEALED_HEADER)) == 0 &&
	           body_decode(text, len, strlen(SEALED_HEADER), raw, sizeof raw) == HL_OK) {
		kf->sealed = true;
		rc = header_parse(raw, kf);
		memcpy(kf->box, raw + HL_KEYFILE_HEADERBYTES, HL_KEYFILE_BOXBYTES);
	}
	if (rc < 0)
		sodium_memzero(kf, sizeof *kf);
	sodium_memzero(raw, sizeof raw);
	return rc;
}

void
hl_keyfile_format(const struct hl_keyfile *kf, char out[static HL_KEYFILE_TEXT_MAX], size_t *len)
{
	uint8_t raw[HL_KEYFILE_HEADERBYTES + HL_KEYFILE_BOXBYTES];
	const char *head = kf->sealed ? SEALED_HEADER : CLEAR_HEADER;
	size_t hl = strlen(head);

	_Static_assert(sizeof SEALED_HEADER + (sizeof raw + 2) / 3 * 4 + 2 <= HL_KEYFILE_TEXT_MAX,
	               "key file text fits");
	memcpy(out, head, hl);
	if (kf->sealed) {
		header_build(kf, raw);
		memcpy(raw + HL_KEYFILE_HEADERBYTES, kf->box, HL_KEYFILE_BOXBYTES);
		sodium_bin2base64(out + hl, HL_KEYFILE_TEXT_MAX - hl - 1, raw, sizeof raw, B64);
	} else {
		sodium_bin2base64(out + hl, HL_KEYFILE_TEXT_MAX - hl - 1, kf->secret,
		                  sizeof kf->secret, B64);
	}
	*len = strlen(out);
	out[(*len)++] = '\n';
	out[*len] = '\0';
	sodium_memzero(raw, sizeof raw);
}

/*
 * Argon2id over the passphrase gives 64 bytes: the first 32 are the AEAD
 * key, the next 16 the check stored in the header, which tells a wrong
 * passphrase from an altered file. key is sodium_malloc'd by the caller.
 */
static int
stretch(const struct hl_keyfile *kf, const char *pass, size_t passlen, uint8_t key[static 64])
{
	_Static_assert(crypto_pwhash_SALTBYTES == 16, "salt size");
	if (kf->memlimit > SIZE_MAX)
		return HL_ERR_NOMEM;
	if (crypto_pwhash(key, 64, pass, passlen, kf->salt, kf->opslimit, (size_t)kf->memlimit,
	                  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return HL_ERR_NOMEM; /* libsodium fails it only when it cannot have the memory */
	return HL_OK;
}

/* Open kf's box with pass into raw (64 bytes). */
static int
unseal(const struct hl_keyfile *kf, const char *pass, size_t passlen, uint8_t raw[static 64])
{
	uint8_t *key = sodium_malloc(64);
	unsigned long long mlen = 0;
	int rc;

	if (!key)
		return HL_ERR_NOMEM;
	rc = stretch(kf, pass, passlen, key);
	if (rc == HL_OK && sodium_memcmp(key + 32, kf->check, sizeof kf->check) != 0)
		rc = HL_ERR_KEY_BADPASS;
	if (rc == HL_OK && (crypto_aead_xchacha20poly1305_ietf_decrypt(
	                        raw, &mlen, NULL, kf->box, sizeof kf->box, kf->header,
	                        sizeof kf->header, kf->nonce, key) != 0 ||
	                    mlen != 64))
		rc = HL_ERR_CORRUPT;
	sodium_free(key);
	return rc;
}

static int
load(struct hl_identity *id, const char *path, bool need_secret, const char *pass, size_t passlen)
{
	struct hl_keyfile *kf = NULL;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	uint8_t raw[64];
	int rc;

	memset(id, 0, sizeof *id);
	if (stat(path, &st) != 0)
		return HL_ERR_NOTFOUND;
	if (st.st_mode & 077)
		return HL_ERR_KEY_PERMS;
	rc = hl_file_read(path, 4096, &text, &len);
	if (rc < 0)
		return rc;
	/* The parsed file may hold the clear secrets: in guarded memory. */
	if (!(kf = sodium_malloc(sizeof *kf))) {
		rc = HL_ERR_NOMEM;
		goto out;
	}
	if ((rc = hl_keyfile_parse(text, len, kf)) < 0)
		goto out;
	if (!kf->sealed) {
		memcpy(raw, kf->secret, sizeof raw);
	} else if (!need_secret) {
		id->pub = kf->pub;
		id->sealed = true;
		goto out; /* HL_OK: the public half only */
	} else if (!pass) {
		rc = HL_ERR_KEY_LOCKED;
		goto out;
	} else if ((rc = unseal(kf, pass, passlen, raw)) < 0) {
		goto out;
	}
	if ((rc = alloc_secrets(id)) < 0)
		goto out;
	rc = derive(id, raw, raw + 32);
	/* The header's public keys are authenticated: they must be the secrets' own. */
	if (rc == HL_OK && kf->sealed && sodium_memcmp(&kf->pub, &id->pub, sizeof id->pub) != 0)
		rc = HL_ERR_CORRUPT;
	id->sealed = kf->sealed;
	if (rc < 0)
		hl_identity_free(id);
out:
	sodium_memzero(raw, sizeof raw);
	sodium_free(kf);
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
	return rc;
}

int
hl_identity_load(struct hl_identity *id, const char *path)
{
	return load(id, path, false, NULL, 0);
}

int
hl_identity_open(struct hl_identity *id, const char *path, const char *pass, size_t passlen)
{
	return load(id, path, true, pass, passlen);
}

int
hl_identity_write(const struct hl_identity *id, const char *path, const char *pass, size_t passlen,
                  bool exclusive)
{
	struct hl_keyfile *kf = sodium_malloc(sizeof *kf);
	uint8_t *key = sodium_malloc(64);
	char text[HL_KEYFILE_TEXT_MAX];
	size_t len = 0;
	int rc = HL_ERR_NOMEM;

	if (!kf || !key)
		goto out;
	rc = HL_ERR_INVAL;
	if (!id->x25519_sk || !id->ed25519_sk)
		goto out;
	memset(kf, 0, sizeof *kf);
	memcpy(kf->secret, id->x25519_sk, 32);
	memcpy(kf->secret + 32, id->ed25519_sk, 32); /* libsodium keeps the seed first */
	if (pass) {
		kf->sealed = true;
		kf->opslimit = SK_OPS_WRITE;
		kf->memlimit = SK_MEM_WRITE;
		randombytes_buf(kf->salt, sizeof kf->salt);
		randombytes_buf(kf->nonce, sizeof kf->nonce);
		kf->pub = id->pub;
		if ((rc = stretch(kf, pass, passlen, key)) < 0)
			goto out;
		memcpy(kf->check, key + 32, sizeof kf->check);
		header_build(kf, kf->header);
		crypto_aead_xchacha20poly1305_ietf_encrypt(kf->box, NULL, kf->secret,
		                                           sizeof kf->secret, kf->header,
		                                           sizeof kf->header, NULL, kf->nonce, key);
		sodium_memzero(kf->secret, sizeof kf->secret);
	}
	hl_keyfile_format(kf, text, &len);
	rc = hl_file_write(path, text, len, 0600, exclusive);
out:
	sodium_memzero(text, sizeof text);
	sodium_free(key);
	sodium_free(kf);
	return rc;
}

int
hl_identity_save(const struct hl_identity *id, const char *path)
{
	return hl_identity_write(id, path, NULL, 0, true);
}

void
hl_identity_free(struct hl_identity *id)
{
	sodium_free(id->x25519_sk);
	sodium_free(id->ed25519_sk);
	memset(id, 0, sizeof *id);
}

static void
checksum(const struct hl_pubkey *pk, uint8_t out[4])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof h, (const uint8_t *)pk, sizeof *pk, NULL, 0);
	memcpy(out, h, 4);
}

void
hl_pubkey_encode(const struct hl_pubkey *pk, char out[static HL_PUBSTR_MAX])
{
	uint8_t raw[68];

	_Static_assert(sizeof(struct hl_pubkey) == 64, "pubkey layout");
	memcpy(raw, pk, 64);
	checksum(pk, raw + 64);
	memcpy(out, "hl1:", 4);
	sodium_bin2base64(out + 4, HL_PUBSTR_MAX - 4, raw, sizeof raw, B64);
}

int
hl_pubkey_decode(const char *s, struct hl_pubkey *pk)
{
	uint8_t raw[68], sum[4];
	size_t binlen = 0;
	const char *end = NULL;
	struct hl_pubkey tmp;

	if (strncmp(s, "hl1:", 4) != 0 || strlen(s) > HL_PUBSTR_MAX ||
	    !b64_clean(s + 4, strlen(s + 4), NULL))
		return HL_ERR_INVAL;
	if (sodium_base642bin(raw, sizeof raw, s + 4, strlen(s + 4), NULL, &binlen, &end, B64) !=
	        0 ||
	    binlen != sizeof raw || *end != '\0')
		return HL_ERR_INVAL;
	memcpy(&tmp, raw, 64);
	checksum(&tmp, sum);
	if (sodium_memcmp(sum, raw + 64, 4) != 0)
		return HL_ERR_INVAL;
	*pk = tmp;
	return HL_OK;
}

void
hl_x25519_b64(const uint8_t key[static HL_KEY_LEN], char out[static 48])
{
	sodium_bin2base64(out, 48, key, HL_KEY_LEN, B64);
}
