/* SPDX-License-Identifier: ISC */
/*
 * test_talks.c: talks bodies, the register's fold and the public record
 * (src/talks.c, src/talks_history.c). The fold is checked for what the
 * line needs of it: the same register from the same events in any order,
 * seen from either station; answers crossing on the wire settled alike;
 * nothing applied out of turn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "talks.h"
#include "store.h"
#include "util.h"
#include "t.h"

#ifndef HL_HISTORY
#define HL_HISTORY "talks/history.json"
#endif

static void
dates_and_words(void)
{
	char o[16];

	T_OK(hl_talks_date_valid("2024-02-29"), "2024-02-29 exists");
	T_OK(!hl_talks_date_valid("2023-02-29"), "2023-02-29 does not");
	T_OK(!hl_talks_date_valid("2024-13-01"), "month 13");
	T_OK(!hl_talks_date_valid("2024-1-01"), "one-digit month");
	T_OK(!hl_talks_date_valid("1969-12-31"), "before 1970");
	T_OK(!hl_talks_date_valid("2024-01-01T00:00Z"), "a time is not a date");
	T_OK(!hl_talks_date_valid(NULL), "NULL");
	static const struct {
		unsigned n;
		const char *s;
	} ords[] = {{1, "1st"},   {2, "2nd"},     {3, "3rd"},     {4, "4th"},    {11, "11th"},
	            {12, "12th"}, {13, "13th"},   {17, "17th"},   {21, "21st"},  {22, "22nd"},
	            {23, "23rd"}, {101, "101st"}, {111, "111th"}, {112, "112th"}};
	for (size_t i = 0; i < ARRAY_SIZE(ords); i++) {
		hl_talks_ordinal(ords[i].n, o);
		T_OK(strcmp(o, ords[i].s) == 0, "ordinal %u is %s (got %s)", ords[i].n, ords[i].s,
		     o);
	}
	T_OK(hl_talks_line_valid("第十七次国防政策协调会谈", 12), "12 Chinese characters fit 12");
	T_OK(!hl_talks_line_valid("第十七次国防政策协调会谈", 11), "... but not 11");
	T_OK(!hl_talks_line_valid("two\nlines", 100), "a line has no newline");
	T_OK(!hl_talks_line_valid("", 100), "a line is not empty");
	T_OK(hl_talks_text_valid((const uint8_t *)"a\r\nb\tc", 6),
	     "text keeps line breaks and tabs");
	T_OK(!hl_talks_text_valid((const uint8_t *)"a\x1b[2J", 5), "text has no escape");
	T_OK(!hl_talks_text_valid((const uint8_t *)"\xff", 1), "text is UTF-8");
}

static uint8_t P[HL_HASH_LEN]; /* the proposal's hash in the bodies below */

static void
hash_of(const char *what, uint8_t out[static HL_HASH_LEN])
{
	crypto_generichash(out, HL_HASH_LEN, (const uint8_t *)what, strlen(what), NULL, 0);
}

static struct hl_talks_body
proposal(void)
{
	struct hl_talks_body b = {0};

	b.type = HL_TK_PROPOSE;
	b.rev = 1;
	b.title = "Defense Policy Coordination Talks";
	b.level = "working";
	b.place = "Washington";
	b.from = "2027-01-08";
	b.to = "2027-01-09";
	b.series = "Defense Policy Coordination Talks";
	b.round = 18;
	b.agenda[0] = "Maritime safety";
	b.agenda[1] = "海上安全";
	b.nagenda = 2;
	return b;
}

static struct hl_talks_body
answer(unsigned type, uint64_t rev, const uint8_t *after)
{
	struct hl_talks_body b = {0};

	b.type = type;
	b.rev = rev;
	memcpy(b.talks, P, HL_HASH_LEN);
	if (after)
		memcpy(b.after, after, HL_HASH_LEN);
	return b;
}

/* Encode (must succeed), decode, encode again: the same bytes. */
static void
roundtrip(const struct hl_talks_body *b, const char *what)
{
	struct hl_talks_body d;
	char *s = NULL, *s2 = NULL, err[HL_TALKS_ERR_MAX];
	size_t n = 0, n2 = 0;

	T_EQ_INT(hl_talks_body_encode(b, &s, &n, err, sizeof err), HL_OK, what);
	T_EQ_INT(hl_talks_body_decode((const uint8_t *)s, n, &d, err, sizeof err), HL_OK,
	         "... decodes");
	T_OK(d.type == b->type && d.rev == b->rev, "... the same type and rev");
	T_EQ_INT(hl_talks_body_encode(&d, &s2, &n2, err, sizeof err), HL_OK, "... re-encodes");
	T_OK(n == n2 && memcmp(s, s2, n) == 0, "... to the same bytes");
	hl_talks_body_free(&d);
	free(s);
	free(s2);
}

static void
refused(const char *body, const char *want, const char *what)
{
	struct hl_talks_body d;
	char err[HL_TALKS_ERR_MAX] = "";
	int rc = hl_talks_body_decode((const uint8_t *)body, strlen(body), &d, err, sizeof err);

	T_OK(rc == HL_ERR_PROTO && strstr(err, want), "%s: refused (%s)", what, err);
	if (rc == HL_OK)
		hl_talks_body_free(&d);
}

static void
bodies(void)
{
	struct hl_talks_body b = proposal(), a;
	char err[HL_TALKS_ERR_MAX], *s = NULL, big[HL_TALKS_READOUT_MAX + 2];
	size_t n;
	uint8_t h[HL_HASH_LEN];

	hash_of("after", h);
	roundtrip(&b, "a proposal with series, round and agenda");
	b.has_counters = true;
	hash_of("countered", b.counters);
	roundtrip(&b, "a counter-proposal");
	a = answer(HL_TK_ACCEPT, 2, P);
	roundtrip(&a, "an acceptance without a reason");
	a.reason = "agreed";
	roundtrip(&a, "an acceptance with one");
	a = answer(HL_TK_DECLINE, 3, h);
	a.reason = "no";
	roundtrip(&a, "a decline");
	a = answer(HL_TK_POSTPONE, 4, h);
	a.reason = "holiday";
	roundtrip(&a, "a postponement without dates");
	a.from = "2027-02-01";
	a.to = "2027-02-01";
	roundtrip(&a, "a postponement to one day");
	a = answer(HL_TK_AGENDA, 5, NULL);
	a.item = "Taiwan";
	roundtrip(&a, "an agenda item");
	a = answer(HL_TK_HELD, 6, h);
	roundtrip(&a, "held");
	a = answer(HL_TK_READOUT, 7, NULL);
	a.text = "line one\nline \"two\"\t中文\n";
	a.text_len = strlen(a.text);
	roundtrip(&a, "a readout with lines, quotes and Chinese");
	memset(big, 'x', sizeof big);
	a.text = big;
	a.text_len = HL_TALKS_READOUT_MAX;
	roundtrip(&a, "a readout of exactly 64 KiB");
	a.text_len = HL_TALKS_READOUT_MAX + 1;
	T_EQ_INT(hl_talks_body_encode(&a, &s, &n, err, sizeof err), HL_ERR_INVAL,
	         "64 KiB + 1 refused");
	T_OK(strstr(err, "65536") != NULL, "... saying the limit (%s)", err);

	b = proposal();
	b.to = "2027-01-07";
	T_EQ_INT(hl_talks_body_encode(&b, &s, &n, err, sizeof err), HL_ERR_INVAL,
	         "end before start");
	T_OK(strstr(err, "before the start date") != NULL, "... %s", err);
	b = proposal();
	b.series = NULL;
	T_EQ_INT(hl_talks_body_encode(&b, &s, &n, err, sizeof err), HL_ERR_INVAL,
	         "a round without a series");
	a = answer(HL_TK_DECLINE, 2, P);
	T_EQ_INT(hl_talks_body_encode(&a, &s, &n, err, sizeof err), HL_ERR_INVAL,
	         "a decline without a reason");

	const char *hx = "0000000000000000000000000000000000000000000000000000000000000000";
	char buf[512];
	refused("{\"rev\":1,\"type\":\"propose\"}", "needs", "a proposal without its fields");
	refused("{\"rev\": 2,\"talks\":\"x\",\"type\":\"held\"}", "", "not canonical (a space)");
	snprintf(buf, sizeof buf, "{\"type\":\"held\",\"after\":\"%s\",\"rev\":2,\"talks\":\"%s\"}",
	         hx, hx);
	refused(buf, "canonical", "keys not sorted");
	snprintf(buf, sizeof buf, "{\"after\":\"%s\",\"rev\":2,\"talks\":\"%s\",\"type\":\"held\"}",
	         hx, hx);
	struct hl_talks_body d;
	T_EQ_INT(hl_talks_body_decode((const uint8_t *)buf, strlen(buf), &d, err, sizeof err),
	         HL_OK, "the canonical held body decodes");
	hl_talks_body_free(&d);
	buf[strlen(buf) - 1] = ' ';
	strcat(buf, "}");
	refused(buf, "canonical", "a trailing space");
	snprintf(buf, sizeof buf,
	         "{\"after\":\"%s\",\"rev\":2,\"talks\":\"%s\",\"type\":\"held\",\"x\":1}", hx, hx);
	refused(buf, "no member 'x'", "an unknown member");
	snprintf(buf, sizeof buf, "{\"after\":\"%s\",\"rev\":0,\"talks\":\"%s\",\"type\":\"held\"}",
	         hx, hx);
	refused(buf, "rev", "rev 0");
	snprintf(buf, sizeof buf,
	         "{\"after\":\"%.63sA\",\"rev\":2,\"talks\":\"%s\",\"type\":\"held\"}", hx, hx);
	refused(buf, "canonical", "upper-case hex");
	snprintf(buf, sizeof buf,
	         "{\"after\":\"%s\",\"rev\":2,\"rev\":3,\"talks\":\"%s\",\"type\":\"held\"}", hx,
	         hx);
	refused(buf, "JSON", "a duplicate key");
	refused("{\"rev\":1,\"type\":\"nope\"}", "unknown type", "an unknown type");
	refused("[1]", "object", "not an object");
	snprintf(buf, sizeof buf,
	         "{\"rev\":2,\"talks\":\"%s\",\"text\":\"a\\u001bb\",\"type\":\"readout\"}", hx);
	refused(buf, "control", "a readout with an escape character");
	refused("{\"from\":\"2027-01-02\",\"level\":\"w\",\"place\":\"p\",\"rev\":1,\"round\":3,"
	        "\"title\":\"t\",\"to\":\"2027-01-02\",\"type\":\"propose\"}",
	        "series", "a round without a series");
}

/* ---- the fold ---- */

struct ev {
	int side;
	const char *seed; /* its hash: BLAKE2b of this */
	struct hl_talks_body b;
	const char *refusal;
};

/* The register of these events seen from side `view` (0: the proposer's station), in this order. */
static json_t *
register_of(const struct ev *evs, size_t n, const size_t *order, int view, size_t *norphans,
            struct hl_talks_reg *keep)
{
	static const char *const names[2][2] = {{"washington", "beijing"},
	                                        {"beijing", "washington"}};
	struct hl_talks_reg reg = {0};
	char *bodies[16];
	char err[HL_TALKS_ERR_MAX];
	json_t *arr = json_array();

	reg.events = calloc(n, sizeof *reg.events);
	reg.nevents = n;
	for (size_t k = 0; k < n; k++) {
		const struct ev *e = &evs[order ? order[k] : k];
		struct hl_talks_event *x = &reg.events[k];
		size_t len = 0;
		if (hl_talks_body_encode(&e->b, &bodies[k], &len, err, sizeof err) < 0) {
			printf("# encode: %s\n", err);
			bodies[k] = NULL;
		}
		x->side = view == 0 ? e->side : !e->side;
		hash_of(e->seed, x->hash);
		snprintf(x->operator_name, sizeof x->operator_name, "op-%s", e->seed);
		snprintf(x->channel, sizeof x->channel, "general");
		x->created_ns = 1000 + k;
		x->delivery = x->side == HL_SIDE_US ? HL_ST_DELIVERED : HL_ST_RECEIVED;
		if (e->refusal)
			snprintf(x->refusal, sizeof x->refusal, "%s", e->refusal);
		x->body = (const uint8_t *)bodies[k];
		x->body_len = len;
	}
	if (hl_talks_reg_build(&reg) < 0)
		printf("# build failed\n");
	for (size_t k = 0; k < n; k++)
		free(bodies[k]);
	/* created_ns differs with the order given: compare without times. */
	for (size_t j = 0; j < reg.ntalks; j++) {
		json_t *o = hl_talks_json(&reg.talks[j], names[view]);
		json_object_del(o, "local");
		json_object_del(o, "proposed_at");
		for (size_t i = 0; i < json_array_size(json_object_get(o, "history")); i++)
			json_object_del(json_array_get(json_object_get(o, "history"), i), "at");
		for (size_t i = 0; i < json_array_size(json_object_get(o, "agenda")); i++)
			json_object_del(json_array_get(json_object_get(o, "agenda"), i), "at");
		const char *who;
		json_t *v;
		json_object_foreach(json_object_get(o, "readouts"), who, v)
		{
			for (size_t i = 0; i < json_array_size(v); i++)
				json_object_del(json_array_get(v, i), "at");
		}
		json_array_append_new(arr, o);
	}
	if (norphans)
		*norphans = reg.norphans;
	if (keep)
		*keep = reg;
	else
		hl_talks_reg_free(&reg);
	return arr;
}

static const json_t *
first(const json_t *arr)
{
	return json_array_get(arr, 0);
}

static const char *
jstate(const json_t *arr)
{
	return json_string_value(json_object_get(first(arr), "state"));
}

static size_t
not_applied(const json_t *arr)
{
	const json_t *h = json_object_get(first(arr), "history");
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(h); i++)
		n += !json_is_true(json_object_get(json_array_get(h, i), "applied"));
	return n;
}

/* The same events in every order of the last three, and from both stations: one register. */
static void
same_everywhere(const struct ev *evs, size_t n, const char *what)
{
	static const size_t perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
	                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	size_t order[16];
	json_t *ref = register_of(evs, n, NULL, 0, NULL, NULL);
	bool same = true;

	for (int view = 0; view < 2; view++)
		for (size_t p = 0; p < 6 && n >= 3; p++) {
			for (size_t k = 0; k < n; k++)
				order[k] = k;
			for (size_t k = 0; k < 3; k++)
				order[n - 3 + k] = n - 3 + perms[p][k];
			json_t *r = register_of(evs, n, order, view, NULL, NULL);
			same = same && json_equal(r, ref);
			json_decref(r);
		}
	T_OK(same, "%s: the same register in any order, from either station", what);
	json_decref(ref);
}

static void
folds(void)
{
	uint8_t hp[HL_HASH_LEN], ha[HL_HASH_LEN], hpp[HL_HASH_LEN], hh[HL_HASH_LEN];
	struct ev evs[12];
	json_t *r;
	size_t orph;

	hash_of("P", P);
	hash_of("P", hp);
	hash_of("A", ha);
	hash_of("PP", hpp);
	hash_of("H", hh);

	/* proposed, postponed by the other side, accepted by the proposer, held, read out by both
	 */
	evs[0] = (struct ev){0, "P", proposal(), NULL};
	evs[1] = (struct ev){1, "PP", answer(HL_TK_POSTPONE, 2, hp), NULL};
	evs[1].b.reason = "a holiday";
	evs[1].b.from = "2027-02-01";
	evs[1].b.to = "2027-02-02";
	evs[2] = (struct ev){0, "A", answer(HL_TK_ACCEPT, 3, hpp), NULL};
	evs[3] = (struct ev){1, "G", answer(HL_TK_AGENDA, 4, NULL), NULL};
	evs[3].b.item = "Taiwan";
	evs[4] = (struct ev){0, "H", answer(HL_TK_HELD, 5, ha), NULL};
	evs[5] = (struct ev){0, "R1", answer(HL_TK_READOUT, 6, NULL), NULL};
	evs[5].b.text = "ours";
	evs[5].b.text_len = 4;
	evs[6] = (struct ev){1, "R2", answer(HL_TK_READOUT, 6, NULL), NULL};
	evs[6].b.text = "theirs";
	evs[6].b.text_len = 6;
	evs[7] = (struct ev){0, "R3", answer(HL_TK_READOUT, 7, NULL), NULL};
	evs[7].b.text = "ours, corrected";
	evs[7].b.text_len = 15;
	r = register_of(evs, 8, NULL, 0, NULL, NULL);
	T_OK(strcmp(jstate(r), "read_out") == 0, "full cycle: read out (%s)", jstate(r));
	T_OK(not_applied(r) == 0, "... every event applied");
	const json_t *t = first(r);
	T_OK(strcmp(json_string_value(json_object_get(json_object_get(t, "dates"), "from")),
	            "2027-02-01") == 0,
	     "... the postponed dates");
	const json_t *ours = json_object_get(json_object_get(t, "readouts"), "washington");
	T_OK(json_array_size(ours) == 2 &&
	         strcmp(json_string_value(json_object_get(json_array_get(ours, 0), "text")),
	                "ours") == 0,
	     "... the first version kept");
	T_OK(json_is_true(json_object_get(json_array_get(ours, 1), "latest")),
	     "... the correction is the latest");
	T_OK(json_array_size(json_object_get(t, "agenda")) == 3, "... 2 + 1 agenda items");
	json_decref(r);
	same_everywhere(evs, 8, "full cycle (readouts crossing)");

	/* Answers crossing: the proposer postpones while the other side accepts, both at rev 2. */
	evs[1] = (struct ev){0, "PP", answer(HL_TK_POSTPONE, 2, hp), NULL};
	evs[1].b.reason = "a conflict";
	evs[2] = (struct ev){1, "A", answer(HL_TK_ACCEPT, 2, hp), NULL};
	evs[3] = (struct ev){1, "X", answer(HL_TK_AGENDA, 2, NULL), NULL};
	evs[3].b.item = "crossing too";
	r = register_of(evs, 4, NULL, 0, NULL, NULL);
	T_OK(not_applied(r) == 1, "crossing answers: exactly one applies");
	T_OK(strcmp(jstate(r), "postponed") == 0 || strcmp(jstate(r), "accepted") == 0,
	     "... the talks are %s", jstate(r));
	json_decref(r);
	same_everywhere(evs, 4, "crossing answers");

	/* Out of turn: the proposer accepts its own proposal; a readout before held. */
	evs[1] = (struct ev){0, "A", answer(HL_TK_ACCEPT, 2, hp), NULL};
	evs[2] = (struct ev){1, "R", answer(HL_TK_READOUT, 3, NULL), NULL};
	evs[2].b.text = "early";
	evs[2].b.text_len = 5;
	evs[3] = (struct ev){1, "H", answer(HL_TK_HELD, 3, hp), NULL};
	r = register_of(evs, 4, NULL, 0, NULL, NULL);
	T_OK(strcmp(jstate(r), "proposed") == 0 && not_applied(r) == 3,
	     "own acceptance, early readout, held before accepted: none applies (%s, %zu)",
	     jstate(r), not_applied(r));
	json_decref(r);

	/* Either side calls accepted talks off; refused events never apply; orphans counted. */
	evs[1] = (struct ev){1, "A", answer(HL_TK_ACCEPT, 2, hp), NULL};
	evs[2] = (struct ev){0, "D", answer(HL_TK_DECLINE, 3, ha), NULL};
	evs[2].b.reason = "called off";
	evs[3] = (struct ev){1, "Z", answer(HL_TK_HELD, 4, hh), "channel suspended"};
	evs[4] = (struct ev){1, "O", answer(HL_TK_AGENDA, 2, NULL), NULL};
	hash_of("elsewhere", evs[4].b.talks);
	evs[4].b.item = "an orphan";
	r = register_of(evs, 5, NULL, 0, &orph, NULL);
	T_OK(strcmp(jstate(r), "declined") == 0, "the proposer calls accepted talks off (%s)",
	     jstate(r));
	T_OK(not_applied(r) == 1, "the refused event does not apply");
	T_OK(orph == 1, "an event naming other talks is an orphan");
	json_decref(r);

	/* Postponed without dates: nothing to accept until new dates come. */
	evs[1] = (struct ev){1, "PP", answer(HL_TK_POSTPONE, 2, hp), NULL};
	evs[1].b.reason = "sine die";
	evs[2] = (struct ev){0, "A", answer(HL_TK_ACCEPT, 3, hpp), NULL};
	struct hl_talks_reg keep;
	r = register_of(evs, 3, NULL, 0, NULL, &keep);
	T_OK(strcmp(jstate(r), "postponed") == 0 && not_applied(r) == 1,
	     "no dates, no acceptance (%s)", jstate(r));
	T_OK(json_is_null(json_object_get(first(r), "dates")), "... dates null");
	/* hl_talks_judge says the same before anything is sent. */
	struct hl_talks_body b = answer(HL_TK_POSTPONE, 4, keep.talks[0].basis);
	char why[HL_TALKS_ERR_MAX];
	b.reason = "new dates";
	b.from = "2027-03-01";
	b.to = "2027-03-01";
	T_OK(hl_talks_judge(&keep.talks[0], HL_SIDE_US, &b, why, sizeof why),
	     "judge: new dates may come from either side");
	b = answer(HL_TK_READOUT, 4, NULL);
	T_OK(!hl_talks_judge(&keep.talks[0], HL_SIDE_US, &b, why, sizeof why) &&
	         strstr(why, "held"),
	     "judge: no readout before held (%s)", why);
	bool amb;
	char hex[2 * HL_HASH_LEN + 1];
	sodium_bin2hex(hex, sizeof hex, P, HL_HASH_LEN);
	hex[12] = '\0';
	T_OK(hl_talks_find(&keep, hex, &amb) == &keep.talks[0] && !amb,
	     "find by the 12-character id");
	T_OK(hl_talks_find(&keep, "0123456789ab", &amb) == NULL, "an unknown id");
	hl_talks_reg_free(&keep);
	json_decref(r);
}

/* ---- the public record ---- */

static void
history(void)
{
	char *data = NULL, err[HL_TALKS_ERR_MAX], peer[HL_NAME_MAX + 1];
	size_t len = 0;
	json_t *recs = NULL;

	T_EQ_INT(hl_file_read(HL_HISTORY, HL_TALKS_HISTORY_MAX, &data, &len), HL_OK,
	         "read talks/history.json");
	if (!data)
		return;
	T_EQ_INT(hl_talks_history_parse(data, len, "washington", &recs, peer, err, sizeof err),
	         HL_OK, "talks/history.json parses");
	if (!recs)
		printf("# %s\n", err);
	T_OK(json_array_size(recs) == 3 && strcmp(peer, "beijing") == 0,
	     "three talks with beijing");
	const json_t *last = json_array_get(recs, 2);
	T_OK(json_object_get(json_object_get(last, "readouts"), "self") &&
	         json_object_get(json_object_get(last, "readouts"), "peer"),
	     "2024: readouts of both sides, by role");
	static const char *const names[2] = {"washington", "beijing"};
	json_t *o = hl_talks_imported_json(last, names);
	T_OK(o && strcmp(json_string_value(json_object_get(o, "state_text")), "read out by both") ==
	              0,
	     "2024: read out by both");
	T_OK(o && json_integer_value(json_object_get(o, "round")) == 17, "... the 17th round");
	json_decref(o);
	json_decref(recs);
	T_EQ_INT(hl_talks_history_parse(data, len, "moscow", &recs, peer, err, sizeof err),
	         HL_ERR_INVAL, "a station the file does not name");
	T_OK(strstr(err, "--as") != NULL, "... says to use --as (%s)", err);
	free(data);

	static const struct {
		const char *file, *want;
	} bad[] = {
	    {"{\"format\":\"x\"}", "format"},
	    {"{\"format\":\"hotline-talks-history-v1\",\"stations\":{\"washington\":\"a\"},"
	     "\"talks\":[]}",
	     "stations"},
	    {"{\"format\":\"hotline-talks-history-v1\",\"stations\":{\"washington\":\"a\","
	     "\"beijing\":\"b\"},\"talks\":[{\"id\":\"a-1\",\"title\":\"t\",\"level\":\"working\","
	     "\"from\":\"2020-01-01\",\"to\":\"2020-01-01\",\"place\":\"p\",\"sources\":[\"s\"],"
	     "\"readouts\":{\"moscow\":{\"summary\":\"s\",\"source\":\"u\"}}}]}",
	     "not one of the file's stations"},
	    {"{\"format\":\"hotline-talks-history-v1\",\"stations\":{\"washington\":\"a\","
	     "\"beijing\":\"b\"},\"talks\":[{\"id\":\"a-1\",\"title\":\"t\",\"level\":\"working\","
	     "\"from\":\"2020-01-01\",\"to\":\"2020-01-01\",\"place\":\"p\",\"sources\":[\"s\"]},"
	     "{\"id\":\"a-1\",\"title\":\"t\",\"level\":\"working\",\"from\":\"2020-01-01\","
	     "\"to\":\"2020-01-01\",\"place\":\"p\",\"sources\":[\"s\"]}]}",
	     "both have the id"},
	    {"{\"format\":\"hotline-talks-history-v1\",\"stations\":{\"washington\":\"a\","
	     "\"beijing\":\"b\"},\"talks\":[{\"id\":\"0123456789ab\",\"title\":\"t\"}]}",
	     "'id'"},
	    {"{\"format\":\"hotline-talks-history-v1\",\"stations\":{\"washington\":\"a\","
	     "\"beijing\":\"b\"},\"talks\":[{\"id\":\"a-1\",\"title\":\"t\",\"level\":\"working\","
	     "\"from\":\"2020-01-01\",\"to\":\"2020-01-01\",\"place\":\"p\",\"sources\":[\"s\"],"
	     "\"color\":\"red\"}]}",
	     "no member 'color'"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		int rc = hl_talks_history_parse(bad[i].file, strlen(bad[i].file), "washington",
		                                &recs, peer, err, sizeof err);
		T_OK(rc == HL_ERR_INVAL && strstr(err, bad[i].want) && !strchr(err, '\n'),
		     "bad history file %zu refused: %s", i, err);
		if (rc == HL_OK)
			json_decref(recs);
	}
}

/* The peer's event seq (prev as its chain has it) with this body, received: its outcome. */
static int
receive(struct hl_store *st, int64_t peer_id, uint64_t seq, uint8_t prev[static HL_HASH_LEN],
        const char *body, const char *media, char reason[static HL_REASON_MAX + 1])
{
	struct hl_event ev = {0};
	uint8_t hash[HL_HASH_LEN];
	int outcome = -1;

	ev.seq = seq;
	memcpy(ev.prev, prev, HL_HASH_LEN);
	ev.kind = HL_EV_TALKS;
	ev.precedence = HL_PREC_ROUTINE;
	ev.created_ns = 1000 + seq;
	snprintf(ev.channel, sizeof ev.channel, "general");
	snprintf(ev.media_type, sizeof ev.media_type, "%s", media);
	snprintf(ev.operator_name, sizeof ev.operator_name, "Col. Li");
	ev.body = (const uint8_t *)body;
	ev.body_len = (uint32_t)strlen(body);
	hl_event_hash(&ev, hash);
	reason[0] = '\0';
	if (hl_store_begin(st) < 0 ||
	    hl_store_receive(st, peer_id, &ev, hash, &outcome, reason) < 0 ||
	    hl_store_commit(st) < 0)
		outcome = -1;
	memcpy(prev, hash, HL_HASH_LEN);
	return outcome;
}

/* The peer's talks events at the door: a bad body refused, the rest stored; all on its side. */
static void
received(struct hl_store *st)
{
	static const char *const names[2] = {"washington", "beijing"};
	struct hl_peer_rec p = {0};
	struct hl_talks_body b = proposal();
	struct hl_talks_reg reg;
	uint8_t prev[HL_HASH_LEN] = {0};
	char reason[HL_REASON_MAX + 1], *body = NULL, err[HL_TALKS_ERR_MAX],
	                                hex[2 * HL_HASH_LEN + 1];
	size_t len;

	snprintf(p.name, sizeof p.name, "beijing");
	randombytes_buf(p.key.x25519, 32);
	randombytes_buf(p.key.ed25519, 32);
	if (hl_store_peer_add(st, &p) < 0 || hl_store_peer_get(st, "beijing", &p) < 0 ||
	    hl_talks_body_encode(&b, &body, &len, err, sizeof err) < 0) {
		T_OK(false, "a peer and a proposal");
		return;
	}
	T_EQ_INT(receive(st, p.id, 1, prev, body, HL_TALKS_MEDIA, reason), HL_RECV_NEW,
	         "the peer's proposal is received");
	uint8_t proposal_hash[HL_HASH_LEN];
	memcpy(proposal_hash, prev, HL_HASH_LEN);
	free(body);
	T_EQ_INT(receive(st, p.id, 2, prev, "{\"type\": \"held\"}", HL_TALKS_MEDIA, reason),
	         HL_RECV_REFUSED, "a body not canonical is refused");
	T_OK(strstr(reason, "talks event refused") != NULL, "... with the reason (%s)", reason);
	T_EQ_INT(receive(st, p.id, 3, prev, "{}", "text/plain", reason), HL_RECV_REFUSED,
	         "another media type is refused");
	b = answer(HL_TK_READOUT, 2, NULL);
	memcpy(b.talks, proposal_hash, HL_HASH_LEN);
	b.text = "a readout before the talks were held";
	b.text_len = strlen(b.text);
	if (hl_talks_body_encode(&b, &body, &len, err, sizeof err) == HL_OK)
		T_EQ_INT(receive(st, p.id, 4, prev, body, HL_TALKS_MEDIA, reason), HL_RECV_NEW,
		         "a well-formed readout is stored whatever the state: the fold judges it");
	free(body);
	T_EQ_INT(hl_store_talks_load(st, p.id, &reg), HL_OK, "the register");
	sodium_bin2hex(hex, sizeof hex, proposal_hash, HL_HASH_LEN);
	json_t *o = reg.ntalks == 1 ? hl_talks_json(&reg.talks[0], names) : NULL;
	T_OK(o && strcmp(json_string_value(json_object_get(o, "proposed_by")), "beijing") == 0 &&
	         strcmp(json_string_value(json_object_get(o, "hash")), hex) == 0,
	     "one talks, proposed by the peer (its chain), named by the proposal's hash");
	const json_t *h = json_array_get(json_object_get(o, "history"), 0);
	T_OK(json_array_size(json_object_get(o, "history")) == 1 &&
	         strcmp(json_string_value(json_object_get(h, "by")), "beijing") == 0 &&
	         !json_is_true(json_object_get(h, "applied")),
	     "the readout is the peer's (its chain's), not applied before held");
	T_OK(json_array_size(json_object_get(json_object_get(o, "readouts"), "washington")) == 0,
	     "... and nothing is this station's readout");
	json_decref(o);
	hl_talks_reg_free(&reg);
}

/* The imported records in the store: all or nothing, idempotent, a clash named. */
static void
stored(void)
{
	char dir[] = "/tmp/hl-test-talks-XXXXXX", path[512], err[512], peer[HL_NAME_MAX + 1];
	char clash[HL_TALKS_IMPORT_ID_MAX + 1], *data = NULL;
	struct hl_store *st = NULL;
	struct hl_peer_rec p = {0};
	json_t *recs = NULL, *got = NULL;
	size_t len = 0, added = 0, same = 0;

	if (!mkdtemp(dir) || hl_path(path, sizeof path, dir, "station.db") < 0 ||
	    hl_store_open(path, true, &st, err, sizeof err) < 0) {
		T_OK(false, "a store (%s)", err);
		return;
	}
	snprintf(p.name, sizeof p.name, "beijing");
	randombytes_buf(p.key.x25519, 32);
	randombytes_buf(p.key.ed25519, 32);
	T_EQ_INT(hl_store_peer_add(st, &p), HL_OK, "a peer");
	T_EQ_INT(hl_store_peer_get(st, "beijing", &p), HL_OK, "... its id");
	if (hl_file_read(HL_HISTORY, HL_TALKS_HISTORY_MAX, &data, &len) == HL_OK &&
	    hl_talks_history_parse(data, len, "washington", &recs, peer, err, sizeof err) ==
	        HL_OK) {
		T_EQ_INT(hl_store_talks_import(st, p.id, recs, &added, &same, clash), HL_OK,
		         "import");
		T_OK(added == 3 && same == 0, "... 3 added");
		T_EQ_INT(hl_store_talks_import(st, p.id, recs, &added, &same, clash), HL_OK,
		         "again");
		T_OK(added == 0 && same == 3, "... 3 unchanged");
		json_object_set_new(json_array_get(recs, 1), "title", json_string("edited"));
		T_EQ_INT(hl_store_talks_import(st, p.id, recs, &added, &same, clash), HL_ERR_EXISTS,
		         "an edited record clashes");
		T_OK(strcmp(clash, "2017-11-jsdm-1") == 0, "... named (%s)", clash);
		T_EQ_INT(hl_store_talks_imported(st, p.id, &got), HL_OK, "the imported records");
		T_OK(json_array_size(got) == 3, "... three, the first import's");
		T_OK(strcmp(json_string_value(json_object_get(
		                json_object_get(json_array_get(got, 1), "record"), "title")),
		            "edited") != 0,
		     "... the clash stored nothing");
		T_OK(strcmp(json_string_value(json_object_get(
		                json_object_get(json_array_get(got, 0), "record"), "id")),
		            "2010-12-dct-11") == 0,
		     "... by their dates");
		struct hl_talks_reg reg;
		T_EQ_INT(hl_store_talks_load(st, p.id, &reg), HL_OK, "the register on the line");
		T_OK(reg.ntalks == 0, "... holds none of them: imported is not on the line");
		hl_talks_reg_free(&reg);
		T_EQ_INT(hl_store_peer_remove(st, "beijing"), HL_OK,
		         "a peer with only imported talks can be removed");
		received(st);
	} else {
		T_OK(false, "history: %s", err);
	}
	json_decref(recs);
	json_decref(got);
	free(data);
	hl_store_close(st);
	unlink(path);
	char side[600];
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	rmdir(dir);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	dates_and_words();
	bodies();
	folds();
	history();
	stored();
	return t_done();
}
