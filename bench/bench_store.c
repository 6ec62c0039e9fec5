/* SPDX-License-Identifier: ISC */
/*
 * bench_store.c: the store's share of a message, one operation at a time,
 * without daemons, threads or sockets (so that it can run under
 * `valgrind --tool=callgrind` and count instructions):
 *
 *   bench_store DIR [N [ROUNDS]]
 *
 * Two stores in DIR stand for the two stations. For N messages of 1 KiB
 * (default 20,000) it times what the daemons' store threads do for each:
 * the sender's append (`send`), the receiver's receive, the sender's
 * delivered mark on the receipt, and a load of pending events; each in
 * batches of 256 per transaction (group commit, as under load), then a
 * FLASH alone per transaction (as on an idle line: one commit each).
 * Beside the time, the pages each message costs in the WAL: what the
 * commit's fsync flushes, and the checkpoint copies into the database
 * again. ROUNDS > 1 repeats it on the fuller stores (index growth).
 * Never fails on a figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sqlite3.h>

#include "station.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#define BATCH 256

static struct hl_store *
open_new(const char *dir, const char *file)
{
	char path[HL_PATH_MAX], err[512];
	struct hl_store *st = NULL;

	if (hl_path(path, sizeof path, dir, file) < 0 ||
	    hl_store_open(path, true, &st, err, sizeof err) < 0) {
		fprintf(stderr, "bench_store: cannot open %s/%s: %s\n", dir, file, err);
		exit(1);
	}
	return st;
}

static int64_t
pin(struct hl_store *st, const char *name, uint8_t fill)
{
	struct hl_peer_rec p = {0}, got;

	snprintf(p.name, sizeof p.name, "%s", name);
	memset(p.key.x25519, fill, 32);
	memset(p.key.ed25519, fill, 32);
	p.added_ns = hl_wall_ns();
	if (hl_store_peer_add(st, &p) < 0 || hl_store_peer_get(st, name, &got) < 0) {
		fprintf(stderr, "bench_store: cannot pin %s\n", name);
		exit(1);
	}
	return got.id;
}

/*
 * Pages the store wrote to its WAL since the last call: what each commit's
 * fsync has to flush (and the checkpoint copies again). Read on a side
 * connection; the WAL is emptied each time, so each phase counts alone.
 */
static long
wal_pages(const char *dir, const char *file)
{
	char path[HL_PATH_MAX];
	sqlite3 *db;
	sqlite3_stmt *q;
	long frames = -1;

	if (hl_path(path, sizeof path, dir, file) < 0 ||
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(PASSIVE)", -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			frames = sqlite3_column_int(q, 1);
		sqlite3_finalize(q);
	}
	sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(db);
	return frames;
}

static const char *bench_dir;

static void
line(const char *what, double us, long n, const char *file)
{
	long pages = wal_pages(bench_dir, file);

	printf("%-40s %8.1f us/msg %7.2f WAL pages/msg  (%ld in %.3f s)\n", what, us / (double)n,
	       (double)pages / (double)n, n, us / 1e6);
}

static void
fail(const char *what)
{
	fprintf(stderr, "bench_store: %s failed\n", what);
	exit(1);
}

int
main(int argc, char **argv)
{
	struct hl_store *a, *b;
	int64_t a_b, b_a;
	long n = argc > 2 ? atol(argv[2]) : 20000;
	int rounds = argc > 3 ? atoi(argv[3]) : 1;
	uint8_t body[1024], sig[HL_SIG_LEN] = {0}, token[HL_TOKEN_LEN];
	uint8_t(*hash)[HL_HASH_LEN];
	struct hl_event *ev;
	double t0;
	char why[HL_REASON_MAX + 1];

	if (sodium_init() < 0 || argc < 2 || n < BATCH) {
		fprintf(stderr, "usage: bench_store DIR [N >= %d [ROUNDS]]\n", BATCH);
		return 2;
	}
	bench_dir = argv[1];
	a = open_new(argv[1], "a.db");
	b = open_new(argv[1], "b.db");
	hl_store_autocheckpoint(a, false); /* as the daemon's writer: the WAL counts each phase */
	hl_store_autocheckpoint(b, false);
	a_b = pin(a, "bravo", 2);
	b_a = pin(b, "alpha", 1);
	memset(body, 'x', sizeof body);
	hash = calloc((size_t)n + 1, sizeof *hash);
	ev = calloc((size_t)n + 1, sizeof *ev);
	if (!hash || !ev)
		return 1;
	printf("store operations, 1 KiB messages, batches of %d per transaction (%ld messages)\n",
	       BATCH, n);
	wal_pages(argv[1], "a.db");
	wal_pages(argv[1], "b.db");

	/* The sender appends (the daemon's APPEND job, `send`'s token included). */
	for (int round = 0; round < rounds; round++) {
		if (round > 0)
			printf("again, with %ld messages in each store already\n", n * round);
		t0 = now_us();
		for (long i = 0; i < n; i++) {
			bool existed;
			if (i % BATCH == 0 && hl_store_begin(a) < 0)
				fail("begin");
			ev[i].kind = HL_EV_MESSAGE;
			ev[i].precedence = HL_PREC_ROUTINE;
			ev[i].created_ns = hl_wall_ns();
			ev[i].deadline_ns = ev[i].created_ns + 21600ull * 1000000000u;
			snprintf(ev[i].channel, sizeof ev[i].channel, "general");
			ev[i].body = body;
			ev[i].body_len = sizeof body;
			randombytes_buf(token, sizeof token);
			if (hl_store_append_once(a, a_b, &ev[i], token, false, hash[i], &existed,
			                         why) < 0)
				fail("append");
			if ((i + 1) % BATCH == 0 || i + 1 == n)
				if (hl_store_commit(a) < 0)
					fail("commit");
		}
		line("sender: append (send)", now_us() - t0, n, "a.db");

		/* The sender loads them to send, a page at a time (the reader's LOAD job). */
		t0 = now_us();
		for (uint64_t after = 0;;) {
			struct hl_event_row *rows;
			size_t got;
			uint64_t end;
			bool more;
			if (hl_store_pending_page(a, a_b, after, 1024, &rows, &got, &end, &more) <
			    0)
				fail("load");
			hl_event_rows_free(rows, got);
			after = end;
			if (!more)
				break;
		}
		line("sender: load pending, pages of 1024", now_us() - t0, n, "a.db");

		/* The receiver stores them. */
		t0 = now_us();
		for (long i = 0; i < n; i++) {
			int outcome;
			if (i % BATCH == 0 && hl_store_begin(b) < 0)
				fail("begin");
			hl_store_savepoint(b);
			why[0] = '\0';
			if (hl_store_receive(b, b_a, &ev[i], hash[i], &outcome, why) < 0 ||
			    outcome != HL_RECV_NEW)
				fail("receive");
			hl_store_savepoint_release(b);
			if ((i + 1) % BATCH == 0 || i + 1 == n)
				if (hl_store_commit(b) < 0)
					fail("commit");
		}
		line("receiver: receive (savepoint each)", now_us() - t0, n, "b.db");

		/* The sender records the receipts: one per batch, each entry marked delivered. */
		t0 = now_us();
		for (long i = 0; i < n; i += BATCH) {
			struct hl_receipt_entry e[BATCH];
			long k = n - i < BATCH ? n - i : BATCH;
			if (hl_store_begin(a) < 0)
				fail("begin");
			for (long j = 0; j < k; j++) {
				e[j].seq = ev[i + j].seq;
				memcpy(e[j].hash, hash[i + j], HL_HASH_LEN);
				if (hl_store_mark_delivered(a, a_b, e[j].seq, e[j].hash, sig,
				                            hl_wall_ns(), 0) < 0)
					fail("delivered");
			}
			if (hl_store_put_receipt(a, a_b, e, (size_t)k, sig) < 0 ||
			    hl_store_commit(a) < 0)
				fail("receipt");
		}
		line("sender: receipts (delivered marks)", now_us() - t0, n, "a.db");
	}

	/* FLASH on an idle line: each alone in its transaction, one commit (fsync) each. */
	{
		static double v[200];
		size_t nv = 0;
		for (int i = 0; i < 200; i++) {
			struct hl_event f = ev[0];
			uint8_t h[HL_HASH_LEN];
			bool existed;
			f.precedence = HL_PREC_FLASH;
			randombytes_buf(token, sizeof token);
			t0 = now_us();
			if (hl_store_begin(a) < 0)
				fail("begin");
			hl_store_savepoint(a);
			if (hl_store_append_once(a, a_b, &f, token, false, h, &existed, why) < 0)
				fail("append");
			hl_store_savepoint_release(a);
			if (hl_store_commit(a) < 0)
				fail("commit");
			v[nv++] = now_us() - t0;
		}
		report("sender: one FLASH append + its commit", v, nv);
	}
	hl_store_close(a);
	hl_store_close(b);
	free(hash);
	free(ev);
	return 0;
}
