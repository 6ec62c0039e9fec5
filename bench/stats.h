/* SPDX-License-Identifier: ISC */
/* stats.h: the benchmarks' clock and percentiles (header-only, bench/ only). */
#ifndef HL_BENCH_STATS_H
#define HL_BENCH_STATS_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p99 of the last report() */
static double report_p99;

/* Print p50 and p99 of n samples (microseconds); sorts v; returns p50 (0: none). */
static inline double
report(const char *what, double *v, size_t n)
{
	report_p99 = 0;
	if (n == 0) {
		printf("%-52s (no samples)\n", what);
		return 0;
	}
	qsort(v, n, sizeof *v, cmp_double);
	printf("%-52s p50 %8.1f us   p99 %8.1f us   (n=%zu)\n", what, v[n / 2], v[n * 99 / 100], n);
	report_p99 = v[n * 99 / 100];
	return v[n / 2];
}

#endif
