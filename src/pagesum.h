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
 * when a checkpoint writes them to the database file.
 */
#ifndef HL_PAGESUM_H
#define HL_PAGESUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_PAGESUM_RESERVE 8

/* Make "hl-pagesum" the default VFS (once per process; thread-safe). HL_OK or HL_ERR_IO. */
int hl_pagesum_register(void);

/*
 * The last page whose sum did not match in this process (any thread):
 * false when there was none; else the file's path into path and the page
 * number (from 1) into *page.
 */
bool hl_pagesum_last_failure(char *path, size_t cap, uint64_t *page);

#endif
