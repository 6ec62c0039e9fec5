/* SPDX-License-Identifier: ISC */
/* client.c: the blocking test peer; see client.h. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "util.h"

int
hl_client_dial(const char *addr)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char host[HL_ADDR_MAX], port[8];
	uint16_t portnum;
	int fd, one = 1;

	if (hl_addr_split(addr, host, sizeof host, &portnum, false) < 0)
		return -1;
	snprintf(port, sizeof port, "%u", portnum);
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

int
hl_client_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return HL_ERR_IO;
		p += w;
		len -= (size_t)w;
	}
	return HL_OK;
}

int
hl_client_read_record(struct hl_client *c, const uint8_t **rec, size_t *len, int timeout_ms)
{
	uint64_t deadline = hl_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		if (c->inpos < c->inlen) {
			int used =
			    hl_frame_feed(&c->rd, c->in + c->inpos, c->inlen - c->inpos, rec, len);
			if (used < 0)
				return used;
			c->inpos += (size_t)used;
			if (*rec)
				return HL_OK;
			continue;
		}
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		uint64_t now = hl_now_ms();
		if (now >= deadline)
			return HL_ERR_AGAIN;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		ssize_t r = read(c->fd, c->in, sizeof c->in);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return HL_ERR_CLOSED;
		c->inpos = 0;
		c->inlen = (size_t)r;
	}
}

static int
accept_any(void *ctx, const uint8_t rs[static 32], const uint8_t ts[static HL_TS_LEN])
{
	(void)ctx;
	(void)rs;
	(void)ts;
	return HL_ERR_PROTO; /* a client never answers a handshake */
}

int
hl_client_open(struct hl_client *c, const char *addr, const struct hl_identity *id,
               const uint8_t peer_x25519[static 32], int timeout_ms)
{
	struct hl_session_event ev;
	const uint8_t *rec;
	size_t len, n = 0;
	int rc;

	memset(c, 0, sizeof *c);
	hl_frame_reader_init(&c->rd);
	c->fd = hl_client_dial(addr);
	if (c->fd < 0)
		return HL_ERR_IO;
	rc = hl_session_start_initiator(&c->sess, id->x25519_sk, peer_x25519, hl_wall_ns(), c->out,
	                                sizeof c->out, &n);
	if (rc < 0)
		return rc;
	memcpy(c->msg0, c->out, n);
	c->msg0_len = n;
	if ((rc = hl_client_write_all(c->fd, c->out, n)) < 0)
		return rc;
	if ((rc = hl_client_read_record(c, &rec, &len, timeout_ms)) < 0)
		return rc;
	rc = hl_session_on_record(&c->sess, rec, len, accept_any, NULL, c->scratch, c->out, &ev);
	if (rc < 0)
		return rc;
	return ev.established ? HL_OK : HL_ERR_PROTO;
}

int
hl_client_send(struct hl_client *c, uint8_t type, const uint8_t *body, size_t len)
{
	size_t n = 0;
	int rc = hl_session_seal(&c->sess, type, body, len, c->out, sizeof c->out, &n);

	return rc < 0 ? rc : hl_client_write_all(c->fd, c->out, n);
}

int
hl_client_recv(struct hl_client *c, struct hl_session_event *ev, int timeout_ms)
{
	const uint8_t *rec;
	size_t len;
	int rc = hl_client_read_record(c, &rec, &len, timeout_ms);

	if (rc < 0)
		return rc;
	return hl_session_on_record(&c->sess, rec, len, accept_any, NULL, c->scratch, c->out, ev);
}

void
hl_client_close(struct hl_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	hl_session_wipe(&c->sess);
}
