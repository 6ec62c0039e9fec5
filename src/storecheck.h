/* SPDX-License-Identifier: ISC */
/*
 * storecheck.h: is the store whole? Run by the daemon before it starts
 * (and by `hotline check`), so that a station never serves or forwards
 * what a damaged disk, a flipped bit or a truncated file left behind
 * (docs/reliability.md, "Power cuts and corruption").
 *
 * In order, stopping at the first damage:
 * 1. the WAL, read before SQLite recovers it (walcheck.h): committed
 *    transactions SQLite would silently drop;
 * 2. PRAGMA quick_check, which reads every page of every table and index,
 *    and so checks every page's checksum (pagesum.h); with HL_CHECK_FULL,
 *    PRAGMA integrity_check, which also compares every index with its
 *    table (about five times the CPU: `hotline check --full`, not at start);
 * 3. the record with each pinned peer, as `verify` checks it (verify.h):
 *    every event's hash recomputed from its fields and body, the chains
 *    linked, every signature (the peer's heads, receipts, refusals, both
 *    sides' checkpoint statements) verified over the hashes held. What is
 *    incomplete rather than damaged does not stop a start: events the
 *    peer vouched for but this store lacks (in flight, or older than the
 *    backup restored: the peer sends them again), a checkpoint mismatch
 *    (an alarm about the peer, raised elsewhere).
 * Then a store made before page checksums gets them (one VACUUM).
 */
#ifndef HL_STORECHECK_H
#define HL_STORECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl.h"

struct hl_store_check {
	uint64_t wal_frames; /* whole frames in the WAL */
	uint64_t pages;      /* pages in the database */
	uint64_t events;     /* events verified, every peer, both chains */
	uint64_t wal_ms, quick_ms, verify_ms, convert_ms; /* quick_ms: step 2, either pragma */
	bool sums;        /* the store carries page checksums (after any conversion) */
	bool converted;   /* ... added now */
	uint64_t lacking; /* events the peer vouched for that the store lacks */
};

enum {
	HL_CHECK_CONVERT = 1, /* add page checksums to a store without them (needs the lock) */
	HL_CHECK_FULL = 2,    /* integrity_check instead of quick_check */
};

/*
 * Check the store at path of the station whose Ed25519 public key is
 * ours (flags: HL_CHECK_*). HL_OK; HL_ERR_CORRUPT with what is damaged,
 * and where, in err; or another error (the store cannot be opened: err
 * says why).
 */
HL_MUST_CHECK int hl_store_check(const char *path, const uint8_t ours[static 32], unsigned flags,
                                 struct hl_store_check *out, char *err, size_t errcap);

/* Steps 2 and 3, beside a running daemon (its WAL is live: step 1 would misread it). */
HL_MUST_CHECK int hl_store_check_live(const char *path, const uint8_t ours[static 32],
                                      unsigned flags, struct hl_store_check *out, char *err,
                                      size_t errcap);

/*
 * Step 1 alone, for a process about to open a store no daemon runs on
 * (every CLI command): HL_ERR_CORRUPT with what is damaged in err.
 */
HL_MUST_CHECK int hl_store_check_wal(const char *path, char *err, size_t errcap);

#endif
