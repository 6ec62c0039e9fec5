/* SPDX-License-Identifier: ISC */
/*
 * fuzz_wire.c: libFuzzer harness for src/wire.c. The input is a byte
 * stream; its first byte seeds the chunk sizes. The stream is fed to
 * hl_frame_feed twice, once whole and once in pseudo-random chunks, and
 * both must give the same records and fail at the same point. Every record
 * (and the whole input) also goes through hl_hello_decode_flags and
 * hl_hello_decode, which must agree; a success must be a well-formed name,
 * flags 0 for the old form or the byte after the name, and encode back to
 * the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 4096

struct digest {
	size_t nrec;
	size_t lens[MAX_RECORDS];
	uint64_t sums[MAX_RECORDS];
	int err;     /* 0 or the error */
	size_t tail; /* bytes of an incomplete record at the end */
};

static struct hl_frame_reader reader;
static struct digest whole, chunked;

static uint64_t
fnv(const uint8_t *p, size_t n)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static void
check_hello(const uint8_t *body, size_t len)
{
	uint8_t version = 0, flags = 0xff, version2 = 0;
	char name[33], name2[33];
	size_t n;
	int rc, rc2;

	memset(name, 'x', sizeof name);
	memset(name2, 'x', sizeof name2);
	rc = hl_hello_decode_flags(body, len, &version, name, &flags);
	/* The flag-blind decoder must agree on every input. */
	rc2 = hl_hello_decode(body, len, &version2, name2);
	if (rc != rc2)
		abort();
	if (rc < 0) {
		if (name[0] != '\0' || name2[0] != '\0' || flags != 0)
			abort();
		return;
	}
	n = strlen(name);
	if (strcmp(name, name2) != 0 || version2 != version)
		abort();
	/* Either the old form (no flags byte: flags 0) or one flags byte after the name. */
	if (len == 2 + n) {
		if (flags != 0)
			abort();
	} else if (len != 3 + n || flags != body[len - 1]) {
		abort();
	}
	if (body[1] != n || version != body[0] || memcmp(name, body + 2, n) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e)
			abort();
	/* What decodes must encode back to the same bytes (a zero flags byte is never sent). */
	{
		uint8_t again[2 + 32 + 1];
		size_t alen = 0, want = flags ? len : 2 + n;
		if (hl_hello_encode_flags(name, flags, again, sizeof again, &alen) < 0 ||
		    alen != want || memcmp(again + 1, body + 1, want - 1) != 0)
			abort();
	}
}

static void
run(const uint8_t *data, size_t size, uint32_t seed, struct digest *d)
{
	size_t off = 0;

	memset(d, 0, sizeof *d);
	hl_frame_reader_init(&reader);
	while (off < size) {
		const uint8_t *rec = NULL;
		size_t reclen = 0, chunk = size - off;
		int used;

		if (seed) {
			seed = seed * 1103515245u + 12345u;
			chunk = 1 + (seed >> 16) % 300;
			if (chunk > size - off)
				chunk = size - off;
		}
		used = hl_frame_feed(&reader, data + off, chunk, &rec, &reclen);
		if (used < 0) {
			d->err = used;
			if (used != HL_ERR_PROTO)
				abort();
			/* The stream cannot be resynced: stop, as link.c does. */
			return;
		}
		if ((size_t)used > chunk || (used == 0 && chunk > 0))
			abort();
		off += (size_t)used;
		if (rec) {
			if (reclen == 0 || reclen > HL_FRAME_MAX)
				abort();
			if (rec != reader.buf + HL_FRAME_HDR)
				abort();
			if (hl_get_u32(rec - HL_FRAME_HDR) != reclen)
				abort();
			if (d->nrec < MAX_RECORDS) {
				d->lens[d->nrec] = reclen;
				d->sums[d->nrec] = fnv(rec, reclen);
			}
			d->nrec++;
			if (seed)
				check_hello(rec, reclen);
		} else if (reclen != 0) {
			abort();
		}
	}
	d->tail = reader.have;
}

/* A CODEBOOK body decodes only whole, and encodes back to the same bytes. */
static void
check_codebook_frame(const uint8_t *body, size_t len)
{
	uint8_t hash[32], out[33 + HL_CODEBOOK_VERSION_MAX];
	char version[HL_CODEBOOK_VERSION_MAX + 1];
	size_t olen = 0;

	if (hl_codebook_frame_decode(body, len, hash, version) < 0)
		return;
	if (strlen(version) > HL_CODEBOOK_VERSION_MAX ||
	    hl_codebook_frame_encode(hash, version, out, sizeof out, &olen) < 0 || olen != len ||
	    memcmp(out, body, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed;

	if (size < 1)
		return 0;
	seed = (uint32_t)data[0] | 0x100u;
	data++;
	size--;
	check_hello(data, size);
	check_codebook_frame(data, size);
	run(data, size, 0, &whole);
	run(data, size, seed, &chunked);
	if (whole.nrec != chunked.nrec || whole.err != chunked.err || whole.tail != chunked.tail)
		abort();
	for (size_t i = 0; i < whole.nrec && i < MAX_RECORDS; i++)
		if (whole.lens[i] != chunked.lens[i] || whole.sums[i] != chunked.sums[i])
			abort();
	return 0;
}
