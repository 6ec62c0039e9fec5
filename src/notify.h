/* SPDX-License-Identifier: ISC */
/*
 * notify.h: the operator's notification hook (config key notify, see
 * docs/notify.md). Each event runs `/bin/sh -c COMMAND` with the event as one
 * compact JSON line on stdin and HOTLINE_EVENT=<its "event" field> added to
 * the environment; stdout and stderr are the daemon's. Invariants: at most
 * one hook runs at a time, events run in the order given, at most
 * HL_NOTIFY_QUEUE_MAX wait behind the running one (more are dropped and
 * logged), a hook is killed after the timeout, and a failing hook never
 * stops the next event. Loop thread only; the caller ignores SIGPIPE.
 */
#ifndef HL_NOTIFY_H
#define HL_NOTIFY_H

#include <uv.h>
#include <jansson.h>

#include "hl.h"

#define HL_NOTIFY_QUEUE_MAX 1024    /* events waiting behind the running hook */
#define HL_NOTIFY_TIMEOUT_MS 10000u /* a hook still running then is killed */

struct hl_notify;

/*
 * Start a notifier on loop. command "" gives a notifier that drops every
 * event silently (no hook configured) and opens no handle.
 * HL_ERR_NOMEM on failure (*out is then NULL).
 */
HL_MUST_CHECK int hl_notify_start(uv_loop_t *loop, const char *command, struct hl_notify **out);
/*
 * Queue one event, a JSON object (takes the reference). Never blocks the
 * loop; the hook starts at once when none is running. Not after stop.
 */
void hl_notify_event(struct hl_notify *n, json_t *event);
/*
 * Stop: the running hook may finish (still bounded by the timeout), what is
 * queued is dropped with one log line naming how many, every handle is
 * closed, so the loop then runs dry. n is freed once its handles have closed
 * (at once when none is open). Accepts NULL.
 */
void hl_notify_stop(struct hl_notify *n);

/* For tests only: the timeout of hooks started from now on. */
void hl_notify_set_timeout_ms(struct hl_notify *n, uint64_t ms);

#endif
