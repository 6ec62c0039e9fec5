/* SPDX-License-Identifier: ISC */
/*
 * fuzz_noise.c: libFuzzer harness for src/noise.c. The input is handshake
 * message 0 to a responder with a fixed static key, and message 1 to an
 * initiator that has just written message 0. When it is long enough, its
 * first 8 bytes also set a receive nonce and the rest is a transport
 * message for hl_cipher_decrypt under a fixed key. Nothing may crash, leak
 * or read out of bounds, and every failure must leave the state wiped.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t payload[HL_NOISE_MAXMSG];
static uint8_t out[HL_NOISE_MAXMSG];

static void
setup(void)
{
	static bool done;

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	done = true;
}

static void
check_wiped(const struct hl_noise_hs *hs)
{
	const uint8_t *p = (const uint8_t *)hs;
	size_t i;

	for (i = 0; i < sizeof *hs; i++)
		if (p[i] != 0)
			abort();
}

/* Message 0 to a responder; if it were ever accepted, finish the handshake. */
static void
fuzz_msg0(const uint8_t *data, size_t size, const uint8_t r_sk[32])
{
	struct hl_noise_hs hs;
	struct hl_cipher tx, rx;
	size_t plen = 0, olen = 0;

	if (hl_noise_init_responder(&hs, (const uint8_t *)"fuzz", 4, r_sk) != HL_OK)
		abort();
	if (hl_noise_read(&hs, data, size, payload, sizeof payload, &plen) != HL_OK) {
		check_wiped(&hs);
		return;
	}
	if (plen != size - HL_NOISE_IK_MSG0_MIN)
		abort();
	if (hl_noise_write(&hs, NULL, 0, out, sizeof out, &olen) == HL_OK &&
	    hl_noise_split(&hs, &tx, &rx) == HL_OK) {
		hl_cipher_wipe(&tx);
		hl_cipher_wipe(&rx);
	}
	hl_noise_wipe(&hs);
}

/* Message 1 to an initiator that has sent message 0. */
static void
fuzz_msg1(const uint8_t *data, size_t size, const uint8_t i_sk[32], const uint8_t r_pk[32])
{
	static const uint8_t e_sk[32] = {0x42};
	struct hl_noise_hs hs;
	size_t plen = 0, olen = 0;

	if (hl_noise_init_initiator(&hs, (const uint8_t *)"fuzz", 4, i_sk, r_pk) != HL_OK)
		abort();
#ifdef HL_TESTING
	hl_noise_set_ephemeral(&hs, e_sk);
#else
	(void)e_sk;
#endif
	if (hl_noise_write(&hs, NULL, 0, out, sizeof out, &olen) != HL_OK)
		abort();
	if (hl_noise_read(&hs, data, size, payload, sizeof payload, &plen) != HL_OK)
		check_wiped(&hs);
	hl_noise_wipe(&hs);
}

/* First 8 bytes: the receive nonce; the rest: a transport message. */
static void
fuzz_transport(const uint8_t *data, size_t size)
{
	struct hl_cipher c;
	uint64_t n = 0;
	size_t i, olen = 0;
	int rc;

	memset(&c, 0, sizeof c);
	memset(c.k, 0x5a, sizeof c.k);
	c.has_key = true;
	for (i = 0; i < 8; i++)
		n |= (uint64_t)data[i] << (8 * i);
	c.n = n;
	rc = hl_cipher_decrypt(&c, data + 8, size - 8, payload, sizeof payload, &olen);
	if (rc != HL_OK && (c.n != n || olen != 0))
		abort();
	if (rc == HL_OK && (c.n != n + 1 || olen != size - 8 - HL_NOISE_TAGLEN))
		abort();
	hl_cipher_rekey(&c);
	hl_cipher_wipe(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t r_sk[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
	                                 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
	                                 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	static const uint8_t i_sk[32] = {0x77};
	static uint8_t r_pk[32];
	static bool have_pk;

	setup();
	if (!have_pk) {
		if (crypto_scalarmult_base(r_pk, r_sk) != 0)
			abort();
		have_pk = true;
	}
	fuzz_msg0(data, size, r_sk);
	fuzz_msg1(data, size, i_sk, r_pk);
	if (size >= 8)
		fuzz_transport(data, size);
	return 0;
}
