/* SPDX-License-Identifier: ISC */
/* deliver.c: outbound scheduling and inbound reassembly for one peer; see deliver.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "content.h"
#include "deliver.h"
#include "log.h"
#include "trace.h"
#include "wire.h"

#define BACKLOG_MAX 65536 /* bytes queued on the socket before we stop and wait */
#define PARTIALS_MAX 8    /* events being reassembled at once (one per precedence is normal) */
#define HEAD_EVERY 1024   /* sign the chain head at least this often while sending */
#define HEAD_MIN_MS 200   /* and, when the queue drains, at most this often (hl_deliver_tick) */
#define LOAD_PAGE 256     /* events read at once: a page is taken in by the loop in one go */
/*
 * Flow window: ROUTINE and PRIORITY bytes on the wire without a receipt,
 * at most about twice what the line delivers in its fastest round trip
 * (bandwidth x delay, measured from the receipts), within these bounds
 * (at least enough for the peer to gather a full batch).
 * Beyond it they wait here, not in the sockets, so that a FLASH message
 * finds at most a round trip's worth of traffic ahead of it in the pipe
 * and in the peer's store queue.
 */
#define WINDOW_MIN (1u << 20)
#define WINDOW_MAX (32u << 20)
#define RATE_TICKS 10         /* the delivery rate is the best of the last 10 ticks (1 s) */
#define RTT_KEEP_US 10000000u /* the fastest round trip is the best of the last 10 s */
#define SENT_JOB 32           /* "sent" marks per store job: urgent work waits for one job */
#define MARK_JOB 32           /* "delivered" marks per store job, likewise */
/*
 * "sent" is written only for what still waits for its receipt a tick or two
 * (100-200 ms) after it went out: most receipts come sooner, and the
 * receipt's own write then records both (one row write instead of two).
 */
#define TAKE_BACK_MAX ((size_t)64 << 20) /* bytes of our returned events held at once */
#define RESYNC_WAIT_MS 10000 /* our events the peer holds but does not give back: an error */

struct item {
	struct hl_event ev;
	uint8_t hash[HL_HASH_LEN];
	uint8_t *body;
	uint32_t offset;  /* body bytes sent in this session */
	bool sent;        /* all of it on the wire in this session */
	uint64_t sent_ns; /* when it was, wall clock */
	uint64_t sent_us; /* ... on the monotonic clock, for the round trip */
	uint32_t wire;    /* bytes of it counted in the flow window */
	bool done;        /* receipted or refused: gone from the queue */
};

struct partial {
	bool used;
	struct hl_event ev;
	crypto_generichash_state hs;
	uint8_t *body; /* NULL when the event exceeds our limit: hashed, not kept */
	uint32_t got;
};

struct hl_deliver {
	int64_t peer_id;
	char name[HL_NAME_MAX + 1];
	const struct hl_identity *id;
	const uint8_t *peer_ed;
	uint32_t max_bytes;
	const struct hl_codebook *codebook;
	struct hl_storeq *q;
	struct hl_deliver_io io;
	bool up;
	uint64_t up_ns;        /* when this session came up (wall clock) */
	uint64_t gen;          /* bumped at every up and down; stale loads are ignored */
	unsigned peer_version; /* from the peer's HELLO in this session; 0: not heard yet */

	/* outbound: pointers sorted by seq */
	struct item **items;
	size_t n, cap, ndone;
	size_t cursor[HL_PREC_COUNT];
	uint64_t max_loaded; /* the load cursor: pages continue after this seq */
	bool more;           /* the store holds more pending events past it */
	size_t unsent;       /* items with something left to send in this session */
	size_t urgent_out;   /* non-ROUTINE items on the wire, waiting for their receipt */
	uint64_t top_seq;    /* the highest event queued: the chain head we sign */
	uint8_t top_hash[HL_HASH_LEN];
	/* the highest event below the queue, receipted, whose item compact() freed: signable */
	uint64_t floor_seq;
	uint8_t floor_hash[HL_HASH_LEN];
	bool loading, load_again;
	struct mark {
		uint64_t seq, at_ns;
	} * marks; /* "sent" marks not written yet, oldest first */
	size_t nmarks, marks_cap;
	size_t nold; /* the first nold of them are a tick old or more */
	uint64_t sent_since_head;
	uint64_t last_head_ms; /* heads go out at most every HEAD_MIN_MS while idle */
	/* the flow window (WINDOW_MIN) */
	size_t inflight, window;
	uint64_t receipted;         /* bytes receipted since the last tick */
	uint64_t rates[RATE_TICKS]; /* bytes receipted per tick, the last RATE_TICKS */
	unsigned rate_at;
	uint64_t min_rtt_us, min_rtt_at; /* the fastest round trip lately, and when */

	/* inbound */
	struct partial partials[PARTIALS_MAX];
	/*
	 * Receipts of urgent events, signed while the store commits them
	 * (the signature costs as much as a fast disk's fsync): sent the
	 * moment the commit returns, and only then.
	 */
	struct presigned {
		bool used;
		uint64_t seq, gen;
		uint8_t hash[HL_HASH_LEN];
		size_t len;
		uint8_t body[2 + 40 + HL_SIG_LEN]; /* a RECEIPT of one entry */
	} pre[PARTIALS_MAX];
	struct hl_receipt_entry *receipts;
	size_t nreceipts, receipts_cap;

	/* re-synchronisation at link-up (docs/reliability.md): SYNC, RETURN, RETURN_HEAD */
	bool sync_asked;    /* our SYNC is being prepared or was sent, this session */
	bool sync_heard;    /* the peer's SYNC came, this session */
	uint64_t peer_held; /* it said: it holds our chain whole up to here */
	uint64_t own_top;   /* our chain's last seq, as our SYNC said (or taken back since) */
	uint64_t resync_ms; /* when the peer's SYNC showed we lack our own events (0: we do not) */
	uint64_t resync_ms_first; /* ... the first time this session (said once) */
	bool resync_warned;
	bool own_known; /* own_top is set: our SYNC view came back */
	uint8_t own_top_hash[HL_HASH_LEN];
	/* our events it already answered, sent again because it lacks them */
	bool ans_pending, ans_more, ans_loading;
	uint64_t ans_after;
	/* its own events, given back to it: a page, and the heads of its that vouch for them */
	struct hl_event_row *rq;
	size_t nrq, rq_i;
	uint32_t rq_off;
	struct hl_head_rec *rh;
	size_t nrh, rh_i;
	uint64_t rq_after;
	bool rq_active, rq_more, rq_loading;
	/* ours, given back by the peer: the one in reassembly, then those waiting for our head */
	struct partial back;
	struct hl_event_row *tb;
	size_t ntb, captb, tb_bytes;
	bool tb_failed;

	/* control clients waiting for a receipt */
	struct waiter {
		uint64_t seq;
		void *who;
	} * waiters;
	size_t nwaiters, waiters_cap;

	uint8_t buf[HL_FRAME_BODY_MAX];
};

struct hl_deliver *
hl_deliver_new(int64_t peer_id, const char *peer_name, const struct hl_identity *id,
               const uint8_t peer_ed25519[static 32], uint32_t max_message_bytes,
               struct hl_storeq *q, struct hl_deliver_io io)
{
	struct hl_deliver *d = calloc(1, sizeof *d);

	if (!d)
		return NULL;
	d->peer_id = peer_id;
	snprintf(d->name, sizeof d->name, "%s", peer_name);
	d->id = id;
	d->peer_ed = peer_ed25519;
	d->max_bytes = max_message_bytes;
	d->q = q;
	d->io = io;
	d->window = WINDOW_MIN;
	return d;
}

static void
clear_items(struct hl_deliver *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i]->body);
		free(d->items[i]);
	}
	d->n = d->ndone = 0;
	memset(d->cursor, 0, sizeof d->cursor);
	d->floor_seq = 0;
	d->max_loaded = 0;
	d->more = false;
	d->unsent = 0;
	d->urgent_out = 0;
	d->inflight = 0;
}

static void
clear_partials(struct hl_deliver *d)
{
	for (size_t i = 0; i < PARTIALS_MAX; i++) {
		free(d->partials[i].body);
		memset(&d->partials[i], 0, sizeof d->partials[i]);
		d->pre[i].used = false;
	}
}

/* Forget this session's re-synchronisation (what was committed of it stays). */
static void
clear_resync(struct hl_deliver *d)
{
	hl_event_rows_free(d->rq, d->nrq);
	free(d->rh);
	hl_event_rows_free(d->tb, d->ntb);
	free(d->back.body);
	d->rq = NULL;
	d->rh = NULL;
	d->tb = NULL;
	d->nrq = d->rq_i = d->nrh = d->rh_i = d->ntb = d->captb = d->tb_bytes = 0;
	d->rq_off = 0;
	d->rq_after = d->ans_after = d->peer_held = d->own_top = d->resync_ms = 0;
	d->resync_ms_first = 0;
	d->rq_active = d->rq_more = d->rq_loading = false;
	d->ans_pending = d->ans_more = d->ans_loading = false;
	d->sync_asked = d->sync_heard = d->tb_failed = d->resync_warned = d->own_known = false;
	memset(&d->back, 0, sizeof d->back);
}

void
hl_deliver_free(struct hl_deliver *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nwaiters; i++)
		d->io.settled(d->io.ctx, d->waiters[i].who, d->waiters[i].seq,
		              "no receipt yet: the station stopped or the peer was removed");
	clear_items(d);
	clear_partials(d);
	clear_resync(d);
	free(d->items);
	free(d->marks);
	free(d->receipts);
	free(d->waiters);
	free(d);
}

void
hl_deliver_wait(struct hl_deliver *d, uint64_t seq, void *waiter)
{
	if (d->nwaiters == d->waiters_cap) {
		size_t ncap = d->waiters_cap ? d->waiters_cap * 2 : 8;
		struct waiter *nv = realloc(d->waiters, ncap * sizeof *nv);
		if (!nv) {
			d->io.settled(d->io.ctx, waiter, seq, "out of memory");
			return;
		}
		d->waiters = nv;
		d->waiters_cap = ncap;
	}
	d->waiters[d->nwaiters].seq = seq;
	d->waiters[d->nwaiters].who = waiter;
	d->nwaiters++;
}

static void
settle(struct hl_deliver *d, uint64_t seq, const char *reason)
{
	for (size_t i = 0; i < d->nwaiters;) {
		if (d->waiters[i].seq == seq) {
			d->io.settled(d->io.ctx, d->waiters[i].who, seq, reason);
			d->waiters[i] = d->waiters[--d->nwaiters];
		} else {
			i++;
		}
	}
}

static void
submit_load(struct hl_deliver *d)
{
	struct hl_job *j;

	if (d->loading) {
		d->load_again = true;
		return;
	}
	j = hl_job_new(HL_JOB_LOAD, d->peer_id);
	if (!j)
		return;
	j->after = d->max_loaded;
	j->limit = LOAD_PAGE;
	j->tag = d->gen;
	d->loading = true;
	d->load_again = false;
	hl_storeq_submit(d->q, j);
}

static struct item *find_item(struct hl_deliver *d, uint64_t seq);

/* Write the first n "sent" marks, of the events that still wait for their receipt. */
static void
flush_sent(struct hl_deliver *d, size_t n)
{
	size_t keep = 0;

	for (size_t i = 0; i < n; i++) {
		struct item *it = find_item(d, d->marks[i].seq);
		if (it && !it->done)
			d->marks[keep++] = d->marks[i];
	}
	/*
	 * In jobs of at most SENT_JOB marks: the store thread commits between
	 * jobs, so one huge job would hold an urgent commit back behind it.
	 */
	for (size_t off = 0; off < keep; off += SENT_JOB) {
		size_t k = keep - off < SENT_JOB ? keep - off : SENT_JOB;
		struct hl_job *j = hl_job_new(HL_JOB_SENT, d->peer_id);
		if (!j || !(j->seqs = malloc(k * sizeof *j->seqs)) ||
		    !(j->times = malloc(k * sizeof *j->times))) {
			hl_job_free(j);
			break; /* the marks are cosmetic: "queued" until the receipt */
		}
		for (size_t i = 0; i < k; i++) {
			j->seqs[i] = d->marks[off + i].seq;
			j->times[i] = d->marks[off + i].at_ns;
		}
		j->nseqs = k;
		hl_storeq_submit(d->q, j);
	}
	if (n == 0)
		return;
	memmove(d->marks, d->marks + n, (d->nmarks - n) * sizeof *d->marks);
	d->nmarks -= n;
	d->nold = d->nold > n ? d->nold - n : 0;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
note_sent(struct hl_deliver *d, struct item *it)
{
	it->sent_ns = hl_wall_ns();
	it->sent_us = now_us();
	if (d->nmarks == d->marks_cap) {
		size_t ncap = d->marks_cap ? d->marks_cap * 2 : 64;
		struct mark *nv = realloc(d->marks, ncap * sizeof *nv);
		if (!nv)
			return; /* the state stays "queued" in the store: cosmetic, not a loss */
		d->marks = nv;
		d->marks_cap = ncap;
	}
	d->marks[d->nmarks].seq = it->ev.seq;
	d->marks[d->nmarks].at_ns = it->sent_ns;
	d->nmarks++;
}

/* The window's measures: the fastest round trip, the bytes delivered. */
static void
window_sample(struct hl_deliver *d, const struct item *it)
{
	uint64_t now = now_us(), rtt = now - it->sent_us;

	if (!d->min_rtt_us || rtt < d->min_rtt_us || now - d->min_rtt_at > RTT_KEEP_US) {
		d->min_rtt_us = rtt ? rtt : 1;
		d->min_rtt_at = now;
	}
	d->receipted += it->ev.body_len;
}

/* Once a tick: window = 2 x best rate x fastest round trip, within bounds. */
static void
window_tick(struct hl_deliver *d)
{
	uint64_t best = 0, w;

	d->rates[d->rate_at++ % RATE_TICKS] = d->receipted;
	d->receipted = 0;
	for (unsigned i = 0; i < RATE_TICKS; i++)
		if (d->rates[i] > best)
			best = d->rates[i];
	/* best bytes per 100 ms tick; rtt in us: bytes in one rtt = best * rtt / 100000 */
	w = 2 * best * d->min_rtt_us / 100000u;
	d->window = w < WINDOW_MIN ? WINDOW_MIN : w > WINDOW_MAX ? WINDOW_MAX : (size_t)w;
}

void
hl_deliver_set_codebook(struct hl_deliver *d, const struct hl_codebook *cb)
{
	d->codebook = cb;
}

void
hl_deliver_set_peer_version(struct hl_deliver *d, unsigned version)
{
	bool was = d->peer_version >= HL_WIRE_VERSION_KEYS;

	d->peer_version = version;
	if (!was && version >= HL_WIRE_VERSION_KEYS) {
		memset(d->cursor, 0, sizeof d->cursor); /* pick() must see what it held back */
		hl_deliver_pump(d);
	}
}

void
hl_deliver_up(struct hl_deliver *d)
{
	flush_sent(d, d->nmarks); /* a session replaced: what went out on the old one */
	d->up = true;
	d->peer_version = 0;
	d->up_ns = hl_wall_ns();
	d->gen++;
	clear_items(d);
	clear_partials(d);
	clear_resync(d);
	d->loading = false;
	submit_load(d);
}

void
hl_deliver_down(struct hl_deliver *d)
{
	d->up = false;
	d->gen++;
	flush_sent(d, d->nmarks);
	clear_partials(d);
	clear_resync(d);
	d->nreceipts = 0;
	d->unsent = 0;
	d->urgent_out = 0;
	d->inflight = 0;
	for (size_t i = 0; i < d->n; i++) {
		d->items[i]->offset = 0;
		d->items[i]->sent = false;
		d->items[i]->wire = 0;
		d->unsent += !d->items[i]->done;
	}
	memset(d->cursor, 0, sizeof d->cursor);
}

void
hl_deliver_poke(struct hl_deliver *d)
{
	submit_load(d);
}

/* Make room for one more item pointer. */
static bool
reserve(struct hl_deliver *d, size_t more)
{
	size_t ncap = d->cap ? d->cap : 64;
	struct item **nv;

	if (d->n + more <= d->cap)
		return true;
	while (ncap < d->n + more)
		ncap *= 2;
	/* an array of pointers: sizeof *nv is a pointer's size */
	if (!(nv = realloc(d->items, ncap * sizeof *nv))) /* NOLINT(bugprone-sizeof-expression) */
		return false;
	d->items = nv;
	d->cap = ncap;
	return true;
}

/*
 * Queue an event (taking its body) in seq order, unless it is queued
 * already; false when it was not taken.
 */
static bool
insert_item(struct hl_deliver *d, const struct hl_event *ev, const uint8_t hash[static HL_HASH_LEN],
            uint8_t *body)
{
	struct item *it;
	size_t at = d->n;

	if (find_item(d, ev->seq) || !reserve(d, 1) || !(it = calloc(1, sizeof *it)))
		return false;
	it->ev = *ev;
	it->body = body;
	it->ev.body = body;
	memcpy(it->hash, hash, HL_HASH_LEN);
	while (at > 0 && d->items[at - 1]->ev.seq > ev->seq)
		at--;
	memmove(d->items + at + 1, d->items + at,
	        (d->n - at) * sizeof *d->items); /* NOLINT(bugprone-sizeof-expression): pointers */
	d->items[at] = it;
	d->n++;
	d->unsent++;
	for (unsigned p = 0; p < HL_PREC_COUNT; p++)
		if (d->cursor[p] > at)
			d->cursor[p] = at; /* pick() must see it */
	if (ev->seq > d->top_seq) {
		d->top_seq = ev->seq;
		memcpy(d->top_hash, hash, HL_HASH_LEN);
	}
	return true;
}

void
hl_deliver_appended(struct hl_deliver *d, struct hl_job *j)
{
	/* While a session is up, a new event goes out at once, loads or no loads. */
	if (!d->up) {
		submit_load(d);
		return;
	}
	if (insert_item(d, &j->ev, j->hash, j->body)) {
		j->body = NULL; /* the item owns it now */
		j->ev.body = NULL;
	}
	hl_deliver_pump(d);
}

/* A KEY or TALKS event waits until the peer has said it knows the kind (its HELLO). */
static bool
held_back(const struct hl_deliver *d, const struct item *it)
{
	return (it->ev.kind == HL_EV_KEY || it->ev.kind == HL_EV_TALKS) &&
	       d->peer_version < HL_WIRE_VERSION_KEYS;
}

/*
 * The most urgent item with something left to send, or NULL. A cursor
 * moves past what is sent or done, never past an item held back.
 */
static struct item *
pick(struct hl_deliver *d)
{
	for (unsigned p = 0; p < HL_PREC_COUNT; p++) {
		size_t *c = &d->cursor[p];
		bool moving = true;
		for (size_t i = *c; i < d->n; i++) {
			struct item *it = d->items[i];
			if (it->ev.precedence == p && !it->sent && !it->done) {
				if (!held_back(d, it))
					return it;
				moving = false;
			}
			if (moving)
				*c = i + 1;
		}
	}
	return NULL;
}

static void
send_head(struct hl_deliver *d, bool drained)
{
	size_t len = 0;
	uint64_t now = hl_now_ms();

	if (d->sent_since_head == 0 || d->top_seq == 0)
		return;
	if (drained && now < d->last_head_ms + HEAD_MIN_MS)
		return; /* hl_deliver_tick sends it soon: one head for a burst, not one per message
		         */
	/*
	 * Vouch only for what the peer can hold: the chain up to the last event
	 * before the first one not yet wholly on the wire (events below the
	 * queue were receipted before). A head over events still queued would
	 * let the record show "seq N missing" under a signed head.
	 */
	const struct item *last = NULL;
	const uint8_t *hash = NULL;
	uint64_t seq = 0;
	for (size_t i = 0; i < d->n && (d->items[i]->sent || d->items[i]->done); i++)
		last = d->items[i];
	if (last) {
		seq = last->ev.seq;
		hash = last->hash;
	} else if (d->floor_seq && (!d->n || d->floor_seq < d->items[0]->ev.seq)) {
		/* Receipts came before this (deferred) head, and compact() freed their items. */
		seq = d->floor_seq;
		hash = d->floor_hash;
	}
	if (!seq)
		return;
	d->last_head_ms = now;
	if (hl_head_encode(seq, hash, d->id->ed25519_sk, d->id->pub.ed25519, d->peer_ed, d->buf,
	                   sizeof d->buf, &len) == 0 &&
	    d->io.send(d->io.ctx, HL_FT_HEAD, d->buf, len) == 0)
		d->sent_since_head = seq == d->top_seq ? 0 : 1;
}

static void send_returns(struct hl_deliver *d);
static void submit_answered(struct hl_deliver *d);
static void compare_tops(struct hl_deliver *d);

void
hl_deliver_pump(struct hl_deliver *d)
{
	/* Read the next page before this one runs dry. */
	if (d->up && d->more && !d->loading && d->unsent < LOAD_PAGE / 2)
		submit_load(d);
	/* What the peer lacks of its own chain goes first: it is the older part of the record. */
	send_returns(d);
	if (d->up && d->ans_more && !d->ans_loading && !d->rq_active && d->unsent < LOAD_PAGE / 2)
		submit_answered(d);
	if (!d->up)
		return;
	d->io.cork(d->io.ctx, true);
	while (d->up && d->io.backlog(d->io.ctx) < BACKLOG_MAX) {
		struct item *it = pick(d);
		size_t len = 0;
		uint32_t taken = 0;

		if (!it) {
			/* Everything loaded is on the wire: vouch for the chain so far. */
			send_head(d, true);
			break;
		}
		/*
		 * While an urgent event waits for its receipt, ROUTINE traffic
		 * waits too: it would only add to the commits (and fsyncs) the
		 * urgent one queues behind, on both sides.
		 */
		if (it->ev.precedence == HL_PREC_ROUTINE && d->urgent_out > 0)
			break;
		bool windowed = it->ev.precedence >= HL_PREC_PRIORITY;
		if (windowed && it->offset == 0 && d->inflight >= d->window)
			break; /* the receipts open it again (one begun goes on: its receipt is due)
			        */
		if (hl_data_encode(&it->ev, it->offset, d->buf, sizeof d->buf, &len, &taken) < 0 ||
		    d->io.send(d->io.ctx, HL_FT_DATA, d->buf, len) < 0)
			break;
		if (it->ev.precedence == HL_PREC_FLASH && it->offset == 0)
			HL_TRACE_POINT("deliver: FLASH frame out");
		it->offset += taken;
		if (windowed) {
			it->wire += (uint32_t)len;
			d->inflight += len;
		}
		if (it->offset >= it->ev.body_len) {
			it->sent = true;
			d->unsent--;
			d->urgent_out += it->ev.precedence < HL_PREC_ROUTINE;
			note_sent(d, it);
			/* A notice is signed by the head that covers it: at once, not in a while.
			 */
			if (++d->sent_since_head >= HEAD_EVERY || it->ev.kind >= HL_EV_SUSPEND)
				send_head(d, false);
		}
	}
	d->io.cork(d->io.ctx, false);
}

void
hl_deliver_stopping(struct hl_deliver *d)
{
	if (d->up)
		send_head(d, false);
}

void
hl_deliver_tick(struct hl_deliver *d)
{
	/* Marks a tick old whose receipt has not come: written now. */
	flush_sent(d, d->nold);
	d->nold = d->nmarks;
	window_tick(d);
	if (d->up && !pick(d))
		send_head(d, true);
	if (d->up && d->resync_ms && !d->resync_warned &&
	    hl_now_ms() > d->resync_ms + RESYNC_WAIT_MS) {
		d->resync_warned = true;
		log_error(
		    "resync_incomplete",
		    "peer=%s ours_to=%llu it_holds_ours_to=%llu why=\"it holds events of our "
		    "chain that it does not give back under a head we signed: new events to it "
		    "stay refused while the store is marked restored; compare records with its "
		    "operators (verify --against)\"",
		    d->name, (unsigned long long)d->own_top, (unsigned long long)d->peer_held);
	}
}

static struct item *
find_item(struct hl_deliver *d, uint64_t seq)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->items[mid]->ev.seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->n && d->items[lo]->ev.seq == seq ? d->items[lo] : NULL;
}

/*
 * Drop finished items once they are half the queue; cursors restart (they
 * skip sent ones). Only those below the first item not done go, the last
 * of them the floor a head may name (send_head). A finished item past an
 * unfinished one (a FLASH receipted before an earlier ROUTINE) stays, its
 * body freed, until it is below too: dropped sooner, no head would ever
 * name it, the floor stopping short of it for good.
 */
static void
compact(struct hl_deliver *d)
{
	size_t k = 0;

	if (d->ndone < 64 || d->ndone * 2 < d->n)
		return;
	while (k < d->n && d->items[k]->done)
		k++;
	if (k && d->items[k - 1]->ev.seq > d->floor_seq) {
		d->floor_seq = d->items[k - 1]->ev.seq;
		memcpy(d->floor_hash, d->items[k - 1]->hash, HL_HASH_LEN);
	}
	for (size_t i = 0; i < d->n; i++) {
		struct item *it = d->items[i];
		if (!it->done)
			continue;
		free(it->body);
		it->body = NULL;
		it->ev.body = NULL;
		if (i < k)
			free(it);
	}
	/* an array of pointers: sizeof *d->items is a pointer's size */
	memmove(d->items, d->items + k,
	        (d->n - k) * sizeof *d->items); /* NOLINT(bugprone-sizeof-expression) */
	d->n -= k;
	d->ndone -= k;
	memset(d->cursor, 0, sizeof d->cursor);
}

static void
finish_item(struct hl_deliver *d, struct item *it, const char *refusal)
{
	if (it && !it->done) {
		it->done = true;
		d->ndone++;
		if (it->wire) {
			d->inflight -= it->wire < d->inflight ? it->wire : d->inflight;
			it->wire = 0;
			if (it->sent)
				window_sample(d, it);
		}
		if (it->sent && it->ev.precedence < HL_PREC_ROUTINE && d->urgent_out > 0 &&
		    --d->urgent_out == 0)
			hl_deliver_pump(d); /* ROUTINE traffic may go on */
		if (d->nwaiters)
			settle(d, it->ev.seq, refusal);
	}
}

/* ---- re-synchronisation (docs/reliability.md, docs/protocol.md) ---- */

static void
submit_answered(struct hl_deliver *d)
{
	struct hl_job *j = hl_job_new(HL_JOB_ANSWERED, d->peer_id);

	if (!j)
		return;
	j->after = d->ans_after;
	j->limit = LOAD_PAGE;
	j->tag = d->gen;
	d->ans_loading = true;
	d->ans_more = false;
	hl_storeq_submit(d->q, j);
}

static void
submit_returns(struct hl_deliver *d)
{
	struct hl_job *j = hl_job_new(HL_JOB_RETURN_LOAD, d->peer_id);

	if (!j)
		return;
	j->after = d->rq_after;
	j->limit = LOAD_PAGE;
	j->tag = d->gen;
	d->rq_loading = true;
	hl_storeq_submit(d->q, j);
}

/* The returns are all out: now our answered events the peer lacks, if any. */
static void
returns_done(struct hl_deliver *d)
{
	d->rq_active = false;
	if (d->ans_pending) {
		d->ans_pending = false;
		submit_answered(d);
	}
}

/*
 * The peer's own events it lacks, back to it, chunk by chunk like DATA,
 * each signed head of its own right after the event it names.
 */
static void
send_returns(struct hl_deliver *d)
{
	while (d->up && d->rq_active && d->io.backlog(d->io.ctx) < BACKLOG_MAX) {
		struct hl_event_row *r;
		size_t len = 0;
		uint32_t taken = 0;

		if (d->rq_i == d->nrq) {
			if (d->rq_more && !d->rq_loading)
				submit_returns(d);
			else if (!d->rq_loading)
				returns_done(d);
			return;
		}
		r = &d->rq[d->rq_i];
		if (hl_data_encode(&r->ev, d->rq_off, d->buf, sizeof d->buf, &len, &taken) < 0 ||
		    d->io.send(d->io.ctx, HL_FT_RETURN, d->buf, len) < 0)
			return;
		d->rq_off += taken;
		if (d->rq_off < r->ev.body_len)
			continue;
		while (d->rh_i < d->nrh && d->rh[d->rh_i].seq < r->ev.seq)
			d->rh_i++;
		if (d->rh_i < d->nrh && d->rh[d->rh_i].seq == r->ev.seq) {
			const struct hl_head_rec *h = &d->rh[d->rh_i++];
			hl_put_u64(d->buf, h->seq);
			memcpy(d->buf + 8, h->hash, HL_HASH_LEN);
			memcpy(d->buf + 8 + HL_HASH_LEN, h->sig, HL_SIG_LEN);
			if (d->io.send(d->io.ctx, HL_FT_RETURN_HEAD, d->buf,
			               8 + HL_HASH_LEN + HL_SIG_LEN) < 0)
				return;
		}
		d->rq_i++;
		d->rq_off = 0;
	}
}

void
hl_deliver_sync_offer(struct hl_deliver *d)
{
	struct hl_job *j;

	if (!d->up || d->sync_asked)
		return;
	if (!(j = hl_job_new(HL_JOB_SYNC_VIEW, d->peer_id)))
		return;
	j->tag = d->gen;
	d->sync_asked = true;
	hl_storeq_submit(d->q, j);
}

static void
sync_viewed(struct hl_deliver *d, struct hl_job *j)
{
	size_t len = 0;

	if (j->tag != d->gen || !d->up)
		return;
	if (j->rc < 0) {
		log_error("store_failed", "peer=%s job=sync_view err=\"%s\"", d->name,
		          hl_strerror(j->rc));
		return;
	}
	d->own_top = j->sync.top;
	memcpy(d->own_top_hash, j->sync.top_hash, HL_HASH_LEN);
	d->own_known = true;
	compare_tops(d);
	if (hl_sync_encode(&j->sync, d->buf, sizeof d->buf, &len) == 0)
		(void)d->io.send(d->io.ctx, HL_FT_SYNC, d->buf, len);
	log_debug("sync_sent", "peer=%s holds_theirs_to=%llu ours_to=%llu", d->name,
	          (unsigned long long)j->sync.held, (unsigned long long)j->sync.top);
}

static void caught_up(struct hl_deliver *d);

/* Both SYNCs known: does the peer hold ours past what we have? Then we wait to take them back. */
static void
compare_tops(struct hl_deliver *d)
{
	size_t len = 0;

	if (!d->sync_heard || !d->own_known)
		return;
	/*
	 * It holds our whole chain: sign its head now. What was delivered in a
	 * session that ended before its head went out (a crash, a power cut)
	 * would otherwise stay unsigned until our next event.
	 */
	if (d->own_top && d->own_top <= d->peer_held &&
	    hl_head_encode(d->own_top, d->own_top_hash, d->id->ed25519_sk, d->id->pub.ed25519,
	                   d->peer_ed, d->buf, sizeof d->buf, &len) == 0)
		(void)d->io.send(d->io.ctx, HL_FT_HEAD, d->buf, len);
	if (d->own_top >= d->peer_held) {
		caught_up(d);
	} else if (!d->resync_ms) {
		if (!d->resync_ms_first)
			log_warn("resync_behind", "peer=%s ours_to=%llu it_holds_ours_to=%llu",
			         d->name, (unsigned long long)d->own_top,
			         (unsigned long long)d->peer_held);
		d->resync_ms = d->resync_ms_first = hl_now_ms();
	}
}

/* Our chain is whole again with this peer: a restored store may add to it. */
static void
caught_up(struct hl_deliver *d)
{
	struct hl_job *j = hl_job_new(HL_JOB_RESTORED_DONE, d->peer_id);

	d->resync_ms = 0;
	if (!j)
		return;
	snprintf(j->peer, sizeof j->peer, "%s", d->name);
	hl_storeq_submit(d->q, j);
}

static int
on_sync(struct hl_deliver *d, const uint8_t *body, size_t len)
{
	struct hl_sync s;

	if (hl_sync_decode(body, len, &s) < 0 || d->sync_heard)
		return HL_ERR_PROTO; /* once per session */
	d->sync_heard = true;
	hl_deliver_sync_offer(d); /* a responder learns here that the peer speaks SYNC */
	d->peer_held = s.held;
	log_debug("sync_heard", "peer=%s holds_ours_to=%llu theirs_to=%llu", d->name,
	          (unsigned long long)s.held, (unsigned long long)s.top);
	/* It lacks ours past s.held that it answered once: they go again, after its own. */
	d->ans_after = s.held;
	d->ans_pending = true;
	/* Its own past s.top that we hold go back to it first (if a head of its covers them). */
	d->rq_after = s.top;
	d->rq_active = true;
	submit_returns(d);
	compare_tops(d);
	return HL_OK;
}

static void
returns_loaded(struct hl_deliver *d, struct hl_job *j)
{
	d->rq_loading = false;
	if (j->tag != d->gen || !d->up)
		return;
	if (j->rc < 0) {
		log_error("store_load_failed", "peer=%s job=return err=\"%s\"", d->name,
		          hl_strerror(j->rc));
		returns_done(d);
		return;
	}
	hl_event_rows_free(d->rq, d->nrq);
	free(d->rh);
	d->rq = j->rows;
	d->nrq = j->nrows;
	d->rh = j->heads;
	d->nrh = j->nheads;
	j->rows = NULL;
	j->nrows = 0;
	j->heads = NULL;
	d->rq_i = d->rh_i = 0;
	d->rq_off = 0;
	d->rq_more = j->more;
	if (d->nrq) { /* (j->nrows is 0 now: the rows are d's) */
		log_info("resync_giving_back", "peer=%s seqs=%llu-%llu%s", d->name,
		         (unsigned long long)d->rq[0].ev.seq,
		         (unsigned long long)d->rq[d->nrq - 1].ev.seq, d->rq_more ? "+" : "");
		d->rq_after = j->page_end;
	}
	hl_deliver_pump(d);
	if (!d->nrq && !d->rq_more)
		returns_done(d);
}

static void
answered_loaded(struct hl_deliver *d, struct hl_job *j)
{
	d->ans_loading = false;
	if (j->tag != d->gen || !d->up)
		return;
	if (j->rc < 0) {
		log_error("store_load_failed", "peer=%s job=answered err=\"%s\"", d->name,
		          hl_strerror(j->rc));
		return;
	}
	/*
	 * The event right after what it holds whole was answered by it once: it
	 * lost it (a restored backup, a damaged store). Past a gap, an event is
	 * only ahead of one still in flight (sent again, a duplicate there).
	 */
	const struct hl_event_row *r0 = j->nrows && j->rows ? &j->rows[0] : NULL;
	uint64_t answered = r0 ? (r0->delivered_ns ? r0->delivered_ns
	                          : r0->refused_ns ? r0->refused_ns
	                                           : r0->acked_ns)
	                       : 0;
	/* (answered in this very session: it was on its way while the peer's SYNC was) */
	if (r0 && j->after == d->peer_held && r0->ev.seq == d->peer_held + 1 && answered &&
	    answered < d->up_ns)
		log_warn("resync_peer_lacks",
		         "peer=%s seq=%llu why=\"it answered it once and no longer holds it\"",
		         d->name, (unsigned long long)r0->ev.seq);
	if (r0)
		log_info("resync_sending_again", "peer=%s seqs=%llu-%llu%s", d->name,
		         (unsigned long long)r0->ev.seq,
		         (unsigned long long)j->rows[j->nrows - 1].ev.seq, j->more ? "+" : "");
	for (size_t i = 0; r0 && i < j->nrows; i++) {
		struct hl_event_row *r = &j->rows[i];
		if (insert_item(d, &r->ev, r->hash, r->body))
			r->body = NULL;
	}
	d->ans_after = j->page_end;
	d->ans_more = j->more;
	hl_deliver_pump(d);
}

/* A chunk of one of our events that the peer gives back: reassembled, then held. */
static int
on_return(struct hl_deliver *d, const uint8_t *body, size_t len)
{
	struct partial *p = &d->back;
	struct hl_event hdr;
	const uint8_t *chunk;
	size_t clen;
	uint64_t seq;
	uint32_t offset;

	if (hl_data_decode(body, len, &seq, &offset, &hdr, &chunk, &clen) < 0)
		return HL_ERR_PROTO;
	if (d->tb_failed)
		return HL_OK;
	if (offset == 0) {
		free(p->body);
		memset(p, 0, sizeof *p);
		p->used = true;
		p->ev = hdr;
		if (!(p->body = malloc(hdr.body_len ? hdr.body_len : 1)))
			return HL_ERR_NOMEM;
		hl_event_hash_begin(&p->hs, &p->ev);
	} else if (!p->used || p->ev.seq != seq || p->got != offset) {
		return HL_ERR_PROTO;
	}
	if (clen > p->ev.body_len - p->got)
		return HL_ERR_PROTO;
	hl_event_hash_update(&p->hs, chunk, clen);
	if (clen)
		memcpy(p->body + p->got, chunk, clen);
	p->got += (uint32_t)clen;
	if (p->got < p->ev.body_len)
		return HL_OK;
	if (d->ntb == d->captb) {
		size_t ncap = d->captb ? d->captb * 2 : 64;
		struct hl_event_row *nv = realloc(d->tb, ncap * sizeof *nv);
		if (!nv)
			return HL_ERR_NOMEM;
		d->tb = nv;
		d->captb = ncap;
	}
	struct hl_event_row *r = &d->tb[d->ntb++];
	memset(r, 0, sizeof *r);
	r->ev = p->ev;
	r->body = p->body;
	r->ev.body = p->body;
	hl_event_hash_final(&p->hs, r->hash);
	hl_event_id(r->hash, r->msg_id);
	d->tb_bytes += p->ev.body_len + sizeof *r;
	memset(p, 0, sizeof *p);
	if (d->tb_bytes > TAKE_BACK_MAX) {
		log_error("resync_refused",
		          "peer=%s why=\"more than %zu MiB of our events between two of our heads: "
		          "not taken back\"",
		          d->name, TAKE_BACK_MAX >> 20);
		d->tb_failed = true;
		hl_event_rows_free(d->tb, d->ntb);
		d->tb = NULL;
		d->ntb = d->captb = d->tb_bytes = 0;
	}
	return HL_OK;
}

/*
 * A head we signed, given back after the events it covers: the events held
 * since the last one must chain up to it exactly; then they are ours.
 */
static int
on_return_head(struct hl_deliver *d, const uint8_t *body, size_t len)
{
	uint8_t hash[HL_HASH_LEN];
	const uint8_t *sig;
	const char *why = NULL;
	struct hl_job *j;
	uint64_t seq;

	if (d->tb_failed)
		return HL_OK;
	if (hl_head_decode(body, len, d->id->pub.ed25519, d->peer_ed, &seq, hash, &sig) < 0)
		why = "the head given back is not one this station signed";
	else if (!d->ntb || d->tb[d->ntb - 1].ev.seq != seq ||
	         sodium_memcmp(d->tb[d->ntb - 1].hash, hash, HL_HASH_LEN) != 0)
		why = "the events given back do not end at the head we signed";
	for (size_t i = 1; !why && i < d->ntb; i++)
		if (d->tb[i].ev.seq != d->tb[i - 1].ev.seq + 1 ||
		    sodium_memcmp(d->tb[i].ev.prev, d->tb[i - 1].hash, HL_HASH_LEN) != 0)
			why = "the events given back do not form a chain";
	if (why) {
		log_error("resync_refused", "peer=%s seq=%llu why=\"%s\"", d->name,
		          (unsigned long long)seq, why);
		d->tb_failed = true;
		hl_event_rows_free(d->tb, d->ntb);
		d->tb = NULL;
		d->ntb = d->captb = d->tb_bytes = 0;
		return HL_OK;
	}
	if (!(j = hl_job_new(HL_JOB_TAKE_BACK, d->peer_id)))
		return HL_ERR_NOMEM;
	j->rows = d->tb;
	j->nrows = d->ntb;
	j->tag = d->gen;
	d->tb = NULL;
	d->ntb = d->captb = d->tb_bytes = 0;
	hl_storeq_submit(d->q, j);
	return HL_OK;
}

static void
taken_back(struct hl_deliver *d, struct hl_job *j)
{
	uint64_t a = j->nrows ? j->rows[0].ev.seq : 0,
	         b = j->nrows ? j->rows[j->nrows - 1].ev.seq : 0;

	if (j->rc < 0) {
		log_error("resync_refused", "peer=%s seqs=%llu-%llu why=\"%s\"", d->name,
		          (unsigned long long)a, (unsigned long long)b,
		          j->rc == HL_ERR_CORRUPT
		              ? "they do not go on from our chain as it ends here"
		              : hl_strerror(j->rc));
		return;
	}
	log_info("resync_taken_back", "peer=%s seqs=%llu-%llu", d->name, (unsigned long long)a,
	         (unsigned long long)b);
	if (j->tag == d->gen && b > d->own_top) {
		d->own_top = b;
		memcpy(d->own_top_hash, j->rows[j->nrows - 1].hash, HL_HASH_LEN);
		d->resync_ms = 0; /* progress */
		compare_tops(d);
	}
	submit_load(d); /* they go to the peer again, for its receipts */
}

/* ---- inbound ---- */

/* Sign the receipt of an urgent event now, while the store commits it. */
static void
presign_receipt(struct hl_deliver *d, const struct hl_receipt_entry *e)
{
	struct presigned *ps = &d->pre[0];

	for (size_t i = 0; i < PARTIALS_MAX; i++)
		if (!d->pre[i].used || d->pre[i].gen != d->gen) {
			ps = &d->pre[i];
			break;
		}
	/* (all in use: the first is overwritten; its receipt then goes the batched way) */
	if (hl_receipt_encode(e, 1, d->id->ed25519_sk, d->id->pub.ed25519, d->peer_ed, ps->body,
	                      sizeof ps->body, &ps->len) < 0) {
		ps->used = false;
		return;
	}
	ps->used = true;
	ps->seq = e->seq;
	ps->gen = d->gen;
	memcpy(ps->hash, e->hash, HL_HASH_LEN);
}

/*
 * The event (seq, hash) is committed: its presigned receipt goes now when
 * it is accepted (true), or is dropped; false: it had none, or it could not
 * be sent (it then goes in the batch's receipt).
 */
static bool
send_presigned(struct hl_deliver *d, uint64_t seq, const uint8_t hash[static HL_HASH_LEN],
               bool accepted)
{
	for (size_t i = 0; i < PARTIALS_MAX; i++) {
		struct presigned *ps = &d->pre[i];
		if (ps->used && ps->gen == d->gen && ps->seq == seq &&
		    memcmp(ps->hash, hash, HL_HASH_LEN) == 0) {
			ps->used = false;
			HL_TRACE_POINT("deliver: presigned receipt out");
			return accepted && d->up &&
			       d->io.send(d->io.ctx, HL_FT_RECEIPT, ps->body, ps->len) == 0;
		}
	}
	return false;
}

static int
on_data(struct hl_deliver *d, const uint8_t *body, size_t len)
{
	struct hl_event hdr;
	const uint8_t *chunk;
	size_t clen;
	uint64_t seq;
	uint32_t offset;
	struct partial *p = NULL;

	if (hl_data_decode(body, len, &seq, &offset, &hdr, &chunk, &clen) < 0)
		return HL_ERR_PROTO;
	if (hdr.precedence == HL_PREC_FLASH && offset == 0)
		HL_TRACE_POINT("deliver: FLASH frame in");
	for (size_t i = 0; i < PARTIALS_MAX; i++)
		if (d->partials[i].used && d->partials[i].ev.seq == seq)
			p = &d->partials[i];
	if (offset == 0) {
		if (p) { /* restarted: forget the first attempt */
			free(p->body);
			memset(p, 0, sizeof *p);
		}
		for (size_t i = 0; !p && i < PARTIALS_MAX; i++)
			if (!d->partials[i].used)
				p = &d->partials[i];
		if (!p)
			return HL_ERR_PROTO; /* more interleaved events than any sender needs */
		p->used = true;
		p->ev = hdr;
		p->got = 0;
		if (hdr.body_len <= d->max_bytes) {
			p->body = malloc(hdr.body_len ? hdr.body_len : 1);
			if (!p->body)
				return HL_ERR_NOMEM;
		}
		hl_event_hash_begin(&p->hs, &p->ev);
	} else if (!p || p->got != offset) {
		return HL_ERR_PROTO; /* chunks of one event come in order */
	}
	if (clen > p->ev.body_len - p->got)
		return HL_ERR_PROTO;
	hl_event_hash_update(&p->hs, chunk, clen);
	if (p->body && clen)
		memcpy(p->body + p->got, chunk, clen);
	p->got += (uint32_t)clen;
	if (p->got < p->ev.body_len)
		return HL_OK;

	/* Complete: the store thread commits it, then we answer. */
	struct hl_job *j = hl_job_new(HL_JOB_RECEIVE, d->peer_id);
	if (!j)
		return HL_ERR_NOMEM;
	hl_event_hash_final(&p->hs, j->hash);
	j->ev = p->ev;
	if (p->body) {
		j->body = p->body;
		j->ev.body = p->body;
		if (p->ev.kind == HL_EV_MESSAGE && !p->ev.media_type[0] &&
		    !hl_utf8_valid(p->body, p->ev.body_len))
			snprintf(j->reason, sizeof j->reason,
			         "the text is not valid UTF-8: send it as an attachment");
		hl_content_check(&j->ev, d->codebook, j->reason);
		hl_field_clean(j->reason); /* it may quote the peer's bytes */
	} else {
		snprintf(j->reason, sizeof j->reason,
		         "message of %u bytes exceeds this station's limit of %u bytes",
		         p->ev.body_len, d->max_bytes);
		j->ev.body = NULL;
		j->ev.body_len = 0; /* not kept; its hash is */
	}
	j->tag = d->gen;
	memset(p, 0, sizeof *p);
	j->reason_given = j->reason[0] != '\0';
	bool presign = j->ev.precedence <= HL_PREC_IMMEDIATE && !j->reason_given;
	struct hl_receipt_entry e = {.seq = j->ev.seq};
	memcpy(e.hash, j->hash, HL_HASH_LEN);
	hl_storeq_submit(d->q, j); /* j is the store thread's now */
	if (presign)
		presign_receipt(d, &e);
	return HL_OK;
}

static void
flush_receipts(struct hl_deliver *d)
{
	size_t off = 0;

	while (d->up && off < d->nreceipts) {
		size_t n = d->nreceipts - off, len = 0;
		if (n > HL_RECEIPT_MAX)
			n = HL_RECEIPT_MAX;
		if (hl_receipt_encode(d->receipts + off, n, d->id->ed25519_sk, d->id->pub.ed25519,
		                      d->peer_ed, d->buf, sizeof d->buf, &len) < 0 ||
		    d->io.send(d->io.ctx, HL_FT_RECEIPT, d->buf, len) < 0)
			break;
		off += n;
	}
	d->nreceipts = 0;
}

static void
add_receipt(struct hl_deliver *d, uint64_t seq, const uint8_t hash[static HL_HASH_LEN])
{
	if (d->nreceipts == d->receipts_cap) {
		size_t ncap = d->receipts_cap ? d->receipts_cap * 2 : 64;
		struct hl_receipt_entry *nv = realloc(d->receipts, ncap * sizeof *nv);
		if (!nv)
			return; /* no receipt now: the sender retransmits, we answer then */
		d->receipts = nv;
		d->receipts_cap = ncap;
	}
	d->receipts[d->nreceipts].seq = seq;
	memcpy(d->receipts[d->nreceipts].hash, hash, HL_HASH_LEN);
	d->nreceipts++;
}

static void
send_refusal(struct hl_deliver *d, uint64_t seq, const uint8_t hash[static HL_HASH_LEN],
             const char *reason)
{
	size_t len = 0;
	char clean[HL_REASON_MAX + 1];

	snprintf(clean, sizeof clean, "%s", reason);
	hl_field_clean(clean); /* a reason quoting the peer's bytes must still be one valid line */
	reason = clean;
	if (d->up && hl_refuse_encode(seq, hash, reason, d->id->ed25519_sk, d->id->pub.ed25519,
	                              d->peer_ed, d->buf, sizeof d->buf, &len) == 0)
		(void)d->io.send(d->io.ctx, HL_FT_REFUSE, d->buf, len);
}

static int
on_receipt(struct hl_deliver *d, const uint8_t *body, size_t len)
{
	const uint8_t *entries, *sig;
	struct hl_job *j;
	size_t n;

	HL_TRACE_POINT("deliver: receipt in");
	if (hl_receipt_decode(body, len, d->peer_ed, d->id->pub.ed25519, &n, &entries, &sig) < 0)
		return HL_ERR_PROTO;
	uint64_t at_ns = hl_wall_ns(); /* "delivered" is now, not when the store gets to it */
	/* The receipt as signed, kept whole (after its marks: the queue keeps the order). */
	j = hl_job_new(HL_JOB_RECEIPT, d->peer_id);
	if (!j || !(j->entries = calloc(n, sizeof *j->entries)) ||
	    !(j->times = calloc(n, sizeof *j->times))) {
		hl_job_free(j);
		return HL_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct item *it;
		hl_receipt_entry_get(entries, i, &j->entries[i]);
		it = find_item(d, j->entries[i].seq);
		if (it && sodium_memcmp(it->hash, j->entries[i].hash, HL_HASH_LEN) == 0) {
			j->times[i] = it->sent_ns;
			finish_item(d, it, NULL);
		}
	}
	j->nentries = n;
	memcpy(j->sig, sig, HL_SIG_LEN);
	/*
	 * The delivered marks, in jobs of at most MARK_JOB: the store thread
	 * lets urgent work in between jobs, and a receipt of 512 marks is
	 * milliseconds of work.
	 */
	for (size_t off = 0; off < n; off += MARK_JOB) {
		size_t k = n - off < MARK_JOB ? n - off : MARK_JOB;
		struct hl_job *m = hl_job_new(HL_JOB_RECEIPT, d->peer_id);
		if (!m || !(m->entries = malloc(k * sizeof *m->entries)) ||
		    !(m->times = malloc(k * sizeof *m->times))) {
			hl_job_free(m);
			hl_job_free(j);
			return HL_ERR_NOMEM;
		}
		memcpy(m->entries, j->entries + off, k * sizeof *m->entries);
		memcpy(m->times, j->times + off, k * sizeof *m->times);
		m->nentries = k;
		m->at_ns = at_ns;
		memcpy(m->sig, sig, HL_SIG_LEN);
		hl_storeq_submit(d->q, m);
	}
	j->keep_only = true;
	hl_storeq_submit(d->q, j);
	compact(d);
	if (d->inflight < d->window)
		hl_deliver_pump(d); /* the window opened */
	return HL_OK;
}

static int
on_refuse(struct hl_deliver *d, const uint8_t *body, size_t len)
{
	struct hl_job *j = hl_job_new(HL_JOB_REFUSED, d->peer_id);
	const uint8_t *sig;
	struct item *it;

	if (!j)
		return HL_ERR_NOMEM;
	if (hl_refuse_decode(body, len, d->peer_ed, d->id->pub.ed25519, &j->seq, j->hash, j->reason,
	                     &sig) < 0) {
		hl_job_free(j);
		return HL_ERR_PROTO;
	}
	memcpy(j->sig, sig, HL_SIG_LEN);
	j->at_ns = hl_wall_ns();
	it = find_item(d, j->seq);
	if (it && sodium_memcmp(it->hash, j->hash, HL_HASH_LEN) == 0) {
		j->sent_ns = it->sent_ns;
		finish_item(d, it, j->reason);
	}
	log_warn("refused_by_peer", "peer=%s seq=%llu reason=\"%s\"", d->name,
	         (unsigned long long)j->seq, j->reason);
	hl_storeq_submit(d->q, j);
	return HL_OK;
}

static int
on_head(struct hl_deliver *d, const uint8_t *body, size_t len)
{
	struct hl_job *j = hl_job_new(HL_JOB_HEAD, d->peer_id);
	const uint8_t *sig;

	if (!j)
		return HL_ERR_NOMEM;
	if (hl_head_decode(body, len, d->peer_ed, d->id->pub.ed25519, &j->seq, j->hash, &sig) < 0) {
		hl_job_free(j);
		return HL_ERR_PROTO;
	}
	memcpy(j->sig, sig, HL_SIG_LEN);
	hl_storeq_submit(d->q, j);
	return HL_OK;
}

int
hl_deliver_frame(struct hl_deliver *d, uint8_t type, const uint8_t *body, size_t len)
{
	switch (type) {
	case HL_FT_DATA:
		return on_data(d, body, len);
	case HL_FT_RECEIPT:
		return on_receipt(d, body, len);
	case HL_FT_REFUSE:
		return on_refuse(d, body, len);
	case HL_FT_HEAD:
		return on_head(d, body, len);
	case HL_FT_SYNC:
		return on_sync(d, body, len);
	case HL_FT_RETURN:
		return on_return(d, body, len);
	case HL_FT_RETURN_HEAD:
		return on_return_head(d, body, len);
	default:
		return HL_ERR_PROTO;
	}
}

/* ---- store results ---- */

static void
loaded(struct hl_deliver *d, struct hl_job *j)
{
	d->loading = false;
	if (j->tag != d->gen || j->rc < 0) {
		if (j->rc < 0)
			log_error("store_load_failed", "peer=%s err=\"%s\"", d->name,
			          hl_strerror(j->rc));
		if (d->up)
			submit_load(d); /* a newer session wants its own load */
		return;
	}
	for (size_t i = 0; i < j->nrows; i++) {
		struct hl_event_row *r = &j->rows[i];
		if (insert_item(d, &r->ev, r->hash, r->body))
			r->body = NULL; /* the item owns it now */
	}
	if (j->page_end > d->max_loaded)
		d->max_loaded = j->page_end;
	d->more = j->more;
	if (d->load_again)
		submit_load(d);
	hl_deliver_pump(d);
}

void
hl_deliver_done(struct hl_deliver *d, struct hl_job *j)
{
	if (!j) {
		flush_receipts(d);
		return;
	}
	switch (j->kind) {
	case HL_JOB_LOAD:
		loaded(d, j);
		break;
	case HL_JOB_SYNC_VIEW:
		sync_viewed(d, j);
		break;
	case HL_JOB_ANSWERED:
		answered_loaded(d, j);
		break;
	case HL_JOB_RETURN_LOAD:
		returns_loaded(d, j);
		break;
	case HL_JOB_TAKE_BACK:
		taken_back(d, j);
		break;
	case HL_JOB_RECEIVE:
		if (j->rc == HL_ERR_CORRUPT) {
			log_error("chain_conflict",
			          "peer=%s seq=%llu what=\"the peer sent a different "
			          "event for a seq already stored\"",
			          d->name, (unsigned long long)j->ev.seq);
			d->io.drop(d->io.ctx, "chain_conflict");
		} else if (j->rc < 0) {
			/* Not stored, so no receipt: a new session makes the peer send it again. */
			log_error("store_failed", "peer=%s seq=%llu err=\"%s\"", d->name,
			          (unsigned long long)j->ev.seq, hl_strerror(j->rc));
			if (d->up)
				d->io.drop(d->io.ctx, "store_failed");
		} else {
			/* Stored: answer first (the sender waits), then tell the station. */
			bool first = j->outcome == HL_RECV_NEW || j->outcome == HL_RECV_REFUSED;
			bool refused =
			    j->outcome == HL_RECV_REFUSED || j->outcome == HL_RECV_REFUSED_AGAIN;
			/*
			 * A session gone: the retransmission gets the answer. A
			 * presigned receipt sent: it is on its way.
			 */
			if (j->tag == d->gen && !send_presigned(d, j->ev.seq, j->hash, !refused)) {
				if (refused)
					send_refusal(d, j->ev.seq, j->hash, j->reason);
				else
					add_receipt(d, j->ev.seq, j->hash);
			}
			if (first && d->io.received)
				d->io.received(d->io.ctx, j);
			if (first)
				log_info("received", "peer=%s seq=%llu kind=%s precedence=%s%s",
				         d->name, (unsigned long long)j->ev.seq,
				         hl_kind_name(j->ev.kind), hl_prec_name(j->ev.precedence),
				         refused ? " refused=1" : "");
		}
		break;
	default:
		if (j->rc < 0) {
			log_error("store_failed", "peer=%s job=%d err=\"%s\"", d->name,
			          (int)j->kind, hl_strerror(j->rc));
			/* A receipt we could not record: a new session brings it again. */
			if (d->up && (j->kind == HL_JOB_RECEIPT || j->kind == HL_JOB_REFUSED))
				d->io.drop(d->io.ctx, "store_failed");
		}
		break;
	}
	hl_job_free(j);
}
