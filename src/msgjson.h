/* SPDX-License-Identifier: ISC */
/*
 * msgjson.h: a message (an event row of the store) as operators see it, as
 * JSON: one place for `inbox --json`, `outbox --json`, `show --json` and the
 * web console's API, so that they never disagree (docs/messages.md).
 */
#ifndef HL_MSGJSON_H
#define HL_MSGJSON_H

#include <jansson.h>

#include "codebook.h"
#include "store.h"

/* The state a person should see: "unacknowledged" for a received message not yet acknowledged
 * ("received" for a talks event, which is not acknowledged), else the stored state's name;
 * overdue is a separate flag. */
const char *hl_row_state(const struct hl_event_row *r);
/* A KEY event's statement as JSON: who, the old and the new key (docs/keys.md); null when
 * malformed. */
json_t *hl_rotation_json(const struct hl_event_row *r);
/*
 * The row as JSON (docs/messages.md, "JSON"); with_body adds "text" (UTF-8
 * text) or "body_base64" (anything else), from r->ev.body.
 */
json_t *hl_row_json(const struct hl_event_row *r, bool with_body);
/*
 * A codebook message or parallel texts rendered for reading in both
 * languages, {"en": ..., "zh": ...}; NULL for anything else or when it
 * cannot be rendered (cb NULL: no codebook installed).
 */
json_t *hl_row_rendered(const struct hl_event_row *r, const struct hl_codebook *cb);

#endif
