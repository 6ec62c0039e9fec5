/* SPDX-License-Identifier: ISC */
/*
 * store_export.c: the record with one peer, read row by row for the
 * transcript (docs/transcript.md, src/transcript.c). Read only. Every walk
 * steps one statement and hands each row to a callback, so an export of a
 * million events holds one row in memory at a time; the rows point into
 * SQLite's and are valid only during the callback. The caller wraps the
 * walks in hl_store_export_begin/end to see one snapshot.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_impl.h"

/* The callback of a walk, whichever kind of row it takes. */
struct cb {
	union {
		hl_export_event_fn *event;
		hl_export_head_fn *head;
		hl_export_receipt_fn *receipt;
		hl_export_refusal_fn *refusal;
		hl_export_checkpoint_fn *checkpoint;
	} fn;
	void *ctx;
};

int
hl_store_export_begin(struct hl_store *st)
{
	return hl_store_exec(st, "BEGIN DEFERRED");
}

void
hl_store_export_end(struct hl_store *st)
{
	hl_store_rollback(st); /* nothing was written: ending the snapshot is all it does */
}

/* The column's bytes when it holds exactly n of them, else zeros. */
static void
fixed(sqlite3_stmt *q, int col, uint8_t *out, size_t n)
{
	const void *b = sqlite3_column_blob(q, col);

	memset(out, 0, n);
	if (b && (size_t)sqlite3_column_bytes(q, col) == n)
		memcpy(out, b, n);
}

static void
text(sqlite3_stmt *q, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Step q to its end, calling row(q, cb) per row; then give q back. */
static int
walk(struct hl_store *st, sqlite3_stmt *q, int (*row)(sqlite3_stmt *, const struct cb *),
     const struct cb *cb)
{
	int s, rc = HL_OK;

	while ((s = sqlite3_step(q)) == SQLITE_ROW)
		if ((rc = row(q, cb)) != HL_OK)
			break;
	if (rc == HL_OK && s != SQLITE_DONE) {
		log_warn("store_error", "op=export err=\"%s\"", sqlite3_errmsg(st->db));
		rc = HL_ERR_IO;
	}
	hl_store_finish(st, q);
	return rc;
}

int
hl_store_export_first(struct hl_store *st, int64_t peer_id, enum hl_dir dir, uint64_t since_ns,
                      uint64_t *first)
{
	sqlite3_stmt *q;
	int rc;

	*first = 1;
	if (since_ns == 0)
		return HL_OK;
	/* Not by created_ns alone: clocks step back, and a chain is exported from a seq on. */
	if ((rc = hl_store_prepare(st,
	                           "SELECT coalesce((SELECT min(seq) FROM events WHERE peer_id = ?1"
	                           " AND dir = ?2 AND created_ns >= ?3),"
	                           " (SELECT coalesce(max(seq), 0) + 1 FROM events"
	                           " WHERE peer_id = ?1 AND dir = ?2))",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, (int)dir);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)since_ns);
	rc = sqlite3_step(q) == SQLITE_ROW ? HL_OK : HL_ERR_IO;
	if (rc == HL_OK)
		*first = (uint64_t)sqlite3_column_int64(q, 0);
	hl_store_finish(st, q);
	return rc;
}

#define EVENT_COLUMNS                                                                              \
	"SELECT e.peer_id, e.dir, e.state, e.msg_id, e.hash, e.seq, e.prev, e.kind, e.precedence," \
	" e.created_ns, e.deadline_ns, e.channel, e.media_type, e.operator, e.ref_seq,"            \
	" e.ref_hash, e.body, e.received_ns, e.sent_ns, e.delivered_ns, e.acked_ns, e.acked_by,"   \
	" e.reason FROM events e"

static int
event_row(sqlite3_stmt *q, const struct cb *cb)
{
	struct hl_event_row r;
	int blen;

	memset(&r, 0, sizeof r);
	r.peer_id = sqlite3_column_int64(q, 0);
	r.dir = sqlite3_column_int(q, 1);
	r.state = sqlite3_column_int(q, 2);
	text(q, 3, r.msg_id, sizeof r.msg_id);
	fixed(q, 4, r.hash, HL_HASH_LEN);
	r.ev.seq = (uint64_t)sqlite3_column_int64(q, 5);
	fixed(q, 6, r.ev.prev, HL_HASH_LEN);
	r.ev.kind = (uint8_t)sqlite3_column_int(q, 7);
	r.ev.precedence = (uint8_t)sqlite3_column_int(q, 8);
	r.ev.created_ns = (uint64_t)sqlite3_column_int64(q, 9);
	r.ev.deadline_ns = (uint64_t)sqlite3_column_int64(q, 10);
	text(q, 11, r.ev.channel, sizeof r.ev.channel);
	text(q, 12, r.ev.media_type, sizeof r.ev.media_type);
	text(q, 13, r.ev.operator_name, sizeof r.ev.operator_name);
	r.ev.ref_seq = (uint64_t)sqlite3_column_int64(q, 14);
	fixed(q, 15, r.ev.ref_hash, HL_HASH_LEN);
	r.ev.body = sqlite3_column_blob(q, 16);
	blen = sqlite3_column_bytes(q, 16);
	r.ev.body_len = (uint32_t)(blen > 0 ? blen : 0);
	r.received_ns = (uint64_t)sqlite3_column_int64(q, 17);
	r.sent_ns = (uint64_t)sqlite3_column_int64(q, 18);
	r.delivered_ns = (uint64_t)sqlite3_column_int64(q, 19);
	r.acked_ns = (uint64_t)sqlite3_column_int64(q, 20);
	text(q, 21, r.acked_by, sizeof r.acked_by);
	text(q, 22, r.reason, sizeof r.reason);
	return cb->fn.event(cb->ctx, &r);
}

int
hl_store_export_events(struct hl_store *st, int64_t peer_id, enum hl_dir dir, uint64_t first,
                       hl_export_event_fn *fn, void *ctx)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st,
	                           EVENT_COLUMNS " WHERE e.peer_id = ? AND e.dir = ? AND e.seq >= ?"
	                                         " ORDER BY e.seq",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, (int)dir);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)first);
	return walk(st, q, event_row, &(struct cb){.fn.event = fn, .ctx = ctx});
}

int
hl_store_export_timeline(struct hl_store *st, int64_t peer_id, uint64_t first_out,
                         uint64_t first_in, hl_export_event_fn *fn, void *ctx)
{
	sqlite3_stmt *q;
	int rc;

	/* SQLite's sorter spills to temporary files: no limit on the number of rows. */
	if ((rc = hl_store_prepare(st,
	                           EVENT_COLUMNS
	                           " WHERE e.peer_id = ?1 AND ((e.dir = 0 AND e.seq >= ?2)"
	                           " OR (e.dir = 1 AND e.seq >= ?3))"
	                           " ORDER BY e.created_ns, e.dir, e.seq",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)first_out);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)first_in);
	return walk(st, q, event_row, &(struct cb){.fn.event = fn, .ctx = ctx});
}

static int
head_row(sqlite3_stmt *q, const struct cb *cb)
{
	struct hl_export_head h;

	h.seq = (uint64_t)sqlite3_column_int64(q, 0);
	fixed(q, 1, h.hash, HL_HASH_LEN);
	fixed(q, 2, h.sig, HL_SIG_LEN);
	h.at_ns = (uint64_t)sqlite3_column_int64(q, 3);
	return cb->fn.head(cb->ctx, &h);
}

int
hl_store_export_heads(struct hl_store *st, int64_t peer_id, uint64_t min_seq, hl_export_head_fn *fn,
                      void *ctx)
{
	sqlite3_stmt *q;
	int rc;

	/* dir 1 only: the peer's word for its chain (what it signed is what a third party checks).
	 */
	if ((rc = hl_store_prepare(st,
	                           "SELECT seq, hash, sig, at_ns FROM heads WHERE peer_id = ?"
	                           " AND dir = 1 AND seq >= ? ORDER BY seq",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)min_seq);
	return walk(st, q, head_row, &(struct cb){.fn.head = fn, .ctx = ctx});
}

static int
receipt_row(sqlite3_stmt *q, const struct cb *cb)
{
	struct hl_export_receipt r;
	int len;

	r.at_ns = (uint64_t)sqlite3_column_int64(q, 0);
	r.entries = sqlite3_column_blob(q, 1);
	len = sqlite3_column_bytes(q, 1);
	r.n = len > 0 ? (size_t)len / 40 : 0;
	r.ragged = len > 0 && len % 40 != 0;
	fixed(q, 2, r.sig, HL_SIG_LEN);
	return cb->fn.receipt(cb->ctx, &r);
}

int
hl_store_export_receipts(struct hl_store *st, int64_t peer_id, hl_export_receipt_fn *fn, void *ctx)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st,
	                           "SELECT at_ns, entries, sig FROM receipts WHERE peer_id = ?"
	                           " ORDER BY rowid",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	return walk(st, q, receipt_row, &(struct cb){.fn.receipt = fn, .ctx = ctx});
}

static int
refusal_row(sqlite3_stmt *q, const struct cb *cb)
{
	struct hl_export_refusal r;
	const unsigned char *reason;

	r.seq = (uint64_t)sqlite3_column_int64(q, 0);
	fixed(q, 1, r.hash, HL_HASH_LEN);
	reason = sqlite3_column_text(q, 2);
	r.reason = reason ? (const char *)reason : "";
	fixed(q, 3, r.sig, HL_SIG_LEN);
	return cb->fn.refusal(cb->ctx, &r);
}

int
hl_store_export_refusals(struct hl_store *st, int64_t peer_id, uint64_t min_seq,
                         hl_export_refusal_fn *fn, void *ctx)
{
	sqlite3_stmt *q;
	int rc;

	/* state 4 on our chain: the peer refused it, and its signature is the event's proof. */
	if ((rc = hl_store_prepare(st,
	                           "SELECT seq, hash, reason, proof FROM events WHERE peer_id = ?"
	                           " AND dir = 0 AND state = 4 AND seq >= ? ORDER BY seq",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)min_seq);
	return walk(st, q, refusal_row, &(struct cb){.fn.refusal = fn, .ctx = ctx});
}

static int
checkpoint_row(sqlite3_stmt *q, const struct cb *cb)
{
	struct hl_export_checkpoint c;
	const unsigned char *detail;

	memset(&c, 0, sizeof c);
	c.id = sqlite3_column_int64(q, 0);
	c.initiator = sqlite3_column_int(q, 1);
	c.at_ns = (uint64_t)sqlite3_column_int64(q, 2);
	c.our_seq = (uint64_t)sqlite3_column_int64(q, 3);
	c.their_seq = (uint64_t)sqlite3_column_int64(q, 4);
	fixed(q, 5, c.our_hash, HL_HASH_LEN);
	fixed(q, 6, c.their_hash, HL_HASH_LEN);
	fixed(q, 7, c.our_sig, HL_SIG_LEN);
	c.answered = sqlite3_column_type(q, 10) != SQLITE_NULL;
	if (c.answered) {
		fixed(q, 8, c.peer_our_hash, HL_HASH_LEN);
		fixed(q, 9, c.peer_their_hash, HL_HASH_LEN);
		fixed(q, 10, c.peer_sig, HL_SIG_LEN);
	}
	c.status = sqlite3_column_int(q, 11);
	detail = sqlite3_column_text(q, 12);
	c.detail = detail ? (const char *)detail : "";
	return cb->fn.checkpoint(cb->ctx, &c);
}

int
hl_store_export_checkpoints(struct hl_store *st, int64_t peer_id, hl_export_checkpoint_fn *fn,
                            void *ctx)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st,
	                           "SELECT id, initiator, at_ns, our_seq, their_seq, our_hash,"
	                           " their_hash, our_sig, peer_our_hash, peer_their_hash, peer_sig,"
	                           " status, detail FROM checkpoints WHERE peer_id = ?"
	                           " ORDER BY at_ns, id",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	return walk(st, q, checkpoint_row, &(struct cb){.fn.checkpoint = fn, .ctx = ctx});
}
