/* SPDX-License-Identifier: ISC */
/*
 * test_notify.c: the operator hook (src/notify.c) on a real loop, with real
 * /bin/sh hooks writing into a temporary directory. The daemon's log
 * (stderr) is captured into a file where a check needs it.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"
#include "t.h"
#include "util.h"

static char dir[] = "/tmp/hl-test-notify-XXXXXX";
static const char *files[] = {"out",  "kinds", "out2", "out3", "sleep.pid",
                              "out4", "out5",  "out6", "log"};
static int saved_stderr = -1;

static const char *
path(const char *name)
{
	static char p[8][256];
	static unsigned i;

	i = (i + 1) % ARRAY_SIZE(p);
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

/* The file's contents (caller frees), or "" when it does not exist. */
static char *
slurp(const char *name)
{
	char *text = NULL;
	size_t len;

	if (hl_file_read(path(name), 64u << 20, &text, &len) < 0)
		return strdup("");
	return text;
}

static size_t
count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Send our stderr (the log) and the hooks' into DIR/log until cap_end(). */
static void
cap_begin(void)
{
	int fd = open(path("log"), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	if (fd < 0 || saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0) {
		perror("capture");
		exit(2);
	}
	close(fd);
}

static char *
cap_end(void)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	return slurp("log");
}

static struct hl_notify *start(uv_loop_t *loop, const char *fmt, ...) HL_PRINTF(2, 3);

static struct hl_notify *
start(uv_loop_t *loop, const char *fmt, ...)
{
	char cmd[1024];
	struct hl_notify *n = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	uv_loop_init(loop);
	if (hl_notify_start(loop, cmd, &n) < 0) {
		printf("Bail out! hl_notify_start failed\n");
		exit(2);
	}
	return n;
}

/* Run the loop dry and check that nothing was left open. */
static void
finish(uv_loop_t *loop, const char *what)
{
	int rc;

	uv_run(loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(loop); /* T_OK evaluates its condition twice */
	T_EQ_INT(rc, 0, what);
}

static json_t *
ev(const char *kind, int i)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "event", kind, "station", "washington", "at",
	                 "2026-11-26T08:16:27.185Z", "peer", "beijing", "i", i);
}

static void
test_order_and_env(void)
{
	uv_loop_t loop;
	struct hl_notify *n;
	json_t *sent[3];
	char *out, *kinds, *line, *save = NULL;
	size_t got = 0;
	bool equal = true;

	setenv("HOTLINE_EVENT", "stale", 1); /* replaced, not doubled */
	n = start(&loop, "cat >> %s; printf '%%s\\n' \"$HOTLINE_EVENT\" >> %s", path("out"),
	          path("kinds"));
	sent[0] = ev("message", 0);
	json_object_set_new(sent[0], "text", json_string("two\nlines, \"quoted\", caf\xc3\xa9"));
	sent[1] = ev("overdue", 1);
	sent[2] = ev("link_down", 2);
	for (size_t i = 0; i < 3; i++)
		hl_notify_event(n, json_incref(sent[i]));
	uv_run(&loop, UV_RUN_DEFAULT);
	hl_notify_stop(n);
	finish(&loop, "order: the loop closes (every handle closed)");
	unsetenv("HOTLINE_EVENT");

	out = slurp("out");
	T_EQ_INT(count(out, "\n"), 3, "three events, one line each");
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		if (got >= 3 || !j || !json_equal(j, sent[got]))
			equal = false;
		json_decref(j);
		got++;
	}
	T_OK(equal && got == 3, "each line is the JSON given, in the order given");
	kinds = slurp("kinds");
	T_OK(strcmp(kinds, "message\noverdue\nlink_down\n") == 0,
	     "HOTLINE_EVENT is each event's kind, the stale value replaced");
	for (size_t i = 0; i < 3; i++)
		json_decref(sent[i]);
	free(out);
	free(kinds);
}

static void
test_failures(void)
{
	uv_loop_t loop;
	struct hl_notify *n;
	char *log, *out, want[64];

	n = start(&loop,
	          "cat >> %s; case $HOTLINE_EVENT in first) exit 3;; second) kill -USR1 $$;; esac",
	          path("out2"));
	cap_begin();
	hl_notify_event(n, ev("first", 0));
	hl_notify_event(n, ev("second", 1));
	hl_notify_event(n, ev("third", 2));
	uv_run(&loop, UV_RUN_DEFAULT);
	hl_notify_stop(n);
	finish(&loop, "failures: the loop closes");
	log = cap_end();
	out = slurp("out2");
	T_EQ_INT(count(out, "\n"), 3, "every event ran after failing hooks");
	T_OK(strstr(out, "\"event\":\"third\"") != NULL, "the event after the failures ran");
	T_EQ_INT(count(log, "event=notify_failed kind=first status=3\n"), 1,
	         "a non-zero exit is logged with kind and status");
	snprintf(want, sizeof want, "event=notify_failed kind=second signal=%d\n", SIGUSR1);
	T_EQ_INT(count(log, want), 1, "a death by signal is logged with kind and signal");
	T_EQ_INT(count(log, "notify_failed"), 2, "a hook that succeeds is not logged as failed");
	free(log);
	free(out);
}

/* The process is gone, or a zombie nobody reaped: either way it was killed. */
static bool
dead(long pid)
{
	char p[64], stat[512], *rp;

	snprintf(p, sizeof p, "/proc/%ld/stat", pid);
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(p, "r"); /* st_size is 0 in /proc: not hl_file_read */
		bool zombie = false;
		if (!f)
			return true;
		if (fgets(stat, sizeof stat, f) && (rp = strrchr(stat, ')')) && rp[1] == ' ')
			zombie = rp[2] == 'Z' || rp[2] == 'X';
		fclose(f);
		if (zombie)
			return true;
		usleep(10000);
	}
	return false;
}

static void
test_timeout(void)
{
	uv_loop_t loop;
	struct hl_notify *n;
	char *log, *out, *pid;
	uint64_t t0 = hl_now_ms(), ms;

	n = start(&loop,
	          "if [ \"$HOTLINE_EVENT\" = slow ]; then sleep 100 & echo $! > %s; wait; fi; "
	          "cat >> %s",
	          path("sleep.pid"), path("out3"));
	/* The fast hook has the same timeout: generous enough for a shell to start on a loaded
	   machine (an ASan process forks slowly), short enough for the test. */
	hl_notify_set_timeout_ms(n, 1000);
	cap_begin();
	hl_notify_event(n, ev("slow", 0));
	hl_notify_event(n, ev("fast", 1));
	uv_run(&loop, UV_RUN_DEFAULT);
	ms = hl_now_ms() - t0;
	hl_notify_stop(n);
	finish(&loop, "timeout: the loop closes");
	log = cap_end();
	out = slurp("out3");
	pid = slurp("sleep.pid");
	T_OK(ms >= 1000 && ms < 5000, "the slow hook was killed after the timeout (%llu ms)",
	     (unsigned long long)ms);
	T_EQ_INT(count(log, "event=notify_timeout kind=slow after_ms=1000\n"), 1,
	         "the timeout is logged");
	T_EQ_INT(count(log, "notify_failed"), 0, "a killed hook is logged once, as a timeout");
	T_OK(count(out, "\n") == 1 && strstr(out, "\"event\":\"fast\"") != NULL,
	     "the next event ran after the timeout");
	bool killed = atol(pid) > 0 && dead(atol(pid));
	T_OK(killed, "the hook's own child was killed with it");
	free(log);
	free(out);
	free(pid);
}

static void
test_no_reader(void)
{
	uv_loop_t loop;
	struct hl_notify *n;
	char *log, *out, *big = malloc(1u << 20);
	json_t *e;
	uint64_t t0, ms;

	/* big: exits at once without reading; held: a child keeps stdin open after it exits. */
	n = start(&loop,
	          "case $HOTLINE_EVENT in big) exit 0;; held) exec 3<&0; sleep 1 <&3 & exit 0;; "
	          "esac; cat >> %s",
	          path("out4"));
	if (!big) {
		printf("Bail out! out of memory\n");
		exit(2);
	}
	memset(big, 'x', 1u << 20);
	cap_begin();
	t0 = hl_now_ms();
	for (int i = 0; i < 3; i++) {
		e = ev(i == 0 ? "big" : i == 1 ? "held" : "after", i);
		if (i < 2)
			json_object_set_new(e, "blob", json_stringn(big, 1u << 20));
		hl_notify_event(n, e);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	ms = hl_now_ms() - t0;
	hl_notify_stop(n);
	finish(&loop, "no reader: the loop closes");
	log = cap_end();
	out = slurp("out4");
	T_OK(count(out, "\n") == 1 && strstr(out, "\"event\":\"after\"") != NULL,
	     "hooks that do not read a 1 MiB event do not stop the next one");
	T_OK(ms < 900, "a child holding stdin does not hold the notifier (%llu ms)",
	     (unsigned long long)ms);
	T_OK(count(log, "event=notify_") == 0, "an unread stdin is not an error (log: %s)", log);
	free(big);
	free(log);
	free(out);
}

static void
count_handle(uv_handle_t *h, void *arg)
{
	(void)h;
	(*(int *)arg)++;
}

static void
test_disabled(void)
{
	uv_loop_t loop;
	struct hl_notify *n;
	int handles = 0;
	char *log;

	n = start(&loop, "%s", "");
	cap_begin();
	for (int i = 0; i < 3; i++)
		hl_notify_event(n, ev("message", i));
	uv_walk(&loop, count_handle, &handles);
	T_EQ_INT(handles, 0, "no hook: no handle, nothing spawned");
	T_OK(!uv_loop_alive(&loop), "no hook: the loop has nothing to do");
	hl_notify_stop(n);
	finish(&loop, "disabled: the loop closes");
	log = cap_end();
	T_EQ_INT(strlen(log), 0, "no hook: events dropped silently");
	free(log);
}

static void
test_stop_queued(void)
{
	uv_loop_t loop;
	struct hl_notify *n;
	char *log, *out;

	n = start(&loop, "cat >> %s", path("out6"));
	cap_begin();
	/* One starts at once, HL_NOTIFY_QUEUE_MAX wait, the last 5 find the queue full. */
	for (int i = 0; i < HL_NOTIFY_QUEUE_MAX + 6; i++)
		hl_notify_event(n, ev("message", i));
	hl_notify_event(n, json_string("not an object"));
	hl_notify_stop(n);
	finish(&loop, "stop: the loop closes");
	log = cap_end();
	out = slurp("out6");
	T_EQ_INT(count(log, "event=notify_dropped kind=message reason=queue_full\n"), 5,
	         "a full queue drops new events, one log line each");
	T_EQ_INT(count(log, "event=notify_dropped kind=\"\" reason=not_an_object\n"), 1,
	         "an event that is not an object is dropped");
	T_EQ_INT(count(log, "event=notify_dropped count=1024 reason=stopping\n"), 1,
	         "stop drops what is queued and says how many");
	T_OK(count(out, "\n") == 1 && strstr(out, "\"i\":0}") != NULL,
	     "stop lets the running hook finish");
	free(log);
	free(out);
}

static void
test_stop_hung(void)
{
	uv_loop_t loop;
	struct hl_notify *n;
	char *log;
	uint64_t t0 = hl_now_ms(), ms;

	n = start(&loop, "sleep 100");
	hl_notify_set_timeout_ms(n, 200);
	cap_begin();
	for (int i = 0; i < 3; i++)
		hl_notify_event(n, ev("message", i));
	hl_notify_stop(n);
	finish(&loop, "stop while hung: the loop closes");
	ms = hl_now_ms() - t0;
	log = cap_end();
	T_OK(ms >= 200 && ms < 2000, "stop waits for a hung hook only up to the timeout (%llu ms)",
	     (unsigned long long)ms);
	T_EQ_INT(count(log, "event=notify_dropped count=2 reason=stopping\n"), 1,
	         "the two queued events are dropped");
	T_EQ_INT(count(log, "event=notify_timeout"), 1, "the hung hook is killed");
	free(log);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the daemon does (station.c) */
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_order_and_env();
	test_failures();
	test_timeout();
	test_no_reader();
	test_disabled();
	test_stop_queued();
	test_stop_hung();
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		unlink(path(files[i]));
	int rc = rmdir(dir);
	T_EQ_INT(rc, 0, "the temporary directory is removed");
	return t_done();
}
