/* SPDX-License-Identifier: ISC */
/*
 * fuzz_msg.c: libFuzzer harness for the frame bodies of src/msg.c. The
 * first input byte picks the decoder (0 DATA, 1 RECEIPT, 2 REFUSE, 3 HEAD,
 * 4 CHECKPOINT, 5 a KEY event's rotation statement, modulo 6); the rest is
 * the body. The signed bodies are checked against
 * fixed Ed25519 keys from fixed seeds, so the seed corpus can hold valid
 * signatures. Whatever decodes must satisfy the decoder's promises, and
 * must encode back to the same bytes (Ed25519 signing is deterministic).
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "msg.h"
#include "util.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t from_pk[32], from_sk[64], to_pk[32], to_sk[64];
static uint8_t out[HL_FRAME_MAX];
static bool ready;

static void
setup(void)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	if (sodium_init() < 0)
		abort();
	memset(seed, 0x01, sizeof seed);
	if (crypto_sign_seed_keypair(from_pk, from_sk, seed) != 0)
		abort();
	memset(seed, 0x02, sizeof seed);
	if (crypto_sign_seed_keypair(to_pk, to_sk, seed) != 0)
		abort();
	ready = true;
}

/* A decoded string field: bounded, no control bytes, valid UTF-8. */
static void
check_field(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)s[i] < 0x20 || s[i] == 0x7f)
			abort();
	if (!hl_utf8_valid((const uint8_t *)s, n))
		abort();
}

static void
check_data(const uint8_t *buf, size_t len)
{
	struct hl_event ev;
	const uint8_t *chunk = NULL;
	size_t chunk_len = 0, hdr_len, olen = 0, want;
	uint64_t seq = 0;
	uint32_t offset = 0, taken = 0;
	uint8_t h1[HL_HASH_LEN], h2[HL_HASH_LEN];
	crypto_generichash_state st;

	if (hl_data_decode(buf, len, &seq, &offset, &ev, &chunk, &chunk_len) < 0) {
		if (chunk != NULL || chunk_len != 0)
			abort();
		return;
	}
	if (len < 12 || seq == 0 || seq != hl_get_u64(buf) || offset != hl_get_u32(buf + 8))
		abort();
	if (!chunk || chunk < buf + 12 || chunk_len > len || chunk + chunk_len != buf + len)
		abort();
	if (offset != 0) {
		if (chunk != buf + 12)
			abort();
		return;
	}
	if (ev.seq != seq || ev.body != NULL || !hl_name_valid(ev.channel) ||
	    ev.precedence >= HL_PREC_COUNT || !hl_kind_known(ev.kind))
		abort();
	check_field(ev.channel, sizeof ev.channel);
	check_field(ev.media_type, sizeof ev.media_type);
	check_field(ev.operator_name, sizeof ev.operator_name);
	if (strcmp(hl_prec_name(ev.precedence), "?") == 0)
		abort();

	/*
	 * The header is canonical: encoding it again with the chunk as the
	 * body, capped at the input's length, gives the input back (or its
	 * prefix, when the chunk is longer than the encoder would take).
	 */
	hdr_len = (size_t)(chunk - buf);
	want = chunk_len;
	if (want > ev.body_len)
		want = ev.body_len;
	if (want > HL_CHUNK)
		want = HL_CHUNK;
	ev.body = chunk;
	if (hl_data_encode(&ev, 0, out, len, &olen, &taken) < 0)
		abort();
	if (taken != want || olen != hdr_len + want || memcmp(out, buf, olen) != 0)
		abort();

	/* One-shot and incremental hashing agree (over the bytes at hand). */
	ev.body_len = (uint32_t)want;
	hl_event_hash(&ev, h1);
	hl_event_hash_begin(&st, &ev);
	hl_event_hash_update(&st, chunk, want / 2);
	hl_event_hash_update(&st, chunk + want / 2, want - want / 2);
	hl_event_hash_final(&st, h2);
	if (memcmp(h1, h2, HL_HASH_LEN) != 0)
		abort();
}

static void
check_receipt(const uint8_t *buf, size_t len)
{
	static struct hl_receipt_entry e[HL_RECEIPT_MAX];
	const uint8_t *entries = NULL, *sig = NULL;
	size_t n = 0, olen = 0;

	if (hl_receipt_decode(buf, len, from_pk, to_pk, &n, &entries, &sig) < 0) {
		if (n != 0 || entries != NULL || sig != NULL)
			abort();
		return;
	}
	if (n == 0 || n > HL_RECEIPT_MAX || len != 2 + n * 40 + HL_SIG_LEN || entries != buf + 2 ||
	    sig != buf + 2 + n * 40)
		abort();
	for (size_t i = 0; i < n; i++)
		hl_receipt_entry_get(entries, i, &e[i]);
	if (hl_receipt_encode(e, n, from_sk, from_pk, to_pk, out, sizeof out, &olen) < 0 ||
	    olen != len || memcmp(out, buf, len) != 0)
		abort();
	/* The statement binds both keys and their order. */
	if (hl_receipt_decode(buf, len, to_pk, from_pk, &n, &entries, &sig) != HL_ERR_AUTH)
		abort();
}

static void
check_refuse(const uint8_t *buf, size_t len)
{
	uint8_t hash[HL_HASH_LEN];
	char reason[HL_REASON_MAX + 1];
	const uint8_t *sig = NULL;
	uint64_t seq = 0;
	size_t rl, olen = 0;

	if (hl_refuse_decode(buf, len, from_pk, to_pk, &seq, hash, reason, &sig) < 0) {
		if (sig != NULL || reason[0] != '\0')
			abort();
		return;
	}
	check_field(reason, sizeof reason);
	rl = strlen(reason);
	if (len != 8 + HL_HASH_LEN + 2 + rl + HL_SIG_LEN || sig != buf + len - HL_SIG_LEN)
		abort();
	if (hl_refuse_encode(seq, hash, reason, from_sk, from_pk, to_pk, out, sizeof out, &olen) <
	        0 ||
	    olen != len || memcmp(out, buf, len) != 0)
		abort();
	if (hl_refuse_decode(buf, len, to_pk, from_pk, &seq, hash, reason, &sig) != HL_ERR_AUTH)
		abort();
}

static void
check_head(const uint8_t *buf, size_t len)
{
	uint8_t hash[HL_HASH_LEN];
	const uint8_t *sig = NULL;
	uint64_t seq = 0;
	size_t olen = 0;

	if (hl_head_decode(buf, len, from_pk, to_pk, &seq, hash, &sig) < 0) {
		if (sig != NULL)
			abort();
		return;
	}
	if (len != 8 + HL_HASH_LEN + HL_SIG_LEN || sig != buf + 8 + HL_HASH_LEN)
		abort();
	if (hl_head_encode(seq, hash, from_sk, from_pk, to_pk, out, sizeof out, &olen) < 0 ||
	    olen != len || memcmp(out, buf, len) != 0)
		abort();
	if (hl_head_decode(buf, len, to_pk, from_pk, &seq, hash, &sig) != HL_ERR_AUTH)
		abort();
}

/*
 * CHECKPOINT bodies: hostile bytes decode or are refused; and the bytes read
 * as a statement, signed by us, come back whole (a forged one cannot).
 */
static void
check_ckpt(const uint8_t *buf, size_t len)
{
	struct hl_ckpt_stmt s, back;
	uint8_t sig[HL_SIG_LEN], flags = 0;
	size_t olen = 0;

	if (hl_ckpt_decode(buf, len, from_pk, to_pk, &flags, &s, sig) == HL_OK &&
	    (len != 1 + 88 + HL_SIG_LEN || flags > HL_CKPT_REPLY ||
	     hl_ckpt_verify(&s, sig, from_pk, to_pk) != HL_OK))
		abort();
	memset(&s, 0, sizeof s);
	memcpy(&s, buf, len < sizeof s ? len : sizeof s);
	if (hl_ckpt_encode(HL_CKPT_REPLY, &s, from_sk, from_pk, to_pk, out, sizeof out, &olen) <
	        0 ||
	    olen != 1 + 88 + HL_SIG_LEN)
		abort();
	if (hl_ckpt_decode(out, olen, from_pk, to_pk, &flags, &back, sig) != HL_OK ||
	    flags != HL_CKPT_REPLY || memcmp(&back, &s, sizeof s) != 0)
		abort();
	if (hl_ckpt_decode(out, olen, to_pk, from_pk, &flags, &back, sig) != HL_ERR_AUTH)
		abort();
	out[1] ^= 1; /* the statement changed: the signature no longer holds */
	if (hl_ckpt_decode(out, olen, from_pk, to_pk, &flags, &back, sig) != HL_ERR_AUTH)
		abort();
}

/*
 * A rotation statement (the body of a KEY event, docs/keys.md): hostile
 * bytes parse or are refused with nothing kept; what parses names a valid
 * station and two different key pairs; one signed by the fixed key encodes
 * back to the same bytes, and no other statement verifies under it.
 */
static void
check_rotation(const uint8_t *buf, size_t len)
{
	static const struct hl_rotation zero;
	struct hl_rotation r, back;
	size_t olen = 0;

	if (hl_rotation_decode(buf, len, &r) < 0) {
		if (memcmp(&r, &zero, sizeof r) != 0)
			abort();
		return;
	}
	if (len > HL_ROTATION_MAX || !hl_name_valid(r.station) ||
	    memcmp(r.old_x25519, r.new_x25519, 32) == 0 ||
	    memcmp(r.old_ed25519, r.new_ed25519, 32) == 0 || memcmp(buf + len - 64, r.sig, 64) != 0)
		abort();
	if (hl_rotation_verify(&r) != HL_OK || memcmp(r.old_ed25519, from_pk, 32) != 0)
		return;
	back = r;
	if (hl_rotation_encode(&back, from_sk, out, sizeof out, &olen) < 0 || olen != len ||
	    memcmp(out, buf, len) != 0 || memcmp(back.sig, r.sig, 64) != 0)
		abort();
	/* The signature binds every field: change the time and it no longer holds. */
	back.at_ns ^= 1;
	if (hl_rotation_verify(&back) != HL_ERR_AUTH)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf;
	size_t len;

	if (size < 1 || size - 1 > HL_FRAME_BODY_MAX)
		return 0;
	if (!ready)
		setup();
	/* An exact-size copy, so ASan catches any read past the body. */
	len = size - 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	if (len)
		memcpy(buf, data + 1, len);
	switch (data[0] % 6) {
	case 0:
		check_data(buf, len);
		break;
	case 1:
		check_receipt(buf, len);
		break;
	case 2:
		check_refuse(buf, len);
		break;
	case 3:
		check_head(buf, len);
		break;
	case 4:
		check_ckpt(buf, len);
		break;
	default:
		check_rotation(buf, len);
		break;
	}
	free(buf);
	return 0;
}
