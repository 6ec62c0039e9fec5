/* SPDX-License-Identifier: ISC */
/*
 * test_backup.c: schema upgrades from every earlier released schema, and
 * online backups and their restoration (src/store_backup.c).
 *
 * An old store is built with the SQL of the released migrations as frozen
 * below (a copy of src/store.c at schema 4, never to be edited), with
 * representative rows of its version; hl_store_open must migrate it to the
 * current schema with the rows intact, and the result must have the same
 * schema as a store made fresh (which also catches an edit of a released
 * migration in src/store.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <sodium.h>

#include "store.h"
#include "t.h"
#include "t_sqlite.h"

/* T_OK evaluates its condition twice: these conditions have effects, so once. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		bool check_ = (cond);                                                              \
		T_OK(check_, __VA_ARGS__);                                                         \
	} while (0)

static char dir[] = "/tmp/hl-test-backup-XXXXXX";
static char err[1024];

static void
path_of(char *out, size_t cap, const char *file)
{
	if (hl_path(out, cap, dir, file) < 0) {
		printf("Bail out! path too long\n");
		exit(1);
	}
}

/* Migration N takes the schema from N to N+1, as released. */
static const char *const released[] = {
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
    /* Schemas 5 (keys) and 6 (talks) are not released yet: they join this list when they are. */
};

/* Representative rows of each released schema, added after its migration. */
static const char *const rows_at[] = {
    /* schema 1: a peer with two links */
    "INSERT INTO peers VALUES (7, 'beijing', zeroblob(32), randomblob(32), 1700000000000000000);"
    "INSERT INTO peer_links VALUES (7, 0, '192.0.2.1:7400'), (7, 1, '198.51.100.1:7400');",
    /* schema 2: a channel, both chains, a signed head */
    "INSERT INTO channels VALUES (7, 'leaders', 1700000000000000001);"
    "INSERT INTO events (peer_id, dir, seq, msg_id, hash, prev, kind, precedence, created_ns,"
    " deadline_ns, channel, media_type, operator, ref_seq, ref_hash, body, state, sent_ns,"
    " delivered_ns) VALUES (7, 0, 1, 'aaaaaaaaaaaa', randomblob(32), zeroblob(32), 1, 1,"
    " 1700000000000000010, 0, 'general', 'text/plain', 'Maj. Smith', 0, zeroblob(32),"
    " CAST('out one' AS BLOB), 2, 1700000000000000011, 1700000000000000012);"
    "INSERT INTO events (peer_id, dir, seq, msg_id, hash, prev, kind, precedence, created_ns,"
    " deadline_ns, channel, media_type, operator, ref_seq, ref_hash, body, state, received_ns)"
    " VALUES (7, 1, 1, 'bbbbbbbbbbbb', randomblob(32), zeroblob(32), 1, 3,"
    " 1700000000000000020, 0, 'general', 'text/plain', 'Col. Li', 0, zeroblob(32),"
    " CAST('in one' AS BLOB), 5, 1700000000000000021);"
    "INSERT INTO heads VALUES (7, 1, 1, randomblob(32), randomblob(64), 1700000000000000022);",
    /* schema 3: a --no-suspend channel, a link test */
    "INSERT INTO channels (peer_id, name, created_ns, no_suspend)"
    " VALUES (7, 'hotline', 1700000000000000030, 1);"
    "INSERT INTO link_tests VALUES (7, 0, '192.0.2.1:7400', 1700000000000000031, 1, 1234, '');",
    /* schema 4: a receipt, a checkpoint waiting for the peer */
    "INSERT INTO receipts VALUES (7, 1700000000000000040, randomblob(40), randomblob(64));"
    "INSERT INTO checkpoints (peer_id, initiator, at_ns, our_seq, their_seq, our_hash,"
    " their_hash, our_sig, status) VALUES (7, 0, 1700000000000000041, 1, 1, randomblob(32),"
    " randomblob(32), randomblob(64), 2);",
};
_Static_assert(ARRAY_SIZE(released) == ARRAY_SIZE(rows_at), "rows for every released schema");

_Static_assert(ARRAY_SIZE(released) == ARRAY_SIZE(rows_at), "rows for every released schema");

/* A store at schema `version` with the rows of every version up to it. */
static int
build_old(const char *path, int version)
{
	sqlite3 *db = NULL;
	char sql[64];
	int rc = -1;

	unlink(path);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	for (int v = 0; v < version; v++) {
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(db, released[v], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, rows_at[v], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			printf("# build schema %d: %s\n", v + 1, sqlite3_errmsg(db));
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_close(db);
	return rc;
}

/* The schema's SQL, every object in name order, into a malloc'd string. */
static char *
schema_of(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char *s = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(
	        db,
	        "SELECT group_concat(type || ' ' || name || ': ' || coalesce(sql, ''),"
	        " char(10)) FROM (SELECT * FROM sqlite_master ORDER BY name)",
	        -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		s = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	return s;
}

static long long
count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	long long n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static int
exec_on(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	                 sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
	             ? 0
	             : -1;

	sqlite3_close(db);
	return rc;
}

static void
check_rows(struct hl_store *st, int version)
{
	struct hl_peer_rec *peers = NULL;
	struct hl_channel_rec *ch = NULL;
	struct hl_event_row *r = NULL;
	size_t n = 0;

	CHECK(hl_store_peer_list(st, &peers, &n) == HL_OK && n == 1 && peers[0].id == 7 &&
	          strcmp(peers[0].name, "beijing") == 0 && peers[0].nlinks == 2 &&
	          strcmp(peers[0].links[1], "198.51.100.1:7400") == 0 &&
	          peers[0].added_ns == UINT64_C(1700000000000000000),
	      "schema %d: the peer and its links are intact", version);
	free(peers);
	n = 0;
	CHECK(hl_store_channel_list(st, "beijing", &ch, &n) == HL_OK &&
	          n == (size_t)(version == 1   ? 1
	                        : version == 2 ? 2
	                                       : 3),
	      "schema %d: channels (general%s) (got %zu)", version,
	      version == 1 ? ", made by the migration" : " and those added", n);
	for (size_t i = 0; ch && i < n; i++)
		if (strcmp(ch[i].name, "hotline") == 0)
			CHECK(ch[i].no_suspend, "schema %d: the --no-suspend channel kept it",
			      version);
		else if (strcmp(ch[i].name, "general") == 0 && version == 1)
			CHECK(ch[i].created_ns == UINT64_C(1700000000000000000),
			      "schema 1: general is dated when the peer was added");
	free(ch);
	if (version < 2)
		return;
	n = 0;
	CHECK(hl_store_find(st, "aaaaaaaaaaaa", &r, &n) == HL_OK && n == 1 &&
	          r[0].dir == HL_DIR_OUT && r[0].state == HL_ST_DELIVERED &&
	          r[0].ev.body_len == 7 && memcmp(r[0].ev.body, "out one", 7) == 0 &&
	          r[0].delivered_ns == UINT64_C(1700000000000000012),
	      "schema %d: our event is intact", version);
	hl_event_rows_free(r, n);
	n = 0;
	r = NULL;
	CHECK(hl_store_find(st, "bbbbbbbbbbbb", &r, &n) == HL_OK && n == 1 &&
	          r[0].dir == HL_DIR_IN && r[0].state == HL_ST_RECEIVED &&
	          strcmp(r[0].ev.operator_name, "Col. Li") == 0 && r[0].ev.body_len == 6,
	      "schema %d: the peer's event is intact", version);
	hl_event_rows_free(r, n);
	{
		struct hl_peer_rec p;
		CHECK(hl_store_peer_get(st, "beijing", &p) == HL_OK &&
		          p.key_since_ns == UINT64_C(1700000000000000000) && !p.has_next &&
		          !p.revoked_ns && p.nretired == 0,
		      "schema %d: the pinned key starts the peer's key history", version);
	}
	if (version < 3)
		return;
	struct hl_link_test_rec last;
	uint64_t last_ok = 0;
	CHECK(hl_store_link_test_last(st, 7, HL_DIR_OUT, "192.0.2.1:7400", &last, &last_ok) ==
	              HL_OK &&
	          last.ok && last.rtt_us == 1234 && last_ok == UINT64_C(1700000000000000031),
	      "schema %d: the link test is intact", version);
	if (version < 4)
		return;
	struct hl_ckpt_rec ck;
	bool found = false;
	size_t mism = 0;
	uint64_t agreed = 0;
	CHECK(hl_store_ckpt_last(st, 7, &ck, &found, &agreed, &mism) == HL_OK && found &&
	          ck.status == HL_CKPT_WAITING && ck.ours.at_ns == UINT64_C(1700000000000000041),
	      "schema %d: the checkpoint is intact", version);
}

static void
test_upgrades(void)
{
	char fresh[512], old[512], *want, *got;
	struct hl_store *st = NULL;

	path_of(fresh, sizeof fresh, "fresh.db");
	CHECK(hl_store_open(fresh, true, &st, err, sizeof err) == HL_OK, "a fresh store");
	hl_store_close(st);
	want = schema_of(fresh);
	path_of(old, sizeof old, "old.db");
	/* Every released schema, up to the one before the current one. */
	for (int v = 1; v <= (int)ARRAY_SIZE(released) && v < HL_STORE_SCHEMA; v++) {
		st = NULL;
		CHECK(build_old(old, v) == 0, "a store at schema %d", v);
		T_EQ_INT(t_user_version(old), v, "its user_version");
		CHECK(hl_store_open(old, false, &st, err, sizeof err) == HL_OK,
		      "schema %d: hl_store_open migrates it (err \"%s\")", v, err);
		if (!st)
			continue;
		check_rows(st, v);
		hl_store_close(st);
		T_EQ_INT(t_user_version(old), HL_STORE_SCHEMA, "now at the current schema");
		got = schema_of(old);
		CHECK(want && got && strcmp(want, got) == 0,
		      "schema %d: migrated, it has the schema of a fresh store", v);
		free(got);
	}
	free(want);
}

static void
test_backup_restore(void)
{
	char src[512], bk[512], bk2[512], junk[512], p[600];
	struct hl_store_info info, cur;
	struct hl_store *st = NULL, *w = NULL;
	int rc;

	path_of(src, sizeof src, "src.db");
	path_of(bk, sizeof bk, "bk.db");
	path_of(bk2, sizeof bk2, "bk2.db");
	path_of(junk, sizeof junk, "junk.db");
	CHECK(build_old(src, 3) == 0 && hl_store_open(src, false, &w, err, sizeof err) == HL_OK,
	      "a store with rows, open");
	hl_store_close(w);
	/* A write in progress on another connection: the backup copies what was committed. */
	sqlite3 *wdb = NULL;
	CHECK(sqlite3_open_v2(src, &wdb, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	          sqlite3_exec(wdb,
	                       "BEGIN IMMEDIATE; INSERT INTO link_tests VALUES"
	                       " (7, 1, 'x', 1, 0, 0, 'timeout')",
	                       NULL, NULL, NULL) == SQLITE_OK,
	      "a write transaction open meanwhile");
	rc = hl_store_backup(src, bk, false, &info, err, sizeof err);
	CHECK(rc == HL_OK, "backup beside an open write (err \"%s\")", err);
	CHECK(info.schema == HL_STORE_SCHEMA && info.events == 2 && info.peers == 1 &&
	          strcmp(info.integrity, "ok") == 0 && info.bytes > 0 &&
	          info.newest_ns == UINT64_C(1700000000000000021),
	      "it says what it copied (schema %d, %llu events, newest %llu, integrity %s)",
	      info.schema, (unsigned long long)info.events, (unsigned long long)info.newest_ns,
	      info.integrity);
	rc = sqlite3_exec(wdb, "COMMIT", NULL, NULL, NULL);
	CHECK(rc == SQLITE_OK, "the write commits after the backup (%s)", sqlite3_errmsg(wdb));
	sqlite3_close(wdb);
	T_EQ_INT(count(src, "SELECT count(*) FROM link_tests"), 2, "the store has the new row");
	T_EQ_INT(count(bk, "SELECT count(*) FROM link_tests"), 1,
	         "the uncommitted row is not in it");
	T_EQ_INT(
	    count(bk, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'delete'"), 1,
	    "the backup is one file, in rollback-journal mode");
	snprintf(p, sizeof p, "%s.tmp", bk);
	CHECK(access(p, F_OK) != 0, "no .tmp is left");
	rc = hl_store_backup(src, bk, false, &info, err, sizeof err);
	CHECK(rc == HL_ERR_EXISTS && strstr(err, "--force"), "an existing FILE is refused (\"%s\")",
	      err);
	CHECK(hl_store_backup(src, bk2, true, &info, err, sizeof err) == HL_OK &&
	          hl_store_backup(src, bk2, true, &info, err, sizeof err) == HL_OK,
	      "--force replaces it");

	/* The store moves on: the backup is older. */
	CHECK(exec_on(src, "INSERT INTO events (peer_id, dir, seq, msg_id, hash, prev, kind,"
	                   " precedence, created_ns, deadline_ns, channel, media_type, operator,"
	                   " ref_seq, ref_hash, body, state) VALUES (7, 0, 2, 'cccccccccccc',"
	                   " randomblob(32), zeroblob(32), 1, 3, 1800000000000000000, 0, 'general',"
	                   " 'text/plain', '', 0, zeroblob(32), CAST('later' AS BLOB), 0)") == 0,
	      "a later event in the store");
	rc = hl_store_restore(bk, src, false, &info, &cur, err, sizeof err);
	CHECK(rc == HL_ERR_EXISTS && strstr(err, "newer") && cur.events == 3 && info.events == 2,
	      "restoring the older backup over it is refused (\"%s\")", err);
	T_EQ_INT(count(src, "SELECT count(*) FROM events"), 3, "and the store is untouched");
	err[0] = '\0';
	rc = hl_store_restore(bk, src, true, &info, &cur, err, sizeof err);
	CHECK(rc == HL_OK, "--force restores it (err \"%s\")", err);
	T_EQ_INT(count(src, "SELECT count(*) FROM events"), 2, "the store is the backup's");
	snprintf(p, sizeof p, "%s-wal", src);
	CHECK(access(p, F_OK) != 0, "no stale -wal of the old store");
	CHECK(hl_store_open(src, false, &st, err, sizeof err) == HL_OK, "it opens");
	hl_store_close(st);
	rc = hl_store_restore(bk, src, false, &info, &cur, err, sizeof err);
	CHECK(rc == HL_OK, "restoring the same backup again needs no --force (err \"%s\")", err);

	/* Files that are not usable backups. */
	FILE *f = fopen(junk, "w");
	if (f) {
		fputs("this is not a database, not even close; it is a line of text\n", f);
		fclose(f);
	}
	rc = hl_store_restore(junk, src, true, &info, &cur, err, sizeof err);
	CHECK(rc == HL_ERR_CORRUPT && strstr(err, "not a hotline store"),
	      "a text file is refused (\"%s\")", err);
	CHECK(exec_on(bk2, "PRAGMA user_version = 99") == 0, "a backup from the future");
	rc = hl_store_restore(bk2, src, true, &info, &cur, err, sizeof err);
	CHECK(rc == HL_ERR_LIMIT && strstr(err, "schema 99, newer than this hotline"),
	      "is refused (\"%s\")", err);
	rc = hl_store_restore(junk, src, true, &info, &cur, err, sizeof err);
	T_EQ_INT(count(src, "SELECT count(*) FROM events"), 2, "the refusals left the store alone");

	/* An old schema as a backup: restored as it is, migrated when opened. */
	CHECK(build_old(bk2, 2) == 0, "a schema 2 store as the backup");
	unlink(src);
	err[0] = '\0';
	rc = hl_store_restore(bk2, src, false, &info, &cur, err, sizeof err);
	CHECK(rc == HL_OK && info.schema == 2 && cur.schema == -1,
	      "restored where there was no store (err \"%s\")", err);
	CHECK(hl_store_open(src, false, &st, err, sizeof err) == HL_OK, "opened: migrated");
	if (st)
		check_rows(st, 2);
	hl_store_close(st);
	T_EQ_INT(t_user_version(src), HL_STORE_SCHEMA, "at the current schema");
}

int
main(void)
{
	char cmd[600];

	if (sodium_init() < 0 || !mkdtemp(dir)) {
		printf("Bail out! setup\n");
		return 1;
	}
	test_upgrades();
	test_backup_restore();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return t_done();
}
