/* SPDX-License-Identifier: ISC */
/*
 * console_impl.h: what the console's two files share (console.c serves,
 * console_api.c answers from the store); nobody else includes it.
 */
#ifndef HL_CONSOLE_IMPL_H
#define HL_CONSOLE_IMPL_H

#include <jansson.h>

#include "codebook.h"
#include "console_req.h"
#include "store.h"

#define HL_CAPI_LIST_MAX 1000      /* messages in one inbox or outbox answer */
#define HL_CAPI_PREVIEW_MAX 4096   /* bytes of a text in a list (the message has it all) */
#define HL_CAPI_TRANSCRIPT_MAX 500 /* events in one transcript answer: the latest that match */

/* What the console counts itself, for /metrics. */
struct hl_console_counters {
	uint64_t sessions;
	uint64_t logins_ok, logins_failed, logins_limited;
	uint64_t refused[6]; /* by status: 400, 401, 403, 404, 429, other 4xx/5xx */
};

/* GET /api/inbox and /api/outbox: {"ok", "messages", "truncated"}. NULL with e set. */
json_t *hl_capi_list(struct hl_store *st, enum hl_dir dir, bool all, const struct hl_codebook *cb,
                     struct hl_api_error *e);
/* GET /api/message: {"ok", "message"} with its history; display in lang. */
json_t *hl_capi_message(struct hl_store *st, const char *id, const struct hl_codebook *cb,
                        unsigned lang, struct hl_api_error *e);
/* GET /api/codebook: {"ok", "codebook"} (null when none is installed). */
json_t *hl_capi_codebook(const struct hl_codebook *cb);
/* GET /api/transcript: {"ok", "events", "verified", "detail", ...}; q may be NULL. */
json_t *hl_capi_transcript(struct hl_store *st, const char *peer, const char *q,
                           const uint8_t ours[static 32], const struct hl_codebook *cb,
                           struct hl_api_error *e);
/*
 * GET /metrics: the Prometheus text (*text malloc'd) from the daemon's
 * answer to "metrics" (net: null when it did not answer), the store and
 * the console's counters. No message content ever: names, states, counts.
 */
HL_MUST_CHECK int hl_capi_metrics(struct hl_store *st, const char *station, const json_t *net,
                                  const struct hl_console_counters *cc, const char *store_path,
                                  char **text, size_t *len);

#endif
