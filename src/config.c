/* SPDX-License-Identifier: ISC */
/* config.c: parse and write DIR/config. Pure except hl_config_load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "codebook.h"
#include "config.h"
#include "log.h"
#include "operators.h"
#include "sandbox.h"

void
hl_config_defaults(struct hl_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->heartbeat_ms = 500;
	cfg->down_after_ms = 2000;
	cfg->handshake_timeout_ms = 3000;
	cfg->backoff_min_ms = 100;
	cfg->backoff_max_ms = 1000;
	cfg->probe_ms = 5000;
	cfg->rekey_frames = 1u << 20;
	cfg->rekey_s = 600;
	cfg->max_message_bytes = 16u << 20;
	cfg->deadline_s[0] = 600;   /* FLASH: 10 minutes */
	cfg->deadline_s[1] = 1800;  /* IMMEDIATE: 30 minutes */
	cfg->deadline_s[2] = 10800; /* PRIORITY: 3 hours */
	cfg->deadline_s[3] = 21600; /* ROUTINE: 6 hours */
	cfg->link_test_s = 3600;    /* hourly, like the Moscow-Washington line */
	cfg->link_test_timeout_ms = 10000;
	cfg->checkpoint_s = 3600;
	cfg->seccomp = true;
	cfg->log_level = LOG_INFO;
	cfg->console_idle_s = 900; /* 15 minutes */
}

int
hl_config_console_addr(const char *s, char norm[static HL_ADDR_MAX])
{
	char host[HL_ADDR_MAX], buf[HL_ADDR_MAX + 16];
	unsigned char ip[16];
	uint16_t port;
	int n;

	norm[0] = '\0';
	if (*s >= '0' && *s <= '9' && !strchr(s, ':')) {
		snprintf(buf, sizeof buf, "127.0.0.1:%.8s", s);
		s = buf;
	}
	if (hl_addr_split(s, host, sizeof host, &port, false) < 0)
		return HL_ERR_INVAL;
	if (strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, ip) != 1 &&
	    inet_pton(AF_INET6, host, ip) != 1)
		return HL_ERR_INVAL;
	n = snprintf(norm, HL_ADDR_MAX, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	if (n < 0 || n >= HL_ADDR_MAX) {
		norm[0] = '\0';
		return HL_ERR_INVAL;
	}
	return HL_OK;
}

static int
parse_u64(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (*v < '0' || *v > '9')
		return HL_ERR_INVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end != '\0' || x < lo || x > hi)
		return HL_ERR_INVAL;
	*out = x;
	return HL_OK;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

struct num_key {
	const char *key;
	size_t off, size;
	uint64_t lo, hi;
};

#define NUM(field, lo, hi)                                                                         \
	{                                                                                          \
#field, offsetof(struct hl_config, field), sizeof(((struct hl_config *)0)->field), \
		    lo, hi                                                                         \
	}
static const struct num_key num_keys[] = {
    NUM(heartbeat_ms, 10, 60000),
    NUM(down_after_ms, 50, 600000),
    NUM(handshake_timeout_ms, 50, 60000),
    NUM(backoff_min_ms, 10, 60000),
    NUM(backoff_max_ms, 10, 600000),
    NUM(probe_ms, 100, 3600000),
    NUM(rekey_frames, 16, 1ull << 40),
    NUM(rekey_s, 1, 86400),
    NUM(max_message_bytes, 1024, 256u << 20),
    NUM(link_test_s, 1, 604800),
    NUM(link_test_timeout_ms, 50, 600000),
    NUM(checkpoint_s, 0, 604800),
    NUM(console_idle_s, 60, 86400),
    {"deadline_flash_s", offsetof(struct hl_config, deadline_s[0]), 4, 1, 604800},
    {"deadline_immediate_s", offsetof(struct hl_config, deadline_s[1]), 4, 1, 604800},
    {"deadline_priority_s", offsetof(struct hl_config, deadline_s[2]), 4, 1, 604800},
    {"deadline_routine_s", offsetof(struct hl_config, deadline_s[3]), 4, 1, 604800},
};

static int
set_key(struct hl_config *cfg, const char *k, const char *v, const char **why)
{
	if (strcmp(k, "name") == 0) {
		if (!hl_name_valid(v)) {
			*why = "name must be 1-32 of a-z 0-9 _ -";
			return HL_ERR_INVAL;
		}
		snprintf(cfg->name, sizeof cfg->name, "%s", v);
		return HL_OK;
	}
	if (strcmp(k, "listen") == 0) {
		char host[HL_ADDR_MAX];
		uint16_t port;
		if (hl_addr_split(v, host, sizeof host, &port, false) < 0) {
			*why = "listen must be HOST:PORT with a port from 1 to 65535";
			return HL_ERR_INVAL;
		}
		snprintf(cfg->listen, sizeof cfg->listen, "%s", v);
		return HL_OK;
	}
	if (strcmp(k, "codebook") == 0) {
		if (!*v || strlen(v) >= sizeof cfg->codebook) {
			*why = "must be a path of 1 to 399 bytes";
			return HL_ERR_INVAL;
		}
		snprintf(cfg->codebook, sizeof cfg->codebook, "%s", v);
		return HL_OK;
	}
	if (strcmp(k, "language") == 0) {
		if (hl_lang_parse(v, &cfg->language) < 0) {
			*why = "must be en or zh";
			return HL_ERR_INVAL;
		}
		return HL_OK;
	}
	if (strcmp(k, "user") == 0) {
		if (!hl_user_name_valid(v)) {
			*why = "must be a user name: 1-32 of a-z A-Z 0-9 _ . -, not starting with "
			       "- or .";
			return HL_ERR_INVAL;
		}
		snprintf(cfg->user, sizeof cfg->user, "%s", v);
		return HL_OK;
	}
	if (strcmp(k, "seccomp") == 0) {
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
			*why = "must be on or off";
			return HL_ERR_INVAL;
		}
		cfg->seccomp = strcmp(v, "on") == 0;
		return HL_OK;
	}
	if (strcmp(k, "log_level") == 0) {
		enum log_level lvl;
		if (log_level_parse(v, &lvl) < 0) {
			*why = "must be debug, info, warn or error";
			return HL_ERR_INVAL;
		}
		cfg->log_level = (unsigned)lvl;
		return HL_OK;
	}
	if (strcmp(k, "console") == 0) {
		if (hl_config_console_addr(v, cfg->console) < 0) {
			*why = "must be HOST:PORT (HOST an IP address or localhost) or PORT";
			return HL_ERR_INVAL;
		}
		return HL_OK;
	}
	if (strcmp(k, "password_cost") == 0) {
		if (hl_pwcost_parse(v, &cfg->password_cost) < 0) {
			*why = "must be interactive, moderate or minimum";
			return HL_ERR_INVAL;
		}
		return HL_OK;
	}
	if (strcmp(k, "notify") == 0) {
		if (strlen(v) >= sizeof cfg->notify) {
			*why = "command too long";
			return HL_ERR_INVAL;
		}
		snprintf(cfg->notify, sizeof cfg->notify, "%s", v);
		return HL_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(num_keys); i++) {
		const struct num_key *nk = &num_keys[i];
		uint64_t x;
		if (strcmp(k, nk->key) != 0)
			continue;
		if (parse_u64(v, nk->lo, nk->hi, &x) < 0) {
			*why = "value out of range";
			return HL_ERR_INVAL;
		}
		if (nk->size == sizeof(uint32_t)) {
			uint32_t x32 = (uint32_t)x;
			memcpy((char *)cfg + nk->off, &x32, sizeof x32);
		} else {
			memcpy((char *)cfg + nk->off, &x, sizeof x);
		}
		return HL_OK;
	}
	*why = "unknown key";
	return HL_ERR_INVAL;
}

int
hl_config_parse(struct hl_config *cfg, const char *text, size_t len, char *err, size_t errcap)
{
	char line[512];
	size_t pos = 0;
	int lineno = 0;

	if (errcap)
		err[0] = '\0';
	while (pos < len) {
		size_t end = pos;
		const char *why = NULL;
		char *k, *v, *eq, *hash;

		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		if (end - pos >= sizeof line || memchr(text + pos, '\0', end - pos)) {
			snprintf(err, errcap, "line %d: too long or not text", lineno);
			return HL_ERR_INVAL;
		}
		memcpy(line, text + pos, end - pos);
		line[end - pos] = '\0';
		pos = end + 1;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		k = trim(line);
		if (*k == '\0')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, errcap, "line %d: expected key = value", lineno);
			return HL_ERR_INVAL;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (set_key(cfg, k, v, &why) < 0) {
			snprintf(err, errcap, "line %d: %s: %s", lineno, k, why);
			return HL_ERR_INVAL;
		}
	}
	if (cfg->name[0] == '\0' || cfg->listen[0] == '\0') {
		snprintf(err, errcap, "name and listen are required");
		return HL_ERR_INVAL;
	}
	if (cfg->backoff_max_ms < cfg->backoff_min_ms || cfg->down_after_ms <= cfg->heartbeat_ms) {
		snprintf(err, errcap,
		         "need backoff_max_ms >= backoff_min_ms and down_after_ms > "
		         "heartbeat_ms");
		return HL_ERR_INVAL;
	}
	return HL_OK;
}

int
hl_config_load(struct hl_config *cfg, const char *dir, char *err, size_t errcap)
{
	char path[4096], *text;
	size_t len;
	int rc;

	hl_config_defaults(cfg);
	if (hl_path(path, sizeof path, dir, "config") < 0) {
		snprintf(err, errcap, "station directory path too long");
		return HL_ERR_LIMIT;
	}
	rc = hl_file_read(path, 65536, &text, &len);
	if (rc < 0) {
		snprintf(err, errcap, "%s: %s", path, hl_strerror(rc));
		return rc;
	}
	rc = hl_config_parse(cfg, text, len, err, errcap);
	free(text);
	return rc;
}

int
hl_config_codebook(const struct hl_config *cfg, const char *dir, char *out, size_t cap)
{
	if (!cfg->codebook[0])
		return hl_path(out, cap, dir, HL_CODEBOOK_FILE);
	if (cfg->codebook[0] == '/')
		return snprintf(out, cap, "%s", cfg->codebook) < (int)cap ? HL_OK : HL_ERR_LIMIT;
	return hl_path(out, cap, dir, cfg->codebook);
}

void
hl_config_format(const struct hl_config *cfg, char *out, size_t cap)
{
	int n = snprintf(out, cap,
	                 "# hotline station configuration (docs/operations.md lists every key)\n"
	                 "name = %s\n"
	                 "listen = %s\n",
	                 cfg->name, cfg->listen);

	if (cfg->console[0] && n > 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, "console = %s\n", cfg->console);
}
