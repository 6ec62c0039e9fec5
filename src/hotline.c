/* SPDX-License-Identifier: ISC */
/*
 * hotline.c: the command line. One function per verb, a table to find it,
 * as in wg(8). Every failure prints one line, "hotline: what went wrong:
 * what to do", and exits non-zero (1 for a failure, 2 for a usage error).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "chanstate.h"
#include "codebook.h"
#include "config.h"
#include "ctl.h"
#include "keys.h"
#include "pagesum.h"
#include "storecheck.h"
#include "log.h"
#include "station.h"
#include "store.h"
#include "util.h"
#include "cli.h"

const char *station_dir;

int
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("hotline: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

int
usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fputs("hotline: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'hotline %s --help')\n", verb);
	return EXIT_USAGE;
}

/* Did the user ask for help? Checked before any other parsing. */
static bool
wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

int
need_dir(const char *verb)
{
	if (!station_dir || !*station_dir)
		return usage_error(verb, "no station directory: give -d DIR or set HOTLINE_DIR");
	return 0;
}

bool
daemon_holds_lock(void)
{
	char path[HL_PATH_MAX];
	bool held = false;
	int fd;

	if (hl_station_path(station_dir, HL_F_LOCK, path) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	/* A CLI writer holds it shared for a moment: only an exclusive holder refuses ours. */
	held = flock(fd, LOCK_SH | LOCK_NB) != 0;
	close(fd);
	return held;
}

int
open_store(struct hl_store **st, bool create)
{
	char path[HL_PATH_MAX], err[512] = "";
	struct stat sb;

	if (hl_station_path(station_dir, HL_F_STORE, path) < 0)
		return fail("station directory path too long");
	if (!create && stat(path, &sb) != 0)
		return fail("%s is not a station (no station.db): create one with 'hotline -d %s "
		            "init'",
		            station_dir, station_dir);
	/*
	 * With no daemon running, nobody has checked the WAL since the last
	 * stop: check it before SQLite recovers it (storecheck.h), so that a
	 * damaged one is named, never silently cut short and written over.
	 */
	if (!create && !daemon_holds_lock() && hl_store_check_wal(path, err, sizeof err) < 0)
		return fail("the store is damaged: %s. Restore the latest backup (hotline -d %s "
		            "restore --force FILE); the peer sends back what it lacks "
		            "(docs/reliability.md)",
		            err, station_dir);
	if (hl_store_open(path, create, st, err, sizeof err) < 0)
		return fail("%s", err);
	return 0;
}

/* Tell a running daemon that the store changed; quiet when none runs. */
bool
notify_daemon(const char *cmd)
{
	char path[HL_PATH_MAX];
	json_t *req, *resp = NULL;
	bool ok = false;

	if (hl_station_path(station_dir, HL_F_CTL, path) < 0)
		return false;
	req = json_pack("{s:s}", "cmd", cmd);
	ok = hl_ctl_call(path, req, &resp, 5000) == HL_OK &&
	     json_is_true(json_object_get(resp, "ok"));
	json_decref(req);
	json_decref(resp);
	return ok;
}

/* ---- init ---- */

static const char init_help[] =
    "usage: hotline -d DIR init --name NAME --listen HOST:PORT\n"
    "                           [--passphrase-fd N | --passphrase]\n"
    "\n"
    "Create a new station in DIR (made if missing, mode 0700): fresh identity keys\n"
    "(DIR/identity.key, mode 0600, never printed), DIR/config, the store, and the\n"
    "default codebook DIR/codebook.json (0644; an existing one is kept).\n"
    "Refuses to touch a directory that already holds a station.\n"
    "\n"
    "  --name NAME          this station's name: 1-32 of a-z 0-9 _ -, starting with a\n"
    "                       letter or digit, e.g. washington\n"
    "  --listen HOST:PORT   where peers reach this station, e.g. 0.0.0.0:7400\n"
    "  --passphrase-fd N    protect the secret key with a passphrase read from\n"
    "                       descriptor N (one line, or up to end of file)\n"
    "  --passphrase         protect it with a passphrase asked twice on the terminal\n"
    "\n"
    "A protected key (Argon2id, XChaCha20-Poly1305) is unlocked at every 'hotline\n"
    "run'; 'hotline key passphrase' adds, changes or removes the passphrase later.\n";

static int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
	                                     {"listen", required_argument, NULL, 'l'},
	                                     {"passphrase-fd", required_argument, NULL, 'f'},
	                                     {"passphrase", no_argument, NULL, 'p'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_config cfg;
	struct hl_identity id;
	struct hl_store *st = NULL;
	struct hl_pass pass = {0};
	char path[HL_PATH_MAX], text[1024], host[HL_ADDR_MAX], pk[HL_PUBSTR_MAX];
	const char *name = NULL, *listen = NULL;
	bool ask = false;
	uint16_t port;
	int c, rc, passfd = -1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 'l')
			listen = optarg;
		else if (c == 'p')
			ask = true;
		else if (c == 'f') {
			if ((rc = pass_fd_arg("init", "--passphrase-fd", optarg, &passfd)))
				return rc;
		} else
			return usage_error("init", "unknown option \'%s\'", argv[optind - 1]);
	}
	if (ask && passfd >= 0)
		return usage_error("init", "--passphrase and --passphrase-fd exclude each other");
	if (ask && !isatty(STDIN_FILENO))
		return usage_error("init", "--passphrase asks on a terminal, and stdin is not one: "
		                           "use --passphrase-fd N");
	if (optind != argc)
		return usage_error("init", "unexpected argument '%s'", argv[optind]);
	if ((rc = need_dir("init")))
		return rc;
	if (!name || !listen)
		return usage_error("init", "init needs --name and --listen");
	if (!hl_name_valid(name))
		return usage_error("init", "bad name '%s': use 1-32 of a-z 0-9 _ -", name);
	if (hl_addr_split(listen, host, sizeof host, &port, false) < 0)
		return usage_error("init", "bad --listen '%s': expected HOST:PORT", listen);
	if (mkdir(station_dir, 0700) != 0 && errno != EEXIST)
		return fail("cannot create %s: %s", station_dir, strerror(errno));
	for (int f = HL_F_CONFIG; f <= HL_F_STORE; f++) {
		if (hl_station_path(station_dir, (enum hl_station_file)f, path) < 0)
			return fail("station directory path too long");
		if (access(path, F_OK) == 0)
			return fail("%s already holds a station (%s exists): refusing to overwrite "
			            "it",
			            station_dir, path);
	}
	hl_config_defaults(&cfg);
	snprintf(cfg.name, sizeof cfg.name, "%s", name);
	snprintf(cfg.listen, sizeof cfg.listen, "%s", listen);
	if ((ask || passfd >= 0) && (rc = pass_new(passfd, &pass)))
		return rc;
	if (hl_identity_generate(&id) < 0) {
		pass_free(&pass);
		return fail("cannot generate keys");
	}
	rc = hl_station_path(station_dir, HL_F_IDENTITY, path);
	if (rc == HL_OK)
		rc = hl_identity_write(&id, path, pass.buf, pass.len, true);
	hl_pubkey_encode(&id.pub, pk);
	hl_identity_free(&id);
	pass_free(&pass);
	if (rc < 0)
		return fail("cannot write %s: %s", path, hl_strerror(rc));
	if ((rc = open_store(&st, true)))
		return rc;
	hl_store_close(st);
	if (hl_path(path, sizeof path, station_dir, HL_CODEBOOK_FILE) < 0)
		return fail("station directory path too long");
	rc = hl_file_write(path, hl_default_codebook, hl_default_codebook_len, 0644, true);
	if (rc == HL_ERR_EXISTS)
		printf("kept the existing codebook %s\n", path);
	else if (rc < 0)
		return fail("cannot write %s: %s", path, hl_strerror(rc));
	hl_config_format(&cfg, text, sizeof text);
	if (hl_station_path(station_dir, HL_F_CONFIG, path) < 0 ||
	    hl_file_write(path, text, strlen(text), 0600, true) < 0)
		return fail("cannot write %s", path);
	printf("created station %s in %s\n", name, station_dir);
	printf("give this line to the peer's operator, out of band:\n%s %s\n", name, pk);
	return 0;
}

/* ---- id ---- */

static const char id_help[] =
    "usage: hotline -d DIR id\n"
    "\n"
    "Print this station's name and public key on one line, for the peer's operator\n"
    "to pin with 'hotline peer add'. Hand it over out of band (in person, signed\n"
    "letter); the key ends in a checksum, so a mistyped copy is refused.\n";

int
load_self(struct hl_config *cfg, struct hl_pubkey *pub)
{
	struct hl_identity id;
	char path[HL_PATH_MAX], err[512];
	int rc;

	if (cfg && hl_config_load(cfg, station_dir, err, sizeof err) < 0)
		return fail("%s: create a station with 'hotline -d DIR init'", err);
	if (hl_station_path(station_dir, HL_F_IDENTITY, path) < 0)
		return fail("station directory path too long");
	rc = hl_identity_load(&id, path);
	if (rc == HL_ERR_AUTH)
		return fail("%s is readable by others: run 'chmod 600 %s'", path, path);
	if (rc < 0)
		return fail("cannot load %s: %s", path, hl_strerror(rc));
	*pub = id.pub;
	hl_identity_free(&id);
	return 0;
}

/* This station's public key as the hl1: string. */
static int
load_public(struct hl_config *cfg, char pk[static HL_PUBSTR_MAX])
{
	struct hl_pubkey pub;
	int rc = load_self(cfg, &pub);

	if (rc == 0)
		hl_pubkey_encode(&pub, pk);
	return rc;
}

static int
cmd_id(int argc, char **argv)
{
	struct hl_config cfg;
	char pk[HL_PUBSTR_MAX];
	int rc;

	(void)argv;
	if (argc > 1)
		return usage_error("id", "id takes no arguments");
	if ((rc = need_dir("id")) || (rc = load_public(&cfg, pk)))
		return rc;
	printf("%s %s\n", cfg.name, pk);
	return 0;
}

/* ---- peer ---- */

static const char peer_help[] =
    "usage: hotline -d DIR peer add NAME PUBLIC-KEY --link HOST:PORT [--link HOST:PORT ...]\n"
    "       hotline -d DIR peer list [--json]\n"
    "       hotline -d DIR peer remove NAME\n"
    "\n"
    "Pin a peer station by its public key (the line its operator's 'hotline id'\n"
    "printed) and the addresses where it listens, tried in the order given: when\n"
    "the first is unreachable the link comes up over the next. At most 8 links.\n"
    "A running daemon picks the change up at once.\n";

static int
peer_add(int argc, char **argv)
{
	static const struct option opts[] = {{"link", required_argument, NULL, 'l'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_peer_rec p = {0};
	struct hl_store *st;
	char host[HL_ADDR_MAX];
	uint16_t port;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'l')
			return usage_error("peer", "unknown option \'%s\'", argv[optind - 1]);
		if (hl_addr_split(optarg, host, sizeof host, &port, false) < 0)
			return usage_error("peer", "bad --link '%s': expected HOST:PORT", optarg);
		if (p.nlinks == HL_LINKS_MAX)
			return usage_error("peer", "at most %d links per peer", HL_LINKS_MAX);
		for (size_t i = 0; i < p.nlinks; i++)
			if (strcmp(p.links[i], optarg) == 0)
				return usage_error("peer", "link %s given twice", optarg);
		snprintf(p.links[p.nlinks++], HL_ADDR_MAX, "%s", optarg);
	}
	if (argc - optind != 2)
		return usage_error("peer", "peer add needs NAME and PUBLIC-KEY");
	if (!hl_name_valid(argv[optind]))
		return usage_error("peer", "bad name '%s': use 1-32 of a-z 0-9 _ -", argv[optind]);
	if (hl_pubkey_decode(argv[optind + 1], &p.key) < 0)
		return usage_error("peer",
		                   "'%s' is not a hotline public key (hl1:...) or its checksum "
		                   "is wrong: copy it again from the peer's 'hotline id'",
		                   argv[optind + 1]);
	if (p.nlinks == 0)
		return usage_error("peer", "peer add needs at least one --link HOST:PORT");
	snprintf(p.name, sizeof p.name, "%s", argv[optind]);
	p.added_ns = hl_wall_ns();
	{
		struct hl_config cfg;
		char mine[HL_PUBSTR_MAX];
		if ((rc = load_public(&cfg, mine)))
			return rc;
		if (strcmp(mine, argv[optind + 1]) == 0)
			return fail("that is this station's own key: pin the peer's key instead");
	}
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_store_peer_add(st, &p);
	hl_store_close(st);
	if (rc == HL_ERR_EXISTS)
		return fail("a peer named %s or with that key is already pinned: 'hotline peer "
		            "remove' it first",
		            p.name);
	if (rc < 0)
		return fail("cannot store the peer: %s", hl_strerror(rc));
	printf("pinned peer %s with %zu link%s and channel general\n", p.name, p.nlinks,
	       p.nlinks == 1 ? "" : "s");
	if (notify_daemon("reload"))
		fprintf(stderr, "hotline: the running daemon picked up the change\n");
	return 0;
}

static int
peer_list(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	struct hl_peer_rec *peers;
	struct hl_store *st;
	bool json = false;
	size_t n;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return usage_error("peer", "unknown option \'%s\'", argv[optind - 1]);
		json = true;
	}
	if (optind != argc)
		return usage_error("peer", "unexpected argument '%s'", argv[optind]);
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_store_peer_list(st, &peers, &n);
	hl_store_close(st);
	if (rc < 0)
		return fail("cannot read peers: %s", hl_strerror(rc));
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char pk[HL_PUBSTR_MAX];
		hl_pubkey_encode(&peers[i].key, pk);
		if (!json) {
			printf("%s %s", peers[i].name, pk);
			for (size_t k = 0; k < peers[i].nlinks; k++)
				printf(" %s", peers[i].links[k]);
			printf("\n");
			continue;
		}
		json_t *links = json_array();
		for (size_t k = 0; k < peers[i].nlinks; k++)
			json_array_append_new(links, json_string(peers[i].links[k]));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "name", peers[i].name,
		                                     "key", pk, "links", links));
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		printf("%s\n", s);
		free(s);
	}
	json_decref(arr);
	free(peers);
	return 0;
}

static int
peer_remove(int argc, char **argv)
{
	struct hl_store *st;
	int rc;

	if (argc != 2)
		return usage_error("peer", "peer remove needs exactly one NAME");
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_store_peer_remove(st, argv[1]);
	hl_store_close(st);
	if (rc == HL_ERR_NOTFOUND)
		return fail("no peer named %s: see 'hotline peer list'", argv[1]);
	if (rc == HL_ERR_BUSY)
		return fail("peer %s has messages on record, which are never thrown away: it stays "
		            "pinned",
		            argv[1]);
	if (rc < 0)
		return fail("cannot remove the peer: %s", hl_strerror(rc));
	printf("removed peer %s\n", argv[1]);
	if (notify_daemon("reload"))
		fprintf(stderr, "hotline: the running daemon picked up the change\n");
	return 0;
}

static int
cmd_peer(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return usage_error("peer", "peer needs add, list or remove");
	if ((rc = need_dir("peer")))
		return rc;
	optind = 0;
	if (strcmp(argv[1], "add") == 0)
		return peer_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return peer_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return peer_remove(argc - 1, argv + 1);
	return usage_error("peer", "unknown peer command '%s'", argv[1]);
}

/* ---- run ---- */

static const char run_help[] =
    "usage: hotline -d DIR run [--verbose] [--passphrase-fd N]\n"
    "\n"
    "Run the station in the foreground: listen, link to every pinned peer, log one\n"
    "line per event to stderr. SIGINT or SIGTERM stops it cleanly; SIGHUP re-reads\n"
    "the peers. A second daemon on the same directory is refused, and so is a\n"
    "damaged store: it is checked first (see 'hotline check').\n"
    "\n"
    "  --passphrase-fd N   unlock a passphrase-protected identity key with the\n"
    "                      passphrase read from descriptor N (one line, or up to\n"
    "                      end of file; N is closed after). Without it, a\n"
    "                      protected key's passphrase is asked on the terminal.\n";

static int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {{"verbose", no_argument, NULL, 'v'},
	                                     {"passphrase-fd", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_identity id;
	struct hl_pass pass = {0};
	char err[1024] = "", path[HL_PATH_MAX], what[HL_PATH_MAX + 32];
	int c, rc, passfd = -1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'v') {
			log_set_level(LOG_DEBUG);
		} else if (c == 'f') {
			if ((rc = pass_fd_arg("run", "--passphrase-fd", optarg, &passfd)))
				return rc;
		} else {
			return usage_error("run", "unknown option \'%s\'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("run", "unexpected argument '%s'", argv[optind]);
	if ((rc = need_dir("run")))
		return rc;
	/* A protected key: its passphrase first (any other trouble is the daemon's to tell). */
	if (hl_station_path(station_dir, HL_F_IDENTITY, path) == HL_OK &&
	    hl_identity_load(&id, path) == HL_OK) {
		bool sealed = id.sealed;
		hl_identity_free(&id);
		if (sealed && passfd < 0 && !isatty(STDIN_FILENO))
			return fail("the identity key is protected by a passphrase: give it with "
			            "--passphrase-fd N (or run in a terminal)");
		snprintf(what, sizeof what, "passphrase for %s", path);
		if (sealed && (rc = pass_read(passfd, what, false, &pass)))
			return rc;
	}
	if (passfd > STDERR_FILENO)
		close(passfd); /* the daemon keeps no way back to the passphrase */
	rc = hl_station_run(station_dir, pass.buf, pass.len, err, sizeof err);
	pass_free(&pass);
	if (rc < 0)
		return fail("%s", err[0] ? err : hl_strerror(rc));
	return 0;
}

/* ---- status ---- */

static const char status_help[] =
    "usage: hotline -d DIR status [--json]\n"
    "\n"
    "For each peer: link state (up, degraded: some links down, down: no link),\n"
    "the link in use, round-trip time and last contact; then for each pinned\n"
    "address its state and last link test ('!' marks an address that is up but\n"
    "failed its last test), and each channel: up, degraded, down (a fault) or\n"
    "suspended (a decision: by whom, since when, why). With the daemon stopped,\n"
    "every peer is down (the last tests come from the store). docs/status.md\n"
    "documents the JSON, docs/channels.md what each state means.\n";

/* A link's "last_test" and "last_successful_test" from the store's record (docs/status.md). */
static void
offline_tests(struct hl_store *st, int64_t peer_id, const char *link, json_t **last,
              json_t **last_ok)
{
	struct hl_link_test_rec t;
	uint64_t ok_ns = 0;
	char at[32];

	*last = json_null();
	*last_ok = json_null();
	if (!st || hl_store_link_test_last(st, peer_id, HL_DIR_OUT, link, &t, &ok_ns) < 0)
		return;
	if (t.at_ns) {
		hl_iso_time(t.at_ns, at);
		*last = json_pack("{s:s, s:b, s:o, s:o}", "at", at, "ok", t.ok, "rtt_ms",
		                  t.ok ? json_real((double)t.rtt_us / 1000.0) : json_null(),
		                  "error", t.ok ? json_null() : json_string(t.error));
	}
	if (ok_ns) {
		hl_iso_time(ok_ns, at);
		*last_ok = json_string(at);
	}
}

static json_t *
offline_status(struct hl_config *cfg)
{
	struct hl_peer_rec *peers = NULL;
	struct hl_store *st = NULL;
	size_t n = 0;
	json_t *arr = json_array(), *o;

	if (open_store(&st, false) == 0 && hl_store_peer_list(st, &peers, &n) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *links = json_array();
		for (size_t k = 0; k < peers[i].nlinks; k++) {
			json_t *last, *last_ok;
			offline_tests(st, peers[i].id, peers[i].links[k], &last, &last_ok);
			json_array_append_new(
			    links, json_pack("{s:s, s:s, s:b, s:n, s:n, s:o, s:o}", "address",
			                     peers[i].links[k], "state", "unknown", "in_use", 0,
			                     "last_error", "last_ok", "last_test", last,
			                     "last_successful_test", last_ok));
		}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:o}",
		                                     "name", peers[i].name, "state", "down", "link",
		                                     "direction", "rtt_ms", "last_contact",
		                                     "up_since", "links", links));
	}
	free(peers);
	o = json_pack("{s:b, s:s, s:b, s:n, s:s, s:o}", "ok", 1, "station", cfg->name, "running", 0,
	              "pid", "listen", cfg->listen, "peers", arr);
	if (st && hl_status_add_channels(o, st, cfg->name) < 0)
		fprintf(stderr, "hotline: cannot read the channels from the store\n");
	hl_store_close(st);
	return o;
}

/* Under its peer, each channel: its state, and for a suspension who, since when and why. */
static void
print_channels(json_t *channels)
{
	json_t *c, *sus;
	size_t i, k;

	json_array_foreach(channels, i, c)
	{
		printf("  channel %-20s %s%s\n", json_string_value(json_object_get(c, "name")),
		       json_string_value(json_object_get(c, "state")),
		       json_is_true(json_object_get(c, "no_suspend")) ? " (never suspended)" : "");
		json_array_foreach(json_object_get(c, "suspended_by"), k, sus)
		    printf("    suspended by %s (operator %s) since %s: %s\n",
		           json_string_value(json_object_get(sus, "by")),
		           json_string_value(json_object_get(sus, "operator")),
		           json_string_value(json_object_get(sus, "since")),
		           json_string_value(json_object_get(sus, "reason")));
	}
}

/*
 * One line per pinned address: its state and its last test. A failed test
 * on an address that is up (heartbeats or probes say fine) is what an
 * operator must not miss: such a line starts with "!".
 */
static void
print_links(json_t *links)
{
	json_t *l;
	size_t i;

	json_array_foreach(links, i, l)
	{
		const char *state = json_string_value(json_object_get(l, "state"));
		const char *err = json_string_value(json_object_get(l, "last_error"));
		const char *ok_at = json_string_value(json_object_get(l, "last_successful_test"));
		json_t *t = json_object_get(l, "last_test");
		bool failed = json_is_object(t) && !json_is_true(json_object_get(t, "ok"));
		bool up = state && strcmp(state, "up") == 0;
		char what[160];

		snprintf(what, sizeof what, "%s%s%s%s%s", state ? state : "?",
		         json_is_true(json_object_get(l, "in_use")) ? ", in use" : "",
		         err && !up ? " (" : "", err && !up ? err : "", err && !up ? ")" : "");
		printf("%s link %-30s %s; ", failed && up ? "!" : " ",
		       json_string_value(json_object_get(l, "address")), what);
		if (!json_is_object(t)) {
			printf("not tested yet\n");
			continue;
		}
		if (!failed) {
			json_t *r = json_object_get(t, "rtt_ms");
			printf("last test ok %s (%.2f ms)\n",
			       json_string_value(json_object_get(t, "at")),
			       json_is_number(r) ? json_number_value(r) : 0.0);
			continue;
		}
		err = json_string_value(json_object_get(t, "error"));
		printf("last test FAILED %s (%s); last successful test %s\n",
		       json_string_value(json_object_get(t, "at")), err && *err ? err : "?",
		       ok_at ? ok_at : "never");
	}
}

static void
print_status(json_t *s)
{
	json_t *peers = json_object_get(s, "peers"), *p;
	size_t i;

	if (json_is_true(json_object_get(s, "running")))
		printf("station %s: running (pid %lld), listening on %s\n",
		       json_string_value(json_object_get(s, "station")),
		       json_integer_value(json_object_get(s, "pid")),
		       json_string_value(json_object_get(s, "listen")));
	else
		printf("station %s: daemon not running (start it with 'hotline run')\n",
		       json_string_value(json_object_get(s, "station")));
	if (json_array_size(peers) == 0) {
		printf("no peers pinned (add one with 'hotline peer add')\n");
		return;
	}
	printf("%-16s %-9s %-30s %-10s %s\n", "PEER", "STATE", "LINK", "RTT", "LAST CONTACT");
	json_array_foreach(peers, i, p)
	{
		char rtt[32] = "-";
		json_t *r = json_object_get(p, "rtt_ms");
		const char *link = json_string_value(json_object_get(p, "link"));
		const char *last = json_string_value(json_object_get(p, "last_contact"));
		if (json_is_number(r))
			snprintf(rtt, sizeof rtt, "%.2f ms", json_number_value(r));
		printf("%-16s %-9s %-30s %-10s %s\n", json_string_value(json_object_get(p, "name")),
		       json_string_value(json_object_get(p, "state")), link ? link : "-", rtt,
		       last ? last : "never");
		print_links(json_object_get(p, "links"));
		print_channels(json_object_get(p, "channels"));
	}
}

static int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	struct hl_config cfg;
	char path[HL_PATH_MAX], err[512];
	json_t *req, *resp = NULL;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return usage_error("status", "unknown option \'%s\'", argv[optind - 1]);
		json = true;
	}
	if (optind != argc)
		return usage_error("status", "unexpected argument '%s'", argv[optind]);
	if ((rc = need_dir("status")))
		return rc;
	if (hl_config_load(&cfg, station_dir, err, sizeof err) < 0)
		return fail("%s: create a station with 'hotline -d DIR init'", err);
	if (hl_station_path(station_dir, HL_F_CTL, path) < 0)
		return fail("station directory path too long");
	req = json_pack("{s:s}", "cmd", "status");
	rc = hl_ctl_call(path, req, &resp, 5000);
	json_decref(req);
	if (rc == HL_ERR_CLOSED)
		resp = offline_status(&cfg);
	else if (rc < 0)
		return fail("the daemon did not answer on %s: %s", path, hl_strerror(rc));
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));
		json_decref(resp);
		return fail("the daemon refused: %s", e ? e : "?");
	}
	json_object_del(resp, "ok");
	if (json) {
		char *s = json_dumps(resp, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		printf("%s\n", s);
		free(s);
	} else {
		print_status(resp);
	}
	json_decref(resp);
	return 0;
}

/* ---- main ---- */

static const char main_help[] =
    "usage: hotline [-d DIR] COMMAND [ARGS]\n"
    "\n"
    "hotline: a crisis-communication line between two stations.\n"
    "\n"
    "  -d DIR      the station directory (default: $HOTLINE_DIR)\n"
    "  --version   print the version\n"
    "\n"
    "commands:\n"
    "  init        create a station\n"
    "  id          print this station's name and public key\n"
    "  key         add, change or remove the identity key's passphrase\n"
    "  peer        pin, list or remove peer stations\n"
    "  run         run the station daemon in the foreground\n"
    "  status      show the link to every peer\n"
    "  channel     add or list channels to peers\n"
    "  suspend     suspend a channel: a signed notice to the peer\n"
    "  resume      resume a channel this station suspended\n"
    "  checkpoint  exchange a signed checkpoint with a peer now\n"
    "  send        queue a message to a peer\n"
    "  outbox      sent messages and their states\n"
    "  inbox       received messages, unacknowledged first\n"
    "  show        one message and its history\n"
    "  ack         acknowledge a received message, by name\n"
    "  transcript  export the record with a peer (JSON lines, or a page to print)\n"
    "  codebook    list, show, hash and render the agreed message templates\n"
    "  verify      check the record with each peer, or an exported transcript\n"
    "  backup      copy the store to a file, consistently, while the station runs\n"
    "  restore     put a backup in place of the store (the daemon stopped)\n"
    "  check       is the store whole? what the daemon checks before it runs\n"
    "\n"
    "'hotline COMMAND --help' explains each command; docs/cli.md has them all.\n";

struct verb {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
};

static const struct verb verbs[] = {
    {"init", cmd_init, init_help},
    {"id", cmd_id, id_help},
    {"peer", cmd_peer, peer_help},
    {"run", cmd_run, run_help},
    {"status", cmd_status, status_help},
    {"channel", cmd_channel, channel_help},
    {"send", cmd_send, send_help},
    {"outbox", cmd_outbox, outbox_help},
    {"inbox", cmd_inbox, inbox_help},
    {"show", cmd_show, show_help},
    {"ack", cmd_ack, ack_help},
    {"suspend", cmd_suspend, suspend_help},
    {"resume", cmd_resume, resume_help},
    {"checkpoint", cmd_checkpoint, checkpoint_help},
    {"transcript", cmd_transcript, transcript_help},
    {"codebook", cmd_codebook, codebook_help},
    {"verify", cmd_verify, verify_help},
    {"backup", cmd_backup, backup_help},
    {"restore", cmd_restore, restore_help},
    {"check", cmd_check, check_help},
    {"key", cmd_key, key_help},
};

int
main(int argc, char **argv)
{
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(077); /* keys, config, store and sockets are for this user only */
	station_dir = getenv("HOTLINE_DIR");
	if (sodium_init() < 0)
		return fail("libsodium failed to initialise");
	/* Before any SQLite use: every page of a store is written and read with its checksum. */
	if (hl_pagesum_register() < 0)
		return fail("cannot set up the store's page checksums");
	static const struct option gopts[] = {{"help", no_argument, NULL, 'h'},
	                                      {"version", no_argument, NULL, 'V'},
	                                      {NULL, 0, NULL, 0}};

	opterr = 0; /* our own one-line errors, not getopt's */
	while ((c = getopt_long(argc, argv, "+d:hV", gopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			station_dir = optarg;
			break;
		case 'h':
			fputs(main_help, stdout);
			return 0;
		case 'V':
			printf("hotline 0.1.0\n");
			return 0;
		default:
			fprintf(stderr, "hotline: unknown option '%s' (see 'hotline --help')\n",
			        argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(main_help, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "--help") == 0 || strcmp(argv[optind], "help") == 0) {
		fputs(main_help, stdout);
		return 0;
	}
	if (strcmp(argv[optind], "--version") == 0) {
		printf("hotline 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (strcmp(argv[optind], verbs[i].name) != 0)
			continue;
		if (wants_help(argc - optind, argv + optind)) {
			fputs(verbs[i].help, stdout);
			return 0;
		}
		argc -= optind;
		argv += optind;
		optind = 0; /* glibc: re-initialise getopt for the verb's own arguments */
		return verbs[i].fn(argc, argv);
	}
	fprintf(stderr, "hotline: unknown command '%s' (see 'hotline --help')\n", argv[optind]);
	return EXIT_USAGE;
}
