/* SPDX-License-Identifier: ISC */
/*
 * client.h: a blocking, single-connection hotline peer for tests and
 * benchmarks: it speaks the real wire protocol through session.c, and can
 * be told to misbehave. Not used by the daemon.
 */
#ifndef HL_TEST_CLIENT_H
#define HL_TEST_CLIENT_H

#include "keys.h"
#include "session.h"

struct hl_client {
	int fd;
	struct hl_session sess;
	struct hl_frame_reader rd;
	uint8_t msg0[HL_RECORD_MAX]; /* the first handshake record as sent, for replay tests */
	size_t msg0_len;
	uint8_t out[HL_RECORD_MAX], scratch[HL_FRAME_MAX];
	uint8_t in[65536]; /* bytes read but not yet fed to rd */
	size_t inpos, inlen;
};

/* TCP connect to "host:port"; returns the fd or -1. */
int hl_client_dial(const char *addr);
/* Connect and run the handshake as id towards a responder with key peer_x25519. */
HL_MUST_CHECK int hl_client_open(struct hl_client *c, const char *addr,
                                 const struct hl_identity *id, const uint8_t peer_x25519[static 32],
                                 int timeout_ms);
HL_MUST_CHECK int hl_client_send(struct hl_client *c, uint8_t type, const uint8_t *body,
                                 size_t len);
/* Wait for the next frame; ev->body is valid until the next call. HL_ERR_CLOSED on EOF. */
HL_MUST_CHECK int hl_client_recv(struct hl_client *c, struct hl_session_event *ev, int timeout_ms);
/* Read one raw record (no decryption); HL_ERR_CLOSED on EOF, HL_ERR_AGAIN on timeout. */
HL_MUST_CHECK int hl_client_read_record(struct hl_client *c, const uint8_t **rec, size_t *len,
                                        int timeout_ms);
int hl_client_write_all(int fd, const void *buf, size_t len);
void hl_client_close(struct hl_client *c);

#endif
