/* SPDX-License-Identifier: ISC */
/*
 * rotation.h: the daemon's side of this station's own key rotation
 * (docs/keys.md). `hotline key rotate` writes the new keys to
 * DIR/identity.key.next (protected like identity.key), records the signed
 * statement and queues a KEY event with it to every peer. The daemon holds
 * the new secrets beside the current ones and keeps using the current
 * ones; once every peer that is not revoked has receipted its KEY event,
 * it switches:
 *
 *   1. identity.key.next is renamed over identity.key (fsync'd): the old
 *      secret is gone from disk;
 *   2. the identity in memory takes the new keys, the old secrets are wiped;
 *   3. the caller closes every session (they come again with the new keys)
 *      and records the switch in the store.
 *
 * A crash between any two steps is completed at the next start: an
 * identity.key that already holds the announced key means the switch was
 * made. Loop thread only.
 */
#ifndef HL_ROTATION_H
#define HL_ROTATION_H

#include <jansson.h>

#include "keys.h"
#include "store.h"

struct hl_rotator {
	struct hl_identity next; /* the announced keys' secrets */
	bool have_next;
	struct hl_rotation_rec rot; /* the rotation under way */
	bool pending;
	char stuck[200];      /* why it cannot complete ("": it can), for logs and status */
	uint64_t next_try_ms; /* after a switch that failed (a rename, say) */
};

/*
 * Before the passphrase is wiped: open DIR/identity.key.next if there is
 * one, with the passphrase of identity.key (pass may be NULL for a clear
 * file). A file that cannot be opened is noted, not fatal.
 */
void hl_rotator_load(struct hl_rotator *r, const char *dir, const char *pass, size_t passlen);
/*
 * Compare the files with the store once the store is open: a rotation
 * under way whose new key is already the identity's was switched before a
 * crash (recorded now in st); one whose new key's file is missing cannot
 * complete (r->stuck says why); a next file with no rotation is dropped.
 */
void hl_rotator_reconcile(struct hl_rotator *r, const struct hl_identity *id, struct hl_store *st);
/* A rotation just started (the ctl `rotate`): take next's secrets and rot. */
void hl_rotator_adopt(struct hl_rotator *r, struct hl_identity *next,
                      const struct hl_rotation_rec *rot);
/*
 * Once a second: when every peer that is not revoked has receipted the
 * KEY event (st, read only), switch id to the new keys (steps 1 and 2).
 * *switched_id receives the rotation's id when it switched now (0 else):
 * the caller then closes the sessions and records the switch.
 */
void hl_rotator_tick(struct hl_rotator *r, const char *dir, struct hl_identity *id,
                     struct hl_store *st, int64_t *switched_id);
/* Status: "keys" (hl_status_add_keys) plus why a rotation is stuck. */
void hl_rotator_status(const struct hl_rotator *r, json_t *status);
void hl_rotator_free(struct hl_rotator *r);

#endif
