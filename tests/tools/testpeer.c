/* SPDX-License-Identifier: ISC */
/*
 * testpeer.c: a scripted peer for the integration tests. It speaks the real
 * protocol (client.c) or deliberately breaks it, and says by its exit
 * status whether the station under test behaved:
 *
 *   hl-testpeer x25519 HL1KEY                 print the key's X25519 half (base64url)
 *   hl-testpeer handshake DIR ADDR HL1KEY     link as DIR's station, ping once, exit 0 on a pong
 *   hl-testpeer replay DIR ADDR HL1KEY        link, then replay message 0: exit 0 if refused
 *   hl-testpeer tamper DIR ADDR HL1KEY        link, send a corrupted frame: exit 0 if dropped
 *   hl-testpeer keys DIR ADDR HL1KEY          link, ping, print the session's two keys (hex,
 *                                             base64, base64url: what a log must never hold)
 *   hl-testpeer oldpeer DIR ADDR HL1KEY VERSION SECONDS
 *                                             link with a HELLO of wire version VERSION, then for
 *                                             SECONDS print "data seq=N kind=K offset=O" for each
 *                                             DATA frame (kind "-" past offset 0); answers pings,
 *                                             never receipts; exit 0 unless the station hangs up
 *   hl-testpeer garbage|oversized|empty|truncated ADDR
 *                                             send hostile bytes: exit 0 if the station hangs up
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "client.h"
#include "msg.h"
#include "station.h"
#include "util.h"

static int
load(const char *dir, struct hl_identity *id)
{
	char path[HL_PATH_MAX];

	if (hl_station_path(dir, HL_F_IDENTITY, path) < 0 || hl_identity_load(id, path) < 0) {
		fprintf(stderr, "testpeer: cannot load %s\n", path);
		return -1;
	}
	return 0;
}

/* Wait for the other end to close; 0 if it did within timeout_ms without sending a record. */
static int
expect_hangup(struct hl_client *c, int timeout_ms)
{
	const uint8_t *rec;
	size_t len;
	int rc = hl_client_read_record(c, &rec, &len, timeout_ms);

	if (rc == HL_ERR_CLOSED)
		return 0;
	fprintf(stderr, "testpeer: station %s\n",
	        rc == HL_OK ? "answered instead of hanging up" : "did not hang up in time");
	return 1;
}

/* HELLO as a station of wire version `version` (wire.h: version u8, name length u8, name). */
static int
hello(struct hl_client *c, uint8_t version)
{
	uint8_t body[10] = {version, 8, 't', 'e', 's', 't', 'p', 'e', 'e', 'r'};

	return hl_client_send(c, HL_FT_HELLO, body, sizeof body);
}

static int
linked(struct hl_client *c)
{
	uint8_t ping[16] = {0};
	struct hl_session_event ev;

	if (hello(c, 1) < 0 || hl_client_send(c, HL_FT_PING, ping, sizeof ping) < 0)
		return -1;
	for (int i = 0; i < 10; i++) {
		if (hl_client_recv(c, &ev, 3000) < 0)
			return -1;
		if (ev.frame && ev.type == HL_FT_PONG)
			return 0;
	}
	return -1;
}

/*
 * An older peer: what the station sends to a peer of this wire version in
 * one session. No receipt ever, so nothing counts as delivered and a later
 * session gets it all again.
 */
static int
oldpeer(struct hl_client *c, const char *version, const char *seconds)
{
	char *end;
	unsigned long v = strtoul(version, &end, 10), secs;

	if (*end || v < 1 || v > 255 || (secs = strtoul(seconds, &end, 10), *end || secs > 600)) {
		fprintf(stderr, "testpeer: bad VERSION or SECONDS\n");
		return 2;
	}
	if (hello(c, (uint8_t)v) < 0)
		return 1;
	uint64_t deadline = hl_now_ms() + secs * 1000u;
	for (uint64_t now; (now = hl_now_ms()) < deadline;) {
		struct hl_session_event ev;
		struct hl_event e;
		const uint8_t *chunk;
		size_t chunk_len;
		uint64_t seq;
		uint32_t offset;
		int rc = hl_client_recv(c, &ev, (int)(deadline - now));
		if (rc == HL_ERR_AGAIN)
			break;
		if (rc < 0) {
			fprintf(stderr, "testpeer: the session ended: %s\n", hl_strerror(rc));
			return 1;
		}
		if (!ev.frame)
			continue;
		if (ev.type == HL_FT_PING && hl_client_send(c, HL_FT_PONG, ev.body, ev.len) < 0)
			return 1;
		if (ev.type != HL_FT_DATA)
			continue;
		if (hl_data_decode(ev.body, ev.len, &seq, &offset, &e, &chunk, &chunk_len) < 0) {
			fprintf(stderr, "testpeer: a malformed DATA frame\n");
			return 1;
		}
		if (offset == 0)
			printf("data seq=%llu kind=%u offset=0\n", (unsigned long long)seq, e.kind);
		else
			printf("data seq=%llu kind=- offset=%u\n", (unsigned long long)seq, offset);
		fflush(stdout);
	}
	return 0;
}

static int
hostile(const char *what, const char *addr)
{
	struct hl_client *c = calloc(1, sizeof *c);
	uint8_t buf[4096];
	size_t n = 0;
	int rc;

	if (!c)
		return 2;
	hl_frame_reader_init(&c->rd);
	c->fd = hl_client_dial(addr);
	if (c->fd < 0) {
		fprintf(stderr, "testpeer: cannot connect to %s\n", addr);
		free(c);
		return 2;
	}
	if (strcmp(what, "garbage") == 0) {
		randombytes_buf(buf, sizeof buf);
		buf[0] = 0; /* a plausible length, so the garbage is read as a record */
		buf[1] = 0;
		n = sizeof buf;
	} else if (strcmp(what, "oversized") == 0) {
		hl_put_u32(buf, HL_FRAME_MAX + 1);
		n = 64;
	} else if (strcmp(what, "empty") == 0) {
		hl_put_u32(buf, 0);
		n = 4;
	} else if (strcmp(what, "truncated") == 0) {
		/* The header of a 112-byte message 0, and only half of it. */
		hl_put_u32(buf, 112);
		randombytes_buf(buf + 4, 56);
		n = 60;
	}
	if (hl_client_write_all(c->fd, buf, n) < 0) {
		rc = 0; /* already hung up on us */
	} else {
		rc = expect_hangup(c, 5000);
	}
	close(c->fd);
	free(c);
	return rc;
}

int
main(int argc, char **argv)
{
	struct hl_identity id;
	struct hl_pubkey pk;
	struct hl_client *c;
	int rc = 1;

	if (sodium_init() < 0)
		return 2;
	if (argc == 3 && strcmp(argv[1], "x25519") == 0) {
		char b64[48];
		if (hl_pubkey_decode(argv[2], &pk) < 0)
			return 2;
		hl_x25519_b64(pk.x25519, b64);
		printf("%s\n", b64);
		return 0;
	}
	if (argc == 3)
		return hostile(argv[1], argv[2]);
	bool old = argc == 7 && strcmp(argv[1], "oldpeer") == 0;
	if ((argc != 5 && !old) || hl_pubkey_decode(argv[4], &pk) < 0 || load(argv[2], &id) < 0) {
		fprintf(stderr, "usage: see the comment at the top of tests/tools/testpeer.c\n");
		return 2;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return 2;
	if (hl_client_open(c, argv[3], &id, pk.x25519, 3000) < 0 || (!old && linked(c) < 0)) {
		fprintf(stderr, "testpeer: could not link to %s\n", argv[3]);
		goto out;
	}
	if (old) {
		rc = oldpeer(c, argv[5], argv[6]);
	} else if (strcmp(argv[1], "handshake") == 0) {
		rc = 0;
	} else if (strcmp(argv[1], "replay") == 0) {
		uint8_t msg0[HL_RECORD_MAX];
		size_t len = c->msg0_len;
		memcpy(msg0, c->msg0, len);
		hl_client_close(c);
		memset(c, 0, sizeof *c);
		c->fd = hl_client_dial(argv[3]);
		if (c->fd >= 0 && hl_client_write_all(c->fd, msg0, len) == 0)
			rc = expect_hangup(c, 5000);
	} else if (strcmp(argv[1], "keys") == 0) {
		const uint8_t *k[] = {c->sess.tx.k, c->sess.rx.k};
		for (size_t i = 0; i < 2; i++) {
			char hex[2 * HL_NOISE_KEYLEN + 1], b64[64], url[64];
			sodium_bin2hex(hex, sizeof hex, k[i], HL_NOISE_KEYLEN);
			sodium_bin2base64(b64, sizeof b64, k[i], HL_NOISE_KEYLEN,
			                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
			sodium_bin2base64(url, sizeof url, k[i], HL_NOISE_KEYLEN,
			                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			printf("%s\n%s\n%s\n", hex, b64, url);
		}
		rc = 0;
	} else if (strcmp(argv[1], "tamper") == 0) {
		size_t n = 0;
		uint8_t body[16] = {0};
		if (hl_session_seal(&c->sess, HL_FT_PING, body, sizeof body, c->out, sizeof c->out,
		                    &n) == 0) {
			c->out[n - 1] ^= 0x01;
			if (hl_client_write_all(c->fd, c->out, n) == 0) {
				/* Drain the pongs and pings already on their way, then expect EOF.
				 */
				struct hl_session_event ev;
				int r;
				while ((r = hl_client_recv(c, &ev, 3000)) == HL_OK)
					;
				rc = r == HL_ERR_CLOSED ? 0 : 1;
			}
		}
	}
out:
	hl_client_close(c);
	free(c);
	hl_identity_free(&id);
	return rc;
}
