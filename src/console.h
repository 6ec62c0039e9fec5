/* SPDX-License-Identifier: ISC */
/*
 * console.h: the operators' web console (docs/console.md): an HTTP server
 * (libmicrohttpd) in threads of its own, one per connection, serving the
 * built-in pages (web/), a JSON API, live events (Server-Sent Events) and
 * Prometheus metrics.
 *
 * It never touches the loop's state from its threads. What the daemon does
 * (status, send, ack, suspend, resume) goes to the loop thread through
 * uv_async and the station's control-socket handler, as an in-process
 * control client (ctl.h): the same code as `hotline send` or `hotline
 * ack`, answered the same way. What is only read from the store (inbox,
 * outbox, a message, the transcript, operators) is read by the console's
 * threads on connections of their own, as the CLI reads it: SQLite in WAL
 * mode lets them read while the daemon writes, and a slow read never holds
 * the loop. Sessions live in memory: a station's cookie means nothing to
 * any other station, nor to this one after a restart.
 */
#ifndef HL_CONSOLE_H
#define HL_CONSOLE_H

#include <uv.h>
#include <jansson.h>

#include "codebook.h"
#include "ctl.h"
#include "hl.h"

struct hl_console;

struct hl_console_opts {
	const char *station;    /* this station's name */
	const char *addr;       /* where to listen: HOST:PORT (hl_config_console_addr) */
	uint32_t idle_s;        /* a session unused this long ends */
	unsigned pwcost;        /* enum hl_pwcost: of the hash unknown names are checked against */
	const char *store_path; /* DIR/station.db */
	const struct hl_codebook *codebook; /* borrowed (outlives the console); NULL: none */
	const uint8_t *ed25519;             /* this station's Ed25519 public key, 32 bytes */
	unsigned language;                  /* the config's language: for parallel texts */
	uint32_t max_message_bytes;
	hl_ctl_handler *handler; /* the station's control handler, called on the loop thread */
	void *ctx;               /* ... with this */
};

/*
 * Listen and serve (threads of its own); everything in o is copied but
 * codebook. On failure err says why (e.g. the address is in use).
 */
HL_MUST_CHECK int hl_console_start(uv_loop_t *loop, const struct hl_console_opts *o,
                                   struct hl_console **out, char *err, size_t errcap);
/*
 * Tell every live page (Server-Sent Events): event is "message", "link",
 * "channel" or "status", data its JSON object (taken). Any thread; cheap.
 * Accepts a NULL console (none configured).
 */
void hl_console_event(struct hl_console *c, const char *event, json_t *data);
/* Loop thread: stop serving (waits for the console's threads), close its handle. NULL ok. */
void hl_console_stop(struct hl_console *c);
/* After the loop ran dry: free what is left (requests the daemon never answered). NULL ok. */
void hl_console_free(struct hl_console *c);

#endif
