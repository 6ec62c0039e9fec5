/* SPDX-License-Identifier: ISC */
/*
 * test_trace.c: the trace points' records (src/trace.c, `make bench-trace`).
 * Built with HL_TRACE whatever the build: a child process, started with
 * HL_TRACE_DIR set, takes three points and exits; its file must hold them,
 * in order, with its pid and times that do not go back.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"
#include "trace.h"

static const char *const steps[] = {"first step", "second step", "third step"};

/* Runs this program as the child with HL_TRACE_DIR=dir; its pid, or -1. */
static pid_t
run_child(const char *self, const char *dir)
{
	pid_t pid;
	int status;

	if (setenv("HL_TRACE_DIR", dir, 1) != 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execl("/proc/self/exe", self, "child", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return pid;
}

static void
test_records(const char *self)
{
	char dir[] = "/tmp/hl-test-trace-XXXXXX", path[256], line[256];
	unsigned long long last = 0;
	bool in_order = true, own_pid = true, steps_right = true;
	int n = 0;
	pid_t pid;
	FILE *f;

	HL_TRACE_POINT("no HL_TRACE_DIR: nothing is kept, nothing breaks");
	bool made = mkdtemp(dir) != NULL; /* T_OK evaluates its condition twice */
	T_OK(made, "a directory for the records");
	pid = run_child(self, dir);
	T_OK(pid > 0, "the child ran and exited 0");
	snprintf(path, sizeof path, "%s/trace.%ld", dir, (long)pid);
	f = fopen(path, "r");
	T_OK(f != NULL, "the child wrote %s at exit", path);
	while (f && fgets(line, sizeof line, f)) {
		unsigned long long ns;
		long p;
		int off = 0;
		if (sscanf(line, "%llu %ld %n", &ns, &p, &off) != 2 || off == 0) {
			steps_right = false;
			break;
		}
		line[strcspn(line, "\n")] = '\0';
		if (n >= 3 || strcmp(line + off, steps[n]) != 0)
			steps_right = false;
		if (p != (long)pid)
			own_pid = false;
		if (ns < last)
			in_order = false;
		last = ns;
		n++;
	}
	if (f)
		fclose(f);
	T_EQ_INT(n, 3, "three records");
	T_OK(steps_right, "each record names its step, in the order taken");
	T_OK(own_pid, "each record carries the child's pid");
	T_OK(in_order, "times do not go back");
	unlink(path);

	/* A directory that cannot be written: the child runs as ever, keeps nothing. */
	pid = run_child(self, "/nonexistent/hl-trace");
	T_OK(pid > 0, "with HL_TRACE_DIR unwritable the child still runs and exits 0");
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
			HL_TRACE_POINT(steps[i]);
		return 0;
	}
	test_records(argv[0]);
	return t_done();
}
