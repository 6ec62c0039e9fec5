/* SPDX-License-Identifier: ISC */
/*
 * trace.c: the trace points' records (trace.h), kept in memory so that
 * taking one costs a clock read, and written at exit to
 * $HL_TRACE_DIR/trace.PID as "NS PID STEP" lines. The file is opened
 * before main, so before the daemon's sandbox closes the way to it.
 * Built only with -Dtrace=true.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

#define TRACE_MAX (1u << 21) /* records kept; later ones are dropped */

static struct {
	uint64_t ns;
	const char *step;
} recs[TRACE_MAX];
static atomic_uint nrecs;
static atomic_bool on; /* records are taken: the file is open, not yet written */
static FILE *out;

void
hl_trace(const char *step)
{
	struct timespec t;
	unsigned i;

	if (!atomic_load(&on))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	i = atomic_fetch_add(&nrecs, 1u);
	if (i < TRACE_MAX) {
		recs[i].ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
		recs[i].step = step;
	}
}

static void
trace_write(void)
{
	long pid = (long)getpid();
	unsigned n;

	atomic_store(&on, false); /* no more: the records below stay as they are */
	n = atomic_load(&nrecs);
	if (n > TRACE_MAX)
		n = TRACE_MAX;
	for (unsigned i = 0; i < n; i++)
		if (recs[i].step) /* a slot taken by a thread still running may be unfilled */
			fprintf(out, "%llu %ld %s\n", (unsigned long long)recs[i].ns, pid,
			        recs[i].step);
	fclose(out);
	out = NULL;
}

__attribute__((constructor)) static void
trace_open(void)
{
	const char *dir = getenv("HL_TRACE_DIR");
	char path[4096];

	if (!dir ||
	    snprintf(path, sizeof path, "%s/trace.%ld", dir, (long)getpid()) >= (int)sizeof path)
		return;
	if ((out = fopen(path, "w")) && atexit(trace_write) == 0)
		atomic_store(&on, true);
}
