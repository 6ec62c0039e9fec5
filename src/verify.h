/* SPDX-License-Identifier: ISC */
/*
 * verify.h: the verification procedure of docs/transcript.md.
 *
 * - hl_verify_store: steps 1-4 over this station's tables (they are the
 *   record), one peer at a time, streaming each chain in seq order: memory
 *   does not grow with the chains.
 * - hl_verify_file / hl_verify_buf: steps 1-5 over an exported jsonl
 *   transcript. The file is untrusted: the parser is strict and bounded, and
 *   whatever the bytes, it reports a failure with the line; it never aborts.
 * - hl_verify_against: this station's record beside the peer's export.
 *
 * Results, not text: src/cli_verify.c renders them. Every function returns
 * HL_OK when the procedure ran (what it found is in the result; failures
 * there are the verdict), or an error when it could not run (HL_ERR_IO,
 * HL_ERR_NOMEM).
 */
#ifndef HL_VERIFY_H
#define HL_VERIFY_H

#include <stdio.h>

#include "hl.h"
#include "msg.h"
#include "store.h"

/* The longest jsonl line read: holds an event with a body of up to ~48 MiB. */
#define HL_VERIFY_LINE_MAX ((size_t)64 << 20)
#define HL_VERIFY_KEEP 8 /* problems kept, the first ones; the rest are counted */
#define HL_VERIFY_WHAT_MAX 320

/* One failure or warning: where (as much as is known) and what. */
struct hl_verify_problem {
	const char *type;          /* "event", "head", "receipt", "refusal", "checkpoint", ... */
	char chain[4];             /* "out", "in", or "" */
	uint64_t seq;              /* the event concerned; 0: none */
	char id[HL_MSGID_LEN + 1]; /* its id as recorded; "" when unknown */
	uint64_t line;             /* in a file: the line, from 1; 0 in the store */
	char what[HL_VERIFY_WHAT_MAX]; /* printable ASCII */
};

struct hl_verify_chain {
	uint64_t events;      /* events read */
	uint64_t first, last; /* their lowest and highest seq; 0 when none */
	uint64_t bad;         /* events that failed a check */
	uint64_t missing;     /* seqs missing where the chain must hold them: failures */
	uint64_t in_flight;   /* seqs missing above the highest signed head (chain in) */
	uint64_t not_kept;    /* bodies not kept (refused as too large): hash as recorded */
};

struct hl_verify_result {
	char peer[HL_NAME_MAX + 1]; /* the peer: as pinned here, or the file's header.peer */
	uint8_t station_pk[32];     /* S: the station whose record this is (its key now) */
	uint8_t peer_pk[32];        /* P: its peer (its key now) */
	/*
	 * Every key of S and of P the record may hold signatures of, oldest
	 * first, the current one last (docs/transcript.md, "Keys over time"):
	 * a signature verifies when it is one of these keys' towards one of
	 * the other side's. KEY events (rotations) must match them.
	 */
	struct hl_keyring station_keys, peer_keys;
	uint64_t rotations, rotations_bad; /* KEY events of both chains checked */
	struct hl_verify_chain out, in;
	uint64_t heads, heads_bad; /* the peer's signed heads of chain in */
	uint64_t head_seq;         /* the highest of them; 0: none */
	uint64_t unsigned_in;      /* events of chain in above head_seq (a warning) */
	uint64_t own_heads;        /* heads of chain out (S's own; none are stored today) */
	uint64_t receipts, receipts_bad, receipt_entries;
	uint64_t refusals, refusals_bad, refusals_unsigned;
	uint64_t checkpoints, checkpoints_bad, cp_agreed, cp_waiting, cp_mismatch;
	uint64_t cp_at_ns, cp_out_seq, cp_in_seq; /* the last agreed checkpoint; at_ns 0: none */
	uint64_t nfailures, nwarnings;
	struct hl_verify_problem failures[HL_VERIFY_KEEP], warnings[HL_VERIFY_KEEP];
	/*
	 * Failures that show the record itself damaged or altered: all but
	 * events of chain in missing under the peer's signed head, and a
	 * checkpoint mismatch (the record holds together; it lacks something
	 * the peer has, or disagrees with the peer). damage: the first one.
	 */
	uint64_t ndamage;
	struct hl_verify_problem damage;
};

/* One problem as "peer P, line N, head, chain C, seq S, id I: what" (the parts known). */
void hl_verify_problem_text(const struct hl_verify_problem *p, const char *peer, char *out,
                            size_t cap);

/*
 * Verify the record with one pinned peer (steps 1-4 over the tables): S is
 * ours (our Ed25519 public key), P the peer's pinned key. res is zeroed
 * first. The store is only read.
 */
HL_MUST_CHECK int hl_verify_store(struct hl_store *st, const struct hl_peer_rec *peer,
                                  const uint8_t ours[static 32], struct hl_verify_result *res);

/* An event of a transcript file, as far as a comparison needs it. */
struct hl_verify_seqhash {
	uint64_t seq;
	uint8_t hash[HL_HASH_LEN];
};

/* A checkpoint of a transcript file, as far as a comparison needs it. */
struct hl_verify_cp {
	uint64_t at_ns, station_seq, peer_seq;
	bool by_station; /* initiator: the exporting station */
	bool agreed;     /* status agreed (and consistent) */
	uint8_t station_hash[HL_HASH_LEN], peer_hash[HL_HASH_LEN]; /* the exporter's statement */
};

/*
 * A transcript file as read. The names come from an untrusted header: they
 * are kept only when they are valid hotline names ("" otherwise). The
 * events' seqs and hashes are kept (40 bytes each) in strictly increasing
 * seq order, for heads, receipts and hl_verify_against.
 */
struct hl_transcript {
	bool header;                   /* a valid header line was read */
	char station[HL_NAME_MAX + 1]; /* header.station: who exported it */
	char peer[HL_NAME_MAX + 1];    /* header.peer */
	char exported_at[40];          /* as written (printable ASCII) */
	uint64_t since_ns;
	bool end;       /* the end line was read */
	uint64_t lines; /* lines read */
	struct hl_verify_seqhash *out, *in;
	size_t nout, nin, capout, capin;
	struct hl_verify_cp *cps;
	size_t ncps, capcps;
	struct hl_verify_result res; /* station_pk, peer_pk: the header's keys */
};

/*
 * Read and verify a transcript (steps 1-5) from f, or from buf/len, lines
 * of at most line_max bytes (0: HL_VERIFY_LINE_MAX). t is zeroed first and
 * must be released with hl_transcript_free whatever the result.
 * HL_ERR_IO when f cannot be read, HL_ERR_NOMEM.
 */
HL_MUST_CHECK int hl_verify_file(FILE *f, size_t line_max, struct hl_transcript *t);
HL_MUST_CHECK int hl_verify_buf(const uint8_t *buf, size_t len, size_t line_max,
                                struct hl_transcript *t);
void hl_transcript_free(struct hl_transcript *t);

/* One direction of a comparison: the file's chain beside the same chain here. */
struct hl_verify_cmp {
	uint64_t agree;     /* seqs held on both sides with the same hash */
	uint64_t differ;    /* held on both sides with different hashes: failures */
	uint64_t first_seq; /* the first of those (0: none), and both hashes */
	uint8_t file_hash[HL_HASH_LEN], here_hash[HL_HASH_LEN];
	uint64_t only_file, only_file_first, only_file_last; /* in flight towards here */
	uint64_t only_here, only_here_first, only_here_last; /* in flight, or not yet exported */
	uint64_t before_file; /* held here below the file's first seq (an export --since) */
};

struct hl_verify_against {
	struct hl_verify_cmp theirs; /* the peer's chain: the file's out, our in */
	struct hl_verify_cmp ours;   /* our chain: the file's in, our out */
	uint64_t cp_common;          /* checkpoints agreed on both sides, with the same hashes */
	uint64_t cp_differ;          /* agreed on both sides, but not on the same hashes */
	uint64_t cp_at_ns, cp_out_seq,
	    cp_in_seq; /* the last common one (our seqs); at_ns 0: none */
};

/*
 * Compare this station's record with peer_id with t, the peer's export
 * (already read by hl_verify_file): the file's out chain against our in
 * chain, its in chain against our out chain, and the checkpoints. Streams
 * the store's chains. The caller checks t's keys first.
 */
HL_MUST_CHECK int hl_verify_against(struct hl_store *st, int64_t peer_id,
                                    const struct hl_transcript *t, struct hl_verify_against *out);

#endif
