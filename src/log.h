/* SPDX-License-Identifier: ISC */
/*
 * log.h: one logfmt line per event on stderr:
 *   ts=2026-11-26T08:00:00.123Z level=info event=link_up peer=beijing ...
 * Callers pass the event name and the key=value rest; values with spaces
 * are quoted by the caller with log_q(). Never log secrets.
 */
#ifndef HL_LOG_H
#define HL_LOG_H

#include "hl.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* "debug", "info", "warn" or "error"; HL_ERR_INVAL for anything else. */
HL_MUST_CHECK int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level lvl);
void log_set_prefix(const char *station); /* adds station=NAME to each line */
void log_event(enum log_level lvl, const char *event, const char *fmt, ...) HL_PRINTF(3, 4);

#define log_debug(ev, ...) log_event(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)

/*
 * Between log_hold() and log_release(), this thread's lines are kept and
 * then written together (whole lines, in order, in writes of at most
 * PIPE_BUF bytes, which never interleave with other processes' lines): a
 * batch of a thousand received messages logs a line each, and a syscall
 * each cost more than storing them. Errors are never held. Holds do not nest, and one thread at a
 * time holds (the daemon's loop thread).
 */
void log_hold(void);
void log_release(void);

/*
 * For a signal handler: the same line format, built without allocation,
 * locks or stdio (clock_gettime and one write(2)): event, then k1=v1 (v1
 * must need no quoting) and k2=v2.
 */
void log_sigsafe(enum log_level lvl, const char *event, const char *k1, const char *v1,
                 const char *k2, long v2);

/* Quote a value for logfmt into buf (always NUL-terminated; NULL is ""); returns buf. */
const char *log_q(char *buf, size_t cap, const char *value);

/* For broken invariants only: log and abort. */
_Noreturn void fatalx(const char *what);

#endif
