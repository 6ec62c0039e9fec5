/* SPDX-License-Identifier: ISC */
/*
 * store_backup.c: online backups of the store and their restoration
 * (docs/operations.md, "Backups").
 *
 * A backup is SQLite's backup API run inside one read transaction of the
 * source: in WAL mode a reader sees one snapshot and never blocks the
 * writer, so a running daemon keeps committing while the pages are copied
 * (its WAL grows meanwhile: a checkpoint cannot pass our snapshot), and the
 * copy never restarts because the source changed under it. The copy is a
 * single file in rollback-journal mode, written beside its target as .tmp,
 * fsync'd and renamed, so the target is either absent, or whole.
 *
 * "Newer", for a restore: the store in place holds more events than the
 * backup, or an event stored later (by this station's clock: created_ns of
 * our events, received_ns of the peer's) than the backup's newest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "log.h"
#include "pagesum.h"
#include "store.h"
#include "util.h"

#define PATH_CAP 4096
#define STEP_PAGES 256    /* 1 MiB at 4 KiB pages: each step is short */
#define BUSY_RETRY_MS 10  /* wait this long after SQLITE_BUSY or LOCKED ... */
#define BUSY_RETRIES 1000 /* ... at most this many times in a row (10 s) */

/* One or two integers from the first row of sql; an SQLite result code. */
static int
query_ints(sqlite3 *db, const char *sql, int64_t *a, int64_t *b)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		*a = sqlite3_column_int64(q, 0);
		if (b)
			*b = sqlite3_column_int64(q, 1);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc;
}

/* The first line of PRAGMA integrity_check into out ("ok" when whole). */
static int
integrity(sqlite3 *db, char *out, size_t cap)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc;
}

int
hl_store_inspect(const char *path, struct hl_store_info *info, char *err, size_t errcap)
{
	sqlite3 *db = NULL;
	struct stat sb;
	int64_t a = 0, b = 0, tables = 0;
	int rc = HL_ERR_CORRUPT, s;

	memset(info, 0, sizeof *info);
	info->schema = -1;
	(void)hl_pagesum_register(); /* pages are read, and copies written, with their checksums */
	if (stat(path, &sb) != 0) {
		snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
		return errno == ENOENT ? HL_ERR_NOTFOUND : HL_ERR_IO;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errcap, "%s is not a hotline store: not a regular file", path);
		return HL_ERR_CORRUPT;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errcap, "cannot open %s: %s", path,
		         db ? sqlite3_errmsg(db) : "out of memory");
		rc = HL_ERR_IO;
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	/* One snapshot for every figure below, even while a daemon writes. */
	if ((s = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK ||
	    (s = query_ints(db, "PRAGMA user_version", &a, NULL)) != SQLITE_OK) {
		snprintf(err, errcap, "%s is not a hotline store: %s", path, sqlite3_errmsg(db));
		rc = s == SQLITE_BUSY ? HL_ERR_IO : HL_ERR_CORRUPT;
		goto out;
	}
	info->schema = (int)a;
	if (query_ints(db,
	               "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'peers'",
	               &tables, NULL) != SQLITE_OK ||
	    info->schema <= 0 || tables != 1) {
		snprintf(err, errcap, "%s is not a hotline store: no hotline schema in it", path);
		goto out;
	}
	if (integrity(db, info->integrity, sizeof info->integrity) != SQLITE_OK) {
		snprintf(err, errcap, "%s: integrity_check could not run: %s", path,
		         sqlite3_errmsg(db));
		goto out;
	}
	if (strcmp(info->integrity, "ok") != 0) {
		snprintf(err, errcap, "%s is damaged: integrity_check: %s", path, info->integrity);
		goto out;
	}
	if (query_ints(db,
	               "SELECT p.page_count * s.page_size FROM pragma_page_count p,"
	               " pragma_page_size s",
	               &a, NULL) != SQLITE_OK ||
	    query_ints(db, "SELECT count(*) FROM peers", &b, NULL) != SQLITE_OK) {
		snprintf(err, errcap, "cannot read %s: %s", path, sqlite3_errmsg(db));
		rc = HL_ERR_IO;
		goto out;
	}
	info->bytes = (uint64_t)a;
	info->peers = (uint64_t)b;
	if (query_ints(db,
	               "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	               " AND name = 'events'",
	               &tables, NULL) == SQLITE_OK &&
	    tables == 1 &&
	    query_ints(db,
	               "SELECT count(*), coalesce(max(CASE dir WHEN 0 THEN created_ns"
	               " ELSE received_ns END), 0) FROM events",
	               &a, &b) != SQLITE_OK) {
		snprintf(err, errcap, "cannot read the events of %s: %s", path, sqlite3_errmsg(db));
		rc = HL_ERR_IO;
		goto out;
	}
	if (tables == 1) {
		info->events = (uint64_t)a;
		info->newest_ns = (uint64_t)b;
	}
	rc = HL_OK;
out:
	sqlite3_close(db); /* ends the read transaction */
	return rc;
}

/* fsync a file, or the directory holding path (dir true). */
static int
sync_path(const char *path, bool dir)
{
	char d[PATH_CAP];
	char *slash;
	int fd, rc;

	if (dir) {
		snprintf(d, sizeof d, "%s", path);
		slash = strrchr(d, '/');
		if (!slash)
			snprintf(d, sizeof d, ".");
		else if (slash == d)
			d[1] = '\0';
		else
			*slash = '\0';
		path = d;
	}
	fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Remove path-SUFFIX if it is there. */
static void
unlink_suffix(const char *path, const char *suffix)
{
	char p[PATH_CAP + 16];

	snprintf(p, sizeof p, "%s%s", path, suffix);
	if (unlink(p) != 0 && errno != ENOENT)
		log_warn("store_backup", "op=unlink path=%s err=\"%s\"", p, strerror(errno));
}

static bool
exists_suffix(const char *path, const char *suffix)
{
	char p[PATH_CAP + 16];

	snprintf(p, sizeof p, "%s%s", path, suffix);
	return access(p, F_OK) == 0;
}

/*
 * Copy the database at src into a new single file tmp (any old one is
 * removed first): backup API in steps, inside one read transaction of
 * src, then rollback-journal mode, then fsync.
 */
static int
copy_db(const char *src, const char *tmp, char *err, size_t errcap)
{
	sqlite3 *s = NULL, *d = NULL;
	sqlite3_backup *b = NULL;
	int rc = HL_ERR_IO, step = SQLITE_OK, busy = 0;

	(void)hl_pagesum_register();
	unlink_suffix(tmp, "");
	unlink_suffix(tmp, "-journal");
	unlink_suffix(tmp, "-wal");
	unlink_suffix(tmp, "-shm");
	unlink_suffix(tmp, "-tip");
	if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errcap, "cannot open %s: %s", src,
		         s ? sqlite3_errmsg(s) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(s, 10000);
	/* The read transaction: every step copies the same snapshot. */
	if (sqlite3_exec(s, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errcap, "cannot read %s: %s", src, sqlite3_errmsg(s));
		rc = HL_ERR_CORRUPT;
		goto out;
	}
	if (sqlite3_open_v2(tmp, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errcap, "cannot create %s: %s", tmp,
		         d ? sqlite3_errmsg(d) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(d, 10000);
	b = sqlite3_backup_init(d, "main", s, "main");
	if (!b) {
		snprintf(err, errcap, "cannot start the backup: %s", sqlite3_errmsg(d));
		goto out;
	}
	for (;;) {
		step = sqlite3_backup_step(b, STEP_PAGES);
		if (step == SQLITE_DONE)
			break;
		if (step == SQLITE_OK) {
			busy = 0;
			continue;
		}
		if ((step == SQLITE_BUSY || step == SQLITE_LOCKED) && busy++ < BUSY_RETRIES) {
			sqlite3_sleep(BUSY_RETRY_MS);
			continue;
		}
		break;
	}
	step = sqlite3_backup_finish(b) == SQLITE_OK && step == SQLITE_DONE ? SQLITE_OK : step;
	if (step != SQLITE_OK) {
		snprintf(err, errcap, "the backup failed: %s",
		         step == SQLITE_FULL ? "the disk is full" : sqlite3_errstr(step));
		rc = step == SQLITE_FULL ? HL_ERR_FULL : HL_ERR_IO;
		goto out;
	}
	sqlite3_exec(s, "COMMIT", NULL, NULL, NULL);
	/* The copy carries the source's WAL flag: make it one self-contained file. */
	if (sqlite3_exec(d, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errcap, "cannot finish %s: %s", tmp, sqlite3_errmsg(d));
		goto out;
	}
	if (sqlite3_close(d) != SQLITE_OK) {
		snprintf(err, errcap, "cannot close %s", tmp);
		d = NULL;
		goto out;
	}
	d = NULL;
	/* The copy's WAL (the source's mode, until DELETE above) is gone: so is its tip. */
	unlink_suffix(tmp, "-tip");
	if (sync_path(tmp, false) != 0) {
		snprintf(err, errcap, "cannot fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = HL_OK;
out:
	sqlite3_close(d);
	sqlite3_close(s);
	if (rc < 0) {
		unlink_suffix(tmp, "");
		unlink_suffix(tmp, "-journal");
		unlink_suffix(tmp, "-tip");
	}
	return rc;
}

int
hl_store_backup(const char *src_path, const char *dst_path, bool force, struct hl_store_info *info,
                char *err, size_t errcap)
{
	char tmp[PATH_CAP];
	struct stat sb;
	int rc;

	memset(info, 0, sizeof *info);
	info->schema = -1;
	if (snprintf(tmp, sizeof tmp, "%s.tmp", dst_path) >= (int)sizeof tmp) {
		snprintf(err, errcap, "the path %s is too long", dst_path);
		return HL_ERR_LIMIT;
	}
	if (!force && lstat(dst_path, &sb) == 0) {
		snprintf(err, errcap, "%s exists: give --force to replace it", dst_path);
		return HL_ERR_EXISTS;
	}
	if (access(src_path, F_OK) != 0) {
		snprintf(err, errcap, "there is no store %s", src_path);
		return HL_ERR_NOTFOUND;
	}
	if ((rc = copy_db(src_path, tmp, err, errcap)) < 0)
		return rc;
	if ((rc = hl_store_inspect(tmp, info, err, errcap)) < 0) {
		unlink_suffix(tmp, "");
		return rc;
	}
	/* Without --force, link() refuses a file that appeared meanwhile; rename() replaces. */
	if (force ? rename(tmp, dst_path) != 0 : link(tmp, dst_path) != 0) {
		rc = errno == EEXIST ? HL_ERR_EXISTS : HL_ERR_IO;
		snprintf(err, errcap, "cannot write %s: %s", dst_path, strerror(errno));
		unlink_suffix(tmp, "");
		return rc;
	}
	if (!force)
		unlink_suffix(tmp, "");
	if (sync_path(dst_path, true) != 0) {
		snprintf(err, errcap, "cannot fsync the directory of %s: %s", dst_path,
		         strerror(errno));
		return HL_ERR_IO;
	}
	if (stat(dst_path, &sb) == 0)
		info->bytes = (uint64_t)sb.st_size;
	return HL_OK;
}

/*
 * Mark the store that restore puts at dst (now at tmp) as restored for
 * every peer it pins (store.h, hl_store_restored_mark): it may be older
 * than what they hold of it.
 */
static int
mark_restored(const char *tmp, const char *dst, char *err, size_t errcap)
{
	const char *names[256];
	char *copies[256];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int rc = HL_ERR_IO;

	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT name FROM peers ORDER BY name", -1, &q, NULL) !=
	        SQLITE_OK) {
		snprintf(err, errcap, "cannot read the backup's peers: %s",
		         db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	while (n < 256 && sqlite3_step(q) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(q, 0);
		if (t && (copies[n] = strdup((const char *)t)) != NULL) {
			names[n] = copies[n];
			n++;
		}
	}
	rc = hl_store_restored_mark(dst, names, n);
	if (rc < 0)
		snprintf(err, errcap, "cannot write %s-restored: %s", dst, hl_strerror(rc));
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return rc;
}

/*
 * The order, so that a crash at any point leaves either the old store or
 * the new one whole at dst, never the old one's WAL over the new file:
 *
 *   1. check the backup and the store in place (nothing written yet);
 *   2. copy the backup to dst.tmp (backup API: one consistent file), fsync;
 *   3. fold the old store's WAL into it and switch it to rollback-journal
 *      mode (PRAGMA journal_mode=DELETE: SQLite's own atomic steps): the
 *      old store is now dst alone, with no -wal, -shm or -journal that
 *      could be replayed onto another file;
 *   4. rename dst.tmp over dst (atomic), fsync the directory.
 *
 * A crash before 4 leaves the old store (and a stale .tmp, removed by the
 * next attempt); after it, the new one. With force and an old store that
 * cannot be opened, step 3 removes its -wal, -shm and -journal instead:
 * a crash between that and 4 leaves the old store without its last
 * uncheckpointed transactions, which force asked to replace anyway.
 */
int
hl_store_restore(const char *src_path, const char *dst_path, bool force, struct hl_store_info *bk,
                 struct hl_store_info *cur, char *err, size_t errcap)
{
	char tmp[PATH_CAP], why[512] = "";
	sqlite3 *db = NULL;
	bool have_old;
	int rc;

	memset(cur, 0, sizeof *cur);
	cur->schema = -1;
	if ((rc = hl_store_inspect(src_path, bk, err, errcap)) < 0)
		return rc;
	if (bk->schema > HL_STORE_SCHEMA) {
		snprintf(
		    err, errcap,
		    "the backup has schema %d, newer than this hotline (%d): restore it with a "
		    "newer hotline",
		    bk->schema, HL_STORE_SCHEMA);
		return HL_ERR_LIMIT;
	}
	if (snprintf(tmp, sizeof tmp, "%s.tmp", dst_path) >= (int)sizeof tmp) {
		snprintf(err, errcap, "the path %s is too long", dst_path);
		return HL_ERR_LIMIT;
	}
	have_old = access(dst_path, F_OK) == 0;
	if (have_old) {
		rc = hl_store_inspect(dst_path, cur, why, sizeof why);
		if (rc < 0 && !force) {
			snprintf(
			    err, errcap,
			    "the store in place cannot be read (%s): give --force to replace it",
			    why);
			return HL_ERR_EXISTS;
		}
		if (rc == HL_OK && !force &&
		    (cur->events > bk->events || cur->newest_ns > bk->newest_ns)) {
			char a[32], b[32];
			hl_iso_time(cur->newest_ns, a);
			hl_iso_time(bk->newest_ns, b);
			snprintf(
			    err, errcap,
			    "the store in place is newer than the backup: it holds %llu events, "
			    "the newest stored %s; the backup %llu, the newest stored %s: give "
			    "--force to replace it",
			    (unsigned long long)cur->events, cur->newest_ns ? a : "never",
			    (unsigned long long)bk->events, bk->newest_ns ? b : "never");
			return HL_ERR_EXISTS;
		}
	}
	if ((rc = copy_db(src_path, tmp, err, errcap)) < 0)
		return rc;
	if (have_old) {
		rc = HL_ERR_IO;
		if (sqlite3_open_v2(dst_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
			sqlite3_busy_timeout(db, 10000);
			if (sqlite3_exec(db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) ==
			    SQLITE_OK)
				rc = HL_OK;
			else
				snprintf(why, sizeof why, "%s", sqlite3_errmsg(db));
		} else {
			snprintf(why, sizeof why, "%s", db ? sqlite3_errmsg(db) : "out of memory");
		}
		if (sqlite3_close(db) != SQLITE_OK)
			rc = HL_ERR_IO;
		if (rc == HL_OK &&
		    (exists_suffix(dst_path, "-wal") || exists_suffix(dst_path, "-journal")))
			rc = HL_ERR_IO; /* someone opened it meanwhile */
		if (rc < 0 && !force) {
			snprintf(err, errcap,
			         "cannot retire the store in place (%s): is something else using "
			         "it? Nothing was changed",
			         why[0] ? why : "its -wal or -journal file remains");
			unlink_suffix(tmp, "");
			return rc;
		}
		unlink_suffix(dst_path, "-wal");
		unlink_suffix(dst_path, "-journal");
		unlink_suffix(dst_path, "-shm");
		unlink_suffix(dst_path,
		              "-tip"); /* the old WAL's tip (pagesum.h): that WAL is gone */
	}
	/* Before it is in place: the restored store must take back its chains first. */
	if ((rc = mark_restored(tmp, dst_path, err, errcap)) < 0) {
		unlink_suffix(tmp, "");
		return rc;
	}
	if (rename(tmp, dst_path) != 0) {
		snprintf(err, errcap, "cannot put the backup in place of %s: %s", dst_path,
		         strerror(errno));
		unlink_suffix(tmp, "");
		return HL_ERR_IO;
	}
	if (sync_path(dst_path, true) != 0) {
		snprintf(err, errcap, "cannot fsync the directory of %s: %s", dst_path,
		         strerror(errno));
		return HL_ERR_IO;
	}
	return HL_OK;
}
