/* SPDX-License-Identifier: ISC */
/* test_config.c: the station's config file (src/config.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "t.h"

static char err[256];

static int
parse(struct hl_config *cfg, const char *text)
{
	hl_config_defaults(cfg);
	return hl_config_parse(cfg, text, strlen(text), err, sizeof err);
}

/* Parse text expected to fail; check the message starts with want. */
static void
refused(const char *text, const char *want, const char *what)
{
	struct hl_config cfg;
	int rc = parse(&cfg, text);

	T_OK(rc == HL_ERR_INVAL && strncmp(err, want, strlen(want)) == 0, "%s (err \"%s\")", what,
	     err);
}

static void
test_defaults(void)
{
	struct hl_config cfg;

	memset(&cfg, 0xff, sizeof cfg);
	hl_config_defaults(&cfg);
	T_OK(cfg.name[0] == '\0' && cfg.listen[0] == '\0', "defaults: no name, no listen");
	T_EQ_INT(cfg.heartbeat_ms, 500, "default heartbeat_ms");
	T_EQ_INT(cfg.down_after_ms, 2000, "default down_after_ms");
	T_EQ_INT(cfg.handshake_timeout_ms, 3000, "default handshake_timeout_ms");
	T_EQ_INT(cfg.backoff_min_ms, 100, "default backoff_min_ms");
	T_EQ_INT(cfg.backoff_max_ms, 1000, "default backoff_max_ms");
	T_EQ_INT(cfg.probe_ms, 5000, "default probe_ms");
	T_EQ_INT(cfg.rekey_frames, 1 << 20, "default rekey_frames");
	T_EQ_INT(cfg.rekey_s, 600, "default rekey_s");
	T_EQ_INT(parse(&cfg, ""), HL_ERR_INVAL, "empty file: name and listen required");
	T_OK(strstr(err, "required") != NULL, "empty file: message says required");
}

static void
test_parse_ok(void)
{
	struct hl_config cfg;
	static const char full[] = "# a station\n"
	                           "\n"
	                           "name = beijing   # trailing comment\n"
	                           "\tlisten=0.0.0.0:7400\r\n"
	                           "heartbeat_ms = 250\n"
	                           "down_after_ms = 1000\n"
	                           "handshake_timeout_ms = 60000\n"
	                           "backoff_min_ms = 10\n"
	                           "backoff_max_ms = 600000\n"
	                           "probe_ms = 3600000\n"
	                           "rekey_frames = 1099511627776\n"
	                           "rekey_s = 86400\n"
	                           "   # indented comment\n"
	                           "   \n";
	int rc;

	rc = parse(&cfg, full);
	T_OK(rc == HL_OK, "full config parses (err \"%s\")", err);
	T_OK(strcmp(cfg.name, "beijing") == 0, "name");
	T_OK(strcmp(cfg.listen, "0.0.0.0:7400") == 0, "listen (CR trimmed)");
	T_EQ_INT(cfg.heartbeat_ms, 250, "heartbeat_ms");
	T_EQ_INT(cfg.down_after_ms, 1000, "down_after_ms");
	T_EQ_INT(cfg.handshake_timeout_ms, 60000, "handshake_timeout_ms (upper bound)");
	T_EQ_INT(cfg.backoff_min_ms, 10, "backoff_min_ms (lower bound)");
	T_EQ_INT(cfg.backoff_max_ms, 600000, "backoff_max_ms");
	T_EQ_INT(cfg.probe_ms, 3600000, "probe_ms");
	T_OK(cfg.rekey_frames == UINT64_C(1) << 40, "rekey_frames takes 64-bit values");
	T_EQ_INT(cfg.rekey_s, 86400, "rekey_s");

	rc = parse(&cfg, "name=x\nlisten=[::1]:0");
	T_OK(rc == HL_ERR_INVAL, "listen port 0 refused: peers could not find us");
	rc = parse(&cfg, "name=x\nlisten=[::1]:7400");
	T_OK(rc == HL_OK && strcmp(cfg.listen, "[::1]:7400") == 0,
	     "no final newline, IPv6 listen (err \"%s\")", err);
	T_EQ_INT(cfg.heartbeat_ms, 500, "unset keys keep defaults");
	rc = parse(&cfg, "name = a\nname = b\nlisten = h:1\n");
	T_OK(rc == HL_OK && strcmp(cfg.name, "b") == 0, "a repeated key: the last wins");

	hl_config_defaults(&cfg);
	rc = hl_config_parse(&cfg, "name = abc\nlisten = h:1\nGARBAGE", 23, err, sizeof err);
	T_OK(rc == HL_OK, "len bounds the text (no NUL needed)");
	T_OK(strcmp(cfg.name, "abc") == 0 && strcmp(cfg.listen, "h:1") == 0,
	     "values read within len");
}

/* The daemon's keys: who it runs as, its seccomp filter, its log level. */
static void
test_daemon_keys(void)
{
	struct hl_config cfg;
	int rc;

	hl_config_defaults(&cfg);
	T_OK(cfg.user[0] == '\0' && cfg.seccomp && cfg.log_level == LOG_INFO,
	     "defaults: no user, seccomp on, log level info");
	rc = parse(&cfg,
	           "name = a\nlisten = h:1\nuser = hotline\nseccomp = off\nlog_level = warn\n");
	T_OK(rc == HL_OK && strcmp(cfg.user, "hotline") == 0 && !cfg.seccomp &&
	         cfg.log_level == LOG_WARN,
	     "user, seccomp = off, log_level = warn (err \"%s\")", err);
	rc = parse(&cfg, "name = a\nlisten = h:1\nseccomp = on\nlog_level = debug\n");
	T_OK(rc == HL_OK && cfg.seccomp && cfg.log_level == LOG_DEBUG, "seccomp = on, debug");
	rc = parse(&cfg, "name = a\nlisten = h:1\nuser = svc.hot-line_2\n");
	T_OK(rc == HL_OK && strcmp(cfg.user, "svc.hot-line_2") == 0, "user with . - _ digits");
	refused("name = a\nlisten = h:1\nseccomp = yes\n", "line 3: seccomp: must be on or off",
	        "seccomp takes on or off only");
	refused("name = a\nlisten = h:1\nlog_level = verbose\n", "line 3: log_level: must be",
	        "an unknown log level");
	refused("name = a\nlisten = h:1\nuser = -rf\n", "line 3: user: must be a user name",
	        "a user name starting with -");
	refused("name = a\nlisten = h:1\nuser = a b\n",
	        "line 3: user:", "a user name with a space");
	refused("name = a\nlisten = h:1\nuser = abcdefghijklmnopqrstuvwxyz0123456\n",
	        "line 3: user:", "a 33-character user name");
	refused("name = a\nlisten = h:1\nuser =\n", "line 3: user:", "an empty user");
}

static void
test_parse_errors(void)
{
	refused("name = a\nlisten = h:1\nbogus = 1\n", "line 3: bogus: unknown key",
	        "unknown key names the line");
	refused("# c\n\nname = a\n  colour = red\nlisten = h:1\n", "line 4: colour: unknown key",
	        "unknown key after comments and blanks names the right line");
	refused("name = a\nlisten = h:1\nheartbeat_ms\n", "line 3: expected key = value",
	        "missing '=' names the line");
	refused("name = a\nlisten = h:1\nheartbeat_ms = 9\n", "line 3: heartbeat_ms: value out",
	        "heartbeat_ms below range");
	refused("name = a\nlisten = h:1\nheartbeat_ms = 60001\n", "line 3: heartbeat_ms: value",
	        "heartbeat_ms above range");
	refused("name = a\nlisten = h:1\nrekey_frames = 15\n", "line 3: rekey_frames: value",
	        "rekey_frames below range");
	refused("name = a\nlisten = h:1\nrekey_frames = 1099511627777\n", "line 3: rekey_frames",
	        "rekey_frames above range");
	refused("name = a\nlisten = h:1\nrekey_s = 0\n", "line 3: rekey_s", "rekey_s zero");
	refused("name = a\nlisten = h:1\nprobe_ms = 18446744073709551616\n", "line 3: probe_ms",
	        "a number that overflows 64 bits");
	refused("name = a\nlisten = h:1\nprobe_ms = -1000\n", "line 3: probe_ms", "negative");
	refused("name = a\nlisten = h:1\nprobe_ms = +1000\n", "line 3: probe_ms", "plus sign");
	refused("name = a\nlisten = h:1\nprobe_ms = 1000ms\n", "line 3: probe_ms", "unit suffix");
	refused("name = a\nlisten = h:1\nprobe_ms = 0x1000\n", "line 3: probe_ms", "hex");
	refused("name = a\nlisten = h:1\nprobe_ms =\n", "line 3: probe_ms", "empty value");
	refused("name = a\nlisten = h:1\nprobe_ms = 1 000\n", "line 3: probe_ms", "inner space");
	refused("name = Beijing\nlisten = h:1\n", "line 1: name:", "upper-case name");
	refused("name = -a\nlisten = h:1\n", "line 1: name:", "name starting with '-'");
	refused("name = abcdefghijklmnopqrstuvwxyz0123456\nlisten = h:1\n",
	        "line 1: name:", "33-character name");
	refused("name =\nlisten = h:1\n", "line 1: name:", "empty name");
	refused("name = a\nlisten = nowhere\n", "line 2: listen:", "listen without a port");
	refused("name = a\nlisten = h:65536\n", "line 2: listen:", "listen port out of range");
	refused("name = a\nlisten = ::1:80\n", "line 2: listen:", "unbracketed IPv6");
	refused("listen = h:1\n", "name and listen are required", "missing name");
	refused("name = a\n", "name and listen are required", "missing listen");
	refused("name = a\nlisten = h:1\nbackoff_min_ms = 500\nbackoff_max_ms = 400\n",
	        "need backoff_max_ms", "backoff_max_ms below backoff_min_ms");
	refused("name = a\nlisten = h:1\nheartbeat_ms = 2000\n", "need backoff_max_ms",
	        "down_after_ms not above heartbeat_ms");

	{
		struct hl_config cfg;
		char text[1200];
		int rc;

		memset(text, 0, sizeof text);
		strcpy(text, "name = a\nlisten = h:1\n# ");
		memset(text + strlen(text), 'x', 600);
		rc = parse(&cfg, text);
		T_OK(rc == HL_ERR_INVAL && strncmp(err, "line 3: too long", 16) == 0,
		     "over-long line refused with its number (err \"%s\")", err);

		memcpy(text, "name = a\nlisten = h:1\n", 22);
		text[5] = '\0';
		hl_config_defaults(&cfg);
		rc = hl_config_parse(&cfg, text, 22, err, sizeof err);
		T_OK(rc == HL_ERR_INVAL && strncmp(err, "line 1: too long or not text", 28) == 0,
		     "NUL byte refused (err \"%s\")", err);

		/* A tiny error buffer is still terminated. */
		hl_config_defaults(&cfg);
		memset(err, 'z', sizeof err);
		rc = hl_config_parse(&cfg, "bogus = 1\n", 10, err, 8);
		T_OK(rc == HL_ERR_INVAL && strlen(err) == 7, "error message truncated to errcap");
	}
}

static void
test_load_format(void)
{
	struct hl_config cfg, back;
	char dir[] = "/tmp/hl-test-config-XXXXXX", path[256], text[512];
	int rc;

	if (!mkdtemp(dir)) {
		T_OK(0, "mkdtemp");
		return;
	}
	rc = hl_config_load(&cfg, dir, err, sizeof err);
	T_EQ_INT(rc, HL_ERR_NOTFOUND, "load: missing config");
	T_OK(strstr(err, "config") != NULL, "load: message names the file");

	hl_config_defaults(&cfg);
	snprintf(cfg.name, sizeof cfg.name, "%s", "lhasa");
	snprintf(cfg.listen, sizeof cfg.listen, "%s", "127.0.0.1:7401");
	hl_config_format(&cfg, text, sizeof text);
	T_OK(strstr(text, "name = lhasa\n") != NULL, "format writes the name");
	rc = hl_path(path, sizeof path, dir, "config");
	T_EQ_INT(rc, HL_OK, "config path");
	rc = hl_file_write(path, text, strlen(text), 0644, false);
	T_EQ_INT(rc, HL_OK, "write config");
	rc = hl_config_load(&back, dir, err, sizeof err);
	T_OK(rc == HL_OK, "load the formatted config (err \"%s\")", err);
	T_OK(memcmp(&cfg, &back, sizeof cfg) == 0, "format/load round trip");

	rc = hl_file_write(path, "name = x\nlisten = h:1\nwat = 1\n", 30, 0644, false);
	T_EQ_INT(rc, HL_OK, "write a bad config");
	rc = hl_config_load(&back, dir, err, sizeof err);
	T_OK(rc == HL_ERR_INVAL && strncmp(err, "line 3", 6) == 0, "load reports the line");

	unlink(path);
	if (rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
}

int
main(void)
{
	test_defaults();
	test_parse_ok();
	test_daemon_keys();
	test_parse_errors();
	test_load_format();
	return t_done();
}
