/* SPDX-License-Identifier: ISC */
/*
 * trace.h: timestamps at the steps of a message's way through the client,
 * the daemons' loops and their store threads, for `make bench-trace`
 * (bench/trace.sh, docs/performance.md). Only a build configured with
 * -Dtrace=true has them; in any other build HL_TRACE_POINT is nothing.
 */
#ifndef HL_TRACE_H
#define HL_TRACE_H

#ifdef HL_TRACE
/* Records CLOCK_MONOTONIC and step (a string literal); any thread. */
void hl_trace(const char *step);
#define HL_TRACE_POINT(step) hl_trace(step)
#else
#define HL_TRACE_POINT(step) ((void)0)
#endif

#endif
