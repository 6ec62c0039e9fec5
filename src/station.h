/* SPDX-License-Identifier: ISC */
/*
 * station.h: a station directory and the daemon that runs it.
 *
 *   DIR/config        name, listen address, tuning      (0600)
 *   DIR/identity.key  secret keys                       (0600, never printed)
 *   DIR/station.db    the store (SQLite, WAL)
 *   DIR/lock          held (flock) by the one running daemon; holds its pid
 *   DIR/ctl.sock      control socket of the running daemon (owner only)
 *   DIR/identity.key.next  the new secret keys while a rotation is under way
 *                          (0600, protected like identity.key; docs/keys.md)
 */
#ifndef HL_STATION_H
#define HL_STATION_H

#include "hl.h"

#define HL_PATH_MAX 4096

enum hl_station_file {
	HL_F_CONFIG,
	HL_F_IDENTITY,
	HL_F_STORE,
	HL_F_LOCK,
	HL_F_CTL,
	HL_F_IDENTITY_NEXT
};

/* The path of one of the station's files; HL_ERR_LIMIT if it does not fit. */
HL_MUST_CHECK int hl_station_path(const char *dir, enum hl_station_file f,
                                  char out[static HL_PATH_MAX]);

/* How `run` was asked to run (docs/cli.md, "run"). */
struct hl_run_opts {
	bool verbose;     /* debug lines, whatever the config's log_level */
	const char *user; /* NULL: the config's user */
	bool allow_root;  /* root without a user to become is refused unless this is set */
};

/*
 * Run the station in the foreground until SIGINT or SIGTERM (SIGHUP re-reads
 * the peers). Returns HL_OK after a clean stop; on a start-up failure writes
 * a one-line reason for the operator into err. pass (passlen bytes, or
 * NULL) unlocks a passphrase-protected identity key; it is wiped as soon as
 * the key is loaded. Order (docs/operations.md, "Sandbox"): config, who to
 * run as, the lock, the notify hook's helper, the keys, the listener, the
 * drop from root, the store, the network, the control socket, the seccomp
 * filter.
 */
HL_MUST_CHECK int hl_station_run(const char *dir, char *pass, size_t passlen,
                                 const struct hl_run_opts *opts, char *err, size_t errcap);

#endif
