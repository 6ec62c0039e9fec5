/* SPDX-License-Identifier: ISC */
/*
 * sandbox.h: what the daemon gives up once its listener is bound.
 *
 * Privileges: started as root with a user to run as (run --user, config
 * user), the daemon binds its listener, then becomes that user for good:
 * supplementary groups, then group, then user (OpenNTPD's order), and it
 * checks that root cannot be had back. Files it creates afterwards (the
 * store's journals, the control socket) belong to that user.
 *
 * System calls: a seccomp allow-list (libseccomp) of what the daemon's
 * libraries need once it runs: libuv, SQLite, libsodium, jansson, glibc's
 * resolver (peer host names are resolved at every dial) and libmicrohttpd
 * for a console. No execve, no fork (threads only), no ptrace, no setuid,
 * no socket families but IPv4, IPv6, Unix and netlink (the resolver's
 * address sorting). The operator's notify hook runs commands, so it lives
 * in a helper process forked before the filter (notify.h). Any other system
 * call kills the daemon with SIGSYS after one log line:
 *   level=error event=seccomp_violation syscall=NAME nr=N
 * (exit status 128+31 under a shell; systemd says "signal SYS").
 */
#ifndef HL_SANDBOX_H
#define HL_SANDBOX_H

#include <sys/types.h>

#include "hl.h"

#define HL_USER_MAX 32

struct hl_user {
	char name[HL_USER_MAX + 1];
	uid_t uid;
	gid_t gid;
};

/* A valid user name for the config: 1-32 of a-z 0-9 _ - (and . after the first), not "-". */
bool hl_user_name_valid(const char *name);

/* Look a user up by name (before dropping: NSS may need root's view). HL_ERR_NOTFOUND. */
HL_MUST_CHECK int hl_sandbox_user(const char *name, struct hl_user *u, char *err, size_t errcap);

/*
 * Become u for good (the process must be root): setgroups to u's group
 * alone, setresgid, setresuid, then check that every id changed and that
 * setuid(0) fails. HL_ERR_IO with the reason in err. Call before any
 * thread starts: the ids are per thread in the kernel (glibc syncs them,
 * but the daemon does not rely on it).
 */
HL_MUST_CHECK int hl_sandbox_drop(const struct hl_user *u, char *err, size_t errcap);

/*
 * Set no_new_privs and load the daemon's seccomp filter on every thread
 * (TSYNC). *allowed is the number of system calls allowed. HL_ERR_IO with
 * the reason in err (e.g. a kernel without seccomp).
 */
HL_MUST_CHECK int hl_sandbox_seccomp(unsigned *allowed, char *err, size_t errcap);

#endif
