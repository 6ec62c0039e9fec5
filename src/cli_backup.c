/* SPDX-License-Identifier: ISC */
/*
 * cli_backup.c: `hotline backup FILE` and `hotline restore FILE`
 * (docs/cli.md; docs/operations.md, "Backups"). The backup runs beside a
 * daemon (a WAL reader); a restore takes the station's lock exclusively,
 * so it refuses while a daemon runs and excludes CLI writers meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli.h"
#include "keys.h"
#include "station.h"
#include "storecheck.h"

const char backup_help[] =
    "usage: hotline -d DIR backup FILE [--force] [--json]\n"
    "\n"
    "Write a consistent copy of the station's store (DIR/station.db) to FILE,\n"
    "whether or not the daemon runs: the copy is the store as it was at one\n"
    "instant, and the daemon keeps writing meanwhile. FILE is written whole or\n"
    "not at all (FILE.tmp, fsync, rename), then checked (integrity_check).\n"
    "The keys and config are not in it: back up DIR/identity.key and\n"
    "DIR/config once, apart.\n"
    "\n"
    "  --force  replace FILE if it exists (refused otherwise)\n"
    "  --json   print what was copied as JSON\n"
    "\n"
    "Exit 0: written and whole. Exit 1: FILE exists, no store, the copy failed\n"
    "or is damaged (nothing is left at FILE).\n";

const char restore_help[] =
    "usage: hotline -d DIR restore FILE [--force]\n"
    "\n"
    "Put the backup FILE in place of the station's store, then open it (an\n"
    "older schema is migrated). The daemon must be stopped. FILE must be a\n"
    "hotline store whose schema this hotline knows. The store in place is not\n"
    "replaced when it is newer than the backup: it holds more events, or an\n"
    "event stored later than the backup's newest (this station's clock).\n"
    "\n"
    "  --force  replace the store in place even if it is newer or unreadable\n"
    "\n"
    "Exit 0: restored. Exit 1: a daemon runs, FILE is not a usable backup,\n"
    "or the store in place is newer (nothing was changed).\n";

const char check_help[] =
    "usage: hotline -d DIR check [--full] [--json]\n"
    "\n"
    "Check the store as the daemon does before it runs (docs/reliability.md):\n"
    "its write-ahead log (committed transactions SQLite would drop), every page\n"
    "and its checksum (SQLite's quick_check), and the record with each peer\n"
    "(every event's hash, the chains' links, every signature). With a daemon\n"
    "running, the log is live and is not checked. Prints what was checked and\n"
    "how long each step took, then 'check: OK' or 'check: DAMAGED: ...'.\n"
    "\n"
    "  --full   SQLite's integrity_check instead of quick_check: also every\n"
    "           index against its table (about five times the CPU)\n"
    "  --json   one JSON object\n"
    "\n"
    "Exit 0: the store is whole. Exit 1: it is damaged (restore a backup), or it\n"
    "cannot be read.\n";

int
cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"full", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	struct hl_store_check chk;
	struct hl_pubkey pub;
	char path[HL_PATH_MAX], err[1024] = "";
	bool json = false, live;
	unsigned flags = 0;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'j')
			json = true;
		else if (ch == 'f')
			flags |= HL_CHECK_FULL;
		else
			return usage_error("check", "unknown option '%s'", argv[optind - 1]);
	}
	if (argc != optind)
		return usage_error("check", "check takes no argument");
	if ((rc = need_dir("check")) || (rc = load_self(NULL, &pub)))
		return rc;
	if (hl_station_path(station_dir, HL_F_STORE, path) < 0)
		return fail("station directory path too long");
	if (access(path, F_OK) != 0)
		return fail("%s is not a station (no station.db)", station_dir);
	live = daemon_holds_lock();
	rc = live ? hl_store_check_live(path, pub.ed25519, flags, &chk, err, sizeof err)
	          : hl_store_check(path, pub.ed25519, flags, &chk, err, sizeof err);
	const char *pragma = flags & HL_CHECK_FULL ? "integrity_check" : "quick_check";
	if (json) {
		char key[32];
		snprintf(key, sizeof key, "%s_ms", pragma);
		print_json(
		    json_pack("{s:b, s:s?, s:b, s:b, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I}", "ok",
		              rc == HL_OK, "damage", rc < 0 ? err : NULL, "full",
		              (flags & HL_CHECK_FULL) != 0, "wal_checked", !live, "wal_frames",
		              (json_int_t)chk.wal_frames, "pages", (json_int_t)chk.pages, "events",
		              (json_int_t)chk.events, "page_checksums", chk.sums, "lacking",
		              (json_int_t)chk.lacking, "wal_ms", (json_int_t)chk.wal_ms, key,
		              (json_int_t)chk.quick_ms, "verify_ms", (json_int_t)chk.verify_ms));
		return rc == HL_OK ? 0 : 1;
	}
	if (live)
		printf("wal: not checked (a daemon runs: it checked it when it started)\n");
	else
		printf("wal: %llu frames checked (%llu ms)\n", (unsigned long long)chk.wal_frames,
		       (unsigned long long)chk.wal_ms);
	if (rc == HL_OK || chk.pages) {
		printf("pages: %llu, %s (%s, %llu ms)\n", (unsigned long long)chk.pages,
		       chk.sums ? "each with its checksum"
		                : "without checksums (the daemon adds them)",
		       pragma, (unsigned long long)chk.quick_ms);
	}
	if (rc == HL_OK) {
		printf("record: %llu events verified (%llu ms)", (unsigned long long)chk.events,
		       (unsigned long long)chk.verify_ms);
		if (chk.lacking)
			printf("; %llu events the peer vouched for are not here yet (it sends them "
			       "again at the next link-up)",
			       (unsigned long long)chk.lacking);
		printf("\ncheck: OK\n");
		return 0;
	}
	printf("check: %s: %s\n", rc == HL_ERR_CORRUPT ? "DAMAGED" : "FAILED", err);
	return 1;
}

static void
describe(const struct hl_store_info *in, char *out, size_t cap)
{
	char at[32];

	hl_iso_time(in->newest_ns, at);
	snprintf(out, cap, "%llu bytes, schema %d, %llu peers, %llu events (the newest stored %s)",
	         (unsigned long long)in->bytes, in->schema, (unsigned long long)in->peers,
	         (unsigned long long)in->events, in->newest_ns ? at : "never");
}

static int
parse(const char *verb, int argc, char **argv, bool *force, bool *json, const char **file)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {NULL, 0, NULL, 0}};
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'f')
			*force = true;
		else if (ch == 'j' && json)
			*json = true;
		else
			return usage_error(verb, "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return usage_error(verb, "%s needs FILE", verb);
	*file = argv[optind];
	return need_dir(verb);
}

int
cmd_backup(int argc, char **argv)
{
	struct hl_store_info info;
	char path[HL_PATH_MAX], err[1024] = "", what[256];
	const char *file = NULL;
	bool force = false, json = false;
	int rc;

	if ((rc = parse("backup", argc, argv, &force, &json, &file)))
		return rc;
	if (hl_station_path(station_dir, HL_F_STORE, path) < 0)
		return fail("station directory path too long");
	if (access(path, F_OK) != 0)
		return fail("%s is not a station (no station.db)", station_dir);
	/* No daemon checked the store: a damaged WAL would make a backup of what is left. */
	if (!daemon_holds_lock() && hl_store_check_wal(path, err, sizeof err) < 0)
		return fail("backup: the store is damaged: %s", err);
	if (hl_store_backup(path, file, force, &info, err, sizeof err) < 0)
		return fail("backup: %s", err);
	if (json) {
		char at[32];
		hl_iso_time(info.newest_ns, at);
		print_json(json_pack("{s:s, s:I, s:i, s:I, s:I, s:s?, s:s}", "file", file, "bytes",
		                     (json_int_t)info.bytes, "schema", info.schema, "peers",
		                     (json_int_t)info.peers, "events", (json_int_t)info.events,
		                     "newest", info.newest_ns ? at : NULL, "integrity",
		                     info.integrity));
		return 0;
	}
	describe(&info, what, sizeof what);
	printf("backup of %s written to %s: %s; integrity_check %s\n", path, file, what,
	       info.integrity);
	return 0;
}

/* The station's lock, exclusively: -1 while a daemon (or, a moment, a CLI writer) holds it. */
static int
lock_station(void)
{
	char path[HL_PATH_MAX];
	int fd;

	if (hl_station_path(station_dir, HL_F_LOCK, path) < 0 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	/* A CLI writer holds it shared for a moment; a daemon for as long as it runs. */
	for (int i = 0; i < 25 && flock(fd, LOCK_EX | LOCK_NB) != 0; i++)
		usleep(20000);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
cmd_restore(int argc, char **argv)
{
	struct hl_store_info bk, cur;
	struct hl_store *st = NULL;
	char path[HL_PATH_MAX], err[1024] = "", what[256];
	const char *file = NULL;
	bool force = false;
	int rc, fd;

	if ((rc = parse("restore", argc, argv, &force, NULL, &file)))
		return rc;
	if (hl_station_path(station_dir, HL_F_IDENTITY, path) < 0)
		return fail("station directory path too long");
	if (access(path, F_OK) != 0)
		return fail("%s is not a station directory (no identity.key): restore into a "
		            "copy of the station's directory",
		            station_dir);
	if ((fd = lock_station()) < 0)
		return fail("a hotline daemon is running on %s: stop the daemon first",
		            station_dir);
	if (hl_station_path(station_dir, HL_F_STORE, path) < 0) {
		close(fd);
		return fail("station directory path too long");
	}
	rc = hl_store_restore(file, path, force, &bk, &cur, err, sizeof err);
	if (rc < 0) {
		close(fd);
		return fail("restore: %s", err);
	}
	/* Open it as every command does: WAL on, an older schema migrated. */
	rc = open_store(&st, false);
	hl_store_close(st);
	close(fd);
	if (rc)
		return rc;
	describe(&bk, what, sizeof what);
	printf("restored %s into %s: %s", file, path, what);
	if (bk.schema < HL_STORE_SCHEMA)
		printf("; migrated to schema %d", HL_STORE_SCHEMA);
	if (strcmp(cur.integrity, "ok") == 0)
		printf("; it replaced a store of %llu events", (unsigned long long)cur.events);
	printf("\n");
	return 0;
}
