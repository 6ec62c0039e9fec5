/* SPDX-License-Identifier: ISC */
/*
 * test_store_msg.c: channels and the two chains of events (src/store_msg.c).
 * Two store files stand for two stations: A ("alpha") sends to B ("bravo");
 * what travels between them is taken from the sender's store as it would
 * leave it (hl_store_pending_page) and handed to the receiver's hl_store_receive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <sodium.h>

#include "keys.h"
#include "msg.h"
#include "store.h"
#include "util.h"
#include "t.h"
#include "t_sqlite.h"

#define NEV 6
#define SEC UINT64_C(1000000000)

/* Every pending event of ours to peer_id after seq `after` (one big page). */
static int
pending(struct hl_store *st, int64_t peer_id, uint64_t after, struct hl_event_row **rows, size_t *n)
{
	uint64_t end;
	bool more;

	return hl_store_pending_page(st, peer_id, after, 1u << 20, rows, n, &end, &more);
}

static char dir[] = "/tmp/hl-test-store-msg-XXXXXX";
static char err[512];

/* The two stations' public keys. */
static struct hl_pubkey key_a, key_b;
/* A's events towards B, as appended (index = seq - 1). */
static struct hl_event sent_ev[NEV];
static uint8_t sent_hash[NEV][HL_HASH_LEN];
static char sent_id[NEV][HL_MSGID_LEN + 1];
static uint64_t base_ns;

static const uint8_t bin_body[] = {0x00, 0x01, 0xff, 0x00, 'h', 'l', 0x00, 0x80, 0x00};
static const char *const text_body = "convoy at the bridge, 14:20";

static void
path_of(char *out, size_t cap, const char *file)
{
	if (hl_path(out, cap, dir, file) < 0) {
		printf("Bail out! path too long\n");
		exit(1);
	}
}

static struct hl_store *
open_store(const char *file, bool create)
{
	struct hl_store *st = NULL;
	char path[512];
	int rc;

	path_of(path, sizeof path, file);
	err[0] = '\0';
	rc = hl_store_open(path, create, &st, err, sizeof err);
	T_OK(rc == HL_OK && st != NULL, "open %s (err \"%s\")", file, err);
	if (rc < 0) {
		printf("Bail out! cannot open %s\n", file);
		exit(1);
	}
	return st;
}

static void
make_key(struct hl_pubkey *pk)
{
	struct hl_identity id;

	if (hl_identity_generate(&id) < 0) {
		printf("Bail out! hl_identity_generate failed\n");
		exit(1);
	}
	*pk = id.pub;
	hl_identity_free(&id);
}

static void
make_peer(struct hl_peer_rec *p, const char *name, const struct hl_pubkey *pk)
{
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	p->key = *pk;
	p->nlinks = 1;
	snprintf(p->links[0], HL_ADDR_MAX, "%s.example:7400", name);
	p->added_ns = hl_wall_ns();
}

static int64_t
peer_id(struct hl_store *st, const char *name)
{
	struct hl_peer_rec p;

	if (hl_store_peer_get(st, name, &p) < 0)
		return -1;
	return p.id;
}

static void
make_msg(struct hl_event *ev, const char *channel, unsigned prec, uint64_t created,
         uint64_t deadline, const char *media, const uint8_t *body, size_t len)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = HL_EV_MESSAGE;
	ev->precedence = (uint8_t)prec;
	ev->created_ns = created;
	ev->deadline_ns = deadline;
	snprintf(ev->channel, sizeof ev->channel, "%s", channel);
	snprintf(ev->media_type, sizeof ev->media_type, "%s", media);
	ev->body = body;
	ev->body_len = (uint32_t)len;
}

/* The row with this seq, or NULL. */
static const struct hl_event_row *
row_seq(const struct hl_event_row *rows, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].ev.seq == seq)
			return &rows[i];
	return NULL;
}

/* The one row with this id and direction, read back from the store. */
static bool
find_one(struct hl_store *st, const char *msg_id, int dir_, struct hl_event_row *out)
{
	struct hl_event_row *rows = NULL;
	size_t n = 0;
	bool found = false;

	if (hl_store_find(st, msg_id, &rows, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (rows[i].dir == dir_ && !found) {
			*out = rows[i];
			out->body = NULL;
			out->ev.body = NULL;
			found = true;
		}
	hl_event_rows_free(rows, n);
	return found;
}

static int
state_of(struct hl_store *st, const char *msg_id, int dir_)
{
	struct hl_event_row r;

	return find_one(st, msg_id, dir_, &r) ? r.state : -1;
}

static size_t
count_list(struct hl_store *st, enum hl_dir d, bool all)
{
	struct hl_event_row *rows = NULL;
	size_t n = 0;

	if (hl_store_list(st, d, all, &rows, &n) < 0)
		return (size_t)-1;
	hl_event_rows_free(rows, n);
	return n;
}

struct hist {
	size_t n;
	char states[8][16];
	char detail[8][64];
};

static void
hist_cb(void *ctx, uint64_t at_ns, const char *state, const char *detail)
{
	struct hist *h = ctx;

	(void)at_ns;
	if (h->n < ARRAY_SIZE(h->states)) {
		snprintf(h->states[h->n], sizeof h->states[h->n], "%s", state ? state : "");
		snprintf(h->detail[h->n], sizeof h->detail[h->n], "%s", detail ? detail : "");
	}
	h->n++;
}

/* One receive in its own transaction, as the daemon's writer does it. */
static int
receive(struct hl_store *st, int64_t pid, const struct hl_event *ev, const uint8_t *hash,
        int *outcome, char reason[static HL_REASON_MAX + 1])
{
	int rc = hl_store_begin(st);

	if (rc < 0)
		return rc;
	rc = hl_store_receive(st, pid, ev, hash, outcome, reason);
	if (rc < 0) {
		hl_store_rollback(st);
		return rc;
	}
	return hl_store_commit(st);
}

static void
test_channels(void)
{
	struct hl_store *st = open_store("a.db", true);
	struct hl_channel_rec *ch = NULL;
	struct hl_pubkey key_c;
	struct hl_peer_rec p;
	size_t n = 0;
	int rc;

	make_peer(&p, "bravo", &key_b);
	T_EQ_INT(hl_store_peer_add(st, &p), HL_OK, "A pins bravo");
	make_key(&key_c);
	make_peer(&p, "charlie", &key_c);
	T_EQ_INT(hl_store_peer_add(st, &p), HL_OK, "A pins charlie");

	rc = hl_store_channel_list(st, "bravo", &ch, &n);
	T_OK(rc == HL_OK && n == 1, "a new peer has one channel (n %zu)", n);
	if (rc == HL_OK && n == 1) {
		T_OK(strcmp(ch[0].name, "general") == 0, "named general (\"%s\")", ch[0].name);
		T_OK(strcmp(ch[0].peer, "bravo") == 0, "of bravo");
	}
	free(ch);
	ch = NULL;

	T_EQ_INT(hl_store_channel_add(st, "bravo", "ops", false), HL_OK,
	         "add channel ops to bravo");
	T_EQ_INT(hl_store_channel_add(st, "bravo", "ops", false), HL_ERR_EXISTS,
	         "ops again: exists");
	T_EQ_INT(hl_store_channel_add(st, "bravo", "general", false), HL_ERR_EXISTS,
	         "general again: exists");
	T_EQ_INT(hl_store_channel_add(st, "nobody", "ops", false), HL_ERR_NOTFOUND,
	         "channel for an unknown peer: not found");

	rc = hl_store_channel_list(st, "bravo", &ch, &n);
	T_OK(rc == HL_OK && n == 2, "bravo has two channels (n %zu)", n);
	if (rc == HL_OK && n == 2)
		T_OK(strcmp(ch[0].name, "general") == 0 && strcmp(ch[1].name, "ops") == 0,
		     "general, ops in order");
	free(ch);
	ch = NULL;

	rc = hl_store_channel_list(st, "nobody", &ch, &n);
	T_OK(rc == HL_OK && n == 0, "an unknown peer lists no channels");
	free(ch);
	ch = NULL;

	rc = hl_store_channel_list(st, NULL, &ch, &n);
	T_OK(rc == HL_OK && n == 3, "all peers: three channels (n %zu)", n);
	if (rc == HL_OK && n == 3)
		T_OK(strcmp(ch[0].peer, "bravo") == 0 && strcmp(ch[0].name, "general") == 0 &&
		         strcmp(ch[1].peer, "bravo") == 0 && strcmp(ch[1].name, "ops") == 0 &&
		         strcmp(ch[2].peer, "charlie") == 0 && strcmp(ch[2].name, "general") == 0,
		     "by peer, then name");
	free(ch);
	ch = NULL;

	/* A peer without events goes, and its channels with it. */
	T_EQ_INT(hl_store_peer_remove(st, "charlie"), HL_OK, "remove charlie (no events)");
	rc = hl_store_channel_list(st, NULL, &ch, &n);
	T_OK(rc == HL_OK && n == 2, "charlie's channel went with it (n %zu)", n);
	free(ch);
	hl_store_close(st);
}

static void
test_append(void)
{
	struct hl_store *st = open_store("a.db", false);
	int64_t b = peer_id(st, "bravo");
	struct hl_event_row *rows = NULL;
	size_t n = 0;
	uint8_t zero[HL_HASH_LEN] = {0};
	int rc;

	T_OK(b > 0, "bravo's id in A");
	base_ns = hl_wall_ns() - 60 * SEC;
	/* seq 1: routine text; 2: flash, binary; 3: routine, older clock than 1 */
	make_msg(&sent_ev[0], "general", HL_PREC_ROUTINE, base_ns + 100, 0, "",
	         (const uint8_t *)text_body, strlen(text_body));
	make_msg(&sent_ev[1], "general", HL_PREC_FLASH, base_ns + 200, 0,
	         "application/octet-stream", bin_body, sizeof bin_body);
	make_msg(&sent_ev[2], "general", HL_PREC_ROUTINE, base_ns + 50, 0, "",
	         (const uint8_t *)"three", 5);
	/* seq 4: a channel B does not have; 5: deadline past; 6: B refuses it itself */
	make_msg(&sent_ev[3], "ops", HL_PREC_PRIORITY, base_ns + 300, 0, "",
	         (const uint8_t *)"four", 4);
	make_msg(&sent_ev[4], "general", HL_PREC_IMMEDIATE, base_ns + 400, base_ns + 1000, "",
	         (const uint8_t *)"five", 4);
	make_msg(&sent_ev[5], "general", HL_PREC_ROUTINE, base_ns + 500, 0, "", NULL, 0);

	for (size_t i = 0; i < NEV; i++) {
		uint8_t h[HL_HASH_LEN];
		rc = hl_store_append(st, b, &sent_ev[i], sent_hash[i]);
		T_EQ_INT(rc, HL_OK, "append");
		T_EQ_INT(sent_ev[i].seq, i + 1, "seq follows the chain");
		if (i == 0)
			T_EQ_MEM(sent_ev[i].prev, zero, HL_HASH_LEN, "seq 1: prev is zeros");
		else
			T_EQ_MEM(sent_ev[i].prev, sent_hash[i - 1], HL_HASH_LEN,
			         "prev is the hash of the previous event");
		hl_event_hash(&sent_ev[i], h);
		T_EQ_MEM(h, sent_hash[i], HL_HASH_LEN,
		         "returned hash is hl_event_hash of the event");
		hl_event_id(sent_hash[i], sent_id[i]);
	}

	rc = hl_store_list(st, HL_DIR_OUT, false, &rows, &n);
	T_OK(rc == HL_OK && n == NEV, "outbox lists %d (n %zu)", NEV, n);
	if (rc == HL_OK && n == NEV) {
		/* by the sender's time: 3, 1, 2, 4, 5, 6 */
		T_OK(rows[0].ev.seq == 3 && rows[1].ev.seq == 1 && rows[2].ev.seq == 2 &&
		         rows[5].ev.seq == 6,
		     "outbox in order of time");
		for (size_t i = 0; i < NEV; i++) {
			const struct hl_event_row *r = row_seq(rows, n, i + 1);
			uint8_t h[HL_HASH_LEN];
			T_OK(r != NULL, "seq %zu listed", i + 1);
			if (!r)
				continue;
			T_EQ_INT(r->state, HL_ST_QUEUED, "queued");
			T_EQ_INT(r->dir, HL_DIR_OUT, "dir out");
			T_OK(strcmp(r->peer, "bravo") == 0 && r->peer_id == b, "peer bravo");
			T_EQ_MEM(r->hash, sent_hash[i], HL_HASH_LEN, "stored hash");
			hl_event_hash(&r->ev, h);
			T_EQ_MEM(h, sent_hash[i], HL_HASH_LEN,
			         "hash of the event as stored matches");
			T_OK(strcmp(r->msg_id, sent_id[i]) == 0, "msg_id (%s)", r->msg_id);
			T_EQ_INT(r->ev.body_len, sent_ev[i].body_len, "body length");
			T_OK(r->ev.body_len == 0 ||
			         memcmp(r->ev.body, sent_ev[i].body, r->ev.body_len) == 0,
			     "body bytes intact");
			T_OK(strcmp(r->ev.media_type, sent_ev[i].media_type) == 0 &&
			         strcmp(r->ev.channel, sent_ev[i].channel) == 0 &&
			         r->ev.precedence == sent_ev[i].precedence &&
			         r->ev.created_ns == sent_ev[i].created_ns &&
			         r->ev.deadline_ns == sent_ev[i].deadline_ns,
			     "header fields intact");
		}
		{
			const struct hl_event_row *r = row_seq(rows, n, 2);
			T_OK(r && r->ev.body_len == sizeof bin_body &&
			         memcmp(r->body, bin_body, sizeof bin_body) == 0 &&
			         strcmp(r->ev.media_type, "application/octet-stream") == 0,
			     "binary body with NULs and its media type");
			r = row_seq(rows, n, 5);
			T_OK(r && r->overdue, "seq 5 (deadline past, queued) is overdue");
			r = row_seq(rows, n, 1);
			T_OK(r && !r->overdue, "seq 1 (no deadline) is not overdue");
		}
	}
	hl_event_rows_free(rows, n);
	hl_store_close(st);
}

static void
test_reopen(void)
{
	struct hl_store *st = open_store("a.db", false);
	struct hl_event_row *rows = NULL;
	struct hl_channel_rec *ch = NULL;
	size_t n = 0;
	bool same = true;
	int rc;

	rc = hl_store_list(st, HL_DIR_OUT, false, &rows, &n);
	T_OK(rc == HL_OK && n == NEV, "after reopen: outbox still lists %d (n %zu)", NEV, n);
	for (size_t i = 0; rc == HL_OK && i < NEV; i++) {
		const struct hl_event_row *r = row_seq(rows, n, i + 1);
		if (!r || memcmp(r->hash, sent_hash[i], HL_HASH_LEN) != 0 ||
		    r->ev.body_len != sent_ev[i].body_len ||
		    (r->ev.body_len && memcmp(r->body, sent_ev[i].body, r->ev.body_len) != 0))
			same = false;
	}
	T_OK(rc == HL_OK && same, "after reopen: hashes and bodies intact");
	hl_event_rows_free(rows, n);
	rc = hl_store_channel_list(st, "bravo", &ch, &n);
	T_OK(rc == HL_OK && n == 2, "after reopen: channels still there");
	free(ch);
	hl_store_close(st);
}

static void
test_receive(void)
{
	struct hl_store *a = open_store("a.db", false);
	struct hl_store *st = open_store("b.db", true);
	struct hl_event_row *pend = NULL, *rows = NULL;
	struct hl_peer_rec p;
	char reason[HL_REASON_MAX + 1], first[HL_REASON_MAX + 1];
	size_t np = 0, n = 0;
	int64_t pa;
	int outcome, rc;

	make_peer(&p, "alpha", &key_a);
	T_EQ_INT(hl_store_peer_add(st, &p), HL_OK, "B pins alpha");
	pa = peer_id(st, "alpha");
	T_OK(pa > 0, "alpha's id in B");

	rc = pending(a, peer_id(a, "bravo"), 0, &pend, &np);
	T_OK(rc == HL_OK && np == NEV, "A has %d pending towards bravo (n %zu)", NEV, np);
	if (rc < 0 || np != NEV) {
		hl_event_rows_free(pend, np);
		hl_store_close(a);
		hl_store_close(st);
		return;
	}
	for (size_t i = 0; i < np; i++)
		T_EQ_INT(pend[i].ev.seq, i + 1, "pending in seq order");

	reason[0] = '\0';
	rc = receive(st, pa, &pend[0].ev, pend[0].hash, &outcome, reason);
	T_EQ_INT(rc, HL_OK, "B receives seq 1");
	T_EQ_INT(outcome, HL_RECV_NEW, "seq 1: new");
	T_OK(reason[0] == '\0', "no reason (\"%s\")", reason);

	reason[0] = '\0';
	rc = receive(st, pa, &pend[0].ev, pend[0].hash, &outcome, reason);
	T_EQ_INT(rc, HL_OK, "B receives seq 1 again");
	T_EQ_INT(outcome, HL_RECV_DUPLICATE, "seq 1 again: duplicate");
	T_EQ_INT(count_list(st, HL_DIR_IN, true), 1, "still one row in the inbox");

	{
		struct hl_event forged = pend[0].ev;
		uint8_t fh[HL_HASH_LEN];
		forged.body = (const uint8_t *)"rewritten";
		forged.body_len = 9;
		hl_event_hash(&forged, fh);
		reason[0] = '\0';
		rc = receive(st, pa, &forged, fh, &outcome, reason);
		T_EQ_INT(rc, HL_ERR_CORRUPT, "seq 1 with another hash: corrupt");
		T_EQ_INT(count_list(st, HL_DIR_IN, true), 1, "and nothing stored");
	}

	for (size_t i = 1; i <= 2; i++) {
		reason[0] = '\0';
		rc = receive(st, pa, &pend[i].ev, pend[i].hash, &outcome, reason);
		T_OK(rc == HL_OK && outcome == HL_RECV_NEW, "seq %zu: new", i + 1);
	}

	/* seq 4 is on "ops", which B has not got for alpha */
	reason[0] = '\0';
	rc = receive(st, pa, &pend[3].ev, pend[3].hash, &outcome, reason);
	T_EQ_INT(rc, HL_OK, "seq 4 (unknown channel) is stored");
	T_EQ_INT(outcome, HL_RECV_REFUSED, "seq 4: refused");
	T_OK(strstr(reason, "ops") != NULL, "the reason names the channel (\"%s\")", reason);
	snprintf(first, sizeof first, "%s", reason);
	T_EQ_INT(state_of(st, sent_id[3], HL_DIR_IN), HL_ST_REFUSED, "stored as refused");
	T_EQ_INT(count_list(st, HL_DIR_IN, false), 3,
	         "inbox without all: the refused is not listed");
	T_EQ_INT(count_list(st, HL_DIR_IN, true), 4, "inbox with all: it is");
	reason[0] = '\0';
	rc = receive(st, pa, &pend[3].ev, pend[3].hash, &outcome, reason);
	T_EQ_INT(rc, HL_OK, "seq 4 again");
	T_EQ_INT(outcome, HL_RECV_REFUSED_AGAIN, "seq 4 again: refused again");
	T_OK(strcmp(reason, first) == 0, "with the same reason (\"%s\")", reason);
	T_EQ_INT(count_list(st, HL_DIR_IN, true), 4, "and not stored twice");

	reason[0] = '\0';
	rc = receive(st, pa, &pend[4].ev, pend[4].hash, &outcome, reason);
	T_OK(rc == HL_OK && outcome == HL_RECV_NEW, "seq 5: new");

	/* seq 6: the daemon's own refusal */
	snprintf(reason, sizeof reason, "too large for this station");
	rc = receive(st, pa, &pend[5].ev, pend[5].hash, &outcome, reason);
	T_EQ_INT(rc, HL_OK, "seq 6 with a preset reason is stored");
	T_EQ_INT(outcome, HL_RECV_REFUSED, "seq 6: refused");
	T_OK(strcmp(reason, "too large for this station") == 0, "reason kept (\"%s\")", reason);
	{
		struct hl_event_row r;
		T_OK(find_one(st, sent_id[5], HL_DIR_IN, &r) && r.state == HL_ST_REFUSED &&
		         strcmp(r.reason, "too large for this station") == 0,
		     "seq 6 stored as refused with the reason");
	}

	/* What was received is what was sent. */
	rc = hl_store_list(st, HL_DIR_IN, true, &rows, &n);
	if (rc == HL_OK) {
		const struct hl_event_row *r = row_seq(rows, n, 2);
		T_OK(r && r->dir == HL_DIR_IN && strcmp(r->peer, "alpha") == 0 &&
		         r->state == HL_ST_RECEIVED && r->received_ns != 0 &&
		         memcmp(r->hash, sent_hash[1], HL_HASH_LEN) == 0 &&
		         r->ev.body_len == sizeof bin_body &&
		         memcmp(r->body, bin_body, sizeof bin_body) == 0 &&
		         strcmp(r->ev.media_type, "application/octet-stream") == 0,
		     "seq 2 received intact (binary body, media type)");
		r = row_seq(rows, n, 5);
		T_OK(r && r->overdue, "seq 5 (deadline past, unacknowledged) overdue at B");
		r = row_seq(rows, n, 1);
		T_OK(r && !r->overdue, "seq 1 (no deadline) not overdue at B");
	}
	hl_event_rows_free(rows, n);
	hl_event_rows_free(pend, np);
	hl_store_close(a);
	hl_store_close(st);
}

static void
test_inbox_order(void)
{
	struct hl_store *st = open_store("b.db", false);
	struct hl_event_row *rows = NULL;
	size_t n = 0;
	int rc;

	/* unacknowledged: 2 (flash), 5 (immediate), 3 (routine, t+50), 1 (routine, t+100) */
	rc = hl_store_list(st, HL_DIR_IN, false, &rows, &n);
	T_OK(rc == HL_OK && n == 4, "inbox: four unacknowledged (n %zu)", n);
	if (rc == HL_OK && n == 4)
		T_OK(rows[0].ev.seq == 2 && rows[1].ev.seq == 5 && rows[2].ev.seq == 3 &&
		         rows[3].ev.seq == 1,
		     "flash, immediate, then routine by time (%llu %llu %llu %llu)",
		     (unsigned long long)rows[0].ev.seq, (unsigned long long)rows[1].ev.seq,
		     (unsigned long long)rows[2].ev.seq, (unsigned long long)rows[3].ev.seq);
	hl_event_rows_free(rows, n);
	hl_store_close(st);
}

static void
test_ack(void)
{
	struct hl_store *st = open_store("b.db", false);
	struct hl_store *a = open_store("a.db", false);
	struct hl_event_row *rows = NULL, r;
	char ack_id[HL_MSGID_LEN + 1], peer[HL_NAME_MAX + 1];
	size_t n = 0;
	int rc;

	err[0] = '\0';
	rc = hl_store_ack(st, sent_id[1], "op-bob", err, sizeof err, ack_id, peer);
	T_EQ_INT(rc, HL_OK, "B acknowledges seq 2");
	T_EQ_INT(strlen(ack_id), HL_MSGID_LEN, "an ack id comes back");
	T_OK(strcmp(peer, "alpha") == 0, "and the peer's name (\"%s\")", peer);
	T_OK(find_one(st, sent_id[1], HL_DIR_IN, &r) && r.state == HL_ST_ACKED &&
	         strcmp(r.acked_by, "op-bob") == 0 && r.acked_ns != 0,
	     "seq 2 acknowledged by op-bob");
	T_OK(find_one(st, ack_id, HL_DIR_OUT, &r) && r.ev.kind == HL_EV_ACK,
	     "the ack id names B's ACK event");

	err[0] = '\0';
	rc = hl_store_ack(st, sent_id[1], "op-carol", err, sizeof err, ack_id, peer);
	T_EQ_INT(rc, HL_ERR_INVAL, "a second ack is refused");
	T_OK(strstr(err, "already acknowledged") != NULL, "saying so (\"%s\")", err);
	T_OK(find_one(st, sent_id[1], HL_DIR_IN, &r) && strcmp(r.acked_by, "op-bob") == 0,
	     "the first operator stays");

	err[0] = '\0';
	rc = hl_store_ack(st, "0123456789ab", "op-bob", err, sizeof err, ack_id, peer);
	T_EQ_INT(rc, HL_ERR_NOTFOUND, "ack of an unknown id: not found");
	T_OK(err[0] != '\0', "with words (\"%s\")", err);

	err[0] = '\0';
	rc = hl_store_ack(a, sent_id[0], "op-alice", err, sizeof err, ack_id, peer);
	T_EQ_INT(rc, HL_ERR_INVAL, "A acknowledging its own outgoing message");
	T_OK(strstr(err, "outgoing") != NULL, "says outgoing (\"%s\")", err);
	T_EQ_INT(state_of(a, sent_id[0], HL_DIR_OUT), HL_ST_QUEUED, "A's message untouched");

	err[0] = '\0';
	rc = hl_store_ack(st, sent_id[3], "op-bob", err, sizeof err, ack_id, peer);
	T_EQ_INT(rc, HL_ERR_INVAL, "ack of a refused message");
	T_OK(strstr(err, "refused") != NULL, "says refused (\"%s\")", err);
	T_EQ_INT(state_of(st, sent_id[3], HL_DIR_IN), HL_ST_REFUSED, "it stays refused");

	/* seq 1 and seq 5 too: the overdue one stops being overdue */
	rc = hl_store_ack(st, sent_id[0], "op-bob", err, sizeof err, ack_id, peer);
	T_EQ_INT(rc, HL_OK, "B acknowledges seq 1");
	rc = hl_store_ack(st, sent_id[4], "op-dave", err, sizeof err, ack_id, peer);
	T_EQ_INT(rc, HL_OK, "B acknowledges seq 5");
	T_OK(find_one(st, sent_id[4], HL_DIR_IN, &r) && r.state == HL_ST_ACKED && !r.overdue,
	     "seq 5 no longer overdue at B");

	/* inbox: 3, 1 gone; unacknowledged 3 first, then the rest */
	rc = hl_store_list(st, HL_DIR_IN, false, &rows, &n);
	T_OK(rc == HL_OK && n == 1 && rows[0].ev.seq == 3, "inbox: only seq 3 unacknowledged");
	hl_event_rows_free(rows, n);
	rc = hl_store_list(st, HL_DIR_IN, true, &rows, &n);
	T_OK(rc == HL_OK && n == 6 && rows[0].ev.seq == 3 && rows[1].ev.seq == 2,
	     "inbox --all: unacknowledged first, then by precedence");
	hl_event_rows_free(rows, n);

	/* B's chain towards alpha: three ACKs, seq 1..3 */
	rc = pending(st, peer_id(st, "alpha"), 0, &rows, &n);
	T_OK(rc == HL_OK && n == 3, "B has three ACK events pending (n %zu)", n);
	if (rc == HL_OK && n == 3) {
		uint8_t h[HL_HASH_LEN], zero[HL_HASH_LEN] = {0};
		T_OK(rows[0].ev.kind == HL_EV_ACK && rows[0].ev.ref_seq == 2 &&
		         memcmp(rows[0].ev.ref_hash, sent_hash[1], HL_HASH_LEN) == 0,
		     "first: ACK of seq 2 with its hash");
		T_OK(strcmp(rows[0].ev.operator_name, "op-bob") == 0, "by op-bob");
		T_OK(rows[0].ev.seq == 1 && memcmp(rows[0].ev.prev, zero, HL_HASH_LEN) == 0,
		     "B's chain starts at seq 1");
		T_OK(rows[1].ev.kind == HL_EV_ACK && rows[1].ev.ref_seq == 1 &&
		         memcmp(rows[1].ev.prev, rows[0].hash, HL_HASH_LEN) == 0,
		     "second: ACK of seq 1, chained");
		hl_event_hash(&rows[2].ev, h);
		T_EQ_MEM(h, rows[2].hash, HL_HASH_LEN, "ACK hash as stored");
		T_EQ_INT(rows[0].state, HL_ST_QUEUED, "ACK queued");
	}
	T_EQ_INT(count_list(st, HL_DIR_OUT, true), 0, "B's outbox lists no ACKs");
	hl_event_rows_free(rows, n);
	hl_store_close(a);
	hl_store_close(st);
}

static void
test_back_on_a(void)
{
	struct hl_store *b = open_store("b.db", false);
	struct hl_store *st = open_store("a.db", false);
	struct hl_event_row *acks = NULL, *rows = NULL, r;
	uint8_t sig[HL_SIG_LEN], wrong[HL_HASH_LEN];
	char reason[HL_REASON_MAX + 1];
	struct hist h = {0};
	int64_t pb = peer_id(st, "bravo");
	size_t na = 0, n = 0;
	int outcome, rc;

	randombytes_buf(sig, sizeof sig);
	/* Every one but seq 2, whose receipt will come before its "sent" mark is written. */
	for (uint64_t s = 1; s <= NEV; s++)
		if (s != 2)
			T_EQ_INT(hl_store_mark_sent(st, pb, s, base_ns + 7000 + s), HL_OK,
			         "mark sent");
	T_EQ_INT(state_of(st, sent_id[0], HL_DIR_OUT), HL_ST_SENT, "seq 1 sent");
	T_OK(find_one(st, sent_id[0], HL_DIR_OUT, &r) && r.sent_ns == base_ns + 7001,
	     "sent_ns is the time given");
	T_EQ_INT(state_of(st, sent_id[1], HL_DIR_OUT), HL_ST_QUEUED, "seq 2 still queued");

	memcpy(wrong, sent_hash[0], HL_HASH_LEN);
	wrong[0] ^= 1;
	T_EQ_INT(hl_store_mark_delivered(st, pb, 1, wrong, sig, 0, 0), HL_OK,
	         "receipt with a wrong hash");
	T_EQ_INT(state_of(st, sent_id[0], HL_DIR_OUT), HL_ST_SENT, "leaves seq 1 sent");
	T_EQ_INT(hl_store_mark_delivered(st, pb, 1, sent_hash[0], sig, 0, 0), HL_OK,
	         "receipt with the right hash");
	T_EQ_INT(state_of(st, sent_id[0], HL_DIR_OUT), HL_ST_DELIVERED, "seq 1 delivered");
	T_OK(find_one(st, sent_id[0], HL_DIR_OUT, &r) && r.delivered_ns != 0, "delivered_ns set");
	T_OK(r.sent_ns == base_ns + 7001, "the sent mark written before keeps its time");
	T_EQ_INT(hl_store_mark_sent(st, pb, 1, 0), HL_OK, "seq 1 sent again (a retransmission)");
	T_EQ_INT(state_of(st, sent_id[0], HL_DIR_OUT), HL_ST_DELIVERED, "stays delivered");
	T_EQ_INT(
	    hl_store_mark_delivered(st, pb, 2, sent_hash[1], sig, base_ns + 8000, base_ns + 9000),
	    HL_OK, "seq 2 delivered, straight from queued");
	T_OK(find_one(st, sent_id[1], HL_DIR_OUT, &r) && r.state == HL_ST_DELIVERED &&
	         r.sent_ns == base_ns + 8000 && r.delivered_ns == base_ns + 9000,
	     "one write records both: sent, then delivered when the receipt came");
	T_EQ_INT(hl_store_mark_delivered(st, pb, 5, sent_hash[4], sig, 0, 0), HL_OK,
	         "seq 5 delivered");
	T_OK(find_one(st, sent_id[4], HL_DIR_OUT, &r) && r.overdue,
	     "seq 5 delivered but unacknowledged: still overdue");

	T_EQ_INT(hl_store_mark_refused(st, pb, 4, sent_hash[3], "no channel 'ops'", sig, 0, 0),
	         HL_OK, "seq 4 refused");
	T_OK(find_one(st, sent_id[3], HL_DIR_OUT, &r) && r.state == HL_ST_REFUSED &&
	         strcmp(r.reason, "no channel 'ops'") == 0,
	     "refused with the reason (\"%s\")", r.reason);
	T_EQ_INT(hl_store_mark_refused(st, pb, 6, sent_hash[5], "too large", sig, 0, 0), HL_OK,
	         "seq 6 refused");
	T_EQ_INT(hl_store_mark_delivered(st, pb, 6, sent_hash[5], sig, 0, 0), HL_OK,
	         "a late receipt for refused seq 6");
	T_EQ_INT(state_of(st, sent_id[5], HL_DIR_OUT), HL_ST_REFUSED, "stays refused");
	rc = pending(st, pb, 0, &rows, &n);
	T_OK(rc == HL_OK && n == 1 && rows[0].ev.seq == 3,
	     "pending: seq 3 (sent), not the delivered or refused (n %zu)", n);
	hl_event_rows_free(rows, n);
	rows = NULL;

	/* B's ACKs arrive */
	rc = pending(b, peer_id(b, "alpha"), 0, &acks, &na);
	T_OK(rc == HL_OK && na == 3, "B's three ACKs");
	for (size_t i = 0; rc == HL_OK && i < na; i++) {
		reason[0] = '\0';
		T_EQ_INT(receive(st, pb, &acks[i].ev, acks[i].hash, &outcome, reason), HL_OK,
		         "A receives an ACK");
		T_EQ_INT(outcome, HL_RECV_NEW, "new");
	}
	if (na > 0) {
		reason[0] = '\0';
		T_EQ_INT(receive(st, pb, &acks[0].ev, acks[0].hash, &outcome, reason), HL_OK,
		         "the first ACK again");
		T_EQ_INT(outcome, HL_RECV_DUPLICATE, "duplicate");
		T_OK(find_one(st, acks[0].msg_id, HL_DIR_IN, &r) && r.ev.kind == HL_EV_ACK &&
		         r.state == HL_ST_ACKED,
		     "the ACK is stored in A's copy of B's chain");
	}
	T_OK(find_one(st, sent_id[1], HL_DIR_OUT, &r) && r.state == HL_ST_ACKED &&
	         strcmp(r.acked_by, "op-bob") == 0 && r.acked_ns != 0,
	     "A's seq 2 acknowledged by op-bob");
	T_OK(find_one(st, sent_id[0], HL_DIR_OUT, &r) && r.state == HL_ST_ACKED &&
	         strcmp(r.acked_by, "op-bob") == 0,
	     "A's seq 1 acknowledged by op-bob");
	T_OK(find_one(st, sent_id[4], HL_DIR_OUT, &r) && r.state == HL_ST_ACKED &&
	         strcmp(r.acked_by, "op-dave") == 0 && !r.overdue,
	     "A's seq 5 acknowledged by op-dave, no longer overdue");
	T_EQ_INT(count_list(st, HL_DIR_IN, true), 0, "ACKs are not in A's inbox");

	/* pending: still only seq 3 (sent, no receipt) */
	rc = pending(st, pb, 0, &rows, &n);
	T_OK(rc == HL_OK && n == 1 && rows[0].ev.seq == 3,
	     "pending excludes delivered, acknowledged, refused (n %zu)", n);
	hl_event_rows_free(rows, n);
	rc = pending(st, pb, 3, &rows, &n);
	T_OK(rc == HL_OK && n == 0, "nothing pending after seq 3");
	hl_event_rows_free(rows, n);

	rc = hl_store_history(st, sent_id[0], HL_DIR_OUT, hist_cb, &h);
	T_EQ_INT(rc, HL_OK, "history of seq 1");
	T_OK(h.n == 4 && strcmp(h.states[0], "queued") == 0 && strcmp(h.states[1], "sent") == 0 &&
	         strcmp(h.states[2], "delivered") == 0 && strcmp(h.states[3], "acknowledged") == 0,
	     "queued, sent, delivered, acknowledged (%zu: %s %s %s %s)", h.n, h.states[0],
	     h.states[1], h.states[2], h.states[3]);
	T_OK(h.n == 4 && strstr(h.detail[3], "op-bob") != NULL, "acknowledged by op-bob");
	memset(&h, 0, sizeof h);
	rc = hl_store_history(st, sent_id[3], HL_DIR_OUT, hist_cb, &h);
	T_OK(rc == HL_OK && h.n == 3 && strcmp(h.states[2], "refused") == 0 &&
	         strcmp(h.detail[2], "no channel 'ops'") == 0,
	     "history of seq 4 ends refused, with the reason");
	memset(&h, 0, sizeof h);
	rc = hl_store_history(b, sent_id[0], HL_DIR_IN, hist_cb, &h);
	T_OK(rc == HL_OK && h.n == 2 && strcmp(h.states[0], "received") == 0 &&
	         strcmp(h.states[1], "acknowledged") == 0,
	     "B's history of seq 1: received, acknowledged");

	T_EQ_INT(hl_store_peer_remove(st, "bravo"), HL_ERR_BUSY, "A cannot remove bravo");
	T_EQ_INT(hl_store_peer_remove(b, "alpha"), HL_ERR_BUSY, "B cannot remove alpha");
	T_OK(peer_id(st, "bravo") == pb, "bravo still pinned");

	hl_event_rows_free(acks, na);
	hl_store_close(b);
	hl_store_close(st);
}

/* ---- suspension: notices on the chains, and the verdicts they give ---- */

/* Append one event of ours under a fresh token, as queue_event does. */
static int
append_ev(struct hl_store *st, int64_t pid, struct hl_event *ev, char why[static HL_REASON_MAX + 1],
          uint8_t hash[static HL_HASH_LEN])
{
	uint8_t token[HL_TOKEN_LEN];
	bool existed;
	int rc = hl_store_begin(st);

	randombytes_buf(token, sizeof token);
	if (rc == HL_OK &&
	    (rc = hl_store_append_once(st, pid, ev, token, false, hash, &existed, why)) < 0)
		hl_store_rollback(st);
	else if (rc == HL_OK)
		rc = hl_store_commit(st);
	return rc;
}

static void
make_notice(struct hl_event *ev, uint8_t kind, const char *channel, const char *reason)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = kind;
	ev->created_ns = hl_wall_ns();
	snprintf(ev->channel, sizeof ev->channel, "%s", channel);
	snprintf(ev->operator_name, sizeof ev->operator_name, "Gen. Smith");
	ev->body = (const uint8_t *)reason;
	ev->body_len = (uint32_t)strlen(reason);
}

/* Move every pending event of from's chain to `to`, in seq order; outcome of the last. */
static int
travel(struct hl_store *from, int64_t to_pid_at_from, struct hl_store *to, int64_t from_pid_at_to,
       char reason[static HL_REASON_MAX + 1])
{
	struct hl_event_row *rows = NULL;
	size_t n = 0;
	int outcome = -1;

	if (pending(from, to_pid_at_from, 0, &rows, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		reason[0] = '\0';
		if (receive(to, from_pid_at_to, &rows[i].ev, rows[i].hash, &outcome, reason) < 0)
			outcome = -1;
		/* The answer goes back: a receipt or a refusal settles it at the sender. */
		if (hl_store_begin(from) == HL_OK) {
			static const uint8_t sig[HL_SIG_LEN];
			int rc = outcome == HL_RECV_REFUSED
			             ? hl_store_mark_refused(from, to_pid_at_from, rows[i].ev.seq,
			                                     rows[i].hash, reason, sig, 0, 0)
			             : hl_store_mark_delivered(from, to_pid_at_from, rows[i].ev.seq,
			                                       rows[i].hash, sig, 0, 0);
			if (rc < 0 || hl_store_commit(from) < 0)
				outcome = -1;
		}
	}
	hl_event_rows_free(rows, n);
	return outcome;
}

static const struct hl_channel_rec *
chan(const struct hl_channel_rec *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static void
test_suspension(void)
{
	struct hl_store *a = open_store("sa.db", true), *b = open_store("sb.db", true);
	struct hl_peer_rec p;
	struct hl_event ev;
	struct hl_channel_rec *ch = NULL;
	const struct hl_channel_rec *c;
	uint8_t hash[HL_HASH_LEN];
	char why[HL_REASON_MAX + 1], reason[HL_REASON_MAX + 1];
	const char *r = "in response to the visit";
	size_t n = 0;
	int64_t b_at_a, a_at_b;

	make_peer(&p, "bravo", &key_b);
	T_EQ_INT(hl_store_peer_add(a, &p), HL_OK, "alpha pins bravo");
	make_peer(&p, "alpha", &key_a);
	T_EQ_INT(hl_store_peer_add(b, &p), HL_OK, "bravo pins alpha");
	b_at_a = peer_id(a, "bravo");
	a_at_b = peer_id(b, "alpha");
	hl_store_set_self(a, "alpha");
	hl_store_set_self(b, "bravo");
	T_EQ_INT(hl_store_channel_add(a, "bravo", "ops", false), HL_OK, "alpha: ops");
	T_EQ_INT(hl_store_channel_add(b, "alpha", "ops", false), HL_OK, "bravo: ops");
	T_EQ_INT(hl_store_channel_add(a, "bravo", "core", false), HL_OK, "alpha: core");
	T_EQ_INT(hl_store_channel_add(b, "alpha", "core", true), HL_OK,
	         "bravo: core, --no-suspend");
	T_EQ_INT(hl_store_channel_add(b, "alpha", "ops2", false), HL_OK, "bravo: ops2");
	T_EQ_INT(hl_store_channel_add(a, "bravo", "ops2", false), HL_OK, "alpha: ops2");

	make_msg(&ev, "nochan", HL_PREC_ROUTINE, hl_wall_ns(), 0, "", (const uint8_t *)"x", 1);
	T_EQ_INT(append_ev(a, b_at_a, &ev, why, hash), HL_ERR_NOTFOUND, "a message on no channel");
	T_OK(strstr(why, "no channel 'nochan'") != NULL, "and why says so: %s", why);
	make_notice(&ev, HL_EV_RESUME, "ops", "");
	T_EQ_INT(append_ev(a, b_at_a, &ev, why, hash), HL_ERR_INVAL,
	         "resume what is not suspended");
	T_OK(strstr(why, "is not suspended") != NULL, "why: %s", why);

	make_notice(&ev, HL_EV_SUSPEND, "ops", r);
	T_EQ_INT(append_ev(a, b_at_a, &ev, why, hash), HL_OK, "alpha suspends ops");
	T_EQ_INT(hl_store_channel_list(a, "bravo", &ch, &n), HL_OK, "alpha lists channels");
	c = chan(ch, n, "ops");
	T_OK(c && c->by_us.active && !c->by_peer.active, "alpha: ops suspended by us");
	T_OK(c && strcmp(c->by_us.reason, r) == 0 &&
	         strcmp(c->by_us.operator_name, "Gen. Smith") == 0,
	     "with reason and operator");
	T_OK(c && c->by_us.notice_state == HL_ST_QUEUED, "the notice is queued");
	c = chan(ch, n, "general");
	T_OK(c && !c->by_us.active && !c->by_peer.active, "general untouched");
	free(ch);

	T_EQ_INT(append_ev(a, b_at_a, &ev, why, hash), HL_ERR_INVAL, "suspend ops twice");
	make_msg(&ev, "ops", HL_PREC_FLASH, hl_wall_ns(), 0, "", (const uint8_t *)"x", 1);
	T_EQ_INT(append_ev(a, b_at_a, &ev, why, hash), HL_ERR_INVAL, "alpha's own message on ops");
	T_OK(strstr(why, "suspended by alpha (operator Gen. Smith)") && strstr(why, r),
	     "why names who, and the reason: %s", why);

	T_EQ_INT(travel(a, b_at_a, b, a_at_b, reason), HL_RECV_NEW, "bravo receives the notice");
	T_EQ_INT(hl_store_channel_list(b, "alpha", &ch, &n), HL_OK, "bravo lists channels");
	c = chan(ch, n, "ops");
	T_OK(c && c->by_peer.active && !c->by_us.active, "bravo: ops suspended by the peer");
	T_OK(c && strcmp(c->by_peer.reason, r) == 0, "same reason on both sides");
	free(ch);
	T_EQ_INT(hl_store_channel_list(a, "bravo", &ch, &n), HL_OK, "alpha lists channels");
	c = chan(ch, n, "ops");
	T_OK(c && c->by_us.notice_state == HL_ST_DELIVERED, "alpha: the notice is receipted");
	free(ch);

	make_notice(&ev, HL_EV_RESUME, "ops", "");
	T_EQ_INT(append_ev(b, a_at_b, &ev, why, hash), HL_ERR_INVAL, "bravo cannot resume it");
	T_OK(strstr(why, "Only alpha can resume it") != NULL, "why: %s", why);

	/* bravo's message on ops: alpha refuses it, naming itself and the reason. */
	make_msg(&ev, "ops", HL_PREC_FLASH, hl_wall_ns(), 0, "", (const uint8_t *)"protest", 7);
	T_EQ_INT(append_ev(b, a_at_b, &ev, why, hash), HL_OK,
	         "bravo may send: alpha's station gives the verdict");
	T_EQ_INT(travel(b, a_at_b, a, b_at_a, reason), HL_RECV_REFUSED, "alpha refuses it");
	T_OK(strstr(reason, "suspended by alpha") && strstr(reason, r), "refusal: %s", reason);
	/* An acknowledgment on the suspended channel passes. */
	memset(&ev, 0, sizeof ev);
	ev.kind = HL_EV_ACK;
	snprintf(ev.channel, sizeof ev.channel, "ops");
	T_EQ_INT(hl_store_check_new(a, b_at_a, &ev, why), HL_OK, "acknowledgments always pass");

	/* --no-suspend: bravo refuses to suspend core, and refuses alpha's notice for it. */
	make_notice(&ev, HL_EV_SUSPEND, "core", "no");
	T_EQ_INT(append_ev(b, a_at_b, &ev, why, hash), HL_ERR_INVAL, "bravo: core is --no-suspend");
	T_OK(strstr(why, "--no-suspend") != NULL, "why: %s", why);
	T_EQ_INT(append_ev(a, b_at_a, &ev, why, hash), HL_OK, "alpha may try (its core is normal)");
	T_EQ_INT(travel(a, b_at_a, b, a_at_b, reason), HL_RECV_REFUSED, "bravo refuses the notice");
	T_OK(strstr(reason, "--no-suspend") != NULL, "refusal: %s", reason);
	T_EQ_INT(hl_store_channel_list(a, "bravo", &ch, &n), HL_OK, "alpha lists channels");
	c = chan(ch, n, "core");
	T_OK(c && !c->by_us.active, "alpha: a refused suspension is no suspension");
	free(ch);
	T_EQ_INT(hl_store_channel_list(b, "alpha", &ch, &n), HL_OK, "bravo lists channels");
	c = chan(ch, n, "core");
	T_OK(c && !c->by_peer.active && c->no_suspend, "bravo: core open, --no-suspend");
	free(ch);

	/* The peer's own suspension counts from its place in the peer's chain. */
	make_msg(&ev, "ops2", HL_PREC_ROUTINE, hl_wall_ns(), 0, "", (const uint8_t *)"before", 6);
	T_EQ_INT(append_ev(b, a_at_b, &ev, why, hash), HL_OK, "bravo: a message on ops2");
	make_notice(&ev, HL_EV_SUSPEND, "ops2", "after the message");
	T_EQ_INT(append_ev(b, a_at_b, &ev, why, hash), HL_OK, "then suspends ops2");
	{
		struct hl_event_row *rows = NULL;
		size_t k = 0;
		int outcome = -1;
		T_EQ_INT(pending(b, a_at_b, 0, &rows, &k), HL_OK, "bravo's pending");
		T_EQ_INT(k, 2, "two pending");
		if (k == 2) {
			reason[0] = '\0';
			T_EQ_INT(receive(a, b_at_a, &rows[1].ev, rows[1].hash, &outcome, reason),
			         HL_OK, "alpha receives the notice first (it overtook)");
			T_EQ_INT(outcome, HL_RECV_NEW, "accepted");
			reason[0] = '\0';
			T_EQ_INT(receive(a, b_at_a, &rows[0].ev, rows[0].hash, &outcome, reason),
			         HL_OK, "then the earlier message");
			T_EQ_INT(outcome, HL_RECV_NEW,
			         "which came before the suspension: accepted");
		}
		hl_event_rows_free(rows, k);
	}
	make_notice(&ev, HL_EV_RESUME, "ops2", "");
	T_EQ_INT(append_ev(a, b_at_a, &ev, why, hash), HL_ERR_INVAL, "alpha cannot resume bravo's");
	T_EQ_INT(append_ev(b, a_at_b, &ev, why, hash), HL_OK, "bravo resumes its own");

	/* alpha resumes ops: messages flow again. */
	make_notice(&ev, HL_EV_RESUME, "ops", "talks agreed");
	T_EQ_INT(append_ev(a, b_at_a, &ev, why, hash), HL_OK, "alpha resumes ops");
	make_msg(&ev, "ops", HL_PREC_FLASH, hl_wall_ns(), 0, "", (const uint8_t *)"x", 1);
	T_EQ_INT(append_ev(a, b_at_a, &ev, why, hash), HL_OK, "alpha sends on ops again");
	T_EQ_INT(travel(a, b_at_a, b, a_at_b, reason), HL_RECV_NEW, "bravo takes both");
	T_EQ_INT(hl_store_channel_list(b, "alpha", &ch, &n), HL_OK, "bravo lists channels");
	c = chan(ch, n, "ops");
	T_OK(c && !c->by_peer.active && !c->by_us.active, "bravo: ops open again");
	free(ch);

	/* A notice whose reason is not one line of text is refused. */
	make_notice(&ev, HL_EV_SUSPEND, "ops", "two\nlines");
	{
		uint8_t h[HL_HASH_LEN];
		int outcome = -1;
		ev.seq = 99; /* far past bravo's chain: links are not checked against a gap */
		hl_event_hash(&ev, h);
		reason[0] = '\0';
		T_EQ_INT(receive(b, a_at_b, &ev, h, &outcome, reason), HL_OK, "a bad notice");
		T_EQ_INT(outcome, HL_RECV_REFUSED, "is refused");
	}
	hl_store_close(a);
	hl_store_close(b);
}

static void
test_migrate(void)
{
	/* Schema version 1, as released (src/store.c, migrations[0]). */
	static const char v1[] =
	    "CREATE TABLE peers ("
	    "  id INTEGER PRIMARY KEY,"
	    "  name TEXT NOT NULL UNIQUE,"
	    "  x25519 BLOB NOT NULL UNIQUE CHECK (length(x25519) = 32),"
	    "  ed25519 BLOB NOT NULL UNIQUE CHECK (length(ed25519) = 32),"
	    "  added_ns INTEGER NOT NULL);"
	    "CREATE TABLE peer_links ("
	    "  peer_id INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"
	    "  position INTEGER NOT NULL,"
	    "  address TEXT NOT NULL,"
	    "  PRIMARY KEY (peer_id, position));"
	    "INSERT INTO peers (name, x25519, ed25519, added_ns)"
	    "  VALUES ('oldtimer', randomblob(32), randomblob(32), 1600000000000000000);"
	    "INSERT INTO peer_links VALUES (1, 0, 'old.example:7400');"
	    "PRAGMA user_version = 1;";
	struct hl_store *st;
	struct hl_channel_rec *ch = NULL;
	struct hl_peer_rec p;
	struct hl_event ev;
	uint8_t hash[HL_HASH_LEN];
	char path[512];
	sqlite3 *db = NULL;
	size_t n = 0;
	int rc;

	path_of(path, sizeof path, "v1.db");
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, v1, NULL, NULL, NULL);
	sqlite3_close(db);
	T_EQ_INT(rc, SQLITE_OK, "build a version 1 store by hand");
	T_EQ_INT(t_user_version(path), 1, "its user_version is 1");

	st = open_store("v1.db", false);
	T_EQ_INT(t_user_version(path), HL_STORE_SCHEMA, "migrated to the current schema");
	T_OK(hl_store_peer_get(st, "oldtimer", &p) == HL_OK && p.nlinks == 1 &&
	         strcmp(p.links[0], "old.example:7400") == 0,
	     "the old peer and its link survive");
	rc = hl_store_channel_list(st, "oldtimer", &ch, &n);
	T_OK(rc == HL_OK && n == 1, "the old peer has one channel (n %zu)", n);
	if (rc == HL_OK && n == 1)
		T_OK(strcmp(ch[0].name, "general") == 0 &&
		         ch[0].created_ns == UINT64_C(1600000000000000000),
		     "general, dated when the peer was added");
	free(ch);
	make_msg(&ev, "general", HL_PREC_ROUTINE, hl_wall_ns(), 0, "", (const uint8_t *)"hi", 2);
	T_EQ_INT(hl_store_append(st, p.id, &ev, hash), HL_OK, "append to the old peer");
	T_EQ_INT(ev.seq, 1, "seq 1");
	hl_store_close(st);

	st = open_store("v1.db", false);
	T_EQ_INT(count_list(st, HL_DIR_OUT, false), 1, "a second open does not migrate again");
	hl_store_close(st);
}

static void
cleanup(void)
{
	static const char *const dbs[] = {"a.db", "b.db", "v1.db", "sa.db", "sb.db"};
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char file[64], path[512];

	for (size_t i = 0; i < ARRAY_SIZE(dbs); i++)
		for (size_t j = 0; j < ARRAY_SIZE(sfx); j++) {
			snprintf(file, sizeof file, "%s%s", dbs[i], sfx[j]);
			path_of(path, sizeof path, file);
			unlink(path);
		}
	if (rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
}

int
main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	make_key(&key_a);
	make_key(&key_b);
	test_channels();
	test_append();
	test_reopen();
	test_receive();
	test_inbox_order();
	test_ack();
	test_back_on_a();
	test_migrate();
	test_suspension();
	cleanup();
	return t_done();
}
