/* SPDX-License-Identifier: ISC */
/*
 * store_talks.c: the talks register behind store.h. What travelled on the
 * line is only ever the events table (kind 6): the register is folded from
 * it each time (talks.c), so there is no state to drift from the record.
 * The public record imported from a file is kept apart, in talks_imported
 * (schema 6), never as events: nobody signed it on the line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

int
hl_store_talks_load(struct hl_store *st, int64_t peer_id, struct hl_talks_reg *reg)
{
	struct hl_event_row *rows = NULL;
	size_t n = 0;
	int rc;

	memset(reg, 0, sizeof *reg);
	if ((rc = hl_store_talks_events(st, peer_id, &rows, &n)) < 0)
		return rc;
	if (n && !(reg->events = calloc(n, sizeof *reg->events))) {
		hl_event_rows_free(rows, n);
		return HL_ERR_NOMEM;
	}
	reg->nevents = n;
	for (size_t i = 0; i < n; i++) {
		struct hl_talks_event *e = &reg->events[i];
		const struct hl_event_row *r = &rows[i];
		e->side = r->dir == HL_DIR_OUT ? HL_SIDE_US : HL_SIDE_PEER;
		memcpy(e->hash, r->hash, HL_HASH_LEN);
		e->seq = r->ev.seq;
		e->created_ns = r->ev.created_ns;
		snprintf(e->operator_name, sizeof e->operator_name, "%s", r->ev.operator_name);
		snprintf(e->channel, sizeof e->channel, "%s", r->ev.channel);
		e->delivery = r->state;
		if (r->state == HL_ST_REFUSED)
			snprintf(e->refusal, sizeof e->refusal, "%s",
			         r->reason[0] ? r->reason : "refused");
		e->body = r->body;
		e->body_len = r->ev.body_len;
	}
	rc = hl_talks_reg_build(reg);
	hl_event_rows_free(rows, n);
	if (rc < 0)
		hl_talks_reg_free(reg);
	return rc;
}

/* The stored text of (peer_id, id) into *old (malloc'd; NULL when none). */
static int
imported_get(struct hl_store *st, int64_t peer_id, const char *id, char **old)
{
	sqlite3_stmt *q;
	int rc, s;

	*old = NULL;
	if ((rc = hl_store_prepare(
	         st, "SELECT record FROM talks_imported WHERE peer_id = ? AND id = ?", &q)) < 0)
		return rc;
	sqlite3_bind_int64(q, 1, peer_id);
	sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(q, 0);
		*old = strdup(t ? (const char *)t : "");
		rc = *old ? HL_OK : HL_ERR_NOMEM;
	} else {
		rc = s == SQLITE_DONE ? HL_OK : HL_ERR_IO;
	}
	hl_store_finish(st, q);
	return rc;
}

int
hl_store_talks_import(struct hl_store *st, int64_t peer_id, const json_t *records, size_t *added,
                      size_t *unchanged, char clash[static HL_TALKS_IMPORT_ID_MAX + 1])
{
	uint64_t now = hl_wall_ns();
	int rc;

	*added = *unchanged = 0;
	clash[0] = '\0';
	if ((rc = hl_store_begin(st)) < 0)
		return rc;
	for (size_t i = 0; rc == HL_OK && i < json_array_size(records); i++) {
		const json_t *r = json_array_get(records, i);
		const char *id = json_string_value(json_object_get(r, "id"));
		char *text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS), *old = NULL;
		sqlite3_stmt *q;
		if (!id || !text) {
			free(text);
			rc = id ? HL_ERR_NOMEM : HL_ERR_INVAL;
			break;
		}
		if ((rc = imported_get(st, peer_id, id, &old)) == HL_OK && old) {
			if (strcmp(old, text) == 0) {
				(*unchanged)++;
			} else {
				snprintf(clash, HL_TALKS_IMPORT_ID_MAX + 1, "%s", id);
				rc = HL_ERR_EXISTS;
			}
		} else if (rc == HL_OK &&
		           (rc = hl_store_prepare(st,
		                                  "INSERT INTO talks_imported (peer_id, id, record,"
		                                  " imported_ns) VALUES (?,?,?,?)",
		                                  &q)) == HL_OK) {
			sqlite3_bind_int64(q, 1, peer_id);
			sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 3, text, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 4, (sqlite3_int64)now);
			rc = hl_store_step_done(st, q);
			hl_store_finish(st, q);
			if (rc == HL_OK)
				(*added)++;
			else if (rc == HL_ERR_EXISTS)
				rc = HL_ERR_NOTFOUND; /* the one constraint left: the peer's foreign
				                         key */
		}
		free(old);
		free(text);
	}
	if (rc < 0) {
		hl_store_rollback(st);
		*added = 0;
		return rc;
	}
	return hl_store_commit(st);
}

int
hl_store_talks_imported(struct hl_store *st, int64_t peer_id, json_t **out)
{
	sqlite3_stmt *q;
	json_t *arr = json_array();
	int rc, s;

	*out = NULL;
	if (!arr)
		return HL_ERR_NOMEM;
	if ((rc = hl_store_prepare(st,
	                           "SELECT record, imported_ns FROM talks_imported"
	                           " WHERE peer_id = ? ORDER BY json_extract(record, '$.from'), id",
	                           &q)) < 0) {
		json_decref(arr);
		return rc;
	}
	sqlite3_bind_int64(q, 1, peer_id);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(q, 0);
		json_t *r = t ? json_loads(t, JSON_REJECT_DUPLICATES, NULL) : NULL;
		if (!json_is_object(r)) {
			json_decref(r);
			rc = HL_ERR_CORRUPT;
			break;
		}
		if (json_array_append_new(arr, json_pack("{s:o, s:I}", "record", r, "imported_ns",
		                                         (json_int_t)sqlite3_column_int64(q, 1))) !=
		    0) {
			rc = HL_ERR_NOMEM;
			break;
		}
	}
	hl_store_finish(st, q);
	if (rc == HL_OK && s != SQLITE_DONE)
		rc = HL_ERR_IO;
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return HL_OK;
}
