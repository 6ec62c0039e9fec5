/* SPDX-License-Identifier: ISC */
/*
 * test_store_keys.c: the key lifecycle in the store (src/store_keys.c,
 * docs/keys.md). Two store files stand for two stations: alpha rotates its
 * key; its KEY event, taken from alpha's store as it would leave it, is
 * received by bravo, which records the announced key, pins it once alpha
 * shows it, and keeps the former one. Revocation, re-pinning, peers pinned
 * during a rotation, forged notices and the key histories a record's
 * verification uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "keys.h"
#include "msg.h"
#include "store.h"
#include "util.h"
#include "t.h"

/* T_OK evaluates its condition twice: these conditions have effects, so once. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		bool check_ = (cond);                                                              \
		T_OK(check_, __VA_ARGS__);                                                         \
	} while (0)

static char dir[] = "/tmp/hl-test-store-keys-XXXXXX";
static char err[512];

static struct hl_store *
open_store(const char *file)
{
	struct hl_store *st = NULL;
	char path[512];

	if (hl_path(path, sizeof path, dir, file) < 0 ||
	    hl_store_open(path, true, &st, err, sizeof err) < 0) {
		printf("Bail out! cannot open %s: %s\n", file, err);
		exit(1);
	}
	return st;
}

static void
identity(struct hl_identity *id)
{
	if (hl_identity_generate(id) < 0) {
		printf("Bail out! hl_identity_generate\n");
		exit(1);
	}
}

static int64_t
add_peer(struct hl_store *st, const char *name, const struct hl_pubkey *k)
{
	struct hl_peer_rec p = {0};

	snprintf(p.name, sizeof p.name, "%s", name);
	p.key = *k;
	p.nlinks = 1;
	snprintf(p.links[0], HL_ADDR_MAX, "%s.example:7400", name);
	p.added_ns = hl_wall_ns();
	T_EQ_INT(hl_store_peer_add(st, &p), HL_OK, "pin a peer");
	T_EQ_INT(hl_store_peer_get(st, name, &p), HL_OK, "read it back");
	return p.id;
}

/* A signed statement: from replaces its keys with to's (signed by sk, normally from's). */
static size_t
statement(const struct hl_identity *from, const struct hl_identity *to, const uint8_t *sk,
          uint8_t out[static HL_ROTATION_MAX])
{
	struct hl_rotation r = {0};
	size_t len = 0;

	snprintf(r.station, sizeof r.station, "alpha");
	memcpy(r.old_x25519, from->pub.x25519, 32);
	memcpy(r.old_ed25519, from->pub.ed25519, 32);
	memcpy(r.new_x25519, to->pub.x25519, 32);
	memcpy(r.new_ed25519, to->pub.ed25519, 32);
	r.at_ns = hl_wall_ns();
	if (hl_rotation_encode(&r, sk, out, HL_ROTATION_MAX, &len) < 0) {
		printf("Bail out! hl_rotation_encode\n");
		exit(1);
	}
	return len;
}

static int
start_rotation(struct hl_store *st, const uint8_t *stmt, size_t len, bool *existed, size_t *n)
{
	int rc = hl_store_begin(st);

	if (rc == HL_OK && (rc = hl_store_rotation_start(st, stmt, len, "Col. A", existed, n)) < 0)
		hl_store_rollback(st);
	else if (rc == HL_OK)
		rc = hl_store_commit(st);
	return rc;
}

/* Receive ev at bravo from alpha, in one transaction: the outcome, the reason. */
static int
receive(struct hl_store *st, int64_t peer, const struct hl_event *ev, int *outcome,
        char reason[static HL_REASON_MAX + 1])
{
	uint8_t hash[HL_HASH_LEN];
	int rc;

	hl_event_hash(ev, hash);
	reason[0] = '\0';
	if ((rc = hl_store_begin(st)) < 0)
		return rc;
	if ((rc = hl_store_receive(st, peer, ev, hash, outcome, reason)) < 0) {
		hl_store_rollback(st);
		return rc;
	}
	return hl_store_commit(st);
}

/* A KEY event of alpha's chain at seq, after prev. */
static void
key_event(struct hl_event *ev, uint64_t seq, const uint8_t prev[static HL_HASH_LEN],
          const uint8_t *body, size_t len)
{
	memset(ev, 0, sizeof *ev);
	ev->seq = seq;
	memcpy(ev->prev, prev, HL_HASH_LEN);
	ev->kind = HL_EV_KEY;
	ev->precedence = HL_PREC_FLASH;
	ev->created_ns = hl_wall_ns();
	snprintf(ev->channel, sizeof ev->channel, "%s", HL_KEY_CHANNEL);
	snprintf(ev->media_type, sizeof ev->media_type, "%s", HL_KEY_MEDIA);
	snprintf(ev->operator_name, sizeof ev->operator_name, "Col. A");
	ev->body = body;
	ev->body_len = (uint32_t)len;
}

struct seen {
	int state[8];
	char names[8][HL_NAME_MAX + 1];
	bool revoked[8];
	size_t n;
};

static void
on_peer(void *ctx, const char *peer, int state, const char *msg_id, bool revoked)
{
	struct seen *s = ctx;

	(void)msg_id;
	if (s->n < 8) {
		snprintf(s->names[s->n], sizeof s->names[0], "%s", peer);
		s->state[s->n] = state;
		s->revoked[s->n] = revoked;
		s->n++;
	}
}

static int
state_of(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return s->state[i];
	return -2;
}

int
main(void)
{
	struct hl_identity a0, a1, a2, b0, c0, d0, x;
	struct hl_store *sa, *sb;
	struct hl_rotation_rec rot, last;
	struct hl_peer_rec p;
	struct hl_event_row *rows = NULL;
	struct hl_event ev;
	struct hl_keyring ks, kp;
	struct seen seen;
	uint8_t stmt[HL_ROTATION_MAX], stmt2[HL_ROTATION_MAX], bad[HL_ROTATION_MAX];
	uint8_t prev[HL_HASH_LEN], hash[HL_HASH_LEN], sig[HL_SIG_LEN] = {0};
	char reason[HL_REASON_MAX + 1], why[HL_REASON_MAX + 1];
	size_t len, len2, blen, n = 0, waiting = 0, npeers = 0;
	int64_t bravo, charlie, alpha_at_b;
	uint64_t at = 0, end;
	bool existed = false, found = false, more, same = false;
	int outcome = -1;

	if (sodium_init() < 0 || !mkdtemp(dir)) {
		printf("Bail out! setup\n");
		return 1;
	}
	identity(&a0);
	identity(&a1);
	identity(&a2);
	identity(&b0);
	identity(&c0);
	identity(&d0);
	identity(&x);
	sa = open_store("alpha.db");
	sb = open_store("bravo.db");
	bravo = add_peer(sa, "bravo", &b0.pub);
	charlie = add_peer(sa, "charlie", &c0.pub);
	alpha_at_b = add_peer(sb, "alpha", &a0.pub);

	/* ---- alpha starts a rotation: one KEY event per peer ---- */
	len = statement(&a0, &a1, a0.ed25519_sk, stmt);
	T_EQ_INT(start_rotation(sa, stmt, len, &existed, &npeers), HL_OK, "rotation started");
	CHECK(!existed && npeers == 2, "announced to both peers (%zu)", npeers);
	T_EQ_INT(start_rotation(sa, stmt, len, &existed, &npeers), HL_OK,
	         "the same again (a retry)");
	CHECK(existed, "... finds it: no second rotation");
	len2 = statement(&a0, &a2, a0.ed25519_sk, stmt2);
	T_EQ_INT(start_rotation(sa, stmt2, len2, &existed, &npeers), HL_ERR_BUSY,
	         "another rotation while one is under way");
	T_EQ_INT(start_rotation(sa, stmt, len - 1, &existed, &npeers), HL_ERR_INVAL,
	         "a statement that does not parse");
	CHECK(hl_store_rotation_pending(sa, &rot, &found) == HL_OK && found &&
	          rot.stmt_len == len && memcmp(rot.stmt, stmt, len) == 0 &&
	          strcmp(rot.operator_name, "Col. A") == 0 && rot.switched_ns == 0,
	      "the rotation under way, as recorded");
	CHECK(hl_store_rotation_last(sa, &last, &found) == HL_OK && !found, "none switched yet");
	memset(&seen, 0, sizeof seen);
	T_EQ_INT(hl_store_rotation_peers(sa, &rot, on_peer, &seen, &waiting), HL_OK, "peers");
	CHECK(waiting == 2 && state_of(&seen, "bravo") == HL_ST_QUEUED &&
	          state_of(&seen, "charlie") == HL_ST_QUEUED,
	      "both wait, their notices queued (waiting %zu)", waiting);

	/* ---- revocation ---- */
	T_EQ_INT(hl_store_peer_revoke(sa, "charlie", "compromised", &at), HL_OK, "revoke charlie");
	CHECK(at > 0, "at a time");
	T_EQ_INT(hl_store_peer_revoke(sa, "charlie", "again", &end), HL_ERR_EXISTS, "revoke twice");
	CHECK(end == at, "... says since when");
	T_EQ_INT(hl_store_peer_revoke(sa, "nobody", "x", &end), HL_ERR_NOTFOUND, "revoke nobody");
	CHECK(hl_store_peer_get(sa, "charlie", &p) == HL_OK && p.revoked_ns == at &&
	          strcmp(p.revoked_reason, "compromised") == 0,
	      "the peer record carries it");
	memset(&seen, 0, sizeof seen);
	CHECK(hl_store_rotation_peers(sa, &rot, on_peer, &seen, &waiting) == HL_OK && waiting == 1,
	      "a revoked peer is not waited for (waiting %zu)", waiting);
	ev = (struct hl_event){.kind = HL_EV_MESSAGE, .created_ns = hl_wall_ns()};
	snprintf(ev.channel, sizeof ev.channel, "general");
	T_EQ_INT(hl_store_check_new(sa, charlie, &ev, why), HL_ERR_INVAL,
	         "no message to a revoked peer");
	CHECK(strstr(why, "was revoked") && strstr(why, "compromised"), "why: %s", why);

	/* ---- bravo receives the KEY event ---- */
	CHECK(hl_store_pending_page(sa, bravo, 0, 100, &rows, &n, &end, &more) == HL_OK && n == 1 &&
	          rows[0].ev.kind == HL_EV_KEY && rows[0].ev.precedence == HL_PREC_FLASH &&
	          rows[0].ev.body_len == len && memcmp(rows[0].ev.body, stmt, len) == 0,
	      "alpha's chain to bravo holds the KEY event, FLASH, with the statement");
	ev = rows[0].ev;
	memcpy(hash, rows[0].hash, HL_HASH_LEN);
	T_EQ_INT(receive(sb, alpha_at_b, &ev, &outcome, reason), HL_OK, "bravo receives it");
	CHECK(outcome == HL_RECV_NEW && !reason[0], "accepted (%d, \"%s\")", outcome, reason);
	CHECK(hl_store_peer_get(sb, "alpha", &p) == HL_OK && p.has_next &&
	          memcmp(&p.next, &a1.pub, sizeof p.next) == 0 &&
	          memcmp(&p.key, &a0.pub, sizeof p.key) == 0,
	      "bravo: the new key announced, the old one still pinned");
	T_EQ_INT(receive(sb, alpha_at_b, &ev, &outcome, reason), HL_OK, "again");
	T_EQ_INT(outcome, HL_RECV_DUPLICATE, "a duplicate");
	T_EQ_INT(hl_store_mark_delivered(sa, bravo, 1, hash, sig, 0, 0), HL_OK, "bravo's receipt");
	CHECK(hl_store_rotation_peers(sa, &rot, NULL, NULL, &waiting) == HL_OK && waiting == 0,
	      "alpha waits for nobody now");
	hl_event_rows_free(rows, n);
	rows = NULL;

	/* Forged or stale notices are refused, and the chain goes on. */
	memcpy(prev, hash, HL_HASH_LEN);
	blen = statement(&a0, &a2, x.ed25519_sk, bad);
	key_event(&ev, 2, prev, bad, blen);
	CHECK(receive(sb, alpha_at_b, &ev, &outcome, reason) == HL_OK &&
	          outcome == HL_RECV_REFUSED && strstr(reason, "signature"),
	      "signed by another key than the old one: refused (%s)", reason);
	hl_event_hash(&ev, prev);
	blen = statement(&x, &a2, x.ed25519_sk, bad);
	key_event(&ev, 3, prev, bad, blen);
	CHECK(receive(sb, alpha_at_b, &ev, &outcome, reason) == HL_OK &&
	          outcome == HL_RECV_REFUSED && strstr(reason, "not the one pinned"),
	      "replacing a key not pinned here: refused (%s)", reason);
	hl_event_hash(&ev, prev);
	blen = statement(&a0, &b0, a0.ed25519_sk, bad);
	key_event(&ev, 4, prev, bad, blen);
	add_peer(sb, "self", &b0.pub); /* a key bravo has pinned for another peer */
	CHECK(receive(sb, alpha_at_b, &ev, &outcome, reason) == HL_OK &&
	          outcome == HL_RECV_REFUSED && strstr(reason, "pinned here for peer"),
	      "a new key pinned for another peer: refused (%s)", reason);
	hl_event_hash(&ev, prev);
	key_event(&ev, 5, prev, (const uint8_t *)"junk", 4);
	CHECK(receive(sb, alpha_at_b, &ev, &outcome, reason) == HL_OK &&
	          outcome == HL_RECV_REFUSED && strstr(reason, "does not parse"),
	      "a body that is no statement: refused (%s)", reason);
	CHECK(hl_store_peer_get(sb, "alpha", &p) == HL_OK && p.has_next &&
	          memcmp(&p.next, &a1.pub, sizeof p.next) == 0,
	      "the refusals left the announced key alone");

	/* ---- the switch: alpha's side, then bravo's on proof ---- */
	T_EQ_INT(hl_store_rotation_switched(sa, rot.id, hl_wall_ns()), HL_OK, "alpha switched");
	CHECK(hl_store_rotation_pending(sa, &last, &found) == HL_OK && !found, "nothing under way");
	CHECK(hl_store_rotation_last(sa, &last, &found) == HL_OK && found && last.switched_ns,
	      "the last rotation, switched");
	T_EQ_INT(hl_store_begin(sb), HL_OK, "begin");
	T_EQ_INT(hl_store_peer_key_switch(sb, alpha_at_b, a1.pub.x25519), HL_OK,
	         "bravo: alpha showed its new key");
	T_EQ_INT(hl_store_peer_key_switch(sb, alpha_at_b, a1.pub.x25519), HL_OK,
	         "a second proof changes nothing");
	T_EQ_INT(hl_store_peer_key_switch(sb, alpha_at_b, x.pub.x25519), HL_ERR_NOTFOUND,
	         "a key never announced");
	T_EQ_INT(hl_store_commit(sb), HL_OK, "commit");
	CHECK(hl_store_peer_get(sb, "alpha", &p) == HL_OK && !p.has_next &&
	          memcmp(&p.key, &a1.pub, sizeof p.key) == 0 && p.nretired == 1 &&
	          memcmp(p.retired_x25519[0], a0.pub.x25519, 32) == 0,
	      "bravo pins the new key, the old one retired");

	/* ---- the key histories of the records ---- */
	T_EQ_INT(hl_store_key_rings(sa, bravo, a1.pub.ed25519, &ks, &kp), HL_OK, "alpha's rings");
	CHECK(ks.n == 2 && memcmp(ks.k[0].ed25519, a0.pub.ed25519, 32) == 0 &&
	          ks.k[0].since_seq == 0 && memcmp(ks.k[1].ed25519, a1.pub.ed25519, 32) == 0 &&
	          ks.k[1].since_seq == 1,
	      "alpha's keys: the old one, then the new one from seq 1 of its chain to bravo");
	CHECK(kp.n == 1 && memcmp(kp.k[0].ed25519, b0.pub.ed25519, 32) == 0, "bravo's: one");
	T_EQ_INT(hl_store_key_rings(sb, alpha_at_b, b0.pub.ed25519, &ks, &kp), HL_OK,
	         "bravo's rings");
	CHECK(ks.n == 1 && kp.n == 2 && memcmp(kp.k[0].ed25519, a0.pub.ed25519, 32) == 0 &&
	          memcmp(kp.k[1].ed25519, a1.pub.ed25519, 32) == 0 && kp.k[1].since_seq == 1,
	      "alpha's keys as bravo holds them, the new one from seq 1");

	/* ---- re-pinning ---- */
	T_EQ_INT(hl_store_peer_repin(sb, "alpha", &a1.pub, &same), HL_OK, "re-pin the same key");
	CHECK(same, "only a revocation would be lifted");
	T_EQ_INT(hl_store_peer_repin(sb, "alpha", &b0.pub, &same), HL_ERR_EXISTS,
	         "another peer's key");
	T_EQ_INT(hl_store_peer_repin(sb, "nobody", &x.pub, &same), HL_ERR_NOTFOUND, "no such peer");
	T_EQ_INT(hl_store_peer_repin(sb, "alpha", &x.pub, &same), HL_OK, "a new key, out of band");
	CHECK(!same && hl_store_peer_get(sb, "alpha", &p) == HL_OK &&
	          memcmp(&p.key, &x.pub, sizeof p.key) == 0 && p.nretired == 2,
	      "pinned, the former keys kept");
	CHECK(hl_store_key_rings(sb, alpha_at_b, b0.pub.ed25519, &ks, &kp) == HL_OK && kp.n == 3 &&
	          kp.k[2].since_seq == 0,
	      "three keys of alpha's, the last pinned out of band");

	/* ---- a rotation under way reaches peers pinned or re-pinned meanwhile ---- */
	len2 = statement(&a1, &a2, a1.ed25519_sk, stmt2);
	T_EQ_INT(start_rotation(sa, stmt2, len2, &existed, &npeers), HL_OK, "a second rotation");
	T_EQ_INT(npeers, 1, "to bravo only: charlie is revoked");
	add_peer(sa, "delta", &d0.pub);
	T_EQ_INT(hl_store_peer_repin(sa, "charlie", &c0.pub, &same), HL_OK, "charlie re-pinned");
	CHECK(same && hl_store_peer_get(sa, "charlie", &p) == HL_OK && !p.revoked_ns,
	      "its revocation lifted");
	CHECK(hl_store_rotation_pending(sa, &rot, &found) == HL_OK && found, "under way");
	memset(&seen, 0, sizeof seen);
	CHECK(hl_store_rotation_peers(sa, &rot, on_peer, &seen, &waiting) == HL_OK &&
	          waiting == 3 && state_of(&seen, "delta") == HL_ST_QUEUED &&
	          state_of(&seen, "charlie") == HL_ST_QUEUED,
	      "the new peer and the re-pinned one got the notice too (waiting %zu)", waiting);
	T_EQ_INT(hl_store_rotation_notify_all(sa, &n), HL_OK, "notify all again");
	T_EQ_INT(n, 0, "... adds nothing: one notice per peer");

	hl_store_close(sa);
	hl_store_close(sb);
	hl_identity_free(&a0);
	hl_identity_free(&a1);
	hl_identity_free(&a2);
	hl_identity_free(&b0);
	hl_identity_free(&c0);
	hl_identity_free(&d0);
	hl_identity_free(&x);
	{
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return t_done();
}
