/* SPDX-License-Identifier: ISC */
/* chanstate.c: a channel's state as JSON; see chanstate.h. */
#include <stdlib.h>
#include <string.h>

#include "chanstate.h"

json_t *
hl_json_time(uint64_t ns)
{
	char buf[32];

	if (!ns)
		return json_null();
	hl_iso_time(ns, buf);
	return json_string(buf);
}

static json_t *
suspension_json(const struct hl_suspension *s, const char *by, bool by_us)
{
	return json_pack("{s:s, s:b, s:s, s:s, s:o, s:s, s:s}", "by", by, "by_us", by_us,
	                 "operator", s->operator_name, "reason", s->reason, "since",
	                 hl_json_time(s->since_ns), "notice", s->notice_id, "notice_state",
	                 hl_state_name(s->notice_state));
}

json_t *
hl_channel_json(const struct hl_channel_rec *c, const char *self, const char *link_state,
                json_t *last_contact)
{
	json_t *sus = json_array();
	const char *state = link_state ? link_state : "open";

	if (c->by_us.active)
		json_array_append_new(sus, suspension_json(&c->by_us, self, true));
	if (c->by_peer.active)
		json_array_append_new(sus, suspension_json(&c->by_peer, c->peer, false));
	if (json_array_size(sus))
		state = "suspended";
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:O}", "peer", c->peer, "name", c->name,
	                 "state", state, "no_suspend", c->no_suspend, "created",
	                 hl_json_time(c->created_ns), "suspended_by", sus, "last_contact",
	                 last_contact ? last_contact : json_null());
}

json_t *
hl_ckpt_json(const struct hl_ckpt_rec *c)
{
	char ours[HL_MSGID_LEN + 1], theirs[HL_MSGID_LEN + 1];

	hl_event_id(c->ours.signer_hash, ours);
	hl_event_id(c->ours.other_hash, theirs);
	return json_pack("{s:o, s:s, s:s, s:I, s:s, s:I, s:s, s:s}", "at",
	                 hl_json_time(c->ours.at_ns), "initiator",
	                 c->initiator ? "peer" : "station", "status",
	                 hl_ckpt_status_name(c->status), "station_seq",
	                 (json_int_t)c->ours.signer_seq, "station_head", ours, "peer_seq",
	                 (json_int_t)c->ours.other_seq, "peer_head", theirs, "detail", c->detail);
}

/* The peer's checkpoints: the newest, when the last agreed one was, how many mismatched. */
static json_t *
checkpoints_json(struct hl_store *st, const char *peer)
{
	struct hl_peer_rec p;
	struct hl_ckpt_rec c;
	uint64_t agreed_ns = 0;
	size_t mismatches = 0;
	bool found = false;

	if (hl_store_peer_get(st, peer, &p) < 0 ||
	    hl_store_ckpt_last(st, p.id, &c, &found, &agreed_ns, &mismatches) < 0)
		return json_null();
	return json_pack("{s:o, s:o, s:I}", "last", found ? hl_ckpt_json(&c) : json_null(),
	                 "last_agreed", hl_json_time(agreed_ns), "mismatches",
	                 (json_int_t)mismatches);
}

int
hl_status_add_channels(json_t *status, struct hl_store *st, const char *self)
{
	json_t *peers = json_object_get(status, "peers"), *p;
	struct hl_channel_rec *ch = NULL;
	size_t n = 0, i;
	int rc = hl_store_channel_list(st, NULL, &ch, &n);

	if (rc < 0)
		return rc;
	json_array_foreach(peers, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *state = json_string_value(json_object_get(p, "state"));
		json_t *arr = json_array();
		for (size_t k = 0; name && k < n; k++)
			if (strcmp(ch[k].peer, name) == 0)
				json_array_append_new(
				    arr, hl_channel_json(&ch[k], self, state,
				                         json_object_get(p, "last_contact")));
		json_object_set_new(p, "channels", arr);
		if (name)
			json_object_set_new(p, "checkpoints", checkpoints_json(st, name));
	}
	free(ch);
	return HL_OK;
}

/* ---- keys (docs/keys.md) ---- */

static json_t *
key_json(const struct hl_pubkey *k)
{
	char pk[HL_PUBSTR_MAX];

	hl_pubkey_encode(k, pk);
	return json_string(pk);
}

json_t *
hl_peer_keys_json(const struct hl_peer_rec *p)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "key", key_json(&p->key), "since",
	                 hl_json_time(p->key_since_ns), "announced",
	                 p->has_next ? json_pack("{s:o, s:o}", "key", key_json(&p->next), "since",
	                                         hl_json_time(p->next_ns))
	                             : json_null(),
	                 "revoked",
	                 p->revoked_ns ? json_pack("{s:o, s:s}", "at", hl_json_time(p->revoked_ns),
	                                           "reason", p->revoked_reason)
	                               : json_null());
}

static void
rotation_peer(void *ctx, const char *peer, int state, const char *msg_id, bool revoked)
{
	json_array_append_new(ctx, json_pack("{s:s, s:o, s:s, s:b}", "name", peer, "notice",
	                                     msg_id[0] ? json_string(msg_id) : json_null(), "state",
	                                     state < 0 ? "none" : hl_state_name(state), "revoked",
	                                     revoked));
}

int
hl_status_add_keys(json_t *status, struct hl_store *st, const struct hl_pubkey *ours)
{
	struct hl_rotation_rec r;
	struct hl_pubkey neu;
	json_t *keys, *rot = json_null(), *peers;
	size_t waiting = 0;
	bool found = false;
	int rc;

	if ((rc = hl_store_rotation_pending(st, &r, &found)) < 0 ||
	    (!found && (rc = hl_store_rotation_last(st, &r, &found)) < 0))
		return rc;
	if (found) {
		peers = json_array();
		if ((rc = hl_store_rotation_peers(st, &r, rotation_peer, peers, &waiting)) < 0) {
			json_decref(peers);
			return rc;
		}
		memcpy(neu.x25519, r.r.new_x25519, 32);
		memcpy(neu.ed25519, r.r.new_ed25519, 32);
		rot = json_pack("{s:o, s:o, s:s, s:o, s:I, s:o}", "new_key", key_json(&neu),
		                "started", hl_json_time(r.started_ns), "operator", r.operator_name,
		                "switched", hl_json_time(r.switched_ns), "waiting",
		                (json_int_t)(r.switched_ns ? 0 : waiting), "peers", peers);
	}
	keys = json_pack("{s:o, s:o}", "key", key_json(ours), "rotation", rot);
	json_object_set_new(status, "keys", keys);
	return HL_OK;
}
