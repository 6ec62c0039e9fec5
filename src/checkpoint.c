/* SPDX-License-Identifier: ISC */
/* checkpoint.c: signed checkpoints with one peer; see checkpoint.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "log.h"
#include "wire.h"

#define WAITERS_MAX 16
#define ANSWER_MS 10000 /* unanswered this long: it ends as "no answer" */
#define FIRST_MS 5000   /* the first periodic one after the link comes up */

enum phase { IDLE, VIEWING, ASKED, SAVING };
/* What a CKPT_SAVE job is for (its seq field): results are told once they are on disk. */
enum { SAVE_WAITING = 0, SAVE_OURS = 1, SAVE_THEIRS = 2 };

struct hl_ckpt {
	int64_t peer_id;
	char name[HL_NAME_MAX + 1], self[HL_NAME_MAX + 1];
	const struct hl_identity *id;
	const uint8_t *peer_ed;
	struct hl_storeq *q;
	struct hl_ckpt_io io;
	bool up;
	uint64_t gen; /* bumped at every up and down: stale jobs are ignored */
	uint64_t next_ms, asked_ms, last_at_ns;
	enum phase phase;
	struct hl_ckpt_rec mine;
	void *waiters[WAITERS_MAX + 1];
	size_t nwaiters;
	uint8_t buf[256];
};

struct hl_ckpt *
hl_ckpt_new(int64_t peer_id, const char *peer_name, const char *self_name,
            const struct hl_identity *id, const uint8_t peer_ed25519[static 32],
            struct hl_storeq *q, struct hl_ckpt_io io)
{
	struct hl_ckpt *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->peer_id = peer_id;
	snprintf(c->name, sizeof c->name, "%s", peer_name);
	snprintf(c->self, sizeof c->self, "%s", self_name);
	c->id = id;
	c->peer_ed = peer_ed25519;
	c->q = q;
	c->io = io;
	return c;
}

/* The checkpoint of ours in flight ends: tell whoever waits, and be idle again. */
static void
finish(struct hl_ckpt *c, const struct hl_ckpt_rec *r)
{
	void *waiters[WAITERS_MAX + 1] = {0};

	memcpy(waiters, c->waiters, c->nwaiters * sizeof *waiters);
	c->nwaiters = 0;
	c->phase = IDLE;
	c->io.done(c->io.ctx, waiters, r);
}

/* End ours without an answer, saying why. */
static void
give_up(struct hl_ckpt *c, const char *why)
{
	struct hl_ckpt_rec r = c->mine;

	r.status = HL_CKPT_WAITING;
	snprintf(r.detail, sizeof r.detail, "%s", why);
	finish(c, &r);
}

void
hl_ckpt_free(struct hl_ckpt *c)
{
	if (!c)
		return;
	if (c->phase != IDLE)
		give_up(c, "the station stopped or the peer was removed");
	free(c);
}

void
hl_ckpt_up(struct hl_ckpt *c, uint64_t now_ms)
{
	if (c->up)
		return; /* a session replacing another: what is in flight goes on */
	c->up = true;
	c->next_ms = 0; /* the tick schedules the first one */
	(void)now_ms;
}

void
hl_ckpt_down(struct hl_ckpt *c)
{
	c->up = false;
	c->gen++;
	if (c->phase == VIEWING || c->phase == ASKED) /* SAVING: the answer came; it is told */
		give_up(c, "the link went down before the peer answered");
}

static void
submit(struct hl_ckpt *c, enum hl_job_kind kind, const struct hl_ckpt_rec *r, uint64_t what)
{
	struct hl_job *j = hl_job_new(kind, c->peer_id);

	if (!j) {
		log_error("checkpoint_failed", "peer=%s reason=\"out of memory\"", c->name);
		return;
	}
	if (r)
		j->ckpt = *r;
	j->tag = c->gen;
	j->seq = what;
	hl_storeq_submit(c->q, j);
}

int
hl_ckpt_start(struct hl_ckpt *c, void *waiter)
{
	if (!c->up)
		return HL_ERR_CLOSED;
	if (waiter) {
		if (c->nwaiters == WAITERS_MAX)
			return HL_ERR_BUSY;
		c->waiters[c->nwaiters++] = waiter;
	}
	if (c->phase == IDLE) {
		memset(&c->mine, 0, sizeof c->mine);
		c->phase = VIEWING;
		submit(c, HL_JOB_CKPT_VIEW, NULL, 0);
	}
	return HL_OK;
}

void
hl_ckpt_tick(struct hl_ckpt *c, uint64_t now_ms, uint64_t interval_ms)
{
	if (c->phase == ASKED && now_ms - c->asked_ms > ANSWER_MS) {
		char why[96];
		snprintf(why, sizeof why, "no answer from %s within %d s", c->name,
		         ANSWER_MS / 1000);
		log_warn("checkpoint_unanswered", "peer=%s", c->name);
		give_up(c, why);
	}
	if (c->up && interval_ms && c->next_ms == 0)
		c->next_ms = now_ms + (interval_ms < FIRST_MS ? interval_ms : FIRST_MS);
	if (c->up && interval_ms && now_ms >= c->next_ms) {
		c->next_ms = now_ms + interval_ms;
		if (c->phase == IDLE && hl_ckpt_start(c, NULL) < 0)
			log_debug("checkpoint_skipped", "peer=%s", c->name);
	}
}

/* Sign our statement into a frame and send it; keeps the signature in r. */
static int
send_stmt(struct hl_ckpt *c, uint8_t flags, struct hl_ckpt_rec *r)
{
	size_t len = 0;
	int rc = hl_ckpt_encode(flags, &r->ours, c->id->ed25519_sk, c->id->pub.ed25519, c->peer_ed,
	                        c->buf, sizeof c->buf, &len);

	if (rc < 0)
		return rc;
	memcpy(r->our_sig, c->buf + len - HL_SIG_LEN, HL_SIG_LEN);
	return c->io.send(c->io.ctx, HL_FT_CHECKPOINT, c->buf, len);
}

/* Both statements in r: agreed when they carry the same two hashes; detail says what differs. */
static void
judge(struct hl_ckpt *c, struct hl_ckpt_rec *r)
{
	char ours[HL_MSGID_LEN + 1], theirs[HL_MSGID_LEN + 1];
	size_t n = 0;

	r->status = HL_CKPT_AGREED;
	r->detail[0] = '\0';
	if (memcmp(r->ours.signer_hash, r->theirs.other_hash, HL_HASH_LEN) != 0) {
		hl_event_id(r->ours.signer_hash, ours);
		hl_event_id(r->theirs.other_hash, theirs);
		n += (size_t)snprintf(r->detail, sizeof r->detail,
		                      "%s's chain up to seq %llu: %s holds %s, %s holds %s. ",
		                      c->self, (unsigned long long)r->ours.signer_seq, c->self,
		                      ours, c->name, theirs);
		r->status = HL_CKPT_MISMATCH;
	}
	if (memcmp(r->ours.other_hash, r->theirs.signer_hash, HL_HASH_LEN) != 0 &&
	    n < sizeof r->detail) {
		hl_event_id(r->ours.other_hash, ours);
		hl_event_id(r->theirs.signer_hash, theirs);
		snprintf(r->detail + n, sizeof r->detail - n,
		         "%s's chain up to seq %llu: %s holds %s, %s says %s.", c->name,
		         (unsigned long long)r->ours.other_seq, c->self, ours, c->name, theirs);
		r->status = HL_CKPT_MISMATCH;
	}
}

int
hl_ckpt_frame(struct hl_ckpt *c, const uint8_t *body, size_t len)
{
	struct hl_ckpt_rec r = {0};
	uint8_t flags;

	if (hl_ckpt_decode(body, len, c->peer_ed, c->id->pub.ed25519, &flags, &r.theirs,
	                   r.their_sig) < 0)
		return HL_ERR_PROTO;
	r.have_theirs = true;
	if (flags == HL_CKPT_REQUEST) {
		r.initiator = 1;
		submit(c, HL_JOB_CKPT_ANSWER, &r, 0);
		return HL_OK;
	}
	if (c->phase != ASKED || r.theirs.at_ns != c->mine.ours.at_ns ||
	    r.theirs.signer_seq != c->mine.ours.other_seq ||
	    r.theirs.other_seq != c->mine.ours.signer_seq) {
		log_debug("checkpoint_stale_reply", "peer=%s", c->name);
		return HL_OK;
	}
	c->mine.theirs = r.theirs;
	memcpy(c->mine.their_sig, r.their_sig, HL_SIG_LEN);
	c->mine.have_theirs = true;
	judge(c, &c->mine);
	c->phase = SAVING; /* whoever waits hears once it is on disk */
	submit(c, HL_JOB_CKPT_SAVE, &c->mine, SAVE_OURS);
	return HL_OK;
}

void
hl_ckpt_job_done(struct hl_ckpt *c, const struct hl_job *j)
{
	struct hl_ckpt_rec r;

	if (j->rc < 0)
		log_error("checkpoint_store_failed", "peer=%s job=%d err=\"%s\"", c->name,
		          (int)j->kind, hl_strerror(j->rc));
	switch (j->kind) {
	case HL_JOB_CKPT_VIEW:
		if (j->tag != c->gen || c->phase != VIEWING)
			return; /* down meanwhile: already given up */
		if (j->rc < 0) {
			give_up(c, "cannot read this station's record");
			return;
		}
		c->mine.initiator = 0;
		c->mine.ours = j->ckpt.ours;
		/* (initiator, at_ns) names it on both sides: never twice. */
		c->mine.ours.at_ns = hl_wall_ns();
		if (c->mine.ours.at_ns <= c->last_at_ns)
			c->mine.ours.at_ns = c->last_at_ns + 1;
		c->last_at_ns = c->mine.ours.at_ns;
		c->mine.status = HL_CKPT_WAITING;
		if (send_stmt(c, HL_CKPT_REQUEST, &c->mine) < 0) {
			give_up(c, "the link went down before the checkpoint could be sent");
			return;
		}
		c->phase = ASKED;
		c->asked_ms = hl_now_ms();
		submit(c, HL_JOB_CKPT_SAVE, &c->mine, SAVE_WAITING);
		return;
	case HL_JOB_CKPT_ANSWER:
		if (j->rc < 0)
			return; /* no answer: the peer's checkpoint ends unanswered */
		r = j->ckpt;
		if (send_stmt(c, HL_CKPT_REPLY, &r) < 0)
			log_info("checkpoint_reply_unsent", "peer=%s", c->name);
		judge(c, &r);
		submit(c, HL_JOB_CKPT_SAVE, &r, SAVE_THEIRS);
		return;
	case HL_JOB_CKPT_SAVE:
		if (j->seq == SAVE_THEIRS) {
			c->io.done(c->io.ctx, (void *const[]){NULL}, &j->ckpt);
		} else if (j->seq == SAVE_OURS && c->phase == SAVING) {
			r = c->mine;
			finish(c, &r);
		}
		return;
	default:
		return;
	}
}
