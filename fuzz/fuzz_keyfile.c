/* SPDX-License-Identifier: ISC */
/*
 * fuzz_keyfile.c: libFuzzer harness for hl_keyfile_parse (src/keys.c), the
 * parser of the secret key file in both formats: v1 (clear) and v2
 * (passphrase-protected header and sealed box). No passphrase is tried:
 * Argon2id is the point of the format and would only slow the fuzzer down.
 * A refused input must leave the struct wiped; an accepted one must come
 * back from hl_keyfile_format as a file that parses to the same fields,
 * with its limits inside the bounds a reader accepts.
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hl_keyfile zero;
	static bool init;
	struct hl_keyfile kf, back;
	char text[HL_KEYFILE_TEXT_MAX];
	size_t len = 0;

	if (!init) {
		if (sodium_init() < 0)
			abort();
		init = true;
	}
	memset(&kf, 0x5a, sizeof kf);
	if (hl_keyfile_parse((const char *)data, size, &kf) < 0) {
		if (memcmp(&kf, &zero, sizeof kf) != 0)
			abort(); /* a refused file leaves nothing behind */
		return 0;
	}
	if (kf.sealed && (kf.opslimit < crypto_pwhash_OPSLIMIT_MIN || kf.opslimit > 16 ||
	                  kf.memlimit < crypto_pwhash_MEMLIMIT_MIN ||
	                  kf.memlimit > crypto_pwhash_MEMLIMIT_SENSITIVE))
		abort();
	hl_keyfile_format(&kf, text, &len);
	if (len != strlen(text) || len >= HL_KEYFILE_TEXT_MAX)
		abort();
	if (hl_keyfile_parse(text, len, &back) != HL_OK || back.sealed != kf.sealed)
		abort();
	if (!kf.sealed && memcmp(back.secret, kf.secret, sizeof kf.secret) != 0)
		abort();
	if (kf.sealed && (memcmp(back.header, kf.header, sizeof kf.header) != 0 ||
	                  memcmp(back.box, kf.box, sizeof kf.box) != 0 ||
	                  back.opslimit != kf.opslimit || back.memlimit != kf.memlimit))
		abort();
	sodium_memzero(&kf, sizeof kf);
	sodium_memzero(&back, sizeof back);
	return 0;
}
