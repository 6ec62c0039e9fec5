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
 * Every pinned address of every peer is tested every link_test_s: the peer
 * answers a TEST only once it has stored it (docs/protocol.md, "Link
 * tests"), and the result is kept, recorded and shown in status.
 * Everything here runs on the loop thread.
 */
#ifndef HL_LINK_H
#define HL_LINK_H

#include <uv.h>
#include <jansson.h>

#include "codebook.h"
#include "config.h"
#include "keys.h"
#include "store.h"
#include "storeq.h"

struct hl_net;

/*
 * Listen on listen_fd (from hl_net_listen; taken, closed on failure) and
 * start dialing. cfg and id are borrowed and must outlive the net. On
 * failure err says why.
 */
HL_MUST_CHECK int hl_net_start(uv_loop_t *loop, const struct hl_config *cfg,
                               const struct hl_identity *id, const char *store_path,
                               const struct hl_peer_rec *peers, size_t npeers, int listen_fd,
                               struct hl_net **out, char *err, size_t errcap);
/*
 * Bind and listen on cfg->listen: *fd is the listening socket for
 * hl_net_start (which owns it from then on, even when it fails). Apart from
 * the start so that a daemon started as root can bind a port below 1024
 * and then drop root (sandbox.h). HL_ERR_INVAL or HL_ERR_IO with err set
 * ("cannot listen on HOST:PORT: why").
 */
HL_MUST_CHECK int hl_net_listen(const struct hl_config *cfg, int *fd, char *err, size_t errcap);
/* New events may be in the store (a CLI `send` or `ack`): load and send them. */
void hl_net_poke(struct hl_net *net);

/* What the station wants to hear from the net (all on the loop thread; any may be NULL). */
struct hl_net_hooks {
	/* An APPEND or ACK job it submitted finished (already poked); it frees the job. */
	void (*job_done)(void *ctx, struct hl_job *job);
	/* A waited-for event was receipted (reason NULL) or refused. */
	void (*settled)(void *ctx, void *waiter, uint64_t seq, const char *reason);
	/* An event of the peer's was stored for the first time (job->outcome says how). */
	void (*received)(void *ctx, const char *peer, const struct hl_job *job);
	/* The link to peer came up or went down: via is the session's path, why the reason. */
	void (*link_changed)(void *ctx, const char *peer, bool up, const char *via,
	                     const char *why);
	/*
	 * A link test of ours ended: link is the pinned address; rtt_ms when ok
	 * (0 otherwise); error says why it failed (NULL when ok). May be NULL.
	 */
	void (*link_test)(void *ctx, const char *peer, const char *link, bool ok, double rtt_ms,
	                  const char *error);
	/*
	 * A checkpoint with peer ended (checkpoint.h): waiters are the callers
	 * of hl_net_checkpoint, NULL-terminated; c->status says how.
	 */
	void (*checkpoint)(void *ctx, const char *peer, void *const *waiters,
	                   const struct hl_ckpt_rec *c);
	/*
	 * Our events changed state in the store: a SENT, RECEIPT or REFUSED
	 * job of the peer's committed (job is borrowed). May be NULL.
	 */
	void (*marked)(void *ctx, const char *peer, const struct hl_job *job);
	/* The peer said which codebook it holds (at link-up): hash as hex, and whether it is ours.
	 */
	void (*codebook)(void *ctx, const char *peer, bool agreed, const char *hash_hex,
	                 const char *version);
	/* The peer showed the key it announced: key is its key here from now on (docs/keys.md). */
	void (*peer_key)(void *ctx, const char *peer, const struct hl_pubkey *key);
	/*
	 * The disk failed under the store (a job ended with HL_ERR_DISK);
	 * called once, from the writer's results: the station should stop.
	 */
	void (*disk_failed)(void *ctx);
	void *ctx;
};
void hl_net_set_hooks(struct hl_net *net, const struct hl_net_hooks *hooks);
/* Queue a store job (APPEND, ACK) for the writer thread; takes it. */
HL_MUST_CHECK int hl_net_submit(struct hl_net *net, struct hl_job *job);
HL_MUST_CHECK int hl_net_peer_id(struct hl_net *net, const char *name, int64_t *id);
/*
 * Start a signed checkpoint with peer now (or join the one in flight);
 * hooks.checkpoint reports to waiter. HL_ERR_NOTFOUND, HL_ERR_CLOSED (the
 * link is down), HL_ERR_BUSY.
 */
HL_MUST_CHECK int hl_net_checkpoint(struct hl_net *net, const char *peer, void *waiter);
/*
 * The station's codebook (borrowed; NULL: none): incoming codebook messages
 * are checked against it, and its hash is compared with the peer's at link-up.
 */
void hl_net_set_codebook(struct hl_net *net, const struct hl_codebook *cb);
/* The pinned peer's name, or "?" (borrowed: valid until the peers change). */
const char *hl_net_peer_name(struct hl_net *net, int64_t id);
/* Report through hooks.settled once our event seq to peer_id is receipted or refused. */
void hl_net_wait(struct hl_net *net, int64_t peer_id, uint64_t seq, void *waiter);
/* Replace the pinned peers: new ones are dialled, removed ones dropped at once. */
HL_MUST_CHECK int hl_net_set_peers(struct hl_net *net, const struct hl_peer_rec *peers,
                                   size_t npeers);
/*
 * The station's identity (the id given to hl_net_start) now holds new keys
 * (docs/keys.md, the switch): every connection made with the former ones
 * closes at once, and every peer is dialled again with the new ones.
 */
void hl_net_identity_changed(struct hl_net *net);
/* Status of every peer as JSON (docs/status.md); caller owns the result. */
json_t *hl_net_status(struct hl_net *net);
/*
 * Counters since the start, for metrics (docs/console.md):
 * {"handshake_failures": {"unpinned_key", "replayed", "timeout", "error"},
 *  "link_tests": [{"peer", "link", "ok", "failed"}, ...]}. Caller owns it.
 */
json_t *hl_net_metrics(struct hl_net *net);
/*
 * Say goodbye to every peer, close every handle and free the net once the
 * last handle is closed (the loop then runs dry).
 */
void hl_net_stop(struct hl_net *net);

#endif
