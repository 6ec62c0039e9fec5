/* SPDX-License-Identifier: ISC */
/*
 * talks.h: talks on the record (docs/talks.md). Proposals, answers,
 * agenda items, "held" and readouts travel as events of kind 6
 * (HL_EV_TALKS) on the line, each with a body of canonical JSON (media
 * type HL_TALKS_MEDIA) whose "type" is the sub-type. The register of a
 * peer's talks is never stored as such: it is folded, each time it is
 * read, from the talks events both chains hold, in an order both stations
 * compute alike, so both stations show the same register.
 *
 * A talks' id is the hash of its proposal event (shown as its first 12 hex
 * characters, the proposal's event id): unique, and the same on both
 * sides. Every later event names it ("talks") and carries a Lamport
 * revision ("rev": one above the highest rev its sender had seen for the
 * talks). The fold orders a talks' events by (rev, hash): causes come
 * before effects, and events made concurrently on the two sides fall in
 * the same order on both. A state change (accept, decline, postpone,
 * held) also names the state change it answers ("after"); it applies only
 * if that is still the latest one, so of two answers crossing on the wire
 * the first in that order applies and the other is shown as crossed.
 *
 * Pure: no I/O. The fold and the history file parser take untrusted
 * bytes; neither aborts on them.
 */
#ifndef HL_TALKS_H
#define HL_TALKS_H

#include <jansson.h>

#include "hl.h"
#include "msg.h"
#include "util.h"

#define HL_TALKS_MEDIA "application/vnd.hotline.talks+json"
#define HL_TALKS_TEXT_MAX 200      /* characters: title, place, agenda item */
#define HL_TALKS_SERIES_MAX 100    /* characters */
#define HL_TALKS_REASON_MAX 500    /* characters */
#define HL_TALKS_AGENDA_MAX 32     /* items in a proposal; as many again added later */
#define HL_TALKS_READOUT_MAX 65536 /* bytes of UTF-8 in one readout (64 KiB) */
#define HL_TALKS_BODY_MAX (2 * HL_TALKS_READOUT_MAX + 8192) /* a readout, JSON-escaped */
#define HL_TALKS_ROUND_MAX 9999
#define HL_TALKS_REV_MAX ((uint64_t)1 << 53) /* exact in every JSON reader */
#define HL_TALKS_ERR_MAX 320
#define HL_TALKS_DATE_LEN 10 /* YYYY-MM-DD */

enum hl_talks_type {
	HL_TK_PROPOSE = 0,
	HL_TK_ACCEPT,
	HL_TK_DECLINE,
	HL_TK_POSTPONE,
	HL_TK_AGENDA,
	HL_TK_HELD,
	HL_TK_READOUT,
};
#define HL_TK_COUNT 7
/* "propose", "accept", ... as in the body; "?" for anything else. */
const char *hl_talks_type_name(unsigned type);

/*
 * One talks event's body. Decoded, the strings live in root (released by
 * hl_talks_body_free); built by a caller for encoding, they are borrowed
 * and root is NULL. Fields a type does not use are NULL or zero.
 */
struct hl_talks_body {
	unsigned type;              /* enum hl_talks_type */
	uint64_t rev;               /* 1 for a proposal; then one above the highest seen */
	uint8_t talks[HL_HASH_LEN]; /* all but propose: the proposal's hash */
	uint8_t after[HL_HASH_LEN]; /* accept, decline, postpone, held: the state change answered */
	bool has_counters;          /* propose: a counter-proposal to ... */
	uint8_t counters[HL_HASH_LEN];
	const char *title, *level, *place, *series; /* propose; series optional */
	unsigned round;                             /* propose with series: 1.., 0 none */
	const char *from, *to;                      /* propose; postpone (both NULL: none) */
	const char *agenda[HL_TALKS_AGENDA_MAX];    /* propose */
	size_t nagenda;
	const char *reason; /* decline, postpone; accept optional */
	const char *item;   /* agenda */
	const char *text;   /* readout: UTF-8, lines */
	size_t text_len;
	json_t *root;
};

/*
 * Is b a valid body (every rule of docs/talks.md, "The body")? HL_OK, or
 * HL_ERR_INVAL with err naming the field, e.g. "the end date 2026-01-07
 * is before the start date 2026-01-08".
 */
HL_MUST_CHECK int hl_talks_body_check(const struct hl_talks_body *b, char *err, size_t errcap);
/*
 * The wire body: compact JSON with sorted keys. *out is malloc'd and
 * NUL-terminated (*len without the NUL). HL_ERR_INVAL (err says why) when
 * b does not pass hl_talks_body_check; HL_ERR_LIMIT past
 * HL_TALKS_BODY_MAX; HL_ERR_NOMEM.
 */
HL_MUST_CHECK int hl_talks_body_encode(const struct hl_talks_body *b, char **out, size_t *len,
                                       char *err, size_t errcap);
/*
 * Parse a body (untrusted bytes): valid JSON with no duplicate key, the
 * keys of its type and no other, every value valid, and byte for byte the
 * canonical encoding. HL_ERR_PROTO with err on anything else; HL_ERR_NOMEM.
 * On success release b with hl_talks_body_free.
 */
HL_MUST_CHECK int hl_talks_body_decode(const uint8_t *buf, size_t len, struct hl_talks_body *b,
                                       char *err, size_t errcap);
void hl_talks_body_free(struct hl_talks_body *b);

/* A calendar date YYYY-MM-DD that exists (1970-01-01 to 9999-12-31). */
bool hl_talks_date_valid(const char *s);
/* One line of UTF-8, not empty, no control character, at most max characters. */
bool hl_talks_line_valid(const char *s, size_t max_chars);
/* UTF-8, not empty, lines: no control character but newline, tab and carriage return. */
bool hl_talks_text_valid(const uint8_t *s, size_t len);
/* "1st", "2nd", "3rd", "4th", "11th", "21st" ... into out. */
void hl_talks_ordinal(unsigned n, char out[static 16]);

/* ---- the register ---- */

enum hl_talks_state {
	HL_TS_PROPOSED = 0,
	HL_TS_ACCEPTED,
	HL_TS_DECLINED,
	HL_TS_POSTPONED,
	HL_TS_HELD,
	HL_TS_REFUSED, /* the peer station refused the proposal: nothing else applies */
};
/* "proposed", "accepted", "declined", "postponed", "held", "refused". */
const char *hl_talks_state_name(unsigned state);

#define HL_SIDE_US 0   /* this station: its chain towards the peer (out) */
#define HL_SIDE_PEER 1 /* the peer: its chain (in) */

/* One talks event as the fold sees it. */
struct hl_talks_event {
	/* The caller fills these from the record. */
	int side; /* HL_SIDE_US or HL_SIDE_PEER */
	uint8_t hash[HL_HASH_LEN];
	uint64_t seq, created_ns;
	char operator_name[HL_OPERATOR_MAX + 1];
	char channel[HL_NAME_MAX + 1];
	int delivery;                    /* enum hl_state as stored here (local) */
	char refusal[HL_REASON_MAX + 1]; /* not empty: refused, so never applied */
	const uint8_t *body;             /* borrowed until hl_talks_reg_build returns */
	size_t body_len;
	/* hl_talks_reg_build fills these. */
	char id[HL_MSGID_LEN + 1];
	bool parsed;
	struct hl_talks_body b;
	bool applied;
	char why[HL_TALKS_ERR_MAX]; /* when not applied: why */
};

struct hl_talks {
	struct hl_talks_event *proposal;
	struct hl_talks_event **evs; /* the proposal, then the rest by (rev, hash) */
	size_t nevs;
	unsigned state;        /* enum hl_talks_state */
	int awaiting;          /* the side whose answer is awaited (proposed, postponed); -1 */
	const char *from, *to; /* the dates now (NULL: postponed without new dates) */
	const uint8_t *basis;  /* the hash of the latest state change applied */
	uint64_t rev;          /* the highest rev among its events */
	size_t nreadouts[2];   /* readout versions by side */
};

/*
 * The register of one peer: events (filled by the caller, owned by the
 * register) and the talks folded from them, sorted by their dates then id.
 */
struct hl_talks_reg {
	struct hl_talks_event *events;
	size_t nevents;
	struct hl_talks *talks;
	size_t ntalks;
	size_t norphans; /* events naming talks the record does not hold (yet) */
};

/*
 * Parse every event's body and fold the register. Events that do not
 * parse are kept out (parsed false, why set). HL_ERR_NOMEM. The bodies
 * may be released afterwards (decoded copies are kept).
 */
HL_MUST_CHECK int hl_talks_reg_build(struct hl_talks_reg *reg);
/* Releases what the register holds (events included); accepts a zeroed register. */
void hl_talks_reg_free(struct hl_talks_reg *reg);
/*
 * Would an event with body b from side apply to t as the fold stands now?
 * true, or false with why (side-neutral words, the same on both stations).
 */
bool hl_talks_judge(const struct hl_talks *t, int side, const struct hl_talks_body *b, char *why,
                    size_t cap);
/*
 * The talks whose id starts with id (at least 12 hex characters) or NULL.
 * *ambiguous is set when two match.
 */
struct hl_talks *hl_talks_find(const struct hl_talks_reg *reg, const char *id, bool *ambiguous);

/*
 * The talks as JSON (docs/talks.md, "JSON"): everything in it but the
 * member "local" comes from the record and is the same on both stations
 * when they call each other by the same names. names[HL_SIDE_US] is this
 * station's name, names[HL_SIDE_PEER] the peer's. A new reference; NULL
 * when out of memory.
 */
json_t *hl_talks_json(const struct hl_talks *t, const char *const names[2]);

/*
 * A talks imported from the public record (a stored record, see
 * hl_talks_history_parse) as JSON in the same shape, with "source":
 * "imported". names as above.
 */
json_t *hl_talks_imported_json(const json_t *record, const char *const names[2]);

/* One line saying what a talks event is, for transcripts: "proposes talks ...". */
char *hl_talks_describe(const uint8_t *body, size_t len);

/* ---- the public record (talks_history.c) ---- */

#define HL_TALKS_HISTORY_FORMAT "hotline-talks-history-v1"
#define HL_TALKS_HISTORY_MAX (1u << 20) /* bytes in a history file */
#define HL_TALKS_IMPORT_ID_MAX 32

/*
 * Parse a history file (untrusted bytes, docs/talks.md, "The public
 * record"). self is the name the file gives this station's side. On
 * success *records is a new JSON array of records to store: each a
 * canonical object whose sides are "self" and "peer" rather than names,
 * and peer_name the file's name for the other side. HL_ERR_INVAL with err
 * naming the talks and field at fault; HL_ERR_NOMEM.
 */
HL_MUST_CHECK int hl_talks_history_parse(const void *data, size_t len, const char *self,
                                         json_t **records, char peer_name[static HL_NAME_MAX + 1],
                                         char *err, size_t errcap);

#endif
