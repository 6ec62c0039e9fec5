/* SPDX-License-Identifier: ISC */
/*
 * bench_msg.c: messaging figures, each beside its floor measured in the
 * same run on the same disk (bench/run.sh starts the two stations):
 *
 *   bench_msg SENDER-DIR PEER-NAME [fsync|flash|throughput|backlog]...
 *
 * (no phase named: all of them, in that order; naming phases is for
 * profiling one of them under perf, strace or callgrind).
 * - floor: fdatasync of a 1 KiB write in the sender's directory;
 * - FLASH end-to-end latency: `send` over the control socket with wait, so
 *   the time runs from the request to the peer's signed receipt arriving
 *   back: durable at the sender, on the wire, durable at the peer, receipt;
 *   one client process that stays (no process start per message);
 * - sustained throughput: a backlog of 1 KiB ROUTINE messages, durable at
 *   the sender, until every one is receipted (durable at the peer);
 * - FLASH latency again while 100,000 ROUTINE messages are in flight.
 * Never fails on a figure.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "ctl.h"
#include "stats.h"
#include "station.h"
#include "store.h"
#include "trace.h"

static double
bench_fsync(const char *dir)
{
	char path[HL_PATH_MAX];
	static double v[500];
	char buf[1024] = {0};
	size_t n = 0;
	int fd;

	if (hl_path(path, sizeof path, dir, "fsync.bench") < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return 0;
	for (int i = 0; i < 500; i++) {
		double t0 = now_us();
		if (pwrite(fd, buf, sizeof buf, (off_t)(i % 64) * 1024) != (ssize_t)sizeof buf ||
		    fdatasync(fd) != 0)
			break;
		v[n++] = now_us() - t0;
	}
	close(fd);
	unlink(path);
	return report("floor: fdatasync of 1 KiB on this disk", v, n);
}

/*
 * One FLASH message through the daemon, as `hotline send` hands it over
 * (the body raw after the request line); microseconds until its receipt,
 * or < 0.
 */
static double
flash_once(const char *ctl, const char *peer, const uint8_t *body, size_t len)
{
	uint8_t token[16];
	char hex[33];
	json_t *req, *resp = NULL;
	double t0 = now_us(), dt = -1;
	const char *state;

	HL_TRACE_POINT("client: FLASH send begins");
	randombytes_buf(token, sizeof token);
	sodium_bin2hex(hex, sizeof hex, token, sizeof token);
	req = json_pack("{s:s, s:s, s:s, s:b, s:s}", "cmd", "send", "peer", peer, "precedence",
	                "flash", "wait", 1, "token", hex);
	if (hl_ctl_call_body(ctl, req, body, len, &resp, 30000) == HL_OK &&
	    (state = json_string_value(json_object_get(resp, "state"))) &&
	    strcmp(state, "delivered") == 0)
		dt = now_us() - t0;
	HL_TRACE_POINT("client: FLASH answered");
	json_decref(req);
	json_decref(resp);
	return dt;
}

static double
bench_flash(const char *what, const char *ctl, const char *peer, int count)
{
	static double v[2000];
	uint8_t text[1024];
	size_t n = 0;

	if (getenv("HL_BENCH_FLASH_N")) /* fewer, e.g. under strace */
		count = atoi(getenv("HL_BENCH_FLASH_N"));
	memset(text, 'F', sizeof text);
	for (int i = 0; i < count && i < 2000; i++) {
		double dt = flash_once(ctl, peer, text, sizeof text);
		if (dt >= 0)
			v[n++] = dt;
	}
	return report(what, v, n);
}

/* Queue n ROUTINE 1 KiB messages in one transaction; their first seq. */
static int
load(struct hl_store *st, int64_t peer_id, long n, uint64_t *first)
{
	uint8_t body[1024], hash[HL_HASH_LEN];

	memset(body, 'r', sizeof body);
	if (hl_store_begin(st) < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		struct hl_event ev = {0};
		ev.kind = HL_EV_MESSAGE;
		ev.precedence = HL_PREC_ROUTINE;
		ev.created_ns = hl_wall_ns();
		ev.deadline_ns = ev.created_ns + 21600ull * 1000000000u;
		snprintf(ev.channel, sizeof ev.channel, "general");
		ev.body = body;
		ev.body_len = sizeof body;
		if (hl_store_append_locked(st, peer_id, &ev, hash) < 0) {
			hl_store_rollback(st);
			return -1;
		}
		if (i == 0)
			*first = ev.seq;
	}
	return hl_store_commit(st);
}

/* Messages of ours still waiting for a receipt (queued or sent). */
static long
pending(struct hl_store *st, int64_t peer_id)
{
	size_t n;

	return hl_store_pending_count(st, peer_id, &n) < 0 ? -1 : (long)n;
}

/*
 * Wait until every message up to seq last is receipted (or timeout_s passed).
 * Looks at the last one first: counting the pending ones takes a scan, and
 * on two cores a poller that scans every few milliseconds takes CPU time
 * from the very daemons it measures.
 */
static void
wait_drained(struct hl_store *st, int64_t peer_id, uint64_t last, double timeout_s)
{
	double t0 = now_us();

	while (now_us() - t0 < timeout_s * 1e6) {
		struct hl_event_row *r = NULL;
		bool done = hl_store_event_get(st, peer_id, HL_DIR_OUT, last, &r) == HL_OK &&
		            r->state >= HL_ST_DELIVERED;
		hl_event_rows_free(r, r ? 1 : 0);
		if (done && pending(st, peer_id) == 0)
			return;
		usleep(5000);
	}
}

static void
poke(const char *ctl)
{
	json_t *req = json_pack("{s:s}", "cmd", "poke"), *resp = NULL;

	if (hl_ctl_call(ctl, req, &resp, 5000) < 0)
		fprintf(stderr, "bench: the daemon did not answer a poke\n");
	json_decref(req);
	json_decref(resp);
}

/* Run this phase? All of them when none is named. */
static bool
phase(int argc, char **argv, const char *name)
{
	if (argc == 3)
		return true;
	for (int i = 3; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int
main(int argc, char **argv)
{
	char path[HL_PATH_MAX], ctl[HL_PATH_MAX], err[512];
	struct hl_store *st;
	struct hl_peer_rec peer;
	uint64_t first = 0;
	long n = 20000;
	double t0, dt, fsync_p50 = 0, idle_p50 = 0;
	/* the loopback round trip bench_link measured in the same run (bench/run.sh) */
	double rtt = getenv("HL_BENCH_RTT_US") ? atof(getenv("HL_BENCH_RTT_US")) : 0;

	if (sodium_init() < 0 || argc < 3 || hl_station_path(argv[1], HL_F_STORE, path) < 0 ||
	    hl_station_path(argv[1], HL_F_CTL, ctl) < 0 ||
	    hl_store_open(path, false, &st, err, sizeof err) < 0 ||
	    hl_store_peer_get(st, argv[2], &peer) < 0) {
		fprintf(stderr,
		        "usage: bench_msg SENDER-DIR PEER-NAME [fsync|flash|throughput|backlog]..."
		        " (daemons running)\n");
		return 2;
	}
	if (phase(argc, argv, "fsync"))
		fsync_p50 = bench_fsync(argv[1]);
	if (phase(argc, argv, "flash")) {
		idle_p50 = bench_flash("FLASH 1 KiB, send to receipt back (idle line)", ctl,
		                       argv[2], 1000);
		if (idle_p50 > 0 && fsync_p50 > 0 && rtt > 0)
			printf("  p50 = %.2f x (2 fdatasync + 1 round trip = %.0f us), target <= 2;"
			       " p99 = %.2f x p50, target <= 3\n",
			       idle_p50 / (2 * fsync_p50 + rtt), 2 * fsync_p50 + rtt,
			       report_p99 / idle_p50);
	}

	if (getenv("HL_BENCH_N")) /* a shorter throughput run, e.g. under callgrind */
		n = atol(getenv("HL_BENCH_N"));
	if (phase(argc, argv, "throughput")) {
		if (load(st, peer.id, n, &first) < 0)
			return 1;
		t0 = now_us();
		poke(ctl);
		wait_drained(st, peer.id, first + (uint64_t)n - 1, 120);
		dt = (now_us() - t0) / 1e6;
		printf("%-52s %8.0f msg/s  (%ld in %.2f s)\n",
		       "throughput, 1 KiB, durable both ends, receipted", (double)n / dt, n, dt);
		printf("  = %.2f x the target of 40,000 msg/s\n", (double)n / dt / 40000);
	}
	if (!phase(argc, argv, "backlog")) {
		hl_store_close(st);
		return 0;
	}
	n = 100000;
	if (load(st, peer.id, n, &first) < 0)
		return 1;
	poke(ctl);
	usleep(200000);
	double busy_p50 =
	    bench_flash("FLASH 1 KiB with 100,000 ROUTINE in flight", ctl, argv[2], 200);
	if (busy_p50 > 0 && idle_p50 > 0)
		printf("  p50 = %.2f x the idle p50, target <= 2\n", busy_p50 / idle_p50);
	printf("%-52s %ld\n", "  ROUTINE still in flight after those FLASHes",
	       pending(st, peer.id));
	wait_drained(st, peer.id, first + (uint64_t)n - 1, 300);
	hl_store_close(st);
	return 0;
}
