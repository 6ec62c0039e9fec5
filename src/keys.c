/* SPDX-License-Identifier: ISC */
/*
 * keys.c: identity keys, their file and their public string. The secret
 * file is text: a header line, then base64 of x25519_sk || ed25519_seed.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>

#include "keys.h"
#include "util.h"

#define SECRET_HEADER "hotline-secret-key v1\n"
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
hl_identity_load(struct hl_identity *id, const char *path)
{
	struct stat st;
	char *text = NULL;
	size_t len, binlen = 0;
	uint8_t raw[64];
	const char *end;
	int rc;

	memset(id, 0, sizeof *id);
	if (stat(path, &st) != 0)
		return HL_ERR_NOTFOUND;
	if (st.st_mode & 077)
		return HL_ERR_AUTH;
	rc = hl_file_read(path, 4096, &text, &len);
	if (rc < 0)
		return rc;
	rc = HL_ERR_CORRUPT;
	if (len < sizeof SECRET_HEADER || memcmp(text, SECRET_HEADER, strlen(SECRET_HEADER)) != 0 ||
	    !b64_clean(text + strlen(SECRET_HEADER), len - strlen(SECRET_HEADER), "\n"))
		goto out;
	if (sodium_base642bin(raw, sizeof raw, text + strlen(SECRET_HEADER),
	                      len - strlen(SECRET_HEADER), "\n", &binlen, &end, B64) != 0 ||
	    binlen != sizeof raw)
		goto out;
	rc = alloc_secrets(id);
	if (rc < 0)
		goto out;
	rc = derive(id, raw, raw + 32);
	if (rc < 0)
		hl_identity_free(id);
out:
	sodium_memzero(raw, sizeof raw);
	if (text) {
		sodium_memzero(text, len);
		free(text);
	}
	return rc;
}

int
hl_identity_save(const struct hl_identity *id, const char *path)
{
	char text[sizeof SECRET_HEADER + 100];
	uint8_t raw[64];
	size_t hl = strlen(SECRET_HEADER);
	int rc;

	memcpy(raw, id->x25519_sk, 32);
	memcpy(raw + 32, id->ed25519_sk, 32); /* libsodium keeps the seed first */
	memcpy(text, SECRET_HEADER, hl);
	sodium_bin2base64(text + hl, sizeof text - hl - 1, raw, sizeof raw, B64);
	strcat(text, "\n");
	rc = hl_file_write(path, text, strlen(text), 0600, true);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(text, sizeof text);
	return rc;
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
