/* SPDX-License-Identifier: ISC */
/*
 * test_msg.c: precedence names, UTF-8 validation, event hashing and the
 * DATA, RECEIPT, REFUSE and HEAD bodies (src/msg.c).
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "msg.h"
#include "t.h"
#include "util.h"
#include "wire.h"

#define BIG_BODY (40 * 1024)

static uint8_t frame[HL_FRAME_BODY_MAX];
static uint8_t big[BIG_BODY], joined[BIG_BODY];
static struct hl_receipt_entry entries[HL_RECEIPT_MAX + 1];

struct keypair {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

static struct keypair ka, kb, kc;

static void
keypair(struct keypair *k)
{
	if (crypto_sign_keypair(k->pk, k->sk) != 0) {
		printf("Bail out! crypto_sign_keypair\n");
		exit(1);
	}
}

static void
test_prec(void)
{
	unsigned p = 99;

	T_OK(strcmp(hl_prec_name(HL_PREC_FLASH), "flash") == 0, "name of flash");
	T_OK(strcmp(hl_prec_name(HL_PREC_IMMEDIATE), "immediate") == 0, "name of immediate");
	T_OK(strcmp(hl_prec_name(HL_PREC_PRIORITY), "priority") == 0, "name of priority");
	T_OK(strcmp(hl_prec_name(HL_PREC_ROUTINE), "routine") == 0, "name of routine");
	T_OK(strcmp(hl_prec_name(HL_PREC_COUNT), "?") == 0, "name of 4 is ?");
	T_OK(strcmp(hl_prec_name(~0u), "?") == 0, "name of UINT_MAX is ?");

	T_OK(hl_prec_parse("flash", &p) == HL_OK && p == HL_PREC_FLASH, "parse flash");
	T_OK(hl_prec_parse("IMMEDIATE", &p) == HL_OK && p == HL_PREC_IMMEDIATE, "parse IMMEDIATE");
	T_OK(hl_prec_parse("Priority", &p) == HL_OK && p == HL_PREC_PRIORITY, "parse Priority");
	T_OK(hl_prec_parse("rOuTiNe", &p) == HL_OK && p == HL_PREC_ROUTINE, "parse rOuTiNe");
	for (unsigned i = 0; i < HL_PREC_COUNT; i++) {
		p = 99;
		T_OK(hl_prec_parse(hl_prec_name(i), &p) == HL_OK && p == i,
		     "name and parse agree for %u", i);
	}
	p = 77;
	T_EQ_INT(hl_prec_parse("", &p), HL_ERR_INVAL, "parse empty");
	T_EQ_INT(hl_prec_parse("flas", &p), HL_ERR_INVAL, "parse prefix");
	T_EQ_INT(hl_prec_parse("flash ", &p), HL_ERR_INVAL, "parse trailing space");
	T_EQ_INT(hl_prec_parse(" flash", &p), HL_ERR_INVAL, "parse leading space");
	T_EQ_INT(hl_prec_parse("flashy", &p), HL_ERR_INVAL, "parse longer word");
	T_EQ_INT(hl_prec_parse("0", &p), HL_ERR_INVAL, "parse a number");
	T_EQ_INT(hl_prec_parse("?", &p), HL_ERR_INVAL, "parse ?");
	T_EQ_INT(p, 77, "failed parse leaves prec alone");
}

static bool
utf8(const char *s)
{
	return hl_utf8_valid((const uint8_t *)s, strlen(s));
}

static void
test_utf8(void)
{
	static const uint8_t nul[] = {'a', 0, 'b'};

	T_OK(hl_utf8_valid(NULL, 0), "empty (NULL, 0) is valid");
	T_OK(utf8("plain ASCII text, 0123456789 ~"), "ASCII");
	T_OK(hl_utf8_valid(nul, sizeof nul), "embedded NUL is valid UTF-8");
	T_OK(utf8("h\xc3\xa9llo \xc3\xbc"), "2-byte sequences");
	T_OK(utf8("\xe7\xb4\xa7\xe6\x80\xa5\xe6\xb6\x88\xe6\x81\xaf"), "Chinese (4 x 3 bytes)");
	T_OK(utf8("\xe4\xb8\xad\xe6\x96\x87 mixed \xe2\x82\xac"), "Chinese, ASCII and euro sign");
	T_OK(utf8("\xf0\x9f\x98\x80"), "4-byte emoji U+1F600");
	T_OK(utf8("ok \xf0\x9f\x9a\x80\xf0\x9f\x93\xa1!"), "two emoji between ASCII");
	T_OK(utf8("\xc2\x80"), "U+0080, smallest 2-byte");
	T_OK(utf8("\xdf\xbf"), "U+07FF, largest 2-byte");
	T_OK(utf8("\xe0\xa0\x80"), "U+0800, smallest 3-byte");
	T_OK(utf8("\xed\x9f\xbf"), "U+D7FF, just below the surrogates");
	T_OK(utf8("\xee\x80\x80"), "U+E000, just above the surrogates");
	T_OK(utf8("\xef\xbf\xbf"), "U+FFFF");
	T_OK(utf8("\xf0\x90\x80\x80"), "U+10000, smallest 4-byte");
	T_OK(utf8("\xf4\x8f\xbf\xbf"), "U+10FFFF, the largest code point");

	T_OK(!utf8("\x80"), "lone continuation byte");
	T_OK(!utf8("a\xbf"), "continuation byte after ASCII");
	T_OK(!utf8("\xc3\xa9\xa9"), "extra continuation byte");
	T_OK(!utf8("\xc3"), "truncated 2-byte at end");
	T_OK(!utf8("\xe4\xb8"), "truncated 3-byte at end");
	T_OK(!utf8("\xf0\x9f\x98"), "truncated 4-byte at end");
	T_OK(!utf8("\xe4\xb8 x"), "truncated 3-byte before ASCII");
	T_OK(!hl_utf8_valid((const uint8_t *)"\xe4\xb8\xad", 2), "length cuts a sequence");
	T_OK(!utf8("\xe4\x41\xad"), "ASCII in place of a continuation");
	T_OK(!utf8("\xc0\xaf"), "overlong '/' (C0 AF)");
	T_OK(!utf8("\xc1\xbf"), "overlong C1 BF");
	T_OK(!utf8("\xe0\x80\xaf"), "overlong 3-byte '/'");
	T_OK(!utf8("\xe0\x9f\xbf"), "overlong 3-byte U+07FF");
	T_OK(!utf8("\xf0\x80\x80\xaf"), "overlong 4-byte '/'");
	T_OK(!utf8("\xf0\x8f\xbf\xbf"), "overlong 4-byte U+FFFF");
	T_OK(!utf8("\xed\xa0\x80"), "surrogate U+D800");
	T_OK(!utf8("\xed\xbf\xbf"), "surrogate U+DFFF");
	T_OK(!utf8("\xed\xa0\xbd\xed\xb8\x80"), "surrogate pair (CESU-8)");
	T_OK(!utf8("\xf4\x90\x80\x80"), "U+110000");
	T_OK(!utf8("\xf5\x80\x80\x80"), "F5 lead byte");
	T_OK(!utf8("\xf7\xbf\xbf\xbf"), "F7 lead byte");
	T_OK(!utf8("\xf8\x88\x80\x80\x80"), "5-byte form");
	T_OK(!utf8("\xfe"), "0xFE");
	T_OK(!utf8("\xff"), "0xFF");
	T_OK(!utf8("valid \xe4\xb8\xad then \xff"), "0xFF after valid text");
}

static const uint8_t small_body[] = "Bravo team: hold at checkpoint 4.";

static void
base_event(struct hl_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->seq = 42;
	for (size_t i = 0; i < HL_HASH_LEN; i++) {
		ev->prev[i] = (uint8_t)(0xa0 + i);
		ev->ref_hash[i] = (uint8_t)(0x10 + i);
	}
	ev->kind = HL_EV_MESSAGE;
	ev->precedence = HL_PREC_IMMEDIATE;
	ev->created_ns = UINT64_C(1795680000123456789);
	ev->deadline_ns = UINT64_C(1795683600000000000);
	strcpy(ev->channel, "ops");
	strcpy(ev->media_type, "text/plain");
	strcpy(ev->operator_name, "");
	ev->ref_seq = 0;
	ev->body = small_body;
	ev->body_len = (uint32_t)(sizeof small_body - 1);
}

/* Does the hash of ev differ from want? */
static bool
hash_differs(const struct hl_event *ev, const uint8_t want[HL_HASH_LEN])
{
	uint8_t h[HL_HASH_LEN];

	hl_event_hash(ev, h);
	return memcmp(h, want, HL_HASH_LEN) != 0;
}

static void
test_hash(void)
{
	struct hl_event base, ev;
	uint8_t h0[HL_HASH_LEN], h1[HL_HASH_LEN], body[sizeof small_body];
	crypto_generichash_state st;
	bool all = true;

	base_event(&base);
	hl_event_hash(&base, h0);
	hl_event_hash(&base, h1);
	T_EQ_MEM(h0, h1, HL_HASH_LEN, "hash is stable");
	{
		static const uint8_t zero[HL_HASH_LEN];
		T_OK(memcmp(h0, zero, HL_HASH_LEN) != 0, "hash is not all zeros");
	}

	/* Fed in pieces, the hash is the same. */
	hl_event_hash_begin(&st, &base);
	hl_event_hash_update(&st, base.body, 5);
	hl_event_hash_update(&st, base.body + 5, 0);
	hl_event_hash_update(&st, base.body + 5, base.body_len - 5);
	hl_event_hash_final(&st, h1);
	T_EQ_MEM(h0, h1, HL_HASH_LEN, "incremental hash equals one-shot hash");

	/* Bytes after a string's NUL are not part of the event. */
	ev = base;
	memset(ev.channel + 4, 'z', sizeof ev.channel - 4);
	ev.channel[sizeof ev.channel - 1] = '\0';
	memset(ev.media_type + 11, 'z', 20);
	T_OK(!hash_differs(&ev, h0), "garbage after a string's NUL does not matter");

	ev = base;
	ev.seq++;
	T_OK(hash_differs(&ev, h0), "seq changes the hash");
	ev = base;
	ev.prev[31] ^= 1;
	T_OK(hash_differs(&ev, h0), "prev changes the hash");
	ev = base;
	ev.kind = HL_EV_ACK;
	T_OK(hash_differs(&ev, h0), "kind changes the hash");
	ev = base;
	ev.precedence = HL_PREC_FLASH;
	T_OK(hash_differs(&ev, h0), "precedence changes the hash");
	ev = base;
	ev.created_ns ^= 1;
	T_OK(hash_differs(&ev, h0), "created_ns changes the hash");
	ev = base;
	ev.deadline_ns = 0;
	T_OK(hash_differs(&ev, h0), "deadline_ns changes the hash");
	ev = base;
	strcpy(ev.channel, "opt");
	T_OK(hash_differs(&ev, h0), "channel changes the hash");
	ev = base;
	strcpy(ev.media_type, "text/plaiN");
	T_OK(hash_differs(&ev, h0), "media_type changes the hash");
	ev = base;
	strcpy(ev.media_type, "");
	T_OK(hash_differs(&ev, h0), "empty media_type changes the hash");
	ev = base;
	strcpy(ev.operator_name, "Jo");
	T_OK(hash_differs(&ev, h0), "operator_name changes the hash");
	ev = base;
	ev.ref_seq = 1;
	T_OK(hash_differs(&ev, h0), "ref_seq changes the hash");
	ev = base;
	ev.ref_hash[0] ^= 0x80;
	T_OK(hash_differs(&ev, h0), "ref_hash changes the hash");
	ev = base;
	ev.body_len--;
	T_OK(hash_differs(&ev, h0), "a shorter body changes the hash");

	/* Moving a byte from one string to the next must change the hash. */
	ev = base;
	strcpy(ev.channel, "op");
	strcpy(ev.media_type, "stext/plain");
	T_OK(hash_differs(&ev, h0), "strings are length-delimited (channel/media_type)");
	ev = base;
	strcpy(ev.media_type, "text/plai");
	strcpy(ev.operator_name, "n");
	T_OK(hash_differs(&ev, h0), "strings are length-delimited (media_type/operator)");

	memcpy(body, small_body, sizeof small_body);
	for (size_t i = 0; i < base.body_len; i++) {
		ev = base;
		ev.body = body;
		body[i] ^= 0x01;
		if (!hash_differs(&ev, h0))
			all = false;
		body[i] ^= 0x01;
	}
	T_OK(all, "flipping any body byte changes the hash");
	ev = base;
	ev.body = body;
	T_OK(!hash_differs(&ev, h0), "same bytes at another address give the same hash");
}

static void
test_id(void)
{
	uint8_t h[HL_HASH_LEN];
	char id[HL_MSGID_LEN + 2];
	bool hex = true;

	for (size_t i = 0; i < HL_HASH_LEN; i++)
		h[i] = (uint8_t)(0xab + i * 0x11);
	memset(id, 'X', sizeof id);
	hl_event_id(h, id);
	T_EQ_INT(strlen(id), HL_MSGID_LEN, "id is 12 characters");
	T_OK(strcmp(id, "abbccddeef00") == 0, "id is lowercase hex of the first 6 bytes (%s)", id);
	T_EQ_INT(id[HL_MSGID_LEN + 1], 'X', "id writes no more than 13 bytes");

	randombytes_buf(h, sizeof h);
	hl_event_id(h, id);
	for (size_t i = 0; i < HL_MSGID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			hex = false;
	T_OK(strlen(id) == HL_MSGID_LEN && hex, "random hash: 12 lowercase hex (%s)", id);
}

static bool
same_header(const struct hl_event *a, const struct hl_event *b)
{
	return a->seq == b->seq && memcmp(a->prev, b->prev, HL_HASH_LEN) == 0 &&
	       a->kind == b->kind && a->precedence == b->precedence &&
	       a->created_ns == b->created_ns && a->deadline_ns == b->deadline_ns &&
	       strcmp(a->channel, b->channel) == 0 && strcmp(a->media_type, b->media_type) == 0 &&
	       strcmp(a->operator_name, b->operator_name) == 0 && a->ref_seq == b->ref_seq &&
	       memcmp(a->ref_hash, b->ref_hash, HL_HASH_LEN) == 0 && a->body_len == b->body_len;
}

static void
test_data_big(void)
{
	struct hl_event ev, got;
	uint8_t want[HL_HASH_LEN], h[HL_HASH_LEN];
	uint32_t offset = 0, taken;
	size_t len, frames = 0;
	bool enc_ok = true, dec_ok = true, fits = true, seq_ok = true, hdr_ok = false;
	bool chunk_ok = true;
	crypto_generichash_state st;

	for (size_t i = 0; i < BIG_BODY; i++)
		big[i] = (uint8_t)(i * 31u + (i >> 8));
	base_event(&ev);
	ev.seq = 7;
	ev.precedence = HL_PREC_FLASH;
	strcpy(ev.channel, "field-ops_2");
	strcpy(ev.media_type, "application/octet-stream");
	strcpy(ev.operator_name, "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e");
	ev.body = big;
	ev.body_len = BIG_BODY;
	hl_event_hash(&ev, want);
	memset(joined, 0, sizeof joined);
	memset(&got, 0, sizeof got);

	while (offset < BIG_BODY && frames < 100) {
		struct hl_event hdr;
		const uint8_t *chunk;
		size_t chunk_len;
		uint64_t seq;
		uint32_t off;

		if (hl_data_encode(&ev, offset, frame, HL_FRAME_BODY_MAX, &len, &taken) != HL_OK ||
		    taken == 0) {
			enc_ok = false;
			break;
		}
		if (len > HL_FRAME_BODY_MAX || taken > HL_CHUNK)
			fits = false;
		if (hl_data_decode(frame, len, &seq, &off, &hdr, &chunk, &chunk_len) != HL_OK) {
			dec_ok = false;
			break;
		}
		if (seq != ev.seq || off != offset)
			seq_ok = false;
		if (chunk_len != taken || chunk < frame || chunk + chunk_len != frame + len)
			chunk_ok = false;
		if (offset == 0) {
			got = hdr;
			hdr_ok = same_header(&got, &ev) && hdr.body == NULL;
			hl_event_hash_begin(&st, &got);
		}
		memcpy(joined + offset, chunk, chunk_len);
		hl_event_hash_update(&st, chunk, chunk_len);
		offset += taken;
		frames++;
	}
	T_OK(enc_ok, "40 KiB body: every encode succeeds and takes bytes");
	T_OK(dec_ok, "40 KiB body: every frame decodes");
	T_OK(fits, "40 KiB body: frames fit HL_FRAME_BODY_MAX, chunks fit HL_CHUNK");
	T_OK(seq_ok, "40 KiB body: seq and offset come back");
	T_OK(chunk_ok, "40 KiB body: chunk is the frame's tail, taken bytes long");
	T_EQ_INT(offset, BIG_BODY, "40 KiB body: offsets reach body_len");
	T_EQ_INT(frames, (BIG_BODY + HL_CHUNK - 1) / HL_CHUNK, "40 KiB body: frame count");
	T_OK(hdr_ok, "40 KiB body: decoded header equals the original");
	T_EQ_MEM(joined, big, BIG_BODY, "40 KiB body: reassembled body equals the original");
	got.body = joined;
	hl_event_hash(&got, h);
	T_EQ_MEM(h, want, HL_HASH_LEN, "40 KiB body: hash of the reassembled event matches");
	hl_event_hash_final(&st, h);
	T_OK(enc_ok && dec_ok && memcmp(h, want, HL_HASH_LEN) == 0,
	     "40 KiB body: hash fed frame by frame matches");

	/* Offsets past the body are not encodable. */
	T_EQ_INT(hl_data_encode(&ev, BIG_BODY, frame, sizeof frame, &len, &taken), HL_ERR_INVAL,
	         "encode at offset == body_len");
	T_EQ_INT(hl_data_encode(&ev, BIG_BODY + 1, frame, sizeof frame, &len, &taken), HL_ERR_INVAL,
	         "encode at offset > body_len");
	T_OK(hl_data_encode(&ev, 20, frame, 12, &len, &taken) == HL_OK && len == 12 && taken == 0,
	     "cap of 12 at offset 20: an empty chunk");
	T_EQ_INT(hl_data_encode(&ev, 20, frame, 11, &len, &taken), HL_ERR_INVAL,
	         "cap of 11 at offset 20");
	T_EQ_INT(hl_data_encode(&ev, 0, frame, 100, &len, &taken), HL_ERR_INVAL,
	         "cap too small for the header");
	T_OK(len == 0 && taken == 0, "failed encode reports nothing written");
	T_OK(hl_data_encode(&ev, 16000, frame, sizeof frame, &len, &taken) == HL_OK &&
	         taken == HL_CHUNK && hl_get_u32(frame + 8) == 16000 &&
	         memcmp(frame + 12, big + 16000, HL_CHUNK) == 0,
	     "unaligned offset: a full chunk from there");
	T_OK(hl_data_encode(&ev, BIG_BODY - 1, frame, sizeof frame, &len, &taken) == HL_OK &&
	         taken == 1 && len == 13 && frame[12] == big[BIG_BODY - 1],
	     "last byte alone");
}

static void
test_data_empty(void)
{
	static const uint8_t none[1];
	struct hl_event ev, got;
	uint8_t want[HL_HASH_LEN], h[HL_HASH_LEN];
	const uint8_t *chunk = NULL;
	size_t len = 0, chunk_len = 99;
	uint64_t seq;
	uint32_t off = 99, taken = 99;
	int rc;

	base_event(&ev);
	ev.kind = HL_EV_ACK;
	ev.precedence = HL_PREC_ROUTINE;
	strcpy(ev.media_type, "");
	strcpy(ev.operator_name, "duty officer");
	ev.ref_seq = 17;
	ev.body = none;
	ev.body_len = 0;
	hl_event_hash(&ev, want);
	rc = hl_data_encode(&ev, 0, frame, HL_FRAME_BODY_MAX, &len, &taken);
	T_OK(rc == HL_OK && taken == 0 && len > 12, "empty body: encode at offset 0");
	rc = hl_data_decode(frame, len, &seq, &off, &got, &chunk, &chunk_len);
	T_OK(rc == HL_OK && seq == ev.seq && off == 0 && chunk_len == 0 && chunk == frame + len,
	     "empty body: decode");
	T_OK(same_header(&got, &ev), "empty body: header round trip");
	hl_event_hash(&got, h);
	T_EQ_MEM(h, want, HL_HASH_LEN, "empty body: hash matches");
	T_EQ_INT(hl_data_encode(&ev, 1, frame, sizeof frame, &len, &taken), HL_ERR_INVAL,
	         "empty body: offset 1 refused");
}

/* Encode ev at offset 0 into frame; the frame length, 0 on failure. */
static size_t
encode0(const struct hl_event *ev)
{
	size_t len = 0;
	uint32_t taken;

	if (hl_data_encode(ev, 0, frame, sizeof frame, &len, &taken) != HL_OK)
		return 0;
	return len;
}

static int
decode(const uint8_t *buf, size_t len)
{
	struct hl_event ev;
	const uint8_t *chunk;
	size_t chunk_len;
	uint64_t seq;
	uint32_t off;

	return hl_data_decode(buf, len, &seq, &off, &ev, &chunk, &chunk_len);
}

/*
 * The DATA body at offset 0 as msg.h describes it, written here without
 * msg.c, so that malformed events can be built whatever the encoder
 * accepts.
 */
static size_t
spec_data0(uint8_t *out, const struct hl_event *ev)
{
	size_t n = 0, sl;

	hl_put_u64(out, ev->seq);
	hl_put_u32(out + 8, 0);
	n = 12;
	hl_put_u64(out + n, ev->seq);
	n += 8;
	memcpy(out + n, ev->prev, HL_HASH_LEN);
	n += HL_HASH_LEN;
	out[n++] = ev->kind;
	out[n++] = ev->precedence;
	hl_put_u64(out + n, ev->created_ns);
	hl_put_u64(out + n + 8, ev->deadline_ns);
	n += 16;
	sl = strlen(ev->channel);
	out[n++] = (uint8_t)sl;
	memcpy(out + n, ev->channel, sl);
	n += sl;
	sl = strlen(ev->media_type);
	out[n++] = (uint8_t)sl;
	memcpy(out + n, ev->media_type, sl);
	n += sl;
	sl = strlen(ev->operator_name);
	out[n++] = (uint8_t)sl;
	memcpy(out + n, ev->operator_name, sl);
	n += sl;
	hl_put_u64(out + n, ev->ref_seq);
	n += 8;
	memcpy(out + n, ev->ref_hash, HL_HASH_LEN);
	n += HL_HASH_LEN;
	hl_put_u32(out + n, ev->body_len);
	n += 4;
	if (ev->body_len)
		memcpy(out + n, ev->body, ev->body_len);
	return n + ev->body_len;
}

static int
decode_event(const struct hl_event *ev)
{
	return decode(frame, spec_data0(frame, ev));
}

/* An offset-0 frame with string lengths the struct cannot hold. */
static size_t
raw_frame(uint8_t *out, const char *channel, size_t chlen, const char *media, size_t mlen)
{
	size_t n = 0;

	hl_put_u64(out, 5);
	hl_put_u32(out + 8, 0);
	n = 12;
	hl_put_u64(out + n, 5);
	n += 8;
	memset(out + n, 0, 32);
	n += 32;
	out[n++] = HL_EV_MESSAGE;
	out[n++] = HL_PREC_ROUTINE;
	memset(out + n, 0, 16);
	n += 16;
	out[n++] = (uint8_t)chlen;
	memcpy(out + n, channel, chlen);
	n += chlen;
	out[n++] = (uint8_t)mlen;
	memcpy(out + n, media, mlen);
	n += mlen;
	out[n++] = 0; /* operator */
	memset(out + n, 0, 8 + 32);
	n += 8 + 32;
	hl_put_u32(out + n, 3);
	n += 4;
	memcpy(out + n, "abc", 3);
	return n + 3;
}

static void
test_data_bad(void)
{
	struct hl_event base, ev;
	static uint8_t raw[1024];
	char longs[200];
	size_t len, hdr_len;
	bool all = true;

	base_event(&base);
	len = spec_data0(raw, &base);
	T_OK(encode0(&base) == len && memcmp(frame, raw, len) == 0,
	     "hl_data_encode writes the layout of msg.h");
	T_OK(len > 0 && decode(frame, len) == HL_OK, "base frame decodes");
	hdr_len = len - base.body_len;
	for (size_t n = 0; n < hdr_len; n++)
		if (decode(frame, n) != HL_ERR_PROTO)
			all = false;
	T_OK(all, "every truncation inside the seq, offset or header is HL_ERR_PROTO");
	T_EQ_INT(decode(frame, hdr_len), HL_OK, "header with no body bytes decodes");

	/* seq 0 */
	ev = base;
	ev.seq = 0;
	T_EQ_INT(decode_event(&ev), HL_ERR_PROTO, "seq 0 at offset 0");
	hl_put_u64(frame, 0);
	hl_put_u32(frame + 8, 100);
	T_EQ_INT(decode(frame, 20), HL_ERR_PROTO, "seq 0 at offset 100");
	hl_put_u64(frame, 1);
	T_EQ_INT(decode(frame, 20), HL_OK, "seq 1 at offset 100");
	T_EQ_INT(decode(frame, 12), HL_OK, "seq 1 at offset 100, no bytes");
	T_EQ_INT(decode(frame, 11), HL_ERR_PROTO, "11 bytes");

	/* The frame's seq and the header's must agree. */
	len = encode0(&base);
	hl_put_u64(frame, base.seq + 1);
	T_EQ_INT(decode(frame, len), HL_ERR_PROTO, "frame seq differs from header seq");
	hl_put_u64(frame, base.seq);
	T_EQ_INT(decode(frame, len), HL_OK, "restored seq decodes");

	ev = base;
	ev.kind = 0;
	T_EQ_INT(decode_event(&ev), HL_ERR_PROTO, "kind 0");
	ev.kind = HL_EV_SUSPEND;
	T_EQ_INT(decode_event(&ev), HL_OK, "kind SUSPEND");
	ev.kind = HL_EV_RESUME;
	T_EQ_INT(decode_event(&ev), HL_OK, "kind RESUME");
	ev.kind = HL_EV_KEY;
	T_EQ_INT(decode_event(&ev), HL_OK, "kind KEY (5)");
	ev.kind = HL_EV_TALKS;
	T_EQ_INT(decode_event(&ev), HL_OK, "kind TALKS");
	ev.kind = 7;
	T_EQ_INT(decode_event(&ev), HL_ERR_PROTO, "kind 7");
	ev.kind = 0xff;
	T_EQ_INT(decode_event(&ev), HL_ERR_PROTO, "kind 255");
	ev.kind = HL_EV_ACK;
	T_EQ_INT(decode_event(&ev), HL_OK, "kind ACK");
	ev = base;
	ev.precedence = HL_PREC_COUNT;
	T_EQ_INT(decode_event(&ev), HL_ERR_PROTO, "precedence 4");
	ev.precedence = 0xff;
	T_EQ_INT(decode_event(&ev), HL_ERR_PROTO, "precedence 255");
	ev.precedence = HL_PREC_ROUTINE;
	T_EQ_INT(decode_event(&ev), HL_OK, "precedence 3");

	{
		static const char *const bad[] = {
		    "", "Ops", "-ops", "_ops", "op s", "ops\n", "\xc3\xa9t\xc3\xa9"};
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			ev = base;
			strcpy(ev.channel, bad[i]);
			T_EQ_INT(decode_event(&ev), HL_ERR_PROTO, "invalid channel name");
		}
	}
	ev = base;
	memset(ev.channel, 'a', HL_NAME_MAX);
	ev.channel[HL_NAME_MAX] = '\0';
	T_EQ_INT(decode_event(&ev), HL_OK, "32-character channel");

	{
		static const char *const bad[] = {"text/plain\n", "\ttext",       "text\x1f",
		                                  "text\x7f",     "text\xc0\xaf", "text\xff",
		                                  "\x01"};
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			ev = base;
			strcpy(ev.media_type, bad[i]);
			T_EQ_INT(decode_event(&ev), HL_ERR_PROTO,
			         "control byte or bad UTF-8 in "
			         "media type");
		}
	}
	ev = base;
	strcpy(ev.media_type, "text/plain; charset=\"utf-8\" \xe2\x82\xac");
	T_EQ_INT(decode_event(&ev), HL_OK, "printable UTF-8 media type");
	ev = base;
	memset(ev.media_type, 'm', HL_MEDIA_MAX);
	ev.media_type[HL_MEDIA_MAX] = '\0';
	T_EQ_INT(decode_event(&ev), HL_OK, "127-byte media type");
	ev = base;
	strcpy(ev.operator_name, "Jo\r");
	T_EQ_INT(decode_event(&ev), HL_ERR_PROTO, "control byte in operator name");
	ev = base;
	strcpy(ev.operator_name, "Jo\xed\xa0\x80");
	T_EQ_INT(decode_event(&ev), HL_ERR_PROTO, "surrogate in operator name");

	/* Lengths the struct cannot hold. */
	memset(longs, 'a', sizeof longs);
	len = raw_frame(raw, "ops", 3, "", 0);
	T_EQ_INT(decode(raw, len), HL_OK, "hand-built frame decodes");
	len = raw_frame(raw, longs, 33, "", 0);
	T_EQ_INT(decode(raw, len), HL_ERR_PROTO, "33-character channel");
	len = raw_frame(raw, "ops", 3, longs, HL_MEDIA_MAX + 1);
	T_EQ_INT(decode(raw, len), HL_ERR_PROTO, "128-byte media type");
	len = raw_frame(raw, "ops", 3, longs, 200);
	T_EQ_INT(decode(raw, len), HL_ERR_PROTO, "200-byte media type");
	len = raw_frame(raw, "ops", 3, longs, HL_MEDIA_MAX);
	T_EQ_INT(decode(raw, len), HL_OK, "127-byte media type, hand-built");
}

/*
 * The signed statements as msg.h describes them: domain || from_pk ||
 * to_pk || data, with libsodium's multi-part API (Ed25519ph).
 */
static void
spec_sign(const char *domain, const struct keypair *from, const uint8_t *to, const uint8_t *data,
          size_t len, uint8_t *sig)
{
	crypto_sign_state st;

	crypto_sign_init(&st);
	crypto_sign_update(&st, (const uint8_t *)domain, strlen(domain));
	crypto_sign_update(&st, from->pk, 32);
	crypto_sign_update(&st, to, 32);
	crypto_sign_update(&st, data, len);
	if (crypto_sign_final_create(&st, sig, NULL, from->sk) != 0) {
		printf("Bail out! crypto_sign_final_create\n");
		exit(1);
	}
}

static bool
spec_sig_ok(const char *domain, const struct keypair *from, const uint8_t *to, const uint8_t *data,
            size_t len, const uint8_t *sig)
{
	uint8_t want[HL_SIG_LEN];

	spec_sign(domain, from, to, data, len, want);
	return memcmp(want, sig, HL_SIG_LEN) == 0;
}

/* A REFUSE body with any reason bytes, signed as msg.c signs it. */
static size_t
spec_refuse(uint8_t *out, uint64_t seq, const uint8_t *hash, const char *reason)
{
	size_t rl = strlen(reason);

	hl_put_u64(out, seq);
	memcpy(out + 8, hash, HL_HASH_LEN);
	out[40] = (uint8_t)(rl >> 8);
	out[41] = (uint8_t)rl;
	memcpy(out + 42, reason, rl);
	spec_sign("hotline-refuse-v1", &ka, kb.pk, out, 42 + rl, out + 42 + rl);
	return 42 + rl + HL_SIG_LEN;
}

static void
flip_test(const char *what, const uint8_t *buf, size_t len,
          int (*dec)(const uint8_t *, size_t, const uint8_t *, const uint8_t *))
{
	static uint8_t copy[HL_FRAME_BODY_MAX];
	bool all = true;

	memcpy(copy, buf, len);
	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			copy[i] ^= (uint8_t)(1u << bit);
			if (dec(copy, len, ka.pk, kb.pk) == HL_OK)
				all = false;
			copy[i] ^= (uint8_t)(1u << bit);
		}
	}
	T_OK(all, "%s: flipping any byte fails", what);
	T_OK(dec(copy, len, ka.pk, kb.pk) == HL_OK, "%s: the unflipped copy still decodes", what);
	T_OK(len > 0 && dec(copy, len - 1, ka.pk, kb.pk) < 0, "%s: one byte short fails", what);
	copy[len] = 0;
	T_OK(dec(copy, len + 1, ka.pk, kb.pk) < 0, "%s: one byte extra fails", what);
}

static int
receipt_dec(const uint8_t *buf, size_t len, const uint8_t *from, const uint8_t *to)
{
	const uint8_t *e, *sig;
	size_t n;

	return hl_receipt_decode(buf, len, from, to, &n, &e, &sig);
}

static int
refuse_dec(const uint8_t *buf, size_t len, const uint8_t *from, const uint8_t *to)
{
	uint8_t hash[HL_HASH_LEN];
	char reason[HL_REASON_MAX + 1];
	const uint8_t *sig;
	uint64_t seq;

	return hl_refuse_decode(buf, len, from, to, &seq, hash, reason, &sig);
}

static int
head_dec(const uint8_t *buf, size_t len, const uint8_t *from, const uint8_t *to)
{
	uint8_t hash[HL_HASH_LEN];
	const uint8_t *sig;
	uint64_t seq;

	return hl_head_decode(buf, len, from, to, &seq, hash, &sig);
}

static void
test_receipt(void)
{
	const uint8_t *e = NULL, *sig = NULL;
	size_t n = 0, len = 0;
	bool same = true;
	int rc;

	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		entries[i].seq = 1000 + i;
		randombytes_buf(entries[i].hash, HL_HASH_LEN);
	}
	rc = hl_receipt_encode(entries, 3, ka.sk, ka.pk, kb.pk, frame, sizeof frame, &len);
	T_OK(rc == HL_OK && len == 2 + 3 * 40 + HL_SIG_LEN, "receipt of 3: encode (len %zu)", len);
	rc = hl_receipt_decode(frame, len, ka.pk, kb.pk, &n, &e, &sig);
	T_OK(rc == HL_OK && n == 3 && e == frame + 2 && sig == frame + 2 + 3 * 40,
	     "receipt of 3: decode");
	for (size_t i = 0; i < n; i++) {
		struct hl_receipt_entry got;
		hl_receipt_entry_get(e, i, &got);
		if (got.seq != entries[i].seq || memcmp(got.hash, entries[i].hash, HL_HASH_LEN))
			same = false;
	}
	T_OK(same && n == 3, "receipt of 3: entries round trip");
	T_OK(spec_sig_ok("hotline-receipt-v1", &ka, kb.pk, frame + 2, 3 * 40, frame + 2 + 3 * 40),
	     "receipt: signature over domain || from || to || entries");
	T_EQ_INT(receipt_dec(frame, len, kc.pk, kb.pk), HL_ERR_AUTH, "receipt: wrong from key");
	T_EQ_INT(receipt_dec(frame, len, ka.pk, kc.pk), HL_ERR_AUTH, "receipt: wrong to key");
	T_EQ_INT(receipt_dec(frame, len, kb.pk, ka.pk), HL_ERR_AUTH, "receipt: from/to swapped");
	rc = hl_receipt_decode(frame, len, kc.pk, kb.pk, &n, &e, &sig);
	T_OK(rc < 0 && n == 0 && e == NULL && sig == NULL, "receipt: failure clears outputs");
	flip_test("receipt", frame, len, receipt_dec);

	rc = hl_receipt_encode(entries, 0, ka.sk, ka.pk, kb.pk, frame, sizeof frame, &len);
	T_OK(rc == HL_ERR_INVAL && len == 0, "receipt of 0 refused at encode");
	rc = hl_receipt_encode(entries, HL_RECEIPT_MAX + 1, ka.sk, ka.pk, kb.pk, frame,
	                       sizeof frame, &len);
	T_OK(rc == HL_ERR_INVAL && len == 0, "receipt of HL_RECEIPT_MAX + 1 refused at encode");
	rc = hl_receipt_encode(entries, HL_RECEIPT_MAX, ka.sk, ka.pk, kb.pk, frame, sizeof frame,
	                       &len);
	T_OK(rc == HL_OK && len == 2 + HL_RECEIPT_MAX * 40 + HL_SIG_LEN && len <= HL_FRAME_BODY_MAX,
	     "receipt of HL_RECEIPT_MAX: encode");
	rc = hl_receipt_decode(frame, len, ka.pk, kb.pk, &n, &e, &sig);
	T_OK(rc == HL_OK && n == HL_RECEIPT_MAX, "receipt of HL_RECEIPT_MAX: decode");
	if (rc == HL_OK) {
		struct hl_receipt_entry got;
		hl_receipt_entry_get(e, HL_RECEIPT_MAX - 1, &got);
		T_OK(got.seq == entries[HL_RECEIPT_MAX - 1].seq &&
		         memcmp(got.hash, entries[HL_RECEIPT_MAX - 1].hash, HL_HASH_LEN) == 0,
		     "receipt of HL_RECEIPT_MAX: last entry");
	}
	rc = hl_receipt_encode(entries, 1, ka.sk, ka.pk, kb.pk, frame, 2 + 40 + HL_SIG_LEN - 1,
	                       &len);
	T_OK(rc == HL_ERR_INVAL && len == 0, "receipt: cap one byte short");
	rc = hl_receipt_encode(entries, 1, ka.sk, ka.pk, kb.pk, frame, 2 + 40, &len);
	T_OK(rc == HL_ERR_INVAL && len == 0, "receipt: no room for the signature");
	rc = hl_receipt_encode(entries, 1, ka.sk, ka.pk, kb.pk, frame, 2 + 40 + HL_SIG_LEN, &len);
	T_OK(rc == HL_OK && len == 2 + 40 + HL_SIG_LEN, "receipt: exact cap");

	/* Count fields the decoder must refuse even with a right length. */
	memset(frame, 0, 2 + HL_SIG_LEN);
	T_EQ_INT(receipt_dec(frame, 2 + HL_SIG_LEN, ka.pk, kb.pk), HL_ERR_PROTO,
	         "receipt: count 0 at decode");
	frame[0] = (HL_RECEIPT_MAX + 1) >> 8;
	frame[1] = (HL_RECEIPT_MAX + 1) & 0xff;
	T_EQ_INT(receipt_dec(frame, 2 + (HL_RECEIPT_MAX + 1) * 40 + HL_SIG_LEN, ka.pk, kb.pk),
	         HL_ERR_PROTO, "receipt: count HL_RECEIPT_MAX + 1 at decode");
	T_EQ_INT(receipt_dec(frame, 1, ka.pk, kb.pk), HL_ERR_PROTO, "receipt: 1 byte");
	T_EQ_INT(receipt_dec(frame, 0, ka.pk, kb.pk), HL_ERR_PROTO, "receipt: 0 bytes");
}

static void
test_refuse(void)
{
	static const char why[] = "store full \xe2\x80\x94 \xe7\xa3\x81\xe7\x9b\x98\xe5\xb7\xb2"
	                          "\xe6\xbb\xa1 \xf0\x9f\x92\xbe";
	static char longr[HL_REASON_MAX + 2];
	uint8_t hash[HL_HASH_LEN], got_hash[HL_HASH_LEN];
	char reason[HL_REASON_MAX + 1];
	const uint8_t *sig = NULL;
	uint64_t seq = 0;
	size_t len = 0;
	int rc;

	randombytes_buf(hash, sizeof hash);
	rc = hl_refuse_encode(UINT64_C(0x0102030405060708), hash, why, ka.sk, ka.pk, kb.pk, frame,
	                      sizeof frame, &len);
	T_OK(rc == HL_OK && len == 8 + HL_HASH_LEN + 2 + strlen(why) + HL_SIG_LEN,
	     "refuse: encode");
	rc = hl_refuse_decode(frame, len, ka.pk, kb.pk, &seq, got_hash, reason, &sig);
	T_OK(rc == HL_OK && seq == UINT64_C(0x0102030405060708) &&
	         memcmp(got_hash, hash, HL_HASH_LEN) == 0 && strcmp(reason, why) == 0 &&
	         sig == frame + len - HL_SIG_LEN,
	     "refuse: round trip");
	T_OK(spec_sig_ok("hotline-refuse-v1", &ka, kb.pk, frame, len - HL_SIG_LEN,
	                 frame + len - HL_SIG_LEN),
	     "refuse: signature over domain || from || to || seq || hash || length || reason");
	{
		static uint8_t again[1024];
		size_t alen = spec_refuse(again, UINT64_C(0x0102030405060708), hash, why);
		T_OK(alen == len && memcmp(again, frame, len) == 0,
		     "refuse: hl_refuse_encode writes the layout of msg.h");
	}
	T_EQ_INT(refuse_dec(frame, len, kc.pk, kb.pk), HL_ERR_AUTH, "refuse: wrong from key");
	T_EQ_INT(refuse_dec(frame, len, ka.pk, kc.pk), HL_ERR_AUTH, "refuse: wrong to key");
	T_EQ_INT(refuse_dec(frame, len, kb.pk, ka.pk), HL_ERR_AUTH, "refuse: from/to swapped");
	strcpy(reason, "junk");
	rc = hl_refuse_decode(frame, len, kb.pk, ka.pk, &seq, got_hash, reason, &sig);
	T_OK(rc < 0 && reason[0] == '\0' && sig == NULL, "refuse: failure clears reason and sig");
	flip_test("refuse", frame, len, refuse_dec);

	rc = hl_refuse_encode(1, hash, "", ka.sk, ka.pk, kb.pk, frame, sizeof frame, &len);
	T_OK(rc == HL_OK && len == 8 + HL_HASH_LEN + 2 + HL_SIG_LEN, "refuse: empty reason");
	reason[0] = 'x';
	rc = hl_refuse_decode(frame, len, ka.pk, kb.pk, &seq, got_hash, reason, &sig);
	T_OK(rc == HL_OK && seq == 1 && reason[0] == '\0', "refuse: empty reason round trip");

	memset(longr, 'r', HL_REASON_MAX);
	longr[HL_REASON_MAX] = '\0';
	rc = hl_refuse_encode(2, hash, longr, ka.sk, ka.pk, kb.pk, frame, sizeof frame, &len);
	T_OK(rc == HL_OK, "refuse: HL_REASON_MAX bytes");
	rc = hl_refuse_decode(frame, len, ka.pk, kb.pk, &seq, got_hash, reason, &sig);
	T_OK(rc == HL_OK && strlen(reason) == HL_REASON_MAX, "refuse: HL_REASON_MAX round trip");
	longr[HL_REASON_MAX] = 'r';
	longr[HL_REASON_MAX + 1] = '\0';
	rc = hl_refuse_encode(2, hash, longr, ka.sk, ka.pk, kb.pk, frame, sizeof frame, &len);
	T_OK(rc == HL_ERR_INVAL && len == 0, "refuse: HL_REASON_MAX + 1 bytes refused");
	rc = hl_refuse_encode(2, hash, why, ka.sk, ka.pk, kb.pk, frame, 8 + 32 + 2 + 4, &len);
	T_OK(rc == HL_ERR_INVAL && len == 0, "refuse: cap too small");

	/* Well signed, but the text is not valid: refused before the signature. */
	len = spec_refuse(frame, 3, hash, "fine \xe2\x82\xac");
	T_EQ_INT(refuse_dec(frame, len, ka.pk, kb.pk), HL_OK, "refuse: hand-built frame decodes");
	len = spec_refuse(frame, 3, hash, "bad \xc0\xaf");
	T_EQ_INT(refuse_dec(frame, len, ka.pk, kb.pk), HL_ERR_PROTO,
	         "refuse: overlong in reason refused at decode");
	len = spec_refuse(frame, 3, hash, "bad \xed\xa0\x80");
	T_EQ_INT(refuse_dec(frame, len, ka.pk, kb.pk), HL_ERR_PROTO,
	         "refuse: surrogate in reason refused at decode");
	len = spec_refuse(frame, 3, hash, "bad \xe4\xb8");
	T_EQ_INT(refuse_dec(frame, len, ka.pk, kb.pk), HL_ERR_PROTO,
	         "refuse: truncated sequence in reason refused at decode");
	len = spec_refuse(frame, 3, hash, "bad \xff");
	T_EQ_INT(refuse_dec(frame, len, ka.pk, kb.pk), HL_ERR_PROTO,
	         "refuse: 0xFF in reason refused at decode");
	len = spec_refuse(frame, 3, hash, "line\nbreak");
	T_EQ_INT(refuse_dec(frame, len, ka.pk, kb.pk), HL_ERR_PROTO,
	         "refuse: control byte in reason refused at decode");

	/* A reason length past HL_REASON_MAX, with the bytes present. */
	memset(frame, 0, sizeof frame);
	frame[40] = (HL_REASON_MAX + 1) >> 8;
	frame[41] = (HL_REASON_MAX + 1) & 0xff;
	memset(frame + 42, 'r', HL_REASON_MAX + 1);
	T_EQ_INT(refuse_dec(frame, 42 + HL_REASON_MAX + 1 + HL_SIG_LEN, ka.pk, kb.pk), HL_ERR_PROTO,
	         "refuse: reason length HL_REASON_MAX + 1 at decode");
	T_EQ_INT(refuse_dec(frame, 41, ka.pk, kb.pk), HL_ERR_PROTO, "refuse: 41 bytes");
}

static void
test_head(void)
{
	uint8_t hash[HL_HASH_LEN], got_hash[HL_HASH_LEN];
	const uint8_t *sig = NULL;
	uint64_t seq = 0;
	size_t len = 0;
	int rc;

	randombytes_buf(hash, sizeof hash);
	rc = hl_head_encode(UINT64_MAX, hash, ka.sk, ka.pk, kb.pk, frame, sizeof frame, &len);
	T_OK(rc == HL_OK && len == 8 + HL_HASH_LEN + HL_SIG_LEN, "head: encode");
	rc = hl_head_decode(frame, len, ka.pk, kb.pk, &seq, got_hash, &sig);
	T_OK(rc == HL_OK && seq == UINT64_MAX && memcmp(got_hash, hash, HL_HASH_LEN) == 0 &&
	         sig == frame + 40,
	     "head: round trip");
	T_OK(spec_sig_ok("hotline-head-v1", &ka, kb.pk, frame, 40, frame + 40),
	     "head: signature over domain || from || to || seq || hash");
	T_EQ_INT(head_dec(frame, len, kc.pk, kb.pk), HL_ERR_AUTH, "head: wrong from key");
	T_EQ_INT(head_dec(frame, len, ka.pk, kc.pk), HL_ERR_AUTH, "head: wrong to key");
	T_EQ_INT(head_dec(frame, len, kb.pk, ka.pk), HL_ERR_AUTH, "head: from/to swapped");
	sig = frame;
	rc = hl_head_decode(frame, len, kb.pk, ka.pk, &seq, got_hash, &sig);
	T_OK(rc < 0 && sig == NULL, "head: failure clears sig");
	flip_test("head", frame, len, head_dec);
	T_EQ_INT(head_dec(frame, 0, ka.pk, kb.pk), HL_ERR_PROTO, "head: 0 bytes");
	rc = hl_head_encode(1, hash, ka.sk, ka.pk, kb.pk, frame, 8 + HL_HASH_LEN + HL_SIG_LEN - 1,
	                    &len);
	T_OK(rc == HL_ERR_INVAL && len == 0, "head: cap one byte short");
	rc = hl_head_encode(1, hash, ka.sk, ka.pk, kb.pk, frame, 8, &len);
	T_OK(rc == HL_ERR_INVAL && len == 0, "head: cap of 8");
}

/* A signature from one kind of statement does not verify as another. */
static void
test_domains(void)
{
	uint8_t hash[HL_HASH_LEN], other[HL_FRAME_BODY_MAX];
	size_t len = 0, olen = 0;
	int rc;

	memset(hash, 0x5a, sizeof hash);
	rc = hl_head_encode(9, hash, ka.sk, ka.pk, kb.pk, frame, sizeof frame, &len);
	T_EQ_INT(rc, HL_OK, "domains: head encode");
	/* The same seq and hash as a refuse with an empty reason. */
	memcpy(other, frame, 40);
	other[40] = other[41] = 0;
	memcpy(other + 42, frame + 40, HL_SIG_LEN);
	olen = 42 + HL_SIG_LEN;
	T_EQ_INT(refuse_dec(other, olen, ka.pk, kb.pk), HL_ERR_AUTH,
	         "domains: a head signature is no refuse signature");
	/* And a receipt of one entry (seq, hash). */
	other[0] = 0;
	other[1] = 1;
	memcpy(other + 2, frame, 40 + HL_SIG_LEN);
	olen = 2 + 40 + HL_SIG_LEN;
	T_EQ_INT(receipt_dec(other, olen, ka.pk, kb.pk), HL_ERR_AUTH,
	         "domains: a head signature is no receipt signature");
}

/* hl_field_clean: any string becomes a valid one-line field, keeping what was valid. */
static void
test_field_clean(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"plain", "plain"},
	    {"tab\there", "tab?here"},
	    {"line\nbreak", "line?break"},
	    {"\xe5\x8d\x97 south", "\xe5\x8d\x97 south"},
	    {"cut \xe5\x8d", "cut "},
	    {"bad \xff byte", "bad ? byte"},
	    {"\xc0\xaf overlong", "?? overlong"},
	    {"del\x7f", "del?"},
	};
	char buf[64];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(buf, sizeof buf, "%s", cases[i].in);
		hl_field_clean(buf);
		T_OK(strcmp(buf, cases[i].want) == 0 && hl_field_valid(buf, strlen(buf)),
		     "field_clean case %zu gives '%s'", i, buf);
	}
}

/* Key rotation statements (docs/keys.md): encode, parse, verify, and what breaks them. */
static void
test_rotation(void)
{
	struct hl_rotation r = {0}, back;
	uint8_t buf[HL_ROTATION_MAX + 8], other_x[32];
	size_t len = 0;

	snprintf(r.station, sizeof r.station, "washington");
	randombytes_buf(r.old_x25519, 32);
	memcpy(r.old_ed25519, ka.pk, 32);
	randombytes_buf(r.new_x25519, 32);
	memcpy(r.new_ed25519, kb.pk, 32);
	r.at_ns = UINT64_C(1795600000000000000);
	T_EQ_INT(hl_rotation_encode(&r, ka.sk, buf, sizeof buf, &len), HL_OK, "encode");
	T_EQ_INT(len, 2 + 10 + 128 + 8 + 64, "its length");
	T_OK(buf[0] == HL_ROTATION_VERSION && buf[1] == 10 &&
	         memcmp(buf + 2, "washington", 10) == 0,
	     "version and name lead");
	T_OK(memcmp(buf + len - 64, r.sig, 64) == 0, "the signature ends it, and is returned");
	T_EQ_INT(hl_rotation_decode(buf, len, &back), HL_OK, "decode");
	T_OK(memcmp(&back, &r, sizeof r) == 0, "round trip");
	T_EQ_INT(hl_rotation_verify(&back), HL_OK, "the old key's signature verifies");

	/* Any changed byte fails: a field the signature covers, or the signature itself. */
	for (size_t i = 2 + 10; i < len; i++) {
		buf[i] ^= 0x01;
		int rc = hl_rotation_decode(buf, len, &back);
		T_OK(rc == HL_ERR_PROTO || hl_rotation_verify(&back) == HL_ERR_AUTH,
		     "byte %zu changed: refused", i);
		buf[i] ^= 0x01;
		if (i > 2 + 10 + 8 && i < len - 80)
			i += 7; /* a sample of the middle is enough */
	}
	/* Signed by another key than the old one it names. */
	T_EQ_INT(hl_rotation_encode(&r, kc.sk, buf, sizeof buf, &len), HL_OK,
	         "encode with the wrong secret");
	T_EQ_INT(hl_rotation_decode(buf, len, &back), HL_OK, "it parses");
	T_EQ_INT(hl_rotation_verify(&back), HL_ERR_AUTH, "but does not verify");
	T_EQ_INT(hl_rotation_encode(&r, ka.sk, buf, sizeof buf, &len), HL_OK, "encode again");

	/* Malformed bodies. */
	T_EQ_INT(hl_rotation_decode(buf, len - 1, &back), HL_ERR_PROTO, "one byte short");
	T_OK(back.station[0] == '\0' && back.at_ns == 0, "nothing kept on an error");
	T_EQ_INT(hl_rotation_decode(buf, 0, &back), HL_ERR_PROTO, "empty");
	memcpy(frame, buf, len);
	frame[len] = 0;
	T_EQ_INT(hl_rotation_decode(frame, len + 1, &back), HL_ERR_PROTO, "a trailing byte");
	frame[0] = 2;
	T_EQ_INT(hl_rotation_decode(frame, len, &back), HL_ERR_PROTO, "version 2");
	memcpy(frame, buf, len);
	frame[2] = 'W';
	T_EQ_INT(hl_rotation_decode(frame, len, &back), HL_ERR_PROTO, "a name that is not a name");
	memcpy(frame, buf, len);
	frame[1] = 200;
	T_EQ_INT(hl_rotation_decode(frame, len, &back), HL_ERR_PROTO,
	         "a name longer than the body");

	/* What encode refuses to sign. */
	back = r;
	memcpy(back.new_ed25519, back.old_ed25519, 32);
	T_EQ_INT(hl_rotation_encode(&back, ka.sk, buf, sizeof buf, &len), HL_ERR_INVAL,
	         "the same Ed25519 key");
	back = r;
	memcpy(back.new_x25519, back.old_x25519, 32);
	T_EQ_INT(hl_rotation_encode(&back, ka.sk, buf, sizeof buf, &len), HL_ERR_INVAL,
	         "the same X25519 key");
	back = r;
	memset(back.new_x25519, 0, 32);
	T_EQ_INT(hl_rotation_encode(&back, ka.sk, buf, sizeof buf, &len), HL_ERR_INVAL,
	         "an all-zero key");
	back = r;
	back.station[0] = '\0';
	T_EQ_INT(hl_rotation_encode(&back, ka.sk, buf, sizeof buf, &len), HL_ERR_INVAL, "no name");
	T_EQ_INT(hl_rotation_encode(&r, ka.sk, buf, 100, &len), HL_ERR_INVAL, "a short buffer");
	T_EQ_INT(len, 0, "nothing written");
	/* A body with the same keys, hand-made, is refused when parsed too. */
	T_EQ_INT(hl_rotation_encode(&r, ka.sk, buf, sizeof buf, &len), HL_OK, "encode");
	memcpy(other_x, r.old_x25519, 32);
	memcpy(buf + 2 + 10 + 64, other_x, 32); /* new_x25519 := old_x25519 */
	T_EQ_INT(hl_rotation_decode(buf, len, &back), HL_ERR_PROTO, "parsed: the same X25519 key");
	T_OK(strcmp(hl_kind_name(HL_EV_KEY), "key rotation") == 0, "kind name");
}

int
main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init\n");
		return 1;
	}
	keypair(&ka);
	keypair(&kb);
	keypair(&kc);
	test_prec();
	test_utf8();
	test_field_clean();
	test_hash();
	test_id();
	test_data_big();
	test_data_empty();
	test_data_bad();
	test_receipt();
	test_refuse();
	test_head();
	test_domains();
	test_rotation();
	return t_done();
}
