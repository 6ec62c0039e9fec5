/* SPDX-License-Identifier: ISC */
/*
 * transcript.h: this station's record with one peer, exported straight
 * from the store (docs/transcript.md): JSON lines for auditors and tools,
 * or one printable HTML page for people that shows, at its top, whether
 * the record verifies. Streams row by row: an export of any size holds one
 * event in memory at a time.
 */
#ifndef HL_TRANSCRIPT_H
#define HL_TRANSCRIPT_H

#include <stdio.h>

#include "hl.h"
#include "store.h"

enum hl_transcript_format { HL_TRANSCRIPT_JSONL, HL_TRANSCRIPT_HTML };

struct hl_transcript_opts {
	enum hl_transcript_format format;
	const char *station;            /* this station's name */
	const uint8_t *station_ed25519; /* S: this station's Ed25519 public key, 32 bytes */
	const struct hl_peer_rec *peer; /* the peer: name, id, key.ed25519 (P) */
	uint64_t since_ns;              /* 0: the whole record */
	uint64_t now_ns;                /* the export's time (exported_at) */
};

#define HL_TRANSCRIPT_WHY_MAX 320

struct hl_transcript_result {
	/* What the export holds: the counts of its `end` line. */
	uint64_t events_out, events_in, heads, receipts, refusals, checkpoints;
	bool checked;  /* the verification procedure ran (HTML) */
	bool verified; /* ... and passed */
	/* The first failure: "line 7 (event, chain out, seq 6): what", as in the JSON lines file.
	 */
	char failure[HL_TRANSCRIPT_WHY_MAX];
	/* Not a failure, e.g. events of the peer's chain not yet under a signed head. */
	char warning[HL_TRANSCRIPT_WHY_MAX];
	int write_errno; /* when writing to out failed: why */
};

/*
 * Write the record with o->peer to out in o->format, inside one read
 * transaction of st. For HTML the verification procedure runs first
 * (steps 1 to 5 over the store), and the page shows its outcome; a record
 * that does not verify is still written (res says so). Returns HL_OK,
 * HL_ERR_IO (the store, or writing out: then res->write_errno is set),
 * HL_ERR_NOMEM, or HL_ERR_CORRUPT when a stored text is not UTF-8.
 */
HL_MUST_CHECK int hl_transcript_write(struct hl_store *st, const struct hl_transcript_opts *o,
                                      FILE *out, struct hl_transcript_result *res);

/*
 * A --since time: "2026-11-26T08:00:00Z" (seconds, fraction and 'Z' as
 * hotline prints times; seconds optional), a date "2026-11-26" (its
 * 00:00Z), or an integer of nanoseconds since 1970. UTC only. HL_ERR_INVAL
 * for anything else, or a time before 1970 or after 2262.
 */
HL_MUST_CHECK int hl_transcript_parse_time(const char *s, uint64_t *ns);

#endif
