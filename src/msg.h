/* SPDX-License-Identifier: ISC */
/*
 * msg.h: events and the frames that carry them (docs/protocol.md,
 * "Messages"). Pure: no I/O, no allocation.
 *
 * An event is what one station originates towards one peer: a message, an
 * operator's acknowledgment, or a notice that suspends or resumes a channel. Each direction between
 * two stations is one hash chain: event seq N (from 1) carries the hash of event N-1 (zeros for N =
 * 1), and its own hash is BLAKE2b-256 over "hotline-event-v1" and the canonical encoding of every
 * field, the body included. The sender signs chain heads (HEAD frames), the receiver signs
 * receipts; nothing else is signed, the Noise link already authenticates every frame.
 */
#ifndef HL_MSG_H
#define HL_MSG_H

#include "hl.h"

#define HL_HASH_LEN 32
#define HL_SIG_LEN 64
#define HL_MSGID_LEN 12 /* hex characters of the hash that name an event */
#define HL_CHUNK 16384  /* body bytes per DATA frame */
#define HL_MEDIA_MAX 127
#define HL_OPERATOR_MAX 64
#define HL_REASON_MAX 512
#define HL_NOTICE_REASON_MAX 256 /* a notice's reason: short enough to quote in a refusal */
#define HL_RECEIPT_MAX 512       /* entries in one RECEIPT frame */

/*
 * Notices (SUSPEND, RESUME) change a channel's state: channel names it,
 * operator_name says who decided, the body is the reason (UTF-8). They are
 * signed like the rest of the chain: by the head that covers them. A KEY
 * event announces the sender's new identity key: its body is a rotation
 * statement (below) signed by the key it replaces; channel HL_KEY_CHANNEL,
 * media type HL_KEY_MEDIA, operator who rotated (docs/keys.md).
 */
enum hl_event_kind {
	HL_EV_MESSAGE = 1,
	HL_EV_ACK = 2,
	HL_EV_SUSPEND = 3,
	HL_EV_RESUME = 4,
	HL_EV_KEY = 5,   /* key rotation (docs/keys.md) */
	HL_EV_TALKS = 6, /* talks on the record: the sub-type is in the body (talks.h) */
};
#define HL_EV_LAST HL_EV_TALKS
#define HL_KEY_CHANNEL "keys"
#define HL_KEY_MEDIA "application/vnd.hotline.key-rotation"
/* "message", "acknowledgment", "suspension", "resumption", "key rotation", "talks"; "?" for others.
 */
const char *hl_kind_name(unsigned kind);
/* Is this a kind hotline writes (and so may receive)? */
bool hl_kind_known(unsigned kind);
/* ACP 121 precedence; lower is more urgent and always goes first. */
enum hl_prec { HL_PREC_FLASH = 0, HL_PREC_IMMEDIATE, HL_PREC_PRIORITY, HL_PREC_ROUTINE };
#define HL_PREC_COUNT 4

struct hl_event {
	uint64_t seq;
	uint8_t prev[HL_HASH_LEN];
	uint8_t kind, precedence;
	uint64_t created_ns, deadline_ns; /* sender's wall clock */
	char channel[33];
	char media_type[HL_MEDIA_MAX + 1];       /* "" for UTF-8 text */
	char operator_name[HL_OPERATOR_MAX + 1]; /* ACK: who read it */
	uint64_t ref_seq; /* ACK: the acknowledged event of the peer's chain */
	uint8_t ref_hash[HL_HASH_LEN];
	uint32_t body_len;
	const uint8_t *body; /* borrowed */
};

const char *hl_prec_name(unsigned prec);
/* "flash" etc. (any case) to enum; HL_ERR_INVAL else. */
HL_MUST_CHECK int hl_prec_parse(const char *s, unsigned *prec);

/* The event's chain hash (body included). */
void hl_event_hash(const struct hl_event *ev, uint8_t out[static HL_HASH_LEN]);
/*
 * The same, fed in pieces: begin with the header (ev->body unused), update
 * with the body bytes in order, then final. state is a
 * crypto_generichash_state (passed as void to keep sodium.h out of here).
 */
void hl_event_hash_begin(void *state, const struct hl_event *ev);
void hl_event_hash_update(void *state, const uint8_t *chunk, size_t len);
void hl_event_hash_final(void *state, uint8_t out[static HL_HASH_LEN]);
/* The 12-character id shown to people: hex of the hash's first 6 bytes. */
void hl_event_id(const uint8_t hash[static HL_HASH_LEN], char out[static HL_MSGID_LEN + 1]);

/* Is this valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF)? */
bool hl_utf8_valid(const uint8_t *s, size_t len);
/* A one-line header field (operator, media type, reason): UTF-8, no control characters. */
bool hl_field_valid(const char *s, size_t len);
/*
 * Make s (a NUL-terminated, possibly cut string) a valid field in place:
 * each control character or byte that is not part of valid UTF-8 becomes
 * '?' (a sequence cut at the end is dropped).
 */
void hl_field_clean(char *s);

/*
 * DATA frame body: seq u64, offset u32, then at offset 0 the event header,
 * then body bytes [offset, offset + n). hl_data_encode writes at most cap
 * bytes and reports how many body bytes it took.
 */
HL_MUST_CHECK int hl_data_encode(const struct hl_event *ev, uint32_t offset, uint8_t *out,
                                 size_t cap, size_t *len, uint32_t *taken);
/*
 * Parse a DATA frame. At offset 0, ev receives the header (ev->body is NULL);
 * chunk/chunk_len point into buf. HL_ERR_PROTO on any malformation.
 */
HL_MUST_CHECK int hl_data_decode(const uint8_t *buf, size_t len, uint64_t *seq, uint32_t *offset,
                                 struct hl_event *ev, const uint8_t **chunk, size_t *chunk_len);

/*
 * Signed statements. The keys are Ed25519, the signatures Ed25519ph
 * (libsodium's multi-part crypto_sign_init/update/final: SHA-512 of the
 * statement, then signed); "from" signs, "to" receives.
 */
struct hl_receipt_entry {
	uint64_t seq;
	uint8_t hash[HL_HASH_LEN];
};
/*
 * RECEIPT body: count u16, entries (seq u64, hash), signature over
 * "hotline-receipt-v1" || from_pk || to_pk || entries.
 */
HL_MUST_CHECK int hl_receipt_encode(const struct hl_receipt_entry *e, size_t n,
                                    const uint8_t *from_sk, const uint8_t from_pk[static 32],
                                    const uint8_t to_pk[static 32], uint8_t *out, size_t cap,
                                    size_t *len);
/* Checks the signature; entries and sig point into buf. */
HL_MUST_CHECK int hl_receipt_decode(const uint8_t *buf, size_t len,
                                    const uint8_t from_pk[static 32],
                                    const uint8_t to_pk[static 32], size_t *n,
                                    const uint8_t **entries, const uint8_t **sig);
/* Entry i of a decoded receipt. */
void hl_receipt_entry_get(const uint8_t *entries, size_t i, struct hl_receipt_entry *e);

/*
 * REFUSE body: seq u64, hash, reason length u16, reason (UTF-8), signature
 * over "hotline-refuse-v1" || from_pk || to_pk || seq || hash || length || reason.
 */
HL_MUST_CHECK int hl_refuse_encode(uint64_t seq, const uint8_t hash[static HL_HASH_LEN],
                                   const char *reason, const uint8_t *from_sk,
                                   const uint8_t from_pk[static 32], const uint8_t to_pk[static 32],
                                   uint8_t *out, size_t cap, size_t *len);
HL_MUST_CHECK int hl_refuse_decode(const uint8_t *buf, size_t len, const uint8_t from_pk[static 32],
                                   const uint8_t to_pk[static 32], uint64_t *seq,
                                   uint8_t hash[static HL_HASH_LEN],
                                   char reason[static HL_REASON_MAX + 1], const uint8_t **sig);

/*
 * HEAD body: seq u64, hash, signature over "hotline-head-v1" || from_pk ||
 * to_pk || seq || hash: the sender's word for its chain up to seq.
 */
HL_MUST_CHECK int hl_head_encode(uint64_t seq, const uint8_t hash[static HL_HASH_LEN],
                                 const uint8_t *from_sk, const uint8_t from_pk[static 32],
                                 const uint8_t to_pk[static 32], uint8_t *out, size_t cap,
                                 size_t *len);
HL_MUST_CHECK int hl_head_decode(const uint8_t *buf, size_t len, const uint8_t from_pk[static 32],
                                 const uint8_t to_pk[static 32], uint64_t *seq,
                                 uint8_t hash[static HL_HASH_LEN], const uint8_t **sig);

/*
 * A checkpoint statement (docs/transcript.md): at at_ns (the initiator's
 * clock), the signer's chain towards the other up to signer_seq has head
 * signer_hash, and the other's chain, as the signer holds it, up to
 * other_seq has head other_hash. Seq 0 means nothing yet (hash zeros).
 */
struct hl_ckpt_stmt {
	uint64_t at_ns;
	uint64_t signer_seq;
	uint8_t signer_hash[HL_HASH_LEN];
	uint64_t other_seq;
	uint8_t other_hash[HL_HASH_LEN];
};
#define HL_CKPT_REQUEST 0
#define HL_CKPT_REPLY 1
/*
 * CHECKPOINT body: flags u8 (request or reply), the statement (at_ns u64,
 * signer_seq u64, signer_hash, other_seq u64, other_hash), signature over
 * "hotline-checkpoint-v1" || from_pk || to_pk || the statement.
 */
HL_MUST_CHECK int hl_ckpt_encode(uint8_t flags, const struct hl_ckpt_stmt *s,
                                 const uint8_t *from_sk, const uint8_t from_pk[static 32],
                                 const uint8_t to_pk[static 32], uint8_t *out, size_t cap,
                                 size_t *len);
HL_MUST_CHECK int hl_ckpt_decode(const uint8_t *buf, size_t len, const uint8_t from_pk[static 32],
                                 const uint8_t to_pk[static 32], uint8_t *flags,
                                 struct hl_ckpt_stmt *s, uint8_t sig[static HL_SIG_LEN]);
/* Check a stored statement's signature: HL_OK or HL_ERR_AUTH. */
HL_MUST_CHECK int hl_ckpt_verify(const struct hl_ckpt_stmt *s, const uint8_t sig[static HL_SIG_LEN],
                                 const uint8_t from_pk[static 32], const uint8_t to_pk[static 32]);
/*
 * The statements a record keeps (docs/transcript.md), checked as stored:
 * HL_OK when sig is from_pk's signature over DOMAIN || from_pk || to_pk ||
 * DATA, HL_ERR_AUTH when it is not, HL_ERR_INVAL for impossible sizes.
 * Head: DATA = seq, hash. Receipt: DATA = the n entries as signed (seq u64,
 * hash, each). Refusal: seq, hash, reason length u16, reason. Checkpoint:
 * at_ns, signer_seq, signer_hash, other_seq, other_hash.
 */
HL_MUST_CHECK int hl_head_verify(uint64_t seq, const uint8_t hash[static HL_HASH_LEN],
                                 const uint8_t sig[static HL_SIG_LEN],
                                 const uint8_t from_pk[static 32], const uint8_t to_pk[static 32]);
HL_MUST_CHECK int hl_receipt_verify(const uint8_t *entries, size_t n,
                                    const uint8_t sig[static HL_SIG_LEN],
                                    const uint8_t from_pk[static 32],
                                    const uint8_t to_pk[static 32]);
HL_MUST_CHECK int hl_refuse_verify(uint64_t seq, const uint8_t hash[static HL_HASH_LEN],
                                   const char *reason, size_t reason_len,
                                   const uint8_t sig[static HL_SIG_LEN],
                                   const uint8_t from_pk[static 32],
                                   const uint8_t to_pk[static 32]);
HL_MUST_CHECK int hl_checkpoint_verify(uint64_t at_ns, uint64_t signer_seq,
                                       const uint8_t signer_hash[static HL_HASH_LEN],
                                       uint64_t other_seq,
                                       const uint8_t other_hash[static HL_HASH_LEN],
                                       const uint8_t sig[static HL_SIG_LEN],
                                       const uint8_t from_pk[static 32],
                                       const uint8_t to_pk[static 32]);

/*
 * A key rotation statement (the body of a KEY event; docs/keys.md): the
 * station named `station` replaces its identity keys old_* with new_* at
 * at_ns (its clock). Body: version u8 (1), station (u8 len), old_x25519 32,
 * old_ed25519 32, new_x25519 32, new_ed25519 32, at_ns u64, then the
 * signature over "hotline-rotate-v1" || old_ed25519 || new_ed25519 || every
 * byte before the signature: FROM the old key TO the new one. The same
 * statement goes to every peer.
 */
#define HL_ROTATION_VERSION 1
#define HL_ROTATION_MAX (2 + 32 + 4 * 32 + 8 + HL_SIG_LEN)
struct hl_rotation {
	char station[33];
	uint8_t old_x25519[32], old_ed25519[32], new_x25519[32], new_ed25519[32];
	uint64_t at_ns;
	uint8_t sig[HL_SIG_LEN];
};
/*
 * Encode r (its sig ignored) and sign it with old_sk, the Ed25519 secret of
 * r->old_ed25519; r->sig receives the signature. HL_ERR_INVAL for a bad
 * name, equal old and new keys or a short buffer.
 */
HL_MUST_CHECK int hl_rotation_encode(struct hl_rotation *r, const uint8_t *old_sk, uint8_t *out,
                                     size_t cap, size_t *len);
/*
 * Parse a statement (untrusted bytes), without checking the signature:
 * HL_ERR_PROTO for a wrong length or version, a bad name, all-zero keys or
 * a new key equal to the old one. Nothing is kept on an error (r zeroed).
 */
HL_MUST_CHECK int hl_rotation_decode(const uint8_t *buf, size_t len, struct hl_rotation *r);
/* Check a parsed statement's signature against its own old Ed25519 key: HL_OK or HL_ERR_AUTH. */
HL_MUST_CHECK int hl_rotation_verify(const struct hl_rotation *r);

#endif
