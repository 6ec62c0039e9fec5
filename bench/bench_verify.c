/* SPDX-License-Identifier: ISC */
/*
 * bench_verify.c: how fast `hotline verify` checks a long record, and in
 * how much memory (bench/run.sh runs it):
 *
 *   bench_verify HOTLINE SCRATCH-DIR
 *
 * Builds a station in SCRATCH-DIR (made here) whose record with one peer
 * holds HL_BENCH_VERIFY_N messages of ours (default 1,000,000; 128-byte
 * bodies, appended by the store itself in transactions of 50,000, so the
 * hashes are real), 10 receipts of 512 entries signed by the peer, 1,000
 * events of the peer's chain and its signed head; then runs `HOTLINE -d
 * SCRATCH-DIR verify` as a child and reports its wall time, events per
 * second and peak memory (the child's ru_maxrss). Never fails on a figure;
 * exits non-zero only when the set-up fails or verify does not say OK.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>

#include "keys.h"
#include "msg.h"
#include "station.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#define BATCH 50000
#define RECEIPTS 10
#define PEER_EVENTS 1000

static int
die(const char *what)
{
	fprintf(stderr, "bench_verify: %s\n", what);
	return 1;
}

static void
message(struct hl_event *ev, const uint8_t *body, uint32_t len, uint64_t now)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = HL_EV_MESSAGE;
	ev->precedence = HL_PREC_ROUTINE;
	ev->created_ns = now;
	ev->deadline_ns = now + UINT64_C(21600000000000);
	snprintf(ev->channel, sizeof ev->channel, "general");
	ev->body = body;
	ev->body_len = len;
}

/* Our chain: n messages, and the peer's receipts for the first RECEIPTS * 512. */
static int
fill_ours(struct hl_store *st, int64_t pid, uint64_t n, const struct hl_identity *peer,
          const uint8_t ours[static 32])
{
	static struct hl_receipt_entry e[RECEIPTS * HL_RECEIPT_MAX];
	uint8_t body[128], hash[HL_HASH_LEN], buf[HL_RECEIPT_MAX * 40 + 128];
	uint64_t now = hl_wall_ns();
	size_t ne = 0;

	memset(body, 'x', sizeof body);
	for (uint64_t i = 0; i < n; i++) {
		struct hl_event ev;
		if (i % BATCH == 0 && hl_store_begin(st) < 0)
			return -1;
		snprintf((char *)body, sizeof body, "message %llu ", (unsigned long long)i);
		message(&ev, body, sizeof body, now + i);
		if (hl_store_append_locked(st, pid, &ev, hash) < 0)
			return -1;
		if (ne < ARRAY_SIZE(e)) {
			e[ne].seq = ev.seq;
			memcpy(e[ne].hash, hash, HL_HASH_LEN);
			ne++;
		}
		if (((i + 1) % BATCH == 0 || i + 1 == n) && hl_store_commit(st) < 0)
			return -1;
	}
	if (hl_store_begin(st) < 0)
		return -1;
	for (size_t r = 0; r * HL_RECEIPT_MAX < ne; r++) {
		size_t k = ne - r * HL_RECEIPT_MAX < HL_RECEIPT_MAX ? ne - r * HL_RECEIPT_MAX
		                                                    : HL_RECEIPT_MAX;
		const struct hl_receipt_entry *part = e + r * HL_RECEIPT_MAX;
		size_t len;
		if (hl_receipt_encode(part, k, peer->ed25519_sk, peer->pub.ed25519, ours, buf,
		                      sizeof buf, &len) < 0)
			return -1;
		for (size_t i = 0; i < k; i++)
			if (hl_store_mark_delivered(st, pid, part[i].seq, part[i].hash,
			                            buf + len - HL_SIG_LEN, 0, 0) < 0)
				return -1;
		if (hl_store_put_receipt(st, pid, part, k, buf + len - HL_SIG_LEN) < 0)
			return -1;
	}
	return hl_store_commit(st);
}

/* The peer's chain: PEER_EVENTS messages received, and its signed head over them. */
static int
fill_theirs(struct hl_store *st, int64_t pid, const struct hl_identity *peer,
            const uint8_t ours[static 32])
{
	uint8_t prev[HL_HASH_LEN] = {0}, hash[HL_HASH_LEN], body[64], buf[256];
	uint64_t now = hl_wall_ns();
	size_t len;

	if (hl_store_begin(st) < 0)
		return -1;
	for (uint64_t seq = 1; seq <= PEER_EVENTS; seq++) {
		struct hl_event ev;
		char reason[HL_REASON_MAX + 1] = "";
		int outcome;
		snprintf((char *)body, sizeof body, "%-63llu", (unsigned long long)seq);
		message(&ev, body, 63, now + seq);
		ev.seq = seq;
		memcpy(ev.prev, prev, HL_HASH_LEN);
		hl_event_hash(&ev, hash);
		if (hl_store_receive(st, pid, &ev, hash, &outcome, reason) < 0)
			return -1;
		memcpy(prev, hash, HL_HASH_LEN);
	}
	if (hl_head_encode(PEER_EVENTS, prev, peer->ed25519_sk, peer->pub.ed25519, ours, buf,
	                   sizeof buf, &len) < 0 ||
	    hl_store_put_head(st, pid, HL_DIR_IN, PEER_EVENTS, prev, buf + len - HL_SIG_LEN) < 0)
		return -1;
	return hl_store_commit(st);
}

int
main(int argc, char **argv)
{
	const char *env = getenv("HL_BENCH_VERIFY_N");
	uint64_t n = env ? strtoull(env, NULL, 10) : 1000000;
	struct hl_identity self, peer;
	struct hl_peer_rec p = {0};
	struct hl_store *st = NULL;
	struct rusage ru;
	struct stat sb;
	char path[HL_PATH_MAX], err[512];
	double t0, build_s, verify_s;
	int status, devnull;
	pid_t child;

	if (argc != 3 || n == 0) {
		fprintf(stderr, "usage: [HL_BENCH_VERIFY_N=N] bench_verify HOTLINE SCRATCH-DIR\n");
		return 2;
	}
	if (sodium_init() < 0 || mkdir(argv[2], 0700) != 0)
		return die("cannot set up (sodium, or the scratch directory exists)");
	if (hl_identity_generate(&self) < 0 || hl_identity_generate(&peer) < 0 ||
	    hl_station_path(argv[2], HL_F_IDENTITY, path) < 0 ||
	    hl_identity_save(&self, path) < 0 || hl_station_path(argv[2], HL_F_STORE, path) < 0 ||
	    hl_store_open(path, true, &st, err, sizeof err) < 0)
		return die("cannot create the station");
	snprintf(p.name, sizeof p.name, "beijing");
	p.key = peer.pub;
	p.nlinks = 1;
	snprintf(p.links[0], HL_ADDR_MAX, "127.0.0.1:1");
	p.added_ns = hl_wall_ns();
	if (hl_store_peer_add(st, &p) < 0 || hl_store_peer_get(st, "beijing", &p) < 0)
		return die("cannot pin the peer");
	hl_store_autocheckpoint(st, true);
	printf("== verify (a record of %llu + %d events, %d receipts, one head)\n",
	       (unsigned long long)n, PEER_EVENTS, RECEIPTS);
	fflush(stdout);
	t0 = now_us();
	if (fill_ours(st, p.id, n, &peer, self.pub.ed25519) < 0 ||
	    fill_theirs(st, p.id, &peer, self.pub.ed25519) < 0)
		return die("cannot fill the store");
	hl_store_close(st);
	build_s = (now_us() - t0) / 1e6;
	stat(path, &sb);
	hl_identity_free(&self);
	hl_identity_free(&peer);

	printf("%-52s %8.1f s   (store %.0f MiB)\n", "building the store (not timed below)",
	       build_s, (double)sb.st_size / 1048576.0);
	fflush(stdout);
	t0 = now_us();
	child = fork();
	if (child == 0) {
		devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, STDOUT_FILENO);
		execl(argv[1], argv[1], "-d", argv[2], "verify", (char *)NULL);
		_exit(127);
	}
	if (child < 0 || wait4(child, &status, 0, &ru) != child)
		return die("cannot run verify");
	verify_s = (now_us() - t0) / 1e6;
	printf("%-52s %8.2f s   %9.0f events/s\n", "hotline verify (cold process, warm page cache)",
	       verify_s, (double)(n + PEER_EVENTS) / verify_s);
	printf("%-52s %8.1f MiB (ru_maxrss)\n", "peak memory of the verify process",
	       (double)ru.ru_maxrss / 1024.0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("verify did NOT say OK (status %d)\n",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return 1;
	}
	return 0;
}
