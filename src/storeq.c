/* SPDX-License-Identifier: ISC */
/* storeq.c: the writer thread and its batches; see storeq.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "storeq.h"

struct hl_storeq {
	struct hl_store *st, *ckpt_st; /* the writer's connection, the checkpointer's */
	pthread_t thread, ckpt_thread;
	bool ckpt_started;
	pthread_mutex_t mu;
	pthread_cond_t cv, ckpt_cv;
	struct hl_job *waiting, **wait_tail; /* submitted, not yet run */
	struct hl_job *done, **done_tail;    /* run, not yet reported */
	bool stop, thread_started;
	bool disk_failed; /* a COMMIT failed with HL_ERR_DISK: the store is not touched again */
	size_t wait_urgent, wait_weight; /* what is queued: how urgent, how much */
	uint64_t wait_since_ms;          /* when the oldest queued job came */
	uv_async_t async;
	hl_storeq_done_fn *done_fn;
	void *ctx;
};

struct hl_job *
hl_job_new(enum hl_job_kind kind, int64_t peer_id)
{
	struct hl_job *j = calloc(1, sizeof *j);

	if (j) {
		j->kind = kind;
		j->peer_id = peer_id;
	}
	return j;
}

void
hl_job_free(struct hl_job *job)
{
	if (!job)
		return;
	free(job->body);
	free(job->seqs);
	free(job->entries);
	free(job->heads);
	hl_event_rows_free(job->rows, job->nrows);
	free(job);
}

static int
run_job(struct hl_store *st, struct hl_job *j)
{
	int rc = HL_OK;

	switch (j->kind) {
	case HL_JOB_RECEIVE:
		return hl_store_receive(st, j->peer_id, &j->ev, j->hash, &j->outcome, j->reason);
	case HL_JOB_SENT:
		for (size_t i = 0; i < j->nseqs && rc == HL_OK; i++)
			rc = hl_store_mark_sent(st, j->peer_id, j->seqs[i]);
		return rc;
	case HL_JOB_RECEIPT:
		for (size_t i = 0; i < j->nentries && rc == HL_OK; i++)
			rc = hl_store_mark_delivered(st, j->peer_id, j->entries[i].seq,
			                             j->entries[i].hash, j->sig);
		return rc == HL_OK
		           ? hl_store_put_receipt(st, j->peer_id, j->entries, j->nentries, j->sig)
		           : rc;
	case HL_JOB_REFUSED:
		return hl_store_mark_refused(st, j->peer_id, j->seq, j->hash, j->reason, j->sig);
	case HL_JOB_HEAD:
		return hl_store_put_head(st, j->peer_id, HL_DIR_IN, j->seq, j->hash, j->sig);
	case HL_JOB_LOAD:
		return hl_store_pending_page(st, j->peer_id, j->after, j->limit, &j->rows,
		                             &j->nrows, &j->page_end, &j->more);
	case HL_JOB_APPEND: {
		bool existed;
		rc = hl_store_append_once(st, j->peer_id, &j->ev, j->token, j->retry, j->hash,
		                          &existed, j->reason);
		if (rc == HL_OK)
			hl_event_id(j->hash, j->msg_id);
		return rc;
	}
	case HL_JOB_LINK_TEST:
		return hl_store_link_test_add(st, j->peer_id, j->test.dir, j->test.link,
		                              j->test.at_ns, j->test.ok, j->test.rtt_us,
		                              j->test.error);
	case HL_JOB_CKPT_VIEW:
		return hl_store_ckpt_view(st, j->peer_id, &j->ckpt.ours.signer_seq,
		                          j->ckpt.ours.signer_hash, &j->ckpt.ours.other_seq,
		                          j->ckpt.ours.other_hash);
	case HL_JOB_CKPT_ANSWER: {
		/* The same two seqs, seen from here: our chain is the one it called "other". */
		bool found;
		j->ckpt.ours.at_ns = j->ckpt.theirs.at_ns;
		j->ckpt.ours.signer_seq = j->ckpt.theirs.other_seq;
		j->ckpt.ours.other_seq = j->ckpt.theirs.signer_seq;
		if ((rc = hl_store_chain_hash(st, j->peer_id, HL_DIR_OUT, j->ckpt.ours.signer_seq,
		                              j->ckpt.ours.signer_hash, &found)) < 0)
			return rc;
		return hl_store_chain_hash(st, j->peer_id, HL_DIR_IN, j->ckpt.ours.other_seq,
		                           j->ckpt.ours.other_hash, &found);
	}
	case HL_JOB_CKPT_SAVE:
		return hl_store_ckpt_save(st, j->peer_id, &j->ckpt);
	case HL_JOB_ROTATE: {
		bool existed;
		size_t n;
		rc = hl_store_rotation_start(st, j->body, j->ev.body_len, j->operator_name,
		                             &existed, &n);
		j->outcome = existed;
		j->limit = n; /* the peers it goes to */
		return rc;
	}
	case HL_JOB_ROTATED:
		return hl_store_rotation_switched(st, (int64_t)j->seq, j->after);
	case HL_JOB_PEER_KEY:
		return hl_store_peer_key_switch(st, j->peer_id, j->hash);
	case HL_JOB_SYNC_VIEW:
		return hl_store_sync_view(st, j->peer_id, &j->sync.held, j->sync.held_hash,
		                          &j->sync.top, j->sync.top_hash);
	case HL_JOB_ANSWERED:
		return hl_store_answered_page(st, j->peer_id, j->after, j->limit, &j->rows,
		                              &j->nrows, &j->page_end, &j->more);
	case HL_JOB_RETURN_LOAD:
		/* Only what a head of the peer's own covers: it can check nothing else. */
		if ((rc = hl_store_heads_after(st, j->peer_id, j->after, 4096, &j->heads,
		                               &j->nheads)) < 0 ||
		    !j->nheads)
			return rc;
		return hl_store_return_page(st, j->peer_id, j->after, j->heads[j->nheads - 1].seq,
		                            j->limit, &j->rows, &j->nrows, &j->page_end, &j->more);
	case HL_JOB_TAKE_BACK:
		return hl_store_take_back(st, j->peer_id, j->rows, j->nrows);
	case HL_JOB_RESTORED_DONE:
		return hl_store_restored_done(st, j->peer);
	case HL_JOB_ACK: {
		char id[HL_MSGID_LEN + 1];
		memcpy(j->ref_id, j->msg_id, sizeof j->ref_id);
		rc = hl_store_ack_locked(st, j->msg_id, j->operator_name, j->reason,
		                         sizeof j->reason, id, j->peer);
		if (rc == HL_OK)
			memcpy(j->msg_id, id, sizeof id);
		return rc;
	}
	}
	return HL_ERR_INVAL;
}

#define BATCH_WEIGHT 2048 /* row updates in one ordinary batch: bounds how long FLASH can wait */
#define GATHER_MS 10      /* bookkeeping waits this long to share a commit */
#define BATCH_MS 15       /* a batch that has run this long commits what it has */
#define GATHER_WEIGHT 512 /* ... unless this much is already queued */

/* Jobs that must not wait behind bookkeeping: what operators are waiting for. */
static bool
urgent(const struct hl_job *j)
{
	switch (j->kind) {
	case HL_JOB_APPEND:
	case HL_JOB_ACK:
	case HL_JOB_LOAD:
	case HL_JOB_ROTATE:
	case HL_JOB_ROTATED:
	case HL_JOB_PEER_KEY:
	case HL_JOB_SYNC_VIEW:
	case HL_JOB_ANSWERED:
	case HL_JOB_RETURN_LOAD:
	case HL_JOB_TAKE_BACK:
		return true;
	case HL_JOB_RECEIVE:
		return j->ev.precedence <= HL_PREC_IMMEDIATE;
	case HL_JOB_SENT:
	case HL_JOB_RECEIPT:
	case HL_JOB_REFUSED:
	case HL_JOB_HEAD:
	case HL_JOB_LINK_TEST: /* a test measures the store as it is, backlog included */
	case HL_JOB_CKPT_VIEW:
	case HL_JOB_CKPT_ANSWER:
	case HL_JOB_CKPT_SAVE:
	case HL_JOB_RESTORED_DONE:
		break;
	}
	return false;
}

static size_t
weight(const struct hl_job *j)
{
	return j->kind == HL_JOB_RECEIPT ? j->nentries : j->kind == HL_JOB_SENT ? j->nseqs : 1;
}

/*
 * The next batch, taken off the queue with the lock held: every urgent job if
 * any is queued, otherwise ordinary jobs up to BATCH_WEIGHT. Each class
 * keeps its order; the jobs of one class never depend on the other's.
 */
static struct hl_job *
take_batch(struct hl_storeq *q)
{
	struct hl_job *batch = NULL, **bt = &batch, *rest = NULL, **rt = &rest, *next;
	bool any_urgent = false;
	size_t w = 0;

	for (struct hl_job *j = q->waiting; j && !any_urgent; j = j->next)
		any_urgent = urgent(j);
	for (struct hl_job *j = q->waiting; j; j = next) {
		next = j->next;
		j->next = NULL;
		if (any_urgent ? urgent(j) : w < BATCH_WEIGHT) {
			*bt = j;
			bt = &j->next;
			w += weight(j);
		} else {
			*rt = j;
			rt = &j->next;
		}
	}
	q->waiting = rest;
	q->wait_tail = rest ? rt : &q->waiting;
	q->wait_urgent = 0;
	q->wait_weight = 0;
	for (struct hl_job *j = rest; j; j = j->next) {
		q->wait_urgent += urgent(j);
		q->wait_weight += weight(j);
	}
	q->wait_since_ms = hl_now_ms();
	return batch;
}

/* Has urgent work been queued since this batch began? */
static bool
urgent_waiting(struct hl_storeq *q)
{
	bool yes;

	pthread_mutex_lock(&q->mu);
	yes = q->wait_urgent > 0;
	pthread_mutex_unlock(&q->mu);
	return yes;
}

static void *
writer(void *arg)
{
	struct hl_storeq *q = arg;

	for (;;) {
		struct hl_job *batch;
		int rc;

		pthread_mutex_lock(&q->mu);
		/*
		 * Urgent work goes at once. Bookkeeping (sent marks, receipts,
		 * heads) waits up to GATHER_MS so that it shares one commit, and
		 * so that it is not what an operator's FLASH finds in its way.
		 */
		for (;;) {
			uint64_t now = hl_now_ms();
			if (q->stop || q->wait_urgent ||
			    (q->waiting && (q->wait_weight >= GATHER_WEIGHT ||
			                    now >= q->wait_since_ms + GATHER_MS)))
				break;
			if (!q->waiting) {
				pthread_cond_wait(&q->cv, &q->mu);
			} else {
				struct timespec ts;
				uint64_t wake = q->wait_since_ms + GATHER_MS;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += (long)((wake - now) * 1000000u);
				ts.tv_sec += ts.tv_nsec / 1000000000L;
				ts.tv_nsec %= 1000000000L;
				pthread_cond_timedwait(&q->cv, &q->mu, &ts);
			}
		}
		batch = take_batch(q);
		pthread_mutex_unlock(&q->mu);
		if (!batch)
			break; /* stopping, and nothing left */

		/* One transaction for the whole batch; a job that fails alone is
		 * rolled back alone (savepoint), a failed COMMIT fails them all.
		 * Once the disk failed, nothing more is tried: every job fails. */
		pthread_mutex_lock(&q->mu);
		rc = q->disk_failed ? HL_ERR_DISK : HL_OK;
		pthread_mutex_unlock(&q->mu);
		if (rc == HL_OK)
			rc = hl_store_begin(q->st);
		uint64_t started = hl_now_ms();
		struct hl_job *rest = NULL;
		for (struct hl_job *j = batch; j; j = j->next) {
			if (rc < 0) {
				j->rc = rc;
				continue;
			}
			hl_store_savepoint(q->st);
			j->rc = run_job(q->st, j);
			if (j->rc < 0)
				hl_store_savepoint_rollback(q->st);
			else
				hl_store_savepoint_release(q->st);
			if (j->next && (hl_now_ms() - started >= BATCH_MS || urgent_waiting(q))) {
				/* Commit this much now: urgent work is waiting, or the batch is
				 * long. */
				rest = j->next;
				j->next = NULL;
				break;
			}
		}
		if (rc == HL_OK && (rc = hl_store_commit(q->st)) < 0) {
			log_error("store_commit_failed", "err=\"%s\"", hl_strerror(rc));
			for (struct hl_job *j = batch; j; j = j->next)
				j->rc = rc;
		}
		pthread_mutex_lock(&q->mu);
		if (rc == HL_ERR_DISK)
			q->disk_failed = true;
		if (rest) { /* back to the front of the queue, in order */
			struct hl_job *last = rest;
			q->wait_weight += weight(last);
			q->wait_urgent += urgent(last);
			while (last->next) {
				last = last->next;
				q->wait_weight += weight(last);
				q->wait_urgent += urgent(last);
			}
			last->next = q->waiting;
			if (!q->waiting)
				q->wait_tail = &last->next;
			q->waiting = rest;
		}
		*q->done_tail = batch;
		while (batch->next)
			batch = batch->next;
		q->done_tail = &batch->next;
		pthread_mutex_unlock(&q->mu);
		uv_async_send(&q->async);
	}
	return NULL;
}

/* Copies the WAL back into the database once a second, beside the writer. */
static void *
checkpointer(void *arg)
{
	struct hl_storeq *q = arg;

	pthread_mutex_lock(&q->mu);
	while (!q->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&q->ckpt_cv, &q->mu, &ts);
		if (q->stop)
			break;
		if (q->disk_failed)
			continue; /* copying the WAL back would only write to a failing disk */
		pthread_mutex_unlock(&q->mu);
		hl_store_checkpoint(q->ckpt_st);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void
on_async(uv_async_t *a)
{
	struct hl_storeq *q = a->data;
	struct hl_job *list;

	pthread_mutex_lock(&q->mu);
	list = q->done;
	q->done = NULL;
	q->done_tail = &q->done;
	pthread_mutex_unlock(&q->mu);
	if (!list)
		return;
	while (list) {
		struct hl_job *next = list->next;
		list->next = NULL;
		q->done_fn(q->ctx, list);
		list = next;
	}
	q->done_fn(q->ctx, NULL);
}

void
hl_storeq_set_self(struct hl_storeq *q, const char *name)
{
	hl_store_set_self(q->st, name); /* before any job: the submit's lock orders it */
}

int
hl_storeq_start(uv_loop_t *loop, const char *store_path, hl_storeq_done_fn *done, void *ctx,
                struct hl_storeq **out, char *err, size_t errcap)
{
	struct hl_storeq *q = calloc(1, sizeof *q);
	int rc;

	*out = NULL;
	if (!q)
		return HL_ERR_NOMEM;
	if ((rc = hl_store_open(store_path, false, &q->st, err, errcap)) < 0) {
		free(q);
		return rc;
	}
	if ((rc = hl_store_open(store_path, false, &q->ckpt_st, err, errcap)) < 0) {
		hl_store_close(q->st);
		free(q);
		return rc;
	}
	hl_store_autocheckpoint(q->st, false);
	hl_store_fold_on_close(q->st); /* a clean stop leaves no WAL behind */
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	pthread_cond_init(&q->ckpt_cv, NULL);
	q->wait_tail = &q->waiting;
	q->done_tail = &q->done;
	q->done_fn = done;
	q->ctx = ctx;
	uv_async_init(loop, &q->async, on_async);
	q->async.data = q;
	if (pthread_create(&q->thread, NULL, writer, q) != 0) {
		snprintf(err, errcap, "cannot start the store thread");
		hl_storeq_stop(q);
		return HL_ERR_IO;
	}
	q->thread_started = true;
	q->ckpt_started = pthread_create(&q->ckpt_thread, NULL, checkpointer, q) == 0;
	*out = q;
	return HL_OK;
}

void
hl_storeq_submit(struct hl_storeq *q, struct hl_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (!q->waiting)
		q->wait_since_ms = hl_now_ms();
	q->wait_urgent += urgent(job);
	q->wait_weight += weight(job);
	*q->wait_tail = job;
	q->wait_tail = &job->next;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void
on_closed(uv_handle_t *h)
{
	struct hl_storeq *q = h->data;

	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	pthread_cond_destroy(&q->ckpt_cv);
	free(q);
}

void
hl_storeq_stop(struct hl_storeq *q)
{
	struct hl_job *left;

	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_signal(&q->cv);
	pthread_cond_signal(&q->ckpt_cv);
	pthread_mutex_unlock(&q->mu);
	if (q->thread_started)
		pthread_join(q->thread, NULL);
	if (q->ckpt_started)
		pthread_join(q->ckpt_thread, NULL);
	if (!q->disk_failed)
		hl_store_checkpoint(q->st); /* leave a short WAL behind */
	hl_store_close(q->ckpt_st);
	q->ckpt_st = NULL;
	/* Results nobody will read any more: their work is committed, just free them. */
	left = q->done;
	q->done = NULL;
	while (left) {
		struct hl_job *next = left->next;
		hl_job_free(left);
		left = next;
	}
	hl_store_close(q->st);
	q->st = NULL;
	uv_close((uv_handle_t *)&q->async, on_closed);
}
