/* SPDX-License-Identifier: ISC */
/*
 * checkpoint.h: signed checkpoints with one peer (docs/transcript.md), on
 * the loop thread. The initiator states what it vouches for (its chain up
 * to the last seq the peer has receipted, the peer's chain up to the last
 * seq it holds without a gap), signed; the responder answers with its own
 * signed statement about the same two seqs from its record. Both store
 * both statements: the same two hashes is `agreed`; anything else is a
 * `mismatch`, an alarm on both sides that is stored, never dropped. At
 * most one checkpoint of ours is in flight per peer; store work goes
 * through the writer thread (jobs HL_JOB_CKPT_*).
 */
#ifndef HL_CHECKPOINT_H
#define HL_CHECKPOINT_H

#include "keys.h"
#include "storeq.h"

struct hl_ckpt_io {
	/* Seal and queue one frame; < 0 when there is no session. */
	int (*send)(void *ctx, uint8_t type, const uint8_t *body, size_t len);
	/*
	 * A checkpoint ended (agreed, mismatch, or no answer: c->status
	 * waiting). waiters: the callers of hl_ckpt_start, NULL-terminated (may
	 * be empty); initiator 1 for one the peer asked for.
	 */
	void (*done)(void *ctx, void *const *waiters, const struct hl_ckpt_rec *c);
	void *ctx;
};

struct hl_ckpt;

/* Arguments are borrowed and must outlive the checkpointer. */
struct hl_ckpt *hl_ckpt_new(int64_t peer_id, const char *peer_name, const char *self_name,
                            const struct hl_identity *id, const uint8_t peer_ed25519[static 32],
                            struct hl_storeq *q, struct hl_ckpt_io io);
/* Tells every waiter "no answer" first. */
void hl_ckpt_free(struct hl_ckpt *c);
void hl_ckpt_up(struct hl_ckpt *c, uint64_t now_ms);
void hl_ckpt_down(struct hl_ckpt *c);
/* Periodic: start one every interval_ms (0: never) while up; time out one unanswered. */
void hl_ckpt_tick(struct hl_ckpt *c, uint64_t now_ms, uint64_t interval_ms);
/* Start one now (or join the one in flight); HL_ERR_CLOSED when the link is down. */
HL_MUST_CHECK int hl_ckpt_start(struct hl_ckpt *c, void *waiter);
/* A CHECKPOINT frame; < 0 is a protocol violation. */
HL_MUST_CHECK int hl_ckpt_frame(struct hl_ckpt *c, const uint8_t *body, size_t len);
/* A finished HL_JOB_CKPT_* job of this peer (not taken). */
void hl_ckpt_job_done(struct hl_ckpt *c, const struct hl_job *j);

#endif
