/* SPDX-License-Identifier: ISC */
/*
 * test_verify.c: the verification procedure (src/verify.c). Two store
 * files stand for two stations, alpha and bravo, with real identities:
 * events travel as the daemon carries them (hl_store_pending_page, then
 * hl_store_receive), the receiver signs receipts and refusals, the sender
 * signs its chain head, and both sign a checkpoint. The clean record must
 * verify; then copies of it are tampered with directly in SQLite (a body,
 * a deleted row, two seqs swapped, a head's, a receipt's, a refusal's and a
 * checkpoint's signature) and each must fail, naming the event. The same
 * record exported as jsonl (a small exporter below, written from
 * docs/transcript.md) must verify, then fail on each malformation, and
 * hl_verify_against must find the two stations agreeing, and the first
 * difference once the export is edited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <sqlite3.h>
#include <sodium.h>

#include "keys.h"
#include "msg.h"
#include "store.h"
#include "util.h"
#include "verify.h"
#include "wire.h"
#include "t.h"

#define SEC UINT64_C(1000000000)

static char dir[] = "/tmp/hl-test-verify-XXXXXX";
static struct hl_identity id_a, id_b;

static void
bail(const char *why)
{
	printf("Bail out! %s\n", why);
	exit(1);
}

static void
path_of(char *out, size_t cap, const char *file)
{
	if (hl_path(out, cap, dir, file) < 0)
		bail("path too long");
}

static struct hl_store *
open_at(const char *file, bool create)
{
	struct hl_store *st = NULL;
	char path[512], err[512] = "";

	path_of(path, sizeof path, file);
	if (hl_store_open(path, create, &st, err, sizeof err) < 0)
		bail(err);
	return st;
}

static void
pin(struct hl_store *st, const char *name, const struct hl_identity *who)
{
	struct hl_peer_rec p = {0};

	snprintf(p.name, sizeof p.name, "%s", name);
	p.key = who->pub;
	p.nlinks = 1;
	snprintf(p.links[0], HL_ADDR_MAX, "%s.example:7400", name);
	p.added_ns = hl_wall_ns();
	if (hl_store_peer_add(st, &p) < 0)
		bail("peer add");
}

static struct hl_peer_rec
peer_of(struct hl_store *st, const char *name)
{
	struct hl_peer_rec p;

	if (hl_store_peer_get(st, name, &p) < 0)
		bail("peer get");
	return p;
}

static void
send_text(struct hl_store *st, const char *to, const char *channel, unsigned prec, const char *text)
{
	struct hl_event ev = {0};
	uint8_t hash[HL_HASH_LEN];

	ev.kind = HL_EV_MESSAGE;
	ev.precedence = (uint8_t)prec;
	ev.created_ns = hl_wall_ns();
	ev.deadline_ns = ev.created_ns + 600 * SEC;
	snprintf(ev.channel, sizeof ev.channel, "%s", channel);
	ev.body = (const uint8_t *)text;
	ev.body_len = (uint32_t)strlen(text);
	if (hl_store_append(st, peer_of(st, to).id, &ev, hash) < 0)
		bail("append");
}

/*
 * Carry every pending event of `from` to `to`, as two daemons would: the
 * receiver stores each one and signs a receipt (or a refusal), the sender
 * keeps them; then the sender's signed head reaches the receiver.
 */
static void
travel(struct hl_store *from, const char *to_name, const struct hl_identity *fid,
       struct hl_store *to, const char *from_name, const struct hl_identity *tid)
{
	struct hl_receipt_entry entries[64];
	struct {
		uint64_t seq;
		uint8_t hash[HL_HASH_LEN], sig[HL_SIG_LEN];
		char reason[HL_REASON_MAX + 1];
	} refused[8];
	struct hl_event_row *rows = NULL;
	int64_t to_id = peer_of(from, to_name).id, from_id = peer_of(to, from_name).id;
	uint8_t buf[HL_RECEIPT_MAX * 40 + 256], hash[HL_HASH_LEN];
	const uint8_t *ents, *sig;
	size_t n = 0, ne = 0, nr = 0, len;
	uint64_t end, seq;
	bool more;

	if (hl_store_pending_page(from, to_id, 0, 1000, &rows, &n, &end, &more) < 0 ||
	    hl_store_begin(to) < 0)
		bail("pending");
	for (size_t i = 0; i < n; i++) {
		char reason[HL_REASON_MAX + 1] = "";
		int outcome;
		if (hl_store_receive(to, from_id, &rows[i].ev, rows[i].hash, &outcome, reason) < 0)
			bail("receive");
		if (outcome == HL_RECV_REFUSED && nr < ARRAY_SIZE(refused)) {
			refused[nr].seq = rows[i].ev.seq;
			memcpy(refused[nr].hash, rows[i].hash, HL_HASH_LEN);
			snprintf(refused[nr].reason, sizeof refused[nr].reason, "%s", reason);
			if (hl_refuse_encode(rows[i].ev.seq, rows[i].hash, reason, tid->ed25519_sk,
			                     tid->pub.ed25519, fid->pub.ed25519, buf, sizeof buf,
			                     &len) < 0)
				bail("refuse encode");
			memcpy(refused[nr].sig, buf + len - HL_SIG_LEN, HL_SIG_LEN);
			nr++;
		} else if (outcome == HL_RECV_NEW && ne < ARRAY_SIZE(entries)) {
			entries[ne].seq = rows[i].ev.seq;
			memcpy(entries[ne].hash, rows[i].hash, HL_HASH_LEN);
			ne++;
		}
	}
	if (hl_store_commit(to) < 0 || hl_store_begin(from) < 0)
		bail("commit");
	if (ne) {
		size_t cnt;
		if (hl_receipt_encode(entries, ne, tid->ed25519_sk, tid->pub.ed25519,
		                      fid->pub.ed25519, buf, sizeof buf, &len) < 0 ||
		    hl_receipt_decode(buf, len, tid->pub.ed25519, fid->pub.ed25519, &cnt, &ents,
		                      &sig) < 0)
			bail("receipt");
		for (size_t i = 0; i < ne; i++)
			if (hl_store_mark_delivered(from, to_id, entries[i].seq, entries[i].hash,
			                            sig, 0, 0) < 0)
				bail("mark delivered");
		if (hl_store_put_receipt(from, to_id, entries, ne, sig) < 0)
			bail("put receipt");
	}
	for (size_t i = 0; i < nr; i++)
		if (hl_store_mark_refused(from, to_id, refused[i].seq, refused[i].hash,
		                          refused[i].reason, refused[i].sig, 0, 0) < 0)
			bail("mark refused");
	if (hl_store_commit(from) < 0)
		bail("commit");
	if (n) {
		seq = rows[n - 1].ev.seq;
		memcpy(hash, rows[n - 1].hash, HL_HASH_LEN);
		if (hl_head_encode(seq, hash, fid->ed25519_sk, fid->pub.ed25519, tid->pub.ed25519,
		                   buf, sizeof buf, &len) < 0 ||
		    hl_head_decode(buf, len, fid->pub.ed25519, tid->pub.ed25519, &seq, hash, &sig) <
		        0 ||
		    hl_store_put_head(to, from_id, HL_DIR_IN, seq, hash, sig) < 0)
			bail("head");
	}
	hl_event_rows_free(rows, n);
}

/* The hash of event (dir, seq) of st's chain with peer. */
static void
hash_of(struct hl_store *st, const char *peer, enum hl_dir d, uint64_t seq,
        uint8_t out[static HL_HASH_LEN])
{
	struct hl_event_row *r;

	memset(out, 0, HL_HASH_LEN);
	if (seq == 0)
		return;
	if (hl_store_event_get(st, peer_of(st, peer).id, d, seq, &r) < 0)
		bail("event get");
	memcpy(out, r->hash, HL_HASH_LEN);
	hl_event_rows_free(r, 1);
}

static void
sign_ckpt(const struct hl_identity *from, const uint8_t *to_pk, uint64_t at, uint64_t s_seq,
          const uint8_t *s_hash, uint64_t o_seq, const uint8_t *o_hash, uint8_t sig[64])
{
	uint8_t data[8 + 8 + 32 + 8 + 32];
	crypto_sign_state s;

	hl_put_u64(data, at);
	hl_put_u64(data + 8, s_seq);
	memcpy(data + 16, s_hash, 32);
	hl_put_u64(data + 48, o_seq);
	memcpy(data + 56, o_hash, 32);
	crypto_sign_init(&s);
	crypto_sign_update(&s, (const uint8_t *)"hotline-checkpoint-v1", 21);
	crypto_sign_update(&s, from->pub.ed25519, 32);
	crypto_sign_update(&s, to_pk, 32);
	crypto_sign_update(&s, data, sizeof data);
	crypto_sign_final_create(&s, sig, NULL, from->ed25519_sk);
}

static void
sql(const char *file, const char *stmt)
{
	char path[512], *msg = NULL;
	sqlite3 *db;

	path_of(path, sizeof path, file);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK) {
		printf("# sql: %s: %s\n", stmt, msg ? msg : sqlite3_errmsg(db));
		bail("sql");
	}
	sqlite3_close(db);
}

/*
 * A checkpoint both stations signed, in both stores (each as its own):
 * initiated by alpha, at at_ns, over alpha's chain up to a_seq and
 * bravo's up to b_seq.
 */
static void
checkpoint(struct hl_store *a, struct hl_store *b, uint64_t at, uint64_t a_seq, uint64_t b_seq)
{
	uint8_t ha[32], hb[32], sa[64], sb[64];
	char q[2048], xa[65], xb[65], xsa[129], xsb[129];
	int64_t a_bravo = peer_of(a, "bravo").id, b_alpha = peer_of(b, "alpha").id;

	hash_of(a, "bravo", HL_DIR_OUT, a_seq, ha);
	hash_of(a, "bravo", HL_DIR_IN, b_seq, hb);
	sign_ckpt(&id_a, id_b.pub.ed25519, at, a_seq, ha, b_seq, hb, sa);
	sign_ckpt(&id_b, id_a.pub.ed25519, at, b_seq, hb, a_seq, ha, sb);
	sodium_bin2hex(xa, sizeof xa, ha, 32);
	sodium_bin2hex(xb, sizeof xb, hb, 32);
	sodium_bin2hex(xsa, sizeof xsa, sa, 64);
	sodium_bin2hex(xsb, sizeof xsb, sb, 64);
	snprintf(q, sizeof q,
	         "INSERT INTO checkpoints (peer_id, initiator, at_ns, our_seq, their_seq, our_hash,"
	         " their_hash, our_sig, peer_our_hash, peer_their_hash, peer_sig, status) VALUES"
	         " (%lld, %d, %llu, %llu, %llu, x'%s', x'%s', x'%s', x'%s', x'%s', x'%s', 0)",
	         (long long)a_bravo, 0, (unsigned long long)at, (unsigned long long)a_seq,
	         (unsigned long long)b_seq, xa, xb, xsa, xa, xb, xsb);
	sql("a.db", q);
	snprintf(q, sizeof q,
	         "INSERT INTO checkpoints (peer_id, initiator, at_ns, our_seq, their_seq, our_hash,"
	         " their_hash, our_sig, peer_our_hash, peer_their_hash, peer_sig, status) VALUES"
	         " (%lld, %d, %llu, %llu, %llu, x'%s', x'%s', x'%s', x'%s', x'%s', x'%s', 0)",
	         (long long)b_alpha, 1, (unsigned long long)at, (unsigned long long)b_seq,
	         (unsigned long long)a_seq, xb, xa, xsb, xb, xa, xsa);
	sql("b.db", q);
}

static void
copy_file(const char *from, const char *to)
{
	char pf[512], pt[512], *data;
	size_t len;

	path_of(pf, sizeof pf, from);
	path_of(pt, sizeof pt, to);
	if (hl_file_read(pf, (size_t)1 << 30, &data, &len) < 0)
		bail("read store");
	unlink(pt);
	for (size_t i = 0; i < 2; i++) {
		char side[520];
		snprintf(side, sizeof side, "%s%s", pt, i ? "-shm" : "-wal");
		unlink(side);
	}
	if (hl_file_write(pt, data, len, 0600, false) < 0)
		bail("write copy");
	free(data);
	/* A closed store keeps its WAL (only a daemon folds it on close): copy that too. */
	strcat(pf, "-wal");
	strcat(pt, "-wal");
	if (hl_file_read(pf, (size_t)1 << 30, &data, &len) == HL_OK) {
		if (hl_file_write(pt, data, len, 0600, false) < 0)
			bail("write copy");
		free(data);
	}
}

/* Verify file's record with peer; res filled. */
static void
verify_file_store(const char *file, const char *peer, const struct hl_identity *self,
                  struct hl_verify_result *res)
{
	struct hl_store *st = open_at(file, false);
	struct hl_peer_rec p = peer_of(st, peer);

	if (hl_verify_store(st, &p, self->pub.ed25519, res) < 0)
		bail("verify store");
	hl_store_close(st);
}

/* Does one of res's failures (of type, or any when NULL) name chain and seq? */
static bool
names(const struct hl_verify_result *res, const char *type, const char *chain, uint64_t seq)
{
	for (uint64_t i = 0; i < res->nfailures && i < HL_VERIFY_KEEP; i++) {
		const struct hl_verify_problem *p = &res->failures[i];
		if ((!type || strcmp(p->type, type) == 0) && strcmp(p->chain, chain) == 0 &&
		    p->seq == seq)
			return true;
	}
	return false;
}

static void
show(const struct hl_verify_result *res)
{
	for (uint64_t i = 0; i < res->nfailures && i < HL_VERIFY_KEEP; i++)
		printf("# failure: %s chain=%s seq=%llu line=%llu id=%s: %s\n",
		       res->failures[i].type, res->failures[i].chain,
		       (unsigned long long)res->failures[i].seq,
		       (unsigned long long)res->failures[i].line, res->failures[i].id,
		       res->failures[i].what);
}

/* Tamper with a copy of file by stmt; its verification must fail, naming chain/seq. */
static void
tampered(const char *file, const char *peer, const struct hl_identity *self, const char *stmt,
         const char *type, const char *chain, uint64_t seq, const char *what)
{
	struct hl_verify_result *res = malloc(sizeof *res);

	if (!res)
		bail("oom");
	copy_file(file, "t.db");
	sql("t.db", stmt);
	verify_file_store("t.db", peer, self, res);
	T_OK(res->nfailures > 0, "%s: verify fails (%llu failures)", what,
	     (unsigned long long)res->nfailures);
	T_OK(names(res, type, chain, seq), "%s: a failure names %s chain %s seq %llu", what,
	     type ? type : "the event in", chain, (unsigned long long)seq);
	if (res->nfailures > 0) {
		const struct hl_verify_problem *p = &res->failures[0];
		T_OK(strcmp(p->chain, chain) == 0 && p->seq == seq,
		     "%s: the first failure is chain %s seq %llu (got %s %llu: %s)", what, chain,
		     (unsigned long long)seq, p->chain, (unsigned long long)p->seq, p->what);
	}
	if (!names(res, type, chain, seq))
		show(res);
	free(res);
}

/* ---- a jsonl export, written from docs/transcript.md ---- */

struct text {
	char *p;
	size_t len, cap;
};

static void
emit(struct text *t, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n;

	if (!s)
		bail("json_dumps");
	n = strlen(s);
	if (t->len + n + 2 > t->cap) {
		t->cap = (t->len + n + 2) * 2;
		if (!(t->p = realloc(t->p, t->cap)))
			bail("oom");
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len++] = '\n';
	t->p[t->len] = '\0';
	free(s);
	json_decref(o);
}

static json_t *
hexj(const void *b, int n)
{
	char s[257];

	if (!b || n <= 0 || n > 128)
		return json_null();
	sodium_bin2hex(s, sizeof s, b, (size_t)n);
	return json_string(s);
}

static json_t *
colhex(sqlite3_stmt *q, int col)
{
	return hexj(sqlite3_column_blob(q, col), sqlite3_column_bytes(q, col));
}

static json_t *
coltext_or_null(sqlite3_stmt *q, int col)
{
	const char *s = (const char *)sqlite3_column_text(q, col);
	return s && *s ? json_string(s) : json_null();
}

/* Station `self` (whose store is file) exports its record with `peer`. */
static void export(const char *file, const char *self, const struct hl_identity *sid,
                   const char *peer, struct text *out)
{
	static const char *const out_states[] = {"queued",       "sent",    "delivered",
	                                         "acknowledged", "refused", "received"};
	static const char *const in_states[] = {
	    "?", "?", "?", "acknowledged", "refused", "unacknowledged"};
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *q;
	sqlite3_int64 pid = -1;
	json_int_t cnt[6] = {0};
	const uint8_t *ppk = NULL;
	uint8_t ppk_copy[32];

	memset(out, 0, sizeof *out);
	path_of(path, sizeof path, file);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		bail("export open");
	sqlite3_prepare_v2(db, "SELECT id, ed25519 FROM peers WHERE name = ?", -1, &q, NULL);
	sqlite3_bind_text(q, 1, peer, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		pid = sqlite3_column_int64(q, 0);
		memcpy(ppk_copy, sqlite3_column_blob(q, 1), 32);
		ppk = ppk_copy;
	}
	sqlite3_finalize(q);
	if (!ppk)
		bail("export peer");
	emit(out, json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:I}", "type", "header", "format",
	                    "hotline-transcript-v1", "station", self, "station_ed25519",
	                    hexj(sid->pub.ed25519, 32), "peer", peer, "peer_ed25519", hexj(ppk, 32),
	                    "exported_at", "2026-11-26T11:00:00.000Z", "since_ns", (json_int_t)0));
	for (int d = 0; d < 2; d++) {
		sqlite3_prepare_v2(
		    db,
		    "SELECT seq, prev, hash, msg_id, kind, precedence, created_ns,"
		    " deadline_ns, channel, media_type, operator, ref_seq, ref_hash, body,"
		    " state, acked_by, reason, received_ns, sent_ns, delivered_ns,"
		    " acked_ns FROM events WHERE peer_id = ? AND dir = ? ORDER BY seq",
		    -1, &q, NULL);
		sqlite3_bind_int64(q, 1, pid);
		sqlite3_bind_int(q, 2, d);
		while (sqlite3_step(q) == SQLITE_ROW) {
			int blen = sqlite3_column_bytes(q, 13), st = sqlite3_column_int(q, 14),
			    kept;
			size_t cap = (size_t)blen / 3 * 4 + 8;
			char *b64 = malloc(cap);
			if (!b64)
				bail("oom");
			sodium_bin2base64(b64, cap, sqlite3_column_blob(q, 13), (size_t)blen,
			                  sodium_base64_VARIANT_ORIGINAL);
			/* false only for a body refused as too large (docs/transcript.md) */
			kept = !(d && st == 4 && blen == 0 &&
			         strncmp((const char *)sqlite3_column_text(q, 16), "message of ",
			                 11) == 0);
			emit(out,
			     json_pack(
			         "{s:s, s:s, s:I, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s,"
			         " s:I, s:o, s:s, s:b, s:s, s:o, s:o, s:I, s:I, s:I, s:I}",
			         "type", "event", "chain", d ? "in" : "out", "seq",
			         (json_int_t)sqlite3_column_int64(q, 0), "prev", colhex(q, 1),
			         "hash", colhex(q, 2), "id",
			         (const char *)sqlite3_column_text(q, 3), "kind",
			         (json_int_t)sqlite3_column_int(q, 4), "precedence",
			         (json_int_t)sqlite3_column_int(q, 5), "created_ns",
			         (json_int_t)sqlite3_column_int64(q, 6), "deadline_ns",
			         (json_int_t)sqlite3_column_int64(q, 7), "channel",
			         (const char *)sqlite3_column_text(q, 8), "media_type",
			         (const char *)sqlite3_column_text(q, 9), "operator",
			         (const char *)sqlite3_column_text(q, 10), "ref_seq",
			         (json_int_t)sqlite3_column_int64(q, 11), "ref_hash", colhex(q, 12),
			         "body_base64", b64, "body_kept", kept, "state",
			         d ? in_states[st % 6] : out_states[st % 6], "acknowledged_by",
			         coltext_or_null(q, 15), "refused_reason", coltext_or_null(q, 16),
			         "received_ns", (json_int_t)sqlite3_column_int64(q, 17), "sent_ns",
			         (json_int_t)sqlite3_column_int64(q, 18), "delivered_ns",
			         (json_int_t)sqlite3_column_int64(q, 19), "acked_ns",
			         (json_int_t)sqlite3_column_int64(q, 20)));
			free(b64);
			cnt[d]++;
		}
		sqlite3_finalize(q);
	}
	sqlite3_prepare_v2(db,
	                   "SELECT seq, hash, sig, at_ns FROM heads WHERE peer_id = ? AND dir = 1"
	                   " ORDER BY seq",
	                   -1, &q, NULL);
	sqlite3_bind_int64(q, 1, pid);
	for (; sqlite3_step(q) == SQLITE_ROW; cnt[2]++)
		emit(out, json_pack("{s:s, s:s, s:I, s:o, s:o, s:I}", "type", "head", "chain", "in",
		                    "seq", (json_int_t)sqlite3_column_int64(q, 0), "hash",
		                    colhex(q, 1), "sig", colhex(q, 2), "at_ns",
		                    (json_int_t)sqlite3_column_int64(q, 3)));
	sqlite3_finalize(q);
	sqlite3_prepare_v2(
	    db, "SELECT entries, sig, at_ns FROM receipts WHERE peer_id = ? ORDER BY rowid", -1, &q,
	    NULL);
	sqlite3_bind_int64(q, 1, pid);
	for (; sqlite3_step(q) == SQLITE_ROW; cnt[3]++) {
		const uint8_t *e = sqlite3_column_blob(q, 0);
		json_t *arr = json_array();
		for (int i = 0; i + 40 <= sqlite3_column_bytes(q, 0); i += 40)
			json_array_append_new(arr,
			                      json_pack("[I, o]", (json_int_t)hl_get_u64(e + i),
			                                hexj(e + i + 8, 32)));
		emit(out, json_pack("{s:s, s:s, s:o, s:o, s:I}", "type", "receipt", "chain", "out",
		                    "entries", arr, "sig", colhex(q, 1), "at_ns",
		                    (json_int_t)sqlite3_column_int64(q, 2)));
	}
	sqlite3_finalize(q);
	sqlite3_prepare_v2(
	    db,
	    "SELECT seq, hash, reason, proof FROM events WHERE peer_id = ? AND dir = 0"
	    " AND state = 4 AND proof IS NOT NULL ORDER BY seq",
	    -1, &q, NULL);
	sqlite3_bind_int64(q, 1, pid);
	for (; sqlite3_step(q) == SQLITE_ROW; cnt[4]++)
		emit(out, json_pack("{s:s, s:s, s:I, s:o, s:s, s:o}", "type", "refusal", "chain",
		                    "out", "seq", (json_int_t)sqlite3_column_int64(q, 0), "hash",
		                    colhex(q, 1), "reason", (const char *)sqlite3_column_text(q, 2),
		                    "sig", colhex(q, 3)));
	sqlite3_finalize(q);
	sqlite3_prepare_v2(db,
	                   "SELECT at_ns, initiator, our_seq, their_seq, our_hash, their_hash,"
	                   " our_sig, peer_their_hash, peer_our_hash, peer_sig, status, detail"
	                   " FROM checkpoints WHERE peer_id = ? ORDER BY at_ns, id",
	                   -1, &q, NULL);
	sqlite3_bind_int64(q, 1, pid);
	for (; sqlite3_step(q) == SQLITE_ROW; cnt[5]++) {
		static const char *const statuses[] = {"agreed", "mismatch", "waiting"};
		json_t *ps = sqlite3_column_type(q, 9) == SQLITE_NULL
		                 ? json_null()
		                 : json_pack("{s:o, s:o, s:o}", "peer_hash", colhex(q, 7),
		                             "station_hash", colhex(q, 8), "sig", colhex(q, 9));
		emit(out, json_pack("{s:s, s:I, s:s, s:I, s:I, s:{s:o, s:o, s:o}, s:o, s:s, s:s}",
		                    "type", "checkpoint", "at_ns",
		                    (json_int_t)sqlite3_column_int64(q, 0), "initiator",
		                    sqlite3_column_int(q, 1) ? "peer" : "station", "station_seq",
		                    (json_int_t)sqlite3_column_int64(q, 2), "peer_seq",
		                    (json_int_t)sqlite3_column_int64(q, 3), "station_statement",
		                    "station_hash", colhex(q, 4), "peer_hash", colhex(q, 5), "sig",
		                    colhex(q, 6), "peer_statement", ps, "status",
		                    statuses[sqlite3_column_int(q, 10) % 3], "detail",
		                    (const char *)sqlite3_column_text(q, 11)));
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	emit(out, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "type", "end", "events_out",
	                    cnt[0], "events_in", cnt[1], "heads", cnt[2], "receipts", cnt[3],
	                    "refusals", cnt[4], "checkpoints", cnt[5]));
}

/* Line n (from 1) of t: its start and length. */
static char *
line_at(struct text *t, int n, size_t *len)
{
	char *p = t->p;

	for (int i = 1; i < n && p; i++)
		if ((p = strchr(p, '\n')))
			p++;
	if (!p || !*p)
		bail("no such line");
	*len = (size_t)(strchr(p, '\n') - p);
	return p;
}

/* A copy of t with line n replaced (NULL: removed); the caller frees. */
static char *
with_line(struct text *t, int n, const char *repl, size_t *olen)
{
	size_t len, rl = repl ? strlen(repl) : 0;
	char *p = line_at(t, n, &len), *o = malloc(t->len + rl + 2);
	size_t head = (size_t)(p - t->p);

	if (!o)
		bail("oom");
	memcpy(o, t->p, head);
	if (repl) {
		memcpy(o + head, repl, rl);
		o[head + rl] = '\n';
		rl++;
	}
	memcpy(o + head + rl, p + len + 1, t->len - head - len - 1);
	*olen = head + rl + t->len - head - len - 1;
	return o;
}

/* The first line (from 1) whose text contains all of a and b. */
static int
find_line(struct text *t, const char *a, const char *b)
{
	char *p = t->p;

	for (int n = 1; p && *p; n++) {
		char *e = strchr(p, '\n');
		size_t len = (size_t)(e - p);
		char *s = strndup(p, len);
		bool hit = s && strstr(s, a) && (!b || strstr(s, b));
		free(s);
		if (hit)
			return n;
		p = e + 1;
	}
	bail("no matching line");
	return 0;
}

/* The line as a json object; edit it with fn; back as text. */
static char *
edit_line(struct text *t, int n, void (*fn)(json_t *o, const void *ctx), const void *ctx,
          size_t *olen)
{
	size_t len;
	char *p = line_at(t, n, &len), *s, *o;
	json_t *j = json_loadb(p, len, JSON_DECODE_ANY, NULL);

	if (!j)
		bail("edit_line parse");
	fn(j, ctx);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	o = with_line(t, n, s, olen);
	free(s);
	return o;
}

static void
del_key(json_t *o, const void *ctx)
{
	json_object_del(o, ctx);
}

static void
set_key(json_t *o, const void *ctx)
{
	const char *const *kv = ctx;
	json_object_set_new(o, kv[0], json_string(kv[1]));
}

static void
set_int(json_t *o, const void *ctx)
{
	const char *k = ctx;
	json_object_set_new(o, k, json_integer(json_integer_value(json_object_get(o, k)) + 1));
}

/* Read buf as a transcript: the result; t released unless keep. */
static void
read_buf(const char *buf, size_t len, size_t max, struct hl_transcript *t)
{
	if (hl_verify_buf((const uint8_t *)buf, len, max, t) < 0)
		bail("hl_verify_buf");
}

static bool
file_names(const struct hl_transcript *t, uint64_t line, const char *chain, uint64_t seq)
{
	for (uint64_t i = 0; i < t->res.nfailures && i < HL_VERIFY_KEEP; i++) {
		const struct hl_verify_problem *p = &t->res.failures[i];
		if ((line == 0 || p->line == line) && (!chain || strcmp(p->chain, chain) == 0) &&
		    (!chain || p->seq == seq))
			return true;
	}
	return false;
}

/* buf must fail, with a failure at line (0: any line) naming chain/seq (NULL: any). */
static void
bad_file(const char *what, const char *buf, size_t len, size_t max, uint64_t line,
         const char *chain, uint64_t seq)
{
	struct hl_transcript *t = malloc(sizeof *t);

	if (!t)
		bail("oom");
	read_buf(buf, len, max, t);
	T_OK(t->res.nfailures > 0, "file %s: fails (%llu)", what,
	     (unsigned long long)t->res.nfailures);
	T_OK(file_names(t, line, chain, seq), "file %s: the failure names line %llu %s %llu", what,
	     (unsigned long long)line, chain ? chain : "", (unsigned long long)seq);
	if (!file_names(t, line, chain, seq))
		show(&t->res);
	hl_transcript_free(t);
	free(t);
}

static void
good_file(const char *what, const char *buf, size_t len)
{
	struct hl_transcript *t = malloc(sizeof *t);

	if (!t)
		bail("oom");
	read_buf(buf, len, 0, t);
	T_EQ_INT(t->res.nfailures, 0, what);
	show(&t->res);
	hl_transcript_free(t);
	free(t);
}

static void
test_files(struct hl_store *b)
{
	struct hl_transcript *t = calloc(1, sizeof *t);
	struct hl_verify_against cmp;
	struct text x;
	char *o;
	size_t olen, len;
	int n;

	if (!t)
		bail("oom");
	export("a.db", "alpha", &id_a, "bravo", &x);
	/* HL_TEST_EXPORT=FILE keeps it: fuzz/corpus/transcript is made this way. */
	if (getenv("HL_TEST_EXPORT")) {
		FILE *f = fopen(getenv("HL_TEST_EXPORT"), "w");
		if (!f || fwrite(x.p, 1, x.len, f) != x.len || fclose(f) != 0)
			bail("HL_TEST_EXPORT");
	}
	read_buf(x.p, x.len, 0, t);
	T_EQ_INT(t->res.nfailures, 0, "alpha's export verifies");
	show(&t->res);
	T_OK(t->header && t->end && strcmp(t->station, "alpha") == 0 &&
	         strcmp(t->peer, "bravo") == 0,
	     "header and end read (station %s, peer %s)", t->station, t->peer);
	T_EQ_MEM(t->res.station_pk, id_a.pub.ed25519, 32, "the header's station key is alpha's");
	T_EQ_INT(t->nout, 6, "six events of chain out");
	T_EQ_INT(t->nin, 4, "four of chain in");
	T_EQ_INT(t->res.heads, 1, "one head (bravo's)");
	T_EQ_INT(t->res.refusals, 1, "one refusal");
	T_EQ_INT(t->res.cp_agreed, 1, "one agreed checkpoint");

	/* bravo's record beside alpha's export: both directions agree. */
	T_EQ_INT(hl_verify_against(b, peer_of(b, "alpha").id, t, &cmp), HL_OK, "against runs");
	T_EQ_INT(cmp.theirs.agree, 6, "alpha's chain: 6 events agree");
	T_EQ_INT(cmp.ours.agree, 4, "bravo's chain: 4 events agree");
	T_OK(cmp.theirs.differ == 0 && cmp.ours.differ == 0, "no difference");
	T_OK(cmp.theirs.only_file == 0 && cmp.theirs.only_here == 0, "nothing in flight");
	T_EQ_INT(cmp.cp_common, 1, "the checkpoint is common");
	T_EQ_INT(cmp.cp_out_seq, 4, "at bravo's out seq 4");
	T_EQ_INT(cmp.cp_in_seq, 4, "and in seq 4");
	hl_transcript_free(t);

	/* The export edited: event 3 of chain out gets another hash (and id). */
	n = find_line(&x, "\"chain\":\"out\",\"seq\":3,", NULL);
	{
		char h[65];
		const char *kv[2] = {"hash", h};
		memset(h, 'a', 64);
		h[64] = '\0';
		o = edit_line(&x, n, set_key, kv, &olen);
		read_buf(o, olen, 0, t);
		T_OK(file_names(t, (uint64_t)n, "out", 3),
		     "an edited hash fails at its line, seq 3");
		T_EQ_INT(hl_verify_against(b, peer_of(b, "alpha").id, t, &cmp), HL_OK,
		         "against runs");
		T_EQ_INT(cmp.theirs.differ, 1, "one event differs");
		T_EQ_INT(cmp.theirs.first_seq, 3, "the first difference is seq 3");
		T_EQ_INT(cmp.theirs.agree, 5, "the others agree");
		hl_transcript_free(t);
		free(o);
	}
	/* The export cut short: the last events of chain out missing, in flight at bravo. */
	n = find_line(&x, "\"chain\":\"out\",\"seq\":6,", NULL);
	o = with_line(&x, n, NULL, &olen);
	read_buf(o, olen, 0, t);
	T_OK(t->res.nfailures > 0, "an event removed: the end counts no longer match");
	T_EQ_INT(hl_verify_against(b, peer_of(b, "alpha").id, t, &cmp), HL_OK, "against runs");
	T_OK(cmp.theirs.only_here == 1 && cmp.theirs.only_here_first == 6 && cmp.theirs.differ == 0,
	     "seq 6 only at bravo: reported, not a difference");
	hl_transcript_free(t);
	free(o);

	/* Malformations, each named with its line. */
	n = find_line(&x, "\"type\":\"event\"", NULL);
	o = edit_line(&x, n, del_key, "id", &olen);
	bad_file("a missing field", o, olen, 0, (uint64_t)n, NULL, 0);
	free(o);
	{
		const char *kv[2] = {"prev", "00"};
		o = edit_line(&x, n, set_key, kv, &olen);
		bad_file("a short hex", o, olen, 0, (uint64_t)n, NULL, 0);
		free(o);
	}
	{
		char up[65];
		const char *kv[2] = {"ref_hash", up};
		memset(up, 'A', 64);
		up[64] = '\0';
		o = edit_line(&x, n, set_key, kv, &olen);
		bad_file("uppercase hex", o, olen, 0, (uint64_t)n, NULL, 0);
		free(o);
	}
	{
		const char *kv[2] = {"body_base64", "not base64!"};
		o = edit_line(&x, n, set_key, kv, &olen);
		bad_file("bad base64", o, olen, 0, (uint64_t)n, NULL, 0);
		free(o);
	}
	{
		const char *kv[2] = {"body_base64", "Zm9yZ2Vk"};
		int m = find_line(&x, "\"chain\":\"in\",\"seq\":2,", NULL);
		o = edit_line(&x, m, set_key, kv, &olen);
		bad_file("a forged body", o, olen, 0, (uint64_t)m, "in", 2);
		free(o);
	}
	{
		const char *kv[2] = {"extra", "ignored"};
		o = edit_line(&x, n, set_key, kv, &olen);
		good_file("an unknown field is ignored", o, olen);
		free(o);
	}
	n = find_line(&x, "\"type\":\"end\"", NULL);
	{
		char *end = line_at(&x, n, &len), two[1024];
		snprintf(two, sizeof two, "{\"type\":\"future-thing\",\"x\":1}\n%.*s", (int)len,
		         end);
		o = with_line(&x, n, two, &olen);
	}
	good_file("an unknown line type is ignored", o, olen);
	free(o);
	o = with_line(&x, n, NULL, &olen);
	bad_file("no end line", o, olen, 0, 0, NULL, 0);
	free(o);
	o = edit_line(&x, n, set_int, "heads", &olen);
	bad_file("an end count off by one", o, olen, 0, (uint64_t)n, NULL, 0);
	free(o);
	o = with_line(&x, 1, NULL, &olen);
	bad_file("no header", o, olen, 0, 1, NULL, 0);
	free(o);
	/* Two events swapped: the order is broken. */
	{
		size_t l2, l3;
		char *p2 = line_at(&x, 2, &l2), *p3 = line_at(&x, 3, &l3);
		char *s2 = strndup(p2, l2), *s3 = strndup(p3, l3), *tmp;
		size_t tl;
		tmp = with_line(&x, 2, s3, &tl);
		struct text y = {tmp, tl, tl};
		o = with_line(&y, 3, s2, &olen);
		bad_file("two events swapped", o, olen, 0, 3, "out", 1);
		free(o);
		free(tmp);
		free(s2);
		free(s3);
	}
	/* A head's signature replaced. */
	n = find_line(&x, "\"type\":\"head\"", NULL);
	{
		char sig[129];
		const char *kv[2] = {"sig", sig};
		memset(sig, 'b', 128);
		sig[128] = '\0';
		o = edit_line(&x, n, set_key, kv, &olen);
		bad_file("a forged head", o, olen, 0, (uint64_t)n, "in", 4);
		free(o);
		n = find_line(&x, "\"type\":\"receipt\"", NULL);
		o = edit_line(&x, n, set_key, kv, &olen);
		bad_file("a forged receipt", o, olen, 0, (uint64_t)n, "out", 1);
		free(o);
		n = find_line(&x, "\"type\":\"refusal\"", NULL);
		o = edit_line(&x, n, set_key, kv, &olen);
		bad_file("a forged refusal", o, olen, 0, (uint64_t)n, "out", 5);
		free(o);
	}
	/* Bounds and garbage. */
	bad_file("a line over the limit", x.p, x.len, 64, 1, NULL, 0);
	bad_file("empty", "", 0, 0, 0, NULL, 0);
	bad_file("not JSON", "\x01\xff\x00garbage\n", 10, 0, 1, NULL, 0);
	bad_file("an array", "[1,2]\n", 6, 0, 1, NULL, 0);
	o = malloc(x.len);
	if (!o)
		bail("oom");
	memcpy(o, x.p, x.len - 1); /* without the last newline */
	bad_file("no final newline", o, x.len - 1, 0, 0, NULL, 0);
	free(o);

	/* The same through a FILE. */
	{
		FILE *f = fmemopen(x.p, x.len, "r");
		bool okf =
		    f && hl_verify_file(f, 0, t) == HL_OK && t->res.nfailures == 0 && t->nout == 6;
		T_OK(okf, "read from a FILE: verifies the same");
		if (f)
			fclose(f);
		hl_transcript_free(t);
		f = fmemopen(x.p, x.len, "r");
		okf = f && hl_verify_file(f, 100, t) == HL_OK && t->res.nfailures == 1 &&
		      t->res.failures[0].line == 1;
		T_OK(okf, "from a FILE, a line over the limit: named");
		if (f)
			fclose(f);
		hl_transcript_free(t);
	}
	free(x.p);
	free(t);
}

struct num {
	const char *key;
	json_int_t value;
};

static void
set_num(json_t *o, const void *ctx)
{
	const struct num *n = ctx;
	json_object_set_new(o, n->key, json_integer(n->value));
}

static void
set_false(json_t *o, const void *ctx)
{
	json_object_set_new(o, ctx, json_false());
}

/*
 * A message refused as too large: bravo hashes it whole but keeps no body
 * (as the daemon does), so its hash cannot be recomputed: taken as
 * recorded, in the store and in an export (body_kept false), and nowhere
 * else. And an export's chain in must be whole.
 */
static void
test_not_kept(void)
{
	struct hl_store *c = open_at("c.db", true), *d = open_at("d.db", true);
	struct hl_verify_result *res = calloc(1, sizeof *res);
	struct hl_transcript *t = calloc(1, sizeof *t);
	struct hl_event_row *rows = NULL;
	struct text x;
	uint8_t big[2000], buf[1024], hash[HL_HASH_LEN];
	const uint8_t *sig;
	char reason[HL_REASON_MAX + 1];
	size_t n = 0, len, olen;
	uint64_t end, seq;
	bool more;
	int outcome, line;
	char *o;

	if (!res || !t)
		bail("oom");
	pin(c, "bravo", &id_b);
	pin(d, "alpha", &id_a);
	send_text(c, "bravo", "general", HL_PREC_ROUTINE, "small");
	memset(big, 'b', sizeof big);
	{
		struct hl_event ev = {0};
		ev.kind = HL_EV_MESSAGE;
		ev.precedence = HL_PREC_ROUTINE;
		ev.created_ns = hl_wall_ns();
		snprintf(ev.channel, sizeof ev.channel, "general");
		snprintf(ev.media_type, sizeof ev.media_type, "application/octet-stream");
		ev.body = big;
		ev.body_len = sizeof big;
		if (hl_store_append(c, peer_of(c, "bravo").id, &ev, hash) < 0)
			bail("append big");
	}
	if (hl_store_pending_page(c, peer_of(c, "bravo").id, 0, 10, &rows, &n, &end, &more) < 0 ||
	    n != 2)
		bail("pending");
	reason[0] = '\0';
	if (hl_store_receive(d, peer_of(d, "alpha").id, &rows[0].ev, rows[0].hash, &outcome,
	                     reason) < 0)
		bail("receive");
	snprintf(reason, sizeof reason,
	         "message of 2000 bytes exceeds this station's limit of 1024 bytes");
	rows[1].ev.body = NULL;
	rows[1].ev.body_len = 0; /* not kept; its hash is */
	if (hl_store_receive(d, peer_of(d, "alpha").id, &rows[1].ev, rows[1].hash, &outcome,
	                     reason) < 0 ||
	    outcome != HL_RECV_REFUSED)
		bail("receive big");
	seq = 2;
	memcpy(hash, rows[1].hash, HL_HASH_LEN);
	if (hl_head_encode(seq, hash, id_a.ed25519_sk, id_a.pub.ed25519, id_b.pub.ed25519, buf,
	                   sizeof buf, &len) < 0 ||
	    hl_head_decode(buf, len, id_a.pub.ed25519, id_b.pub.ed25519, &seq, hash, &sig) < 0 ||
	    hl_store_put_head(d, peer_of(d, "alpha").id, HL_DIR_IN, seq, hash, sig) < 0)
		bail("head");
	hl_event_rows_free(rows, n);
	hl_store_close(c);
	hl_store_close(d);

	verify_file_store("d.db", "alpha", &id_b, res);
	T_EQ_INT(res->nfailures, 0, "a body not kept: the record verifies");
	show(res);
	T_EQ_INT(res->in.not_kept, 1, "one body not kept, its hash taken as recorded");
	tampered("d.db", "alpha", &id_b, "UPDATE events SET reason = 'no reason' WHERE seq = 2",
	         "event", "in", 2, "a body not kept, but the refusal's reason changed");
	/*
	 * The known limit of not keeping such bodies: a kept one dropped and
	 * dressed as too large cannot be told from this record alone (its hash
	 * is still the one the chain links and heads cover, and this station's
	 * signed refusal, or receipt, is in the peer's record only).
	 */
	copy_file("d.db", "t.db");
	sql("t.db", "UPDATE events SET body = x'', state = 4, reason = 'message of 5 bytes exceeds"
	            " this station''s limit of 1 bytes' WHERE seq = 1");
	verify_file_store("t.db", "alpha", &id_b, res);
	T_OK(res->nfailures == 0 && res->in.not_kept == 2,
	     "known limit: a kept body dropped and dressed as too large passes (not kept: %llu)",
	     (unsigned long long)res->in.not_kept);

	export("d.db", "bravo", &id_b, "alpha", &x);
	read_buf(x.p, x.len, 0, t);
	T_OK(t->res.nfailures == 0 && t->res.in.not_kept == 1,
	     "its export verifies, the body not kept (no body_kept field)");
	hl_transcript_free(t);
	line = find_line(&x, "\"chain\":\"in\",\"seq\":2,", NULL);
	o = edit_line(&x, line, set_false, "body_kept", &olen);
	read_buf(o, olen, 0, t);
	T_OK(t->res.nfailures == 0 && t->res.in.not_kept == 1, "body_kept false: verifies");
	show(&t->res);
	hl_transcript_free(t);
	free(o);
	line = find_line(&x, "\"chain\":\"in\",\"seq\":1,", NULL);
	o = edit_line(&x, line, set_false, "body_kept", &olen);
	bad_file("body_kept false on a kept body", o, olen, 0, (uint64_t)line, "in", 1);
	free(o);
	/* The export without chain in's seq 1: a gap the head covers. */
	{
		struct text y;
		struct num k = {"events_in", 1};
		o = with_line(&x, line, NULL, &olen);
		y = (struct text){o, olen, olen};
		free(x.p);
		x = y;
		line = find_line(&x, "\"type\":\"end\"", NULL);
		o = edit_line(&x, line, set_num, &k, &olen);
		bad_file("chain in lacks seq 1 under the head", o, olen, 0, 0, "in", 1);
		free(o);
		/* ... and without the head: still missing from an export. */
		y.p = with_line(&x, find_line(&x, "\"type\":\"head\"", NULL), NULL, &y.len);
		free(x.p);
		x = y;
		line = find_line(&x, "\"type\":\"end\"", NULL);
		o = edit_line(&x, line, set_num, &k, &olen);
		{
			struct num h = {"heads", 0};
			struct text z = {o, olen, olen};
			char *o2 = edit_line(&z, line, set_num, &h, &olen);
			bad_file("chain in lacks seq 1, no head: an export must be whole", o2, olen,
			         0, 0, "in", 1);
			free(o2);
		}
		free(o);
	}
	free(x.p);
	free(t);
	free(res);
}

/* A head of from's chain at seq, signed by signer towards to_pk, stored at `at` as the peer's. */
static void
put_head_signed(struct hl_store *at, int64_t peer_id, uint64_t seq,
                const uint8_t hash[static HL_HASH_LEN], const struct hl_identity *signer,
                const uint8_t *to_pk)
{
	uint8_t buf[256], h[HL_HASH_LEN];
	const uint8_t *sig;
	size_t len;

	if (hl_head_encode(seq, hash, signer->ed25519_sk, signer->pub.ed25519, to_pk, buf,
	                   sizeof buf, &len) < 0 ||
	    hl_head_decode(buf, len, signer->pub.ed25519, to_pk, &seq, h, &sig) < 0 ||
	    hl_store_put_head(at, peer_id, HL_DIR_IN, seq, h, sig) < 0)
		bail("head");
}

/*
 * A record across a key rotation (docs/keys.md): alpha rotates from ra0 to
 * ra1 between two bursts. Both records verify, each with both of alpha's
 * keys; then a head signed by the old key after the switch, a head signed
 * by the new key before it was announced, and a key history that does not
 * match the KEY event each fail.
 */
static void
test_rotation(void)
{
	struct hl_identity ra0, ra1;
	struct hl_verify_result *res = calloc(1, sizeof *res);
	struct hl_store *a, *b;
	struct hl_rotation r = {0};
	uint8_t stmt[HL_ROTATION_MAX], h[HL_HASH_LEN];
	size_t len = 0, npeers = 0;
	bool existed = false;

	if (!res || hl_identity_generate(&ra0) < 0 || hl_identity_generate(&ra1) < 0)
		bail("rotation setup");
	a = open_at("ra.db", true);
	b = open_at("rb.db", true);
	pin(a, "bravo", &id_b);
	pin(b, "alpha", &ra0);
	send_text(a, "bravo", "general", HL_PREC_ROUTINE, "before the rotation");
	travel(a, "bravo", &ra0, b, "alpha", &id_b); /* seq 1, head by ra0 */
	snprintf(r.station, sizeof r.station, "alpha");
	memcpy(r.old_x25519, ra0.pub.x25519, 32);
	memcpy(r.old_ed25519, ra0.pub.ed25519, 32);
	memcpy(r.new_x25519, ra1.pub.x25519, 32);
	memcpy(r.new_ed25519, ra1.pub.ed25519, 32);
	r.at_ns = hl_wall_ns();
	if (hl_rotation_encode(&r, ra0.ed25519_sk, stmt, sizeof stmt, &len) < 0 ||
	    hl_store_begin(a) < 0 ||
	    hl_store_rotation_start(a, stmt, len, "Col. A", &existed, &npeers) < 0 ||
	    hl_store_commit(a) < 0)
		bail("rotation start");
	travel(a, "bravo", &ra0, b, "alpha", &id_b); /* seq 2: the KEY event, head by ra0 */
	if (hl_store_rotation_switched(a, 1, hl_wall_ns()) < 0 || hl_store_begin(b) < 0 ||
	    hl_store_peer_key_switch(b, peer_of(b, "alpha").id, ra1.pub.x25519) < 0 ||
	    hl_store_commit(b) < 0)
		bail("switch");
	send_text(a, "bravo", "general", HL_PREC_ROUTINE, "after the rotation");
	travel(a, "bravo", &ra1, b, "alpha", &id_b); /* seq 3, head by ra1 */
	send_text(a, "bravo", "general", HL_PREC_ROUTINE, "and again");
	travel(a, "bravo", &ra1, b, "alpha", &id_b); /* seq 4, head by ra1 */
	send_text(b, "alpha", "general", HL_PREC_ROUTINE, "understood");
	travel(b, "alpha", &id_b, a, "bravo", &ra1); /* receipts TO ra1 */

	verify_file_store("rb.db", "alpha", &id_b, res);
	show(res);
	T_EQ_INT(res->nfailures, 0, "rotation: bravo's record verifies across it");
	T_OK(res->peer_keys.n == 2 && res->peer_keys.k[1].since_seq == 2 && res->rotations == 1 &&
	         res->rotations_bad == 0 && res->heads == 4,
	     "rotation: alpha's two keys, the new one from seq 2; one rotation; four heads");
	verify_file_store("ra.db", "bravo", &ra1, res);
	show(res);
	T_EQ_INT(res->nfailures, 0, "rotation: alpha's record verifies across it");
	T_OK(res->station_keys.n == 2 && res->station_keys.k[1].since_seq == 2 &&
	         res->rotations == 1 && res->receipts == 4,
	     "rotation: alpha's own two keys, the rotation, four receipts by bravo");
	hl_store_close(a);
	hl_store_close(b); /* its WAL goes into the file the copies are made of */

	/* The old key signs a head after the switch. */
	copy_file("rb.db", "rt.db");
	{
		struct hl_store *t = open_at("rt.db", false);
		hash_of(t, "alpha", HL_DIR_IN, 4, h);
		put_head_signed(t, peer_of(t, "alpha").id, 4, h, &ra0, id_b.pub.ed25519);
		verify_file_store("rt.db", "alpha", &id_b, res);
		show(res);
		T_OK(res->nfailures > 0 && names(res, "head", "in", 4) &&
		         strstr(res->failures[0].what, "former key"),
		     "rotation: a head of the old key after the switch fails");
		hl_store_close(t);
	}
	/* The new key signs a head before the KEY event announced it. */
	copy_file("rb.db", "rt.db");
	{
		struct hl_store *t = open_at("rt.db", false);
		hash_of(t, "alpha", HL_DIR_IN, 1, h);
		put_head_signed(t, peer_of(t, "alpha").id, 1, h, &ra1, id_b.pub.ed25519);
		verify_file_store("rt.db", "alpha", &id_b, res);
		show(res);
		T_OK(res->nfailures > 0 && names(res, "head", "in", 1) &&
		         strstr(res->failures[0].what, "announced only at seq 2"),
		     "rotation: a head of the new key before its announcement fails");
		hl_store_close(t);
	}
	/* The key history no longer matches the KEY event. */
	tampered("rb.db", "alpha", &id_b, "UPDATE key_history SET event_seq = 3 WHERE state = 3",
	         "event", "in", 2, "rotation: the key history moved off its KEY event");
	/* Without the old key in the history, what it signed no longer verifies. */
	tampered("rb.db", "alpha", &id_b, "DELETE FROM key_history WHERE state = 1", "event", "in",
	         2, "rotation: the old key dropped from the history");
	hl_identity_free(&ra0);
	hl_identity_free(&ra1);
	free(res);
}

int
main(void)
{
	struct hl_store *a, *b;
	struct hl_verify_result *res = calloc(1, sizeof *res);
	char ack_id[HL_MSGID_LEN + 1], peer[HL_NAME_MAX + 1], err[256];
	struct hl_event_row *rows;
	size_t n;

	if (sodium_init() < 0 || !res || !mkdtemp(dir))
		bail("setup");
	if (hl_identity_generate(&id_a) < 0 || hl_identity_generate(&id_b) < 0)
		bail("identities");
	a = open_at("a.db", true);
	b = open_at("b.db", true);
	pin(a, "bravo", &id_b);
	pin(b, "alpha", &id_a);
	if (hl_store_channel_add(a, "bravo", "ops", false) < 0)
		bail("channel");

	/* alpha -> bravo: 4 messages (one on a channel bravo lacks: refused). */
	send_text(a, "bravo", "general", HL_PREC_ROUTINE, "convoy at the bridge");
	send_text(a, "bravo", "general", HL_PREC_FLASH, "Flash: call now");
	send_text(a, "bravo", "general", HL_PREC_ROUTINE, "third");
	send_text(a, "bravo", "general", HL_PREC_PRIORITY, "fourth");
	travel(a, "bravo", &id_a, b, "alpha", &id_b);
	/* bravo -> alpha: 3 messages and an acknowledgment. */
	send_text(b, "alpha", "general", HL_PREC_ROUTINE, "understood");
	send_text(b, "alpha", "general", HL_PREC_IMMEDIATE, "standing by");
	send_text(b, "alpha", "general", HL_PREC_ROUTINE, "over");
	if (hl_store_list(b, HL_DIR_IN, true, &rows, &n) < 0 || n == 0)
		bail("inbox");
	if (hl_store_ack(b, rows[0].msg_id, "Col. Li Wei", err, sizeof err, ack_id, peer) < 0)
		bail(err);
	hl_event_rows_free(rows, n);
	travel(b, "alpha", &id_b, a, "bravo", &id_a);
	/* alpha again: one refused (no channel ops at bravo), one more. */
	send_text(a, "bravo", "ops", HL_PREC_ROUTINE, "on a channel bravo lacks");
	send_text(a, "bravo", "general", HL_PREC_ROUTINE, "sixth");
	travel(a, "bravo", &id_a, b, "alpha", &id_b);
	checkpoint(a, b, 1795600010000000000ull, 4, 4);
	/* the last word: nothing pending on either side */

	verify_file_store("a.db", "bravo", &id_a, res);
	T_EQ_INT(res->nfailures, 0, "alpha's record verifies");
	show(res);
	T_EQ_INT(res->out.events, 6, "alpha: chain out 6 events");
	T_EQ_INT(res->in.events, 4, "alpha: chain in 4 events");
	T_EQ_INT(res->heads, 1, "alpha: one head of bravo's");
	T_EQ_INT(res->head_seq, 4, "at seq 4");
	T_EQ_INT(res->receipts, 2, "alpha: two receipts");
	T_EQ_INT(res->receipt_entries, 5, "covering five events");
	T_EQ_INT(res->refusals, 1, "alpha: one refusal, signed");
	T_EQ_INT(res->cp_agreed, 1, "one agreed checkpoint");
	T_EQ_INT(res->cp_out_seq, 4, "over out seq 4");
	T_EQ_INT(res->nwarnings, 0, "no warnings");
	verify_file_store("b.db", "alpha", &id_b, res);
	T_EQ_INT(res->nfailures, 0, "bravo's record verifies");
	show(res);
	T_EQ_INT(res->in.events, 6, "bravo: chain in 6 events");
	T_EQ_INT(res->heads, 2, "bravo: two heads of alpha's");

	/* Wrong keys: every signature fails. */
	{
		struct hl_peer_rec p = peer_of(a, "bravo");
		memcpy(p.key.ed25519, id_a.pub.ed25519, 32);
		bool failed = hl_verify_store(a, &p, id_b.pub.ed25519, res) == HL_OK &&
		              res->nfailures > 0 && res->heads_bad == 1 && res->receipts_bad == 2 &&
		              res->refusals_bad == 1;
		T_OK(failed, "with the keys swapped, heads, receipts and refusals fail");
	}
	test_files(b);
	test_not_kept();
	test_rotation();
	hl_store_close(a);
	hl_store_close(b);

	/* Tampering, each on a fresh copy. */
	tampered("b.db", "alpha", &id_b,
	         "UPDATE events SET body = CAST('forged' AS BLOB) WHERE dir = 1 AND seq = 2",
	         "event", "in", 2, "a body changed");
	tampered("b.db", "alpha", &id_b, "DELETE FROM events WHERE dir = 1 AND seq = 2", "event",
	         "in", 2, "a row deleted (below the head)");
	tampered("a.db", "bravo", &id_a, "DELETE FROM events WHERE dir = 0 AND seq = 3", "event",
	         "out", 3, "a row of our chain deleted");
	tampered("b.db", "alpha", &id_b,
	         "UPDATE events SET seq = seq + 1000 WHERE dir = 1 AND seq IN (2, 3);"
	         "UPDATE events SET seq = 3 WHERE dir = 1 AND seq = 1002;"
	         "UPDATE events SET seq = 2 WHERE dir = 1 AND seq = 1003",
	         "event", "in", 2, "two seqs swapped");
	tampered("a.db", "bravo", &id_a,
	         "UPDATE events SET seq = seq + 1000 WHERE dir = 0 AND seq IN (1, 2);"
	         "UPDATE events SET seq = 2 WHERE dir = 0 AND seq = 1001;"
	         "UPDATE events SET seq = 1 WHERE dir = 0 AND seq = 1002",
	         "event", "out", 1, "our seqs 1 and 2 swapped");
	tampered("a.db", "bravo", &id_a, "UPDATE heads SET sig = zeroblob(64)", "head", "in", 4,
	         "a head's signature replaced");
	tampered("a.db", "bravo", &id_a, "UPDATE heads SET hash = randomblob(32)", "head", "in", 4,
	         "a head's hash replaced");
	tampered("a.db", "bravo", &id_a,
	         "UPDATE receipts SET sig = randomblob(64) WHERE rowid = (SELECT max(rowid) FROM"
	         " receipts)",
	         "receipt", "out", 6, "a receipt's signature replaced");
	tampered("a.db", "bravo", &id_a,
	         "UPDATE events SET reason = 'no reason at all' WHERE dir = 0 AND state = 4",
	         "refusal", "out", 5, "a refusal's reason changed");
	tampered("a.db", "bravo", &id_a,
	         "UPDATE events SET msg_id = 'aaaaaaaaaaaa' WHERE dir = 0 AND seq = 2", "event",
	         "out", 2, "an id changed");
	tampered("a.db", "bravo", &id_a,
	         "UPDATE events SET operator = 'Someone Else' WHERE dir = 1 AND kind = 2", "event",
	         "in", 4, "the acknowledging operator changed");
	tampered("a.db", "bravo", &id_a, "UPDATE checkpoints SET our_sig = zeroblob(64)",
	         "checkpoint", "", 0, "a checkpoint's signature replaced");
	tampered("a.db", "bravo", &id_a, "UPDATE checkpoints SET status = 2", "checkpoint", "", 0,
	         "a checkpoint's status changed");

	/* Events above the highest head: in flight, a warning, not a failure. */
	copy_file("b.db", "t.db");
	sql("t.db",
	    "DELETE FROM heads WHERE seq = 6; DELETE FROM events WHERE dir = 1 AND seq = 5");
	verify_file_store("t.db", "alpha", &id_b, res);
	T_EQ_INT(res->nfailures, 0, "a gap above the highest head: no failure");
	show(res);
	T_EQ_INT(res->in.in_flight, 1, "one seq in flight");
	T_EQ_INT(res->unsigned_in, 1, "one event above the head, not yet signed");
	T_OK(res->nwarnings >= 2, "both warned (%llu)", (unsigned long long)res->nwarnings);

	hl_identity_free(&id_a);
	hl_identity_free(&id_b);
	free(res);
	{
		char p[512];
		const char *files[] = {
		    "a.db",      "b.db",      "t.db",      "a.db-wal",  "a.db-shm",  "b.db-wal",
		    "b.db-shm",  "t.db-wal",  "t.db-shm",  "ra.db",     "rb.db",     "rt.db",
		    "ra.db-wal", "ra.db-shm", "rb.db-wal", "rb.db-shm", "rt.db-wal", "rt.db-shm",
		    "c.db",      "c.db-wal",  "c.db-shm",  "d.db",      "d.db-wal",  "d.db-shm"};
		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			path_of(p, sizeof p, files[i]);
			unlink(p);
		}
		rmdir(dir);
	}
	return t_done();
}
