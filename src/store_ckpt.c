/* SPDX-License-Identifier: ISC */
/* store_ckpt.c: checkpoints with a peer, behind store.h ("checkpoints"). */
#include <stdio.h>
#include <string.h>

#include "store_impl.h"

const char *
hl_ckpt_status_name(int status)
{
	static const char *const names[] = {"agreed", "mismatch", "waiting"};

	return status >= 0 && status < (int)ARRAY_SIZE(names) ? names[status] : "?";
}

int
hl_store_chain_hash(struct hl_store *st, int64_t peer_id, enum hl_dir dir, uint64_t seq,
                    uint8_t hash[static HL_HASH_LEN], bool *found)
{
	sqlite3_stmt *q;
	int rc, s;

	memset(hash, 0, HL_HASH_LEN);
	*found = seq == 0;
	if (seq == 0)
		return HL_OK;
	if ((rc = hl_store_prepare(
	         st, "SELECT hash FROM events WHERE peer_id = ? AND dir = ? AND seq = ?", &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, (int)dir);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)seq);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		hl_store_col_hash(q, 0, hash);
		*found = true;
	}
	hl_store_finish(st, q);
	return s == SQLITE_ROW || s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

/* One integer from a query on (peer_id); 0 when NULL. */
static int
scalar(struct hl_store *st, const char *sql, int64_t peer_id, uint64_t *out)
{
	sqlite3_stmt *q;
	int rc;

	*out = 0;
	if ((rc = hl_store_prepare(st, sql, &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	rc = sqlite3_step(q) == SQLITE_ROW ? HL_OK : HL_ERR_IO;
	if (rc == HL_OK)
		*out = (uint64_t)sqlite3_column_int64(q, 0);
	hl_store_finish(st, q);
	return rc;
}

int
hl_store_ckpt_view(struct hl_store *st, int64_t peer_id, uint64_t *our_seq,
                   uint8_t our_hash[static HL_HASH_LEN], uint64_t *their_seq,
                   uint8_t their_hash[static HL_HASH_LEN])
{
	uint64_t first_pending, top, count;
	bool found;
	int rc;

	/* Ours: everything below the first event still waiting for a receipt. */
	if ((rc = scalar(st,
	                 "SELECT min(seq) FROM events WHERE peer_id = ? AND dir = 0"
	                 " AND state IN (0, 1)",
	                 peer_id, &first_pending)) < 0 ||
	    (rc = scalar(st, "SELECT max(seq) FROM events WHERE peer_id = ? AND dir = 0", peer_id,
	                 &top)) < 0)
		return rc;
	*our_seq = first_pending ? first_pending - 1 : top;
	/* Theirs: up to the first gap (events arrive out of order by precedence). */
	if ((rc = scalar(st, "SELECT max(seq) FROM events WHERE peer_id = ? AND dir = 1", peer_id,
	                 &top)) < 0 ||
	    (rc = scalar(st, "SELECT count(*) FROM events WHERE peer_id = ? AND dir = 1", peer_id,
	                 &count)) < 0)
		return rc;
	*their_seq = top;
	/* A gap: the last seq (or 0) whose successor is missing. Rare, and a full scan. */
	if (count != top &&
	    (rc = scalar(st,
	                 "SELECT min(e.seq) FROM (SELECT 0 AS seq UNION ALL"
	                 " SELECT seq FROM events WHERE peer_id = ?1 AND dir = 1) e"
	                 " WHERE NOT EXISTS (SELECT 1 FROM events n WHERE n.peer_id = ?1"
	                 " AND n.dir = 1 AND n.seq = e.seq + 1)",
	                 peer_id, their_seq)) < 0)
		return rc;
	if ((rc = hl_store_chain_hash(st, peer_id, HL_DIR_OUT, *our_seq, our_hash, &found)) < 0)
		return rc;
	return hl_store_chain_hash(st, peer_id, HL_DIR_IN, *their_seq, their_hash, &found);
}

int
hl_store_ckpt_save(struct hl_store *st, int64_t peer_id, const struct hl_ckpt_rec *c)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(
	         st,
	         "INSERT INTO checkpoints (peer_id, initiator, at_ns, our_seq, their_seq, our_hash,"
	         " their_hash, our_sig, peer_our_hash, peer_their_hash, peer_sig, status, detail)"
	         " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"
	         " ON CONFLICT (peer_id, initiator, at_ns) DO UPDATE SET"
	         " peer_our_hash = ?9, peer_their_hash = ?10, peer_sig = ?11, status = ?12,"
	         " detail = ?13",
	         &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, c->initiator);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)c->ours.at_ns);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)c->ours.signer_seq);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)c->ours.other_seq);
	sqlite3_bind_blob(q, 6, c->ours.signer_hash, HL_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(q, 7, c->ours.other_hash, HL_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(q, 8, c->our_sig, HL_SIG_LEN, SQLITE_STATIC);
	if (c->have_theirs) {
		/* The peer signs its own chain first: its other_* is our chain. */
		sqlite3_bind_blob(q, 9, c->theirs.other_hash, HL_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(q, 10, c->theirs.signer_hash, HL_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(q, 11, c->their_sig, HL_SIG_LEN, SQLITE_STATIC);
	}
	sqlite3_bind_int(q, 12, c->status);
	sqlite3_bind_text(q, 13, c->detail, -1, SQLITE_STATIC);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

int
hl_store_ckpt_last(struct hl_store *st, int64_t peer_id, struct hl_ckpt_rec *c, bool *found,
                   uint64_t *last_agreed_ns, size_t *mismatches)
{
	sqlite3_stmt *q;
	uint64_t n;
	int rc, s;

	memset(c, 0, sizeof *c);
	*found = false;
	if ((rc = scalar(st,
	                 "SELECT coalesce(max(at_ns), 0) FROM checkpoints WHERE peer_id = ?"
	                 " AND status = 0",
	                 peer_id, last_agreed_ns)) < 0 ||
	    (rc = scalar(st, "SELECT count(*) FROM checkpoints WHERE peer_id = ? AND status = 1",
	                 peer_id, &n)) < 0)
		return rc;
	*mismatches = (size_t)n;
	if ((rc = hl_store_prepare(
	         st,
	         "SELECT initiator, at_ns, our_seq, their_seq, our_hash, their_hash,"
	         " our_sig, peer_our_hash, peer_their_hash, peer_sig, status,"
	         " detail FROM checkpoints WHERE peer_id = ?"
	         " ORDER BY at_ns DESC, id DESC LIMIT 1",
	         &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		const unsigned char *d;
		*found = true;
		c->initiator = sqlite3_column_int(q, 0);
		c->ours.at_ns = c->theirs.at_ns = (uint64_t)sqlite3_column_int64(q, 1);
		c->ours.signer_seq = c->theirs.other_seq = (uint64_t)sqlite3_column_int64(q, 2);
		c->ours.other_seq = c->theirs.signer_seq = (uint64_t)sqlite3_column_int64(q, 3);
		hl_store_col_hash(q, 4, c->ours.signer_hash);
		hl_store_col_hash(q, 5, c->ours.other_hash);
		if (sqlite3_column_bytes(q, 6) == HL_SIG_LEN)
			memcpy(c->our_sig, sqlite3_column_blob(q, 6), HL_SIG_LEN);
		c->have_theirs = sqlite3_column_bytes(q, 9) == HL_SIG_LEN;
		if (c->have_theirs) {
			hl_store_col_hash(q, 7, c->theirs.other_hash);
			hl_store_col_hash(q, 8, c->theirs.signer_hash);
			memcpy(c->their_sig, sqlite3_column_blob(q, 9), HL_SIG_LEN);
		}
		c->status = sqlite3_column_int(q, 10);
		d = sqlite3_column_text(q, 11);
		snprintf(c->detail, sizeof c->detail, "%s", d ? (const char *)d : "");
	}
	hl_store_finish(st, q);
	return s == SQLITE_ROW || s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}
