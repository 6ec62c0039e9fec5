/* SPDX-License-Identifier: ISC */
/*
 * sandbox.c: privilege drop and the seccomp allow-list (see sandbox.h).
 * The list names what the daemon's libraries were seen to call (strace of
 * the integration tests) plus what they may call on other paths (the
 * resolver, SQLite's temporary files, a console's threads); a system call
 * missing here kills the daemon with a log line naming it, so a new libc
 * that needs one more shows at once, not as a silent failure.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

bool
hl_user_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > HL_USER_MAX || name[0] == '-' || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int
hl_sandbox_user(const char *name, struct hl_user *u, char *err, size_t errcap)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	memset(u, 0, sizeof *u);
	if (!hl_user_name_valid(name)) {
		snprintf(err, errcap, "bad user name '%s'", name);
		return HL_ERR_INVAL;
	}
	rc = getpwnam_r(name, &pw, buf, sizeof buf, &res);
	if (rc != 0 || !res) {
		snprintf(err, errcap, "no user named %s%s%s (docs/operations.md, \"Installation\")",
		         name, rc ? ": " : "", rc ? strerror(rc) : "");
		return HL_ERR_NOTFOUND;
	}
	snprintf(u->name, sizeof u->name, "%s", name);
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	return HL_OK;
}

int
hl_sandbox_drop(const struct hl_user *u, char *err, size_t errcap)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (setgroups(1, &u->gid) != 0 || setresgid(u->gid, u->gid, u->gid) != 0 ||
	    setresuid(u->uid, u->uid, u->uid) != 0) {
		snprintf(err, errcap, "cannot become user %s (uid %u, gid %u): %s", u->name,
		         (unsigned)u->uid, (unsigned)u->gid, strerror(errno));
		return HL_ERR_IO;
	}
	if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0 || r != u->uid ||
	    e != u->uid || s != u->uid || rg != u->gid || eg != u->gid || sg != u->gid) {
		snprintf(err, errcap, "user %s: the ids did not all change", u->name);
		return HL_ERR_IO;
	}
	if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errcap, "user %s: root could be had back after dropping it", u->name);
		return HL_ERR_IO;
	}
	return HL_OK;
}

/* ---- seccomp ---- */

/* Allowed whatever their arguments. */
static const char *const allowed[] = {
    /* files and descriptors: SQLite, the lock, the control socket, logs */
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "open",
    "openat",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "fstatfs",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getdents",
    "getdents64",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "fsync",
    "fdatasync",
    "ftruncate",
    "fallocate",
    "fadvise64",
    "flock",
    "fchmod",
    "fchown",
    "umask",
    "getcwd",
    /* memory: malloc, sodium_malloc (guard pages, mlock), thread stacks */
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "mlock",
    "mlock2",
    "munlock",
    /* threads (clone itself is below: threads only), time, randomness */
    "futex",
    "set_robust_list",
    "rseq",
    "set_tid_address",
    "sched_yield",
    "sched_getaffinity",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "getrandom",
    "exit",
    "exit_group",
    "restart_syscall",
    /* signals (libuv's signal pipe, abort) */
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    /* who am I; the notify helper's exit */
    "getpid",
    "gettid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "uname",
    "sysinfo",
    "wait4",
    "waitid",
    /* the event loop */
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "eventfd2",
    "pipe",
    "pipe2",
    /* sockets already made, or made below by family: links, the control socket, a console,
       the resolver */
    "bind",
    "listen",
    "connect",
    "accept",
    "accept4",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "shutdown",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "sendfile",
};

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HL_ASAN 1
#endif
#ifdef HL_ASAN
/* LeakSanitizer's check at exit: a tracer task (clone without CLONE_THREAD) ptraces the threads. */
static const char *const allowed_asan[] = {
    "clone", "ptrace", "prctl", "arch_prctl", "getrlimit", "prlimit64", "kill", "tgkill", "tkill"};
#endif

/* Names for the violation log line, resolved before the filter (a handler may not allocate). */
#define NAMES_MAX 512
static char names[NAMES_MAX][24];

static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	int nr = si->si_syscall;

	(void)uc;
	log_sigsafe(LOG_ERROR, "seccomp_violation", "syscall",
	            nr >= 0 && nr < NAMES_MAX && names[nr][0] ? names[nr] : "unknown", "nr", nr);
	/* SA_RESETHAND made SIGSYS fatal again: die by it, as the kernel's own kill would. */
	raise(sig);
}

/* Argument arg's low 32 bits equal v (int arguments: the upper half is not the caller's). */
static struct scmp_arg_cmp
eq32(unsigned arg, uint32_t v)
{
	return (struct scmp_arg_cmp){
	    .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = v};
}

#ifndef HL_ASAN
/* Argument arg has every bit of mask set. */
static struct scmp_arg_cmp
has_bits(unsigned arg, uint64_t mask)
{
	return (struct scmp_arg_cmp){
	    .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = mask};
}

/* Argument arg is 0 (a NULL pointer). */
static struct scmp_arg_cmp
is_zero(unsigned arg)
{
	return (struct scmp_arg_cmp){.arg = arg, .op = SCMP_CMP_EQ, .datum_a = 0, .datum_b = 0};
}
#endif

static int
rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned argc,
     const struct scmp_arg_cmp *args, unsigned *count)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	if (seccomp_rule_add_array(ctx, action, nr, argc, args) != 0)
		return -1;
	(*count)++;
	return 0;
}

int
hl_sandbox_seccomp(unsigned *count_out, char *err, size_t errcap)
{
	scmp_filter_ctx ctx;
	struct sigaction sa;
	unsigned count = 0;
	int rc = -1;

	*count_out = 0;
	for (int nr = 0; nr < NAMES_MAX; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		snprintf(names[nr], sizeof names[nr], "%s", name ? name : "");
		free(name);
	}
	if (!(ctx = seccomp_init(SCMP_ACT_TRAP))) {
		snprintf(err, errcap, "seccomp: cannot initialise libseccomp");
		return HL_ERR_NOMEM;
	}
	/* All threads; a binary tree of syscall numbers rather than a list (the kernel also
	   caches the allow-always ones, so most calls never run the filter). */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if (rule(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL, &count) < 0)
			goto out;
#ifdef HL_ASAN
	for (size_t i = 0; i < ARRAY_SIZE(allowed_asan); i++)
		if (rule(ctx, SCMP_ACT_ALLOW, allowed_asan[i], 0, NULL, &count) < 0)
			goto out;
#else
	const pid_t self = getpid();
	/* Threads only: a new process would escape nothing, but nothing here makes one. */
	if (rule(ctx, SCMP_ACT_ALLOW, "clone", 1,
	         (struct scmp_arg_cmp[]){has_bits(0, CLONE_THREAD)}, &count) < 0 ||
	    /* Reading limits (pthread_create), never setting them. */
	    rule(ctx, SCMP_ACT_ALLOW, "getrlimit", 0, NULL, &count) < 0 ||
	    rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, (struct scmp_arg_cmp[]){is_zero(2)}, &count) <
	        0 ||
	    /* Signals to this process only (abort, raise). */
	    rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1, (struct scmp_arg_cmp[]){eq32(0, (uint32_t)self)},
	         &count) < 0 ||
	    rule(ctx, SCMP_ACT_ALLOW, "kill", 1, (struct scmp_arg_cmp[]){eq32(0, (uint32_t)self)},
	         &count) < 0)
		goto out;
#endif
	/* glibc tries clone3 first and falls back to clone on ENOSYS (its flags are out of reach).
	 */
	if (rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, &count) < 0)
		goto out;
	/* Sockets of these families only: links, control socket, resolver, its address sorting. */
	static const int families[] = {AF_UNIX, AF_INET, AF_INET6};
	for (size_t i = 0; i < ARRAY_SIZE(families); i++)
		if (rule(ctx, SCMP_ACT_ALLOW, "socket", 1,
		         (struct scmp_arg_cmp[]){eq32(0, (uint32_t)families[i])}, &count) < 0)
			goto out;
	if (rule(ctx, SCMP_ACT_ALLOW, "socket", 2,
	         (struct scmp_arg_cmp[]){eq32(0, AF_NETLINK), eq32(2, NETLINK_ROUTE)},
	         &count) < 0 ||
	    rule(ctx, SCMP_ACT_ALLOW, "socketpair", 1, (struct scmp_arg_cmp[]){eq32(0, AF_UNIX)},
	         &count) < 0)
		goto out;
#ifndef HL_ASAN /* (there, prctl is allowed whole) */
	/* prctl: naming a thread (libmicrohttpd names its threads), and no other option. */
	static const int prctls[] = {PR_SET_NAME, PR_GET_NAME};
	for (size_t i = 0; i < ARRAY_SIZE(prctls); i++)
		if (rule(ctx, SCMP_ACT_ALLOW, "prctl", 1,
		         (struct scmp_arg_cmp[]){eq32(0, (uint32_t)prctls[i])}, &count) < 0)
			goto out;
#endif
	/* ioctl: non-blocking and close-on-exec flags, bytes waiting, isatty. */
	static const unsigned long ioctls[] = {FIONBIO,  FIONREAD, FIOCLEX,
	                                       FIONCLEX, TCGETS,   TIOCGWINSZ};
	for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++)
		if (rule(ctx, SCMP_ACT_ALLOW, "ioctl", 1,
		         (struct scmp_arg_cmp[]){eq32(1, (uint32_t)ioctls[i])}, &count) < 0)
			goto out;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = (int)(SA_SIGINFO | SA_RESETHAND | SA_NODEFER);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0)
		goto out;
	if ((rc = seccomp_load(ctx)) != 0) {
		snprintf(err, errcap, "seccomp: cannot load the filter: %s", strerror(-rc));
		rc = -1;
		goto done;
	}
	*count_out = count;
	rc = 0;
	goto done;
out:
	snprintf(err, errcap, "seccomp: cannot build the filter");
done:
	seccomp_release(ctx);
	return rc == 0 ? HL_OK : HL_ERR_IO;
}
