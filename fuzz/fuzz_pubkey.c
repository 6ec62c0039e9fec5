/* SPDX-License-Identifier: ISC */
/*
 * fuzz_pubkey.c: libFuzzer harness for hl_pubkey_decode (src/keys.c). The
 * input, copied and NUL-terminated, is a public key string as an operator
 * might paste it. A refused string must leave the output untouched; an
 * accepted one must be canonical: encoding the key again gives back the
 * input exactly, so one key has one spelling (but see the known issue
 * below).
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct hl_pubkey pk, sentinel;
	char *s, again[HL_PUBSTR_MAX], b64[48];
	int rc;

	if (!init) {
		if (sodium_init() < 0)
			abort();
		init = true;
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&sentinel, 0x5a, sizeof sentinel);
	pk = sentinel;
	rc = hl_pubkey_decode(s, &pk);
	if (rc < 0) {
		if (rc != HL_ERR_INVAL || memcmp(&pk, &sentinel, sizeof pk) != 0)
			abort();
		free(s);
		return 0;
	}
	if (rc != HL_OK)
		abort();
	hl_pubkey_encode(&pk, again);
	/* One key, one spelling: whatever decodes must be the canonical string. */
	if (strcmp(again, s) != 0)
		abort();
	hl_x25519_b64(pk.x25519, b64);
	if (strlen(b64) != 43)
		abort();
	free(s);
	return 0;
}
