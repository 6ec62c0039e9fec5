/* SPDX-License-Identifier: ISC */
/* session.c: handshake and transport for one connection; see session.h. */
#include <string.h>
#include <sodium.h>

#include "session.h"

static void
put_record_header(uint8_t *out, size_t len)
{
	hl_put_u32(out, (uint32_t)len);
}

int
hl_session_start_initiator(struct hl_session *s, const uint8_t s_sk[static 32],
                           const uint8_t rs[static 32], uint64_t ts_ns, uint8_t *out, size_t cap,
                           size_t *outlen)
{
	uint8_t ts[HL_TS_LEN];
	size_t mlen = 0;
	int rc;

	memset(s, 0, sizeof *s);
	*outlen = 0;
	s->initiator = true;
	memcpy(s->remote, rs, 32);
	if (cap < HL_FRAME_HDR)
		return HL_ERR_INVAL;
	rc = hl_noise_init_initiator(&s->hs, (const uint8_t *)HL_PROLOGUE, strlen(HL_PROLOGUE),
	                             s_sk, rs);
	if (rc < 0)
		goto fail;
	hl_put_u64(ts, ts_ns / 1000000000u);
	hl_put_u32(ts + 8, (uint32_t)(ts_ns % 1000000000u));
	rc = hl_noise_write(&s->hs, ts, sizeof ts, out + HL_FRAME_HDR, cap - HL_FRAME_HDR, &mlen);
	if (rc < 0)
		goto fail;
	put_record_header(out, mlen);
	*outlen = HL_FRAME_HDR + mlen;
	s->state = HL_SS_WAIT_MSG1;
	return HL_OK;
fail:
	hl_session_wipe(s);
	return rc;
}

int
hl_session_start_responder(struct hl_session *s, const uint8_t s_sk[static 32])
{
	int rc;

	memset(s, 0, sizeof *s);
	rc = hl_noise_init_responder(&s->hs, (const uint8_t *)HL_PROLOGUE, strlen(HL_PROLOGUE),
	                             s_sk);
	if (rc < 0) {
		hl_session_wipe(s);
		return rc;
	}
	s->state = HL_SS_WAIT_MSG0;
	return HL_OK;
}

static int
on_msg0(struct hl_session *s, const uint8_t *rec, size_t len, hl_session_check_fn *check, void *ctx,
        uint8_t *scratch, uint8_t *out, struct hl_session_event *ev)
{
	size_t plen = 0, mlen = 0;
	int rc;

	rc = hl_noise_read(&s->hs, rec, len, scratch, HL_FRAME_MAX, &plen);
	if (rc < 0)
		return rc;
	if (plen != HL_TS_LEN)
		return HL_ERR_PROTO;
	memcpy(s->remote, hl_noise_remote_static(&s->hs), 32);
	rc = check(ctx, s->remote, scratch);
	if (rc < 0)
		return rc;
	rc = hl_noise_write(&s->hs, NULL, 0, out + HL_FRAME_HDR, HL_FRAME_MAX, &mlen);
	if (rc < 0)
		return rc;
	put_record_header(out, mlen);
	ev->out_len = HL_FRAME_HDR + mlen;
	rc = hl_noise_split(&s->hs, &s->tx, &s->rx);
	if (rc < 0)
		return rc;
	s->state = HL_SS_WAIT_CONFIRM;
	return HL_OK;
}

static int
on_transport(struct hl_session *s, const uint8_t *rec, size_t len, uint8_t *scratch,
             struct hl_session_event *ev)
{
	size_t plen = 0;
	int rc;

	rc = hl_cipher_decrypt(&s->rx, rec, len, scratch, HL_FRAME_MAX, &plen);
	if (rc < 0)
		return rc;
	if (plen < 1)
		return HL_ERR_PROTO;
	switch (scratch[0]) {
	case HL_FT_HELLO:
	case HL_FT_PING:
	case HL_FT_PONG:
	case HL_FT_CLOSE:
	case HL_FT_TEST:
	case HL_FT_TEST_REPLY:
	case HL_FT_CODEBOOK:
	case HL_FT_DATA:
	case HL_FT_RECEIPT:
	case HL_FT_REFUSE:
	case HL_FT_HEAD:
	case HL_FT_CHECKPOINT:
	case HL_FT_SYNC:
	case HL_FT_RETURN:
	case HL_FT_RETURN_HEAD:
		break;
	case HL_FT_REKEY:
		if (plen != 1)
			return HL_ERR_PROTO;
		hl_cipher_rekey(&s->rx);
		break;
	default:
		return HL_ERR_PROTO;
	}
	ev->frame = true;
	ev->type = scratch[0];
	ev->body = scratch + 1;
	ev->len = plen - 1;
	return HL_OK;
}

int
hl_session_on_record(struct hl_session *s, const uint8_t *rec, size_t len,
                     hl_session_check_fn *check, void *ctx, uint8_t *scratch, uint8_t *out,
                     struct hl_session_event *ev)
{
	int rc = HL_ERR_PROTO;

	memset(ev, 0, sizeof *ev);
	switch (s->state) {
	case HL_SS_WAIT_MSG0:
		rc = on_msg0(s, rec, len, check, ctx, scratch, out, ev);
		break;
	case HL_SS_WAIT_MSG1: {
		size_t plen = 0;
		rc = hl_noise_read(&s->hs, rec, len, scratch, HL_FRAME_MAX, &plen);
		if (rc == HL_OK && plen != 0)
			rc = HL_ERR_PROTO;
		if (rc == HL_OK)
			rc = hl_noise_split(&s->hs, &s->tx, &s->rx);
		if (rc == HL_OK) {
			s->state = HL_SS_ESTABLISHED;
			ev->established = true;
		}
		break;
	}
	case HL_SS_WAIT_CONFIRM:
		rc = on_transport(s, rec, len, scratch, ev);
		if (rc == HL_OK) {
			s->state = HL_SS_ESTABLISHED;
			ev->established = true;
		}
		break;
	case HL_SS_ESTABLISHED:
		rc = on_transport(s, rec, len, scratch, ev);
		break;
	case HL_SS_DEAD:
		rc = HL_ERR_CLOSED;
		break;
	}
	if (rc < 0) {
		hl_session_wipe(s);
		memset(ev, 0, sizeof *ev);
	}
	return rc;
}

int
hl_session_seal(struct hl_session *s, uint8_t type, const uint8_t *body, size_t len, uint8_t *out,
                size_t cap, size_t *outlen)
{
	size_t clen = 0;
	int rc;

	*outlen = 0;
	if (s->state != HL_SS_ESTABLISHED && s->state != HL_SS_WAIT_CONFIRM)
		return HL_ERR_CLOSED;
	if (len > HL_FRAME_BODY_MAX || cap < HL_FRAME_HDR + 1 + len + HL_NOISE_TAGLEN)
		return HL_ERR_INVAL;
	if (s->tx.n >= HL_NONCE_RENEW && type != HL_FT_CLOSE)
		return HL_ERR_LIMIT; /* a CLOSE may still say why we go */
	/* Encrypt in place: build the plaintext where the ciphertext goes. */
	out[HL_FRAME_HDR] = type;
	if (len)
		memmove(out + HL_FRAME_HDR + 1, body, len);
	rc = hl_cipher_encrypt(&s->tx, out + HL_FRAME_HDR, 1 + len, out + HL_FRAME_HDR,
	                       cap - HL_FRAME_HDR, &clen);
	if (rc < 0)
		return rc;
	put_record_header(out, clen);
	*outlen = HL_FRAME_HDR + clen;
	s->sent_since_rekey++;
	return HL_OK;
}

int
hl_session_seal_rekey(struct hl_session *s, uint8_t *out, size_t cap, size_t *outlen)
{
	int rc = hl_session_seal(s, HL_FT_REKEY, NULL, 0, out, cap, outlen);

	if (rc == HL_OK) {
		hl_cipher_rekey(&s->tx);
		s->sent_since_rekey = 0;
	}
	return rc;
}

void
hl_session_wipe(struct hl_session *s)
{
	hl_noise_wipe(&s->hs);
	hl_cipher_wipe(&s->tx);
	hl_cipher_wipe(&s->rx);
	s->state = HL_SS_DEAD;
}
