/* SPDX-License-Identifier: ISC */
/*
 * test_transcript.c: the transcript (src/transcript.c, src/store_export.c)
 * over a store built by hand: station alpha's record with bravo, signed
 * with keys made here, including checkpoints (agreed, mismatch, waiting),
 * which no other test produces yet. The JSON lines export is handed to the
 * independent checker (tests/tools/check_transcript.py, when a Python with
 * PyNaCl is there), the page's verification is compared with it after
 * each tampering, and --since times are parsed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>
#include <sodium.h>

#include "keys.h"
#include "msg.h"
#include "store.h"
#include "transcript.h"
#include "util.h"
#include "wire.h"
#include "t.h"

#ifndef HL_CHECKER
#define HL_CHECKER "tests/tools/check_transcript.py"
#endif

#define SEC UINT64_C(1000000000)
/* T_OK evaluates its condition twice: calls with effects go through here. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		bool check_ok_ = (cond);                                                           \
		T_OK(check_ok_, __VA_ARGS__);                                                      \
	} while (0)

static char dir[] = "/tmp/hl-test-transcript-XXXXXX";
static char db_path[512], file_path[512];
static struct hl_identity alpha, bravo;
static struct hl_peer_rec peer;
static uint8_t out_hash[4][HL_HASH_LEN], in_hash[4][HL_HASH_LEN]; /* by seq */
static const uint64_t base_ns = UINT64_C(1795600000) * SEC;
/* SQL that adds statements bravo did sign, over the wrong events (made by build). */
static char forged_head[512], forged_receipt[512];

static void
bail(const char *why)
{
	printf("Bail out! %s\n", why);
	exit(1);
}

/* Run SQL on the store file from outside the store module (to tamper with it). */
static void
sql(const char *stmt)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	if (sqlite3_open(db_path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK) {
		printf("# sql: %s\n", msg ? msg : "?");
		bail("sql");
	}
	sqlite3_close(db);
}

static void
put_blob(sqlite3_stmt *q, int col, const uint8_t *b, int n)
{
	if (b)
		sqlite3_bind_blob(q, col, b, n, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, col);
}

static void
sign_statement(const struct hl_identity *by, const uint8_t *to, uint64_t at, uint64_t sseq,
               const uint8_t *shash, uint64_t oseq, const uint8_t *ohash,
               uint8_t sig[static HL_SIG_LEN])
{
	static const char domain[] = "hotline-checkpoint-v1";
	uint8_t data[8 + 8 + 32 + 8 + 32];
	crypto_sign_state s;

	hl_put_u64(data, at);
	hl_put_u64(data + 8, sseq);
	memcpy(data + 16, shash, 32);
	hl_put_u64(data + 48, oseq);
	memcpy(data + 56, ohash, 32);
	crypto_sign_init(&s);
	crypto_sign_update(&s, (const uint8_t *)domain, sizeof domain - 1);
	crypto_sign_update(&s, by->pub.ed25519, 32);
	crypto_sign_update(&s, to, 32);
	crypto_sign_update(&s, data, sizeof data);
	crypto_sign_final_create(&s, sig, NULL, by->ed25519_sk);
}

/*
 * A checkpoints row as the checkpoint code will store it: our statement,
 * and the peer's (peer_our: its view of our chain) when answered.
 */
static void
add_checkpoint(int initiator, uint64_t at, uint64_t our_seq, uint64_t their_seq,
               const uint8_t *peer_our, const uint8_t *peer_their, int status, const char *detail)
{
	static const uint8_t zeros[32];
	const uint8_t *our = our_seq ? out_hash[our_seq] : zeros;
	const uint8_t *their = their_seq ? in_hash[their_seq] : zeros;
	uint8_t our_sig[64], peer_sig[64];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	sign_statement(&alpha, bravo.pub.ed25519, at, our_seq, our, their_seq, their, our_sig);
	if (peer_our)
		sign_statement(&bravo, alpha.pub.ed25519, at, their_seq, peer_their, our_seq,
		               peer_our, peer_sig);
	if (sqlite3_open(db_path, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO checkpoints (peer_id, initiator, at_ns, our_seq,"
	                       " their_seq, our_hash, their_hash, our_sig, peer_our_hash,"
	                       " peer_their_hash, peer_sig, status, detail)"
	                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
	                       -1, &q, NULL) != SQLITE_OK)
		bail("prepare checkpoint");
	sqlite3_bind_int64(q, 1, peer.id);
	sqlite3_bind_int(q, 2, initiator);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)at);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)our_seq);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)their_seq);
	put_blob(q, 6, our, 32);
	put_blob(q, 7, their, 32);
	put_blob(q, 8, our_sig, 64);
	put_blob(q, 9, peer_our, 32);
	put_blob(q, 10, peer_our ? peer_their : NULL, 32);
	put_blob(q, 11, peer_our ? peer_sig : NULL, 64);
	sqlite3_bind_int(q, 12, status);
	sqlite3_bind_text(q, 13, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		bail("insert checkpoint");
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void
message(struct hl_event *ev, uint64_t created, const char *media, const char *body)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = HL_EV_MESSAGE;
	ev->precedence = HL_PREC_ROUTINE;
	ev->created_ns = created;
	ev->deadline_ns = created + 3600 * SEC;
	snprintf(ev->channel, sizeof ev->channel, "general");
	snprintf(ev->media_type, sizeof ev->media_type, "%s", media);
	ev->body = (const uint8_t *)body;
	ev->body_len = (uint32_t)strlen(body);
}

/*
 * alpha's record with bravo: alpha sent 3 events (bravo receipted 1 and 2
 * in one receipt and refused 3); bravo sent 3 (the third refused here as
 * too large: its body hashed, never kept) and signed a head over them.
 */
static struct hl_store *
build(void)
{
	struct hl_store *st = NULL;
	struct hl_event ev;
	struct hl_receipt_entry e[2];
	uint8_t buf[1024], big[3000];
	const uint8_t *sig, *entries;
	char reason[HL_REASON_MAX + 1];
	size_t len, n;
	uint64_t seq;
	int outcome;

	if (hl_store_open(db_path, true, &st, reason, sizeof reason) < 0)
		bail("open store");
	memset(&peer, 0, sizeof peer);
	snprintf(peer.name, sizeof peer.name, "bravo");
	peer.key = bravo.pub;
	peer.nlinks = 1;
	snprintf(peer.links[0], HL_ADDR_MAX, "bravo.example:7400");
	if (hl_store_peer_add(st, &peer) < 0 || hl_store_peer_get(st, "bravo", &peer) < 0)
		bail("peer");

	message(&ev, base_ns + 1 * SEC, "", "convoy at the bridge <b>14:20</b> & \"so\"");
	CHECK(hl_store_append(st, peer.id, &ev, out_hash[1]) == HL_OK, "append out 1");
	message(&ev, base_ns + 3 * SEC, "application/pdf", "%PDF-1.4 not really");
	CHECK(hl_store_append(st, peer.id, &ev, out_hash[2]) == HL_OK, "append out 2");
	message(&ev, base_ns + 5 * SEC, "", "on a channel bravo lacks");
	snprintf(ev.channel, sizeof ev.channel, "maritime");
	CHECK(hl_store_append(st, peer.id, &ev, out_hash[3]) == HL_OK, "append out 3");

	/* bravo's chain: seq 1, 2 kept; seq 3 too large (hashed in full, stored without body). */
	memset(big, 'z', sizeof big);
	for (seq = 1; seq <= 3; seq++) {
		message(&ev, base_ns + (2 * seq) * SEC, "", seq == 1 ? "读到了" : "second");
		if (seq == 3) {
			ev.body = big;
			ev.body_len = sizeof big;
		}
		ev.seq = seq;
		memcpy(ev.prev, seq == 1 ? (const uint8_t[HL_HASH_LEN]){0} : in_hash[seq - 1],
		       HL_HASH_LEN);
		hl_event_hash(&ev, in_hash[seq]);
		reason[0] = '\0';
		if (seq == 3) {
			snprintf(reason, sizeof reason,
			         "message of 3000 bytes exceeds this station's "
			         "limit of 1024 bytes");
			ev.body = NULL;
			ev.body_len = 0;
		}
		CHECK(hl_store_begin(st) == HL_OK &&
		          hl_store_receive(st, peer.id, &ev, in_hash[seq], &outcome, reason) ==
		              HL_OK &&
		          hl_store_commit(st) == HL_OK,
		      "receive in %llu", (unsigned long long)seq);
	}

	/* bravo's word: a receipt for out 1 and 2, a refusal of out 3, a head over in 3. */
	for (size_t i = 0; i < 2; i++) {
		e[i].seq = i + 1;
		memcpy(e[i].hash, out_hash[i + 1], HL_HASH_LEN);
	}
	if (hl_receipt_encode(e, 2, bravo.ed25519_sk, bravo.pub.ed25519, alpha.pub.ed25519, buf,
	                      sizeof buf, &len) < 0 ||
	    hl_receipt_decode(buf, len, bravo.pub.ed25519, alpha.pub.ed25519, &n, &entries, &sig) <
	        0)
		bail("receipt");
	CHECK(hl_store_begin(st) == HL_OK &&
	          hl_store_mark_delivered(st, peer.id, 1, out_hash[1], sig, 0, 0) == HL_OK &&
	          hl_store_mark_delivered(st, peer.id, 2, out_hash[2], sig, 0, 0) == HL_OK &&
	          hl_store_put_receipt(st, peer.id, e, 2, sig) == HL_OK &&
	          hl_store_commit(st) == HL_OK,
	      "store the receipt");
	snprintf(reason, sizeof reason,
	         "no channel 'maritime' with this station here: ask its operator to run 'hotline "
	         "channel add'");
	if (hl_refuse_encode(3, out_hash[3], reason, bravo.ed25519_sk, bravo.pub.ed25519,
	                     alpha.pub.ed25519, buf, sizeof buf, &len) < 0)
		bail("refusal");
	CHECK(hl_store_mark_refused(st, peer.id, 3, out_hash[3], reason, buf + len - HL_SIG_LEN, 0,
	                            0) == HL_OK,
	      "store the refusal");
	if (hl_head_encode(3, in_hash[3], bravo.ed25519_sk, bravo.pub.ed25519, alpha.pub.ed25519,
	                   buf, sizeof buf, &len) < 0)
		bail("head");
	CHECK(hl_store_put_head(st, peer.id, HL_DIR_IN, 3, in_hash[3], buf + 40) == HL_OK,
	      "store the head");

	/* Validly signed by bravo, but over hashes that are not those of the events they name. */
	{
		char h[65], g[129];
		if (hl_head_encode(2, in_hash[3], bravo.ed25519_sk, bravo.pub.ed25519,
		                   alpha.pub.ed25519, buf, sizeof buf, &len) < 0)
			bail("forged head");
		sodium_bin2hex(h, sizeof h, in_hash[3], 32);
		sodium_bin2hex(g, sizeof g, buf + 40, 64);
		snprintf(forged_head, sizeof forged_head,
		         "INSERT INTO heads VALUES (%lld, 1, 2, X'%s', X'%s', 0)",
		         (long long)peer.id, h, g);
		e[0].seq = 1;
		memcpy(e[0].hash, out_hash[2], HL_HASH_LEN);
		if (hl_receipt_encode(e, 1, bravo.ed25519_sk, bravo.pub.ed25519, alpha.pub.ed25519,
		                      buf, sizeof buf, &len) < 0)
			bail("forged receipt");
		sodium_bin2hex(g, sizeof g, buf + 2 + 40, 64);
		sodium_bin2hex(h, sizeof h, out_hash[2], 32);
		snprintf(forged_receipt, sizeof forged_receipt,
		         "INSERT INTO receipts VALUES (%lld, 0, X'%016x%s', X'%s')",
		         (long long)peer.id, 1, h, g);
	}
	hl_store_close(st);

	/* Checkpoints: agreed at (3, 3), a mismatch at (2, 1), one waiting at (3, 0). */
	add_checkpoint(0, base_ns + 10 * SEC, 3, 3, out_hash[3], in_hash[3], 0, "");
	add_checkpoint(1, base_ns + 11 * SEC, 2, 1, out_hash[1], in_hash[1], 1,
	               "chain out differs at seq 2");
	add_checkpoint(0, base_ns + 12 * SEC, 3, 0, NULL, NULL, 2, "");
	if (hl_store_open(db_path, false, &st, reason, sizeof reason) < 0)
		bail("reopen store");
	return st;
}

/* Export to file_path; the result in *res. */
static int export(struct hl_store *st, enum hl_transcript_format f, uint64_t since,
                  struct hl_transcript_result *res)
{
	struct hl_transcript_opts o = {.format = f,
	                               .station = "alpha",
	                               .station_ed25519 = alpha.pub.ed25519,
	                               .peer = &peer,
	                               .since_ns = since,
	                               .now_ns = base_ns + 3600 * SEC};
	FILE *out = fopen(file_path, "w");
	int rc;

	if (!out)
		bail("fopen");
	rc = hl_transcript_write(st, &o, out, res);
	fclose(out);
	return rc;
}

static bool
file_has(const char *needle)
{
	char *text = NULL;
	size_t len = 0;
	bool found;

	if (hl_file_read(file_path, 1 << 20, &text, &len) < 0)
		return false;
	found = strstr(text, needle) != NULL;
	free(text);
	return found;
}

/*
 * The independent checker's verdict on file_path (its first line), or
 * NULL when no Python with PyNaCl is there.
 */
static const char *
checker(void)
{
	static char line[512];
	char cmd[2048];
	FILE *p;
	int st;

	snprintf(cmd, sizeof cmd,
	         "for p in python3 /usr/bin/python3; do if $p -c 'import nacl.bindings' "
	         "2>/dev/null; then exec $p '%s' '%s' 2>&1; fi; done; exit 77",
	         HL_CHECKER, file_path);
	if (!(p = popen(cmd, "r")))
		return NULL;
	line[0] = '\0';
	if (!fgets(line, sizeof line, p))
		line[0] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		return NULL;
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* The checker says what we expect (a prefix), or is not there (skipped, not failed). */
static void
check_file(const char *want, const char *what)
{
	const char *got = checker();

	if (!got) {
		printf("ok %d - # SKIP no Python 3 with PyNaCl for %s\n", ++t_count, what);
		return;
	}
	T_OK(strncmp(got, want, strlen(want)) == 0, "checker, %s: \"%s\"", what, got);
}

static void
test_export(void)
{
	struct hl_transcript_result res;
	struct hl_store *st = build();

	CHECK(export(st, HL_TRANSCRIPT_JSONL, 0, &res) == HL_OK, "export jsonl");
	T_EQ_INT(res.events_out, 3, "events out");
	T_EQ_INT(res.events_in, 3, "events in");
	T_EQ_INT(res.heads, 1, "heads");
	T_EQ_INT(res.receipts, 1, "receipts");
	T_EQ_INT(res.refusals, 1, "refusals");
	T_EQ_INT(res.checkpoints, 3, "checkpoints");
	T_OK(!res.checked, "jsonl runs no checks");
	T_OK(file_has("\"body_base64\":\"\",\"body_kept\":false,\"state\":\"refused\""),
	     "the body not kept is marked");
	T_OK(file_has("\"initiator\":\"peer\",\"station_seq\":2,\"peer_seq\":1"),
	     "a checkpoint the peer started");
	T_OK(file_has("\"peer_statement\":null,\"status\":\"waiting\""), "a waiting checkpoint");
	T_OK(file_has("{\"type\":\"end\",\"events_out\":3,\"events_in\":3,\"heads\":1,"
	              "\"receipts\":1,\"refusals\":1,\"checkpoints\":3}\n"),
	     "the end line");
	check_file("ok: 3 events out, 3 in, 1 heads, 1 receipts, 1 refusals, 3 checkpoints",
	           "the whole record");

	CHECK(export(st, HL_TRANSCRIPT_HTML, 0, &res) == HL_OK, "export html");
	T_OK(res.checked && res.verified, "the page verifies (%s)", res.failure);
	T_OK(res.warning[0] == '\0', "no warning (%s)", res.warning);
	T_OK(file_has("Verification: verified"), "the page says verified");
	T_OK(file_has("convoy at the bridge &lt;b&gt;14:20&lt;/b&gt; &amp; &quot;so&quot;"),
	     "the body is escaped");
	T_OK(file_has("[application/pdf, 19 bytes]"), "the attachment as type and size");
	T_OK(file_has("[not kept: refused here]"), "the body not kept");
	T_OK(file_has("<td>mismatch</td><td>chain out differs at seq 2</td>"), "the mismatch");

	/* --since the creation of out 2: out from 2, in from 2 (created at +4 s). */
	CHECK(export(st, HL_TRANSCRIPT_JSONL, base_ns + 3 * SEC, &res) == HL_OK, "export --since");
	T_EQ_INT(res.events_out, 2, "--since: events out");
	T_EQ_INT(res.events_in, 2, "--since: events in");
	T_EQ_INT(res.refusals, 1, "--since: the refusal of out 3");
	T_EQ_INT(res.receipts, 1, "--since: the receipt naming out 2, whole");
	T_EQ_INT(res.checkpoints, 3, "--since: checkpoints naming exported seqs");
	T_OK(file_has("\"entries\":[[1,"), "the receipt keeps its entry before --since");
	check_file("ok: 2 events out, 2 in, 1 heads, 1 receipts, 1 refusals, 3 checkpoints",
	           "the record --since");
	CHECK(export(st, HL_TRANSCRIPT_JSONL, base_ns + 5 * SEC + 1, &res) == HL_OK,
	      "export --since after out 3");
	T_EQ_INT(res.events_out, 0, "no event out after it");
	T_EQ_INT(res.refusals + res.receipts, 0, "nor their receipts and refusals");
	T_EQ_INT(res.checkpoints, 1, "the checkpoint naming in 3 stays");
	check_file("ok: 0 events out, 1 in, 1 heads, 0 receipts, 0 refusals, 1 checkpoints",
	           "the record --since after out 3");
	CHECK(export(st, HL_TRANSCRIPT_HTML, base_ns + 3 * SEC, &res) == HL_OK && res.verified,
	      "the page --since verifies (%s)", res.failure);
	hl_store_close(st);

	/* Tampering: each breaks both verifications, at the same line. */
	static const struct {
		const char *sql, *want, *what;
	} cases[] = {
	    {"UPDATE checkpoints SET status = 1 WHERE our_seq = 3 AND their_seq = 3",
	     "line 11 (checkpoint, station_seq 3, peer_seq 3)",
	     "an agreed checkpoint marked mismatch"},
	    {"UPDATE checkpoints SET peer_sig = zeroblob(64) WHERE our_seq = 2",
	     "line 12 (checkpoint, station_seq 2, peer_seq 1)", "the peer's statement"},
	    {"UPDATE checkpoints SET status = 0 WHERE our_seq = 2",
	     "line 12 (checkpoint, station_seq 2, peer_seq 1)", "a mismatch marked agreed"},
	    {"UPDATE checkpoints SET our_sig = zeroblob(64) WHERE their_seq = 0",
	     "line 13 (checkpoint, station_seq 3, peer_seq 0)", "our statement"},
	    {"UPDATE events SET reason = reason || '!' WHERE dir = 0 AND seq = 3",
	     "line 10 (refusal, chain out, seq 3)", "a refusal's reason"},
	    {"UPDATE receipts SET entries = substr(entries, 41) || substr(entries, 1, 40)",
	     "line 9 (receipt, chain out)", "receipt entries reordered"},
	    {"UPDATE events SET channel = 'x' WHERE dir = 1 AND seq = 2",
	     "line 6 (event, chain in, seq 2)", "an event's channel"},
	    {"UPDATE heads SET hash = (SELECT hash FROM events WHERE dir = 1 AND seq = 2)",
	     "line 8 (head, chain in, seq 3)", "a head over another event"},
	    {forged_head, "line 8 (head, chain in, seq 2)", "a signed head over another event"},
	    {forged_receipt, "line 10 (receipt, chain out, seq 1)",
	     "a signed receipt entry with another event's hash"},
	    {"UPDATE events SET msg_id = '000000000000' WHERE dir = 0 AND seq = 2",
	     "line 3 (event, chain out, seq 2)", "an id"},
	    {"UPDATE events SET prev = zeroblob(32) WHERE dir = 1 AND seq = 2",
	     "line 6 (event, chain in, seq 2)", "a prev"},
	};
	char copy[1200];
	snprintf(copy, sizeof copy, "cp '%s' '%s.orig'", db_path, db_path);
	if (system(copy) != 0)
		bail("cp");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char want[200], err[256];
		snprintf(copy, sizeof copy, "cp '%s.orig' '%s'", db_path, db_path);
		if (system(copy) != 0)
			bail("cp");
		sql(cases[i].sql);
		if (hl_store_open(db_path, false, &st, err, sizeof err) < 0)
			bail("open");
		CHECK(export(st, HL_TRANSCRIPT_HTML, 0, &res) == HL_OK && !res.verified &&
		          strncmp(res.failure, cases[i].want, strlen(cases[i].want)) == 0,
		      "page, %s: \"%s\"", cases[i].what, res.failure);
		T_OK(file_has("Verification: FAILED"), "the page says FAILED");
		T_EQ_INT(res.checkpoints, 3, "the counts go on past the failure");
		CHECK(export(st, HL_TRANSCRIPT_JSONL, 0, &res) == HL_OK, "jsonl of it");
		snprintf(want, sizeof want, "FAIL: %s", cases[i].want);
		check_file(want, cases[i].what);
		hl_store_close(st);
	}
}

static void
test_parse_time(void)
{
	static const struct {
		const char *s;
		int y, mo, d, h, mi, sec;
		uint64_t frac;
	} good[] = {
	    {"2026-11-26T08:00:00Z", 2026, 11, 26, 8, 0, 0, 0},
	    {"2026-11-26T08:47:02.248Z", 2026, 11, 26, 8, 47, 2, 248000000},
	    {"2026-11-26T08:47Z", 2026, 11, 26, 8, 47, 0, 0},
	    {"2026-11-26", 2026, 11, 26, 0, 0, 0, 0},
	    {"1970-01-01", 1970, 1, 1, 0, 0, 0, 0},
	    {"2024-02-29T23:59:59.123456789Z", 2024, 2, 29, 23, 59, 59, 123456789},
	    {"2000-03-01T00:00:00.5Z", 2000, 3, 1, 0, 0, 0, 500000000},
	    {"2100-03-01", 2100, 3, 1, 0, 0, 0, 0},
	    {"1972-12-31T23:59:59.0000000019Z", 1972, 12, 31, 23, 59, 59, 1},
	    {"2261-12-31T23:59:59Z", 2261, 12, 31, 23, 59, 59, 0},
	};
	static const char *const bad[] = {
	    "",
	    "yesterday",
	    "2026-11-26T08:00:00",
	    "2026-11-26 08:00:00Z",
	    "2026-13-01",
	    "2026-02-29",
	    "2100-02-29",
	    "2026-11-31",
	    "2026-11-26T24:00:00Z",
	    "2026-11-26T08:60Z",
	    "2026-11-26T08:00:60Z",
	    "2026-11-26T08:00:00.Z",
	    "2026-11-26T08:00:00+01:00",
	    "1969-12-31",
	    "2262-01-01",
	    "-5",
	    "9223372036854775808",
	    "12e9",
	    "2026-1-26",
	    "2026-11-26Z",
	    "2026-11-26T08Z",
	};
	uint64_t ns;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct tm tm = {.tm_year = good[i].y - 1900,
		                .tm_mon = good[i].mo - 1,
		                .tm_mday = good[i].d,
		                .tm_hour = good[i].h,
		                .tm_min = good[i].mi,
		                .tm_sec = good[i].sec};
		uint64_t want = (uint64_t)timegm(&tm) * SEC + good[i].frac;
		CHECK(hl_transcript_parse_time(good[i].s, &ns) == HL_OK && ns == want,
		      "parse %s (got %llu, want %llu)", good[i].s, (unsigned long long)ns,
		      (unsigned long long)want);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(hl_transcript_parse_time(bad[i], &ns) == HL_ERR_INVAL && ns == 0,
		      "refuse '%s'", bad[i]);
	CHECK(hl_transcript_parse_time("1795600000000000000", &ns) == HL_OK &&
	          ns == UINT64_C(1795600000000000000),
	      "nanoseconds");
	CHECK(hl_transcript_parse_time("9223372036854775807", &ns) == HL_OK &&
	          ns == UINT64_C(9223372036854775807),
	      "the largest nanoseconds");
}

int
main(void)
{
	if (sodium_init() < 0 || !mkdtemp(dir))
		bail("setup");
	if (hl_path(db_path, sizeof db_path, dir, "station.db") < 0 ||
	    hl_path(file_path, sizeof file_path, dir, "export") < 0)
		bail("path");
	if (hl_identity_generate(&alpha) < 0 || hl_identity_generate(&bravo) < 0)
		bail("keys");
	test_parse_time();
	test_export();
	hl_identity_free(&alpha);
	hl_identity_free(&bravo);
	{
		char rm[600];
		snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
		if (system(rm) != 0)
			printf("# could not remove %s\n", dir);
	}
	return t_done();
}
