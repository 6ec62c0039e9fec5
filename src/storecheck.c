/* SPDX-License-Identifier: ISC */
/* storecheck.c: the store checked before a daemon runs on it; see storecheck.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pagesum.h"
#include "store_impl.h"
#include "storecheck.h"
#include "verify.h"
#include "walcheck.h"

struct dbfile {
	int fd;
};

static bool
read_page(void *ctx, uint32_t pgno, uint8_t *buf, size_t page_size)
{
	struct dbfile *f = ctx;

	return pgno > 0 && pread(f->fd, buf, page_size, (off_t)(pgno - 1) * (off_t)page_size) ==
	                       (ssize_t)page_size;
}

/* The database's page size and reserved bytes per page, from its header (0, 0: unknown). */
static void
db_header(int fd, uint32_t *page_size, unsigned *reserve)
{
	uint8_t h[100];

	*page_size = 0;
	*reserve = 0;
	if (fd < 0 || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
	    memcmp(h, "SQLite format 3", 16) != 0)
		return;
	*page_size = (uint32_t)h[16] << 8 | h[17];
	if (*page_size == 1)
		*page_size = 65536;
	*reserve = h[20];
}

/* One look at the WAL: HL_OK, or HL_ERR_CORRUPT with the verdict. */
static int
wal_once(const char *path, struct hl_wal_verdict *v)
{
	char wal[4096];
	struct dbfile db = {.fd = -1};
	uint32_t ps;
	unsigned reserve;
	struct stat sb;
	void *map;
	int fd;

	struct hl_wal_tip tip = {.frame = 0};
	bool have_tip = hl_pagesum_tip(path, tip.salts, &tip.frame);

	memset(v, 0, sizeof *v);
	if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) >= sizeof wal)
		return HL_ERR_LIMIT;
	fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return HL_ERR_IO;
	if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size < 32) {
		if (fd >= 0)
			close(fd);
		/* No WAL to recover: fine, unless the tip says it held what the database lacks. */
		hl_wal_check((const uint8_t *)"", 0, 0, 0, read_page, &db, have_tip ? &tip : NULL,
		             v);
		if (v->damaged && fd < 0)
			snprintf(v->what, sizeof v->what,
			         "it is missing, but transactions had been committed to it (to "
			         "frame %u) "
			         "and never folded into the database (unless another program, "
			         "such as the sqlite3 shell, folded it: docs/reliability.md)",
			         tip.frame);
		return v->damaged ? HL_ERR_CORRUPT : HL_OK;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return HL_ERR_IO;
	db.fd = open(path, O_RDONLY | O_CLOEXEC);
	db_header(db.fd, &ps, &reserve);
	hl_wal_check(map, (size_t)sb.st_size, ps, reserve, read_page, &db, have_tip ? &tip : NULL,
	             v);
	munmap(map, (size_t)sb.st_size);
	if (db.fd >= 0)
		close(db.fd);
	return v->damaged ? HL_ERR_CORRUPT : HL_OK;
}

static int
check_wal(const char *path, struct hl_store_check *out, char *err, size_t errcap)
{
	struct hl_wal_verdict v;
	int rc = wal_once(path, &v);

	if (rc == HL_ERR_CORRUPT) {
		/* A CLI writing at this very moment could look like damage: look again. */
		struct timespec ts = {0, 200L * 1000 * 1000};
		nanosleep(&ts, NULL);
		rc = wal_once(path, &v);
	}
	out->wal_frames = v.frames;
	if (rc == HL_ERR_CORRUPT)
		snprintf(err, errcap, "its write-ahead log %s-wal is damaged: %s", path, v.what);
	else if (rc < 0)
		snprintf(err, errcap, "cannot read its write-ahead log %s-wal: %s", path,
		         strerror(errno));
	return rc;
}

int
hl_store_check_wal(const char *path, char *err, size_t errcap)
{
	struct hl_store_check out;

	err[0] = '\0';
	return check_wal(path, &out, err, errcap);
}

/* SQLite's message, or better: the page whose checksum failed. */
static void
sqlite_why(struct hl_store *st, int code, char *out, size_t cap)
{
	char file[512];
	uint64_t page;

	if ((code & 0xff) == SQLITE_IOERR && hl_pagesum_last_failure(file, sizeof file, &page))
		snprintf(out, cap, "page %llu of %s fails its checksum", (unsigned long long)page,
		         file);
	else
		snprintf(out, cap, "%s", st ? sqlite3_errmsg(st->db) : sqlite3_errstr(code));
}

/* SQLite's own check, quick_check or (full) integrity_check: the first problem in err. */
static int
sqlite_check(struct hl_store *st, bool full, struct hl_store_check *out, char *err, size_t errcap)
{
	const char *name = full ? "integrity_check" : "quick_check";
	char sql[32], why[600];
	sqlite3_stmt *q;
	int s;

	snprintf(sql, sizeof sql, "PRAGMA %s", name);
	if ((s = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL)) != SQLITE_OK) {
		sqlite_why(st, s, why, sizeof why);
		snprintf(err, errcap, "%s cannot run: %s", name, why);
		return HL_ERR_CORRUPT;
	}
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(q, 0);
		char file[512];
		uint64_t page;
		if (!row || strcmp(row, "ok") == 0)
			continue;
		/* The first problem, on one line; a failed checksum says it best. */
		if (hl_pagesum_last_failure(file, sizeof file, &page))
			snprintf(err, errcap, "page %llu of %s fails its checksum",
			         (unsigned long long)page, file);
		else
			snprintf(err, errcap, "SQLite's %s: %.*s", name, (int)strcspn(row, "\n"),
			         row);
		sqlite3_finalize(q);
		return HL_ERR_CORRUPT;
	}
	if (s != SQLITE_DONE) {
		sqlite_why(st, sqlite3_extended_errcode(st->db), why, sizeof why);
		snprintf(err, errcap, "SQLite's %s stopped: %s", name, why);
		sqlite3_finalize(q);
		return HL_ERR_CORRUPT;
	}
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(st->db, "PRAGMA page_count", -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			out->pages = (uint64_t)sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	return HL_OK;
}

static int
check_record(struct hl_store *st, const uint8_t ours[static 32], struct hl_store_check *out,
             char *err, size_t errcap)
{
	struct hl_peer_rec *peers = NULL;
	struct hl_verify_result *res = malloc(sizeof *res);
	size_t n = 0;
	int rc;

	if (!res)
		return HL_ERR_NOMEM;
	if ((rc = hl_store_peer_list(st, &peers, &n)) < 0) {
		snprintf(err, errcap, "cannot read its peers: %s", hl_strerror(rc));
		free(res);
		return rc == HL_ERR_NOMEM ? rc : HL_ERR_CORRUPT;
	}
	for (size_t i = 0; i < n && rc == HL_OK; i++) {
		const struct hl_verify_problem *p = &res->damage;
		if ((rc = hl_verify_store(st, &peers[i], ours, res)) < 0) {
			char why[600];
			sqlite_why(st, sqlite3_extended_errcode(st->db), why, sizeof why);
			snprintf(err, errcap, "the record with %s cannot be read: %s",
			         peers[i].name, why);
			rc = rc == HL_ERR_NOMEM ? rc : HL_ERR_CORRUPT;
			break;
		}
		out->events += res->out.events + res->in.events;
		out->lacking += res->in.missing;
		if (res->ndamage) {
			char what[HL_VERIFY_WHAT_MAX + 128];
			hl_verify_problem_text(p, NULL, what, sizeof what);
			snprintf(err, errcap, "the record with %s does not verify: %s",
			         peers[i].name, what);
			rc = HL_ERR_CORRUPT;
		}
	}
	free(peers);
	free(res);
	return rc;
}

/* Room for a checksum on every page: set the reserve, rewrite the file (VACUUM). */
static int
add_sums(struct hl_store *st, struct hl_store_check *out, char *err, size_t errcap)
{
	int n = HL_PAGESUM_RESERVE;

	int log = -1, done = -2;

	sqlite3_file_control(st->db, "main", SQLITE_FCNTL_RESERVE_BYTES, &n);
	if (hl_store_exec(st, "VACUUM") < 0) {
		snprintf(err, errcap, "cannot add page checksums (VACUUM): %s",
		         sqlite3_errmsg(st->db));
		return HL_ERR_IO;
	}
	/*
	 * The new pages are in the WAL: fold them all into the database now,
	 * page 1 first, so that every connection opened later reads a header
	 * that says the pages carry sums (one that read the old header would
	 * copy pages without them).
	 */
	if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done) !=
	        SQLITE_OK ||
	    log != 0) {
		snprintf(err, errcap, "cannot add page checksums (checkpoint): %s",
		         sqlite3_errmsg(st->db));
		return HL_ERR_IO;
	}
	out->converted = true;
	return HL_OK;
}

static int check(const char *path, const uint8_t ours[static 32], bool wal, unsigned flags,
                 struct hl_store_check *out, char *err, size_t errcap);

int
hl_store_check(const char *path, const uint8_t ours[static 32], unsigned flags,
               struct hl_store_check *out, char *err, size_t errcap)
{
	return check(path, ours, true, flags, out, err, errcap);
}

int
hl_store_check_live(const char *path, const uint8_t ours[static 32], unsigned flags,
                    struct hl_store_check *out, char *err, size_t errcap)
{
	return check(path, ours, false, flags & ~(unsigned)HL_CHECK_CONVERT, out, err, errcap);
}

static int
check(const char *path, const uint8_t ours[static 32], bool wal, unsigned flags,
      struct hl_store_check *out, char *err, size_t errcap)
{
	const bool full = flags & HL_CHECK_FULL;
	struct hl_store *st = NULL;
	uint64_t t = hl_now_ms();
	int rc, reserve = -1;

	memset(out, 0, sizeof *out);
	err[0] = '\0';
	if (wal && (rc = check_wal(path, out, err, errcap)) < 0)
		return rc;
	out->wal_ms = hl_now_ms() - t;
	t = hl_now_ms();
	if ((rc = hl_store_open(path, false, &st, err, errcap)) < 0) {
		char file[512];
		uint64_t page;
		if (hl_pagesum_last_failure(file, sizeof file, &page)) {
			snprintf(err, errcap, "page %llu of %s fails its checksum",
			         (unsigned long long)page, file);
			rc = HL_ERR_CORRUPT;
		} else if (rc == HL_ERR_CORRUPT) {
			rc = HL_ERR_LIMIT; /* a schema newer than this binary: not damage */
		} else if (access(path, R_OK | W_OK) == 0) {
			rc = HL_ERR_CORRUPT; /* there, readable, and SQLite will not have it */
		}
		return rc;
	}
	if ((rc = sqlite_check(st, full, out, err, errcap)) < 0)
		goto out;
	out->quick_ms = hl_now_ms() - t;
	t = hl_now_ms();
	if ((rc = check_record(st, ours, out, err, errcap)) < 0)
		goto out;
	out->verify_ms = hl_now_ms() - t;
	sqlite3_file_control(st->db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
	out->sums = reserve == HL_PAGESUM_RESERVE;
	if (!out->sums && (flags & HL_CHECK_CONVERT)) {
		t = hl_now_ms();
		if ((rc = add_sums(st, out, err, errcap)) < 0 ||
		    (rc = sqlite_check(st, false, out, err, errcap)) < 0)
			goto out;
		out->convert_ms = hl_now_ms() - t;
		out->sums = true;
	}
out:
	hl_store_close(st);
	return rc;
}
