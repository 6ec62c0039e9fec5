/* SPDX-License-Identifier: ISC */
/*
 * store_keys.c: the key lifecycle behind store.h (docs/keys.md).
 *
 * A peer's keys live in key_history, one row per key it ever had here:
 * the one in use (state current, mirrored in peers.x25519/ed25519, which
 * the rest of the store reads), a key it announced in a KEY event and has
 * not used yet (announced), and former ones (retired by a rotation,
 * revoked by an operator). This station's own keys live in the identity
 * files; its rotations (the signed statement, who, when, when it switched)
 * in `rotations`. Every change is one transaction, so a crash leaves
 * either the old key pinned or the new one, never neither.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_impl.h"

static void
text_col(sqlite3_stmt *q, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static bool
key_col(sqlite3_stmt *q, int col, uint8_t out[static 32])
{
	if (sqlite3_column_bytes(q, col) != 32) {
		memset(out, 0, 32);
		return false;
	}
	memcpy(out, sqlite3_column_blob(q, col), 32);
	return true;
}

int
hl_store_peer_keys(struct hl_store *st, struct hl_peer_rec *p)
{
	sqlite3_stmt *q;
	int rc, s;

	p->has_next = false;
	p->nretired = 0;
	p->key_since_ns = p->added_ns;
	if ((rc = hl_store_prepare(st,
	                           "SELECT state, x25519, ed25519, since_ns FROM key_history"
	                           " WHERE peer_id = ? ORDER BY id DESC",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, p->id);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		int state = sqlite3_column_int(q, 0);
		if (state == HL_KEY_ANNOUNCED && !p->has_next) {
			p->has_next =
			    key_col(q, 1, p->next.x25519) && key_col(q, 2, p->next.ed25519);
			p->next_ns = (uint64_t)sqlite3_column_int64(q, 3);
		} else if (state == HL_KEY_CURRENT) {
			p->key_since_ns = (uint64_t)sqlite3_column_int64(q, 3);
		} else if ((state == HL_KEY_RETIRED || state == HL_KEY_REVOKED) &&
		           p->nretired < HL_RETIRED_MAX &&
		           key_col(q, 1, p->retired_x25519[p->nretired])) {
			p->nretired++;
		}
	}
	hl_store_finish(st, q);
	return s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

/* The peer's id, key and revocation by name: HL_ERR_NOTFOUND. */
static int
peer_row(struct hl_store *st, const char *name, int64_t *id, struct hl_pubkey *key,
         uint64_t *revoked_ns, char reason[static HL_NOTICE_REASON_MAX + 1])
{
	sqlite3_stmt *q;
	int rc, s;

	if ((rc = hl_store_prepare(
	         st,
	         "SELECT id, x25519, ed25519, revoked_ns, revoked_reason FROM peers"
	         " WHERE name = ?",
	         &q)) < 0)
		return rc;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		*id = sqlite3_column_int64(q, 0);
		key_col(q, 1, key->x25519);
		key_col(q, 2, key->ed25519);
		*revoked_ns = (uint64_t)sqlite3_column_int64(q, 3);
		text_col(q, 4, reason, HL_NOTICE_REASON_MAX + 1);
	}
	hl_store_finish(st, q);
	return s == SQLITE_ROW ? HL_OK : s == SQLITE_DONE ? HL_ERR_NOTFOUND : HL_ERR_IO;
}

/* End the transaction: COMMIT when rc is HL_OK, else ROLLBACK; returns rc or the commit's. */
static int
in_tx(struct hl_store *st, int rc)
{
	if (rc < 0) {
		hl_store_rollback(st);
		return rc;
	}
	return hl_store_commit(st);
}

int
hl_store_peer_revoke(struct hl_store *st, const char *name, const char *reason, uint64_t *at_ns)
{
	char old_reason[HL_NOTICE_REASON_MAX + 1];
	struct hl_pubkey key;
	sqlite3_stmt *q;
	uint64_t was = 0;
	int64_t id;
	int rc;

	*at_ns = 0;
	if ((rc = hl_store_begin(st)) < 0)
		return rc;
	if ((rc = peer_row(st, name, &id, &key, &was, old_reason)) < 0)
		return in_tx(st, rc);
	if (was) {
		*at_ns = was;
		return in_tx(st, HL_ERR_EXISTS);
	}
	*at_ns = hl_wall_ns();
	if ((rc = hl_store_prepare(
	         st, "UPDATE peers SET revoked_ns = ?, revoked_reason = ? WHERE id = ?", &q)) < 0)
		return in_tx(st, rc);
	sqlite3_bind_int64(q, 1, (sqlite3_int64)*at_ns);
	sqlite3_bind_text(q, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, id);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return in_tx(st, rc);
}

/* Insert a key_history row for peer_id. */
static int
history_add(struct hl_store *st, int64_t peer_id, int state, const uint8_t x[static 32],
            const uint8_t ed[static 32], uint64_t event_seq, const uint8_t *stmt, size_t stmt_len,
            uint64_t since_ns)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st,
	                           "INSERT INTO key_history (peer_id, state, x25519, ed25519,"
	                           " event_seq, statement, since_ns) VALUES (?,?,?,?,?,?,?)",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, state);
	sqlite3_bind_blob(q, 3, x, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 4, ed, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)event_seq);
	if (stmt)
		sqlite3_bind_blob(q, 6, stmt, (int)stmt_len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)since_ns);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

/* The current key of peer_id leaves use: retired or revoked (with why). */
static int
history_retire(struct hl_store *st, int64_t peer_id, int state, uint64_t at_ns, const char *why)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st,
	                           "UPDATE key_history SET state = ?, until_ns = ?, reason = ?"
	                           " WHERE peer_id = ? AND state = 3",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int(q, 1, state);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)at_ns);
	sqlite3_bind_text(q, 3, why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, peer_id);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

static int
history_forget_announced(struct hl_store *st, int64_t peer_id)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st, "DELETE FROM key_history WHERE peer_id = ? AND state = 0",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

/* peers.x25519/ed25519 of peer_id: HL_ERR_EXISTS when another peer has the key. */
static int
pin_key(struct hl_store *st, int64_t peer_id, const uint8_t x[static 32],
        const uint8_t ed[static 32], bool clear_revocation)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(st,
	                           clear_revocation
	                               ? "UPDATE peers SET x25519 = ?, ed25519 = ?, revoked_ns = "
	                                 "0, revoked_reason = ''"
	                                 " WHERE id = ?"
	                               : "UPDATE peers SET x25519 = ?, ed25519 = ? WHERE id = ?",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_blob(q, 1, x, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, ed, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, peer_id);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

int
hl_store_peer_repin(struct hl_store *st, const char *name, const struct hl_pubkey *key, bool *same)
{
	char reason[HL_NOTICE_REASON_MAX + 1], why[HL_NOTICE_REASON_MAX + 64];
	struct hl_pubkey cur;
	uint64_t revoked = 0, now = hl_wall_ns();
	int64_t id;
	int rc;

	*same = false;
	if ((rc = hl_store_begin(st)) < 0)
		return rc;
	if ((rc = peer_row(st, name, &id, &cur, &revoked, reason)) < 0)
		return in_tx(st, rc);
	if (memcmp(&cur, key, sizeof cur) == 0) {
		*same = true;
		rc = pin_key(st, id, key->x25519, key->ed25519, true);
	} else {
		if (revoked)
			snprintf(why, sizeof why, "revoked: %s", reason);
		else
			snprintf(why, sizeof why, "replaced by an operator");
		if ((rc = history_retire(st, id, revoked ? HL_KEY_REVOKED : HL_KEY_RETIRED,
		                         revoked ? revoked : now, why)) == HL_OK &&
		    (rc = history_forget_announced(st, id)) == HL_OK &&
		    (rc = pin_key(st, id, key->x25519, key->ed25519, true)) == HL_OK)
			rc = history_add(st, id, HL_KEY_CURRENT, key->x25519, key->ed25519, 0, NULL,
			                 0, now);
	}
	if (rc == HL_OK)
		rc = hl_store_rotation_notify_all(st, NULL);
	return in_tx(st, rc);
}

int
hl_store_peer_key_switch(struct hl_store *st, int64_t peer_id, const uint8_t x25519[static 32])
{
	uint8_t ed[32], pinned[32];
	sqlite3_stmt *q;
	int64_t row = 0;
	uint64_t now = hl_wall_ns();
	int rc, s;

	if ((rc = hl_store_prepare(st,
	                           "SELECT id, ed25519 FROM key_history WHERE peer_id = ?"
	                           " AND state = 0 AND x25519 = ?",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_blob(q, 2, x25519, 32, SQLITE_STATIC);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW && key_col(q, 1, ed))
		row = sqlite3_column_int64(q, 0);
	hl_store_finish(st, q);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return HL_ERR_IO;
	if (!row) { /* done already? */
		if ((rc = hl_store_prepare(st, "SELECT x25519 FROM peers WHERE id = ?", &q)) < 0)
			return rc;
		sqlite3_bind_int64(q, 1, peer_id);
		s = sqlite3_step(q);
		rc = s == SQLITE_ROW && key_col(q, 0, pinned) && memcmp(pinned, x25519, 32) == 0
		         ? HL_OK
		         : HL_ERR_NOTFOUND;
		hl_store_finish(st, q);
		return rc;
	}
	if ((rc = history_retire(st, peer_id, HL_KEY_RETIRED, now, "rotated")) < 0 ||
	    (rc = pin_key(st, peer_id, x25519, ed, false)) < 0 ||
	    (rc = hl_store_prepare(
	         st, "UPDATE key_history SET state = 3, since_ns = ? WHERE id = ?", &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(q, 2, row);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

/* ---- the peer's KEY events (called by hl_store_receive) ---- */

int
hl_store_key_verdict(struct hl_store *st, int64_t peer_id, const struct hl_event *ev,
                     char why[static HL_REASON_MAX + 1])
{
	struct hl_rotation r;
	sqlite3_stmt *q;
	uint8_t x[32] = {0}, ed[32] = {0};
	char other[HL_NAME_MAX + 1] = "";
	int rc, s;

	if (hl_rotation_decode(ev->body, ev->body_len, &r) < 0) {
		snprintf(why, HL_REASON_MAX + 1, "the key rotation notice does not parse");
		return HL_OK;
	}
	if (hl_rotation_verify(&r) < 0) {
		snprintf(why, HL_REASON_MAX + 1,
		         "the key rotation notice's signature does not verify with the old key it "
		         "names");
		return HL_OK;
	}
	if ((rc = hl_store_prepare(st, "SELECT x25519, ed25519 FROM peers WHERE id = ?", &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		key_col(q, 0, x);
		key_col(q, 1, ed);
	}
	hl_store_finish(st, q);
	if (s != SQLITE_ROW)
		return HL_ERR_IO;
	if (memcmp(x, r.old_x25519, 32) != 0 || memcmp(ed, r.old_ed25519, 32) != 0) {
		snprintf(why, HL_REASON_MAX + 1,
		         "the key rotation notice replaces a key that is not the one pinned here "
		         "for this station: re-pin its key out of band ('hotline peer repin')");
		return HL_OK;
	}
	if ((rc = hl_store_prepare(st, "SELECT name FROM peers WHERE x25519 = ? OR ed25519 = ?",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_blob(q, 1, r.new_x25519, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, r.new_ed25519, 32, SQLITE_STATIC);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW)
		text_col(q, 0, other, sizeof other);
	hl_store_finish(st, q);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return HL_ERR_IO;
	if (other[0])
		snprintf(why, HL_REASON_MAX + 1,
		         "the new key of the rotation notice is pinned here for peer %s", other);
	return HL_OK;
}

int
hl_store_key_announce(struct hl_store *st, int64_t peer_id, const struct hl_event *ev)
{
	struct hl_rotation r;
	int rc;

	if (hl_rotation_decode(ev->body, ev->body_len, &r) < 0)
		return HL_ERR_INVAL; /* hl_store_key_verdict refused it */
	if ((rc = history_forget_announced(st, peer_id)) < 0)
		return rc;
	return history_add(st, peer_id, HL_KEY_ANNOUNCED, r.new_x25519, r.new_ed25519, ev->seq,
	                   ev->body, ev->body_len, hl_wall_ns());
}

/* ---- this station's rotations ---- */

#define ROTATION_COLUMNS "SELECT id, statement, operator, started_ns, switched_ns FROM rotations "

static int
read_rotation(sqlite3_stmt *q, struct hl_rotation_rec *out)
{
	int len = sqlite3_column_bytes(q, 1);

	memset(out, 0, sizeof *out);
	out->id = sqlite3_column_int64(q, 0);
	if (len <= 0 || (size_t)len > sizeof out->stmt)
		return HL_ERR_CORRUPT;
	memcpy(out->stmt, sqlite3_column_blob(q, 1), (size_t)len);
	out->stmt_len = (size_t)len;
	text_col(q, 2, out->operator_name, sizeof out->operator_name);
	out->started_ns = (uint64_t)sqlite3_column_int64(q, 3);
	out->switched_ns = (uint64_t)sqlite3_column_int64(q, 4);
	return hl_rotation_decode(out->stmt, out->stmt_len, &out->r) < 0 ? HL_ERR_CORRUPT : HL_OK;
}

static int
rotation_query(struct hl_store *st, const char *sql, struct hl_rotation_rec *out, bool *found)
{
	sqlite3_stmt *q;
	int rc, s;

	*found = false;
	memset(out, 0, sizeof *out);
	if ((rc = hl_store_prepare(st, sql, &q)) < 0)
		return rc;
	s = sqlite3_step(q);
	rc = s == SQLITE_ROW ? read_rotation(q, out) : s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
	*found = s == SQLITE_ROW && rc == HL_OK;
	hl_store_finish(st, q);
	return rc;
}

int
hl_store_rotation_pending(struct hl_store *st, struct hl_rotation_rec *out, bool *found)
{
	return rotation_query(st, ROTATION_COLUMNS "WHERE switched_ns = 0 ORDER BY id DESC LIMIT 1",
	                      out, found);
}

int
hl_store_rotation_last(struct hl_store *st, struct hl_rotation_rec *out, bool *found)
{
	return rotation_query(st, ROTATION_COLUMNS "WHERE switched_ns > 0 ORDER BY id DESC LIMIT 1",
	                      out, found);
}

/* Our KEY event carrying stmt to peer_id: its seq (0: none), state and id. */
static int
key_event(struct hl_store *st, int64_t peer_id, const uint8_t *stmt, size_t len, uint64_t *seq,
          int *state, char msg_id[static HL_MSGID_LEN + 1])
{
	sqlite3_stmt *q;
	int rc, s;

	*seq = 0;
	*state = -1;
	msg_id[0] = '\0';
	if ((rc = hl_store_prepare(st,
	                           "SELECT seq, state, msg_id FROM events INDEXED BY events_keys"
	                           " WHERE peer_id = ? AND dir = 0 AND kind = 5 AND body = ?"
	                           " ORDER BY seq LIMIT 1",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_blob(q, 2, stmt, (int)len, SQLITE_STATIC);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(q, 0);
		*state = sqlite3_column_int(q, 1);
		text_col(q, 2, msg_id, HL_MSGID_LEN + 1);
	}
	hl_store_finish(st, q);
	return s == SQLITE_ROW || s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

int
hl_store_rotation_notify_all(struct hl_store *st, size_t *added)
{
	struct hl_rotation_rec rot;
	struct {
		int64_t id;
		bool revoked;
	} *peers = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *q;
	bool found;
	int rc, s;

	if (added)
		*added = 0;
	if ((rc = hl_store_rotation_pending(st, &rot, &found)) < 0 || !found)
		return rc;
	if ((rc = hl_store_prepare(st, "SELECT id, revoked_ns FROM peers ORDER BY id", &q)) < 0)
		return rc;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *nv = realloc(peers, ncap * sizeof *peers);
			if (!nv) {
				s = SQLITE_NOMEM;
				break;
			}
			peers = nv;
			cap = ncap;
		}
		peers[n].id = sqlite3_column_int64(q, 0);
		peers[n].revoked = sqlite3_column_int64(q, 1) != 0;
		n++;
	}
	hl_store_finish(st, q);
	rc = s == SQLITE_DONE ? HL_OK : s == SQLITE_NOMEM ? HL_ERR_NOMEM : HL_ERR_IO;
	for (size_t i = 0; rc == HL_OK && i < n; i++) {
		struct hl_event ev = {0};
		uint8_t hash[HL_HASH_LEN];
		char id[HL_MSGID_LEN + 1];
		uint64_t seq;
		int state;

		if (peers[i].revoked)
			continue; /* a compromised peer hears nothing; a re-pin brings it in */
		if ((rc = key_event(st, peers[i].id, rot.stmt, rot.stmt_len, &seq, &state, id)) <
		        0 ||
		    seq)
			continue;
		ev.kind = HL_EV_KEY;
		ev.precedence = HL_PREC_FLASH; /* ahead of any backlog, like a notice */
		ev.created_ns = hl_wall_ns();
		snprintf(ev.channel, sizeof ev.channel, "%s", HL_KEY_CHANNEL);
		snprintf(ev.media_type, sizeof ev.media_type, "%s", HL_KEY_MEDIA);
		snprintf(ev.operator_name, sizeof ev.operator_name, "%s", rot.operator_name);
		ev.body = rot.stmt;
		ev.body_len = (uint32_t)rot.stmt_len;
		if ((rc = hl_store_append_locked(st, peers[i].id, &ev, hash)) == HL_OK && added)
			(*added)++;
	}
	free(peers);
	return rc;
}

int
hl_store_rotation_start(struct hl_store *st, const uint8_t *stmt, size_t len,
                        const char *operator_name, bool *existed, size_t *npeers)
{
	struct hl_rotation r;
	sqlite3_stmt *q;
	int rc, s;

	*existed = false;
	*npeers = 0;
	if (len > HL_ROTATION_MAX || hl_rotation_decode(stmt, len, &r) < 0)
		return HL_ERR_INVAL;
	if ((rc = hl_store_prepare(st, "SELECT switched_ns FROM rotations WHERE new_x25519 = ?",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_blob(q, 1, r.new_x25519, 32, SQLITE_STATIC);
	s = sqlite3_step(q);
	hl_store_finish(st, q);
	if (s == SQLITE_ROW) {
		*existed = true;
		return HL_OK;
	}
	if (s != SQLITE_DONE)
		return HL_ERR_IO;
	if ((rc = hl_store_prepare(st, "SELECT 1 FROM rotations WHERE switched_ns = 0", &q)) < 0)
		return rc;
	s = sqlite3_step(q);
	hl_store_finish(st, q);
	if (s == SQLITE_ROW)
		return HL_ERR_BUSY;
	if (s != SQLITE_DONE)
		return HL_ERR_IO;
	if ((rc = hl_store_prepare(st,
	                           "INSERT INTO rotations (old_x25519, old_ed25519, new_x25519,"
	                           " new_ed25519, statement, operator, started_ns)"
	                           " VALUES (?,?,?,?,?,?,?)",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_blob(q, 1, r.old_x25519, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, r.old_ed25519, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, r.new_x25519, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 4, r.new_ed25519, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 5, stmt, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, operator_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)hl_wall_ns());
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	if (rc < 0)
		return rc;
	return hl_store_rotation_notify_all(st, npeers);
}

int
hl_store_rotation_peers(struct hl_store *st, const struct hl_rotation_rec *r,
                        void (*fn)(void *ctx, const char *peer, int state, const char *msg_id,
                                   bool revoked),
                        void *ctx, size_t *waiting)
{
	struct {
		int64_t id;
		bool revoked;
		char name[HL_NAME_MAX + 1];
	} *peers = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *q;
	int rc, s;

	*waiting = 0;
	if ((rc = hl_store_prepare(st, "SELECT id, revoked_ns, name FROM peers ORDER BY name",
	                           &q)) < 0)
		return rc;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *nv = realloc(peers, ncap * sizeof *peers);
			if (!nv) {
				s = SQLITE_NOMEM;
				break;
			}
			peers = nv;
			cap = ncap;
		}
		peers[n].id = sqlite3_column_int64(q, 0);
		peers[n].revoked = sqlite3_column_int64(q, 1) != 0;
		text_col(q, 2, peers[n].name, sizeof peers[n].name);
		n++;
	}
	hl_store_finish(st, q);
	rc = s == SQLITE_DONE ? HL_OK : s == SQLITE_NOMEM ? HL_ERR_NOMEM : HL_ERR_IO;
	for (size_t i = 0; rc == HL_OK && i < n; i++) {
		char id[HL_MSGID_LEN + 1];
		uint64_t seq;
		int state;
		if ((rc = key_event(st, peers[i].id, r->stmt, r->stmt_len, &seq, &state, id)) < 0)
			break;
		if (!peers[i].revoked && state != HL_ST_DELIVERED && state != HL_ST_ACKED)
			(*waiting)++;
		if (fn)
			fn(ctx, peers[i].name, state, id, peers[i].revoked);
	}
	free(peers);
	return rc;
}

int
hl_store_rotation_switched(struct hl_store *st, int64_t id, uint64_t at_ns)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = hl_store_prepare(
	         st, "UPDATE rotations SET switched_ns = ? WHERE id = ? AND switched_ns = 0", &q)) <
	    0)
		return rc;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)at_ns);
	sqlite3_bind_int64(q, 2, id);
	rc = hl_store_step_done(st, q);
	hl_store_finish(st, q);
	return rc;
}

/* ---- the keys of a record ---- */

static void
ring_push(struct hl_keyring *ring, const uint8_t ed[static 32], uint64_t since_seq)
{
	if (ring->n == HL_RING_MAX) { /* the oldest goes: a record this old is exceptional */
		memmove(ring->k, ring->k + 1, (HL_RING_MAX - 1) * sizeof ring->k[0]);
		ring->n--;
	}
	memcpy(ring->k[ring->n].ed25519, ed, 32);
	ring->k[ring->n].since_seq = since_seq;
	ring->n++;
}

int
hl_store_key_rings(struct hl_store *st, int64_t peer_id, const uint8_t ours[static 32],
                   struct hl_keyring *station, struct hl_keyring *peer)
{
	sqlite3_stmt *q;
	uint64_t since = 0;
	int rc = HL_OK, s;

	memset(station, 0, sizeof *station);
	memset(peer, 0, sizeof *peer);
	/* Ours: each switched rotation's old key; its KEY event to this peer introduced the next.
	 */
	if ((rc = hl_store_prepare(st,
	                           "SELECT old_ed25519, statement FROM rotations"
	                           " WHERE switched_ns > 0 ORDER BY id",
	                           &q)) < 0)
		return rc;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		uint8_t old[32];
		char id[HL_MSGID_LEN + 1];
		int state;
		const void *stmt = sqlite3_column_blob(q, 1);
		int len = sqlite3_column_bytes(q, 1);
		if (!key_col(q, 0, old) || !stmt || len <= 0)
			continue;
		/* A copy: key_event's statement is cached, and this one is still stepping. */
		uint8_t buf[HL_ROTATION_MAX];
		if ((size_t)len > sizeof buf)
			continue;
		memcpy(buf, stmt, (size_t)len);
		ring_push(station, old, since);
		if ((rc = key_event(st, peer_id, buf, (size_t)len, &since, &state, id)) < 0)
			break;
	}
	hl_store_finish(st, q);
	if (rc < 0)
		return rc;
	if (s != SQLITE_DONE && s != SQLITE_ROW)
		return HL_ERR_IO;
	ring_push(station, ours, since);
	/* The peer's: retired, revoked, then the pinned one; announced keys never signed. */
	if ((rc = hl_store_prepare(st,
	                           "SELECT ed25519, event_seq FROM key_history WHERE peer_id = ?"
	                           " AND state != 0 ORDER BY state = 3, id",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		uint8_t ed[32];
		if (key_col(q, 0, ed))
			ring_push(peer, ed, (uint64_t)sqlite3_column_int64(q, 1));
	}
	hl_store_finish(st, q);
	return s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}
