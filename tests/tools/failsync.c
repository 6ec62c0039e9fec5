/* SPDX-License-Identifier: ISC */
/*
 * failsync.c: libhl-failsync.so, an LD_PRELOAD shim for the fault harness
 * (tests only). While the file named by $HL_FAILSYNC_FILE exists, fsync(2),
 * fdatasync(2) and syncfs(2) fail with EIO without syncing, as on a disk
 * whose writes fail; otherwise they pass through. Each failure appends one
 * line to the trigger file's twin "$HL_FAILSYNC_FILE.count" so that a test
 * can tell the shim did inject faults (and that the process made the call).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int sync_fn(int);

static int
failing(void)
{
	const char *trigger = getenv("HL_FAILSYNC_FILE");
	char count[4096];
	int fd, saved = errno;

	if (!trigger || !*trigger || access(trigger, F_OK) != 0) {
		errno = saved;
		return 0;
	}
	if (strlen(trigger) + sizeof ".count" <= sizeof count) {
		memcpy(count, trigger, strlen(trigger));
		memcpy(count + strlen(trigger), ".count", sizeof ".count");
		if ((fd = open(count, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
			(void)!write(fd, "x\n", 2);
			close(fd);
		}
	}
	errno = EIO;
	return 1;
}

static int
pass(const char *name, int fd)
{
	sync_fn *real = (sync_fn *)(uintptr_t)dlsym(RTLD_NEXT, name);

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd);
}

int
fsync(int fd)
{
	return failing() ? -1 : pass("fsync", fd);
}

int
fdatasync(int fd)
{
	return failing() ? -1 : pass("fdatasync", fd);
}

int
syncfs(int fd)
{
	return failing() ? -1 : pass("syncfs", fd);
}
