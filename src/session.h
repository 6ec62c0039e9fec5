/* SPDX-License-Identifier: ISC */
/*
 * session.h: one connection's protocol state, from the first handshake
 * record to the last transport frame. Pure: the caller moves the bytes
 * (link.c) and decides what an authenticated peer may do (station.c).
 *
 *   initiator: start -> WAIT_MSG1 -> ESTABLISHED
 *   responder: WAIT_MSG0 -> WAIT_CONFIRM -> ESTABLISHED
 *
 * The responder counts the session established only once the initiator's
 * first transport frame decrypts (NOISE.md 3.5): until then message 0 may
 * be a replay. Message 0 carries the initiator's clock (12 bytes: seconds
 * u64 and nanoseconds u32, big-endian); the responder's check callback
 * refuses one not newer than the last it accepted from that key.
 */
#ifndef HL_SESSION_H
#define HL_SESSION_H

#include "hl.h"
#include "noise.h"
#include "wire.h"

#define HL_PROLOGUE "hotline/1 Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define HL_TS_LEN 12
/* Past this many frames under one handshake, the session must be renewed. */
#define HL_NONCE_RENEW (UINT64_C(1) << 60)
/* Largest record any session call writes: header + Noise message. */
#define HL_RECORD_MAX (HL_FRAME_HDR + HL_FRAME_MAX)

enum hl_session_state {
	HL_SS_WAIT_MSG0,
	HL_SS_WAIT_MSG1,
	HL_SS_WAIT_CONFIRM,
	HL_SS_ESTABLISHED,
	HL_SS_DEAD,
};

/*
 * Decides whether an initiator may link: HL_OK, HL_ERR_AUTH (key not
 * pinned) or HL_ERR_REPLAY (timestamp not newer). Called only after message
 * 0 authenticated, so a forged message never moves the stored timestamp.
 */
typedef int hl_session_check_fn(void *ctx, const uint8_t rs[static 32],
                                const uint8_t ts[static HL_TS_LEN]);

struct hl_session {
	enum hl_session_state state;
	bool initiator;
	struct hl_noise_hs hs;
	struct hl_cipher tx, rx;
	uint8_t remote[32];
	uint64_t sent_since_rekey;
};

struct hl_session_event {
	bool established; /* this record completed the handshake */
	bool frame;       /* a frame arrived: type, body, len */
	uint8_t type;
	const uint8_t *body; /* points into the caller's scratch buffer */
	size_t len;
	size_t out_len; /* bytes the caller must send from out */
};

/* Initiator: writes message 0 as a record into out. ts_ns is the wall clock. */
HL_MUST_CHECK int hl_session_start_initiator(struct hl_session *s, const uint8_t s_sk[static 32],
                                             const uint8_t rs[static 32], uint64_t ts_ns,
                                             uint8_t *out, size_t cap, size_t *outlen);
HL_MUST_CHECK int hl_session_start_responder(struct hl_session *s, const uint8_t s_sk[static 32]);

/*
 * Process one record. scratch receives plaintext (HL_FRAME_MAX bytes);
 * out (HL_RECORD_MAX bytes) receives a reply record when ev->out_len > 0.
 * Any error is final: the caller drops the connection and the session is
 * wiped (HL_ERR_PROTO, HL_ERR_AUTH, HL_ERR_REPLAY).
 */
HL_MUST_CHECK int hl_session_on_record(struct hl_session *s, const uint8_t *rec, size_t len,
                                       hl_session_check_fn *check, void *ctx, uint8_t *scratch,
                                       uint8_t *out, struct hl_session_event *ev);

/*
 * Seal a frame (type, body) as a record into out (cap bytes). HL_ERR_LIMIT
 * once nonces reach HL_NONCE_RENEW: the caller closes and handshakes anew.
 */
HL_MUST_CHECK int hl_session_seal(struct hl_session *s, uint8_t type, const uint8_t *body,
                                  size_t len, uint8_t *out, size_t cap, size_t *outlen);
/* Seal a REKEY frame, then switch the sending key (Noise Rekey()). */
HL_MUST_CHECK int hl_session_seal_rekey(struct hl_session *s, uint8_t *out, size_t cap,
                                        size_t *outlen);
void hl_session_wipe(struct hl_session *s);

#endif
