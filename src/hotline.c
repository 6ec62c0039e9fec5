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
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "chanstate.h"
#include "codebook.h"
#include "config.h"
#include "ctl.h"
#include "keys.h"
#include "log.h"
#include "sandbox.h"
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

int
open_store(struct hl_store **st, bool create)
{
	char path[HL_PATH_MAX], err[512] = "";
	struct stat sb;

	*st = NULL;
	if (hl_station_path(station_dir, HL_F_STORE, path) < 0)
		return fail("station directory path too long");
	if (!create && stat(path, &sb) != 0)
		return fail("%s is not a station (no station.db): create one with 'hotline -d %s "
		            "init'",
		            station_dir, station_dir);
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
    "usage: hotline -d DIR init --name NAME --listen HOST:PORT [--console HOST:PORT]\n"
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
    "  --console HOST:PORT  serve the operators' web console there (config key\n"
    "                       console; HOST an IP address or localhost, or just PORT\n"
    "                       for 127.0.0.1:PORT); add operators with 'hotline\n"
    "                       operator add' (docs/console.md)\n"
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
	                                     {"console", required_argument, NULL, 'c'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_config cfg;
	struct hl_identity id;
	struct hl_store *st = NULL;
	struct hl_pass pass = {0};
	char path[HL_PATH_MAX], text[1024], host[HL_ADDR_MAX], pk[HL_PUBSTR_MAX];
	const char *name = NULL, *listen = NULL, *console = NULL;
	char console_addr[HL_ADDR_MAX] = "";
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
		else if (c == 'c')
			console = optarg;
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
	if (console && hl_config_console_addr(console, console_addr) < 0)
		return usage_error("init",
		                   "bad --console '%s': expected HOST:PORT (HOST an IP address or "
		                   "localhost) or PORT",
		                   console);
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
	snprintf(cfg.console, sizeof cfg.console, "%s", console_addr);
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
	if (cfg.console[0])
		printf(
		    "web console on http://%s/ once it runs: add an operator with 'hotline -d %s "
		    "operator add NAME --role duty'\n",
		    cfg.console, station_dir);
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
	{
		/* A rotation under way: a peer pinned now still gets the new key (docs/keys.md). */
		struct hl_rotation_rec rot;
		struct hl_store *st = NULL;
		char path[HL_PATH_MAX], err[256];
		bool found = false;
		if (hl_station_path(station_dir, HL_F_STORE, path) == HL_OK &&
		    hl_store_open(path, false, &st, err, sizeof err) == HL_OK &&
		    hl_store_rotation_pending(st, &rot, &found) == HL_OK && found) {
			struct hl_pubkey k;
			memcpy(k.x25519, rot.r.new_x25519, 32);
			memcpy(k.ed25519, rot.r.new_ed25519, 32);
			hl_pubkey_encode(&k, pk);
			fprintf(stderr,
			        "hotline: a key rotation is under way: this key is replaced by %s "
			        "once every peer has receipted it (a peer pinned meanwhile is told "
			        "too)\n",
			        pk);
		}
		hl_store_close(st);
	}
	return 0;
}

/* ---- peer ---- */

static const char peer_help[] =
    "usage: hotline -d DIR peer add NAME PUBLIC-KEY --link HOST:PORT [--link HOST:PORT ...]\n"
    "       hotline -d DIR peer list [--json]\n"
    "       hotline -d DIR peer remove NAME\n"
    "       hotline -d DIR peer revoke NAME --reason TEXT\n"
    "       hotline -d DIR peer repin NAME PUBLIC-KEY\n"
    "\n"
    "Pin a peer station by its public key (the line its operator's 'hotline id'\n"
    "printed) and the addresses where it listens, tried in the order given: when\n"
    "the first is unreachable the link comes up over the next. At most 8 links.\n"
    "A running daemon picks the change up at once.\n"
    "\n"
    "peer revoke: stop accepting the peer's key at once (a compromised peer): its\n"
    "session is dropped, no handshake with that key passes, whatever the address,\n"
    "and nothing is queued or sent to it. The reason (one line, at most 256 bytes)\n"
    "and the time are recorded and shown by 'peer list' and 'status'.\n"
    "\n"
    "peer repin: pin a new key for the peer, exchanged out of band like the first\n"
    "one (the way back from a revocation, or for a peer that lost its key). The\n"
    "former key stays in the record's key history. Re-pinning the same key only\n"
    "lifts the revocation. docs/keys.md.\n";

/* Under a peer: its revocation and the key it announced, when there is one (takes keys). */
static void
print_peer_keys(json_t *keys)
{
	json_t *rev = json_object_get(keys, "revoked"), *ann = json_object_get(keys, "announced");

	if (json_is_object(rev))
		printf("  REVOKED since %s: %s\n", json_string_value(json_object_get(rev, "at")),
		       json_string_value(json_object_get(rev, "reason")));
	if (json_is_object(ann))
		printf("  announced a new key %s (since %s): accepted beside the pinned one until "
		       "the peer uses it\n",
		       json_string_value(json_object_get(ann, "key")),
		       json_string_value(json_object_get(ann, "since")));
	json_decref(keys);
}

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
peer_revoke(int argc, char **argv)
{
	static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
	                                     {NULL, 0, NULL, 0}};
	const char *reason = NULL;
	struct hl_store *st;
	uint64_t at = 0;
	char when[32];
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return usage_error("peer", "unknown option \'%s\'", argv[optind - 1]);
		reason = optarg;
	}
	if (argc - optind != 1)
		return usage_error("peer", "peer revoke needs exactly one NAME");
	if (!reason || !*reason)
		return usage_error("peer", "--reason TEXT is required: say why");
	if (strlen(reason) > HL_NOTICE_REASON_MAX || !hl_field_valid(reason, strlen(reason)))
		return usage_error("peer", "--reason must be one line of UTF-8, at most %d bytes",
		                   HL_NOTICE_REASON_MAX);
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_store_peer_revoke(st, argv[optind], reason, &at);
	hl_store_close(st);
	hl_iso_time(at, when);
	if (rc == HL_ERR_NOTFOUND)
		return fail("no peer named %s: see 'hotline peer list'", argv[optind]);
	if (rc == HL_ERR_EXISTS)
		return fail("the key of peer %s is revoked already, since %s", argv[optind], when);
	if (rc < 0)
		return fail("cannot revoke the key: %s", hl_strerror(rc));
	printf("revoked the key of peer %s at %s: %s\n", argv[optind], when, reason);
	if (notify_daemon("reload"))
		fprintf(stderr, "hotline: the running daemon dropped its session and refuses the "
		                "key from now on\n");
	printf("to undo: pin a key exchanged out of band with 'hotline peer repin %s KEY'\n",
	       argv[optind]);
	return 0;
}

static int
peer_repin(int argc, char **argv)
{
	struct hl_pubkey key;
	struct hl_store *st;
	bool same = false;
	int rc;

	if (argc != 3)
		return usage_error("peer", "peer repin needs NAME and PUBLIC-KEY");
	if (hl_pubkey_decode(argv[2], &key) < 0)
		return usage_error("peer",
		                   "'%s' is not a hotline public key (hl1:...) or its checksum "
		                   "is wrong: copy it again from the peer's 'hotline id'",
		                   argv[2]);
	{
		struct hl_config cfg;
		char mine[HL_PUBSTR_MAX];
		if ((rc = load_public(&cfg, mine)))
			return rc;
		if (strcmp(mine, argv[2]) == 0)
			return fail("that is this station's own key: pin the peer's key instead");
	}
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_store_peer_repin(st, argv[1], &key, &same);
	hl_store_close(st);
	if (rc == HL_ERR_NOTFOUND)
		return fail("no peer named %s: see 'hotline peer list'", argv[1]);
	if (rc == HL_ERR_EXISTS)
		return fail("that key is pinned for another peer");
	if (rc < 0)
		return fail("cannot pin the key: %s", hl_strerror(rc));
	if (same)
		printf("peer %s keeps its key; any revocation is lifted\n", argv[1]);
	else
		printf(
		    "pinned a new key for peer %s; the former one is kept in the key history and "
		    "refused\n",
		    argv[1]);
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
			print_peer_keys(hl_peer_keys_json(&peers[i]));
			continue;
		}
		json_t *links = json_array();
		for (size_t k = 0; k < peers[i].nlinks; k++)
			json_array_append_new(links, json_string(peers[i].links[k]));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o}", "name", peers[i].name,
		                                     "key", pk, "links", links, "keys",
		                                     hl_peer_keys_json(&peers[i])));
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
		return usage_error("peer", "peer needs add, list, remove, revoke or repin");
	if ((rc = need_dir("peer")))
		return rc;
	optind = 0;
	if (strcmp(argv[1], "add") == 0)
		return peer_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return peer_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return peer_remove(argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return peer_revoke(argc - 1, argv + 1);
	if (strcmp(argv[1], "repin") == 0)
		return peer_repin(argc - 1, argv + 1);
	return usage_error("peer", "unknown peer command '%s'", argv[1]);
}

/* ---- run ---- */

static const char run_help[] =
    "usage: hotline -d DIR run [--verbose] [--passphrase-fd N] [--user NAME | --allow-root]\n"
    "\n"
    "Run the station in the foreground: listen, link to every pinned peer, log one\n"
    "line per event to stderr. SIGINT or SIGTERM stops it cleanly; SIGHUP re-reads\n"
    "the peers. A second daemon on the same directory is refused.\n"
    "\n"
    "  --verbose           log debug lines too (the config's log_level otherwise)\n"
    "  --passphrase-fd N   unlock a passphrase-protected identity key with the\n"
    "                      passphrase read from descriptor N (one line, or up to\n"
    "                      end of file; N is closed after). Without it, a\n"
    "                      protected key's passphrase is asked on the terminal.\n"
    "  --user NAME         started as root: become user NAME (and its group) once\n"
    "                      the listener is bound (overrides the config's user)\n"
    "  --allow-root        run as root (refused otherwise); so does the environment\n"
    "                      variable HOTLINE_ALLOW_ROOT=1\n"
    "\n"
    "Once started, the daemon restricts its own system calls (seccomp; the\n"
    "config's seccomp = off turns that off). docs/operations.md, \"Sandbox\".\n";

static int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {{"verbose", no_argument, NULL, 'v'},
	                                     {"passphrase-fd", required_argument, NULL, 'f'},
	                                     {"user", required_argument, NULL, 'u'},
	                                     {"allow-root", no_argument, NULL, 'r'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_run_opts ro = {0};
	struct hl_identity id;
	struct hl_pass pass = {0};
	const char *env = getenv("HOTLINE_ALLOW_ROOT");
	char err[1024] = "", path[HL_PATH_MAX], what[HL_PATH_MAX + 32];
	int c, rc, passfd = -1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'v') {
			log_set_level(LOG_DEBUG);
			ro.verbose = true;
		} else if (c == 'f') {
			if ((rc = pass_fd_arg("run", "--passphrase-fd", optarg, &passfd)))
				return rc;
		} else if (c == 'u') {
			if (!hl_user_name_valid(optarg))
				return usage_error("run", "bad --user '%s': expected a user name",
				                   optarg);
			ro.user = optarg;
		} else if (c == 'r') {
			ro.allow_root = true;
		} else {
			return usage_error("run", "unknown option \'%s\'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("run", "unexpected argument '%s'", argv[optind]);
	if (ro.user && ro.allow_root)
		return usage_error("run", "--user and --allow-root exclude each other");
	if (env && strcmp(env, "1") == 0)
		ro.allow_root = true;
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
	rc = hl_station_run(station_dir, pass.buf, pass.len, &ro, err, sizeof err);
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
    "suspended (a decision: by whom, since when, why). Also this station's key and\n"
    "its rotation (who has the notice), and each peer's revocation or announced\n"
    "new key (docs/keys.md). With the daemon stopped,\n"
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
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:o, s:o, s:n}", "name",
		                   peers[i].name, "state", peers[i].revoked_ns ? "revoked" : "down",
		                   "link", "direction", "rtt_ms", "last_contact", "up_since",
		                   "links", links, "keys", hl_peer_keys_json(&peers[i]), "rekeys"));
	}
	free(peers);
	o = json_pack("{s:b, s:s, s:b, s:n, s:s, s:o}", "ok", 1, "station", cfg->name, "running", 0,
	              "pid", "listen", cfg->listen, "peers", arr);
	if (st && hl_status_add_channels(o, st, cfg->name) < 0)
		fprintf(stderr, "hotline: cannot read the channels from the store\n");
	{
		struct hl_pubkey self;
		if (st && load_self(NULL, &self) == 0 && hl_status_add_keys(o, st, &self) < 0)
			fprintf(stderr, "hotline: cannot read the keys from the store\n");
	}
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

/* This station's key, and its rotation: under way (who has the notice) or the last one. */
static void
print_station_keys(json_t *keys)
{
	json_t *rot = json_object_get(keys, "rotation"), *p;
	const char *problem = json_string_value(json_object_get(rot, "problem"));
	size_t i;

	if (!json_is_object(keys))
		return;
	printf("key %s\n", json_string_value(json_object_get(keys, "key")));
	if (!json_is_object(rot))
		return;
	if (json_is_string(json_object_get(rot, "switched"))) {
		printf("  rotated to it at %s (started %s by %s)\n",
		       json_string_value(json_object_get(rot, "switched")),
		       json_string_value(json_object_get(rot, "started")),
		       json_string_value(json_object_get(rot, "operator")));
		return;
	}
	printf("  ROTATION under way since %s (by %s) to %s: waiting for %lld peer%s\n",
	       json_string_value(json_object_get(rot, "started")),
	       json_string_value(json_object_get(rot, "operator")),
	       json_string_value(json_object_get(rot, "new_key")),
	       json_integer_value(json_object_get(rot, "waiting")),
	       json_integer_value(json_object_get(rot, "waiting")) == 1 ? "" : "s");
	if (problem)
		printf("  ROTATION STUCK: %s\n", problem);
	json_array_foreach(json_object_get(rot, "peers"), i, p)
	{
		const char *st = json_string_value(json_object_get(p, "state"));
		bool done = st && (!strcmp(st, "delivered") || !strcmp(st, "acknowledged"));
		printf("    %-16s notice %s %s%s\n", json_string_value(json_object_get(p, "name")),
		       json_is_string(json_object_get(p, "notice"))
		           ? json_string_value(json_object_get(p, "notice"))
		           : "-",
		       st ? st : "?",
		       json_is_true(json_object_get(p, "revoked")) ? " (revoked: not waited for)"
		       : done                                      ? ""
		                                                   : " (waiting)");
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
	print_station_keys(json_object_get(s, "keys"));
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
		print_peer_keys(json_incref(json_object_get(p, "keys")));
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
    "  key         the identity key's passphrase; rotate the keys\n"
    "  peer        pin, list, remove, revoke or re-pin peer stations\n"
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
    "  talks       propose, answer, hold and read out talks with a peer, on the record\n"
    "  verify      check the record with each peer, or an exported transcript\n"
    "  operator    add, list, remove the web console's operators; set passwords\n"
    "  backup      copy the store to a file, consistently, while the station runs\n"
    "  restore     put a backup in place of the store (the daemon stopped)\n"
    "\n"
    "'hotline COMMAND --help' explains each command; docs/cli.md has them all.\n";

/*
 * Root on a station directory that belongs to another user (the daemon's,
 * e.g. hotline): every command but init and run first becomes that user,
 * so that what it creates (the store's journals, a rewritten key file)
 * stays that user's and the daemon can still open it.
 */
static int
become_owner(const char *verb)
{
	struct hl_user u = {0};
	struct stat sb;
	char err[256];

	if (geteuid() != 0 || !station_dir || !*station_dir || strcmp(verb, "run") == 0 ||
	    strcmp(verb, "init") == 0 || stat(station_dir, &sb) != 0 || sb.st_uid == 0)
		return 0;
	snprintf(u.name, sizeof u.name, "%u", (unsigned)sb.st_uid);
	u.uid = sb.st_uid;
	u.gid = sb.st_gid;
	if (hl_sandbox_drop(&u, err, sizeof err) < 0)
		return fail("%s (the owner of %s)", err, station_dir);
	return 0;
}

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
    {"key", cmd_key, key_help},
    {"talks", cmd_talks, talks_help},
    {"operator", cmd_operator, operator_help},
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
		if (become_owner(verbs[i].name))
			return EXIT_FAILURE;
		argc -= optind;
		argv += optind;
		optind = 0; /* glibc: re-initialise getopt for the verb's own arguments */
		return verbs[i].fn(argc, argv);
	}
	fprintf(stderr, "hotline: unknown command '%s' (see 'hotline --help')\n", argv[optind]);
	return EXIT_USAGE;
}
