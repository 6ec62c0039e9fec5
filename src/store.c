/* SPDX-License-Identifier: ISC */
/*
 * store.c: SQLite behind store.h. Every change is one transaction; with
 * WAL and synchronous=FULL a COMMIT that returned is durable, which is the
 * rule the later message path builds on: nothing is acknowledged before
 * its COMMIT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"

#include "store_impl.h"

/* Migration N takes the schema from version N to N+1. Append only; never edit a released one. */
static const char *const migrations[] = {
    /* 0 -> 1: pinned peers and their addresses */
    "CREATE TABLE peers ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  x25519 BLOB NOT NULL UNIQUE CHECK (length(x25519) = 32),"
    "  ed25519 BLOB NOT NULL UNIQUE CHECK (length(ed25519) = 32),"
    "  added_ns INTEGER NOT NULL);"
    "CREATE TABLE peer_links ("
    "  peer_id INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  address TEXT NOT NULL,"
    "  PRIMARY KEY (peer_id, position));",
    /* 1 -> 2: channels, both chains of events (each with its timeline), signed heads */
    "CREATE TABLE channels ("
    "  peer_id INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  created_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (peer_id, name));"
    "INSERT INTO channels SELECT id, 'general', added_ns FROM peers;"
    "CREATE TABLE events ("
    "  peer_id INTEGER NOT NULL REFERENCES peers(id),"
    "  dir INTEGER NOT NULL CHECK (dir IN (0, 1))," /* 0: our chain, 1: the peer's */
    "  seq INTEGER NOT NULL CHECK (seq > 0),"
    "  msg_id TEXT NOT NULL,"
    "  hash BLOB NOT NULL, prev BLOB NOT NULL,"
    "  kind INTEGER NOT NULL, precedence INTEGER NOT NULL,"
    "  created_ns INTEGER NOT NULL, deadline_ns INTEGER NOT NULL,"
    "  channel TEXT NOT NULL, media_type TEXT NOT NULL, operator TEXT NOT NULL,"
    "  ref_seq INTEGER NOT NULL, ref_hash BLOB NOT NULL,"
    "  body BLOB NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  received_ns INTEGER NOT NULL DEFAULT 0, sent_ns INTEGER NOT NULL DEFAULT 0,"
    "  delivered_ns INTEGER NOT NULL DEFAULT 0, acked_ns INTEGER NOT NULL DEFAULT 0,"
    "  refused_ns INTEGER NOT NULL DEFAULT 0,"
    "  acked_by TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',"
    "  proof BLOB,"
    "  client_token BLOB," /* the sender's retry key, local only */
    "  PRIMARY KEY (peer_id, dir, seq));"
    "CREATE INDEX events_msg_id ON events(msg_id);"
    /* Small indexes: every page a commit touches costs fdatasync time. */
    "CREATE INDEX events_pending ON events(peer_id, seq) WHERE dir = 0 AND state IN (0, 1);"
    /* What a load must send first: pending FLASH, IMMEDIATE, PRIORITY (few rows). */
    "CREATE INDEX events_pending_urgent ON events(peer_id, seq)"
    "  WHERE dir = 0 AND state IN (0, 1) AND precedence < 3;"

    "CREATE TABLE heads ("
    "  peer_id INTEGER NOT NULL REFERENCES peers(id),"
    "  dir INTEGER NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, sig BLOB NOT NULL,"
    "  at_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (peer_id, dir, seq));",
    /* 2 -> 3: channels that refuse suspension, the notices' index, link tests */
    "ALTER TABLE channels ADD COLUMN no_suspend INTEGER NOT NULL DEFAULT 0;"
    /* Notices (kinds 3, 4) are few: a channel's state is read through this small index. */
    "CREATE INDEX events_notices ON events(peer_id, channel, dir, seq) WHERE kind IN (3, 4);"
    "CREATE TABLE link_tests ("
    "  peer_id INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"
    "  dir INTEGER NOT NULL CHECK (dir IN (0, 1))," /* 0: our test, 1: the peer's, answered */
    "  link TEXT NOT NULL," /* the pinned address, or the session's remote end */
    "  at_ns INTEGER NOT NULL,"
    "  ok INTEGER NOT NULL,"
    "  rtt_us INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX link_tests_by_link ON link_tests(peer_id, link, at_ns);",
    /* 3 -> 4: the record a third party can check: the peer's receipts whole, checkpoints */
    "CREATE TABLE receipts ("
    "  peer_id INTEGER NOT NULL REFERENCES peers(id),"
    "  at_ns INTEGER NOT NULL,"
    "  entries BLOB NOT NULL," /* the signed bytes: per event seq u64 BE, hash 32 */
    "  sig BLOB NOT NULL);"
    "CREATE TABLE checkpoints ("
    "  id INTEGER PRIMARY KEY,"
    "  peer_id INTEGER NOT NULL REFERENCES peers(id),"
    "  initiator INTEGER NOT NULL," /* 0: this station, 1: the peer */
    "  at_ns INTEGER NOT NULL,"     /* the initiator's clock, signed */
    "  our_seq INTEGER NOT NULL, their_seq INTEGER NOT NULL,"
    /* our statement: our chain up to our_seq, theirs (as we hold it) up to their_seq */
    "  our_hash BLOB NOT NULL, their_hash BLOB NOT NULL, our_sig BLOB NOT NULL,"
    /* the peer's statement about the same seqs (NULL until it answers) */
    "  peer_our_hash BLOB, peer_their_hash BLOB, peer_sig BLOB,"
    "  status INTEGER NOT NULL," /* 0 agreed, 1 mismatch, 2 waiting for the peer */
    "  detail TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (peer_id, initiator, at_ns));",
    /* 4 -> 5: key lifecycle (docs/keys.md): every key pinned or announced for a peer,
     * revocations, this station's own rotations */
    "ALTER TABLE peers ADD COLUMN revoked_ns INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE peers ADD COLUMN revoked_reason TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE key_history ("
    "  id INTEGER PRIMARY KEY,"
    "  peer_id INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"
    /* 0 announced (accepted in handshakes, not yet in use), 1 retired, 2 revoked, 3 current */
    "  state INTEGER NOT NULL CHECK (state IN (0, 1, 2, 3)),"
    "  x25519 BLOB NOT NULL CHECK (length(x25519) = 32),"
    "  ed25519 BLOB NOT NULL CHECK (length(ed25519) = 32),"
    "  event_seq INTEGER NOT NULL DEFAULT 0," /* the peer's KEY event that announced it */
    "  statement BLOB,"                       /* ... and its body; NULL: pinned by an operator */
    "  since_ns INTEGER NOT NULL,"            /* pinned, announced, or current since */
    "  until_ns INTEGER NOT NULL DEFAULT 0,"  /* retired or revoked since */
    "  reason TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX key_history_peer ON key_history(peer_id, state);"
    "INSERT INTO key_history (peer_id, state, x25519, ed25519, since_ns)"
    "  SELECT id, 3, x25519, ed25519, added_ns FROM peers;"
    "CREATE TABLE rotations ("
    "  id INTEGER PRIMARY KEY,"
    "  old_x25519 BLOB NOT NULL, old_ed25519 BLOB NOT NULL,"
    "  new_x25519 BLOB NOT NULL UNIQUE, new_ed25519 BLOB NOT NULL,"
    "  statement BLOB NOT NULL," /* the signed body every peer's KEY event carries */
    "  operator TEXT NOT NULL,"
    "  started_ns INTEGER NOT NULL,"
    "  switched_ns INTEGER NOT NULL DEFAULT 0);" /* 0: still announcing */
    "CREATE INDEX events_keys ON events(peer_id, dir, seq) WHERE kind = 5;",
    /* 5 -> 6: talks (docs/talks.md): their events' index, the public record imported */
    /* Talks events (kind 6) are few: the register is folded from them through this index. */
    "CREATE INDEX events_talks ON events(peer_id, dir, seq) WHERE kind = 6;"
    "CREATE TABLE talks_imported ("
    "  peer_id INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"
    "  id TEXT NOT NULL,"             /* the file's id, e.g. 2024-01-dpct-17 */
    "  record TEXT NOT NULL,"         /* canonical JSON, sides as self and peer */
    "  imported_ns INTEGER NOT NULL," /* this station's clock */
    "  PRIMARY KEY (peer_id, id));",
    /* 6 -> 7: the console's operator accounts (src/operators.c): Argon2id hashes, never
     * passwords; generation counts password changes, so older sessions end */
    "CREATE TABLE operators ("
    "  name TEXT PRIMARY KEY,"
    "  role TEXT NOT NULL CHECK (role IN ('watch', 'duty', 'admin')),"
    "  language TEXT NOT NULL CHECK (language IN ('en', 'zh')),"
    "  pwhash TEXT NOT NULL,"
    "  generation INTEGER NOT NULL DEFAULT 1,"
    "  created_ns INTEGER NOT NULL,"
    "  changed_ns INTEGER NOT NULL);",
};
_Static_assert(ARRAY_SIZE(migrations) == HL_STORE_SCHEMA, "one migration per schema version");

int
hl_store_err(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_FULL:
		return HL_ERR_FULL;
	case SQLITE_IOERR:
		return HL_ERR_DISK;
	default:
		return HL_ERR_IO;
	}
}

int
hl_store_exec(struct hl_store *st, const char *sql)
{
	char *msg = NULL;

	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_warn("store_error", "op=exec err=\"%s\"", msg ? msg : "?");
		sqlite3_free(msg);
		return hl_store_err(rc);
	}
	return HL_OK;
}

static int
user_version(struct hl_store *st, int *v)
{
	sqlite3_stmt *q;
	int rc = HL_ERR_IO;

	*v = -1;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
		return HL_ERR_IO;
	if (sqlite3_step(q) == SQLITE_ROW) {
		*v = sqlite3_column_int(q, 0);
		rc = HL_OK;
	}
	sqlite3_finalize(q);
	return rc;
}

void
hl_store_bury_failed_commit(struct hl_store *st)
{
	int v;

	/*
	 * A COMMIT whose fsync failed has still written its frames, commit
	 * mark included, into the WAL: SQLite only leaves them out of the
	 * WAL index. If every connection then ends (a crash, or the daemon
	 * stopping because of it), the next open rebuilds the index from the
	 * file, finds them valid, and the transaction reported as failed comes
	 * back: a message "NOT stored" would be sent after all. Any later
	 * write transaction puts its own frames in their place, and checksums
	 * chain frame to frame, so what is left of the failed one no longer
	 * counts. Write one now: the same user_version again, which changes
	 * nothing but page 1. It may fail too (the disk is failing); its own
	 * frames are then the ones left over, and they change nothing.
	 */
	if (hl_store_exec(st, "BEGIN IMMEDIATE") < 0)
		return;
	if (user_version(st, &v) == HL_OK) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
		if (hl_store_exec(st, sql) == HL_OK && hl_store_exec(st, "COMMIT") == HL_OK)
			return;
	}
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
migrate(struct hl_store *st, char *err, size_t errcap)
{
	char sql[64];
	int v;

	if (hl_store_exec(st, "BEGIN IMMEDIATE") < 0 || user_version(st, &v) < 0) {
		snprintf(err, errcap, "cannot read the store's schema version: %s",
		         sqlite3_errmsg(st->db));
		hl_store_exec(st, "ROLLBACK");
		return HL_ERR_IO;
	}
	if (v > HL_STORE_SCHEMA) {
		snprintf(err, errcap,
		         "the store has schema version %d but this hotline knows only up to %d: "
		         "run a newer hotline",
		         v, HL_STORE_SCHEMA);
		hl_store_exec(st, "ROLLBACK");
		return HL_ERR_CORRUPT;
	}
	for (; v < HL_STORE_SCHEMA; v++) {
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (hl_store_exec(st, migrations[v]) < 0 || hl_store_exec(st, sql) < 0) {
			snprintf(err, errcap, "schema migration to version %d failed", v + 1);
			hl_store_exec(st, "ROLLBACK");
			return HL_ERR_IO;
		}
	}
	if (hl_store_exec(st, "COMMIT") < 0) {
		snprintf(err, errcap, "cannot commit the schema: %s", sqlite3_errmsg(st->db));
		return HL_ERR_IO;
	}
	return HL_OK;
}

int
hl_store_open(const char *path, bool create, struct hl_store **out, char *err, size_t errcap)
{
	struct hl_store *st;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;

	*out = NULL;
	st = calloc(1, sizeof *st);
	if (!st)
		return HL_ERR_NOMEM;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errcap, "cannot open the store %s: %s", path,
		         st->db ? sqlite3_errmsg(st->db) : "out of memory");
		rc = HL_ERR_IO;
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 10000);
	if (hl_store_exec(st, "PRAGMA journal_mode=WAL") < 0 ||
	    hl_store_exec(st, "PRAGMA synchronous=FULL") < 0 ||
	    /* A bigger page cache: the daemon rereads its recent rows. */
	    hl_store_exec(st, "PRAGMA cache_size=-32768") < 0 ||
	    hl_store_exec(st, "PRAGMA foreign_keys=ON") < 0) {
		snprintf(err, errcap, "cannot set up the store %s: %s", path,
		         sqlite3_errmsg(st->db));
		rc = HL_ERR_IO;
		goto fail;
	}
	rc = migrate(st, err, errcap);
	if (rc < 0)
		goto fail;
	*out = st;
	return HL_OK;
fail:
	hl_store_close(st);
	return rc;
}

void
hl_store_close(struct hl_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->ncached; i++)
		sqlite3_finalize(st->cache[i].stmt);
	sqlite3_close(st->db);
	free(st);
}

int
hl_store_step_done(struct hl_store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	if (rc == SQLITE_DONE)
		return HL_OK;
	if (rc == SQLITE_CONSTRAINT)
		return HL_ERR_EXISTS;
	log_warn("store_error", "err=\"%s\"", sqlite3_errmsg(st->db));
	return hl_store_err(rc);
}

int
hl_store_peer_add(struct hl_store *st, const struct hl_peer_rec *p)
{
	sqlite3_stmt *q = NULL;
	int64_t id;
	int rc;

	if (hl_store_exec(st, "BEGIN IMMEDIATE") < 0)
		return HL_ERR_IO;
	rc = HL_ERR_IO;
	if (sqlite3_prepare_v2(
	        st->db, "INSERT INTO peers (name, x25519, ed25519, added_ns) VALUES (?,?,?,?)", -1,
	        &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(q, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, p->key.x25519, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, p->key.ed25519, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)p->added_ns);
	rc = hl_store_step_done(st, q);
	sqlite3_finalize(q);
	q = NULL;
	if (rc < 0)
		goto out;
	id = sqlite3_last_insert_rowid(st->db);
	rc = HL_ERR_IO;
	/* The key as pinned by the operator: the first of the peer's key history. */
	if (sqlite3_prepare_v2(st->db,
	                       "INSERT INTO key_history (peer_id, state, x25519, ed25519, since_ns)"
	                       " VALUES (?, 3, ?, ?, ?)",
	                       -1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_blob(q, 2, p->key.x25519, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, p->key.ed25519, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)p->added_ns);
	if ((rc = hl_store_step_done(st, q)) < 0)
		goto out;
	sqlite3_finalize(q);
	q = NULL;
	rc = HL_ERR_IO;
	/* Every peer starts with one channel, "general". */
	if (sqlite3_prepare_v2(
	        st->db, "INSERT INTO channels (peer_id, name, created_ns) VALUES (?, 'general', ?)",
	        -1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)p->added_ns);
	if ((rc = hl_store_step_done(st, q)) < 0)
		goto out;
	sqlite3_finalize(q);
	q = NULL;
	rc = HL_ERR_IO;
	if (sqlite3_prepare_v2(st->db,
	                       "INSERT INTO peer_links (peer_id, position, address) VALUES (?,?,?)",
	                       -1, &q, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < p->nlinks; i++) {
		sqlite3_bind_int64(q, 1, id);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
		sqlite3_bind_text(q, 3, p->links[i], -1, SQLITE_STATIC);
		rc = hl_store_step_done(st, q);
		sqlite3_reset(q);
		if (rc < 0)
			goto out;
	}
	/* A rotation of ours under way: the new peer must hear of it too. */
	if ((rc = hl_store_rotation_notify_all(st, NULL)) < 0)
		goto out;
	rc = hl_store_exec(st, "COMMIT");
out:
	sqlite3_finalize(q);
	if (rc < 0)
		hl_store_exec(st, "ROLLBACK");
	return rc;
}

int
hl_store_peer_remove(struct hl_store *st, const char *name)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db,
	                       "SELECT count(*) FROM events e JOIN peers p ON p.id = e.peer_id"
	                       " WHERE p.name = ?",
	                       -1, &q, NULL) != SQLITE_OK)
		return HL_ERR_IO;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
	sqlite3_finalize(q);
	if (rc != 0)
		return rc < 0 ? HL_ERR_IO : HL_ERR_BUSY; /* the record is never thrown away */
	if (sqlite3_prepare_v2(st->db, "DELETE FROM peers WHERE name = ?", -1, &q, NULL) !=
	    SQLITE_OK)
		return HL_ERR_IO;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = hl_store_step_done(st, q);
	if (rc == HL_OK && sqlite3_changes(st->db) == 0)
		rc = HL_ERR_NOTFOUND;
	sqlite3_finalize(q);
	return rc;
}

int
hl_store_peer_list(struct hl_store *st, struct hl_peer_rec **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	struct hl_peer_rec *v = NULL;
	size_t cnt = 0;
	int rc = HL_ERR_IO, s;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT p.id, p.name, p.x25519, p.ed25519, p.added_ns, l.address,"
	                       " p.revoked_ns, p.revoked_reason"
	                       " FROM peers p LEFT JOIN peer_links l ON l.peer_id = p.id"
	                       " ORDER BY p.name, l.position",
	                       -1, &q, NULL) != SQLITE_OK)
		goto out;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		struct hl_peer_rec *p = cnt ? &v[cnt - 1] : NULL;
		if (!p || p->id != id) {
			struct hl_peer_rec *nv = realloc(v, (cnt + 1) * sizeof *v);
			if (!nv) {
				rc = HL_ERR_NOMEM;
				goto out;
			}
			v = nv;
			p = &v[cnt++];
			memset(p, 0, sizeof *p);
			p->id = id;
			snprintf(p->name, sizeof p->name, "%s", sqlite3_column_text(q, 1));
			if (sqlite3_column_bytes(q, 2) != 32 || sqlite3_column_bytes(q, 3) != 32) {
				rc = HL_ERR_CORRUPT;
				goto out;
			}
			memcpy(p->key.x25519, sqlite3_column_blob(q, 2), 32);
			memcpy(p->key.ed25519, sqlite3_column_blob(q, 3), 32);
			p->added_ns = (uint64_t)sqlite3_column_int64(q, 4);
			p->revoked_ns = (uint64_t)sqlite3_column_int64(q, 6);
			snprintf(p->revoked_reason, sizeof p->revoked_reason, "%s",
			         sqlite3_column_text(q, 7) ? (const char *)sqlite3_column_text(q, 7)
			                                   : "");
		}
		if (sqlite3_column_type(q, 5) != SQLITE_NULL && p->nlinks < HL_LINKS_MAX)
			snprintf(p->links[p->nlinks++], HL_ADDR_MAX, "%s",
			         sqlite3_column_text(q, 5));
	}
	if (s != SQLITE_DONE)
		goto out;
	for (size_t i = 0; i < cnt; i++)
		if ((rc = hl_store_peer_keys(st, &v[i])) < 0)
			goto out;
	*out = v;
	*n = cnt;
	v = NULL;
	rc = HL_OK;
out:
	sqlite3_finalize(q);
	free(v);
	return rc;
}

int
hl_store_peer_get(struct hl_store *st, const char *name, struct hl_peer_rec *out)
{
	struct hl_peer_rec *all;
	size_t n;
	int rc = hl_store_peer_list(st, &all, &n);

	if (rc < 0)
		return rc;
	rc = HL_ERR_NOTFOUND;
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0) {
			*out = all[i];
			rc = HL_OK;
		}
	free(all);
	return rc;
}
