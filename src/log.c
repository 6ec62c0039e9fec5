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

void
log_set_prefix(const char *station)
{
	snprintf(prefix, sizeof prefix, " station=%s", station);
}

void
log_event(enum log_level lvl, const char *event, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
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
	             now.tv_nsec / 1000000, names[lvl], prefix, event);
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

const char *
log_q(char *buf, size_t cap, const char *value)
{
	size_t o = 0;
	bool plain = *value != '\0';

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
