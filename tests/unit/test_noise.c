/* SPDX-License-Identifier: ISC */
/*
 * test_noise.c: checks src/noise.c against every
 * Noise_IK_25519_ChaChaPoly_BLAKE2b vector in the cacophony file (path in
 * argv[1]), byte for byte, then the negative and edge cases the vectors do
 * not cover: tampering, wrong prologue or key, bad lengths, low-order
 * ephemerals, empty prologue and payloads, nonce exhaustion and rekey.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "noise.h"
#include "t.h"

#define IK_NAME "Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define BUFSZ (HL_NOISE_MAXMSG + 64)

static uint8_t buf_a[BUFSZ], buf_b[BUFSZ], buf_c[BUFSZ];

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex into out (capacity cap); returns the length or -1. */
static long
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), i;
	int hi, lo;

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* A hex field of obj, decoded; -1 when missing or malformed. */
static long
field(json_t *obj, const char *key, uint8_t *out, size_t cap)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return -1;
	return unhex(json_string_value(v), out, cap);
}

static bool
is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Run one IK vector through both sides. */
static void
run_vector(json_t *v)
{
	uint8_t ipro[256], rpro[256], is[32], ie[32], irs[32], rsk[32], re[32], hh[64];
	uint8_t ipub[32], pay[1024], ct[2048];
	long ipl, rpl, plen, clen;
	struct hl_noise_hs ini, res;
	struct hl_cipher itx, irx, rtx, rrx;
	json_t *msgs, *m;
	size_t i, outlen, plout;
	int rc;

	ipl = field(v, "init_prologue", ipro, sizeof ipro);
	rpl = field(v, "resp_prologue", rpro, sizeof rpro);
	T_OK(ipl >= 0 && rpl >= 0 && field(v, "init_static", is, 32) == 32 &&
	         field(v, "init_ephemeral", ie, 32) == 32 &&
	         field(v, "init_remote_static", irs, 32) == 32 &&
	         field(v, "resp_static", rsk, 32) == 32 &&
	         field(v, "resp_ephemeral", re, 32) == 32 &&
	         field(v, "handshake_hash", hh, 64) == 64,
	     "vector: all key fields present");
	msgs = json_object_get(v, "messages");
	T_OK(json_is_array(msgs) && json_array_size(msgs) == 6, "vector: 6 messages");
	if (!json_is_array(msgs) || json_array_size(msgs) < 2 || ipl < 0 || rpl < 0)
		return;
	T_OK(crypto_scalarmult_base(ipub, is) == 0, "derive initiator public key");

	rc = hl_noise_init_initiator(&ini, ipro, (size_t)ipl, is, irs);
	T_EQ_INT(rc, HL_OK, "vector: init initiator");
	rc = hl_noise_init_responder(&res, rpro, (size_t)rpl, rsk);
	T_EQ_INT(rc, HL_OK, "vector: init responder");
	hl_noise_set_ephemeral(&ini, ie);
	hl_noise_set_ephemeral(&res, re);

	for (i = 0; i < json_array_size(msgs); i++) {
		bool from_init = i % 2 == 0;

		m = json_array_get(msgs, i);
		plen = field(m, "payload", pay, sizeof pay);
		clen = field(m, "ciphertext", ct, sizeof ct);
		T_OK(plen >= 0 && clen >= 0, "vector msg %zu: fields decode", i);
		if (plen < 0 || clen < 0)
			return;
		if (i < 2) {
			struct hl_noise_hs *w = from_init ? &ini : &res;
			struct hl_noise_hs *r = from_init ? &res : &ini;

			rc = hl_noise_write(w, pay, (size_t)plen, buf_a, BUFSZ, &outlen);
			T_EQ_INT(rc, HL_OK, "vector handshake write");
			T_OK(outlen == (size_t)clen && memcmp(buf_a, ct, outlen) == 0,
			     "vector msg %zu: handshake bytes match (%zu bytes)", i, outlen);
			rc = hl_noise_read(r, ct, (size_t)clen, buf_b, BUFSZ, &plout);
			T_EQ_INT(rc, HL_OK, "vector handshake read");
			T_OK(plout == (size_t)plen && memcmp(buf_b, pay, plout) == 0,
			     "vector msg %zu: payload decrypts", i);
			if (i == 0)
				T_EQ_MEM(hl_noise_remote_static(&res), ipub, 32,
				         "vector: responder learned initiator static key");
			if (i == 1) {
				T_OK(hl_noise_done(&ini) && hl_noise_done(&res),
				     "vector: both sides done");
				T_EQ_MEM(hl_noise_handshake_hash(&ini), hh, 64,
				         "vector: initiator handshake hash");
				T_EQ_MEM(hl_noise_handshake_hash(&res), hh, 64,
				         "vector: responder handshake hash");
				T_EQ_INT(hl_noise_split(&ini, &itx, &irx), HL_OK,
				         "vector: initiator split");
				T_EQ_INT(hl_noise_split(&res, &rtx, &rrx), HL_OK,
				         "vector: responder split");
				T_EQ_MEM(hl_noise_handshake_hash(&ini), hh, 64,
				         "vector: h kept after split");
			}
		} else {
			struct hl_cipher *tx = from_init ? &itx : &rtx;
			struct hl_cipher *rx = from_init ? &rrx : &irx;

			rc = hl_cipher_encrypt(tx, pay, (size_t)plen, buf_a, BUFSZ, &outlen);
			T_EQ_INT(rc, HL_OK, "vector transport encrypt");
			T_OK(outlen == (size_t)clen && memcmp(buf_a, ct, outlen) == 0,
			     "vector msg %zu (%s): transport bytes match", i,
			     from_init ? "i->r" : "r->i");
			rc = hl_cipher_decrypt(rx, ct, (size_t)clen, buf_b, BUFSZ, &plout);
			T_OK(rc == HL_OK && plout == (size_t)plen && memcmp(buf_b, pay, plout) == 0,
			     "vector msg %zu: transport decrypts", i);
		}
	}
	hl_cipher_wipe(&itx);
	hl_cipher_wipe(&irx);
	hl_cipher_wipe(&rtx);
	hl_cipher_wipe(&rrx);
}

static int
run_vectors(const char *path)
{
	json_error_t err;
	json_t *root, *vecs, *v, *name;
	size_t i;
	int found = 0;

	root = json_load_file(path, 0, &err);
	T_OK(root != NULL, "load vectors from %s", path);
	if (root == NULL) {
		printf("# %s:%d: %s\n", path, err.line, err.text);
		return 0;
	}
	vecs = json_object_get(root, "vectors");
	T_OK(json_is_array(vecs), "vectors is an array");
	json_array_foreach(vecs, i, v)
	{
		name = json_object_get(v, "protocol_name");
		if (json_is_string(name) && strcmp(json_string_value(name), IK_NAME) == 0) {
			printf("# vector %zu: %s\n", i, IK_NAME);
			run_vector(v);
			found++;
		}
	}
	T_OK(found > 0, "found %d %s vector(s)", found, IK_NAME);
	json_decref(root);
	return found;
}

/* Fixed keys for the hand-written tests. */
static uint8_t i_sk[32], i_pk[32], r_sk[32], r_pk[32], ie_sk[32], re_sk[32];
static const uint8_t prologue[] = "hotline test";
#define PRO_LEN (sizeof prologue - 1)

static void
keys_init(void)
{
	int ok = 1;

	memset(i_sk, 0x11, 32);
	memset(r_sk, 0x22, 32);
	memset(ie_sk, 0x33, 32);
	memset(re_sk, 0x44, 32);
	ok &= crypto_scalarmult_base(i_pk, i_sk) == 0;
	ok &= crypto_scalarmult_base(r_pk, r_sk) == 0;
	T_OK(ok, "fixed test keys");
}

/* Fresh deterministic pair with fixed ephemerals. */
static void
pair_init(struct hl_noise_hs *ini, struct hl_noise_hs *res)
{
	int rc = hl_noise_init_initiator(ini, prologue, PRO_LEN, i_sk, r_pk);

	if (rc == HL_OK)
		rc = hl_noise_init_responder(res, prologue, PRO_LEN, r_sk);
	if (rc != HL_OK) {
		printf("Bail out! pair_init failed: %d\n", rc);
		exit(1);
	}
	hl_noise_set_ephemeral(ini, ie_sk);
	hl_noise_set_ephemeral(res, re_sk);
}

/* Full handshake with given payloads; returns HL_OK and fills the ciphers. */
static int
handshake(struct hl_noise_hs *ini, struct hl_noise_hs *res, struct hl_cipher *itx,
          struct hl_cipher *irx, struct hl_cipher *rtx, struct hl_cipher *rrx, size_t *len0,
          size_t *len1)
{
	uint8_t m0[BUFSZ], m1[BUFSZ], p[BUFSZ];
	size_t pl;
	int rc;

	if ((rc = hl_noise_write(ini, NULL, 0, m0, sizeof m0, len0)) < 0 ||
	    (rc = hl_noise_read(res, m0, *len0, p, sizeof p, &pl)) < 0 ||
	    (rc = hl_noise_write(res, NULL, 0, m1, sizeof m1, len1)) < 0 ||
	    (rc = hl_noise_read(ini, m1, *len1, p, sizeof p, &pl)) < 0)
		return rc;
	if (sodium_memcmp(hl_noise_handshake_hash(ini), hl_noise_handshake_hash(res), 64) != 0)
		return HL_ERR_AUTH;
	if ((rc = hl_noise_split(ini, itx, irx)) < 0 || (rc = hl_noise_split(res, rtx, rrx)) < 0)
		return rc;
	return HL_OK;
}

static void
test_tamper_handshake(void)
{
	struct hl_noise_hs ini, res;
	uint8_t m0[256], m1[256], p[256];
	size_t l0, l1, pl, pos;
	int bad0 = 0, bad1 = 0, rc;

	/* Reference messages with a 5-byte payload each. */
	pair_init(&ini, &res);
	if (hl_noise_write(&ini, (const uint8_t *)"hello", 5, m0, sizeof m0, &l0) != HL_OK ||
	    hl_noise_read(&res, m0, l0, p, sizeof p, &pl) != HL_OK ||
	    hl_noise_write(&res, (const uint8_t *)"world", 5, m1, sizeof m1, &l1) != HL_OK ||
	    hl_noise_read(&ini, m1, l1, p, sizeof p, &pl) != HL_OK) {
		T_OK(0, "reference handshake");
		return;
	}
	T_OK(l0 == HL_NOISE_IK_MSG0_MIN + 5 && l1 == HL_NOISE_IK_MSG1_MIN + 5,
	     "reference handshake sizes");

	/* Every single-bit flip in msg 0 (one bit per byte position) is rejected. */
	for (pos = 0; pos < l0; pos++) {
		pair_init(&ini, &res);
		m0[pos] ^= (uint8_t)(1u << (pos % 8));
		rc = hl_noise_read(&res, m0, l0, p, sizeof p, &pl);
		m0[pos] ^= (uint8_t)(1u << (pos % 8));
		if (rc != HL_ERR_AUTH || hl_noise_done(&res) || pl != 0 ||
		    !is_zero((const uint8_t *)&res, sizeof res))
			bad0++;
	}
	T_EQ_INT(bad0, 0, "msg0: every bit flip fails with HL_ERR_AUTH and wipes the state");

	/* Every single-bit flip in msg 1, likewise. */
	for (pos = 0; pos < l1; pos++) {
		pair_init(&ini, &res);
		if (hl_noise_write(&ini, (const uint8_t *)"hello", 5, m0, sizeof m0, &l0) !=
		    HL_OK) {
			bad1++;
			continue;
		}
		m1[pos] ^= (uint8_t)(1u << (pos % 8));
		rc = hl_noise_read(&ini, m1, l1, p, sizeof p, &pl);
		m1[pos] ^= (uint8_t)(1u << (pos % 8));
		if (rc != HL_ERR_AUTH || hl_noise_done(&ini) ||
		    !is_zero((const uint8_t *)&ini, sizeof ini))
			bad1++;
	}
	T_EQ_INT(bad1, 0, "msg1: every bit flip fails with HL_ERR_AUTH and wipes the state");
	pair_init(&ini, &res);
	rc = hl_noise_write(&ini, (const uint8_t *)"hello", 5, m0, sizeof m0, &l0);
	if (rc == HL_OK)
		rc = hl_noise_read(&ini, m1, l1, p, sizeof p, &pl);
	T_OK(rc == HL_OK && pl == 5 && memcmp(p, "world", 5) == 0,
	     "msg1 restored after the flips is still accepted");

	/* A failed handshake state cannot be used again. */
	pair_init(&ini, &res);
	m0[40] ^= 1;
	rc = hl_noise_read(&res, m0, l0, p, sizeof p, &pl);
	m0[40] ^= 1;
	T_EQ_INT(rc, HL_ERR_AUTH, "tampered msg0 fails");
	T_EQ_INT(hl_noise_write(&res, NULL, 0, m1, sizeof m1, &l1), HL_ERR_INVAL,
	         "wiped responder refuses to write");
	T_EQ_INT(hl_noise_read(&res, m0, l0, p, sizeof p, &pl), HL_ERR_INVAL,
	         "wiped responder refuses to read");
	hl_noise_wipe(&ini);
}

static void
test_wrong_inputs(void)
{
	struct hl_noise_hs ini, res;
	uint8_t m0[256], p[256], other_sk[32], other_pk[32];
	size_t l0, pl;
	int rc;

	/* Wrong prologue on the responder. */
	T_EQ_INT(hl_noise_init_initiator(&ini, prologue, PRO_LEN, i_sk, r_pk), HL_OK,
	         "init initiator");
	T_EQ_INT(hl_noise_init_responder(&res, (const uint8_t *)"hotline tesT", PRO_LEN, r_sk),
	         HL_OK, "init responder with another prologue");
	T_EQ_INT(hl_noise_write(&ini, NULL, 0, m0, sizeof m0, &l0), HL_OK, "write msg0");
	T_EQ_INT(hl_noise_read(&res, m0, l0, p, sizeof p, &pl), HL_ERR_AUTH,
	         "wrong prologue: msg0 rejected");

	/* Initiator pinned to another responder key. */
	memset(other_sk, 0x55, 32);
	T_OK(crypto_scalarmult_base(other_pk, other_sk) == 0, "other key");
	T_EQ_INT(hl_noise_init_initiator(&ini, prologue, PRO_LEN, i_sk, other_pk), HL_OK,
	         "init initiator for another responder");
	T_EQ_INT(hl_noise_init_responder(&res, prologue, PRO_LEN, r_sk), HL_OK, "init responder");
	T_EQ_INT(hl_noise_write(&ini, NULL, 0, m0, sizeof m0, &l0), HL_OK, "write msg0");
	T_EQ_INT(hl_noise_read(&res, m0, l0, p, sizeof p, &pl), HL_ERR_AUTH,
	         "msg0 for another responder rejected");

	/* Out-of-turn calls. */
	pair_init(&ini, &res);
	T_EQ_INT(hl_noise_write(&res, NULL, 0, m0, sizeof m0, &l0), HL_ERR_INVAL,
	         "responder cannot write first");
	pair_init(&ini, &res);
	T_EQ_INT(hl_noise_read(&ini, m0, 96, p, sizeof p, &pl), HL_ERR_INVAL,
	         "initiator cannot read first");
	pair_init(&ini, &res);
	{
		struct hl_cipher a, b;

		rc = hl_noise_split(&ini, &a, &b);
		T_EQ_INT(rc, HL_ERR_INVAL, "split before the handshake is done");
	}
	/* Output buffer too small. */
	pair_init(&ini, &res);
	T_EQ_INT(hl_noise_write(&ini, NULL, 0, m0, HL_NOISE_IK_MSG0_MIN - 1, &l0), HL_ERR_INVAL,
	         "write into a too-small buffer");
	hl_noise_wipe(&res);
}

static void
test_lengths(void)
{
	struct hl_noise_hs ini, res;
	struct hl_cipher c = {0};
	uint8_t m0[256], m1[256], p[256];
	size_t l0, l1, pl, ol;

	/* Truncated msg0 and msg1 (min - 1) rejected before any crypto. */
	pair_init(&ini, &res);
	T_EQ_INT(hl_noise_write(&ini, NULL, 0, m0, sizeof m0, &l0), HL_OK, "write msg0");
	T_EQ_INT(hl_noise_read(&res, m0, HL_NOISE_IK_MSG0_MIN - 1, p, sizeof p, &pl), HL_ERR_PROTO,
	         "msg0 of 95 bytes rejected");
	T_EQ_INT(hl_noise_init_responder(&res, prologue, PRO_LEN, r_sk), HL_OK, "init responder");
	hl_noise_set_ephemeral(&res, re_sk);
	T_EQ_INT(hl_noise_read(&res, m0, l0, p, sizeof p, &pl), HL_OK, "read msg0");
	T_EQ_INT(hl_noise_write(&res, NULL, 0, m1, sizeof m1, &l1), HL_OK, "write msg1");
	T_EQ_INT(hl_noise_read(&ini, m1, HL_NOISE_IK_MSG1_MIN - 1, p, sizeof p, &pl), HL_ERR_PROTO,
	         "msg1 of 47 bytes rejected");

	/* Oversized messages. */
	pair_init(&ini, &res);
	T_EQ_INT(hl_noise_read(&res, buf_a, HL_NOISE_MAXMSG + 1, buf_b, BUFSZ, &pl), HL_ERR_PROTO,
	         "msg0 of 65536 bytes rejected");
	pair_init(&ini, &res);
	T_EQ_INT(hl_noise_write(&ini, buf_c, HL_NOISE_MAXMSG - HL_NOISE_IK_MSG0_MIN + 1, buf_a,
	                        BUFSZ, &l0),
	         HL_ERR_LIMIT, "msg0 payload that would exceed 65535 refused");
	pair_init(&ini, &res);
	T_EQ_INT(
	    hl_noise_write(&ini, buf_c, HL_NOISE_MAXMSG - HL_NOISE_IK_MSG0_MIN, buf_a, BUFSZ, &l0),
	    HL_OK, "msg0 of exactly 65535 bytes written");
	T_EQ_INT(l0, HL_NOISE_MAXMSG, "msg0 is 65535 bytes");
	T_EQ_INT(
	    hl_noise_read(&res, buf_a, l0, buf_b, HL_NOISE_MAXMSG - HL_NOISE_IK_MSG0_MIN - 1, &pl),
	    HL_ERR_INVAL, "payload buffer one byte short");
	pair_init(&ini, &res);
	T_EQ_INT(
	    hl_noise_write(&ini, buf_c, HL_NOISE_MAXMSG - HL_NOISE_IK_MSG0_MIN, buf_a, BUFSZ, &l0),
	    HL_OK, "msg0 of 65535 bytes again");
	T_EQ_INT(hl_noise_read(&res, buf_a, l0, buf_b, BUFSZ, &pl), HL_OK,
	         "msg0 of 65535 bytes read");
	T_EQ_INT(pl, HL_NOISE_MAXMSG - HL_NOISE_IK_MSG0_MIN, "its payload length");
	hl_noise_wipe(&ini);
	hl_noise_wipe(&res);

	/* Transport lengths. */
	memset(c.k, 7, sizeof c.k);
	c.has_key = true;
	T_EQ_INT(hl_cipher_decrypt(&c, buf_a, HL_NOISE_TAGLEN - 1, buf_b, BUFSZ, &ol), HL_ERR_PROTO,
	         "transport message of 15 bytes rejected");
	T_EQ_INT(hl_cipher_decrypt(&c, buf_a, HL_NOISE_MAXMSG + 1, buf_b, BUFSZ, &ol), HL_ERR_PROTO,
	         "transport message of 65536 bytes rejected");
	T_EQ_INT(
	    hl_cipher_encrypt(&c, buf_c, HL_NOISE_MAXMSG - HL_NOISE_TAGLEN + 1, buf_a, BUFSZ, &ol),
	    HL_ERR_LIMIT, "transport plaintext of 65520 bytes refused");
	T_EQ_INT(hl_cipher_encrypt(&c, buf_c, 10, buf_a, 25, &ol), HL_ERR_INVAL,
	         "transport output buffer one byte short");
	T_EQ_INT(c.n, 0, "refusals do not advance n");
	T_EQ_INT(hl_cipher_encrypt(&c, buf_c, HL_NOISE_MAXMSG - HL_NOISE_TAGLEN, buf_a, BUFSZ, &ol),
	         HL_OK, "transport plaintext of 65519 bytes ok");
	T_EQ_INT(ol, HL_NOISE_MAXMSG, "gives 65535 bytes");
	c.n = 0;
	T_EQ_INT(
	    hl_cipher_decrypt(&c, buf_a, ol, buf_b, HL_NOISE_MAXMSG - HL_NOISE_TAGLEN - 1, &ol),
	    HL_ERR_INVAL, "transport plaintext buffer one byte short");
	T_EQ_INT(hl_cipher_decrypt(&c, buf_a, HL_NOISE_MAXMSG, buf_b, BUFSZ, &ol), HL_OK,
	         "65535-byte transport message decrypts");
	hl_cipher_wipe(&c);
	T_EQ_INT(hl_cipher_encrypt(&c, buf_c, 1, buf_a, BUFSZ, &ol), HL_ERR_INVAL,
	         "cipher without a key refuses to encrypt");
}

/* Crafted msg0 whose e is all zeros, or another low-order point. */
static void
test_low_order_ephemeral(void)
{
	/* Order-1 (0), order-1 (1), and an order-8 point from libsodium's blacklist. */
	static const uint8_t order8[32] = {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae,
	                                   0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
	                                   0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd,
	                                   0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
	struct hl_noise_hs ini, res;
	uint8_t m0[256], m1[256], p[256];
	size_t l0, l1, pl;

	pair_init(&ini, &res);
	T_EQ_INT(hl_noise_write(&ini, NULL, 0, m0, sizeof m0, &l0), HL_OK, "write msg0");
	memset(m0, 0, 32);
	T_EQ_INT(hl_noise_read(&res, m0, l0, p, sizeof p, &pl), HL_ERR_AUTH,
	         "msg0 with an all-zero e rejected");
	T_OK(is_zero((const uint8_t *)&res, sizeof res), "and the responder state is wiped");
	pair_init(&ini, &res);
	memset(m0, 0, 32);
	m0[0] = 1;
	T_EQ_INT(hl_noise_read(&res, m0, l0, p, sizeof p, &pl), HL_ERR_AUTH,
	         "msg0 with e = 1 rejected");
	pair_init(&ini, &res);
	memcpy(m0, order8, 32);
	T_EQ_INT(hl_noise_read(&res, m0, l0, p, sizeof p, &pl), HL_ERR_AUTH,
	         "msg0 with an order-8 e rejected");

	/* msg1 with an all-zero e. */
	pair_init(&ini, &res);
	T_EQ_INT(hl_noise_write(&ini, NULL, 0, m0, sizeof m0, &l0), HL_OK, "write msg0");
	T_EQ_INT(hl_noise_read(&res, m0, l0, p, sizeof p, &pl), HL_OK, "read msg0");
	T_EQ_INT(hl_noise_write(&res, NULL, 0, m1, sizeof m1, &l1), HL_OK, "write msg1");
	memset(m1, 0, 32);
	T_EQ_INT(hl_noise_read(&ini, m1, l1, p, sizeof p, &pl), HL_ERR_AUTH,
	         "msg1 with an all-zero e rejected");

	/* Initiator pinned to an all-zero responder key cannot even write. */
	memset(p, 0, 32);
	T_EQ_INT(hl_noise_init_initiator(&ini, prologue, PRO_LEN, i_sk, p), HL_OK,
	         "init with an all-zero rs");
	T_EQ_INT(hl_noise_write(&ini, NULL, 0, m0, sizeof m0, &l0), HL_ERR_AUTH,
	         "write msg0 to an all-zero rs fails");
	hl_noise_wipe(&res);
}

/* Empty prologue, random keys, empty payloads: exact sizes, traffic flows. */
static void
test_empty_and_random(void)
{
	uint8_t a_sk[32], a_pk[32], b_sk[32], b_pk[32], pad[64], h0[64], h1[64], msg[64];
	struct hl_noise_hs ini, res;
	struct hl_cipher itx, irx, rtx, rrx;
	size_t l0 = 0, l1 = 0, ol, pl;
	int rc;

	T_OK(crypto_box_keypair(a_pk, a_sk) == 0 && crypto_box_keypair(b_pk, b_sk) == 0,
	     "random static keys");
	T_EQ_INT(hl_noise_init_initiator(&ini, NULL, 0, a_sk, b_pk), HL_OK,
	         "init initiator, empty prologue");
	T_EQ_INT(hl_noise_init_responder(&res, (const uint8_t *)"", 0, b_sk), HL_OK,
	         "init responder, empty prologue");

	/* h after Initialize = HASH(HASH(name || zeros) || rs): MixHash("") ran. */
	memset(pad, 0, sizeof pad);
	memcpy(pad, IK_NAME, sizeof IK_NAME - 1);
	rc = crypto_generichash(h0, 64, pad, 64, NULL, 0);
	{
		crypto_generichash_state st;

		rc |= crypto_generichash_init(&st, NULL, 0, 64);
		rc |= crypto_generichash_update(&st, h0, 64);
		rc |= crypto_generichash_update(&st, b_pk, 32);
		rc |= crypto_generichash_final(&st, h1, 64);
	}
	T_OK(rc == 0, "expected initial h computed");
	T_EQ_MEM(ini.h, h1, 64,
	         "initiator: empty prologue still hashed (h = HASH(HASH(name)||rs))");
	T_EQ_MEM(res.h, h1, 64, "responder: empty prologue still hashed");

	rc = handshake(&ini, &res, &itx, &irx, &rtx, &rrx, &l0, &l1);
	T_EQ_INT(rc, HL_OK, "random handshake with empty prologue completes");
	T_EQ_INT(l0, HL_NOISE_IK_MSG0_MIN, "empty payload: msg0 is exactly 96 bytes");
	T_EQ_INT(l1, HL_NOISE_IK_MSG1_MIN, "empty payload: msg1 is exactly 48 bytes");
	T_EQ_MEM(hl_noise_handshake_hash(&ini), hl_noise_handshake_hash(&res), 64,
	         "both sides agree on h");
	T_OK(!is_zero(itx.k, 32) && memcmp(itx.k, rrx.k, 32) == 0 &&
	         memcmp(rtx.k, irx.k, 32) == 0 && memcmp(itx.k, irx.k, 32) != 0,
	     "split: tx/rx oriented, two distinct keys");
	T_OK(is_zero(ini.ck, 64) && is_zero(ini.e_sk, 32) && is_zero(ini.s_sk, 32) &&
	         !ini.cs.has_key,
	     "split wiped the handshake secrets");
	{
		struct hl_cipher x, y;

		T_EQ_INT(hl_noise_split(&ini, &x, &y), HL_ERR_INVAL, "second split refused");
	}

	T_EQ_INT(hl_cipher_encrypt(&itx, NULL, 0, msg, sizeof msg, &ol), HL_OK,
	         "empty transport message");
	T_EQ_INT(ol, HL_NOISE_TAGLEN, "is exactly 16 bytes");
	T_EQ_INT(hl_cipher_decrypt(&rrx, msg, ol, NULL, 0, &pl), HL_OK, "and decrypts");
	T_EQ_INT(pl, 0, "to nothing");
	memcpy(msg, "ping", 4);
	rc = hl_cipher_encrypt(&rtx, msg, 4, msg, sizeof msg, &ol); /* in place */
	T_EQ_INT(rc, HL_OK, "r->i in place");
	rc = hl_cipher_decrypt(&irx, msg, ol, msg, sizeof msg, &pl);
	T_OK(rc == HL_OK && pl == 4 && memcmp(msg, "ping", 4) == 0, "r->i round trip in place");
	hl_cipher_wipe(&itx);
	hl_cipher_wipe(&irx);
	hl_cipher_wipe(&rtx);
	hl_cipher_wipe(&rrx);
	hl_noise_wipe(&ini);
	hl_noise_wipe(&res);
	hl_noise_wipe(&ini);
	T_OK(is_zero((const uint8_t *)&ini, sizeof ini) && !hl_noise_done(&ini),
	     "wipe twice is safe");
	sodium_memzero(a_sk, sizeof a_sk);
	sodium_memzero(b_sk, sizeof b_sk);
}

static void
test_transport(void)
{
	struct hl_noise_hs ini, res;
	struct hl_cipher itx, irx, rtx, rrx, saved;
	uint8_t ct[64], pt[64];
	size_t l0, l1, ol, pl;
	int rc, bad = 0;
	size_t bit;

	pair_init(&ini, &res);
	T_EQ_INT(handshake(&ini, &res, &itx, &irx, &rtx, &rrx, &l0, &l1), HL_OK,
	         "handshake for transport tests");

	/* Tampered transport message: fails, n not advanced, original then decrypts. */
	T_EQ_INT(hl_cipher_encrypt(&itx, (const uint8_t *)"payload!", 8, ct, sizeof ct, &ol), HL_OK,
	         "encrypt");
	for (bit = 0; bit < ol * 8; bit++) {
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = hl_cipher_decrypt(&rrx, ct, ol, pt, sizeof pt, &pl);
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (rc != HL_ERR_AUTH || rrx.n != 0 || pl != 0)
			bad++;
	}
	T_EQ_INT(bad, 0, "every bit flip of a transport message fails, n stays 0");
	rc = hl_cipher_decrypt(&rrx, ct, ol, pt, sizeof pt, &pl);
	T_OK(rc == HL_OK && pl == 8 && memcmp(pt, "payload!", 8) == 0 && rrx.n == 1,
	     "untampered message then decrypts, n = 1");
	T_EQ_INT(hl_cipher_decrypt(&rrx, ct, ol, pt, sizeof pt, &pl), HL_ERR_AUTH,
	         "replayed transport message fails");
	T_EQ_INT(rrx.n, 1, "n unchanged after the replay");

	/* Nonce limit. */
	itx.n = UINT64_MAX - 1;
	rrx.n = UINT64_MAX - 1;
	rc = hl_cipher_encrypt(&itx, (const uint8_t *)"last", 4, ct, sizeof ct, &ol);
	T_EQ_INT(rc, HL_OK, "encrypt at n = 2^64-2 succeeds");
	T_OK(itx.n == UINT64_MAX, "n is now 2^64-1");
	rc = hl_cipher_encrypt(&itx, (const uint8_t *)"more", 4, pt, sizeof pt, &pl);
	T_EQ_INT(rc, HL_ERR_LIMIT, "encrypt at n = 2^64-1 returns HL_ERR_LIMIT");
	T_OK(itx.n == UINT64_MAX, "n does not wrap");
	rc = hl_cipher_decrypt(&rrx, ct, ol, pt, sizeof pt, &pl);
	T_OK(rc == HL_OK && pl == 4 && memcmp(pt, "last", 4) == 0, "decrypt at n = 2^64-2");
	T_EQ_INT(hl_cipher_decrypt(&rrx, ct, ol, pt, sizeof pt, &pl), HL_ERR_LIMIT,
	         "decrypt at n = 2^64-1 returns HL_ERR_LIMIT");
	T_OK(rrx.n == UINT64_MAX, "receive n does not wrap");

	/* Rekey both sides: still round-trips, n unchanged. */
	rtx.n = irx.n = 5;
	saved = rtx;
	hl_cipher_rekey(&rtx);
	hl_cipher_rekey(&irx);
	T_OK(rtx.n == 5 && irx.n == 5, "rekey leaves n unchanged");
	T_OK(memcmp(saved.k, rtx.k, 32) != 0 && memcmp(rtx.k, irx.k, 32) == 0,
	     "rekey changes k the same way on both sides");
	rc = hl_cipher_encrypt(&rtx, (const uint8_t *)"rekeyed", 7, ct, sizeof ct, &ol);
	T_EQ_INT(rc, HL_OK, "encrypt after rekey");
	rc = hl_cipher_decrypt(&irx, ct, ol, pt, sizeof pt, &pl);
	T_OK(rc == HL_OK && pl == 7 && memcmp(pt, "rekeyed", 7) == 0,
	     "rekey on both sides round-trips");

	/* Rekey one side only: the next decryption fails. */
	hl_cipher_rekey(&rtx);
	rc = hl_cipher_encrypt(&rtx, (const uint8_t *)"one side", 8, ct, sizeof ct, &ol);
	T_EQ_INT(rc, HL_OK, "encrypt after one-sided rekey");
	T_EQ_INT(hl_cipher_decrypt(&irx, ct, ol, pt, sizeof pt, &pl), HL_ERR_AUTH,
	         "one-sided rekey breaks decryption");
	T_EQ_INT(irx.n, 6, "and n stays put");
	hl_cipher_rekey(&irx);
	rc = hl_cipher_decrypt(&irx, ct, ol, pt, sizeof pt, &pl);
	T_OK(rc == HL_OK && pl == 8, "rekeying the other side recovers");

	/* REKEY(k) == chacha20_ietf keystream block 1 at nonce 0^32 || ff^64. */
	{
		static const uint8_t npub[12] = {0,    0,    0,    0,    0xff, 0xff,
		                                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
		uint8_t zeros[32] = {0}, want[32];
		struct hl_cipher c = {0};

		randombytes_buf(c.k, sizeof c.k);
		c.has_key = true;
		c.n = 42;
		rc = crypto_stream_chacha20_ietf_xor_ic(want, zeros, sizeof zeros, npub, 1, c.k);
		T_EQ_INT(rc, 0, "xor_ic");
		hl_cipher_rekey(&c);
		T_EQ_MEM(c.k, want, 32, "REKEY(k) equals chacha20_ietf_xor_ic(ic=1, 0^32||ff^64)");
		T_OK(c.n == 42, "REKEY leaves n alone");
		hl_cipher_wipe(&c);
	}
	hl_cipher_wipe(&itx);
	hl_cipher_wipe(&irx);
	hl_cipher_wipe(&rtx);
	hl_cipher_wipe(&rrx);
	hl_cipher_wipe(&saved);
}

static void
test_blake2b_kat(void)
{
	/* RFC 7693 Appendix A: BLAKE2b-512("abc"). */
	static const uint8_t want[64] = {
	    0xba, 0x80, 0xa5, 0x3f, 0x98, 0x1c, 0x4d, 0x0d, 0x6a, 0x27, 0x97, 0xb6, 0x9f,
	    0x12, 0xf6, 0xe9, 0x4c, 0x21, 0x2f, 0x14, 0x68, 0x5a, 0xc4, 0xb7, 0x4b, 0x12,
	    0xbb, 0x6f, 0xdb, 0xff, 0xa2, 0xd1, 0x7d, 0x87, 0xc5, 0x39, 0x2a, 0xab, 0x79,
	    0x2d, 0xc2, 0x52, 0xd5, 0xde, 0x45, 0x33, 0xcc, 0x95, 0x18, 0xd3, 0x8a, 0xa8,
	    0xdb, 0xf1, 0x92, 0x5a, 0xb9, 0x23, 0x86, 0xed, 0xd4, 0x00, 0x99, 0x23};
	uint8_t out[64];

	T_EQ_INT(crypto_generichash(out, 64, (const uint8_t *)"abc", 3, NULL, 0), 0, "BLAKE2b-512");
	T_EQ_MEM(out, want, 64, "BLAKE2b-512(\"abc\") matches RFC 7693");
}

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "../shared/vectors/cacophony.txt";

	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	test_blake2b_kat();
	run_vectors(path);
	keys_init();
	test_tamper_handshake();
	test_wrong_inputs();
	test_lengths();
	test_low_order_ephemeral();
	test_empty_and_random();
	test_transport();
	return t_done();
}
