/* SPDX-License-Identifier: ISC */
/*
 * config.h: the station's config file, DIR/config. Lines of "key = value";
 * '#' starts a comment. Unknown keys and bad values are errors that name
 * the line, never silently ignored. docs/operations.md lists the keys.
 */
#ifndef HL_CONFIG_H
#define HL_CONFIG_H

#include "hl.h"
#include "util.h"

#define HL_NOTIFY_MAX 400
#define HL_CODEBOOK_PATH_MAX 400

struct hl_config {
	char name[HL_NAME_MAX + 1];
	char listen[HL_ADDR_MAX];
	uint32_t heartbeat_ms;                   /* ping interval on an idle link */
	uint32_t down_after_ms;                  /* silence after which a link is down */
	uint32_t handshake_timeout_ms;           /* a handshake slower than this is dropped */
	uint32_t backoff_min_ms, backoff_max_ms; /* reconnect schedule */
	uint32_t probe_ms;                       /* how often standby addresses are probed */
	uint64_t rekey_frames;                   /* Noise Rekey() after this many frames sent */
	uint32_t rekey_s;                        /* ... or after this many seconds */
	uint32_t max_message_bytes;    /* larger messages are refused at send and on receipt */
	uint32_t deadline_s[4];        /* acknowledgment deadlines by precedence (ACP 121) */
	uint32_t link_test_s;          /* a test on every link this often */
	uint32_t link_test_timeout_ms; /* a test unanswered this long failed */
	uint32_t checkpoint_s;         /* a signed checkpoint with every peer this often; 0 never */
	char notify[HL_NOTIFY_MAX];    /* operator hook: run with a JSON event on stdin; "" none */
	char codebook[HL_CODEBOOK_PATH_MAX]; /* "" for DIR/codebook.json; see hl_config_codebook */
	unsigned language;         /* the operators' language: enum hl_lang (codebook.h) */
	char console[HL_ADDR_MAX]; /* the web console's HOST:PORT; "" none (docs/console.md) */
	uint32_t console_idle_s;   /* a console session unused this long ends */
	unsigned password_cost;    /* enum hl_pwcost (operators.h): new operator password hashes */
	char user[33];             /* started as root: become this user once bound ("" none) */
	bool seccomp;              /* restrict the daemon's system calls (sandbox.h); default on */
	unsigned log_level;        /* enum log_level (log.h); default info */
};

void hl_config_defaults(struct hl_config *cfg);
/*
 * Parse text (len bytes, need not be NUL-terminated) over the defaults.
 * On error returns HL_ERR_INVAL and writes "line N: why" into err.
 */
HL_MUST_CHECK int hl_config_parse(struct hl_config *cfg, const char *text, size_t len, char *err,
                                  size_t errcap);
/* Load DIR/config. */
HL_MUST_CHECK int hl_config_load(struct hl_config *cfg, const char *dir, char *err, size_t errcap);
/*
 * The codebook's path: the codebook key (relative to dir unless it starts
 * with '/'), or dir/codebook.json when unset. HL_ERR_LIMIT if it does not fit.
 */
HL_MUST_CHECK int hl_config_codebook(const struct hl_config *cfg, const char *dir, char *out,
                                     size_t cap);
/*
 * The console's address as the config or --console gives it: "HOST:PORT"
 * with HOST an IPv4 or [IPv6] literal or "localhost", or a bare "PORT"
 * (127.0.0.1). norm receives "HOST:PORT" (cap HL_ADDR_MAX). HL_ERR_INVAL.
 */
HL_MUST_CHECK int hl_config_console_addr(const char *s, char norm[static HL_ADDR_MAX]);
/* Render the file for a new station (name, listen, console; tuning stays default). */
void hl_config_format(const struct hl_config *cfg, char *out, size_t cap);

#endif
