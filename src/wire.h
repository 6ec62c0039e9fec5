/* SPDX-License-Identifier: ISC */
/*
 * wire.h: the bytes on the TCP stream (docs/protocol.md). Pure, no I/O.
 *
 * A stream is a sequence of records: a 4-byte big-endian length, then that
 * many bytes (1..HL_FRAME_MAX). The first two records are the Noise IK
 * handshake messages; every later record is one transport frame: a Noise
 * ciphertext whose plaintext is [type u8][body].
 */
#ifndef HL_WIRE_H
#define HL_WIRE_H

#include "hl.h"

#define HL_FRAME_MAX 65535 /* the Noise message limit, tag included */
#define HL_FRAME_HDR 4
#define HL_FRAME_BODY_MAX (HL_FRAME_MAX - 16 - 1) /* plaintext body after tag and type */

enum hl_frame_type {
	HL_FT_HELLO = 0x01,      /* first frame each way: version and station name */
	HL_FT_PING = 0x02,       /* heartbeat: id u64, sender's clock u64 */
	HL_FT_PONG = 0x03,       /* echo of a ping's 16 bytes */
	HL_FT_REKEY = 0x04,      /* sender switched its sending key with Noise Rekey() */
	HL_FT_CLOSE = 0x05,      /* orderly close: reason u8 */
	HL_FT_TEST = 0x06,       /* link test: id u64, sender's clock u64; answered once stored */
	HL_FT_TEST_REPLY = 0x07, /* echo of a test's 16 bytes */
	HL_FT_CODEBOOK = 0x08,   /* the sender's codebook: hash 32, version (u8 len) */
	HL_FT_DATA = 0x10,       /* a chunk of an event (msg.h) */
	HL_FT_RECEIPT = 0x11,    /* signed: these events are on the receiver's disk */
	HL_FT_REFUSE = 0x12,     /* signed: this event is refused, and why */
	HL_FT_HEAD = 0x13,       /* signed: the sender's chain head */
	HL_FT_CHECKPOINT = 0x14, /* signed: both chain heads as the sender holds them (msg.h) */
};

enum hl_close_reason {
	HL_CLOSE_SHUTDOWN = 1,   /* the station is stopping */
	HL_CLOSE_SUPERSEDED = 2, /* another session to the same peer won */
	HL_CLOSE_RENEW = 3,      /* nonces near their limit: new handshake follows */
	HL_CLOSE_UNPINNED = 4,   /* the operator removed this peer */
	HL_CLOSE_TEST_DONE = 5,  /* a test session has done its test */
};

/* Accumulates one record at a time out of a byte stream. */
struct hl_frame_reader {
	size_t have;   /* bytes of header + body held */
	uint32_t need; /* body length, once the header is complete */
	uint8_t buf[HL_FRAME_HDR + HL_FRAME_MAX];
};

void hl_frame_reader_init(struct hl_frame_reader *r);
/*
 * Consume bytes from data (len) up to the end of at most one record.
 * Returns the number of bytes consumed (>= 0) and sets *rec and *reclen when a
 * record is complete (valid until the next call), or HL_ERR_PROTO for a
 * length of 0 or more than HL_FRAME_MAX: the stream cannot be resynced.
 */
HL_MUST_CHECK int hl_frame_feed(struct hl_frame_reader *r, const uint8_t *data, size_t len,
                                const uint8_t **rec, size_t *reclen);

/* Big-endian helpers. */
void hl_put_u32(uint8_t *p, uint32_t v);
void hl_put_u64(uint8_t *p, uint64_t v);
uint32_t hl_get_u32(const uint8_t *p);
uint64_t hl_get_u64(const uint8_t *p);

/* TEST and TEST_REPLY body: test id u64, the tester's monotonic clock in microseconds u64. */
#define HL_TEST_LEN 16

/*
 * HELLO body: version u8, name length u8, name, then optionally flags u8.
 * A HELLO without the flags byte has flags 0; a zero flags byte is never
 * sent, so that a station that predates it (and refuses trailing bytes)
 * still links. Unknown flag bits are ignored.
 */
#define HL_WIRE_VERSION 4
/* Since version 4 a station knows KEY events (kind 5): they are sent only to such peers. */
#define HL_WIRE_VERSION_KEYS 4
/* Since version 3 a station knows the CODEBOOK frame: it is sent only to such peers. */
#define HL_WIRE_VERSION_CODEBOOK 3
/* Since version 2 a station knows TEST frames and test sessions; it tests only such peers. */
#define HL_WIRE_VERSION_TESTS 2
#define HL_HELLO_TEST_ONLY 0x01 /* a test session: answer tests, never the peer's session */
HL_MUST_CHECK int hl_hello_encode(const char *name, uint8_t *out, size_t cap, size_t *len);
HL_MUST_CHECK int hl_hello_encode_flags(const char *name, uint8_t flags, uint8_t *out, size_t cap,
                                        size_t *len);
/* Either form; the flags, if any, are dropped. */
HL_MUST_CHECK int hl_hello_decode(const uint8_t *body, size_t len, uint8_t *version,
                                  char name[static 33]);
HL_MUST_CHECK int hl_hello_decode_flags(const uint8_t *body, size_t len, uint8_t *version,
                                        char name[static 33], uint8_t *flags);

/*
 * CODEBOOK body: the codebook's hash (32 bytes, zeros: none installed), then
 * its version as a u8-length string of printable ASCII (at most 64).
 */
#define HL_CODEBOOK_VERSION_MAX 64
HL_MUST_CHECK int hl_codebook_frame_encode(const uint8_t hash[static 32], const char *version,
                                           uint8_t *out, size_t cap, size_t *len);
HL_MUST_CHECK int hl_codebook_frame_decode(const uint8_t *body, size_t len, uint8_t hash[static 32],
                                           char version[static HL_CODEBOOK_VERSION_MAX + 1]);

#endif
