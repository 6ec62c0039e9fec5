/* SPDX-License-Identifier: ISC */
/*
 * pagesum.c: the page-checksum VFS shim; see pagesum.h.
 *
 * Only main database files are wrapped. A handle learns from the header
 * (byte 20: bytes reserved per page) whether its database carries sums: on
 * any read or write at offset 0 that holds the header, or, for a write
 * before that, by reading the header itself. A read of a whole page (a
 * power of two from 512 to 65536 bytes, aligned) is checked; a write of a
 * whole page is summed into a copy, so SQLite's page cache is left as it
 * was. The sum is not a secret MAC (the key is fixed): it catches what the
 * disk or a careless hand did, while the chains' signatures (verify.c)
 * catch what someone did on purpose.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <sodium.h>

#include "hl.h"
#include "pagesum.h"

struct sfile {
	sqlite3_file base;
	sqlite3_file *real;
	const char *path;
	int sums; /* -1 not known yet, 0 no, 1 yes */
	/* a WAL: the frames this handle wrote, for the tip (pagesum.h) */
	bool wal;
	uint32_t ps;      /* page size, from the WAL header (0: not known yet) */
	uint8_t salts[8]; /* the header's, as last written or read */
	uint32_t commit;  /* the last commit frame written since the header (0: none) */
	uint8_t commit_salts[8];
	/* pages written before page 1 said whether the file carries sums (a new file) */
	sqlite3_int64 *early;
	size_t nearly, capearly;
	int early_amt;
};

static sqlite3_vfs *below;
static sqlite3_vfs vfs;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered = SQLITE_ERROR;
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;
static char fail_path[512];
static uint64_t fail_page;

/* A fixed key: the sum detects accidents, not adversaries. */
static const unsigned char key[crypto_shorthash_KEYBYTES] = "hotline-pagesum1";

static bool
whole_page(int amt, sqlite3_int64 off)
{
	return amt >= 512 && amt <= 65536 && (amt & (amt - 1)) == 0 && off % amt == 0;
}

static void
sum(const unsigned char *page, int amt, unsigned char out[static HL_PAGESUM_RESERVE])
{
	crypto_shorthash(out, page, (unsigned long long)(amt - HL_PAGESUM_RESERVE), key);
}

static void
learn(struct sfile *f, const void *buf, int amt, sqlite3_int64 off)
{
	const unsigned char *h = buf;

	if (off == 0 && amt >= 100 && memcmp(h, "SQLite format 3", 16) == 0)
		f->sums = h[20] == HL_PAGESUM_RESERVE;
}

/* ---- the WAL's tip ---- */

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* DB-tip from the WAL's path (DB-wal); false when it does not end in -wal. */
static bool
tip_path(const char *wal, char *out, size_t cap)
{
	size_t n = strlen(wal);

	if (n < 4 || strcmp(wal + n - 4, "-wal") != 0 || n + 1 > cap)
		return false;
	memcpy(out, wal, n - 4);
	memcpy(out + n - 4, "-tip", 5);
	return true;
}

/*
 * Record (salts, frame) as the WAL's tip: "hltip1" 0 0, salts 8, frame u32
 * BE, 4 zero bytes, then a short hash of those 24 bytes. Written in place,
 * without fsync unless sync (a lost write only weakens the check; a torn
 * one fails its hash and is ignored).
 */
static void
tip_write(const char *wal, const uint8_t salts[8], uint32_t frame, bool sync)
{
	char path[4100];
	uint8_t b[32] = "hltip1";
	int fd;

	if (!tip_path(wal, path, sizeof path))
		return;
	memcpy(b + 8, salts, 8);
	put32(b + 16, frame);
	crypto_shorthash(b + 24, b, 24, key);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (pwrite(fd, b, sizeof b, 0) != (ssize_t)sizeof b || (sync && fdatasync(fd) != 0)) {
		/* the check at start then knows less: never a false alarm */
	}
	close(fd);
}

bool
hl_pagesum_tip(const char *db_path, uint8_t salts[static 8], uint32_t *frame)
{
	char path[4100];
	uint8_t b[32], h[8];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof path, "%s-tip", db_path) >= sizeof path ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = pread(fd, b, sizeof b, 0);
	close(fd);
	if (n != (ssize_t)sizeof b || memcmp(b, "hltip1\0\0", 8) != 0)
		return false;
	crypto_shorthash(h, b, 24, key);
	if (sodium_memcmp(h, b + 24, 8) != 0)
		return false;
	memcpy(salts, b + 8, 8);
	*frame = get32(b + 16);
	return true;
}

/* A write to the WAL: the header (new salts) or a frame header (a commit?). */
static void
wal_track(struct sfile *f, const uint8_t *buf, int amt, sqlite3_int64 off)
{
	if (off == 0 && amt >= 32) {
		uint32_t ps = get32(buf + 8);
		f->ps = (ps & 0xfe00) + ((ps & 1) << 16);
		memcpy(f->salts, buf + 16, 8);
		f->commit = 0; /* a new generation */
		return;
	}
	if (amt != 24 || off < 32)
		return;
	if (!f->ps) { /* joined a WAL someone else began: read its header */
		uint8_t h[32];
		if (f->real->pMethods->xRead(f->real, h, sizeof h, 0) != SQLITE_OK)
			return;
		wal_track(f, h, sizeof h, 0);
		if (!f->ps)
			return;
	}
	if ((off - 32) % (24 + (sqlite3_int64)f->ps) != 0 || get32(buf + 4) == 0)
		return; /* not a frame header, or not a commit */
	if (memcmp(buf + 8, f->salts, 8) != 0) {
		uint8_t h[32]; /* another process began a new generation since */
		if (f->real->pMethods->xRead(f->real, h, sizeof h, 0) == SQLITE_OK)
			memcpy(f->salts, h + 16, 8);
		if (memcmp(buf + 8, f->salts, 8) != 0)
			return;
	}
	f->commit = (uint32_t)((off - 32) / (24 + (sqlite3_int64)f->ps)) + 1;
	memcpy(f->commit_salts, buf + 8, 8);
}

static int
ps_close(sqlite3_file *file)
{
	struct sfile *f = (struct sfile *)file;

	free(f->early);
	return f->real->pMethods->xClose(f->real);
}

/*
 * A new file learns late whether it carries sums: SQLite may write other
 * pages before page 1 (the backup API does). Note those; once page 1 says
 * yes, sum them where they lie, before any sync makes them durable.
 */
static void
early_note(struct sfile *f, int amt, sqlite3_int64 off)
{
	if (f->nearly == f->capearly) {
		size_t ncap = f->capearly ? f->capearly * 2 : 64;
		sqlite3_int64 *nv = realloc(f->early, ncap * sizeof *nv);
		if (!nv)
			return; /* that page then fails its check: an error, never bad data */
		f->early = nv;
		f->capearly = ncap;
	}
	f->early[f->nearly++] = off;
	f->early_amt = amt;
}

static int
early_sum(struct sfile *f)
{
	unsigned char page[65536];
	int rc = SQLITE_OK;

	for (size_t i = 0; i < f->nearly && rc == SQLITE_OK && f->sums == 1; i++) {
		rc = f->real->pMethods->xRead(f->real, page, f->early_amt, f->early[i]);
		if (rc != SQLITE_OK)
			break;
		sum(page, f->early_amt, page + f->early_amt - HL_PAGESUM_RESERVE);
		rc = f->real->pMethods->xWrite(f->real, page, f->early_amt, f->early[i]);
	}
	f->nearly = 0;
	return rc;
}

static int
ps_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	struct sfile *f = (struct sfile *)file;
	unsigned char want[HL_PAGESUM_RESERVE];
	const unsigned char *p = buf;
	int rc = f->real->pMethods->xRead(f->real, buf, amt, off);

	if (rc != SQLITE_OK || f->wal)
		return rc;
	learn(f, buf, amt, off);
	if (f->sums != 1 || !whole_page(amt, off))
		return SQLITE_OK;
	sum(p, amt, want);
	if (sodium_memcmp(want, p + amt - HL_PAGESUM_RESERVE, HL_PAGESUM_RESERVE) == 0)
		return SQLITE_OK;
	pthread_mutex_lock(&fail_mu);
	snprintf(fail_path, sizeof fail_path, "%s", f->path ? f->path : "?");
	fail_page = (uint64_t)(off / amt) + 1;
	pthread_mutex_unlock(&fail_mu);
	sqlite3_log(SQLITE_IOERR_DATA, "page %lld of %s fails its checksum",
	            (long long)(off / amt) + 1, f->path ? f->path : "?");
	return SQLITE_IOERR_DATA;
}

static int
ps_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	struct sfile *f = (struct sfile *)file;
	unsigned char page[65536];
	int rc;

	if (f->wal) {
		wal_track(f, buf, amt, off);
		return f->real->pMethods->xWrite(f->real, buf, amt, off);
	}
	learn(f, buf, amt, off);
	if (f->sums < 0 && off > 0) {
		unsigned char h[100];
		if (f->real->pMethods->xRead(f->real, h, sizeof h, 0) == SQLITE_OK)
			learn(f, h, sizeof h, 0);
	}
	if (f->sums != 1 || !whole_page(amt, off)) {
		rc = f->real->pMethods->xWrite(f->real, buf, amt, off);
		if (rc == SQLITE_OK && f->sums < 0 && whole_page(amt, off))
			early_note(f, amt, off);
		if (f->sums == 0)
			f->nearly = 0;
		return rc;
	}
	memcpy(page, buf, (size_t)amt);
	sum(page, amt, page + amt - HL_PAGESUM_RESERVE);
	rc = f->real->pMethods->xWrite(f->real, page, amt, off);
	if (rc == SQLITE_OK && f->nearly && f->early_amt == amt)
		rc = early_sum(f);
	return rc;
}

static int
ps_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct sfile *f = (struct sfile *)file;
	static const uint8_t none[8];

	if (f->wal && size == 0) {
		/* SQLite empties a WAL only once the database holds all of it. */
		tip_write(f->path, none, 0, true);
		f->ps = 0;
		f->commit = 0;
	}
	return f->real->pMethods->xTruncate(f->real, size);
}

static int
ps_sync(sqlite3_file *file, int flags)
{
	struct sfile *f = (struct sfile *)file;
	int rc = f->real->pMethods->xSync(f->real, flags);

	/* Durable now: the WAL holds every frame up to this commit, whatever happens. */
	if (rc == SQLITE_OK && f->wal && f->commit) {
		tip_write(f->path, f->commit_salts, f->commit, false);
		f->commit = 0;
	}
	return rc;
}

static int
ps_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xFileSize(f->real, size);
}

static int
ps_lock(sqlite3_file *file, int l)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xLock(f->real, l);
}

static int
ps_unlock(sqlite3_file *file, int l)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xUnlock(f->real, l);
}

static int
ps_check_reserved(sqlite3_file *file, int *out)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
ps_file_control(sqlite3_file *file, int op, void *arg)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
ps_sector_size(sqlite3_file *file)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xSectorSize(f->real);
}

static int
ps_device_characteristics(sqlite3_file *file)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int
ps_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int
ps_shm_lock(sqlite3_file *file, int off, int n, int flags)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xShmLock(f->real, off, n, flags);
}

static void
ps_shm_barrier(sqlite3_file *file)
{
	struct sfile *f = (struct sfile *)file;
	f->real->pMethods->xShmBarrier(f->real);
}

static int
ps_shm_unmap(sqlite3_file *file, int del)
{
	struct sfile *f = (struct sfile *)file;
	return f->real->pMethods->xShmUnmap(f->real, del);
}

/* Version 2: no xFetch, so pages are never read through a mapping that skips the check. */
static const sqlite3_io_methods methods = {
    .iVersion = 2,
    .xClose = ps_close,
    .xRead = ps_read,
    .xWrite = ps_write,
    .xTruncate = ps_truncate,
    .xSync = ps_sync,
    .xFileSize = ps_file_size,
    .xLock = ps_lock,
    .xUnlock = ps_unlock,
    .xCheckReservedLock = ps_check_reserved,
    .xFileControl = ps_file_control,
    .xSectorSize = ps_sector_size,
    .xDeviceCharacteristics = ps_device_characteristics,
    .xShmMap = ps_shm_map,
    .xShmLock = ps_shm_lock,
    .xShmBarrier = ps_shm_barrier,
    .xShmUnmap = ps_shm_unmap,
};

static int
ps_open(sqlite3_vfs *v, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	struct sfile *f = (struct sfile *)file;
	int rc;

	(void)v;
	if (!(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) || !name)
		return below->xOpen(below, name, file, flags, out_flags);
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	f->path = name; /* SQLite keeps the name alive while the file is open */
	f->sums = -1;
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = below->xOpen(below, name, f->real, flags, out_flags);
	if (rc == SQLITE_OK)
		file->pMethods = &methods;
	return rc;
}

static int
ps_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	static const uint8_t none[8];
	size_t n = strlen(name);

	(void)v;
	/* SQLite deletes a WAL only once the database holds all of it: first say so, durably. */
	if (n > 4 && strcmp(name + n - 4, "-wal") == 0)
		tip_write(name, none, 0, true);
	return below->xDelete(below, name, sync_dir);
}

static int
ps_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return below->xAccess(below, name, flags, out);
}

static int
ps_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return below->xFullPathname(below, name, n, out);
}

static void *
ps_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return below->xDlOpen(below, name);
}

static void
ps_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	below->xDlError(below, n, msg);
}

static void (*ps_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return below->xDlSym(below, h, sym);
}

static void
ps_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	below->xDlClose(below, h);
}

static int
ps_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return below->xRandomness(below, n, out);
}

static int
ps_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return below->xSleep(below, us);
}

static int
ps_current_time(sqlite3_vfs *v, double *t)
{
	(void)v;
	return below->xCurrentTime(below, t);
}

static int
ps_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return below->xGetLastError(below, n, out);
}

static int
ps_current_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
	(void)v;
	return below->xCurrentTimeInt64(below, t);
}

static void
do_register(void)
{
	below = sqlite3_vfs_find(NULL);
	if (!below || below->iVersion < 2)
		return;
	vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)sizeof(struct sfile) + below->szOsFile,
	    .mxPathname = below->mxPathname,
	    .zName = "hl-pagesum",
	    .xOpen = ps_open,
	    .xDelete = ps_delete,
	    .xAccess = ps_access,
	    .xFullPathname = ps_full_pathname,
	    .xDlOpen = ps_dlopen,
	    .xDlError = ps_dlerror,
	    .xDlSym = ps_dlsym,
	    .xDlClose = ps_dlclose,
	    .xRandomness = ps_randomness,
	    .xSleep = ps_sleep,
	    .xCurrentTime = ps_current_time,
	    .xGetLastError = ps_last_error,
	    .xCurrentTimeInt64 = ps_current_time64,
	};
	registered = sqlite3_vfs_register(&vfs, 1);
}

int
hl_pagesum_register(void)
{
	pthread_once(&once, do_register);
	return registered == SQLITE_OK ? HL_OK : HL_ERR_IO;
}

bool
hl_pagesum_last_failure(char *path, size_t cap, uint64_t *page)
{
	bool any;

	pthread_mutex_lock(&fail_mu);
	any = fail_page != 0;
	if (any) {
		snprintf(path, cap, "%s", fail_path);
		*page = fail_page;
	}
	pthread_mutex_unlock(&fail_mu);
	return any;
}
