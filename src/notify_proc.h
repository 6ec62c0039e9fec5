/* SPDX-License-Identifier: ISC */
/*
 * notify_proc.h: the notify hook's own process. The hook is a command the
 * operator chose (mail, a pager, a script): it must be able to do
 * anything, while the daemon that holds the keys may not even execve
 * (sandbox.h). So the daemon forks a helper before it loads its keys and
 * before its seccomp filter: the helper runs hl_notify (notify.h) on its
 * own loop and reads the events, one compact JSON object a line, from a
 * socket pair. It never holds a secret, runs as the daemon's user, and
 * ends when the daemon's end closes (after letting a running hook finish);
 * it ignores SIGINT, SIGTERM and SIGHUP so that a stop signal sent to the
 * whole group (a terminal's ^C, systemd) does not cut that short.
 */
#ifndef HL_NOTIFY_PROC_H
#define HL_NOTIFY_PROC_H

#include <uv.h>
#include <jansson.h>

#include "hl.h"
#include "sandbox.h"

struct hl_notify_proc;

/*
 * Fork the helper for command (not empty). Call while the process has one
 * thread. In the helper: wipe (wipelen bytes, may be NULL) is wiped first,
 * every descriptor but 0, 1, 2 and its socket is closed, it becomes drop
 * when drop is not NULL, and it never returns. HL_ERR_IO with err set.
 */
HL_MUST_CHECK int hl_notify_proc_start(const char *command, const struct hl_user *drop, void *wipe,
                                       size_t wipelen, struct hl_notify_proc **out, char *err,
                                       size_t errcap);
/* Put the daemon's end on loop; events before this are dropped. */
HL_MUST_CHECK int hl_notify_proc_attach(struct hl_notify_proc *np, uv_loop_t *loop);
/*
 * Hand one event to the helper (takes the reference). Never blocks. When
 * the helper is gone the event is dropped: logged once as notify_helper_gone,
 * then per event as notify_dropped. Accepts NULL np (the event is freed).
 */
void hl_notify_proc_event(struct hl_notify_proc *np, json_t *event);
/* Close the daemon's end: the helper stops once its running hook ends. Accepts NULL. */
void hl_notify_proc_stop(struct hl_notify_proc *np);
/* After the loop has run dry: wait for the helper to exit (bounded by the
   hook timeout), log how it ended if not cleanly, free. Accepts NULL. */
void hl_notify_proc_free(struct hl_notify_proc *np);

#endif
