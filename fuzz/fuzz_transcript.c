/* SPDX-License-Identifier: ISC */
/*
 * fuzz_transcript.c: libFuzzer harness for the jsonl transcript verifier
 * (`hotline verify --file`, src/verify.c). The input is the file. It is
 * read twice, from a buffer and through a FILE, and both readings must
 * agree; whatever the bytes, the result must keep the verifier's promises:
 * no success without a header and an end line, the kept events in strictly
 * increasing seq order and counted, every problem a short printable string
 * naming a known chain, the header's strings and key histories valid.
 * Signatures in the seed
 * corpus are real (keys from the header), so mutations reach past them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "util.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_MAX_FUZZ ((size_t)1 << 16)

static bool ready;

static void
check_text(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

static void
check_problems(const struct hl_verify_problem *v, uint64_t n)
{
	for (uint64_t i = 0; i < n && i < HL_VERIFY_KEEP; i++) {
		const struct hl_verify_problem *p = &v[i];
		if (!p->type || !p->what[0])
			abort();
		check_text(p->what, sizeof p->what);
		check_text(p->id, sizeof p->id);
		if (strcmp(p->chain, "") != 0 && strcmp(p->chain, "out") != 0 &&
		    strcmp(p->chain, "in") != 0)
			abort();
	}
}

/* The events kept: in order, each counted; the rest were out of order, counted as failed. */
static void
check_seqs(const struct hl_verify_seqhash *v, size_t n, size_t cap, const struct hl_verify_chain *c)
{
	if (n > cap || n > c->events || c->events - n > c->bad || (n && !v))
		abort();
	for (size_t i = 0; i < n; i++)
		if (v[i].seq == 0 || (i && v[i].seq <= v[i - 1].seq))
			abort();
}

static void
check(const struct hl_transcript *t, size_t size)
{
	const struct hl_verify_result *r = &t->res;

	if (r->nfailures == 0 && (!t->header || !t->end))
		abort();
	if (size && t->lines == 0)
		abort();
	check_problems(r->failures, r->nfailures);
	check_problems(r->warnings, r->nwarnings);
	check_seqs(t->out, t->nout, t->capout, &r->out);
	check_seqs(t->in, t->nin, t->capin, &r->in);
	if (t->ncps > t->capcps || r->checkpoints < t->ncps || r->heads_bad > r->heads ||
	    r->receipts_bad > r->receipts || r->refusals_bad > r->refusals ||
	    r->out.bad > r->out.events || r->in.bad > r->in.events)
		abort();
	if (t->header) {
		if (!hl_name_valid(t->station) || !hl_name_valid(t->peer))
			abort();
		check_text(t->exported_at, sizeof t->exported_at);
		/* Key histories (docs/keys.md): 1 to HL_RING_MAX keys, the header's key last. */
		if (r->station_keys.n < 1 || r->station_keys.n > HL_RING_MAX ||
		    r->peer_keys.n < 1 || r->peer_keys.n > HL_RING_MAX ||
		    memcmp(r->station_keys.k[r->station_keys.n - 1].ed25519, r->station_pk, 32) ||
		    memcmp(r->peer_keys.k[r->peer_keys.n - 1].ed25519, r->peer_pk, 32))
			abort();
	}
	if (r->rotations_bad > r->rotations + HL_RING_MAX * 2)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hl_transcript a, b;
	uint8_t *buf;
	FILE *f;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = true;
	}
	/* An exact-size copy, so ASan catches any read past the file. */
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	if (size)
		memcpy(buf, data, size);
	if (hl_verify_buf(buf, size, LINE_MAX_FUZZ, &a) != HL_OK)
		abort();
	check(&a, size);
	/* The FILE reader must see the same lines. */
	if (size && (f = fmemopen(buf, size, "r"))) {
		if (hl_verify_file(f, LINE_MAX_FUZZ, &b) != HL_OK)
			abort();
		fclose(f);
		check(&b, size);
		if (a.res.nfailures != b.res.nfailures || a.nout != b.nout || a.nin != b.nin ||
		    a.lines != b.lines || a.header != b.header || a.end != b.end ||
		    (a.nout && memcmp(a.out, b.out, a.nout * sizeof *a.out) != 0) ||
		    (a.nin && memcmp(a.in, b.in, a.nin * sizeof *a.in) != 0))
			abort();
		hl_transcript_free(&b);
	}
	hl_transcript_free(&a);
	free(buf);
	return 0;
}
