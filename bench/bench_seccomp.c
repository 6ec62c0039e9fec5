/* SPDX-License-Identifier: ISC */
/*
 * bench_seccomp.c: what the daemon's seccomp filter (sandbox.h) adds to a
 * system call. In one process: cheap system calls timed without the
 * filter (the floor), then the same after loading it, best of several
 * rounds so that a loaded machine's noise is left out. The filter is
 * checked on every call the daemon makes; `make bench` prints the figure.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

#define N 200000
#define ROUNDS 15

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Best-of-ROUNDS ns per call of getppid and pread (allowed whatever their arguments), and of
   ioctl(FIONREAD) (allowed for some requests: the filter runs its comparisons). */
static void
measure(int fd, double *ppid_ns, double *pread_ns, double *ioctl_ns)
{
	char b[16];
	int n;

	*ppid_ns = *pread_ns = *ioctl_ns = 1e18;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();
		for (int i = 0; i < N; i++)
			(void)syscall(SYS_getppid);
		double t1 = now_ns();
		for (int i = 0; i < N; i++)
			if (pread(fd, b, sizeof b, 0) < 0)
				exit(1);
		double t2 = now_ns();
		for (int i = 0; i < N; i++)
			(void)ioctl(fd, FIONREAD, &n);
		double t3 = now_ns();
		if ((t1 - t0) / N < *ppid_ns)
			*ppid_ns = (t1 - t0) / N;
		if ((t2 - t1) / N < *pread_ns)
			*pread_ns = (t2 - t1) / N;
		if ((t3 - t2) / N < *ioctl_ns)
			*ioctl_ns = (t3 - t2) / N;
	}
}

int
main(void)
{
	double p0, r0, i0, p1, r1, i1;
	unsigned rules;
	char err[256];
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	measure(fd, &p0, &r0, &i0);
	if (hl_sandbox_seccomp(&rules, err, sizeof err) < 0) {
		fprintf(stderr, "bench_seccomp: %s\n", err);
		return 1;
	}
	measure(fd, &p1, &r1, &i1);
	printf("floor: getppid, pread, ioctl(FIONREAD), no filter  %6.1f %6.1f %6.1f ns  (best of "
	       "%d x %d)\n",
	       p0, r0, i0, ROUNDS, N);
	printf(
	    "the same under the daemon's filter (%u rules)     %6.1f %6.1f %6.1f ns  (%+.1f %+.1f "
	    "%+.1f)\n",
	    rules, p1, r1, i1, p1 - p0, r1 - r0, i1 - i0);
	close(fd);
	return 0;
}
