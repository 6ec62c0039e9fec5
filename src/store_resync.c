/* SPDX-License-Identifier: ISC */
/*
 * store_resync.c: what two stations compare and exchange at link-up so
 * that a store that lost its newest part (an older backup restored, a
 * damaged WAL) gets it back from the peer (store.h, "re-synchronisation";
 * docs/reliability.md): the SYNC view, the events to send again or to give
 * back, taking back our own, and the restored mark that holds new events
 * back until then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_impl.h"
#include "util.h"

/* The hash of event seq of chain dir (zeros when seq is 0 or not held). */
static int
hash_at(struct hl_store *st, int64_t peer_id, enum hl_dir dir, uint64_t seq,
        uint8_t hash[static HL_HASH_LEN])
{
	bool found;

	return hl_store_chain_hash(st, peer_id, dir, seq, hash, &found);
}

/* One integer from a query with peer_id (and a seq) bound: *out, 0 when NULL. */
static int
one_int(struct hl_store *st, const char *sql, int64_t peer_id, int64_t arg, bool has_arg,
        uint64_t *out)
{
	sqlite3_stmt *q;
	int rc, s;

	*out = 0;
	if ((rc = hl_store_prepare(st, sql, &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	if (has_arg)
		sqlite3_bind_int64(q, 2, arg);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(q, 0);
	hl_store_finish(st, q);
	return s == SQLITE_ROW || s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

int
hl_store_sync_view(struct hl_store *st, int64_t peer_id, uint64_t *held,
                   uint8_t held_hash[static HL_HASH_LEN], uint64_t *top,
                   uint8_t top_hash[static HL_HASH_LEN])
{
	uint64_t count, max, one;
	int rc;

	*held = *top = 0;
	if ((rc = one_int(st, "SELECT count(*) FROM events WHERE peer_id = ? AND dir = 1", peer_id,
	                  0, false, &count)) < 0 ||
	    (rc = one_int(st,
	                  "SELECT coalesce(max(seq), 0) FROM events WHERE peer_id = ? AND dir = 1",
	                  peer_id, 0, false, &max)) < 0 ||
	    (rc = one_int(st,
	                  "SELECT count(*) FROM events WHERE peer_id = ? AND dir = 1 AND seq = 1",
	                  peer_id, 0, false, &one)) < 0)
		return rc;
	if (count == max) {
		*held = max;
	} else if (one) {
		/* A gap (events in flight): the end of the first run from seq 1. */
		if ((rc = one_int(
		         st,
		         "SELECT seq FROM events e WHERE peer_id = ?1 AND dir = 1 AND NOT EXISTS"
		         " (SELECT 1 FROM events f WHERE f.peer_id = ?1 AND f.dir = 1"
		         " AND f.seq = e.seq + 1) ORDER BY seq LIMIT 1",
		         peer_id, 0, false, held)) < 0)
			return rc;
	}
	if ((rc = one_int(st,
	                  "SELECT coalesce(max(seq), 0) FROM events WHERE peer_id = ? AND dir = 0",
	                  peer_id, 0, false, top)) < 0 ||
	    (rc = hash_at(st, peer_id, HL_DIR_IN, *held, held_hash)) < 0)
		return rc;
	return hash_at(st, peer_id, HL_DIR_OUT, *top, top_hash);
}

/* A page of rows of sql (peer_id, after, limit + 1 bound) with the paging outputs. */
static int
page(struct hl_store *st, const char *sql, int64_t peer_id, uint64_t after, uint64_t upto,
     size_t limit, struct hl_event_row **rows, size_t *n, uint64_t *page_end, bool *more)
{
	sqlite3_stmt *q;
	int rc;

	*rows = NULL;
	*n = 0;
	*page_end = after;
	*more = false;
	if ((rc = hl_store_prepare(st, sql, &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)after);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)limit + 1);
	if (sqlite3_bind_parameter_count(q) >= 4)
		sqlite3_bind_int64(q, 4, (sqlite3_int64)upto);
	if ((rc = hl_store_read_rows(st, q, rows, n)) < 0)
		return rc;
	if (*n > limit) {
		*more = true;
		free((*rows)[limit].body);
		*n = limit;
	}
	if (*n)
		*page_end = (*rows)[*n - 1].ev.seq;
	return HL_OK;
}

int
hl_store_answered_page(struct hl_store *st, int64_t peer_id, uint64_t after, size_t limit,
                       struct hl_event_row **rows, size_t *n, uint64_t *page_end, bool *more)
{
	return page(st,
	            "SELECT " ROW_COLUMNS "WHERE e.peer_id = ?1 AND e.dir = 0 AND e.seq > ?2"
	            " AND e.state NOT IN (0, 1) AND ?4 = ?4 ORDER BY e.seq LIMIT ?3",
	            peer_id, after, 0, limit, rows, n, page_end, more);
}

int
hl_store_return_page(struct hl_store *st, int64_t peer_id, uint64_t after, uint64_t upto,
                     size_t limit, struct hl_event_row **rows, size_t *n, uint64_t *page_end,
                     bool *more)
{
	return page(st,
	            "SELECT " ROW_COLUMNS "WHERE e.peer_id = ?1 AND e.dir = 1 AND e.seq > ?2"
	            " AND e.seq <= ?4 ORDER BY e.seq LIMIT ?3",
	            peer_id, after, upto, limit, rows, n, page_end, more);
}

int
hl_store_heads_after(struct hl_store *st, int64_t peer_id, uint64_t after, size_t max,
                     struct hl_head_rec **out, size_t *n)
{
	struct hl_head_rec *v = NULL;
	size_t cnt = 0;
	sqlite3_stmt *q;
	int rc, s;

	*out = NULL;
	*n = 0;
	if ((rc = hl_store_prepare(st,
	                           "SELECT seq, hash, sig FROM heads WHERE peer_id = ? AND dir = 1"
	                           " AND seq > ? ORDER BY seq LIMIT ?",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)after);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)max);
	if (!(v = calloc(max ? max : 1, sizeof *v))) {
		hl_store_finish(st, q);
		return HL_ERR_NOMEM;
	}
	while ((s = sqlite3_step(q)) == SQLITE_ROW && cnt < max) {
		if (sqlite3_column_bytes(q, 2) != HL_SIG_LEN)
			continue; /* a damaged row: verify names it; it vouches for nothing */
		v[cnt].seq = (uint64_t)sqlite3_column_int64(q, 0);
		hl_store_col_hash(q, 1, v[cnt].hash);
		memcpy(v[cnt].sig, sqlite3_column_blob(q, 2), HL_SIG_LEN);
		cnt++;
	}
	hl_store_finish(st, q);
	if (s != SQLITE_DONE && s != SQLITE_ROW) {
		free(v);
		return HL_ERR_IO;
	}
	*out = v;
	*n = cnt;
	return HL_OK;
}

int
hl_store_take_back(struct hl_store *st, int64_t peer_id, const struct hl_event_row *rows, size_t n)
{
	uint8_t prev[HL_HASH_LEN];
	uint64_t top;
	sqlite3_stmt *q;
	int rc;

	if ((rc = one_int(st,
	                  "SELECT coalesce(max(seq), 0) FROM events WHERE peer_id = ? AND dir = 0",
	                  peer_id, 0, false, &top)) < 0 ||
	    (rc = hash_at(st, peer_id, HL_DIR_OUT, top, prev)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const struct hl_event_row *r = &rows[i];
		if (r->ev.seq != top + 1 + i || memcmp(r->ev.prev, prev, HL_HASH_LEN) != 0)
			return HL_ERR_CORRUPT; /* not the continuation of our chain as it is */
		/* Sent: it goes to the peer again, which answers with its receipt (or refusal). */
		if ((rc = hl_store_insert_event(st, peer_id, HL_DIR_OUT, &r->ev, r->hash,
		                                HL_ST_SENT, 0, NULL, NULL)) < 0)
			return rc;
		memcpy(prev, r->hash, HL_HASH_LEN);
		if (r->ev.kind != HL_EV_ACK)
			continue;
		/* Our operator had acknowledged that message of the peer's: say so again. */
		if ((rc = hl_store_prepare(
		         st,
		         "UPDATE events SET state = 3, acked_by = ?, acked_ns = ? WHERE peer_id = ?"
		         " AND dir = 1 AND seq = ? AND hash = ? AND state = 5",
		         &q)) < 0)
			return rc;
		sqlite3_bind_text(q, 1, r->ev.operator_name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)r->ev.created_ns);
		sqlite3_bind_int64(q, 3, peer_id);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)r->ev.ref_seq);
		sqlite3_bind_blob(q, 5, r->ev.ref_hash, HL_HASH_LEN, SQLITE_STATIC);
		rc = hl_store_step_done(st, q);
		hl_store_finish(st, q);
		if (rc < 0)
			return rc;
	}
	return HL_OK;
}

/* ---- the restored mark: DB-restored, one peer name a line ---- */

static int
restored_path(const char *db_path, char *out, size_t cap)
{
	return (size_t)snprintf(out, cap, "%s-restored", db_path) < cap ? HL_OK : HL_ERR_LIMIT;
}

int
hl_store_restored_mark(const char *db_path, const char *const *peers, size_t n)
{
	char path[4200], *buf;
	size_t len = 0, cap = 1;
	int rc;

	if ((rc = restored_path(db_path, path, sizeof path)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		cap += strlen(peers[i]) + 1;
	if (!(buf = malloc(cap)))
		return HL_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s\n", peers[i]);
	rc = n ? hl_file_write(path, buf, len, 0600, false)
	       : (unlink(path) == 0 || access(path, F_OK) != 0 ? HL_OK : HL_ERR_IO);
	free(buf);
	return rc;
}

/* Is name a line of text? */
static const char *
find_line(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return p;
		p = e ? e + 1 : NULL;
	}
	return NULL;
}

bool
hl_store_restored(struct hl_store *st, const char *peer)
{
	const char *db = sqlite3_db_filename(st->db, "main");
	char path[4200], *text = NULL;
	size_t len;
	bool listed;

	if (!db || !*db || restored_path(db, path, sizeof path) < 0 || access(path, F_OK) != 0)
		return false;
	if (hl_file_read(path, 1 << 20, &text, &len) < 0)
		return true; /* unreadable: hold back rather than fork the chain */
	listed = find_line(text, peer) != NULL;
	free(text);
	return listed;
}

int
hl_store_restored_done(struct hl_store *st, const char *peer)
{
	const char *db = sqlite3_db_filename(st->db, "main");
	char path[4200], *text = NULL, *line;
	const char *at;
	size_t len;
	int rc;

	if (!db || !*db || restored_path(db, path, sizeof path) < 0 || access(path, F_OK) != 0)
		return HL_OK;
	if ((rc = hl_file_read(path, 1 << 20, &text, &len)) < 0)
		return rc;
	if ((at = find_line(text, peer)) != NULL) {
		line = text + (at - text);
		size_t n = strlen(peer) + (line[strlen(peer)] == '\n');
		memmove(line, line + n, strlen(line + n) + 1);
		len = strlen(text);
		rc = len ? hl_file_write(path, text, len, 0600, false)
		         : (unlink(path) == 0 ? HL_OK : HL_ERR_IO);
	}
	free(text);
	return rc;
}
