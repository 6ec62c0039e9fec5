/* SPDX-License-Identifier: ISC */
/*
 * console_api.c: what the console's API answers from the store, on the
 * console's own store connection (console_impl.h): lists, one message, the
 * codebook, the transcript with its verification, and the metrics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>

#include "chanstate.h"
#include "console_impl.h"
#include "content.h"
#include "keys.h"
#include "msgjson.h"
#include "transcript.h"
#include "verify.h"

/* A text body into o's "text", cut at max bytes on a character boundary. */
static void
add_text(json_t *o, const uint8_t *b, size_t len, size_t max)
{
	size_t n = len;

	if (n > max) {
		n = max;
		while (n > 0 && (b[n] & 0xc0) == 0x80)
			n--; /* never half a character */
		json_object_set_new(o, "text_truncated", json_true());
	}
	json_object_set_new(o, "text", json_stringn(n ? (const char *)b : "", n));
}

/* A row for a list: no attachment bytes, text cut short, codebook and parallel texts rendered. */
static json_t *
entry(const struct hl_event_row *r, const struct hl_codebook *cb)
{
	json_t *o = hl_row_json(r, false), *both;

	if (!o)
		return NULL;
	/* a text message's text, or a notice's reason */
	if ((r->ev.kind == HL_EV_MESSAGE && !r->ev.media_type[0]) || r->ev.kind == HL_EV_SUSPEND ||
	    r->ev.kind == HL_EV_RESUME)
		add_text(o, r->ev.body, r->ev.body_len, HL_CAPI_PREVIEW_MAX);
	if ((both = hl_row_rendered(r, cb)))
		json_object_set_new(o, "rendered", both);
	return o;
}

json_t *
hl_capi_list(struct hl_store *st, enum hl_dir dir, bool all, const struct hl_codebook *cb,
             struct hl_api_error *e)
{
	struct hl_event_row *rows;
	size_t n;
	json_t *arr;

	if (hl_store_list(st, dir, all, &rows, &n) < 0) {
		hl_api_fail(e, 500, "internal", NULL, "cannot read the store");
		return NULL;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n && i < HL_CAPI_LIST_MAX; i++)
		json_array_append_new(arr, entry(&rows[i], cb));
	hl_event_rows_free(rows, n);
	return json_pack("{s:b, s:o, s:b}", "ok", 1, "messages", arr, "truncated",
	                 n > HL_CAPI_LIST_MAX);
}

static void
on_history(void *ctx, uint64_t at_ns, const char *state, const char *detail)
{
	json_array_append_new(ctx, json_pack("{s:o, s:s, s:s}", "at", hl_json_time(at_ns), "state",
	                                     state, "detail", detail ? detail : ""));
}

json_t *
hl_capi_message(struct hl_store *st, const char *id, const struct hl_codebook *cb, unsigned lang,
                struct hl_api_error *e)
{
	struct hl_event_row *rows;
	size_t n;
	json_t *o, *hist, *both;

	if (hl_store_find(st, id, &rows, &n) < 0) {
		hl_api_fail(e, 500, "internal", NULL, "cannot read the store");
		return NULL;
	}
	if (n == 0) {
		hl_api_fail(e, 404, "not_found", "id", "no message %s", id);
		return NULL;
	}
	o = hl_row_json(&rows[0], true);
	hist = json_array();
	if (o && hist && hl_store_history(st, rows[0].msg_id, rows[0].dir, on_history, hist) < 0) {
		json_decref(hist);
		hist = NULL;
	}
	if (o) {
		json_object_set_new(o, "history", hist ? hist : json_array());
		if ((both = hl_row_rendered(&rows[0], cb))) {
			json_object_set_new(o, "display",
			                    json_incref(json_object_get(both, hl_lang_name(lang))));
			json_object_set_new(o, "rendered", both);
		}
	}
	hl_event_rows_free(rows, n);
	if (!o) {
		hl_api_fail(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	return json_pack("{s:b, s:o}", "ok", 1, "message", o);
}

static json_t *
text_json(const struct hl_cb_text *t)
{
	return json_pack("{s:s?, s:s?}", "en", t->s[HL_LANG_EN], "zh", t->s[HL_LANG_ZH]);
}

json_t *
hl_capi_codebook(const struct hl_codebook *cb)
{
	json_t *arr;

	if (!cb)
		return json_pack("{s:b, s:n}", "ok", 1, "codebook");
	arr = json_array();
	for (size_t i = 0; arr && i < cb->ntemplates; i++)
		json_array_append_new(arr, hl_cb_template_json(&cb->templates[i]));
	return json_pack("{s:b, s:{s:s, s:s, s:o, s:o}}", "ok", 1, "codebook", "version",
	                 cb->version, "hash", cb->hash_hex, "name", text_json(&cb->name),
	                 "templates", arr);
}

/* ---- transcript ---- */

struct tx {
	const char *q;
	const struct hl_codebook *cb;
	json_t *kept[HL_CAPI_TRANSCRIPT_MAX]; /* a ring of the latest matches */
	uint64_t matched, total;
};

static bool
has(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* Does the event match the search: its id, channel, names, reason, text or rendering? */
static bool
matches(const struct tx *t, const struct hl_event_row *r, const json_t *o)
{
	const json_t *both = json_object_get(o, "rendered");
	bool yes;
	char *body;

	if (!t->q)
		return true;
	if (has(r->msg_id, t->q) || has(r->ev.channel, t->q) || has(r->ev.operator_name, t->q) ||
	    has(r->acked_by, t->q) || has(r->reason, t->q) ||
	    has(json_string_value(json_object_get(both, "en")), t->q) ||
	    has(json_string_value(json_object_get(both, "zh")), t->q))
		return true;
	if (r->ev.media_type[0] || r->ev.kind == HL_EV_ACK || !r->ev.body)
		return false;
	/* Text: the stored bytes are not terminated. */
	if (!(body = malloc((size_t)r->ev.body_len + 1)))
		return false;
	memcpy(body, r->ev.body, r->ev.body_len);
	body[r->ev.body_len] = '\0';
	yes = has(body, t->q);
	free(body);
	return yes;
}

static int
on_event(void *ctx, const struct hl_event_row *r)
{
	struct tx *t = ctx;
	json_t *o = entry(r, t->cb);

	t->total++;
	if (!o)
		return HL_ERR_NOMEM;
	if (r->ev.kind == HL_EV_ACK)
		json_object_set_new(o, "operator", json_string(r->ev.operator_name));
	if (!matches(t, r, o)) {
		json_decref(o);
		return HL_OK;
	}
	json_decref(t->kept[t->matched % HL_CAPI_TRANSCRIPT_MAX]);
	t->kept[t->matched % HL_CAPI_TRANSCRIPT_MAX] = o;
	t->matched++;
	return HL_OK;
}

/* The outcome of the verification, in one line for people. */
static void
verdict(const struct hl_verify_result *r, char *out, size_t cap)
{
	const struct hl_verify_problem *p = r->nfailures ? &r->failures[0] : NULL;
	int n;

	if (p) {
		snprintf(out, cap, "FAILED: %s%s%s%s seq %llu: %s (%llu failure%s)", p->type,
		         p->chain[0] ? ", chain " : "", p->chain, p->seq ? "," : "",
		         (unsigned long long)p->seq, p->what, (unsigned long long)r->nfailures,
		         r->nfailures == 1 ? "" : "s");
		return;
	}
	n = snprintf(out, cap,
	             "verified: %llu events out, %llu in; %llu signed heads; %llu receipts; "
	             "%llu checkpoints, %llu agreed",
	             (unsigned long long)r->out.events, (unsigned long long)r->in.events,
	             (unsigned long long)r->heads, (unsigned long long)r->receipts,
	             (unsigned long long)r->checkpoints, (unsigned long long)r->cp_agreed);
	if (r->nwarnings && n > 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, "; %llu warning%s: %s",
		         (unsigned long long)r->nwarnings, r->nwarnings == 1 ? "" : "s",
		         r->warnings[0].what);
}

json_t *
hl_capi_transcript(struct hl_store *st, const char *peer, const char *q,
                   const uint8_t ours[static 32], const struct hl_codebook *cb,
                   struct hl_api_error *e)
{
	struct hl_verify_result *res = calloc(1, sizeof *res);
	struct tx *t = calloc(1, sizeof *t);
	struct hl_peer_rec p;
	json_t *events = NULL, *o = NULL;
	char detail[2 * HL_VERIFY_WHAT_MAX];
	int rc;

	if (!res || !t) {
		hl_api_fail(e, 500, "internal", NULL, "out of memory");
		goto out;
	}
	t->q = q;
	t->cb = cb;
	if ((rc = hl_store_peer_get(st, peer, &p)) < 0) {
		if (rc == HL_ERR_NOTFOUND)
			hl_api_fail(e, 404, "not_found", "peer", "no peer named %s", peer);
		else
			hl_api_fail(e, 500, "internal", NULL, "cannot read the store");
		goto out;
	}
	if ((rc = hl_store_export_begin(st)) == HL_OK) {
		rc = hl_store_export_timeline(st, p.id, 1, 1, on_event, t);
		hl_store_export_end(st);
	}
	if (rc < 0) {
		hl_api_fail(e, 500, "internal", NULL, "cannot read the record");
		goto out;
	}
	events = json_array();
	{
		uint64_t n =
		    t->matched < HL_CAPI_TRANSCRIPT_MAX ? t->matched : HL_CAPI_TRANSCRIPT_MAX;
		for (uint64_t i = t->matched - n; i < t->matched; i++) {
			json_array_append(events, t->kept[i % HL_CAPI_TRANSCRIPT_MAX]);
		}
	}
	if (hl_verify_store(st, &p, ours, res) < 0) {
		snprintf(detail, sizeof detail, "the verification could not run");
		res->nfailures = res->nfailures ? res->nfailures : 1;
	} else {
		verdict(res, detail, sizeof detail);
	}
	o = json_pack("{s:b, s:s, s:o, s:b, s:s, s:I, s:I, s:b, s:{s:I, s:I, s:I, s:I, s:o}}", "ok",
	              1, "peer", peer, "events", events, "verified", res->nfailures == 0, "detail",
	              detail, "total", (json_int_t)t->total, "matched", (json_int_t)t->matched,
	              "truncated", t->matched > HL_CAPI_TRANSCRIPT_MAX, "verification", "failures",
	              (json_int_t)res->nfailures, "warnings", (json_int_t)res->nwarnings,
	              "checkpoints", (json_int_t)res->checkpoints, "checkpoints_agreed",
	              (json_int_t)res->cp_agreed, "last_agreed", hl_json_time(res->cp_at_ns));
	events = NULL;
	if (!o)
		hl_api_fail(e, 500, "internal", NULL, "out of memory");
out:
	if (t)
		for (size_t i = 0; i < HL_CAPI_TRANSCRIPT_MAX; i++)
			json_decref(t->kept[i]);
	json_decref(events);
	free(t);
	free(res);
	return o;
}

/* ---- metrics (Prometheus text format 0.0.4) ---- */

struct mb {
	char *p;
	size_t len, cap;
	bool oom;
};

static void mb_printf(struct mb *m, const char *fmt, ...) HL_PRINTF(2, 3);

static void
mb_printf(struct mb *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->oom)
		return;
	for (;;) {
		size_t room = m->cap - m->len;
		va_start(ap, fmt);
		n = vsnprintf(m->p ? m->p + m->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			m->oom = true;
			return;
		}
		if ((size_t)n < room) {
			m->len += (size_t)n;
			return;
		}
		size_t ncap = m->cap ? m->cap * 2 : 8192;
		while (ncap < m->len + (size_t)n + 1)
			ncap *= 2;
		char *np = realloc(m->p, ncap);
		if (!np) {
			m->oom = true;
			return;
		}
		m->p = np;
		m->cap = ncap;
	}
}

/* A label value, escaped as the format wants (backslash, quote, newline). */
static const char *
esc(const char *v, char *out, size_t cap)
{
	size_t o = 0;

	for (; v && *v && o + 3 < cap; v++) {
		if (*v == '\\' || *v == '"') {
			out[o++] = '\\';
			out[o++] = *v;
		} else if (*v == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
	return out;
}

static void
family(struct mb *m, const char *name, const char *type, const char *help)
{
	mb_printf(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* An RFC 3339 time of the status JSON as Unix seconds; false when absent. */
static bool
jtime(const json_t *o, const char *key, double *secs)
{
	uint64_t ns;
	const char *s = json_string_value(json_object_get(o, key));

	if (!s || hl_transcript_parse_time(s, &ns) < 0)
		return false;
	*secs = (double)ns / 1e9;
	return true;
}

struct counts {
	uint64_t n[2][6][4], overdue[2][4]; /* [dir][state][precedence] */
};

static void
on_count(void *ctx, int dir, int state, unsigned prec, uint64_t n, uint64_t overdue)
{
	struct counts *k = ctx;

	if (dir < 0 || dir > 1 || state < 0 || state > 5 || prec > 3)
		return;
	k->n[dir][state][prec] += n;
	k->overdue[dir][prec] += overdue;
}

static void
net_metrics(struct mb *m, const json_t *net)
{
	const json_t *peers = json_object_get(net, "peers"), *p, *l, *t;
	static const char *const states[] = {"up", "degraded", "down"};
	char a[200], b[300];
	size_t i, k;
	double v;

	family(m, "hotline_peer_state", "gauge", "1 for the state the link to the peer is in.");
	json_array_foreach(peers, i, p) for (size_t s = 0; s < ARRAY_SIZE(states); s++) mb_printf(
	    m, "hotline_peer_state{peer=\"%s\",state=\"%s\"} %d\n",
	    esc(jstr(p, "name"), a, sizeof a), states[s], strcmp(jstr(p, "state"), states[s]) == 0);
	family(m, "hotline_peer_rtt_seconds", "gauge",
	       "Round-trip time of the peer's link in use (heartbeats).");
	json_array_foreach(peers, i, p) if (json_is_number(json_object_get(p, "rtt_ms"))) mb_printf(
	    m, "hotline_peer_rtt_seconds{peer=\"%s\"} %.6f\n", esc(jstr(p, "name"), a, sizeof a),
	    json_number_value(json_object_get(p, "rtt_ms")) / 1000.0);
	family(m, "hotline_peer_last_contact_timestamp_seconds", "gauge",
	       "When the peer was last heard from (Unix time).");
	json_array_foreach(peers, i, p) if (jtime(p, "last_contact", &v))
	    mb_printf(m, "hotline_peer_last_contact_timestamp_seconds{peer=\"%s\"} %.3f\n",
	              esc(jstr(p, "name"), a, sizeof a), v);
	family(m, "hotline_link_up", "gauge",
	       "1 when the pinned address is up, 0 down or unknown.");
	json_array_foreach(peers, i, p) json_array_foreach(json_object_get(p, "links"), k, l)
	    mb_printf(m, "hotline_link_up{peer=\"%s\",link=\"%s\"} %d\n",
	              esc(jstr(p, "name"), a, sizeof a), esc(jstr(l, "address"), b, sizeof b),
	              strcmp(jstr(l, "state"), "up") == 0);
	family(m, "hotline_link_in_use", "gauge", "1 for the address the session runs over.");
	json_array_foreach(peers, i, p) json_array_foreach(json_object_get(p, "links"), k, l)
	    mb_printf(m, "hotline_link_in_use{peer=\"%s\",link=\"%s\"} %d\n",
	              esc(jstr(p, "name"), a, sizeof a), esc(jstr(l, "address"), b, sizeof b),
	              json_is_true(json_object_get(l, "in_use")));
	family(m, "hotline_link_test_ok", "gauge",
	       "The latest link test of the address: 1 passed, 0 failed (absent: none yet).");
	json_array_foreach(peers, i, p)
	    json_array_foreach(json_object_get(p, "links"), k,
	                       l) if (json_is_object(t = json_object_get(l, "last_test")))
	        mb_printf(m, "hotline_link_test_ok{peer=\"%s\",link=\"%s\"} %d\n",
	                  esc(jstr(p, "name"), a, sizeof a), esc(jstr(l, "address"), b, sizeof b),
	                  json_is_true(json_object_get(t, "ok")));
	family(m, "hotline_link_test_rtt_seconds", "gauge",
	       "Round trip of the latest link test that passed.");
	json_array_foreach(peers, i, p)
	    json_array_foreach(json_object_get(p, "links"), k,
	                       l) if (json_is_object(t = json_object_get(l, "last_test")) &&
	                              json_is_number(json_object_get(t, "rtt_ms")))
	        mb_printf(m, "hotline_link_test_rtt_seconds{peer=\"%s\",link=\"%s\"} %.6f\n",
	                  esc(jstr(p, "name"), a, sizeof a), esc(jstr(l, "address"), b, sizeof b),
	                  json_number_value(json_object_get(t, "rtt_ms")) / 1000.0);
	family(m, "hotline_link_test_timestamp_seconds", "gauge",
	       "When the latest link test of the address was made (Unix time).");
	json_array_foreach(peers, i, p) json_array_foreach(
	    json_object_get(p, "links"), k,
	    l) if (json_is_object(t = json_object_get(l, "last_test")) && jtime(t, "at", &v))
	    mb_printf(m, "hotline_link_test_timestamp_seconds{peer=\"%s\",link=\"%s\"} %.3f\n",
	              esc(jstr(p, "name"), a, sizeof a), esc(jstr(l, "address"), b, sizeof b), v);
	family(m, "hotline_link_tests_total", "counter",
	       "Link tests made since the daemon started, by result.");
	json_array_foreach(json_object_get(net, "link_tests"), i, l)
	{
		mb_printf(m,
		          "hotline_link_tests_total{peer=\"%s\",link=\"%s\",result=\"ok\"} %lld\n",
		          esc(jstr(l, "peer"), a, sizeof a), esc(jstr(l, "link"), b, sizeof b),
		          (long long)json_integer_value(json_object_get(l, "ok")));
		mb_printf(
		    m, "hotline_link_tests_total{peer=\"%s\",link=\"%s\",result=\"failed\"} %lld\n",
		    a, b, (long long)json_integer_value(json_object_get(l, "failed")));
	}
	family(m, "hotline_handshake_failures_total", "counter",
	       "Handshakes that failed since the daemon started, by reason.");
	{
		const char *key;
		json_t *n;
		json_object_foreach(json_object_get(net, "handshake_failures"), key, n)
		    mb_printf(m, "hotline_handshake_failures_total{reason=\"%s\"} %lld\n",
		              esc(key, a, sizeof a), (long long)json_integer_value(n));
	}
}

int
hl_capi_metrics(struct hl_store *st, const char *station, const json_t *net,
                const struct hl_console_counters *cc, const char *store_path, char **text,
                size_t *len)
{
	static const char *const in_states[] = {"unacknowledged", "acknowledged", "refused"};
	static const int in_codes[] = {HL_ST_RECEIVED, HL_ST_ACKED, HL_ST_REFUSED};
	static const char *const refused_status[] = {"400", "401", "403", "404", "429", "other"};
	struct counts *k = calloc(1, sizeof *k);
	struct hl_channel_rec *chans = NULL;
	struct mb m = {0};
	size_t nchans = 0;
	char a[200], b[200], path[4200];
	struct stat sb;
	int rc = HL_OK;

	*text = NULL;
	*len = 0;
	if (!k)
		return HL_ERR_NOMEM;
	family(&m, "hotline_up", "gauge", "1: the station's daemon runs (its console answers).");
	mb_printf(&m, "hotline_up{station=\"%s\"} 1\n", esc(station, a, sizeof a));
	family(&m, "hotline_daemon_answered", "gauge",
	       "1 when the daemon gave its link figures for this scrape, 0 when it did not.");
	mb_printf(&m, "hotline_daemon_answered %d\n", net != NULL);
	if (net)
		net_metrics(&m, net);

	if (hl_store_channel_list(st, NULL, &chans, &nchans) == HL_OK) {
		family(&m, "hotline_channel_suspended", "gauge",
		       "1 when either side has suspended the channel (a decision, signed).");
		for (size_t i = 0; i < nchans; i++)
			mb_printf(&m, "hotline_channel_suspended{peer=\"%s\",channel=\"%s\"} %d\n",
			          esc(chans[i].peer, a, sizeof a), esc(chans[i].name, b, sizeof b),
			          chans[i].by_us.active || chans[i].by_peer.active);
	} else {
		rc = HL_ERR_IO;
	}
	free(chans);
	if (hl_store_message_counts(st, hl_wall_ns(), on_count, k) == HL_OK) {
		family(&m, "hotline_messages", "gauge",
		       "Messages on record by direction, state and precedence.");
		for (unsigned p = 0; p < 4; p++)
			for (int s = HL_ST_QUEUED; s <= HL_ST_REFUSED; s++)
				mb_printf(&m,
				          "hotline_messages{direction=\"out\",state=\"%s\","
				          "precedence=\"%s\"} %llu\n",
				          hl_state_name(s), hl_prec_name(p),
				          (unsigned long long)k->n[0][s][p]);
		for (unsigned p = 0; p < 4; p++)
			for (size_t s = 0; s < ARRAY_SIZE(in_states); s++)
				mb_printf(&m,
				          "hotline_messages{direction=\"in\",state=\"%s\","
				          "precedence=\"%s\"} %llu\n",
				          in_states[s], hl_prec_name(p),
				          (unsigned long long)k->n[1][in_codes[s]][p]);
		family(&m, "hotline_messages_overdue", "gauge",
		       "Messages past their acknowledgment deadline and not acknowledged.");
		for (int d = 0; d < 2; d++)
			for (unsigned p = 0; p < 4; p++)
				mb_printf(
				    &m,
				    "hotline_messages_overdue{direction=\"%s\",precedence=\"%s\"} "
				    "%llu\n",
				    d ? "in" : "out", hl_prec_name(p),
				    (unsigned long long)k->overdue[d][p]);
	} else {
		rc = HL_ERR_IO;
	}
	free(k);
	family(&m, "hotline_store_bytes", "gauge", "Size of the store's files.");
	mb_printf(&m, "hotline_store_bytes{file=\"db\"} %lld\n",
	          stat(store_path, &sb) == 0 ? (long long)sb.st_size : 0LL);
	snprintf(path, sizeof path, "%s-wal", store_path);
	mb_printf(&m, "hotline_store_bytes{file=\"wal\"} %lld\n",
	          stat(path, &sb) == 0 ? (long long)sb.st_size : 0LL);
	family(&m, "hotline_console_sessions", "gauge", "Operators signed in to the console.");
	mb_printf(&m, "hotline_console_sessions %llu\n", (unsigned long long)cc->sessions);
	family(&m, "hotline_console_logins_total", "counter",
	       "Sign-ins to the console since the daemon started, by result.");
	mb_printf(&m, "hotline_console_logins_total{result=\"ok\"} %llu\n",
	          (unsigned long long)cc->logins_ok);
	mb_printf(&m, "hotline_console_logins_total{result=\"failed\"} %llu\n",
	          (unsigned long long)cc->logins_failed);
	mb_printf(&m, "hotline_console_logins_total{result=\"rate_limited\"} %llu\n",
	          (unsigned long long)cc->logins_limited);
	family(&m, "hotline_console_refused_total", "counter",
	       "Console requests refused since the daemon started, by HTTP status.");
	for (size_t i = 0; i < ARRAY_SIZE(refused_status); i++)
		mb_printf(&m, "hotline_console_refused_total{status=\"%s\"} %llu\n",
		          refused_status[i], (unsigned long long)cc->refused[i]);
	if (m.oom || rc < 0) {
		free(m.p);
		return m.oom ? HL_ERR_NOMEM : rc;
	}
	*text = m.p;
	*len = m.len;
	return HL_OK;
}

/* ---- peers (admin) ---- */

json_t *
hl_capi_peers(struct hl_store *st, struct hl_api_error *e)
{
	struct hl_peer_rec *peers = NULL;
	size_t n = 0;
	json_t *arr;
	int rc = HL_OK;

	if (hl_store_peer_list(st, &peers, &n) < 0) {
		hl_api_fail(e, 500, "internal", NULL, "cannot read the peers");
		return NULL;
	}
	arr = json_array();
	for (size_t i = 0; arr && rc == HL_OK && i < n; i++) {
		const struct hl_peer_rec *p = &peers[i];
		struct hl_channel_rec *ch = NULL;
		size_t nch = 0;
		char pk[HL_PUBSTR_MAX], hex[65];
		json_t *links = json_array(), *chans = json_array(), *retired = json_array();

		hl_pubkey_encode(&p->key, pk);
		for (size_t k = 0; k < p->nlinks; k++)
			json_array_append_new(links, json_string(p->links[k]));
		/* Former keys by their X25519 half, as the log names them. */
		for (size_t k = 0; k < p->nretired; k++) {
			sodium_bin2hex(hex, sizeof hex, p->retired_x25519[k], 32);
			json_array_append_new(retired, json_string(hex));
		}
		if ((rc = hl_store_channel_list(st, p->name, &ch, &nch)) == HL_OK)
			for (size_t k = 0; k < nch; k++)
				json_array_append_new(
				    chans, json_pack("{s:s, s:b, s:o}", "name", ch[k].name,
				                     "no_suspend", ch[k].no_suspend, "created",
				                     hl_json_time(ch[k].created_ns)));
		free(ch);
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:o, s:o}", "name", p->name,
		                   "key", pk, "added", hl_json_time(p->added_ns), "links", links,
		                   "keys", hl_peer_keys_json(p), "revoked", p->revoked_ns != 0,
		                   "retired", retired, "channels", chans));
	}
	free(peers);
	if (rc < 0 || !arr) {
		json_decref(arr);
		hl_api_fail(e, 500, "internal", NULL, "cannot read the channels");
		return NULL;
	}
	return json_pack("{s:b, s:o}", "ok", 1, "peers", arr);
}

/* ---- talks (docs/talks.md, "JSON") ---- */

/* The date a talks is planned by: its dates now, else those first proposed. */
static const char *
talks_from(const json_t *o)
{
	const json_t *d = json_object_get(o, "dates");

	if (!json_is_object(d))
		d = json_object_get(o, "proposed_dates");
	return jstr(d, "from");
}

static int
by_date(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(talks_from(x), talks_from(y));

	return c ? c : strcmp(jstr(x, "id"), jstr(y, "id"));
}

/*
 * Every talks with every peer (on the line, and imported from the public
 * record) as `talks list --json` gives them; want: only the one with this
 * id (then the first match is returned alone, *ambiguous when two match).
 */
static json_t *
talks_all(struct hl_store *st, const char *self, const char *want, bool *ambiguous,
          struct hl_api_error *e)
{
	struct hl_peer_rec *peers = NULL;
	size_t n = 0;
	json_t *arr = json_array();
	int rc;

	*ambiguous = false;
	if (!arr || (rc = hl_store_peer_list(st, &peers, &n)) < 0) {
		json_decref(arr);
		hl_api_fail(e, 500, "internal", NULL, "cannot read the peers");
		return NULL;
	}
	for (size_t i = 0; rc == HL_OK && i < n; i++) {
		const char *names[2] = {self, peers[i].name};
		struct hl_talks_reg reg;
		json_t *imp = NULL;
		bool amb = false;

		if ((rc = hl_store_talks_load(st, peers[i].id, &reg)) < 0 ||
		    (rc = hl_store_talks_imported(st, peers[i].id, &imp)) < 0) {
			hl_talks_reg_free(&reg);
			break;
		}
		if (want && strlen(want) >= HL_MSGID_LEN &&
		    strspn(want, "0123456789abcdef") == strlen(want)) {
			struct hl_talks *t = hl_talks_find(&reg, want, &amb);
			if (t)
				json_array_append_new(arr, hl_talks_json(t, names));
			*ambiguous |= amb;
		}
		for (size_t k = 0; !want && k < reg.ntalks; k++)
			json_array_append_new(arr, hl_talks_json(&reg.talks[k], names));
		for (size_t k = 0; k < json_array_size(imp); k++) {
			json_t *x = json_array_get(imp, k), *rec = json_object_get(x, "record"), *o;
			if (want && strcmp(jstr(rec, "id"), want) != 0)
				continue;
			if ((o = hl_talks_imported_json(rec, names)))
				json_object_set_new(json_object_get(o, "local"), "imported_at",
				                    hl_json_time((uint64_t)json_integer_value(
				                        json_object_get(x, "imported_ns"))));
			json_array_append_new(arr, o);
		}
		hl_talks_reg_free(&reg);
		json_decref(imp);
	}
	free(peers);
	if (rc < 0) {
		json_decref(arr);
		hl_api_fail(e, 500, "internal", NULL, "cannot read the talks");
		return NULL;
	}
	return arr;
}

json_t *
hl_capi_talks_list(struct hl_store *st, const char *self, struct hl_api_error *e)
{
	bool amb;
	json_t *arr = talks_all(st, self, NULL, &amb, e), *out, **v;
	size_t n = json_array_size(arr);
	char today[32];

	if (!arr)
		return NULL;
	if (!(v = calloc(n + 1, sizeof(json_t *))) || !(out = json_array())) {
		free(v);
		json_decref(arr);
		hl_api_fail(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(json_t *), by_date);
	for (size_t i = 0; i < n; i++) {
		/* A list: the readouts' texts and the history are in /api/talks/show. */
		json_t *o = json_deep_copy(v[i]), *ro = json_object_get(v[i], "readouts"),
		       *versions;
		const char *side;
		json_t *list;
		if (!o)
			continue;
		versions = json_object();
		json_object_foreach(ro, side, list) json_object_set_new(
		    versions, side, json_integer((json_int_t)json_array_size(list)));
		json_object_del(o, "readouts");
		json_object_del(o, "history");
		json_object_set_new(o, "readout_versions", versions);
		json_array_append_new(out, o);
	}
	free(v);
	json_decref(arr);
	hl_iso_time(hl_wall_ns(), today);
	today[HL_TALKS_DATE_LEN] = '\0';
	return json_pack("{s:b, s:s, s:o}", "ok", 1, "today", today, "talks", out);
}

json_t *
hl_capi_talks_show(struct hl_store *st, const char *self, const char *id, struct hl_api_error *e)
{
	bool amb;
	json_t *arr = talks_all(st, self, id, &amb, e), *o;

	if (!arr)
		return NULL;
	if (amb || json_array_size(arr) > 1) {
		json_decref(arr);
		hl_api_fail(e, 404, "not_found", "id", "talks id %s is ambiguous: give more of it",
		            id);
		return NULL;
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		hl_api_fail(e, 404, "not_found", "id", "no talks %s", id);
		return NULL;
	}
	o = json_pack("{s:b, s:O}", "ok", 1, "talks", json_array_get(arr, 0));
	json_decref(arr);
	return o;
}
