/* SPDX-License-Identifier: ISC */
/*
 * talks_history.c: the public record of earlier talks (docs/talks.md,
 * "The public record"): a JSON file checked field by field, turned into
 * records a station stores as imported, each side named by its role
 * ("self", "peer") rather than by the file's names. Pure: the bytes are
 * the caller's; nothing here reads files.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talks.h"

#define NOTE_MAX 1000   /* characters in a note or history entry */
#define SOURCE_MAX 500  /* characters in a source (a URL or a citation) */
#define LIST_MAX 16     /* notes, history entries, sources per talks */
#define TALKS_MAX 256   /* talks in one file */
#define STATION_MAX 200 /* characters in a station's description or a delegation */

struct ctx {
	char *err;
	size_t errcap;
	const char *where; /* "talks 'ID'" or "the file" */
	const char *names[2];
};

static int HL_PRINTF(2, 3) bad(struct ctx *c, const char *fmt, ...)
{
	char what[HL_TALKS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errcap, "%s: %s", c->where, what);
	return HL_ERR_INVAL;
}

/* Every key of o is one of keys[] (NULL-terminated). */
static int
only(struct ctx *c, json_t *o, const char *const *keys, const char *what)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		size_t i;
		(void)v;
		for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
			;
		if (!keys[i])
			return bad(c, "%s has no member '%.40s'", what, k);
	}
	return HL_OK;
}

static int
line(struct ctx *c, const json_t *o, const char *key, bool required, size_t max)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return required ? bad(c, "'%s' is missing", key) : HL_OK;
	if (!json_is_string(v) || !hl_talks_line_valid(json_string_value(v), max))
		return bad(c, "'%s' must be one line of UTF-8, 1 to %zu characters", key, max);
	return HL_OK;
}

static int
lines(struct ctx *c, const json_t *o, const char *key, size_t nmax, size_t max)
{
	const json_t *a = json_object_get(o, key);

	if (!a)
		return HL_OK;
	if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > nmax)
		return bad(c, "'%s' must be an array of 1 to %zu texts", key, nmax);
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (!s || !hl_talks_line_valid(s, max))
			return bad(c, "%s[%zu] must be one line of UTF-8, 1 to %zu characters", key,
			           i, max);
	}
	return HL_OK;
}

static int
date(struct ctx *c, const json_t *o, const char *key, bool required)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return required ? bad(c, "'%s' is missing", key) : HL_OK;
	if (!json_is_string(v) || !hl_talks_date_valid(json_string_value(v)))
		return bad(c, "'%s' must be a date YYYY-MM-DD", key);
	return HL_OK;
}

/* Which side a station name in the file is: 0 self, 1 peer, -1 neither. */
static int
side_of(const struct ctx *c, const char *name)
{
	return strcmp(name, c->names[0]) == 0 ? 0 : strcmp(name, c->names[1]) == 0 ? 1 : -1;
}

/* An object keyed by station names, each value checked by fn, re-keyed by role into out. */
static int
by_station(struct ctx *c, const json_t *o, const char *key, json_t *out,
           int (*fn)(struct ctx *c, const char *station, json_t *v))
{
	static const char *const roles[2] = {"self", "peer"};
	json_t *m = json_object_get(o, key);
	const char *k;
	json_t *v;
	int rc = HL_OK;

	if (!m)
		return HL_OK;
	if (!json_is_object(m) || json_object_size(m) < 1)
		return bad(c, "'%s' must be an object keyed by the stations' names", key);
	json_t *r = json_object();
	if (!r)
		return HL_ERR_NOMEM;
	json_object_foreach(m, k, v)
	{
		int s = side_of(c, k);
		if (s < 0) {
			json_decref(r);
			return bad(c, "%s: '%.40s' is not one of the file's stations (%s, %s)", key,
			           k, c->names[0], c->names[1]);
		}
		if ((rc = fn(c, k, v)) < 0 || json_object_set(r, roles[s], v) != 0) {
			json_decref(r);
			return rc < 0 ? rc : HL_ERR_NOMEM;
		}
	}
	if (json_object_set_new(out, key, r) != 0)
		return HL_ERR_NOMEM;
	return HL_OK;
}

static int
delegation(struct ctx *c, const char *station, json_t *v)
{
	if (!json_is_string(v) || !hl_talks_line_valid(json_string_value(v), STATION_MAX))
		return bad(c, "delegations.%s must be one line of UTF-8, 1 to %d characters",
		           station, STATION_MAX);
	return HL_OK;
}

static int
readout(struct ctx *c, const char *station, json_t *v)
{
	static const char *const keys[] = {"summary", "source", "issued", NULL};
	const json_t *s = json_object_get(v, "summary");
	char what[64];
	int rc = HL_OK;

	snprintf(what, sizeof what, "readouts.%.32s", station);
	if (!json_is_object(v))
		return bad(c, "%s must be an object {summary, source, issued}", what);
	if ((rc = only(c, v, keys, what)) < 0)
		return rc;
	if (!json_is_string(s) || json_string_length(s) > HL_TALKS_READOUT_MAX ||
	    !hl_talks_text_valid((const uint8_t *)json_string_value(s), json_string_length(s)))
		return bad(c, "%s.summary must be UTF-8 text, not empty, at most %d bytes", what,
		           HL_TALKS_READOUT_MAX);
	s = json_object_get(v, "source");
	if (!json_is_string(s) || !hl_talks_line_valid(json_string_value(s), SOURCE_MAX))
		return bad(c,
		           "%s.source must name where it was published: one line, 1 to %d "
		           "characters",
		           what, SOURCE_MAX);
	s = json_object_get(v, "issued");
	if (s && (!json_is_string(s) || !hl_talks_date_valid(json_string_value(s))))
		return bad(c, "%s.issued must be a date YYYY-MM-DD", what);
	return HL_OK;
}

static int
history_entries(struct ctx *c, json_t *a)
{
	static const char *const keys[] = {"date", "event", NULL};
	int rc = HL_OK;

	if (!a)
		return HL_OK;
	if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > LIST_MAX)
		return bad(c, "'history' must be an array of 1 to %d entries {date, event}",
		           LIST_MAX);
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *e = json_array_get(a, i);
		const char *d = json_string_value(json_object_get(e, "date"));
		if (!json_is_object(e) || (rc = only(c, e, keys, "a history entry")) < 0)
			return json_is_object(e) ? rc : bad(c, "history[%zu] is not an object", i);
		/* A month is enough for what the public record dates only so far. */
		char full[HL_TALKS_DATE_LEN + 1];
		snprintf(full, sizeof full, "%.7s-01", d ? d : "");
		if (!d || !(strlen(d) == 7 ? hl_talks_date_valid(full) : hl_talks_date_valid(d)))
			return bad(c, "history[%zu].date must be YYYY-MM-DD or YYYY-MM", i);
		if ((rc = line(c, e, "event", true, NOTE_MAX)) < 0)
			return rc;
	}
	return HL_OK;
}

static bool
id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 3 || n > HL_TALKS_IMPORT_ID_MAX || !strchr(s, '-') || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int
one_talks(struct ctx *c, json_t *t, json_t **out)
{
	static const char *const keys[] = {"id",      "title", "series",   "round",       "level",
	                                   "from",    "to",    "place",    "delegations", "agenda",
	                                   "history", "notes", "readouts", "sources",     NULL};
	static const char *const copied[] = {"id",    "title",   "series", "round",  "level",
	                                     "from",  "to",      "place",  "agenda", "history",
	                                     "notes", "sources", NULL};
	const json_t *round = json_object_get(t, "round");
	const char *from, *to;
	json_t *r;
	int rc = HL_OK;

	*out = NULL;
	if ((rc = only(c, t, keys, "a talks record")) < 0 ||
	    (rc = line(c, t, "title", true, HL_TALKS_TEXT_MAX)) < 0 ||
	    (rc = line(c, t, "series", false, HL_TALKS_SERIES_MAX)) < 0 ||
	    (rc = line(c, t, "place", true, HL_TALKS_TEXT_MAX)) < 0 ||
	    (rc = date(c, t, "from", true)) < 0 || (rc = date(c, t, "to", true)) < 0 ||
	    (rc = lines(c, t, "agenda", HL_TALKS_AGENDA_MAX, HL_TALKS_TEXT_MAX)) < 0 ||
	    (rc = lines(c, t, "notes", LIST_MAX, NOTE_MAX)) < 0 ||
	    (rc = lines(c, t, "sources", LIST_MAX, SOURCE_MAX)) < 0 ||
	    (rc = history_entries(c, json_object_get(t, "history"))) < 0)
		return rc;
	from = json_string_value(json_object_get(t, "from"));
	to = json_string_value(json_object_get(t, "to"));
	if (strcmp(to, from) < 0)
		return bad(c, "the end date %s is before the start date %s", to, from);
	if (!json_is_string(json_object_get(t, "level")) ||
	    !hl_name_valid(json_string_value(json_object_get(t, "level"))))
		return bad(c, "'level' must be 1 to 32 of a-z 0-9 _ - (e.g. working)");
	if (round &&
	    (!json_is_integer(round) || json_integer_value(round) < 1 ||
	     json_integer_value(round) > HL_TALKS_ROUND_MAX || !json_object_get(t, "series")))
		return bad(c, "'round' must be an integer from 1 to %d, with a 'series'",
		           HL_TALKS_ROUND_MAX);
	if (!json_object_get(t, "sources"))
		return bad(c, "'sources' is missing: name where the public record says so");
	if (!(r = json_object()))
		return HL_ERR_NOMEM;
	for (size_t i = 0; copied[i]; i++) {
		json_t *v = json_object_get(t, copied[i]);
		if (v && json_object_set(r, copied[i], v) != 0) {
			json_decref(r);
			return HL_ERR_NOMEM;
		}
	}
	if ((rc = by_station(c, t, "delegations", r, delegation)) < 0 ||
	    (rc = by_station(c, t, "readouts", r, readout)) < 0) {
		json_decref(r);
		return rc;
	}
	*out = r;
	return HL_OK;
}

int
hl_talks_history_parse(const void *data, size_t len, const char *self, json_t **records,
                       char peer_name[static HL_NAME_MAX + 1], char *err, size_t errcap)
{
	static const char *const keys[] = {"format",   "title", "description",
	                                   "stations", "talks", NULL};
	struct ctx c = {err, errcap, "the file", {NULL, NULL}};
	json_error_t je;
	json_t *root = NULL, *out = NULL, *st, *talks;
	const char *k, *format;
	json_t *v;
	size_t n = 0;
	int rc = HL_ERR_INVAL;

	*records = NULL;
	peer_name[0] = '\0';
	if (len > HL_TALKS_HISTORY_MAX) {
		snprintf(err, errcap, "the file is larger than %u bytes", HL_TALKS_HISTORY_MAX);
		return HL_ERR_INVAL;
	}
	if (!(root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je))) {
		snprintf(err, errcap, "not valid JSON: line %d, column %d: %.200s", je.line,
		         je.column, je.text);
		return HL_ERR_INVAL;
	}
	format = json_string_value(json_object_get(root, "format"));
	if (!json_is_object(root) || !format || strcmp(format, HL_TALKS_HISTORY_FORMAT) != 0) {
		rc = bad(&c, "\"format\" must be \"%s\"", HL_TALKS_HISTORY_FORMAT);
		goto out;
	}
	if ((rc = only(&c, root, keys, "the file")) < 0 ||
	    (rc = line(&c, root, "title", false, HL_TALKS_TEXT_MAX)) < 0 ||
	    (rc = line(&c, root, "description", false, NOTE_MAX)) < 0)
		goto out;
	st = json_object_get(root, "stations");
	if (!json_is_object(st) || json_object_size(st) != 2) {
		rc = bad(&c, "'stations' must name the two stations: {\"NAME\": \"who\", ...}");
		goto out;
	}
	{
		const char *both[2] = {NULL, NULL};
		size_t i = 0;
		json_object_foreach(st, k, v)
		{
			if (!hl_name_valid(k) || !json_is_string(v) ||
			    !hl_talks_line_valid(json_string_value(v), STATION_MAX)) {
				rc = bad(&c,
				         "stations: '%.40s' must be a station name (a-z 0-9 _ -) "
				         "with a one-line description",
				         k);
				goto out;
			}
			both[i++] = k;
		}
		if (i != 2 || !both[0] || !both[1]) { /* size 2 was checked: cannot happen */
			rc = bad(&c, "'stations' must name the two stations");
			goto out;
		}
		if (strcmp(both[0], self) != 0 && strcmp(both[1], self) != 0) {
			rc =
			    bad(&c,
			        "it describes talks between %s and %s, and this station is neither "
			        "(it is '%s'): say which side it is with --as NAME",
			        both[0], both[1], self);
			goto out;
		}
		c.names[0] = strcmp(both[0], self) == 0 ? both[0] : both[1];
		c.names[1] = strcmp(both[0], self) == 0 ? both[1] : both[0];
	}
	talks = json_object_get(root, "talks");
	if (!json_is_array(talks) || json_array_size(talks) < 1 ||
	    json_array_size(talks) > TALKS_MAX) {
		rc = bad(&c, "'talks' must be an array of 1 to %d records", TALKS_MAX);
		goto out;
	}
	if (!(out = json_array())) {
		rc = HL_ERR_NOMEM;
		goto out;
	}
	for (n = 0; n < json_array_size(talks); n++) {
		json_t *t = json_array_get(talks, n);
		const char *id = json_string_value(json_object_get(t, "id"));
		char where[64];
		json_t *r;
		if (!json_is_object(t) || !id_valid(id)) {
			rc = bad(&c,
			         "talks[%zu] must be an object whose 'id' is 3 to %d of a-z 0-9 - "
			         "with at least one '-' (e.g. 2024-01-dpct-17)",
			         n, HL_TALKS_IMPORT_ID_MAX);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (strcmp(id, json_string_value(
			                   json_object_get(json_array_get(talks, i), "id"))) == 0) {
				rc = bad(&c, "talks[%zu] and talks[%zu] both have the id %s", i, n,
				         id);
				goto out;
			}
		snprintf(where, sizeof where, "talks %s", id);
		c.where = where;
		rc = one_talks(&c, t, &r);
		c.where = "the file";
		if (rc < 0)
			goto out;
		if (json_array_append_new(out, r) != 0) {
			rc = HL_ERR_NOMEM;
			goto out;
		}
	}
	snprintf(peer_name, HL_NAME_MAX + 1, "%s", c.names[1]);
	*records = out;
	out = NULL;
	rc = HL_OK;
out:
	json_decref(out);
	json_decref(root);
	return rc;
}
