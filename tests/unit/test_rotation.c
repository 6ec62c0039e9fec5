/* SPDX-License-Identifier: ISC */
/*
 * test_rotation.c: the daemon's side of a key rotation (src/rotation.c,
 * docs/keys.md) on a real station directory: the new keys are loaded
 * beside the current ones, the switch waits for every receipt, then
 * renames the file and swaps the keys; and each interrupted state a crash
 * can leave is completed or named at the next start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "keys.h"
#include "msg.h"
#include "rotation.h"
#include "station.h"
#include "store.h"
#include "util.h"
#include "t.h"

static char dir[] = "/tmp/hl-test-rotation-XXXXXX";

static void
bail(const char *why)
{
	printf("Bail out! %s\n", why);
	exit(1);
}

static void
path(enum hl_station_file f, char out[static HL_PATH_MAX])
{
	if (hl_station_path(dir, f, out) < 0)
		bail("path");
}

/* Record a rotation from -> to (with its KEY event to bravo) and write to's file as next. */
static void
rotate(struct hl_store *st, const struct hl_identity *from, const struct hl_identity *to)
{
	struct hl_rotation r = {0};
	uint8_t stmt[HL_ROTATION_MAX];
	char p[HL_PATH_MAX];
	size_t len = 0, n = 0;
	bool existed = false;

	snprintf(r.station, sizeof r.station, "alpha");
	memcpy(r.old_x25519, from->pub.x25519, 32);
	memcpy(r.old_ed25519, from->pub.ed25519, 32);
	memcpy(r.new_x25519, to->pub.x25519, 32);
	memcpy(r.new_ed25519, to->pub.ed25519, 32);
	r.at_ns = hl_wall_ns();
	path(HL_F_IDENTITY_NEXT, p);
	if (hl_rotation_encode(&r, from->ed25519_sk, stmt, sizeof stmt, &len) < 0 ||
	    hl_identity_write(to, p, NULL, 0, false) < 0 || hl_store_begin(st) < 0 ||
	    hl_store_rotation_start(st, stmt, len, "Col. A", &existed, &n) < 0 ||
	    hl_store_commit(st) < 0 || n != 1)
		bail("rotate");
}

/* The public key identity.key holds now. */
static bool
file_holds(const struct hl_identity *want)
{
	struct hl_identity got;
	char p[HL_PATH_MAX];
	bool same;

	path(HL_F_IDENTITY, p);
	if (hl_identity_load(&got, p) < 0)
		return false;
	same = memcmp(&got.pub, &want->pub, sizeof got.pub) == 0;
	hl_identity_free(&got);
	return same;
}

/* Mark our KEY event to bravo (seq) receipted. */
static void
receipted(struct hl_store *st, int64_t bravo, uint64_t seq)
{
	struct hl_event_row *r = NULL;
	uint8_t sig[HL_SIG_LEN] = {0};

	if (hl_store_event_get(st, bravo, HL_DIR_OUT, seq, &r) < 0 ||
	    hl_store_mark_delivered(st, bravo, seq, r->hash, sig, 0, 0) < 0)
		bail("receipt");
	hl_event_rows_free(r, 1);
}

int
main(void)
{
	struct hl_identity k0, k1, k2, k3, id, peer;
	struct hl_peer_rec p = {0};
	struct hl_rotator rot;
	struct hl_rotation_rec rec;
	struct hl_store *st = NULL;
	char f[HL_PATH_MAX], err[256];
	int64_t switched = 0;
	bool found;

	if (sodium_init() < 0 || !mkdtemp(dir) || hl_identity_generate(&k0) < 0 ||
	    hl_identity_generate(&k1) < 0 || hl_identity_generate(&k2) < 0 ||
	    hl_identity_generate(&k3) < 0 || hl_identity_generate(&peer) < 0)
		bail("setup");
	path(HL_F_IDENTITY, f);
	if (hl_identity_save(&k0, f) < 0)
		bail("save");
	path(HL_F_STORE, f);
	if (hl_store_open(f, true, &st, err, sizeof err) < 0)
		bail(err);
	snprintf(p.name, sizeof p.name, "bravo");
	p.key = peer.pub;
	p.nlinks = 1;
	snprintf(p.links[0], HL_ADDR_MAX, "bravo.example:7400");
	p.added_ns = hl_wall_ns();
	if (hl_store_peer_add(st, &p) < 0 || hl_store_peer_get(st, "bravo", &p) < 0)
		bail("peer");

	/* Nothing under way: no next file, nothing to do. */
	path(HL_F_IDENTITY, f);
	if (hl_identity_open(&id, f, NULL, 0) < 0)
		bail("open");
	hl_rotator_load(&rot, dir, NULL, 0);
	hl_rotator_reconcile(&rot, &id, st);
	T_OK(!rot.pending && !rot.have_next && !rot.stuck[0], "no rotation: nothing held");

	/* A rotation under way: the new keys held, the switch waits for the receipt. */
	rotate(st, &k0, &k1);
	hl_rotator_load(&rot, dir, NULL, 0);
	hl_rotator_reconcile(&rot, &id, st);
	T_OK(rot.pending && rot.have_next && !rot.stuck[0] &&
	         memcmp(&rot.next.pub, &k1.pub, sizeof k1.pub) == 0,
	     "under way: the new keys loaded beside the current ones");
	hl_rotator_tick(&rot, dir, &id, st, &switched);
	T_OK(switched == 0 && memcmp(&id.pub, &k0.pub, sizeof id.pub) == 0 && file_holds(&k0),
	     "no receipt yet: the old keys stay, in memory and on disk");
	receipted(st, p.id, 1);
	hl_rotator_tick(&rot, dir, &id, st, &switched);
	T_OK(switched > 0 && memcmp(&id.pub, &k1.pub, sizeof id.pub) == 0 && id.x25519_sk &&
	         id.ed25519_sk,
	     "receipted: switched to the new keys, secrets included");
	path(HL_F_IDENTITY_NEXT, f);
	T_OK(file_holds(&k1) && access(f, F_OK) != 0,
	     "identity.key holds the new keys; identity.key.next is gone");
	T_EQ_INT(hl_store_rotation_switched(st, switched, hl_wall_ns()), HL_OK,
	         "the caller records it");
	T_OK(!rot.pending && !rot.have_next, "nothing held any more");
	hl_rotator_free(&rot);

	/* A crash after the rename, before the store noted the switch: completed at start. */
	rotate(st, &k1, &k2);
	receipted(st, p.id, 2);
	{
		char from[HL_PATH_MAX], to[HL_PATH_MAX];
		path(HL_F_IDENTITY_NEXT, from);
		path(HL_F_IDENTITY, to);
		if (rename(from, to) != 0)
			bail("rename");
	}
	hl_identity_free(&id);
	path(HL_F_IDENTITY, f);
	if (hl_identity_open(&id, f, NULL, 0) < 0)
		bail("open");
	hl_rotator_load(&rot, dir, NULL, 0);
	hl_rotator_reconcile(&rot, &id, st);
	T_OK(!rot.pending && hl_store_rotation_pending(st, &rec, &found) == HL_OK && !found &&
	         hl_store_rotation_last(st, &rec, &found) == HL_OK && found &&
	         memcmp(rec.r.new_ed25519, k2.pub.ed25519, 32) == 0 && rec.switched_ns,
	     "a switch that reached the files before a crash is recorded at start");

	/* A rotation whose new keys' file is gone: the old keys stay, and status says why. */
	rotate(st, &k2, &k3);
	path(HL_F_IDENTITY_NEXT, f);
	unlink(f);
	hl_rotator_load(&rot, dir, NULL, 0);
	hl_rotator_reconcile(&rot, &id, st);
	T_OK(rot.pending && !rot.have_next && strstr(rot.stuck, "missing"),
	     "identity.key.next missing: stuck, named (%s)", rot.stuck);
	receipted(st, p.id, 3);
	hl_rotator_tick(&rot, dir, &id, st, &switched);
	T_OK(switched == 0 && memcmp(&id.pub, &k2.pub, sizeof id.pub) == 0,
	     "and it never switches to keys it does not hold");
	{
		json_t *status = json_pack("{s:{s:{}}}", "keys", "rotation");
		hl_rotator_status(&rot, status);
		T_OK(json_is_string(json_object_get(
		         json_object_get(json_object_get(status, "keys"), "rotation"), "problem")),
		     "status carries the problem");
		json_decref(status);
	}
	/* A next file that holds another key than the one announced. */
	path(HL_F_IDENTITY_NEXT, f);
	if (hl_identity_write(&k1, f, NULL, 0, false) < 0)
		bail("write");
	hl_rotator_load(&rot, dir, NULL, 0);
	hl_rotator_reconcile(&rot, &id, st);
	T_OK(rot.pending && !rot.have_next && strstr(rot.stuck, "not hold the announced key"),
	     "a next file with another key: stuck (%s)", rot.stuck);
	hl_rotator_free(&rot);

	hl_store_close(st);
	hl_identity_free(&id);
	hl_identity_free(&k0);
	hl_identity_free(&k1);
	hl_identity_free(&k2);
	hl_identity_free(&k3);
	hl_identity_free(&peer);
	{
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return t_done();
}
