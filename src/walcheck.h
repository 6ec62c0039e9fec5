/* SPDX-License-Identifier: ISC */
/*
 * walcheck.h: does the store's WAL hold committed transactions that SQLite
 * would drop? Pure: the WAL's bytes in, a verdict out (fuzz/fuzz_wal.c).
 *
 * SQLite recovers a WAL by keeping its frames up to the first one that
 * fails its checksum, and only up to the last commit before it; a WAL
 * whose header fails its checksum is ignored whole. That is right after a
 * power cut, which can only damage the tail: with synchronous=FULL the WAL
 * is synced at every commit, and its header before any frame of a new
 * generation, so only the last transaction can be torn. It is silent data
 * loss after a flipped bit or a truncation anywhere else. The WAL is
 * damaged when what SQLite would drop provably was committed:
 *
 * 1. after the first bad frame come two commit frames that link (their
 *    salts are the header's, each checksum follows from the frame before):
 *    the first was synced before the second's transaction began, so the
 *    bad frame was too (frames past a power cut's torn transaction are
 *    those of a transaction rolled back, never a commit);
 * 2. the header fails its checksum, yet frames that link carry committed
 *    pages that station.db does not hold (a header torn by a power cut
 *    leaves only frames of the generation before, all copied already);
 * 3. the WAL's tip (pagesum.h), in this generation, names a commit frame
 *    beyond the last one SQLite keeps: it was synced, so it was there.
 *
 * Rule 1 holds only while every sync succeeds: when one fails (the disk
 * failing, docs/reliability.md "fsync fails"), the daemon writes on, one
 * transaction that buries the failed one, and those commits link after a
 * frame that does not, none of them synced. So with a tip of the WAL's
 * generation, rule 3 alone judges (it knows what was synced); rule 1 is
 * for a WAL without one.
 *
 * (A rule that took a dropped frame found in station.db as proof that it
 * was committed, and copied, was dropped: a transaction that puts a page
 * back as it was, an index entry added then removed, leaves the same
 * evidence after a mere power cut. The tip covers those cases.)
 *
 * Without a tip (a store written by another program), damage confined to
 * the last transaction, with nothing of it copied yet, looks exactly like
 * a power cut during it and is not reported (SQLite drops that transaction;
 * docs/reliability.md says what follows).
 */
#ifndef HL_WALCHECK_H
#define HL_WALCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hl_wal_verdict {
	bool damaged;
	uint64_t frames;    /* whole frames in the file */
	uint64_t kept;      /* frames SQLite keeps: up to its last valid commit */
	uint32_t page_size; /* 0: not known (no usable header, no database page size) */
	char what[256];     /* when damaged: which frame, and why it matters */
};

/*
 * Read page pgno (from 1) of station.db, page_size bytes, into buf: false
 * when the file does not hold it. ctx is the caller's.
 */
typedef bool hl_wal_page_fn(void *ctx, uint32_t pgno, uint8_t *buf, size_t page_size);

/* The WAL's tip as recorded (pagesum.h); frame 0: none, or the WAL was folded in. */
struct hl_wal_tip {
	uint8_t salts[8];
	uint32_t frame;
};

/*
 * Judge the WAL wal[0..len) of a database whose page size is db_page_size
 * (0 when unknown) and which reserves `reserve` bytes at the end of each
 * page (compared pages ignore them: a page carries its checksum only once
 * in the database file). page reads station.db; tip may be NULL. Never
 * fails: v says. A WAL too short for a header, with a tip naming a frame,
 * is damaged too (rule 3: it was emptied without being folded in).
 */
void hl_wal_check(const uint8_t *wal, size_t len, uint32_t db_page_size, unsigned reserve,
                  hl_wal_page_fn *page, void *ctx, const struct hl_wal_tip *tip,
                  struct hl_wal_verdict *v);

#endif
