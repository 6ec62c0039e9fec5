/* SPDX-License-Identifier: ISC */
/*
 * station.c: the daemon's wiring (the only file that knows every module):
 * lock the directory, load config, keys and peers, start the network and
 * the control socket, run the loop, and stop cleanly on a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>
#include <sodium.h>

#include "chanstate.h"
#include "codebook.h"
#include "config.h"
#include "console.h"
#include "ctl.h"
#include "keys.h"
#include "link.h"
#include "log.h"
#include "notify_proc.h"
#include "overdue.h"
#include "rotation.h"
#include "sandbox.h"
#include "station.h"
#include "talks.h"
#include "store.h"
#include "storecheck.h"

int
hl_station_path(const char *dir, enum hl_station_file f, char out[static HL_PATH_MAX])
{
	static const char *names[] = {"config", "identity.key", "station.db",
	                              "lock",   "ctl.sock",     "identity.key.next"};

	return hl_path(out, HL_PATH_MAX, dir, names[f]);
}

struct daemon {
	const char *dir;
	struct hl_config cfg;
	struct hl_identity id;
	struct hl_store *store;
	uv_loop_t loop;
	struct hl_net *net;
	struct hl_ctl *ctl;
	uv_signal_t sigint, sigterm, sighup;
	bool stopping;
	struct hl_notify_proc *notify; /* the operator's hook's helper (config notify), or NULL */
	struct hl_console *console;    /* the web console (config console); NULL: none */
	struct hl_codebook *codebook;  /* NULL: none installed (codebook messages are refused) */
	struct hl_overdue due;         /* deadlines of unacknowledged messages */
	uv_timer_t due_timer;          /* ... checked every second, and the key rotation */
	struct hl_rotator rot;         /* our key rotation under way (docs/keys.md) */
	struct hl_identity offered;    /* the new keys of a `rotate` whose store job runs */
	bool offering;
	uv_timer_t disk_timer; /* stops the daemon once the disk failed */
	bool disk_failed;
	struct failed_link { /* links whose latest test failed (announced once) */
		char peer[HL_NAME_MAX + 1];
		char link[HL_ADDR_MAX];
	} failed[64];
	size_t nfailed;
};

/* ---- operator notifications (docs/notify.md) ---- */

/* Hand one event to the hook: kind, station, time and peer, then fields (taken). */
static void
notify(struct daemon *d, const char *kind, const char *peer, json_t *fields)
{
	char at[32];
	json_t *o;

	if (d->stopping || !d->notify || !fields) {
		json_decref(fields);
		return;
	}
	hl_iso_time(hl_wall_ns(), at);
	o = json_pack("{s:s, s:s, s:s, s:s}", "event", kind, "station", d->cfg.name, "at", at,
	              "peer", peer);
	json_object_update(o, fields);
	json_decref(fields);
	hl_notify_proc_event(d->notify, o);
}

/* A suspension or resumption took effect here; by: the station that decided. */
static void
notify_notice(struct daemon *d, const char *peer, const struct hl_event *ev, const char *by)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:o}", "channel", ev->channel, "by", by, "operator",
	                      ev->operator_name, "since", hl_json_time(ev->created_ns));

	if (f && ev->kind == HL_EV_SUSPEND)
		json_object_set_new(f, "reason",
		                    json_stringn((const char *)ev->body, ev->body_len));
	notify(d, ev->kind == HL_EV_SUSPEND ? "suspended" : "resumed", peer, f);
}

/* ---- the web console's live events (docs/console.md, "Events") ---- */

/* A message changed state (id NULL: several, or not known here). */
static void
console_message(struct daemon *d, const char *peer, const char *id, const char *direction,
                const char *state)
{
	if (d->console)
		hl_console_event(d->console, "message",
		                 json_pack("{s:s?, s:s, s:s, s:s}", "id", id, "state", state,
		                           "peer", peer, "direction", direction));
}

/* A notice took effect here: the channel is now suspended or resumed by `by`. */
static void
console_channel(struct daemon *d, const char *peer, const struct hl_event *ev, const char *by)
{
	if (d->console)
		hl_console_event(
		    d->console, "channel",
		    json_pack("{s:s, s:s, s:s, s:s}", "peer", peer, "channel", ev->channel, "state",
		              ev->kind == HL_EV_SUSPEND ? "suspended" : "resumed", "by", by));
}

static void
console_status(struct daemon *d)
{
	if (d->console)
		hl_console_event(d->console, "status", json_object());
}

/* Our events' states moved in the store: sent, delivered (receipted) or refused. */
static void
on_marked(void *ctx, const char *peer, const struct hl_job *j)
{
	struct daemon *d = ctx;
	char id[HL_MSGID_LEN + 1];

	if (j->kind == HL_JOB_SENT) {
		console_message(d, peer, NULL, "out", "sent");
	} else if (j->kind == HL_JOB_REFUSED) {
		hl_event_id(j->hash, id);
		console_message(d, peer, id, "out", "refused");
	} else if (j->kind == HL_JOB_RECEIPT && j->nentries > 8) {
		console_message(d, peer, NULL, "out", "delivered"); /* a batch: reload */
	} else if (j->kind == HL_JOB_RECEIPT) {
		for (size_t i = 0; i < j->nentries; i++) {
			hl_event_id(j->entries[i].hash, id);
			console_message(d, peer, id, "out", "delivered");
		}
	}
}

static void
track_deadline(struct daemon *d, int64_t peer_id, enum hl_dir dir, uint64_t seq,
               uint64_t deadline_ns)
{
	struct hl_due due = {deadline_ns, peer_id, seq, (int)dir};

	if (deadline_ns && hl_overdue_add(&d->due, &due) < 0)
		log_warn("overdue_untracked", "peer_id=%lld seq=%llu", (long long)peer_id,
		         (unsigned long long)seq);
}

static void
on_unacked(void *ctx, int64_t peer_id, enum hl_dir dir, uint64_t seq, uint64_t deadline_ns)
{
	struct daemon *d = ctx;

	/* What was overdue before this start is in the inbox and outbox already. */
	if (deadline_ns > hl_wall_ns())
		track_deadline(d, peer_id, dir, seq, deadline_ns);
}

/* Every peer has our new key: switch to it, then every session is made again with it. */
static void
rotation_tick(struct daemon *d)
{
	struct hl_job *j;
	int64_t id = 0;
	char pk[HL_PUBSTR_MAX];

	hl_rotator_tick(&d->rot, d->dir, &d->id, d->store, &id);
	if (!id)
		return;
	hl_net_identity_changed(d->net);
	if ((j = hl_job_new(HL_JOB_ROTATED, 0)) != NULL) {
		j->seq = (uint64_t)id;
		j->after = hl_wall_ns();
		if (hl_net_submit(d->net, j) < 0)
			hl_job_free(j); /* the next start records it */
	}
	hl_pubkey_encode(&d->id.pub, pk);
	notify(d, "key_rotated", "", json_pack("{s:s}", "key", pk));
}

static void
on_due_timer(uv_timer_t *t)
{
	struct daemon *d = t->data;
	struct hl_due due;

	while (hl_overdue_pop(&d->due, hl_wall_ns(), &due)) {
		struct hl_event_row *r = NULL;
		if (hl_store_event_get(d->store, due.peer_id, (enum hl_dir)due.dir, due.seq, &r) <
		    0)
			continue;
		if (r->dir == HL_DIR_OUT ? r->state <= HL_ST_DELIVERED : r->state == HL_ST_RECEIVED)
			console_message(d, r->peer, r->msg_id, r->dir == HL_DIR_OUT ? "out" : "in",
			                "overdue");
		if (r->dir == HL_DIR_OUT ? r->state <= HL_ST_DELIVERED : r->state == HL_ST_RECEIVED)
			notify(d, "overdue", r->peer,
			       json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", r->msg_id, "direction",
			                 r->dir == HL_DIR_OUT ? "out" : "in", "channel",
			                 r->ev.channel, "precedence",
			                 hl_prec_name(r->ev.precedence), "deadline",
			                 hl_json_time(r->ev.deadline_ns)));
		hl_event_rows_free(r, 1);
	}
	rotation_tick(d);
}

static void
on_received(void *ctx, const char *peer, const struct hl_job *j)
{
	struct daemon *d = ctx;
	char id[HL_MSGID_LEN + 1];

	if (j->ev.kind == HL_EV_MESSAGE &&
	    (j->outcome == HL_RECV_NEW || j->outcome == HL_RECV_REFUSED)) {
		hl_event_id(j->hash, id);
		console_message(d, peer, id, "in",
		                j->outcome == HL_RECV_NEW ? "unacknowledged" : "refused");
	}
	if (j->outcome != HL_RECV_NEW)
		return;
	if (j->ev.kind == HL_EV_ACK) {
		hl_event_id(j->ev.ref_hash, id);
		console_message(d, peer, id, "out", "acknowledged");
	}
	if (j->ev.kind == HL_EV_TALKS)
		console_status(d); /* the talks register changed */
	if (j->ev.kind == HL_EV_SUSPEND || j->ev.kind == HL_EV_RESUME) {
		console_channel(d, peer, &j->ev, peer);
		notify_notice(d, peer, &j->ev, peer);
		return;
	}
	if (j->ev.kind == HL_EV_KEY) {
		struct hl_rotation r;
		struct hl_pubkey k;
		char pk[HL_PUBSTR_MAX];
		if (hl_rotation_decode(j->ev.body, j->ev.body_len, &r) < 0)
			return;
		memcpy(k.x25519, r.new_x25519, 32);
		memcpy(k.ed25519, r.new_ed25519, 32);
		hl_pubkey_encode(&k, pk);
		notify(d, "peer_key_announced", peer,
		       json_pack("{s:s, s:s, s:o}", "key", pk, "operator", j->ev.operator_name,
		                 "since", hl_json_time(j->ev.created_ns)));
		return;
	}
	if (j->ev.kind != HL_EV_MESSAGE)
		return;
	track_deadline(d, j->peer_id, HL_DIR_IN, j->ev.seq, j->ev.deadline_ns);
	if (j->ev.precedence > HL_PREC_IMMEDIATE)
		return;
	hl_event_id(j->hash, id);
	notify(d, "message", peer,
	       json_pack("{s:s, s:s, s:s, s:o, s:s, s:I}", "id", id, "channel", j->ev.channel,
	                 "precedence", hl_prec_name(j->ev.precedence), "deadline",
	                 hl_json_time(j->ev.deadline_ns), "media_type", j->ev.media_type, "bytes",
	                 (json_int_t)j->ev.body_len));
}

/* A link test of ours failed where the one before it had not: one alarm per failure, not per test.
 */
static void
on_link_test(void *ctx, const char *peer, const char *link, bool ok, double rtt_ms,
             const char *error)
{
	struct daemon *d = ctx;
	struct failed_link *f = NULL;

	(void)rtt_ms;
	console_status(d);
	for (size_t i = 0; i < d->nfailed; i++)
		if (strcmp(d->failed[i].peer, peer) == 0 && strcmp(d->failed[i].link, link) == 0)
			f = &d->failed[i];
	if (ok) {
		if (f)
			*f = d->failed[--d->nfailed];
		return;
	}
	if (f)
		return; /* still failing: already announced */
	if (d->nfailed < ARRAY_SIZE(d->failed)) {
		f = &d->failed[d->nfailed++];
		snprintf(f->peer, sizeof f->peer, "%s", peer);
		snprintf(f->link, sizeof f->link, "%s", link);
	}
	notify(d, "link_test_failed", peer,
	       json_pack("{s:s, s:s}", "link", link, "error", error ? error : "failed"));
}

/* A checkpoint ended: answer who asked; a mismatch is an alarm, never just a log line. */
static void
on_checkpoint(void *ctx, const char *peer, void *const *waiters, const struct hl_ckpt_rec *c)
{
	struct daemon *d = ctx;

	console_status(d);
	for (size_t i = 0; waiters[i]; i++)
		hl_ctl_reply(waiters[i], json_pack("{s:b, s:s, s:o}", "ok", 1, "peer", peer,
		                                   "checkpoint", hl_ckpt_json(c)));
	if (c->status == HL_CKPT_AGREED) {
		log_info("checkpoint",
		         "peer=%s status=agreed initiator=%s our_seq=%llu their_seq=%llu", peer,
		         c->initiator ? "peer" : "station", (unsigned long long)c->ours.signer_seq,
		         (unsigned long long)c->ours.other_seq);
	} else if (c->status == HL_CKPT_MISMATCH) {
		char q[HL_REASON_MAX + 8];
		log_error("checkpoint_mismatch", "peer=%s detail=%s", peer,
		          log_q(q, sizeof q, c->detail));
		notify(d, "checkpoint_mismatch", peer, hl_ckpt_json(c));
	} else {
		char q[HL_REASON_MAX + 8];
		log_warn("checkpoint_unanswered", "peer=%s detail=%s", peer,
		         log_q(q, sizeof q, c->detail));
	}
}

/* The peer holds another codebook: its codebook messages and ours will be refused. */
static void
on_codebook(void *ctx, const char *peer, bool agreed, const char *hash_hex, const char *version)
{
	struct daemon *d = ctx;

	console_status(d);
	if (!agreed)
		notify(d, "codebook_mismatch", peer,
		       json_pack("{s:o, s:o, s:s, s:s}", "ours",
		                 d->codebook ? json_string(d->codebook->hash_hex) : json_null(),
		                 "ours_version",
		                 d->codebook ? json_string(d->codebook->version) : json_null(),
		                 "peer_codebook", hash_hex, "peer_version", version));
}

/* The peer now uses the key it announced; its former key is refused from now on. */
static void
on_peer_key(void *ctx, const char *peer, const struct hl_pubkey *key)
{
	struct daemon *d = ctx;
	char pk[HL_PUBSTR_MAX];

	hl_pubkey_encode(key, pk);
	notify(d, "peer_key_switched", peer, json_pack("{s:s}", "key", pk));
}

static void
on_link_changed(void *ctx, const char *peer, bool up, const char *via, const char *why)
{
	struct daemon *d = ctx;

	if (d->console)
		hl_console_event(d->console, "link",
		                 json_pack("{s:s, s:s, s:s, s:s}", "peer", peer, "link", via,
		                           "state", up ? "up" : "down", "reason", up ? "" : why));
	notify(d, up ? "link_up" : "link_down", peer,
	       up ? json_pack("{s:s}", "link", via)
	          : json_pack("{s:s, s:s}", "link", via, "reason", why));
}

static int
reload_peers(struct daemon *d)
{
	struct hl_peer_rec *peers;
	size_t n;
	int rc = hl_store_peer_list(d->store, &peers, &n);

	if (rc < 0)
		return rc;
	rc = hl_net_set_peers(d->net, peers, n);
	free(peers);
	if (rc == HL_OK)
		log_info("peers_loaded", "count=%zu", n);
	console_status(d);
	return rc;
}

static json_t *
err_reply(const char *code, const char *msg)
{
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "code", code, "error", msg);
}

/* A control client waiting for its message to be receipted. */
struct waiter {
	struct hl_ctl_client *client;
	char id[HL_MSGID_LEN + 1];
};

/*
 * send: the daemon is the one writer while it runs, so a FLASH message from
 * the CLI goes into the next group commit instead of waiting for the
 * store's write lock behind the daemon's batches.
 */
static json_t *
ctl_send(struct daemon *d, json_t *req, struct hl_ctl_client *client)
{
	const char *peer = NULL, *channel = "general", *prec_s = "routine", *media = "",
	           *b64 = NULL, *token = NULL, *kind = "message", *op = "";
	int wait = 0, retry = 0;
	unsigned prec;
	int64_t peer_id;
	size_t blen = 0, b64len = 0, rawlen = 0, cap;
	const uint8_t *raw = hl_ctl_body(client, &rawlen);
	struct hl_job *j;
	char why[256];

	unsigned k;

	if (json_unpack(req, "{s:s, s?s, s?s, s?s, s?s, s?b, s:s, s?b, s?s, s?s}", "peer", &peer,
	                "channel", &channel, "precedence", &prec_s, "media_type", &media, "body",
	                &b64, "wait", &wait, "token", &token, "retry", &retry, "kind", &kind,
	                "operator", &op) != 0 ||
	    !b64 == !raw)
		return err_reply("usage", "send needs peer, body (or body_bytes) and token");
	for (k = HL_EV_MESSAGE; k <= HL_EV_TALKS && strcmp(kind, hl_kind_name(k)) != 0; k++)
		;
	if (k == HL_EV_ACK || !hl_kind_known(k) || strlen(op) > HL_OPERATOR_MAX ||
	    !hl_field_valid(op, strlen(op)) || (k != HL_EV_MESSAGE && !*op))
		return err_reply("usage", "bad kind or operator");
	if (hl_net_peer_id(d->net, peer, &peer_id) < 0) {
		snprintf(why, sizeof why, "no peer named %s: see 'hotline peer list'", peer);
		return err_reply("notfound", why);
	}
	if (!hl_name_valid(channel) || hl_prec_parse(prec_s, &prec) < 0 ||
	    strlen(media) > HL_MEDIA_MAX || !hl_field_valid(media, strlen(media)))
		return err_reply("usage", "bad channel, precedence or media type");
	/* The body comes raw after the request line (the CLI), or in base64 inside it. */
	if (b64)
		b64len = strlen(b64);
	cap = raw ? rawlen : b64len / 4 * 3 + 3;
	if ((raw ? rawlen : b64len / 4 * 3) > (size_t)d->cfg.max_message_bytes + (raw ? 0 : 3)) {
		snprintf(why, sizeof why, "the message is larger than max_message_bytes (%u bytes)",
		         d->cfg.max_message_bytes);
		return err_reply("toolarge", why);
	}
	if (!(j = hl_job_new(HL_JOB_APPEND, peer_id)) || !(j->body = malloc(cap ? cap : 1))) {
		hl_job_free(j);
		return err_reply("nomem", "out of memory");
	}
	if (raw) {
		memcpy(j->body, raw, rawlen);
		blen = rawlen;
	} else if (sodium_base642bin(j->body, cap, b64, b64len, NULL, &blen, NULL,
	                             sodium_base64_VARIANT_ORIGINAL) != 0 ||
	           blen > d->cfg.max_message_bytes) {
		hl_job_free(j);
		return err_reply("usage", "body is not base64 or too large");
	}
	if (!media[0] && !hl_utf8_valid(j->body, blen)) {
		hl_job_free(j);
		return err_reply("utf8", "the text is not valid UTF-8");
	}
	if (k == HL_EV_TALKS) {
		struct hl_talks_body tb;
		char terr[HL_TALKS_ERR_MAX];
		if (strcmp(media, HL_TALKS_MEDIA) != 0 ||
		    hl_talks_body_decode(j->body, blen, &tb, terr, sizeof terr) < 0) {
			hl_job_free(j);
			return err_reply("usage", "not a talks event body");
		}
		hl_talks_body_free(&tb);
	} else if (k != HL_EV_MESSAGE &&
	           (blen > HL_NOTICE_REASON_MAX || !hl_field_valid((const char *)j->body, blen))) {
		hl_job_free(j);
		return err_reply("usage", "a notice's reason is one line of at most 256 bytes");
	}
	j->ev.kind = (uint8_t)k;
	snprintf(j->ev.operator_name, sizeof j->ev.operator_name, "%s", op);
	j->ev.precedence = (uint8_t)prec;
	j->ev.created_ns = hl_wall_ns();
	if (k == HL_EV_MESSAGE) /* notices are not acknowledged: no deadline */
		j->ev.deadline_ns =
		    j->ev.created_ns + (uint64_t)d->cfg.deadline_s[prec] * 1000000000u;
	snprintf(j->ev.channel, sizeof j->ev.channel, "%s", channel);
	snprintf(j->ev.media_type, sizeof j->ev.media_type, "%s", media);
	j->ev.body = j->body;
	j->ev.body_len = (uint32_t)blen;
	j->waiter = client;
	j->tag = (uint64_t)wait;
	j->retry = retry != 0;
	if (sodium_hex2bin(j->token, sizeof j->token, token, strlen(token), NULL, &blen, NULL) !=
	        0 ||
	    blen != HL_TOKEN_LEN) {
		hl_job_free(j);
		return err_reply("usage", "token must be 32 hex digits");
	}
	if (hl_net_submit(d->net, j) < 0) {
		hl_job_free(j);
		return err_reply("stopping", "the daemon is stopping");
	}
	return NULL; /* answered in on_job_done */
}

static json_t *
ctl_ack(struct daemon *d, json_t *req, struct hl_ctl_client *client)
{
	const char *id = NULL, *op = NULL;
	struct hl_job *j;

	if (json_unpack(req, "{s:s, s:s}", "id", &id, "operator", &op) != 0 ||
	    strlen(id) > HL_MSGID_LEN || strlen(op) > HL_OPERATOR_MAX || !*op ||
	    !hl_field_valid(op, strlen(op)))
		return err_reply("usage", "ack needs id and operator");
	if (!(j = hl_job_new(HL_JOB_ACK, 0)))
		return err_reply("nomem", "out of memory");
	snprintf(j->msg_id, sizeof j->msg_id, "%s", id);
	snprintf(j->operator_name, sizeof j->operator_name, "%s", op);
	j->waiter = client;
	if (hl_net_submit(d->net, j) < 0) {
		hl_job_free(j);
		return err_reply("stopping", "the daemon is stopping");
	}
	return NULL;
}

/* Wipe a JSON string in place: a secret the request carried. */
static void
wipe_string(json_t *v)
{
	if (json_is_string(v))
		sodium_memzero((char *)(uintptr_t)json_string_value(v), json_string_length(v));
}

/*
 * rotate (docs/keys.md): `hotline key rotate` made the new keys, wrote
 * them to identity.key.next and signed the statement with our current
 * key; we take the statement and the new secrets (over the owner-only
 * socket: the daemon cannot open the protected file without the
 * passphrase), queue the KEY events in one store job, and switch later.
 */
static json_t *
ctl_rotate(struct daemon *d, json_t *req, struct hl_ctl_client *client)
{
	const char *stmt64 = NULL, *secret64 = NULL, *op = NULL;
	uint8_t raw[64], stmt[HL_ROTATION_MAX];
	size_t slen = 0, rlen = 0;
	struct hl_rotation r;
	struct hl_job *j;
	json_t *reply = NULL;

	if (json_unpack(req, "{s:s, s:s, s:s}", "statement", &stmt64, "secret", &secret64,
	                "operator", &op) != 0)
		return err_reply("usage", "rotate needs statement, secret and operator");
	if (sodium_base642bin(raw, sizeof raw, secret64, strlen(secret64), NULL, &rlen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    rlen != sizeof raw)
		reply = err_reply("usage", "the secret is not 64 bytes of base64");
	wipe_string(json_object_get(req, "secret"));
	if (!reply && (d->rot.pending || d->offering))
		reply =
		    err_reply("busy", "a key rotation is already under way: see 'hotline status'");
	if (!reply && (strlen(op) > HL_OPERATOR_MAX || !*op || !hl_field_valid(op, strlen(op))))
		reply = err_reply("usage", "bad operator");
	if (!reply && (sodium_base642bin(stmt, sizeof stmt, stmt64, strlen(stmt64), NULL, &slen,
	                                 NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	               hl_rotation_decode(stmt, slen, &r) < 0 || hl_rotation_verify(&r) < 0))
		reply = err_reply("usage", "the rotation statement does not parse or verify");
	if (!reply && (sodium_memcmp(r.old_x25519, d->id.pub.x25519, 32) != 0 ||
	               sodium_memcmp(r.old_ed25519, d->id.pub.ed25519, 32) != 0))
		reply = err_reply("invalid", "the statement does not replace this station's key");
	if (!reply && hl_identity_from_raw(&d->offered, raw) < 0)
		reply = err_reply("nomem", "out of memory");
	sodium_memzero(raw, sizeof raw);
	if (reply)
		return reply;
	if (sodium_memcmp(d->offered.pub.x25519, r.new_x25519, 32) != 0 ||
	    sodium_memcmp(d->offered.pub.ed25519, r.new_ed25519, 32) != 0) {
		hl_identity_free(&d->offered);
		return err_reply("invalid", "the secret is not the announced key's");
	}
	if (!(j = hl_job_new(HL_JOB_ROTATE, 0)) || !(j->body = malloc(slen))) {
		hl_job_free(j);
		hl_identity_free(&d->offered);
		return err_reply("nomem", "out of memory");
	}
	memcpy(j->body, stmt, slen);
	j->ev.body_len = (uint32_t)slen;
	snprintf(j->operator_name, sizeof j->operator_name, "%s", op);
	j->waiter = client;
	if (hl_net_submit(d->net, j) < 0) {
		hl_job_free(j);
		hl_identity_free(&d->offered);
		return err_reply("stopping", "the daemon is stopping");
	}
	d->offering = true;
	return NULL; /* answered in rotate_done */
}

/* The rotation's store job ran: hold the new keys until the switch, answer the CLI. */
static void
rotate_done(struct daemon *d, struct hl_job *j)
{
	struct hl_rotation_rec rec;
	bool found = false;

	d->offering = false;
	if (j->rc == HL_OK && hl_store_rotation_pending(d->store, &rec, &found) == HL_OK && found &&
	    sodium_memcmp(rec.r.new_x25519, d->offered.pub.x25519, 32) == 0) {
		hl_rotator_adopt(&d->rot, &d->offered, &rec);
		log_info("key_rotation_started", "peers=%zu existed=%d operator=\"%s\"", j->limit,
		         j->outcome, rec.operator_name);
		hl_ctl_reply(j->waiter, json_pack("{s:b, s:I, s:b}", "ok", 1, "peers",
		                                  (json_int_t)j->limit, "existed", j->outcome));
	} else {
		hl_ctl_reply(
		    j->waiter,
		    err_reply(j->rc == HL_ERR_BUSY ? "busy" : "io",
		              j->rc == HL_ERR_BUSY
		                  ? "a key rotation is already under way: see 'hotline status'"
		              : j->rc < 0
		                  ? hl_strerror(j->rc)
		                  : "the rotation was recorded, but is not the one under way"));
	}
	hl_identity_free(&d->offered);
	hl_job_free(j);
}

static void
on_job_done(void *ctx, struct hl_job *j)
{
	struct daemon *d = ctx;

	if (j->kind == HL_JOB_ROTATE) {
		rotate_done(d, j);
		return;
	}
	const char *code = j->rc == HL_ERR_FULL       ? "full"
	                   : j->rc == HL_ERR_DISK     ? "disk"
	                   : j->rc == HL_ERR_NOTFOUND ? "notfound"
	                   : j->rc == HL_ERR_INVAL    ? "invalid"
	                                              : "io";

	if (j->rc == HL_ERR_DISK) {
		hl_ctl_reply(j->waiter,
		             err_reply(code, "the station's disk failed (I/O error): the "
		                             "daemon stops; see its log"));
		hl_job_free(j);
		return;
	}
	if (j->rc < 0) {
		hl_ctl_reply(j->waiter,
		             err_reply(code, j->reason[0] ? j->reason : hl_strerror(j->rc)));
		hl_job_free(j);
		return;
	}
	if (j->kind == HL_JOB_APPEND && j->ev.kind == HL_EV_MESSAGE) {
		track_deadline(d, j->peer_id, HL_DIR_OUT, j->ev.seq, j->ev.deadline_ns);
		console_message(d, hl_net_peer_name(d->net, j->peer_id), j->msg_id, "out",
		                "queued");
	} else if (j->kind == HL_JOB_APPEND && j->ev.kind == HL_EV_TALKS) {
		console_status(d); /* the talks register changed */
	} else if (j->kind == HL_JOB_APPEND) {
		console_channel(d, hl_net_peer_name(d->net, j->peer_id), &j->ev, d->cfg.name);
		notify_notice(d, hl_net_peer_name(d->net, j->peer_id), &j->ev, d->cfg.name);
	} else if (j->kind == HL_JOB_ACK) {
		console_message(d, j->peer, j->ref_id, "in", "acknowledged");
	}
	if (j->kind == HL_JOB_ACK) {
		hl_ctl_reply(j->waiter, json_pack("{s:b, s:s, s:s}", "ok", 1, "ack_id", j->msg_id,
		                                  "peer", j->peer));
	} else if (j->tag) {
		struct waiter *w = calloc(1, sizeof *w);
		if (!w) {
			hl_ctl_reply(j->waiter, err_reply("nomem", "out of memory"));
		} else {
			w->client = j->waiter;
			memcpy(w->id, j->msg_id, sizeof w->id);
			hl_net_wait(d->net, j->peer_id, j->ev.seq, w);
		}
	} else {
		hl_ctl_reply(j->waiter, json_pack("{s:b, s:s, s:I}", "ok", 1, "id", j->msg_id,
		                                  "seq", (json_int_t)j->ev.seq));
	}
	hl_job_free(j);
}

static void
on_settled(void *ctx, void *waiter, uint64_t seq, const char *reason)
{
	struct waiter *w = waiter;

	(void)ctx;
	hl_ctl_reply(w->client, json_pack("{s:b, s:s, s:I, s:s, s:s?}", "ok", 1, "id", w->id, "seq",
	                                  (json_int_t)seq, "state",
	                                  reason ? "refused" : "delivered", "reason", reason));
	free(w);
}

static json_t *
on_ctl(void *ctx, const char *cmd, json_t *req, struct hl_ctl_client *client)
{
	struct daemon *d = ctx;

	if (strcmp(cmd, "send") == 0)
		return ctl_send(d, req, client);
	if (strcmp(cmd, "ack") == 0)
		return ctl_ack(d, req, client);
	if (strcmp(cmd, "rotate") == 0)
		return ctl_rotate(d, req, client);
	if (strcmp(cmd, "status") == 0) {
		json_t *o = json_pack("{s:b, s:s, s:b, s:i, s:s, s:o}", "ok", 1, "station",
		                      d->cfg.name, "running", 1, "pid", (int)getpid(), "listen",
		                      d->cfg.listen, "peers", hl_net_status(d->net));
		if (hl_status_add_channels(o, d->store, d->cfg.name) < 0)
			log_warn("status_channels_failed", "%s", "");
		if (hl_status_add_keys(o, d->store, &d->id.pub) < 0)
			log_warn("status_keys_failed", "%s", "");
		hl_rotator_status(&d->rot, o);
		return o;
	}
	if (strcmp(cmd, "checkpoint") == 0) {
		const char *peer = NULL;
		char why[128];
		int rc;
		if (json_unpack(req, "{s:s}", "peer", &peer) != 0)
			return err_reply("usage", "checkpoint needs peer");
		rc = hl_net_checkpoint(d->net, peer, client);
		if (rc == HL_OK)
			return NULL; /* answered in on_checkpoint */
		snprintf(why, sizeof why,
		         rc == HL_ERR_NOTFOUND ? "no peer named %s: see 'hotline peer list'"
		         : rc == HL_ERR_CLOSED
		             ? "the link to %s is down: a checkpoint needs the peer"
		             : "too many checkpoints with %s waiting: try again",
		         peer);
		return err_reply(rc == HL_ERR_NOTFOUND ? "notfound" : "unavailable", why);
	}
	if (strcmp(cmd, "metrics") == 0) {
		json_t *o = hl_net_metrics(d->net);
		if (o) {
			json_object_set_new(o, "ok", json_true());
			json_object_set_new(o, "peers", hl_net_status(d->net));
		}
		return o ? o : err_reply("nomem", "out of memory");
	}
	if (strcmp(cmd, "poke") == 0) {
		hl_net_poke(d->net);
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(cmd, "reload") == 0) {
		int rc = reload_peers(d);
		if (rc < 0)
			return json_pack("{s:b, s:s}", "ok", 0, "error", hl_strerror(rc));
		return json_pack("{s:b}", "ok", 1);
	}
	log_warn("ctl_refused", "reason=unknown_command");
	return json_pack("{s:b, s:s}", "ok", 0, "error", "unknown command");
}

static void
stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("stopping", "reason=%s", why);
	hl_console_stop(d->console); /* first: no new request reaches what stops below */
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	if (d->ctl)
		hl_ctl_stop(d->ctl);
	if (d->net)
		hl_net_stop(d->net);
	uv_close((uv_handle_t *)&d->due_timer, NULL);
	uv_close((uv_handle_t *)&d->disk_timer, NULL);
	hl_notify_proc_stop(d->notify); /* after the net: nothing is queued once it is stopping */
	d->ctl = NULL;
	d->net = NULL;
}

static void
on_disk_timer(uv_timer_t *t)
{
	stop(t->data, "disk_failed");
}

/*
 * A write or fsync of the store failed. What the kernel does with the
 * data of a failed fsync is not known (it may drop it and report success
 * next time), so the daemon does not carry on as if nothing happened: it
 * stops, like PostgreSQL, rather than accept messages it may not keep.
 * What was reported stored was committed before; what failed is not kept
 * (hl_store_commit). Restarting opens the store afresh.
 */
static void
on_disk_failed(void *ctx)
{
	struct daemon *d = ctx;

	if (d->disk_failed || d->stopping)
		return;
	d->disk_failed = true;
	log_error("disk_failed", "what=\"the store's disk returned an I/O error on write or "
	                         "fsync\" action=stopping");
	/* not from inside the writer's results: on the next turn of the loop */
	uv_timer_start(&d->disk_timer, on_disk_timer, 0, 0);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		if (reload_peers(d) < 0)
			log_warn("reload_failed", "%s", "");
		return;
	}
	stop(d, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* The web console, if the config asks for one (after everything it talks to is up). */
static int
start_console(struct daemon *d, char *err, size_t errcap)
{
	char path[HL_PATH_MAX];
	struct hl_console_opts o = {
	    .station = d->cfg.name,
	    .addr = d->cfg.console,
	    .idle_s = d->cfg.console_idle_s,
	    .pwcost = d->cfg.password_cost,
	    .store_path = path,
	    .codebook = d->codebook,
	    .ed25519 = d->id.pub.ed25519,
	    .language = d->cfg.language,
	    .max_message_bytes = d->cfg.max_message_bytes,
	    .handler = on_ctl,
	    .ctx = d,
	};

	if (hl_station_path(d->dir, HL_F_STORE, path) < 0) {
		snprintf(err, errcap, "station directory path too long");
		return HL_ERR_LIMIT;
	}
	return hl_console_start(&d->loop, &o, &d->console, err, errcap);
}

/* Take the directory's lock, or say which process holds it; owner: the user the daemon becomes. */
static int
lock_dir(const char *dir, const struct hl_user *owner, int *fd_out, char *err, size_t errcap)
{
	char path[HL_PATH_MAX], pid[32] = "";
	int fd;

	*fd_out = -1;
	if (hl_station_path(dir, HL_F_LOCK, path) < 0)
		return HL_ERR_LIMIT;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
		return HL_ERR_IO;
	}
	/* A CLI writing the store while no daemon runs holds the lock shared for a moment. */
	for (int i = 0; i < 150 && flock(fd, LOCK_EX | LOCK_NB) != 0; i++)
		usleep(20000);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = read(fd, pid, sizeof pid - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errcap,
		         "another hotline daemon (pid %s) is already running on %s: stop it first",
		         pid[0] ? pid : "?", dir);
		close(fd);
		return HL_ERR_EXISTS;
	}
	snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, pid, strlen(pid)) < 0 ||
	    (owner && fchown(fd, owner->uid, owner->gid) != 0)) {
		snprintf(err, errcap, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return HL_ERR_IO;
	}
	*fd_out = fd;
	return HL_OK;
}

/*
 * Who the daemon runs as. Root needs a user to become (run --user, config
 * user) or an explicit --allow-root; anyone else may name only itself.
 * *drop: become *u once the listener is bound.
 */
static int
plan_user(const struct hl_config *cfg, const struct hl_run_opts *opts, struct hl_user *u,
          bool *drop, char *err, size_t errcap)
{
	const char *name = opts->user && *opts->user ? opts->user : cfg->user;
	int rc;

	*drop = false;
	if (!*name) {
		if (geteuid() == 0 && !opts->allow_root) {
			snprintf(err, errcap,
			         "refusing to run as root: give --user NAME (or user = NAME in the "
			         "config) to become that user once the listener is bound, or "
			         "--allow-root");
			return HL_ERR_AUTH;
		}
		return HL_OK;
	}
	if ((rc = hl_sandbox_user(name, u, err, errcap)) < 0)
		return rc;
	if (u->uid == 0) {
		snprintf(err, errcap, "user %s is root: to run as root, say --allow-root", name);
		return HL_ERR_INVAL;
	}
	if (geteuid() != 0) {
		if (geteuid() == u->uid)
			return HL_OK; /* already that user (e.g. systemd's User=) */
		snprintf(err, errcap,
		         "cannot become user %s: this process is uid %u, not root; start it as "
		         "root or as %s",
		         name, (unsigned)geteuid(), name);
		return HL_ERR_AUTH;
	}
	*drop = true;
	return HL_OK;
}

/* The identity key could not be opened: the operator's line. */
static void
identity_error(int rc, const char *path, char *err, size_t errcap)
{
	if (rc == HL_ERR_KEY_PERMS)
		snprintf(err, errcap, "%s is readable by group or others: chmod 600 it", path);
	else if (rc == HL_ERR_KEY_LOCKED)
		snprintf(err, errcap,
		         "the identity key is protected by a passphrase: give it with "
		         "--passphrase-fd N (or run in a terminal)");
	else if (rc == HL_ERR_KEY_BADPASS)
		snprintf(err, errcap, "wrong passphrase for %s", path);
	else if (rc == HL_ERR_CORRUPT)
		snprintf(err, errcap, "%s is damaged or was altered: restore it from a backup",
		         path);
	else
		snprintf(err, errcap, "cannot load %s: %s", path, hl_strerror(rc));
}

/* Bound as root: become u for good, and check that u can use the station directory. */
static int
become(const char *dir, const struct hl_user *u, char *err, size_t errcap)
{
	int rc = hl_sandbox_drop(u, err, errcap);

	if (rc < 0)
		return rc;
	if (access(dir, R_OK | W_OK | X_OK) != 0) {
		snprintf(err, errcap, "user %s cannot use %s (%s): chown -R %s: %s", u->name, dir,
		         strerror(errno), u->name, dir);
		return HL_ERR_AUTH;
	}
	log_info("privileges_dropped", "user=%s uid=%u gid=%u", u->name, (unsigned)u->uid,
	         (unsigned)u->gid);
	return HL_OK;
}

int
hl_station_run(const char *dir, char *pass, size_t passlen, const struct hl_run_opts *opts,
               char *err, size_t errcap)
{
	struct daemon d = {.dir = dir};
	struct hl_store_check chk;
	struct hl_peer_rec *peers = NULL;
	struct hl_user user;
	char path[HL_PATH_MAX];
	size_t npeers = 0;
	int lockfd = -1, listen_fd = -1, rc;
	bool drop;

	signal(SIGPIPE, SIG_IGN);
	rc = hl_config_load(&d.cfg, dir, err, errcap);
	if (rc < 0)
		return rc;
	if (!opts->verbose)
		log_set_level((enum log_level)d.cfg.log_level);
	log_set_prefix(d.cfg.name);
	if ((rc = plan_user(&d.cfg, opts, &user, &drop, err, errcap)) < 0)
		return rc;
	rc = lock_dir(dir, drop ? &user : NULL, &lockfd, err, errcap);
	if (rc < 0)
		return rc;
	/* The hook's helper: forked before the keys are loaded and before the filter. */
	if (d.cfg.notify[0] && (rc = hl_notify_proc_start(d.cfg.notify, drop ? &user : NULL, pass,
	                                                  passlen, &d.notify, err, errcap)) < 0)
		goto out_lock;
	rc = hl_station_path(dir, HL_F_IDENTITY, path);
	if (rc == HL_OK)
		rc = hl_identity_open(&d.id, path, pass, passlen);
	if (rc == HL_OK) /* a rotation's new keys, protected by the same passphrase */
		hl_rotator_load(&d.rot, dir, pass, passlen);
	if (pass)
		sodium_memzero(pass, passlen); /* used once: not kept for the daemon's life */
	if (rc < 0) {
		identity_error(rc, path, err, errcap);
		goto out_lock;
	}
	if (drop && ((rc = hl_net_listen(&d.cfg, &listen_fd, err, errcap)) < 0 ||
	             (rc = become(dir, &user, err, errcap)) < 0))
		goto out_id;
	/* Not dumpable (after the drop, which resets it): no core file, no ptrace by the same
	   user, /proc/PID for root only. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if ((rc = hl_station_path(dir, HL_F_STORE, path)) < 0)
		goto out_id;
	/* Never run on a damaged store: what it would serve and forward is not the record. */
	{
		char why[768];
		if ((rc = hl_store_check(path, d.id.pub.ed25519, HL_CHECK_CONVERT, &chk, why,
		                         sizeof why)) < 0) {
			if (rc == HL_ERR_CORRUPT)
				snprintf(
				    err, errcap,
				    "the store is damaged: %s. This station will not run on it: "
				    "restore the latest backup (hotline -d %s restore --force "
				    "FILE), then start it again; the peer sends back what the "
				    "backup lacks (docs/reliability.md)",
				    why, dir);
			else
				snprintf(err, errcap, "%s", why[0] ? why : hl_strerror(rc));
			goto out_id;
		}
	}
	if ((rc = hl_store_open(path, false, &d.store, err, errcap)) < 0)
		goto out_id;
	hl_store_fold_on_close(d.store); /* whichever of ours closes last leaves no WAL */
	hl_rotator_reconcile(&d.rot, &d.id, d.store);
	if ((rc = hl_store_peer_list(d.store, &peers, &npeers)) < 0) {
		snprintf(err, errcap, "cannot read the peers from the store: %s", hl_strerror(rc));
		goto out_store;
	}
	if (listen_fd < 0 && (rc = hl_net_listen(&d.cfg, &listen_fd, err, errcap)) < 0) {
		free(peers);
		goto out_store;
	}
	uv_loop_init(&d.loop);
	rc = hl_net_start(&d.loop, &d.cfg, &d.id, path, peers, npeers, listen_fd, &d.net, err,
	                  errcap);
	listen_fd = -1; /* the net's now */
	free(peers);
	if (rc < 0)
		goto out_loop;
	/* After the listener is up: a station that cannot start says one thing only. */
	{
		char cbpath[HL_PATH_MAX], cberr[HL_CB_ERR_MAX] = "the codebook path is too long";
		char q[HL_CB_ERR_MAX + 8];
		if (hl_config_codebook(&d.cfg, dir, cbpath, sizeof cbpath) < 0 ||
		    hl_codebook_load(cbpath, &d.codebook, cberr, sizeof cberr) < 0)
			log_warn("codebook_unavailable", "err=%s",
			         log_q(q, sizeof q, d.codebook ? "" : cberr));
		else
			log_info("codebook", "hash=%.16s version=\"%s\"", d.codebook->hash_hex,
			         d.codebook->version);
	}
	/* Said once the station can start: one error line is all a failed start prints. */
	log_info("store_checked",
	         "pages=%llu events=%llu wal_frames=%llu wal_ms=%llu quick_check_ms=%llu "
	         "verify_ms=%llu lacking=%llu%s",
	         (unsigned long long)chk.pages, (unsigned long long)chk.events,
	         (unsigned long long)chk.wal_frames, (unsigned long long)chk.wal_ms,
	         (unsigned long long)chk.quick_ms, (unsigned long long)chk.verify_ms,
	         (unsigned long long)chk.lacking, chk.sums ? "" : " page_checksums=0");
	if (chk.converted)
		log_info("store_checksums_added", "ms=%llu", (unsigned long long)chk.convert_ms);
	hl_net_set_codebook(d.net, d.codebook);
	hl_net_set_hooks(d.net, &(struct hl_net_hooks){.job_done = on_job_done,
	                                               .settled = on_settled,
	                                               .received = on_received,
	                                               .link_changed = on_link_changed,
	                                               .link_test = on_link_test,
	                                               .checkpoint = on_checkpoint,
	                                               .codebook = on_codebook,
	                                               .peer_key = on_peer_key,
	                                               .marked = on_marked,
	                                               .disk_failed = on_disk_failed,
	                                               .ctx = &d});
	if ((rc = hl_station_path(dir, HL_F_CTL, path)) < 0 ||
	    (rc = hl_ctl_start(&d.loop, path, on_ctl, &d, &d.ctl, err, errcap)) < 0) {
		if (rc == HL_ERR_LIMIT && !err[0])
			snprintf(err, errcap, "station directory path too long");
		hl_net_stop(d.net);
		d.net = NULL;
		goto out_loop;
	}
	if (d.notify && hl_notify_proc_attach(d.notify, &d.loop) < 0)
		log_error("notify_unavailable", "reason=\"cannot reach the hook's helper\"");
	if (hl_store_unacked(d.store, on_unacked, &d) < 0)
		log_warn("overdue_scan_failed", "%s", "");
	uv_timer_init(&d.loop, &d.due_timer);
	d.due_timer.data = &d;
	uv_timer_start(&d.due_timer, on_due_timer, 1000, 1000);
	uv_timer_init(&d.loop, &d.disk_timer);
	d.disk_timer.data = &d;
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sighup);
	d.sigint.data = d.sigterm.data = d.sighup.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sighup, on_signal, SIGHUP);
	if (d.cfg.console[0] && (rc = start_console(&d, err, errcap)) < 0) {
		stop(&d, "console_failed");
		goto out_loop;
	}
	if (d.cfg.seccomp) {
		unsigned rules;
		char why[256];
		if (hl_sandbox_seccomp(&rules, why, sizeof why) < 0) {
			/* Refuse rather than run unconfined without the operator knowing. */
			snprintf(err, errcap,
			         "%s: set seccomp = off in the config to run without it", why);
			stop(&d, "seccomp");
			rc = HL_ERR_IO;
			goto out_loop;
		}
		log_info("seccomp", "state=on rules=%u", rules);
	} else {
		log_warn("seccomp", "state=off reason=config");
	}
	{
		char pk[HL_PUBSTR_MAX];
		hl_pubkey_encode(&d.id.pub, pk);
		log_info("started", "pid=%d key=%s", (int)getpid(), pk);
	}
	uv_run(&d.loop, UV_RUN_DEFAULT);
	log_info("stopped", "%s", "");
	rc = HL_OK;
	if (d.disk_failed) {
		snprintf(err, errcap,
		         "stopped: the disk failed under the store (an I/O error on write or "
		         "fsync), so messages could no longer be kept; check the disk (dmesg), run "
		         "'hotline -d %s verify', then start the daemon again",
		         dir);
		rc = HL_ERR_DISK;
	}
out_loop:
	uv_run(&d.loop, UV_RUN_DEFAULT); /* let closing handles finish */
	hl_console_free(d.console);
	if (uv_loop_close(&d.loop) != 0)
		log_warn("loop_not_empty", "%s", "");
	if (rc == HL_OK) {
		hl_station_path(dir, HL_F_CTL, path) == HL_OK ? (void)unlink(path) : (void)0;
	}
	hl_overdue_free(&d.due);
	hl_codebook_free(d.codebook);
out_store:
	hl_store_close(d.store);
out_id:
	if (listen_fd >= 0)
		close(listen_fd);
	hl_rotator_free(&d.rot);
	hl_identity_free(&d.offered);
	hl_identity_free(&d.id);
out_lock:
	hl_notify_proc_stop(d.notify);
	hl_notify_proc_free(d.notify); /* waits for a running hook to end */
	close(lockfd);
	return rc;
}
