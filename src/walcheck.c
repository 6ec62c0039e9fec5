/* SPDX-License-Identifier: ISC */
/*
 * walcheck.c: the WAL judged as SQLite would recover it; see walcheck.h.
 *
 * The format (sqlite.org/fileformat2.html, "WAL file format"): a 32-byte
 * header (magic, version, page size, checkpoint seq, salt-1, salt-2,
 * checksum over the first 24 bytes), then frames of a 24-byte header (page
 * number, database size after a commit or 0, the two salts, a checksum
 * over the first 8 bytes of the frame header and the page, continuing from
 * the frame before) and a page. Checksums add 32-bit words, big-endian
 * when the magic's low bit is set. Every length is checked before use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walcheck.h"

#define HDR 32
#define FHDR 24
#define MAGIC 0x377f0682u
#define VERSION 3007000u

struct wal {
	const uint8_t *b;
	size_t n;             /* whole frames */
	uint32_t ps;          /* page size */
	bool big;             /* checksum words are big-endian */
	const uint8_t *salts; /* the 8 bytes frames must carry */
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* SQLite's WAL checksum over n bytes (a multiple of 8), continuing s. */
static void
wal_sum(bool big, const uint8_t *p, size_t n, uint32_t s[2])
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		s[0] += (big ? be32(p + i) : le32(p + i)) + s[1];
		s[1] += (big ? be32(p + i + 4) : le32(p + i + 4)) + s[0];
	}
}

static const uint8_t *
frame(const struct wal *w, size_t j)
{
	return w->b + HDR + (j - 1) * (FHDR + (size_t)w->ps);
}

static bool
commit(const struct wal *w, size_t j)
{
	return be32(frame(w, j) + 4) != 0;
}

/*
 * Frame j links: it carries the salts, a page number, and the checksum
 * that follows from the one stored before it (the header's for frame 1).
 */
static bool
links(const struct wal *w, size_t j)
{
	const uint8_t *f = frame(w, j), *prev = j == 1 ? w->b + 24 : frame(w, j - 1) + 16;
	uint32_t s[2] = {be32(prev), be32(prev + 4)};

	if (memcmp(f + 8, w->salts, 8) != 0 || be32(f) == 0)
		return false;
	wal_sum(w->big, f, 8, s);
	wal_sum(w->big, f + FHDR, w->ps, s);
	return s[0] == be32(f + 16) && s[1] == be32(f + 20);
}

/* (page, frame) pairs, to find the newest version of a page. */
struct ver {
	uint32_t pgno;
	uint32_t j;
};

static int
by_page_newest(const void *a, const void *b)
{
	const struct ver *x = a, *y = b;

	if (x->pgno != y->pgno)
		return x->pgno < y->pgno ? -1 : 1;
	return x->j > y->j ? -1 : x->j < y->j; /* newest first */
}

/* Does station.db hold frame j's page as the frame has it (checksum bytes aside)? */
static bool
in_db(const struct wal *w, size_t j, unsigned reserve, hl_wal_page_fn *page, void *ctx,
      uint8_t *buf)
{
	const uint8_t *f = frame(w, j);
	size_t cmp = reserve < w->ps ? w->ps - reserve : w->ps;

	return page(ctx, be32(f), buf, w->ps) && memcmp(buf, f + FHDR, cmp) == 0;
}

/* A valid header: rule 1 of walcheck.h (only without a tip of this generation: rule_1). */
static void
judge_live(struct wal *w, bool rule_1, struct hl_wal_verdict *v)
{
	size_t bad = 0, c0 = 0, m1 = 0;

	for (size_t j = 1; j <= w->n; j++) {
		if (!links(w, j)) {
			bad = j;
			break;
		}
		if (commit(w, j))
			c0 = j;
	}
	v->kept = c0;
	if (!bad || !rule_1)
		return;
	/*
	 * Two commits that link after the bad frame: the first was synced
	 * before the second's transaction began, and so was the bad frame.
	 * (Frames past the end of a power cut's torn transaction are a rolled
	 * back transaction's, never a commit.)
	 */
	for (size_t m = bad + 1; m <= w->n; m++) {
		if (!links(w, m) || !commit(w, m))
			continue;
		if (!m1) {
			m1 = m;
			continue;
		}
		v->damaged = true;
		snprintf(v->what, sizeof v->what,
		         "frame %zu of %zu fails its checksum, but transactions committed after it "
		         "follow (to frame %zu at least): SQLite would drop them",
		         bad, w->n, m);
		return;
	}
}

/* A header that fails its checksum: rule 2, with the header's salts or frame 1's. */
static void
judge_ignored(struct wal *w, unsigned reserve, hl_wal_page_fn *page, void *ctx, uint8_t *buf,
              struct hl_wal_verdict *v)
{
	const uint8_t *cands[2] = {w->salts, frame(w, 1) + 8};
	struct ver *lv = malloc(w->n * sizeof *lv);

	if (!lv)
		return;
	for (int c = 0; c < 2 && !v->damaged; c++) {
		size_t last = 0, nv = 0;
		uint32_t pages = 0; /* the database's size in pages after that commit */
		w->salts = cands[c];
		for (size_t j = 1; j <= w->n; j++)
			if (links(w, j) && commit(w, j))
				last = j;
		if (last)
			pages = be32(frame(w, last) + 4);
		for (size_t j = 1; j <= last; j++)
			if (links(w, j) && be32(frame(w, j)) <= pages)
				lv[nv++] = (struct ver){be32(frame(w, j)), (uint32_t)j};
		qsort(lv, nv, sizeof *lv, by_page_newest);
		for (size_t i = 0; i < nv && !v->damaged; i++) {
			if (i > 0 && lv[i].pgno == lv[i - 1].pgno)
				continue; /* an older version */
			if (in_db(w, lv[i].j, reserve, page, ctx, buf))
				continue;
			v->damaged = true;
			snprintf(v->what, sizeof v->what,
			         "its header fails its checksum, so SQLite would ignore it, but it "
			         "holds committed pages the database lacks (page %u in frame %u of "
			         "%zu)",
			         lv[i].pgno, lv[i].j, w->n);
		}
	}
	free(lv);
}

void
hl_wal_check(const uint8_t *b, size_t len, uint32_t db_page_size, unsigned reserve,
             hl_wal_page_fn *page, void *ctx, const struct hl_wal_tip *tip,
             struct hl_wal_verdict *v)
{
	struct wal w = {.b = b};
	uint32_t magic, ps, s[2] = {0, 0};
	bool hdr_ok;
	uint8_t *buf;

	memset(v, 0, sizeof *v);
	if (len < HDR) {
		/* Nothing SQLite would read: fine, unless frames had been committed to it. */
		if (tip && tip->frame) {
			v->damaged = true;
			snprintf(
			    v->what, sizeof v->what,
			    "it is %s, but transactions had been committed to it (to frame %u) "
			    "and never folded into the database (unless another program, such as "
			    "the sqlite3 shell, folded it: docs/reliability.md)",
			    len ? "shorter than its header" : "empty", tip->frame);
		}
		return;
	}
	magic = be32(b);
	ps = be32(b + 8);
	ps = (ps & 0xfe00) + ((ps & 1) << 16); /* 65536 is written as 1 */
	w.big = magic & 1;
	wal_sum(w.big, b, 24, s);
	hdr_ok = (magic & ~1u) == MAGIC && be32(b + 4) == VERSION && ps >= 512 && ps <= 65536 &&
	         (ps & (ps - 1)) == 0 && s[0] == be32(b + 24) && s[1] == be32(b + 28);
	if (!hdr_ok || (db_page_size && ps != db_page_size))
		ps = db_page_size;
	if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0)
		return; /* cannot be read as frames */
	w.ps = ps;
	w.salts = b + 16;
	w.n = (len - HDR) / (FHDR + (size_t)ps);
	v->page_size = ps;
	v->frames = w.n;
	buf = w.n ? malloc(ps) : NULL;
	if (hdr_ok) {
		bool tipped = tip && tip->frame && memcmp(tip->salts, b + 16, 8) == 0;
		judge_live(&w, !tipped, v);
		if (!v->damaged && tipped && tip->frame > v->kept) {
			v->damaged = true;
			snprintf(
			    v->what, sizeof v->what,
			    "SQLite would keep its frames up to %llu only, but frame %u had been "
			    "committed and synced: the transactions after frame %llu are lost",
			    (unsigned long long)v->kept, tip->frame, (unsigned long long)v->kept);
		}
	} else {
		size_t last = 0;
		for (int order = 0; order < 2 && buf && !v->damaged; order++) {
			w.big = order == 1; /* the magic may be what was damaged */
			w.salts = b + 16;
			judge_ignored(&w, reserve, page, ctx, buf, v);
			if (tip && tip->frame) { /* what is left of the tip's generation */
				w.salts = tip->salts;
				for (size_t j = 1; j <= w.n; j++)
					if (j > last && links(&w, j) && commit(&w, j))
						last = j;
			}
		}
		if (!v->damaged && tip && tip->frame > last) {
			v->damaged = true;
			snprintf(
			    v->what, sizeof v->what,
			    "its header fails its checksum, so SQLite would ignore it, and it no "
			    "longer holds the frames committed to it (to frame %u)",
			    tip->frame);
		}
	}
	free(buf);
}
