/* SPDX-License-Identifier: ISC */
/*
 * cli_talks.c: the talks verbs (docs/talks.md). Every change to talks is
 * an event of kind 6 on our chain towards the peer, queued like a message
 * (durable before the command returns, sent exactly once, receipted); the
 * register is folded from the record each time it is shown (talks.c).
 * Each verb checks what it would add against the register as this station
 * holds it, so a mistake is refused before anything is stored; what then
 * crosses on the wire with the peer's events is settled by the fold, the
 * same way on both stations.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "chanstate.h"
#include "cli.h"
#include "codebook.h"
#include "config.h"
#include "content.h"
#include "msg.h"
#include "station.h"
#include "talks.h"

const char talks_help[] =
    "usage: hotline -d DIR talks propose PEER --title T --level L --from DATE --to DATE\n"
    "                                 --place P [--series NAME [--round N]] [--agenda ITEM]...\n"
    "                                 [--counter ID] [--channel CH] --operator NAME\n"
    "       hotline -d DIR talks accept ID [--reason TEXT] --operator NAME\n"
    "       hotline -d DIR talks decline ID --reason TEXT --operator NAME\n"
    "       hotline -d DIR talks postpone ID [--from DATE --to DATE] --reason TEXT\n"
    "                                 --operator NAME\n"
    "       hotline -d DIR talks agenda add ID ITEM --operator NAME\n"
    "       hotline -d DIR talks held ID --operator NAME\n"
    "       hotline -d DIR talks readout ID --file PATH --operator NAME\n"
    "       hotline -d DIR talks list [PEER] [--json]\n"
    "       hotline -d DIR talks show ID [--json] [--lang en|zh|both]\n"
    "       hotline -d DIR talks import FILE [--as NAME] [--peer PEER]\n"
    "\n"
    "Talks with a peer, on the record: proposed, accepted, declined or postponed\n"
    "(with new dates and the reason), held, then read out by each side. Every\n"
    "step is a signed event on the line (delivered exactly once, receipted), and\n"
    "both stations show the same register. ID is a talks' id (the proposal's\n"
    "message id, 12 hex characters, or an imported record's id).\n"
    "\n"
    "  --level L       one of the codebook's TALKS levels: head_of_state,\n"
    "                  defense_minister, chief_of_staff, theater_commander, working,\n"
    "                  expert\n"
    "  --from, --to    the first and last day, YYYY-MM-DD (the same day for one day)\n"
    "  --series NAME   a recurring series; the round is numbered per series (the\n"
    "                  next after the highest on record) unless --round N\n"
    "  --agenda ITEM   an agenda item (repeat it); 'agenda add' adds more later\n"
    "  --counter ID    a counter-proposal to talks ID, which must be declined\n"
    "  --channel CH    the channel the talks travel on (default general)\n"
    "  --reason TEXT   one line, at most 500 characters\n"
    "  --file PATH     the readout: UTF-8 text, at most 64 KiB ('-': standard input)\n"
    "\n"
    "Only the side that did not make the proposal (or the last postponement)\n"
    "accepts or declines; either side postpones, calls accepted talks off\n"
    "(decline), adds agenda items, and records them held once they began. Each\n"
    "side attaches its own readout; a later one is a new version, the old kept.\n"
    "'talks import' loads talks from the public record (talks/history.json in\n"
    "the source tree) as imported, not signed on the line.\n";

/* A one-line value: exit status 2 with the option named when it is not. */
static int
check_line(const char *verb, const char *opt, const char *v, size_t max)
{
	if (!v)
		return usage_error(verb, "%s is required", opt);
	if (!hl_talks_line_valid(v, max))
		return usage_error(verb, "%s must be one line of UTF-8, 1 to %zu characters", opt,
		                   max);
	return 0;
}

static int
check_operator(const char *verb, const char *op)
{
	if (!op || !*op || strlen(op) > HL_OPERATOR_MAX || !hl_field_valid(op, strlen(op)))
		return usage_error(verb, "--operator NAME is required: one line, at most %d bytes",
		                   HL_OPERATOR_MAX);
	return 0;
}

static int
check_dates(const char *verb, const char *from, const char *to)
{
	if (!from || !to) {
		/* EXIT_USAGE spelled out: usage_error is in another file, and the
		 * analyzer would otherwise follow a NULL date past this check */
		usage_error(verb, "--from DATE and --to DATE go together");
		return EXIT_USAGE;
	}
	if (!hl_talks_date_valid(from))
		return usage_error(verb, "bad --from '%s': a date YYYY-MM-DD that exists", from);
	if (!hl_talks_date_valid(to))
		return usage_error(verb, "bad --to '%s': a date YYYY-MM-DD that exists", to);
	if (strcmp(to, from) < 0)
		return usage_error(verb, "the end date %s is before the start date %s", to, from);
	return 0;
}

/* Today's date, UTC. */
static void
today(char out[static HL_TALKS_DATE_LEN + 1])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, HL_TALKS_DATE_LEN + 1, "%Y-%m-%d", &tm);
}

/* Print v as indented JSON with sorted keys (the same bytes on both stations) and release it. */
static void
print_sorted(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

	printf("%s\n", s ? s : "null");
	free(s);
	json_decref(v);
}

/* ---- the codebook: the levels, and the renderings of proposals and answers ---- */

static struct hl_codebook *
load_codebook(void)
{
	struct hl_codebook *cb = NULL;
	struct hl_config cfg;
	char path[HL_PATH_MAX], err[HL_CB_ERR_MAX];

	if (hl_config_load(&cfg, station_dir, err, sizeof err) == HL_OK &&
	    hl_config_codebook(&cfg, station_dir, path, sizeof path) == HL_OK &&
	    hl_codebook_load(path, &cb, err, sizeof err) < 0)
		cb = NULL;
	return cb;
}

/* The TALKS template's level field, when the codebook has one. */
static const struct hl_cb_field *
level_field(const struct hl_codebook *cb)
{
	const struct hl_cb_template *t = cb ? hl_codebook_find(cb, "TALKS") : NULL;
	const struct hl_cb_field *f = t ? hl_cb_field_find(t, "level") : NULL;

	return f && f->type == HL_CB_ENUM ? f : NULL;
}

static const char *const default_levels[] = {"head_of_state",  "defense_minister",
                                             "chief_of_staff", "theater_commander",
                                             "working",        "expert"};

static int
check_level(const char *verb, const char *level)
{
	struct hl_codebook *cb = load_codebook();
	const struct hl_cb_field *f = level_field(cb);
	char list[1024] = "";
	size_t n = f ? f->nvalues : ARRAY_SIZE(default_levels);
	bool found = false;

	for (size_t i = 0; i < n; i++) {
		const char *v = f ? f->values[i].value : default_levels[i];
		found = found || (level && strcmp(v, level) == 0);
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", v);
	}
	hl_codebook_free(cb);
	if (!level)
		return usage_error(verb, "--level is required: one of %s", list);
	if (!found)
		return usage_error(
		    verb, "bad --level '%s': one of %s (the codebook's TALKS levels)", level, list);
	return 0;
}

/* One codebook message rendered in both languages into o[key]; nothing when it does not fit. */
static void
render_into(json_t *o, const char *key, const struct hl_codebook *cb, const char *code,
            json_t *fields)
{
	const struct hl_cb_template *t = cb ? hl_codebook_find(cb, code) : NULL;
	char err[HL_CB_ERR_MAX], *text[HL_LANG_COUNT] = {NULL, NULL};

	if (t && fields && hl_cb_fields_check(t, fields, err, sizeof err) == HL_OK &&
	    hl_codebook_render(t, fields, HL_LANG_EN, &text[HL_LANG_EN]) == HL_OK &&
	    hl_codebook_render(t, fields, HL_LANG_ZH, &text[HL_LANG_ZH]) == HL_OK)
		json_object_set_new(o, key,
		                    json_pack("{s:s, s:s, s:s, s:s}", "en", text[HL_LANG_EN], "zh",
		                              text[HL_LANG_ZH], "title_en", t->title.s[HL_LANG_EN],
		                              "title_zh", t->title.s[HL_LANG_ZH]));
	free(text[HL_LANG_EN]);
	free(text[HL_LANG_ZH]);
	json_decref(fields);
}

/*
 * What the codebook says of a talks shown: the proposal as a TALKS message,
 * each answer (accept, decline) as a REPLY, in both languages, under
 * local.rendered (the codebook is each station's own copy).
 */
static void
add_renderings(json_t *o, const struct hl_codebook *cb)
{
	json_t *local = json_object_get(o, "local"), *r = json_object(), *answers = json_object();
	json_t *agenda = json_object_get(o, "agenda"), *history = json_object_get(o, "history");
	const char *from =
	    json_string_value(json_object_get(json_object_get(o, "proposed_dates"), "from"));
	const char *to =
	    json_string_value(json_object_get(json_object_get(o, "proposed_dates"), "to"));
	char window[64], items[4096] = "";
	size_t used = 0, shown = 0;

	if (!local || !r || !answers || !from || !to) {
		json_decref(r);
		json_decref(answers);
		return;
	}
	/* The TALKS template's dates are a UTC window: the first day's start to the last day's end.
	 */
	snprintf(window, sizeof window, "%sT00:00Z/%sT23:59Z", from, to);
	for (size_t i = 0; i < json_array_size(agenda); i++) {
		const char *it =
		    json_string_value(json_object_get(json_array_get(agenda, i), "item"));
		size_t chars = 0;
		for (const char *p = items; *p; p++)
			chars += ((uint8_t)*p & 0xc0) != 0x80;
		for (const char *p = it; p && *p; p++)
			chars += ((uint8_t)*p & 0xc0) != 0x80;
		if (!it || chars + 2 > HL_CB_TEXT_MAX || used + strlen(it) + 3 > sizeof items)
			break;
		used += (size_t)snprintf(items + used, sizeof items - used, "%s%s",
		                         used ? "; " : "", it);
		shown++;
	}
	json_t *fields = json_pack("{s:O, s:O, s:s, s:O}", "title", json_object_get(o, "title"),
	                           "level", json_object_get(o, "level"), "dates", window, "place",
	                           json_object_get(o, "place"));
	if (fields && shown)
		json_object_set_new(fields, "agenda", json_string(items));
	render_into(r, "proposal", cb, "TALKS", fields);
	for (size_t i = 0; i < json_array_size(history); i++) {
		json_t *h = json_array_get(history, i);
		const char *type = json_string_value(json_object_get(h, "type"));
		if (!type || (strcmp(type, "accept") != 0 && strcmp(type, "decline") != 0))
			continue;
		json_t *f =
		    json_pack("{s:O, s:s}", "message", json_object_get(o, "id"), "answer", type);
		if (f && json_is_string(json_object_get(h, "reason")))
			json_object_set(f, "reason", json_object_get(h, "reason"));
		render_into(answers, json_string_value(json_object_get(h, "id")), cb, "REPLY", f);
	}
	json_object_set_new(r, "answers", answers);
	json_object_set_new(local, "rendered", r);
}

/* ---- finding talks ---- */

/* A talks found by id: on the line (t in reg) or imported (record). */
struct found {
	struct hl_peer_rec peer;
	struct hl_talks_reg reg;
	struct hl_talks *t;
	json_t *imported; /* {"record", "imported_ns"} */
	char self[HL_NAME_MAX + 1];
};

static void
found_free(struct found *f)
{
	hl_talks_reg_free(&f->reg);
	json_decref(f->imported);
	memset(f, 0, sizeof *f);
}

static void
names_of(const struct found *f, const char *names[2])
{
	names[HL_SIDE_US] = f->self;
	names[HL_SIDE_PEER] = f->peer.name;
}

/* The imported record of peer_id with this id, or NULL (a new reference). */
static json_t *
imported_by_id(struct hl_store *st, int64_t peer_id, const char *id, int *rc)
{
	json_t *all = NULL, *hit = NULL;

	if ((*rc = hl_store_talks_imported(st, peer_id, &all)) < 0)
		return NULL;
	for (size_t i = 0; !hit && i < json_array_size(all); i++) {
		json_t *e = json_array_get(all, i);
		const char *rid =
		    json_string_value(json_object_get(json_object_get(e, "record"), "id"));
		if (rid && strcmp(rid, id) == 0)
			hit = json_incref(e);
	}
	json_decref(all);
	return hit;
}

/* Find talks ID with any peer; an exit status (0: found, f filled). */
static int
find_talks(struct hl_store *st, const char *verb, const char *id, struct found *f)
{
	struct hl_peer_rec *peers = NULL;
	struct hl_config cfg;
	char err[512];
	size_t n = 0, hits = 0;
	bool hexid = strspn(id, "0123456789abcdef") == strlen(id);
	int rc;

	memset(f, 0, sizeof *f);
	if (!hexid && !strchr(id, '-'))
		return usage_error(verb, "bad talks id '%s': 12 hex characters, or an imported id",
		                   id);
	if (hexid && (strlen(id) < HL_MSGID_LEN || strlen(id) > (size_t)2 * HL_HASH_LEN))
		return usage_error(verb, "bad talks id '%s': at least 12 hex characters", id);
	if (hl_config_load(&cfg, station_dir, err, sizeof err) < 0)
		return fail("%s", err);
	if ((rc = hl_store_peer_list(st, &peers, &n)) < 0)
		return fail("cannot read the store: %s", hl_strerror(rc));
	for (size_t i = 0; i < n; i++) {
		struct hl_talks_reg reg;
		struct hl_talks *t = NULL;
		json_t *imp = NULL;
		bool amb = false;
		if (hexid) {
			if ((rc = hl_store_talks_load(st, peers[i].id, &reg)) < 0)
				break;
			t = hl_talks_find(&reg, id, &amb);
		} else {
			memset(&reg, 0, sizeof reg);
			imp = imported_by_id(st, peers[i].id, id, &rc);
			if (rc < 0)
				break;
		}
		if ((t || imp) && !hits) {
			f->peer = peers[i];
			f->reg = reg;
			f->t = t;
			f->imported = imp;
			snprintf(f->self, sizeof f->self, "%s", cfg.name);
		} else {
			hl_talks_reg_free(&reg);
			json_decref(imp);
		}
		hits += (size_t)((t || imp) + amb);
	}
	free(peers);
	if (rc < 0) {
		found_free(f);
		return fail("cannot read the talks: %s", hl_strerror(rc));
	}
	if (hits > 1) {
		found_free(f);
		return fail("talks id %s is ambiguous: give more of its hash (see 'hotline talks "
		            "show --json')",
		            id);
	}
	if (!hits)
		return fail("no talks %s: see 'hotline talks list'", id);
	return 0;
}

/* ---- propose ---- */

/* The next round of series with this peer: one above the highest not declined or refused. */
static int
next_round(struct hl_store *st, int64_t peer_id, const char *series, unsigned *round)
{
	struct hl_talks_reg reg;
	json_t *imp = NULL;
	unsigned top = 0;
	int rc;

	*round = 1;
	if ((rc = hl_store_talks_load(st, peer_id, &reg)) < 0)
		return rc;
	for (size_t i = 0; i < reg.ntalks; i++) {
		const struct hl_talks *t = &reg.talks[i];
		if (t->proposal->b.series && strcmp(t->proposal->b.series, series) == 0 &&
		    t->state != HL_TS_DECLINED && t->state != HL_TS_REFUSED &&
		    t->proposal->b.round > top)
			top = t->proposal->b.round;
	}
	hl_talks_reg_free(&reg);
	if ((rc = hl_store_talks_imported(st, peer_id, &imp)) < 0)
		return rc;
	for (size_t i = 0; i < json_array_size(imp); i++) {
		const json_t *r = json_object_get(json_array_get(imp, i), "record");
		const char *s = json_string_value(json_object_get(r, "series"));
		json_int_t n = json_integer_value(json_object_get(r, "round"));
		if (s && strcmp(s, series) == 0 && n > (json_int_t)top)
			top = (unsigned)n;
	}
	json_decref(imp);
	if (top >= HL_TALKS_ROUND_MAX)
		return HL_ERR_LIMIT;
	*round = top + 1;
	return HL_OK;
}

/* Queue body b on the talks' channel to peer; prints nothing. An exit status. */
static int
queue_talks(struct hl_store *st, const struct hl_peer_rec *peer, const char *channel,
            const struct hl_talks_body *b, unsigned prec, const char *op,
            char id[static HL_MSGID_LEN + 1])
{
	struct hl_event ev = {0};
	char *body = NULL, err[HL_TALKS_ERR_MAX];
	size_t len = 0;
	int rc;

	if ((rc = hl_talks_body_encode(b, &body, &len, err, sizeof err)) < 0)
		return rc == HL_ERR_NOMEM ? fail("out of memory") : fail("%s", err);
	ev.kind = HL_EV_TALKS;
	ev.precedence = (uint8_t)prec;
	ev.created_ns = hl_wall_ns();
	snprintf(ev.channel, sizeof ev.channel, "%s", channel);
	snprintf(ev.media_type, sizeof ev.media_type, "%s", HL_TALKS_MEDIA);
	snprintf(ev.operator_name, sizeof ev.operator_name, "%s", op);
	ev.body = (const uint8_t *)body;
	ev.body_len = (uint32_t)len;
	rc = queue_event(st, peer->id, &ev, peer->name, id);
	free(body);
	return rc;
}

static int
talks_propose(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"title", required_argument, NULL, 't'},    {"level", required_argument, NULL, 'l'},
	    {"from", required_argument, NULL, 'f'},     {"to", required_argument, NULL, 'T'},
	    {"place", required_argument, NULL, 'p'},    {"series", required_argument, NULL, 's'},
	    {"round", required_argument, NULL, 'r'},    {"agenda", required_argument, NULL, 'a'},
	    {"counter", required_argument, NULL, 'c'},  {"channel", required_argument, NULL, 'C'},
	    {"operator", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
	const char *verb = "talks", *op = NULL, *counter = NULL, *channel = "general", *peer_name;
	struct hl_talks_body b = {0};
	struct hl_peer_rec peer;
	struct hl_store *st = NULL;
	struct found cf = {0};
	char id[HL_MSGID_LEN + 1], ord[16], day[HL_TALKS_DATE_LEN + 1];
	long round = 0;
	int c, rc;

	b.type = HL_TK_PROPOSE;
	b.rev = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			b.title = optarg;
			break;
		case 'l':
			b.level = optarg;
			break;
		case 'f':
			b.from = optarg;
			break;
		case 'T':
			b.to = optarg;
			break;
		case 'p':
			b.place = optarg;
			break;
		case 's':
			b.series = optarg;
			break;
		case 'r': {
			char *end;
			round = strtol(optarg, &end, 10);
			if (*end || round < 1 || round > HL_TALKS_ROUND_MAX)
				return usage_error(verb, "bad --round '%s': 1 to %d", optarg,
				                   HL_TALKS_ROUND_MAX);
			break;
		}
		case 'a':
			if (b.nagenda == HL_TALKS_AGENDA_MAX)
				return usage_error(verb, "at most %d --agenda items in a proposal",
				                   HL_TALKS_AGENDA_MAX);
			if ((rc = check_line(verb, "--agenda", optarg, HL_TALKS_TEXT_MAX)))
				return rc;
			b.agenda[b.nagenda++] = optarg;
			break;
		case 'c':
			counter = optarg;
			break;
		case 'C':
			channel = optarg;
			break;
		case 'o':
			op = optarg;
			break;
		default:
			return usage_error(verb, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return usage_error(verb, "talks propose needs one PEER");
	peer_name = argv[optind];
	if ((rc = need_dir(verb)) || (rc = check_operator(verb, op)) ||
	    (rc = check_line(verb, "--title", b.title, HL_TALKS_TEXT_MAX)) ||
	    (rc = check_line(verb, "--place", b.place, HL_TALKS_TEXT_MAX)) ||
	    (rc = check_dates(verb, b.from, b.to)) || (rc = check_level(verb, b.level)) ||
	    (b.series && (rc = check_line(verb, "--series", b.series, HL_TALKS_SERIES_MAX))))
		return rc;
	if (round && !b.series)
		return usage_error(verb, "--round goes with --series");
	if (!hl_name_valid(channel))
		return usage_error(verb, "bad --channel '%s'", channel);
	if ((rc = open_store(&st, false)))
		return rc;
	if ((rc = hl_store_peer_get(st, peer_name, &peer)) < 0) {
		hl_store_close(st);
		return rc == HL_ERR_NOTFOUND
		           ? fail("no peer named %s: see 'hotline peer list'", peer_name)
		           : fail("cannot read the store: %s", hl_strerror(rc));
	}
	if (counter) {
		if ((rc = find_talks(st, verb, counter, &cf)))
			goto out;
		if (!cf.t || cf.peer.id != peer.id) {
			rc = fail("--counter %s: talks on the line with %s are needed (this is %s)",
			          counter, peer.name,
			          cf.t ? "with another peer" : "imported from the public record");
			goto out;
		}
		if (cf.t->state != HL_TS_DECLINED) {
			rc = fail(
			    "talks %s are %s, not declined: a counter-proposal answers declined "
			    "talks (decline them first, or postpone them with new dates)",
			    cf.t->proposal->id, hl_talks_state_name(cf.t->state));
			goto out;
		}
		b.has_counters = true;
		memcpy(b.counters, cf.t->proposal->hash, HL_HASH_LEN);
	}
	if (b.series && !round) {
		unsigned r;
		if ((rc = next_round(st, peer.id, b.series, &r)) < 0) {
			rc = fail("cannot number the round: %s", hl_strerror(rc));
			goto out;
		}
		round = r;
	}
	b.round = (unsigned)round;
	today(day);
	if (strcmp(b.from, day) < 0)
		fprintf(stderr,
		        "hotline: note: the talks would start on %s, before today (%s, UTC)\n",
		        b.from, day);
	if ((rc = queue_talks(st, &peer, channel, &b, HL_PREC_ROUTINE, op, id)))
		goto out;
	hl_talks_ordinal(b.round, ord);
	printf("%s\n", id);
	fprintf(stderr, "proposed talks %s to %s: %s, %s to %s, %s%s%s%s%s%s\n", id, peer.name,
	        b.title, b.from, b.to, b.place, b.series ? " (" : "", b.series ? ord : "",
	        b.series ? " round of " : "", b.series ? b.series : "", b.series ? ")" : "");
out:
	found_free(&cf);
	hl_store_close(st);
	return rc;
}

/* ---- answers, agenda, held, readout ---- */

struct action {
	const char *verb; /* "accept", ... as the operator typed it */
	unsigned type;
	const char *reason, *from, *to, *item, *op;
	const char *text;
	size_t text_len;
};

/* Words for the operator about why the action does not fit the talks as they stand. */
static int
refuse_action(const struct found *f, const struct action *a, const char *why)
{
	const struct hl_talks *t = f->t;
	const char *id = t->proposal->id;
	const char *state = hl_talks_state_name(t->state);

	if (a->type == HL_TK_READOUT && t->state != HL_TS_HELD)
		return fail("talks %s are %s, not held: a readout is attached once they were "
		            "held ('hotline talks held %s'); nothing was stored",
		            id, state, id);
	if ((a->type == HL_TK_ACCEPT || a->type == HL_TK_DECLINE) &&
	    (t->state == HL_TS_PROPOSED || t->state == HL_TS_POSTPONED) &&
	    t->awaiting == HL_SIDE_PEER)
		return fail("talks %s are %s by this station: only %s can %s them now; nothing "
		            "was stored",
		            id, state, f->peer.name, a->verb);
	if (a->type == HL_TK_HELD && t->state != HL_TS_ACCEPTED)
		return fail("talks %s are %s: only accepted talks can be recorded as held; nothing "
		            "was stored",
		            id, state);
	return fail("talks %s: cannot %s: %s; nothing was stored", id, a->verb, why);
}

static int
act(struct hl_store *st, const char *id, const struct action *a)
{
	static const unsigned prec[HL_TK_COUNT] = {
	    [HL_TK_PROPOSE] = HL_PREC_ROUTINE,  [HL_TK_ACCEPT] = HL_PREC_PRIORITY,
	    [HL_TK_DECLINE] = HL_PREC_PRIORITY, [HL_TK_POSTPONE] = HL_PREC_PRIORITY,
	    [HL_TK_AGENDA] = HL_PREC_ROUTINE,   [HL_TK_HELD] = HL_PREC_ROUTINE,
	    [HL_TK_READOUT] = HL_PREC_ROUTINE};
	struct hl_talks_body b = {0};
	struct found f;
	char why[HL_TALKS_ERR_MAX], eid[HL_MSGID_LEN + 1], day[HL_TALKS_DATE_LEN + 1];
	int rc;

	if ((rc = find_talks(st, "talks", id, &f)))
		return rc;
	if (!f.t) {
		rc =
		    fail("talks %s were imported from the public record: they are not on the line, "
		         "and nothing can be added to them",
		         id);
		goto out;
	}
	b.type = a->type;
	b.rev = f.t->rev + 1;
	memcpy(b.talks, f.t->proposal->hash, HL_HASH_LEN);
	memcpy(b.after, f.t->basis, HL_HASH_LEN);
	b.reason = a->reason;
	b.from = a->from;
	b.to = a->to;
	b.item = a->item;
	b.text = a->text;
	b.text_len = a->text_len;
	if (!hl_talks_judge(f.t, HL_SIDE_US, &b, why, sizeof why)) {
		rc = refuse_action(&f, a, why);
		goto out;
	}
	today(day);
	if (a->type == HL_TK_HELD && strcmp(f.t->from, day) > 0) {
		rc = fail("talks %s begin on %s: they cannot be recorded as held before (today is "
		          "%s, UTC); nothing was stored",
		          f.t->proposal->id, f.t->from, day);
		goto out;
	}
	if (a->type == HL_TK_POSTPONE && a->from && strcmp(a->from, day) < 0)
		fprintf(stderr,
		        "hotline: note: the new dates start on %s, before today (%s, UTC)\n",
		        a->from, day);
	if ((rc = queue_talks(st, &f.peer, f.t->proposal->channel, &b, prec[a->type], a->op, eid)))
		goto out;
	printf("%s\n", eid);
	switch (a->type) {
	case HL_TK_ACCEPT:
	case HL_TK_DECLINE:
		fprintf(stderr, "talks %s %s by %s (%s)\n", f.t->proposal->id,
		        a->type == HL_TK_ACCEPT ? "accepted" : "declined", a->op,
		        f.t->state == HL_TS_ACCEPTED ? "called off" : "answer to the proposal");
		break;
	case HL_TK_POSTPONE:
		if (a->from)
			fprintf(stderr, "talks %s postponed to %s to %s by %s: %s\n",
			        f.t->proposal->id, a->from, a->to, a->op, a->reason);
		else
			fprintf(stderr, "talks %s postponed without new dates by %s: %s\n",
			        f.t->proposal->id, a->op, a->reason);
		break;
	case HL_TK_AGENDA:
		fprintf(stderr, "added to the agenda of talks %s: %s\n", f.t->proposal->id,
		        a->item);
		break;
	case HL_TK_HELD:
		fprintf(stderr, "talks %s recorded as held by %s\n", f.t->proposal->id, a->op);
		break;
	case HL_TK_READOUT:
		fprintf(stderr,
		        "readout of talks %s (version %zu of this station's, %zu bytes) by %s\n",
		        f.t->proposal->id, f.t->nreadouts[HL_SIDE_US] + 1, a->text_len, a->op);
		break;
	default:
		break;
	}
out:
	found_free(&f);
	return rc;
}

/* Standard input, at most max bytes (HL_ERR_LIMIT past them), NUL-terminated. */
static int
read_stdin(size_t max, char **out, size_t *len)
{
	char *buf = malloc(max + 2);
	size_t got = 0;

	*out = NULL;
	*len = 0;
	if (!buf)
		return HL_ERR_NOMEM;
	while (got <= max) {
		ssize_t r = read(0, buf + got, max + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return HL_ERR_IO;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > max) {
		free(buf);
		return HL_ERR_LIMIT;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return HL_OK;
}

static int
talks_act(int argc, char **argv, unsigned type)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},   {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},       {"file", required_argument, NULL, 'F'},
	    {"operator", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
	struct action a = {argv[0], type, NULL, NULL, NULL, NULL, NULL, NULL, 0};
	const char *verb = "talks", *file = NULL, *id;
	struct hl_store *st;
	char *text = NULL;
	size_t len = 0;
	int c, rc, want = 1;

	if (type == HL_TK_AGENDA) {
		/* talks agenda add ID ITEM */
		if (argc < 2 || strcmp(argv[1], "add") != 0)
			return usage_error(verb, "talks agenda needs add ID ITEM");
		argc--;
		argv++;
		want = 2;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a.reason = optarg;
			break;
		case 'f':
			a.from = optarg;
			break;
		case 't':
			a.to = optarg;
			break;
		case 'F':
			file = optarg;
			break;
		case 'o':
			a.op = optarg;
			break;
		default:
			return usage_error(verb, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != want)
		return usage_error(verb, "talks %s needs %s", a.verb,
		                   type == HL_TK_AGENDA ? "add ID ITEM" : "one talks ID");
	id = argv[optind];
	if (type == HL_TK_AGENDA)
		a.item = argv[optind + 1];
	if ((rc = need_dir(verb)) || (rc = check_operator(verb, a.op)))
		return rc;
	if ((a.reason || type == HL_TK_DECLINE || type == HL_TK_POSTPONE) &&
	    (rc = check_line(verb, "--reason", a.reason, HL_TALKS_REASON_MAX)))
		return rc;
	if (a.reason && type != HL_TK_ACCEPT && type != HL_TK_DECLINE && type != HL_TK_POSTPONE)
		return usage_error(verb, "--reason goes with accept, decline and postpone");
	if ((a.from || a.to) && type != HL_TK_POSTPONE)
		return usage_error(verb, "--from and --to go with propose and postpone");
	if ((a.from || a.to) && (rc = check_dates(verb, a.from, a.to)))
		return rc;
	if (type == HL_TK_AGENDA &&
	    (rc = check_line(verb, "the agenda item", a.item, HL_TALKS_TEXT_MAX)))
		return rc;
	if (file && type != HL_TK_READOUT)
		return usage_error(verb, "--file goes with readout");
	if (type == HL_TK_READOUT) {
		if (!file)
			return usage_error(verb, "talks readout needs --file PATH");
		rc = strcmp(file, "-") == 0 ? read_stdin(HL_TALKS_READOUT_MAX, &text, &len)
		                            : hl_file_read(file, HL_TALKS_READOUT_MAX, &text, &len);
		if (rc == HL_ERR_LIMIT)
			return fail("the readout %s is larger than %d bytes (64 KiB): shorten it; "
			            "nothing was stored",
			            file, HL_TALKS_READOUT_MAX);
		if (rc < 0)
			return fail("cannot read the readout %s: %s", file, hl_strerror(rc));
		if (!hl_talks_text_valid((const uint8_t *)text, len)) {
			free(text);
			return fail(
			    "the readout %s must be UTF-8 text, not empty, without control "
			    "characters other than line breaks and tabs; nothing was stored",
			    file);
		}
		a.text = text;
		a.text_len = len;
	}
	if ((rc = open_store(&st, false)) == 0) {
		rc = act(st, id, &a);
		hl_store_close(st);
	}
	free(text);
	return rc;
}

/* ---- list, show ---- */

/* Every talks with one peer (line and imported) appended to arr as JSON. An exit status. */
static int
collect(struct hl_store *st, const struct hl_peer_rec *peer, const char *self, json_t *arr,
        const struct hl_codebook *cb)
{
	const char *names[2] = {self, peer->name};
	struct hl_talks_reg reg;
	json_t *imp = NULL;
	int rc;

	if ((rc = hl_store_talks_load(st, peer->id, &reg)) < 0 ||
	    (rc = hl_store_talks_imported(st, peer->id, &imp)) < 0) {
		hl_talks_reg_free(&reg);
		return fail("cannot read the talks with %s: %s", peer->name, hl_strerror(rc));
	}
	for (size_t i = 0; i < reg.ntalks; i++) {
		json_t *o = hl_talks_json(&reg.talks[i], names);
		if (o && cb)
			add_renderings(o, cb);
		if (!o || json_array_append_new(arr, o) != 0)
			rc = HL_ERR_NOMEM;
	}
	for (size_t i = 0; i < json_array_size(imp); i++) {
		json_t *e = json_array_get(imp, i);
		json_t *o = hl_talks_imported_json(json_object_get(e, "record"), names);
		if (o)
			json_object_set_new(json_object_get(o, "local"), "imported_at",
			                    hl_json_time((uint64_t)json_integer_value(
			                        json_object_get(e, "imported_ns"))));
		if (!o || json_array_append_new(arr, o) != 0)
			rc = HL_ERR_NOMEM;
	}
	hl_talks_reg_free(&reg);
	json_decref(imp);
	return rc < 0 ? fail("out of memory") : 0;
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/*
 * Text from the other side goes to a terminal: control characters but
 * newlines and tabs become '?'; each line indented; one newline at the end.
 */
static void
print_text(const char *s, const char *indent)
{
	fputs(indent, stdout);
	for (; *s; s++) {
		if (*s == '\n') {
			putchar('\n');
			if (s[1])
				fputs(indent, stdout);
			else
				return;
		} else {
			putchar(((uint8_t)*s < 0x20 && *s != '\t') || *s == 0x7f ? '?' : *s);
		}
	}
	putchar('\n');
}

static int
by_date(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const json_t *dx = json_object_get(x, "dates"), *dy = json_object_get(y, "dates");
	const char *fx =
	    jstr(json_is_object(dx) ? dx : json_object_get(x, "proposed_dates"), "from");
	const char *fy =
	    jstr(json_is_object(dy) ? dy : json_object_get(y, "proposed_dates"), "from");
	int c = strcmp(fx, fy);

	return c ? c : strcmp(jstr(x, "id"), jstr(y, "id"));
}

static int
talks_list(int argc, char **argv)
{
	const char *verb = "talks", *peer = NULL;
	struct hl_peer_rec *peers = NULL;
	struct hl_config cfg;
	struct hl_store *st;
	json_t *arr;
	bool json = false, any = false;
	char err[512];
	size_t n = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-' || peer)
			return usage_error(verb, "unexpected argument '%s'", argv[i]);
		else
			peer = argv[i];
	}
	if ((rc = need_dir(verb)))
		return rc;
	if (hl_config_load(&cfg, station_dir, err, sizeof err) < 0)
		return fail("%s", err);
	if ((rc = open_store(&st, false)))
		return rc;
	if ((rc = hl_store_peer_list(st, &peers, &n)) < 0) {
		hl_store_close(st);
		return fail("cannot read the store: %s", hl_strerror(rc));
	}
	arr = json_array();
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (peer && strcmp(peers[i].name, peer) != 0)
			continue;
		any = true;
		rc = collect(st, &peers[i], cfg.name, arr, NULL);
	}
	free(peers);
	hl_store_close(st);
	if (rc == 0 && peer && !any)
		rc = fail("no peer named %s: see 'hotline peer list'", peer);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	/* One list by dates, whatever peer: the order an operator plans by. */
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	json_t **v = calloc(json_array_size(arr) + 1, sizeof *v);
	if (!v) {
		json_decref(arr);
		return fail("out of memory");
	}
	for (size_t i = 0; i < json_array_size(arr); i++)
		v[i] = json_array_get(arr, i);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	qsort(v, json_array_size(arr), sizeof *v, by_date);
	if (json) {
		json_t *out = json_array();
		for (size_t i = 0; i < json_array_size(arr); i++)
			json_array_append(out, v[i]);
		print_sorted(out);
	} else {
		printf("%-16s %-12s %-23s %-32s %-6s %s\n", "ID", "WITH", "DATES", "STATE", "ROUND",
		       "TITLE");
		for (size_t i = 0; i < json_array_size(arr); i++) {
			const json_t *o = v[i], *d = json_object_get(o, "dates");
			const json_t *l = json_object_get(o, "local");
			char dates[32] = "(none)", state[96];
			if (json_is_object(d))
				snprintf(dates, sizeof dates, "%s..%s", jstr(d, "from"),
				         jstr(d, "to"));
			snprintf(state, sizeof state, "%s%s", jstr(o, "state_text"),
			         strcmp(jstr(o, "source"), "imported") == 0 ? " (imported)" : "");
			printf("%-16s %-12s %-23s %-32s %-6s ", jstr(o, "id"), jstr(l, "peer"),
			       dates, state,
			       json_is_string(json_object_get(o, "round_name"))
			           ? jstr(o, "round_name")
			           : "-");
			print_text(jstr(o, "title"), "");
		}
	}
	free(v);
	json_decref(arr);
	return 0;
}

/* How a history entry reads: "postponed to 2027-01-08 to 2027-01-09: reason". */
static void
print_step(const json_t *h)
{
	const char *type = jstr(h, "type");
	const json_t *d = json_object_get(h, "dates");
	char what[HL_TALKS_TEXT_MAX * 4 + 64] = "";

	if (strcmp(type, "postpone") == 0 && json_is_object(d))
		snprintf(what, sizeof what, "postponed to %s to %s", jstr(d, "from"),
		         jstr(d, "to"));
	else if (strcmp(type, "postpone") == 0)
		snprintf(what, sizeof what, "postponed without new dates");
	else if (strcmp(type, "accept") == 0)
		snprintf(what, sizeof what, "accepted");
	else if (strcmp(type, "decline") == 0)
		snprintf(what, sizeof what, "declined");
	else if (strcmp(type, "agenda") == 0)
		snprintf(what, sizeof what, "agenda item: %s", jstr(h, "item"));
	else if (strcmp(type, "held") == 0)
		snprintf(what, sizeof what, "recorded as held");
	else if (strcmp(type, "readout") == 0)
		snprintf(what, sizeof what, "readout (%lld bytes)",
		         (long long)json_integer_value(json_object_get(h, "bytes")));
	printf("    %-24s %-12s %s (operator %s, %s)", jstr(h, "at"), jstr(h, "by"), what,
	       jstr(h, "operator"), jstr(h, "id"));
	if (json_is_string(json_object_get(h, "reason")))
		printf(": %s", jstr(h, "reason"));
	putchar('\n');
	if (!json_is_true(json_object_get(h, "applied")))
		printf("    %-24s %-12s NOT APPLIED: %s\n", "", "", jstr(h, "note"));
}

static void
print_readouts(const json_t *o)
{
	json_t *rd = json_object_get(o, "readouts");
	const char *name;
	json_t *arr;

	json_object_foreach(rd, name, arr)
	{
		size_t n = json_array_size(arr);
		if (!n) {
			if (strcmp(jstr(o, "state"), "held") == 0 ||
			    strcmp(jstr(o, "state"), "read_out") == 0)
				printf("readout of %s: none yet\n", name);
			continue;
		}
		/* The latest version first, then the ones it corrected. */
		for (size_t k = n; k-- > 0;) {
			const json_t *r = json_array_get(arr, k);
			printf("readout of %s, version %lld of %zu%s", name,
			       (long long)json_integer_value(json_object_get(r, "version")), n,
			       k + 1 < n ? " (superseded)" : "");
			if (json_is_string(json_object_get(r, "operator")))
				printf(", by %s at %s", jstr(r, "operator"), jstr(r, "at"));
			else if (json_is_string(json_object_get(r, "at")))
				printf(", issued %s", jstr(r, "at"));
			if (json_is_string(json_object_get(r, "source")))
				printf(", source %s", jstr(r, "source"));
			printf(":\n");
			print_text(jstr(r, "text"), "  | ");
		}
	}
}

static void
print_talks(const json_t *o, unsigned lang)
{
	const json_t *d = json_object_get(o, "dates"), *pd = json_object_get(o, "proposed_dates");
	const json_t *agenda = json_object_get(o, "agenda"), *hist = json_object_get(o, "history");
	const json_t *rendered = json_object_get(json_object_get(o, "local"), "rendered");
	bool imported = strcmp(jstr(o, "source"), "imported") == 0;
	const char *key;
	json_t *v;

	printf("talks %s: ", jstr(o, "id"));
	print_text(jstr(o, "title"), "");
	if (json_is_string(json_object_get(o, "series")))
		printf("  series:    %s%s%s%s\n", jstr(o, "series"),
		       json_is_string(json_object_get(o, "round_name")) ? ", " : "",
		       jstr(o, "round_name"),
		       json_is_string(json_object_get(o, "round_name")) ? " round" : "");
	if (imported) {
		const json_t *im = json_object_get(o, "imported");
		printf("  source:    imported from the public record (%s), not events on the line: "
		       "no station signed them\n",
		       jstr(im, "file"));
		json_object_foreach(json_object_get(o, "delegations"), key, v)
		    printf("  led for %s by %s\n", key, json_string_value(v));
	} else {
		printf("  proposed:  by %s to %s (operator %s) at %s on channel %s\n",
		       jstr(o, "proposed_by"), jstr(o, "proposed_to"), jstr(o, "operator"),
		       jstr(o, "proposed_at"), jstr(o, "channel"));
		if (json_is_string(json_object_get(o, "counters")))
			printf("  counters:  talks %s (declined)\n", jstr(o, "counters"));
	}
	printf("  level:     %s\n", jstr(o, "level"));
	if (json_is_object(d))
		printf("  dates:     %s to %s", jstr(d, "from"), jstr(d, "to"));
	else
		printf("  dates:     none (postponed without new dates)");
	if (json_is_object(pd) && !json_equal(pd, d))
		printf(" (first proposed for %s to %s)", jstr(pd, "from"), jstr(pd, "to"));
	printf("\n  place:     ");
	print_text(jstr(o, "place"), "");
	printf("  state:     %s\n", jstr(o, "state_text"));
	if (json_is_string(json_object_get(o, "refused")))
		printf("  refused:   %s\n", jstr(o, "refused"));
	if (json_array_size(json_object_get(json_object_get(o, "local"), "undelivered")))
		printf(
		    "  not yet delivered to the peer: %zu of this station's events\n",
		    json_array_size(json_object_get(json_object_get(o, "local"), "undelivered")));
	if (json_array_size(agenda)) {
		printf("agenda:\n");
		for (size_t i = 0; i < json_array_size(agenda); i++) {
			const json_t *a = json_array_get(agenda, i);
			printf("  %zu. ", i + 1);
			print_text(jstr(a, "item"), "");
		}
	}
	if (json_array_size(hist)) {
		printf("history:\n");
		for (size_t i = 0; i < json_array_size(hist); i++)
			print_step(json_array_get(hist, i));
	}
	if (json_array_size(json_object_get(o, "record"))) {
		printf("history (public record):\n");
		for (size_t i = 0; i < json_array_size(json_object_get(o, "record")); i++) {
			const json_t *h = json_array_get(json_object_get(o, "record"), i);
			printf("  %-10s %s\n", jstr(h, "date"), jstr(h, "event"));
		}
	}
	if (rendered) {
		const json_t *p = json_object_get(rendered, "proposal");
		for (unsigned l = HL_LANG_EN; p && l <= HL_LANG_ZH; l++) {
			char tk[16];
			if (lang != HL_LANG_BOTH && lang != l)
				continue;
			snprintf(tk, sizeof tk, "title_%s", hl_lang_name(l));
			printf("the proposal, as the codebook reads it: %s [TALKS]\n", jstr(p, tk));
			print_text(jstr(p, hl_lang_name(l)), "  ");
		}
		json_object_foreach(json_object_get(rendered, "answers"), key, v)
		{
			for (unsigned l = HL_LANG_EN; l <= HL_LANG_ZH; l++) {
				if (lang != HL_LANG_BOTH && lang != l)
					continue;
				printf("answer %s, as the codebook reads it [REPLY]:\n", key);
				print_text(jstr(v, hl_lang_name(l)), "  ");
			}
		}
	}
	print_readouts(o);
	if (json_array_size(json_object_get(o, "notes"))) {
		printf("notes:\n");
		for (size_t i = 0; i < json_array_size(json_object_get(o, "notes")); i++)
			print_text(
			    json_string_value(json_array_get(json_object_get(o, "notes"), i)),
			    "  ");
	}
	if (json_array_size(json_object_get(o, "sources"))) {
		printf("sources:\n");
		for (size_t i = 0; i < json_array_size(json_object_get(o, "sources")); i++)
			print_text(
			    json_string_value(json_array_get(json_object_get(o, "sources"), i)),
			    "  ");
	}
}

static int
talks_show(int argc, char **argv)
{
	const char *verb = "talks", *id = NULL;
	struct hl_codebook *cb = NULL;
	struct hl_config cfg;
	struct hl_store *st;
	struct found f;
	unsigned lang = HL_LANG_EN;
	bool json = false;
	json_t *o;
	char err[512];
	int rc;

	if ((rc = need_dir(verb)))
		return rc;
	if (hl_config_load(&cfg, station_dir, err, sizeof err) == HL_OK)
		lang = cfg.language;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--lang") == 0) {
			if (i + 1 >= argc)
				return usage_error(verb, "--lang needs en, zh or both");
			if (strcmp(argv[++i], "both") == 0)
				lang = HL_LANG_BOTH;
			else if (hl_lang_parse(argv[i], &lang) < 0)
				return usage_error(verb, "--lang must be en, zh or both, not '%s'",
				                   argv[i]);
		} else if (argv[i][0] == '-' || id) {
			return usage_error(verb, "unexpected argument '%s'", argv[i]);
		} else {
			id = argv[i];
		}
	}
	if (!id)
		return usage_error(verb, "talks show needs a talks ID");
	if ((rc = open_store(&st, false)))
		return rc;
	rc = find_talks(st, verb, id, &f);
	hl_store_close(st);
	if (rc)
		return rc;
	const char *names[2];
	names_of(&f, names);
	if (f.t) {
		o = hl_talks_json(f.t, names);
		cb = load_codebook();
		if (o && cb)
			add_renderings(o, cb);
		hl_codebook_free(cb);
	} else {
		o = hl_talks_imported_json(json_object_get(f.imported, "record"), names);
		if (o)
			json_object_set_new(json_object_get(o, "local"), "imported_at",
			                    hl_json_time((uint64_t)json_integer_value(
			                        json_object_get(f.imported, "imported_ns"))));
	}
	found_free(&f);
	if (!o)
		return fail("out of memory");
	if (json) {
		print_sorted(o);
		return 0;
	}
	print_talks(o, lang);
	json_decref(o);
	return 0;
}

/* ---- import ---- */

static int
talks_import(int argc, char **argv)
{
	static const struct option opts[] = {{"as", required_argument, NULL, 'a'},
	                                     {"peer", required_argument, NULL, 'p'},
	                                     {NULL, 0, NULL, 0}};
	const char *verb = "talks", *as = NULL, *peer_name = NULL, *file;
	char err[HL_TALKS_ERR_MAX + 64], other[HL_NAME_MAX + 1], clash[HL_TALKS_IMPORT_ID_MAX + 1];
	char *data = NULL;
	const char *base;
	uint8_t h[HL_HASH_LEN];
	char hex[2 * HL_HASH_LEN + 1];
	struct hl_config cfg;
	struct hl_peer_rec peer;
	struct hl_store *st = NULL;
	json_t *records = NULL;
	size_t len = 0, added = 0, unchanged = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'a')
			as = optarg;
		else if (c == 'p')
			peer_name = optarg;
		else
			return usage_error(verb, "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return usage_error(verb, "talks import needs one FILE");
	file = argv[optind];
	if ((rc = need_dir(verb)))
		return rc;
	if (hl_config_load(&cfg, station_dir, err, sizeof err) < 0)
		return fail("%s", err);
	rc = hl_file_read(file, HL_TALKS_HISTORY_MAX, &data, &len);
	if (rc == HL_ERR_LIMIT)
		return fail("%s is larger than %u bytes: not a talks history file", file,
		            HL_TALKS_HISTORY_MAX);
	if (rc < 0)
		return fail("cannot read %s: %s", file, hl_strerror(rc));
	rc =
	    hl_talks_history_parse(data, len, as ? as : cfg.name, &records, other, err, sizeof err);
	crypto_generichash(h, sizeof h, (const uint8_t *)data, len, NULL, 0);
	free(data);
	if (rc == HL_ERR_NOMEM)
		return fail("out of memory");
	if (rc < 0)
		return fail("%s: %s; nothing was imported", file, err);
	if ((rc = open_store(&st, false)))
		goto out;
	if (!peer_name)
		peer_name = other;
	if ((rc = hl_store_peer_get(st, peer_name, &peer)) < 0) {
		rc = rc == HL_ERR_NOTFOUND
		         ? fail("%s describes talks with %s, and no peer is pinned by that name "
		                "(give the peer with --peer PEER); nothing was imported",
		                file, peer_name)
		         : fail("cannot read the store: %s", hl_strerror(rc));
		goto out;
	}
	/* Where each record came from: the file, by its name and its hash. */
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	for (size_t i = 0; i < json_array_size(records); i++) {
		json_t *r = json_array_get(records, i);
		json_object_set_new(r, "file", json_string(base));
		json_object_set_new(r, "file_hash", json_string(hex));
	}
	rc = hl_store_talks_import(st, peer.id, records, &added, &unchanged, clash);
	if (rc == HL_ERR_EXISTS) {
		rc = fail("talks %s were imported before with other contents (from another file or "
		          "version); nothing was imported",
		          clash);
		goto out;
	}
	if (rc < 0) {
		rc = fail("cannot store the records: %s; nothing was imported", hl_strerror(rc));
		goto out;
	}
	printf("imported %zu talks from the public record into the register with %s (%zu already "
	       "there): ",
	       added, peer.name, unchanged);
	for (size_t i = 0; i < json_array_size(records); i++)
		printf("%s%s", i ? ", " : "",
		       json_string_value(json_object_get(json_array_get(records, i), "id")));
	printf("\n(marked as imported: not events on the line, signed by neither station)\n");
	rc = 0;
out:
	json_decref(records);
	hl_store_close(st);
	return rc;
}

int
cmd_talks(int argc, char **argv)
{
	static const struct {
		const char *name;
		unsigned type;
	} acts[] = {{"accept", HL_TK_ACCEPT},     {"decline", HL_TK_DECLINE},
	            {"postpone", HL_TK_POSTPONE}, {"agenda", HL_TK_AGENDA},
	            {"held", HL_TK_HELD},         {"readout", HL_TK_READOUT}};

	if (argc < 2)
		return usage_error("talks",
		                   "talks needs a command: propose, accept, decline, "
		                   "postpone, agenda, held, readout, list, show or import");
	argc--;
	argv++;
	if (strcmp(argv[0], "propose") == 0)
		return talks_propose(argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return talks_list(argc, argv);
	if (strcmp(argv[0], "show") == 0)
		return talks_show(argc, argv);
	if (strcmp(argv[0], "import") == 0)
		return talks_import(argc, argv);
	for (size_t i = 0; i < ARRAY_SIZE(acts); i++)
		if (strcmp(argv[0], acts[i].name) == 0)
			return talks_act(argc, argv, acts[i].type);
	return usage_error("talks", "unknown talks command '%s'", argv[0]);
}
