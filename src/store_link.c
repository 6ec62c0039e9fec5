/* SPDX-License-Identifier: ISC */
/*
 * store_link.c: the record of link tests (table link_tests, schema 3),
 * behind store.h. A row is written once and never changed: our own tests
 * (dir 0) by the daemon's writer when a test ends, the peer's tests we
 * answered (dir 1) inside the batch whose COMMIT releases the answer.
 * Readers want the latest row and the latest successful row of one
 * (peer, dir, link); the index link_tests_by_link serves both.
 */
#include <stdio.h>
#include <string.h>

#include "store_impl.h"

int
hl_store_link_test_add(struct hl_store *st, int64_t peer_id, enum hl_dir dir, const char *link,
                       uint64_t at_ns, bool ok, uint64_t rtt_us, const char *error)
{
	sqlite3_stmt *q;
	int rc;

	if (dir != HL_DIR_OUT && dir != HL_DIR_IN)
		return HL_ERR_INVAL;
	if ((rc = hl_store_prepare(st,
	                           "INSERT INTO link_tests (peer_id, dir, link, at_ns, ok, rtt_us,"
	                           " error) VALUES (?,?,?,?,?,?,?)",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, (int)dir);
	sqlite3_bind_text(q, 3, link, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)at_ns);
	sqlite3_bind_int(q, 5, ok ? 1 : 0);
	sqlite3_bind_int64(q, 6, ok ? (sqlite3_int64)rtt_us : 0);
	sqlite3_bind_text(q, 7, ok || !error ? "" : error, -1, SQLITE_STATIC);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	/* The CHECK on dir cannot fail here: the one constraint left is the peer's foreign key. */
	return rc == HL_ERR_EXISTS ? HL_ERR_NOTFOUND : rc;
}

int
hl_store_link_test_last(struct hl_store *st, int64_t peer_id, enum hl_dir dir, const char *link,
                        struct hl_link_test_rec *last, uint64_t *last_ok_ns)
{
	sqlite3_stmt *q;
	int rc, s;

	memset(last, 0, sizeof *last);
	*last_ok_ns = 0;
	if ((rc = hl_store_prepare(st,
	                           "SELECT at_ns, ok, rtt_us, error FROM link_tests"
	                           " WHERE peer_id = ? AND link = ? AND dir = ?"
	                           " ORDER BY at_ns DESC, rowid DESC LIMIT 1",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_text(q, 2, link, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, (int)dir);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		const unsigned char *e = sqlite3_column_text(q, 3);
		last->at_ns = (uint64_t)sqlite3_column_int64(q, 0);
		last->ok = sqlite3_column_int(q, 1) != 0;
		last->rtt_us = (uint64_t)sqlite3_column_int64(q, 2);
		snprintf(last->error, sizeof last->error, "%s", e ? (const char *)e : "");
	}
	hl_store_finish(st, q);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return HL_ERR_IO;
	if (s == SQLITE_DONE)
		return HL_OK; /* no test at all, so no successful one either */
	if (last->ok) {
		*last_ok_ns = last->at_ns;
		return HL_OK;
	}
	if ((rc = hl_store_prepare(st,
	                           "SELECT at_ns FROM link_tests"
	                           " WHERE peer_id = ? AND link = ? AND dir = ? AND ok = 1"
	                           " ORDER BY at_ns DESC LIMIT 1",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_text(q, 2, link, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, (int)dir);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW)
		*last_ok_ns = (uint64_t)sqlite3_column_int64(q, 0);
	hl_store_finish(st, q);
	return s == SQLITE_ROW || s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}
