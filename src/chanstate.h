/* SPDX-License-Identifier: ISC */
/*
 * chanstate.h: what an operator sees of a channel, and of the checkpoints
 * with a peer, as JSON (docs/status.md, "Channel", "Checkpoints"). One place decides it, for the
 * daemon's status, the CLI's offline status and `channel list`: a channel is `suspended` when
 * either side has suspended it (a decision, signed), otherwise its peer's link state `up`,
 * `degraded` or `down` (a fault), or `open` where the link state is not known. A fault and a
 * decision never look the same.
 */
#ifndef HL_CHANSTATE_H
#define HL_CHANSTATE_H

#include <jansson.h>

#include "store.h"

/* A time as operators read it ("2026-11-26T08:16:27.185Z"), or JSON null for 0. */
json_t *hl_json_time(uint64_t ns);
/*
 * One channel. self: this station's name; link_state: the peer's state
 * ("up", "degraded", "down") or NULL; last_contact: the peer's, or NULL.
 */
json_t *hl_channel_json(const struct hl_channel_rec *c, const char *self, const char *link_state,
                        json_t *last_contact);
/* A checkpoint as operators see it (docs/status.md, "Checkpoint"). */
json_t *hl_ckpt_json(const struct hl_ckpt_rec *c);
/*
 * Add "channels" and "checkpoints" to every peer object of a status reply
 * (its "peers" array, each with "name", "state", "last_contact"), read
 * from st.
 */
HL_MUST_CHECK int hl_status_add_channels(json_t *status, struct hl_store *st, const char *self);

/* A peer's "keys" (docs/status.md): the key in use, an announced one, a revocation. */
json_t *hl_peer_keys_json(const struct hl_peer_rec *p);
/*
 * Add "keys" to a status reply: this station's key (ours) and its
 * rotation, the one under way or else the last one (docs/keys.md).
 */
HL_MUST_CHECK int hl_status_add_keys(json_t *status, struct hl_store *st,
                                     const struct hl_pubkey *ours);

#endif
