/* SPDX-License-Identifier: ISC */
/*
 * test_walcheck.c: the WAL judged before SQLite recovers it
 * (src/walcheck.c), on real WALs written by SQLite through the page
 * checksum shim (src/pagesum.c, which also keeps the WAL's tip), then
 * damaged: a flipped bit before later commits, in the last transaction, in
 * the header; a truncation; frames already copied into the database. Each
 * damage that loses committed data must be named; what a power cut can do
 * must not be.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <sodium.h>

#include "pagesum.h"
#include "t.h"
#include "util.h"
#include "walcheck.h"
#include "wire.h"

static char dir[] = "/tmp/hl-test-walcheck-XXXXXX";
static char db_path[200], wal_path[256], tip_path[256];

struct file {
	uint8_t *b;
	size_t n;
};

static struct file
slurp(const char *path)
{
	struct file f = {NULL, 0};
	char *text = NULL;

	if (hl_file_read(path, 64 << 20, &text, &f.n) == HL_OK)
		f.b = (uint8_t *)text;
	return f;
}

static bool
page_of(void *ctx, uint32_t pgno, uint8_t *buf, size_t ps)
{
	const struct file *db = ctx;

	if (!pgno || (size_t)pgno * ps > db->n)
		return false;
	memcpy(buf, db->b + (size_t)(pgno - 1) * ps, ps);
	return true;
}

static void
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		printf("Bail out! %s: %s\n", sql, msg ? msg : "?");
		exit(1);
	}
}

/*
 * A database in WAL mode, as the station keeps it (8 bytes reserved per
 * page), with n transactions in its WAL: the first inserts rows over
 * several pages, each later one updates one row (page) or another.
 * checkpoint: copy them all into the database, keeping the WAL.
 */
static void
build(int n, bool checkpoint)
{
	sqlite3 *db = NULL;
	int reserve = 8;

	unlink(db_path);
	unlink(wal_path);
	unlink(tip_path);
	if (sqlite3_open(db_path, &db) != SQLITE_OK) {
		printf("Bail out! open\n");
		exit(1);
	}
	sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;"
	         "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB);"
	         "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 8)"
	         " INSERT INTO t SELECT i, randomblob(3000) FROM c");
	for (int i = 1; i < n; i++) {
		char sql[128];
		/* rows 1 and 2 in turn: page of row 1, of row 2, of row 1 again, ... */
		snprintf(sql, sizeof sql, "UPDATE t SET v = randomblob(3000) WHERE k = %d",
		         1 + i % 2);
		exec(db, sql);
	}
	if (checkpoint)
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	sqlite3_close(db);
}

/* Frame j's offset (from 1), for a page size of 4096. */
static size_t
frame_at(size_t j)
{
	return 32 + (j - 1) * (24 + 4096);
}

static struct hl_wal_verdict
judge(const struct file *wal, bool with_tip)
{
	struct file db = slurp(db_path);
	struct hl_wal_tip tip = {.frame = 0};
	struct hl_wal_verdict v;
	bool have = hl_pagesum_tip(db_path, tip.salts, &tip.frame);

	hl_wal_check(wal->b, wal->n, 4096, 8, page_of, &db, with_tip && have ? &tip : NULL, &v);
	free(db.b);
	return v;
}

/* The last commit frame of an intact WAL. */
static size_t
last_commit(const struct file *wal)
{
	size_t last = 0;

	for (size_t j = 1; frame_at(j) + 24 + 4096 <= wal->n; j++)
		if (hl_get_u32(wal->b + frame_at(j) + 4))
			last = j;
	return last;
}

int
main(void)
{
	struct hl_wal_verdict v;
	struct file wal;
	size_t last;
	uint8_t salts[8];
	uint32_t tip;

	if (sodium_init() < 0 || !mkdtemp(dir) || hl_pagesum_register() < 0) {
		printf("Bail out! setup\n");
		return 1;
	}
	snprintf(db_path, sizeof db_path, "%s/t.db", dir);
	snprintf(wal_path, sizeof wal_path, "%s-wal", db_path);
	snprintf(tip_path, sizeof tip_path, "%s-tip", db_path);

	build(6, false);
	wal = slurp(wal_path);
	last = last_commit(&wal);
	T_OK(wal.n > 0 && last > 3, "a WAL of several transactions (%zu frames to the last commit)",
	     last);
	T_OK(hl_pagesum_tip(db_path, salts, &tip) && tip == last &&
	         memcmp(salts, wal.b + 16, 8) == 0,
	     "its tip names the last commit (%u) in this generation", tip);
	v = judge(&wal, true);
	T_OK(!v.damaged && v.kept == last, "intact: not damaged, SQLite keeps every commit (%s)",
	     v.what);

	/* A flipped bit in the first transaction, with commits after it: committed data lost. */
	wal.b[frame_at(2) + 24 + 100] ^= 0x10;
	v = judge(&wal, false);
	T_OK(v.damaged && strstr(v.what, "frame 2 of"), "a flip before later commits is named: %s",
	     v.what);
	wal.b[frame_at(2) + 24 + 100] ^= 0x10;

	/* The last transaction's commit frame: like a power cut during it, unless the tip says. */
	wal.b[frame_at(last) + 24 + 7] ^= 0x01;
	v = judge(&wal, false);
	T_OK(!v.damaged && v.kept < last,
	     "the last commit flipped, no tip: looks like a power cut");
	v = judge(&wal, true);
	T_OK(v.damaged && strstr(v.what, "had been committed"), "... the tip names it: %s", v.what);
	wal.b[frame_at(last) + 24 + 7] ^= 0x01;

	/* Truncated by two transactions: the tip alone can tell. */
	{
		struct file cut = {wal.b, frame_at(last - 1) + 10};
		v = judge(&cut, false);
		T_OK(!v.damaged, "truncated, no tip: not named (SQLite keeps frames to %llu)",
		     (unsigned long long)v.kept);
		v = judge(&cut, true);
		T_OK(v.damaged, "truncated, with the tip: %s", v.what);
		cut.n = 20;
		v = judge(&cut, true);
		T_OK(v.damaged && strstr(v.what, "shorter than its header"),
		     "cut below its header, with the tip: %s", v.what);
	}

	/* The header's checksum fails: SQLite ignores it all; its pages are not in the database. */
	wal.b[24] ^= 0x80;
	v = judge(&wal, false);
	T_OK(v.damaged && strstr(v.what, "header"), "a damaged header over uncopied pages: %s",
	     v.what);
	wal.b[24] ^= 0x80;
	free(wal.b);

	/* Everything copied into the database already: a damaged header loses nothing. */
	build(6, true);
	wal = slurp(wal_path);
	last = last_commit(&wal);
	wal.b[24] ^= 0x80;
	v = judge(&wal, false);
	T_OK(!v.damaged, "a damaged header over pages all copied: not damaged (%s)", v.what);
	wal.b[24] ^= 0x80;
	/*
	 * Copied, then a frame flipped: SQLite would read the page of row 1 from
	 * the frame before the flip, older than the one the database holds. A
	 * power cut leaves the same marks (a transaction can put a page back as
	 * it was): without the tip this is not named; the tip names it.
	 */
	{
		size_t j = last - 1; /* the next to last transaction (row 2 or 1) */
		wal.b[frame_at(j) + 24 + 200] ^= 0x04;
		v = judge(&wal, false);
		T_OK(!v.damaged, "a flip in the last two transactions, copied, no tip: not named");
		v = judge(&wal, true);
		T_OK(v.damaged && strstr(v.what, "had been committed"), "... with the tip: %s",
		     v.what);
	}
	free(wal.b);

	{
		char cmd[512];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return t_done();
}
