/* SPDX-License-Identifier: ISC */
/*
 * verify.c: the verification procedure of docs/transcript.md over the
 * store, over an exported jsonl transcript, and the comparison of the two;
 * see verify.h.
 *
 * The store's tables are the record, so this file reads them directly
 * (store_impl.h, like the store's own files): one query per chain, in seq
 * order, keeping only the previous hash; heads, receipts and checkpoints
 * look up the events they name one by one. A refusal is checked as its
 * event streams by (the signature is in the event's row).
 *
 * The file side never trusts a byte: each line is bounded, parsed by
 * jansson, and every field is checked for presence, type, range and
 * length before use. A malformed line stops the reading with a failure
 * naming the line; a record that does not verify is a failure too, and the
 * reading goes on, so one tampered event is named once, not followed by a
 * cascade (the next event links to the hash as recorded).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "store_impl.h"
#include "util.h"
#include "verify.h"
#include "wire.h"

static const uint8_t zeros[HL_HASH_LEN];

/* ---- problems ---- */

struct where {
	const char *type;  /* "event", "head", ... */
	const char *chain; /* "out", "in", NULL */
	uint64_t seq;
	const char *id; /* NULL: unknown */
	uint64_t line;
};

/* Keep only printable ASCII: what may quote a file's bytes (jansson's messages do). */
static void
printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void HL_PRINTF(3, 0)
    record(struct hl_verify_problem *p, struct where w, const char *fmt, va_list ap)
{
	memset(p, 0, sizeof *p);
	p->type = w.type ? w.type : "";
	snprintf(p->chain, sizeof p->chain, "%s", w.chain ? w.chain : "");
	p->seq = w.seq;
	snprintf(p->id, sizeof p->id, "%s", w.id ? w.id : "");
	printable(p->id);
	p->line = w.line;
	vsnprintf(p->what, sizeof p->what, fmt, ap);
	printable(p->what);
}

static void HL_PRINTF(4, 0)
    failed(struct hl_verify_result *res, bool damage, struct where w, const char *fmt, va_list ap)
{
	va_list again;

	if (damage && !res->ndamage) {
		va_copy(again, ap);
		record(&res->damage, w, fmt, again);
		va_end(again);
	}
	res->ndamage += damage;
	if (res->nfailures < HL_VERIFY_KEEP)
		record(&res->failures[res->nfailures], w, fmt, ap);
	res->nfailures++;
}

/* A failure: the record contradicts itself or its signatures (a damaged or altered store). */
static void HL_PRINTF(3, 4)
    failure(struct hl_verify_result *res, struct where w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failed(res, true, w, fmt, ap);
	va_end(ap);
}

/*
 * A failure that is no sign of damage here: the record lacks what the peer
 * vouched for (still on its way, or lost with a backup's age), or the two
 * stations disagree (an alarm about the record, which holds together).
 */
static void HL_PRINTF(3, 4)
    lacking(struct hl_verify_result *res, struct where w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failed(res, false, w, fmt, ap);
	va_end(ap);
}

static void HL_PRINTF(3, 4)
    warning(struct hl_verify_result *res, struct where w, const char *fmt, ...)
{
	va_list ap;

	if (res->nwarnings < HL_VERIFY_KEEP) {
		va_start(ap, fmt);
		record(&res->warnings[res->nwarnings], w, fmt, ap);
		va_end(ap);
	}
	res->nwarnings++;
}

static void
hex12(const uint8_t *hash, char out[static HL_MSGID_LEN + 1])
{
	hl_event_id(hash, out);
}

static void
hex32(const uint8_t *b, char out[static 2 * HL_HASH_LEN + 1])
{
	sodium_bin2hex(out, 2 * HL_HASH_LEN + 1, b, HL_HASH_LEN);
}

/* "seq A" or "seqs A-B". */
static const char *
seqs(uint64_t a, uint64_t b, char out[static 48])
{
	if (a == b)
		snprintf(out, 48, "seq %llu", (unsigned long long)a);
	else
		snprintf(out, 48, "seqs %llu-%llu", (unsigned long long)a, (unsigned long long)b);
	return out;
}

/*
 * The seqs a..b of a chain are missing. Chain out (the station's own, whole
 * from 1) must hold them all; chain in must hold what the peer's signed
 * head covers, and may lack the rest while it travels (a warning), except
 * in an export (strict): docs/transcript.md wants it whole there.
 */
static void
gap(struct hl_verify_result *res, bool in, uint64_t a, uint64_t b, uint64_t head_seq, bool strict,
    uint64_t line)
{
	struct hl_verify_chain *c = in ? &res->in : &res->out;
	char s[48];
	uint64_t hi, lo;

	if (a > b)
		return;
	hi = in ? (b < head_seq ? b : head_seq) : b;
	if (a <= hi) {
		c->missing += hi - a + 1;
		if (in)
			lacking(res, (struct where){"event", "in", a, NULL, line},
			        "%s missing (the peer's signed head covers it)", seqs(a, hi, s));
		else
			failure(res, (struct where){"event", "out", a, NULL, line}, "%s missing",
			        seqs(a, hi, s));
	}
	if (b <= hi || !in)
		return;
	lo = a > hi ? a : hi + 1;
	if (strict) {
		c->missing += b - lo + 1;
		failure(res, (struct where){"event", "in", lo, NULL, line},
		        "%s missing from the export (made while they travelled? export again once "
		        "the traffic has settled)",
		        seqs(lo, b, s));
	} else {
		c->in_flight += b - lo + 1;
		warning(
		    res, (struct where){"event", "in", lo, NULL, line},
		    "%s not here yet, above the peer's highest signed head (seq %llu): in flight",
		    seqs(lo, b, s), (unsigned long long)head_seq);
	}
}

/* A refusal too large to keep: "message of N bytes exceeds this station's limit of M bytes". */
static bool
refused_too_large(const char *reason, size_t len)
{
	static const char head[] = "message of ", mid[] = " bytes exceeds this station's limit of ";

	return len > sizeof head && memcmp(reason, head, sizeof head - 1) == 0 &&
	       memmem(reason, len, mid, sizeof mid - 1) != NULL;
}

/* The checks of one event, wherever it came from (a row or a line). */
struct evcheck {
	bool in;             /* chain in */
	const uint8_t *hash; /* as recorded */
	const char *id;      /* as recorded */
	size_t id_len;
	bool refused;       /* state refused */
	int kept;           /* a file's body_kept: 1, 0, or -1 when not given (the store) */
	const char *reason; /* the refusal's reason, for the not-kept rule */
	size_t reason_len;
	uint64_t line;
};

/* Chain state while streaming one chain in seq order. */
struct chainpos {
	bool any;
	uint64_t last;
	uint8_t hash[HL_HASH_LEN]; /* of event `last`, as recorded */
	bool linked;               /* hash is known (the last row was well-formed) */
};

/*
 * Step 1 for one event: seq order, the prev link, the hash, the id. start
 * is the seq the chain must start at (1; an export --since starts
 * anywhere: 0). Gaps are reported here when head_seq is known (a file's
 * chain in has its heads after it: its gaps are found at the end, with
 * gaps false). Returns false for an event out of order (seq not above the
 * last one), which is not taken into the chain.
 */
static bool
check_event(struct hl_verify_result *res, struct chainpos *pos, const struct hl_event *ev,
            const struct evcheck *c, uint64_t start, bool gaps, uint64_t head_seq)
{
	struct hl_verify_chain *ch = c->in ? &res->in : &res->out;
	const char *chain = c->in ? "in" : "out";
	char id[HL_MSGID_LEN + 1], a[2 * HL_HASH_LEN + 1], b[2 * HL_HASH_LEN + 1];
	uint8_t h[HL_HASH_LEN];
	bool bad = false;

	snprintf(id, sizeof id, "%.*s", (int)(c->id_len < HL_MSGID_LEN ? c->id_len : HL_MSGID_LEN),
	         c->id);
	struct where w = {"event", chain, ev->seq, id, c->line};
	if (pos->any && ev->seq <= pos->last) {
		failure(res, w, "seq %llu after seq %llu: the chain is out of order",
		        (unsigned long long)ev->seq, (unsigned long long)pos->last);
		ch->events++;
		ch->bad++;
		return false;
	}
	if (gaps && !pos->any && start && ev->seq > start)
		gap(res, c->in, start, ev->seq - 1, head_seq, false, c->line);
	else if (gaps && pos->any && ev->seq > pos->last + 1)
		gap(res, c->in, pos->last + 1, ev->seq - 1, head_seq, false, c->line);
	ch->events++;
	if (!ch->first)
		ch->first = ev->seq;
	ch->last = ev->seq;

	hl_event_hash(ev, h);
	if (c->kept == 0 && !(c->in && c->refused && ev->body_len == 0)) {
		failure(res, w,
		        "body_kept is false, but only a refused event of chain in without "
		        "a body may lack it");
		bad = true;
	} else if (sodium_memcmp(h, c->hash, HL_HASH_LEN) != 0) {
		/* A body never kept: the hash is taken as given, the chain links vouch for it. */
		if (c->kept == 0 ||
		    (c->kept < 0 && c->in && c->refused && ev->body_len == 0 &&
		     ev->kind == HL_EV_MESSAGE && refused_too_large(c->reason, c->reason_len))) {
			ch->not_kept++;
		} else {
			hex32(c->hash, a);
			hex32(h, b);
			failure(res, w,
			        "the hash does not match the event's fields and body (recorded %s, "
			        "computed %s)",
			        a, b);
			bad = true;
		}
	}
	if (ev->seq == 1 ? sodium_memcmp(ev->prev, zeros, HL_HASH_LEN) != 0
	                 : pos->any && pos->linked && pos->last + 1 == ev->seq &&
	                       sodium_memcmp(ev->prev, pos->hash, HL_HASH_LEN) != 0) {
		hex32(ev->prev, a);
		if (ev->seq == 1)
			failure(res, w, "prev is %s, not zeros, for seq 1", a);
		else
			failure(res, w, "prev %s is not the hash of seq %llu", a,
			        (unsigned long long)(ev->seq - 1));
		bad = true;
	}
	hex12(c->hash, a);
	if (c->id_len != HL_MSGID_LEN || memcmp(c->id, a, HL_MSGID_LEN) != 0) {
		failure(res, w, "the id is not the hash's first 12 hex characters (%s)", a);
		bad = true;
	}
	if (!hl_kind_known(ev->kind) || ev->precedence >= HL_PREC_COUNT) {
		failure(res, w, "kind %u or precedence %u is not one hotline writes", ev->kind,
		        ev->precedence);
		bad = true;
	}
	ch->bad += bad;
	pos->any = true;
	pos->last = ev->seq;
	memcpy(pos->hash, c->hash, HL_HASH_LEN);
	pos->linked = true;
	return true;
}

/* After chain in: events above the highest head are not yet signed (a warning). */
static void
unsigned_tail(struct hl_verify_result *res, uint64_t n_above, uint64_t first_above)
{
	res->unsigned_in = n_above;
	if (n_above && res->head_seq)
		warning(
		    res, (struct where){"event", "in", first_above, NULL, 0},
		    "%llu event%s of chain in above the highest signed head (seq %llu): not yet "
		    "signed by the peer (heads follow each burst within about 200 ms)",
		    (unsigned long long)n_above, n_above == 1 ? "" : "s",
		    (unsigned long long)res->head_seq);
	else if (n_above)
		warning(
		    res, (struct where){"event", "in", first_above, NULL, 0},
		    "%llu event%s of chain in and no signed head yet: not yet signed by the peer "
		    "(heads follow each burst within about 200 ms)",
		    (unsigned long long)n_above, n_above == 1 ? "" : "s");
}

/* Is this checkpoint the latest agreed one so far? */
static void
agreed_cp(struct hl_verify_result *res, uint64_t at_ns, uint64_t out_seq, uint64_t in_seq)
{
	res->cp_agreed++;
	if (at_ns >= res->cp_at_ns) {
		res->cp_at_ns = at_ns;
		res->cp_out_seq = out_seq;
		res->cp_in_seq = in_seq;
	}
}

/* ---- keys over time (docs/keys.md, docs/transcript.md) ---- */

static int
ring_index(const struct hl_keyring *r, const uint8_t k[static 32])
{
	for (size_t i = 0; i < r->n; i++)
		if (sodium_memcmp(r->k[i].ed25519, k, 32) == 0)
			return (int)i;
	return -1;
}

/* One key: the ring of a record made before key histories (or without one in its header). */
static void
ring_one(struct hl_keyring *r, const uint8_t k[static 32])
{
	memset(r, 0, sizeof *r);
	memcpy(r->k[0].ed25519, k, 32);
	r->n = 1;
}

/* A statement's signature, checked FROM from TO to: HL_OK or HL_ERR_AUTH. */
typedef int sig_fn(const void *arg, const uint8_t from[static 32], const uint8_t to[static 32]);

/*
 * Which key of `from` made this signature, towards any key of `to`: its
 * index, or -1 when none did. The newest keys are tried first.
 */
static int
ring_signer(const struct hl_keyring *from, const struct hl_keyring *to, sig_fn *fn, const void *arg)
{
	for (size_t i = from->n; i-- > 0;)
		for (size_t k = to->n; k-- > 0;)
			if (fn(arg, from->k[i].ed25519, to->k[k].ed25519) == HL_OK)
				return (int)i;
	return -1;
}

struct head_arg {
	uint64_t seq;
	const uint8_t *hash, *sig;
};
static int
head_sig(const void *arg, const uint8_t from[static 32], const uint8_t to[static 32])
{
	const struct head_arg *a = arg;
	return hl_head_verify(a->seq, a->hash, a->sig, from, to);
}

struct receipt_arg {
	const uint8_t *entries, *sig;
	size_t n;
};
static int
receipt_sig(const void *arg, const uint8_t from[static 32], const uint8_t to[static 32])
{
	const struct receipt_arg *a = arg;
	return hl_receipt_verify(a->entries, a->n, a->sig, from, to);
}

struct refusal_arg {
	uint64_t seq;
	const uint8_t *hash, *sig;
	const char *reason;
	size_t len;
};
static int
refusal_sig(const void *arg, const uint8_t from[static 32], const uint8_t to[static 32])
{
	const struct refusal_arg *a = arg;
	return hl_refuse_verify(a->seq, a->hash, a->reason, a->len, a->sig, from, to);
}

struct cp_arg {
	uint64_t at_ns, signer_seq, other_seq;
	const uint8_t *signer_hash, *other_hash, *sig;
};
static int
cp_sig(const void *arg, const uint8_t from[static 32], const uint8_t to[static 32])
{
	const struct cp_arg *a = arg;
	return hl_checkpoint_verify(a->at_ns, a->signer_seq, a->signer_hash, a->other_seq,
	                            a->other_hash, a->sig, from, to);
}

/*
 * The order of one chain's signed heads, taken by seq: once a head is
 * signed with a newer key, an older one signs no later head (the old key
 * is refused after the switch), and a key introduced by the KEY event at
 * seq N signs only heads at N or above.
 */
struct head_order {
	int top;          /* the newest key seen so far; -1: none */
	uint64_t top_seq; /* the seq of the head that first used it */
};

static void
check_head_key(struct hl_verify_result *res, struct head_order *o, const struct hl_keyring *ring,
               int idx, uint64_t seq, struct where w)
{
	if (ring->k[idx].since_seq > seq) {
		failure(res, w,
		        "signed with a key (key %d of %zu) announced only at seq %llu, after this "
		        "head",
		        idx + 1, ring->n, (unsigned long long)ring->k[idx].since_seq);
		res->heads_bad++;
	} else if (idx < o->top) {
		failure(res, w,
		        "signed with a former key (key %d of %zu) after a head signed with a newer "
		        "one (seq %llu): an old key used after the switch",
		        idx + 1, ring->n, (unsigned long long)o->top_seq);
		res->heads_bad++;
	} else if (idx > o->top) {
		o->top = idx;
		o->top_seq = seq;
	}
}

/*
 * A KEY event (not refused) of the chain whose sender has ring: its
 * statement parses, is signed by the old key it names, that old key is
 * one of the sender's, and the new key is the next one in the ring,
 * introduced at this very seq; or, when the ring lacks it, the rotation
 * is still under way (the old key is the current one). confirmed marks
 * the ring's keys so introduced.
 */
static void
check_rotation(struct hl_verify_result *res, const struct hl_keyring *ring, bool *confirmed,
               const struct hl_event *ev, struct where w)
{
	struct hl_rotation r;
	int io, in;

	res->rotations++;
	if (hl_rotation_decode(ev->body, ev->body_len, &r) < 0) {
		failure(res, w, "the key rotation statement does not parse");
	} else if (hl_rotation_verify(&r) < 0) {
		failure(res, w, "the key rotation statement's signature does not verify");
	} else if ((io = ring_index(ring, r.old_ed25519)) < 0) {
		failure(res, w, "the key rotation replaces a key that is not one of the sender's");
	} else if ((in = ring_index(ring, r.new_ed25519)) >= 0) {
		if (in == io + 1 && ring->k[in].since_seq == ev->seq) {
			confirmed[in] = true;
			return;
		}
		failure(res, w,
		        "the key rotation does not match the key history (its new key is key %d "
		        "of %zu, introduced at seq %llu)",
		        in + 1, ring->n, (unsigned long long)ring->k[in].since_seq);
	} else if ((size_t)io + 1 == ring->n) {
		return; /* under way: announced, not used yet */
	} else {
		failure(res, w, "the key rotation announces a key the key history does not hold");
	}
	res->rotations_bad++;
}

/* Keys said to come from a KEY event (since_seq > 0) that no such event introduced. */
static void
unconfirmed_keys(struct hl_verify_result *res, const struct hl_keyring *ring, const bool *confirmed,
                 bool in, const struct hl_transcript *t)
{
	for (size_t i = 0; i < ring->n; i++) {
		uint64_t seq = ring->k[i].since_seq;
		if (!seq || confirmed[i])
			continue;
		if (t) { /* a file: only where it holds (or should hold) that seq */
			const struct hl_verify_seqhash *v = in ? t->in : t->out;
			size_t n = in ? t->nin : t->nout;
			if (t->since_ns && (!n || seq < v[0].seq))
				continue;
		}
		res->rotations_bad++;
		failure(res, (struct where){"event", in ? "in" : "out", seq, NULL, 0},
		        "key %zu of the %s's keys is said to be introduced at seq %llu, but no key "
		        "rotation there introduced it",
		        i + 1, in ? "peer" : "station", (unsigned long long)seq);
	}
}

/* ---- the store ---- */

struct sctx {
	struct hl_store *st;
	int64_t peer_id;
	struct hl_verify_result *res;
	bool confirmed[2]
	              [HL_RING_MAX]; /* the rings' keys a KEY event introduced: ours, the peer's */
};

/* The hash of event (dir, seq); *found false when the chain does not hold it. */
static int
event_hash(struct sctx *v, int dir, uint64_t seq, uint8_t out[static HL_HASH_LEN], bool *found)
{
	sqlite3_stmt *q;
	int rc, s;

	*found = false;
	memset(out, 0, HL_HASH_LEN);
	if (seq == 0) {
		*found = true; /* seq 0: nothing yet, zeros */
		return HL_OK;
	}
	if (seq > INT64_MAX)
		return HL_OK;
	if ((rc = hl_store_prepare(
	         v->st, "SELECT hash FROM events WHERE peer_id = ? AND dir = ? AND seq = ?", &q)) <
	    0)
		return rc;
	sqlite3_bind_int64(q, 1, v->peer_id);
	sqlite3_bind_int(q, 2, dir);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)seq);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		*found = true;
		if (sqlite3_column_bytes(q, 0) == HL_HASH_LEN)
			memcpy(out, sqlite3_column_blob(q, 0), HL_HASH_LEN);
	}
	hl_store_finish(v->st, q);
	return s == SQLITE_ROW || s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

/* A blob column of exactly n bytes, or NULL. */
static const uint8_t *
col_fixed(sqlite3_stmt *q, int col, int n)
{
	const void *p = sqlite3_column_blob(q, col);

	return p && sqlite3_column_bytes(q, col) == n ? p : NULL;
}

/* A text column into out (cap bytes with the NUL); false when it does not fit or holds a NUL. */
static bool
col_text(sqlite3_stmt *q, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	int n = sqlite3_column_bytes(q, col);

	out[0] = '\0';
	if (!t || n < 0 || (size_t)n >= cap || memchr(t, '\0', (size_t)n))
		return false;
	memcpy(out, t, (size_t)n);
	out[n] = '\0';
	return true;
}

static bool
col_u8(sqlite3_stmt *q, int col, uint8_t *out)
{
	sqlite3_int64 x = sqlite3_column_int64(q, col);

	*out = (uint8_t)x;
	return x >= 0 && x <= 255;
}

#define EVENT_COLUMNS                                                                              \
	"SELECT seq, msg_id, hash, prev, kind, precedence, created_ns, deadline_ns, channel,"      \
	" media_type, operator, ref_seq, ref_hash, body, state, reason, proof FROM events"         \
	" WHERE peer_id = ? AND dir = ? ORDER BY seq"

/* One row of `events` into ev and c; NULL when well-formed, else what is wrong with it. */
static const char *
row_event(sqlite3_stmt *q, struct hl_event *ev, struct evcheck *c)
{
	const uint8_t *p;
	int blen;

	memset(ev, 0, sizeof *ev);
	ev->seq = (uint64_t)sqlite3_column_int64(q, 0);
	c->id = (const char *)sqlite3_column_text(q, 1);
	c->id_len = c->id ? (size_t)sqlite3_column_bytes(q, 1) : 0;
	if (!c->id)
		c->id = "";
	if (!(c->hash = col_fixed(q, 2, HL_HASH_LEN)))
		return "the hash column is not 32 bytes";
	if (!(p = col_fixed(q, 3, HL_HASH_LEN)))
		return "the prev column is not 32 bytes";
	memcpy(ev->prev, p, HL_HASH_LEN);
	if (!col_u8(q, 4, &ev->kind) || !col_u8(q, 5, &ev->precedence))
		return "kind or precedence is not a byte";
	ev->created_ns = (uint64_t)sqlite3_column_int64(q, 6);
	ev->deadline_ns = (uint64_t)sqlite3_column_int64(q, 7);
	if (!col_text(q, 8, ev->channel, sizeof ev->channel) ||
	    !col_text(q, 9, ev->media_type, sizeof ev->media_type) ||
	    !col_text(q, 10, ev->operator_name, sizeof ev->operator_name))
		return "channel, media type or operator is too long for an event";
	ev->ref_seq = (uint64_t)sqlite3_column_int64(q, 11);
	if (!(p = col_fixed(q, 12, HL_HASH_LEN)))
		return "the ref_hash column is not 32 bytes";
	memcpy(ev->ref_hash, p, HL_HASH_LEN);
	ev->body = sqlite3_column_blob(q, 13);
	blen = sqlite3_column_bytes(q, 13);
	ev->body_len = (uint32_t)(blen > 0 ? blen : 0);
	c->refused = sqlite3_column_int(q, 14) == HL_ST_REFUSED;
	c->reason = (const char *)sqlite3_column_text(q, 15);
	c->reason_len = c->reason ? (size_t)sqlite3_column_bytes(q, 15) : 0;
	if (!c->reason)
		c->reason = "";
	return NULL;
}

/* Our refused event (a row of chain out in state refused): the peer's signed refusal. */
static void
check_refusal_row(struct sctx *v, sqlite3_stmt *q, const struct hl_event *ev,
                  const struct evcheck *c)
{
	struct hl_verify_result *res = v->res;
	struct where w = {"refusal", "out", ev->seq, NULL, 0};
	char id[HL_MSGID_LEN + 1];
	const uint8_t *sig;

	hex12(c->hash, id);
	w.id = id;
	if (sqlite3_column_type(q, 16) == SQLITE_NULL) {
		res->refusals_unsigned++;
		warning(res, w, "refused, but the peer's signed refusal is not on record");
		return;
	}
	res->refusals++;
	if (!(sig = col_fixed(q, 16, HL_SIG_LEN))) {
		res->refusals_bad++;
		failure(res, w, "the refusal's signature is not 64 bytes");
	} else if (ring_signer(&res->peer_keys, &res->station_keys, refusal_sig,
	                       &(struct refusal_arg){ev->seq, c->hash, sig, c->reason,
	                                             c->reason_len}) < 0) {
		res->refusals_bad++;
		failure(res, w, "the peer's refusal signature does not verify (reason \"%.80s\")",
		        c->reason);
	}
}

/* Step 1 over one chain of the store, streamed in seq order. */
static int
scan_chain(struct sctx *v, int dir, uint64_t head_seq)
{
	struct hl_verify_result *res = v->res;
	struct chainpos pos = {0};
	uint64_t above = 0, first_above = 0;
	sqlite3_stmt *q;
	int rc, s;

	if ((rc = hl_store_prepare(v->st, EVENT_COLUMNS, &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, v->peer_id);
	sqlite3_bind_int(q, 2, dir);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		struct hl_event ev;
		struct evcheck c = {.in = dir == HL_DIR_IN, .kept = -1};
		const char *bad = row_event(q, &ev, &c);

		if (bad) {
			struct hl_verify_chain *ch = c.in ? &res->in : &res->out;
			failure(res, (struct where){"event", c.in ? "in" : "out", ev.seq, c.id, 0},
			        "%s", bad);
			ch->bad++;
			ch->events++;
			if (!pos.any || ev.seq > pos.last) {
				if (pos.any && ev.seq > pos.last + 1)
					gap(res, c.in, pos.last + 1, ev.seq - 1, head_seq, false,
					    0);
				else if (!pos.any && ev.seq > 1)
					gap(res, c.in, 1, ev.seq - 1, head_seq, false, 0);
				pos.any = true;
				pos.last = ev.seq;
				pos.linked = false;
			}
			continue;
		}
		if (!check_event(res, &pos, &ev, &c, 1, true, head_seq))
			continue;
		if (dir == HL_DIR_OUT && c.refused)
			check_refusal_row(v, q, &ev, &c);
		if (ev.kind == HL_EV_KEY && !c.refused)
			check_rotation(
			    res, dir == HL_DIR_IN ? &res->peer_keys : &res->station_keys,
			    v->confirmed[dir == HL_DIR_IN], &ev,
			    (struct where){"event", c.in ? "in" : "out", ev.seq, c.id, 0});
		if (dir == HL_DIR_IN && ev.seq > head_seq && !above++)
			first_above = ev.seq;
	}
	hl_store_finish(v->st, q);
	if (s != SQLITE_DONE)
		return HL_ERR_IO;
	if (dir == HL_DIR_IN) {
		if (head_seq > (pos.any ? pos.last : 0))
			gap(res, true, pos.any ? pos.last + 1 : 1, head_seq, head_seq, false, 0);
		unsigned_tail(res, above, first_above);
	}
	return HL_OK;
}

/* Step 2: the signed heads (the peer's of chain in; ours of chain out, if any are kept). */
static int
check_heads(struct sctx *v)
{
	struct hl_verify_result *res = v->res;
	struct head_order order[2] = {{-1, 0}, {-1, 0}};
	sqlite3_stmt *q;
	int rc = HL_OK, s;

	if ((rc = hl_store_prepare(v->st,
	                           "SELECT dir, seq, hash, sig FROM heads WHERE peer_id = ?"
	                           " ORDER BY dir DESC, seq",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, v->peer_id);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		bool in = sqlite3_column_int(q, 0) == HL_DIR_IN, found;
		uint64_t seq = (uint64_t)sqlite3_column_int64(q, 1);
		const uint8_t *hash = col_fixed(q, 2, HL_HASH_LEN),
		              *sig = col_fixed(q, 3, HL_SIG_LEN);
		uint8_t held[HL_HASH_LEN];
		char id[HL_MSGID_LEN + 1] = "", a[2 * HL_HASH_LEN + 1], b[2 * HL_HASH_LEN + 1];
		struct where w = {"head", in ? "in" : "out", seq, id, 0};

		if (in)
			res->heads++;
		else
			res->own_heads++;
		if (!hash || !sig) {
			res->heads_bad++;
			failure(res, w, "the head's hash or signature has the wrong length");
			continue;
		}
		hex12(hash, id);
		/* The chain's sender signs its head: the peer for chain in, we for chain out. */
		const struct hl_keyring *from = in ? &res->peer_keys : &res->station_keys;
		int idx = ring_signer(from, in ? &res->station_keys : &res->peer_keys, head_sig,
		                      &(struct head_arg){seq, hash, sig});
		if (idx < 0) {
			res->heads_bad++;
			failure(res, w, "the %s signature over the head does not verify",
			        in ? "peer's" : "station's");
			continue;
		}
		check_head_key(res, &order[in], from, idx, seq, w);
		if ((rc = event_hash(v, in ? HL_DIR_IN : HL_DIR_OUT, seq, held, &found)) < 0)
			break;
		if (found && sodium_memcmp(held, hash, HL_HASH_LEN) != 0) {
			res->heads_bad++;
			hex32(hash, a);
			hex32(held, b);
			failure(res, w, "the signed head %s is not the hash of the event held (%s)",
			        a, b);
		} else if (!found && !in) {
			res->heads_bad++;
			failure(res, w,
			        "a head of chain out at seq %llu, which the chain does not hold",
			        (unsigned long long)seq);
		}
		/* chain in: an event the head covers but the chain lacks was named by the scan */
	}
	hl_store_finish(v->st, q);
	if (rc == HL_OK && s != SQLITE_DONE)
		rc = HL_ERR_IO;
	return rc;
}

/* Step 3, receipts: each one's signature and each entry against our chain. */
static int
check_receipts(struct sctx *v)
{
	struct hl_verify_result *res = v->res;
	sqlite3_stmt *q;
	int rc = HL_OK, s;

	if ((rc = hl_store_prepare(v->st,
	                           "SELECT entries, sig FROM receipts WHERE peer_id = ?"
	                           " ORDER BY rowid",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, v->peer_id);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		const uint8_t *entries = sqlite3_column_blob(q, 0);
		int len = sqlite3_column_bytes(q, 0);
		const uint8_t *sig = col_fixed(q, 1, HL_SIG_LEN);
		size_t n = len > 0 ? (size_t)len / 40 : 0;
		uint64_t first = n && entries ? hl_get_u64(entries) : 0; /* NULL on OOM */
		struct where w = {"receipt", "out", first, NULL, 0};
		bool bad = false;

		res->receipts++;
		if (!entries || len <= 0 || len % 40 != 0 || !sig) {
			res->receipts_bad++;
			failure(res, w, "the receipt's entries or signature have the wrong length");
			continue;
		}
		if (ring_signer(&res->peer_keys, &res->station_keys, receipt_sig,
		                &(struct receipt_arg){entries, sig, n}) < 0) {
			res->receipts_bad++;
			failure(
			    res, w,
			    "the peer's signature over the receipt (%zu entr%s from seq %llu) does "
			    "not verify",
			    n, n == 1 ? "y" : "ies", (unsigned long long)first);
			continue;
		}
		res->receipt_entries += n;
		for (size_t i = 0; i < n; i++) {
			struct hl_receipt_entry e;
			uint8_t held[HL_HASH_LEN];
			char id[HL_MSGID_LEN + 1];
			bool found;

			hl_receipt_entry_get(entries, i, &e);
			if ((rc = event_hash(v, HL_DIR_OUT, e.seq, held, &found)) < 0)
				goto out;
			hex12(e.hash, id);
			w.seq = e.seq;
			w.id = id;
			if (!found || e.seq == 0) {
				failure(
				    res, w,
				    "the peer receipted seq %llu, which chain out does not hold",
				    (unsigned long long)e.seq);
				bad = true;
			} else if (sodium_memcmp(held, e.hash, HL_HASH_LEN) != 0) {
				char a[2 * HL_HASH_LEN + 1];
				hex32(held, a);
				failure(res, w, "the receipted hash is not the event's (%s)", a);
				bad = true;
			}
		}
		res->receipts_bad += bad;
	}
	if (s != SQLITE_DONE)
		rc = HL_ERR_IO;
out:
	hl_store_finish(v->st, q);
	return rc;
}

/*
 * Step 4 for one checkpoint, from S's side (ours for the store, the
 * exporter's for a file): S signed (at, s_seq, s_hash, p_seq, p_hash); P,
 * if it answered, (at, p_seq, pp_hash, s_seq, ps_hash). What S holds of
 * both chains is looked up by the caller: held_s / held_p are NULL when
 * not held. Returns whether the checkpoint is agreed.
 */
struct cpcheck {
	uint64_t at_ns, s_seq, p_seq;
	const uint8_t *s_hash, *p_hash, *s_sig;   /* S's statement */
	const uint8_t *ps_hash, *pp_hash, *p_sig; /* P's, NULL while it has not answered */
	int status;                               /* 0 agreed, 1 mismatch, 2 waiting, else bad */
	const uint8_t *held_s, *held_p;           /* the events S holds at s_seq / p_seq */
	bool missing_s;                           /* S's chain should hold s_seq but does not */
	uint64_t line;
};

static bool
check_cp(struct hl_verify_result *res, const struct cpcheck *k)
{
	static const char *const names[] = {"agreed", "mismatch", "waiting"};
	struct where w = {"checkpoint", NULL, 0, NULL, k->line};
	char at[32], a[2 * HL_HASH_LEN + 1];
	bool answered = k->p_sig != NULL, same, bad = false;

	hl_iso_time(k->at_ns, at);
	res->checkpoints++;
	if (ring_signer(&res->station_keys, &res->peer_keys, cp_sig,
	                &(struct cp_arg){k->at_ns, k->s_seq, k->p_seq, k->s_hash, k->p_hash,
	                                 k->s_sig}) < 0) {
		failure(res, w, "checkpoint at %s: the station's own signature does not verify",
		        at);
		bad = true;
	}
	if (answered && ring_signer(&res->peer_keys, &res->station_keys, cp_sig,
	                            &(struct cp_arg){k->at_ns, k->p_seq, k->s_seq, k->pp_hash,
	                                             k->ps_hash, k->p_sig}) < 0) {
		failure(res, w, "checkpoint at %s: the peer's signature does not verify", at);
		bad = true;
	}
	same = answered && sodium_memcmp(k->s_hash, k->ps_hash, HL_HASH_LEN) == 0 &&
	       sodium_memcmp(k->p_hash, k->pp_hash, HL_HASH_LEN) == 0;
	if (k->status < 0 || k->status > 2 || (k->status == 2) == answered ||
	    (answered && (k->status == 0) != same)) {
		failure(res, w, "checkpoint at %s: status %s does not match its statements", at,
		        k->status >= 0 && k->status <= 2 ? names[k->status] : "unknown");
		bad = true;
	} else if (k->status == 1) {
		lacking(res, w,
		        "checkpoint at %s: the stations disagree (mismatch) about chain %s: an "
		        "alarm, compare both records",
		        at, sodium_memcmp(k->s_hash, k->ps_hash, HL_HASH_LEN) != 0 ? "out" : "in");
		bad = true;
	}
	/* The station's statement must be true of what it holds, whatever the status. */
	if (k->held_s && sodium_memcmp(k->held_s, k->s_hash, HL_HASH_LEN) != 0) {
		hex32(k->s_hash, a);
		w.chain = "out";
		w.seq = k->s_seq;
		failure(res, w,
		        "checkpoint at %s says seq %llu of chain out is %s: the chain holds "
		        "another event",
		        at, (unsigned long long)k->s_seq, a);
		bad = true;
	} else if (k->missing_s) {
		w.chain = "out";
		w.seq = k->s_seq;
		failure(res, w, "checkpoint at %s names seq %llu of chain out, which is not held",
		        at, (unsigned long long)k->s_seq);
		bad = true;
	}
	if (k->held_p && sodium_memcmp(k->held_p, k->p_hash, HL_HASH_LEN) != 0) {
		hex32(k->p_hash, a);
		w.chain = "in";
		w.seq = k->p_seq;
		failure(res, w,
		        "checkpoint at %s says seq %llu of chain in is %s: the chain holds "
		        "another event",
		        at, (unsigned long long)k->p_seq, a);
		bad = true;
	}
	res->checkpoints_bad += bad;
	if (k->status == 2)
		res->cp_waiting++;
	if (k->status == 1)
		res->cp_mismatch++;
	if (!bad && k->status == 0) {
		agreed_cp(res, k->at_ns, k->s_seq, k->p_seq);
		return true;
	}
	return false;
}

static int
check_checkpoints(struct sctx *v)
{
	sqlite3_stmt *q;
	int rc = HL_OK, s;

	if ((rc =
	         hl_store_prepare(v->st,
	                          "SELECT at_ns, our_seq, their_seq, our_hash, their_hash, our_sig,"
	                          " peer_our_hash, peer_their_hash, peer_sig, status"
	                          " FROM checkpoints WHERE peer_id = ? ORDER BY at_ns, id",
	                          &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, v->peer_id);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		struct cpcheck k = {
		    .at_ns = (uint64_t)sqlite3_column_int64(q, 0),
		    .s_seq = (uint64_t)sqlite3_column_int64(q, 1),
		    .p_seq = (uint64_t)sqlite3_column_int64(q, 2),
		    .s_hash = col_fixed(q, 3, HL_HASH_LEN),
		    .p_hash = col_fixed(q, 4, HL_HASH_LEN),
		    .s_sig = col_fixed(q, 5, HL_SIG_LEN),
		    .ps_hash = col_fixed(q, 6, HL_HASH_LEN),
		    .pp_hash = col_fixed(q, 7, HL_HASH_LEN),
		    .p_sig = col_fixed(q, 8, HL_SIG_LEN),
		    .status = sqlite3_column_int(q, 9),
		};
		uint8_t hs[HL_HASH_LEN], hp[HL_HASH_LEN];
		bool fs, fp;

		if (!k.s_hash || !k.p_hash || !k.s_sig ||
		    (sqlite3_column_type(q, 8) != SQLITE_NULL &&
		     (!k.p_sig || !k.ps_hash || !k.pp_hash))) {
			char at[32];
			hl_iso_time(k.at_ns, at);
			v->res->checkpoints++;
			v->res->checkpoints_bad++;
			failure(v->res, (struct where){"checkpoint", NULL, 0, NULL, 0},
			        "checkpoint at %s: a hash or signature has the wrong length", at);
			continue;
		}
		if (!k.p_sig)
			k.ps_hash = k.pp_hash = NULL;
		if ((rc = event_hash(v, HL_DIR_OUT, k.s_seq, hs, &fs)) < 0 ||
		    (rc = event_hash(v, HL_DIR_IN, k.p_seq, hp, &fp)) < 0)
			break;
		k.held_s = fs ? hs : NULL;
		k.missing_s = !fs;
		k.held_p = fp ? hp : NULL;
		(void)check_cp(v->res, &k);
	}
	hl_store_finish(v->st, q);
	if (rc == HL_OK && s != SQLITE_DONE)
		rc = HL_ERR_IO;
	return rc;
}

int
hl_verify_store(struct hl_store *st, const struct hl_peer_rec *peer, const uint8_t ours[static 32],
                struct hl_verify_result *res)
{
	struct sctx v = {.st = st, .peer_id = peer->id, .res = res};
	sqlite3_stmt *q;
	int rc, s;

	memset(res, 0, sizeof *res);
	snprintf(res->peer, sizeof res->peer, "%s", peer->name);
	memcpy(res->station_pk, ours, 32);
	memcpy(res->peer_pk, peer->key.ed25519, 32);
	/* Read everything in one read transaction: one consistent snapshot of the record. */
	if ((rc = hl_store_exec(st, "BEGIN")) < 0)
		return rc;
	if ((rc = hl_store_key_rings(st, peer->id, ours, &res->station_keys, &res->peer_keys)) < 0)
		goto out;
	if ((rc = hl_store_prepare(st,
	                           "SELECT coalesce(max(seq), 0) FROM heads WHERE peer_id = ?"
	                           " AND dir = 1",
	                           &q)) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, peer->id);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW)
		res->head_seq = (uint64_t)sqlite3_column_int64(q, 0);
	hl_store_finish(st, q);
	rc = HL_ERR_IO;
	if (s != SQLITE_ROW)
		goto out;
	if ((rc = scan_chain(&v, HL_DIR_OUT, UINT64_MAX)) < 0 ||
	    (rc = scan_chain(&v, HL_DIR_IN, res->head_seq)) < 0 || (rc = check_heads(&v)) < 0 ||
	    (rc = check_receipts(&v)) < 0)
		goto out;
	unconfirmed_keys(res, &res->station_keys, v.confirmed[0], false, NULL);
	unconfirmed_keys(res, &res->peer_keys, v.confirmed[1], true, NULL);
	rc = check_checkpoints(&v);
out:
	(void)hl_store_exec(st, "COMMIT");
	return rc;
}

/* ---- a transcript file ---- */

enum section {
	SEC_HEADER,
	SEC_OUT,
	SEC_IN,
	SEC_HEADS,
	SEC_RECEIPTS,
	SEC_REFUSALS,
	SEC_CHECKPOINTS,
	SEC_END,
	SEC_AFTER
};
static const char *const section_names[] = {"header",     "event (out)", "event (in)",
                                            "head",       "receipt",     "refusal",
                                            "checkpoint", "end",         "end"};

struct fctx {
	struct hl_transcript *t;
	struct hl_verify_result *res;
	uint64_t line;
	const char *type; /* of the line being read */
	int section;
	bool stop;              /* a malformed line: reading stops */
	struct chainpos pos[2]; /* out, in */
	uint64_t above, first_above;
	bool confirmed[2][HL_RING_MAX]; /* as in struct sctx */
	struct head_order order;        /* of the peer's heads */
	uint64_t count[6]; /* events out, events in, heads, receipts, refusals, checkpoints */
};

/* A malformed line: say what, stop reading. */
static void HL_PRINTF(2, 3) bad_line(struct fctx *fc, const char *fmt, ...)
{
	va_list ap;
	char what[HL_VERIFY_WHAT_MAX];

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	failure(fc->res, (struct where){fc->type, NULL, 0, NULL, fc->line}, "%s", what);
	fc->stop = true;
}

static json_t *
field(struct fctx *fc, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		bad_line(fc, "field '%s' is missing", key);
	return v;
}

static bool
u64_field(struct fctx *fc, json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = field(fc, o, key);

	*out = 0;
	if (!v)
		return false;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		bad_line(fc, "field '%s' must be an integer from 0 to %llu", key,
		         (unsigned long long)max);
		return false;
	}
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* Lowercase hex of exactly n bytes. */
static bool
hex_value(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(d << 4);
		else
			out[i / 2] = (uint8_t)(out[i / 2] | d);
	}
	return true;
}

static bool
hex_json(json_t *v, uint8_t *out, size_t n)
{
	return json_is_string(v) && hex_value(json_string_value(v), json_string_length(v), out, n);
}

static bool
hex_field(struct fctx *fc, json_t *o, const char *key, uint8_t *out, size_t n)
{
	json_t *v = field(fc, o, key);

	if (!v)
		return false;
	if (!hex_json(v, out, n)) {
		bad_line(fc, "field '%s' must be %zu lowercase hex characters", key, 2 * n);
		return false;
	}
	return true;
}

/* A string field (nullable: null gives *s NULL). */
static bool
str_field(struct fctx *fc, json_t *o, const char *key, bool nullable, const char **s, size_t *len)
{
	json_t *v = field(fc, o, key);

	*s = NULL;
	*len = 0;
	if (!v)
		return false;
	if (nullable && json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		bad_line(fc, "field '%s' must be a string%s", key, nullable ? " or null" : "");
		return false;
	}
	*s = json_string_value(v);
	*len = json_string_length(v);
	return true;
}

/* A string field copied into out (cap with the NUL). */
static bool
str_copy(struct fctx *fc, json_t *o, const char *key, char *out, size_t cap)
{
	const char *s;
	size_t len;

	out[0] = '\0';
	if (!str_field(fc, o, key, false, &s, &len))
		return false;
	if (len >= cap || memchr(s, '\0', len)) {
		bad_line(fc, "field '%s' is longer than %zu bytes", key, cap - 1);
		return false;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/* The chain field: "out" or "in" (only is given: that one only). */
static int
chain_field(struct fctx *fc, json_t *o, int only)
{
	const char *s;
	size_t len;

	if (!str_field(fc, o, "chain", false, &s, &len))
		return -1;
	if (strcmp(s, "out") == 0 && only != HL_DIR_IN)
		return HL_DIR_OUT;
	if (strcmp(s, "in") == 0 && only != HL_DIR_OUT)
		return HL_DIR_IN;
	bad_line(fc, "field 'chain' must be %s",
	         only == HL_DIR_IN    ? "\"in\""
	         : only == HL_DIR_OUT ? "\"out\""
	                              : "\"out\" or \"in\"");
	return -1;
}

/* Move to section sec; a line of an earlier section breaks the export's order. */
static bool
enter(struct fctx *fc, int sec)
{
	if (sec < fc->section) {
		bad_line(fc, "a %s line after the %s lines: the export's order is broken",
		         section_names[sec], section_names[fc->section]);
		return false;
	}
	fc->section = sec;
	return true;
}

static int
push(struct hl_verify_seqhash **v, size_t *n, size_t *cap, uint64_t seq, const uint8_t *hash)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct hl_verify_seqhash *nv = realloc(*v, ncap * sizeof *nv);
		if (!nv)
			return HL_ERR_NOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[*n].seq = seq;
	memcpy((*v)[*n].hash, hash, HL_HASH_LEN);
	(*n)++;
	return HL_OK;
}

/* The file's event at seq in chain dir, or NULL (binary search: the arrays are in seq order). */
static const struct hl_verify_seqhash *
held(const struct hl_transcript *t, int dir, uint64_t seq)
{
	const struct hl_verify_seqhash *v = dir == HL_DIR_OUT ? t->out : t->in;
	size_t lo = 0, hi = dir == HL_DIR_OUT ? t->nout : t->nin;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < (dir == HL_DIR_OUT ? t->nout : t->nin) && v[lo].seq == seq ? &v[lo] : NULL;
}

/*
 * Should the file hold event seq of chain dir? Yes without --since (chains
 * start at 1); with it, from its first event on.
 */
static bool
expected(const struct hl_transcript *t, int dir, uint64_t seq)
{
	const struct hl_verify_seqhash *v = dir == HL_DIR_OUT ? t->out : t->in;
	size_t n = dir == HL_DIR_OUT ? t->nout : t->nin;

	return !t->since_ns || (n && seq >= v[0].seq);
}

/*
 * A key history of the header ("station_keys", "peer_keys"): 1 to
 * HL_RING_MAX objects {"ed25519": hex, "since_seq": N}, oldest first, the
 * last one the header's key (current). An export made before key
 * histories has none: the one key then.
 */
static bool
ring_field(struct fctx *fc, json_t *o, const char *key, const uint8_t current[static 32],
           struct hl_keyring *ring)
{
	json_t *arr = json_object_get(o, key), *e;
	size_t i;

	ring_one(ring, current);
	if (!arr)
		return true;
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > HL_RING_MAX) {
		bad_line(fc, "field '%s' must be an array of 1 to %d keys", key, HL_RING_MAX);
		return false;
	}
	memset(ring, 0, sizeof *ring);
	json_array_foreach(arr, i, e)
	{
		json_t *seq = json_object_get(e, "since_seq");
		if (!json_is_object(e) ||
		    !hex_json(json_object_get(e, "ed25519"), ring->k[i].ed25519, 32) ||
		    !json_is_integer(seq) || json_integer_value(seq) < 0) {
			bad_line(fc,
			         "entry %zu of '%s' must be {\"ed25519\": hex, \"since_seq\": n}",
			         i + 1, key);
			return false;
		}
		ring->k[i].since_seq = (uint64_t)json_integer_value(seq);
		if (ring_index(ring, ring->k[i].ed25519) >= 0) {
			bad_line(fc, "entry %zu of '%s' repeats a key", i + 1, key);
			return false;
		}
		ring->n = i + 1;
	}
	if (sodium_memcmp(ring->k[ring->n - 1].ed25519, current, 32) != 0) {
		bad_line(fc, "the last key of '%s' is not the header's key", key);
		return false;
	}
	return true;
}

static int
on_header(struct fctx *fc, json_t *o)
{
	struct hl_transcript *t = fc->t;
	const char *fmt;
	size_t len;

	if (fc->section != SEC_HEADER || t->header) {
		bad_line(fc, "a second header");
		return HL_OK;
	}
	if (!str_field(fc, o, "format", false, &fmt, &len))
		return HL_OK;
	if (strcmp(fmt, "hotline-transcript-v1") != 0) {
		bad_line(fc, "format is not hotline-transcript-v1");
		return HL_OK;
	}
	if (!str_copy(fc, o, "station", t->station, sizeof t->station) ||
	    !str_copy(fc, o, "peer", t->peer, sizeof t->peer) ||
	    !hex_field(fc, o, "station_ed25519", fc->res->station_pk, 32) ||
	    !hex_field(fc, o, "peer_ed25519", fc->res->peer_pk, 32) ||
	    !str_copy(fc, o, "exported_at", t->exported_at, sizeof t->exported_at) ||
	    !u64_field(fc, o, "since_ns", INT64_MAX, &t->since_ns))
		return HL_OK;
	if (!hl_name_valid(t->station) || !hl_name_valid(t->peer)) {
		t->station[0] = t->peer[0] = '\0';
		bad_line(fc, "station and peer must be station names (1-32 of a-z 0-9 _ -)");
		return HL_OK;
	}
	for (char *p = t->exported_at; *p; p++)
		if (*p < 0x20 || *p >= 0x7f) {
			t->exported_at[0] = '\0';
			bad_line(fc, "exported_at must be printable ASCII");
			return HL_OK;
		}
	if (sodium_memcmp(fc->res->station_pk, fc->res->peer_pk, 32) == 0) {
		bad_line(fc, "the station's and the peer's keys are the same");
		return HL_OK;
	}
	if (!ring_field(fc, o, "station_keys", fc->res->station_pk, &fc->res->station_keys) ||
	    !ring_field(fc, o, "peer_keys", fc->res->peer_pk, &fc->res->peer_keys))
		return HL_OK;
	snprintf(fc->res->peer, sizeof fc->res->peer, "%s", t->peer);
	t->header = true;
	fc->section = SEC_HEADER + 1;
	return HL_OK;
}

static int
on_event(struct fctx *fc, json_t *o)
{
	struct hl_transcript *t = fc->t;
	struct hl_event ev = {0};
	struct evcheck c = {.line = fc->line, .kept = -1};
	uint8_t hash[HL_HASH_LEN], *body = NULL;
	const char *b64, *state, *s;
	json_t *kv;
	size_t b64_len, len, body_len = 0;
	uint64_t x;
	int dir, rc = HL_OK;

	if ((dir = chain_field(fc, o, -1)) < 0 || !enter(fc, dir == HL_DIR_OUT ? SEC_OUT : SEC_IN))
		return HL_OK;
	c.in = dir == HL_DIR_IN;
	if (!u64_field(fc, o, "seq", INT64_MAX, &ev.seq) ||
	    !hex_field(fc, o, "prev", ev.prev, HL_HASH_LEN) ||
	    !hex_field(fc, o, "hash", hash, HL_HASH_LEN) ||
	    !str_field(fc, o, "id", false, &c.id, &c.id_len) || !u64_field(fc, o, "kind", 255, &x))
		return HL_OK;
	ev.kind = (uint8_t)x;
	if (!u64_field(fc, o, "precedence", 255, &x))
		return HL_OK;
	ev.precedence = (uint8_t)x;
	if (!u64_field(fc, o, "created_ns", INT64_MAX, &ev.created_ns) ||
	    !u64_field(fc, o, "deadline_ns", INT64_MAX, &ev.deadline_ns) ||
	    !str_copy(fc, o, "channel", ev.channel, sizeof ev.channel) ||
	    !str_copy(fc, o, "media_type", ev.media_type, sizeof ev.media_type) ||
	    !str_copy(fc, o, "operator", ev.operator_name, sizeof ev.operator_name) ||
	    !u64_field(fc, o, "ref_seq", INT64_MAX, &ev.ref_seq) ||
	    !hex_field(fc, o, "ref_hash", ev.ref_hash, HL_HASH_LEN) ||
	    !str_field(fc, o, "body_base64", false, &b64, &b64_len) ||
	    !str_field(fc, o, "state", false, &state, &len) ||
	    !str_field(fc, o, "acknowledged_by", true, &s, &len) ||
	    !str_field(fc, o, "refused_reason", true, &c.reason, &c.reason_len) ||
	    !u64_field(fc, o, "received_ns", INT64_MAX, &x) ||
	    !u64_field(fc, o, "sent_ns", INT64_MAX, &x) ||
	    !u64_field(fc, o, "delivered_ns", INT64_MAX, &x) ||
	    !u64_field(fc, o, "acked_ns", INT64_MAX, &x))
		return HL_OK;
	if (ev.seq == 0) {
		bad_line(fc, "seq 0: chains start at 1");
		return HL_OK;
	}
	/* body_kept (false: a body refused as too large, never stored); older exports lack it */
	if ((kv = json_object_get(o, "body_kept"))) {
		if (!json_is_boolean(kv)) {
			bad_line(fc, "field 'body_kept' must be true or false");
			return HL_OK;
		}
		c.kept = json_is_true(kv);
	}
	if (b64_len) {
		size_t cap = b64_len / 4 * 3 + 3;
		if (!(body = malloc(cap)))
			return HL_ERR_NOMEM;
		if (sodium_base642bin(body, cap, b64, b64_len, NULL, &body_len, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    body_len > UINT32_MAX) {
			free(body);
			bad_line(fc, "field 'body_base64' is not standard base64 with padding");
			return HL_OK;
		}
	}
	ev.body = body;
	ev.body_len = (uint32_t)body_len;
	c.hash = hash;
	c.refused = strcmp(state, "refused") == 0;
	if (!c.reason)
		c.reason = "";
	/* Chain in's gaps are classified at the end, once the heads are read. */
	if (check_event(fc->res, &fc->pos[dir], &ev, &c, t->since_ns ? 0 : 1, !c.in, UINT64_MAX)) {
		rc = dir == HL_DIR_OUT ? push(&t->out, &t->nout, &t->capout, ev.seq, hash)
		                       : push(&t->in, &t->nin, &t->capin, ev.seq, hash);
		if (ev.kind == HL_EV_KEY && !c.refused) {
			char id[HL_MSGID_LEN + 1];
			hex12(hash, id);
			check_rotation(
			    fc->res, c.in ? &fc->res->peer_keys : &fc->res->station_keys,
			    fc->confirmed[dir], &ev,
			    (struct where){"event", c.in ? "in" : "out", ev.seq, id, fc->line});
		}
	}
	fc->count[dir]++;
	free(body);
	return rc;
}

static int
on_head(struct fctx *fc, json_t *o)
{
	struct hl_verify_result *res = fc->res;
	const struct hl_verify_seqhash *e;
	uint8_t hash[HL_HASH_LEN], sig[HL_SIG_LEN];
	char id[HL_MSGID_LEN + 1], a[2 * HL_HASH_LEN + 1], b[2 * HL_HASH_LEN + 1];
	uint64_t seq, at;

	if (!enter(fc, SEC_HEADS) || chain_field(fc, o, HL_DIR_IN) < 0 ||
	    !u64_field(fc, o, "seq", INT64_MAX, &seq) ||
	    !hex_field(fc, o, "hash", hash, HL_HASH_LEN) ||
	    !hex_field(fc, o, "sig", sig, HL_SIG_LEN) || !u64_field(fc, o, "at_ns", INT64_MAX, &at))
		return HL_OK;
	fc->count[2]++;
	res->heads++;
	hex12(hash, id);
	struct where w = {"head", "in", seq, id, fc->line};
	int idx = ring_signer(&res->peer_keys, &res->station_keys, head_sig,
	                      &(struct head_arg){seq, hash, sig});
	if (idx < 0) {
		res->heads_bad++;
		failure(res, w, "the peer's signature over the head does not verify");
		return HL_OK;
	}
	check_head_key(res, &fc->order, &res->peer_keys, idx, seq, w);
	if (seq > res->head_seq)
		res->head_seq = seq;
	if ((e = held(fc->t, HL_DIR_IN, seq)) && sodium_memcmp(e->hash, hash, HL_HASH_LEN) != 0) {
		res->heads_bad++;
		hex32(hash, a);
		hex32(e->hash, b);
		failure(res, w, "the signed head %s is not the hash of the event held (%s)", a, b);
	}
	return HL_OK;
}

static int
on_receipt(struct fctx *fc, json_t *o)
{
	struct hl_verify_result *res = fc->res;
	uint8_t sig[HL_SIG_LEN], *entries;
	json_t *arr, *e;
	size_t n, i;
	uint64_t at;
	bool bad = false;

	if (!enter(fc, SEC_RECEIPTS) || chain_field(fc, o, HL_DIR_OUT) < 0 ||
	    !(arr = field(fc, o, "entries")) || !hex_field(fc, o, "sig", sig, HL_SIG_LEN) ||
	    !u64_field(fc, o, "at_ns", INT64_MAX, &at))
		return HL_OK;
	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0 || n > HL_RECEIPT_MAX) {
		bad_line(fc, "field 'entries' must be an array of 1 to %d [seq, hash] pairs",
		         HL_RECEIPT_MAX);
		return HL_OK;
	}
	if (!(entries = malloc(n * 40)))
		return HL_ERR_NOMEM;
	json_array_foreach(arr, i, e)
	{
		json_t *s = json_array_get(e, 0);
		if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_integer(s) ||
		    json_integer_value(s) < 0 ||
		    !hex_json(json_array_get(e, 1), entries + i * 40 + 8, 32)) {
			free(entries);
			bad_line(fc, "entry %zu must be [seq, \"64 hex characters\"]", i + 1);
			return HL_OK;
		}
		hl_put_u64(entries + i * 40, (uint64_t)json_integer_value(s));
	}
	fc->count[3]++;
	res->receipts++;
	struct where w = {"receipt", "out", hl_get_u64(entries), NULL, fc->line};
	if (ring_signer(&res->peer_keys, &res->station_keys, receipt_sig,
	                &(struct receipt_arg){entries, sig, n}) < 0) {
		res->receipts_bad++;
		failure(res, w,
		        "the peer's signature over the receipt (%zu entr%s from seq %llu) does not "
		        "verify",
		        n, n == 1 ? "y" : "ies", (unsigned long long)w.seq);
		free(entries);
		return HL_OK;
	}
	res->receipt_entries += n;
	for (i = 0; i < n; i++) {
		struct hl_receipt_entry r;
		const struct hl_verify_seqhash *ev;
		char id[HL_MSGID_LEN + 1], a[2 * HL_HASH_LEN + 1];

		hl_receipt_entry_get(entries, i, &r);
		hex12(r.hash, id);
		w.seq = r.seq;
		w.id = id;
		if ((ev = held(fc->t, HL_DIR_OUT, r.seq))) {
			if (sodium_memcmp(ev->hash, r.hash, HL_HASH_LEN) != 0) {
				hex32(ev->hash, a);
				failure(res, w, "the receipted hash is not the event's (%s)", a);
				bad = true;
			}
		} else if (expected(fc->t, HL_DIR_OUT, r.seq)) {
			failure(res, w,
			        "the peer receipted seq %llu, which chain out does not hold",
			        (unsigned long long)r.seq);
			bad = true;
		}
	}
	res->receipts_bad += bad;
	free(entries);
	return HL_OK;
}

static int
on_refusal(struct fctx *fc, json_t *o)
{
	struct hl_verify_result *res = fc->res;
	const struct hl_verify_seqhash *ev;
	uint8_t hash[HL_HASH_LEN], sig[HL_SIG_LEN];
	char id[HL_MSGID_LEN + 1], a[2 * HL_HASH_LEN + 1];
	const char *reason;
	size_t len;
	uint64_t seq;

	if (!enter(fc, SEC_REFUSALS) || chain_field(fc, o, HL_DIR_OUT) < 0 ||
	    !u64_field(fc, o, "seq", INT64_MAX, &seq) ||
	    !hex_field(fc, o, "hash", hash, HL_HASH_LEN) ||
	    !str_field(fc, o, "reason", false, &reason, &len) ||
	    !hex_field(fc, o, "sig", sig, HL_SIG_LEN))
		return HL_OK;
	if (len > UINT16_MAX) {
		bad_line(fc, "field 'reason' is longer than 65535 bytes");
		return HL_OK;
	}
	fc->count[4]++;
	res->refusals++;
	hex12(hash, id);
	struct where w = {"refusal", "out", seq, id, fc->line};
	if (ring_signer(&res->peer_keys, &res->station_keys, refusal_sig,
	                &(struct refusal_arg){seq, hash, sig, reason, len}) < 0) {
		res->refusals_bad++;
		failure(res, w, "the peer's refusal signature does not verify");
	} else if ((ev = held(fc->t, HL_DIR_OUT, seq))) {
		if (sodium_memcmp(ev->hash, hash, HL_HASH_LEN) != 0) {
			res->refusals_bad++;
			hex32(ev->hash, a);
			failure(res, w, "the refused hash is not the event's (%s)", a);
		}
	} else if (expected(fc->t, HL_DIR_OUT, seq)) {
		res->refusals_bad++;
		failure(res, w, "the peer refused seq %llu, which chain out does not hold",
		        (unsigned long long)seq);
	}
	return HL_OK;
}

/* A statement object: the two hashes under their names, and the signature. */
static bool
statement_field(struct fctx *fc, json_t *o, const char *key, bool nullable, const char *k1,
                uint8_t h1[static HL_HASH_LEN], const char *k2, uint8_t h2[static HL_HASH_LEN],
                uint8_t sig[static HL_SIG_LEN], bool *present)
{
	json_t *v = field(fc, o, key);

	*present = false;
	if (!v)
		return false;
	if (nullable && json_is_null(v))
		return true;
	if (!json_is_object(v)) {
		bad_line(fc, "field '%s' must be an object%s", key, nullable ? " or null" : "");
		return false;
	}
	if (!hex_field(fc, v, k1, h1, HL_HASH_LEN) || !hex_field(fc, v, k2, h2, HL_HASH_LEN) ||
	    !hex_field(fc, v, "sig", sig, HL_SIG_LEN))
		return false;
	*present = true;
	return true;
}

static int
on_checkpoint(struct fctx *fc, json_t *o)
{
	static const char *const statuses[] = {"agreed", "mismatch", "waiting"};
	struct hl_transcript *t = fc->t;
	uint8_t s_hash[32], p_hash[32], s_sig[64], pp_hash[32], ps_hash[32], p_sig[64];
	const struct hl_verify_seqhash *hs, *hp;
	const char *init, *status, *detail;
	struct cpcheck k = {.line = fc->line, .status = -1};
	struct hl_verify_cp cp = {0};
	size_t len;
	bool has_s, has_p;

	if (!enter(fc, SEC_CHECKPOINTS) || !u64_field(fc, o, "at_ns", INT64_MAX, &k.at_ns) ||
	    !str_field(fc, o, "initiator", false, &init, &len) ||
	    !u64_field(fc, o, "station_seq", INT64_MAX, &k.s_seq) ||
	    !u64_field(fc, o, "peer_seq", INT64_MAX, &k.p_seq) ||
	    !statement_field(fc, o, "station_statement", false, "station_hash", s_hash, "peer_hash",
	                     p_hash, s_sig, &has_s) ||
	    !statement_field(fc, o, "peer_statement", true, "peer_hash", pp_hash, "station_hash",
	                     ps_hash, p_sig, &has_p) ||
	    !str_field(fc, o, "status", false, &status, &len) ||
	    !str_field(fc, o, "detail", false, &detail, &len))
		return HL_OK;
	if (strcmp(init, "station") != 0 && strcmp(init, "peer") != 0) {
		bad_line(fc, "field 'initiator' must be \"station\" or \"peer\"");
		return HL_OK;
	}
	for (int i = 0; i < 3; i++)
		if (strcmp(status, statuses[i]) == 0)
			k.status = i;
	fc->count[5]++;
	k.s_hash = s_hash;
	k.p_hash = p_hash;
	k.s_sig = s_sig;
	if (has_p) {
		k.ps_hash = ps_hash;
		k.pp_hash = pp_hash;
		k.p_sig = p_sig;
	}
	hs = k.s_seq ? held(t, HL_DIR_OUT, k.s_seq) : NULL;
	hp = k.p_seq ? held(t, HL_DIR_IN, k.p_seq) : NULL;
	k.held_s = k.s_seq == 0 ? zeros : hs ? hs->hash : NULL;
	k.held_p = k.p_seq == 0 ? zeros : hp ? hp->hash : NULL;
	k.missing_s = k.s_seq && !hs && expected(t, HL_DIR_OUT, k.s_seq);
	cp.agreed = check_cp(fc->res, &k);
	cp.at_ns = k.at_ns;
	cp.station_seq = k.s_seq;
	cp.peer_seq = k.p_seq;
	cp.by_station = strcmp(init, "station") == 0;
	memcpy(cp.station_hash, s_hash, HL_HASH_LEN);
	memcpy(cp.peer_hash, p_hash, HL_HASH_LEN);
	if (t->ncps == t->capcps) {
		size_t ncap = t->capcps ? t->capcps * 2 : 16;
		struct hl_verify_cp *nv = realloc(t->cps, ncap * sizeof *nv);
		if (!nv)
			return HL_ERR_NOMEM;
		t->cps = nv;
		t->capcps = ncap;
	}
	t->cps[t->ncps++] = cp;
	return HL_OK;
}

static int
on_end(struct fctx *fc, json_t *o)
{
	static const char *const keys[] = {"events_out", "events_in", "heads",
	                                   "receipts",   "refusals",  "checkpoints"};
	uint64_t want[6];

	if (!enter(fc, SEC_END))
		return HL_OK;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!u64_field(fc, o, keys[i], INT64_MAX, &want[i]))
			return HL_OK;
	fc->t->end = true;
	fc->section = SEC_AFTER;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (want[i] != fc->count[i])
			failure(fc->res, (struct where){"end", NULL, 0, NULL, fc->line},
			        "the end line counts %llu %s but the file holds %llu: truncated or "
			        "edited",
			        (unsigned long long)want[i], keys[i],
			        (unsigned long long)fc->count[i]);
	return HL_OK;
}

static int
on_line(struct fctx *fc, const uint8_t *p, size_t n)
{
	static const struct {
		const char *type;
		int (*fn)(struct fctx *, json_t *);
	} types[] = {{"header", on_header},   {"event", on_event},
	             {"head", on_head},       {"receipt", on_receipt},
	             {"refusal", on_refusal}, {"checkpoint", on_checkpoint},
	             {"end", on_end}};
	json_error_t jerr;
	json_t *o, *tv;
	int rc = HL_OK;

	fc->type = "line";
	if (fc->section == SEC_AFTER) {
		bad_line(fc, "a line after the end line");
		return HL_OK;
	}
	o = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		bad_line(fc, "not JSON: %s (column %d)", jerr.text, jerr.column);
		return HL_OK;
	}
	if (!json_is_object(o) || !json_is_string(tv = json_object_get(o, "type"))) {
		bad_line(fc, "not a JSON object with a string 'type'");
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (strcmp(json_string_value(tv), types[i].type) == 0) {
			fc->type = types[i].type;
			if (i != 0 && !fc->t->header)
				bad_line(fc, "the first line must be the header");
			else
				rc = types[i].fn(fc, o);
			goto out;
		}
	/* An unknown type: ignored, as readers must (but never before the header). */
	if (!fc->t->header)
		bad_line(fc, "the first line must be the header");
out:
	json_decref(o);
	return rc;
}

/* After the last line: step 5's end, and chain in's gaps now that the heads are known. */
static void
finish(struct fctx *fc)
{
	struct hl_transcript *t = fc->t;
	struct hl_verify_result *res = fc->res;
	uint64_t expect, above = 0, first_above = 0;

	if (fc->stop)
		return;
	if (!t->header) {
		failure(res, (struct where){"file", NULL, 0, NULL, 0},
		        "no header: not a transcript");
		return;
	}
	if (!t->end)
		failure(res, (struct where){"end", NULL, 0, NULL, fc->line + 1},
		        "no end line: the file is truncated");
	expect = t->since_ns ? (t->nin ? t->in[0].seq : 0) : 1;
	for (size_t i = 0; i < t->nin; i++) {
		if (t->in[i].seq > expect)
			gap(res, true, expect, t->in[i].seq - 1, res->head_seq, true, 0);
		expect = t->in[i].seq + 1;
		if (t->in[i].seq > res->head_seq && !above++)
			first_above = t->in[i].seq;
	}
	if (expect && res->head_seq >= expect)
		gap(res, true, expect, res->head_seq, res->head_seq, true, 0);
	unsigned_tail(res, above, first_above);
	unconfirmed_keys(res, &res->station_keys, fc->confirmed[HL_DIR_OUT], false, t);
	unconfirmed_keys(res, &res->peer_keys, fc->confirmed[HL_DIR_IN], true, t);
}

/* Lines from a buffer or a FILE, each at most max bytes. */
struct reader {
	FILE *f;
	const uint8_t *buf;
	size_t len, pos, max;
	uint8_t *acc;
	size_t cap;
	bool eof;
};

#define BLOCK 65536

/*
 * The next line, without its newline: 1 (nl says whether it had one), 0 at
 * the end, HL_ERR_LIMIT for a line longer than max, HL_ERR_IO, HL_ERR_NOMEM.
 */
static int
next_line(struct reader *r, const uint8_t **line, size_t *n, bool *nl)
{
	size_t got = 0;

	*line = NULL;
	*n = 0;
	*nl = false;
	if (!r->f) {
		const uint8_t *p, *e;
		if (r->pos >= r->len)
			return 0;
		p = r->buf + r->pos;
		e = memchr(p, '\n', r->len - r->pos);
		got = e ? (size_t)(e - p) : r->len - r->pos;
		if (got > r->max)
			return HL_ERR_LIMIT;
		r->pos += got + (e != NULL);
		*line = p;
		*n = got;
		*nl = e != NULL;
		return 1;
	}
	for (;;) {
		const uint8_t *e;
		size_t take;
		if (r->pos == r->len) {
			if (r->eof)
				break;
			r->len = fread(r->acc + r->max + 1, 1, BLOCK, r->f);
			r->buf = r->acc + r->max + 1;
			r->pos = 0;
			if (r->len == 0) {
				if (ferror(r->f))
					return HL_ERR_IO;
				r->eof = true;
				break;
			}
		}
		e = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		take = e ? (size_t)(e - (r->buf + r->pos)) : r->len - r->pos;
		if (got + take > r->max)
			return HL_ERR_LIMIT;
		memcpy(r->acc + got, r->buf + r->pos, take);
		got += take;
		r->pos += take + (e != NULL);
		if (e) {
			*nl = true;
			break;
		}
	}
	if (got == 0 && !*nl)
		return 0;
	*line = r->acc;
	*n = got;
	return 1;
}

static int
read_all(struct reader *r, struct hl_transcript *t)
{
	struct fctx fc = {.t = t, .res = &t->res, .order = {-1, 0}};
	const uint8_t *line;
	size_t n;
	bool nl = true;
	int rc = HL_OK, got;

	while (!fc.stop && (got = next_line(r, &line, &n, &nl)) != 0) {
		fc.line++;
		fc.type = "line";
		if (got == HL_ERR_LIMIT) {
			bad_line(&fc, "longer than %zu bytes", r->max);
			break;
		}
		if (got < 0)
			return got;
		if ((rc = on_line(&fc, line, n)) < 0)
			return rc;
		if (!nl && !fc.stop) {
			fc.type = "line";
			failure(fc.res, (struct where){"line", NULL, 0, NULL, fc.line},
			        "the last line has no newline: truncated");
		}
	}
	t->lines = fc.line;
	finish(&fc);
	return HL_OK;
}

int
hl_verify_buf(const uint8_t *buf, size_t len, size_t line_max, struct hl_transcript *t)
{
	struct reader r = {.buf = buf, .len = len, .max = line_max ? line_max : HL_VERIFY_LINE_MAX};

	memset(t, 0, sizeof *t);
	return read_all(&r, t);
}

int
hl_verify_file(FILE *f, size_t line_max, struct hl_transcript *t)
{
	struct reader r = {.f = f, .max = line_max ? line_max : HL_VERIFY_LINE_MAX};
	int rc;

	memset(t, 0, sizeof *t);
	/* One buffer: the line (up to max bytes), then the block being read. */
	if (!(r.acc = malloc(r.max + 1 + BLOCK)))
		return HL_ERR_NOMEM;
	rc = read_all(&r, t);
	free(r.acc);
	return rc;
}

void
hl_transcript_free(struct hl_transcript *t)
{
	if (!t)
		return;
	HL_FREE(t->out);
	HL_FREE(t->in);
	HL_FREE(t->cps);
	t->nout = t->nin = t->ncps = t->capout = t->capin = t->capcps = 0;
}

/* ---- this station's record beside the peer's export ---- */

/* Merge chain dir here (streamed in seq order) with the file's array f. */
static int
compare_chain(struct hl_store *st, int64_t peer_id, int dir, const struct hl_verify_seqhash *f,
              size_t nf, bool since, struct hl_verify_cmp *c)
{
	sqlite3_stmt *q;
	size_t i = 0;
	int rc, s;

	memset(c, 0, sizeof *c);
	if ((rc = hl_store_prepare(st,
	                           "SELECT seq, hash FROM events WHERE peer_id = ? AND dir = ?"
	                           " ORDER BY seq",
	                           &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_int(q, 2, dir);
	for (;;) {
		bool have = (s = sqlite3_step(q)) == SQLITE_ROW;
		uint64_t seq = have ? (uint64_t)sqlite3_column_int64(q, 0) : UINT64_MAX;
		const uint8_t *h = have ? col_fixed(q, 1, HL_HASH_LEN) : NULL;

		for (; i < nf && f[i].seq < seq; i++) {
			if (!c->only_file++)
				c->only_file_first = f[i].seq;
			c->only_file_last = f[i].seq;
		}
		if (!have)
			break;
		if (i < nf && f[i].seq == seq) {
			if (h && sodium_memcmp(h, f[i].hash, HL_HASH_LEN) == 0) {
				c->agree++;
			} else if (!c->differ++) {
				c->first_seq = seq;
				memcpy(c->file_hash, f[i].hash, HL_HASH_LEN);
				if (h)
					memcpy(c->here_hash, h, HL_HASH_LEN);
			}
			i++;
		} else if (since && (nf == 0 || seq < f[0].seq)) {
			c->before_file++;
		} else {
			if (!c->only_here++)
				c->only_here_first = seq;
			c->only_here_last = seq;
		}
	}
	hl_store_finish(st, q);
	return s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
}

int
hl_verify_against(struct hl_store *st, int64_t peer_id, const struct hl_transcript *t,
                  struct hl_verify_against *out)
{
	sqlite3_stmt *q;
	int rc, s;

	memset(out, 0, sizeof *out);
	if ((rc = hl_store_exec(st, "BEGIN")) < 0)
		return rc;
	if ((rc = compare_chain(st, peer_id, HL_DIR_IN, t->out, t->nout, t->since_ns != 0,
	                        &out->theirs)) < 0 ||
	    (rc = compare_chain(st, peer_id, HL_DIR_OUT, t->in, t->nin, t->since_ns != 0,
	                        &out->ours)) < 0)
		goto done;
	if ((rc = hl_store_prepare(st,
	                           "SELECT initiator, at_ns, our_seq, their_seq, our_hash,"
	                           " their_hash FROM checkpoints WHERE peer_id = ? AND status = 0"
	                           " ORDER BY at_ns",
	                           &q)) < 0)
		goto done;
	sqlite3_bind_int64(q, 1, peer_id);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		bool by_us = sqlite3_column_int(q, 0) == 0;
		uint64_t at = (uint64_t)sqlite3_column_int64(q, 1);
		uint64_t our_seq = (uint64_t)sqlite3_column_int64(q, 2);
		uint64_t their_seq = (uint64_t)sqlite3_column_int64(q, 3);
		const uint8_t *oh = col_fixed(q, 4, HL_HASH_LEN),
		              *th = col_fixed(q, 5, HL_HASH_LEN);

		/* The peer's export sees it mirrored: its station is our peer. */
		for (size_t i = 0; i < t->ncps; i++) {
			const struct hl_verify_cp *c = &t->cps[i];
			if (!c->agreed || c->at_ns != at || c->by_station == by_us)
				continue;
			if (oh && th && c->station_seq == their_seq && c->peer_seq == our_seq &&
			    sodium_memcmp(c->station_hash, th, HL_HASH_LEN) == 0 &&
			    sodium_memcmp(c->peer_hash, oh, HL_HASH_LEN) == 0) {
				out->cp_common++;
				if (at >= out->cp_at_ns) {
					out->cp_at_ns = at;
					out->cp_out_seq = our_seq;
					out->cp_in_seq = their_seq;
				}
			} else {
				out->cp_differ++;
			}
		}
	}
	hl_store_finish(st, q);
	if (s != SQLITE_DONE)
		rc = HL_ERR_IO;
done:
	(void)hl_store_exec(st, "COMMIT");
	return rc;
}

/* "peer P, line N, head, chain C, seq S, id I: what" (the parts known). */
void
hl_verify_problem_text(const struct hl_verify_problem *p, const char *peer, char *out, size_t cap)
{
	size_t n = 0;

#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (n < cap)                                                                       \
			n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__);                      \
	} while (0)
	out[0] = '\0';
	if (peer && *peer)
		ADD("peer %s, ", peer);
	if (p->line)
		ADD("line %llu, ", (unsigned long long)p->line);
	/* The type, unless the text says it ("checkpoint at T: ...") or it is a store's event. */
	if (p->type && *p->type && (p->line || strcmp(p->type, "event") != 0) &&
	    strncmp(p->what, p->type, strlen(p->type)) != 0)
		ADD("%s, ", p->type);
	if (p->chain[0])
		ADD("chain %s, ", p->chain);
	if (p->seq)
		ADD("seq %llu, ", (unsigned long long)p->seq);
	if (p->id[0])
		ADD("id %s, ", p->id);
	if (n >= 2 && n < cap)
		n -= 2;
	if (n < cap)
		out[n] = '\0';
	ADD("%s%s", n ? ": " : "", p->what);
#undef ADD
}
