/* SPDX-License-Identifier: ISC */
/*
 * fuzz_session.c: libFuzzer harness for src/session.c, the responder side.
 * The input is the byte stream an initiator would send: it is split into
 * records with hl_frame_reader and each record goes to a responder session
 * with a fixed static key. The check callback accepts one fixed pinned
 * initiator key (and refuses an all-zero timestamp as a replay). Built with
 * HL_TESTING, the responder's ephemeral key is fixed too, so the seed
 * corpus can hold a real handshake followed by transport frames and the
 * fuzzer can reach the transport code. Frames get answers, as link.c
 * would send them. Nothing may crash, and every failure must leave the
 * session dead with its keys wiped.
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "session.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed keys; fuzz/corpus/session was generated with them. */
static uint8_t resp_sk[32], resp_e[32], ini_sk[32], pinned[32];
static uint8_t scratch[HL_FRAME_MAX];
static uint8_t out[HL_RECORD_MAX];
static uint8_t reply[HL_RECORD_MAX];
static uint8_t body[HL_FRAME_MAX];
static struct hl_frame_reader reader;

struct check_ctx {
	int calls;
	uint8_t last_ts[HL_TS_LEN];
};

static void
setup(void)
{
	static bool done;

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < 32; i++) {
		resp_sk[i] = (uint8_t)(1 + i);
		resp_e[i] = (uint8_t)(0x61 + i);
		ini_sk[i] = (uint8_t)(0x41 + i);
	}
	if (crypto_scalarmult_base(pinned, ini_sk) != 0)
		abort();
	done = true;
}

static int
check(void *ctx, const uint8_t rs[static 32], const uint8_t ts[static HL_TS_LEN])
{
	struct check_ctx *c = ctx;

	c->calls++;
	if (sodium_memcmp(rs, pinned, 32) != 0)
		return HL_ERR_AUTH;
	if (memcmp(ts, c->last_ts, HL_TS_LEN) <= 0)
		return HL_ERR_REPLAY;
	memcpy(c->last_ts, ts, HL_TS_LEN);
	return HL_OK;
}

static void
check_dead(const struct hl_session *s, const struct hl_session_event *ev)
{
	static const uint8_t zero[HL_NOISE_KEYLEN];

	if (s->state != HL_SS_DEAD || s->tx.has_key || s->rx.has_key)
		abort();
	if (memcmp(s->tx.k, zero, sizeof zero) != 0 || memcmp(s->rx.k, zero, sizeof zero) != 0)
		abort();
	if (ev->frame || ev->established || ev->out_len || ev->body)
		abort();
}

/* Answer a frame as link.c would; returns false once the session is over. */
static bool
answer(struct hl_session *s, const struct hl_session_event *ev, uint64_t nframes)
{
	size_t n = 0;
	int rc = HL_OK;

	switch (ev->type) {
	case HL_FT_HELLO: {
		uint8_t version;
		char name[33];
		if (hl_hello_decode(ev->body, ev->len, &version, name) < 0)
			return false;
		rc = hl_hello_encode("responder", body, sizeof body, &n);
		if (rc == HL_OK)
			rc = hl_session_seal(s, HL_FT_HELLO, body, n, reply, sizeof reply, &n);
		break;
	}
	case HL_FT_PING:
		if (ev->len != 16)
			return false;
		memcpy(body, ev->body, ev->len);
		rc = hl_session_seal(s, HL_FT_PONG, body, ev->len, reply, sizeof reply, &n);
		break;
	case HL_FT_PONG:
	case HL_FT_REKEY:
		break;
	case HL_FT_CLOSE:
		return false;
	default:
		abort(); /* on_record lets only the known types through */
	}
	if (rc < 0)
		abort();
	if (n && hl_get_u32(reply) != n - HL_FRAME_HDR)
		abort();
	if (nframes % 8 == 7) {
		rc = hl_session_seal_rekey(s, reply, sizeof reply, &n);
		if (rc < 0 || s->sent_since_rekey != 0)
			abort();
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl_session s;
	struct hl_session_event ev;
	struct check_ctx ctx;
	uint64_t nframes = 0;
	size_t off = 0;

	setup();
	memset(&ctx, 0, sizeof ctx);
	if (hl_session_start_responder(&s, resp_sk) < 0)
		abort();
#ifdef HL_TESTING
	hl_noise_set_ephemeral(&s.hs, resp_e);
#endif
	hl_frame_reader_init(&reader);
	while (off < size) {
		const uint8_t *rec;
		size_t reclen;
		enum hl_session_state before = s.state;
		int used = hl_frame_feed(&reader, data + off, size - off, &rec, &reclen);
		int rc;

		if (used <= 0)
			break;
		off += (size_t)used;
		if (!rec)
			continue;
		rc = hl_session_on_record(&s, rec, reclen, check, &ctx, scratch, out, &ev);
		if (ctx.calls > 1)
			abort();
		if (rc < 0) {
			if (rc != HL_ERR_PROTO && rc != HL_ERR_AUTH && rc != HL_ERR_REPLAY &&
			    rc != HL_ERR_LIMIT)
				abort();
			check_dead(&s, &ev);
			return 0;
		}
		if (ev.out_len) {
			if (before != HL_SS_WAIT_MSG0 || s.state != HL_SS_WAIT_CONFIRM ||
			    ev.out_len != HL_FRAME_HDR + HL_NOISE_IK_MSG1_MIN ||
			    hl_get_u32(out) != ev.out_len - HL_FRAME_HDR)
				abort();
			if (sodium_memcmp(s.remote, pinned, 32) != 0)
				abort();
		}
		if (ev.established != (before == HL_SS_WAIT_CONFIRM))
			abort();
		if (ev.frame) {
			if (before == HL_SS_WAIT_MSG0 || s.state != HL_SS_ESTABLISHED)
				abort();
			if (ev.body != scratch + 1 || ev.len + 1 + HL_NOISE_TAGLEN != reclen)
				abort();
			if (!answer(&s, &ev, nframes++))
				break;
		}
	}
	hl_session_wipe(&s);
	return 0;
}
