/* SPDX-License-Identifier: ISC */
/*
 * store.h: the station's durable state, behind a narrow interface so that
 * another backend can replace SQLite. Today: SQLite in WAL mode with
 * synchronous=FULL (a COMMIT is on disk when it returns), busy timeout so
 * the CLI and the daemon can share it. Schema versions are numbered
 * (PRAGMA user_version); a store newer than this binary is refused.
 * Not thread-safe: one struct hl_store per thread.
 */
#ifndef HL_STORE_H
#define HL_STORE_H

#include "hl.h"
#include "keys.h"
#include "msg.h"
#include "talks.h"
#include "util.h"

#define HL_LINKS_MAX 8
#define HL_STORE_SCHEMA 7
#define HL_RETIRED_MAX 4 /* former keys of a peer a record carries, the newest */

struct hl_store;

struct hl_peer_rec {
	int64_t id;
	char name[HL_NAME_MAX + 1];
	struct hl_pubkey key; /* the key in use: handshakes, signatures */
	size_t nlinks;
	char links[HL_LINKS_MAX][HL_ADDR_MAX];
	uint64_t added_ns;
	/* docs/keys.md: */
	bool has_next;         /* the peer announced a new key, not yet in use */
	struct hl_pubkey next; /* ... accepted in handshakes beside key, until the peer uses it */
	uint64_t next_ns;      /* when the announcement was stored here */
	uint64_t key_since_ns; /* key in use here since */
	uint64_t revoked_ns;   /* 0, or when an operator revoked the key: no handshake passes */
	char revoked_reason[HL_NOTICE_REASON_MAX + 1];
	size_t nretired; /* former keys, newest first: refused, named in the log */
	uint8_t retired_x25519[HL_RETIRED_MAX][32];
};

/*
 * Open (and with create, make) the store at path, migrating an older schema.
 * On failure *out is NULL and err says why in words for the operator.
 */
HL_MUST_CHECK int hl_store_open(const char *path, bool create, struct hl_store **out, char *err,
                                size_t errcap);
void hl_store_close(struct hl_store *st);

/* HL_ERR_EXISTS when the name or the key is already pinned. */
HL_MUST_CHECK int hl_store_peer_add(struct hl_store *st, const struct hl_peer_rec *p);
HL_MUST_CHECK int hl_store_peer_remove(struct hl_store *st, const char *name);
/* All peers by name; *out is malloc'd (free it), possibly NULL when *n is 0. */
HL_MUST_CHECK int hl_store_peer_list(struct hl_store *st, struct hl_peer_rec **out, size_t *n);
/* One peer by name; HL_ERR_NOTFOUND. */
HL_MUST_CHECK int hl_store_peer_get(struct hl_store *st, const char *name, struct hl_peer_rec *out);

/* ---- channels (store_msg.c) ---- */

/*
 * A channel's suspension by one side, as the record says: the latest
 * notice of that side's chain for the channel that was not refused is a
 * SUSPEND. The store keeps no separate flag that could disagree with it.
 */
struct hl_suspension {
	bool active;
	char operator_name[HL_OPERATOR_MAX + 1];
	char reason[HL_REASON_MAX + 1];
	uint64_t since_ns; /* the notice's time, on the suspender's clock */
	char notice_id[HL_MSGID_LEN + 1];
	int notice_state; /* enum hl_state: ours queued, sent or delivered; the peer's received */
};

struct hl_channel_rec {
	char peer[HL_NAME_MAX + 1];
	char name[HL_NAME_MAX + 1];
	uint64_t created_ns;
	bool no_suspend;                     /* neither side may suspend it */
	struct hl_suspension by_us, by_peer; /* filled by hl_store_channel_list */
};
/* HL_ERR_NOTFOUND (no such peer), HL_ERR_EXISTS. */
HL_MUST_CHECK int hl_store_channel_add(struct hl_store *st, const char *peer, const char *name,
                                       bool no_suspend);
/* Channels of one peer, or of all peers when peer is NULL; *out malloc'd. */
HL_MUST_CHECK int hl_store_channel_list(struct hl_store *st, const char *peer,
                                        struct hl_channel_rec **out, size_t *n);
/*
 * The name this station gives itself in refusals ("suspended by NAME"):
 * the daemon sets its config name; "this station" until then.
 */
void hl_store_set_self(struct hl_store *st, const char *name);

/* ---- events: the two chains (store_msg.c) ---- */

enum hl_dir { HL_DIR_OUT = 0, HL_DIR_IN = 1 };

/*
 * States. Outgoing: queued, sent, delivered, acknowledged, refused.
 * Incoming: received (not yet acknowledged here), acknowledged, refused
 * (we refused it: the sender was told why).
 */
enum hl_state {
	HL_ST_QUEUED = 0,
	HL_ST_SENT = 1,
	HL_ST_DELIVERED = 2,
	HL_ST_ACKED = 3,
	HL_ST_REFUSED = 4,
	HL_ST_RECEIVED = 5,
};
const char *hl_state_name(int state);

struct hl_event_row {
	char peer[HL_NAME_MAX + 1];
	int64_t peer_id;
	int dir, state;
	char msg_id[HL_MSGID_LEN + 1];
	uint8_t hash[HL_HASH_LEN];
	struct hl_event ev; /* ev.body points at body below */
	uint8_t *body;      /* malloc'd; freed by hl_event_rows_free */
	uint64_t received_ns, sent_ns, delivered_ns, acked_ns, refused_ns;
	char acked_by[HL_OPERATOR_MAX + 1];
	char reason[HL_REASON_MAX + 1];
	bool overdue; /* computed when read: no acknowledgment past the deadline */
};
void hl_event_rows_free(struct hl_event_row *rows, size_t n);

/*
 * Append an event to our chain towards peer_id, in one transaction: seq
 * and prev are taken from the chain, the hash computed and returned. The
 * event is durable when this returns HL_OK. HL_ERR_FULL on a full disk.
 */
HL_MUST_CHECK int hl_store_append(struct hl_store *st, int64_t peer_id, struct hl_event *ev,
                                  uint8_t hash[static HL_HASH_LEN]);
/*
 * Append inside the caller's transaction, at most once per token: a sender
 * that lost its answer (the daemon died mid-request) sends again with the
 * same token and gets the same event back (existed), never a second one.
 * A new event must pass hl_store_check_new first (why says why not).
 */
#define HL_TOKEN_LEN 16
HL_MUST_CHECK int hl_store_append_once(struct hl_store *st, int64_t peer_id, struct hl_event *ev,
                                       const uint8_t token[static HL_TOKEN_LEN], bool retry,
                                       uint8_t hash[static HL_HASH_LEN], bool *existed,
                                       char why[static HL_REASON_MAX + 1]);
/*
 * May this new event of ours go on the chain? A message or notice needs
 * the channel (HL_ERR_NOTFOUND); a message on a channel this station
 * suspended, a suspension of a --no-suspend or already suspended channel,
 * a resumption of a channel this station did not suspend: HL_ERR_INVAL.
 * why says it in words for the operator. Call inside the appending
 * transaction, so the answer still holds at the append.
 */
HL_MUST_CHECK int hl_store_check_new(struct hl_store *st, int64_t peer_id,
                                     const struct hl_event *ev, char why[static HL_REASON_MAX + 1]);
/* The same inside a transaction of the caller's (hl_store_begin/commit): many sends, one fsync. */
HL_MUST_CHECK int hl_store_append_locked(struct hl_store *st, int64_t peer_id, struct hl_event *ev,
                                         uint8_t hash[static HL_HASH_LEN]);
/*
 * The operator's acknowledgment of an incoming message, in one
 * transaction: the message is marked and an ACK event appended to our
 * chain. HL_ERR_NOTFOUND, or HL_ERR_INVAL with err saying why (outgoing,
 * already acknowledged, refused). ack_id receives the new event's id.
 */
HL_MUST_CHECK int hl_store_ack(struct hl_store *st, const char *msg_id, const char *operator_name,
                               char *err, size_t errcap, char ack_id[static HL_MSGID_LEN + 1],
                               char peer[static HL_NAME_MAX + 1]);

/* The same inside the caller's transaction. */
HL_MUST_CHECK int hl_store_ack_locked(struct hl_store *st, const char *msg_id,
                                      const char *operator_name, char *err, size_t errcap,
                                      char ack_id[static HL_MSGID_LEN + 1],
                                      char peer[static HL_NAME_MAX + 1]);

/* Outbox (dir OUT) or inbox (dir IN) listings; see docs/cli.md for the order. */
HL_MUST_CHECK int hl_store_list(struct hl_store *st, enum hl_dir dir, bool all,
                                struct hl_event_row **rows, size_t *n);
/* The events with this id (normally one). */
HL_MUST_CHECK int hl_store_find(struct hl_store *st, const char *msg_id, struct hl_event_row **rows,
                                size_t *n);
/* Every talks event (kind 6) of both chains with peer_id, by dir then seq. */
HL_MUST_CHECK int hl_store_talks_events(struct hl_store *st, int64_t peer_id,
                                        struct hl_event_row **rows, size_t *n);
/* Our event (dir OUT) or the peer's (IN) at seq: HL_ERR_NOTFOUND. Free with hl_event_rows_free(row,
 * 1). */
HL_MUST_CHECK int hl_store_event_get(struct hl_store *st, int64_t peer_id, enum hl_dir dir,
                                     uint64_t seq, struct hl_event_row **row);
/*
 * Every message still waiting for its operator's acknowledgment: ours not
 * yet acknowledged or refused, the peer's not yet acknowledged here; fn gets
 * each with its deadline (0: none). A full scan: for the daemon's start.
 */
HL_MUST_CHECK int hl_store_unacked(struct hl_store *st,
                                   void (*fn)(void *ctx, int64_t peer_id, enum hl_dir dir,
                                              uint64_t seq, uint64_t deadline_ns),
                                   void *ctx);
/*
 * Messages (kind message) counted by direction, stored state and
 * precedence, with how many of each group are overdue at now_ns: fn once
 * per group that has any. For metrics (docs/console.md); one scan.
 */
HL_MUST_CHECK int hl_store_message_counts(struct hl_store *st, uint64_t now_ns,
                                          void (*fn)(void *ctx, int dir, int state, unsigned prec,
                                                     uint64_t n, uint64_t overdue),
                                          void *ctx);
/* One event's history, oldest first: calls fn for each state change. */
HL_MUST_CHECK int hl_store_history(struct hl_store *st, const char *msg_id, int dir,
                                   void (*fn)(void *ctx, uint64_t at_ns, const char *state,
                                              const char *detail),
                                   void *ctx);

/* ---- the daemon's side: called inside hl_store_begin/commit ---- */

/*
 * WAL checkpoints. The daemon's writer turns automatic checkpoints off (one
 * that copies a large WAL back would stall a FLASH commit behind it) and a
 * thread of its own calls hl_store_checkpoint, which never blocks writers.
 */
void hl_store_autocheckpoint(struct hl_store *st, bool on);
void hl_store_checkpoint(struct hl_store *st);
/* With automatic checkpoints off: the WAL's size in pages after this connection's last commit. */
int hl_store_wal_pages(const struct hl_store *st);
/*
 * Grow the WAL file to about bytes (at most an eighth of the free space)
 * with zeros, best effort. A commit that extends the WAL has its fdatasync
 * commit the file's new size through the file system's journal too, and
 * costs two to three times one that overwrites: after this, commits
 * overwrite (SQLite restarts the WAL from its start after each complete
 * checkpoint, and ignores what follows the last valid frame).
 */
void hl_store_wal_presize(struct hl_store *st, uint64_t bytes);
/*
 * Keep this connection's temporary data (the savepoints' journals of the
 * writer's batches) in memory: spilled to files, each job that touched a
 * few hundred rows created, wrote and removed one.
 */
void hl_store_memory_temp(struct hl_store *st);

/*
 * Let this connection fold the WAL into the database and delete it when it
 * closes last (others never do: a command must not tidy away a damaged
 * WAL before the daemon's check sees it). The daemon's writer does this.
 */
void hl_store_fold_on_close(struct hl_store *st);

HL_MUST_CHECK int hl_store_begin(struct hl_store *st);
/*
 * COMMIT, or roll back and fail: HL_ERR_FULL, HL_ERR_DISK when the disk
 * failed (a write or fsync returned an I/O error: nothing of the
 * transaction is kept, even across a crash), HL_ERR_IO.
 */
HL_MUST_CHECK int hl_store_commit(struct hl_store *st);
void hl_store_rollback(struct hl_store *st);
/* Nested undo inside a transaction: one failed job does not spoil its batch. */
void hl_store_savepoint(struct hl_store *st);
void hl_store_savepoint_release(struct hl_store *st);
void hl_store_savepoint_rollback(struct hl_store *st);

/*
 * A page of our events to send to peer_id, in seq order: every pending
 * non-ROUTINE event with seq > after (few, and urgent: they must not wait
 * behind a ROUTINE backlog), and the first `limit` pending events of any
 * precedence with seq > after. *page_end is where the next page starts
 * (the last seq of the second set), *more whether there is more after it.
 */
HL_MUST_CHECK int hl_store_pending_page(struct hl_store *st, int64_t peer_id, uint64_t after,
                                        size_t limit, struct hl_event_row **rows, size_t *n,
                                        uint64_t *page_end, bool *more);
/* How many of our events to peer_id wait for a receipt (queued or sent). */
HL_MUST_CHECK int hl_store_pending_count(struct hl_store *st, int64_t peer_id, size_t *n);
/* Our event went on the wire (whole) at sent_ns: sent, unless it is past queued. */
HL_MUST_CHECK int hl_store_mark_sent(struct hl_store *st, int64_t peer_id, uint64_t seq,
                                     uint64_t sent_ns);
/*
 * The peer's signed receipt for our event (seq, hash), which came at at_ns
 * (0: now): delivered. sent_ns is when the event went on the wire (0: the
 * receipt's time), kept unless a sent time is there already: the daemon
 * writes "sent" only for what waits for its receipt, so most events go
 * from queued to delivered in one write.
 */
HL_MUST_CHECK int hl_store_mark_delivered(struct hl_store *st, int64_t peer_id, uint64_t seq,
                                          const uint8_t hash[static HL_HASH_LEN],
                                          const uint8_t sig[static HL_SIG_LEN], uint64_t sent_ns,
                                          uint64_t at_ns);
/* The peer's signed refusal of our event (seq, hash); sent_ns and at_ns as for delivered. */
HL_MUST_CHECK int hl_store_mark_refused(struct hl_store *st, int64_t peer_id, uint64_t seq,
                                        const uint8_t hash[static HL_HASH_LEN], const char *reason,
                                        const uint8_t sig[static HL_SIG_LEN], uint64_t sent_ns,
                                        uint64_t at_ns);

/* REFUSED_AGAIN: a retransmission of what was refused before, answered the same way. */
enum hl_recv_outcome { HL_RECV_NEW, HL_RECV_DUPLICATE, HL_RECV_REFUSED, HL_RECV_REFUSED_AGAIN };
/*
 * Store an event of the peer's chain (its hash already checked). A seq seen
 * before with the same hash is a duplicate (outcome repeats the first
 * answer); with another hash it is HL_ERR_CORRUPT: the peer rewrote its
 * chain. An event is stored as refused, with the reason, when reason is not
 * empty on entry (the daemon's own refusal, e.g. too large), or when the
 * channel rules refuse it: a message on a channel we lack or that either
 * side has suspended (the peer's suspension counts if it comes before the
 * message in the peer's chain), a suspension of a --no-suspend channel, a
 * resumption of a channel the peer has not suspended. An ACK marks our
 * acknowledged event; acknowledgments always pass.
 */
HL_MUST_CHECK int hl_store_receive(struct hl_store *st, int64_t peer_id, const struct hl_event *ev,
                                   const uint8_t hash[static HL_HASH_LEN], int *outcome,
                                   char reason[static HL_REASON_MAX + 1]);
/*
 * The peer's signed receipt for our events, kept whole (n entries and the
 * signature over them) so that anyone can check it with the peer's key.
 */
HL_MUST_CHECK int hl_store_put_receipt(struct hl_store *st, int64_t peer_id,
                                       const struct hl_receipt_entry *e, size_t n,
                                       const uint8_t sig[static HL_SIG_LEN]);
/* A signed chain head: dir OUT for a receipt-backed head of ours, IN for the peer's. */
HL_MUST_CHECK int hl_store_put_head(struct hl_store *st, int64_t peer_id, enum hl_dir dir,
                                    uint64_t seq, const uint8_t hash[static HL_HASH_LEN],
                                    const uint8_t sig[static HL_SIG_LEN]);

/* ---- re-synchronisation with a peer (store_resync.c; docs/reliability.md) ---- */

/*
 * What this station tells the peer at link-up (a SYNC frame): the peer's
 * chain as held here, whole from seq 1 up to *held (its hash; 0 and zeros
 * for nothing), and our own chain's last seq *top (its hash).
 */
HL_MUST_CHECK int hl_store_sync_view(struct hl_store *st, int64_t peer_id, uint64_t *held,
                                     uint8_t held_hash[static HL_HASH_LEN], uint64_t *top,
                                     uint8_t top_hash[static HL_HASH_LEN]);
/*
 * A page of our events with seq > after that the peer already answered
 * (delivered, acknowledged, refused), by seq: to send again to a peer
 * that says it lacks them. Paging as hl_store_pending_page.
 */
HL_MUST_CHECK int hl_store_answered_page(struct hl_store *st, int64_t peer_id, uint64_t after,
                                         size_t limit, struct hl_event_row **rows, size_t *n,
                                         uint64_t *page_end, bool *more);
/* A page of the peer's events held here with after < seq <= upto, by seq: to give back to it. */
HL_MUST_CHECK int hl_store_return_page(struct hl_store *st, int64_t peer_id, uint64_t after,
                                       uint64_t upto, size_t limit, struct hl_event_row **rows,
                                       size_t *n, uint64_t *page_end, bool *more);
/* A signed head of a chain, as stored. */
struct hl_head_rec {
	uint64_t seq;
	uint8_t hash[HL_HASH_LEN], sig[HL_SIG_LEN];
};
/* The peer's signed heads of its chain with seq > after, by seq, at most max (free *out). */
HL_MUST_CHECK int hl_store_heads_after(struct hl_store *st, int64_t peer_id, uint64_t after,
                                       size_t max, struct hl_head_rec **out, size_t *n);
/*
 * Take back n events of our own chain that the peer gave back, by seq,
 * already checked by the caller against a head we signed: they must go on
 * from our chain's last event (HL_ERR_CORRUPT otherwise; nothing of a
 * failed job stays, the writer rolls it back). They are stored as sent,
 * so they go to the peer again and come back receipted; an acknowledgment
 * among them marks the message it acknowledges, when held.
 */
HL_MUST_CHECK int hl_store_take_back(struct hl_store *st, int64_t peer_id,
                                     const struct hl_event_row *rows, size_t n);
/*
 * The restored mark, DB-restored beside the store: the peers whose chain
 * this station must take back (from the peer) before it adds to it, after
 * `restore` put an older store in place. hl_store_check_new refuses a new
 * event to a listed peer. hl_store_restored_mark writes the list (n = 0:
 * removes it); hl_store_restored_done takes one peer off.
 */
HL_MUST_CHECK int hl_store_restored_mark(const char *db_path, const char *const *peers, size_t n);
bool hl_store_restored(struct hl_store *st, const char *peer);
HL_MUST_CHECK int hl_store_restored_done(struct hl_store *st, const char *peer);

/* ---- export: the record with one peer, row by row (store_export.c) ---- */

/*
 * The transcript (docs/transcript.md) reads the record in several queries;
 * a read transaction around them makes them see one snapshot while a
 * daemon keeps writing (WAL readers never block the writer).
 */
HL_MUST_CHECK int hl_store_export_begin(struct hl_store *st);
void hl_store_export_end(struct hl_store *st);

/*
 * Where the export of chain dir starts: 1 when since_ns is 0; else the
 * first seq created at or after since_ns, or one past the last seq (an
 * empty export) when there is none.
 */
HL_MUST_CHECK int hl_store_export_first(struct hl_store *st, int64_t peer_id, enum hl_dir dir,
                                        uint64_t since_ns, uint64_t *first);

/*
 * The walks below call fn once per row and stop at the first non-zero
 * value fn returns, which they return (so a callback's own codes pass
 * through); otherwise HL_OK, or HL_ERR_IO when a query fails. Rows are
 * borrowed: valid only during the call, pointers into the store's row.
 */

/* An event: r->body is NULL and r->ev.body points into the row; r->overdue is not computed. */
typedef int hl_export_event_fn(void *ctx, const struct hl_event_row *r);
/* Chain dir from seq `first` on, by seq (one row in memory at a time). */
HL_MUST_CHECK int hl_store_export_events(struct hl_store *st, int64_t peer_id, enum hl_dir dir,
                                         uint64_t first, hl_export_event_fn *fn, void *ctx);
/* Both chains (ours from first_out, the peer's from first_in) by creation time, dir, seq. */
HL_MUST_CHECK int hl_store_export_timeline(struct hl_store *st, int64_t peer_id, uint64_t first_out,
                                           uint64_t first_in, hl_export_event_fn *fn, void *ctx);

/* Hashes and signatures of the wrong length in the store come out as zeros (and fail checks). */
struct hl_export_head {
	uint64_t seq, at_ns; /* at_ns: when this station stored it (its clock) */
	uint8_t hash[HL_HASH_LEN], sig[HL_SIG_LEN];
};
typedef int hl_export_head_fn(void *ctx, const struct hl_export_head *h);
/* The peer's signed heads of its chain (heads, dir IN) with seq >= min_seq, by seq. */
HL_MUST_CHECK int hl_store_export_heads(struct hl_store *st, int64_t peer_id, uint64_t min_seq,
                                        hl_export_head_fn *fn, void *ctx);

struct hl_export_receipt {
	uint64_t at_ns;         /* when this station stored it */
	const uint8_t *entries; /* n entries of 40 bytes: seq u64 BE, hash: the signed bytes */
	size_t n;
	bool ragged; /* the stored blob was not a whole number of entries */
	uint8_t sig[HL_SIG_LEN];
};
typedef int hl_export_receipt_fn(void *ctx, const struct hl_export_receipt *r);
/* The peer's receipts for our events, whole, in the order they were stored. */
HL_MUST_CHECK int hl_store_export_receipts(struct hl_store *st, int64_t peer_id,
                                           hl_export_receipt_fn *fn, void *ctx);

struct hl_export_refusal {
	uint64_t seq;
	uint8_t hash[HL_HASH_LEN];
	const char *reason;      /* as the peer signed it */
	uint8_t sig[HL_SIG_LEN]; /* the peer's signature, kept in events.proof */
};
typedef int hl_export_refusal_fn(void *ctx, const struct hl_export_refusal *r);
/* The peer's refusals of our events with seq >= min_seq, by seq. */
HL_MUST_CHECK int hl_store_export_refusals(struct hl_store *st, int64_t peer_id, uint64_t min_seq,
                                           hl_export_refusal_fn *fn, void *ctx);

/* A checkpoints row: our statement, and the peer's once it answered. */
struct hl_export_checkpoint {
	int64_t id;
	int initiator; /* 0: this station, 1: the peer */
	uint64_t at_ns, our_seq, their_seq;
	uint8_t our_hash[HL_HASH_LEN], their_hash[HL_HASH_LEN], our_sig[HL_SIG_LEN];
	bool answered; /* the peer's statement is there (peer_sig not NULL) */
	/* the peer's statement: its hash of our chain (our_seq), then of its own (their_seq) */
	uint8_t peer_our_hash[HL_HASH_LEN], peer_their_hash[HL_HASH_LEN], peer_sig[HL_SIG_LEN];
	int status; /* 0 agreed, 1 mismatch, 2 waiting */
	const char *detail;
};
typedef int hl_export_checkpoint_fn(void *ctx, const struct hl_export_checkpoint *c);
/* Every checkpoint with the peer, by at_ns then id. */
HL_MUST_CHECK int hl_store_export_checkpoints(struct hl_store *st, int64_t peer_id,
                                              hl_export_checkpoint_fn *fn, void *ctx);

/* ---- link tests (store_link.c) ---- */

/*
 * One row of link_tests: a test this station made (HL_DIR_OUT, link = the
 * pinned address tested) or a peer's test it answered (HL_DIR_IN, link =
 * the session's remote IP:PORT). docs/protocol.md, "Link tests".
 */
#define HL_LINK_TEXT_MAX (HL_ADDR_MAX + 16)
#define HL_LINK_ERROR_MAX 64
struct hl_link_test_rec {
	uint64_t at_ns; /* when the test was made; 0: no test on record */
	bool ok;
	uint64_t rtt_us;               /* round trip, when ok (0 otherwise) */
	char error[HL_LINK_ERROR_MAX]; /* why it failed ("timeout", ...); "" when ok */
};
/*
 * Record a test, in the caller's transaction or on its own. HL_ERR_INVAL
 * for a dir other than 0 or 1, HL_ERR_NOTFOUND for an unknown peer,
 * HL_ERR_FULL, HL_ERR_IO.
 */
HL_MUST_CHECK int hl_store_link_test_add(struct hl_store *st, int64_t peer_id, enum hl_dir dir,
                                         const char *link, uint64_t at_ns, bool ok, uint64_t rtt_us,
                                         const char *error);
/*
 * The latest test of (peer_id, dir, link) into *last (at_ns 0 when there is
 * none) and when the latest successful one was made into *last_ok_ns (0
 * when none). Both are zeroed on entry.
 */
HL_MUST_CHECK int hl_store_link_test_last(struct hl_store *st, int64_t peer_id, enum hl_dir dir,
                                          const char *link, struct hl_link_test_rec *last,
                                          uint64_t *last_ok_ns);

/* ---- checkpoints (store_ckpt.c; docs/transcript.md) ---- */

enum hl_ckpt_status { HL_CKPT_AGREED = 0, HL_CKPT_MISMATCH = 1, HL_CKPT_WAITING = 2 };
const char *hl_ckpt_status_name(int status);

/*
 * One checkpoint with a peer, as stored: our statement (signer = us) and
 * the peer's about the same seqs, once it answered.
 */
struct hl_ckpt_rec {
	int initiator; /* 0: this station, 1: the peer */
	struct hl_ckpt_stmt ours, theirs;
	uint8_t our_sig[HL_SIG_LEN], their_sig[HL_SIG_LEN];
	bool have_theirs;
	int status;
	char detail[HL_REASON_MAX + 1];
};
/*
 * What this station can vouch for now: our chain up to the last seq the
 * peer has receipted all of (and its hash), the peer's chain up to the
 * last seq we hold all of. Zeros for "nothing yet".
 */
HL_MUST_CHECK int hl_store_ckpt_view(struct hl_store *st, int64_t peer_id, uint64_t *our_seq,
                                     uint8_t our_hash[static HL_HASH_LEN], uint64_t *their_seq,
                                     uint8_t their_hash[static HL_HASH_LEN]);
/* The hash of event seq of a chain (zeros for seq 0); false when we do not hold it. */
HL_MUST_CHECK int hl_store_chain_hash(struct hl_store *st, int64_t peer_id, enum hl_dir dir,
                                      uint64_t seq, uint8_t hash[static HL_HASH_LEN], bool *found);
/* Insert or update (by initiator and ours.at_ns) a checkpoint. */
HL_MUST_CHECK int hl_store_ckpt_save(struct hl_store *st, int64_t peer_id,
                                     const struct hl_ckpt_rec *c);
/*
 * The newest checkpoint with the peer (found false when none), when the
 * last agreed one was (0: never) and how many mismatches the record holds.
 */
HL_MUST_CHECK int hl_store_ckpt_last(struct hl_store *st, int64_t peer_id, struct hl_ckpt_rec *last,
                                     bool *found, uint64_t *last_agreed_ns, size_t *mismatches);

/* ---- talks (store_talks.c; docs/talks.md) ---- */

/*
 * The register of talks with peer_id, folded from the talks events of both
 * chains (reg is the caller's: release it with hl_talks_reg_free).
 * HL_ERR_IO, HL_ERR_NOMEM.
 */
HL_MUST_CHECK int hl_store_talks_load(struct hl_store *st, int64_t peer_id,
                                      struct hl_talks_reg *reg);

/*
 * Store records of the public record (a JSON array from
 * hl_talks_history_parse, each object stored as canonical JSON) for
 * peer_id, all in one transaction. A record whose id is already stored
 * with the same contents is left as it is (counted in *unchanged); with
 * other contents nothing is stored and HL_ERR_EXISTS names it in clash.
 */
HL_MUST_CHECK int hl_store_talks_import(struct hl_store *st, int64_t peer_id, const json_t *records,
                                        size_t *added, size_t *unchanged,
                                        char clash[static HL_TALKS_IMPORT_ID_MAX + 1]);
/*
 * The imported records of peer_id, by their dates then id: a new JSON
 * array of {"record": {...}, "imported_ns": N}. HL_ERR_IO, HL_ERR_NOMEM,
 * HL_ERR_CORRUPT (a stored record that is not JSON).
 */
HL_MUST_CHECK int hl_store_talks_imported(struct hl_store *st, int64_t peer_id, json_t **out);
/* ---- keys (store_keys.c; docs/keys.md) ---- */

/* key_history.state */
enum hl_key_state {
	HL_KEY_ANNOUNCED = 0,
	HL_KEY_RETIRED = 1,
	HL_KEY_REVOKED = 2,
	HL_KEY_CURRENT = 3
};

/* Fill p's key fields beyond key (next, retired, key_since_ns) from key_history. */
HL_MUST_CHECK int hl_store_peer_keys(struct hl_store *st, struct hl_peer_rec *p);
/*
 * Revoke the peer's key now, with a reason (one line): HL_ERR_NOTFOUND,
 * HL_ERR_EXISTS when it is revoked already (*at_ns says since when).
 */
HL_MUST_CHECK int hl_store_peer_revoke(struct hl_store *st, const char *name, const char *reason,
                                       uint64_t *at_ns);
/*
 * Pin key as the peer's key from now on, exchanged out of band (the undo of
 * a revocation, or a peer that lost its key): the revocation is cleared, the
 * former key kept in the history (revoked if it was, retired otherwise), an
 * announced key forgotten; a rotation of ours under way is announced to the
 * peer if it was not yet. *same: key was the pinned one (only the
 * revocation is cleared). HL_ERR_NOTFOUND; HL_ERR_EXISTS when another peer
 * has that key.
 */
HL_MUST_CHECK int hl_store_peer_repin(struct hl_store *st, const char *name,
                                      const struct hl_pubkey *key, bool *same);
/*
 * The peer has shown its announced key x25519 in a handshake: it switched.
 * In the caller's transaction: that key becomes the pinned one, the former
 * one is retired. HL_OK too when it is already done (a repeated proof).
 */
HL_MUST_CHECK int hl_store_peer_key_switch(struct hl_store *st, int64_t peer_id,
                                           const uint8_t x25519[static 32]);

/* One of this station's own rotations (the rotations table). */
struct hl_rotation_rec {
	int64_t id;
	struct hl_rotation r; /* the statement, parsed */
	uint8_t stmt[HL_ROTATION_MAX];
	size_t stmt_len;
	char operator_name[HL_OPERATOR_MAX + 1];
	uint64_t started_ns, switched_ns; /* switched_ns 0: still waiting for receipts */
};
/*
 * Start a rotation of ours, in the caller's transaction: record the signed
 * statement (whose old key must be the current one: the caller checks) and
 * queue a KEY event with it to every peer not revoked. *existed: this very
 * statement was recorded before (a retry): nothing changes. HL_ERR_BUSY
 * when another rotation is under way; HL_ERR_INVAL for a statement that
 * does not parse. *npeers: the peers it goes to.
 */
HL_MUST_CHECK int hl_store_rotation_start(struct hl_store *st, const uint8_t *stmt, size_t len,
                                          const char *operator_name, bool *existed, size_t *npeers);
/* The rotation under way (*found false when none). */
HL_MUST_CHECK int hl_store_rotation_pending(struct hl_store *st, struct hl_rotation_rec *out,
                                            bool *found);
/* The latest rotation that switched (*found false when none). */
HL_MUST_CHECK int hl_store_rotation_last(struct hl_store *st, struct hl_rotation_rec *out,
                                         bool *found);
/*
 * Each peer's part in rotation r: fn(name, state, msg_id, revoked) with the
 * state of the KEY event to it (enum hl_state; -1 when it has none), for
 * every peer. *waiting counts the peers not revoked whose event is neither
 * delivered nor acknowledged: the station switches when it reaches 0.
 */
HL_MUST_CHECK int hl_store_rotation_peers(struct hl_store *st, const struct hl_rotation_rec *r,
                                          void (*fn)(void *ctx, const char *peer, int state,
                                                     const char *msg_id, bool revoked),
                                          void *ctx, size_t *waiting);
/*
 * Queue the KEY event of the rotation under way to every peer not revoked
 * that has none yet (a peer pinned or re-pinned meanwhile), in the
 * caller's transaction; *added (may be NULL) counts them. HL_OK when no
 * rotation is under way.
 */
HL_MUST_CHECK int hl_store_rotation_notify_all(struct hl_store *st, size_t *added);
/* Rotation id switched at at_ns: its old key is history. */
HL_MUST_CHECK int hl_store_rotation_switched(struct hl_store *st, int64_t id, uint64_t at_ns);

/*
 * The keys a record with one peer may carry signatures of, oldest first
 * (docs/transcript.md): this station's (each rotation's old key, then
 * ours, the current one) and the peer's (its key history but announced
 * keys, the pinned key last). since_seq: the seq of the KEY event that
 * introduced the key (in chain out for ours, chain in for the peer's), 0
 * for a key pinned out of band or the first one.
 */
#define HL_RING_MAX 64
struct hl_keyring {
	size_t n;
	struct hl_ring_key {
		uint8_t ed25519[32];
		uint64_t since_seq;
	} k[HL_RING_MAX];
};
HL_MUST_CHECK int hl_store_key_rings(struct hl_store *st, int64_t peer_id,
                                     const uint8_t ours[static 32], struct hl_keyring *station,
                                     struct hl_keyring *peer);

/* ---- backups (store_backup.c; docs/operations.md, "Backups") ---- */

/* What a store file holds, as read by hl_store_inspect. */
struct hl_store_info {
	int schema;         /* PRAGMA user_version */
	uint64_t bytes;     /* the database's size (pages x page size) */
	uint64_t peers;     /* rows of peers */
	uint64_t events;    /* rows of events, both chains of every peer (0 before schema 2) */
	uint64_t newest_ns; /* when the newest event was stored here (this station's clock) */
	char integrity[HL_REASON_MAX + 1]; /* "ok", or the first problem integrity_check found */
};

/*
 * Read a store file (read-only, never migrated) into *info: its schema,
 * counts and PRAGMA integrity_check. HL_ERR_CORRUPT (err says why) when it
 * is not a hotline store: not SQLite, no schema, no peers table, or a
 * failed integrity check (info->integrity then says what failed);
 * HL_ERR_NOTFOUND when there is no file; HL_ERR_IO.
 */
HL_MUST_CHECK int hl_store_inspect(const char *path, struct hl_store_info *info, char *err,
                                   size_t errcap);

/*
 * A consistent online copy of the store at src_path into dst_path, with
 * SQLite's backup API inside one read transaction of src (a WAL reader: a
 * daemon writing meanwhile is not blocked, and the copy is the snapshot of
 * that instant). The copy is written to dst_path.tmp as a single file
 * (rollback journal, no -wal), checked, fsync'd and renamed to dst_path;
 * a crash leaves at most a stale .tmp, never a half dst_path. An existing
 * dst_path is HL_ERR_EXISTS unless force. *info describes the copy.
 * HL_ERR_CORRUPT when the copy fails integrity_check (nothing is left).
 */
HL_MUST_CHECK int hl_store_backup(const char *src_path, const char *dst_path, bool force,
                                  struct hl_store_info *info, char *err, size_t errcap);

/*
 * Put the backup at src_path in place of the store at dst_path (whose
 * station's lock the caller holds exclusively: no daemon, no CLI writer).
 * The backup must be a hotline store with a schema this binary knows
 * (HL_ERR_CORRUPT, HL_ERR_LIMIT for a newer schema). A store already at
 * dst_path that is newer than the backup (more events, or a newer newest
 * event: *cur says) is HL_ERR_EXISTS unless force; one that cannot be read
 * too. *bk and *cur (cur->schema -1: no store there) describe both. The
 * store is not migrated here: hl_store_open does that. The order of the
 * file operations is explained above the function.
 */
HL_MUST_CHECK int hl_store_restore(const char *src_path, const char *dst_path, bool force,
                                   struct hl_store_info *bk, struct hl_store_info *cur, char *err,
                                   size_t errcap);

#endif
