/* SPDX-License-Identifier: ISC */
/*
 * test_sandbox.c: the daemon's seccomp filter (sandbox.h), loaded in forked
 * children. What the daemon does still works under it: threads, files with
 * fsync and rename, sockets of its families, the resolver, sodium_malloc,
 * sleeping. What it never does kills the process with SIGSYS after one log
 * line naming the system call: execve, fork, a raw socket, setuid, ptrace,
 * a prctl other than naming a thread.
 * clone3 is answered ENOSYS so that glibc falls back to clone. The ASan
 * build's filter also lets LeakSanitizer work (clone of a task, ptrace):
 * those two checks are skipped there.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>

#include "log.h"
#include "sandbox.h"
#include "t.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#endif

static char dir[] = "/tmp/hl-sandbox.XXXXXX";

static void *
thread_main(void *arg)
{
	*(int *)arg = 42;
	return NULL;
}

/* Everything the daemon does after start, under the filter; 0 when all of it worked. */
static int
allowed_things(void)
{
	char path[64], path2[64];
	pthread_t t;
	int v = 0, fd, s;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	uint8_t *secret;
	struct timespec ts = {0, 1000000};

	if (pthread_create(&t, NULL, thread_main, &v) != 0 || pthread_join(t, NULL) != 0 || v != 42)
		return 1;
	snprintf(path, sizeof path, "%s/f", dir);
	snprintf(path2, sizeof path2, "%s/g", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "x", 1) != 1 || fdatasync(fd) != 0 || fsync(fd) != 0 ||
	    ftruncate(fd, 0) != 0 || close(fd) != 0 || rename(path, path2) != 0 ||
	    unlink(path2) != 0)
		return 2;
	for (int fam = 0; fam < 3; fam++) {
		s = socket(fam == 0   ? AF_INET
		           : fam == 1 ? AF_INET6
		                      : AF_UNIX,
		           SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (s < 0 && !(fam == 1 && errno == EAFNOSUPPORT))
			return 3;
		if (s >= 0)
			close(s);
	}
	if (getaddrinfo("localhost", "7400", &hints, &res) != 0)
		return 4;
	freeaddrinfo(res);
	if (!(secret = sodium_malloc(32)))
		return 5;
	randombytes_buf(secret, 32);
	sodium_free(secret);
	if (nanosleep(&ts, NULL) != 0)
		return 6;
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 7;
	if (prctl(PR_SET_NAME, "hl-test", 0, 0, 0) != 0) /* libmicrohttpd names its threads */
		return 8;
	return 0;
}

enum what { ALLOWED, EXECVE, FORK, RAW_SOCKET, SETUID, PTRACE, DUMPABLE };

/*
 * Fork; in the child load the filter and do `what`. Returns the wait status;
 * the child's stderr (the log line) goes into log.
 */
static int
in_child(enum what what, char *log, size_t logcap)
{
	int p[2], status = 0;
	unsigned rules;
	char err[256];
	ssize_t n;
	pid_t pid;

	char *start = log;

	log[0] = '\0';
	if (pipe(p) != 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		if (hl_sandbox_seccomp(&rules, err, sizeof err) < 0) {
			fprintf(stderr, "load failed: %s\n", err);
			_exit(100);
		}
		switch (what) {
		case ALLOWED:
			_exit(allowed_things());
		case EXECVE:
			execl("/bin/true", "true", (char *)NULL);
			break;
		case FORK:
			if (fork() == 0)
				_exit(0);
			break;
		case RAW_SOCKET:
			(void)socket(AF_PACKET, SOCK_RAW, 0);
			break;
		case SETUID:
			(void)setuid(0);
			break;
		case PTRACE:
			(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
			break;
		case DUMPABLE:
			(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
			break;
		}
		_exit(99); /* the call returned: not killed */
	}
	close(p[1]);
	while ((n = read(p[0], log, logcap - 1)) > 0) {
		log[n] = '\0';
		log += n;
		logcap -= (size_t)n;
	}
	close(p[0]);
	start[strcspn(start, "\n")] = '\0'; /* one line expected: keep TAP lines whole */
	waitpid(pid, &status, 0);
	return status;
}

/* The child died of SIGSYS after logging the system call by name. */
static void
killed(enum what what, const char *name, const char *why)
{
	char log[1024], want[64];
	int status = in_child(what, log, sizeof log);

	snprintf(want, sizeof want, "event=seccomp_violation syscall=%s nr=", name);
	T_OK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	     "%s: killed by SIGSYS (status %#x, log \"%s\")", why, status, log);
	T_OK(strstr(log, want) && strstr(log, "level=error") && strncmp(log, "ts=", 3) == 0,
	     "%s: one log line names %s (\"%s\")", why, name, log);
}

int
main(void)
{
	char log[1024];
	int status;

	if (sodium_init() < 0 || !mkdtemp(dir)) {
		T_OK(0, "setup");
		return t_done();
	}
	log_set_prefix("sandbox-test");
	status = in_child(ALLOWED, log, sizeof log);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	     "under the filter: threads, files, sockets, the resolver, sodium_malloc, sleep, "
	     "naming a thread "
	     "(status %#x, exit %d = the step that failed; log \"%s\")",
	     status, WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
	killed(EXECVE, "execve", "execve");
	killed(RAW_SOCKET, "socket", "a raw packet socket");
	killed(SETUID, "setuid", "setuid");
#ifndef ASAN
	killed(FORK, "clone", "fork");
	killed(PTRACE, "ptrace", "ptrace");
	killed(DUMPABLE, "prctl", "prctl other than naming a thread");
#else
	printf("# ASan build: fork and ptrace are allowed for LeakSanitizer, not checked\n");
#endif
	rmdir(dir);
	return t_done();
}
