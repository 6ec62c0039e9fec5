/* SPDX-License-Identifier: ISC */
/* storeq.c: the writer thread and its batches; see storeq.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "storeq.h"
#include "trace.h"

/*
 * The class of a job. Each class is a queue of its own, kept in order;
 * jobs of different classes never depend on one another's order.
 * - URGENT: what operators wait for: a `send` or `ack`, a received FLASH
 *   or IMMEDIATE event. Never waits to fill a batch, nor behind a batch
 *   being built: after the job in hand, that batch is dropped (rolled back,
 *   to run again right after) and the urgent work commits alone, so it pays
 *   for one small commit. Only a commit already under way (its fsync cannot
 *   be interrupted) is waited for.
 * - BOOK: our own events' bookkeeping (sent marks, the peer's receipts and
 *   refusals). Gathers for a while to share a commit, or rides along with
 *   urgent work when there is some.
 * - WORK: the rest (ROUTINE and PRIORITY events received, the peer's
 *   heads, which must follow the events they cover, link tests,
 *   checkpoints), in batches that share one commit.
 * LOAD is not written: it runs on the reader thread's own connection, so
 * that reading a page of the backlog never holds up a commit.
 */
enum { Q_URGENT, Q_BOOK, Q_WORK, Q_COUNT };

struct fifo {
	struct hl_job *head, **tail;
	size_t weight; /* row updates queued (weight()) */
};

struct hl_storeq {
	/* the writer's connection, the checkpointer's, the reader's (loads) */
	struct hl_store *st, *ckpt_st, *rd_st;
	pthread_t thread, ckpt_thread, rd_thread;
	bool ckpt_started, rd_started;
	pthread_mutex_t mu;
	pthread_cond_t cv, ckpt_cv, rd_cv;
	struct fifo fifo[Q_COUNT];        /* submitted, not yet run, by class (job_class) */
	struct fifo loads;                /* LOAD jobs, for the reader */
	struct hl_job *done, **done_tail; /* run, not yet reported */
	bool stop, thread_started;
	uint64_t since_ms;      /* when the last batch was taken: bookkeeping gathers from then */
	uint64_t work_since_ms; /* when the oldest queued job of Q_WORK came */
	size_t nwork;           /* jobs queued in Q_WORK */
	bool ckpt_wanted;       /* the WAL is long: checkpoint without waiting for the second */
	bool redone;            /* an ordinary batch was dropped for urgent work (writer) */
	bool disk_failed; /* a COMMIT failed with HL_ERR_DISK: the store is not touched again */
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
	free(job->times);
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
		if (!j->reason_given)
			j->reason[0] = '\0'; /* (a batch dropped and run again decides anew) */
		return hl_store_receive(st, j->peer_id, &j->ev, j->hash, &j->outcome, j->reason);
	case HL_JOB_SENT:
		for (size_t i = 0; i < j->nseqs && rc == HL_OK; i++)
			rc = hl_store_mark_sent(st, j->peer_id, j->seqs[i],
			                        j->times ? j->times[i] : 0);
		return rc;
	case HL_JOB_RECEIPT:
		if (j->keep_only)
			return hl_store_put_receipt(st, j->peer_id, j->entries, j->nentries,
			                            j->sig);
		for (size_t i = 0; i < j->nentries && rc == HL_OK; i++)
			rc = hl_store_mark_delivered(st, j->peer_id, j->entries[i].seq,
			                             j->entries[i].hash, j->sig,
			                             j->times ? j->times[i] : 0, j->at_ns);
		return rc;
	case HL_JOB_REFUSED:
		return hl_store_mark_refused(st, j->peer_id, j->seq, j->hash, j->reason, j->sig,
		                             j->sent_ns, j->at_ns);
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

#define BATCH_WEIGHT 1024      /* row updates in one ordinary batch (urgent work drops it) */
#define GATHER_MS 50           /* bookkeeping waits this long to share a commit (or rides along) */
#define BATCH_MS 10            /* a batch that has run this long commits what it has */
#define GATHER_WEIGHT 512      /* ... unless this much is already queued */
#define WORK_MS 5              /* the peer's events wait at most this long to share a commit, */
#define WORK_GATHER 512        /* ... unless this many are queued: each commit costs a signature */
#define CKPT_GAP_MS 100        /* a long WAL is checkpointed at most this often */
#define WAL_PRESIZE (8u << 20) /* hl_store_wal_presize: commits overwrite, and stay cheaper */
#define CKPT_PAGES 1024        /* a WAL this long is copied back at once, not at the next second */
#define RIDE_WEIGHT 8          /* bookkeeping that rides along with urgent work, at most */

static int
job_class(const struct hl_job *j)
{
	switch (j->kind) {
	case HL_JOB_APPEND:
	case HL_JOB_ACK:
	case HL_JOB_LOAD: /* (not queued here: the reader runs it) */
	case HL_JOB_ROTATE:
	case HL_JOB_ROTATED:
	case HL_JOB_PEER_KEY:
	case HL_JOB_SYNC_VIEW:
	case HL_JOB_ANSWERED:
	case HL_JOB_RETURN_LOAD:
	case HL_JOB_TAKE_BACK:
		return Q_URGENT;
	case HL_JOB_RECEIVE:
		return j->ev.precedence <= HL_PREC_IMMEDIATE ? Q_URGENT : Q_WORK;
	case HL_JOB_SENT:
	case HL_JOB_RECEIPT:
	case HL_JOB_REFUSED:
		return Q_BOOK;
	case HL_JOB_HEAD:
	case HL_JOB_LINK_TEST: /* a test measures the store as it is, backlog included */
	case HL_JOB_CKPT_VIEW:
	case HL_JOB_CKPT_ANSWER:
	case HL_JOB_CKPT_SAVE:
	case HL_JOB_RESTORED_DONE:
		break;
	}
	return Q_WORK;
}

static size_t
weight(const struct hl_job *j)
{
	return j->kind == HL_JOB_RECEIPT && !j->keep_only ? j->nentries
	       : j->kind == HL_JOB_SENT                   ? j->nseqs
	                                                  : 1;
}

static void
fifo_push(struct fifo *f, struct hl_job *j)
{
	j->next = NULL;
	*f->tail = j;
	f->tail = &j->next;
	f->weight += weight(j);
}

static struct hl_job *
fifo_pop(struct fifo *f)
{
	struct hl_job *j = f->head;

	if (j) {
		f->head = j->next;
		if (!f->head)
			f->tail = &f->head;
		f->weight -= weight(j);
		j->next = NULL;
	}
	return j;
}

static bool
queued(const struct hl_storeq *q)
{
	return q->fifo[Q_URGENT].head || q->fifo[Q_BOOK].head || q->fifo[Q_WORK].head;
}

/* Everything urgent that is queued, onto *tail; returns the new tail. */
static struct hl_job **
take_urgent(struct hl_storeq *q, struct hl_job **tail)
{
	struct hl_job *j;

	while ((j = fifo_pop(&q->fifo[Q_URGENT]))) {
		*tail = j;
		tail = &j->next;
	}
	return tail;
}

/* The next job of an ordinary batch (bookkeeping first), with the lock held; NULL: none. */
static struct hl_job *
next_ordinary(struct hl_storeq *q, size_t w)
{
	struct fifo *f = q->fifo[Q_BOOK].head ? &q->fifo[Q_BOOK] : &q->fifo[Q_WORK];

	if (!f->head || (w && w + weight(f->head) > BATCH_WEIGHT))
		return NULL;
	if (f == &q->fifo[Q_WORK])
		q->nwork--;
	return fifo_pop(f);
}

/*
 * The start of the next batch, with the lock held: every urgent job, and
 * bookkeeping that fits in RIDE_WEIGHT (it shares the commit and costs it
 * a page or two); or, with nothing urgent, the first ordinary job (the
 * writer takes the next ones as it goes: next_ordinary).
 */
static struct hl_job *
take_batch(struct hl_storeq *q, bool *urgent_batch)
{
	struct hl_job *batch = NULL, **tail = &batch;
	struct fifo *book = &q->fifo[Q_BOOK];
	size_t w = 0;

	q->since_ms = hl_now_ms();
	*urgent_batch = q->fifo[Q_URGENT].head != NULL;
	if (!*urgent_batch)
		return next_ordinary(q, 0);
	tail = take_urgent(q, tail);
	while (book->head && w + weight(book->head) <= RIDE_WEIGHT) {
		struct hl_job *j = fifo_pop(book);
		w += weight(j);
		*tail = j;
		tail = &j->next;
	}
	return batch;
}

/* Put a dropped batch back at the front of its queues, each class in its order (lock held). */
static void
requeue(struct hl_storeq *q, struct hl_job *list)
{
	struct hl_job *head[Q_COUNT] = {0}, **tail[Q_COUNT], *r;
	size_t w[Q_COUNT] = {0}, n[Q_COUNT] = {0};

	for (int c = 0; c < Q_COUNT; c++)
		tail[c] = &head[c];
	while ((r = list)) {
		int c = job_class(r);
		list = r->next;
		r->next = NULL;
		*tail[c] = r;
		tail[c] = &r->next;
		w[c] += weight(r);
		n[c]++;
	}
	for (int c = 0; c < Q_COUNT; c++) {
		struct fifo *f = &q->fifo[c];
		if (!head[c])
			continue;
		*tail[c] = f->head;
		if (!f->head)
			f->tail = tail[c];
		f->head = head[c];
		f->weight += w[c];
	}
	if (n[Q_WORK] && !q->nwork)
		q->work_since_ms = 0; /* long waiting: they go at once */
	q->nwork += n[Q_WORK];
}

/* Runs on the writer: one job in its own savepoint. */
static void
run_one(struct hl_storeq *q, struct hl_job *j)
{
	hl_store_savepoint(q->st);
	j->rc = run_job(q->st, j);
	if (j->rc < 0)
		hl_store_savepoint_rollback(q->st);
	else
		hl_store_savepoint_release(q->st);
}

static void
report(struct hl_storeq *q, struct hl_job *list)
{
	pthread_mutex_lock(&q->mu);
	*q->done_tail = list;
	while (list->next)
		list = list->next;
	q->done_tail = &list->next;
	pthread_mutex_unlock(&q->mu);
	uv_async_send(&q->async);
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
		 * Urgent work goes at once. The peer's events wait up to WORK_MS
		 * for WORK_GATHER of them (the peer waits for their receipts, and
		 * each commit costs an fsync and a signed receipt: when events
		 * trickle in, one each would cost more than the work).
		 * Bookkeeping waits up to GATHER_MS so that it shares one commit,
		 * or rides along with urgent work.
		 */
		for (;;) {
			uint64_t now = hl_now_ms();
			size_t w = q->fifo[Q_BOOK].weight;
			if (q->stop || q->fifo[Q_URGENT].head ||
			    (q->fifo[Q_WORK].head &&
			     (q->nwork >= WORK_GATHER || now >= q->work_since_ms + WORK_MS)) ||
			    (q->fifo[Q_BOOK].head &&
			     (w >= GATHER_WEIGHT || now >= q->since_ms + GATHER_MS)))
				break;
			if (!queued(q)) {
				pthread_cond_wait(&q->cv, &q->mu);
			} else {
				struct timespec ts;
				uint64_t wake = UINT64_MAX;
				if (q->fifo[Q_BOOK].head)
					wake = q->since_ms + GATHER_MS;
				if (q->fifo[Q_WORK].head && q->work_since_ms + WORK_MS < wake)
					wake = q->work_since_ms + WORK_MS;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += (long)((wake - now) * 1000000u);
				ts.tv_sec += ts.tv_nsec / 1000000000L;
				ts.tv_nsec %= 1000000000L;
				pthread_cond_timedwait(&q->cv, &q->mu, &ts);
			}
		}
		bool urgent_batch;
		batch = take_batch(q, &urgent_batch);
		pthread_mutex_unlock(&q->mu);
		if (!batch)
			break; /* stopping, and nothing left */

		/*
		 * One transaction for the whole batch; a job that fails alone is
		 * rolled back alone (savepoint), a failed COMMIT fails them all.
		 * An ordinary batch takes its jobs one by one as it goes, for at
		 * most BATCH_MS and BATCH_WEIGHT. Urgent work queued meanwhile
		 * finds the batch dropped after the job in hand and commits
		 * alone, or, right after such a drop, joins it (the batch then
		 * commits at once): it never waits for a batch to be built.
		 * Once the disk failed, nothing more is tried: every job fails.
		 */
		pthread_mutex_lock(&q->mu);
		rc = q->disk_failed ? HL_ERR_DISK : HL_OK;
		pthread_mutex_unlock(&q->mu);
		if (rc == HL_OK)
			rc = hl_store_begin(q->st);
		uint64_t started = hl_now_ms();
		bool ordinary = !urgent_batch;
		size_t w = weight(batch);
		struct hl_job *last = batch;
		while (last->next)
			last = last->next;
		bool redo = false;
		for (struct hl_job *j = batch; j; j = j->next) {
			if (rc < 0) {
				j->rc = rc;
				continue;
			}
			run_one(q, j);
			if (j != last)
				continue; /* urgent jobs and their riders: taken together */
			bool late = ordinary && hl_now_ms() - started >= BATCH_MS;
			pthread_mutex_lock(&q->mu);
			if (q->fifo[Q_URGENT].head && ordinary && w > RIDE_WEIGHT && !q->redone) {
				/*
				 * Rather than have urgent work wait for this batch's
				 * commit (pages of it), drop the batch: it runs again
				 * right after the urgent commit. Its jobs only read and
				 * write the store, so running them again gives the same.
				 * Never twice in a row: ordinary work is not starved.
				 */
				requeue(q, batch);
				q->redone = redo = true;
				pthread_mutex_unlock(&q->mu);
				break;
			}
			if (q->fifo[Q_URGENT].head) {
				ordinary = false;
				take_urgent(q, &last->next);
				while (last->next)
					last = last->next;
			} else if (ordinary && !late && (last->next = next_ordinary(q, w))) {
				last = last->next;
				w += weight(last);
			}
			pthread_mutex_unlock(&q->mu);
		}
		if (redo) {
			hl_store_rollback(q->st);
			continue;
		}
		if (!urgent_batch && rc == HL_OK) {
			pthread_mutex_lock(&q->mu);
			q->redone = false;
			pthread_mutex_unlock(&q->mu);
		}
		if (!ordinary)
			HL_TRACE_POINT("store: urgent commit begins");
		if (rc == HL_OK && (rc = hl_store_commit(q->st)) < 0) {
			log_error("store_commit_failed", "err=\"%s\"", hl_strerror(rc));
			for (struct hl_job *j = batch; j; j = j->next)
				j->rc = rc;
		}
		/*
		 * A checkpoint's copy ends in an fsync of everything copied; the
		 * disk makes our next commits wait behind it. Several small ones
		 * keep those waits short where one a second could be long. After
		 * a failed disk, none (the checkpointer would only write to it).
		 */
		if (rc == HL_ERR_DISK) {
			pthread_mutex_lock(&q->mu);
			q->disk_failed = true;
			pthread_mutex_unlock(&q->mu);
		} else if (hl_store_wal_pages(q->st) >= CKPT_PAGES) {
			pthread_mutex_lock(&q->mu);
			q->ckpt_wanted = true;
			pthread_cond_signal(&q->ckpt_cv);
			pthread_mutex_unlock(&q->mu);
		}
		if (!ordinary)
			HL_TRACE_POINT("store: urgent commit done");
		report(q, batch);
	}
	return NULL;
}

/*
 * Loads (pages of our pending events to send) on a connection of their
 * own: WAL lets them read beside the writer, so a page of the backlog
 * being read never holds up an urgent commit.
 */
static void *
reader(void *arg)
{
	struct hl_storeq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct hl_job *j;
		while (!q->stop && !q->loads.head)
			pthread_cond_wait(&q->rd_cv, &q->mu);
		if (!(j = fifo_pop(&q->loads)))
			break; /* stopping: nobody waits for loads any more */
		bool failed =
		    q->disk_failed; /* like the writer's jobs: fail, do not touch the store */
		pthread_mutex_unlock(&q->mu);
		j->rc = failed ? HL_ERR_DISK : run_job(q->rd_st, j);
		report(q, j);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Copies the WAL back into the database once a second (or as soon as it is long), beside the
 * writer. */
static void *
checkpointer(void *arg)
{
	struct hl_storeq *q = arg;
	uint64_t last = 0;

	pthread_mutex_lock(&q->mu);
	while (!q->stop) {
		struct timespec ts;
		uint64_t now = hl_now_ms();
		if (!q->ckpt_wanted || now < last + CKPT_GAP_MS) {
			uint64_t wait = q->ckpt_wanted ? last + CKPT_GAP_MS - now : 1000;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(wait % 1000 * 1000000u);
			ts.tv_sec += (time_t)(wait / 1000) + ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			if (pthread_cond_timedwait(&q->ckpt_cv, &q->mu, &ts) == 0 && !q->stop &&
			    hl_now_ms() < last + CKPT_GAP_MS)
				continue; /* asked again too soon: at the gap's end */
		}
		if (q->stop)
			break;
		q->ckpt_wanted = false;
		if (q->disk_failed)
			continue; /* copying the WAL back would only write to a failing disk */
		pthread_mutex_unlock(&q->mu);
		hl_store_checkpoint(q->ckpt_st);
		last = hl_now_ms();
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
	HL_TRACE_POINT("store: results reach the loop");
	log_hold(); /* a batch's "received" lines: one write, not one each */
	/* Urgent results first (a FLASH receipt does not wait behind a batch's bookkeeping). */
	for (int pass = 0; pass < 2; pass++) {
		struct hl_job **pp = &list;
		while (*pp) {
			struct hl_job *j = *pp;
			if ((job_class(j) == Q_URGENT) != (pass == 0)) {
				pp = &j->next;
				continue;
			}
			*pp = j->next;
			j->next = NULL;
			q->done_fn(q->ctx, j);
		}
	}
	q->done_fn(q->ctx, NULL);
	log_release();
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
	if ((rc = hl_store_open(store_path, false, &q->ckpt_st, err, errcap)) < 0 ||
	    (rc = hl_store_open(store_path, false, &q->rd_st, err, errcap)) < 0) {
		hl_store_close(q->ckpt_st);
		hl_store_close(q->st);
		free(q);
		return rc;
	}
	hl_store_autocheckpoint(q->st, false);
	hl_store_fold_on_close(q->st); /* a clean stop leaves no WAL behind */
	hl_store_autocheckpoint(q->rd_st, false);
	hl_store_wal_presize(q->st, WAL_PRESIZE);
	hl_store_memory_temp(q->st);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	pthread_cond_init(&q->ckpt_cv, NULL);
	pthread_cond_init(&q->rd_cv, NULL);
	for (int c = 0; c < Q_COUNT; c++)
		q->fifo[c].tail = &q->fifo[c].head;
	q->loads.tail = &q->loads.head;
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
	if (pthread_create(&q->rd_thread, NULL, reader, q) != 0) {
		snprintf(err, errcap, "cannot start the store reader thread");
		hl_storeq_stop(q);
		return HL_ERR_IO;
	}
	q->rd_started = true;
	q->ckpt_started = pthread_create(&q->ckpt_thread, NULL, checkpointer, q) == 0;
	*out = q;
	return HL_OK;
}

void
hl_storeq_submit(struct hl_storeq *q, struct hl_job *job)
{
	if (job_class(job) == Q_URGENT)
		HL_TRACE_POINT("store: urgent job queued");
	pthread_mutex_lock(&q->mu);
	if (job->kind == HL_JOB_LOAD) {
		fifo_push(&q->loads, job);
		pthread_cond_signal(&q->rd_cv);
	} else {
		int c = job_class(job);
		if (!queued(q))
			q->since_ms = hl_now_ms();
		if (c == Q_WORK && !q->nwork++)
			q->work_since_ms = hl_now_ms();
		fifo_push(&q->fifo[c], job);
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
}

static void
on_closed(uv_handle_t *h)
{
	struct hl_storeq *q = h->data;

	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	pthread_cond_destroy(&q->ckpt_cv);
	pthread_cond_destroy(&q->rd_cv);
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
	pthread_cond_signal(&q->rd_cv);
	pthread_mutex_unlock(&q->mu);
	if (q->thread_started)
		pthread_join(q->thread, NULL);
	if (q->rd_started)
		pthread_join(q->rd_thread, NULL);
	if (q->ckpt_started)
		pthread_join(q->ckpt_thread, NULL);
	if (!q->disk_failed)
		hl_store_checkpoint(q->st); /* leave a short WAL behind */
	hl_store_close(q->ckpt_st);
	hl_store_close(q->rd_st);
	q->ckpt_st = q->rd_st = NULL;
	/* Loads nobody will read any more. */
	for (struct hl_job *j; (j = fifo_pop(&q->loads));)
		hl_job_free(j);
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
