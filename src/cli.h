/* SPDX-License-Identifier: ISC */
/* cli.h: what the command line's files share (hotline.c, cli_msg.c). */
#ifndef HL_CLI_H
#define HL_CLI_H

#include "hl.h"
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
/* Tell a running daemon (true if one answered ok); quiet when none runs. */
bool notify_daemon(const char *cmd);

int cmd_channel(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_outbox(int argc, char **argv);
int cmd_inbox(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_ack(int argc, char **argv);
extern const char channel_help[], send_help[], outbox_help[], inbox_help[], show_help[], ack_help[];

#endif
