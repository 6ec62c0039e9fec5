/* SPDX-License-Identifier: ISC */
/* msgjson.c: a message as JSON; see msgjson.h. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "chanstate.h"
#include "content.h"
#include "msgjson.h"

const char *
hl_row_state(const struct hl_event_row *r)
{
	if (r->dir == HL_DIR_IN && r->state == HL_ST_RECEIVED)
		return r->ev.kind == HL_EV_TALKS ? "received" : "unacknowledged";
	return hl_state_name(r->state);
}

/* A KEY event's statement: who, the old and the new key (docs/keys.md); null when malformed. */
json_t *
hl_rotation_json(const struct hl_event_row *r)
{
	struct hl_rotation rot;
	struct hl_pubkey k;
	char old[HL_PUBSTR_MAX], neu[HL_PUBSTR_MAX];

	if (hl_rotation_decode(r->ev.body, r->ev.body_len, &rot) < 0)
		return json_null();
	memcpy(k.x25519, rot.old_x25519, 32);
	memcpy(k.ed25519, rot.old_ed25519, 32);
	hl_pubkey_encode(&k, old);
	memcpy(k.x25519, rot.new_x25519, 32);
	memcpy(k.ed25519, rot.new_ed25519, 32);
	hl_pubkey_encode(&k, neu);
	return json_pack("{s:s, s:s, s:s, s:o, s:b}", "station", rot.station, "old_key", old,
	                 "new_key", neu, "at", hl_json_time(rot.at_ns), "signature_ok",
	                 hl_rotation_verify(&rot) == HL_OK);
}

json_t *
hl_row_json(const struct hl_event_row *r, bool with_body)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
	    "id", r->msg_id, "direction", r->dir == HL_DIR_OUT ? "out" : "in", "peer", r->peer,
	    "channel", r->ev.channel, "precedence", hl_prec_name(r->ev.precedence), "state",
	    hl_row_state(r), "overdue", r->overdue, "seq", (json_int_t)r->ev.seq, "created",
	    hl_json_time(r->ev.created_ns), "deadline", hl_json_time(r->ev.deadline_ns), "received",
	    hl_json_time(r->received_ns), "sent", hl_json_time(r->sent_ns), "delivered",
	    hl_json_time(r->delivered_ns), "acknowledged", hl_json_time(r->acked_ns),
	    "acknowledged_by", r->acked_by[0] ? json_string(r->acked_by) : json_null(),
	    "refused_reason", r->reason[0] ? json_string(r->reason) : json_null(), "size",
	    (json_int_t)r->ev.body_len);
	char hash[2 * HL_HASH_LEN + 1];
	const uint8_t *body = r->ev.body ? r->ev.body : (const uint8_t *)"";

	if (!o)
		return NULL;
	sodium_bin2hex(hash, sizeof hash, r->hash, HL_HASH_LEN);
	json_object_set_new(o, "hash", json_string(hash));
	json_object_set_new(o, "kind", json_string(hl_kind_name(r->ev.kind)));
	if (r->ev.kind >= HL_EV_SUSPEND)
		json_object_set_new(o, "operator", json_string(r->ev.operator_name));
	if (r->ev.kind == HL_EV_KEY)
		json_object_set_new(o, "rotation", hl_rotation_json(r));
	if (r->ev.kind == HL_EV_ACK) {
		char ref[HL_MSGID_LEN + 1];
		hl_event_id(r->ev.ref_hash, ref);
		json_object_set_new(o, "acknowledges", json_string(ref));
		json_object_set_new(o, "operator", json_string(r->ev.operator_name));
	}
	json_object_set_new(o, "media_type",
	                    json_string(r->ev.media_type[0] ? r->ev.media_type : "text/plain"));
	if (with_body) {
		if (!r->ev.media_type[0]) {
			json_object_set_new(o, "text",
			                    json_stringn((const char *)body, r->ev.body_len));
		} else {
			size_t cap = sodium_base64_encoded_len(r->ev.body_len,
			                                       sodium_base64_VARIANT_ORIGINAL);
			char *b64 = malloc(cap);
			if (b64) {
				sodium_bin2base64(b64, cap, body, r->ev.body_len,
				                  sodium_base64_VARIANT_ORIGINAL);
				json_object_set_new(o, "body_base64", json_string(b64));
				free(b64);
			}
		}
	}
	return o;
}

json_t *
hl_row_rendered(const struct hl_event_row *r, const struct hl_codebook *cb)
{
	char *en = NULL, *zh = NULL;
	json_t *o = NULL;

	if (r->ev.kind != HL_EV_MESSAGE || (strcmp(r->ev.media_type, HL_CODEBOOK_MEDIA) != 0 &&
	                                    strcmp(r->ev.media_type, HL_PARALLEL_MEDIA) != 0))
		return NULL;
	if (hl_content_render(&r->ev, cb, HL_LANG_EN, &en) == HL_OK &&
	    hl_content_render(&r->ev, cb, HL_LANG_ZH, &zh) == HL_OK)
		o = json_pack("{s:s, s:s}", "en", en, "zh", zh);
	free(en);
	free(zh);
	return o;
}
