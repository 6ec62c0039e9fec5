/* SPDX-License-Identifier: ISC */
/* store_impl.h: what the SQLite store's own files share; nobody else includes it. */
#ifndef HL_STORE_IMPL_H
#define HL_STORE_IMPL_H

#include <sqlite3.h>

#include "store.h"

struct hl_store {
	sqlite3 *db;
	struct {
		const char *sql; /* a literal: its address is the key */
		sqlite3_stmt *stmt;
	} cache[64];
	size_t ncached;
	char self[HL_NAME_MAX + 1]; /* hl_store_set_self */
	int wal_pages; /* pages in the WAL after our last commit (autocheckpoint off) */
};

/* An SQLite result code as an hl_err: HL_ERR_FULL, HL_ERR_DISK (any SQLITE_IOERR), HL_ERR_IO. */
int hl_store_err(int sqlite_rc);
/* Run SQL with no result; logs and returns hl_store_err's code on failure. */
int hl_store_exec(struct hl_store *st, const char *sql);
/* Step a statement expected to finish: HL_OK, HL_ERR_EXISTS on a constraint, HL_ERR_FULL,
 * HL_ERR_DISK, HL_ERR_IO. */
int hl_store_step_done(struct hl_store *st, sqlite3_stmt *q);
/* After a COMMIT that failed with HL_ERR_DISK: make sure it stays failed (store.c says how). */
void hl_store_bury_failed_commit(struct hl_store *st);

/*
 * A statement for sql, which must be a string literal (its address is the
 * cache key); give it back with hl_store_finish (store_msg.c).
 */
int hl_store_prepare(struct hl_store *st, const char *sql, sqlite3_stmt **q);
void hl_store_finish(struct hl_store *st, sqlite3_stmt *q);
/* A 32-byte column (a hash) into out; zeros when it is not 32 bytes. */
void hl_store_col_hash(sqlite3_stmt *q, int col, uint8_t out[static HL_HASH_LEN]);

/*
 * The peer's KEY event ev (store_keys.c), in the caller's transaction:
 * why the store refuses it (why empty: accepted), then, once it is stored
 * as new, its key recorded as announced.
 */
int hl_store_key_verdict(struct hl_store *st, int64_t peer_id, const struct hl_event *ev,
                         char why[static HL_REASON_MAX + 1]);
int hl_store_key_announce(struct hl_store *st, int64_t peer_id, const struct hl_event *ev);
/* The columns hl_store_read_rows reads, in its order; ROW_COLUMNS ends with the join. */
#define ROW_FIELDS                                                                                 \
	"p.name, e.peer_id, e.dir, e.state, e.msg_id, e.hash, e.seq, e.prev, e.kind,"              \
	" e.precedence, e.created_ns, e.deadline_ns, e.channel, e.media_type, e.operator,"         \
	" e.ref_seq, e.ref_hash, e.body, e.received_ns, e.sent_ns, e.delivered_ns, e.acked_ns,"    \
	" e.acked_by, e.reason, e.refused_ns"
#define ROW_COLUMNS ROW_FIELDS " FROM events e JOIN peers p ON p.id = e.peer_id "
/* Every row of q (ROW_FIELDS) into *rows (hl_event_rows_free); finishes q. */
int hl_store_read_rows(struct hl_store *st, sqlite3_stmt *q, struct hl_event_row **rows, size_t *n);
/*
 * Insert one event row; fields from ev, the rest as given (token: the send's idempotency
 * token, NULL for none). HL_ERR_EXISTS on a seq held.
 */
int hl_store_insert_event(struct hl_store *st, int64_t peer_id, int dir, const struct hl_event *ev,
                          const uint8_t hash[static HL_HASH_LEN], int state, uint64_t received_ns,
                          const char *reason, const uint8_t *token);

#endif
