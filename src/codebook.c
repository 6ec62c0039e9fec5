/* SPDX-License-Identifier: ISC */
/*
 * codebook.c: load and check a codebook; parse, check and render field
 * values; build and parse the wire body of a codebook message. Every rule
 * in docs/codebook.md is checked here, and each refusal names the template
 * and field at fault. Received bodies are untrusted: hl_codebook_decode
 * checks them as strictly as values typed by an operator, and accepts
 * only the one canonical encoding, so a message has exactly one body.
 * Pure except hl_codebook_load (reads one file).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "codebook.h"
#include "msg.h"
#include "util.h"

#define TITLE_MAX 200        /* bytes: titles, labels, enum labels, the codebook's name */
#define UNIT_MAX 32          /* bytes */
#define DESCRIPTION_MAX 2000 /* bytes */
#define RENDER_MAX 4000      /* bytes */
#define EXAMPLE_MAX 4096     /* bytes */
#define VERSION_MAX 32
#define TEXT_DEFAULT 200           /* characters, when max_length is not given */
#define INT_LIMIT 9007199254740991 /* 2^53 - 1: exact in every JSON reader */
#define RADIUS_MAX_M 20000000      /* 20000 km */
#define OUT_MAX (4u << 20)         /* no rendering or message grows past this */

static const char *const lang_names[HL_LANG_COUNT] = {"en", "zh"};
static const char *const type_names[HL_CB_TYPE_COUNT] = {"text",     "integer", "time", "window",
                                                         "position", "area",    "enum", "msgid"};

const char *
hl_lang_name(unsigned lang)
{
	return lang < HL_LANG_COUNT ? lang_names[lang] : "?";
}

int
hl_lang_parse(const char *s, unsigned *lang)
{
	for (unsigned i = 0; i < HL_LANG_COUNT; i++)
		if (strcmp(s, lang_names[i]) == 0) {
			*lang = i;
			return HL_OK;
		}
	return HL_ERR_INVAL;
}

const char *
hl_cb_type_name(unsigned type)
{
	return type < HL_CB_TYPE_COUNT ? type_names[type] : "?";
}

static void HL_PRINTF(3, 4) seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!err || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

/*
 * Someone else's text, fit to quote in a one-line message: at most 48
 * bytes (cut on a character boundary, "..." added), control characters
 * as '?', and every non-ASCII byte as '?' when the text is not UTF-8.
 */
static const char *
quote(const char *s, size_t n, char out[static 64])
{
	bool utf8 = hl_utf8_valid((const uint8_t *)s, n);
	size_t k = n > 48 ? 48 : n;

	if (k < n && utf8)
		while (k > 0 && ((uint8_t)s[k] & 0xc0) == 0x80)
			k--;
	for (size_t i = 0; i < k; i++) {
		uint8_t c = (uint8_t)s[i];
		out[i] = (char)(c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8) ? '?' : c);
	}
	memcpy(out + k, k < n ? "..." : "", k < n ? 4 : 1);
	return out;
}

static const char *
q(const char *s, char out[static 64])
{
	return quote(s, strlen(s), out);
}

/* ---- a growing string ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (!b->p || b->cap - b->len <= n) { /* p is NULL exactly while cap is 0 */
		size_t cap = b->cap ? b->cap : 256;
		char *p;
		while (cap - b->len <= n && cap <= OUT_MAX)
			cap *= 2;
		if (cap - b->len <= n || !(p = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void HL_PRINTF(2, 3) sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		b->oom = true;
		return;
	}
	sb_add(b, buf, (size_t)n);
}

/* Hand the string to the caller (an empty one if nothing was added). */
static int
sb_finish(struct sbuf *b, char **out)
{
	*out = NULL;
	if (!b->oom && !b->p)
		sb_add(b, "", 0);
	if (b->oom) {
		free(b->p);
		return HL_ERR_NOMEM;
	}
	*out = b->p;
	return HL_OK;
}

/* ---- numbers, times, positions, areas ---- */

/*
 * "-?D{1,ip}(.D{1,fp})?" to the value times 10^fp (exact: no floating
 * point anywhere, so both stations agree on every digit). ip + fp <= 18.
 */
static bool
parse_fixed(const char *s, size_t n, unsigned ip, unsigned fp, int64_t *out)
{
	size_t i = 0;
	unsigned d = 0, f = 0;
	int64_t v = 0;
	bool neg = false;

	if (i < n && s[i] == '-') {
		neg = true;
		i++;
	}
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (++d > ip)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (d == 0)
		return false;
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (++f > fp)
				return false;
			v = v * 10 + (s[i] - '0');
		}
		if (f == 0)
			return false;
	}
	if (i != n)
		return false;
	for (; f < fp; f++)
		v *= 10;
	*out = neg ? -v : v;
	return true;
}

/* The shortest decimal text of v / 10^fp: "32.1", "-0.000001", "124". */
static void
format_fixed(int64_t v, unsigned fp, bool absolute, char out[static 48])
{
	int64_t scale = 1, a = v < 0 ? -v : v;
	char frac[16];
	int k;

	for (unsigned i = 0; i < fp; i++)
		scale *= 10;
	if (a % scale == 0) {
		snprintf(out, 48, "%s%lld", v < 0 && !absolute ? "-" : "", (long long)(a / scale));
		return;
	}
	k = snprintf(frac, sizeof frac, "%0*lld", (int)fp, (long long)(a % scale));
	while (k > 0 && frac[k - 1] == '0')
		frac[--k] = '\0';
	snprintf(out, 48, "%s%lld.%s", v < 0 && !absolute ? "-" : "", (long long)(a / scale), frac);
}

struct utc {
	unsigned y, mo, d, h, mi, s;
	int64_t t; /* seconds since the epoch */
};

static int
digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int64_t
days_from_civil(unsigned y, unsigned m, unsigned d)
{
	/* Howard Hinnant's algorithm, for years from 1970 on. */
	unsigned yy = m <= 2 ? y - 1 : y;
	unsigned era = yy / 400, yoe = yy - era * 400;
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

/* "YYYY-MM-DDTHH:MMZ" or "YYYY-MM-DDTHH:MM:SSZ", UTC, years 1970 to 9999. */
static bool
parse_utc(const char *s, size_t n, struct utc *u)
{
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec = 0;
	unsigned dim;

	if (n != 17 && n != 20)
		return false;
	if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[n - 1] != 'Z' ||
	    (n == 20 && s[16] != ':'))
		return false;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	if (n == 20)
		sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 59)
		return false;
	dim = mdays[mo - 1];
	if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 29;
	if ((unsigned)d > dim)
		return false;
	u->y = (unsigned)y;
	u->mo = (unsigned)mo;
	u->d = (unsigned)d;
	u->h = (unsigned)h;
	u->mi = (unsigned)mi;
	u->s = (unsigned)sec;
	u->t = days_from_civil(u->y, u->mo, u->d) * 86400 + (int64_t)(h * 3600 + mi * 60 + sec);
	return true;
}

/* Canonical: seconds only when not zero. */
static void
utc_canon(struct sbuf *b, const struct utc *u)
{
	sb_fmt(b, "%04u-%02u-%02uT%02u:%02u", u->y, u->mo, u->d, u->h, u->mi);
	if (u->s)
		sb_fmt(b, ":%02u", u->s);
	sb_str(b, "Z");
}

/* "2026-12-01 06:00" / "2026年12月1日6时00分"; the time zone is the caller's to add. */
static void
utc_render(struct sbuf *b, const struct utc *u, unsigned lang)
{
	if (lang == HL_LANG_ZH) {
		sb_fmt(b, "%u年%u月%u日%u时%02u分", u->y, u->mo, u->d, u->h, u->mi);
		if (u->s)
			sb_fmt(b, "%02u秒", u->s);
		return;
	}
	sb_fmt(b, "%04u-%02u-%02u %02u:%02u", u->y, u->mo, u->d, u->h, u->mi);
	if (u->s)
		sb_fmt(b, ":%02u", u->s);
}

static const char ZH_UTC[] = "（协调世界时）";

struct pos {
	int64_t lat, lon; /* millionths of a degree */
};

#define POS_DECIMALS 6
#define DEGREES " (decimal degrees, at most 6 decimals, south and west negative)"

/* "LAT,LON"; why says what is wrong (without the field's name). */
static bool
parse_pos(const char *s, size_t n, struct pos *p, char *why, size_t cap)
{
	const char *comma = memchr(s, ',', n);
	char a[64], b[64];
	size_t an, bn;

	if (!comma || memchr(comma + 1, ',', n - (size_t)(comma - s) - 1)) {
		seterr(why, cap,
		       "expected a position LAT,LON in decimal degrees, e.g. 32.1,124.5, "
		       "got '%s'",
		       quote(s, n, a));
		return false;
	}
	an = (size_t)(comma - s);
	bn = n - an - 1;
	if (!parse_fixed(s, an, 3, POS_DECIMALS, &p->lat) || p->lat < -90000000 ||
	    p->lat > 90000000) {
		seterr(why, cap, "expected a latitude from -90 to 90%s, got '%s'",
		       parse_fixed(s, an, 3, POS_DECIMALS, &p->lat) ? "" : DEGREES,
		       quote(s, an, a));
		return false;
	}
	if (!parse_fixed(comma + 1, bn, 3, POS_DECIMALS, &p->lon) || p->lon < -180000000 ||
	    p->lon > 180000000) {
		seterr(why, cap, "expected a longitude from -180 to 180%s, got '%s'",
		       parse_fixed(comma + 1, bn, 3, POS_DECIMALS, &p->lon) ? "" : DEGREES,
		       quote(comma + 1, bn, b));
		return false;
	}
	return true;
}

static void
pos_canon(struct sbuf *b, const struct pos *p)
{
	char lat[48], lon[48];

	format_fixed(p->lat, POS_DECIMALS, false, lat);
	format_fixed(p->lon, POS_DECIMALS, false, lon);
	sb_fmt(b, "%s,%s", lat, lon);
}

/* "32.1°N 124.5°E" / "北纬32.1° 东经124.5°". */
static void
pos_render(struct sbuf *b, const struct pos *p, unsigned lang)
{
	char lat[48], lon[48];

	format_fixed(p->lat, POS_DECIMALS, true, lat);
	format_fixed(p->lon, POS_DECIMALS, true, lon);
	if (lang == HL_LANG_ZH)
		sb_fmt(b, "%s%s° %s%s°", p->lat < 0 ? "南纬" : "北纬", lat,
		       p->lon < 0 ? "西经" : "东经", lon);
	else
		sb_fmt(b, "%s°%c %s°%c", lat, p->lat < 0 ? 'S' : 'N', lon, p->lon < 0 ? 'W' : 'E');
}

struct area {
	bool circle;
	int64_t radius_m;
	size_t nv;                        /* polygon */
	struct pos v[HL_CB_VERTICES_MAX]; /* v[0] is a circle's centre */
};

static const char AREA_SYNTAX[] =
    "circle:LAT,LON,RADIUS_KM or polygon:LAT,LON;LAT,LON;LAT,LON[;...]";

static bool
parse_area(const char *s, size_t n, struct area *a, char *why, size_t cap)
{
	char qb[64], sub[HL_CB_ERR_MAX];

	a->nv = 0;
	if (n > 7 && memcmp(s, "circle:", 7) == 0) {
		const char *r = s + n;
		a->circle = true;
		while (r > s + 7 && r[-1] != ',')
			r--;
		if (r == s + 7) {
			seterr(why, cap, "expected %s, got '%s'", AREA_SYNTAX, quote(s, n, qb));
			return false;
		}
		if (!parse_pos(s + 7, (size_t)(r - 1 - (s + 7)), &a->v[0], sub, sizeof sub)) {
			seterr(why, cap, "circle centre: %s", sub);
			return false;
		}
		if (!parse_fixed(r, (size_t)(s + n - r), 5, 3, &a->radius_m) || a->radius_m <= 0 ||
		    a->radius_m > RADIUS_MAX_M) {
			seterr(
			    why, cap,
			    "expected a circle's radius in km, more than 0 and at most 20000, at "
			    "most 3 decimals, got '%s'",
			    quote(r, (size_t)(s + n - r), qb));
			return false;
		}
		return true;
	}
	if (n > 8 && memcmp(s, "polygon:", 8) == 0) {
		const char *p = s + 8, *end = s + n;
		size_t count = 1;
		a->circle = false;
		for (const char *c = p; c < end; c++)
			count += *c == ';';
		if (count < HL_CB_VERTICES_MIN || count > HL_CB_VERTICES_MAX) {
			seterr(why, cap,
			       "a polygon needs %d to %d vertices LAT,LON separated by ';', "
			       "got %zu",
			       HL_CB_VERTICES_MIN, HL_CB_VERTICES_MAX, count);
			return false;
		}
		while (a->nv < count) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			if (!semi)
				semi = end;
			if (!parse_pos(p, (size_t)(semi - p), &a->v[a->nv], sub, sizeof sub)) {
				seterr(why, cap, "vertex %zu: %s", a->nv + 1, sub);
				return false;
			}
			a->nv++;
			p = semi + 1;
		}
		for (size_t i = 0; i < a->nv; i++) {
			const struct pos *u = &a->v[i], *w = &a->v[(i + 1) % a->nv];
			if (u->lat != w->lat || u->lon != w->lon)
				continue;
			if (i + 1 == a->nv)
				seterr(why, cap,
				       "the last vertex repeats the first: a polygon closes "
				       "by itself, do not repeat the first vertex");
			else
				seterr(why, cap, "vertices %zu and %zu are the same point", i + 1,
				       i + 2);
			return false;
		}
		return true;
	}
	seterr(why, cap, "expected an area %s, got '%s'", AREA_SYNTAX, quote(s, n, qb));
	return false;
}

static void
area_canon(struct sbuf *b, const struct area *a)
{
	char r[48];

	if (a->circle) {
		format_fixed(a->radius_m, 3, false, r);
		sb_str(b, "circle:");
		pos_canon(b, &a->v[0]);
		sb_fmt(b, ",%s", r);
		return;
	}
	sb_str(b, "polygon:");
	for (size_t i = 0; i < a->nv; i++) {
		if (i)
			sb_str(b, ";");
		pos_canon(b, &a->v[i]);
	}
}

static void
area_render(struct sbuf *b, const struct area *a, unsigned lang)
{
	char r[48];

	if (a->circle) {
		format_fixed(a->radius_m, 3, false, r);
		if (lang == HL_LANG_ZH) {
			sb_str(b, "以");
			pos_render(b, &a->v[0], lang);
			sb_fmt(b, "为圆心、半径%s公里的圆形区域", r);
		} else {
			sb_fmt(b, "circle of radius %s km centred on ", r);
			pos_render(b, &a->v[0], lang);
		}
		return;
	}
	sb_str(b, lang == HL_LANG_ZH ? "由" : "polygon with vertices ");
	for (size_t i = 0; i < a->nv; i++) {
		if (i)
			sb_str(b, lang == HL_LANG_ZH ? "、" : "; ");
		pos_render(b, &a->v[i], lang);
	}
	if (lang == HL_LANG_ZH)
		sb_str(b, "各点依次连线围成的多边形区域");
}

/* ---- values ---- */

/* Unicode characters in valid UTF-8. */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((uint8_t)s[i] & 0xc0) != 0x80;
	return c;
}

static void
enum_list(struct sbuf *b, const struct hl_cb_field *f)
{
	for (size_t i = 0; i < f->nvalues; i++)
		sb_fmt(b, "%s%s", i ? ", " : "", f->values[i].value);
}

char *
hl_cb_field_syntax(const struct hl_cb_field *f)
{
	struct sbuf b = {0};
	char *out;

	switch (f->type) {
	case HL_CB_TEXT:
		sb_fmt(&b, "one line of text, at most %lld characters", (long long)f->max);
		break;
	case HL_CB_INTEGER:
		sb_fmt(&b, "an integer from %lld to %lld", (long long)f->min, (long long)f->max);
		if (f->unit.s[HL_LANG_EN])
			sb_fmt(&b, " (%s)", f->unit.s[HL_LANG_EN]);
		break;
	case HL_CB_TIME:
		sb_str(&b, "a UTC time YYYY-MM-DDTHH:MMZ or YYYY-MM-DDTHH:MM:SSZ");
		break;
	case HL_CB_WINDOW:
		sb_str(&b, "a time window START/END: two UTC times, END after START");
		break;
	case HL_CB_POSITION:
		sb_str(&b, "a position LAT,LON in decimal degrees (latitude -90 to 90, longitude "
		           "-180 to 180, south and west negative)");
		break;
	case HL_CB_AREA:
		sb_fmt(&b, "an area %s (3 to 64 vertices; radius in km)", AREA_SYNTAX);
		break;
	case HL_CB_ENUM:
		sb_str(&b, "one of ");
		enum_list(&b, f);
		break;
	case HL_CB_MSGID:
		sb_str(&b, "a message id: 12 hexadecimal characters");
		break;
	}
	return sb_finish(&b, &out) == HL_OK ? out : NULL;
}

static const struct hl_cb_value *
enum_find(const struct hl_cb_field *f, const char *s, bool any_case)
{
	for (size_t i = 0; i < f->nvalues; i++)
		if (any_case ? strcasecmp(f->values[i].value, s) == 0
		             : strcmp(f->values[i].value, s) == 0)
			return &f->values[i];
	return NULL;
}

/*
 * Parse one value of field f written as text: canonical form into b (for
 * everything but integers) or *ival. false with why (no field name) when
 * the value is not valid.
 */
static bool
parse_value(const struct hl_cb_field *f, const char *s, struct sbuf *b, int64_t *ival, char *why,
            size_t cap)
{
	size_t n = strlen(s);
	char qb[64], sub[HL_CB_ERR_MAX];

	*ival = 0;
	if (n == 0 && f->type != HL_CB_TEXT) {
		char *syn = hl_cb_field_syntax(f);
		seterr(why, cap, "expected %s, got nothing", syn ? syn : "a value");
		free(syn);
		return false;
	}
	switch (f->type) {
	case HL_CB_TEXT: {
		size_t chars;
		if (n == 0) {
			seterr(why, cap, "expected one line of text, got nothing");
			return false;
		}
		if (!hl_field_valid(s, n)) {
			seterr(why, cap,
			       "expected one line of text: valid UTF-8, no line breaks or "
			       "other control characters");
			return false;
		}
		chars = utf8_chars(s, n);
		if (chars > (size_t)f->max) {
			seterr(why, cap, "expected at most %lld characters, got %zu",
			       (long long)f->max, chars);
			return false;
		}
		sb_add(b, s, n);
		return true;
	}
	case HL_CB_INTEGER: {
		int64_t v;
		if (!parse_fixed(s, n, 16, 0, &v) || v < f->min || v > f->max) {
			seterr(why, cap, "expected an integer from %lld to %lld, got '%s'",
			       (long long)f->min, (long long)f->max, quote(s, n, qb));
			return false;
		}
		*ival = v;
		return true;
	}
	case HL_CB_TIME: {
		struct utc u;
		if (!parse_utc(s, n, &u)) {
			seterr(
			    why, cap,
			    "expected a UTC time like 2026-12-01T06:00Z or 2026-12-01T06:00:30Z, "
			    "got '%s'",
			    quote(s, n, qb));
			return false;
		}
		utc_canon(b, &u);
		return true;
	}
	case HL_CB_WINDOW: {
		const char *slash = strchr(s, '/');
		struct utc a, z;
		char qa[64];
		if (!slash || strchr(slash + 1, '/')) {
			seterr(why, cap,
			       "expected a time window START/END, e.g. "
			       "2026-12-01T06:00Z/2026-12-01T09:00Z, got '%s'",
			       quote(s, n, qb));
			return false;
		}
		if (!parse_utc(s, (size_t)(slash - s), &a)) {
			seterr(why, cap,
			       "start: expected a UTC time like 2026-12-01T06:00Z, got '%s'",
			       quote(s, (size_t)(slash - s), qb));
			return false;
		}
		if (!parse_utc(slash + 1, strlen(slash + 1), &z)) {
			seterr(why, cap,
			       "end: expected a UTC time like 2026-12-01T09:00Z, got '%s'",
			       q(slash + 1, qb));
			return false;
		}
		if (z.t <= a.t) {
			seterr(why, cap, "the end %s is not after the start %s", q(slash + 1, qb),
			       quote(s, (size_t)(slash - s), qa));
			return false;
		}
		utc_canon(b, &a);
		sb_str(b, "/");
		utc_canon(b, &z);
		return true;
	}
	case HL_CB_POSITION: {
		struct pos p;
		if (!parse_pos(s, n, &p, why, cap))
			return false;
		pos_canon(b, &p);
		return true;
	}
	case HL_CB_AREA: {
		struct area *a = malloc(sizeof *a);
		bool ok;
		if (!a) {
			b->oom = true;
			seterr(why, cap, "out of memory");
			return false;
		}
		ok = parse_area(s, n, a, sub, sizeof sub);
		if (ok)
			area_canon(b, a);
		else
			seterr(why, cap, "%s", sub);
		free(a);
		return ok;
	}
	case HL_CB_ENUM: {
		const struct hl_cb_value *v = enum_find(f, s, true);
		if (!v) {
			struct sbuf l = {0};
			enum_list(&l, f);
			seterr(why, cap, "expected one of %s, got '%s'", l.p ? l.p : "",
			       quote(s, n, qb));
			free(l.p);
			return false;
		}
		sb_str(b, v->value);
		return true;
	}
	case HL_CB_MSGID: {
		bool ok = n == HL_MSGID_LEN;
		for (size_t i = 0; ok && i < n; i++)
			ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			     (s[i] >= 'A' && s[i] <= 'F');
		if (!ok) {
			seterr(
			    why, cap,
			    "expected a message id: 12 hexadecimal characters as 'hotline inbox' "
			    "shows, got '%s'",
			    quote(s, n, qb));
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			char c = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] - 'A' + 'a') : s[i];
			sb_add(b, &c, 1);
		}
		return true;
	}
	}
	seterr(why, cap, "unknown type");
	return false;
}

int
hl_cb_value_parse(const struct hl_cb_field *f, const char *text, json_t **out, char *err,
                  size_t errcap)
{
	struct sbuf b = {0};
	char why[HL_CB_ERR_MAX];
	int64_t iv;

	*out = NULL;
	seterr(err, errcap, "%s", "");
	if (!parse_value(f, text, &b, &iv, why, sizeof why)) {
		free(b.p);
		if (b.oom)
			return HL_ERR_NOMEM;
		seterr(err, errcap, "field '%s': %s", f->name, why);
		return HL_ERR_INVAL;
	}
	if (b.oom) {
		free(b.p);
		return HL_ERR_NOMEM;
	}
	*out =
	    f->type == HL_CB_INTEGER ? json_integer((json_int_t)iv) : json_string(b.p ? b.p : "");
	free(b.p);
	return *out ? HL_OK : HL_ERR_NOMEM;
}

/* A received or built value: of the field's JSON type, valid, canonical. */
static int
check_value(const struct hl_cb_field *f, const json_t *v, char *why, size_t cap)
{
	struct sbuf b = {0};
	char qb[64], qc[64];
	const char *s;
	int64_t iv;
	int rc = HL_ERR_INVAL;

	if (f->type == HL_CB_INTEGER) {
		json_int_t x;
		if (!json_is_integer(v)) {
			seterr(why, cap, "expected a JSON integer");
			return HL_ERR_INVAL;
		}
		x = json_integer_value(v);
		if (x < f->min || x > f->max) {
			seterr(why, cap, "expected an integer from %lld to %lld, got %lld",
			       (long long)f->min, (long long)f->max, (long long)x);
			return HL_ERR_INVAL;
		}
		return HL_OK;
	}
	if (!json_is_string(v)) {
		seterr(why, cap, "expected a JSON string");
		return HL_ERR_INVAL;
	}
	s = json_string_value(v);
	if (json_string_length(v) != strlen(s)) {
		seterr(why, cap, "a NUL byte in the value");
		return HL_ERR_INVAL;
	}
	if (!parse_value(f, s, &b, &iv, why, cap)) {
		rc = b.oom ? HL_ERR_NOMEM : HL_ERR_INVAL;
		goto out;
	}
	if (b.oom) {
		rc = HL_ERR_NOMEM;
		goto out;
	}
	if (strcmp(b.p ? b.p : "", s) != 0) {
		seterr(why, cap, "'%s' is not in canonical form ('%s')", q(s, qb),
		       q(b.p ? b.p : "", qc));
		goto out;
	}
	rc = HL_OK;
out:
	free(b.p);
	return rc;
}

static void
field_list(struct sbuf *b, const struct hl_cb_template *t)
{
	for (size_t i = 0; i < t->nfields; i++)
		sb_fmt(b, "%s%s", i ? ", " : "", t->fields[i].name);
	if (t->nfields == 0)
		sb_str(b, "none");
}

static void
unknown_field(const struct hl_cb_template *t, const char *name, char *err, size_t cap)
{
	struct sbuf l = {0};
	char qb[64];

	field_list(&l, t);
	seterr(err, cap, "unknown field '%s' for %s: fields are %s", q(name, qb), t->code,
	       l.p ? l.p : "?");
	free(l.p);
}

static void
missing_field(const struct hl_cb_field *f, char *err, size_t cap)
{
	char *syn = hl_cb_field_syntax(f);

	seterr(err, cap, "missing required field '%s': expected %s, e.g. %s=%s", f->name,
	       syn ? syn : "a value", f->name, f->example);
	free(syn);
}

int
hl_cb_fields_check(const struct hl_cb_template *t, const json_t *fields, char *err, size_t errcap)
{
	char why[HL_CB_ERR_MAX];
	const char *k;
	json_t *v;
	int rc;

	seterr(err, errcap, "%s", "");
	if (!json_is_object(fields)) {
		seterr(err, errcap, "%s: the fields must be a JSON object", t->code);
		return HL_ERR_INVAL;
	}
	/* jansson iterates only over non-const objects; nothing here changes it. */
	json_object_foreach((json_t *)(uintptr_t)fields, k, v)
	{
		const struct hl_cb_field *f = hl_cb_field_find(t, k);
		if (!f) {
			unknown_field(t, k, err, errcap);
			return HL_ERR_INVAL;
		}
		if ((rc = check_value(f, v, why, sizeof why)) < 0) {
			seterr(err, errcap, "field '%s': %s", f->name, why);
			return rc;
		}
	}
	for (size_t i = 0; i < t->nfields; i++)
		if (t->fields[i].required && !json_object_get(fields, t->fields[i].name)) {
			missing_field(&t->fields[i], err, errcap);
			return HL_ERR_INVAL;
		}
	return HL_OK;
}

int
hl_codebook_args(const struct hl_codebook *cb, const char *code, int argc, char *const argv[],
                 const struct hl_cb_template **tp, json_t **fields, char *err, size_t errcap)
{
	const struct hl_cb_template *t;
	char qb[64];
	json_t *o;
	int rc;

	*tp = NULL;
	*fields = NULL;
	seterr(err, errcap, "%s", "");
	if (!(t = hl_codebook_find(cb, code))) {
		seterr(err, errcap, "unknown code '%s': see 'hotline codebook list'", q(code, qb));
		return HL_ERR_NOTFOUND;
	}
	if (!(o = json_object()))
		return HL_ERR_NOMEM;
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const struct hl_cb_field *f = NULL;
		char name[HL_CB_NAME_MAX + 1];
		json_t *v;
		size_t n = eq ? (size_t)(eq - argv[i]) : 0;

		if (!eq || n == 0) {
			struct sbuf l = {0};
			field_list(&l, t);
			seterr(err, errcap, "'%s' is not FIELD=VALUE: the fields of %s are %s",
			       q(argv[i], qb), t->code, l.p ? l.p : "?");
			free(l.p);
			rc = HL_ERR_INVAL;
			goto fail;
		}
		if (n <= HL_CB_NAME_MAX) {
			memcpy(name, argv[i], n);
			name[n] = '\0';
			f = hl_cb_field_find(t, name);
		}
		if (!f) {
			char whole[HL_CB_NAME_MAX + 2];
			snprintf(whole, sizeof whole, "%.*s",
			         (int)(n <= HL_CB_NAME_MAX ? n : HL_CB_NAME_MAX + 1), argv[i]);
			unknown_field(t, whole, err, errcap);
			rc = HL_ERR_INVAL;
			goto fail;
		}
		if (json_object_get(o, f->name)) {
			seterr(err, errcap, "field '%s' is given twice", f->name);
			rc = HL_ERR_INVAL;
			goto fail;
		}
		if ((rc = hl_cb_value_parse(f, eq + 1, &v, err, errcap)) < 0)
			goto fail;
		if (json_object_set_new(o, f->name, v) != 0) {
			rc = HL_ERR_NOMEM;
			goto fail;
		}
	}
	for (size_t i = 0; i < t->nfields; i++)
		if (t->fields[i].required && !json_object_get(o, t->fields[i].name)) {
			missing_field(&t->fields[i], err, errcap);
			rc = HL_ERR_INVAL;
			goto fail;
		}
	*tp = t;
	*fields = o;
	return HL_OK;
fail:
	json_decref(o);
	return rc;
}

/* ---- rendering ---- */

static int
render_value(struct sbuf *b, const struct hl_cb_field *f, const json_t *v, unsigned lang)
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;

	if (f->type == HL_CB_INTEGER) {
		if (!json_is_integer(v))
			return HL_ERR_INVAL;
		sb_fmt(b, "%lld", (long long)json_integer_value(v));
		if (f->unit.s[lang])
			sb_fmt(b, "%s%s", lang == HL_LANG_ZH ? "" : " ", f->unit.s[lang]);
		return HL_OK;
	}
	if (!s)
		return HL_ERR_INVAL;
	switch (f->type) {
	case HL_CB_TEXT:
	case HL_CB_MSGID:
		sb_add(b, s, n);
		return HL_OK;
	case HL_CB_INTEGER:
		break;
	case HL_CB_TIME: {
		struct utc u;
		if (!parse_utc(s, n, &u))
			return HL_ERR_INVAL;
		utc_render(b, &u, lang);
		sb_str(b, lang == HL_LANG_ZH ? ZH_UTC : " UTC");
		return HL_OK;
	}
	case HL_CB_WINDOW: {
		const char *slash = strchr(s, '/');
		struct utc a, z;
		if (!slash || !parse_utc(s, (size_t)(slash - s), &a) ||
		    !parse_utc(slash + 1, strlen(slash + 1), &z))
			return HL_ERR_INVAL;
		utc_render(b, &a, lang);
		sb_str(b, lang == HL_LANG_ZH ? "至" : " to ");
		utc_render(b, &z, lang);
		sb_str(b, lang == HL_LANG_ZH ? ZH_UTC : " UTC");
		return HL_OK;
	}
	case HL_CB_POSITION: {
		struct pos p;
		if (!parse_pos(s, n, &p, NULL, 0))
			return HL_ERR_INVAL;
		pos_render(b, &p, lang);
		return HL_OK;
	}
	case HL_CB_AREA: {
		struct area *a = malloc(sizeof *a);
		int rc = HL_ERR_INVAL;
		if (!a)
			return HL_ERR_NOMEM;
		if (parse_area(s, n, a, NULL, 0)) {
			area_render(b, a, lang);
			rc = HL_OK;
		}
		free(a);
		return rc;
	}
	case HL_CB_ENUM: {
		const struct hl_cb_value *e = enum_find(f, s, false);
		if (!e)
			return HL_ERR_INVAL;
		sb_str(b, e->label.s[lang]);
		return HL_OK;
	}
	}
	return HL_ERR_INVAL;
}

int
hl_cb_value_render(const struct hl_cb_field *f, const json_t *value, unsigned lang, char **out)
{
	struct sbuf b = {0};
	char why[HL_CB_ERR_MAX];
	int rc;

	*out = NULL;
	if (lang >= HL_LANG_COUNT || check_value(f, value, why, sizeof why) < 0)
		return HL_ERR_INVAL;
	if ((rc = render_value(&b, f, value, lang)) < 0) {
		free(b.p);
		return rc;
	}
	return sb_finish(&b, out);
}

/*
 * A render text is literal text with "{{" and "}}" for braces, "{name}"
 * for a field's value, and "{#name}" ... "{/name}" around text shown only
 * when optional field name has a value.
 */
enum tok_kind { TOK_END, TOK_TEXT, TOK_FIELD, TOK_OPEN, TOK_CLOSE, TOK_BAD };

struct tok {
	enum tok_kind kind;
	const char *p; /* the text, or the name */
	size_t n;
};

static void
next_tok(const char *s, size_t *pos, struct tok *t)
{
	const char *p = s + *pos, *name, *e;

	t->p = p;
	t->n = 0;
	if (*p == '\0') {
		t->kind = TOK_END;
		return;
	}
	if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
		t->kind = TOK_TEXT;
		t->n = 1;
		*pos += 2;
		return;
	}
	if (*p == '}') {
		t->kind = TOK_BAD;
		return;
	}
	if (*p != '{') {
		e = p;
		while (*e && *e != '{' && *e != '}')
			e++;
		t->kind = TOK_TEXT;
		t->n = (size_t)(e - p);
		*pos += t->n;
		return;
	}
	name = p + 1;
	t->kind = TOK_FIELD;
	if (*name == '#' || *name == '/') {
		t->kind = *name == '#' ? TOK_OPEN : TOK_CLOSE;
		name++;
	}
	e = name;
	while ((*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9') || *e == '_')
		e++;
	if (*e != '}' || e == name || *name < 'a' || *name > 'z' ||
	    (size_t)(e - name) > HL_CB_NAME_MAX) {
		t->kind = TOK_BAD;
		return;
	}
	t->p = name;
	t->n = (size_t)(e - name);
	*pos = (size_t)(e + 1 - s);
}

static const struct hl_cb_field *
field_findn(const struct hl_cb_template *t, const char *name, size_t n)
{
	for (size_t i = 0; i < t->nfields; i++)
		if (strlen(t->fields[i].name) == n && memcmp(t->fields[i].name, name, n) == 0)
			return &t->fields[i];
	return NULL;
}

int
hl_codebook_render(const struct hl_cb_template *t, const json_t *fields, unsigned lang, char **out)
{
	struct sbuf b = {0};
	const char *s;
	struct tok k;
	size_t pos = 0;
	bool skip = false;

	*out = NULL;
	if (lang >= HL_LANG_COUNT || hl_cb_fields_check(t, fields, NULL, 0) < 0)
		return HL_ERR_INVAL;
	s = t->render.s[lang];
	for (next_tok(s, &pos, &k); k.kind != TOK_END; next_tok(s, &pos, &k)) {
		const struct hl_cb_field *f = NULL;
		if (k.kind == TOK_FIELD || k.kind == TOK_OPEN)
			f = field_findn(t, k.p, k.n);
		switch (k.kind) {
		case TOK_TEXT:
			if (!skip)
				sb_add(&b, k.p, k.n);
			break;
		case TOK_FIELD:
			if (skip)
				break;
			if (!f || render_value(&b, f, json_object_get(fields, f->name), lang) < 0) {
				free(b.p);
				return HL_ERR_INVAL;
			}
			break;
		case TOK_OPEN:
			skip = !f || !json_object_get(fields, f->name);
			break;
		case TOK_CLOSE:
			skip = false;
			break;
		case TOK_END:
		case TOK_BAD:
			free(b.p);
			return HL_ERR_INVAL; /* never: the codebook was checked */
		}
	}
	return sb_finish(&b, out);
}

/* ---- the wire ---- */

int
hl_codebook_encode(const struct hl_codebook *cb, const struct hl_cb_template *t,
                   const json_t *fields, char **body, size_t *len)
{
	json_t *o, *copy;
	char *s;

	*body = NULL;
	*len = 0;
	if (hl_cb_fields_check(t, fields, NULL, 0) < 0)
		return HL_ERR_INVAL;
	if (!(copy = json_deep_copy(fields)))
		return HL_ERR_NOMEM;
	o = json_pack("{s:s, s:s, s:o}", "codebook", cb->hash_hex, "code", t->code, "fields", copy);
	if (!o)
		return HL_ERR_NOMEM;
	s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	if (!s)
		return HL_ERR_NOMEM;
	if (strlen(s) > HL_CODEBOOK_BODY_MAX) {
		free(s);
		return HL_ERR_LIMIT;
	}
	*body = s;
	*len = strlen(s);
	return HL_OK;
}

int
hl_codebook_decode(const struct hl_codebook *cb, const void *body, size_t len,
                   const struct hl_cb_template **tp, json_t **fields, char *err, size_t errcap)
{
	static const char *const keys[] = {"code", "codebook", "fields"};
	const struct hl_cb_template *t;
	json_t *o, *v, *fo;
	json_error_t je;
	const char *k, *code, *hash;
	char qb[64], qc[64], *again = NULL;
	size_t again_len;
	int rc = HL_ERR_PROTO;

	*tp = NULL;
	*fields = NULL;
	seterr(err, errcap, "%s", "");
	if (len > HL_CODEBOOK_BODY_MAX) {
		seterr(err, errcap, "codebook message: larger than %u bytes", HL_CODEBOOK_BODY_MAX);
		return HL_ERR_PROTO;
	}
	if (!(o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je))) {
		seterr(err, errcap, "codebook message: not JSON: %s", q(je.text, qb));
		return HL_ERR_PROTO;
	}
	if (!json_is_object(o)) {
		seterr(err, errcap, "codebook message: not a JSON object");
		goto out;
	}
	json_object_foreach(o, k, v)
	{
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			known |= strcmp(k, keys[i]) == 0;
		if (!known) {
			seterr(err, errcap, "codebook message: unknown key '%s'", q(k, qb));
			goto out;
		}
	}
	hash = json_string_value(json_object_get(o, "codebook"));
	code = json_string_value(json_object_get(o, "code"));
	fo = json_object_get(o, "fields");
	if (!hash || !code || !json_is_object(fo)) {
		seterr(err, errcap,
		       "codebook message: needs \"codebook\" and \"code\" (strings) "
		       "and \"fields\" (an object)");
		goto out;
	}
	if (strcmp(hash, cb->hash_hex) != 0) {
		seterr(err, errcap,
		       "codebook mismatch: the message was written with codebook %.16s, this "
		       "station holds %.16s: compare 'hotline codebook hash' on both stations",
		       q(hash, qb), cb->hash_hex);
		rc = HL_ERR_NOTFOUND;
		goto out;
	}
	t = hl_codebook_find(cb, code);
	if (!t || strcmp(t->code, code) != 0) {
		seterr(err, errcap, "codebook message: unknown code '%s'", q(code, qc));
		goto out;
	}
	if ((rc = hl_cb_fields_check(t, fo, err, errcap)) < 0) {
		rc = rc == HL_ERR_NOMEM ? rc : HL_ERR_PROTO;
		goto out;
	}
	if ((rc = hl_codebook_encode(cb, t, fo, &again, &again_len)) < 0) {
		seterr(err, errcap, "codebook message: cannot encode it again: %s",
		       hl_strerror(rc));
		rc = rc == HL_ERR_NOMEM ? rc : HL_ERR_PROTO;
		goto out;
	}
	if (again_len != len || memcmp(again, body, len) != 0) {
		seterr(err, errcap,
		       "codebook message: not in canonical form (compact JSON, keys "
		       "sorted)");
		rc = HL_ERR_PROTO;
		goto out;
	}
	json_incref(fo);
	*tp = t;
	*fields = fo;
	rc = HL_OK;
out:
	free(again);
	json_decref(o);
	return rc;
}

/* ---- loading a codebook ---- */

/* Where we are in the file, for error messages. */
struct ld {
	char *err;
	size_t cap;
	char where[128];
};

static int HL_PRINTF(2, 3)(bad)(struct ld *l, const char *fmt, ...)
{
	char why[HL_CB_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (l->where[0])
		seterr(l->err, l->cap, "%s: %s", l->where, why);
	else
		seterr(l->err, l->cap, "%s", why);
	return HL_ERR_INVAL;
}
/* bad() is HL_ERR_INVAL: said where it is called, since the static analyzer
 * does not follow variadic calls and would take its result for success. */
#define bad(...) ((bad)(__VA_ARGS__), HL_ERR_INVAL)

/* Every key of o is in allowed (a NULL-terminated list). */
static int
only_keys(struct ld *l, json_t *o, const char *const *allowed, const char *what)
{
	const char *k;
	json_t *v;
	char qb[64];

	json_object_foreach(o, k, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= strcmp(k, allowed[i]) == 0;
		if (!ok)
			return bad(l, "unknown key \"%s\" in %s", q(k, qb), what);
	}
	return HL_OK;
}

static bool
text_ok(const char *s, bool multiline)
{
	for (const char *p = s; *p; p++)
		if (((uint8_t)*p < 0x20 && !(multiline && *p == '\n')) || *p == 0x7f)
			return false;
	return true;
}

/* A text in every language: {"en": "...", "zh": "..."}. */
static int
get_text(struct ld *l, json_t *o, const char *key, bool optional, size_t max, bool multiline,
         struct hl_cb_text *out)
{
	json_t *v = json_object_get(o, key), *s;
	const char *k;
	char qb[64];
	unsigned lang;

	memset(out, 0, sizeof *out);
	if (!v)
		return optional ? HL_OK : bad(l, "missing \"%s\"", key);
	if (!json_is_object(v))
		return bad(l, "\"%s\" must be an object {\"en\": ..., \"zh\": ...}", key);
	json_object_foreach(v, k, s)
	{
		if (hl_lang_parse(k, &lang) < 0)
			return bad(l,
			           "\"%s\": unknown language \"%s\" (the languages are en and zh)",
			           key, q(k, qb));
	}
	for (lang = 0; lang < HL_LANG_COUNT; lang++) {
		s = json_object_get(v, lang_names[lang]);
		if (!s)
			return bad(l, "\"%s\": missing the \"%s\" text", key, lang_names[lang]);
		if (!json_is_string(s))
			return bad(l, "\"%s\".%s must be a string", key, lang_names[lang]);
		if (json_string_length(s) == 0)
			return bad(l, "\"%s\".%s is empty", key, lang_names[lang]);
		if (json_string_length(s) > max)
			return bad(l, "\"%s\".%s is longer than %zu bytes", key, lang_names[lang],
			           max);
		if (!text_ok(json_string_value(s), multiline))
			return bad(l, "\"%s\".%s contains a control character%s", key,
			           lang_names[lang], multiline ? " (only \\n is allowed)" : "");
		out->s[lang] = json_string_value(s);
	}
	return HL_OK;
}

static bool
ident_ok(const char *s, char first_lo, char first_hi, bool upper, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || s[0] < first_lo || s[0] > first_hi)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool letter = upper ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z');
		if (!letter && !(c >= '0' && c <= '9') && c != '_')
			return false;
	}
	return true;
}

static bool
enum_value_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HL_CB_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') &&
		    !(i > 0 && (c == '_' || c == '-')))
			return false;
	}
	return true;
}

/* An optional integer key in lo..hi. */
static int
get_int(struct ld *l, json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;

	if (!v)
		return HL_OK;
	if (!json_is_integer(v))
		return bad(l, "\"%s\" must be an integer", key);
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return bad(l, "\"%s\" must be from %lld to %lld, got %lld", key, (long long)lo,
		           (long long)hi, (long long)x);
	*out = x;
	return HL_OK;
}

static int
load_values(struct ld *l, struct hl_cb_field *f, json_t *arr)
{
	static const char *const keys[] = {"value", "label", NULL};
	size_t n = json_array_size(arr);
	char qb[64];
	json_t *o;
	size_t i;
	int rc;

	if (!json_is_array(arr) || n < 1 || n > HL_CB_VALUES_MAX)
		return bad(l, "\"values\" must be an array of 1 to %d values", HL_CB_VALUES_MAX);
	if (!(f->values = calloc(n, sizeof *f->values)))
		return HL_ERR_NOMEM;
	json_array_foreach(arr, i, o)
	{
		struct hl_cb_value *v = &f->values[i];
		const char *s;
		if (!json_is_object(o))
			return bad(l, "values[%zu] must be an object {\"value\", \"label\"}", i);
		if ((rc = only_keys(l, o, keys, "an enumeration value")) < 0)
			return rc;
		s = json_string_value(json_object_get(o, "value"));
		if (!s || !enum_value_ok(s))
			return bad(l,
			           "values[%zu]: \"value\" must be 1-%d of a-z 0-9 _ -, starting "
			           "with a letter or digit",
			           i, HL_CB_NAME_MAX);
		for (size_t k = 0; k < i; k++)
			if (strcmp(f->values[k].value, s) == 0)
				return bad(l, "the value '%s' is listed twice", q(s, qb));
		v->value = s;
		f->nvalues = i + 1;
		if ((rc = get_text(l, o, "label", false, TITLE_MAX, false, &v->label)) < 0)
			return rc;
	}
	return HL_OK;
}

static int
load_field(struct ld *l, const char *code, size_t idx, struct hl_cb_field *f, json_t *o)
{
	static const char *const k_text[] = {"name",    "type",       "required", "label",
	                                     "example", "max_length", NULL};
	static const char *const k_int[] = {"name", "type", "required", "label", "example",
	                                    "min",  "max",  "unit",     NULL};
	static const char *const k_enum[] = {"name",    "type",   "required", "label",
	                                     "example", "values", NULL};
	static const char *const k_plain[] = {"name", "type", "required", "label", "example", NULL};
	const char *name, *type, *example;
	json_t *req, *ex;
	char qb[64], why[HL_CB_ERR_MAX];
	struct sbuf canon = {0};
	int64_t iv;
	unsigned ti;
	int rc;

	snprintf(l->where, sizeof l->where, "template %s: field %zu", code, idx + 1);
	if (!json_is_object(o))
		return bad(l, "must be an object");
	name = json_string_value(json_object_get(o, "name"));
	if (!name || !ident_ok(name, 'a', 'z', false, HL_CB_NAME_MAX))
		return bad(l, "\"name\" must be 1-%d of a-z 0-9 _, starting with a letter",
		           HL_CB_NAME_MAX);
	f->name = name;
	snprintf(l->where, sizeof l->where, "template %s: field '%s'", code, name);
	type = json_string_value(json_object_get(o, "type"));
	if (!type)
		return bad(l, "missing \"type\" (a string)");
	for (ti = 0; ti < HL_CB_TYPE_COUNT; ti++)
		if (strcmp(type, type_names[ti]) == 0)
			break;
	f->type = (enum hl_cb_type)ti;
	if (ti == HL_CB_TYPE_COUNT)
		return bad(l,
		           "unknown type '%s': the types are text, integer, time, window, "
		           "position, area, enum, msgid",
		           q(type, qb));
	rc = only_keys(l, o,
	               f->type == HL_CB_TEXT      ? k_text
	               : f->type == HL_CB_INTEGER ? k_int
	               : f->type == HL_CB_ENUM    ? k_enum
	                                          : k_plain,
	               "a field of this type");
	if (rc < 0)
		return rc;
	req = json_object_get(o, "required");
	if (!json_is_boolean(req))
		return bad(l, "\"required\" must be true or false");
	f->required = json_is_true(req);
	if ((rc = get_text(l, o, "label", false, TITLE_MAX, false, &f->label)) < 0)
		return rc;
	switch (f->type) {
	case HL_CB_TEXT:
		f->min = 1;
		f->max = TEXT_DEFAULT;
		if ((rc = get_int(l, o, "max_length", 1, HL_CB_TEXT_MAX, &f->max)) < 0)
			return rc;
		break;
	case HL_CB_INTEGER:
		f->min = -INT_LIMIT;
		f->max = INT_LIMIT;
		if ((rc = get_int(l, o, "min", -INT_LIMIT, INT_LIMIT, &f->min)) < 0 ||
		    (rc = get_int(l, o, "max", -INT_LIMIT, INT_LIMIT, &f->max)) < 0)
			return rc;
		if (f->min > f->max)
			return bad(l, "\"min\" %lld is more than \"max\" %lld", (long long)f->min,
			           (long long)f->max);
		if ((rc = get_text(l, o, "unit", true, UNIT_MAX, false, &f->unit)) < 0)
			return rc;
		break;
	case HL_CB_ENUM:
		if ((rc = load_values(l, f, json_object_get(o, "values"))) < 0)
			return rc;
		break;
	case HL_CB_TIME:
	case HL_CB_WINDOW:
	case HL_CB_POSITION:
	case HL_CB_AREA:
	case HL_CB_MSGID:
		break;
	}
	ex = json_object_get(o, "example");
	example = json_string_value(ex);
	if (!example || json_string_length(ex) > EXAMPLE_MAX)
		return bad(l, "missing \"example\": a valid value as a string, in the syntax "
		              "FIELD=VALUE takes");
	f->example = example;
	if (!parse_value(f, example, &canon, &iv, why, sizeof why)) {
		free(canon.p);
		return canon.oom ? HL_ERR_NOMEM : bad(l, "bad example: %s", why);
	}
	free(canon.p);
	return canon.oom ? HL_ERR_NOMEM : HL_OK;
}

/* The render text of one language follows the rules (see next_tok). */
static int
check_render(struct ld *l, const struct hl_cb_template *t, unsigned lang)
{
	const char *s = t->render.s[lang];
	const struct hl_cb_field *section = NULL;
	bool seen[HL_CB_FIELDS_MAX] = {false};
	char qb[64];
	struct tok k;
	size_t pos = 0;

	for (next_tok(s, &pos, &k); k.kind != TOK_END; next_tok(s, &pos, &k)) {
		const struct hl_cb_field *f;
		if (k.kind == TOK_TEXT)
			continue;
		if (k.kind == TOK_BAD)
			return bad(l,
			           "render.%s, at byte %zu: expected {FIELD}, {#FIELD} or {/FIELD} "
			           "(write {{ and }} for braces), got '%s'",
			           lang_names[lang], pos, q(s + pos, qb));
		f = field_findn(t, k.p, k.n);
		if (!f)
			return bad(l, "render.%s: {%s%.*s} names no field of %s", lang_names[lang],
			           k.kind == TOK_OPEN    ? "#"
			           : k.kind == TOK_CLOSE ? "/"
			                                 : "",
			           (int)k.n, k.p, t->code);
		switch (k.kind) {
		case TOK_FIELD:
			if (!f->required && section != f)
				return bad(l,
				           "render.%s: optional field '%s' must be inside "
				           "{#%s}...{/%s}",
				           lang_names[lang], f->name, f->name, f->name);
			seen[f - t->fields] = true;
			break;
		case TOK_OPEN:
			if (section)
				return bad(l, "render.%s: {#%s} inside {#%s}: sections do not nest",
				           lang_names[lang], f->name, section->name);
			if (f->required)
				return bad(l,
				           "render.%s: {#%s}: '%s' is required, it needs no "
				           "section",
				           lang_names[lang], f->name, f->name);
			section = f;
			break;
		case TOK_CLOSE:
			if (section != f)
				return bad(l, "render.%s: {/%s} closes no open {#%s}",
				           lang_names[lang], f->name, f->name);
			section = NULL;
			break;
		case TOK_END:
		case TOK_TEXT:
		case TOK_BAD:
			break;
		}
	}
	if (section)
		return bad(l, "render.%s: {#%s} is never closed with {/%s}", lang_names[lang],
		           section->name, section->name);
	for (size_t i = 0; i < t->nfields; i++)
		if (!seen[i])
			return bad(l, "render.%s does not show field '%s': every field must appear",
			           lang_names[lang], t->fields[i].name);
	return HL_OK;
}

static int
load_template(struct ld *l, size_t idx, struct hl_cb_template *t, json_t *o)
{
	static const char *const keys[] = {"code",   "precedence", "title", "description",
	                                   "fields", "render",     NULL};
	const char *code, *prec;
	json_t *fa, *fo;
	char qb[64];
	size_t i;
	int rc;

	snprintf(l->where, sizeof l->where, "template %zu", idx + 1);
	if (!json_is_object(o))
		return bad(l, "must be an object");
	code = json_string_value(json_object_get(o, "code"));
	if (!code || !ident_ok(code, 'A', 'Z', true, HL_CB_CODE_MAX))
		return bad(l, "\"code\" must be 1-%d of A-Z 0-9 _, starting with a letter",
		           HL_CB_CODE_MAX);
	t->code = code;
	snprintf(l->where, sizeof l->where, "template %s", code);
	if ((rc = only_keys(l, o, keys, "a template")) < 0)
		return rc;
	prec = json_string_value(json_object_get(o, "precedence"));
	if (!prec || hl_prec_parse(prec, &t->precedence) < 0 ||
	    strcmp(prec, hl_prec_name(t->precedence)) != 0)
		return bad(l,
		           "\"precedence\" must be flash, immediate, priority or routine, got "
		           "'%s'",
		           prec ? q(prec, qb) : "nothing");
	if ((rc = get_text(l, o, "title", false, TITLE_MAX, false, &t->title)) < 0 ||
	    (rc = get_text(l, o, "description", true, DESCRIPTION_MAX, true, &t->description)) < 0)
		return rc;
	fa = json_object_get(o, "fields");
	if (!json_is_array(fa) || json_array_size(fa) > HL_CB_FIELDS_MAX)
		return bad(l, "\"fields\" must be an array of 0 to %d fields", HL_CB_FIELDS_MAX);
	if (json_array_size(fa) && !(t->fields = calloc(json_array_size(fa), sizeof *t->fields)))
		return HL_ERR_NOMEM;
	json_array_foreach(fa, i, fo)
	{
		t->nfields = i + 1; /* so that hl_codebook_free sees what to release */
		if ((rc = load_field(l, code, i, &t->fields[i], fo)) < 0)
			return rc;
		for (size_t k = 0; k < i; k++)
			if (strcmp(t->fields[k].name, t->fields[i].name) == 0) {
				snprintf(l->where, sizeof l->where, "template %s", code);
				return bad(l, "two fields are named '%s'", t->fields[i].name);
			}
	}
	snprintf(l->where, sizeof l->where, "template %s", code);
	if ((rc = get_text(l, o, "render", false, RENDER_MAX, true, &t->render)) < 0)
		return rc;
	for (unsigned lang = 0; lang < HL_LANG_COUNT; lang++)
		if ((rc = check_render(l, t, lang)) < 0)
			return rc;
	return HL_OK;
}

static int
load_root(struct hl_codebook *cb, struct ld *l)
{
	static const char *const keys[] = {"format", "version", "name", "templates", NULL};
	json_t *root = cb->root, *ta, *to;
	const char *fmt;
	char qb[64];
	size_t i;
	int rc;

	if (!json_is_object(root))
		return bad(l, "the file must hold one JSON object");
	fmt = json_string_value(json_object_get(root, "format"));
	if (!fmt || strcmp(fmt, HL_CODEBOOK_FORMAT) != 0)
		return bad(l, "\"format\" must be \"%s\", got '%s'", HL_CODEBOOK_FORMAT,
		           fmt ? q(fmt, qb) : "nothing");
	if ((rc = only_keys(l, root, keys, "the codebook")) < 0)
		return rc;
	cb->version = json_string_value(json_object_get(root, "version"));
	if (!cb->version || !*cb->version || strlen(cb->version) > VERSION_MAX ||
	    strspn(cb->version,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
	        strlen(cb->version))
		return bad(l, "\"version\" must be 1-%d of A-Z a-z 0-9 . _ -, e.g. \"2026.1\"",
		           VERSION_MAX);
	if ((rc = get_text(l, root, "name", false, TITLE_MAX, false, &cb->name)) < 0)
		return rc;
	ta = json_object_get(root, "templates");
	if (!json_is_array(ta) || json_array_size(ta) < 1 ||
	    json_array_size(ta) > HL_CB_TEMPLATES_MAX)
		return bad(l, "\"templates\" must be an array of 1 to %d templates",
		           HL_CB_TEMPLATES_MAX);
	if (!(cb->templates = calloc(json_array_size(ta), sizeof *cb->templates)))
		return HL_ERR_NOMEM;
	json_array_foreach(ta, i, to)
	{
		cb->ntemplates = i + 1;
		if ((rc = load_template(l, i, &cb->templates[i], to)) < 0)
			return rc;
		for (size_t k = 0; k < i; k++)
			if (strcmp(cb->templates[k].code, cb->templates[i].code) == 0) {
				l->where[0] = '\0';
				return bad(l, "templates %zu and %zu both have the code %s", k + 1,
				           i + 1, cb->templates[i].code);
			}
	}
	return HL_OK;
}

int
hl_codebook_parse(const void *data, size_t len, struct hl_codebook **out, char *err, size_t errcap)
{
	struct ld l = {.err = err, .cap = errcap};
	struct hl_codebook *cb;
	json_error_t je;
	char qb[64];
	int rc;

	*out = NULL;
	seterr(err, errcap, "%s", "");
	if (len > HL_CODEBOOK_FILE_MAX) {
		seterr(err, errcap, "the codebook is larger than %u bytes", HL_CODEBOOK_FILE_MAX);
		return HL_ERR_INVAL;
	}
	if (!(cb = calloc(1, sizeof *cb)))
		return HL_ERR_NOMEM;
	cb->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!cb->root) {
		seterr(err, errcap, "not valid JSON: line %d, column %d: %s", je.line, je.column,
		       q(je.text, qb));
		free(cb);
		return HL_ERR_INVAL;
	}
	crypto_generichash(cb->hash, sizeof cb->hash, data, len, NULL, 0);
	sodium_bin2hex(cb->hash_hex, sizeof cb->hash_hex, cb->hash, sizeof cb->hash);
	if ((rc = load_root(cb, &l)) < 0) {
		if (rc == HL_ERR_NOMEM)
			seterr(err, errcap, "out of memory");
		hl_codebook_free(cb);
		return rc;
	}
	*out = cb;
	return HL_OK;
}

int
hl_codebook_load(const char *path, struct hl_codebook **out, char *err, size_t errcap)
{
	char why[HL_CB_ERR_MAX], *data;
	size_t len;
	int rc;

	*out = NULL;
	rc = hl_file_read(path, HL_CODEBOOK_FILE_MAX, &data, &len);
	if (rc < 0) {
		seterr(err, errcap, "%s: %s", path,
		       rc == HL_ERR_LIMIT ? "larger than 1 MiB" : hl_strerror(rc));
		return rc;
	}
	rc = hl_codebook_parse(data, len, out, why, sizeof why);
	free(data);
	if (rc < 0)
		seterr(err, errcap, "%s: %s", path, why);
	return rc;
}

void
hl_codebook_free(struct hl_codebook *cb)
{
	if (!cb)
		return;
	for (size_t i = 0; i < cb->ntemplates; i++) {
		struct hl_cb_template *t = &cb->templates[i];
		for (size_t k = 0; k < t->nfields; k++)
			free(t->fields[k].values);
		free(t->fields);
	}
	free(cb->templates);
	json_decref(cb->root);
	free(cb);
}

const struct hl_cb_template *
hl_codebook_find(const struct hl_codebook *cb, const char *code)
{
	for (size_t i = 0; i < cb->ntemplates; i++)
		if (strcasecmp(cb->templates[i].code, code) == 0)
			return &cb->templates[i];
	return NULL;
}

const struct hl_cb_field *
hl_cb_field_find(const struct hl_cb_template *t, const char *name)
{
	return field_findn(t, name, strlen(name));
}

/* ---- documentation ---- */

static json_t *
text_json(const struct hl_cb_text *x)
{
	json_t *o = json_object();

	for (unsigned lang = 0; o && lang < HL_LANG_COUNT; lang++)
		json_object_set_new(o, lang_names[lang], json_string(x->s[lang]));
	return o;
}

json_t *
hl_cb_template_json(const struct hl_cb_template *t)
{
	json_t *o, *fa;

	o = json_pack("{s:s, s:s, s:o, s:o}", "code", t->code, "precedence",
	              hl_prec_name(t->precedence), "title", text_json(&t->title), "fields",
	              fa = json_array());
	if (!o)
		return NULL;
	if (t->description.s[0])
		json_object_set_new(o, "description", text_json(&t->description));
	for (size_t i = 0; i < t->nfields; i++) {
		const struct hl_cb_field *f = &t->fields[i];
		char *syn = hl_cb_field_syntax(f);
		json_t *fj = json_pack("{s:s, s:s, s:b, s:o, s:s, s:s}", "name", f->name, "type",
		                       type_names[f->type], "required", f->required, "label",
		                       text_json(&f->label), "syntax", syn ? syn : "", "example",
		                       f->example);
		free(syn);
		if (!fj)
			continue;
		if (f->type == HL_CB_TEXT)
			json_object_set_new(fj, "max_length", json_integer((json_int_t)f->max));
		if (f->type == HL_CB_INTEGER) {
			json_object_set_new(fj, "min", json_integer((json_int_t)f->min));
			json_object_set_new(fj, "max", json_integer((json_int_t)f->max));
			if (f->unit.s[0])
				json_object_set_new(fj, "unit", text_json(&f->unit));
		}
		if (f->type == HL_CB_ENUM) {
			json_t *va = json_array();
			for (size_t k = 0; k < f->nvalues; k++)
				json_array_append_new(
				    va, json_pack("{s:s, s:o}", "value", f->values[k].value,
				                  "label", text_json(&f->values[k].label)));
			json_object_set_new(fj, "values", va);
		}
		json_array_append_new(fa, fj);
	}
	json_object_set_new(o, "render", text_json(&t->render));
	return o;
}
