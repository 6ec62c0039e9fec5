/* SPDX-License-Identifier: ISC */
/*
 * pcvfs.c: a power cut, simulated at SQLite's VFS layer, the way SQLite
 * tests itself (test only; docs/reliability.md, "Power cuts and corruption").
 *
 * Loaded with LD_PRELOAD into a station's processes, its constructor
 * registers a VFS shim "powercut" as the default, wrapping the default
 * ("unix"): the binary under test is the one that ships. The station's
 * page-checksum shim (src/pagesum.c) registers later, above this one.
 *
 * The model, for the files SQLite relies on after a crash (the database,
 * its WAL, a rollback journal):
 *
 * - A write or a truncation reaches the page cache at once: the real file,
 *   where this process and every other one sees it (so processes that
 *   share the store see each other's writes as they would on a real
 *   machine). What it replaced is kept in a per-file undo log in memory:
 *   the disk still holds the old bytes until a sync.
 * - xSync makes everything written to that file durable (like fsync, for
 *   every handle of the file) and forgets its undo log, then syncs.
 * - At the power cut, every 512-byte sector written since its file's last
 *   sync reaches the disk or not, independently (the disk reorders): what
 *   does not is put back as it was at the last sync. One of the sectors
 *   that do is torn (only a random prefix of the new bytes). A file that
 *   grew keeps the size its surviving sectors give it; a truncation
 *   happens or not. Bytes another process wrote over ours since are left
 *   alone. Then the process _exit()s with status 86.
 *
 * The cut comes before the Nth write, truncation or sync of such a file
 * (HL_POWERCUT_AT=N, counted from the process start), or, after SIGUSR2,
 * before the Nth one from then (N read from the file HL_POWERCUT_CTL). Every random choice comes
 * from HL_POWERCUT_SEED, so a cut replays from its seed (the thread interleaving of the daemon does
 * not: see the doc). The WAL index (-shm) is not a file SQLite relies on:
 * it is memory shared through a mapping that SQLite rebuilds from the WAL
 * once no process holds it; it passes through, the cut zeroes its header
 * (for a process that outlives it: shm_lost), and the test deletes it
 * before the restart, as a power cut loses it.
 *
 * Environment: HL_POWERCUT_SEED (required; without it the shim does
 * nothing), HL_POWERCUT_AT (0 or absent: only SIGUSR2), HL_POWERCUT_CTL,
 * HL_POWERCUT_LOG (a file to append one line about the cut to).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#define SECTOR 512
#define CUT_STATUS 86

/* What one write or truncation replaced: the disk's bytes until the next sync. */
struct undo {
	sqlite3_int64 off;      /* write: where; truncation: the new size */
	sqlite3_int64 len;      /* bytes in old (and new, for a write) */
	sqlite3_int64 old_size; /* the file's size before */
	unsigned char *old;     /* what [off, off+len) held (zeros past old_size) */
	unsigned char *new;     /* a write's bytes; NULL for a truncation */
};

/* One real file (by path), shared by all its handles in this process. */
struct node {
	char *path;
	int fd; /* ours: the cut works on the file whatever handle is open */
	struct undo *log;
	size_t n, cap;
	struct node *next;
};

struct pfile {
	sqlite3_file base;
	struct node *node; /* NULL: passed through untouched */
	sqlite3_file *real;
};

static sqlite3_vfs *orig;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct node *nodes;
static uint64_t rng_state, ops_done, cut_at;
static volatile sig_atomic_t armed, arm_in; /* SIGUSR2: cut after arm_in more ops */
static const char *ctl_path;
static const char *log_path;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t
below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void
log_clear(struct node *n)
{
	for (size_t i = 0; i < n->n; i++) {
		free(n->log[i].old);
		free(n->log[i].new);
	}
	n->n = 0;
}

static struct node *
node_get(const char *path)
{
	struct node *n;

	for (n = nodes; n; n = n->next) {
		struct stat a, b;
		if (strcmp(n->path, path) != 0)
			continue;
		/* Deleted and made again by another process: the old log is moot. */
		if (fstat(n->fd, &a) == 0 && stat(path, &b) == 0 &&
		    (a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
			int fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				return NULL;
			log_clear(n);
			close(n->fd);
			n->fd = fd;
		}
		return n;
	}
	n = calloc(1, sizeof *n);
	if (!n || !(n->path = strdup(path)))
		goto fail;
	n->fd = open(path, O_RDWR | O_CLOEXEC);
	if (n->fd < 0)
		goto fail;
	n->next = nodes;
	nodes = n;
	return n;
fail:
	if (n)
		free(n->path);
	free(n);
	return NULL;
}

static sqlite3_int64
real_size(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 ? (sqlite3_int64)sb.st_size : 0;
}

/* [off, off+len) of the file into buf, zeros past its end. */
static void
read_at(int fd, unsigned char *buf, sqlite3_int64 off, sqlite3_int64 len)
{
	sqlite3_int64 got = 0;

	while (got < len) {
		ssize_t r = pread(fd, buf + got, (size_t)(len - got), (off_t)(off + got));
		if (r <= 0)
			break;
		got += r;
	}
	memset(buf + got, 0, (size_t)(len - got));
}

/* Remember what [off, off+len) holds now (and the size), before it changes. */
static int
log_add(struct node *n, sqlite3_int64 off, sqlite3_int64 len, const void *data)
{
	struct undo *u;

	if (n->n == n->cap) {
		size_t ncap = n->cap ? n->cap * 2 : 64;
		struct undo *nv = realloc(n->log, ncap * sizeof *nv);
		if (!nv)
			return SQLITE_NOMEM;
		n->log = nv;
		n->cap = ncap;
	}
	u = &n->log[n->n];
	memset(u, 0, sizeof *u);
	u->off = off;
	u->len = len;
	u->old_size = real_size(n->fd);
	if (!(u->old = malloc(len ? (size_t)len : 1)))
		return SQLITE_NOMEM;
	read_at(n->fd, u->old, off, len);
	if (data) {
		if (!(u->new = malloc(len ? (size_t)len : 1))) {
			free(u->old);
			return SQLITE_NOMEM;
		}
		memcpy(u->new, data, (size_t)len);
	}
	n->n++;
	return SQLITE_OK;
}

/* Lay [u->off, u->off+u->len) of src (old or new bytes) over the sector image at s. */
static void
lay(unsigned char *img, sqlite3_int64 s, const struct undo *u, const unsigned char *src)
{
	sqlite3_int64 a = u->off > s ? u->off : s;
	sqlite3_int64 b = u->off + u->len < s + SECTOR ? u->off + u->len : s + SECTOR;

	if (a < b)
		memcpy(img + (a - s), src + (a - u->off), (size_t)(b - a));
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof line)
		len = (int)sizeof line - 1;
	if (write(STDERR_FILENO, line, (size_t)len) < 0) {
		/* nothing to do: the cut happens anyway */
	}
	if (log_path) {
		int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (write(fd, line, (size_t)len) < 0) {
				/* as above */
			}
			close(fd);
		}
	}
}

struct tally {
	uint64_t p; /* the chance, in percent, that an unsynced sector reaches the disk */
	size_t dirty, kept, reverted, foreign, truncs, truncs_kept;
	bool torn_chosen;
	const char *torn_file;
	sqlite3_int64 torn_off, torn_len;
	size_t torn_at, seen; /* the torn one is the torn_at-th sector kept */
};

/* The power cut for one file (mu held): each unsynced sector survives or not. */
static void
cut_file(struct node *n, struct tally *t)
{
	sqlite3_int64 s0 = n->log[0].old_size, s1 = real_size(n->fd), lo = -1, hi = 0, size;
	unsigned char cur[SECTOR], d[SECTOR], e[SECTOR];
	bool trunc = false, trunc_kept = false;

	for (size_t i = 0; i < n->n; i++) {
		const struct undo *u = &n->log[i];
		sqlite3_int64 a = u->off, b = u->off + u->len;
		trunc |= u->new == NULL;
		if (u->new == NULL && u->old_size > b)
			b = u->old_size;
		if (lo < 0 || a < lo)
			lo = a;
		if (b > hi)
			hi = b;
	}
	if (trunc) {
		t->truncs++;
		trunc_kept = below(100) < t->p;
		t->truncs_kept += trunc_kept;
	}
	/* The size the disk ends with: the last sync's, grown by surviving sectors. */
	size = s1 < s0 && trunc_kept ? s1 : s0;
	lo -= lo % SECTOR;
	for (sqlite3_int64 s = lo; s < hi; s += SECTOR) {
		bool keep;
		read_at(n->fd, cur, s, SECTOR);
		if (s >= s1)
			memset(cur, 0, sizeof cur);
		else if (s1 - s < SECTOR)
			memset(cur + (s1 - s), 0, (size_t)(SECTOR - (s1 - s)));
		/* d: the sector at the last sync (undo, newest first); e: what we made of it. */
		memcpy(d, cur, sizeof d);
		for (size_t i = n->n; i-- > 0;)
			lay(d, s, &n->log[i], n->log[i].old);
		memcpy(e, d, sizeof e);
		for (size_t i = 0; i < n->n; i++) {
			const struct undo *u = &n->log[i];
			if (u->new) {
				lay(e, s, u, u->new);
			} else if (u->off < s + SECTOR) {
				sqlite3_int64 from = u->off > s ? u->off - s : 0;
				memset(e + from, 0, (size_t)(SECTOR - from));
			}
		}
		if (memcmp(cur, e, sizeof cur) != 0) {
			t->foreign++; /* another process wrote here since: its bytes stay */
			if (s + SECTOR > size && s < s1)
				size = s + SECTOR < s1 ? s + SECTOR : s1;
			continue;
		}
		if (memcmp(cur, d, sizeof cur) == 0 && (s < s0 || s >= s1))
			continue; /* unchanged */
		t->dirty++;
		if (s >= s1)
			continue; /* truncated away: restored only with the old size, below */
		keep = below(100) < t->p;
		if (keep && !t->torn_chosen && t->seen++ == t->torn_at) {
			sqlite3_int64 k = (sqlite3_int64)below(SECTOR); /* new bytes that made it */
			memcpy(d, cur, (size_t)k);
			t->torn_chosen = true;
			t->torn_file = n->path;
			t->torn_off = s;
			t->torn_len = k;
		} else if (keep) {
			memcpy(d, cur, sizeof d);
		}
		if (keep) {
			t->kept++;
			if (s + SECTOR > size)
				size = s + SECTOR < s1 ? s + SECTOR : s1;
		} else {
			t->reverted++;
		}
		if (s < size || !keep) {
			if (pwrite(n->fd, d, SECTOR, (off_t)s) != SECTOR)
				say("powercut: pwrite %s: %s\n", n->path, strerror(errno));
		}
	}
	/* A truncation that did not happen: the tail it cut off is back. */
	if (size > s1) {
		for (size_t i = n->n; i-- > 0;) {
			const struct undo *u = &n->log[i];
			if (!u->new && u->len &&
			    pwrite(n->fd, u->old, (size_t)u->len, (off_t)u->off) != u->len)
				say("powercut: pwrite %s: %s\n", n->path, strerror(errno));
		}
	}
	if (ftruncate(n->fd, (off_t)size) != 0)
		say("powercut: ftruncate %s: %s\n", n->path, strerror(errno));
}

/*
 * The WAL index is lost with the power, for every process of the machine.
 * Here only this one dies: a process that outlives the cut (a command that
 * had the store open and writes it itself once the daemon's lock is free)
 * would go on with this process's index, and its nBackfill says which
 * pages a checkpoint copied into the database file: SQLite syncs that copy
 * only once the whole WAL is in, so the cut may just have put those pages
 * back as they were, and the survivor would read them there and commit on
 * pages that never were (an index missing rows its table holds). Zero both
 * copies of the index's header, once the files are as the disk has them:
 * the next transaction of any survivor rebuilds the index from the WAL, as
 * a process started after the power came back would (tests/powercut/survivor.py).
 */
static void
shm_lost(const struct node *n)
{
	static const unsigned char zero[136]; /* two WalIndexHdr and the WalCkptInfo */
	size_t len = strlen(n->path);
	char path[4096];
	int fd;

	if (len < 4 || strcmp(n->path + len - 4, "-wal") != 0 || len >= sizeof path)
		return;
	memcpy(path, n->path, len - 4);
	memcpy(path + len - 4, "-shm", 5);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* no index: nothing to lose */
	if (real_size(fd) >= (sqlite3_int64)sizeof zero &&
	    pwrite(fd, zero, sizeof zero, 0) != (ssize_t)sizeof zero)
		say("powercut: pwrite %s: %s\n", path, strerror(errno));
	close(fd);
}

/* The power cut (mu held): every file's unsynced sectors survive or not, then the end. */
static void __attribute__((noreturn)) cut(const char *what, const struct node *at)
{
	struct tally t = {.p = below(101), .torn_file = "-", .torn_off = -1};
	size_t sectors = 0;

	/* The torn sector: the k-th of those kept, k drawn up front over a generous range. */
	for (struct node *n = nodes; n; n = n->next)
		for (size_t i = 0; i < n->n; i++)
			sectors += (size_t)(n->log[i].len / SECTOR + 2);
	t.torn_at = (size_t)below(sectors ? (sectors * t.p) / 100 + 1 : 1);
	for (struct node *n = nodes; n; n = n->next)
		if (n->n)
			cut_file(n, &t);
	for (struct node *n = nodes; n; n = n->next)
		shm_lost(n);
	say("powercut: cut before op %llu (%s of %s): chance %llu%%, %zu unsynced sectors: %zu "
	    "written, %zu lost, %zu rewritten by another process; torn %s@%lld after %lld bytes; "
	    "truncations %zu of %zu\n",
	    (unsigned long long)ops_done, what, at ? at->path : "?", (unsigned long long)t.p,
	    t.dirty, t.kept, t.reverted, t.foreign, t.torn_file, (long long)t.torn_off,
	    (long long)t.torn_len, t.truncs_kept, t.truncs);
	_exit(CUT_STATUS);
}

/* One more write, truncation or sync of a durable file: is it the cut? (mu held) */
static void
count(const char *what, const struct node *n)
{
	ops_done++;
	if (armed) {
		cut_at = ops_done + (uint64_t)arm_in;
		armed = 0;
	}
	if (cut_at && ops_done >= cut_at)
		cut(what, n);
}

/* ---- io methods ---- */

static int
pc_close(sqlite3_file *f)
{
	struct pfile *p = (struct pfile *)f;

	/* The node (and its undo log) stays: unsynced bytes outlive the handle. */
	return p->real->pMethods->xClose(p->real);
}

static int
pc_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	struct pfile *p = (struct pfile *)f;

	return p->real->pMethods->xRead(p->real, buf, amt, off);
}

static int
pc_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	struct pfile *p = (struct pfile *)f;
	int rc;

	if (!p->node)
		return p->real->pMethods->xWrite(p->real, buf, amt, off);
	pthread_mutex_lock(&mu);
	count("write", p->node);
	rc = log_add(p->node, off, amt, buf);
	if (rc == SQLITE_OK)
		rc = p->real->pMethods->xWrite(p->real, buf, amt, off);
	pthread_mutex_unlock(&mu);
	return rc;
}

static int
pc_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct pfile *p = (struct pfile *)f;
	sqlite3_int64 was;
	int rc;

	if (!p->node)
		return p->real->pMethods->xTruncate(p->real, size);
	pthread_mutex_lock(&mu);
	count("truncate", p->node);
	was = real_size(p->node->fd);
	rc = log_add(p->node, size, was > size ? was - size : 0, NULL);
	if (rc == SQLITE_OK)
		rc = p->real->pMethods->xTruncate(p->real, size);
	pthread_mutex_unlock(&mu);
	return rc;
}

static int
pc_sync(sqlite3_file *f, int flags)
{
	struct pfile *p = (struct pfile *)f;
	size_t done;
	int rc;

	if (!p->node)
		return p->real->pMethods->xSync(p->real, flags);
	pthread_mutex_lock(&mu);
	count("sync", p->node);
	done = p->node->n;
	pthread_mutex_unlock(&mu);
	rc = p->real->pMethods->xSync(p->real, flags);
	if (rc != SQLITE_OK)
		return rc;
	/* Durable now, whoever wrote it; what came during the sync may not be. */
	pthread_mutex_lock(&mu);
	if (done > p->node->n)
		done = p->node->n;
	for (size_t i = 0; i < done; i++) {
		free(p->node->log[i].old);
		free(p->node->log[i].new);
	}
	if (done) {
		memmove(p->node->log, p->node->log + done,
		        (p->node->n - done) * sizeof *p->node->log);
		p->node->n -= done;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

static int
pc_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct pfile *p = (struct pfile *)f;

	return p->real->pMethods->xFileSize(p->real, size);
}

static int
pc_lock(sqlite3_file *f, int l)
{
	struct pfile *p = (struct pfile *)f;
	return p->real->pMethods->xLock(p->real, l);
}

static int
pc_unlock(sqlite3_file *f, int l)
{
	struct pfile *p = (struct pfile *)f;
	return p->real->pMethods->xUnlock(p->real, l);
}

static int
pc_check_reserved(sqlite3_file *f, int *out)
{
	struct pfile *p = (struct pfile *)f;
	return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int
pc_file_control(sqlite3_file *f, int op, void *arg)
{
	struct pfile *p = (struct pfile *)f;

	/* unix's size hint would extend the real file behind the overlay's back */
	if (p->node && (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE))
		return SQLITE_NOTFOUND;
	return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int
pc_sector_size(sqlite3_file *f)
{
	struct pfile *p = (struct pfile *)f;
	return p->real->pMethods->xSectorSize(p->real);
}

static int
pc_device_characteristics(sqlite3_file *f)
{
	struct pfile *p = (struct pfile *)f;
	return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int
pc_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	struct pfile *p = (struct pfile *)f;
	return p->real->pMethods->xShmMap(p->real, pg, pgsz, extend, pp);
}

static int
pc_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	struct pfile *p = (struct pfile *)f;
	return p->real->pMethods->xShmLock(p->real, off, n, flags);
}

static void
pc_shm_barrier(sqlite3_file *f)
{
	struct pfile *p = (struct pfile *)f;
	p->real->pMethods->xShmBarrier(p->real);
}

static int
pc_shm_unmap(sqlite3_file *f, int del)
{
	struct pfile *p = (struct pfile *)f;
	return p->real->pMethods->xShmUnmap(p->real, del);
}

/* Version 2: no xFetch, so SQLite never reads the files through a mapping behind the overlay. */
static const sqlite3_io_methods pc_methods = {
    .iVersion = 2,
    .xClose = pc_close,
    .xRead = pc_read,
    .xWrite = pc_write,
    .xTruncate = pc_truncate,
    .xSync = pc_sync,
    .xFileSize = pc_file_size,
    .xLock = pc_lock,
    .xUnlock = pc_unlock,
    .xCheckReservedLock = pc_check_reserved,
    .xFileControl = pc_file_control,
    .xSectorSize = pc_sector_size,
    .xDeviceCharacteristics = pc_device_characteristics,
    .xShmMap = pc_shm_map,
    .xShmLock = pc_shm_lock,
    .xShmBarrier = pc_shm_barrier,
    .xShmUnmap = pc_shm_unmap,
};

/* ---- vfs methods ---- */

static int
pc_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	struct pfile *p = (struct pfile *)f;
	int rc;

	(void)vfs;
	memset(p, 0, sizeof *p);
	p->real = (sqlite3_file *)(p + 1);
	rc = orig->xOpen(orig, name, p->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc;
	if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL))) {
		pthread_mutex_lock(&mu);
		p->node = node_get(name);
		pthread_mutex_unlock(&mu);
		if (!p->node) {
			p->real->pMethods->xClose(p->real);
			return SQLITE_CANTOPEN;
		}
	}
	f->pMethods = &pc_methods;
	return SQLITE_OK;
}

static int
pc_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	pthread_mutex_lock(&mu);
	for (struct node **pp = &nodes; *pp; pp = &(*pp)->next) {
		struct node *n = *pp;
		if (strcmp(n->path, name) == 0) {
			/* Unlinked: what was pending for it can never be read. */
			log_clear(n);
			free(n->log);
			close(n->fd);
			free(n->path);
			*pp = n->next;
			free(n);
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	return orig->xDelete(orig, name, sync_dir);
}

static int
pc_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return orig->xAccess(orig, name, flags, out);
}

static int
pc_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return orig->xFullPathname(orig, name, n, out);
}

static void *
pc_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return orig->xDlOpen(orig, name);
}

static void
pc_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	orig->xDlError(orig, n, msg);
}

static void (*pc_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return orig->xDlSym(orig, h, sym);
}

static void
pc_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	orig->xDlClose(orig, h);
}

static int
pc_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return orig->xRandomness(orig, n, out);
}

static int
pc_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return orig->xSleep(orig, us);
}

static int
pc_current_time(sqlite3_vfs *vfs, double *t)
{
	(void)vfs;
	return orig->xCurrentTime(orig, t);
}

static int
pc_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return orig->xGetLastError(orig, n, out);
}

static int
pc_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
	(void)vfs;
	return orig->xCurrentTimeInt64(orig, t);
}

static sqlite3_vfs pc_vfs = {
    .iVersion = 2,
    .zName = "powercut",
    .xOpen = pc_open,
    .xDelete = pc_delete,
    .xAccess = pc_access,
    .xFullPathname = pc_full_pathname,
    .xDlOpen = pc_dlopen,
    .xDlError = pc_dlerror,
    .xDlSym = pc_dlsym,
    .xDlClose = pc_dlclose,
    .xRandomness = pc_randomness,
    .xSleep = pc_sleep,
    .xCurrentTime = pc_current_time,
    .xGetLastError = pc_last_error,
    .xCurrentTimeInt64 = pc_current_time64,
};

/* SIGUSR2: cut after N more ops, N read from HL_POWERCUT_CTL (0 when absent). */
static void
on_usr2(int sig)
{
	char buf[24];
	ssize_t r = 0;
	int fd = ctl_path ? open(ctl_path, O_RDONLY | O_CLOEXEC) : -1, n = 0;

	(void)sig;
	if (fd >= 0) {
		r = read(fd, buf, sizeof buf - 1);
		close(fd);
	}
	for (ssize_t i = 0; i < r && buf[i] >= '0' && buf[i] <= '9' && n < 1000000; i++)
		n = n * 10 + (buf[i] - '0');
	arm_in = n;
	armed = 1;
}

__attribute__((constructor)) static void
pc_init(void)
{
	const char *seed = getenv("HL_POWERCUT_SEED"), *at = getenv("HL_POWERCUT_AT");
	struct sigaction sa;

	/*
	 * For this process only: a child (the notify hook, ASan's symbolizer)
	 * must not load it, nor an instrumented build of it.
	 */
	unsetenv("LD_PRELOAD");
	if (!seed || !*seed)
		return;
	rng_state = strtoull(seed, NULL, 10);
	cut_at = at ? strtoull(at, NULL, 10) : 0;
	log_path = getenv("HL_POWERCUT_LOG");
	ctl_path = getenv("HL_POWERCUT_CTL");
	orig = sqlite3_vfs_find(NULL);
	if (!orig || orig->iVersion < 2)
		return;
	pc_vfs.szOsFile = (int)sizeof(struct pfile) + orig->szOsFile;
	pc_vfs.mxPathname = orig->mxPathname;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	if (sqlite3_vfs_register(&pc_vfs, 1) != SQLITE_OK)
		return;
	if (cut_at)
		say("powercut: armed, seed %s, cut before op %llu\n", seed,
		    (unsigned long long)cut_at);
}
