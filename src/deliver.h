/* SPDX-License-Identifier: ISC */
/*
 * deliver.h: moving events to and from one peer over its session, on the
 * loop thread. Outbound: our pending events, loaded from the store, go out
 * most urgent first, in chunks of HL_CHUNK bytes, so a FLASH message waits
 * at most one chunk behind a large ROUTINE one; what has no receipt is sent
 * again on the next session. Inbound: chunks are reassembled and hashed as
 * they come, each complete event is committed by the store thread, and
 * only then is its signed receipt (or signed refusal) sent back.
 */
#ifndef HL_DELIVER_H
#define HL_DELIVER_H

#include "codebook.h"
#include "keys.h"
#include "msg.h"
#include "storeq.h"

/* How deliver reaches the session; link.c implements it. */
struct hl_deliver_io {
	/* Seal and queue one frame; < 0 when there is no session. */
	int (*send)(void *ctx, uint8_t type, const uint8_t *body, size_t len);
	/* Bytes queued for the socket and not yet written. */
	size_t (*backlog)(void *ctx);
	/*
	 * While corked, frames are sealed into a buffer; uncorking writes them
	 * in one go (a burst of DATA frames costs one syscall, not one each).
	 */
	void (*cork)(void *ctx, bool on);
	/* Drop the session (the peer will retransmit on the next one). */
	void (*drop)(void *ctx, const char *why);
	/* A waited-for event was receipted (refused: reason not NULL). */
	void (*settled)(void *ctx, void *waiter, uint64_t seq, const char *reason);
	/* An event of the peer's was stored for the first time (accepted or refused). */
	void (*received)(void *ctx, const struct hl_job *job);
	void *ctx;
};

struct hl_deliver;

/* All arguments are borrowed and must outlive the deliver. */
struct hl_deliver *hl_deliver_new(int64_t peer_id, const char *peer_name,
                                  const struct hl_identity *id,
                                  const uint8_t peer_ed25519[static 32], uint32_t max_message_bytes,
                                  struct hl_storeq *q, struct hl_deliver_io io);
void hl_deliver_free(struct hl_deliver *d);

/* The codebook incoming codebook messages are checked against (NULL: none); borrowed. */
void hl_deliver_set_codebook(struct hl_deliver *d, const struct hl_codebook *cb);
/*
 * The wire version the peer's HELLO gave in this session: KEY and TALKS
 * events wait for it, and go only to a peer of version HL_WIRE_VERSION_KEYS or later
 * (an older one would drop the session at such a frame, again and again).
 */
void hl_deliver_set_peer_version(struct hl_deliver *d, unsigned version);
/* The session came up (load and send everything pending) or went down. */
void hl_deliver_up(struct hl_deliver *d);
void hl_deliver_down(struct hl_deliver *d);
/*
 * The station is stopping: the head over what is wholly on the wire goes
 * out now, not at the next quiet moment (a restored peer can take back
 * only what a head of ours covers; docs/reliability.md).
 */
void hl_deliver_stopping(struct hl_deliver *d);
/* Periodic (the link's tick): a signed head that waited for a quiet moment goes out. */
void hl_deliver_tick(struct hl_deliver *d);
/* New events may be in the store: load them. */
void hl_deliver_poke(struct hl_deliver *d);
/* The socket drained a little: send more. */
void hl_deliver_pump(struct hl_deliver *d);
/*
 * The peer speaks SYNC (its HELLO said so, or its SYNC came): prepare and
 * send ours, once per session. docs/reliability.md, "Re-synchronisation".
 */
void hl_deliver_sync_offer(struct hl_deliver *d);
/* A DATA, RECEIPT, REFUSE, HEAD, SYNC, RETURN or RETURN_HEAD frame; < 0 is a protocol violation. */
HL_MUST_CHECK int hl_deliver_frame(struct hl_deliver *d, uint8_t type, const uint8_t *body,
                                   size_t len);
/*
 * A new event of ours was just committed (an APPEND job): queue it straight
 * away when it is the next in the chain, instead of reading it back from
 * the store; otherwise load. Takes the job's body, not the job.
 */
void hl_deliver_appended(struct hl_deliver *d, struct hl_job *job);
/* Call io.settled(waiter) once our event seq is receipted or refused. */
void hl_deliver_wait(struct hl_deliver *d, uint64_t seq, void *waiter);
/* A finished store job of this peer (takes it), or NULL at the end of a batch. */
void hl_deliver_done(struct hl_deliver *d, struct hl_job *job);

#endif
