/* SPDX-License-Identifier: ISC */
/* test_keys.c: identities, their secret file and the hl1: public string (src/keys.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "keys.h"
#include "t.h"
#include "util.h"

static char dir[] = "/tmp/hl-test-keys-XXXXXX";

static void
path_of(char *out, size_t cap, const char *file)
{
	if (hl_path(out, cap, dir, file) < 0) {
		printf("Bail out! path too long\n");
		exit(1);
	}
}

static void
test_generate(void)
{
	struct hl_identity a, b;
	uint8_t pk[32];
	int rc;

	rc = hl_identity_generate(&a);
	T_EQ_INT(rc, HL_OK, "generate a");
	rc = hl_identity_generate(&b);
	T_EQ_INT(rc, HL_OK, "generate b");
	T_OK(memcmp(a.pub.x25519, b.pub.x25519, 32) != 0, "two identities differ (x25519)");
	T_OK(memcmp(a.pub.ed25519, b.pub.ed25519, 32) != 0, "two identities differ (ed25519)");
	T_OK(memcmp(a.pub.x25519, a.pub.ed25519, 32) != 0, "the two key pairs are independent");
	T_OK(crypto_scalarmult_base(pk, a.x25519_sk) == 0 && memcmp(pk, a.pub.x25519, 32) == 0,
	     "x25519 public matches secret");
	T_EQ_MEM(a.ed25519_sk + 32, a.pub.ed25519, 32, "ed25519 secret carries its public key");
	{
		uint8_t sig[crypto_sign_BYTES];
		static const uint8_t msg[] = "hotline";
		crypto_sign_detached(sig, NULL, msg, sizeof msg, a.ed25519_sk);
		T_OK(crypto_sign_verify_detached(sig, msg, sizeof msg, a.pub.ed25519) == 0,
		     "ed25519 pair signs and verifies");
	}
	hl_identity_free(&a);
	T_OK(a.x25519_sk == NULL && a.ed25519_sk == NULL, "free clears the pointers");
	hl_identity_free(&a);
	T_OK(1, "free twice is harmless");
	hl_identity_free(&b);
}

static void
test_file(void)
{
	struct hl_identity a, b;
	char path[512], path2[512], *text = NULL;
	struct stat st;
	size_t len = 0;
	int rc;

	path_of(path, sizeof path, "secret");
	rc = hl_identity_generate(&a);
	T_EQ_INT(rc, HL_OK, "file: generate");
	rc = hl_identity_save(&a, path);
	T_EQ_INT(rc, HL_OK, "save");
	T_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "saved with mode 0600");
	rc = hl_identity_load(&b, path);
	T_EQ_INT(rc, HL_OK, "load");
	T_EQ_MEM(a.pub.x25519, b.pub.x25519, 32, "load round trip: x25519 public");
	T_EQ_MEM(a.pub.ed25519, b.pub.ed25519, 32, "load round trip: ed25519 public");
	T_EQ_MEM(a.x25519_sk, b.x25519_sk, 32, "load round trip: x25519 secret");
	T_EQ_MEM(a.ed25519_sk, b.ed25519_sk, 64, "load round trip: ed25519 secret");
	hl_identity_free(&b);

	{
		struct hl_identity c;
		rc = hl_identity_generate(&c);
		T_EQ_INT(rc, HL_OK, "file: generate another");
		T_EQ_INT(hl_identity_save(&c, path), HL_ERR_EXISTS, "save refuses to overwrite");
		hl_identity_free(&c);
	}
	rc = hl_identity_load(&b, path);
	T_OK(rc == HL_OK && memcmp(a.pub.x25519, b.pub.x25519, 32) == 0,
	     "the refused save left the file alone");
	hl_identity_free(&b);

	T_OK(chmod(path, 0644) == 0, "chmod 0644");
	rc = hl_identity_load(&b, path);
	T_EQ_INT(rc, HL_ERR_AUTH, "0644 secret file refused");
	T_OK(b.x25519_sk == NULL, "nothing loaded from a refused file");
	T_OK(chmod(path, 0640) == 0, "chmod 0640");
	T_EQ_INT(hl_identity_load(&b, path), HL_ERR_AUTH, "0640 secret file refused");
	T_OK(chmod(path, 0604) == 0, "chmod 0604");
	T_EQ_INT(hl_identity_load(&b, path), HL_ERR_AUTH, "0604 secret file refused");
	T_OK(chmod(path, 0400) == 0, "chmod 0400");
	rc = hl_identity_load(&b, path);
	T_EQ_INT(rc, HL_OK, "0400 secret file accepted");
	if (rc == HL_OK)
		hl_identity_free(&b);

	path_of(path2, sizeof path2, "missing");
	T_EQ_INT(hl_identity_load(&b, path2), HL_ERR_NOTFOUND, "missing file");

	/* Corruptions of the file. */
	rc = hl_file_read(path, 4096, &text, &len);
	T_OK(rc == HL_OK && len > 40, "read the secret file");
	if (rc == HL_OK) {
		T_OK(strncmp(text, "hotline-secret-key v1\n", 22) == 0, "secret file header");
		path_of(path2, sizeof path2, "truncated");
		rc = hl_file_write(path2, text, len - 10, 0600, true);
		T_EQ_INT(rc, HL_OK, "write a truncated copy");
		T_EQ_INT(hl_identity_load(&b, path2), HL_ERR_CORRUPT, "truncated file is corrupt");

		path_of(path2, sizeof path2, "header");
		text[0] = 'H';
		rc = hl_file_write(path2, text, len, 0600, true);
		T_EQ_INT(rc, HL_OK, "write a copy with a bad header");
		T_EQ_INT(hl_identity_load(&b, path2), HL_ERR_CORRUPT, "bad header is corrupt");
		text[0] = 'h';

		path_of(path2, sizeof path2, "garbage");
		text[30] = '*';
		rc = hl_file_write(path2, text, len, 0600, true);
		T_EQ_INT(rc, HL_OK, "write a copy with a bad character");
		T_EQ_INT(hl_identity_load(&b, path2), HL_ERR_CORRUPT, "bad base64 is corrupt");

		path_of(path2, sizeof path2, "empty");
		rc = hl_file_write(path2, "", 0, 0600, true);
		T_EQ_INT(rc, HL_OK, "write an empty file");
		T_EQ_INT(hl_identity_load(&b, path2), HL_ERR_CORRUPT, "empty file is corrupt");
		T_OK(b.x25519_sk == NULL, "nothing loaded from a corrupt file");
		free(text);
	}
	hl_identity_free(&a);
}

static void
test_pubstr(void)
{
	struct hl_identity a;
	struct hl_pubkey pk, back, sentinel;
	char s[HL_PUBSTR_MAX], t[HL_PUBSTR_MAX + 8], b64[48];
	size_t len;
	int rc, refused = 0;

	rc = hl_identity_generate(&a);
	T_EQ_INT(rc, HL_OK, "pubstr: generate");
	pk = a.pub;
	hl_identity_free(&a);
	hl_pubkey_encode(&pk, s);
	len = strlen(s);
	T_OK(strncmp(s, "hl1:", 4) == 0, "pubkey string starts with hl1:");
	T_EQ_INT(len, 4 + 91, "pubkey string length");
	T_OK(strspn(s + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	         len - 4,
	     "pubkey string is base64url without padding");
	memset(&back, 0, sizeof back);
	rc = hl_pubkey_decode(s, &back);
	T_EQ_INT(rc, HL_OK, "decode");
	T_EQ_MEM(&back, &pk, sizeof pk, "encode/decode round trip");

	/* Every one-character change is refused (checksum or base64). */
	memset(&sentinel, 0xa5, sizeof sentinel);
	for (size_t i = 4; i < len; i++) {
		memcpy(t, s, len + 1);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		back = sentinel;
		if (hl_pubkey_decode(t, &back) == HL_ERR_INVAL &&
		    memcmp(&back, &sentinel, sizeof back) == 0)
			refused++;
	}
	T_EQ_INT(refused, len - 4, "every one-character change refused, output untouched");

	/* Swapping two adjacent different characters. */
	memcpy(t, s, len + 1);
	for (size_t i = 4; i + 1 < len; i++) {
		if (t[i] != t[i + 1]) {
			char c = t[i];
			t[i] = t[i + 1];
			t[i + 1] = c;
			break;
		}
	}
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "transposed characters refused");

	/* libsodium 1.0.18 reads bytes >= 0x80 as '_': such a key must not pass. */
	{
		/* A key whose string has a '_' to stand in for. */
		struct hl_identity u;
		char us[HL_PUBSTR_MAX], *at = NULL;
		for (int tries = 0; tries < 100 && !at; tries++) {
			if (hl_identity_generate(&u) < 0)
				break;
			hl_pubkey_encode(&u.pub, us);
			hl_identity_free(&u);
			at = strchr(us + 4, '_');
		}
		T_OK(at != NULL, "found a key string with '_'");
		if (at)
			*at = (char)0x9a;
		T_EQ_INT(hl_pubkey_decode(us, &back), HL_ERR_INVAL,
		         "a high byte in place of '_' refused");
	}
	memcpy(t, s, len + 1);
	t[10] = (char)0xc3;
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "a UTF-8 byte in the key refused");

	memcpy(t, s, len + 1);
	t[0] = 'h';
	t[2] = '2';
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "hl2: prefix refused");
	T_EQ_INT(hl_pubkey_decode(s + 4, &back), HL_ERR_INVAL, "missing prefix refused");
	memcpy(t, s, len + 1);
	t[3] = '-';
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "hl1- prefix refused");
	t[3] = ':';
	t[1] = 'k';
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "hk1: prefix refused");
	memcpy(t, s, len + 1);
	t[0] = 'H';
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "HL1: prefix refused");
	memcpy(t, s, len + 1);
	t[len - 1] = '\0';
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "truncated string refused");
	memcpy(t, s, len);
	t[len] = 'A';
	t[len + 1] = '\0';
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "extra character refused");
	memcpy(t, s, len);
	t[len] = '\n';
	t[len + 1] = '\0';
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "trailing newline refused");
	memcpy(t, s, len);
	memcpy(t + len, "==", 3);
	T_EQ_INT(hl_pubkey_decode(t, &back), HL_ERR_INVAL, "padding refused");
	T_EQ_INT(hl_pubkey_decode("", &back), HL_ERR_INVAL, "empty string refused");
	T_EQ_INT(hl_pubkey_decode("hl1:", &back), HL_ERR_INVAL, "bare prefix refused");

	hl_x25519_b64(pk.x25519, b64);
	T_EQ_INT(strlen(b64), 43, "short x25519 form is 43 characters");
	T_OK(strncmp(b64, s + 4, 40) == 0, "short form matches the start of the string");
}

/* Both halves of two identities are the same keys. */
static bool
same_keys(const struct hl_identity *a, const struct hl_identity *b)
{
	return a->x25519_sk && b->x25519_sk && memcmp(&a->pub, &b->pub, sizeof a->pub) == 0 &&
	       memcmp(a->x25519_sk, b->x25519_sk, 32) == 0 &&
	       memcmp(a->ed25519_sk, b->ed25519_sk, 64) == 0;
}

static void
test_protected(void)
{
	static const char pass[] = "correct horse battery staple", other[] = "correct horse";
	struct hl_identity a, b;
	struct hl_keyfile kf;
	char path[512], path2[512], *text = NULL, again[HL_KEYFILE_TEXT_MAX];
	size_t len = 0, alen = 0;
	struct stat st;
	int rc;

	path_of(path, sizeof path, "sealed");
	rc = hl_identity_generate(&a);
	T_EQ_INT(rc, HL_OK, "protected: generate");
	rc = hl_identity_write(&a, path, pass, strlen(pass), true);
	T_EQ_INT(rc, HL_OK, "write under a passphrase");
	T_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "written with mode 0600");
	T_EQ_INT(hl_identity_write(&a, path, pass, strlen(pass), true), HL_ERR_EXISTS,
	         "exclusive write refuses to overwrite");

	rc = hl_identity_open(&b, path, pass, strlen(pass));
	T_EQ_INT(rc, HL_OK, "open with the right passphrase");
	T_OK(same_keys(&a, &b), "the right passphrase gives the same keys");
	T_OK(b.sealed, "the identity knows its file is protected");
	hl_identity_free(&b);

	rc = hl_identity_open(&b, path, other, strlen(other));
	T_EQ_INT(rc, HL_ERR_KEY_BADPASS, "wrong passphrase: its own error");
	T_OK(rc != HL_ERR_KEY_PERMS && rc != HL_ERR_CORRUPT && rc != HL_ERR_KEY_LOCKED,
	     "wrong passphrase differs from permissions, damage and no passphrase");
	T_OK(b.x25519_sk == NULL && b.ed25519_sk == NULL, "nothing loaded with a wrong passphrase");
	T_EQ_INT(hl_identity_open(&b, path, "", 0), HL_ERR_KEY_BADPASS,
	         "empty passphrase is wrong");
	T_EQ_INT(hl_identity_open(&b, path, NULL, 0), HL_ERR_KEY_LOCKED,
	         "no passphrase for a protected file: locked");

	rc = hl_identity_load(&b, path);
	T_EQ_INT(rc, HL_OK, "load without a passphrase: the public half");
	T_OK(b.sealed && b.x25519_sk == NULL && b.ed25519_sk == NULL, "... and no secrets");
	T_EQ_MEM(&b.pub, &a.pub, sizeof a.pub, "... the public keys from the clear header");
	hl_identity_free(&b);

	T_OK(chmod(path, 0640) == 0, "chmod 0640");
	T_EQ_INT(hl_identity_open(&b, path, pass, strlen(pass)), HL_ERR_KEY_PERMS,
	         "a protected file readable by the group is still refused");
	T_EQ_INT(hl_identity_load(&b, path), HL_ERR_KEY_PERMS, "... also for the public half");
	T_OK(chmod(path, 0600) == 0, "chmod 0600");

	/* The file: its text, its parse and its header. */
	rc = hl_file_read(path, 4096, &text, &len);
	T_OK(rc == HL_OK && strncmp(text, "hotline-secret-key v2\n", 22) == 0,
	     "protected file header line");
	if (rc != HL_OK) {
		hl_identity_free(&a);
		return;
	}
	rc = hl_keyfile_parse(text, len, &kf);
	T_EQ_INT(rc, HL_OK, "parse the protected file");
	T_OK(kf.sealed && kf.opslimit >= crypto_pwhash_OPSLIMIT_INTERACTIVE &&
	         kf.memlimit >= crypto_pwhash_MEMLIMIT_INTERACTIVE,
	     "Argon2id limits at least INTERACTIVE");
	T_EQ_MEM(kf.header, "HLSK\x02\x01\x01\x00", 8, "magic, version, kdf, aead");
	hl_keyfile_format(&kf, again, &alen);
	T_OK(alen == len && memcmp(again, text, len) == 0, "format(parse(file)) is the file");
	{
		char *sec = malloc(2 * 64 + 1), b64[100];
		uint8_t raw[64];
		memcpy(raw, a.x25519_sk, 32);
		memcpy(raw + 32, a.ed25519_sk, 32);
		sodium_bin2hex(sec, 129, raw, sizeof raw);
		sodium_bin2base64(b64, sizeof b64, raw, 32,
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		T_OK(sec && !strstr(text, sec) && !strstr(text, b64) && !strstr(text, pass),
		     "no secret and no passphrase in the protected file");
		sodium_memzero(raw, sizeof raw);
		free(sec);
	}

	/* Tampering: every part of the sealed body and of the header is covered. */
	{
		static const struct {
			size_t off; /* byte of the decoded body */
			int want;
			const char *what;
		} flips[] = {
		    {5, HL_ERR_CORRUPT, "kdf id changed: corrupt"},
		    {8, HL_ERR_CORRUPT, "opslimit out of range: corrupt"},
		    {40, HL_ERR_CORRUPT, "x25519 public key in the header changed: corrupt"},
		    {80, HL_ERR_CORRUPT, "ed25519 public key in the header changed: corrupt"},
		    {120, HL_ERR_CORRUPT, "nonce changed: corrupt"},
		    {150, HL_ERR_CORRUPT, "sealed secret changed: corrupt"},
		    {219, HL_ERR_CORRUPT, "tag changed: corrupt"},
		    {25, HL_ERR_KEY_BADPASS, "salt changed: reads as a wrong passphrase"},
		};
		uint8_t body[HL_KEYFILE_HEADERBYTES + HL_KEYFILE_BOXBYTES];
		char bad[HL_KEYFILE_TEXT_MAX];
		for (size_t i = 0; i < ARRAY_SIZE(flips); i++) {
			size_t n;
			memcpy(body, kf.header, HL_KEYFILE_HEADERBYTES);
			memcpy(body + HL_KEYFILE_HEADERBYTES, kf.box, HL_KEYFILE_BOXBYTES);
			body[flips[i].off] ^= flips[i].off == 8 ? 0xff : 0x01;
			memcpy(bad, "hotline-secret-key v2\n", 22);
			sodium_bin2base64(bad + 22, sizeof bad - 22, body, sizeof body,
			                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			n = strlen(bad);
			path_of(path2, sizeof path2, "tampered");
			unlink(path2);
			rc = hl_file_write(path2, bad, n, 0600, true);
			T_OK(rc == HL_OK &&
			         hl_identity_open(&b, path2, pass, strlen(pass)) == flips[i].want,
			     "%s", flips[i].what);
			T_OK(b.x25519_sk == NULL, "... nothing loaded");
		}
		path_of(path2, sizeof path2, "tampered");
		unlink(path2);
		rc = hl_file_write(path2, text, len - 20, 0600, true);
		T_EQ_INT(hl_identity_open(&b, path2, pass, strlen(pass)), HL_ERR_CORRUPT,
		         "truncated protected file: corrupt");
		T_EQ_INT(hl_identity_load(&b, path2), HL_ERR_CORRUPT,
		         "... also without a passphrase");
		unlink(path2);
	}
	sodium_memzero(&kf, sizeof kf);
	sodium_memzero(text, len);
	free(text);

	/* Change, then remove the passphrase; the keys never change. */
	rc = hl_identity_open(&b, path, pass, strlen(pass));
	T_OK(rc == HL_OK && hl_identity_write(&b, path, other, strlen(other), false) == HL_OK,
	     "rewrite under a new passphrase");
	hl_identity_free(&b);
	T_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "rewritten with mode 0600");
	path_of(path2, sizeof path2, "sealed.tmp");
	T_OK(access(path2, F_OK) != 0, "no temporary file left behind");
	T_EQ_INT(hl_identity_open(&b, path, pass, strlen(pass)), HL_ERR_KEY_BADPASS,
	         "the old passphrase no longer opens it");
	rc = hl_identity_open(&b, path, other, strlen(other));
	T_OK(rc == HL_OK && same_keys(&a, &b), "the new one does, same keys");
	T_OK(rc == HL_OK && hl_identity_write(&b, path, NULL, 0, false) == HL_OK,
	     "rewrite in clear");
	hl_identity_free(&b);
	rc = hl_identity_load(&b, path);
	T_OK(rc == HL_OK && !b.sealed && same_keys(&a, &b),
	     "the clear (v1) file loads with hl_identity_load, same keys");
	hl_identity_free(&b);
	rc = hl_identity_open(&b, path, "ignored", 7);
	T_OK(rc == HL_OK && same_keys(&a, &b), "open ignores a passphrase for a clear file");
	hl_identity_free(&b);
	{
		struct hl_identity none = {0};
		T_EQ_INT(hl_identity_write(&none, path, NULL, 0, false), HL_ERR_INVAL,
		         "writing an identity without secrets is refused");
	}
	unlink(path);
	hl_identity_free(&a);
}

int
main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	test_generate();
	test_file();
	test_pubstr();
	test_protected();
	{
		static const char *const files[] = {"secret", "truncated", "header", "garbage",
		                                    "empty"};
		char path[512];
		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			path_of(path, sizeof path, files[i]);
			unlink(path);
		}
		if (rmdir(dir) != 0)
			printf("# could not remove %s\n", dir);
	}
	return t_done();
}
