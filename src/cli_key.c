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
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>
#include <sodium.h>

#include "ctl.h"
#include "keys.h"
#include "station.h"
#include "cli.h"

/* Wipe a JSON string in place (a secret a request carried). */
static void
wipe_json_string(json_t *v)
{
	if (json_is_string(v))
		sodium_memzero((char *)(uintptr_t)json_string_value(v), json_string_length(v));
}

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
    "       hotline -d DIR key rotate --operator NAME [--passphrase-fd N]\n"
    "\n"
    "key passphrase: add, change or remove the passphrase that protects\n"
    "DIR/identity.key (and DIR/identity.key.next while a rotation is under way).\n"
    "The keys stay the same (peers notice nothing); only the file is rewritten\n"
    "(identity.key.tmp with mode 0600, fsync, rename). A running daemon keeps\n"
    "the keys it unlocked at start; the new passphrase counts from its next start.\n"
    "\n"
    "key rotate: make new identity keys and announce them to every peer in a\n"
    "notice signed by the current key (a KEY event: FLASH, exactly once,\n"
    "receipted). The new keys wait in DIR/identity.key.next, protected by the\n"
    "same passphrase; the station keeps using the current ones until every peer\n"
    "(but revoked ones) has receipted the notice, then switches by itself: the\n"
    "old secret is deleted, every session is made again with the new keys, and\n"
    "peers refuse the old key from then on. 'hotline status' shows the progress.\n"
    "Works with the daemon stopped too (the switch waits for it). docs/keys.md.\n"
    "\n"
    "  --operator NAME        who rotated (required; in the record)\n"
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

/*
 * Key commands exclude each other (two rotations racing would leave
 * identity.key.next holding the loser's key): an exclusive flock on the
 * station directory itself, which nothing else locks. -1: printed why.
 */
static int
key_lock(void)
{
	int fd = open(station_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		fail("cannot open %s: %s", station_dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fail("another 'hotline key' command is running on %s: try again when it is done",
		     station_dir);
		close(fd);
		return -1;
	}
	return fd;
}

static int
key_passphrase(int argc, char **argv)
{
	static const struct option opts[] = {{"passphrase-fd", required_argument, NULL, 'p'},
	                                     {"new-passphrase-fd", required_argument, NULL, 'n'},
	                                     {"remove", no_argument, NULL, 'r'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_identity id = {0}, next = {0};
	struct hl_pass old = {0}, neu = {0};
	char path[HL_PATH_MAX], next_path[HL_PATH_MAX], what[HL_PATH_MAX + 32];
	int c, rc, oldfd = -1, newfd = -1, lockfd = -1;
	bool remove = false, has_next;

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
	if (hl_station_path(station_dir, HL_F_IDENTITY, path) < 0 ||
	    hl_station_path(station_dir, HL_F_IDENTITY_NEXT, next_path) < 0)
		return fail("station directory path too long");
	if ((lockfd = key_lock()) < 0)
		return EXIT_FAILURE;
	rc = hl_identity_load(&id, path);
	if (rc == HL_OK && id.sealed) {
		hl_identity_free(&id);
		if (oldfd < 0 && !isatty(STDIN_FILENO)) {
			rc = fail("the identity key is protected by a passphrase: give it with "
			          "--passphrase-fd N (or run in a terminal)");
			goto out;
		}
		snprintf(what, sizeof what, "passphrase for %s", path);
		if ((rc = pass_read(oldfd, what, false, &old)))
			goto out;
		rc = hl_identity_open(&id, path, old.buf, old.len);
	} else if (rc == HL_OK && remove) {
		rc = fail("%s is not protected by a passphrase: nothing to remove", path);
		goto out;
	} else if (rc == HL_OK) {
		hl_identity_free(&id);
		rc = hl_identity_open(&id, path, NULL, 0);
	}
	if (rc == HL_ERR_KEY_PERMS)
		rc = fail("%s is readable by others: run 'chmod 600 %s'", path, path);
	else if (rc == HL_ERR_KEY_BADPASS)
		rc = fail("wrong passphrase for %s", path);
	else if (rc < 0)
		rc = fail("cannot load %s: %s", path, hl_strerror(rc));
	if (rc)
		goto out;
	/* A rotation under way: its new keys share the passphrase (docs/keys.md). */
	has_next = access(next_path, F_OK) == 0;
	if (has_next && (rc = hl_identity_open(&next, next_path, old.buf, old.len)) < 0) {
		rc = fail("cannot open %s with the same passphrase: %s (nothing was changed)",
		          next_path, hl_strerror(rc));
		goto out;
	}
	if (!remove) {
		if (newfd < 0 && !isatty(STDIN_FILENO)) {
			rc = usage_error("key", "give the new passphrase with --new-passphrase-fd "
			                        "M (or run in a terminal), or --remove");
			goto out;
		}
		if ((rc = pass_new(newfd, &neu)))
			goto out;
	}
	if (has_next && (rc = hl_identity_write(&next, next_path, neu.buf, neu.len, false)) < 0) {
		rc = fail("cannot write %s: %s (nothing was changed)", next_path, hl_strerror(rc));
		goto out;
	}
	if ((rc = hl_identity_write(&id, path, neu.buf, neu.len, false)) < 0) {
		rc =
		    fail("cannot write %s: %s (the old file is unchanged%s)", path, hl_strerror(rc),
		         has_next ? ", but identity.key.next has the new passphrase: run this "
		                    "command again with the new passphrase as the current one"
		                  : "");
		goto out;
	}
	printf("%s is now %s\n", path,
	       remove ? "in clear (no passphrase): keep it safe"
	              : "protected by the new passphrase");
	if (has_next)
		printf("%s (the rotation under way) too\n", next_path);
	rc = 0;
out:
	hl_identity_free(&id);
	hl_identity_free(&next);
	pass_free(&old);
	pass_free(&neu);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

/* ---- key rotate ---- */

/* identity.key, with its secrets: the passphrase asked or read when it is protected. */
static int
open_identity(const char *path, int passfd, struct hl_identity *id, struct hl_pass *pass)
{
	char what[HL_PATH_MAX + 32];
	int rc = hl_identity_load(id, path);

	if (rc == HL_OK && id->sealed) {
		hl_identity_free(id);
		if (passfd < 0 && !isatty(STDIN_FILENO))
			return fail("the identity key is protected by a passphrase: give it with "
			            "--passphrase-fd N (or run in a terminal)");
		snprintf(what, sizeof what, "passphrase for %s", path);
		if ((rc = pass_read(passfd, what, false, pass)))
			return rc;
		rc = hl_identity_open(id, path, pass->buf, pass->len);
	} else if (rc == HL_OK) {
		hl_identity_free(id);
		rc = hl_identity_open(id, path, NULL, 0);
	}
	if (rc == HL_ERR_KEY_PERMS)
		rc = fail("%s is readable by others: run 'chmod 600 %s'", path, path);
	else if (rc == HL_ERR_KEY_BADPASS)
		rc = fail("wrong passphrase for %s", path);
	else if (rc < 0)
		rc = fail("cannot load %s: %s", path, hl_strerror(rc));
	if (rc)
		pass_free(pass);
	return rc;
}

/*
 * Record the rotation: through the running daemon, which takes the new
 * secrets, or straight into the store under the station's lock when none
 * runs. A retry after a lost answer finds the same statement: no second
 * rotation. Returns an exit status; *npeers the peers it goes to.
 */
static int
record_rotation(struct hl_store *st, const uint8_t *stmt, size_t slen,
                const struct hl_identity *next, const char *op, size_t *npeers)
{
	char path[HL_PATH_MAX],
	    s64[sodium_base64_ENCODED_LEN(HL_ROTATION_MAX, sodium_base64_VARIANT_ORIGINAL)];
	char k64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t raw[64];
	uint64_t deadline = hl_now_ms() + 30000;
	bool existed = false;
	int rc = HL_ERR_AGAIN;

	*npeers = 0;
	if (hl_station_path(station_dir, HL_F_CTL, path) < 0 || hl_identity_raw(next, raw) < 0)
		return fail("station directory path too long");
	sodium_bin2base64(s64, sizeof s64, stmt, slen, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(k64, sizeof k64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(raw, sizeof raw);
	while (hl_now_ms() < deadline) {
		json_t *req, *resp = NULL;
		int lockfd = try_station_lock();
		if (lockfd >= 0) { /* no daemon: write it ourselves */
			rc = hl_store_begin(st);
			if (rc == HL_OK && (rc = hl_store_rotation_start(st, stmt, slen, op,
			                                                 &existed, npeers)) < 0)
				hl_store_rollback(st);
			else if (rc == HL_OK)
				rc = hl_store_commit(st);
			close(lockfd);
			break;
		}
		req = json_pack("{s:s, s:s, s:s, s:s}", "cmd", "rotate", "statement", s64, "secret",
		                k64, "operator", op);
		rc = hl_ctl_call(path, req, &resp, 10000);
		wipe_json_string(json_object_get(req, "secret"));
		json_decref(req);
		if (rc == HL_OK) {
			const char *code = json_string_value(json_object_get(resp, "code"));
			const char *e = json_string_value(json_object_get(resp, "error"));
			if (json_is_true(json_object_get(resp, "ok"))) {
				*npeers =
				    (size_t)json_integer_value(json_object_get(resp, "peers"));
			} else {
				rc = code && strcmp(code, "busy") == 0 ? HL_ERR_BUSY : HL_ERR_INVAL;
				fail("the daemon refused the rotation: %s", e ? e : "?");
			}
			json_decref(resp);
			sodium_memzero(k64, sizeof k64);
			return rc == HL_OK ? 0 : EXIT_FAILURE;
		}
		usleep(100000); /* the daemon is starting or stopping: ask again */
	}
	sodium_memzero(k64, sizeof k64);
	if (rc == HL_ERR_BUSY)
		return fail("a key rotation is already under way: see 'hotline status'");
	if (rc == HL_ERR_FULL)
		return fail("the disk is full: the rotation was NOT recorded");
	if (rc < 0)
		return fail("the rotation was NOT recorded (%s): try again", hl_strerror(rc));
	(void)existed;
	return 0;
}

static int
key_rotate(int argc, char **argv)
{
	static const struct option opts[] = {{"passphrase-fd", required_argument, NULL, 'p'},
	                                     {"operator", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_identity id = {0}, next = {0};
	struct hl_rotation_rec pending;
	struct hl_rotation r = {0};
	struct hl_config cfg;
	struct hl_pass pass = {0};
	struct hl_store *st = NULL;
	uint8_t stmt[HL_ROTATION_MAX];
	char path[HL_PATH_MAX], next_path[HL_PATH_MAX], err[512], pk[HL_PUBSTR_MAX], at[32];
	const char *op = NULL;
	size_t slen = 0, npeers = 0;
	bool found = false;
	int c, rc, passfd = -1, lockfd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'p')
			rc = pass_fd_arg("key", "--passphrase-fd", optarg, &passfd);
		else if (c == 'o')
			rc = (op = optarg, 0);
		else
			rc = usage_error("key", "unknown option \'%s\'", argv[optind - 1]);
		if (rc)
			return rc;
	}
	if (optind != argc)
		return usage_error("key", "unexpected argument '%s'", argv[optind]);
	if (!op || !*op || strlen(op) > HL_OPERATOR_MAX || !hl_field_valid(op, strlen(op)))
		return usage_error("key", "--operator NAME is required: one line, at most %d bytes",
		                   HL_OPERATOR_MAX);
	if (hl_config_load(&cfg, station_dir, err, sizeof err) < 0)
		return fail("%s", err);
	if (hl_station_path(station_dir, HL_F_IDENTITY, path) < 0 ||
	    hl_station_path(station_dir, HL_F_IDENTITY_NEXT, next_path) < 0)
		return fail("station directory path too long");
	if ((lockfd = key_lock()) < 0)
		return EXIT_FAILURE;
	if ((rc = open_store(&st, false))) {
		close(lockfd);
		return rc;
	}
	if ((rc = hl_store_rotation_pending(st, &pending, &found)) < 0) {
		hl_store_close(st);
		close(lockfd);
		return fail("cannot read the store: %s", hl_strerror(rc));
	}
	if (found) {
		hl_iso_time(pending.started_ns, at);
		hl_store_close(st);
		close(lockfd);
		return fail("a key rotation is already under way (started %s by %s): the station "
		            "switches once every peer has receipted it; see 'hotline status'",
		            at, pending.operator_name);
	}
	if ((rc = open_identity(path, passfd, &id, &pass))) {
		hl_store_close(st);
		close(lockfd);
		return rc;
	}
	rc = hl_identity_generate(&next);
	if (rc == HL_OK) /* under the same passphrase as identity.key, or in clear like it */
		rc = hl_identity_write(&next, next_path, pass.buf, pass.len, false);
	pass_free(&pass);
	if (rc < 0) {
		rc = fail("cannot write %s: %s (nothing was changed)", next_path, hl_strerror(rc));
		goto out;
	}
	snprintf(r.station, sizeof r.station, "%s", cfg.name);
	memcpy(r.old_x25519, id.pub.x25519, 32);
	memcpy(r.old_ed25519, id.pub.ed25519, 32);
	memcpy(r.new_x25519, next.pub.x25519, 32);
	memcpy(r.new_ed25519, next.pub.ed25519, 32);
	r.at_ns = hl_wall_ns();
	if (hl_rotation_encode(&r, id.ed25519_sk, stmt, sizeof stmt, &slen) < 0) {
		rc = fail("cannot sign the rotation statement");
		goto out;
	}
	if ((rc = record_rotation(st, stmt, slen, &next, op, &npeers)))
		goto out;
	notify_daemon("poke");
	hl_pubkey_encode(&next.pub, pk);
	printf("new key %s %s\n", cfg.name, pk);
	printf("announced to %zu peer%s; this station switches to it once every peer has "
	       "receipted the notice ('hotline status' shows who has)\n",
	       npeers, npeers == 1 ? "" : "s");
out:
	hl_identity_free(&next);
	hl_identity_free(&id);
	hl_store_close(st);
	close(lockfd);
	return rc;
}

int
cmd_key(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return usage_error("key", "key needs a command: passphrase or rotate");
	if ((rc = need_dir("key")))
		return rc;
	optind = 0;
	if (strcmp(argv[1], "passphrase") == 0)
		return key_passphrase(argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return key_rotate(argc - 1, argv + 1);
	return usage_error("key", "unknown key command '%s'", argv[1]);
}
