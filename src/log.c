/* SPDX-License-Identifier: ISC */
/*
 * log.c: logfmt lines on stderr, one per event, written with a single
 * write(2) of whole lines (at most PIPE_BUF bytes when several are held)
 * so lines from several processes never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level min_level = LOG_INFO;
static char prefix[80];

/* Held lines (log_hold): one thread holds at a time, the daemon's loop. */
static _Thread_local bool holding;
static struct {
	size_t len;
	char buf[4096]; /* PIPE_BUF: a write of whole lines this size never interleaves */
} held;

static void
out(const char *data, size_t len)
{
	ssize_t w = write(STDERR_FILENO, data, len);
	(void)w;
}

void
log_hold(void)
{
	holding = true;
}

void
log_release(void)
{
	holding = false;
	if (held.len)
		out(held.buf, held.len);
	held.len = 0;
}

void
log_set_level(enum log_level lvl)
{
	min_level = lvl;
}

enum log_level
log_get_level(void)
{
	return min_level;
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return HL_OK;
		}
	return HL_ERR_INVAL;
}

const char *
log_level_name(enum log_level lvl)
{
	return (unsigned)lvl < ARRAY_SIZE(level_names) ? level_names[lvl] : "?";
}

void
log_set_prefix(const char *station)
{
	snprintf(prefix, sizeof prefix, " station=%s", station);
}

void
log_event(enum log_level lvl, const char *event, const char *fmt, ...)
{
	char line[2048], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	if (lvl < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "ts=%s.%03ldZ level=%s%s event=%s", ts,
	             now.tv_nsec / 1000000, level_names[lvl], prefix, event);
	if (fmt && *fmt && n > 0 && (size_t)n < sizeof line - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
		else
			n--; /* nothing to add: drop the space */
	}
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (!holding || lvl >= LOG_ERROR) {
		if (holding && held.len) { /* what was held comes first */
			out(held.buf, held.len);
			held.len = 0;
		}
		out(line, (size_t)n);
		return;
	}
	if (held.len + (size_t)n > sizeof held.buf) {
		out(held.buf, held.len);
		held.len = 0;
	}
	memcpy(held.buf + held.len, line, (size_t)n);
	held.len += (size_t)n;
}

/* Append s to line at *n (bounded by cap); signal-safe. */
static void
put_str(char *line, size_t cap, size_t *n, const char *s)
{
	while (*s && *n < cap)
		line[(*n)++] = *s++;
}

/* Append v in decimal, at least width digits; signal-safe. */
static void
put_num(char *line, size_t cap, size_t *n, long v, int width)
{
	char d[24];
	int k = 0;
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;

	do {
		d[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u && k < (int)sizeof d);
	while (k < width && k < (int)sizeof d)
		d[k++] = '0';
	if (v < 0 && *n < cap)
		line[(*n)++] = '-';
	while (k > 0 && *n < cap)
		line[(*n)++] = d[--k];
}

void
log_sigsafe(enum log_level lvl, const char *event, const char *k1, const char *v1, const char *k2,
            long v2)
{
	char line[512];
	size_t n = 0, cap = sizeof line - 1;
	struct timespec now;
	long days, secs, y, m, d, era, doe, yoe, doy, mp;

	if (lvl < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	days = (long)(now.tv_sec / 86400);
	secs = (long)(now.tv_sec % 86400);
	/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm): gmtime_r may lock. */
	days += 719468;
	era = days / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	put_str(line, cap, &n, "ts=");
	put_num(line, cap, &n, y, 4);
	put_str(line, cap, &n, "-");
	put_num(line, cap, &n, m, 2);
	put_str(line, cap, &n, "-");
	put_num(line, cap, &n, d, 2);
	put_str(line, cap, &n, "T");
	put_num(line, cap, &n, secs / 3600, 2);
	put_str(line, cap, &n, ":");
	put_num(line, cap, &n, secs / 60 % 60, 2);
	put_str(line, cap, &n, ":");
	put_num(line, cap, &n, secs % 60, 2);
	put_str(line, cap, &n, ".");
	put_num(line, cap, &n, now.tv_nsec / 1000000, 3);
	put_str(line, cap, &n, "Z level=");
	put_str(line, cap, &n, level_names[lvl]);
	put_str(line, cap, &n, prefix);
	put_str(line, cap, &n, " event=");
	put_str(line, cap, &n, event);
	put_str(line, cap, &n, " ");
	put_str(line, cap, &n, k1);
	put_str(line, cap, &n, "=");
	put_str(line, cap, &n, v1);
	put_str(line, cap, &n, " ");
	put_str(line, cap, &n, k2);
	put_str(line, cap, &n, "=");
	put_num(line, cap, &n, v2, 1);
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

const char *
log_q(char *buf, size_t cap, const char *value)
{
	size_t o = 0;
	bool plain;

	if (!value) /* an absent value logs as "" rather than crash the logger */
		value = "";
	plain = *value != '\0';

	for (const char *p = value; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
			plain = false;
	if (plain) {
		snprintf(buf, cap, "%s", value);
		return buf;
	}
	if (cap < 3) {
		if (cap)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const char *p = value; *p && o + 3 < cap; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20) {
			buf[o++] = '?';
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void
fatalx(const char *what)
{
	log_error("fatal", "what=\"%s\"", what);
	abort();
}
