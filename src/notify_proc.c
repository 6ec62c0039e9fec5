/* SPDX-License-Identifier: ISC */
/*
 * notify_proc.c: the notify hook's helper process (see notify_proc.h).
 * Daemon side: a uv_pipe over one end of a socket pair, one write per
 * event; stop is a uv_shutdown, so what was written still arrives. Helper
 * side: its own loop, a line reader, and hl_notify.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>

#include "log.h"
#include "notify.h"
#include "notify_proc.h"

#define LINE_MAX_BYTES 65536 /* an event is a few hundred bytes */

struct hl_notify_proc {
	pid_t pid;
	int fd; /* the daemon's end until attached */
	uv_pipe_t pipe;
	uv_shutdown_t shut;
	bool attached, stopping, gone;
};

struct wreq {
	uv_write_t req;
	struct hl_notify_proc *np;
	char *line;
};

/* ---- the helper ---- */

struct helper {
	struct hl_notify *n;
	uv_pipe_t in;
	char *buf;
	size_t len;
};

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct helper *hp = h->data;

	(void)suggested;
	b->base = hp->buf + hp->len;
	b->len = LINE_MAX_BYTES - hp->len;
}

static void
on_in_closed(uv_handle_t *h)
{
	(void)h;
}

static void
helper_end(struct helper *hp)
{
	if (uv_is_closing((uv_handle_t *)&hp->in))
		return;
	uv_close((uv_handle_t *)&hp->in, on_in_closed);
	hl_notify_stop(hp->n);
	hp->n = NULL;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct helper *hp = s->data;
	char *nl;

	(void)b;
	if (nread < 0) {
		helper_end(hp); /* EOF: the daemon stopped (or died) */
		return;
	}
	hp->len += (size_t)nread;
	while ((nl = memchr(hp->buf, '\n', hp->len)) != NULL) {
		size_t n = (size_t)(nl - hp->buf);
		json_t *ev = json_loadb(hp->buf, n, 0, NULL);
		if (ev)
			hl_notify_event(hp->n, ev);
		else
			log_warn("notify_dropped", "reason=bad_line");
		memmove(hp->buf, nl + 1, hp->len - n - 1);
		hp->len -= n + 1;
	}
	if (hp->len == LINE_MAX_BYTES) {
		log_warn("notify_dropped", "reason=line_too_long");
		hp->len = 0;
	}
}

static _Noreturn void
helper_main(int fd, const char *command, const struct hl_user *drop)
{
	struct helper hp = {0};
	uv_loop_t loop;
	char err[256];

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			_exit(1);
		fd = 3;
	}
	close_range(4, ~0u, 0);
	if (drop && hl_sandbox_drop(drop, err, sizeof err) < 0) {
		log_error("notify_unavailable", "err=\"%s\"", err);
		_exit(1);
	}
	if (uv_loop_init(&loop) != 0 || !(hp.buf = malloc(LINE_MAX_BYTES)) ||
	    hl_notify_start(&loop, command, &hp.n) < 0) {
		log_error("notify_unavailable", "reason=\"out of memory\"");
		_exit(1);
	}
	uv_pipe_init(&loop, &hp.in, 0);
	hp.in.data = &hp;
	if (uv_pipe_open(&hp.in, fd) != 0 ||
	    uv_read_start((uv_stream_t *)&hp.in, on_alloc, on_read) != 0) {
		log_error("notify_unavailable", "reason=\"cannot read events\"");
		helper_end(&hp);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	free(hp.buf);
	exit(0);
}

/* ---- the daemon's side ---- */

int
hl_notify_proc_start(const char *command, const struct hl_user *drop, void *wipe, size_t wipelen,
                     struct hl_notify_proc **out, char *err, size_t errcap)
{
	struct hl_notify_proc *np;
	int sv[2];

	*out = NULL;
	if (!(np = calloc(1, sizeof *np)))
		return HL_ERR_NOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, errcap, "notify: cannot make a socket pair: %s", strerror(errno));
		free(np);
		return HL_ERR_IO;
	}
	fflush(NULL);
	np->pid = fork();
	if (np->pid < 0) {
		snprintf(err, errcap, "notify: cannot fork the hook's helper: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(np);
		return HL_ERR_IO;
	}
	if (np->pid == 0) {
		if (wipe)
			sodium_memzero(wipe, wipelen);
		close(sv[0]);
		helper_main(sv[1], command, drop);
	}
	close(sv[1]);
	np->fd = sv[0];
	*out = np;
	return HL_OK;
}

int
hl_notify_proc_attach(struct hl_notify_proc *np, uv_loop_t *loop)
{
	uv_pipe_init(loop, &np->pipe, 0);
	np->pipe.data = np;
	if (uv_pipe_open(&np->pipe, np->fd) != 0) {
		uv_close((uv_handle_t *)&np->pipe, NULL);
		return HL_ERR_IO;
	}
	np->fd = -1; /* the pipe owns it now */
	np->attached = true;
	return HL_OK;
}

static void
gone(struct hl_notify_proc *np, int status)
{
	if (np->gone)
		return;
	np->gone = true;
	log_error("notify_helper_gone", "err=%s", uv_err_name(status));
}

static void
on_written(uv_write_t *req, int status)
{
	struct wreq *w = req->data;

	if (status < 0 && status != UV_ECANCELED)
		gone(w->np, status);
	free(w->line);
	free(w);
}

void
hl_notify_proc_event(struct hl_notify_proc *np, json_t *event)
{
	struct wreq *w = NULL;
	char *line = NULL;
	json_t *kind = json_object_get(event, "event");
	char k[64];
	size_t n;
	uv_buf_t b;

	if (!event)
		return;
	if (!np || !np->attached || np->stopping || np->gone) {
		if (np && np->gone)
			log_warn("notify_dropped", "kind=%s reason=helper_gone",
			         log_q(k, sizeof k,
			               json_is_string(kind) ? json_string_value(kind) : ""));
		json_decref(event);
		return;
	}
	line = json_dumps(event, JSON_COMPACT);
	json_decref(event);
	if (!line || !(w = calloc(1, sizeof *w))) {
		log_warn("notify_dropped", "reason=nomem");
		free(line);
		return;
	}
	n = strlen(line);
	line[n] = '\n'; /* over the NUL: written by length */
	w->np = np;
	w->line = line;
	w->req.data = w;
	b = uv_buf_init(line, (unsigned)(n + 1));
	int rc = uv_write(&w->req, (uv_stream_t *)&np->pipe, &b, 1, on_written);
	if (rc < 0) {
		gone(np, rc);
		free(line);
		free(w);
	}
}

static void
on_pipe_closed(uv_handle_t *h)
{
	(void)h;
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	struct hl_notify_proc *np = req->data;

	(void)status;
	uv_close((uv_handle_t *)&np->pipe, on_pipe_closed);
}

void
hl_notify_proc_stop(struct hl_notify_proc *np)
{
	if (!np || np->stopping)
		return;
	np->stopping = true;
	if (!np->attached)
		return;
	np->shut.data = np;
	if (uv_shutdown(&np->shut, (uv_stream_t *)&np->pipe, on_shutdown) != 0)
		uv_close((uv_handle_t *)&np->pipe, on_pipe_closed);
}

void
hl_notify_proc_free(struct hl_notify_proc *np)
{
	int status = 0;
	pid_t r = 0;

	if (!np)
		return;
	if (np->fd >= 0)
		close(np->fd); /* never attached: EOF for the helper */
	/* A running hook ends within its timeout; a helper that still has not
	   exited after 15 s is left behind (the filter forbids killing it): it
	   exits by itself once it reads EOF. */
	for (int i = 0; i < 1500; i++) {
		r = waitpid(np->pid, &status, WNOHANG);
		if (r != 0 && !(r < 0 && errno == EINTR))
			break;
		usleep(10000);
	}
	if (r == 0)
		log_warn("notify_helper_exit", "pid=%d reason=still_running", (int)np->pid);
	else if (r == np->pid && WIFSIGNALED(status))
		log_warn("notify_helper_exit", "signal=%d", WTERMSIG(status));
	else if (r == np->pid && WEXITSTATUS(status) != 0)
		log_warn("notify_helper_exit", "status=%d", WEXITSTATUS(status));
	free(np);
}
