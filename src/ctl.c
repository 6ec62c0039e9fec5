/* SPDX-License-Identifier: ISC */
/* ctl.c: control socket server (libuv, loop thread) and blocking client; see ctl.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <sodium.h>

#include "ctl.h"
#include "log.h"
#include "trace.h"
#include "util.h"

struct hl_ctl {
	uv_pipe_t pipe;
	hl_ctl_handler *fn;
	void *ctx;
	int handles;
	struct hl_ctl_client *clients;
};

struct hl_ctl_client {
	uv_pipe_t pipe;
	struct hl_ctl *ctl;
	size_t len;
	bool closing;
	struct hl_ctl_client *next, *prev;
	char *buf; /* grows up to HL_CTL_REQUEST_MAX */
	size_t cap;
	json_t *req;            /* the request line, parsed, while its body arrives */
	const char *cmd;        /* in req */
	size_t body_off;        /* where the raw body starts in buf */
	size_t body_len;        /* its length ("body_bytes") */
	bool in_handler;        /* hl_ctl_body is valid */
	hl_ctl_local_fn *local; /* an in-process client: no pipe, answered through this */
	void *local_arg;
};

static void
ctl_unref(struct hl_ctl *ctl)
{
	if (--ctl->handles == 0)
		free(ctl);
}

static void
on_client_closed(uv_handle_t *h)
{
	struct hl_ctl_client *cl = h->data;
	struct hl_ctl *ctl = cl->ctl;

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		ctl->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	json_decref(cl->req);
	if (cl->buf) /* a request may have carried a secret (docs/keys.md, the rotation) */
		sodium_memzero(cl->buf, cl->cap);
	free(cl->buf);
	free(cl);
	ctl_unref(ctl);
}

static void
client_close(struct hl_ctl_client *cl)
{
	if (cl->closing)
		return;
	cl->closing = true;
	uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

struct reply {
	uv_write_t req;
	char *text;
};

static void
on_reply_written(uv_write_t *req, int status)
{
	struct reply *r = (struct reply *)(void *)req;
	struct hl_ctl_client *cl = req->data;

	(void)status;
	free(r->text);
	free(r);
	client_close(cl);
}

static void
client_reply(struct hl_ctl_client *cl, json_t *resp)
{
	struct reply *r = calloc(1, sizeof *r);
	char *text = json_dumps(resp, JSON_COMPACT);
	size_t n;

	json_decref(resp);
	if (!r || !text) {
		free(r);
		free(text);
		client_close(cl);
		return;
	}
	n = strlen(text);
	char *line = realloc(text, n + 2);
	if (!line) {
		free(text);
		free(r);
		client_close(cl);
		return;
	}
	line[n] = '\n';
	r->text = line;
	r->req.data = cl;
	uv_buf_t buf = uv_buf_init(line, (unsigned)(n + 1));
	HL_TRACE_POINT("ctl: reply written");
	if (uv_write(&r->req, (uv_stream_t *)&cl->pipe, &buf, 1, on_reply_written) < 0) {
		free(line);
		free(r);
		client_close(cl);
	}
}

static json_t *
error_reply(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

int
hl_ctl_parse_request(const char *buf, size_t len, json_t **req, const char **cmd)
{
	json_error_t jerr;
	json_t *r, *c;

	*req = NULL;
	*cmd = NULL;
	r = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!r)
		return HL_ERR_PROTO;
	c = json_object_get(r, "cmd");
	json_t *bb = json_object_get(r, "body_bytes");
	if (!json_is_object(r) || !json_is_string(c) ||
	    (bb && (!json_is_integer(bb) || json_integer_value(bb) < 0 ||
	            json_integer_value(bb) > (json_int_t)HL_CTL_REQUEST_MAX))) {
		json_decref(r);
		return HL_ERR_PROTO;
	}
	*req = r;
	*cmd = json_string_value(c);
	return HL_OK;
}

size_t
hl_ctl_body_bytes(const json_t *req)
{
	json_t *bb = json_object_get(req, "body_bytes");

	return json_is_integer(bb) ? (size_t)json_integer_value(bb) : 0;
}

const uint8_t *
hl_ctl_body(const struct hl_ctl_client *cl, size_t *len)
{
	*len = 0;
	if (!cl->in_handler || !json_object_get(cl->req, "body_bytes"))
		return NULL;
	*len = cl->body_len;
	return (const uint8_t *)cl->buf + cl->body_off;
}

static void
client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct hl_ctl_client *cl = h->data;

	(void)suggested;
	if (cl->len == cl->cap && cl->cap < HL_CTL_REQUEST_MAX) {
		size_t ncap = cl->cap ? cl->cap * 2 : 4096;
		char *nb = realloc(cl->buf, ncap < HL_CTL_REQUEST_MAX ? ncap : HL_CTL_REQUEST_MAX);
		if (nb) {
			cl->buf = nb;
			cl->cap = ncap < HL_CTL_REQUEST_MAX ? ncap : HL_CTL_REQUEST_MAX;
		}
	}
	*buf = uv_buf_init(cl->buf + cl->len, (unsigned)(cl->cap - cl->len));
}

static void
client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct hl_ctl_client *cl = s->data;
	size_t old = cl->len;

	(void)buf;
	if (nread < 0) {
		client_close(cl);
		return;
	}
	if (nread == 0 || !cl->buf)
		return;
	cl->len += (size_t)nread;
	if (!cl->req) {
		char *nl = memchr(cl->buf + old, '\n', (size_t)nread);
		if (!nl) {
			if (cl->len == HL_CTL_REQUEST_MAX) {
				uv_read_stop(s);
				client_reply(cl, error_reply("request too long"));
			}
			return;
		}
		if (hl_ctl_parse_request(cl->buf, (size_t)(nl - cl->buf), &cl->req, &cl->cmd) < 0) {
			uv_read_stop(s);
			log_warn("ctl_refused", "reason=bad_request");
			client_reply(
			    cl, error_reply("bad request: expected a JSON object with \"cmd\""));
			return;
		}
		cl->body_off = (size_t)(nl - cl->buf) + 1;
		cl->body_len = hl_ctl_body_bytes(cl->req);
		if (cl->body_len > HL_CTL_REQUEST_MAX - cl->body_off) {
			uv_read_stop(s);
			client_reply(cl, error_reply("request too long"));
			return;
		}
	}
	if (cl->len - cl->body_off < cl->body_len)
		return; /* the body is still on its way */
	uv_read_stop(s);
	cl->in_handler = true;
	HL_TRACE_POINT("ctl: request read");
	json_t *resp = cl->ctl->fn(cl->ctl->ctx, cl->cmd, cl->req, cl);
	cl->in_handler = false;
	json_decref(cl->req);
	cl->req = NULL;
	if (resp)
		client_reply(cl, resp);
}

void
hl_ctl_reply(struct hl_ctl_client *cl, json_t *resp)
{
	if (cl->local) {
		cl->local(cl->local_arg, resp);
		free(cl);
		return;
	}
	client_reply(cl, resp);
}

struct hl_ctl_client *
hl_ctl_local_new(hl_ctl_local_fn *fn, void *arg)
{
	struct hl_ctl_client *cl = calloc(1, sizeof *cl);

	if (cl) {
		cl->local = fn;
		cl->local_arg = arg;
	}
	return cl;
}

void
hl_ctl_local_free(struct hl_ctl_client *cl)
{
	free(cl);
}

static void
on_ctl_connection(uv_stream_t *server, int status)
{
	struct hl_ctl *ctl = server->data;
	struct hl_ctl_client *cl;

	if (status < 0)
		return;
	cl = calloc(1, sizeof *cl);
	if (!cl)
		return;
	cl->ctl = ctl;
	uv_pipe_init(server->loop, &cl->pipe, 0);
	cl->pipe.data = cl;
	ctl->handles++;
	cl->next = ctl->clients;
	if (ctl->clients)
		ctl->clients->prev = cl;
	ctl->clients = cl;
	if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0 ||
	    uv_read_start((uv_stream_t *)&cl->pipe, client_alloc, client_read) != 0)
		client_close(cl);
}

static void
on_ctl_closed(uv_handle_t *h)
{
	ctl_unref(h->data);
}

int
hl_ctl_start(uv_loop_t *loop, const char *path, hl_ctl_handler *fn, void *ctx, struct hl_ctl **out,
             char *err, size_t errcap)
{
	struct hl_ctl *ctl;
	int rc;

	*out = NULL;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errcap, "control socket path %s is too long: use a shorter -d DIR",
		         path);
		return HL_ERR_LIMIT;
	}
	ctl = calloc(1, sizeof *ctl);
	if (!ctl)
		return HL_ERR_NOMEM;
	ctl->fn = fn;
	ctl->ctx = ctx;
	ctl->handles = 1;
	uv_pipe_init(loop, &ctl->pipe, 0);
	ctl->pipe.data = ctl;
	unlink(path); /* a stale socket; we hold the station lock, so no daemon owns it */
	rc = uv_pipe_bind(&ctl->pipe, path);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&ctl->pipe, 16, on_ctl_connection);
	if (rc < 0) {
		snprintf(err, errcap, "cannot listen on %s: %s", path, uv_strerror(rc));
		uv_close((uv_handle_t *)&ctl->pipe, on_ctl_closed);
		return HL_ERR_IO;
	}
	*out = ctl;
	return HL_OK;
}

void
hl_ctl_stop(struct hl_ctl *ctl)
{
	for (struct hl_ctl_client *cl = ctl->clients; cl; cl = cl->next)
		client_close(cl);
	uv_close((uv_handle_t *)&ctl->pipe, on_ctl_closed);
}

int
hl_ctl_call_body(const char *path, json_t *req, const void *body, size_t blen, json_t **resp,
                 int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *text = NULL, buf[HL_CTL_RESPONSE_MAX];
	size_t got = 0, len, sent_len = 0;
	uint64_t deadline = hl_now_ms() + (uint64_t)timeout_ms;
	int fd, rc = HL_ERR_IO;
	json_error_t jerr;

	*resp = NULL;
	if (strlen(path) >= sizeof sa.sun_path)
		return HL_ERR_LIMIT;
	if (body && json_object_set_new(req, "body_bytes", json_integer((json_int_t)blen)) != 0)
		return HL_ERR_NOMEM;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return HL_ERR_IO;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		rc = (errno == ENOENT || errno == ECONNREFUSED) ? HL_ERR_CLOSED : HL_ERR_IO;
		goto out;
	}
	text = json_dumps(req, JSON_COMPACT);
	if (!text)
		goto out;
	len = strlen(text);
	sent_len = len + 1;
	text[len] = '\n'; /* json_dumps leaves room: replace the NUL, send len+1 */
	/* The line, then the raw body: both in one call when they fit. */
	for (size_t off = 0; off < len + 1 + (body ? blen : 0);) {
		struct iovec iov[2];
		int n = 0;
		if (off < len + 1)
			iov[n++] = (struct iovec){text + off, len + 1 - off};
		if (body && blen)
			iov[n++] = off <= len + 1
			               ? (struct iovec){(void *)(uintptr_t)body, blen}
			               : (struct iovec){(char *)(uintptr_t)body + (off - len - 1),
			                                blen - (off - len - 1)};
		ssize_t w = sendmsg(fd, &(struct msghdr){.msg_iov = iov, .msg_iovlen = (size_t)n},
		                    MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = hl_now_ms();
		if (now >= deadline) {
			rc = HL_ERR_AGAIN;
			goto out;
		}
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			goto out;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		ssize_t r = read(fd, buf + got, sizeof buf - got - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		got += (size_t)r;
		if (r == 0 || memchr(buf, '\n', got) || got == sizeof buf - 1)
			break;
	}
	*resp = json_loadb(buf, got, 0, &jerr);
	rc = *resp ? HL_OK : HL_ERR_PROTO;
out:
	if (text)
		sodium_memzero(text, sent_len);
	free(text);
	close(fd);
	return rc;
}

int
hl_ctl_call(const char *path, json_t *req, json_t **resp, int timeout_ms)
{
	return hl_ctl_call_body(path, req, NULL, 0, resp, timeout_ms);
}
