/* SPDX-License-Identifier: ISC */
/*
 * cli_msg.c: the messaging verbs: send, outbox, inbox, show, ack.
 * They work on the store directly, daemon running or not (SQLite in WAL
 * mode serves both), and then poke the daemon so it sends at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>

#include "chanstate.h"
#include "content.h"
#include "cli.h"
#include "config.h"
#include "ctl.h"
#include "station.h"
#include "msg.h"
#include "msgjson.h"
#include "talks.h"

static bool
want_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			return true;
	return false;
}

void
print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_REAL_PRECISION(6));

	printf("%s\n", s ? s : "null");
	free(s);
	json_decref(v);
}

static void
print_rotation(const struct hl_event_row *r)
{
	json_t *o = hl_rotation_json(r);

	printf("operator: %s\n", r->ev.operator_name);
	if (!json_is_object(o))
		printf("key rotation: the statement does not parse\n");
	else
		printf("key rotation by %s at %s:\n  old key %s\n  new key %s\n  signed by the "
		       "old key: %s\n",
		       json_string_value(json_object_get(o, "station")),
		       json_string_value(json_object_get(o, "at")),
		       json_string_value(json_object_get(o, "old_key")),
		       json_string_value(json_object_get(o, "new_key")),
		       json_is_true(json_object_get(o, "signature_ok")) ? "yes" : "NO");
	json_decref(o);
}

/*
 * Ask the running daemon to do it (it is then the one writer: no waiting
 * for the store's lock behind its batches). HL_ERR_CLOSED when no daemon
 * runs: the caller then writes the store itself.
 */
static int
via_daemon(json_t *req, const uint8_t *body, size_t len, json_t **resp)
{
	char path[HL_PATH_MAX];
	int rc;

	*resp = NULL;
	if (!req || hl_station_path(station_dir, HL_F_CTL, path) < 0) {
		json_decref(req);
		return req ? HL_ERR_CLOSED : HL_ERR_NOMEM;
	}
	/* A body goes raw after the request line: nothing to encode, nothing to parse. */
	rc = body ? hl_ctl_call_body(path, req, body, len, resp, 30000)
	          : hl_ctl_call(path, req, resp, 30000);
	json_decref(req);
	return rc;
}

/* ---- send ---- */

const char send_help[] =
    "usage: hotline -d DIR send --to PEER [--channel CH] [--precedence P]\n"
    "                           (--text TEXT | --file PATH [--media-type TYPE] | < stdin\n"
    "                            | --code CODE FIELD=VALUE ...\n"
    "                            | --text-en TEXT --text-zh TEXT [--original en|zh])\n"
    "\n"
    "Queue a message and print its id. It is on disk when this returns, whether\n"
    "or not the daemon runs; a running daemon sends it at once.\n"
    "\n"
    "  --to PEER          the peer station\n"
    "  --channel CH       the channel (default general)\n"
    "  --precedence P     flash, immediate, priority or routine (default routine):\n"
    "                     the order on the wire and the acknowledgment deadline\n"
    "  --text TEXT        the message, UTF-8\n"
    "  --file PATH        the message from a file (UTF-8 text unless --media-type)\n"
    "  --media-type TYPE  send the file as a binary attachment of this type\n"
    "  --code CODE        a codebook message: code and values, checked against the\n"
    "                     codebook ('hotline codebook show CODE'); the template's\n"
    "                     precedence unless --precedence\n"
    "  --text-en, --text-zh TEXT  the same text in both languages (parallel texts);\n"
    "  --original en|zh   which is the original (default: config language)\n"
    "\n"
    "Text must be valid UTF-8. The size limit is max_message_bytes (16 MiB).\n";

/* Read all of fd into a malloc'd buffer, refusing more than max bytes. */
static int
read_all(int fd, uint32_t max, uint8_t **out, size_t *len)
{
	size_t cap = 65536, n = 0;
	uint8_t *buf = malloc(cap);

	*out = NULL;
	*len = 0;
	if (!buf)
		return HL_ERR_NOMEM;
	for (;;) {
		if (n == cap) {
			uint8_t *nb;
			cap *= 2;
			if (!(nb = realloc(buf, cap))) {
				free(buf);
				return HL_ERR_NOMEM;
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return HL_ERR_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			return HL_ERR_LIMIT;
		}
	}
	*out = buf;
	*len = n;
	return HL_OK;
}

int
try_station_lock(void)
{
	char path[HL_PATH_MAX];
	int fd;

	if (hl_station_path(station_dir, HL_F_LOCK, path) < 0 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	/* Shared: CLI writers do not exclude each other, only the daemon's exclusive lock. */
	if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Write the event to the store ourselves, at most once per token. */
static int
append_direct(struct hl_store *st, int64_t peer_id, struct hl_event *ev,
              const uint8_t token[static HL_TOKEN_LEN], bool retry,
              char id[static HL_MSGID_LEN + 1], char why[static HL_REASON_MAX + 1])
{
	uint8_t hash[HL_HASH_LEN];
	bool existed;
	int rc = hl_store_begin(st);

	if (rc == HL_OK &&
	    (rc = hl_store_append_once(st, peer_id, ev, token, retry, hash, &existed, why)) < 0)
		hl_store_rollback(st);
	else if (rc == HL_OK)
		rc = hl_store_commit(st);
	if (rc == HL_OK)
		hl_event_id(hash, id);
	return rc;
}

int
queue_event(struct hl_store *st, int64_t peer_id, struct hl_event *ev, const char *to,
            char id[static HL_MSGID_LEN + 1])
{
	uint8_t token[HL_TOKEN_LEN];
	char token_hex[2 * HL_TOKEN_LEN + 1], why[HL_REASON_MAX + 1] = "";
	const char *kind = hl_kind_name(ev->kind);
	const char *what = ev->kind == HL_EV_TALKS ? "talks event" : kind;
	uint64_t deadline = hl_now_ms() + 30000;
	int rc = HL_ERR_AGAIN;
	bool retry = false; /* after the first attempt, any may have landed */
	bool maybe = false; /* a request may have reached the daemon, unanswered */

	randombytes_buf(token, sizeof token);
	sodium_bin2hex(token_hex, sizeof token_hex, token, sizeof token);
	while (hl_now_ms() < deadline) {
		json_t *resp = NULL;
		int lockfd = try_station_lock();
		if (lockfd >= 0) { /* no daemon: write it ourselves */
			/* with retry, what an earlier attempt stored is found by its token */
			rc = append_direct(st, peer_id, ev, token, retry, id, why);
			close(lockfd);
			maybe = false;
			break;
		}
		rc = via_daemon(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "cmd",
		                          "send", "kind", kind, "peer", to, "channel", ev->channel,
		                          "precedence", hl_prec_name(ev->precedence), "media_type",
		                          ev->media_type, "operator", ev->operator_name, "token",
		                          token_hex, "retry", retry),
		                ev->body ? ev->body : (const uint8_t *)"", ev->body_len, &resp);
		if (rc == HL_OK) {
			const char *got = json_string_value(json_object_get(resp, "id"));
			const char *code = json_string_value(json_object_get(resp, "code"));
			const char *e = json_string_value(json_object_get(resp, "error"));
			if (got)
				snprintf(id, HL_MSGID_LEN + 1, "%s", got);
			rc = got                                     ? HL_OK
			     : code && strcmp(code, "full") == 0     ? HL_ERR_FULL
			     : code && strcmp(code, "disk") == 0     ? HL_ERR_DISK
			     : code && strcmp(code, "notfound") == 0 ? HL_ERR_NOTFOUND
			                                             : HL_ERR_INVAL;
			snprintf(why, sizeof why, "%s", e ? e : "the daemon refused");
			json_decref(resp);
			maybe = false;
			break;
		}
		maybe = maybe || rc != HL_ERR_CLOSED; /* CLOSED: it could not connect */
		retry = true;
		usleep(100000); /* the daemon is starting or stopping: ask again */
	}
	if (rc == HL_ERR_FULL)
		return fail("the disk is full: the %s was NOT stored; free space and try again",
		            what);
	if (rc == HL_ERR_DISK)
		return fail(
		    "the station's disk failed (I/O error on write or fsync): the %s was NOT "
		    "stored, and the station accepts nothing until the disk is checked and "
		    "the daemon started again (see its log)",
		    what);
	if (rc < 0 && maybe)
		return fail("the daemon did not answer in time (%s): the %s may or may not be "
		            "stored; check 'hotline outbox' before sending it again",
		            hl_strerror(rc), what);
	if ((rc == HL_ERR_INVAL || rc == HL_ERR_NOTFOUND) && why[0])
		return fail("refused, the %s was NOT stored: %s", what, why);
	if (rc < 0)
		return fail("the %s was NOT stored (%s): the daemon holds the station but "
		            "does not answer; try again",
		            what, hl_strerror(rc));
	notify_daemon("poke");
	return HL_OK;
}

/*
 * A codebook message's body: the values checked against the station's
 * codebook (the error names the field), and the template's precedence
 * unless one was given. Returns an exit status.
 */
static int
codebook_body(const struct hl_config *cfg, const char *code, int argc, char **argv, uint8_t **body,
              size_t *len, unsigned *prec, bool prec_given)
{
	struct hl_codebook *cb = NULL;
	const struct hl_cb_template *t;
	json_t *fields = NULL;
	char path[HL_PATH_MAX], err[HL_CB_ERR_MAX];
	char *b = NULL;
	int rc;

	if (hl_config_codebook(cfg, station_dir, path, sizeof path) < 0)
		return fail("the codebook path is too long");
	if (hl_codebook_load(path, &cb, err, sizeof err) < 0)
		return fail("%s", err);
	if (hl_codebook_args(cb, code, argc, argv, &t, &fields, err, sizeof err) < 0) {
		/* Exit 2 like any bad argument; the hint is the template, not send --help. */
		fprintf(stderr, "hotline: %s", err);
		if (!strstr(err, "see '"))
			fprintf(stderr, " (see 'hotline codebook show %s')", code);
		fputc('\n', stderr);
		rc = EXIT_USAGE;
	} else if (hl_codebook_encode(cb, t, fields, &b, len) < 0)
		rc = fail("out of memory");
	else
		rc = 0;
	if (rc == 0 && !prec_given)
		*prec = t->precedence;
	json_decref(fields);
	hl_codebook_free(cb);
	*body = (uint8_t *)b;
	return rc;
}

int
cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {{"to", required_argument, NULL, 't'},
	                                     {"channel", required_argument, NULL, 'c'},
	                                     {"precedence", required_argument, NULL, 'p'},
	                                     {"text", required_argument, NULL, 'x'},
	                                     {"file", required_argument, NULL, 'f'},
	                                     {"media-type", required_argument, NULL, 'm'},
	                                     {"code", required_argument, NULL, 'k'},
	                                     {"text-en", required_argument, NULL, 'e'},
	                                     {"text-zh", required_argument, NULL, 'z'},
	                                     {"original", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	const char *to = NULL, *channel = "general", *text = NULL, *file = NULL, *media = NULL;
	const char *code = NULL, *text_en = NULL, *text_zh = NULL, *original = NULL;
	unsigned prec = HL_PREC_ROUTINE;
	bool prec_given = false;
	struct hl_config cfg;
	struct hl_peer_rec peer;
	struct hl_channel_rec *chans = NULL;
	struct hl_event ev = {0};
	struct hl_store *st = NULL;
	uint8_t *body = NULL;
	char err[512], id[HL_MSGID_LEN + 1];
	size_t len = 0, nchans = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 'c':
			channel = optarg;
			break;
		case 'x':
			text = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'm':
			media = optarg;
			break;
		case 'k':
			code = optarg;
			break;
		case 'e':
			text_en = optarg;
			break;
		case 'z':
			text_zh = optarg;
			break;
		case 'o':
			original = optarg;
			break;
		case 'p':
			prec_given = true;
			if (hl_prec_parse(optarg, &prec) < 0)
				return usage_error(
				    "send",
				    "bad precedence '%s': flash, immediate, priority or "
				    "routine",
				    optarg);
			break;
		default:
			return usage_error("send", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc && !code)
		return usage_error("send",
		                   "unexpected argument '%s' (FIELD=VALUE goes with --code)",
		                   argv[optind]);
	if ((rc = need_dir("send")))
		return rc;
	if (!to)
		return usage_error("send", "send needs --to PEER");
	if ((text != NULL) + (file != NULL) + (code != NULL) + (text_en || text_zh) > 1)
		return usage_error("send",
		                   "give one of --text, --file, --code or --text-en/--text-zh");
	if ((text_en || text_zh || original) && !(text_en && text_zh))
		return usage_error("send", "parallel texts need both --text-en and --text-zh");
	if (media && !file)
		return usage_error("send", "--media-type goes with --file");
	if (media &&
	    (strcmp(media, HL_CODEBOOK_MEDIA) == 0 || strcmp(media, HL_PARALLEL_MEDIA) == 0))
		return usage_error("send", "%s is made by --code or --text-en/--text-zh", media);
	if (media && (strlen(media) > HL_MEDIA_MAX || !strchr(media, '/') ||
	              !hl_field_valid(media, strlen(media))))
		return usage_error("send", "bad --media-type '%s': e.g. application/pdf", media);
	if (hl_config_load(&cfg, station_dir, err, sizeof err) < 0)
		return fail("%s: create a station with 'hotline -d DIR init'", err);

	/* The body, within the limit, and text only if it is UTF-8. */
	if (code) {
		if ((rc = codebook_body(&cfg, code, argc - optind, argv + optind, &body, &len,
		                        &prec, prec_given)))
			return rc;
		media = HL_CODEBOOK_MEDIA;
	} else if (text_en) {
		unsigned orig = cfg.language;
		char *b = NULL;
		if (original && hl_lang_parse(original, &orig) < 0)
			return usage_error("send", "--original must be en or zh, not '%s'",
			                   original);
		if (hl_parallel_encode(text_en, text_zh, orig, &b, &len, err, sizeof err) < 0)
			return usage_error("send", "%s", err);
		body = (uint8_t *)b;
		media = HL_PARALLEL_MEDIA;
		rc = len > cfg.max_message_bytes ? HL_ERR_LIMIT : HL_OK;
	} else if (text) {
		len = strlen(text);
		if (len > cfg.max_message_bytes)
			rc = HL_ERR_LIMIT;
		else if ((body = malloc(len ? len : 1)) != NULL)
			memcpy(body, text, len), rc = HL_OK;
		else
			rc = HL_ERR_NOMEM;
	} else {
		int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
		if (fd < 0)
			return fail("cannot read %s: %s", file, strerror(errno));
		rc = read_all(fd, cfg.max_message_bytes, &body, &len);
		if (file)
			close(fd);
	}
	if (rc == HL_ERR_LIMIT)
		return fail("the message is larger than max_message_bytes (%u bytes): nothing was "
		            "sent",
		            cfg.max_message_bytes);
	if (rc < 0)
		return fail("cannot read the message: %s", hl_strerror(rc));
	if (!media && !hl_utf8_valid(body, len)) {
		free(body);
		return fail("the text is not valid UTF-8: fix its encoding, or send it as an "
		            "attachment with --file and --media-type");
	}

	if ((rc = open_store(&st, false))) {
		free(body);
		return rc;
	}
	rc = hl_store_peer_get(st, to, &peer);
	if (rc == HL_OK)
		rc = hl_store_channel_list(st, to, &chans, &nchans);
	if (rc == HL_ERR_NOTFOUND) {
		rc = fail("no peer named %s: see 'hotline peer list'", to);
		goto out;
	}
	if (rc < 0) {
		rc = fail("cannot read the store: %s", hl_strerror(rc));
		goto out;
	}
	rc = 1;
	for (size_t i = 0; i < nchans; i++)
		if (strcmp(chans[i].name, channel) == 0)
			rc = 0;
	if (rc) {
		rc = fail("peer %s has no channel '%s': see 'hotline channel list %s'", to, channel,
		          to);
		goto out;
	}
	ev.kind = HL_EV_MESSAGE;
	ev.precedence = (uint8_t)prec;
	ev.created_ns = hl_wall_ns();
	ev.deadline_ns = ev.created_ns + (uint64_t)cfg.deadline_s[prec] * 1000000000u;
	snprintf(ev.channel, sizeof ev.channel, "%s", channel);
	snprintf(ev.media_type, sizeof ev.media_type, "%s", media ? media : "");
	ev.body = body;
	ev.body_len = (uint32_t)len;
	rc = queue_event(st, peer.id, &ev, to, id);
	if (rc == HL_OK)
		printf("%s\n", id);
out:
	free(chans);
	free(body);
	hl_store_close(st);
	return rc;
}

/* ---- outbox, inbox ---- */

const char outbox_help[] = "usage: hotline -d DIR outbox [--json] [--lang en|zh]\n"
                           "\n"
                           "Sent messages and their states: queued (not yet on the wire), sent\n"
                           "(no receipt yet), delivered (the peer station's signed receipt),\n"
                           "acknowledged (by a named operator), refused (with the peer's signed\n"
                           "reason); 'overdue' when unacknowledged past the deadline.\n"
                           "Codebook messages and parallel texts are previewed in the config\n"
                           "language, or --lang.\n";

const char inbox_help[] = "usage: hotline -d DIR inbox [--json] [--all] [--lang en|zh]\n"
                          "\n"
                          "Received messages: unacknowledged first, then by precedence (FLASH\n"
                          "first) and time. --all adds acknowledged and refused ones.\n"
                          "Codebook messages and parallel texts are previewed in the config\n"
                          "language, or --lang.\n";

/*
 * Text from the other side goes to a terminal: control characters (escape
 * sequences could rewrite the screen) are shown as '?', except newlines
 * and tabs where keep_lines.
 */
static void
print_safe(const uint8_t *s, size_t len, bool keep_lines)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = s[i];
		if ((ch < 0x20 && !(keep_lines && (ch == '\n' || ch == '\t'))) || ch == 0x7f)
			ch = '?';
		putchar(ch);
	}
}

/*
 * How this station's operators read messages: the codebook (loaded on first
 * use; NULL when none is installed) and the language (config language,
 * --lang overrides; HL_LANG_BOTH for both).
 */
struct reader {
	unsigned lang;
	bool loaded;
	struct hl_codebook *cb;
};

/* --lang VALUE among argv (removed from the count it leaves); usage error when bad. */
static int
reader_init(struct reader *rd, int *argc, char **argv, const char *verb)
{
	struct hl_config cfg;
	char err[512];

	memset(rd, 0, sizeof *rd);
	rd->lang =
	    hl_config_load(&cfg, station_dir, err, sizeof err) == HL_OK ? cfg.language : HL_LANG_EN;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--lang") != 0)
			continue;
		if (i + 1 >= *argc)
			return usage_error(verb, "--lang needs en, zh or both");
		if (strcmp(argv[i + 1], "both") == 0)
			rd->lang = HL_LANG_BOTH;
		else if (hl_lang_parse(argv[i + 1], &rd->lang) < 0)
			return usage_error(verb, "--lang must be en, zh or both, not '%s'",
			                   argv[i + 1]);
		memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 2) * sizeof *argv);
		*argc -= 2;
		i--;
	}
	return 0;
}

static const struct hl_codebook *
reader_codebook(struct reader *rd)
{
	struct hl_config cfg;
	char path[HL_PATH_MAX], err[HL_CB_ERR_MAX];

	if (!rd->loaded) {
		rd->loaded = true;
		if (hl_config_load(&cfg, station_dir, err, sizeof err) == HL_OK &&
		    hl_config_codebook(&cfg, station_dir, path, sizeof path) == HL_OK &&
		    hl_codebook_load(path, &rd->cb, err, sizeof err) < 0)
			rd->cb = NULL;
	}
	return rd->cb;
}

/* The message rendered for reading (codebook, parallel texts); NULL for text and attachments. */
static char *
rendered(struct reader *rd, const struct hl_event_row *r, unsigned lang)
{
	char *out = NULL;

	if (r->ev.kind != HL_EV_MESSAGE || (strcmp(r->ev.media_type, HL_CODEBOOK_MEDIA) != 0 &&
	                                    strcmp(r->ev.media_type, HL_PARALLEL_MEDIA) != 0))
		return NULL;
	if (hl_content_render(&r->ev, reader_codebook(rd), lang, &out) < 0)
		return NULL;
	return out;
}

/* A one-line preview of a message body for tables. */
static void
preview(struct reader *rd, const struct hl_event_row *r, char *out, size_t cap)
{
	size_t o = 0;
	char *text = rendered(rd, r, rd->lang == HL_LANG_BOTH ? HL_LANG_EN : rd->lang);
	const uint8_t *b = r->body;
	uint32_t blen = r->ev.body_len;

	if (text) {
		b = (const uint8_t *)text;
		blen = (uint32_t)strlen(text);
	} else if (r->ev.media_type[0]) {
		snprintf(out, cap, "[%s, %u bytes]", r->ev.media_type, r->ev.body_len);
		return;
	}
	for (uint32_t i = 0; i < blen && o + 4 < cap; i++) {
		uint8_t ch = b[i];
		out[o++] = ch == '\n' || ch == '\t'  ? ' '
		           : ch < 0x20 || ch == 0x7f ? '?'
		                                     : (char)ch;
		if (o > 60 && (ch & 0xc0) != 0x80 && (i + 1 >= blen || (b[i + 1] & 0xc0) != 0x80)) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
	}
	out[o] = '\0';
	free(text);
}

static int
list(int argc, char **argv, enum hl_dir dir)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
	const char *verb = dir == HL_DIR_OUT ? "outbox" : "inbox";
	struct hl_event_row *rows;
	struct hl_store *st;
	struct reader rd;
	bool json = false, all = false;
	size_t n;
	int c, rc;

	if ((rc = need_dir(verb)) || (rc = reader_init(&rd, &argc, argv, verb)))
		return rc;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'a' && dir == HL_DIR_IN)
			all = true;
		else
			return usage_error(verb, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind != argc)
		return usage_error(verb, "unexpected argument '%s'", argv[optind]);
	if ((rc = need_dir(verb)) || (rc = open_store(&st, false)))
		return rc;
	rc = hl_store_list(st, dir, all, &rows, &n);
	hl_store_close(st);
	if (rc < 0)
		return fail("cannot read the store: %s", hl_strerror(rc));
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, hl_row_json(&rows[i], true));
		print_json(arr);
	} else {
		printf("%-12s %-12s %-10s %-9s %-22s %-24s %s\n", "ID",
		       dir == HL_DIR_OUT ? "TO" : "FROM", "CHANNEL", "PREC", "STATE",
		       dir == HL_DIR_OUT ? "CREATED" : "RECEIVED", "TEXT");
		for (size_t i = 0; i < n; i++) {
			struct hl_event_row *r = &rows[i];
			char state[96], at[32], text[256];
			if (r->state == HL_ST_ACKED)
				snprintf(state, sizeof state, "acknowledged(%s)", r->acked_by);
			else
				snprintf(state, sizeof state, "%s%s", hl_row_state(r),
				         r->overdue ? ",OVERDUE" : "");
			hl_iso_time(dir == HL_DIR_OUT ? r->ev.created_ns : r->received_ns, at);
			preview(&rd, r, text, sizeof text);
			printf("%-12s %-12s %-10s %-9s %-22s %-24s %s\n", r->msg_id, r->peer,
			       r->ev.channel, hl_prec_name(r->ev.precedence), state, at, text);
		}
	}
	hl_event_rows_free(rows, n);
	hl_codebook_free(rd.cb);
	return 0;
}

int
cmd_outbox(int argc, char **argv)
{
	return list(argc, argv, HL_DIR_OUT);
}

int
cmd_inbox(int argc, char **argv)
{
	return list(argc, argv, HL_DIR_IN);
}

/* ---- show ---- */

const char show_help[] = "usage: hotline -d DIR show MSGID [--json] [--lang en|zh|both]\n"
                         "\n"
                         "One message, in full, with every state change and its time. A\n"
                         "codebook message is rendered in the config language (or --lang;\n"
                         "'both' side by side); parallel texts likewise.\n";

struct hist_ctx {
	json_t *arr;
	bool json;
};

static void
on_history(void *ctx, uint64_t at_ns, const char *state, const char *detail)
{
	struct hist_ctx *h = ctx;
	char at[32];

	hl_iso_time(at_ns, at);
	if (h->json)
		json_array_append_new(h->arr, json_pack("{s:s, s:s, s:s}", "at", at, "state", state,
		                                        "detail", detail ? detail : ""));
	else
		printf("  %s  %-13s %s\n", at, state, detail ? detail : "");
}

int
cmd_show(int argc, char **argv)
{
	struct hl_event_row *rows;
	struct hl_store *st;
	const char *id = NULL;
	bool json = want_json(argc, argv);
	struct reader rd;
	size_t n;
	int rc;

	if ((rc = need_dir("show")) || (rc = reader_init(&rd, &argc, argv, "show")))
		return rc;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (argv[i][0] == '-' || id)
			return usage_error("show", "unexpected argument '%s'", argv[i]);
		id = argv[i];
	}
	if (!id)
		return usage_error("show", "show needs a MSGID");
	if ((rc = need_dir("show")) || (rc = open_store(&st, false)))
		return rc;
	rc = hl_store_find(st, id, &rows, &n);
	if (rc == HL_OK && n == 0)
		rc = HL_ERR_NOTFOUND;
	if (rc < 0) {
		hl_store_close(st);
		if (rc == HL_ERR_NOTFOUND)
			return fail("no message %s: see 'hotline outbox' and 'hotline inbox'", id);
		return fail("cannot read the store: %s", hl_strerror(rc));
	}
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		struct hl_event_row *r = &rows[i];
		struct hist_ctx h = {json_array(), json};
		if (!json) {
			printf("message %s  %s %s  channel %s  %s%s\n", r->msg_id,
			       r->dir == HL_DIR_OUT ? "to" : "from", r->peer, r->ev.channel,
			       hl_prec_name(r->ev.precedence),
			       r->ev.kind == HL_EV_ACK       ? "  (acknowledgment)"
			       : r->ev.kind == HL_EV_SUSPEND ? "  (notice: suspension)"
			       : r->ev.kind == HL_EV_RESUME  ? "  (notice: resumption)"
			       : r->ev.kind == HL_EV_KEY     ? "  (notice: key rotation)"
			       : r->ev.kind == HL_EV_TALKS ? "  (talks event: see 'hotline talks')"
			                                   : "");
			printf("state: %s%s\n", hl_row_state(r), r->overdue ? " (OVERDUE)" : "");
			if (r->reason[0])
				printf("refused: %s\n", r->reason);
			printf("history:\n");
		}
		if (hl_store_history(st, r->msg_id, r->dir, on_history, &h) < 0)
			rc = HL_ERR_IO;
		if (json) {
			json_t *o = hl_row_json(r, true);
			json_t *both = hl_row_rendered(r, reader_codebook(&rd));
			if (both)
				json_object_set_new(o, "rendered", both);
			json_object_set_new(o, "history", h.arr);
			json_array_append_new(out, o);
		} else {
			json_decref(h.arr);
			char *text = rendered(&rd, r, rd.lang);
			if (text) {
				printf("%s:\n", strcmp(r->ev.media_type, HL_CODEBOOK_MEDIA) == 0
				                    ? "codebook message"
				                    : "parallel texts");
				print_safe((const uint8_t *)text, strlen(text), true);
				printf("\n");
				free(text);
			} else if (r->ev.kind == HL_EV_MESSAGE && !r->ev.media_type[0]) {
				printf("text:\n");
				print_safe(r->body, r->ev.body_len, true);
				printf("\n");
			} else if (r->ev.kind == HL_EV_MESSAGE) {
				printf("attachment: %s, %u bytes\n", r->ev.media_type,
				       r->ev.body_len);
			} else if (r->ev.kind == HL_EV_KEY) {
				print_rotation(r);
			} else if (r->ev.kind == HL_EV_TALKS) {
				char *d = hl_talks_describe(r->body, r->ev.body_len);
				printf("operator: %s\n", r->ev.operator_name);
				if (d)
					print_safe((const uint8_t *)d, strlen(d), true);
				printf("\n");
				free(d);
			} else if (r->ev.kind >= HL_EV_SUSPEND) {
				printf("operator: %s\nreason: ", r->ev.operator_name);
				print_safe(r->body, r->ev.body_len, false);
				printf("\n");
			}
		}
	}
	hl_store_close(st);
	hl_event_rows_free(rows, n);
	hl_codebook_free(rd.cb);
	if (json)
		print_json(json_array_size(out) == 1 ? json_incref(json_array_get(out, 0))
		                                     : json_incref(out));
	json_decref(out);
	return rc < 0 ? fail("cannot read the history") : 0;
}

/* ---- ack ---- */

const char ack_help[] = "usage: hotline -d DIR ack MSGID --operator NAME\n"
                        "\n"
                        "Acknowledge a received message as the named operator: this person has\n"
                        "read it. The acknowledgment is signed by this station and carried back\n"
                        "to the sender, who sees 'acknowledged' with the name.\n";

/* "already acknowledged by OP at ...": a retry that found our own acknowledgment. */
static bool
retried_ours(const char *err, const char *op)
{
	char want[HL_OPERATOR_MAX + 32];

	snprintf(want, sizeof want, "already acknowledged by %s at ", op);
	return strstr(err, want) != NULL;
}

int
cmd_ack(int argc, char **argv)
{
	static const struct option opts[] = {{"operator", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	const char *op = NULL, *id;
	char err[512] = "", ack_id[HL_MSGID_LEN + 1], peer[HL_NAME_MAX + 1];
	struct hl_store *st;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'o')
			return usage_error("ack", "unknown option '%s'", argv[optind - 1]);
		op = optarg;
	}
	if (argc - optind != 1)
		return usage_error("ack", "ack needs exactly one MSGID");
	id = argv[optind];
	if (!op || !*op)
		return usage_error("ack", "ack needs --operator NAME: who read it");
	if (strlen(op) > HL_OPERATOR_MAX || !hl_field_valid(op, strlen(op)))
		return usage_error("ack", "bad operator name: at most %d characters, one line",
		                   HL_OPERATOR_MAX);
	if ((rc = need_dir("ack")) || (rc = open_store(&st, false)))
		return rc;
	/*
	 * As with send: the daemon does it while it runs, we do it under the
	 * station lock when it does not, and a retry after a lost answer that
	 * finds our own acknowledgment already there has succeeded.
	 */
	rc = HL_ERR_AGAIN;
	bool lost = false;
	for (uint64_t until = hl_now_ms() + 30000; hl_now_ms() < until; usleep(100000)) {
		json_t *resp = NULL;
		int lockfd = try_station_lock();
		if (lockfd >= 0) {
			rc = hl_store_ack(st, id, op, err, sizeof err, ack_id, peer);
			close(lockfd);
			break;
		}
		if (via_daemon(json_pack("{s:s, s:s, s:s}", "cmd", "ack", "id", id, "operator", op),
		               NULL, 0, &resp) != HL_OK) {
			lost = true; /* no answer: the daemon is starting, stopping or died */
			continue;
		}
		const char *a = json_string_value(json_object_get(resp, "ack_id"));
		const char *p = json_string_value(json_object_get(resp, "peer"));
		const char *e = json_string_value(json_object_get(resp, "error"));
		const char *code = json_string_value(json_object_get(resp, "code"));
		snprintf(ack_id, sizeof ack_id, "%s", a ? a : "");
		snprintf(peer, sizeof peer, "%s", p ? p : "?");
		snprintf(err, sizeof err, "%s", e ? e : "the daemon refused");
		rc = a                                   ? HL_OK
		     : code && strcmp(code, "full") == 0 ? HL_ERR_FULL
		     : code && strcmp(code, "disk") == 0 ? HL_ERR_DISK
		                                         : HL_ERR_INVAL;
		json_decref(resp);
		break;
	}
	hl_store_close(st);
	if (rc == HL_ERR_INVAL && lost && retried_ours(err, op)) {
		printf("acknowledged %s as %s\n", id, op);
		return 0;
	}
	if (rc == HL_ERR_FULL)
		return fail("the disk is full: the acknowledgment was NOT stored; free space and "
		            "try again");
	if (rc == HL_ERR_DISK)
		return fail("the station's disk failed (I/O error on write or fsync): the "
		            "acknowledgment was NOT stored (see the daemon's log)");
	if (rc < 0)
		return fail("%s", err[0] ? err : hl_strerror(rc));
	printf("acknowledged %s as %s (acknowledgment %s to %s)\n", id, op, ack_id, peer);
	notify_daemon("poke");
	return 0;
}
