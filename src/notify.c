/* SPDX-License-Identifier: ISC */
/*
 * notify.c: the operator's hook (see notify.h). Events wait in a ring of
 * json refs; each run is a struct run owning the process handle, the stdin
 * pipe and the serialised line. The next hook starts only once the last
 * run's handles have closed, so at most one run exists and handles are
 * never reused while libuv still holds them. The notifier itself owns one
 * timer (the timeout) and is freed in that timer's close callback.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

extern char **environ;

struct run {
	struct hl_notify *n;
	uv_process_t proc;
	uv_pipe_t in; /* the hook's stdin */
	uv_write_t wreq;
	json_t *ev;
	const char *kind; /* the event's "event" field, inside ev */
	char *line;       /* ev serialised, then "\n" (not NUL-terminated) */
	size_t len;       /* of line without the "\n" */
	char *env_kind;   /* "HOTLINE_EVENT=kind" */
	int open;         /* handles not closed yet */
	bool timed_out;
};

struct hl_notify {
	uv_loop_t *loop;
	char *command; /* NULL: no hook, every event is dropped */
	uv_timer_t timer;
	uint64_t timeout_ms;
	struct run *run; /* the hook running or closing, or NULL */
	bool stopping;
	size_t qhead, qlen;
	json_t *queue[HL_NOTIFY_QUEUE_MAX];
};

static void start_next(struct hl_notify *n);

static const char *
kind_q(char buf[static 64], const struct run *r)
{
	return log_q(buf, 64, r->kind);
}

static void
on_timer_closed(uv_handle_t *h)
{
	struct hl_notify *n = h->data;

	free(n->command);
	free(n);
}

/* Once stopping and the last run is gone, close the timer; it frees n. */
static void
finish(struct hl_notify *n)
{
	if (n->command)
		uv_close((uv_handle_t *)&n->timer, on_timer_closed);
	else
		free(n);
}

static void
on_run_closed(uv_handle_t *h)
{
	struct run *r = h->data;
	struct hl_notify *n = r->n;

	if (--r->open > 0)
		return;
	json_decref(r->ev);
	free(r->line);
	free(r->env_kind);
	free(r);
	n->run = NULL;
	if (n->stopping)
		finish(n);
	else
		start_next(n);
}

static void
close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, on_run_closed);
}

static void
on_written(uv_write_t *req, int status)
{
	struct run *r = req->data;
	char k[64];

	/* EPIPE: the hook did not read its stdin, which it may do. ECANCELED: it exited first. */
	if (status < 0 && status != UV_EPIPE && status != UV_ECANCELED)
		log_warn("notify_write_failed", "kind=%s err=%s", kind_q(k, r),
		         uv_err_name(status));
	close_handle((uv_handle_t *)&r->in); /* EOF for the hook */
}

/* Log how a hook ended; a killed one was logged when the timeout fired. */
static void
log_outcome(const struct run *r, int64_t status, int sig)
{
	char k[64];

	if (r->timed_out)
		return;
	if (sig != 0)
		log_warn("notify_failed", "kind=%s signal=%d", kind_q(k, r), sig);
	else if (status != 0)
		log_warn("notify_failed", "kind=%s status=%lld", kind_q(k, r), (long long)status);
	else
		log_debug("notify_done", "kind=%s", kind_q(k, r));
}

static void
on_hook_exit(uv_process_t *p, int64_t status, int sig)
{
	struct run *r = p->data;

	uv_timer_stop(&r->n->timer);
	log_outcome(r, status, sig);
	/* A background child of the hook may still hold stdin: do not wait for it. */
	close_handle((uv_handle_t *)&r->in);
	close_handle((uv_handle_t *)&r->proc);
}

static void
on_timeout(uv_timer_t *t)
{
	struct hl_notify *n = t->data;
	struct run *r = n->run;
	char k[64];

	if (!r || r->timed_out)
		return;
	r->timed_out = true;
	log_warn("notify_timeout", "kind=%s after_ms=%llu", kind_q(k, r),
	         (unsigned long long)n->timeout_ms);
	/* The hook leads its own process group: kill whatever it started too. */
	if (uv_kill(-r->proc.pid, SIGKILL) < 0)
		(void)uv_process_kill(&r->proc, SIGKILL);
}

/* The daemon's environment with HOTLINE_EVENT replaced; the strings stay borrowed. */
static char **
make_env(char *env_kind)
{
	size_t cnt = 0, o = 0;
	char **env;

	while (environ && environ[cnt])
		cnt++;
	if (!(env = calloc(cnt + 2, sizeof *env)))
		return NULL;
	for (size_t i = 0; i < cnt; i++)
		if (strncmp(environ[i], "HOTLINE_EVENT=", 14) != 0)
			env[o++] = environ[i];
	env[o] = env_kind;
	return env;
}

/* The line to write and the environment for r; UV_ENOMEM. */
static int
prepare(struct run *r, char ***env)
{
	size_t cap = strlen(r->kind) + sizeof "HOTLINE_EVENT=";

	if (!(r->line = json_dumps(r->ev, JSON_COMPACT)) || !(r->env_kind = malloc(cap)))
		return UV_ENOMEM;
	r->len = strlen(r->line);
	r->line[r->len] = '\n'; /* over the NUL: the buffer is written by length */
	snprintf(r->env_kind, cap, "HOTLINE_EVENT=%s", r->kind);
	return (*env = make_env(r->env_kind)) ? 0 : UV_ENOMEM;
}

/* Start the hook for r->ev. On any failure r is closing and the next event follows. */
static void
run_start(struct hl_notify *n, struct run *r)
{
	char sh[] = "/bin/sh", dash_c[] = "-c", k[64], **env = NULL;
	char *args[] = {sh, dash_c, n->command, NULL};
	uv_stdio_container_t stdio[3];
	uv_process_options_t opt;
	uv_buf_t buf;
	int rc;

	uv_pipe_init(n->loop, &r->in, 0);
	r->in.data = r->proc.data = r->wreq.data = r;
	r->open = 1;
	if ((rc = prepare(r, &env)) < 0)
		goto fail;
	memset(&opt, 0, sizeof opt);
	stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	stdio[0].data.stream = (uv_stream_t *)&r->in;
	stdio[1].flags = stdio[2].flags = UV_INHERIT_FD;
	stdio[1].data.fd = STDOUT_FILENO;
	stdio[2].data.fd = STDERR_FILENO;
	opt.file = sh;
	opt.args = args;
	opt.env = env;
	opt.stdio = stdio;
	opt.stdio_count = 3;
	opt.exit_cb = on_hook_exit;
	opt.flags = UV_PROCESS_DETACHED; /* a process group of its own, killed whole */
	rc = uv_spawn(n->loop, &r->proc, &opt);
	free(env);
	r->open = 2; /* uv_spawn initialises the handle even when it fails */
	if (rc < 0)
		goto fail;
	uv_timer_start(&n->timer, on_timeout, n->timeout_ms, 0);
	buf = uv_buf_init(r->line, (unsigned)(r->len + 1));
	if (uv_write(&r->wreq, (uv_stream_t *)&r->in, &buf, 1, on_written) < 0)
		close_handle((uv_handle_t *)&r->in);
	return;
fail:
	log_warn("notify_failed", "kind=%s error=%s", kind_q(k, r), uv_err_name(rc));
	if (r->open == 2)
		close_handle((uv_handle_t *)&r->proc);
	close_handle((uv_handle_t *)&r->in);
}

static void
start_next(struct hl_notify *n)
{
	/* Ends at once when a run starts: its handles close on a later turn of the loop. */
	while (!n->run && !n->stopping && n->qlen > 0) {
		json_t *ev = n->queue[n->qhead], *kind = json_object_get(ev, "event");
		struct run *r;

		n->qhead = (n->qhead + 1) % HL_NOTIFY_QUEUE_MAX;
		n->qlen--;
		if (!(r = calloc(1, sizeof *r))) {
			log_warn("notify_failed", "error=ENOMEM");
			json_decref(ev);
			continue;
		}
		r->n = n;
		r->ev = ev;
		r->kind = json_is_string(kind) ? json_string_value(kind) : "";
		n->run = r;
		run_start(n, r);
	}
}

int
hl_notify_start(uv_loop_t *loop, const char *command, struct hl_notify **out)
{
	struct hl_notify *n;

	*out = NULL;
	if (!(n = calloc(1, sizeof *n)))
		return HL_ERR_NOMEM;
	if (command[0] && !(n->command = strdup(command))) {
		free(n);
		return HL_ERR_NOMEM;
	}
	n->loop = loop;
	n->timeout_ms = HL_NOTIFY_TIMEOUT_MS;
	if (n->command) {
		uv_timer_init(loop, &n->timer);
		n->timer.data = n;
	}
	*out = n;
	return HL_OK;
}

void
hl_notify_event(struct hl_notify *n, json_t *event)
{
	char k[64];

	if (!event)
		return;
	if (!n || !n->command || n->stopping) {
		json_decref(event);
		return;
	}
	if (!json_is_object(event) || n->qlen == HL_NOTIFY_QUEUE_MAX) {
		json_t *kind = json_object_get(event, "event");
		log_warn("notify_dropped", "kind=%s reason=%s",
		         log_q(k, sizeof k, json_is_string(kind) ? json_string_value(kind) : ""),
		         json_is_object(event) ? "queue_full" : "not_an_object");
		json_decref(event);
		return;
	}
	n->queue[(n->qhead + n->qlen) % HL_NOTIFY_QUEUE_MAX] = event;
	n->qlen++;
	start_next(n);
}

void
hl_notify_stop(struct hl_notify *n)
{
	size_t dropped;

	if (!n || n->stopping)
		return;
	n->stopping = true;
	dropped = n->qlen;
	while (n->qlen > 0) {
		json_decref(n->queue[n->qhead]);
		n->qhead = (n->qhead + 1) % HL_NOTIFY_QUEUE_MAX;
		n->qlen--;
	}
	if (dropped)
		log_warn("notify_dropped", "count=%zu reason=stopping", dropped);
	if (!n->run)
		finish(n);
}

void
hl_notify_set_timeout_ms(struct hl_notify *n, uint64_t ms)
{
	if (n)
		n->timeout_ms = ms;
}
