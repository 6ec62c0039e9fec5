/* SPDX-License-Identifier: ISC */
/*
 * test_store_link.c: the record of link tests (src/store_link.c): rows kept
 * apart by peer, direction and link; the latest test and the latest
 * successful one; bad input; transactions; reopening; a removed peer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "store.h"
#include "t.h"

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1800000000) * SEC)

static char dir[] = "/tmp/hl-test-store-link-XXXXXX";
static char path[512];
static char err[512];

static struct hl_store *
open_store(bool create)
{
	struct hl_store *st = NULL;
	int rc;

	err[0] = '\0';
	rc = hl_store_open(path, create, &st, err, sizeof err);
	if (rc < 0 || !st) {
		printf("Bail out! cannot open the store: %s\n", err);
		exit(1);
	}
	return st;
}

static int64_t
add_peer(struct hl_store *st, const char *name)
{
	struct hl_peer_rec p;

	memset(&p, 0, sizeof p);
	snprintf(p.name, sizeof p.name, "%s", name);
	randombytes_buf(&p.key, sizeof p.key);
	p.nlinks = 2;
	snprintf(p.links[0], HL_ADDR_MAX, "%s.example:7400", name);
	snprintf(p.links[1], HL_ADDR_MAX, "%s-standby.example:7400", name);
	p.added_ns = T0;
	if (hl_store_peer_add(st, &p) < 0 || hl_store_peer_get(st, name, &p) < 0) {
		printf("Bail out! cannot pin %s\n", name);
		exit(1);
	}
	return p.id;
}

/* The latest test and latest success of (peer, dir, link); false when the lookup failed. */
static bool
last(struct hl_store *st, int64_t peer, enum hl_dir d, const char *link, struct hl_link_test_rec *r,
     uint64_t *ok_ns)
{
	return hl_store_link_test_last(st, peer, d, link, r, ok_ns) == HL_OK;
}

static void
test_empty(struct hl_store *st, int64_t peer)
{
	struct hl_link_test_rec r;
	uint64_t ok_ns = 1;

	memset(&r, 0xaa, sizeof r);
	T_OK(last(st, peer, HL_DIR_OUT, "moscow.example:7400", &r, &ok_ns), "lookup with no tests");
	T_OK(r.at_ns == 0 && !r.ok && r.rtt_us == 0 && r.error[0] == '\0',
	     "no tests: the record is empty");
	T_EQ_INT(ok_ns, 0, "no tests: no successful test");
}

static void
test_latest(struct hl_store *st, int64_t peer)
{
	const char *link = "moscow.example:7400";
	struct hl_link_test_rec r;
	uint64_t ok_ns;

	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_OUT, link, T0, true, 1234, NULL), HL_OK,
	         "add a successful test");
	T_OK(last(st, peer, HL_DIR_OUT, link, &r, &ok_ns), "lookup after one test");
	T_OK(r.at_ns == T0 && r.ok && r.rtt_us == 1234 && r.error[0] == '\0',
	     "one ok test: time, ok, rtt, no error");
	T_OK(ok_ns == T0, "one ok test: it is the latest success");

	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_OUT, link, T0 + 3600 * SEC, false, 999,
	                                "timeout"),
	         HL_OK, "add a failed test");
	T_OK(last(st, peer, HL_DIR_OUT, link, &r, &ok_ns), "lookup after a failure");
	T_OK(r.at_ns == T0 + 3600 * SEC && !r.ok && strcmp(r.error, "timeout") == 0,
	     "the failure is the latest test, with its error");
	T_EQ_INT(r.rtt_us, 0, "a failed test keeps no rtt");
	T_OK(ok_ns == T0, "the earlier success is still the latest success");

	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_OUT, link, T0 + 7200 * SEC, false, 0,
	                                "ECONNREFUSED"),
	         HL_OK, "add a second failure");
	T_OK(last(st, peer, HL_DIR_OUT, link, &r, &ok_ns) && strcmp(r.error, "ECONNREFUSED") == 0 &&
	         ok_ns == T0,
	     "two failures after a success: latest error, success unchanged");

	/* Recorded out of order (a slow test ends after a later one): time decides, not rowid. */
	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_OUT, link, T0 + 1800 * SEC, true, 55, ""),
	         HL_OK, "add an older success late");
	T_OK(last(st, peer, HL_DIR_OUT, link, &r, &ok_ns) && !r.ok && r.at_ns == T0 + 7200 * SEC &&
	         ok_ns == T0 + 1800 * SEC,
	     "by time: latest test still the failure, latest success the late one");

	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_OUT, link, T0 + 9000 * SEC, true, 77,
	                                "ignored"),
	         HL_OK, "add a success with an error string");
	T_OK(last(st, peer, HL_DIR_OUT, link, &r, &ok_ns) && r.ok && r.rtt_us == 77 &&
	         r.error[0] == '\0' && ok_ns == T0 + 9000 * SEC,
	     "a success stores no error");
}

static void
test_apart(struct hl_store *st, int64_t peer, int64_t other)
{
	const char *link = "moscow.example:7400", *standby = "moscow-standby.example:7400";
	struct hl_link_test_rec r;
	uint64_t ok_ns;

	T_OK(last(st, peer, HL_DIR_OUT, standby, &r, &ok_ns) && r.at_ns == 0 && ok_ns == 0,
	     "another link of the same peer has no tests");
	T_OK(last(st, peer, HL_DIR_IN, link, &r, &ok_ns) && r.at_ns == 0 && ok_ns == 0,
	     "the other direction of the same link has no tests");
	T_OK(last(st, other, HL_DIR_OUT, link, &r, &ok_ns) && r.at_ns == 0 && ok_ns == 0,
	     "the same link text under another peer has no tests");

	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_IN, "127.0.0.1:51234", T0 + 5 * SEC, true,
	                                0, NULL),
	         HL_OK, "record a test we answered");
	T_OK(last(st, peer, HL_DIR_IN, "127.0.0.1:51234", &r, &ok_ns) && r.ok &&
	         r.at_ns == T0 + 5 * SEC && ok_ns == T0 + 5 * SEC,
	     "an answered test reads back under dir 1");
	T_OK(last(st, peer, HL_DIR_OUT, "127.0.0.1:51234", &r, &ok_ns) && r.at_ns == 0,
	     "... and not under dir 0");

	T_EQ_INT(hl_store_link_test_add(st, other, HL_DIR_OUT, standby, T0, false, 0,
	                                "handshake_timeout"),
	         HL_OK, "a failed test of the other peer");
	T_OK(last(st, other, HL_DIR_OUT, standby, &r, &ok_ns) && !r.ok && ok_ns == 0 &&
	         strcmp(r.error, "handshake_timeout") == 0,
	     "only failures: latest test failed, no successful test");
	T_OK(last(st, peer, HL_DIR_OUT, standby, &r, &ok_ns) && r.at_ns == 0,
	     "the first peer's standby link is still untested");
}

static void
test_bad_input(struct hl_store *st, int64_t peer)
{
	char long_error[200];
	struct hl_link_test_rec r;
	uint64_t ok_ns;

	T_EQ_INT(hl_store_link_test_add(st, 987654, HL_DIR_OUT, "x:1", T0, true, 1, NULL),
	         HL_ERR_NOTFOUND, "an unknown peer is refused");
	T_EQ_INT(hl_store_link_test_add(st, peer, (enum hl_dir)2, "x:1", T0, true, 1, NULL),
	         HL_ERR_INVAL, "dir 2 is refused");
	T_OK(last(st, 987654, HL_DIR_OUT, "x:1", &r, &ok_ns) && r.at_ns == 0,
	     "nothing was recorded for them");

	memset(long_error, 'e', sizeof long_error - 1);
	long_error[sizeof long_error - 1] = '\0';
	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_OUT, "long:1", T0, false, 0, long_error),
	         HL_OK, "a long error is stored");
	T_OK(last(st, peer, HL_DIR_OUT, "long:1", &r, &ok_ns) &&
	         strlen(r.error) == HL_LINK_ERROR_MAX - 1 &&
	         strncmp(r.error, long_error, HL_LINK_ERROR_MAX - 1) == 0,
	     "a long error reads back cut to the record's size");
	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_OUT, "null:1", T0, false, 0, NULL), HL_OK,
	         "a failure without an error is stored");
	T_OK(last(st, peer, HL_DIR_OUT, "null:1", &r, &ok_ns) && !r.ok && r.error[0] == '\0',
	     "... with an empty error");
}

static void
test_transaction(struct hl_store *st, int64_t peer)
{
	struct hl_link_test_rec r;
	uint64_t ok_ns;

	T_EQ_INT(hl_store_begin(st), HL_OK, "begin");
	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_OUT, "tx:1", T0, true, 3, NULL), HL_OK,
	         "add inside a transaction");
	hl_store_rollback(st);
	T_OK(last(st, peer, HL_DIR_OUT, "tx:1", &r, &ok_ns) && r.at_ns == 0,
	     "rolled back: not recorded");
	T_EQ_INT(hl_store_begin(st), HL_OK, "begin again");
	T_EQ_INT(hl_store_link_test_add(st, peer, HL_DIR_OUT, "tx:1", T0, true, 3, NULL), HL_OK,
	         "add again");
	T_EQ_INT(hl_store_commit(st), HL_OK, "commit");
	T_OK(last(st, peer, HL_DIR_OUT, "tx:1", &r, &ok_ns) && r.ok && r.rtt_us == 3,
	     "committed: recorded");
}

static void
test_reopen(int64_t peer)
{
	struct hl_store *st = open_store(false);
	struct hl_link_test_rec r;
	uint64_t ok_ns;

	T_OK(last(st, peer, HL_DIR_OUT, "moscow.example:7400", &r, &ok_ns) && r.ok &&
	         r.at_ns == T0 + 9000 * SEC && r.rtt_us == 77 && ok_ns == T0 + 9000 * SEC,
	     "after reopening the store the record is the same");
	T_EQ_INT(hl_store_peer_remove(st, "moscow"), HL_OK, "remove the peer");
	T_OK(last(st, peer, HL_DIR_OUT, "moscow.example:7400", &r, &ok_ns) && r.at_ns == 0 &&
	         ok_ns == 0,
	     "a removed peer's tests are gone with it");
	T_EQ_INT(
	    hl_store_link_test_add(st, peer, HL_DIR_OUT, "moscow.example:7400", T0, true, 1, NULL),
	    HL_ERR_NOTFOUND, "a removed peer's test is refused");
	hl_store_close(st);
}

int
main(void)
{
	struct hl_store *st;
	int64_t moscow, paris;
	static const char *const files[] = {"station.db", "station.db-wal", "station.db-shm"};

	if (sodium_init() < 0) {
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	if (!mkdtemp(dir) || hl_path(path, sizeof path, dir, "station.db") < 0) {
		printf("Bail out! cannot make a temporary directory\n");
		return 1;
	}
	st = open_store(true);
	moscow = add_peer(st, "moscow");
	paris = add_peer(st, "paris");
	test_empty(st, moscow);
	test_latest(st, moscow);
	test_apart(st, moscow, paris);
	test_bad_input(st, moscow);
	test_transaction(st, moscow);
	hl_store_close(st);
	test_reopen(moscow);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char p[512];
		if (hl_path(p, sizeof p, dir, files[i]) == HL_OK)
			unlink(p);
	}
	if (rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
	return t_done();
}
