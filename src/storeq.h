/* SPDX-License-Identifier: ISC */
/*
 * storeq.h: the daemon's store work, off the loop thread. One writer
 * thread with its own store connection takes the jobs queued so far and
 * runs them in one transaction: one fsync for the batch (group commit).
 * Jobs are served by class: urgent work (what operators wait for) first,
 * never waiting to fill a batch nor behind a batch in progress (it joins
 * it, and the batch commits at once); bookkeeping rides along with it;
 * the rest gathers into batches. Loads of pending events run on a reader
 * thread with a connection of its own. Results come back on the loop
 * thread, after the COMMIT, which is what lets a receipt leave only for
 * what is on disk.
 */
#ifndef HL_STOREQ_H
#define HL_STOREQ_H

#include <uv.h>

#include "store.h"

enum hl_job_kind {
	HL_JOB_RECEIVE, /* store an event of the peer's chain */
	HL_JOB_SENT,    /* mark our events sent: seqs[] at times[] */
	HL_JOB_RECEIPT, /* the peer's receipt: mark entries[] delivered; or keep it (keep_only) */
	HL_JOB_REFUSED, /* the peer's refusal of seq */
	HL_JOB_HEAD,    /* the peer's signed chain head */
	HL_JOB_LOAD,    /* read our pending events with seq > after */
	HL_JOB_APPEND,  /* a new event of ours (ev, body): seq and hash out */
	HL_JOB_ACK,     /* the operator's acknowledgment of msg_id */
	/* one link test to record (the test fields): ours, or the peer's we answer */
	HL_JOB_LINK_TEST,
	HL_JOB_CKPT_VIEW,   /* what we vouch for now: ckpt.ours out (no at_ns, unsigned) */
	HL_JOB_CKPT_ANSWER, /* our hashes at the seqs of the peer's request ckpt.theirs */
	HL_JOB_CKPT_SAVE,   /* store ckpt */
	/* docs/keys.md: */
	HL_JOB_ROTATE, /* start our rotation: body = statement, operator_name; outcome 1: existed */
	HL_JOB_ROTATED,  /* our rotation seq (its id) switched at after (ns) */
	HL_JOB_PEER_KEY, /* the peer showed its announced key: hash holds its X25519 half */
	/* re-synchronisation at link-up (store.h; docs/reliability.md) */
	HL_JOB_SYNC_VIEW,   /* what our SYNC says: sync out */
	HL_JOB_ANSWERED,    /* a page of our events past `after` the peer answered: rows out */
	HL_JOB_RETURN_LOAD, /* a page of the peer's events past `after`, and its heads: rows, heads
	                     */
	HL_JOB_TAKE_BACK,   /* our events given back (rows, checked against our head) */
	HL_JOB_RESTORED_DONE, /* the peer's chain is whole again: take it off the restored mark */
};

struct hl_job {
	enum hl_job_kind kind;
	int64_t peer_id;
	uint64_t tag; /* the submitter's, e.g. which generation of its queue asked */
	/* in */
	struct hl_event ev; /* RECEIVE: ev.body points at body */
	uint8_t *body;      /* owned by the job */
	uint64_t seq, after;
	uint8_t hash[HL_HASH_LEN], sig[HL_SIG_LEN];
	uint64_t *seqs;
	size_t nseqs;
	uint64_t *times;  /* SENT: when each of seqs went out; RECEIPT: each entry's (0: unknown) */
	uint64_t sent_ns; /* REFUSED: when it went out (0: unknown) */
	uint64_t at_ns;   /* RECEIPT, REFUSED: when the peer's answer came (wall clock) */
	struct hl_receipt_entry *entries;
	size_t nentries;
	bool keep_only; /* RECEIPT: keep the signed receipt (entries as signed), no marks */
	char reason[HL_REASON_MAX + 1];          /* REFUSED in, RECEIVE and APPEND/ACK errors out */
	bool reason_given;                       /* RECEIVE: reason was decided before the store */
	char msg_id[HL_MSGID_LEN + 1];           /* ACK in; APPEND and ACK out (the new event) */
	char ref_id[HL_MSGID_LEN + 1];           /* ACK out: the message acknowledged */
	char operator_name[HL_OPERATOR_MAX + 1]; /* ACK in */
	char peer[HL_NAME_MAX + 1];              /* ACK out */
	void *waiter;                            /* who asked (a control client) */
	uint8_t token[HL_TOKEN_LEN];             /* APPEND: the sender's retry key */
	bool retry;                              /* APPEND: an earlier attempt lost its answer */
	struct {                                 /* LINK_TEST: one row of link_tests */
		enum hl_dir dir; /* OUT: our test's result; IN: the peer's, answered once stored */
		bool ok;
		uint64_t at_ns, rtt_us;
		char link[HL_LINK_TEXT_MAX];
		char error[HL_LINK_ERROR_MAX];
		uint8_t body[16]; /* IN: the TEST's body, echoed in the TEST_REPLY on conn `tag` */
	} test;
	struct hl_ckpt_rec ckpt;   /* the CKPT jobs */
	struct hl_sync sync;       /* SYNC_VIEW out */
	struct hl_head_rec *heads; /* RETURN_LOAD out: the peer's heads past `after` */
	size_t nheads;
	/* out */
	int rc, outcome;
	struct hl_event_row *rows; /* LOAD: a page of our pending events (ANSWERED, RETURN_LOAD too;
	                              TAKE_BACK in) */
	size_t nrows;
	size_t limit;      /* LOAD: the page size */
	uint64_t page_end; /* LOAD: where the next page starts */
	bool more;         /* LOAD: more pending past page_end */
	struct hl_job *next;
};

struct hl_storeq;

/*
 * done is called on the loop thread for each finished job, which it must
 * free (hl_job_free), urgent ones first, then once with NULL at the end of
 * each batch. Once a COMMIT failed with HL_ERR_DISK (the disk failed),
 * every later job fails with HL_ERR_DISK without touching the store: the
 * daemon stops.
 */
typedef void hl_storeq_done_fn(void *ctx, struct hl_job *job);

HL_MUST_CHECK int hl_storeq_start(uv_loop_t *loop, const char *store_path, hl_storeq_done_fn *done,
                                  void *ctx, struct hl_storeq **out, char *err, size_t errcap);
/* The station's name for refusals (hl_store_set_self); call before the first job. */
void hl_storeq_set_self(struct hl_storeq *q, const char *name);
/* Queue a job (loop thread). Takes ownership. */
void hl_storeq_submit(struct hl_storeq *q, struct hl_job *job);
/* Finish queued work, stop the thread, close the store; frees q once its handle closed. */
void hl_storeq_stop(struct hl_storeq *q);

struct hl_job *hl_job_new(enum hl_job_kind kind, int64_t peer_id);
void hl_job_free(struct hl_job *job);

#endif
