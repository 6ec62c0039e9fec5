/* SPDX-License-Identifier: ISC */
/* msg.c: event hashing and the DATA, RECEIPT, REFUSE and HEAD bodies; see msg.h. */
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "msg.h"
#include "util.h"
#include "wire.h"

#define HEADER_MAX (8 + 32 + 2 + 16 + 1 + 32 + 1 + HL_MEDIA_MAX + 1 + HL_OPERATOR_MAX + 8 + 32 + 4)

static const char *const prec_names[] = {"flash", "immediate", "priority", "routine"};

const char *
hl_prec_name(unsigned prec)
{
	return prec < HL_PREC_COUNT ? prec_names[prec] : "?";
}

void
hl_field_clean(char *s)
{
	size_t len = strlen(s), w = 0;

	for (size_t i = 0; i < len;) {
		size_t k = 1;
		while (k <= 4 && i + k <= len && !hl_utf8_valid((const uint8_t *)s + i, k))
			k++;
		if (k <= 4 && i + k <= len && (k > 1 || ((uint8_t)s[i] >= 0x20 && s[i] != 0x7f))) {
			memmove(s + w, s + i, k);
			w += k;
			i += k;
		} else if (i + 4 > len && (uint8_t)s[i] >= 0xc0) {
			break; /* a sequence cut short at the end */
		} else {
			s[w++] = '?';
			i++;
		}
	}
	s[w] = '\0';
}

const char *
hl_kind_name(unsigned kind)
{
	static const char *const names[] = {
	    "?", "message", "acknowledgment", "suspension", "resumption", "key rotation", "talks"};

	return kind < ARRAY_SIZE(names) ? names[kind] : "?";
}

bool
hl_kind_known(unsigned kind)
{
	return kind >= HL_EV_MESSAGE && kind <= HL_EV_LAST;
}

int
hl_prec_parse(const char *s, unsigned *prec)
{
	for (unsigned i = 0; i < HL_PREC_COUNT; i++)
		if (strcasecmp(s, prec_names[i]) == 0) {
			*prec = i;
			return HL_OK;
		}
	return HL_ERR_INVAL;
}

bool
hl_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c;
		size_t n;
		uint32_t cp;
		/* ASCII, 8 bytes at a time: most text is, and this runs on every message. */
		while (len - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i == len)
			break;
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

bool
hl_field_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return hl_utf8_valid((const uint8_t *)s, len);
}

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

static void
put(struct wbuf *w, const void *data, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void
put_u8(struct wbuf *w, uint8_t v)
{
	put(w, &v, 1);
}

static void
put_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(w, b, 2);
}

static void
put_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];
	hl_put_u32(b, v);
	put(w, b, 4);
}

static void
put_u64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];
	hl_put_u64(b, v);
	put(w, b, 8);
}

static void
put_str8(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);
	put_u8(w, (uint8_t)n);
	put(w, s, n);
}

struct rbuf {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static const uint8_t *
take(struct rbuf *r, size_t n)
{
	const uint8_t *at;

	if (r->bad || r->len - r->pos < n) {
		r->bad = true;
		return NULL;
	}
	at = r->p + r->pos;
	r->pos += n;
	return at;
}

static uint8_t
get_u8(struct rbuf *r)
{
	const uint8_t *p = take(r, 1);
	return p ? p[0] : 0;
}

static uint16_t
get_u16(struct rbuf *r)
{
	const uint8_t *p = take(r, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static uint32_t
get_u32(struct rbuf *r)
{
	const uint8_t *p = take(r, 4);
	return p ? hl_get_u32(p) : 0;
}

static uint64_t
get_u64(struct rbuf *r)
{
	const uint8_t *p = take(r, 8);
	return p ? hl_get_u64(p) : 0;
}

static void
get_bytes(struct rbuf *r, void *out, size_t n)
{
	const uint8_t *p = take(r, n);
	if (p)
		memcpy(out, p, n);
}

/* A length-prefixed string into out (cap bytes with the NUL); checked. */
static void
get_str8(struct rbuf *r, char *out, size_t cap)
{
	uint8_t n = get_u8(r);
	const uint8_t *p = take(r, n);

	out[0] = '\0';
	if (!p)
		return;
	if (n >= cap || !hl_field_valid((const char *)p, n)) {
		r->bad = true;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

static void
put_header(struct wbuf *w, const struct hl_event *ev)
{
	put_u64(w, ev->seq);
	put(w, ev->prev, HL_HASH_LEN);
	put_u8(w, ev->kind);
	put_u8(w, ev->precedence);
	put_u64(w, ev->created_ns);
	put_u64(w, ev->deadline_ns);
	put_str8(w, ev->channel);
	put_str8(w, ev->media_type);
	put_str8(w, ev->operator_name);
	put_u64(w, ev->ref_seq);
	put(w, ev->ref_hash, HL_HASH_LEN);
	put_u32(w, ev->body_len);
}

static void
get_header(struct rbuf *r, struct hl_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->seq = get_u64(r);
	get_bytes(r, ev->prev, HL_HASH_LEN);
	ev->kind = get_u8(r);
	ev->precedence = get_u8(r);
	ev->created_ns = get_u64(r);
	ev->deadline_ns = get_u64(r);
	get_str8(r, ev->channel, sizeof ev->channel);
	get_str8(r, ev->media_type, sizeof ev->media_type);
	get_str8(r, ev->operator_name, sizeof ev->operator_name);
	ev->ref_seq = get_u64(r);
	get_bytes(r, ev->ref_hash, HL_HASH_LEN);
	ev->body_len = get_u32(r);
	if (ev->seq == 0 || !hl_kind_known(ev->kind) || ev->precedence >= HL_PREC_COUNT ||
	    !hl_name_valid(ev->channel))
		r->bad = true;
}

void
hl_event_hash_begin(void *state, const struct hl_event *ev)
{
	static const char domain[] = "hotline-event-v1";
	uint8_t hdr[HEADER_MAX];
	struct wbuf w = {.p = hdr, .cap = sizeof hdr};

	put_header(&w, ev);
	crypto_generichash_init(state, NULL, 0, HL_HASH_LEN);
	crypto_generichash_update(state, (const uint8_t *)domain, sizeof domain - 1);
	crypto_generichash_update(state, hdr, w.len);
}

void
hl_event_hash_update(void *state, const uint8_t *chunk, size_t len)
{
	if (len)
		crypto_generichash_update(state, chunk, len);
}

void
hl_event_hash_final(void *state, uint8_t out[static HL_HASH_LEN])
{
	crypto_generichash_final(state, out, HL_HASH_LEN);
}

void
hl_event_hash(const struct hl_event *ev, uint8_t out[static HL_HASH_LEN])
{
	crypto_generichash_state st;

	hl_event_hash_begin(&st, ev);
	hl_event_hash_update(&st, ev->body, ev->body_len);
	hl_event_hash_final(&st, out);
}

void
hl_event_id(const uint8_t hash[static HL_HASH_LEN], char out[static HL_MSGID_LEN + 1])
{
	sodium_bin2hex(out, HL_MSGID_LEN + 1, hash, HL_MSGID_LEN / 2);
}

int
hl_data_encode(const struct hl_event *ev, uint32_t offset, uint8_t *out, size_t cap, size_t *len,
               uint32_t *taken)
{
	struct wbuf w = {.p = out, .cap = cap};
	uint32_t n;

	*len = 0;
	*taken = 0;
	if (offset > ev->body_len || (offset && offset == ev->body_len))
		return HL_ERR_INVAL;
	put_u64(&w, ev->seq);
	put_u32(&w, offset);
	if (offset == 0)
		put_header(&w, ev);
	if (w.overflow)
		return HL_ERR_INVAL;
	n = ev->body_len - offset;
	if (n > HL_CHUNK)
		n = HL_CHUNK;
	if (n > w.cap - w.len)
		n = (uint32_t)(w.cap - w.len);
	if (n)
		put(&w, ev->body + offset, n);
	*len = w.len;
	*taken = n;
	return HL_OK;
}

int
hl_data_decode(const uint8_t *buf, size_t len, uint64_t *seq, uint32_t *offset, struct hl_event *ev,
               const uint8_t **chunk, size_t *chunk_len)
{
	struct rbuf r = {.p = buf, .len = len};

	*chunk = NULL;
	*chunk_len = 0;
	*seq = get_u64(&r);
	*offset = get_u32(&r);
	memset(ev, 0, sizeof *ev);
	if (!r.bad && *offset == 0) {
		get_header(&r, ev);
		if (ev->seq != *seq)
			r.bad = true;
	}
	if (r.bad || *seq == 0)
		return HL_ERR_PROTO;
	if (len - r.pos > HL_CHUNK || (*offset == 0 && len - r.pos > ev->body_len))
		return HL_ERR_PROTO;
	*chunk = buf + r.pos;
	*chunk_len = len - r.pos;
	return HL_OK;
}

/* Sign or verify domain || from || to || data. */
static void
statement(crypto_sign_state *st, const char *domain, const uint8_t *from, const uint8_t *to,
          const uint8_t *data, size_t len)
{
	crypto_sign_init(st);
	crypto_sign_update(st, (const uint8_t *)domain, strlen(domain));
	crypto_sign_update(st, from, 32);
	crypto_sign_update(st, to, 32);
	crypto_sign_update(st, data, len);
}

static int
sign(const char *domain, const uint8_t *sk, const uint8_t *from, const uint8_t *to,
     const uint8_t *data, size_t len, uint8_t sig[static HL_SIG_LEN])
{
	crypto_sign_state st;

	statement(&st, domain, from, to, data, len);
	return crypto_sign_final_create(&st, sig, NULL, sk) == 0 ? HL_OK : HL_ERR_AUTH;
}

static int
verify(const char *domain, const uint8_t *from, const uint8_t *to, const uint8_t *data, size_t len,
       const uint8_t *sig)
{
	crypto_sign_state st;

	statement(&st, domain, from, to, data, len);
	return crypto_sign_final_verify(&st, sig, from) == 0 ? HL_OK : HL_ERR_AUTH;
}

/* Sign what w holds from offset start, append the signature, report the length. */
static int
seal_statement(struct wbuf *w, size_t start, const char *domain, const uint8_t *sk,
               const uint8_t *from, const uint8_t *to, size_t *len)
{
	uint8_t sig[HL_SIG_LEN];

	if (w->overflow || sign(domain, sk, from, to, w->p + start, w->len - start, sig) < 0)
		return HL_ERR_INVAL;
	put(w, sig, sizeof sig);
	if (w->overflow)
		return HL_ERR_INVAL;
	*len = w->len;
	return HL_OK;
}

int
hl_receipt_encode(const struct hl_receipt_entry *e, size_t n, const uint8_t *from_sk,
                  const uint8_t from_pk[static 32], const uint8_t to_pk[static 32], uint8_t *out,
                  size_t cap, size_t *len)
{
	struct wbuf w = {.p = out, .cap = cap};

	*len = 0;
	if (n == 0 || n > HL_RECEIPT_MAX)
		return HL_ERR_INVAL;
	put_u16(&w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		put_u64(&w, e[i].seq);
		put(&w, e[i].hash, HL_HASH_LEN);
	}
	return seal_statement(&w, 2, "hotline-receipt-v1", from_sk, from_pk, to_pk, len);
}

int
hl_receipt_decode(const uint8_t *buf, size_t len, const uint8_t from_pk[static 32],
                  const uint8_t to_pk[static 32], size_t *n, const uint8_t **entries,
                  const uint8_t **sig)
{
	size_t cnt;

	*n = 0;
	*entries = *sig = NULL;
	if (len < 2)
		return HL_ERR_PROTO;
	cnt = (size_t)(buf[0] << 8 | buf[1]);
	if (cnt == 0 || cnt > HL_RECEIPT_MAX || len != 2 + cnt * 40 + HL_SIG_LEN)
		return HL_ERR_PROTO;
	if (verify("hotline-receipt-v1", from_pk, to_pk, buf + 2, cnt * 40, buf + 2 + cnt * 40) < 0)
		return HL_ERR_AUTH;
	*n = cnt;
	*entries = buf + 2;
	*sig = buf + 2 + cnt * 40;
	return HL_OK;
}

void
hl_receipt_entry_get(const uint8_t *entries, size_t i, struct hl_receipt_entry *e)
{
	e->seq = hl_get_u64(entries + i * 40);
	memcpy(e->hash, entries + i * 40 + 8, HL_HASH_LEN);
}

int
hl_refuse_encode(uint64_t seq, const uint8_t hash[static HL_HASH_LEN], const char *reason,
                 const uint8_t *from_sk, const uint8_t from_pk[static 32],
                 const uint8_t to_pk[static 32], uint8_t *out, size_t cap, size_t *len)
{
	struct wbuf w = {.p = out, .cap = cap};
	size_t rl = strlen(reason);

	*len = 0;
	if (rl > HL_REASON_MAX)
		return HL_ERR_INVAL;
	put_u64(&w, seq);
	put(&w, hash, HL_HASH_LEN);
	put_u16(&w, (uint16_t)rl);
	put(&w, reason, rl);
	return seal_statement(&w, 0, "hotline-refuse-v1", from_sk, from_pk, to_pk, len);
}

int
hl_refuse_decode(const uint8_t *buf, size_t len, const uint8_t from_pk[static 32],
                 const uint8_t to_pk[static 32], uint64_t *seq, uint8_t hash[static HL_HASH_LEN],
                 char reason[static HL_REASON_MAX + 1], const uint8_t **sig)
{
	struct rbuf r = {.p = buf, .len = len};
	uint16_t rl;
	const uint8_t *rp;

	reason[0] = '\0';
	*sig = NULL;
	*seq = get_u64(&r);
	get_bytes(&r, hash, HL_HASH_LEN);
	rl = get_u16(&r);
	rp = take(&r, rl);
	if (r.bad || rl > HL_REASON_MAX || len - r.pos != HL_SIG_LEN ||
	    !hl_field_valid((const char *)rp, rl))
		return HL_ERR_PROTO;
	if (verify("hotline-refuse-v1", from_pk, to_pk, buf, r.pos, buf + r.pos) < 0)
		return HL_ERR_AUTH;
	memcpy(reason, rp, rl);
	reason[rl] = '\0';
	*sig = buf + r.pos;
	return HL_OK;
}

int
hl_head_encode(uint64_t seq, const uint8_t hash[static HL_HASH_LEN], const uint8_t *from_sk,
               const uint8_t from_pk[static 32], const uint8_t to_pk[static 32], uint8_t *out,
               size_t cap, size_t *len)
{
	struct wbuf w = {.p = out, .cap = cap};

	*len = 0;
	put_u64(&w, seq);
	put(&w, hash, HL_HASH_LEN);
	return seal_statement(&w, 0, "hotline-head-v1", from_sk, from_pk, to_pk, len);
}

int
hl_head_decode(const uint8_t *buf, size_t len, const uint8_t from_pk[static 32],
               const uint8_t to_pk[static 32], uint64_t *seq, uint8_t hash[static HL_HASH_LEN],
               const uint8_t **sig)
{
	*sig = NULL;
	if (len != 8 + HL_HASH_LEN + HL_SIG_LEN)
		return HL_ERR_PROTO;
	if (verify("hotline-head-v1", from_pk, to_pk, buf, 40, buf + 40) < 0)
		return HL_ERR_AUTH;
	*seq = hl_get_u64(buf);
	memcpy(hash, buf + 8, HL_HASH_LEN);
	*sig = buf + 40;
	return HL_OK;
}

int
hl_sync_encode(const struct hl_sync *s, uint8_t *out, size_t cap, size_t *len)
{
	*len = 0;
	if (cap < HL_SYNC_LEN)
		return HL_ERR_LIMIT;
	hl_put_u64(out, s->held);
	memcpy(out + 8, s->held_hash, HL_HASH_LEN);
	hl_put_u64(out + 8 + HL_HASH_LEN, s->top);
	memcpy(out + 16 + HL_HASH_LEN, s->top_hash, HL_HASH_LEN);
	*len = HL_SYNC_LEN;
	return HL_OK;
}

int
hl_sync_decode(const uint8_t *buf, size_t len, struct hl_sync *s)
{
	memset(s, 0, sizeof *s);
	if (len != HL_SYNC_LEN)
		return HL_ERR_PROTO;
	s->held = hl_get_u64(buf);
	memcpy(s->held_hash, buf + 8, HL_HASH_LEN);
	s->top = hl_get_u64(buf + 8 + HL_HASH_LEN);
	memcpy(s->top_hash, buf + 16 + HL_HASH_LEN, HL_HASH_LEN);
	/* seqs live in 63 bits (SQLite integers) */
	return s->held > INT64_MAX || s->top > INT64_MAX ? HL_ERR_PROTO : HL_OK;
}

static void
put_ckpt(struct wbuf *w, const struct hl_ckpt_stmt *s)
{
	put_u64(w, s->at_ns);
	put_u64(w, s->signer_seq);
	put(w, s->signer_hash, HL_HASH_LEN);
	put_u64(w, s->other_seq);
	put(w, s->other_hash, HL_HASH_LEN);
}

#define CKPT_STMT_LEN (8 + 8 + HL_HASH_LEN + 8 + HL_HASH_LEN)

int
hl_ckpt_encode(uint8_t flags, const struct hl_ckpt_stmt *s, const uint8_t *from_sk,
               const uint8_t from_pk[static 32], const uint8_t to_pk[static 32], uint8_t *out,
               size_t cap, size_t *len)
{
	struct wbuf w = {.p = out, .cap = cap};

	*len = 0;
	if (flags > HL_CKPT_REPLY)
		return HL_ERR_INVAL;
	put_u8(&w, flags);
	put_ckpt(&w, s);
	return seal_statement(&w, 1, "hotline-checkpoint-v1", from_sk, from_pk, to_pk, len);
}

int
hl_ckpt_decode(const uint8_t *buf, size_t len, const uint8_t from_pk[static 32],
               const uint8_t to_pk[static 32], uint8_t *flags, struct hl_ckpt_stmt *s,
               uint8_t sig[static HL_SIG_LEN])
{
	struct rbuf r = {.p = buf, .len = len};

	memset(s, 0, sizeof *s);
	if (len != 1 + CKPT_STMT_LEN + HL_SIG_LEN)
		return HL_ERR_PROTO;
	*flags = get_u8(&r);
	s->at_ns = get_u64(&r);
	s->signer_seq = get_u64(&r);
	get_bytes(&r, s->signer_hash, HL_HASH_LEN);
	s->other_seq = get_u64(&r);
	get_bytes(&r, s->other_hash, HL_HASH_LEN);
	if (r.bad || *flags > HL_CKPT_REPLY)
		return HL_ERR_PROTO;
	if (verify("hotline-checkpoint-v1", from_pk, to_pk, buf + 1, CKPT_STMT_LEN, buf + r.pos) <
	    0)
		return HL_ERR_AUTH;
	memcpy(sig, buf + r.pos, HL_SIG_LEN);
	return HL_OK;
}

int
hl_ckpt_verify(const struct hl_ckpt_stmt *s, const uint8_t sig[static HL_SIG_LEN],
               const uint8_t from_pk[static 32], const uint8_t to_pk[static 32])
{
	uint8_t buf[CKPT_STMT_LEN];
	struct wbuf w = {.p = buf, .cap = sizeof buf};

	put_ckpt(&w, s);
	return verify("hotline-checkpoint-v1", from_pk, to_pk, buf, w.len, sig);
}

/* ---- checking the statements a record keeps (src/verify.c) ---- */

int
hl_head_verify(uint64_t seq, const uint8_t hash[static HL_HASH_LEN],
               const uint8_t sig[static HL_SIG_LEN], const uint8_t from_pk[static 32],
               const uint8_t to_pk[static 32])
{
	uint8_t data[8 + HL_HASH_LEN];

	hl_put_u64(data, seq);
	memcpy(data + 8, hash, HL_HASH_LEN);
	return verify("hotline-head-v1", from_pk, to_pk, data, sizeof data, sig);
}

int
hl_receipt_verify(const uint8_t *entries, size_t n, const uint8_t sig[static HL_SIG_LEN],
                  const uint8_t from_pk[static 32], const uint8_t to_pk[static 32])
{
	if (n == 0 || n > SIZE_MAX / 40)
		return HL_ERR_INVAL;
	return verify("hotline-receipt-v1", from_pk, to_pk, entries, n * 40, sig);
}

int
hl_refuse_verify(uint64_t seq, const uint8_t hash[static HL_HASH_LEN], const char *reason,
                 size_t reason_len, const uint8_t sig[static HL_SIG_LEN],
                 const uint8_t from_pk[static 32], const uint8_t to_pk[static 32])
{
	crypto_sign_state st;
	uint8_t head[8 + HL_HASH_LEN + 2];

	if (reason_len > UINT16_MAX)
		return HL_ERR_INVAL;
	hl_put_u64(head, seq);
	memcpy(head + 8, hash, HL_HASH_LEN);
	head[40] = (uint8_t)(reason_len >> 8);
	head[41] = (uint8_t)reason_len;
	statement(&st, "hotline-refuse-v1", from_pk, to_pk, head, sizeof head);
	if (reason_len)
		crypto_sign_update(&st, (const uint8_t *)reason, reason_len);
	return crypto_sign_final_verify(&st, sig, from_pk) == 0 ? HL_OK : HL_ERR_AUTH;
}

int
hl_checkpoint_verify(uint64_t at_ns, uint64_t signer_seq,
                     const uint8_t signer_hash[static HL_HASH_LEN], uint64_t other_seq,
                     const uint8_t other_hash[static HL_HASH_LEN],
                     const uint8_t sig[static HL_SIG_LEN], const uint8_t from_pk[static 32],
                     const uint8_t to_pk[static 32])
{
	struct hl_ckpt_stmt s = {.at_ns = at_ns, .signer_seq = signer_seq, .other_seq = other_seq};

	memcpy(s.signer_hash, signer_hash, HL_HASH_LEN);
	memcpy(s.other_hash, other_hash, HL_HASH_LEN);
	return hl_ckpt_verify(&s, sig, from_pk, to_pk);
}

/* ---- key rotation statements (docs/keys.md) ---- */

#define ROTATION_DOMAIN "hotline-rotate-v1"

static bool
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* The keys a statement may name: none zero, the new ones both different from the old. */
static bool
rotation_keys_ok(const struct hl_rotation *r)
{
	return !all_zero(r->old_x25519, 32) && !all_zero(r->old_ed25519, 32) &&
	       !all_zero(r->new_x25519, 32) && !all_zero(r->new_ed25519, 32) &&
	       memcmp(r->old_x25519, r->new_x25519, 32) != 0 &&
	       memcmp(r->old_ed25519, r->new_ed25519, 32) != 0;
}

static void
put_rotation(struct wbuf *w, const struct hl_rotation *r)
{
	put_u8(w, HL_ROTATION_VERSION);
	put_str8(w, r->station);
	put(w, r->old_x25519, 32);
	put(w, r->old_ed25519, 32);
	put(w, r->new_x25519, 32);
	put(w, r->new_ed25519, 32);
	put_u64(w, r->at_ns);
}

int
hl_rotation_encode(struct hl_rotation *r, const uint8_t *old_sk, uint8_t *out, size_t cap,
                   size_t *len)
{
	struct wbuf w = {.p = out, .cap = cap};

	*len = 0;
	if (!hl_name_valid(r->station) || !rotation_keys_ok(r))
		return HL_ERR_INVAL;
	put_rotation(&w, r);
	if (seal_statement(&w, 0, ROTATION_DOMAIN, old_sk, r->old_ed25519, r->new_ed25519, len) < 0)
		return HL_ERR_INVAL;
	memcpy(r->sig, out + *len - HL_SIG_LEN, HL_SIG_LEN);
	return HL_OK;
}

int
hl_rotation_decode(const uint8_t *buf, size_t len, struct hl_rotation *r)
{
	struct rbuf rb = {.p = buf, .len = len};

	memset(r, 0, sizeof *r);
	if (get_u8(&rb) != HL_ROTATION_VERSION)
		return HL_ERR_PROTO;
	get_str8(&rb, r->station, sizeof r->station);
	get_bytes(&rb, r->old_x25519, 32);
	get_bytes(&rb, r->old_ed25519, 32);
	get_bytes(&rb, r->new_x25519, 32);
	get_bytes(&rb, r->new_ed25519, 32);
	r->at_ns = get_u64(&rb);
	get_bytes(&rb, r->sig, HL_SIG_LEN);
	if (rb.bad || rb.pos != len || !hl_name_valid(r->station) || !rotation_keys_ok(r)) {
		memset(r, 0, sizeof *r);
		return HL_ERR_PROTO;
	}
	return HL_OK;
}

int
hl_rotation_verify(const struct hl_rotation *r)
{
	uint8_t buf[HL_ROTATION_MAX];
	struct wbuf w = {.p = buf, .cap = sizeof buf};

	put_rotation(&w, r);
	if (w.overflow)
		return HL_ERR_AUTH;
	return verify(ROTATION_DOMAIN, r->old_ed25519, r->new_ed25519, buf, w.len, r->sig);
}
