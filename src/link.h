/* SPDX-License-Identifier: ISC */
/*
 * link.h: the network side of a running station, on libuv. It listens,
 * dials every pinned peer over its addresses in order (failover to the next
 * address at once, exponential backoff with jitter once all have failed),
 * runs the Noise handshake through session.c, keeps one session per peer,
 * sends heartbeats and declares a silent link down.
 *
 * One session per peer survives: when two are established (both stations
 * dialled at once, or a peer redialled), the newer one wins unless it was
 * initiated by the station with the smaller X25519 key while the older one
 * was initiated by the larger; both ends apply the same rule and agree.
 * Everything here runs on the loop thread.
 */
#ifndef HL_LINK_H
#define HL_LINK_H

#include <uv.h>
#include <jansson.h>

#include "config.h"
#include "keys.h"
#include "store.h"

struct hl_net;

/*
 * Bind the listener and start dialing. cfg and id are borrowed and must
 * outlive the net. On failure err says why (e.g. the address is in use).
 */
HL_MUST_CHECK int hl_net_start(uv_loop_t *loop, const struct hl_config *cfg,
                               const struct hl_identity *id, const char *store_path,
                               const struct hl_peer_rec *peers, size_t npeers, struct hl_net **out,
                               char *err, size_t errcap);
/* New events may be in the store (a CLI `send` or `ack`): load and send them. */
void hl_net_poke(struct hl_net *net);
/* Replace the pinned peers: new ones are dialled, removed ones dropped at once. */
HL_MUST_CHECK int hl_net_set_peers(struct hl_net *net, const struct hl_peer_rec *peers,
                                   size_t npeers);
/* Status of every peer as JSON (docs/status.md); caller owns the result. */
json_t *hl_net_status(struct hl_net *net);
/*
 * Say goodbye to every peer, close every handle and free the net once the
 * last handle is closed (the loop then runs dry).
 */
void hl_net_stop(struct hl_net *net);

#endif
