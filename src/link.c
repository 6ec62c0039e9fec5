/* SPDX-License-Identifier: ISC */
/*
 * link.c: listener, dialer, sessions, heartbeats, standby probes and link
 * tests on libuv; see link.h. A conn owns its uv_tcp_t and is freed only
 * in that handle's close callback (and never while a getaddrinfo is
 * pending). A write owns a copy of its bytes until its callback runs.
 *
 * Link tests (docs/protocol.md): an address carrying our outbound session
 * is tested over it; any other address over a test session of its own
 * (CONN_TEST). A test session, ours or the peer's (an accepted conn whose
 * first frame is a test-only HELLO, test_only), is never a peer's current
 * session: it carries nothing but tests. Store jobs and addresses name a
 * conn by its serial, never by pointer, since the conn may be gone first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sodium.h>

#include "backoff.h"
#include "chanstate.h"
#include "checkpoint.h"
#include "deliver.h"
#include "link.h"
#include "log.h"
#include "session.h"
#include "wire.h"

#define TICK_MS 100

enum conn_kind { CONN_DIAL, CONN_ACCEPT, CONN_PROBE, CONN_TEST };

#define LINK_TEST_FIRST_MS 2000  /* the first tests, this long after start or link up */
#define LINK_TEST_MAX_PENDING 16 /* tests of the peer's waiting for our store, per conn */

struct peer;

struct conn {
	struct hl_net *net;
	struct peer *peer; /* NULL until an inbound session authenticates */
	enum conn_kind kind;
	int addr_idx;                  /* dial and probe: which of the peer's addresses */
	char remote[HL_ADDR_MAX + 16]; /* ip:port of the other end, for logs and status */
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	uv_getaddrinfo_t gai_req;
	bool gai_pending, closing, tcp_open, uv_closed;
	bool refusal_logged; /* check_initiator already said why */
	bool dialed_next;    /* dialled the peer's announced key, not its pinned one */
	uint64_t started_ms, established_ms, closing_ms;
	/* Link tests: the serial names the conn in store jobs and addresses. */
	uint64_t serial;
	bool test_only;          /* accepted: the initiator's HELLO said "test only" */
	unsigned tests_pending;  /* the peer's tests on this conn waiting for our store */
	uint64_t last_io_ms;     /* test sessions: last frame in or answer out */
	struct hl_session *sess; /* every key of the session: sodium_malloc'd (locked, guarded) */
	struct hl_frame_reader rd;
	/* Corked (hl_deliver_io.cork): sealed frames wait here, to leave in one write. */
	bool corked;
	uint8_t *obuf;
	size_t olen, ocap;
	struct conn *next, *prev;
};

struct addr_state {
	char addr[HL_ADDR_MAX];
	bool known, ok; /* known: tried at least once */
	char last_error[64];
	uint64_t last_ok_ns, next_probe_ms;
	/* Our tests of this address: the one in flight (test_id 0: none), the last result. */
	uint64_t test_next_ms, test_id, test_conn; /* test_conn: serial of the conn carrying it */
	uint64_t test_started_ms, test_started_ns, test_sent_us;
	bool test_via_session; /* over our outbound session, not a test session */
	struct hl_link_test_rec last_test;
	uint64_t last_test_ok_ns;
	uint64_t tests_ok, tests_failed; /* since the daemon started (metrics) */
};

struct peer {
	struct hl_net *net;
	int64_t id; /* in the store */
	struct hl_deliver *dl;
	struct hl_ckpt *ck;
	char name[HL_NAME_MAX + 1];
	struct hl_pubkey key;
	/* docs/keys.md: a key the peer announced (accepted beside key until it shows it),
	 * revocation */
	struct hl_pubkey next;
	bool has_next, dial_next; /* dial_next: the next dial tries the announced key */
	uint64_t key_since_ns, next_ns, revoked_ns;
	char revoked_reason[HL_NOTICE_REASON_MAX + 1];
	size_t nretired;
	uint8_t retired[HL_RETIRED_MAX][32];
	uint8_t sess_ed[32];          /* the peer's Ed25519 key in the current session */
	uint64_t rekeys, peer_rekeys; /* in the current session: ours sent, the peer's heard */
	size_t naddr;
	struct addr_state addrs[HL_LINKS_MAX];
	struct conn *current, *dialing;
	size_t next_addr, round_failures;
	struct hl_backoff backoff;
	uint64_t next_dial_ms;
	uint8_t last_ts[HL_TS_LEN]; /* newest handshake accepted from this peer */
	uint64_t last_rx_ms, last_rx_ns, last_ping_ms, rekeyed_ms, up_since_ns;
	uint64_t ping_id;
	uint64_t test_seq;       /* the last link test id used */
	uint64_t next_rescan_ms; /* safety net for a lost poke */
	double rtt_ms;
	bool have_rtt;
	/* The peer's wall clock minus ours, from its latest handshake to us (message 0 carries it).
	 */
	double clock_offset_ms;
	uint64_t clock_at_ns; /* when measured; 0: never since the daemon started */
	char hello_name[33];
	uint8_t hello_version; /* from the peer's last HELLO; 0: none heard yet */
	bool peer_cb_known;    /* the peer said which codebook it holds (CODEBOOK frame) */
	uint8_t peer_cb_hash[32];
	char peer_cb_version[HL_CODEBOOK_VERSION_MAX + 1];
};

struct hl_net {
	uv_loop_t *loop;
	const struct hl_config *cfg;
	const struct hl_identity *id;
	uv_tcp_t listener;
	uv_timer_t tick;
	struct hl_storeq *q;
	struct hl_net_hooks hooks;
	struct peer **peers;
	size_t npeers;
	const struct hl_codebook *codebook; /* borrowed from the station */
	struct conn *conns;
	uint64_t conn_serial; /* the last serial handed to a conn */
	/* Handshakes that failed since the start, by reason (metrics). */
	uint64_t hs_unpinned, hs_replayed, hs_timeout, hs_error;
	int open_handles;
	bool stopping;
	bool disk_failed; /* hooks.disk_failed was called */
	uint64_t stop_ms;
	uint8_t scratch[HL_FRAME_MAX];
	uint8_t out[HL_RECORD_MAX];
};

static void conn_close(struct conn *c, const char *why);
static void dial(struct peer *p);
static void net_unref(struct hl_net *net);
static void tests_cut(struct conn *c, const char *why);
static struct conn *start_connect(struct peer *p, size_t idx, enum conn_kind kind);

/* ---- small helpers ---- */

static void
sockaddr_text(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[64] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		uv_ip4_name(in, ip, sizeof ip);
		port = ntohs(in->sin_port);
		snprintf(out, cap, "%s:%d", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		uv_ip6_name(in6, ip, sizeof ip);
		port = ntohs(in6->sin6_port);
		snprintf(out, cap, "[%s]:%d", ip, port);
	} else {
		snprintf(out, cap, "?");
	}
}

/*
 * Whose key is this? The pinned key (*which 0), an announced one (1), a
 * former one (2: refused); NULL when no peer ever had it here.
 */
static struct peer *
peer_by_x25519(struct hl_net *net, const uint8_t key[static 32], int *which)
{
	for (int w = 0; w < 3; w++)
		for (size_t i = 0; i < net->npeers; i++) {
			struct peer *p = net->peers[i];
			bool hit = false;
			if (w == 0)
				hit = sodium_memcmp(p->key.x25519, key, 32) == 0;
			else if (w == 1)
				hit = p->has_next && sodium_memcmp(p->next.x25519, key, 32) == 0;
			for (size_t k = 0; w == 2 && !hit && k < p->nretired; k++)
				hit = sodium_memcmp(p->retired[k], key, 32) == 0;
			if (hit) {
				*which = w;
				return p;
			}
		}
	return NULL;
}

static void net_job(struct hl_net *net, struct hl_job *j);

/*
 * The peer showed the key it announced (how: "dialled" when our handshake
 * to that key completed, "inbound" when it dialled us with it): it has
 * switched, so the announced key becomes its key here, now and on disk,
 * and the former one is refused from now on. Sessions already up keep the
 * keys they authenticated.
 */
static void
peer_key_switched(struct peer *p, const char *how)
{
	struct hl_net *net = p->net;
	char old[48], neu[48];
	struct hl_job *j;

	hl_x25519_b64(p->key.x25519, old);
	hl_x25519_b64(p->next.x25519, neu);
	memmove(p->retired[1], p->retired[0], (HL_RETIRED_MAX - 1) * sizeof p->retired[0]);
	memcpy(p->retired[0], p->key.x25519, 32);
	if (p->nretired < HL_RETIRED_MAX)
		p->nretired++;
	p->key = p->next;
	p->key_since_ns = hl_wall_ns();
	p->has_next = p->dial_next = false;
	memset(&p->next, 0, sizeof p->next);
	log_info("peer_key_switched", "peer=%s old_x25519=%s new_x25519=%s proof=%s", p->name, old,
	         neu, how);
	if ((j = hl_job_new(HL_JOB_PEER_KEY, p->id)) != NULL) {
		memcpy(j->hash, p->key.x25519, 32);
		net_job(net, j);
	}
	if (net->hooks.peer_key)
		net->hooks.peer_key(net->hooks.ctx, p->name, &p->key);
}

static bool
we_are_larger(const struct peer *p)
{
	return memcmp(p->net->id->pub.x25519, p->key.x25519, 32) > 0;
}

/* Whether the session on c was initiated by the station with the larger key. */
static bool
initiated_by_larger(const struct conn *c)
{
	return c->kind == CONN_DIAL ? we_are_larger(c->peer) : !we_are_larger(c->peer);
}

/* ---- writing ---- */

struct write_req {
	uv_write_t req;
	uint8_t data[];
};

static void
on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)(void *)req;
	struct conn *c = req->data;

	free(w);
	if (status < 0 && status != UV_ECANCELED && !c->closing)
		conn_close(c, uv_err_name(status));
	else if (status == 0 && !c->closing && c->peer && c->peer->current == c)
		hl_deliver_pump(c->peer->dl);
}

static int
conn_write(struct conn *c, const uint8_t *data, size_t len)
{
	struct write_req *w;
	uv_buf_t buf;
	int rc;

	if (c->closing)
		return HL_ERR_CLOSED;
	w = malloc(sizeof *w + len);
	if (!w)
		return HL_ERR_NOMEM;
	memcpy(w->data, data, len);
	w->req.data = c;
	buf = uv_buf_init((char *)w->data, (unsigned)len);
	rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
	if (rc < 0) {
		free(w);
		return HL_ERR_IO;
	}
	return HL_OK;
}

static int
send_frame(struct conn *c, uint8_t type, const uint8_t *body, size_t len)
{
	struct hl_net *net = c->net;
	size_t n = 0;
	int rc;

	if (c->corked && !c->closing) {
		/* Seal straight into the cork: one write (one syscall) for all of them. */
		if (c->ocap - c->olen < HL_RECORD_MAX) {
			size_t ncap = c->ocap ? c->ocap * 2 : (size_t)4 * HL_RECORD_MAX;
			uint8_t *nb = realloc(c->obuf, ncap);
			if (!nb)
				return HL_ERR_NOMEM;
			c->obuf = nb;
			c->ocap = ncap;
		}
		rc = hl_session_seal(c->sess, type, body, len, c->obuf + c->olen, c->ocap - c->olen,
		                     &n);
		if (rc == HL_OK)
			c->olen += n;
		return rc;
	}
	rc = hl_session_seal(c->sess, type, body, len, net->out, sizeof net->out, &n);
	if (rc < 0)
		return rc;
	return conn_write(c, net->out, n);
}

/* Frames sealed from now on wait (cork), or leave in one write (uncork). */
static void
conn_cork(struct conn *c, bool on)
{
	if (on) {
		c->corked = true;
		return;
	}
	c->corked = false;
	if (c->olen && conn_write(c, c->obuf, c->olen) < 0 && !c->closing)
		conn_close(c, "write_failed");
	c->olen = 0;
}

/* ---- closing ---- */

static void
on_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct hl_net *net = c->net;

	if (c->prev)
		c->prev->next = c->next;
	else
		net->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	hl_session_wipe(c->sess);
	sodium_free(c->sess);
	free(c->obuf);
	free(c);
	net_unref(net);
}

/* Close the handle now, whatever is pending; once only. */
static void
force_close(struct conn *c)
{
	if (c->uv_closed || c->gai_pending)
		return;
	c->uv_closed = true;
	uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;

	(void)status;
	free(req);
	force_close(c);
}

static void
addr_failed(struct peer *p, int idx, const char *why)
{
	struct addr_state *a = &p->addrs[idx];

	a->known = true;
	a->ok = false;
	snprintf(a->last_error, sizeof a->last_error, "%s", why);
}

static void
addr_ok(struct peer *p, int idx)
{
	struct addr_state *a = &p->addrs[idx];

	a->known = true;
	a->ok = true;
	a->last_error[0] = '\0';
	a->last_ok_ns = hl_wall_ns();
}

/* Decide when to dial next after a failed attempt at address idx. */
static void
dial_failed(struct peer *p, int idx, const char *why)
{
	uint64_t now = hl_now_ms();

	if (idx >= 0 && (size_t)idx < p->naddr) {
		addr_failed(p, idx, why);
		char q[96];
		log_info("dial_failed", "peer=%s address=%s reason=%s", p->name, p->addrs[idx].addr,
		         log_q(q, sizeof q, why));
	}
	p->next_addr = p->naddr ? (p->next_addr + 1) % p->naddr : 0;
	/*
	 * The peer announced a new key: until it shows it, we cannot tell when it
	 * switched, so failed dials alternate between its two keys.
	 */
	if (p->has_next)
		p->dial_next = !p->dial_next;
	if (++p->round_failures < p->naddr) {
		p->next_dial_ms = now; /* fail over to the next address at once */
	} else {
		p->round_failures = 0;
		p->next_dial_ms = now + hl_backoff_next(&p->backoff, randombytes_random());
	}
}

/* How status names a session: "IP:PORT" we dialled, or "inbound from IP:PORT". */
static void
session_path(const struct conn *c, char *out, size_t cap)
{
	if (!c)
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%s%s", c->kind == CONN_DIAL ? "" : "inbound from ", c->remote);
}

static void
link_lost(struct peer *p, const char *why)
{
	char q[96];

	log_warn("link_down", "peer=%s reason=%s", p->name, log_q(q, sizeof q, why));
	if (p->net->hooks.link_changed) {
		char via[HL_ADDR_MAX + 48];
		session_path(p->current, via, sizeof via);
		p->net->hooks.link_changed(p->net->hooks.ctx, p->name, false, via, why);
	}
	p->current = NULL;
	hl_deliver_down(p->dl);
	hl_ckpt_down(p->ck);
	p->have_rtt = false;
	p->up_since_ns = 0;
	p->next_addr = 0;
	p->round_failures = 0;
	hl_backoff_reset(&p->backoff);
	p->next_dial_ms = hl_now_ms() + hl_backoff_next(&p->backoff, randombytes_random());
}

/*
 * Close a conn for a reason; the single place that detaches it from its
 * peer. Safe to call twice. With a session, a CLOSE frame goes out first
 * when the reason is ours to tell (shutdown, superseded).
 */
static void
conn_close(struct conn *c, const char *why)
{
	struct peer *p = c->peer;

	if (c->closing)
		return;
	c->closing = true;
	c->closing_ms = hl_now_ms();
	if (p)
		tests_cut(c, why);
	if (p && p->current == c)
		link_lost(p, why);
	if (p && p->dialing == c) {
		p->dialing = NULL;
		dial_failed(p, c->addr_idx, why);
	}
	if (c->gai_pending)
		return; /* on_resolved finishes the close */
	if (!c->tcp_open) {
		force_close(c);
		return;
	}
	/* Let queued frames (a CLOSE, say) leave first; the tick forces the close if they cannot.
	 */
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_shutdown_t *sd = malloc(sizeof *sd);
	if (sd) {
		sd->data = c;
		if (uv_shutdown(sd, (uv_stream_t *)&c->tcp, on_shutdown) == 0)
			return;
		free(sd);
	}
	force_close(c);
}

static void
conn_say_goodbye(struct conn *c, enum hl_close_reason reason, const char *why)
{
	uint8_t body[1] = {(uint8_t)reason};

	if (c->sess->state == HL_SS_ESTABLISHED && send_frame(c, HL_FT_CLOSE, body, 1) < 0)
		log_debug("close_frame_failed", "peer=%s", c->peer ? c->peer->name : "?");
	conn_close(c, why);
}

static struct conn *
conn_new(struct hl_net *net, enum conn_kind kind)
{
	struct conn *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	/* The handshake holds a copy of our static secret, the session its keys: keep them off
	 * swap. */
	if (!(c->sess = sodium_malloc(sizeof *c->sess)) || uv_tcp_init(net->loop, &c->tcp) != 0) {
		sodium_free(c->sess);
		free(c);
		return NULL;
	}
	memset(c->sess, 0, sizeof *c->sess);
	net->open_handles++;
	c->net = net;
	c->kind = kind;
	c->addr_idx = -1;
	c->serial = ++net->conn_serial;
	c->tcp.data = c;
	c->started_ms = hl_now_ms();
	hl_frame_reader_init(&c->rd);
	c->next = net->conns;
	if (net->conns)
		net->conns->prev = c;
	net->conns = c;
	return c;
}

/* ---- link tests (docs/protocol.md, "Link tests") ---- */

static struct conn *
conn_by_serial(struct hl_net *net, uint64_t serial)
{
	for (struct conn *c = net->conns; c; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

/* After start or link up, the first tests come this soon (never later than the period). */
static uint64_t
first_test_ms(const struct hl_config *cfg)
{
	uint64_t every = (uint64_t)cfg->link_test_s * 1000u;

	return every < LINK_TEST_FIRST_MS ? every : LINK_TEST_FIRST_MS;
}

/* The address whose test in flight c carries (with this id, or any when id is 0), or -1. */
static int
test_on_conn(const struct conn *c, uint64_t id)
{
	const struct peer *p = c->peer;

	for (size_t i = 0; p && i < p->naddr; i++) {
		const struct addr_state *a = &p->addrs[i];
		if (a->test_id && a->test_conn == c->serial && (!id || a->test_id == id))
			return (int)i;
	}
	return -1;
}

/* A test of ours ended (why NULL: answered): keep, log, record, tell the hook. */
static void
test_finish(struct peer *p, size_t idx, uint64_t rtt_us, const char *why)
{
	struct hl_net *net = p->net;
	struct addr_state *a = &p->addrs[idx];
	const char *via = a->test_via_session ? "session" : "test_session";
	bool ok = why == NULL;
	struct hl_job *j;
	char q[96];

	a->test_id = 0;
	a->test_conn = 0;
	memset(&a->last_test, 0, sizeof a->last_test);
	a->last_test.at_ns = a->test_started_ns;
	a->last_test.ok = ok;
	a->last_test.rtt_us = ok ? rtt_us : 0;
	snprintf(a->last_test.error, sizeof a->last_test.error, "%s", ok ? "" : why);
	if (ok)
		a->tests_ok++;
	else
		a->tests_failed++;
	if (ok) {
		a->last_test_ok_ns = a->test_started_ns;
		log_info("link_test", "peer=%s link=%s ok=1 rtt_ms=%.3f via=%s", p->name, a->addr,
		         (double)rtt_us / 1000.0, via);
	} else {
		log_warn("link_test", "peer=%s link=%s ok=0 error=%s via=%s", p->name, a->addr,
		         log_q(q, sizeof q, why), via);
	}
	if (net->q && (j = hl_job_new(HL_JOB_LINK_TEST, p->id)) != NULL) {
		j->test.dir = HL_DIR_OUT;
		j->test.ok = ok;
		j->test.at_ns = a->test_started_ns;
		j->test.rtt_us = a->last_test.rtt_us;
		snprintf(j->test.link, sizeof j->test.link, "%s", a->addr);
		snprintf(j->test.error, sizeof j->test.error, "%s", a->last_test.error);
		hl_storeq_submit(net->q, j);
	}
	if (net->hooks.link_test)
		net->hooks.link_test(net->hooks.ctx, p->name, a->addr, ok,
		                     ok ? (double)rtt_us / 1000.0 : 0.0, why);
}

/* Send the TEST of address a on c; its clock is what the reply must echo. */
static int
test_send(struct conn *c, struct addr_state *a)
{
	uint8_t body[HL_TEST_LEN];

	a->test_sent_us = (uint64_t)(uv_hrtime() / 1000u);
	hl_put_u64(body, a->test_id);
	hl_put_u64(body + 8, a->test_sent_us);
	return send_frame(c, HL_FT_TEST, body, sizeof body);
}

/*
 * Is a handshake of ours to p under way? A test session waits for it: two
 * message 0s of ours racing to the peer could make it refuse the older one
 * as a replay, which would fail a test of a sound link.
 */
static bool
handshaking(const struct peer *p)
{
	for (const struct conn *c = p->net->conns; c; c = c->next)
		if (c->peer == p && !c->closing && (c->kind == CONN_DIAL || c->kind == CONN_TEST) &&
		    c->sess->state != HL_SS_ESTABLISHED)
			return true;
	return false;
}

/* Test address idx now, over our outbound session when it carries that address. */
static void
test_start(struct peer *p, size_t idx, uint64_t now)
{
	struct hl_net *net = p->net;
	struct addr_state *a = &p->addrs[idx];
	struct conn *c = p->current;

	a->test_next_ms = now + (uint64_t)net->cfg->link_test_s * 1000u;
	a->test_id = ++p->test_seq;
	a->test_started_ms = now;
	a->test_started_ns = hl_wall_ns();
	a->test_sent_us = 0;
	if (c && !c->closing && c->kind == CONN_DIAL && c->addr_idx >= 0 &&
	    (size_t)c->addr_idx == idx) {
		a->test_via_session = true;
		a->test_conn = c->serial;
		if (test_send(c, a) < 0)
			test_finish(p, idx, 0, "send_failed");
		return;
	}
	a->test_via_session = false;
	a->test_conn = 0;
	c = start_connect(p, idx, CONN_TEST);
	if (!c) {
		test_finish(p, idx, 0, "cannot_start");
		return;
	}
	a->test_conn = c->serial;
}

/* Each address: fail the test that ran out of time, start the one that is due. */
static void
tests_tick(struct peer *p, uint64_t now)
{
	const struct hl_config *cfg = p->net->cfg;

	for (size_t i = 0; i < p->naddr; i++) {
		struct addr_state *a = &p->addrs[i];
		if (a->test_id && now - a->test_started_ms >= cfg->link_test_timeout_ms) {
			struct conn *c =
			    a->test_via_session ? NULL : conn_by_serial(p->net, a->test_conn);
			test_finish(p, i, 0, "timeout");
			if (c)
				conn_say_goodbye(c, HL_CLOSE_TEST_DONE, "test_done");
		} else if (!a->test_id && now >= a->test_next_ms && p->hello_version &&
		           p->hello_version < HL_WIRE_VERSION_TESTS) {
			/* A TEST would end its session: a station of version 1 knows no such frame.
			 */
			a->test_next_ms = now + (uint64_t)cfg->link_test_s * 1000u;
			log_info("link_test_skipped",
			         "peer=%s link=%s reason=peer_version version=%u", p->name, a->addr,
			         p->hello_version);
		} else if (!a->test_id && now >= a->test_next_ms) {
			bool on_session = p->current && !p->current->closing &&
			                  p->current->kind == CONN_DIAL &&
			                  p->current->addr_idx == (int)i;
			if (on_session || !handshaking(p))
				test_start(p, i, now);
		}
	}
}

/*
 * c is closing: the tests it carries end. A session replaced by a newer one
 * to the same peer is no failure of the link: its test is dropped and made
 * again at once. Any other loss fails the test with the reason.
 */
static void
tests_cut(struct conn *c, const char *why)
{
	struct peer *p = c->peer;
	bool replaced =
	    c->kind != CONN_TEST && p->current && p->current != c && !p->current->closing;
	int i;

	while ((i = test_on_conn(c, 0)) >= 0) {
		if (replaced) {
			p->addrs[i].test_id = 0;
			p->addrs[i].test_next_ms = 0;
		} else {
			test_finish(p, (size_t)i, 0, why);
		}
	}
}

/* Forget the tests in flight, unrecorded: the peer is dropped or the station stops. */
static void
tests_forget(struct peer *p)
{
	for (size_t i = 0; i < p->naddr; i++)
		p->addrs[i].test_id = 0;
}

/* A TEST_REPLY on c: the end of our test in flight when it echoes what we sent. */
static int
test_replied(struct conn *c, const struct hl_session_event *ev)
{
	struct peer *p = c->peer;
	uint64_t now_us = (uint64_t)(uv_hrtime() / 1000u);
	struct addr_state *a;
	int i;

	if (ev->len != HL_TEST_LEN)
		return HL_ERR_PROTO;
	i = test_on_conn(c, hl_get_u64(ev->body));
	if (i < 0)
		return HL_OK; /* too late: that test has already failed */
	a = &p->addrs[i];
	if (!a->test_sent_us || hl_get_u64(ev->body + 8) != a->test_sent_us)
		return HL_OK; /* not the echo of what we sent */
	test_finish(p, (size_t)i, now_us >= a->test_sent_us ? now_us - a->test_sent_us : 0, NULL);
	if (c->kind == CONN_TEST)
		conn_say_goodbye(c, HL_CLOSE_TEST_DONE, "test_done");
	return HL_OK;
}

/*
 * The peer's TEST on c: record it in the store. The TEST_REPLY leaves only
 * once that is committed (test_job_done), so a station whose store cannot
 * commit fails its peer's tests while its heartbeats still pass.
 */
static int
test_answer(struct conn *c, const struct hl_session_event *ev)
{
	struct hl_net *net = c->net;
	struct hl_job *j;

	if (ev->len != HL_TEST_LEN)
		return HL_ERR_PROTO;
	if (!net->q || c->tests_pending >= LINK_TEST_MAX_PENDING) {
		log_debug("link_test_dropped", "peer=%s remote=%s pending=%u", c->peer->name,
		          c->remote, c->tests_pending);
		return HL_OK;
	}
	j = hl_job_new(HL_JOB_LINK_TEST, c->peer->id);
	if (!j)
		return HL_OK; /* unanswered: the peer's test fails, as it should */
	j->tag = c->serial;
	j->test.dir = HL_DIR_IN;
	j->test.ok = true;
	j->test.at_ns = hl_wall_ns();
	snprintf(j->test.link, sizeof j->test.link, "%s", c->remote);
	_Static_assert(sizeof j->test.body == HL_TEST_LEN, "a test body fits the job");
	memcpy(j->test.body, ev->body, HL_TEST_LEN);
	c->tests_pending++;
	hl_storeq_submit(net->q, j);
	return HL_OK;
}

/* A LINK_TEST job is done: ours is recorded; the peer's is answered, if its conn is still up. */
static void
test_job_done(struct hl_net *net, struct hl_job *job)
{
	struct conn *c = job->test.dir == HL_DIR_IN ? conn_by_serial(net, job->tag) : NULL;

	if (c && c->tests_pending)
		c->tests_pending--;
	if (job->rc < 0) {
		log_warn("link_test_not_recorded", "link=%s mine=%d err=\"%s\"%s", job->test.link,
		         job->test.dir == HL_DIR_OUT, hl_strerror(job->rc),
		         job->test.dir == HL_DIR_IN ? " answered=0" : "");
	} else if (c && !c->closing && c->sess->state == HL_SS_ESTABLISHED) {
		if (send_frame(c, HL_FT_TEST_REPLY, job->test.body, HL_TEST_LEN) < 0) {
			conn_say_goodbye(c, HL_CLOSE_RENEW, "session_renewal");
		} else {
			c->last_io_ms = hl_now_ms();
			log_debug("link_test_answered", "peer=%s remote=%s",
			          c->peer ? c->peer->name : "-", c->remote);
		}
	}
	hl_job_free(job);
}

/* Our test session is up: say it is one, then send the test. */
static void
test_session_up(struct conn *c)
{
	struct hl_net *net = c->net;
	uint8_t hello[64];
	size_t hlen = 0;
	int i = test_on_conn(c, 0);

	c->established_ms = c->last_io_ms = hl_now_ms();
	if (i < 0) {
		conn_say_goodbye(c, HL_CLOSE_TEST_DONE, "test_done"); /* its test already ended */
		return;
	}
	if (hl_hello_encode_flags(net->cfg->name, HL_HELLO_TEST_ONLY, hello, sizeof hello, &hlen) <
	        0 ||
	    send_frame(c, HL_FT_HELLO, hello, hlen) < 0 || test_send(c, &c->peer->addrs[i]) < 0)
		conn_close(c, "send_failed");
}

/* Is this first frame of an accepted conn a test-only HELLO? */
static bool
test_hello(const struct hl_session_event *ev)
{
	uint8_t version, flags;
	char name[33];

	return ev->frame && ev->type == HL_FT_HELLO &&
	       hl_hello_decode_flags(ev->body, ev->len, &version, name, &flags) == HL_OK &&
	       (flags & HL_HELLO_TEST_ONLY);
}

/* The peer opened a test session: keep it apart from its real session; answer its tests. */
static void
test_session_accepted(struct conn *c)
{
	struct hl_net *net = c->net;
	uint8_t hello[64];
	size_t hlen = 0;

	c->test_only = true;
	c->established_ms = c->last_io_ms = hl_now_ms();
	log_debug("test_session", "peer=%s remote=%s", c->peer->name, c->remote);
	if (hl_hello_encode_flags(net->cfg->name, HL_HELLO_TEST_ONLY, hello, sizeof hello, &hlen) <
	        0 ||
	    send_frame(c, HL_FT_HELLO, hello, hlen) < 0)
		conn_close(c, "hello_failed");
}

/* Frames on a test session, ours or the peer's: nothing but the test. */
static int
on_test_frame(struct conn *c, const struct hl_session_event *ev)
{
	uint8_t version;
	char name[33];

	c->last_io_ms = hl_now_ms();
	switch (ev->type) {
	case HL_FT_HELLO:
		return hl_hello_decode(ev->body, ev->len, &version, name) < 0 ? HL_ERR_PROTO
		                                                              : HL_OK;
	case HL_FT_TEST:
		return c->kind == CONN_ACCEPT ? test_answer(c, ev) : HL_ERR_PROTO;
	case HL_FT_TEST_REPLY:
		return c->kind == CONN_TEST ? test_replied(c, ev) : HL_ERR_PROTO;
	case HL_FT_PING:
		if (ev->len != 16)
			return HL_ERR_PROTO;
		return send_frame(c, HL_FT_PONG, ev->body, ev->len);
	case HL_FT_PONG:
	case HL_FT_REKEY:
		return HL_OK;
	case HL_FT_CLOSE: {
		uint8_t reason = ev->len >= 1 ? ev->body[0] : 0;
		conn_close(c, reason == HL_CLOSE_SHUTDOWN    ? "peer_shutting_down"
		              : reason == HL_CLOSE_TEST_DONE ? "test_done"
		                                             : "peer_closed");
		return HL_OK;
	}
	default:
		return HL_ERR_PROTO; /* events and receipts travel on the real session only */
	}
}

/* ---- sessions ---- */

static void
session_established(struct conn *c, const struct hl_session_event *ev)
{
	struct peer *p = c->peer;
	struct conn *old = p->current;
	uint8_t hello[64];
	size_t hlen = 0;

	c->established_ms = hl_now_ms();
	if (c->kind == CONN_DIAL && c->dialed_next && p->has_next &&
	    sodium_memcmp(c->sess->remote, p->next.x25519, 32) == 0)
		peer_key_switched(p, "dialled"); /* only its holder answers to the new key */
	if (c->kind == CONN_DIAL) {
		if (p->dialing == c)
			p->dialing = NULL;
		addr_ok(p, c->addr_idx);
		p->round_failures = 0;
		hl_backoff_reset(&p->backoff);
	}
	/*
	 * The initiator's HELLO is also the frame that confirms the session to
	 * the responder, which has it here already: to an initiator of version
	 * 5 or more the responder says it speaks SYNC (wire.h, HL_HELLO_SYNC).
	 */
	uint8_t version = 0, flags = 0;
	char name[33];
	if (c->kind == CONN_ACCEPT && ev->frame && ev->type == HL_FT_HELLO &&
	    hl_hello_decode(ev->body, ev->len, &version, name) == HL_OK &&
	    version >= HL_WIRE_VERSION_SYNC)
		flags = HL_HELLO_SYNC;
	if ((flags ? hl_hello_encode_flags(c->net->cfg->name, flags, hello, sizeof hello, &hlen)
	           : hl_hello_encode(c->net->cfg->name, hello, sizeof hello, &hlen)) < 0 ||
	    send_frame(c, HL_FT_HELLO, hello, hlen) < 0) {
		conn_close(c, "hello_failed");
		return;
	}
	if (old && !initiated_by_larger(c) && initiated_by_larger(old)) {
		log_info("session_superseded", "peer=%s kept=%s dropped=%s", p->name, old->remote,
		         c->remote);
		conn_say_goodbye(c, HL_CLOSE_SUPERSEDED, "superseded");
		return;
	}
	p->current = c;
	p->last_rx_ms = p->rekeyed_ms = p->last_ping_ms = hl_now_ms();
	p->last_rx_ns = hl_wall_ns();
	p->rekeys = p->peer_rekeys = 0;
	/* The keys this session authenticated sign and check everything on it. */
	memcpy(p->sess_ed, p->key.ed25519, 32);
	hl_deliver_up(p->dl); /* everything without a receipt goes again */
	hl_ckpt_up(p->ck, hl_now_ms());
	if (old) {
		log_info("session_replaced", "peer=%s new=%s old=%s", p->name, c->remote,
		         old->remote);
		old->peer = p;
		p->current = c; /* so that closing old is not a link loss */
		conn_say_goodbye(old, HL_CLOSE_SUPERSEDED, "superseded");
	} else {
		uint64_t first = hl_now_ms() + first_test_ms(c->net->cfg);
		p->up_since_ns = hl_wall_ns();
		for (size_t i = 0; i < p->naddr; i++) {
			p->addrs[i].next_probe_ms = 0; /* re-check what failed while we were down */
			if (p->addrs[i].test_next_ms > first)
				p->addrs[i].test_next_ms = first; /* and test every link soon */
		}
		log_info("link_up", "peer=%s via=%s direction=%s", p->name, c->remote,
		         c->kind == CONN_DIAL ? "outbound" : "inbound");
		if (p->net->hooks.link_changed) {
			char via[HL_ADDR_MAX + 48];
			session_path(c, via, sizeof via);
			p->net->hooks.link_changed(p->net->hooks.ctx, p->name, true, via, "");
		}
	}
}

static int
check_initiator(void *ctx, const uint8_t rs[static 32], const uint8_t ts[static HL_TS_LEN])
{
	struct conn *c = ctx;
	int which = 0;
	struct peer *p = peer_by_x25519(c->net, rs, &which);
	char key[48];

	if (!p || which == 2 || p->revoked_ns) {
		hl_x25519_b64(rs, key);
		if (!p)
			log_warn("handshake_refused", "reason=unpinned_key remote=%s x25519=%s",
			         c->remote, key);
		else
			log_warn("handshake_refused", "reason=%s peer=%s remote=%s x25519=%s",
			         p->revoked_ns ? "revoked_key" : "retired_key", p->name, c->remote,
			         key);
		c->refusal_logged = true;
		c->net->hs_unpinned++;
		return HL_ERR_AUTH;
	}
	if (memcmp(ts, p->last_ts, HL_TS_LEN) <= 0) {
		log_warn("handshake_refused", "reason=replayed_handshake peer=%s remote=%s",
		         p->name, c->remote);
		c->refusal_logged = true;
		c->net->hs_replayed++;
		return HL_ERR_REPLAY;
	}
	memcpy(p->last_ts, ts, HL_TS_LEN);
	c->peer = p;
	/* Only the peer itself, switched to it, can make a handshake with its announced key. */
	if (which == 1)
		peer_key_switched(p, "inbound");
	/* Authenticated (it decrypted under the pinned key) and fresh: the peer's clock, for
	 * the operators (network delay included, which is well under a second). */
	{
		uint64_t now = hl_wall_ns();
		double peer_ns = (double)hl_get_u64(ts) * 1e9 + (double)hl_get_u32(ts + 8);
		p->clock_offset_ms = (peer_ns - (double)now) / 1e6;
		p->clock_at_ns = now;
	}
	return HL_OK;
}

/* Tell the peer which codebook this station holds (after its HELLO: it knows the frame). */
static int
send_codebook(struct conn *c)
{
	static const uint8_t none[32];
	const struct hl_codebook *cb = c->net->codebook;
	uint8_t body[33 + HL_CODEBOOK_VERSION_MAX];
	size_t len = 0;
	char version[HL_CODEBOOK_VERSION_MAX + 1] = "";

	if (cb) {
		snprintf(version, sizeof version, "%s", cb->version);
		hl_field_clean(version);
	}
	if (hl_codebook_frame_encode(cb ? cb->hash : none, version, body, sizeof body, &len) < 0 &&
	    hl_codebook_frame_encode(cb ? cb->hash : none, "", body, sizeof body, &len) < 0)
		return HL_OK;
	return send_frame(c, HL_FT_CODEBOOK, body, len);
}

/* The peer's codebook: the same as ours, or a mismatch that refuses codebook messages. */
static int
codebook_heard(struct peer *p, const uint8_t *body, size_t len)
{
	const struct hl_codebook *cb = p->net->codebook;
	char hex[17];

	if (hl_codebook_frame_decode(body, len, p->peer_cb_hash, p->peer_cb_version) < 0)
		return HL_ERR_PROTO;
	bool agreed;
	char full[65];

	p->peer_cb_known = true;
	sodium_bin2hex(hex, sizeof hex, p->peer_cb_hash, 8);
	sodium_bin2hex(full, sizeof full, p->peer_cb_hash, 32);
	agreed = cb && sodium_memcmp(cb->hash, p->peer_cb_hash, 32) == 0;
	if (!agreed)
		log_warn("codebook_mismatch", "peer=%s theirs=%s version=\"%s\" ours=%.16s",
		         p->name, hex, p->peer_cb_version, cb ? cb->hash_hex : "none");
	else
		log_info("codebook_agreed", "peer=%s hash=%s version=\"%s\"", p->name, hex,
		         p->peer_cb_version);
	if (p->net->hooks.codebook)
		p->net->hooks.codebook(p->net->hooks.ctx, p->name, agreed, full,
		                       p->peer_cb_version);
	return HL_OK;
}

static int
on_frame(struct conn *c, const struct hl_session_event *ev)
{
	struct peer *p = c->peer;
	uint8_t version, flags = 0;
	char name[33];

	if (p->current != c)
		return HL_OK; /* a losing session may still drain; ignore it */
	p->last_rx_ms = hl_now_ms();
	p->last_rx_ns = hl_wall_ns();
	switch (ev->type) {
	case HL_FT_HELLO:
		if (hl_hello_decode_flags(ev->body, ev->len, &version, name, &flags) < 0)
			return HL_ERR_PROTO;
		snprintf(p->hello_name, sizeof p->hello_name, "%s", name);
		p->hello_version = version;
		hl_deliver_set_peer_version(p->dl, version);
		log_debug("hello", "peer=%s calls_itself=%s version=%u", p->name, name, version);
		/* The responder speaks SYNC: ours goes first. */
		if (flags & HL_HELLO_SYNC)
			hl_deliver_sync_offer(p->dl);
		return version >= HL_WIRE_VERSION_CODEBOOK ? send_codebook(c) : HL_OK;
	case HL_FT_CODEBOOK:
		return codebook_heard(p, ev->body, ev->len);
	case HL_FT_PING:
		if (ev->len != 16)
			return HL_ERR_PROTO;
		return send_frame(c, HL_FT_PONG, ev->body, ev->len);
	case HL_FT_PONG: {
		uint64_t sent_us;
		if (ev->len != 16)
			return HL_ERR_PROTO;
		sent_us = hl_get_u64(ev->body + 8);
		uint64_t now_us = (uint64_t)(uv_hrtime() / 1000u);
		if (hl_get_u64(ev->body) == p->ping_id && now_us >= sent_us) {
			p->rtt_ms = (double)(now_us - sent_us) / 1000.0;
			p->have_rtt = true;
		}
		return HL_OK;
	}
	case HL_FT_CLOSE:
		conn_close(c, ev->len >= 1 && ev->body[0] == HL_CLOSE_SHUTDOWN
		                  ? "peer_shutting_down"
		                  : "peer_closed");
		return HL_OK;
	case HL_FT_REKEY:
		p->peer_rekeys++;
		return HL_OK;
	case HL_FT_TEST:
		return test_answer(c, ev);
	case HL_FT_TEST_REPLY:
		return test_replied(c, ev);
	case HL_FT_DATA:
	case HL_FT_RECEIPT:
	case HL_FT_REFUSE:
	case HL_FT_HEAD:
	case HL_FT_SYNC:
	case HL_FT_RETURN:
	case HL_FT_RETURN_HEAD:
		return hl_deliver_frame(p->dl, ev->type, ev->body, ev->len);
	case HL_FT_CHECKPOINT:
		return hl_ckpt_frame(p->ck, ev->body, ev->len);
	default:
		return HL_ERR_PROTO;
	}
}

static void
on_record(struct conn *c, const uint8_t *rec, size_t len)
{
	struct hl_net *net = c->net;
	struct hl_session_event ev;
	int rc;

	rc = hl_session_on_record(c->sess, rec, len, check_initiator, c, net->scratch, net->out,
	                          &ev);
	if (rc < 0) {
		if (!c->refusal_logged && c->sess->state != HL_SS_ESTABLISHED)
			net->hs_error++;
		if (!c->refusal_logged)
			log_warn("connection_dropped", "remote=%s peer=%s reason=\"%s\"", c->remote,
			         c->peer ? c->peer->name : "-", hl_strerror(rc));
		conn_close(c, hl_strerror(rc));
		return;
	}
	if (ev.out_len && conn_write(c, net->out, ev.out_len) < 0) {
		conn_close(c, "write_failed");
		return;
	}
	if (ev.established) {
		/*
		 * A responder's session completes with the initiator's first frame,
		 * its HELLO, in this very record: a test-only HELLO keeps the conn
		 * apart from the peer's real session.
		 */
		if (c->kind == CONN_TEST)
			test_session_up(c);
		else if (c->kind == CONN_ACCEPT && test_hello(&ev))
			test_session_accepted(c);
		else
			session_established(c, &ev);
	}
	if (!c->closing && ev.frame &&
	    (c->kind == CONN_TEST || c->test_only ? on_test_frame(c, &ev) : on_frame(c, &ev)) < 0) {
		log_warn("connection_dropped", "peer=%s reason=bad_frame type=%u", c->peer->name,
		         ev.type);
		conn_close(c, "bad_frame");
	}
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(slab, sizeof slab);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	const uint8_t *data = (const uint8_t *)buf->base;
	size_t left = nread > 0 ? (size_t)nread : 0;

	if (nread < 0) {
		if (c->sess->state != HL_SS_ESTABLISHED && !c->peer && c->rd.have == 0 &&
		    c->kind == CONN_ACCEPT)
			log_debug("connection_closed", "remote=%s before=handshake", c->remote);
		else if (c->sess->state != HL_SS_ESTABLISHED)
			log_info("connection_dropped", "remote=%s reason=%s during=handshake",
			         c->remote, nread == UV_EOF ? "eof" : uv_err_name((int)nread));
		conn_close(c, nread == UV_EOF ? "eof" : uv_err_name((int)nread));
		return;
	}
	while (left > 0 && !c->closing) {
		const uint8_t *rec;
		size_t reclen;
		int used = hl_frame_feed(&c->rd, data, left, &rec, &reclen);
		if (used < 0) {
			log_warn("connection_dropped", "remote=%s peer=%s reason=bad_record_length",
			         c->remote, c->peer ? c->peer->name : "-");
			conn_close(c, "bad_record_length");
			return;
		}
		data += used;
		left -= (size_t)used;
		if (rec)
			on_record(c, rec, reclen);
	}
}

/* ---- accepting ---- */

static void
on_connection(uv_stream_t *server, int status)
{
	struct hl_net *net = server->data;
	struct sockaddr_storage ss;
	int sslen = sizeof ss;
	struct conn *c;

	if (status < 0 || net->stopping)
		return;
	c = conn_new(net, CONN_ACCEPT);
	if (!c)
		return;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c, "accept_failed");
		return;
	}
	c->tcp_open = true;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) == 0)
		sockaddr_text((struct sockaddr *)&ss, c->remote, sizeof c->remote);
	uv_tcp_nodelay(&c->tcp, 1);
	if (hl_session_start_responder(c->sess, net->id->x25519_sk) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c, "setup_failed");
}

/* ---- dialing and probing ---- */

static void
on_connected(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	struct hl_net *net = c->net;
	size_t n = 0;

	if (c->closing)
		return;
	if (status < 0) {
		if (c->kind == CONN_PROBE && c->peer)
			addr_failed(c->peer, c->addr_idx, uv_err_name(status));
		conn_close(c, uv_err_name(status));
		return;
	}
	c->tcp_open = true;
	if (c->kind == CONN_PROBE) {
		if (c->peer)
			addr_ok(c->peer, c->addr_idx);
		conn_close(c, "probe_done");
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	if (c->dialed_next && !c->peer->has_next) {
		conn_close(c, "key_changed"); /* the announced key was taken or dropped meanwhile */
		return;
	}
	if (hl_session_start_initiator(c->sess, net->id->x25519_sk,
	                               c->dialed_next ? c->peer->next.x25519 : c->peer->key.x25519,
	                               hl_wall_ns(), net->out, sizeof net->out, &n) < 0 ||
	    conn_write(c, net->out, n) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c, "setup_failed");
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct conn *c = req->data;
	int rc;

	c->gai_pending = false;
	if (c->closing) {
		uv_freeaddrinfo(res);
		force_close(c);
		return;
	}
	if (status < 0 || !res) {
		if (c->kind == CONN_PROBE && c->peer)
			addr_failed(c->peer, c->addr_idx, "cannot_resolve");
		uv_freeaddrinfo(res);
		conn_close(c, "cannot_resolve");
		return;
	}
	sockaddr_text(res->ai_addr, c->remote, sizeof c->remote);
	c->connect_req.data = c;
	rc = uv_tcp_connect(&c->connect_req, &c->tcp, res->ai_addr, on_connected);
	uv_freeaddrinfo(res);
	if (rc < 0) {
		if (c->kind == CONN_PROBE && c->peer)
			addr_failed(c->peer, c->addr_idx, uv_err_name(rc));
		conn_close(c, uv_err_name(rc));
	}
}

static struct conn *
start_connect(struct peer *p, size_t idx, enum conn_kind kind)
{
	struct hl_net *net = p->net;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
	char host[HL_ADDR_MAX], port[8];
	uint16_t portnum;
	struct conn *c;

	if (hl_addr_split(p->addrs[idx].addr, host, sizeof host, &portnum, false) < 0)
		return NULL;
	snprintf(port, sizeof port, "%u", portnum);
	c = conn_new(net, kind);
	if (!c)
		return NULL;
	c->peer = p;
	c->addr_idx = (int)idx;
	snprintf(c->remote, sizeof c->remote, "%s", p->addrs[idx].addr);
	c->gai_req.data = c;
	c->gai_pending = true;
	if (uv_getaddrinfo(net->loop, &c->gai_req, on_resolved, host, port, &hints) < 0) {
		c->gai_pending = false;
		conn_close(c, "cannot_resolve");
		return NULL;
	}
	return c;
}

static void
dial(struct peer *p)
{
	size_t idx = p->next_addr % p->naddr;

	log_debug("dial", "peer=%s address=%s", p->name, p->addrs[idx].addr);
	p->dialing = start_connect(p, idx, CONN_DIAL);
	if (!p->dialing)
		dial_failed(p, (int)idx, "cannot_start");
	else
		p->dialing->dialed_next = p->has_next && p->dial_next;
}

/* ---- the tick: heartbeats, timeouts, dials, probes ---- */

static void
peer_tick(struct peer *p, uint64_t now)
{
	const struct hl_config *cfg = p->net->cfg;
	struct conn *c = p->current;

	if (c)
		hl_deliver_tick(p->dl);
	hl_ckpt_tick(p->ck, now, (uint64_t)cfg->checkpoint_s * 1000u);
	if (c && now >= p->next_rescan_ms) {
		/* New events are announced by a poke; should one be lost, they wait 5 s at most. */
		p->next_rescan_ms = now + 5000;
		hl_deliver_poke(p->dl);
	}
	if (c) {
		if (now - p->last_rx_ms > cfg->down_after_ms) {
			conn_close(c, "heartbeat_timeout");
		} else if (now - p->last_ping_ms >= cfg->heartbeat_ms) {
			uint8_t body[16];
			hl_put_u64(body, ++p->ping_id);
			hl_put_u64(body + 8, (uint64_t)(uv_hrtime() / 1000u));
			p->last_ping_ms = now;
			if (send_frame(c, HL_FT_PING, body, sizeof body) < 0)
				conn_say_goodbye(c, HL_CLOSE_RENEW, "session_renewal");
		}
		if (!c->closing && (c->sess->sent_since_rekey >= cfg->rekey_frames ||
		                    now - p->rekeyed_ms >= (uint64_t)cfg->rekey_s * 1000u)) {
			size_t n = 0;
			p->rekeyed_ms = now;
			if (hl_session_seal_rekey(c->sess, p->net->out, sizeof p->net->out, &n) <
			        0 ||
			    conn_write(c, p->net->out, n) < 0)
				conn_say_goodbye(c, HL_CLOSE_RENEW, "session_renewal");
			else
				log_debug("rekey", "peer=%s count=%llu", p->name,
				          (unsigned long long)++p->rekeys);
		}
	}
	if (!p->current && !p->dialing && p->naddr && now >= p->next_dial_ms && !p->revoked_ns)
		dial(p);
	/* Standby addresses: a TCP connect tells whether they would carry the link. */
	if (p->revoked_ns)
		return; /* no probes, no tests: nothing of ours goes to a revoked key */
	if (p->current) {
		for (size_t i = 0; i < p->naddr; i++) {
			struct addr_state *a = &p->addrs[i];
			if (p->current->kind == CONN_DIAL && (size_t)p->current->addr_idx == i)
				continue;
			if (now >= a->next_probe_ms) {
				a->next_probe_ms = now + cfg->probe_ms;
				start_connect(p, i, CONN_PROBE);
			}
		}
	}
	tests_tick(p, now);
}

static void
on_tick(uv_timer_t *t)
{
	struct hl_net *net = t->data;
	uint64_t now = hl_now_ms();

	for (struct conn *c = net->conns, *next; c; c = next) {
		next = c->next;
		if (c->closing) {
			if (now - c->closing_ms > net->cfg->handshake_timeout_ms)
				force_close(c); /* a shutdown the other end never let finish */
			continue;
		}
		if (c->kind == CONN_TEST && test_on_conn(c, 0) < 0) {
			conn_say_goodbye(c, HL_CLOSE_TEST_DONE, "test_done"); /* its test ended */
			continue;
		}
		if (c->test_only && !c->tests_pending &&
		    now - c->last_io_ms > net->cfg->handshake_timeout_ms) {
			conn_say_goodbye(c, HL_CLOSE_TEST_DONE, "test_session_idle");
			continue;
		}
		if (c->sess->state != HL_SS_ESTABLISHED &&
		    now - c->started_ms > net->cfg->handshake_timeout_ms) {
			net->hs_timeout++;
			if (c->kind == CONN_PROBE) {
				if (c->peer)
					addr_failed(c->peer, c->addr_idx, "timeout");
			} else if (c->kind == CONN_TEST) {
				/* the test fails with the reason, below */
			} else {
				log_info("connection_dropped", "remote=%s reason=handshake_timeout",
				         c->remote);
			}
			conn_close(c, "handshake_timeout");
		}
	}
	for (size_t i = 0; i < net->npeers; i++)
		peer_tick(net->peers[i], now);
}

/* ---- peers ---- */

/* deliver.c reaches the peer's current session through these. */
static int
io_send(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
	struct peer *p = ctx;

	return p->current && !p->current->closing ? send_frame(p->current, type, body, len)
	                                          : HL_ERR_CLOSED;
}

static size_t
io_backlog(void *ctx)
{
	struct peer *p = ctx;

	return p->current ? p->current->tcp.write_queue_size + p->current->olen : 0;
}

static void
io_cork(void *ctx, bool on)
{
	struct peer *p = ctx;

	if (p->current)
		conn_cork(p->current, on);
}

static void
io_drop(void *ctx, const char *why)
{
	struct peer *p = ctx;

	if (p->current)
		conn_close(p->current, why);
}

static void
io_settled(void *ctx, void *waiter, uint64_t seq, const char *reason)
{
	struct peer *p = ctx;

	if (p->net->hooks.settled)
		p->net->hooks.settled(p->net->hooks.ctx, waiter, seq, reason);
}

static void
io_received(void *ctx, const struct hl_job *job)
{
	struct peer *p = ctx;

	if (p->net->hooks.received)
		p->net->hooks.received(p->net->hooks.ctx, p->name, job);
}

static void
io_ckpt_done(void *ctx, void *const *waiters, const struct hl_ckpt_rec *c)
{
	struct peer *p = ctx;

	if (p->net->hooks.checkpoint)
		p->net->hooks.checkpoint(p->net->hooks.ctx, p->name, waiters, c);
}

static void drop_conns(struct peer *p, const char *why);

/* The record's key lifecycle fields (announced key, revocation, former keys) into p. */
static void
peer_keys_set(struct peer *p, const struct hl_peer_rec *r)
{
	bool was_revoked = p->revoked_ns != 0;

	p->has_next = r->has_next;
	p->next = r->next;
	if (!p->has_next)
		p->dial_next = false;
	p->key_since_ns = r->key_since_ns;
	p->next_ns = r->next_ns;
	p->revoked_ns = r->revoked_ns;
	snprintf(p->revoked_reason, sizeof p->revoked_reason, "%s", r->revoked_reason);
	p->nretired = r->nretired;
	memcpy(p->retired, r->retired_x25519, sizeof p->retired);
	if (p->revoked_ns && !was_revoked) {
		char q[HL_NOTICE_REASON_MAX + 16];
		log_warn("peer_revoked", "peer=%s reason=%s", p->name,
		         log_q(q, sizeof q, p->revoked_reason));
		drop_conns(p, "key_revoked");
	}
}

static struct peer *
peer_new(struct hl_net *net, const struct hl_peer_rec *r)
{
	struct peer *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->net = net;
	p->id = r->id;
	p->dl =
	    hl_deliver_new(r->id, r->name, net->id, p->sess_ed, net->cfg->max_message_bytes, net->q,
	                   (struct hl_deliver_io){io_send, io_backlog, io_cork, io_drop, io_settled,
	                                          io_received, p});
	p->ck = hl_ckpt_new(r->id, r->name, net->cfg->name, net->id, p->sess_ed, net->q,
	                    (struct hl_ckpt_io){io_send, io_ckpt_done, p});
	if (!p->dl || !p->ck) {
		hl_deliver_free(p->dl);
		hl_ckpt_free(p->ck);
		free(p);
		return NULL;
	}
	snprintf(p->name, sizeof p->name, "%s", r->name);
	hl_deliver_set_codebook(p->dl, net->codebook);
	p->key = r->key;
	memcpy(p->sess_ed, r->key.ed25519, 32);
	peer_keys_set(p, r);
	p->naddr = r->nlinks;
	for (size_t i = 0; i < r->nlinks; i++) {
		snprintf(p->addrs[i].addr, HL_ADDR_MAX, "%s", r->links[i]);
		p->addrs[i].test_next_ms = hl_now_ms() + first_test_ms(net->cfg);
	}
	hl_backoff_init(&p->backoff, net->cfg->backoff_min_ms, net->cfg->backoff_max_ms);
	return p;
}

/* Close every conn of p at once, the session too (a link loss), without a word to the peer. */
static void
drop_conns(struct peer *p, const char *why)
{
	tests_forget(p);
	for (struct conn *c = p->net->conns; c; c = c->next)
		if (c->peer == p && !c->closing)
			conn_close(c, why);
	p->dialing = NULL;
}

static void
peer_drop(struct hl_net *net, struct peer *p)
{
	tests_forget(p);
	for (struct conn *c = net->conns; c; c = c->next) {
		if (c->peer != p)
			continue;
		if (p->current == c) {
			log_warn("link_down", "peer=%s reason=peer_removed", p->name);
			p->current = NULL;
			conn_say_goodbye(c, HL_CLOSE_UNPINNED, "peer_removed");
		}
		if (p->dialing == c)
			p->dialing = NULL;
		conn_close(c, "peer_removed");
		c->peer = NULL;
	}
	hl_deliver_free(p->dl);
	hl_ckpt_free(p->ck);
	free(p);
}

int
hl_net_set_peers(struct hl_net *net, const struct hl_peer_rec *recs, size_t n)
{
	/* an array of pointers */
	struct peer **np = calloc(n ? n : 1, sizeof *np); /* NOLINT(bugprone-sizeof-expression) */

	if (!np)
		return HL_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < net->npeers; j++) {
			struct peer *old = net->peers[j];
			if (old && old->id == recs[i].id && strcmp(old->name, recs[i].name) == 0 &&
			    memcmp(&old->key, &recs[i].key, sizeof old->key) == 0) {
				np[i] = old;
				net->peers[j] = NULL;
				peer_keys_set(old, &recs[i]);
				break;
			}
		}
		if (!np[i] && !(np[i] = peer_new(net, &recs[i]))) {
			for (size_t k = 0; k < i; k++)
				hl_deliver_free(np[k]->dl), hl_ckpt_free(np[k]->ck), free(np[k]);
			free(np);
			return HL_ERR_NOMEM;
		}
		/* Addresses may have changed: take the new list. */
		np[i]->naddr = recs[i].nlinks;
		for (size_t k = recs[i].nlinks; k < HL_LINKS_MAX; k++)
			np[i]->addrs[k].test_id = 0; /* its test session closes on the next tick */
		for (size_t k = 0; k < recs[i].nlinks; k++)
			if (strcmp(np[i]->addrs[k].addr, recs[i].links[k]) != 0) {
				memset(&np[i]->addrs[k], 0, sizeof np[i]->addrs[k]);
				snprintf(np[i]->addrs[k].addr, HL_ADDR_MAX, "%s", recs[i].links[k]);
				np[i]->addrs[k].test_next_ms =
				    hl_now_ms() + first_test_ms(net->cfg);
			}
	}
	for (size_t j = 0; j < net->npeers; j++)
		if (net->peers[j]) {
			log_info("peer_removed", "peer=%s", net->peers[j]->name);
			peer_drop(net, net->peers[j]);
		}
	free(net->peers);
	net->peers = np;
	net->npeers = n;
	return HL_OK;
}

/* ---- start, status, stop ---- */

static void
net_job(struct hl_net *net, struct hl_job *j)
{
	if (net->q)
		hl_storeq_submit(net->q, j);
	else
		hl_job_free(j);
}

/* The peer's KEY event is stored: its new key is accepted beside the pinned one from now on. */
static void
key_announced(struct hl_net *net, const struct hl_job *job)
{
	struct hl_rotation r;
	char neu[48];

	if (hl_rotation_decode(job->ev.body, job->ev.body_len, &r) < 0)
		return;
	for (size_t i = 0; i < net->npeers; i++) {
		struct peer *p = net->peers[i];
		if (p->id != job->peer_id)
			continue;
		memcpy(p->next.x25519, r.new_x25519, 32);
		memcpy(p->next.ed25519, r.new_ed25519, 32);
		p->has_next = true;
		p->next_ns = hl_wall_ns();
		hl_x25519_b64(r.new_x25519, neu);
		log_info("peer_key_announced", "peer=%s new_x25519=%s seq=%llu", p->name, neu,
		         (unsigned long long)job->ev.seq);
	}
}

/* A store job finished: hand it to its peer's deliver, if the peer is still pinned. */
static void
job_done(void *ctx, struct hl_job *job)
{
	struct hl_net *net = ctx;

	if (job && job->rc == HL_ERR_DISK && !net->disk_failed) {
		net->disk_failed = true;
		if (net->hooks.disk_failed)
			net->hooks.disk_failed(net->hooks.ctx);
	}
	if (job && job->kind == HL_JOB_LINK_TEST) {
		test_job_done(net, job);
		return;
	}
	if (job && (job->kind == HL_JOB_CKPT_VIEW || job->kind == HL_JOB_CKPT_ANSWER ||
	            job->kind == HL_JOB_CKPT_SAVE)) {
		for (size_t i = 0; i < net->npeers; i++)
			if (net->peers[i]->id == job->peer_id)
				hl_ckpt_job_done(net->peers[i]->ck, job);
		hl_job_free(job);
		return;
	}
	if (job && (job->kind == HL_JOB_PEER_KEY || job->kind == HL_JOB_ROTATED)) {
		if (job->rc < 0) /* the next start or proof repeats it */
			log_error("key_not_recorded", "job=%d peer_id=%lld err=\"%s\"",
			          (int)job->kind, (long long)job->peer_id, hl_strerror(job->rc));
		hl_job_free(job);
		return;
	}
	if (job && job->kind == HL_JOB_RECEIVE && job->rc == HL_OK && job->outcome == HL_RECV_NEW &&
	    job->ev.kind == HL_EV_KEY)
		key_announced(net, job);
	if (job &&
	    (job->kind == HL_JOB_APPEND || job->kind == HL_JOB_ACK || job->kind == HL_JOB_ROTATE)) {
		/* Our own new event: send it now, then tell whoever asked. */
		for (size_t i = 0; job->rc == HL_OK && i < net->npeers; i++) {
			if (job->kind == HL_JOB_APPEND && net->peers[i]->id == job->peer_id)
				hl_deliver_appended(net->peers[i]->dl, job);
			else if ((job->kind == HL_JOB_ACK &&
			          strcmp(net->peers[i]->name, job->peer) == 0) ||
			         job->kind == HL_JOB_ROTATE)
				hl_deliver_poke(net->peers[i]->dl);
		}
		if (net->hooks.job_done)
			net->hooks.job_done(net->hooks.ctx, job);
		else
			hl_job_free(job);
		return;
	}
	for (size_t i = 0; i < net->npeers; i++) {
		if (!job) {
			hl_deliver_done(net->peers[i]->dl, NULL);
		} else if (net->peers[i]->id == job->peer_id) {
			if (job->rc == HL_OK && net->hooks.marked &&
			    (job->kind == HL_JOB_SENT ||
			     (job->kind == HL_JOB_RECEIPT &&
			      !job->keep_only) || /* (marked in jobs) */
			     job->kind == HL_JOB_REFUSED))
				net->hooks.marked(net->hooks.ctx, net->peers[i]->name, job);
			hl_deliver_done(net->peers[i]->dl, job);
			return;
		}
	}
	hl_job_free(job);
}

void
hl_net_set_hooks(struct hl_net *net, const struct hl_net_hooks *hooks)
{
	net->hooks = *hooks;
}

int
hl_net_submit(struct hl_net *net, struct hl_job *job)
{
	if (!net->q)
		return HL_ERR_CLOSED;
	hl_storeq_submit(net->q, job);
	return HL_OK;
}

int
hl_net_peer_id(struct hl_net *net, const char *name, int64_t *id)
{
	for (size_t i = 0; i < net->npeers; i++)
		if (strcmp(net->peers[i]->name, name) == 0) {
			*id = net->peers[i]->id;
			return HL_OK;
		}
	return HL_ERR_NOTFOUND;
}

void
hl_net_set_codebook(struct hl_net *net, const struct hl_codebook *cb)
{
	net->codebook = cb;
	for (size_t i = 0; i < net->npeers; i++)
		hl_deliver_set_codebook(net->peers[i]->dl, cb);
}

int
hl_net_checkpoint(struct hl_net *net, const char *peer, void *waiter)
{
	for (size_t i = 0; i < net->npeers; i++)
		if (strcmp(net->peers[i]->name, peer) == 0)
			return hl_ckpt_start(net->peers[i]->ck, waiter);
	return HL_ERR_NOTFOUND;
}

const char *
hl_net_peer_name(struct hl_net *net, int64_t id)
{
	for (size_t i = 0; i < net->npeers; i++)
		if (net->peers[i]->id == id)
			return net->peers[i]->name;
	return "?";
}

void
hl_net_wait(struct hl_net *net, int64_t peer_id, uint64_t seq, void *waiter)
{
	for (size_t i = 0; i < net->npeers; i++)
		if (net->peers[i]->id == peer_id)
			hl_deliver_wait(net->peers[i]->dl, seq, waiter);
}

void
hl_net_poke(struct hl_net *net)
{
	for (size_t i = 0; i < net->npeers; i++)
		hl_deliver_poke(net->peers[i]->dl);
}

/* Our earlier tests, from the store: status shows them before this run has tested. */
static void
tests_load(struct hl_net *net, const char *store_path)
{
	struct hl_store *st = NULL;
	char err[256] = "";

	if (hl_store_open(store_path, false, &st, err, sizeof err) < 0) {
		log_warn("link_tests_not_loaded", "err=\"%s\"", err);
		return;
	}
	for (size_t i = 0; i < net->npeers; i++) {
		struct peer *p = net->peers[i];
		for (size_t k = 0; k < p->naddr; k++) {
			struct addr_state *a = &p->addrs[k];
			if (hl_store_link_test_last(st, p->id, HL_DIR_OUT, a->addr, &a->last_test,
			                            &a->last_test_ok_ns) < 0)
				log_warn("link_tests_not_loaded", "peer=%s link=%s", p->name,
				         a->addr);
		}
	}
	hl_store_close(st);
}

int
hl_net_listen(const struct hl_config *cfg, int *fd_out, char *err, size_t errcap)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
	char host[HL_ADDR_MAX], port[8];
	uint16_t portnum;
	int rc, fd, one = 1;

	*fd_out = -1;
	if (hl_addr_split(cfg->listen, host, sizeof host, &portnum, true) < 0) {
		snprintf(err, errcap, "listen address %s is not HOST:PORT", cfg->listen);
		return HL_ERR_INVAL;
	}
	snprintf(port, sizeof port, "%u", portnum);
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errcap, "cannot resolve listen address %s: %s", cfg->listen,
		         gai_strerror(rc));
		return HL_ERR_INVAL;
	}
	/* As uv_tcp_bind does: SO_REUSEADDR, so a restart does not wait out TIME_WAIT. */
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0) {
		snprintf(err, errcap, "cannot listen on %s: %s", cfg->listen, uv_strerror(-errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return HL_ERR_IO;
	}
	freeaddrinfo(res);
	*fd_out = fd;
	return HL_OK;
}

int
hl_net_start(uv_loop_t *loop, const struct hl_config *cfg, const struct hl_identity *id,
             const char *store_path, const struct hl_peer_rec *peers, size_t npeers, int listen_fd,
             struct hl_net **out, char *err, size_t errcap)
{
	struct hl_net *net;
	int rc;

	*out = NULL;
	net = calloc(1, sizeof *net);
	if (!net) {
		close(listen_fd);
		return HL_ERR_NOMEM;
	}
	net->loop = loop;
	net->cfg = cfg;
	net->id = id;
	net->open_handles = 1; /* the net's own reference, dropped by hl_net_stop */
	uv_tcp_init(loop, &net->listener);
	net->listener.data = net;
	net->open_handles++;
	uv_timer_init(loop, &net->tick);
	net->tick.data = net;
	net->open_handles++;
	rc = uv_tcp_open(&net->listener, listen_fd);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&net->listener, 64, on_connection);
	else
		close(listen_fd);
	if (rc < 0) {
		snprintf(err, errcap, "cannot listen on %s: %s", cfg->listen, uv_strerror(rc));
		hl_net_stop(net);
		return HL_ERR_IO;
	}
	if ((rc = hl_storeq_start(loop, store_path, job_done, net, &net->q, err, errcap)) < 0) {
		hl_net_stop(net);
		return rc;
	}
	hl_storeq_set_self(net->q, cfg->name);
	if (hl_net_set_peers(net, peers, npeers) < 0) {
		snprintf(err, errcap, "out of memory");
		hl_net_stop(net);
		return HL_ERR_NOMEM;
	}
	tests_load(net, store_path);
	uv_timer_start(&net->tick, on_tick, 0, TICK_MS);
	log_info("listening", "address=%s peers=%zu", cfg->listen, npeers);
	*out = net;
	return HL_OK;
}

/* A link's "last_test" (docs/status.md). */
static json_t *
test_json(const struct hl_link_test_rec *t)
{
	char at[32];

	if (!t->at_ns)
		return json_null();
	hl_iso_time(t->at_ns, at);
	return json_pack("{s:s, s:b, s:o, s:o}", "at", at, "ok", t->ok, "rtt_ms",
	                 t->ok ? json_real((double)t->rtt_us / 1000.0) : json_null(), "error",
	                 t->ok ? json_null() : json_string(t->error));
}

/* Which codebook each side holds, and whether they agree (null: the peer has not said). */
static json_t *
codebook_status(const struct hl_codebook *cb, const struct peer *p)
{
	char hex[65];

	sodium_bin2hex(hex, sizeof hex, p->peer_cb_hash, 32);
	return json_pack(
	    "{s:o, s:o, s:o, s:o, s:o}", "ours", cb ? json_string(cb->hash_hex) : json_null(),
	    "ours_version", cb ? json_string(cb->version) : json_null(), "peer",
	    p->peer_cb_known ? json_string(hex) : json_null(), "peer_version",
	    p->peer_cb_known ? json_string(p->peer_cb_version) : json_null(), "agreed",
	    p->peer_cb_known ? json_boolean(cb && sodium_memcmp(cb->hash, p->peer_cb_hash, 32) == 0)
	                     : json_null());
}

/* A peer's "keys" (docs/status.md): the pinned key, an announced one, a revocation. */
static json_t *
peer_keys_json(const struct peer *p)
{
	struct hl_peer_rec r = {0};

	r.key = p->key;
	r.key_since_ns = p->key_since_ns;
	r.has_next = p->has_next;
	r.next = p->next;
	r.next_ns = p->next_ns;
	r.revoked_ns = p->revoked_ns;
	snprintf(r.revoked_reason, sizeof r.revoked_reason, "%s", p->revoked_reason);
	return hl_peer_keys_json(&r);
}

json_t *
hl_net_status(struct hl_net *net)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < net->npeers; i++) {
		struct peer *p = net->peers[i];
		struct conn *c = p->current;
		json_t *links = json_array(), *o;
		bool any_down = false;
		char via[HL_ADDR_MAX + 48];

		for (size_t k = 0; k < p->naddr; k++) {
			struct addr_state *a = &p->addrs[k];
			bool in_use = c && c->kind == CONN_DIAL && (size_t)c->addr_idx == k;
			const char *st = in_use      ? "up"
			                 : !a->known ? "unknown"
			                 : a->ok     ? "up"
			                             : "down";
			if (!strcmp(st, "down"))
				any_down = true;
			json_array_append_new(
			    links,
			    json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:o}", "address", a->addr,
			              "state", st, "in_use", in_use, "last_error",
			              a->last_error[0] ? json_string(a->last_error) : json_null(),
			              "last_ok",
			              hl_json_time(in_use ? hl_wall_ns() : a->last_ok_ns),
			              "last_test", test_json(&a->last_test), "last_successful_test",
			              hl_json_time(a->last_test_ok_ns)));
		}
		session_path(c, via, sizeof via);
		o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "name", p->name, "state",
		              !c         ? "down"
		              : any_down ? "degraded"
		                         : "up",
		              "link", c ? json_string(via) : json_null(), "direction",
		              c ? json_string(c->kind == CONN_DIAL ? "outbound" : "inbound")
		                : json_null(),
		              "rtt_ms", c && p->have_rtt ? json_real(p->rtt_ms) : json_null(),
		              "last_contact", hl_json_time(p->last_rx_ns), "up_since",
		              hl_json_time(p->up_since_ns), "links", links);
		json_object_set_new(o, "codebook", codebook_status(net->codebook, p));
		json_object_set_new(o, "keys", peer_keys_json(p));
		json_object_set_new(o, "rekeys",
		                    c ? json_pack("{s:I, s:I}", "ours", (json_int_t)p->rekeys,
		                                  "peer", (json_int_t)p->peer_rekeys)
		                      : json_null());
		if (p->revoked_ns)
			json_object_set_new(o, "state", json_string("revoked"));
		json_object_set_new(o, "clock_offset_ms",
		                    p->clock_at_ns ? json_real(p->clock_offset_ms) : json_null());
		json_object_set_new(o, "clock_measured", hl_json_time(p->clock_at_ns));
		json_array_append_new(arr, o);
	}
	return arr;
}

void
hl_net_identity_changed(struct hl_net *net)
{
	for (size_t i = 0; i < net->npeers; i++) {
		struct peer *p = net->peers[i];
		tests_forget(p);
		if (p->current)
			conn_say_goodbye(p->current, HL_CLOSE_RENEW, "key_rotated");
		p->next_dial_ms = hl_now_ms(); /* at once: the peers are waiting for the new key */
	}
	for (struct conn *c = net->conns; c; c = c->next)
		if (!c->closing)
			conn_close(c, "key_rotated");
	for (size_t i = 0; i < net->npeers; i++)
		net->peers[i]->dialing = NULL;
}

json_t *
hl_net_metrics(struct hl_net *net)
{
	json_t *tests = json_array();

	for (size_t i = 0; tests && i < net->npeers; i++)
		for (size_t k = 0; k < net->peers[i]->naddr; k++) {
			const struct addr_state *a = &net->peers[i]->addrs[k];
			json_array_append_new(
			    tests, json_pack("{s:s, s:s, s:I, s:I}", "peer", net->peers[i]->name,
			                     "link", a->addr, "ok", (json_int_t)a->tests_ok,
			                     "failed", (json_int_t)a->tests_failed));
		}
	return json_pack("{s:{s:I, s:I, s:I, s:I}, s:o}", "handshake_failures", "unpinned_key",
	                 (json_int_t)net->hs_unpinned, "replayed", (json_int_t)net->hs_replayed,
	                 "timeout", (json_int_t)net->hs_timeout, "error", (json_int_t)net->hs_error,
	                 "link_tests", tests);
}

static void
net_unref(struct hl_net *net)
{
	if (--net->open_handles == 0) {
		free(net->peers);
		free(net);
	}
}

static void
on_net_handle_closed(uv_handle_t *h)
{
	net_unref(h->data);
}

/* The last act of a stop: whatever did not close in time is closed now. */
static void
on_stop_tick(uv_timer_t *t)
{
	struct hl_net *net = t->data;

	if (net->conns && hl_now_ms() - net->stop_ms < 1000)
		return;
	for (struct conn *c = net->conns; c; c = c->next)
		force_close(c);
	uv_timer_stop(t);
	uv_close((uv_handle_t *)&net->tick, on_net_handle_closed);
	net_unref(net);
}

void
hl_net_stop(struct hl_net *net)
{
	if (net->stopping)
		return;
	net->stopping = true;
	uv_timer_stop(&net->tick);
	for (size_t i = 0; i < net->npeers; i++)
		tests_forget(net->peers[i]); /* our own stop is no failure of a link */
	for (size_t i = 0; i < net->npeers; i++)
		if (net->peers[i]->current) {
			/* Sign what is on the wire now: the peer can then vouch for all of it. */
			hl_deliver_stopping(net->peers[i]->dl);
			conn_say_goodbye(net->peers[i]->current, HL_CLOSE_SHUTDOWN, "shutdown");
		}
	for (struct conn *c = net->conns; c; c = c->next)
		conn_close(c, "shutdown");
	if (net->q)
		hl_storeq_stop(net->q); /* runs what is queued: "sent" marks are not lost */
	net->q = NULL;
	for (size_t i = 0; i < net->npeers; i++) {
		for (struct conn *c = net->conns; c; c = c->next)
			if (c->peer == net->peers[i])
				c->peer = NULL;
		hl_deliver_free(net->peers[i]->dl);
		hl_ckpt_free(net->peers[i]->ck);
		free(net->peers[i]);
	}
	net->npeers = 0;
	/* Conns still shutting down get a grace period, then the close timer ends them. */
	for (struct conn *c = net->conns; c; c = c->next)
		if (c->sess->state != HL_SS_ESTABLISHED)
			force_close(c);
	net->stop_ms = hl_now_ms();
	uv_timer_start(&net->tick, on_stop_tick, 10, 10);
	uv_close((uv_handle_t *)&net->listener, on_net_handle_closed);
}
