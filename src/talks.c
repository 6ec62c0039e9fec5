/* SPDX-License-Identifier: ISC */
/* talks.c: talks event bodies, the register's fold and its JSON; see talks.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "chanstate.h"
#include "store.h"
#include "talks.h"

static const char *const type_names[HL_TK_COUNT] = {"propose", "accept", "decline", "postpone",
                                                    "agenda",  "held",   "readout"};

const char *
hl_talks_type_name(unsigned type)
{
	return type < HL_TK_COUNT ? type_names[type] : "?";
}

static const char *const state_names[] = {"proposed",  "accepted", "declined",
                                          "postponed", "held",     "refused"};

const char *
hl_talks_state_name(unsigned state)
{
	return state < ARRAY_SIZE(state_names) ? state_names[state] : "?";
}

/* ---- values ---- */

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((uint8_t)*s & 0xc0) != 0x80;
	return n;
}

bool
hl_talks_line_valid(const char *s, size_t max_chars)
{
	size_t len = s ? strlen(s) : 0;

	return len > 0 && hl_field_valid(s, len) && utf8_chars(s) <= max_chars;
}

bool
hl_talks_text_valid(const uint8_t *s, size_t len)
{
	if (len == 0 || !hl_utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((s[i] < 0x20 && s[i] != '\n' && s[i] != '\t' && s[i] != '\r') || s[i] == 0x7f)
			return false;
	return true;
}

static bool
digits(const char *s, size_t n, unsigned *out)
{
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

bool
hl_talks_date_valid(const char *s)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, m, d;

	if (!s || strlen(s) != HL_TALKS_DATE_LEN || s[4] != '-' || s[7] != '-' ||
	    !digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
		return false;
	if (y < 1970 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

void
hl_talks_ordinal(unsigned n, char out[static 16])
{
	const char *suffix = "th";

	if (n % 100 < 11 || n % 100 > 13) {
		if (n % 10 == 1)
			suffix = "st";
		else if (n % 10 == 2)
			suffix = "nd";
		else if (n % 10 == 3)
			suffix = "rd";
	}
	snprintf(out, 16, "%u%s", n, suffix);
}

/* ---- the body ---- */

#define HASH_HEX_LEN ((size_t)2 * HL_HASH_LEN) /* a hash in hex */

#define BAD(...)                                                                                   \
	do {                                                                                       \
		snprintf(err, errcap, __VA_ARGS__);                                                \
		return HL_ERR_INVAL;                                                               \
	} while (0)

static bool
has_after(unsigned type)
{
	return type == HL_TK_ACCEPT || type == HL_TK_DECLINE || type == HL_TK_POSTPONE ||
	       type == HL_TK_HELD;
}

static int
check_dates(const char *from, const char *to, char *err, size_t errcap)
{
	/* absent dates are "" from here on: not valid, and printable */
	from = from ? from : "";
	to = to ? to : "";
	if (!hl_talks_date_valid(from))
		BAD("the start date '%.32s' is not a date YYYY-MM-DD (e.g. 2027-01-08)", from);
	if (!hl_talks_date_valid(to))
		BAD("the end date '%.32s' is not a date YYYY-MM-DD (e.g. 2027-01-09)", to);
	if (strcmp(to, from) < 0)
		BAD("the end date %s is before the start date %s", to, from);
	return HL_OK;
}

int
hl_talks_body_check(const struct hl_talks_body *b, char *err, size_t errcap)
{
	int rc;

	if (b->type >= HL_TK_COUNT)
		BAD("unknown talks event type %u", b->type);
	if (b->rev < 1 || b->rev > HL_TALKS_REV_MAX)
		BAD("rev must be from 1 to 2^53");
	switch (b->type) {
	case HL_TK_PROPOSE:
		if (b->rev != 1)
			BAD("a proposal has rev 1");
		if (!hl_talks_line_valid(b->title, HL_TALKS_TEXT_MAX))
			BAD("the title must be one line of UTF-8, 1 to %d characters",
			    HL_TALKS_TEXT_MAX);
		if (!b->level || !hl_name_valid(b->level))
			BAD("the level must be 1 to 32 of a-z 0-9 _ - (e.g. working)");
		if (!hl_talks_line_valid(b->place, HL_TALKS_TEXT_MAX))
			BAD("the place must be one line of UTF-8, 1 to %d characters",
			    HL_TALKS_TEXT_MAX);
		if ((rc = check_dates(b->from, b->to, err, errcap)) < 0)
			return rc;
		if (b->series && !hl_talks_line_valid(b->series, HL_TALKS_SERIES_MAX))
			BAD("the series must be one line of UTF-8, 1 to %d characters",
			    HL_TALKS_SERIES_MAX);
		if (b->round && !b->series)
			BAD("a round number goes with a series");
		if (b->round > HL_TALKS_ROUND_MAX)
			BAD("the round must be from 1 to %d", HL_TALKS_ROUND_MAX);
		if (b->nagenda > HL_TALKS_AGENDA_MAX)
			BAD("at most %d agenda items in a proposal", HL_TALKS_AGENDA_MAX);
		for (size_t i = 0; i < b->nagenda; i++)
			if (!hl_talks_line_valid(b->agenda[i], HL_TALKS_TEXT_MAX))
				BAD("agenda item %zu must be one line of UTF-8, 1 to %d characters",
				    i + 1, HL_TALKS_TEXT_MAX);
		return HL_OK;
	case HL_TK_ACCEPT:
	case HL_TK_DECLINE:
	case HL_TK_POSTPONE:
		if ((b->reason || b->type != HL_TK_ACCEPT) &&
		    !hl_talks_line_valid(b->reason, HL_TALKS_REASON_MAX))
			BAD("the reason must be one line of UTF-8, 1 to %d characters",
			    HL_TALKS_REASON_MAX);
		if (b->type == HL_TK_POSTPONE && (b->from || b->to))
			return check_dates(b->from, b->to, err, errcap);
		return HL_OK;
	case HL_TK_AGENDA:
		if (!hl_talks_line_valid(b->item, HL_TALKS_TEXT_MAX))
			BAD("an agenda item must be one line of UTF-8, 1 to %d characters",
			    HL_TALKS_TEXT_MAX);
		return HL_OK;
	case HL_TK_HELD:
		return HL_OK;
	case HL_TK_READOUT:
		if (!b->text || b->text_len > HL_TALKS_READOUT_MAX)
			BAD("a readout is at most %d bytes (64 KiB)", HL_TALKS_READOUT_MAX);
		if (!hl_talks_text_valid((const uint8_t *)b->text, b->text_len))
			BAD("a readout must be UTF-8 text, not empty, without control characters "
			    "other than line breaks and tabs");
		return HL_OK;
	default:
		BAD("unknown talks event type %u", b->type);
	}
}

/* Sets that fail leave *ok false; v is taken in any case. */
static void
put(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static json_t *
hex_json(const uint8_t h[static HL_HASH_LEN])
{
	char hex[2 * HL_HASH_LEN + 1];

	sodium_bin2hex(hex, sizeof hex, h, HL_HASH_LEN);
	return json_string(hex);
}

static json_t *
body_json(const struct hl_talks_body *b)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!o)
		return NULL;
	put(o, "type", json_string(type_names[b->type]), &ok);
	put(o, "rev", json_integer((json_int_t)b->rev), &ok);
	if (b->type != HL_TK_PROPOSE)
		put(o, "talks", hex_json(b->talks), &ok);
	if (has_after(b->type))
		put(o, "after", hex_json(b->after), &ok);
	switch (b->type) {
	case HL_TK_PROPOSE:
		put(o, "title", json_string(b->title), &ok);
		put(o, "level", json_string(b->level), &ok);
		put(o, "place", json_string(b->place), &ok);
		put(o, "from", json_string(b->from), &ok);
		put(o, "to", json_string(b->to), &ok);
		if (b->series)
			put(o, "series", json_string(b->series), &ok);
		if (b->round)
			put(o, "round", json_integer(b->round), &ok);
		if (b->has_counters)
			put(o, "counters", hex_json(b->counters), &ok);
		if (b->nagenda) {
			json_t *a = json_array();
			for (size_t i = 0; a && i < b->nagenda; i++)
				if (json_array_append_new(a, json_string(b->agenda[i])) != 0)
					ok = false;
			put(o, "agenda", a, &ok);
		}
		break;
	case HL_TK_ACCEPT:
	case HL_TK_DECLINE:
	case HL_TK_POSTPONE:
		if (b->reason)
			put(o, "reason", json_string(b->reason), &ok);
		if (b->type == HL_TK_POSTPONE && b->from) {
			put(o, "from", json_string(b->from), &ok);
			put(o, "to", json_string(b->to), &ok);
		}
		break;
	case HL_TK_AGENDA:
		put(o, "item", json_string(b->item), &ok);
		break;
	case HL_TK_READOUT:
		put(o, "text", json_stringn(b->text, b->text_len), &ok);
		break;
	default:
		break;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
hl_talks_body_encode(const struct hl_talks_body *b, char **out, size_t *len, char *err,
                     size_t errcap)
{
	json_t *o;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = hl_talks_body_check(b, err, errcap)) < 0)
		return rc;
	if (!(o = body_json(b)))
		return HL_ERR_NOMEM;
	*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!*out)
		return HL_ERR_NOMEM;
	*len = strlen(*out);
	if (*len > HL_TALKS_BODY_MAX) {
		HL_FREE(*out);
		*len = 0;
		snprintf(err, errcap, "the talks event is larger than %d bytes", HL_TALKS_BODY_MAX);
		return HL_ERR_LIMIT;
	}
	return HL_OK;
}

void
hl_talks_body_free(struct hl_talks_body *b)
{
	if (b) {
		json_decref(b->root);
		memset(b, 0, sizeof *b);
	}
}

/* The keys each type holds: required, then optional. */
static const struct {
	const char *req[8], *opt[6];
} keys[HL_TK_COUNT] = {
    [HL_TK_PROPOSE] = {{"type", "rev", "title", "level", "place", "from", "to"},
                       {"series", "round", "agenda", "counters"}},
    [HL_TK_ACCEPT] = {{"type", "rev", "talks", "after"}, {"reason"}},
    [HL_TK_DECLINE] = {{"type", "rev", "talks", "after", "reason"}, {NULL}},
    [HL_TK_POSTPONE] = {{"type", "rev", "talks", "after", "reason"}, {"from", "to"}},
    [HL_TK_AGENDA] = {{"type", "rev", "talks", "item"}, {NULL}},
    [HL_TK_HELD] = {{"type", "rev", "talks", "after"}, {NULL}},
    [HL_TK_READOUT] = {{"type", "rev", "talks", "text"}, {NULL}},
};

static bool
listed(const char *const *list, size_t n, const char *key)
{
	for (size_t i = 0; i < n && list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

/* A string member (NULL when absent or not a string: the checks that follow refuse it). */
static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool
hex_member(const json_t *o, const char *key, uint8_t out[static HL_HASH_LEN])
{
	const char *s = str(o, key);
	size_t n = 0;

	return s && strlen(s) == HASH_HEX_LEN &&
	       sodium_hex2bin(out, HL_HASH_LEN, s, HASH_HEX_LEN, NULL, &n, NULL) == 0 &&
	       n == HL_HASH_LEN;
}

#define PBAD(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errcap, __VA_ARGS__);                                                \
		rc = HL_ERR_PROTO;                                                                 \
		goto fail;                                                                         \
	} while (0)

int
hl_talks_body_decode(const uint8_t *buf, size_t len, struct hl_talks_body *b, char *err,
                     size_t errcap)
{
	json_error_t je;
	json_t *o = NULL, *v;
	const char *key, *type;
	char *again = NULL;
	size_t again_len = 0;
	unsigned t;
	int rc;

	memset(b, 0, sizeof *b);
	if (len > HL_TALKS_BODY_MAX)
		PBAD("a talks event body of %zu bytes is larger than %d", len, HL_TALKS_BODY_MAX);
	if (!(o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je)))
		PBAD("not valid JSON: %.200s", je.text);
	if (!json_is_object(o) || !(type = str(o, "type")))
		PBAD("not an object with a \"type\"");
	for (t = 0; t < HL_TK_COUNT && strcmp(type, type_names[t]) != 0; t++)
		;
	if (t == HL_TK_COUNT)
		PBAD("unknown type '%.32s'", type);
	json_object_foreach(o, key, v)
	{
		if (!listed(keys[t].req, ARRAY_SIZE(keys[t].req), key) &&
		    !listed(keys[t].opt, ARRAY_SIZE(keys[t].opt), key))
			PBAD("a %s event has no member '%.32s'", type, key);
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys[t].req) && keys[t].req[i]; i++)
		if (!json_object_get(o, keys[t].req[i]))
			PBAD("a %s event needs '%s'", type, keys[t].req[i]);
	b->type = t;
	v = json_object_get(o, "rev");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    (uint64_t)json_integer_value(v) > HL_TALKS_REV_MAX)
		PBAD("rev is not an integer from 1 to 2^53");
	b->rev = (uint64_t)json_integer_value(v);
	if (t != HL_TK_PROPOSE && !hex_member(o, "talks", b->talks))
		PBAD("talks is not 64 hex characters");
	if (has_after(t) && !hex_member(o, "after", b->after))
		PBAD("after is not 64 hex characters");
	if (json_object_get(o, "counters")) {
		if (!hex_member(o, "counters", b->counters))
			PBAD("counters is not 64 hex characters");
		b->has_counters = true;
	}
	b->title = str(o, "title");
	b->level = str(o, "level");
	b->place = str(o, "place");
	b->series = str(o, "series");
	b->from = str(o, "from");
	b->to = str(o, "to");
	b->reason = str(o, "reason");
	b->item = str(o, "item");
	for (size_t i = 0; i < ARRAY_SIZE(keys[t].req) + ARRAY_SIZE(keys[t].opt); i++) {
		const char *k = i < ARRAY_SIZE(keys[t].req)
		                    ? keys[t].req[i]
		                    : keys[t].opt[i - ARRAY_SIZE(keys[t].req)];
		v = k ? json_object_get(o, k) : NULL;
		if (v && strcmp(k, "rev") != 0 && strcmp(k, "round") != 0 &&
		    strcmp(k, "agenda") != 0 && !json_is_string(v))
			PBAD("%s is not a string", k);
	}
	if ((t == HL_TK_POSTPONE) && (b->from == NULL) != (b->to == NULL))
		PBAD("a postponement has both from and to, or neither");
	if ((v = json_object_get(o, "round"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > HL_TALKS_ROUND_MAX)
			PBAD("round is not an integer from 1 to %d", HL_TALKS_ROUND_MAX);
		b->round = (unsigned)json_integer_value(v);
	}
	if ((v = json_object_get(o, "agenda"))) {
		if (!json_is_array(v) || json_array_size(v) < 1 ||
		    json_array_size(v) > HL_TALKS_AGENDA_MAX)
			PBAD("agenda is not an array of 1 to %d items", HL_TALKS_AGENDA_MAX);
		for (size_t i = 0; i < json_array_size(v); i++)
			if (!(b->agenda[i] = json_string_value(json_array_get(v, i))))
				PBAD("agenda item %zu is not a string", i + 1);
		b->nagenda = json_array_size(v);
	}
	if (t == HL_TK_READOUT) {
		v = json_object_get(o, "text");
		b->text = json_string_value(v);
		b->text_len = json_string_length(v);
	}
	if (hl_talks_body_check(b, err, errcap) < 0) {
		rc = HL_ERR_PROTO;
		goto fail;
	}
	/* One body per event: the bytes must be what our encoder makes of them. */
	if ((rc = hl_talks_body_encode(b, &again, &again_len, err, errcap)) < 0) {
		if (rc != HL_ERR_NOMEM)
			rc = HL_ERR_PROTO;
		goto fail;
	}
	if (again_len != len || memcmp(again, buf, len) != 0)
		PBAD("not in canonical form (compact JSON, keys sorted)");
	free(again);
	b->root = o;
	return HL_OK;
fail:
	free(again);
	json_decref(o);
	memset(b, 0, sizeof *b);
	return rc;
}

/* ---- the fold ---- */

static int
cmp_rev(const void *pa, const void *pb)
{
	const struct hl_talks_event *a = *(struct hl_talks_event *const *)pa;
	const struct hl_talks_event *b = *(struct hl_talks_event *const *)pb;

	if (a->b.rev != b->b.rev)
		return a->b.rev < b->b.rev ? -1 : 1;
	return memcmp(a->hash, b->hash, HL_HASH_LEN);
}

static const char *
dates_key(const struct hl_talks *t)
{
	return t->from ? t->from : t->proposal->b.from;
}

static int
cmp_talks(const void *pa, const void *pb)
{
	const struct hl_talks *a = pa, *b = pb;
	int c = strcmp(dates_key(a), dates_key(b));

	return c ? c : memcmp(a->proposal->hash, b->proposal->hash, HL_HASH_LEN);
}

#define WHY(e, ...) snprintf((e)->why, sizeof(e)->why, __VA_ARGS__)

/* The event of t whose hash is h (the one a state change built on), or NULL. */
static const struct hl_talks_event *
event_of(const struct hl_talks *t, const uint8_t *h)
{
	for (size_t i = 0; i < t->nevs; i++)
		if (memcmp(t->evs[i]->hash, h, HL_HASH_LEN) == 0)
			return t->evs[i];
	return NULL;
}

static bool
open_state(unsigned s)
{
	return s == HL_TS_PROPOSED || s == HL_TS_POSTPONED;
}

#define JUDGE(...)                                                                                 \
	do {                                                                                       \
		snprintf(why, cap, __VA_ARGS__);                                                   \
		return false;                                                                      \
	} while (0)

bool
hl_talks_judge(const struct hl_talks *t, int side, const struct hl_talks_body *b, char *why,
               size_t cap)
{
	const char *now = hl_talks_state_name(t->state);

	if (t->state == HL_TS_REFUSED)
		JUDGE("the proposal was refused");
	if (b->rev <= 1)
		JUDGE("its rev %llu is not above the proposal's", (unsigned long long)b->rev);
	if (has_after(b->type) && memcmp(b->after, t->basis, HL_HASH_LEN) != 0) {
		const struct hl_talks_event *last = event_of(t, t->basis);
		JUDGE("crossed with %s %s: made without it, on an earlier state of the talks",
		      last ? hl_talks_type_name(last->b.type) : "?", last ? last->id : "?");
	}
	switch (b->type) {
	case HL_TK_ACCEPT:
	case HL_TK_DECLINE:
		if (b->type == HL_TK_DECLINE && t->state == HL_TS_ACCEPTED)
			return true; /* either side may call accepted talks off */
		if (!open_state(t->state))
			JUDGE("talks that are %s cannot be %s", now,
			      b->type == HL_TK_ACCEPT ? "accepted" : "declined");
		if (side != t->awaiting)
			JUDGE("the answer is awaited from the other side, not from the side that "
			      "made the proposal or the last postponement");
		if (b->type == HL_TK_ACCEPT && !t->from)
			JUDGE(
			    "the talks have no dates (postponed without new ones): they cannot be "
			    "accepted");
		return true;
	case HL_TK_POSTPONE:
		if (!open_state(t->state) && t->state != HL_TS_ACCEPTED)
			JUDGE("talks that are %s cannot be postponed", now);
		return true;
	case HL_TK_HELD:
		if (t->state != HL_TS_ACCEPTED)
			JUDGE("talks that are %s cannot be held: they are accepted first", now);
		return true;
	case HL_TK_AGENDA:
		if (!open_state(t->state) && t->state != HL_TS_ACCEPTED)
			JUDGE("the agenda is closed: the talks are %s", now);
		return true;
	case HL_TK_READOUT:
		if (t->state != HL_TS_HELD)
			JUDGE("a readout is attached once the talks are held; they are %s", now);
		return true;
	default:
		JUDGE("a second proposal cannot apply to talks");
	}
}

/* Apply e to t, or say in e->why why not. */
static void
apply(struct hl_talks *t, struct hl_talks_event *e)
{
	const struct hl_talks_body *b = &e->b;

	if (!hl_talks_judge(t, e->side, b, e->why, sizeof e->why))
		return;
	e->applied = true;
	switch (b->type) {
	case HL_TK_ACCEPT:
		t->state = HL_TS_ACCEPTED;
		t->awaiting = -1;
		break;
	case HL_TK_DECLINE:
		t->state = HL_TS_DECLINED;
		t->awaiting = -1;
		break;
	case HL_TK_POSTPONE:
		t->state = HL_TS_POSTPONED;
		t->awaiting = !e->side;
		t->from = b->from;
		t->to = b->to;
		break;
	case HL_TK_HELD:
		t->state = HL_TS_HELD;
		break;
	case HL_TK_READOUT:
		t->nreadouts[e->side]++;
		break;
	default:
		break;
	}
	if (has_after(b->type))
		t->basis = e->hash;
}

static void
fold(struct hl_talks *t)
{
	struct hl_talks_event *p = t->proposal;

	t->state = HL_TS_PROPOSED;
	t->awaiting = !p->side;
	t->from = p->b.from;
	t->to = p->b.to;
	t->basis = p->hash;
	t->rev = 1;
	p->applied = true;
	if (p->refusal[0]) {
		p->applied = false;
		WHY(p, "refused: %.300s", p->refusal);
		t->state = HL_TS_REFUSED;
		t->awaiting = -1;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): evs is an array of pointers */
	qsort(t->evs + 1, t->nevs - 1, sizeof *t->evs, cmp_rev);
	for (size_t i = 1; i < t->nevs; i++) {
		struct hl_talks_event *e = t->evs[i];
		if (e->b.rev > t->rev)
			t->rev = e->b.rev;
		if (e->refusal[0])
			WHY(e, "refused: %.300s", e->refusal);
		else
			apply(t, e);
	}
}

int
hl_talks_reg_build(struct hl_talks_reg *reg)
{
	size_t np = 0, k = 0;

	reg->talks = NULL;
	reg->ntalks = reg->norphans = 0;
	for (size_t i = 0; i < reg->nevents; i++) {
		struct hl_talks_event *e = &reg->events[i];
		char err[HL_TALKS_ERR_MAX];
		int rc;
		hl_event_id(e->hash, e->id);
		e->applied = false;
		e->why[0] = '\0';
		rc = hl_talks_body_decode(e->body, e->body_len, &e->b, err, sizeof err);
		if (rc == HL_ERR_NOMEM)
			return rc;
		e->parsed = rc == HL_OK;
		if (!e->parsed)
			WHY(e, "not a talks body: %.290s", err);
		np += e->parsed && e->b.type == HL_TK_PROPOSE;
		e->body = NULL; /* borrowed: gone once we return */
	}
	if (np && !(reg->talks = calloc(np, sizeof *reg->talks)))
		return HL_ERR_NOMEM;
	for (size_t i = 0; i < reg->nevents && k < np; i++) /* the np counted above */
		if (reg->events[i].parsed && reg->events[i].b.type == HL_TK_PROPOSE)
			reg->talks[k++].proposal = &reg->events[i];
	reg->ntalks = k;
	/* Two passes over the events: count each talks' share, then fill. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t j = 0; j < reg->ntalks; j++) {
			struct hl_talks *t = &reg->talks[j];
			/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
			if (pass == 1 && !(t->evs = calloc(t->nevs, sizeof *t->evs)))
				return HL_ERR_NOMEM;
			if (pass == 1)
				t->evs[0] = t->proposal;
			t->nevs = 1;
		}
		for (size_t i = 0; i < reg->nevents; i++) {
			struct hl_talks_event *e = &reg->events[i];
			struct hl_talks *t = NULL;
			if (!e->parsed || e->b.type == HL_TK_PROPOSE)
				continue;
			for (size_t j = 0; !t && j < reg->ntalks; j++)
				if (memcmp(reg->talks[j].proposal->hash, e->b.talks, HL_HASH_LEN) ==
				    0)
					t = &reg->talks[j];
			if (!t) {
				reg->norphans += (size_t)pass;
				if (pass)
					WHY(e, "names talks this record does not hold");
				continue;
			}
			if (pass)
				t->evs[t->nevs] = e;
			t->nevs++;
		}
	}
	for (size_t j = 0; j < reg->ntalks; j++)
		fold(&reg->talks[j]);
	if (reg->ntalks > 1)
		qsort(reg->talks, reg->ntalks, sizeof *reg->talks, cmp_talks);
	return HL_OK;
}

void
hl_talks_reg_free(struct hl_talks_reg *reg)
{
	for (size_t i = 0; i < reg->nevents; i++)
		hl_talks_body_free(&reg->events[i].b);
	for (size_t j = 0; j < reg->ntalks; j++)
		free(reg->talks[j].evs);
	free(reg->events);
	free(reg->talks);
	memset(reg, 0, sizeof *reg);
}

struct hl_talks *
hl_talks_find(const struct hl_talks_reg *reg, const char *id, bool *ambiguous)
{
	char hex[2 * HL_HASH_LEN + 1];
	struct hl_talks *found = NULL;
	size_t n = strlen(id);

	*ambiguous = false;
	if (n < HL_MSGID_LEN || n > HASH_HEX_LEN)
		return NULL;
	for (size_t j = 0; j < reg->ntalks; j++) {
		sodium_bin2hex(hex, sizeof hex, reg->talks[j].proposal->hash, HL_HASH_LEN);
		if (strncmp(hex, id, n) != 0)
			continue;
		if (found)
			*ambiguous = true;
		found = &reg->talks[j];
	}
	return found;
}

/* ---- JSON ---- */

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
dates_json(const char *from, const char *to)
{
	return from && to ? json_pack("{s:s, s:s}", "from", from, "to", to) : json_null();
}

static json_t *
round_name(unsigned round)
{
	char ord[16];

	if (!round)
		return json_null();
	hl_talks_ordinal(round, ord);
	return json_string(ord);
}

/* "read out by washington", "read out by both", or the state's name (with who is awaited). */
static json_t *
state_text(const char *state, const char *awaiting, size_t nby, const char *by)
{
	char s[HL_NAME_MAX + 64];

	if (nby == 2)
		snprintf(s, sizeof s, "read out by both");
	else if (nby == 1)
		snprintf(s, sizeof s, "read out by %s", by);
	else if (awaiting)
		snprintf(s, sizeof s, "%s (awaiting %s)", state, awaiting);
	else
		snprintf(s, sizeof s, "%s", state);
	return json_string(s);
}

/* One entry of the history: what the event says, whether it applied. */
static json_t *
step_json(const struct hl_talks_event *e, const char *const names[2], size_t version)
{
	const struct hl_talks_body *b = &e->b;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:b, s:o}", "id", e->id, "type",
	                      hl_talks_type_name(b->type), "by", names[e->side], "operator",
	                      e->operator_name, "at", hl_json_time(e->created_ns), "rev",
	                      (json_int_t)b->rev, "applied", e->applied, "note",
	                      e->applied ? json_null() : json_string(e->why));
	bool ok = o != NULL;

	if (!o)
		return NULL;
	switch (b->type) {
	case HL_TK_ACCEPT:
	case HL_TK_DECLINE:
	case HL_TK_POSTPONE:
		put(o, "reason", str_or_null(b->reason), &ok);
		if (b->type == HL_TK_POSTPONE)
			put(o, "dates", dates_json(b->from, b->to), &ok);
		break;
	case HL_TK_AGENDA:
		put(o, "item", json_string(b->item), &ok);
		break;
	case HL_TK_READOUT:
		put(o, "version", version ? json_integer((json_int_t)version) : json_null(), &ok);
		put(o, "bytes", json_integer((json_int_t)b->text_len), &ok);
		break;
	default:
		break;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
hl_talks_json(const struct hl_talks *t, const char *const names[2])
{
	const struct hl_talks_event *p = t->proposal;
	const struct hl_talks_body *pb = &p->b;
	json_t *o, *agenda = json_array(), *history = json_array(), *readouts = json_object(),
	           *by = json_array(), *pending = json_array(), *rs[2];
	size_t version[2] = {0, 0}, nby = 0;
	const char *one_by = NULL;
	char hex[2 * HL_HASH_LEN + 1], cid[HL_MSGID_LEN + 1];
	unsigned state = t->state;
	bool ok = agenda && history && readouts && by && pending;

	rs[0] = json_array();
	rs[1] = json_array();
	ok = ok && rs[0] && rs[1];
	for (size_t i = 0; ok && i < pb->nagenda; i++)
		ok = json_array_append_new(
		         agenda, json_pack("{s:s, s:s, s:s, s:o, s:s}", "item", pb->agenda[i], "by",
		                           names[p->side], "operator", p->operator_name, "at",
		                           hl_json_time(p->created_ns), "id", p->id)) == 0;
	for (size_t i = 0; ok && i < t->nevs; i++) {
		const struct hl_talks_event *e = t->evs[i];
		size_t v = 0;
		if (e->side == HL_SIDE_US &&
		    (e->delivery == HL_ST_QUEUED || e->delivery == HL_ST_SENT))
			ok = json_array_append_new(pending, json_string(e->id)) == 0;
		if (e->applied && e->b.type == HL_TK_AGENDA)
			ok = ok &&
			     json_array_append_new(
			         agenda,
			         json_pack("{s:s, s:s, s:s, s:o, s:s}", "item", e->b.item, "by",
			                   names[e->side], "operator", e->operator_name, "at",
			                   hl_json_time(e->created_ns), "id", e->id)) == 0;
		if (e->applied && e->b.type == HL_TK_READOUT) {
			v = ++version[e->side];
			ok = ok && json_array_append_new(
			               rs[e->side],
			               json_pack("{s:I, s:s%, s:s, s:o, s:s, s:b}", "version",
			                         (json_int_t)v, "text", e->b.text, e->b.text_len,
			                         "operator", e->operator_name, "at",
			                         hl_json_time(e->created_ns), "id", e->id, "latest",
			                         v == t->nreadouts[e->side])) == 0;
		}
		if (i > 0)
			ok = ok && json_array_append_new(history, step_json(e, names, v)) == 0;
	}
	/* Sides in name order, so both stations list them alike. */
	for (int k = 0; k < 2; k++) {
		int s = (strcmp(names[0], names[1]) <= 0) == (k == 0) ? 0 : 1;
		if (t->nreadouts[s]) {
			nby++;
			one_by = names[s];
			ok = ok && json_array_append_new(by, json_string(names[s])) == 0;
		}
	}
	ok = ok && json_object_set_new(readouts, names[0], rs[0]) == 0;
	ok = ok && json_object_set_new(readouts, names[1], rs[1]) == 0;
	rs[0] = rs[1] = NULL;
	if (!ok)
		goto fail;
	sodium_bin2hex(hex, sizeof hex, p->hash, HL_HASH_LEN);
	if (pb->has_counters)
		hl_event_id(pb->counters, cid);
	o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o}",
	    "id", p->id, "hash", hex, "source", "line", "title", pb->title, "level", pb->level,
	    "place", pb->place, "series", str_or_null(pb->series), "round",
	    pb->round ? json_integer(pb->round) : json_null(), "round_name", round_name(pb->round),
	    "proposed_by", names[p->side], "proposed_to", names[!p->side], "operator",
	    p->operator_name, "proposed_at", hl_json_time(p->created_ns), "channel", p->channel,
	    "counters", pb->has_counters ? json_string(cid) : json_null(), "proposed_dates",
	    dates_json(pb->from, pb->to), "dates",
	    state == HL_TS_REFUSED ? json_null() : dates_json(t->from, t->to));
	if (!o)
		goto fail;
	ok = true;
	put(o, "state",
	    json_string(state == HL_TS_HELD && nby ? "read_out" : hl_talks_state_name(state)), &ok);
	put(o, "state_text",
	    state_text(hl_talks_state_name(state), t->awaiting >= 0 ? names[t->awaiting] : NULL,
	               nby, one_by),
	    &ok);
	put(o, "awaiting", t->awaiting >= 0 ? json_string(names[t->awaiting]) : json_null(), &ok);
	put(o, "refused", state == HL_TS_REFUSED ? json_string(p->refusal) : json_null(), &ok);
	put(o, "read_out_by", by, &ok);
	put(o, "agenda", agenda, &ok);
	put(o, "readouts", readouts, &ok);
	put(o, "history", history, &ok);
	put(o, "rev", json_integer((json_int_t)t->rev), &ok);
	put(o, "local",
	    json_pack("{s:s, s:s, s:o}", "station", names[0], "peer", names[1], "undelivered",
	              pending),
	    &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(rs[0]);
	json_decref(rs[1]);
	json_decref(agenda);
	json_decref(history);
	json_decref(readouts);
	json_decref(by);
	json_decref(pending);
	return NULL;
}

/* ---- imported records ---- */

static json_t *
copy_or_null(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v ? json_deep_copy(v) : json_null();
}

json_t *
hl_talks_imported_json(const json_t *r, const char *const names[2])
{
	static const char *const roles[2] = {"self", "peer"};
	const json_t *rd = json_object_get(r, "readouts"), *dl = json_object_get(r, "delegations");
	json_t *o, *readouts = json_object(), *by = json_array(), *deleg = json_object(),
	           *agenda = json_array();
	const json_t *items = json_object_get(r, "agenda");
	size_t nby = 0;
	const char *one_by = NULL;
	json_int_t round = json_integer_value(json_object_get(r, "round"));
	bool ok = readouts && by && deleg && agenda;

	for (size_t i = 0; ok && i < json_array_size(items); i++)
		ok = json_array_append_new(agenda, json_pack("{s:O, s:n, s:n, s:n, s:n}", "item",
		                                             json_array_get(items, i), "by",
		                                             "operator", "at", "id")) == 0;
	for (int k = 0; ok && k < 2; k++) {
		int s = (strcmp(names[0], names[1]) <= 0) == (k == 0) ? 0 : 1;
		const json_t *one = json_object_get(rd, roles[s]);
		json_t *arr = json_array();
		if (!arr) {
			ok = false;
			break;
		}
		if (one) {
			nby++;
			one_by = names[s];
			ok = json_array_append_new(by, json_string(names[s])) == 0 &&
			     json_array_append_new(
			         arr, json_pack("{s:i, s:O, s:n, s:o, s:n, s:b, s:o}", "version", 1,
			                        "text", json_object_get(one, "summary"), "operator",
			                        "at", copy_or_null(one, "issued"), "id", "latest",
			                        1, "source", copy_or_null(one, "source"))) == 0;
		}
		ok = ok && json_object_set_new(readouts, names[s], arr) == 0;
		if (ok && json_object_get(dl, roles[s]))
			ok =
			    json_object_set_new(deleg, names[s],
			                        json_deep_copy(json_object_get(dl, roles[s]))) == 0;
	}
	if (!ok)
		goto fail;
	o = json_pack("{s:O, s:n, s:s, s:O, s:O, s:O, s:o, s:o, s:o, s:n, s:n, s:n, s:n, s:n, s:n, "
	              "s:o, s:o}",
	              "id", json_object_get(r, "id"), "hash", "source", "imported", "title",
	              json_object_get(r, "title"), "level", json_object_get(r, "level"), "place",
	              json_object_get(r, "place"), "series", copy_or_null(r, "series"), "round",
	              round ? json_integer(round) : json_null(), "round_name",
	              round_name((unsigned)round), "proposed_by", "proposed_to", "operator",
	              "proposed_at", "channel", "counters", "proposed_dates",
	              dates_json(str(r, "from"), str(r, "to")), "dates",
	              dates_json(str(r, "from"), str(r, "to")));
	if (!o)
		goto fail;
	ok = true;
	put(o, "state", json_string(nby ? "read_out" : "held"), &ok);
	put(o, "state_text", state_text("held", NULL, nby, one_by), &ok);
	put(o, "awaiting", json_null(), &ok);
	put(o, "refused", json_null(), &ok);
	put(o, "read_out_by", by, &ok);
	put(o, "agenda", agenda, &ok);
	put(o, "readouts", readouts, &ok);
	put(o, "history", json_array(), &ok);
	put(o, "delegations", deleg, &ok);
	put(o, "notes", copy_or_null(r, "notes"), &ok);
	put(o, "record", copy_or_null(r, "history"), &ok);
	put(o, "sources", copy_or_null(r, "sources"), &ok);
	put(o, "imported",
	    json_pack("{s:o, s:o}", "file", copy_or_null(r, "file"), "file_hash",
	              copy_or_null(r, "file_hash")),
	    &ok);
	put(o, "local", json_pack("{s:s, s:s}", "station", names[0], "peer", names[1]), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(readouts);
	json_decref(by);
	json_decref(deleg);
	json_decref(agenda);
	return NULL;
}

/* ---- one line for transcripts ---- */

char *
hl_talks_describe(const uint8_t *body, size_t len)
{
	struct hl_talks_body b;
	char err[HL_TALKS_ERR_MAX], id[HL_MSGID_LEN + 1], ord[16], *out = NULL;
	int n = -1;

	if (hl_talks_body_decode(body, len, &b, err, sizeof err) < 0) {
		n = asprintf(&out, "[not a talks event this station can read: %s]", err);
		return n < 0 ? NULL : out;
	}
	hl_event_id(b.talks, id);
	switch (b.type) {
	case HL_TK_PROPOSE:
		hl_talks_ordinal(b.round, ord);
		n = asprintf(&out, "proposes talks \"%s\"%s%s%s%s%s, level %s, %s to %s, %s%s",
		             b.title, b.series ? " (" : "", b.series && b.round ? ord : "",
		             b.series && b.round ? " round of " : "", b.series ? b.series : "",
		             b.series ? ")" : "", b.level, b.from, b.to, b.place,
		             b.nagenda ? "; agenda:" : "");
		for (size_t i = 0; n >= 0 && i < b.nagenda; i++) {
			char *more = NULL;
			n = asprintf(&more, "%s %zu. %s", out, i + 1, b.agenda[i]);
			free(out);
			out = n < 0 ? NULL : more;
		}
		break;
	case HL_TK_ACCEPT:
	case HL_TK_DECLINE:
		n = asprintf(&out, "%s talks %s%s%s",
		             b.type == HL_TK_ACCEPT ? "accepts" : "declines", id,
		             b.reason ? ": " : "", b.reason ? b.reason : "");
		break;
	case HL_TK_POSTPONE:
		n = asprintf(&out, "postpones talks %s %s%s%s%s: %s", id,
		             b.from ? "to " : "without new dates", b.from ? b.from : "",
		             b.from ? " to " : "", b.from ? b.to : "", b.reason);
		break;
	case HL_TK_AGENDA:
		n = asprintf(&out, "adds to the agenda of talks %s: %s", id, b.item);
		break;
	case HL_TK_HELD:
		n = asprintf(&out, "records talks %s as held", id);
		break;
	case HL_TK_READOUT:
		n = asprintf(&out, "readout of talks %s:\n%.*s", id, (int)b.text_len, b.text);
		break;
	default:
		break;
	}
	hl_talks_body_free(&b);
	return n < 0 ? NULL : out;
}
