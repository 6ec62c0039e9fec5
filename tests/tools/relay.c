/* SPDX-License-Identifier: ISC */
/*
 * relay.c: hl-relay, the fault harness's TCP relay (tests only). Stations'
 * link addresses point at its listening ports; each accepted connection is
 * joined to a fresh connection to the link's target, and bytes are copied
 * both ways through a queue where faults are applied, all on 127.0.0.1:
 *
 *   hl-relay [--seed N] CTLPORT NAME:LISTENPORT:TARGETPORT ...
 *
 * CTLPORT is a control port on 127.0.0.1 taking one command per line and
 * answering one line, "ok ..." or "error ...". LINK is a link's NAME or "all":
 *
 *   delay LINK MS          hold every chunk MS ms (0: off)
 *   throttle LINK BPS      at most BPS bytes/s per direction (0: off)
 *   cut LINK               reset (RST) every connection now
 *   down LINK on|off       cut, and reset new connections at once while on
 *   blackhole LINK on|off  bytes read vanish, connections stay open
 *   halfclose LINK         FIN towards one side (random) of every connection;
 *                          its other direction keeps flowing
 *   corrupt LINK N         flip one random byte in each of the next N chunks
 *   truncate LINK N        forward only a random prefix of the next N chunks
 *   clear LINK             every fault off
 *   stats                  per link: connections, bytes, faults injected
 *   quit                   exit 0
 *
 * Randomness comes from --seed (printed by the caller), so a fault pattern
 * replays; what the stations do in between still depends on timing.
 * Backpressure: a side stops being read while more than QUEUE_MAX bytes
 * wait for the other, so a throttled link slows its writers instead of
 * growing without bound.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define QUEUE_MAX (1u << 20) /* bytes waiting in one direction before reading pauses */
#define TICK_MS 5
#define MAX_LINKS 16
#define CTL_LINE_MAX 256

struct chunk {
	struct chunk *next;
	uint64_t due_ms;
	size_t len, off;
	char data[];
};

struct conn;

/* One direction's source: the socket read from, and the queue towards the other side. */
struct side {
	uv_tcp_t tcp;
	struct conn *c;
	struct side *other;
	struct chunk *head, *tail;
	size_t queued;     /* bytes in the queue */
	size_t writing;    /* bytes handed to uv_write, not yet done */
	bool reading, eof; /* read stopped by backpressure; the source sent FIN */
	bool shut;         /* we sent FIN on this socket */
	bool open;         /* tcp initialized and not closed */
	double tokens;     /* throttle budget of the direction read from this side */
	const char *name;  /* "client" or "server", for logs */
};

struct link {
	char name[32];
	int lport, tport;
	uv_tcp_t listener;
	int delay_ms;
	uint64_t rate; /* bytes/s, 0: unlimited */
	bool down, blackhole;
	unsigned corrupt, truncate;
	uint64_t conns, bytes, resets, dropped_bytes, corrupted, truncated, halfcloses, cuts;
	struct conn *list;
};

struct conn {
	struct link *l;
	struct conn *next, **pprev;
	struct side a, b; /* a: the accepted (dialling station), b: towards the target */
	uv_connect_t connect;
	bool connected, dying;
	int open_handles;
};

struct ctl_client {
	uv_tcp_t tcp;
	char line[CTL_LINE_MAX];
	size_t len;
	bool closing;
};

static uv_loop_t *loop;
static struct link links[MAX_LINKS];
static int nlinks;
static uv_tcp_t ctl_listener;
static uv_timer_t tick;
static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* splitmix64: small, seedable, good enough for picking bytes */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = malloc(65536);
	buf->len = buf->base ? 65536 : 0;
}

static void
free_queue(struct side *s)
{
	while (s->head) {
		struct chunk *n = s->head->next;
		free(s->head);
		s->head = n;
	}
	s->tail = NULL;
	s->queued = 0;
}

static void
on_conn_handle_closed(uv_handle_t *h)
{
	struct side *s = h->data;
	struct conn *c = s->c;

	free_queue(s);
	if (--c->open_handles == 0)
		free(c);
}

static void
close_side(struct side *s, bool reset)
{
	if (!s->open)
		return;
	s->open = false;
	if (reset && uv_tcp_close_reset(&s->tcp, on_conn_handle_closed) == 0)
		return;
	if (!uv_is_closing((uv_handle_t *)&s->tcp))
		uv_close((uv_handle_t *)&s->tcp, on_conn_handle_closed);
}

/* End the connection: both sockets closed, by RST when reset. */
static void
conn_kill(struct conn *c, bool reset)
{
	if (c->dying)
		return;
	c->dying = true;
	if (c->pprev) {
		*c->pprev = c->next;
		if (c->next)
			c->next->pprev = c->pprev;
		c->pprev = NULL;
	}
	if (reset)
		c->l->resets++;
	close_side(&c->a, reset);
	close_side(&c->b, reset && c->connected);
	if (c->open_handles == 0)
		free(c);
}

static void pump(struct side *s);

/* Both ends sent FIN and everything was passed on: close quietly. */
static void
maybe_done(struct conn *c)
{
	if (!c->dying && c->a.eof && c->b.eof && !c->a.head && !c->b.head && !c->a.writing &&
	    !c->b.writing)
		conn_kill(c, false);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

static void
resume_reading(struct side *s)
{
	if (!s->reading && !s->eof && s->open && !s->c->dying &&
	    s->queued + s->writing < QUEUE_MAX) {
		if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) == 0)
			s->reading = true;
	}
}

struct wreq {
	uv_write_t req;
	struct side *src;
	size_t len;
	char data[];
};

static void
on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct side *src = w->src;

	if (status == UV_ECANCELED) {
		free(w);
		return;
	}
	src->writing -= w->len;
	free(w);
	if (status < 0) {
		conn_kill(src->c, true);
		return;
	}
	pump(src);
	resume_reading(src);
	maybe_done(src->c);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

/* Send FIN on s's socket. */
static void
shut(struct side *s)
{
	uv_shutdown_t *req;

	if (s->shut || !s->open || s->c->dying)
		return;
	s->shut = true;
	if (!(req = malloc(sizeof *req)) ||
	    uv_shutdown(req, (uv_stream_t *)&s->tcp, on_shutdown) != 0)
		free(req);
}

/* Move what is due from src's queue to the other side's socket. */
static void
pump(struct side *src)
{
	struct side *dst = src->other;
	struct link *l = src->c->l;
	uint64_t now = uv_now(loop);

	if (src->c->dying || !src->c->connected)
		return;
	while (src->head && src->head->due_ms <= now) {
		struct chunk *ch = src->head;
		size_t n = ch->len - ch->off;
		struct wreq *w;

		if (l->rate) {
			if (src->tokens < 1)
				return;
			if ((double)n > src->tokens)
				n = (size_t)src->tokens;
			src->tokens -= (double)n;
		}
		if (!(w = malloc(sizeof *w + n))) {
			conn_kill(src->c, true);
			return;
		}
		w->src = src;
		w->len = n;
		memcpy(w->data, ch->data + ch->off, n);
		uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
		if (dst->shut ||
		    uv_write(&w->req, (uv_stream_t *)&dst->tcp, &b, 1, on_written) != 0) {
			free(w);
			/* dst half-closed by a fault: what goes that way is lost */
			free_queue(src);
			return;
		}
		src->writing += n;
		src->queued -= n;
		ch->off += n;
		if (ch->off == ch->len) {
			src->head = ch->next;
			if (!src->head)
				src->tail = NULL;
			free(ch);
		}
	}
	if (!src->head && src->eof)
		shut(dst); /* pass the FIN on once everything before it went */
}

static void
enqueue(struct side *src, const char *data, size_t len)
{
	struct link *l = src->c->l;
	struct chunk *ch;

	if (l->blackhole) {
		l->dropped_bytes += len;
		return;
	}
	if (l->truncate && len > 0) {
		l->truncate--;
		l->truncated++;
		l->dropped_bytes += len;
		len = (size_t)(rnd() % len);
		l->dropped_bytes -= len;
	}
	if (len == 0)
		return;
	if (!(ch = malloc(sizeof *ch + len))) {
		conn_kill(src->c, true);
		return;
	}
	memcpy(ch->data, data, len);
	if (l->corrupt) {
		l->corrupt--;
		l->corrupted++;
		ch->data[rnd() % len] ^= (char)(1 + rnd() % 255);
	}
	ch->next = NULL;
	ch->len = len;
	ch->off = 0;
	ch->due_ms = uv_now(loop) + (uint64_t)l->delay_ms;
	if (src->tail)
		src->tail->next = ch;
	else
		src->head = ch;
	src->tail = ch;
	src->queued += len;
	l->bytes += len;
}

static void
on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct side *s = st->data;
	struct conn *c = s->c;

	if (n > 0 && !c->dying) {
		enqueue(s, buf->base, (size_t)n);
		pump(s);
		if (s->queued + s->writing >= QUEUE_MAX && s->reading) {
			uv_read_stop(st);
			s->reading = false;
		}
	}
	free(buf->base);
	if (n == UV_EOF) {
		s->eof = true;
		uv_read_stop(st);
		s->reading = false;
		pump(s);
		maybe_done(c);
	} else if (n < 0) {
		conn_kill(c, true); /* a reset or error on one side resets the other */
	}
}

static void
on_upstream(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	if (c->dying)
		return;
	if (status < 0) {
		conn_kill(c, true);
		return;
	}
	c->connected = true;
	resume_reading(&c->a);
	resume_reading(&c->b);
}

static void
side_init(struct conn *c, struct side *s, struct side *other, const char *name)
{
	s->c = c;
	s->other = other;
	s->name = name;
	s->tcp.data = s;
	s->open = true;
	c->open_handles++;
}

static void
on_accept(uv_stream_t *server, int status)
{
	struct link *l = server->data;
	struct conn *c;
	struct sockaddr_in to;

	if (status < 0)
		return;
	if (!(c = calloc(1, sizeof *c)))
		return;
	c->l = l;
	uv_tcp_init(loop, &c->a.tcp);
	side_init(c, &c->a, &c->b, "client");
	if (uv_accept(server, (uv_stream_t *)&c->a.tcp) != 0) {
		close_side(&c->a, false);
		return;
	}
	l->conns++;
	if (l->down) {
		c->dying = true;
		l->resets++;
		close_side(&c->a, true);
		return;
	}
	uv_tcp_nodelay(&c->a.tcp, 1);
	uv_tcp_init(loop, &c->b.tcp);
	side_init(c, &c->b, &c->a, "server");
	uv_tcp_nodelay(&c->b.tcp, 1);
	c->next = l->list;
	if (l->list)
		l->list->pprev = &c->next;
	c->pprev = &l->list;
	l->list = c;
	uv_ip4_addr("127.0.0.1", l->tport, &to);
	c->connect.data = c;
	if (uv_tcp_connect(&c->connect, &c->b.tcp, (struct sockaddr *)&to, on_upstream) != 0)
		conn_kill(c, true);
}

static void
on_tick(uv_timer_t *t)
{
	(void)t;
	for (int i = 0; i < nlinks; i++) {
		struct link *l = &links[i];
		for (struct conn *c = l->list, *next; c; c = next) {
			next = c->next;
			struct side *sides[2] = {&c->a, &c->b};
			for (int k = 0; k < 2 && !c->dying; k++) {
				struct side *s = sides[k];
				if (l->rate) {
					s->tokens += (double)l->rate * TICK_MS / 1000.0;
					/* no bursts past one tick's worth (and at least a byte) */
					double cap = (double)l->rate * TICK_MS / 1000.0 + 1;
					if (s->tokens > cap)
						s->tokens = cap;
				}
				pump(s);
			}
		}
	}
}

/* ---- control ---- */

static void
on_ctl_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
on_ctl_written(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

static void
ctl_reply(struct ctl_client *cl, const char *text)
{
	size_t n = strlen(text);
	uv_write_t *req = malloc(sizeof *req + n + 1);

	if (!req)
		return;
	char *p = (char *)(req + 1);
	memcpy(p, text, n);
	p[n] = '\n';
	uv_buf_t b = uv_buf_init(p, (unsigned)(n + 1));
	if (uv_write(req, (uv_stream_t *)&cl->tcp, &b, 1, on_ctl_written) != 0)
		free(req);
}

static void
cut(struct link *l)
{
	l->cuts++;
	while (l->list)
		conn_kill(l->list, true);
}

static void
halfclose(struct link *l)
{
	for (struct conn *c = l->list; c; c = c->next) {
		if (!c->connected || c->dying)
			continue;
		/* FIN towards one side; what it sends back still flows, what
		 * would go to it is dropped from now on */
		struct side *to = (rnd() & 1) ? &c->a : &c->b;
		l->halfcloses++;
		free_queue(to->other);
		shut(to);
	}
}

/* Apply cmd to link l; returns an error text or NULL. */
static const char *
apply(struct link *l, const char *cmd, const char *arg, bool has_arg, unsigned long v)
{
	bool on = has_arg && strcmp(arg, "on") == 0;
	bool onoff = has_arg && (on || strcmp(arg, "off") == 0);

	if (strcmp(cmd, "delay") == 0 && has_arg)
		l->delay_ms = (int)v;
	else if (strcmp(cmd, "throttle") == 0 && has_arg)
		l->rate = v;
	else if (strcmp(cmd, "cut") == 0)
		cut(l);
	else if (strcmp(cmd, "down") == 0 && onoff) {
		l->down = on;
		if (on)
			cut(l);
	} else if (strcmp(cmd, "blackhole") == 0 && onoff)
		l->blackhole = on;
	else if (strcmp(cmd, "halfclose") == 0)
		halfclose(l);
	else if (strcmp(cmd, "corrupt") == 0 && has_arg)
		l->corrupt = (unsigned)v;
	else if (strcmp(cmd, "truncate") == 0 && has_arg)
		l->truncate = (unsigned)v;
	else if (strcmp(cmd, "clear") == 0) {
		l->delay_ms = 0;
		l->rate = 0;
		l->down = l->blackhole = false;
		l->corrupt = l->truncate = 0;
	} else
		return "unknown command or missing argument";
	return NULL;
}

static void
ctl_line(struct ctl_client *cl, char *line)
{
	char cmd[32] = "", target[32] = "", arg[32] = "", out[2048];
	int n = sscanf(line, "%31s %31s %31s", cmd, target, arg);
	unsigned long v = 0;
	const char *err = NULL;
	bool matched = false;

	if (n < 1) {
		ctl_reply(cl, "error empty command");
		return;
	}
	if (strcmp(cmd, "quit") == 0) {
		ctl_reply(cl, "ok");
		uv_stop(loop);
		return;
	}
	if (strcmp(cmd, "stats") == 0) {
		size_t off = (size_t)snprintf(out, sizeof out, "ok");
		for (int i = 0; i < nlinks && off < sizeof out; i++) {
			struct link *l = &links[i];
			size_t open = 0;
			for (struct conn *c = l->list; c; c = c->next)
				open++;
			off += (size_t)snprintf(
			    out + off, sizeof out - off,
			    " %s:conns=%" PRIu64 ",open=%zu,bytes=%" PRIu64 ",resets=%" PRIu64
			    ",dropped=%" PRIu64 ",corrupted=%" PRIu64 ",truncated=%" PRIu64
			    ",halfcloses=%" PRIu64 ",cuts=%" PRIu64,
			    l->name, l->conns, open, l->bytes, l->resets, l->dropped_bytes,
			    l->corrupted, l->truncated, l->halfcloses, l->cuts);
		}
		ctl_reply(cl, out);
		return;
	}
	if (n >= 3) {
		char *end;
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0 && (errno || *end)) {
			ctl_reply(cl, "error bad number");
			return;
		}
	}
	for (int i = 0; i < nlinks && !err; i++) {
		if (strcmp(target, "all") == 0 || strcmp(target, links[i].name) == 0) {
			matched = true;
			err = apply(&links[i], cmd, arg, n >= 3, v);
		}
	}
	if (!matched)
		snprintf(out, sizeof out, "error no such link");
	else if (err)
		snprintf(out, sizeof out, "error %s", err);
	else
		snprintf(out, sizeof out, "ok");
	ctl_reply(cl, out);
}

static void
on_ctl_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct ctl_client *cl = st->data;

	for (ssize_t i = 0; i < n && !cl->closing; i++) {
		char ch = buf->base[i];
		if (ch == '\n') {
			cl->line[cl->len] = '\0';
			ctl_line(cl, cl->line);
			cl->len = 0;
		} else if (cl->len < CTL_LINE_MAX - 1) {
			cl->line[cl->len++] = ch;
		}
	}
	free(buf->base);
	if (n < 0 && !cl->closing) {
		cl->closing = true;
		uv_close((uv_handle_t *)&cl->tcp, on_ctl_closed);
	}
}

static void
on_ctl_accept(uv_stream_t *server, int status)
{
	struct ctl_client *cl;

	if (status < 0 || !(cl = calloc(1, sizeof *cl)))
		return;
	uv_tcp_init(loop, &cl->tcp);
	cl->tcp.data = cl;
	if (uv_accept(server, (uv_stream_t *)&cl->tcp) != 0 ||
	    uv_read_start((uv_stream_t *)&cl->tcp, on_alloc, on_ctl_read) != 0) {
		cl->closing = true;
		uv_close((uv_handle_t *)&cl->tcp, on_ctl_closed);
	}
}

static int
listen_on(uv_tcp_t *t, int port, uv_connection_cb cb, void *data)
{
	struct sockaddr_in sa;
	int rc;

	uv_tcp_init(loop, t);
	t->data = data;
	uv_ip4_addr("127.0.0.1", port, &sa);
	if ((rc = uv_tcp_bind(t, (struct sockaddr *)&sa, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)t, 128, cb)) < 0) {
		fprintf(stderr, "hl-relay: cannot listen on 127.0.0.1:%d: %s\n", port,
		        uv_strerror(rc));
		return -1;
	}
	return 0;
}

static void
on_walk_close(uv_handle_t *h, void *arg)
{
	bool listener = h == (uv_handle_t *)&ctl_listener;

	(void)arg;
	for (int k = 0; k < nlinks; k++)
		listener = listener || h == (uv_handle_t *)&links[k].listener;
	if (uv_is_closing(h))
		return;
	/* what is left of type TCP and not a listener is a control client */
	uv_close(h, h->type == UV_TCP && !listener ? on_ctl_closed : NULL);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
	uv_stop(loop);
}

static void
usage(void)
{
	fprintf(stderr, "usage: hl-relay [--seed N] CTLPORT NAME:LISTENPORT:TARGETPORT ...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int i = 1, ctlport;

	rng_state = 1;
	if (argc > 2 && strcmp(argv[1], "--seed") == 0) {
		rng_state = strtoull(argv[2], NULL, 10);
		i = 3;
	}
	if (argc - i < 2)
		usage();
	ctlport = atoi(argv[i++]);
	signal(SIGPIPE, SIG_IGN);
	loop = uv_default_loop();
	for (; i < argc; i++) {
		struct link *l = &links[nlinks];
		if (nlinks == MAX_LINKS ||
		    sscanf(argv[i], "%31[^:]:%d:%d", l->name, &l->lport, &l->tport) != 3)
			usage();
		if (listen_on(&l->listener, l->lport, on_accept, l) < 0)
			return 1;
		nlinks++;
	}
	if (listen_on(&ctl_listener, ctlport, on_ctl_accept, NULL) < 0)
		return 1;
	uv_signal_t sigterm, sigint;
	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_timer_init(loop, &tick);
	uv_timer_start(&tick, on_tick, TICK_MS, TICK_MS);
	fprintf(stderr, "hl-relay: ready, control on 127.0.0.1:%d\n", ctlport);
	uv_run(loop, UV_RUN_DEFAULT);

	/* quit or SIGTERM: close everything so that a leak checker sees a clean exit */
	for (int k = 0; k < nlinks; k++)
		while (links[k].list)
			conn_kill(links[k].list, false);
	uv_walk(loop, on_walk_close, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	return 0;
}
