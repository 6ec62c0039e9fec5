/* SPDX-License-Identifier: ISC */
/*
 * pagesum.h: a checksum on every page of the store, so that a flipped bit
 * anywhere in station.db is an error when SQLite reads that page, never
 * content served or forwarded (docs/reliability.md, "Power cuts and
 * corruption").
 *
 * An SQLite VFS shim, "hl-pagesum", over the default VFS. A database whose
 * header reserves HL_PAGESUM_RESERVE bytes at the end of each page gets,
 * in those bytes, a keyed 64-bit SipHash (libsodium's crypto_shorthash)
 * of the rest of the page, written with every page and checked with every
 * page read from the database file: a mismatch is SQLITE_IOERR_DATA.
 * Other databases pass through untouched. Pages travel through the WAL
 * unchanged (its frames have SQLite's own checksums) and get their sum
 * when a checkpoint writes them to the database file. The shim also keeps
 * the WAL's tip (below).
 */
#ifndef HL_PAGESUM_H
#define HL_PAGESUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_PAGESUM_RESERVE 8

/*
 * The WAL's tip, DB-tip beside the database: the last commit frame (and
 * the WAL generation's salts) that a process using this VFS synced to the
 * WAL, written after the sync returned, without fsync; frame 0 once SQLite
 * has folded the WAL into the database and deleted or emptied it (that one
 * written durably, before the delete). A WAL found at start to end before
 * its tip, in the same generation, lost committed transactions: SQLite
 * would recover it silently (storecheck.h). A lost or stale tip only makes
 * the check weaker, never wrong: it is written after what it describes.
 */

/* Make "hl-pagesum" the default VFS (once per process; thread-safe). HL_OK or HL_ERR_IO. */
int hl_pagesum_register(void);

/*
 * The last page whose sum did not match in this process (any thread):
 * false when there was none; else the file's path into path and the page
 * number (from 1) into *page.
 */
bool hl_pagesum_last_failure(char *path, size_t cap, uint64_t *page);

/* The tip of the WAL of the database at db_path: false when there is none (or it is damaged). */
bool hl_pagesum_tip(const char *db_path, uint8_t salts[static 8], uint32_t *frame);

#endif
