/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ctl.c: libFuzzer harness for hl_ctl_parse_request (src/ctl.c). The
 * input is one request line as it arrives on the control socket. An
 * accepted request must be a JSON object whose "cmd" is the string handed
 * back, and the raw body it announces ("body_bytes") must be within the
 * request limit; a refused one must leave nothing behind.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dummy;
	json_t *req = (json_t *)(void *)&dummy;
	const char *cmd = &dummy;
	int rc;

	if (size > HL_CTL_REQUEST_MAX)
		return 0;
	rc = hl_ctl_parse_request((const char *)data, size, &req, &cmd);
	if (rc < 0) {
		if (rc != HL_ERR_PROTO || req != NULL || cmd != NULL)
			abort();
		return 0;
	}
	if (rc != HL_OK || !json_is_object(req) || !cmd)
		abort();
	if (!json_is_string(json_object_get(req, "cmd")) ||
	    json_string_value(json_object_get(req, "cmd")) != cmd)
		abort();
	(void)strlen(cmd);
	if (hl_ctl_body_bytes(req) > HL_CTL_REQUEST_MAX ||
	    (json_object_get(req, "body_bytes") &&
	     !json_is_integer(json_object_get(req, "body_bytes"))))
		abort();
	/* What the daemon does next with a request: dump it (for logs) and drop it. */
	{
		char *text = json_dumps(req, JSON_COMPACT);
		if (!text)
			abort();
		free(text);
	}
	json_decref(req);
	return 0;
}
