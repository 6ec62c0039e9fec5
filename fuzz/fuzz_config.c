/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config.c: libFuzzer harness for hl_config_parse (src/config.c). The
 * input is a config file. The error text must be terminated and, for a
 * line error, name a line that exists; an accepted config must satisfy
 * every rule the parser promises, and survive hl_config_format and a
 * second parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_accepted(const struct hl_config *cfg)
{
	struct hl_config again;
	char host[HL_ADDR_MAX], text[512], err[128];
	uint16_t port;

	if (!hl_name_valid(cfg->name))
		abort();
	if (hl_addr_split(cfg->listen, host, sizeof host, &port, true) < 0)
		abort();
	if (cfg->backoff_max_ms < cfg->backoff_min_ms || cfg->down_after_ms <= cfg->heartbeat_ms)
		abort();
	if (cfg->heartbeat_ms < 10 || cfg->heartbeat_ms > 60000 || cfg->rekey_s < 1 ||
	    cfg->rekey_s > 86400 || cfg->rekey_frames < 16 || cfg->rekey_frames > UINT64_C(1) << 40)
		abort();
	hl_config_format(cfg, text, sizeof text);
	hl_config_defaults(&again);
	if (hl_config_parse(&again, text, strlen(text), err, sizeof err) != HL_OK)
		abort();
	if (strcmp(again.name, cfg->name) != 0 || strcmp(again.listen, cfg->listen) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl_config cfg;
	char err[160];
	size_t lines = 1;
	int rc;

	hl_config_defaults(&cfg);
	memset(err, 'x', sizeof err);
	rc = hl_config_parse(&cfg, (const char *)data, size, err, sizeof err);
	if (memchr(err, '\0', sizeof err) == NULL)
		abort();
	if (rc == HL_OK) {
		if (err[0] != '\0')
			abort();
		check_accepted(&cfg);
		return 0;
	}
	if (rc != HL_ERR_INVAL || err[0] == '\0')
		abort();
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	if (strncmp(err, "line ", 5) == 0) {
		unsigned long n = strtoul(err + 5, NULL, 10);
		if (n < 1 || n > lines)
			abort();
	}
	/* A tiny error buffer must still be terminated and not overrun. */
	{
		char small[6] = {'x', 'x', 'x', 'x', 'x', 'y'};
		hl_config_defaults(&cfg);
		if (hl_config_parse(&cfg, (const char *)data, size, small, 5) == HL_OK)
			abort();
		if (memchr(small, '\0', 5) == NULL || small[5] != 'y')
			abort();
	}
	return 0;
}
