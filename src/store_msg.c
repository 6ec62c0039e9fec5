/* SPDX-License-Identifier: ISC */
/*
 * store_msg.c: channels and the two chains of events, behind store.h.
 *
 * Commit points (why nothing is lost or doubled):
 * - hl_store_append commits the event before `send` returns: durable at the
 *   sender before it can reach the wire.
 * - hl_store_receive runs inside the daemon's batch transaction, and the
 *   receipt for it leaves only after that COMMIT returned.
 * - A seq is stored once per direction (primary key); a retransmission is
 *   answered from what is stored, never stored again.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"
#include "talks.h"
#include "wire.h"
#include "store_impl.h"

static const char *const state_names[] = {"queued",       "sent",    "delivered",
                                          "acknowledged", "refused", "received"};

const char *
hl_state_name(int state)
{
	return state >= 0 && state < (int)ARRAY_SIZE(state_names) ? state_names[state] : "?";
}

/*
 * A statement for sql, which must be a string literal (or otherwise live
 * and unchanged for the store's lifetime): statements are prepared once
 * and cached by the string's address, then reset by hl_store_finish(). Preparing
 * every time cost more than the work in this path.
 */
int
hl_store_prepare(struct hl_store *st, const char *sql, sqlite3_stmt **q)
{
	for (size_t i = 0; i < st->ncached; i++)
		if (st->cache[i].sql == sql) {
			*q = st->cache[i].stmt;
			return HL_OK;
		}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, q, NULL) != SQLITE_OK) {
		log_warn("store_error", "op=prepare err=\"%s\"", sqlite3_errmsg(st->db));
		*q = NULL;
		return HL_ERR_IO;
	}
	if (st->ncached < ARRAY_SIZE(st->cache)) {
		st->cache[st->ncached].sql = sql;
		st->cache[st->ncached].stmt = *q;
		st->ncached++;
	}
	return HL_OK;
}

/* Done with a statement from hl_store_prepare(): reset a cached one, finalize the rest. */
void
hl_store_finish(struct hl_store *st, sqlite3_stmt *q)
{
	for (size_t i = 0; i < st->ncached; i++)
		if (st->cache[i].stmt == q) {
			sqlite3_reset(q);
			sqlite3_clear_bindings(q);
			return;
		}
	sqlite3_finalize(q);
}

static void text(sqlite3_stmt *q, int col, char *out, size_t cap);
static int revoked_why(struct hl_store *st, int64_t peer_id, char why[static HL_REASON_MAX + 1]);

static int64_t
peer_id_of(struct hl_store *st, const char *name)
{
	sqlite3_stmt *q;
	int64_t id = -1;

	if (hl_store_prepare(st, "SELECT id FROM peers WHERE name = ?", &q) < 0)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	hl_store_finish(st, q);
	return id;
}

/* The peer's name as pinned here (out left as is when unknown). */
static void
peer_name_of(struct hl_store *st, int64_t peer_id, char out[static HL_NAME_MAX + 1])
{
	sqlite3_stmt *q;

	if (hl_store_prepare(st, "SELECT name FROM peers WHERE id = ?", &q) < 0)
		return;
	sqlite3_bind_int64(q, 1, peer_id);
	if (sqlite3_step(q) == SQLITE_ROW)
		text(q, 0, out, HL_NAME_MAX + 1);
	hl_store_finish(st, q);
}

int
hl_store_channel_add(struct hl_store *st, const char *peer, const char *name, bool no_suspend)
{
	sqlite3_stmt *q;
	int64_t id = peer_id_of(st, peer);
	int rc;

	if (id < 0)
		return HL_ERR_NOTFOUND;
	if ((rc = hl_store_prepare(st,
	                           "INSERT INTO channels (peer_id, name, created_ns, no_suspend)"
	                           " VALUES (?,?,?,?)",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)hl_wall_ns());
	sqlite3_bind_int(q, 4, no_suspend);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

void
hl_store_set_self(struct hl_store *st, const char *name)
{
	snprintf(st->self, sizeof st->self, "%s", name);
}

static const char *
self_name(const struct hl_store *st)
{
	return st->self[0] ? st->self : "this station";
}

/*
 * One side's suspension of a channel (dir OUT: ours, IN: the peer's), as of
 * just before seq in that side's chain (INT64_MAX: as of now).
 */
static int
suspension(struct hl_store *st, int64_t peer_id, const char *channel, int dir, int64_t before,
           struct hl_suspension *out)
{
	sqlite3_stmt *q;
	int rc, s;

	memset(out, 0, sizeof *out);
	if ((rc = hl_store_prepare(st,
	                           "SELECT kind, operator, body, created_ns, msg_id, state"
	                           " FROM events INDEXED BY events_notices WHERE peer_id = ?"
	                           " AND channel = ? AND dir = ? AND kind IN (3, 4) AND seq < ?"
	                           " AND state != 4 ORDER BY seq DESC LIMIT 1",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_text(q, 2, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, dir);
	sqlite3_bind_int64(q, 4, before);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW && sqlite3_column_int(q, 0) == HL_EV_SUSPEND) {
		int blen = sqlite3_column_bytes(q, 2);
		out->active = true;
		text(q, 1, out->operator_name, sizeof out->operator_name);
		if (blen > HL_REASON_MAX)
			blen = HL_REASON_MAX;
		if (blen > 0)
			memcpy(out->reason, sqlite3_column_blob(q, 2), (size_t)blen);
		out->reason[blen > 0 ? blen : 0] = '\0';
		out->since_ns = (uint64_t)sqlite3_column_int64(q, 3);
		text(q, 4, out->notice_id, sizeof out->notice_id);
		out->notice_state = sqlite3_column_int(q, 5);
	}
	hl_store_finish(st, q);
	return s == SQLITE_ROW || s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

/* The channel's row: HL_ERR_NOTFOUND when the peer has no such channel. */
static int
channel_get(struct hl_store *st, int64_t peer_id, const char *name, bool *no_suspend)
{
	sqlite3_stmt *q;
	int rc, s;

	if ((rc = hl_store_prepare(
	         st, "SELECT no_suspend FROM channels WHERE peer_id = ? AND name = ?", &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW)
		*no_suspend = sqlite3_column_int(q, 0) != 0;
	hl_store_finish(st, q);
	return s == SQLITE_ROW ? HL_OK : s == SQLITE_DONE ? HL_ERR_NOTFOUND : HL_ERR_IO;
}

int
hl_store_channel_list(struct hl_store *st, const char *peer, struct hl_channel_rec **out, size_t *n)
{
	sqlite3_stmt *q;
	struct hl_channel_rec *v = NULL;
	int64_t *ids = NULL;
	size_t cnt = 0;
	int rc = HL_OK, s;

	*out = NULL;
	*n = 0;
	if ((rc = hl_store_prepare(st,
	                           "SELECT p.name, c.name, c.created_ns, c.no_suspend, c.peer_id"
	                           " FROM channels c JOIN peers p ON p.id = c.peer_id"
	                           " WHERE ?1 IS NULL OR p.name = ?1 ORDER BY p.name, c.name",
	                           &q)) < 0)
		return rc;
	if (peer)
		sqlite3_bind_text(q, 1, peer, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		struct hl_channel_rec *nv = realloc(v, (cnt + 1) * sizeof *v);
		int64_t *ni = realloc(ids, (cnt + 1) * sizeof *ids);
		if (nv)
			v = nv;
		if (ni)
			ids = ni;
		if (!nv || !ni) {
			rc = HL_ERR_NOMEM;
			break;
		}
		memset(&v[cnt], 0, sizeof v[cnt]);
		text(q, 0, v[cnt].peer, sizeof v[cnt].peer);
		text(q, 1, v[cnt].name, sizeof v[cnt].name);
		v[cnt].created_ns = (uint64_t)sqlite3_column_int64(q, 2);
		v[cnt].no_suspend = sqlite3_column_int(q, 3) != 0;
		ids[cnt] = sqlite3_column_int64(q, 4);
		cnt++;
	}
	hl_store_finish(st, q);
	if (rc == HL_OK && s != SQLITE_DONE)
		rc = HL_ERR_IO;
	for (size_t i = 0; rc == HL_OK && i < cnt; i++)
		if ((rc = suspension(st, ids[i], v[i].name, HL_DIR_OUT, INT64_MAX, &v[i].by_us)) ==
		    HL_OK)
			rc = suspension(st, ids[i], v[i].name, HL_DIR_IN, INT64_MAX, &v[i].by_peer);
	free(ids);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return HL_OK;
}

/* Append to a reason buffer (HL_REASON_MAX + 1 bytes), cutting what does not fit. */
static void HL_PRINTF(2, 3) say(char *why, const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why + used, HL_REASON_MAX + 1 - used, fmt, ap);
	va_end(ap);
}

/* "channel 'C' is suspended by NAME (operator OP) since TIME: REASON" */
static void
describe(char *why, const char *channel, const char *by, const struct hl_suspension *s)
{
	char at[32];

	hl_iso_time(s->since_ns, at);
	say(why, "channel '%s' is suspended by %s (operator %s) since %s: %s", channel, by,
	    s->operator_name, at, s->reason);
}

int
hl_store_check_new(struct hl_store *st, int64_t peer_id, const struct hl_event *ev,
                   char why[static HL_REASON_MAX + 1])
{
	struct hl_suspension ours, theirs;
	bool no_suspend = false;
	char peer[HL_NAME_MAX + 1] = "the peer";
	int rc;

	why[0] = '\0';
	peer_name_of(st, peer_id, peer);
	if (hl_store_restored(st, peer)) {
		/* A seq of ours the peer may already hold from before the backup: never fork. */
		say(why,
		    "this station's store was restored from a backup: it first takes back its "
		    "chain "
		    "to %s from %s, at the next link-up; try again once the link is up",
		    peer, peer);
		return HL_ERR_INVAL;
	}
	snprintf(peer, sizeof peer, "the peer");
	if (ev->kind == HL_EV_ACK)
		return HL_OK; /* answers to what was delivered always travel */
	if (ev->kind == HL_EV_KEY) {
		say(why, "a key rotation notice is made by 'hotline key rotate' only");
		return HL_ERR_INVAL;
	}
	if ((rc = revoked_why(st, peer_id, why)) != HL_OK)
		return rc;
	if ((rc = channel_get(st, peer_id, ev->channel, &no_suspend)) == HL_ERR_NOTFOUND) {
		say(why, "no channel '%s' to that peer: see 'hotline channel list'", ev->channel);
		return rc;
	}
	if (rc < 0 || (rc = suspension(st, peer_id, ev->channel, HL_DIR_OUT, INT64_MAX, &ours)) < 0)
		return rc;
	switch (ev->kind) {
	case HL_EV_MESSAGE:
	case HL_EV_TALKS:
		if (!ours.active)
			return HL_OK; /* the peer's suspension: it answers with its signed refusal
			               */
		peer_name_of(st, peer_id, peer);
		describe(why, ev->channel, self_name(st), &ours);
		say(why, " (resume it with 'hotline resume %s %s')", peer, ev->channel);
		return HL_ERR_INVAL;
	case HL_EV_SUSPEND:
		if (no_suspend) {
			say(why, "channel '%s' cannot be suspended: it was added with --no-suspend",
			    ev->channel);
			return HL_ERR_INVAL;
		}
		if (ours.active) {
			describe(why, ev->channel, self_name(st), &ours);
			say(why, " (already)");
			return HL_ERR_INVAL;
		}
		return HL_OK;
	case HL_EV_RESUME:
		if (ours.active)
			return HL_OK;
		if ((rc = suspension(st, peer_id, ev->channel, HL_DIR_IN, INT64_MAX, &theirs)) < 0)
			return rc;
		peer_name_of(st, peer_id, peer);
		if (theirs.active) {
			describe(why, ev->channel, peer, &theirs);
			say(why, ". Only %s can resume it: ask its operators on another channel",
			    peer);
		} else {
			say(why, "channel '%s' is not suspended", ev->channel);
		}
		return HL_ERR_INVAL;
	default:
		return HL_ERR_INVAL;
	}
}

/* A revoked peer takes no new messages or notices: HL_ERR_INVAL, and why. */
static int
revoked_why(struct hl_store *st, int64_t peer_id, char why[static HL_REASON_MAX + 1])
{
	sqlite3_stmt *q;
	char at[32], name[HL_NAME_MAX + 1] = "", reason[HL_NOTICE_REASON_MAX + 1] = "";
	uint64_t revoked = 0;
	int rc, s;

	if ((rc = hl_store_prepare(
	         st, "SELECT name, revoked_ns, revoked_reason FROM peers WHERE id = ?", &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		text(q, 0, name, sizeof name);
		revoked = (uint64_t)sqlite3_column_int64(q, 1);
		text(q, 2, reason, sizeof reason);
	}
	hl_store_finish(st, q);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return HL_ERR_IO;
	if (!revoked)
		return HL_OK;
	hl_iso_time(revoked, at);
	say(why,
	    "the key of peer %s was revoked at %s (%s): nothing goes to it until its key is "
	    "re-pinned ('hotline peer repin')",
	    name, at, reason);
	return HL_ERR_INVAL;
}

/*
 * Why we refuse the peer's event (why empty: we accept it). Our suspension
 * counts as of now; the peer's as of the event's place in its chain.
 */
static int
receive_verdict(struct hl_store *st, int64_t peer_id, const struct hl_event *ev,
                char why[static HL_REASON_MAX + 1])
{
	struct hl_suspension ours, theirs;
	bool no_suspend = false;
	char peer[HL_NAME_MAX + 1] = "the peer";
	int rc;

	if (ev->kind == HL_EV_ACK)
		return HL_OK;
	if (ev->kind == HL_EV_KEY)
		return hl_store_key_verdict(st, peer_id, ev, why);
	if (ev->kind == HL_EV_TALKS) {
		struct hl_talks_body b = {0};
		char err[HL_TALKS_ERR_MAX] = "";
		if (strcmp(ev->media_type, HL_TALKS_MEDIA) != 0 || !ev->operator_name[0])
			snprintf(err, sizeof err, "media type %s and an operator are required",
			         HL_TALKS_MEDIA);
		else if ((rc = hl_talks_body_decode(ev->body, ev->body_len, &b, err, sizeof err)) ==
		         HL_ERR_NOMEM)
			return rc;
		hl_talks_body_free(&b);
		if (err[0]) {
			say(why, "talks event refused: %s", err);
			hl_field_clean(why); /* it may quote the peer's bytes */
			return HL_OK;
		}
	} else if (ev->kind != HL_EV_MESSAGE &&
	           (ev->body_len > HL_NOTICE_REASON_MAX ||
	            !hl_field_valid((const char *)ev->body, ev->body_len))) {
		say(why, "a notice's reason must be one line of UTF-8 text of at most %d bytes",
		    HL_NOTICE_REASON_MAX);
		return HL_OK;
	}
	if ((rc = channel_get(st, peer_id, ev->channel, &no_suspend)) == HL_ERR_NOTFOUND) {
		say(why,
		    "no channel '%s' with this station here: ask its operator to run "
		    "'hotline channel add'",
		    ev->channel);
		return HL_OK;
	}
	if (rc < 0 ||
	    (rc = suspension(st, peer_id, ev->channel, HL_DIR_OUT, INT64_MAX, &ours)) < 0 ||
	    (rc = suspension(st, peer_id, ev->channel, HL_DIR_IN, (int64_t)ev->seq, &theirs)) < 0)
		return rc;
	if (theirs.active || ev->kind == HL_EV_RESUME)
		peer_name_of(st, peer_id, peer);
	switch (ev->kind) {
	case HL_EV_MESSAGE:
	case HL_EV_TALKS:
		if (ours.active)
			describe(why, ev->channel, self_name(st), &ours);
		else if (theirs.active)
			describe(why, ev->channel, peer, &theirs);
		break;
	case HL_EV_SUSPEND:
		if (no_suspend)
			say(why, "channel '%s' cannot be suspended: %s configured it --no-suspend",
			    ev->channel, self_name(st));
		break;
	case HL_EV_RESUME:
		if (!theirs.active)
			say(why,
			    "channel '%s' is not suspended by %s: only the station that "
			    "suspended a channel can resume it",
			    ev->channel, peer);
		break;
	}
	return HL_OK;
}

int
hl_store_insert_event(struct hl_store *st, int64_t peer_id, int dir, const struct hl_event *ev,
                      const uint8_t hash[static HL_HASH_LEN], int state, uint64_t received_ns,
                      const char *reason, const uint8_t *token)
{
	sqlite3_stmt *q;
	char id[HL_MSGID_LEN + 1];
	int rc;

	hl_event_id(hash, id);
	if ((rc = hl_store_prepare(
	         st,
	         "INSERT INTO events (peer_id, dir, seq, msg_id, hash, prev, kind,"
	         " precedence, created_ns, deadline_ns, channel, media_type, operator,"
	         " ref_seq, ref_hash, body, state, received_ns, reason, client_token)"
	         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	         &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, dir);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)ev->seq);
	sqlite3_bind_text(q, 4, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 5, hash, HL_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(q, 6, ev->prev, HL_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int(q, 7, ev->kind);
	sqlite3_bind_int(q, 8, ev->precedence);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)ev->created_ns);
	sqlite3_bind_int64(q, 10, (sqlite3_int64)ev->deadline_ns);
	sqlite3_bind_text(q, 11, ev->channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 12, ev->media_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 13, ev->operator_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 14, (sqlite3_int64)ev->ref_seq);
	sqlite3_bind_blob(q, 15, ev->ref_hash, HL_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(q, 16, ev->body_len ? (const void *)ev->body : "", (int)ev->body_len,
	                  SQLITE_STATIC);
	sqlite3_bind_int(q, 17, state);
	sqlite3_bind_int64(q, 18, (sqlite3_int64)received_ns);
	sqlite3_bind_text(q, 19, reason ? reason : "", -1, SQLITE_STATIC);
	if (token)
		sqlite3_bind_blob(q, 20, token, HL_TOKEN_LEN, SQLITE_STATIC);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

/* Append ev to our chain to peer_id, with the sender's retry token (NULL: none). */
static int
append_event(struct hl_store *st, int64_t peer_id, struct hl_event *ev,
             uint8_t hash[static HL_HASH_LEN], const uint8_t *token)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st,
	                           "SELECT seq, hash FROM events WHERE peer_id = ? AND dir = 0"
	                           " ORDER BY seq DESC LIMIT 1",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	ev->seq = 1;
	memset(ev->prev, 0, HL_HASH_LEN);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		ev->seq = (uint64_t)sqlite3_column_int64(q, 0) + 1;
		if (sqlite3_column_bytes(q, 1) == HL_HASH_LEN)
			memcpy(ev->prev, sqlite3_column_blob(q, 1), HL_HASH_LEN);
	}
	hl_store_finish(st, q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return HL_ERR_IO;
	hl_event_hash(ev, hash);
	return hl_store_insert_event(st, peer_id, HL_DIR_OUT, ev, hash, HL_ST_QUEUED, 0, NULL,
	                             token);
}

int
hl_store_append_locked(struct hl_store *st, int64_t peer_id, struct hl_event *ev,
                       uint8_t hash[static HL_HASH_LEN])
{
	return append_event(st, peer_id, ev, hash, NULL);
}

int
hl_store_append_once(struct hl_store *st, int64_t peer_id, struct hl_event *ev,
                     const uint8_t token[static HL_TOKEN_LEN], bool retry,
                     uint8_t hash[static HL_HASH_LEN], bool *existed,
                     char why[static HL_REASON_MAX + 1])
{
	sqlite3_stmt *q;
	int rc, s = SQLITE_DONE;

	*existed = false;
	why[0] = '\0';
	/*
	 * Only a retry can find its event already there, and it comes within
	 * seconds of the first attempt: look among our newest events, by the
	 * primary key, so the token needs no index of its own (one page fewer
	 * in every append's commit).
	 */
	if (retry) {
		if ((rc = hl_store_prepare(
		         st,
		         "SELECT seq, hash FROM events WHERE peer_id = ?1 AND dir = 0"
		         " AND seq > (SELECT coalesce(max(seq), 0) FROM events"
		         " WHERE peer_id = ?1 AND dir = 0) - 100000 AND client_token = ?2",
		         &q)) < 0)
			return rc;
		sqlite3_bind_int64(q, 1, peer_id);
		sqlite3_bind_blob(q, 2, token, HL_TOKEN_LEN, SQLITE_STATIC);
		s = sqlite3_step(q);
		if (s == SQLITE_ROW) {
			ev->seq = (uint64_t)sqlite3_column_int64(q, 0);
			hl_store_col_hash(q, 1, hash);
			*existed = true;
		}
		hl_store_finish(st, q);
	}
	if (s == SQLITE_ROW)
		return HL_OK;
	if (s != SQLITE_DONE)
		return HL_ERR_IO;
	/* Checked after the retry lookup: a retry of what landed gets its event, not a verdict. */
	if ((rc = hl_store_check_new(st, peer_id, ev, why)) < 0)
		return rc;
	return append_event(st, peer_id, ev, hash, token);
}

static int
on_wal_commit(void *ctx, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	((struct hl_store *)ctx)->wal_pages = pages;
	return SQLITE_OK;
}

void
hl_store_autocheckpoint(struct hl_store *st, bool on)
{
	if (on)
		sqlite3_wal_autocheckpoint(st->db, 1000);
	else
		sqlite3_wal_hook(st->db, on_wal_commit, st); /* (replaces the automatic one) */
}

int
hl_store_wal_pages(const struct hl_store *st)
{
	return st->wal_pages;
}

void
hl_store_wal_presize(struct hl_store *st, uint64_t bytes)
{
	static const char zeros[65536];
	sqlite3_filename db = sqlite3_db_filename(st->db, "main");
	const char *wal = db ? sqlite3_filename_wal(db) : NULL;
	struct statvfs vfs;
	struct stat sb;
	int fd;

	/* Under the write lock: nobody appends frames while the file grows. */
	if (!wal || !*wal || hl_store_begin(st) < 0)
		return;
	fd = open(wal, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &sb) == 0 && fstatvfs(fd, &vfs) == 0) {
		uint64_t room = (uint64_t)vfs.f_bavail * vfs.f_frsize / 8;
		uint64_t want = bytes < room ? bytes : room;
		off_t at = sb.st_size;
		while ((uint64_t)at < want) {
			size_t n = want - (uint64_t)at < sizeof zeros
			               ? (size_t)(want - (uint64_t)at)
			               : sizeof zeros;
			ssize_t w = pwrite(fd, zeros, n, at);
			if (w <= 0)
				break;
			at += w;
		}
		if (at > sb.st_size && ((uint64_t)at < want || fdatasync(fd) != 0))
			(void)!ftruncate(fd, sb.st_size); /* as it was */
	}
	if (fd >= 0)
		close(fd);
	hl_store_rollback(st);
}

void
hl_store_memory_temp(struct hl_store *st)
{
	(void)hl_store_exec(st, "PRAGMA temp_store = MEMORY");
}

void
hl_store_checkpoint(struct hl_store *st)
{
	int log = 0, done = 0;

	if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) !=
	    SQLITE_OK)
		log_debug("checkpoint_failed", "err=\"%s\"", sqlite3_errmsg(st->db));
}

/*
 * A literal statement with no result, prepared once (the cache): parsing
 * BEGIN, COMMIT and the savepoints every time cost more than the work of
 * a FLASH message's whole transaction.
 */
static int
run_cached(struct hl_store *st, const char *sql)
{
	sqlite3_stmt *q;
	int rc = hl_store_prepare(st, sql, &q);

	if (rc < 0)
		return rc;
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

int
hl_store_begin(struct hl_store *st)
{
	return run_cached(st, "BEGIN IMMEDIATE");
}

int
hl_store_commit(struct hl_store *st)
{
	int rc = run_cached(st, "COMMIT");

	if (rc < 0)
		hl_store_rollback(st);
	if (rc == HL_ERR_DISK)
		hl_store_bury_failed_commit(st);
	return rc;
}

void
hl_store_rollback(struct hl_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int
hl_store_append(struct hl_store *st, int64_t peer_id, struct hl_event *ev,
                uint8_t hash[static HL_HASH_LEN])
{
	int rc = hl_store_begin(st);

	if (rc < 0)
		return rc;
	rc = hl_store_append_locked(st, peer_id, ev, hash);
	if (rc < 0) {
		hl_store_rollback(st);
		return rc;
	}
	return hl_store_commit(st);
}

void
hl_store_col_hash(sqlite3_stmt *q, int col, uint8_t out[static HL_HASH_LEN])
{
	memset(out, 0, HL_HASH_LEN);
	if (sqlite3_column_bytes(q, col) == HL_HASH_LEN)
		memcpy(out, sqlite3_column_blob(q, col), HL_HASH_LEN);
}

static void
text(sqlite3_stmt *q, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int
read_row(sqlite3_stmt *q, struct hl_event_row *r, uint64_t now)
{
	int blen;

	memset(r, 0, sizeof *r);
	text(q, 0, r->peer, sizeof r->peer);
	r->peer_id = sqlite3_column_int64(q, 1);
	r->dir = sqlite3_column_int(q, 2);
	r->state = sqlite3_column_int(q, 3);
	text(q, 4, r->msg_id, sizeof r->msg_id);
	hl_store_col_hash(q, 5, r->hash);
	r->ev.seq = (uint64_t)sqlite3_column_int64(q, 6);
	hl_store_col_hash(q, 7, r->ev.prev);
	r->ev.kind = (uint8_t)sqlite3_column_int(q, 8);
	r->ev.precedence = (uint8_t)sqlite3_column_int(q, 9);
	r->ev.created_ns = (uint64_t)sqlite3_column_int64(q, 10);
	r->ev.deadline_ns = (uint64_t)sqlite3_column_int64(q, 11);
	text(q, 12, r->ev.channel, sizeof r->ev.channel);
	text(q, 13, r->ev.media_type, sizeof r->ev.media_type);
	text(q, 14, r->ev.operator_name, sizeof r->ev.operator_name);
	r->ev.ref_seq = (uint64_t)sqlite3_column_int64(q, 15);
	hl_store_col_hash(q, 16, r->ev.ref_hash);
	blen = sqlite3_column_bytes(q, 17);
	r->body = malloc((size_t)blen + 1);
	if (!r->body)
		return HL_ERR_NOMEM;
	if (blen)
		memcpy(r->body, sqlite3_column_blob(q, 17), (size_t)blen);
	r->body[blen] = '\0';
	r->ev.body = r->body;
	r->ev.body_len = (uint32_t)blen;
	r->received_ns = (uint64_t)sqlite3_column_int64(q, 18);
	r->sent_ns = (uint64_t)sqlite3_column_int64(q, 19);
	r->delivered_ns = (uint64_t)sqlite3_column_int64(q, 20);
	r->acked_ns = (uint64_t)sqlite3_column_int64(q, 21);
	text(q, 22, r->acked_by, sizeof r->acked_by);
	text(q, 23, r->reason, sizeof r->reason);
	r->refused_ns = (uint64_t)sqlite3_column_int64(q, 24);
	r->overdue =
	    r->ev.kind == HL_EV_MESSAGE && r->ev.deadline_ns && now > r->ev.deadline_ns &&
	    (r->dir == HL_DIR_OUT ? r->state <= HL_ST_DELIVERED : r->state == HL_ST_RECEIVED);
	return HL_OK;
}

int
hl_store_read_rows(struct hl_store *st, sqlite3_stmt *q, struct hl_event_row **rows, size_t *n)
{
	struct hl_event_row *v = NULL;
	size_t cnt = 0, cap = 0;
	uint64_t now = hl_wall_ns();
	int s, rc = HL_OK;

	*rows = NULL;
	*n = 0;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct hl_event_row *nv = realloc(v, ncap * sizeof *v);
			if (!nv) {
				rc = HL_ERR_NOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		if ((rc = read_row(q, &v[cnt], now)) < 0)
			break;
		cnt++;
	}
	if (rc == HL_OK && s != SQLITE_DONE)
		rc = HL_ERR_IO;
	hl_store_finish(st, q);
	if (rc < 0) {
		hl_event_rows_free(v, cnt);
		return rc;
	}
	*rows = v;
	*n = cnt;
	return HL_OK;
}

void
hl_event_rows_free(struct hl_event_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].body);
	free(rows);
}

int
hl_store_list(struct hl_store *st, enum hl_dir dir, bool all, struct hl_event_row **rows, size_t *n)
{
	sqlite3_stmt *q;
	int rc;

	/* Inbox: unacknowledged first, then precedence, then time; acks are not messages. */
	if ((rc = hl_store_prepare(
	         st,
	         dir == HL_DIR_OUT ? "SELECT " ROW_COLUMNS "WHERE e.dir = 0 AND e.kind = 1"
	                             " ORDER BY e.created_ns, e.seq"
	                           : "SELECT " ROW_COLUMNS "WHERE e.dir = 1 AND e.kind = 1"
	                             " AND (?1 OR e.state = 5)"
	                             " ORDER BY e.state != 5, e.precedence, e.created_ns, e.seq",
	         &q)) < 0)
		return rc;
	if (dir == HL_DIR_IN)
		sqlite3_bind_int(q, 1, all);
	return hl_store_read_rows(st, q, rows, n);
}

int
hl_store_find(struct hl_store *st, const char *msg_id, struct hl_event_row **rows, size_t *n)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st, "SELECT " ROW_COLUMNS "WHERE e.msg_id = ? ORDER BY e.dir",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_text(q, 1, msg_id, -1, SQLITE_STATIC);
	return hl_store_read_rows(st, q, rows, n);
}

int
hl_store_talks_events(struct hl_store *st, int64_t peer_id, struct hl_event_row **rows, size_t *n)
{
	sqlite3_stmt *q;
	int rc;

	/* kind 6 spelled out: the planner uses the partial index events_talks only so */
	if ((rc = hl_store_prepare(st,
	                           "SELECT " ROW_COLUMNS "WHERE e.peer_id = ? AND e.kind = 6"
	                           " ORDER BY e.dir, e.seq",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	return hl_store_read_rows(st, q, rows, n);
}

int
hl_store_event_get(struct hl_store *st, int64_t peer_id, enum hl_dir dir, uint64_t seq,
                   struct hl_event_row **row)
{
	sqlite3_stmt *q;
	size_t n = 0;
	int rc;

	*row = NULL;
	if ((rc = hl_store_prepare(
	         st, "SELECT " ROW_COLUMNS "WHERE e.peer_id = ? AND e.dir = ? AND e.seq = ?", &q)) <
	    0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, (int)dir);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)seq);
	if ((rc = hl_store_read_rows(st, q, row, &n)) < 0)
		return rc;
	return n == 1 ? HL_OK : HL_ERR_NOTFOUND;
}

int
hl_store_unacked(struct hl_store *st,
                 void (*fn)(void *ctx, int64_t peer_id, enum hl_dir dir, uint64_t seq,
                            uint64_t deadline_ns),
                 void *ctx)
{
	sqlite3_stmt *q;
	int rc, s;

	if ((rc =
	         hl_store_prepare(st,
	                          "SELECT peer_id, dir, seq, deadline_ns FROM events WHERE kind = 1"
	                          " AND ((dir = 0 AND state <= 2) OR (dir = 1 AND state = 5))",
	                          &q)) < 0)
		return rc;
	while ((s = sqlite3_step(q)) == SQLITE_ROW)
		fn(ctx, sqlite3_column_int64(q, 0), (enum hl_dir)sqlite3_column_int(q, 1),
		   (uint64_t)sqlite3_column_int64(q, 2), (uint64_t)sqlite3_column_int64(q, 3));
	hl_store_finish(st, q);
	return s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

int
hl_store_message_counts(struct hl_store *st, uint64_t now_ns,
                        void (*fn)(void *ctx, int dir, int state, unsigned prec, uint64_t n,
                                   uint64_t overdue),
                        void *ctx)
{
	sqlite3_stmt *q;
	int rc, s;

	/* Overdue as read_row computes it: a deadline passed, no acknowledgment yet. */
	if ((rc = hl_store_prepare(st,
	                           "SELECT dir, state, precedence, count(*),"
	                           " sum(deadline_ns > 0 AND deadline_ns < ?1 AND"
	                           "     ((dir = 0 AND state <= 2) OR (dir = 1 AND state = 5)))"
	                           " FROM events WHERE kind = 1 GROUP BY dir, state, precedence",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)now_ns);
	while ((s = sqlite3_step(q)) == SQLITE_ROW)
		fn(ctx, sqlite3_column_int(q, 0), sqlite3_column_int(q, 1),
		   (unsigned)sqlite3_column_int(q, 2), (uint64_t)sqlite3_column_int64(q, 3),
		   (uint64_t)sqlite3_column_int64(q, 4));
	hl_store_finish(st, q);
	return s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

struct step {
	uint64_t at;
	const char *state, *detail;
};

/*
 * The timeline is kept in the event's own columns, one time per state (a
 * history table cost two more row writes per message and side): queued
 * (created), sent, delivered, acknowledged, refused; received for ours from
 * the peer. Each is the first time the state was reached; they are listed
 * in the order of the states, not sorted by time, because an acknowledgment
 * carries the peer's clock, which may run behind ours.
 */
int
hl_store_history(struct hl_store *st, const char *msg_id, int dir,
                 void (*fn)(void *ctx, uint64_t at_ns, const char *state, const char *detail),
                 void *ctx)
{
	sqlite3_stmt *q;
	struct step v[5];
	char by[HL_OPERATOR_MAX + 4], reason[HL_REASON_MAX + 1];
	size_t n = 0;
	int rc, s;

	if ((rc = hl_store_prepare(
	         st,
	         "SELECT state, created_ns, sent_ns, delivered_ns, acked_ns, acked_by,"
	         " reason, received_ns, refused_ns FROM events WHERE msg_id = ? AND dir = ?",
	         &q)) < 0)
		return rc;
	sqlite3_bind_text(q, 1, msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, dir);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		int state = sqlite3_column_int(q, 0);
		uint64_t t[9];
		for (int c = 1; c < 9; c++)
			t[c] = (uint64_t)sqlite3_column_int64(q, c);
		text(q, 6, reason, sizeof reason);
		if (dir == HL_DIR_OUT) {
			snprintf(by, sizeof by, "by %s", sqlite3_column_text(q, 5));
			v[n++] = (struct step){t[1], "queued", ""};
			if (t[2])
				v[n++] = (struct step){t[2], "sent", ""};
			if (t[3])
				v[n++] = (struct step){t[3], "delivered", ""};
			if (t[4])
				v[n++] = (struct step){t[4], "acknowledged", by};
			if (t[8])
				v[n++] = (struct step){t[8], "refused", reason};
		} else {
			snprintf(by, sizeof by, "%s", sqlite3_column_text(q, 5));
			v[n++] =
			    (struct step){t[7], state == HL_ST_REFUSED ? "refused" : "received",
			                  state == HL_ST_REFUSED ? reason : ""};
			if (t[4])
				v[n++] = (struct step){t[4], "acknowledged", by};
		}
		for (size_t i = 0; i < n; i++)
			fn(ctx, v[i].at, v[i].state, v[i].detail);
		s = SQLITE_DONE;
	}
	hl_store_finish(st, q);
	return s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

int
hl_store_ack_locked(struct hl_store *st, const char *msg_id, const char *operator_name, char *err,
                    size_t errcap, char ack_id[static HL_MSGID_LEN + 1],
                    char peer[static HL_NAME_MAX + 1])
{
	struct hl_event_row *rows = NULL, *m = NULL;
	struct hl_event ack = {0};
	uint8_t hash[HL_HASH_LEN];
	sqlite3_stmt *q;
	uint64_t now = hl_wall_ns();
	size_t n = 0;
	int rc;

	ack_id[0] = '\0';
	peer[0] = '\0';
	if ((rc = hl_store_find(st, msg_id, &rows, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (rows[i].dir == HL_DIR_IN && rows[i].ev.kind == HL_EV_MESSAGE)
			m = &rows[i];
	rc = HL_ERR_INVAL;
	if (!m && n == 0) {
		snprintf(err, errcap, "no message %s: see 'hotline inbox'", msg_id);
		rc = HL_ERR_NOTFOUND;
		goto out;
	}
	if (!m && rows[0].dir == HL_DIR_IN) {
		snprintf(err, errcap,
		         "%s is not a message but %s %s: only messages are acknowledged", msg_id,
		         rows[0].ev.kind == HL_EV_ACK ? "an" : "a", hl_kind_name(rows[0].ev.kind));
		goto out;
	}
	if (!m) {
		snprintf(err, errcap,
		         "%s is an outgoing message: only the receiving side acknowledges", msg_id);
		goto out;
	}
	if (m->state == HL_ST_ACKED) {
		char at[32];
		hl_iso_time(m->acked_ns, at);
		snprintf(err, errcap, "%s was already acknowledged by %s at %s", msg_id,
		         m->acked_by, at);
		goto out;
	}
	if (m->state == HL_ST_REFUSED) {
		snprintf(err, errcap, "%s was refused by this station (%s): nothing to acknowledge",
		         msg_id, m->reason);
		goto out;
	}
	if ((rc = hl_store_prepare(st,
	                           "UPDATE events SET state = 3, acked_ns = ?, acked_by = ?"
	                           " WHERE peer_id = ? AND dir = 1 AND seq = ?",
	                           &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
	sqlite3_bind_text(q, 2, operator_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, m->peer_id);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)m->ev.seq);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	if (rc < 0)
		goto out;
	ack.kind = HL_EV_ACK;
	ack.precedence = m->ev.precedence; /* an answer travels as fast as the message */
	ack.created_ns = now;
	snprintf(ack.channel, sizeof ack.channel, "%s", m->ev.channel);
	snprintf(ack.operator_name, sizeof ack.operator_name, "%s", operator_name);
	ack.ref_seq = m->ev.seq;
	memcpy(ack.ref_hash, m->hash, HL_HASH_LEN);
	if ((rc = hl_store_append_locked(st, m->peer_id, &ack, hash)) < 0)
		goto out;
	hl_event_id(hash, ack_id);
	snprintf(peer, HL_NAME_MAX + 1, "%s", m->peer);
out:
	hl_event_rows_free(rows, n);
	return rc;
}

int
hl_store_ack(struct hl_store *st, const char *msg_id, const char *operator_name, char *err,
             size_t errcap, char ack_id[static HL_MSGID_LEN + 1], char peer[static HL_NAME_MAX + 1])
{
	int rc = hl_store_begin(st);

	if (rc < 0)
		return rc;
	rc = hl_store_ack_locked(st, msg_id, operator_name, err, errcap, ack_id, peer);
	if (rc < 0) {
		hl_store_rollback(st);
		return rc;
	}
	return hl_store_commit(st);
}

int
hl_store_pending_page(struct hl_store *st, int64_t peer_id, uint64_t after, size_t limit,
                      struct hl_event_row **rows, size_t *n, uint64_t *page_end, bool *more)
{
	struct hl_event_row *urgent = NULL, *page = NULL, *all;
	size_t nu = 0, np = 0, k = 0;
	sqlite3_stmt *q;
	int rc;

	*rows = NULL;
	*n = 0;
	*page_end = after;
	*more = false;
	if ((rc = hl_store_prepare(
	         st,
	         /* by its own index: the planner would walk the backlog by primary key */
	         "SELECT " ROW_FIELDS " FROM events e INDEXED BY events_pending_urgent"
	         " JOIN peers p ON p.id = e.peer_id WHERE e.peer_id = ? AND e.dir = 0"
	         " AND e.state IN (0, 1) AND e.seq > ? AND e.precedence < 3 ORDER BY e.seq",
	         &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)after);
	if ((rc = hl_store_read_rows(st, q, &urgent, &nu)) < 0)
		return rc;
	if ((rc = hl_store_prepare(st,
	                           "SELECT " ROW_COLUMNS "WHERE e.peer_id = ? AND e.dir = 0"
	                           " AND e.state IN (0, 1) AND e.seq > ? ORDER BY e.seq LIMIT ?",
	                           &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)after);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)limit + 1);
	if ((rc = hl_store_read_rows(st, q, &page, &np)) < 0)
		goto out;
	if (np > limit) {
		*more = true;
		free(page[limit].body);
		np = limit;
	}
	if (np)
		*page_end = page[np - 1].ev.seq;
	/* Merge the two seq-ordered sets, each event once. */
	rc = HL_ERR_NOMEM;
	if (!(all = malloc((nu + np + 1) * sizeof *all)))
		goto out;
	for (size_t i = 0, j = 0; i < nu || j < np;) {
		if (j == np || (i < nu && urgent[i].ev.seq < page[j].ev.seq)) {
			all[k++] = urgent[i++];
		} else if (i < nu && urgent[i].ev.seq == page[j].ev.seq) {
			free(urgent[i++].body);
			all[k++] = page[j++];
		} else {
			all[k++] = page[j++];
		}
	}
	for (size_t i = 0; i < k; i++)
		all[i].ev.body = all[i].body; /* the structs moved; their bodies did not */
	free(urgent);
	free(page);
	urgent = page = NULL;
	nu = np = 0;
	*rows = all;
	*n = k;
	rc = HL_OK;
out:
	hl_event_rows_free(urgent, nu);
	hl_event_rows_free(page, np);
	return rc;
}

int
hl_store_pending_count(struct hl_store *st, int64_t peer_id, size_t *n)
{
	sqlite3_stmt *q;
	int rc;

	*n = 0;
	if ((rc = hl_store_prepare(st,
	                           "SELECT count(*) FROM events WHERE peer_id = ? AND dir = 0"
	                           " AND state IN (0, 1)",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	rc = sqlite3_step(q) == SQLITE_ROW ? HL_OK : HL_ERR_IO;
	if (rc == HL_OK)
		*n = (size_t)sqlite3_column_int64(q, 0);
	hl_store_finish(st, q);
	return rc;
}

/*
 * Update our event (peer, seq) if its hash matches and its state is at most
 * max (1: sent, 2: delivered).
 */
#define UPDATE_OUT(set, max)                                                                       \
	"UPDATE events SET " set " WHERE peer_id = ?1 AND dir = 0 AND seq = ?2 AND hash = ?3"      \
	" AND state <= " #max
static int
update_out(struct hl_store *st, int64_t peer_id, uint64_t seq, const uint8_t *hash, const char *sql,
           uint64_t now, const char *text_arg, const uint8_t *proof, uint64_t sent_ns)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st, sql, &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	sqlite3_bind_blob(q, 3, hash, HL_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)now);
	if (text_arg)
		sqlite3_bind_text(q, 5, text_arg, -1, SQLITE_STATIC);
	if (proof)
		sqlite3_bind_blob(q, 6, proof, HL_SIG_LEN, SQLITE_STATIC);
	if (sent_ns)
		sqlite3_bind_int64(q, 7, (sqlite3_int64)sent_ns);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

int
hl_store_mark_sent(struct hl_store *st, int64_t peer_id, uint64_t seq, uint64_t sent_ns)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(
	         st,
	         "UPDATE events SET state = 1, sent_ns = ?3 WHERE peer_id = ?1 AND dir = 0"
	         " AND seq = ?2 AND state = 0",
	         &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)(sent_ns ? sent_ns : hl_wall_ns()));
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

int
hl_store_mark_delivered(struct hl_store *st, int64_t peer_id, uint64_t seq,
                        const uint8_t hash[static HL_HASH_LEN],
                        const uint8_t sig[static HL_SIG_LEN], uint64_t sent_ns, uint64_t at_ns)
{
	uint64_t now = at_ns ? at_ns : hl_wall_ns();

	/* ?7: when it went on the wire; a "sent" mark written before keeps its own time. */
	return update_out(st, peer_id, seq, hash,
	                  UPDATE_OUT("state = 2, delivered_ns = ?4, proof = ?6, sent_ns = CASE"
	                             " sent_ns WHEN 0 THEN ?7 ELSE sent_ns END",
	                             1),
	                  now, NULL, sig, sent_ns && sent_ns <= now ? sent_ns : now);
}

int
hl_store_mark_refused(struct hl_store *st, int64_t peer_id, uint64_t seq,
                      const uint8_t hash[static HL_HASH_LEN], const char *reason,
                      const uint8_t sig[static HL_SIG_LEN], uint64_t sent_ns, uint64_t at_ns)
{
	uint64_t now = at_ns ? at_ns : hl_wall_ns();

	return update_out(
	    st, peer_id, seq, hash,
	    UPDATE_OUT("state = 4, refused_ns = ?4, reason = ?5, proof = ?6, sent_ns ="
	               " CASE sent_ns WHEN 0 THEN ?7 ELSE sent_ns END",
	               1),
	    now, reason, sig, sent_ns && sent_ns <= now ? sent_ns : now);
}

/* The peer acknowledged our event (seq, hash): by whom, when (its clock). */
static int
mark_acked(struct hl_store *st, int64_t peer_id, const struct hl_event *ack)
{
	return update_out(st, peer_id, ack->ref_seq, ack->ref_hash,
	                  UPDATE_OUT("state = 3, acked_ns = ?4, acked_by = ?5, delivered_ns = CASE"
	                             " delivered_ns WHEN 0 THEN ?4 ELSE delivered_ns END",
	                             2),
	                  ack->created_ns, ack->operator_name, NULL, 0);
}

/*
 * Store an event of the peer's chain, once. One read finds the event (a
 * duplicate, or the peer rewrote its chain) and its neighbours already
 * stored (events arrive out of seq order when precedence reorders them),
 * which must agree with it: seq 1 starts from zeros, seq-1's hash is this
 * prev, seq+1's prev is this hash. Otherwise HL_ERR_CORRUPT.
 */
int
hl_store_receive(struct hl_store *st, int64_t peer_id, const struct hl_event *ev,
                 const uint8_t hash[static HL_HASH_LEN], int *outcome,
                 char reason[static HL_REASON_MAX + 1])
{
	static const uint8_t zeros[HL_HASH_LEN];
	sqlite3_stmt *q;
	bool preset = reason[0] != '\0', bad = false;
	int64_t seq = (int64_t)ev->seq;
	int rc, s;

	*outcome = HL_RECV_NEW;
	if (ev->seq == 1 && memcmp(ev->prev, zeros, HL_HASH_LEN) != 0)
		bad = true;
	if ((rc = hl_store_prepare(st,
	                           "SELECT seq, hash, prev, state, reason FROM events"
	                           " WHERE peer_id = ? AND dir = 1 AND seq BETWEEN ? AND ?",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int64(q, 2, seq - 1);
	sqlite3_bind_int64(q, 3, seq < INT64_MAX ? seq + 1 : seq);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(q, 0);
		uint8_t h[HL_HASH_LEN];
		if (at == seq) {
			hl_store_col_hash(q, 1, h);
			if (memcmp(h, hash, HL_HASH_LEN) != 0) {
				hl_store_finish(st, q);
				return HL_ERR_CORRUPT; /* the peer rewrote its chain */
			}
			*outcome = sqlite3_column_int(q, 3) == HL_ST_REFUSED ? HL_RECV_REFUSED_AGAIN
			                                                     : HL_RECV_DUPLICATE;
			text(q, 4, reason, HL_REASON_MAX + 1);
			hl_store_finish(st, q);
			return HL_OK;
		}
		hl_store_col_hash(q, at < seq ? 1 : 2, h);
		if (memcmp(h, at < seq ? ev->prev : hash, HL_HASH_LEN) != 0)
			bad = true;
	}
	hl_store_finish(st, q);
	if (s != SQLITE_DONE)
		return HL_ERR_IO;
	if (bad)
		return HL_ERR_CORRUPT;
	if (!preset && (rc = receive_verdict(st, peer_id, ev, reason)) < 0)
		return rc;
	if (reason[0]) {
		*outcome = HL_RECV_REFUSED;
		return hl_store_insert_event(st, peer_id, HL_DIR_IN, ev, hash, HL_ST_REFUSED,
		                             hl_wall_ns(), reason, NULL);
	}
	if (ev->kind == HL_EV_ACK && (rc = mark_acked(st, peer_id, ev)) < 0)
		return rc;
	if ((rc = hl_store_insert_event(st, peer_id, HL_DIR_IN, ev, hash,
	                                ev->kind == HL_EV_ACK ? HL_ST_ACKED : HL_ST_RECEIVED,
	                                hl_wall_ns(), NULL, NULL)) < 0)
		return rc;
	return ev->kind == HL_EV_KEY ? hl_store_key_announce(st, peer_id, ev) : HL_OK;
}

int
hl_store_put_receipt(struct hl_store *st, int64_t peer_id, const struct hl_receipt_entry *e,
                     size_t n, const uint8_t sig[static HL_SIG_LEN])
{
	sqlite3_stmt *q;
	uint8_t *buf = malloc(n ? n * 40 : 1);
	int rc;

	if (!buf)
		return HL_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		hl_put_u64(buf + i * 40, e[i].seq);
		memcpy(buf + i * 40 + 8, e[i].hash, HL_HASH_LEN);
	}
	if ((rc = hl_store_prepare(st,
	                           "INSERT INTO receipts (peer_id, at_ns, entries, sig)"
	                           " VALUES (?,?,?,?)",
	                           &q)) == HL_OK) {
		sqlite3_bind_int64(q, 1, peer_id);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)hl_wall_ns());
		sqlite3_bind_blob(q, 3, buf, (int)(n * 40), SQLITE_STATIC);
		sqlite3_bind_blob(q, 4, sig, HL_SIG_LEN, SQLITE_STATIC);
		rc = hl_store_step_done(st, q);
		hl_store_finish(st, q);
	}
	free(buf);
	return rc;
}

int
hl_store_put_head(struct hl_store *st, int64_t peer_id, enum hl_dir dir, uint64_t seq,
                  const uint8_t hash[static HL_HASH_LEN], const uint8_t sig[static HL_SIG_LEN])
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(
	         st,
	         "INSERT OR REPLACE INTO heads (peer_id, dir, seq, hash, sig, at_ns)"
	         " VALUES (?,?,?,?,?,?)",
	         &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, (int)dir);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)seq);
	sqlite3_bind_blob(q, 4, hash, HL_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(q, 5, sig, HL_SIG_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)hl_wall_ns());
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

void
hl_store_savepoint(struct hl_store *st)
{
	(void)run_cached(st, "SAVEPOINT job");
}

void
hl_store_savepoint_release(struct hl_store *st)
{
	(void)run_cached(st, "RELEASE job");
}

void
hl_store_savepoint_rollback(struct hl_store *st)
{
	(void)run_cached(st, "ROLLBACK TO job");
	(void)run_cached(st, "RELEASE job");
}
