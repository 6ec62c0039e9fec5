/* SPDX-License-Identifier: ISC */
/*
 * transcript.c: the record with one peer, exported (docs/transcript.md).
 *
 * One walk over the store produces the lines of the JSON lines export in
 * their order: header, chain out by seq, chain in by seq, the peer's heads,
 * receipts and refusals, the checkpoints, end. The same walk either writes
 * each line (jsonl) or runs the verification procedure on it (the first
 * pass of html), so a failure found for the page names the line the JSON
 * lines file has. The page's second pass lists both chains by creation
 * time. Rows come one at a time from store_export.c; nothing grows with
 * the number of events. All of it runs inside one read transaction, so a
 * daemon writing meanwhile cannot make the passes disagree.
 *
 * The checks are private to this file: `hotline verify` has its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "msg.h"
#include "transcript.h"
#include "util.h"
#include "wire.h"

struct chain_check {
	bool any;
	uint64_t start, next;      /* the first seq seen, and the one expected next */
	uint8_t last[HL_HASH_LEN]; /* the hash of seq next - 1 */
};

struct tx {
	struct hl_store *st;
	const struct hl_transcript_opts *o;
	struct hl_transcript_result *res;
	FILE *out;
	bool write, check;
	uint64_t first[2]; /* where each chain's export starts (hl_store_export_first) */
	long line;
	struct chain_check chain[2];
	bool any_head;
	uint64_t top_head; /* the highest seq of the peer's chain under a signed head */
	/* Every key of each side the record may hold signatures of (docs/keys.md). */
	struct hl_keyring ks, kp;
};

static const uint8_t zeros[HL_HASH_LEN];

static const char *
chain_name(int dir)
{
	return dir == HL_DIR_OUT ? "out" : "in";
}

static void
hex(char *out, const uint8_t *b, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, b, n);
}

static void
be64(uint8_t out[static 8], uint64_t v)
{
	hl_put_u64(out, v);
}

/* The state a person should see, as docs/messages.md names it. */
static const char *
shown_state(const struct hl_event_row *r)
{
	if (r->dir == HL_DIR_IN && r->state == HL_ST_RECEIVED)
		return "unacknowledged";
	return hl_state_name(r->state);
}

/*
 * A received event refused as too large was hashed in full but its body
 * was never kept (docs/messages.md, "Size limit"): its hash cannot be
 * recomputed and is taken as given (body_kept false). computed is the
 * hash of the stored fields.
 */
static bool
body_kept(const struct hl_event_row *r, const uint8_t computed[static HL_HASH_LEN])
{
	return !(r->dir == HL_DIR_IN && r->state == HL_ST_REFUSED && r->ev.body_len == 0) ||
	       sodium_memcmp(computed, r->hash, HL_HASH_LEN) == 0;
}

/* ---- the checks (docs/transcript.md, "Verification procedure") ---- */

/* Record the first failure, "line N (where): what"; the checks stop there. */
static int failed(struct tx *t, const char *where, const char *fmt, ...) HL_PRINTF(3, 4);

static int
failed(struct tx *t, const char *where, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(t->res->failure, sizeof t->res->failure, "line %ld (%s): %s", t->line, where,
	         what);
	t->res->verified = false;
	t->check = false; /* the first failure is the one reported; the walk goes on counting */
	return HL_OK;
}

/* Ed25519ph over DOMAIN || FROM || TO || DATA, as msg.c signs. */
static bool
sig_ok(const char *domain, const uint8_t *from, const uint8_t *to, const uint8_t *data, size_t len,
       const uint8_t sig[static HL_SIG_LEN])
{
	crypto_sign_state s;

	crypto_sign_init(&s);
	crypto_sign_update(&s, (const uint8_t *)domain, strlen(domain));
	crypto_sign_update(&s, from, 32);
	crypto_sign_update(&s, to, 32);
	crypto_sign_update(&s, data, len);
	return crypto_sign_final_verify(&s, sig, from) == 0;
}

/* A signature FROM one of from's keys TO one of to's (keys rotate: docs/keys.md). */
static bool
ring_ok(const struct hl_keyring *from, const struct hl_keyring *to, const char *domain,
        const uint8_t *data, size_t len, const uint8_t sig[static HL_SIG_LEN])
{
	for (size_t i = from->n; i-- > 0;)
		for (size_t k = to->n; k-- > 0;)
			if (sig_ok(domain, from->k[i].ed25519, to->k[k].ed25519, data, len, sig))
				return true;
	return false;
}

/* The peer's signature over data (heads, receipts, refusals). */
static bool
peer_signed(const struct tx *t, const char *domain, const uint8_t *data, size_t len,
            const uint8_t sig[static HL_SIG_LEN])
{
	return ring_ok(&t->kp, &t->ks, domain, data, len, sig);
}

/* Does this export hold event seq of chain dir (checked so far)? */
static bool
held(const struct tx *t, int dir, uint64_t seq)
{
	const struct chain_check *c = &t->chain[dir];

	return c->any && seq >= c->start && seq < c->next;
}

/* Step 1: the chain links, each hash recomputes, each id is its hash's prefix. */
static int
check_event(struct tx *t, const struct hl_event_row *r, const uint8_t computed[static HL_HASH_LEN])
{
	struct chain_check *c = &t->chain[r->dir];
	char where[64], id[HL_MSGID_LEN + 1];

	snprintf(where, sizeof where, "event, chain %s, seq %llu", chain_name(r->dir),
	         (unsigned long long)r->ev.seq);
	if (!c->any) {
		if (t->o->since_ns == 0 && r->ev.seq != 1)
			return failed(t, where,
			              "the chain starts at seq %llu, not at 1: seq 1 to "
			              "%llu are missing",
			              (unsigned long long)r->ev.seq,
			              (unsigned long long)r->ev.seq - 1);
		if (r->ev.seq == 1 && sodium_memcmp(r->ev.prev, zeros, HL_HASH_LEN) != 0)
			return failed(t, where, "seq 1 has a prev that is not zeros");
		c->any = true;
		c->start = r->ev.seq;
	} else if (r->ev.seq != c->next) {
		return failed(t, where, "seq %llu expected here: %s", (unsigned long long)c->next,
		              r->ev.seq > c->next ? "events are missing (not yet received?)"
		                                  : "out of order");
	} else if (sodium_memcmp(r->ev.prev, c->last, HL_HASH_LEN) != 0) {
		return failed(t, where, "prev is not the hash of seq %llu",
		              (unsigned long long)c->next - 1);
	}
	if (sodium_memcmp(computed, r->hash, HL_HASH_LEN) != 0 && body_kept(r, computed))
		return failed(t, where, "the hash does not recompute from its fields and body");
	hl_event_id(r->hash, id);
	if (strcmp(id, r->msg_id) != 0)
		return failed(t, where, "id %s is not the first 12 hex characters of its hash",
		              r->msg_id);
	c->next = r->ev.seq + 1;
	memcpy(c->last, r->hash, HL_HASH_LEN);
	return HL_OK;
}

/* hash must be that of event seq of chain dir, when the export holds it (seq 0: zeros). */
static int
check_against(struct tx *t, int dir, uint64_t seq, const uint8_t hash[static HL_HASH_LEN],
              bool *match)
{
	uint8_t stored[HL_HASH_LEN];
	bool found;
	int rc;

	*match = true;
	if (seq == 0) {
		*match = sodium_memcmp(hash, zeros, HL_HASH_LEN) == 0;
		return HL_OK;
	}
	if (!held(t, dir, seq))
		return HL_OK;
	/* Step 1 already recomputed every held hash: the stored one is the event's. */
	if ((rc = hl_store_chain_hash(t->st, t->o->peer->id, (enum hl_dir)dir, seq, stored,
	                              &found)) < 0)
		return rc;
	*match = found && sodium_memcmp(hash, stored, HL_HASH_LEN) == 0;
	return HL_OK;
}

/* Step 2. */
static int
check_head(struct tx *t, const struct hl_export_head *h)
{
	uint8_t data[8 + HL_HASH_LEN];
	char where[64];
	bool match;
	int rc;

	snprintf(where, sizeof where, "head, chain in, seq %llu", (unsigned long long)h->seq);
	be64(data, h->seq);
	memcpy(data + 8, h->hash, HL_HASH_LEN);
	if (!peer_signed(t, "hotline-head-v1", data, sizeof data, h->sig))
		return failed(t, where, "the signature does not verify with %s's key",
		              t->o->peer->name);
	if ((rc = check_against(t, HL_DIR_IN, h->seq, h->hash, &match)) < 0)
		return rc;
	if (!match)
		return failed(t, where, "the signed hash is not that of event seq %llu of chain in",
		              (unsigned long long)h->seq);
	if (!t->any_head || h->seq > t->top_head)
		t->top_head = h->seq;
	t->any_head = true;
	return HL_OK;
}

/* Step 3, receipts. */
static int
check_receipt(struct tx *t, const struct hl_export_receipt *r)
{
	struct hl_receipt_entry e;
	bool match;
	int rc;

	if (r->ragged)
		return failed(t, "receipt, chain out", "the stored entries are not whole");
	if (!peer_signed(t, "hotline-receipt-v1", r->entries, r->n * 40, r->sig))
		return failed(t, "receipt, chain out",
		              "the signature does not verify with %s's key", t->o->peer->name);
	for (size_t i = 0; i < r->n; i++) {
		hl_receipt_entry_get(r->entries, i, &e);
		if ((rc = check_against(t, HL_DIR_OUT, e.seq, e.hash, &match)) < 0)
			return rc;
		if (!match) {
			char where[64];
			snprintf(where, sizeof where, "receipt, chain out, seq %llu",
			         (unsigned long long)e.seq);
			return failed(t, where,
			              "entry %zu is not the hash of event seq %llu of "
			              "chain out",
			              i + 1, (unsigned long long)e.seq);
		}
	}
	return HL_OK;
}

/* Step 3, refusals. */
static int
check_refusal(struct tx *t, const struct hl_export_refusal *r)
{
	size_t rl = strlen(r->reason);
	uint8_t data[8 + HL_HASH_LEN + 2 + HL_REASON_MAX];
	char where[64];
	bool match;
	int rc;

	snprintf(where, sizeof where, "refusal, chain out, seq %llu", (unsigned long long)r->seq);
	if (rl > HL_REASON_MAX)
		return failed(t, where, "the reason is longer than %d bytes", HL_REASON_MAX);
	be64(data, r->seq);
	memcpy(data + 8, r->hash, HL_HASH_LEN);
	data[40] = (uint8_t)(rl >> 8);
	data[41] = (uint8_t)rl;
	memcpy(data + 42, r->reason, rl);
	if (!peer_signed(t, "hotline-refuse-v1", data, 42 + rl, r->sig))
		return failed(t, where, "the signature does not verify with %s's key",
		              t->o->peer->name);
	if ((rc = check_against(t, HL_DIR_OUT, r->seq, r->hash, &match)) < 0)
		return rc;
	if (!match)
		return failed(t, where,
		              "the refused hash is not that of event seq %llu of chain out",
		              (unsigned long long)r->seq);
	return HL_OK;
}

static bool
statement_ok(const struct hl_keyring *from, const struct hl_keyring *to, uint64_t at_ns,
             uint64_t signer_seq, const uint8_t *signer_hash, uint64_t other_seq,
             const uint8_t *other_hash, const uint8_t *sig)
{
	uint8_t data[8 + 8 + HL_HASH_LEN + 8 + HL_HASH_LEN];

	be64(data, at_ns);
	be64(data + 8, signer_seq);
	memcpy(data + 16, signer_hash, HL_HASH_LEN);
	be64(data + 48, other_seq);
	memcpy(data + 56, other_hash, HL_HASH_LEN);
	return ring_ok(from, to, "hotline-checkpoint-v1", data, sizeof data, sig);
}

/* Step 4. */
static int
check_checkpoint(struct tx *t, const struct hl_export_checkpoint *c)
{
	bool same, match;
	char where[80];
	int rc;

	snprintf(where, sizeof where, "checkpoint, station_seq %llu, peer_seq %llu",
	         (unsigned long long)c->our_seq, (unsigned long long)c->their_seq);
	if (!statement_ok(&t->ks, &t->kp, c->at_ns, c->our_seq, c->our_hash, c->their_seq,
	                  c->their_hash, c->our_sig))
		return failed(t, where, "%s's statement does not verify with its key",
		              t->o->station);
	if (c->answered && !statement_ok(&t->kp, &t->ks, c->at_ns, c->their_seq, c->peer_their_hash,
	                                 c->our_seq, c->peer_our_hash, c->peer_sig))
		return failed(t, where, "%s's statement does not verify with its key",
		              t->o->peer->name);
	same = c->answered && sodium_memcmp(c->our_hash, c->peer_our_hash, HL_HASH_LEN) == 0 &&
	       sodium_memcmp(c->their_hash, c->peer_their_hash, HL_HASH_LEN) == 0;
	if (c->status < 0 || c->status > 2)
		return failed(t, where, "unknown status %d", c->status);
	if (!c->answered && c->status != 2)
		return failed(t, where, "no answer from %s, yet the status is not waiting",
		              t->o->peer->name);
	if (c->answered && same != (c->status == 0))
		return failed(t, where, "the status is %s but the statements %s",
		              c->status == 0   ? "agreed"
		              : c->status == 1 ? "mismatch"
		                               : "waiting",
		              same ? "agree" : "differ");
	if (c->status != 0)
		return HL_OK;
	if ((rc = check_against(t, HL_DIR_OUT, c->our_seq, c->our_hash, &match)) < 0)
		return rc;
	if (!match)
		return failed(t, where, "station_hash is not that of event seq %llu of chain out",
		              (unsigned long long)c->our_seq);
	if ((rc = check_against(t, HL_DIR_IN, c->their_seq, c->their_hash, &match)) < 0)
		return rc;
	if (!match)
		return failed(t, where, "peer_hash is not that of event seq %llu of chain in",
		              (unsigned long long)c->their_seq);
	return HL_OK;
}

/* ---- the lines ---- */

/* Write one line (takes v); NULL v: a stored text was not UTF-8, or no memory. */
static int
emit(struct tx *t, json_t *v)
{
	int rc = HL_OK;

	if (!v)
		return HL_ERR_CORRUPT;
	if (json_dumpf(v, t->out, JSON_COMPACT) != 0 || fputc('\n', t->out) == EOF) {
		t->res->write_errno = errno ? errno : EIO;
		rc = HL_ERR_IO;
	}
	json_decref(v);
	return rc;
}

static json_t *
jhex(const uint8_t *b, size_t n)
{
	char s[2 * HL_SIG_LEN + 1];

	hex(s, b, n);
	return json_string(s);
}

static json_t *
str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *
event_json(const struct hl_event_row *r, bool kept)
{
	size_t cap = sodium_base64_encoded_len(r->ev.body_len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(cap);
	json_t *v;

	if (!b64)
		return NULL;
	sodium_bin2base64(b64, cap, r->ev.body ? r->ev.body : (const uint8_t *)"", r->ev.body_len,
	                  sodium_base64_VARIANT_ORIGINAL);
	v = json_pack(
	    "{s:s, s:s, s:I, s:o, s:o, s:s, s:i, s:i, s:I, s:I, s:s, s:s, s:s, s:I, s:o,"
	    " s:s, s:b, s:s, s:o, s:o, s:I, s:I, s:I, s:I}",
	    "type", "event", "chain", chain_name(r->dir), "seq", (json_int_t)r->ev.seq, "prev",
	    jhex(r->ev.prev, HL_HASH_LEN), "hash", jhex(r->hash, HL_HASH_LEN), "id", r->msg_id,
	    "kind", (int)r->ev.kind, "precedence", (int)r->ev.precedence, "created_ns",
	    (json_int_t)r->ev.created_ns, "deadline_ns", (json_int_t)r->ev.deadline_ns, "channel",
	    r->ev.channel, "media_type", r->ev.media_type, "operator", r->ev.operator_name,
	    "ref_seq", (json_int_t)r->ev.ref_seq, "ref_hash", jhex(r->ev.ref_hash, HL_HASH_LEN),
	    "body_base64", b64, "body_kept", kept, "state", shown_state(r), "acknowledged_by",
	    str_or_null(r->acked_by), "refused_reason", str_or_null(r->reason), "received_ns",
	    (json_int_t)r->received_ns, "sent_ns", (json_int_t)r->sent_ns, "delivered_ns",
	    (json_int_t)r->delivered_ns, "acked_ns", (json_int_t)r->acked_ns);
	free(b64);
	return v;
}

static int
on_event(void *ctx, const struct hl_event_row *r)
{
	struct tx *t = ctx;
	uint8_t computed[HL_HASH_LEN];
	bool refused_empty =
	    r->dir == HL_DIR_IN && r->state == HL_ST_REFUSED && r->ev.body_len == 0;
	int rc;

	t->line++;
	if (r->dir == HL_DIR_OUT)
		t->res->events_out++;
	else
		t->res->events_in++;
	if (t->check || refused_empty)
		hl_event_hash(&r->ev, computed);
	if (t->check && (rc = check_event(t, r, computed)) != HL_OK)
		return rc;
	if (t->write)
		return emit(t, event_json(r, !refused_empty || body_kept(r, computed)));
	return HL_OK;
}

static int
on_head(void *ctx, const struct hl_export_head *h)
{
	struct tx *t = ctx;
	int rc;

	t->line++;
	t->res->heads++;
	if (t->check && (rc = check_head(t, h)) != HL_OK)
		return rc;
	if (!t->write)
		return HL_OK;
	return emit(t, json_pack("{s:s, s:s, s:I, s:o, s:o, s:I}", "type", "head", "chain", "in",
	                         "seq", (json_int_t)h->seq, "hash", jhex(h->hash, HL_HASH_LEN),
	                         "sig", jhex(h->sig, HL_SIG_LEN), "at_ns", (json_int_t)h->at_ns));
}

static int
on_receipt(void *ctx, const struct hl_export_receipt *r)
{
	struct tx *t = ctx;
	struct hl_receipt_entry e;
	json_t *entries;
	bool wanted = t->o->since_ns == 0;
	int rc;

	/* With --since: the receipts that name an exported event, each one whole (it is signed). */
	for (size_t i = 0; !wanted && i < r->n; i++) {
		hl_receipt_entry_get(r->entries, i, &e);
		wanted = e.seq >= t->first[HL_DIR_OUT];
	}
	if (!wanted)
		return HL_OK;
	t->line++;
	t->res->receipts++;
	if (t->check && (rc = check_receipt(t, r)) != HL_OK)
		return rc;
	if (!t->write)
		return HL_OK;
	if (!(entries = json_array()))
		return HL_ERR_NOMEM;
	for (size_t i = 0; i < r->n; i++) {
		hl_receipt_entry_get(r->entries, i, &e);
		json_array_append_new(
		    entries, json_pack("[I, o]", (json_int_t)e.seq, jhex(e.hash, HL_HASH_LEN)));
	}
	return emit(t, json_pack("{s:s, s:s, s:o, s:o, s:I}", "type", "receipt", "chain", "out",
	                         "entries", entries, "sig", jhex(r->sig, HL_SIG_LEN), "at_ns",
	                         (json_int_t)r->at_ns));
}

static int
on_refusal(void *ctx, const struct hl_export_refusal *r)
{
	struct tx *t = ctx;
	int rc;

	t->line++;
	t->res->refusals++;
	if (t->check && (rc = check_refusal(t, r)) != HL_OK)
		return rc;
	if (!t->write)
		return HL_OK;
	return emit(t,
	            json_pack("{s:s, s:s, s:I, s:o, s:s, s:o}", "type", "refusal", "chain", "out",
	                      "seq", (json_int_t)r->seq, "hash", jhex(r->hash, HL_HASH_LEN),
	                      "reason", r->reason, "sig", jhex(r->sig, HL_SIG_LEN)));
}

static const char *
checkpoint_status(int status)
{
	return status == 0 ? "agreed" : status == 1 ? "mismatch" : status == 2 ? "waiting" : "?";
}

/* With --since: the checkpoints that name an exported event. */
static bool
checkpoint_wanted(const struct tx *t, const struct hl_export_checkpoint *c)
{
	return t->o->since_ns == 0 || c->our_seq >= t->first[HL_DIR_OUT] ||
	       c->their_seq >= t->first[HL_DIR_IN];
}

static int
on_checkpoint(void *ctx, const struct hl_export_checkpoint *c)
{
	struct tx *t = ctx;
	json_t *peer = json_null();
	int rc;

	if (!checkpoint_wanted(t, c))
		return HL_OK;
	t->line++;
	t->res->checkpoints++;
	if (t->check && (rc = check_checkpoint(t, c)) != HL_OK)
		return rc;
	if (!t->write)
		return HL_OK;
	if (c->answered)
		peer =
		    json_pack("{s:o, s:o, s:o}", "peer_hash", jhex(c->peer_their_hash, HL_HASH_LEN),
		              "station_hash", jhex(c->peer_our_hash, HL_HASH_LEN), "sig",
		              jhex(c->peer_sig, HL_SIG_LEN));
	return emit(t,
	            json_pack("{s:s, s:I, s:s, s:I, s:I, s:{s:o, s:o, s:o}, s:o, s:s, s:s}", "type",
	                      "checkpoint", "at_ns", (json_int_t)c->at_ns, "initiator",
	                      c->initiator == 0 ? "station" : "peer", "station_seq",
	                      (json_int_t)c->our_seq, "peer_seq", (json_int_t)c->their_seq,
	                      "station_statement", "station_hash", jhex(c->our_hash, HL_HASH_LEN),
	                      "peer_hash", jhex(c->their_hash, HL_HASH_LEN), "sig",
	                      jhex(c->our_sig, HL_SIG_LEN), "peer_statement", peer, "status",
	                      checkpoint_status(c->status), "detail", c->detail));
}

/* A key history as the header carries it: [{"ed25519": hex, "since_seq": N}], oldest first. */
static json_t *
ring_json(const struct hl_keyring *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < r->n; i++)
		json_array_append_new(arr,
		                      json_pack("{s:o, s:I}", "ed25519", jhex(r->k[i].ed25519, 32),
		                                "since_seq", (json_int_t)r->k[i].since_seq));
	return arr;
}

/*
 * The record in the order of the JSON lines export: written (t->write)
 * and/or checked (t->check). HL_OK (a failed check is in t->res), or an error.
 */
static int
walk(struct tx *t)
{
	const struct hl_transcript_opts *o = t->o;
	int64_t pid = o->peer->id;
	char at[32];
	int rc;

	t->line = 1; /* the header */
	if (t->write) {
		hl_iso_time(o->now_ns, at);
		if ((rc = emit(t, json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:I, s:o, s:o}",
		                            "type", "header", "format", "hotline-transcript-v1",
		                            "station", o->station, "station_ed25519",
		                            jhex(o->station_ed25519, 32), "peer", o->peer->name,
		                            "peer_ed25519", jhex(o->peer->key.ed25519, 32),
		                            "exported_at", at, "since_ns", (json_int_t)o->since_ns,
		                            "station_keys", ring_json(&t->ks), "peer_keys",
		                            ring_json(&t->kp)))) < 0)
			return rc;
	}
	if ((rc = hl_store_export_events(t->st, pid, HL_DIR_OUT, t->first[HL_DIR_OUT], on_event,
	                                 t)) != HL_OK ||
	    (rc = hl_store_export_events(t->st, pid, HL_DIR_IN, t->first[HL_DIR_IN], on_event,
	                                 t)) != HL_OK ||
	    (rc = hl_store_export_heads(t->st, pid, t->first[HL_DIR_IN], on_head, t)) != HL_OK ||
	    (rc = hl_store_export_receipts(t->st, pid, on_receipt, t)) != HL_OK ||
	    (rc = hl_store_export_refusals(t->st, pid, t->first[HL_DIR_OUT], on_refusal, t)) !=
	        HL_OK ||
	    (rc = hl_store_export_checkpoints(t->st, pid, on_checkpoint, t)) != HL_OK)
		return rc;
	t->line++;
	if (t->write)
		return emit(t, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "type", "end",
		                         "events_out", (json_int_t)t->res->events_out, "events_in",
		                         (json_int_t)t->res->events_in, "heads",
		                         (json_int_t)t->res->heads, "receipts",
		                         (json_int_t)t->res->receipts, "refusals",
		                         (json_int_t)t->res->refusals, "checkpoints",
		                         (json_int_t)t->res->checkpoints));
	return HL_OK;
}

/* ---- the page for people ---- */

/* HTML text: & < > " ' escaped; control characters (but tab and newline) shown as U+FFFD. */
static void
put_html(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		case '\t':
		case '\n':
			fputc(c, out);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fputs("&#xfffd;", out);
			else
				fputc(c, out);
		}
	}
}

static void
html(FILE *out, const char *s)
{
	put_html(out, s, strlen(s));
}

static void
html_time(FILE *out, uint64_t ns)
{
	char at[32];

	if (!ns) {
		fputs("&ndash;", out);
		return;
	}
	hl_iso_time(ns, at);
	html(out, at);
}

/* "1 receipt", "2 receipts" */
static void
count(FILE *out, uint64_t n, const char *what)
{
	fprintf(out, "%llu %s%s", (unsigned long long)n, what, n == 1 ? "" : "s");
}

static const char style[] =
    "body{font:14px/1.4 'DejaVu Sans',Arial,sans-serif;color:#111;margin:2em}"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.5em}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #888;padding:.25em .4em;vertical-align:top;text-align:left}"
    "th{background:#e8e8e8}td.t{white-space:pre-wrap;overflow-wrap:anywhere}"
    ".mono,td.id{font-family:'DejaVu Sans Mono',monospace;font-size:.9em}"
    ".status{border:3px solid;padding:.5em 1em;margin:1em 0}"
    ".ok{border-color:#1a6b1a;background:#eef8ee}.bad{border-color:#b00000;background:#fdeaea}"
    ".status .v{font-size:1.3em;font-weight:bold}"
    "tr.flash td{background:#fbd9d9}tr.immediate td{background:#fdebd3}"
    "tr.flash td.p,tr.immediate td.p{font-weight:bold;color:#900}"
    "td.refused{color:#900}.note{color:#555}"
    "@media print{body{margin:0;font-size:10pt}tr{break-inside:avoid}"
    "th,.status,tr.flash td,tr.immediate td{-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}}";

static void
page_head(struct tx *t)
{
	const struct hl_transcript_opts *o = t->o;
	const struct hl_transcript_result *res = t->res;
	FILE *out = t->out;
	char key[2 * 32 + 1];

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", out);
	fputs("<title>Transcript ", out);
	html(out, o->station);
	fputs(" &ndash; ", out);
	html(out, o->peer->name);
	fputs(", exported ", out);
	html_time(out, o->now_ns);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Transcript: ", style);
	html(out, o->station);
	fputs(" and ", out);
	html(out, o->peer->name);
	fputs("</h1>\n<p>The record of station <b>", out);
	html(out, o->station);
	fputs("</b> with <b>", out);
	html(out, o->peer->name);
	fputs("</b>, exported by ", out);
	html(out, o->station);
	fputs(" at ", out);
	html_time(out, o->now_ns);
	if (o->since_ns) {
		fputs(", from the first event of each chain created at or after ", out);
		html_time(out, o->since_ns);
	}
	fputs(".<br>\n<span class=\"note\">Ed25519 keys: ", out);
	html(out, o->station);
	hex(key, o->station_ed25519, 32);
	fprintf(out, " <span class=\"mono\">%s</span>, ", key);
	html(out, o->peer->name);
	hex(key, o->peer->key.ed25519, 32);
	fprintf(out,
	        " <span class=\"mono\">%s</span>. Compare them with the keys the "
	        "operators exchanged.</span></p>\n",
	        key);

	fprintf(out, "<div class=\"status %s\">\n<p class=\"v\">Verification: %s</p>\n",
	        res->verified ? "ok" : "bad", res->verified ? "verified" : "FAILED");
	if (!res->verified) {
		fputs("<p>First failure: ", out);
		html(out, res->failure);
		fputs("</p>\n<p>The rest of this page shows the record as stored, unverified "
		      "beyond that point.</p>\n",
		      out);
	} else {
		fputs("<p>Both chains link from event to event and every hash recomputes; every "
		      "signature of ",
		      out);
		html(out, o->peer->name);
		fputs(" (heads, receipts, refusals) and every checkpoint statement verifies and "
		      "matches the events it names.</p>\n",
		      out);
	}
	for (int d = HL_DIR_OUT; d <= HL_DIR_IN && res->verified; d++) {
		const struct chain_check *c = &t->chain[d];
		fputs("<p>Chain ", out);
		html(out, d == HL_DIR_OUT ? o->station : o->peer->name);
		fputs(" &rarr; ", out);
		html(out, d == HL_DIR_OUT ? o->peer->name : o->station);
		if (!c->any) {
			fputs(": no events.</p>\n", out);
			continue;
		}
		hex(key, c->last, HL_HASH_LEN);
		fprintf(out, ": seq %llu to %llu, head <span class=\"mono\">%s</span></p>\n",
		        (unsigned long long)c->start, (unsigned long long)c->next - 1, key);
	}
	fputs("<p class=\"note\">", out);
	count(out, res->events_out, "event");
	fputs(" from ", out);
	html(out, o->station);
	fputs(", ", out);
	count(out, res->events_in, "event");
	fputs(" from ", out);
	html(out, o->peer->name);
	fputs("; ", out);
	count(out, res->heads, "signed head");
	fputs(", ", out);
	count(out, res->receipts, "receipt");
	fputs(", ", out);
	count(out, res->refusals, "refusal");
	fputs(", ", out);
	count(out, res->checkpoints, "checkpoint");
	fputs(".</p>\n", out);
	if (res->warning[0]) {
		fputs("<p>Note: ", out);
		html(out, res->warning);
		fputs("</p>\n", out);
	}
	fputs("</div>\n", out);
}

/* The text column: the body, an attachment's size, or what an event that is not a message says. */
static void
put_text(FILE *out, const struct tx *t, const struct hl_event_row *r)
{
	const char *body = (const char *)r->ev.body;
	char id[HL_MSGID_LEN + 1];

	switch (r->ev.kind) {
	case HL_EV_ACK:
		hl_event_id(r->ev.ref_hash, id);
		fprintf(out,
		        "acknowledges <span class=\"mono\">%s</span> (seq %llu) &ndash; read by ",
		        id, (unsigned long long)r->ev.ref_seq);
		html(out, r->ev.operator_name);
		return;
	case HL_EV_KEY: {
		struct hl_rotation rot;
		char key[2 * 32 + 1];
		fputs("new identity key of ", out);
		html(out, r->dir == HL_DIR_OUT ? t->o->station : t->o->peer->name);
		if (hl_rotation_decode(r->ev.body, r->ev.body_len, &rot) == HL_OK) {
			hex(key, rot.new_ed25519, 32);
			fprintf(out, ": Ed25519 <span class=\"mono\">%s</span>", key);
			hex(key, rot.old_ed25519, 32);
			fprintf(out, ", replacing <span class=\"mono\">%s</span>", key);
		}
		fputs(" (operator ", out);
		html(out, r->ev.operator_name);
		fputs(")", out);
		return;
	}
	case HL_EV_TALKS: {
		char *d = hl_talks_describe(r->ev.body, r->ev.body_len);
		html(out, d ? d : "[talks event]");
		free(d);
		return;
	}
	case HL_EV_SUSPEND:
	case HL_EV_RESUME:
		fputs(r->ev.kind == HL_EV_SUSPEND ? "suspended by " : "resumed by ", out);
		html(out, r->dir == HL_DIR_OUT ? t->o->station : t->o->peer->name);
		fputs(", operator ", out);
		html(out, r->ev.operator_name);
		if (r->ev.body_len)
			fputs(": ", out);
		break;
	default:
		if (r->ev.media_type[0]) {
			fputc('[', out);
			html(out, r->ev.media_type);
			fprintf(out, ", %u bytes]", r->ev.body_len);
			return;
		}
	}
	if (r->dir == HL_DIR_IN && r->state == HL_ST_REFUSED && r->ev.body_len == 0 &&
	    r->ev.kind == HL_EV_MESSAGE)
		fputs("[not kept: refused here]", out);
	else if (!hl_utf8_valid(r->ev.body, r->ev.body_len))
		fprintf(out, "[%u bytes, not valid UTF-8]", r->ev.body_len);
	else
		put_html(out, body ? body : "", r->ev.body_len);
}

static int
on_row(void *ctx, const struct hl_event_row *r)
{
	struct tx *t = ctx;
	FILE *out = t->out;
	const char *from = r->dir == HL_DIR_OUT ? t->o->station : t->o->peer->name;
	const char *to = r->dir == HL_DIR_OUT ? t->o->peer->name : t->o->station;
	bool overdue =
	    r->ev.kind == HL_EV_MESSAGE && r->ev.deadline_ns && t->o->now_ns > r->ev.deadline_ns &&
	    (r->dir == HL_DIR_OUT ? r->state <= HL_ST_DELIVERED : r->state == HL_ST_RECEIVED);

	fprintf(out, "<tr class=\"%s\"><td>", hl_prec_name(r->ev.precedence));
	html_time(out, r->ev.created_ns);
	fputs("</td><td>", out);
	html(out, from);
	fputs(" &rarr; ", out);
	html(out, to);
	fprintf(out, "</td><td class=\"id\">%s<br>seq %llu</td><td>", r->msg_id,
	        (unsigned long long)r->ev.seq);
	html(out, r->ev.channel);
	fputs("</td><td class=\"p\">", out);
	if (r->ev.precedence < HL_PREC_COUNT) {
		for (const char *p = hl_prec_name(r->ev.precedence); *p; p++)
			fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, out);
	} else {
		fprintf(out, "%u", r->ev.precedence);
	}
	fprintf(out, "</td><td>%s</td><td class=\"t\">", hl_kind_name(r->ev.kind));
	put_text(out, t, r);
	fprintf(out, "</td><td%s>%s%s</td><td>",
	        r->state == HL_ST_REFUSED ? " class=\"refused\"" : "", shown_state(r),
	        overdue ? ", OVERDUE" : "");
	if (r->ev.kind == HL_EV_MESSAGE && r->acked_by[0]) {
		html(out, r->acked_by);
		fputs("<br>", out);
		html_time(out, r->acked_ns);
	}
	fputs("</td><td>", out);
	html(out, r->reason);
	fputs("</td></tr>\n", out);
	return ferror(out) ? HL_ERR_IO : HL_OK;
}

static int
on_checkpoint_row(void *ctx, const struct hl_export_checkpoint *c)
{
	struct tx *t = ctx;
	FILE *out = t->out;
	char a[2 * HL_HASH_LEN + 1], b[2 * HL_HASH_LEN + 1];

	if (!checkpoint_wanted(t, c))
		return HL_OK;
	fprintf(out, "<tr class=\"%s\"><td>", c->status == 0 ? "" : "flash");
	html_time(out, c->at_ns);
	fputs("</td><td>", out);
	html(out, c->initiator == 0 ? t->o->station : t->o->peer->name);
	hex(a, c->our_hash, HL_HASH_LEN);
	hex(b, c->their_hash, HL_HASH_LEN);
	fprintf(out,
	        "</td><td>%llu<br><span class=\"mono\">%.12s</span></td><td>%llu<br><span "
	        "class=\"mono\">%.12s</span></td><td>",
	        (unsigned long long)c->our_seq, a, (unsigned long long)c->their_seq, b);
	if (c->answered) {
		hex(a, c->peer_our_hash, HL_HASH_LEN);
		hex(b, c->peer_their_hash, HL_HASH_LEN);
		fprintf(out,
		        "<span class=\"mono\">%.12s</span> / <span class=\"mono\">%.12s</span>", a,
		        b);
	} else {
		fputs("no answer yet", out);
	}
	fprintf(out, "</td><td>%s</td><td>", checkpoint_status(c->status));
	html(out, c->detail);
	fputs("</td></tr>\n", out);
	return ferror(out) ? HL_ERR_IO : HL_OK;
}

/* ---- talks (docs/talks.md): the register folded from the record, readouts side by side ---- */

static void
jhtml(FILE *out, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s)
		html(out, s);
	else
		fputs("&ndash;", out);
}

/* One history entry: what it did, or why it did not apply. */
static void
talks_step(FILE *out, const json_t *h)
{
	const char *type = json_string_value(json_object_get(h, "type"));
	const json_t *d = json_object_get(h, "dates");

	fputs("<tr><td>", out);
	jhtml(out, h, "at");
	fputs("</td><td>", out);
	jhtml(out, h, "by");
	fputs("<br>", out);
	jhtml(out, h, "operator");
	fputs("</td><td class=\"id\">", out);
	jhtml(out, h, "id");
	fputs("</td><td class=\"t\">", out);
	html(out, type ? type : "?");
	if (json_is_object(d)) {
		fputs(" to ", out);
		jhtml(out, d, "from");
		fputs(" &ndash; ", out);
		jhtml(out, d, "to");
	}
	if (json_is_string(json_object_get(h, "item"))) {
		fputs(": ", out);
		jhtml(out, h, "item");
	}
	if (json_is_string(json_object_get(h, "reason"))) {
		fputs(": ", out);
		jhtml(out, h, "reason");
	}
	if (json_is_integer(json_object_get(h, "version")))
		fprintf(out, " (version %lld)",
		        (long long)json_integer_value(json_object_get(h, "version")));
	fputs("</td><td", out);
	if (json_is_true(json_object_get(h, "applied"))) {
		fputs(">applied", out);
	} else {
		fputs(" class=\"refused\">not applied: ", out);
		jhtml(out, h, "note");
	}
	fputs("</td></tr>\n", out);
}

static void
talks_block(FILE *out, const json_t *o, const char *const names[2])
{
	const json_t *d = json_object_get(o, "dates"), *agenda = json_object_get(o, "agenda");
	const json_t *hist = json_object_get(o, "history"), *rd = json_object_get(o, "readouts");

	fputs("<h3>", out);
	jhtml(out, o, "title");
	fputs(" <span class=\"mono\">", out);
	jhtml(out, o, "id");
	fputs("</span></h3>\n<p>", out);
	if (json_is_string(json_object_get(o, "series"))) {
		if (json_is_string(json_object_get(o, "round_name"))) {
			jhtml(out, o, "round_name");
			fputs(" round of ", out);
		}
		jhtml(out, o, "series");
		fputs(". ", out);
	}
	fputs("Proposed by ", out);
	jhtml(out, o, "proposed_by");
	fputs(" (", out);
	jhtml(out, o, "operator");
	fputs(") at ", out);
	jhtml(out, o, "proposed_at");
	fputs(". Level ", out);
	jhtml(out, o, "level");
	fputs("; dates ", out);
	if (json_is_object(d)) {
		jhtml(out, d, "from");
		fputs(" to ", out);
		jhtml(out, d, "to");
	} else {
		fputs("none", out);
	}
	fputs("; place ", out);
	jhtml(out, o, "place");
	fputs(".<br><b>State: ", out);
	jhtml(out, o, "state_text");
	fputs("</b>", out);
	if (json_is_string(json_object_get(o, "refused"))) {
		fputs(" (", out);
		jhtml(out, o, "refused");
		fputs(")", out);
	}
	fputs("</p>\n", out);
	if (json_array_size(agenda)) {
		fputs("<p>Agenda:</p>\n<ol>\n", out);
		for (size_t i = 0; i < json_array_size(agenda); i++) {
			fputs("<li>", out);
			jhtml(out, json_array_get(agenda, i), "item");
			fputs(" <span class=\"note\">(", out);
			jhtml(out, json_array_get(agenda, i), "by");
			fputs(")</span></li>\n", out);
		}
		fputs("</ol>\n", out);
	}
	if (json_array_size(hist)) {
		fputs("<table>\n<thead><tr><th>At (sender's clock)</th><th>By</th><th>ID</th>"
		      "<th>What</th><th>Applied</th></tr></thead>\n<tbody>\n",
		      out);
		for (size_t i = 0; i < json_array_size(hist); i++)
			talks_step(out, json_array_get(hist, i));
		fputs("</tbody>\n</table>\n", out);
	}
	/* The two readouts side by side, each signed by its own station's chain. */
	fputs("<table>\n<thead><tr>", out);
	for (int s = 0; s < 2; s++) {
		fputs("<th>Readout of ", out);
		html(out, names[s]);
		fputs("</th>", out);
	}
	fputs("</tr></thead>\n<tbody><tr>", out);
	for (int s = 0; s < 2; s++) {
		const json_t *v = json_object_get(rd, names[s]);
		fputs("<td class=\"t\">", out);
		if (!json_array_size(v))
			fputs("<span class=\"note\">none</span>", out);
		for (size_t k = json_array_size(v); k-- > 0;) {
			const json_t *r = json_array_get(v, k);
			fprintf(out, "<span class=\"note\">version %lld%s, ",
			        (long long)json_integer_value(json_object_get(r, "version")),
			        k + 1 < json_array_size(v) ? " (superseded)" : "");
			jhtml(out, r, "operator");
			fputs(", ", out);
			jhtml(out, r, "at");
			fputs(", <span class=\"mono\">", out);
			jhtml(out, r, "id");
			fputs("</span></span>\n", out);
			jhtml(out, r, "text");
			fputs(k ? "\n\n" : "", out);
		}
		fputs("</td>", out);
	}
	fputs("</tr></tbody>\n</table>\n", out);
}

static int
talks_section(struct tx *t)
{
	const struct hl_transcript_opts *o = t->o;
	const char *const names[2] = {o->station, o->peer->name};
	struct hl_talks_reg reg;
	FILE *out = t->out;
	int rc;

	if ((rc = hl_store_talks_load(t->st, o->peer->id, &reg)) < 0)
		return rc;
	fputs("<h2>Talks</h2>\n", out);
	if (!reg.ntalks)
		fputs("<p>No talks on the record.</p>\n", out);
	else
		fputs(
		    "<p class=\"note\">The register as folded from every talks event of both "
		    "chains (docs/talks.md), whatever the export's start; each readout is an event "
		    "of its own station's chain, covered by that station's signed heads. Talks "
		    "imported from the public record are not part of this record.</p>\n",
		    out);
	for (size_t i = 0; rc == HL_OK && i < reg.ntalks; i++) {
		json_t *j = hl_talks_json(&reg.talks[i], names);
		if (!j) {
			rc = HL_ERR_NOMEM;
			break;
		}
		talks_block(out, j, names);
		json_decref(j);
	}
	hl_talks_reg_free(&reg);
	return rc;
}

static int
page(struct tx *t)
{
	const struct hl_transcript_opts *o = t->o;
	FILE *out = t->out;
	int rc;

	/* First pass: the verification procedure over the record, nothing written. */
	t->check = true;
	t->write = false;
	t->res->checked = true;
	t->res->verified = true;
	rc = walk(t);
	if (rc < 0)
		return rc;
	if (t->res->verified && t->chain[HL_DIR_IN].any &&
	    (!t->any_head || t->top_head < t->chain[HL_DIR_IN].next - 1))
		snprintf(t->res->warning, sizeof t->res->warning,
		         "events of %s's chain after seq %llu are not yet covered by a head it "
		         "signed (heads follow each burst within about 200 ms)",
		         o->peer->name, (unsigned long long)(t->any_head ? t->top_head : 0));
	page_head(t);

	fputs("<h2>Messages</h2>\n<table>\n<thead><tr><th>Created (sender's clock)</th>"
	      "<th>Direction</th><th>ID</th><th>Channel</th><th>Precedence</th><th>Kind</th>"
	      "<th>Text</th><th>State</th><th>Acknowledged by</th><th>Refusal reason</th></tr>"
	      "</thead>\n<tbody>\n",
	      out);
	if ((rc = hl_store_export_timeline(t->st, o->peer->id, t->first[HL_DIR_OUT],
	                                   t->first[HL_DIR_IN], on_row, t)) < 0)
		return rc;
	fputs("</tbody>\n</table>\n", out);
	if ((rc = talks_section(t)) < 0)
		return rc;
	fputs("<h2>Checkpoints</h2>\n", out);
	if (t->res->checkpoints == 0) {
		fputs("<p>No checkpoints.</p>\n", out);
	} else {
		fputs("<table>\n<thead><tr><th>At (initiator's clock)</th><th>Initiator</th>", out);
		fputs("<th>", out);
		html(out, o->station);
		fputs("'s chain: seq, head</th><th>", out);
		html(out, o->peer->name);
		fputs("'s chain: seq, head</th><th>", out);
		html(out, o->peer->name);
		fputs("'s statement: heads</th><th>Status</th><th>Detail</th></tr></thead>\n"
		      "<tbody>\n",
		      out);
		if ((rc = hl_store_export_checkpoints(t->st, o->peer->id, on_checkpoint_row, t)) <
		    0)
			return rc;
		fputs("</tbody>\n</table>\n", out);
	}
	fputs("<p class=\"note\">Times are UTC, each on the clock of the station that recorded "
	      "it. This page is a rendering for people; the record an auditor checks is the JSON "
	      "lines export: <span class=\"mono\">hotline transcript ",
	      out);
	html(out, o->peer->name);
	fputs(" --format jsonl</span> (docs/transcript.md).</p>\n</body>\n</html>\n", out);
	return HL_OK;
}

int
hl_transcript_write(struct hl_store *st, const struct hl_transcript_opts *o, FILE *out,
                    struct hl_transcript_result *res)
{
	struct tx t = {.st = st, .o = o, .res = res, .out = out};
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = hl_store_export_begin(st)) < 0)
		return rc;
	if ((rc = hl_store_key_rings(st, o->peer->id, o->station_ed25519, &t.ks, &t.kp)) < 0 ||
	    (rc = hl_store_export_first(st, o->peer->id, HL_DIR_OUT, o->since_ns,
	                                &t.first[HL_DIR_OUT])) < 0 ||
	    (rc = hl_store_export_first(st, o->peer->id, HL_DIR_IN, o->since_ns,
	                                &t.first[HL_DIR_IN])) < 0)
		goto out;
	if (o->format == HL_TRANSCRIPT_HTML) {
		rc = page(&t);
	} else {
		t.write = true;
		rc = walk(&t);
	}
	if (rc == HL_OK && (fflush(out) != 0 || ferror(out))) {
		res->write_errno = errno ? errno : EIO;
		rc = HL_ERR_IO;
	}
out:
	hl_store_export_end(st);
	return rc;
}

/* ---- --since ---- */

/* Exactly n digits at *p, advancing it. */
static bool
digits(const char **p, int n, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		*out = *out * 10 + (unsigned)(**p - '0');
	}
	return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (y >= 1970). */
static uint64_t
days_since_epoch(unsigned y, unsigned m, unsigned d)
{
	static const unsigned before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	unsigned yy = m <= 2 ? y - 1 : y; /* leap days counted up to the end of February */
	uint64_t leaps = yy / 4 - yy / 100 + yy / 400 - (1969 / 4 - 1969 / 100 + 1969 / 400);

	return (uint64_t)(y - 1970) * 365 + leaps + before[m - 1] + d - 1;
}

static bool
leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
hl_transcript_parse_time(const char *s, uint64_t *ns)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, digit;
	uint64_t secs;
	const char *p = s;

	*ns = 0;
	if (!*s)
		return HL_ERR_INVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		uint64_t v = 0;
		for (; *p; p++) {
			digit = (unsigned)(*p - '0');
			if (v > ((uint64_t)INT64_MAX - digit) / 10)
				return HL_ERR_INVAL;
			v = v * 10 + digit;
		}
		*ns = v;
		return HL_OK;
	}
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return HL_ERR_INVAL;
	if (y < 1970 || y > 2261 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return HL_ERR_INVAL;
	if (*p == 'T') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || h > 23 || mi > 59)
			return HL_ERR_INVAL;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec) || sec > 59)
				return HL_ERR_INVAL;
			if (*p == '.') {
				int n = 0;
				for (p++; *p >= '0' && *p <= '9'; p++, n++)
					if (n < 9)
						frac = frac * 10 + (unsigned)(*p - '0');
				if (n == 0)
					return HL_ERR_INVAL;
				for (; n < 9; n++)
					frac *= 10;
			}
		}
		if (*p++ != 'Z')
			return HL_ERR_INVAL;
	}
	if (*p)
		return HL_ERR_INVAL;
	secs = days_since_epoch(y, mo, d) * 86400 + (uint64_t)h * 3600 + (uint64_t)mi * 60 + sec;
	*ns = secs * UINT64_C(1000000000) + frac;
	return HL_OK;
}
