/* SPDX-License-Identifier: ISC */
/*
 * cli_key.c: passphrases on the command line's side, and the `key` verb.
 * A passphrase comes from a file descriptor (--passphrase-fd N: one line,
 * or up to end of file) or from the terminal with echo off; never from
 * argv, where ps and shell histories would show it. It lives in
 * sodium_malloc'd memory (guard pages, locked) and is wiped when released.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sodium.h>

#include "keys.h"
#include "station.h"
#include "cli.h"

void
pass_free(struct hl_pass *p)
{
	sodium_free(p->buf); /* wipes */
	p->buf = NULL;
	p->len = 0;
}

int
pass_fd_arg(const char *verb, const char *opt, const char *arg, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > INT_MAX)
		return usage_error(verb, "bad %s '%s': expected a file descriptor number", opt,
		                   arg);
	if (fcntl((int)v, F_GETFD) == -1)
		return usage_error(verb, "%s %ld: no such open file descriptor", opt, v);
	*fd = (int)v;
	return 0;
}

/*
 * One line from fd, a byte at a time (so a second line on the same
 * descriptor is left for the next read): up to '\n' or end of file.
 */
static int
read_line(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	char c;

	*len = 0;
	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return HL_ERR_IO;
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= cap) {
			sodium_memzero(&c, sizeof c);
			return HL_ERR_LIMIT;
		}
		buf[n++] = c;
	}
	sodium_memzero(&c, sizeof c);
	buf[n] = '\0';
	*len = n;
	return HL_OK;
}

/* The terminal as it was before echo went off, for a signal that ends us at the prompt. */
static struct termios saved_tty;
static const int prompt_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};

static void
restore_tty(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty); /* async-signal-safe */
	raise(sig);                                     /* SA_RESETHAND: now the default action */
}

/* Ask on the terminal (stdin) with echo off; the answer into buf. */
static int
ask(const char *prompt, char *buf, size_t cap, size_t *len)
{
	struct sigaction sa = {.sa_handler = restore_tty, .sa_flags = (int)SA_RESETHAND},
	                 prev[ARRAY_SIZE(prompt_signals)];
	struct termios quiet;
	bool restore;
	int rc;

	fputs(prompt, stderr);
	fflush(stderr);
	restore = tcgetattr(STDIN_FILENO, &saved_tty) == 0;
	if (restore) {
		/* Ctrl-C at the prompt must not leave the operator's terminal without echo. */
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < ARRAY_SIZE(prompt_signals); i++)
			sigaction(prompt_signals[i], &sa, &prev[i]);
		quiet = saved_tty;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	rc = read_line(STDIN_FILENO, buf, cap, len);
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		for (size_t i = 0; i < ARRAY_SIZE(prompt_signals); i++)
			sigaction(prompt_signals[i], &prev[i], NULL);
	}
	return rc;
}

int
pass_read(int fd, const char *what, bool confirm, struct hl_pass *p)
{
	char prompt[HL_PATH_MAX + 64], *again = NULL;
	size_t againlen = 0;
	int rc;

	p->len = 0;
	if (!(p->buf = sodium_malloc(HL_PASS_MAX + 1)))
		return fail("out of memory for the passphrase");
	if (fd >= 0) {
		rc = read_line(fd, p->buf, HL_PASS_MAX + 1, &p->len);
		if (rc == HL_ERR_LIMIT) {
			pass_free(p);
			return fail("the %s is longer than %d bytes", what, HL_PASS_MAX);
		}
		if (rc < 0) {
			int e = errno;
			pass_free(p);
			return fail("cannot read the %s from descriptor %d: %s", what, fd,
			            strerror(e));
		}
		return 0;
	}
	if (!isatty(STDIN_FILENO)) {
		pass_free(p);
		return fail("no terminal to ask for the %s on", what);
	}
	snprintf(prompt, sizeof prompt, "%s: ", what);
	rc = ask(prompt, p->buf, HL_PASS_MAX + 1, &p->len);
	if (rc == HL_OK && confirm) {
		if (!(again = sodium_malloc(HL_PASS_MAX + 1))) {
			rc = HL_ERR_NOMEM;
		} else {
			snprintf(prompt, sizeof prompt, "%s (again): ", what);
			rc = ask(prompt, again, HL_PASS_MAX + 1, &againlen);
			if (rc == HL_OK &&
			    (againlen != p->len || sodium_memcmp(again, p->buf, p->len) != 0))
				rc = HL_ERR_INVAL;
			sodium_free(again);
		}
	}
	if (rc < 0) {
		pass_free(p);
		if (rc == HL_ERR_INVAL)
			return fail("the two %ss differ: nothing changed", what);
		if (rc == HL_ERR_LIMIT)
			return fail("the %s is longer than %d bytes", what, HL_PASS_MAX);
		return fail("cannot read the %s from the terminal", what);
	}
	return 0;
}

/* A new passphrase must protect something. */
static int
check_new(struct hl_pass *p)
{
	if (p->len > 0)
		return 0;
	pass_free(p);
	return fail("an empty passphrase protects nothing: give a real one (or, for 'key "
	            "passphrase', --remove to store the key in clear)");
}

int
pass_new(int fd, struct hl_pass *p)
{
	int rc = pass_read(fd, "new passphrase", true, p);

	return rc ? rc : check_new(p);
}

/* ---- key ---- */

const char key_help[] =
    "usage: hotline -d DIR key passphrase [--passphrase-fd N]\n"
    "                                     [--new-passphrase-fd M | --remove]\n"
    "\n"
    "Add, change or remove the passphrase that protects DIR/identity.key. The\n"
    "keys stay the same (peers notice nothing); only the file is rewritten\n"
    "(identity.key.tmp with mode 0600, fsync, rename). A running daemon keeps\n"
    "the keys it unlocked at start; the new passphrase counts from its next start.\n"
    "\n"
    "  --passphrase-fd N      read the current passphrase from descriptor N (one\n"
    "                         line, or up to end of file); without it, it is asked\n"
    "                         on the terminal when the key is protected\n"
    "  --new-passphrase-fd M  read the new passphrase from descriptor M; without\n"
    "                         it, it is asked twice on the terminal. M may be N:\n"
    "                         then the first line is the current passphrase and\n"
    "                         the second the new one\n"
    "  --remove               store the key in clear again, with no passphrase\n"
    "\n"
    "A passphrase is never taken on the command line itself: ps and the shell's\n"
    "history would show it.\n";

static int
key_passphrase(int argc, char **argv)
{
	static const struct option opts[] = {{"passphrase-fd", required_argument, NULL, 'p'},
	                                     {"new-passphrase-fd", required_argument, NULL, 'n'},
	                                     {"remove", no_argument, NULL, 'r'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_identity id;
	struct hl_pass old = {0}, neu = {0};
	char path[HL_PATH_MAX], what[HL_PATH_MAX + 32];
	int c, rc, oldfd = -1, newfd = -1;
	bool remove = false;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'p')
			rc = pass_fd_arg("key", "--passphrase-fd", optarg, &oldfd);
		else if (c == 'n')
			rc = pass_fd_arg("key", "--new-passphrase-fd", optarg, &newfd);
		else if (c == 'r')
			rc = (remove = true, 0);
		else
			rc = usage_error("key", "unknown option \'%s\'", argv[optind - 1]);
		if (rc)
			return rc;
	}
	if (optind != argc)
		return usage_error("key", "unexpected argument '%s'", argv[optind]);
	if (remove && newfd >= 0)
		return usage_error("key", "--remove and --new-passphrase-fd exclude each other");
	if (hl_station_path(station_dir, HL_F_IDENTITY, path) < 0)
		return fail("station directory path too long");
	rc = hl_identity_load(&id, path);
	if (rc == HL_OK && id.sealed) {
		hl_identity_free(&id);
		if (oldfd < 0 && !isatty(STDIN_FILENO))
			return fail("the identity key is protected by a passphrase: give it with "
			            "--passphrase-fd N (or run in a terminal)");
		snprintf(what, sizeof what, "passphrase for %s", path);
		if ((rc = pass_read(oldfd, what, false, &old)))
			return rc;
		rc = hl_identity_open(&id, path, old.buf, old.len);
		pass_free(&old);
	} else if (rc == HL_OK && remove) {
		hl_identity_free(&id);
		return fail("%s is not protected by a passphrase: nothing to remove", path);
	}
	if (rc == HL_ERR_KEY_PERMS)
		return fail("%s is readable by others: run 'chmod 600 %s'", path, path);
	if (rc == HL_ERR_KEY_BADPASS)
		return fail("wrong passphrase for %s", path);
	if (rc < 0)
		return fail("cannot load %s: %s", path, hl_strerror(rc));
	if (!remove) {
		if (newfd < 0 && !isatty(STDIN_FILENO)) {
			hl_identity_free(&id);
			return usage_error("key",
			                   "give the new passphrase with --new-passphrase-fd "
			                   "M (or run in a terminal), or --remove");
		}
		if ((rc = pass_new(newfd, &neu))) {
			hl_identity_free(&id);
			return rc;
		}
	}
	rc = hl_identity_write(&id, path, neu.buf, neu.len, false);
	hl_identity_free(&id);
	pass_free(&neu);
	if (rc < 0)
		return fail("cannot write %s: %s (the old file is unchanged)", path,
		            hl_strerror(rc));
	printf("%s is now %s\n", path,
	       remove ? "in clear (no passphrase): keep it safe"
	              : "protected by the new passphrase");
	return 0;
}

int
cmd_key(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return usage_error("key", "key needs a command: passphrase");
	if ((rc = need_dir("key")))
		return rc;
	optind = 0;
	if (strcmp(argv[1], "passphrase") == 0)
		return key_passphrase(argc - 1, argv + 1);
	return usage_error("key", "unknown key command '%s'", argv[1]);
}
