/* SPDX-License-Identifier: ISC */
/* cli.h: what the command line's files share (hotline.c, cli_msg.c). */
#ifndef HL_CLI_H
#define HL_CLI_H

#include "hl.h"
#include <jansson.h>

#include "config.h"
#include "store.h"

#define EXIT_USAGE 2

extern const char *station_dir;

/* "hotline: ...", exit status 1. */
int fail(const char *fmt, ...) HL_PRINTF(1, 2);
/* "hotline: ... (see 'hotline VERB --help')", exit status 2. */
int usage_error(const char *verb, const char *fmt, ...) HL_PRINTF(2, 3);
/* Non-zero (an exit status) when no station directory was given. */
int need_dir(const char *verb);
/* Open the station's store; non-zero (an exit status, message printed) on failure. */
int open_store(struct hl_store **st, bool create);
/*
 * This station's config (when cfg is not NULL) and public keys; no
 * passphrase needed. Non-zero (an exit status, message printed) on failure.
 */
int load_self(struct hl_config *cfg, struct hl_pubkey *pub);
/* Tell a running daemon (true if one answered ok); quiet when none runs. */
bool notify_daemon(const char *cmd);

/*
 * Queue our event ev to peer `to` exactly once, whatever happens to the
 * daemon meanwhile, and print nothing on success (id receives its id).
 * While a daemon runs it does the write (it is then the only writer, and a
 * FLASH event joins its next commit). If the answer is lost (the daemon was
 * killed mid-request), the same token is sent again, to the daemon if it
 * still runs or straight to the store under the station lock if not: the
 * store keeps one event per token, so the retry can never make a second.
 * Returns an exit status; on failure the operator was told why.
 */
int queue_event(struct hl_store *st, int64_t peer_id, struct hl_event *ev, const char *to,
                char id[static HL_MSGID_LEN + 1]);
/*
 * The station's lock, shared, if no daemon holds it (fd >= 0, release
 * with close): while it is held no daemon starts, so the CLI may write the
 * store itself. -1 while a daemon runs.
 */
int try_station_lock(void);
/* Print v as indented JSON and release it. */
void print_json(json_t *v);

int cmd_channel(int argc, char **argv);
int cmd_suspend(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_outbox(int argc, char **argv);
int cmd_inbox(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_ack(int argc, char **argv);
int cmd_transcript(int argc, char **argv);
int cmd_codebook(int argc, char **argv);
extern const char codebook_help[];
extern const char suspend_help[], resume_help[], checkpoint_help[];
extern const char channel_help[], send_help[], outbox_help[], inbox_help[], show_help[], ack_help[];
extern const char transcript_help[];
int cmd_verify(int argc, char **argv);
extern const char verify_help[];
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
extern const char backup_help[], restore_help[];
int cmd_key(int argc, char **argv);
extern const char key_help[];
int cmd_talks(int argc, char **argv);
extern const char talks_help[];
int cmd_operator(int argc, char **argv);
extern const char operator_help[];

/* A passphrase in sodium_malloc'd memory (guard pages, locked); pass_free wipes it. */
struct hl_pass {
	char *buf; /* NUL-terminated; NULL when none */
	size_t len;
};
/*
 * N of an option such as --passphrase-fd N: an open descriptor. Returns an
 * exit status (0: ok; the usage error is printed).
 */
int pass_fd_arg(const char *verb, const char *opt, const char *arg, int *fd);
/*
 * Read one passphrase (what names it in prompts and errors): from fd when
 * fd >= 0 (one line: up to a newline, which is dropped, or end of file),
 * else from the terminal on stdin with echo off, asked twice with confirm.
 * Returns an exit status; on failure p holds nothing and the reason was printed.
 */
int pass_read(int fd, const char *what, bool confirm, struct hl_pass *p);
/* pass_read for a new passphrase: asked twice on a terminal; empty is refused. */
int pass_new(int fd, struct hl_pass *p);
void pass_free(struct hl_pass *p);

#endif
