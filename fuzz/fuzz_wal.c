/* SPDX-License-Identifier: ISC */
/*
 * fuzz_wal.c: libFuzzer harness for src/walcheck.c, which reads a store's
 * write-ahead log before SQLite does (a damaged disk can put anything in
 * it). The first input byte picks the database's reserved bytes per page
 * (bit 0: 8, else 0), whether a tip is given (bit 1) and the database's
 * page size (bits 2-4: 512 << n; bit 5: not known); then 12 bytes of
 * tip (salts 8, frame u32); the rest is the WAL. The database behind it
 * holds pages 1 to 64 of zeros. Whatever the bytes, the verdict must be
 * consistent and its text a terminated, printable line.
 */
#include <stdlib.h>
#include <string.h>

#include "walcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
zero_page(void *ctx, uint32_t pgno, uint8_t *buf, size_t page_size)
{
	(void)ctx;
	if (pgno == 0 || pgno > 64)
		return false;
	memset(buf, 0, page_size);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl_wal_verdict v;
	struct hl_wal_tip tip;
	uint32_t ps;
	uint8_t *wal;
	size_t len;

	if (size < 13)
		return 0;
	ps = data[0] & 0x20 ? 0 : 512u << (data[0] >> 2 & 7);
	memcpy(tip.salts, data + 1, 8);
	tip.frame =
	    (uint32_t)data[9] << 24 | (uint32_t)data[10] << 16 | (uint32_t)data[11] << 8 | data[12];
	/* An exact-size copy, so ASan catches any read past the log. */
	len = size - 13;
	wal = malloc(len ? len : 1);
	if (!wal)
		abort();
	if (len)
		memcpy(wal, data + 13, len);
	hl_wal_check(wal, len, ps, data[0] & 1 ? 8 : 0, zero_page, NULL, data[0] & 2 ? &tip : NULL,
	             &v);
	if (v.kept > v.frames || strnlen(v.what, sizeof v.what) == sizeof v.what ||
	    (v.damaged && !v.what[0]) || (!v.damaged && v.what[0]))
		abort();
	for (size_t i = 0; v.what[i]; i++)
		if ((unsigned char)v.what[i] < 0x20 || (unsigned char)v.what[i] > 0x7e)
			abort();
	free(wal);
	return 0;
}
