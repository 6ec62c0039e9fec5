/* SPDX-License-Identifier: ISC */
/*
 * test_session.c: src/session.c end to end in memory: an initiator and a
 * responder with real random identities, the handshake, frames both ways,
 * the responder's pin and replay checks, tampering, rekeying and the nonce
 * limit.
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "keys.h"
#include "session.h"
#include "t.h"

/* What the responder's check callback knows: like check_initiator in src/link.c. */
struct pins {
	uint8_t key[32];
	uint8_t last_ts[HL_TS_LEN];
	int calls;
	uint8_t seen_ts[HL_TS_LEN];
};

static struct hl_identity ini_id, resp_id, other_id;
static uint8_t scratch[HL_FRAME_MAX];
static uint8_t out[HL_RECORD_MAX];
static uint8_t rec[HL_RECORD_MAX];
static uint8_t body[HL_FRAME_MAX];

static int
check(void *ctx, const uint8_t rs[static 32], const uint8_t ts[static HL_TS_LEN])
{
	struct pins *p = ctx;

	p->calls++;
	memcpy(p->seen_ts, ts, HL_TS_LEN);
	if (sodium_memcmp(rs, p->key, 32) != 0)
		return HL_ERR_AUTH;
	if (memcmp(ts, p->last_ts, HL_TS_LEN) <= 0)
		return HL_ERR_REPLAY;
	memcpy(p->last_ts, ts, HL_TS_LEN);
	return HL_OK;
}

/* Hand a whole record (header included) to s, checking the header first. */
static int
deliver(struct hl_session *s, const uint8_t *r, size_t n, struct pins *p,
        struct hl_session_event *ev)
{
	if (n < HL_FRAME_HDR || hl_get_u32(r) != n - HL_FRAME_HDR)
		return -1000;
	return hl_session_on_record(s, r + HL_FRAME_HDR, n - HL_FRAME_HDR, check, p, scratch, out,
	                            ev);
}

static void
pins_init(struct pins *p, const uint8_t key[static 32])
{
	memset(p, 0, sizeof *p);
	memcpy(p->key, key, 32);
}

/*
 * Run a handshake to the point where both sides have transport keys (the
 * responder in WAIT_CONFIRM). Returns the first failing rc, or HL_OK.
 */
static int
handshake(struct hl_session *ini, struct hl_session *resp, struct pins *p, uint64_t ts_ns)
{
	struct hl_session_event ev;
	size_t n = 0;
	int rc;

	rc = hl_session_start_initiator(ini, ini_id.x25519_sk, resp_id.pub.x25519, ts_ns, rec,
	                                sizeof rec, &n);
	if (rc < 0)
		return rc;
	rc = hl_session_start_responder(resp, resp_id.x25519_sk);
	if (rc < 0)
		return rc;
	rc = deliver(resp, rec, n, p, &ev);
	if (rc < 0)
		return rc;
	if (ev.out_len == 0 || ev.established || ev.frame)
		return -1001;
	memcpy(rec, out, ev.out_len);
	rc = deliver(ini, rec, ev.out_len, NULL, &ev);
	if (rc < 0)
		return rc;
	if (!ev.established || ev.frame || ev.out_len)
		return -1002;
	return HL_OK;
}

/* Seal (type, body) on from and deliver it to to; the event is left in *ev. */
static int
send_frame(struct hl_session *from, struct hl_session *to, uint8_t type, const uint8_t *b,
           size_t len, struct hl_session_event *ev)
{
	size_t n = 0;
	int rc = hl_session_seal(from, type, b, len, rec, sizeof rec, &n);

	if (rc < 0)
		return rc;
	return deliver(to, rec, n, NULL, ev);
}

static void
test_handshake(void)
{
	struct hl_session ini, resp;
	struct hl_session_event ev;
	struct pins p;
	uint8_t hello[64], version = 0, ping[16];
	char name[33];
	size_t n = 0;
	int rc;

	pins_init(&p, ini_id.pub.x25519);
	rc = hl_session_start_initiator(&ini, ini_id.x25519_sk, resp_id.pub.x25519,
	                                UINT64_C(1700000000123456789), rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "initiator starts");
	T_EQ_INT(ini.state, HL_SS_WAIT_MSG1, "initiator waits for message 1");
	T_OK(n == HL_FRAME_HDR + HL_NOISE_IK_MSG0_MIN + HL_TS_LEN, "message 0 record size");
	T_EQ_INT(hl_get_u32(rec), n - HL_FRAME_HDR, "message 0 record header");
	T_EQ_INT(hl_session_seal(&ini, HL_FT_PING, ping, 0, out, sizeof out, &n), HL_ERR_CLOSED,
	         "initiator cannot seal before message 1");
	rc = hl_session_start_initiator(&ini, ini_id.x25519_sk, resp_id.pub.x25519,
	                                UINT64_C(1700000000123456789), rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "initiator restarts");

	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "responder starts");
	T_EQ_INT(resp.state, HL_SS_WAIT_MSG0, "responder waits for message 0");
	rc = deliver(&resp, rec, n, &p, &ev);
	T_EQ_INT(rc, HL_OK, "responder accepts message 0");
	T_EQ_INT(p.calls, 1, "check called once");
	{
		uint8_t want[HL_TS_LEN];
		hl_put_u64(want, 1700000000u);
		hl_put_u32(want + 8, 123456789u);
		T_EQ_MEM(p.seen_ts, want, HL_TS_LEN, "timestamp is seconds u64 + nanoseconds u32");
	}
	T_EQ_MEM(resp.remote, ini_id.pub.x25519, 32, "responder learned the initiator's key");
	T_OK(!ev.established && !ev.frame, "message 0 does not establish");
	T_OK(ev.out_len == HL_FRAME_HDR + HL_NOISE_IK_MSG1_MIN, "message 1 record size");
	T_EQ_INT(resp.state, HL_SS_WAIT_CONFIRM, "responder waits for confirmation");

	memcpy(rec, out, ev.out_len);
	rc = deliver(&ini, rec, ev.out_len, NULL, &ev);
	T_EQ_INT(rc, HL_OK, "initiator accepts message 1");
	T_OK(ev.established && !ev.frame && ev.out_len == 0, "initiator established");
	T_EQ_INT(ini.state, HL_SS_ESTABLISHED, "initiator state");
	T_EQ_MEM(ini.remote, resp_id.pub.x25519, 32, "initiator's remote is the responder");

	rc = hl_hello_encode("alpha", hello, sizeof hello, &n);
	T_EQ_INT(rc, HL_OK, "hello encodes");
	rc = send_frame(&ini, &resp, HL_FT_HELLO, hello, n, &ev);
	T_EQ_INT(rc, HL_OK, "responder accepts the initiator's HELLO");
	T_OK(ev.established && ev.frame && ev.type == HL_FT_HELLO,
	     "first frame establishes the responder");
	T_EQ_INT(resp.state, HL_SS_ESTABLISHED, "responder state");
	rc = hl_hello_decode(ev.body, ev.len, &version, name);
	T_OK(rc == HL_OK && version == HL_WIRE_VERSION && strcmp(name, "alpha") == 0,
	     "HELLO body round trip");

	rc = hl_hello_encode("bravo", hello, sizeof hello, &n);
	T_EQ_INT(rc, HL_OK, "hello encodes");
	rc = send_frame(&resp, &ini, HL_FT_HELLO, hello, n, &ev);
	T_OK(rc == HL_OK && ev.frame && !ev.established && ev.type == HL_FT_HELLO,
	     "initiator accepts the responder's HELLO");
	rc = hl_hello_decode(ev.body, ev.len, &version, name);
	T_OK(rc == HL_OK && strcmp(name, "bravo") == 0, "HELLO back round trip");

	hl_put_u64(ping, 42);
	hl_put_u64(ping + 8, UINT64_C(0x0123456789abcdef));
	rc = send_frame(&ini, &resp, HL_FT_PING, ping, sizeof ping, &ev);
	T_OK(rc == HL_OK && ev.frame && ev.type == HL_FT_PING && ev.len == 16 &&
	         memcmp(ev.body, ping, 16) == 0,
	     "PING round trip");
	memcpy(body, ev.body, ev.len);
	rc = send_frame(&resp, &ini, HL_FT_PONG, body, 16, &ev);
	T_OK(rc == HL_OK && ev.type == HL_FT_PONG && ev.len == 16 && memcmp(ev.body, ping, 16) == 0,
	     "PONG echoes the ping");

	body[0] = HL_CLOSE_SHUTDOWN;
	memcpy(body + 1, "bye", 3);
	rc = send_frame(&ini, &resp, HL_FT_CLOSE, body, 4, &ev);
	T_OK(rc == HL_OK && ev.type == HL_FT_CLOSE && ev.len == 4 &&
	         ev.body[0] == HL_CLOSE_SHUTDOWN,
	     "CLOSE round trip");
	rc = send_frame(&resp, &ini, HL_FT_PING, NULL, 0, &ev);
	T_OK(rc == HL_OK && ev.type == HL_FT_PING && ev.len == 0, "empty body round trip");

	/* Largest frame. */
	for (size_t i = 0; i < HL_FRAME_BODY_MAX; i++)
		body[i] = (uint8_t)(i * 13u);
	rc = hl_session_seal(&ini, HL_FT_PING, body, HL_FRAME_BODY_MAX, rec, sizeof rec, &n);
	T_OK(rc == HL_OK && n == HL_RECORD_MAX, "largest body seals to a 65535-byte record");
	rc = deliver(&resp, rec, n, NULL, &ev);
	T_OK(rc == HL_OK && ev.len == HL_FRAME_BODY_MAX &&
	         memcmp(ev.body, body, HL_FRAME_BODY_MAX) == 0,
	     "largest body round trip");
	rc = hl_session_seal(&ini, HL_FT_PING, body, HL_FRAME_BODY_MAX + 1, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_ERR_INVAL, "body one byte too long refused");
	rc = hl_session_seal(&ini, HL_FT_PING, body, 10, rec, HL_FRAME_HDR + 1 + 10 + 15, &n);
	T_EQ_INT(rc, HL_ERR_INVAL, "seal into too small a buffer refused");
	T_EQ_INT(ini.state, HL_SS_ESTABLISHED, "a refused seal leaves the session alive");
	rc = send_frame(&ini, &resp, HL_FT_PING, ping, sizeof ping, &ev);
	T_EQ_INT(rc, HL_OK, "and in sync");

	hl_session_wipe(&ini);
	hl_session_wipe(&resp);
	T_OK(ini.state == HL_SS_DEAD && resp.state == HL_SS_DEAD, "wipe kills both");
	T_EQ_INT(hl_session_seal(&ini, HL_FT_PING, NULL, 0, rec, sizeof rec, &n), HL_ERR_CLOSED,
	         "seal after wipe refused");
}

static void
test_unpinned(void)
{
	struct hl_session ini, resp;
	struct hl_session_event ev;
	struct pins p;
	size_t n = 0;
	int rc;

	pins_init(&p, other_id.pub.x25519);
	rc = hl_session_start_initiator(&ini, ini_id.x25519_sk, resp_id.pub.x25519, 1000, rec,
	                                sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "unpinned: initiator starts");
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "unpinned: responder starts");
	rc = deliver(&resp, rec, n, &p, &ev);
	T_EQ_INT(rc, HL_ERR_AUTH, "unpinned key refused");
	T_EQ_INT(p.calls, 1, "unpinned: check was asked");
	T_OK(ev.out_len == 0 && !ev.established, "unpinned: no reply");
	T_EQ_INT(resp.state, HL_SS_DEAD, "unpinned: responder dead");
	T_EQ_INT(deliver(&resp, rec, n, &p, &ev), HL_ERR_CLOSED, "dead session refuses records");

	/* The initiator pinned the wrong responder key: message 0 does not decrypt. */
	pins_init(&p, ini_id.pub.x25519);
	rc = hl_session_start_initiator(&ini, ini_id.x25519_sk, other_id.pub.x25519, 1000, rec,
	                                sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "wrong responder key: initiator starts");
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "wrong responder key: responder starts");
	rc = deliver(&resp, rec, n, &p, &ev);
	T_EQ_INT(rc, HL_ERR_AUTH, "message 0 for another responder refused");
	T_EQ_INT(p.calls, 0, "check not asked for an unauthenticated message 0");
	hl_session_wipe(&ini);
}

static void
test_replay(void)
{
	struct hl_session ini, resp;
	struct hl_session_event ev;
	struct pins p;
	uint8_t msg0[HL_RECORD_MAX], last[HL_TS_LEN];
	size_t n0 = 0;
	int rc;

	pins_init(&p, ini_id.pub.x25519);
	rc = hl_session_start_initiator(&ini, ini_id.x25519_sk, resp_id.pub.x25519,
	                                UINT64_C(5000000000), msg0, sizeof msg0, &n0);
	T_EQ_INT(rc, HL_OK, "replay: initiator starts");
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "replay: responder starts");
	rc = deliver(&resp, msg0, n0, &p, &ev);
	T_EQ_INT(rc, HL_OK, "replay: first message 0 accepted");
	memcpy(last, p.last_ts, HL_TS_LEN);

	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "replay: fresh responder");
	rc = deliver(&resp, msg0, n0, &p, &ev);
	T_EQ_INT(rc, HL_ERR_REPLAY, "replayed message 0 refused");
	T_OK(ev.out_len == 0 && resp.state == HL_SS_DEAD, "replay: no reply, responder dead");

	/* An older clock from the genuine initiator is refused too. */
	rc = hl_session_start_initiator(&ini, ini_id.x25519_sk, resp_id.pub.x25519,
	                                UINT64_C(4999999999), rec, sizeof rec, &n0);
	T_EQ_INT(rc, HL_OK, "replay: initiator with an older clock");
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "replay: fresh responder");
	rc = deliver(&resp, rec, n0, &p, &ev);
	T_EQ_INT(rc, HL_ERR_REPLAY, "older timestamp refused");
	T_EQ_MEM(p.last_ts, last, HL_TS_LEN, "refusals do not move the stored timestamp");

	/* A forged (tampered) message 0 never reaches the check. */
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "replay: fresh responder");
	msg0[n0 - 1] ^= 0x01;
	p.calls = 0;
	rc = deliver(&resp, msg0, n0, &p, &ev);
	T_EQ_INT(rc, HL_ERR_AUTH, "tampered message 0 refused");
	T_EQ_INT(p.calls, 0, "tampered message 0 never reaches the check");

	/* One nanosecond newer is fine. */
	rc = hl_session_start_initiator(&ini, ini_id.x25519_sk, resp_id.pub.x25519,
	                                UINT64_C(5000000001), rec, sizeof rec, &n0);
	T_EQ_INT(rc, HL_OK, "replay: initiator with a newer clock");
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "replay: fresh responder");
	rc = deliver(&resp, rec, n0, &p, &ev);
	T_EQ_INT(rc, HL_OK, "newer timestamp accepted");
	hl_session_wipe(&ini);
	hl_session_wipe(&resp);
}

static void
test_bad_msg0(void)
{
	struct hl_session resp;
	struct hl_session_event ev;
	struct hl_noise_hs hs;
	struct pins p;
	uint8_t ts[HL_TS_LEN + 1];
	size_t n = 0;
	int rc;

	pins_init(&p, ini_id.pub.x25519);
	memset(ts, 0x7f, sizeof ts);
	/* An authentic message 0 whose payload is not 12 bytes. */
	rc = hl_noise_init_initiator(&hs, (const uint8_t *)HL_PROLOGUE, strlen(HL_PROLOGUE),
	                             ini_id.x25519_sk, resp_id.pub.x25519);
	T_EQ_INT(rc, HL_OK, "noise initiator");
	rc = hl_noise_write(&hs, ts, HL_TS_LEN - 1, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "message 0 with an 11-byte payload");
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "bad msg0: responder starts");
	rc = hl_session_on_record(&resp, rec, n, check, &p, scratch, out, &ev);
	T_EQ_INT(rc, HL_ERR_PROTO, "11-byte timestamp refused");
	T_EQ_INT(p.calls, 0, "bad timestamp never reaches the check");
	hl_noise_wipe(&hs);

	rc = hl_noise_init_initiator(&hs, (const uint8_t *)HL_PROLOGUE, strlen(HL_PROLOGUE),
	                             ini_id.x25519_sk, resp_id.pub.x25519);
	T_EQ_INT(rc, HL_OK, "noise initiator");
	rc = hl_noise_write(&hs, ts, HL_TS_LEN + 1, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "message 0 with a 13-byte payload");
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "bad msg0: responder starts");
	rc = hl_session_on_record(&resp, rec, n, check, &p, scratch, out, &ev);
	T_EQ_INT(rc, HL_ERR_PROTO, "13-byte timestamp refused");
	T_EQ_INT(p.calls, 0, "long timestamp never reaches the check");
	hl_noise_wipe(&hs);

	/* A different prologue does not authenticate. */
	rc = hl_noise_init_initiator(&hs, (const uint8_t *)"hotline/0", 9, ini_id.x25519_sk,
	                             resp_id.pub.x25519);
	T_EQ_INT(rc, HL_OK, "noise initiator, other prologue");
	rc = hl_noise_write(&hs, ts, HL_TS_LEN, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "message 0 under another prologue");
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "bad msg0: responder starts");
	rc = hl_session_on_record(&resp, rec, n, check, &p, scratch, out, &ev);
	T_EQ_INT(rc, HL_ERR_AUTH, "other prologue refused");
	hl_noise_wipe(&hs);

	/* Short garbage. */
	rc = hl_session_start_responder(&resp, resp_id.x25519_sk);
	T_EQ_INT(rc, HL_OK, "bad msg0: responder starts");
	rc = hl_session_on_record(&resp, rec, 10, check, &p, scratch, out, &ev);
	T_OK(rc == HL_ERR_PROTO || rc == HL_ERR_AUTH, "short message 0 refused");
	T_EQ_INT(resp.state, HL_SS_DEAD, "short message 0 kills the session");
}

static void
test_tamper(void)
{
	struct hl_session ini, resp;
	struct hl_session_event ev;
	struct pins p;
	uint8_t ping[16] = {1, 2, 3};
	size_t n = 0;
	int rc;

	pins_init(&p, ini_id.pub.x25519);
	rc = handshake(&ini, &resp, &p, 77);
	T_EQ_INT(rc, HL_OK, "tamper: handshake");
	rc = send_frame(&ini, &resp, HL_FT_PING, ping, sizeof ping, &ev);
	T_EQ_INT(rc, HL_OK, "tamper: first frame");

	rc = hl_session_seal(&resp, HL_FT_PING, ping, sizeof ping, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "tamper: seal");
	rec[HL_FRAME_HDR + 2] ^= 0x80;
	rc = deliver(&ini, rec, n, NULL, &ev);
	T_EQ_INT(rc, HL_ERR_AUTH, "tampered record refused");
	T_OK(!ev.frame && ev.out_len == 0, "tampered record yields no frame");
	T_EQ_INT(ini.state, HL_SS_DEAD, "session dead after a tampered record");
	rec[HL_FRAME_HDR + 2] ^= 0x80;
	rc = deliver(&ini, rec, n, NULL, &ev);
	T_EQ_INT(rc, HL_ERR_CLOSED, "the genuine record is refused afterwards");
	T_EQ_INT(hl_session_seal(&ini, HL_FT_PING, NULL, 0, rec, sizeof rec, &n), HL_ERR_CLOSED,
	         "dead session cannot seal");
	{
		static const uint8_t zero[sizeof ini.tx.k];
		T_EQ_MEM(ini.tx.k, zero, sizeof zero, "dead session's tx key wiped");
		T_EQ_MEM(ini.rx.k, zero, sizeof zero, "dead session's rx key wiped");
	}

	/* Replaying an earlier transport record. */
	rc = hl_session_seal(&ini, HL_FT_PING, ping, sizeof ping, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_ERR_CLOSED, "tamper: dead initiator");
	rc = handshake(&ini, &resp, &p, 78);
	T_EQ_INT(rc, HL_OK, "tamper: second handshake");
	rc = hl_session_seal(&ini, HL_FT_PING, ping, sizeof ping, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "tamper: seal");
	memcpy(body, rec, n);
	rc = deliver(&resp, rec, n, NULL, &ev);
	T_EQ_INT(rc, HL_OK, "original frame accepted");
	rc = deliver(&resp, body, n, NULL, &ev);
	T_EQ_INT(rc, HL_ERR_AUTH, "replayed transport record refused");
	T_EQ_INT(resp.state, HL_SS_DEAD, "responder dead after a replayed record");

	/* A truncated record. */
	rc = handshake(&ini, &resp, &p, 79);
	T_EQ_INT(rc, HL_OK, "tamper: third handshake");
	rc = hl_session_seal(&ini, HL_FT_PING, ping, sizeof ping, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "tamper: seal");
	rc = hl_session_on_record(&resp, rec + HL_FRAME_HDR, n - HL_FRAME_HDR - 1, check, &p,
	                          scratch, out, &ev);
	T_EQ_INT(rc, HL_ERR_AUTH, "truncated record refused");
	hl_session_wipe(&ini);
	hl_session_wipe(&resp);
}

static void
test_bad_frames(void)
{
	struct hl_session ini, resp;
	struct hl_session_event ev;
	struct pins p;
	uint8_t one = 0;
	size_t n = 0;
	int rc;

	pins_init(&p, ini_id.pub.x25519);
	rc = handshake(&ini, &resp, &p, 1);
	T_EQ_INT(rc, HL_OK, "bad frames: handshake");
	rc = send_frame(&ini, &resp, 0x7f, NULL, 0, &ev);
	T_EQ_INT(rc, HL_ERR_PROTO, "unknown frame type refused");
	T_EQ_INT(resp.state, HL_SS_DEAD, "unknown frame type kills the session");

	pins_init(&p, ini_id.pub.x25519);
	rc = handshake(&ini, &resp, &p, 2);
	T_EQ_INT(rc, HL_OK, "bad frames: handshake");
	rc = send_frame(&ini, &resp, HL_FT_REKEY, &one, 1, &ev);
	T_EQ_INT(rc, HL_ERR_PROTO, "REKEY with a body refused");

	/* A transport message with an empty plaintext: no type byte. */
	pins_init(&p, ini_id.pub.x25519);
	rc = handshake(&ini, &resp, &p, 3);
	T_EQ_INT(rc, HL_OK, "bad frames: handshake");
	rc = hl_cipher_encrypt(&ini.tx, NULL, 0, rec, sizeof rec, &n);
	T_OK(rc == HL_OK && n == HL_NOISE_TAGLEN, "empty transport message");
	rc = hl_session_on_record(&resp, rec, n, check, &p, scratch, out, &ev);
	T_EQ_INT(rc, HL_ERR_PROTO, "frame without a type refused");

	/* A second message 1 to an established initiator is just a bad transport frame. */
	pins_init(&p, ini_id.pub.x25519);
	rc = handshake(&ini, &resp, &p, 4);
	T_EQ_INT(rc, HL_OK, "bad frames: handshake");
	memset(rec, 0, HL_NOISE_IK_MSG1_MIN);
	rc = hl_session_on_record(&ini, rec, HL_NOISE_IK_MSG1_MIN, check, NULL, scratch, out, &ev);
	T_EQ_INT(rc, HL_ERR_AUTH, "garbage to an established initiator refused");

	/* Garbage as message 1. */
	rc = hl_session_start_initiator(&ini, ini_id.x25519_sk, resp_id.pub.x25519, 5, rec,
	                                sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "bad frames: initiator starts");
	memset(rec, 0x55, HL_NOISE_IK_MSG1_MIN);
	rc = hl_session_on_record(&ini, rec, HL_NOISE_IK_MSG1_MIN, check, NULL, scratch, out, &ev);
	T_OK(rc == HL_ERR_AUTH || rc == HL_ERR_PROTO, "garbage message 1 refused");
	T_OK(ini.state == HL_SS_DEAD && !ev.established, "garbage message 1 kills the initiator");
	hl_session_wipe(&resp);
}

static void
test_rekey(void)
{
	struct hl_session ini, resp;
	struct hl_session_event ev;
	struct pins p;
	uint8_t k_before[32], b[40];
	size_t n = 0;
	int rc, bad = 0, rekeys[2] = {0, 0}, frames = 0;

	pins_init(&p, ini_id.pub.x25519);
	rc = handshake(&ini, &resp, &p, 9);
	T_EQ_INT(rc, HL_OK, "rekey: handshake");
	rc = send_frame(&ini, &resp, HL_FT_PING, NULL, 0, &ev);
	T_OK(rc == HL_OK && ev.established, "rekey: responder established");

	memcpy(k_before, ini.tx.k, 32);
	rc = hl_session_seal_rekey(&ini, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "seal REKEY");
	T_OK(memcmp(k_before, ini.tx.k, 32) != 0, "REKEY switches the sending key");
	T_EQ_INT(ini.sent_since_rekey, 0, "REKEY resets the frame count");
	T_OK(memcmp(resp.rx.k, ini.tx.k, 32) != 0, "receiver still on the old key");
	rc = deliver(&resp, rec, n, NULL, &ev);
	T_OK(rc == HL_OK && ev.frame && ev.type == HL_FT_REKEY && ev.len == 0,
	     "REKEY frame delivered");
	T_EQ_MEM(resp.rx.k, ini.tx.k, 32, "receiver switched to the same key");
	T_OK(resp.rx.n == ini.tx.n, "nonces unchanged by rekey and in step");

	/* Many frames both ways with rekeys at pseudo-random points. */
	for (uint32_t i = 0; i < 3000; i++) {
		uint32_t r = randombytes_uniform(16);
		struct hl_session *from = (r & 1) ? &ini : &resp;
		struct hl_session *to = (r & 1) ? &resp : &ini;
		size_t len = i % sizeof b;

		if (r < 3) {
			rc = hl_session_seal_rekey(from, rec, sizeof rec, &n);
			if (rc == HL_OK)
				rc = deliver(to, rec, n, NULL, &ev);
			if (rc != HL_OK || ev.type != HL_FT_REKEY)
				bad++;
			rekeys[r & 1]++;
			continue;
		}
		for (size_t j = 0; j < len; j++)
			b[j] = (uint8_t)(i + j);
		rc = send_frame(from, to, HL_FT_PING, b, len, &ev);
		if (rc != HL_OK || ev.type != HL_FT_PING || ev.len != len ||
		    memcmp(ev.body, b, len) != 0)
			bad++;
		frames++;
	}
	T_EQ_INT(bad, 0, "3000 frames with rekeys: all delivered intact");
	T_OK(rekeys[0] > 0 && rekeys[1] > 0 && frames > 0, "rekeys happened on both sides");
	T_OK(ini.state == HL_SS_ESTABLISHED && resp.state == HL_SS_ESTABLISHED,
	     "both sides still established");

	/* A receiver that misses a REKEY cannot read what follows. */
	rc = hl_session_seal_rekey(&ini, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "rekey: seal REKEY");
	resp.rx.n++; /* pretend it arrived, but do not rekey */
	rc = send_frame(&ini, &resp, HL_FT_PING, NULL, 0, &ev);
	T_EQ_INT(rc, HL_ERR_AUTH, "frame after a missed REKEY refused");
	hl_session_wipe(&ini);
}

static void
test_limit(void)
{
	struct hl_session ini, resp;
	struct hl_session_event ev;
	struct pins p;
	size_t n = 0;
	int rc;

	pins_init(&p, ini_id.pub.x25519);
	rc = handshake(&ini, &resp, &p, 11);
	T_EQ_INT(rc, HL_OK, "limit: handshake");
	ini.tx.n = HL_NONCE_RENEW - 1;
	resp.rx.n = HL_NONCE_RENEW - 1;
	rc = send_frame(&ini, &resp, HL_FT_PING, NULL, 0, &ev);
	T_EQ_INT(rc, HL_OK, "last frame before the limit");
	T_OK(ini.tx.n == HL_NONCE_RENEW, "nonce reached the limit");
	rc = hl_session_seal(&ini, HL_FT_PING, NULL, 0, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_ERR_LIMIT, "seal at HL_NONCE_RENEW refused");
	T_EQ_INT(n, 0, "nothing written at the limit");
	rc = hl_session_seal_rekey(&ini, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_ERR_LIMIT, "REKEY at the limit refused too");
	ini.tx.n = UINT64_MAX - 1;
	rc = hl_session_seal(&ini, HL_FT_PING, NULL, 0, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_ERR_LIMIT, "seal far past the limit refused");
	rc = hl_session_seal(&resp, HL_FT_PING, NULL, 0, rec, sizeof rec, &n);
	T_EQ_INT(rc, HL_OK, "the other direction is unaffected");
	hl_session_wipe(&ini);
	hl_session_wipe(&resp);
}

int
main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	if (hl_identity_generate(&ini_id) < 0 || hl_identity_generate(&resp_id) < 0 ||
	    hl_identity_generate(&other_id) < 0) {
		printf("Bail out! hl_identity_generate failed\n");
		return 1;
	}
	test_handshake();
	test_unpinned();
	test_replay();
	test_bad_msg0();
	test_tamper();
	test_bad_frames();
	test_rekey();
	test_limit();
	hl_identity_free(&ini_id);
	hl_identity_free(&resp_id);
	hl_identity_free(&other_id);
	return t_done();
}
