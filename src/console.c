/* SPDX-License-Identifier: ISC */
/*
 * console.c: the web console's server; see console.h and docs/console.md.
 *
 * Threads. libmicrohttpd runs one thread per connection (at most
 * CONN_MAX): a handler may wait (on the store, on Argon2id, on the loop)
 * without holding anyone else up, and a Server-Sent Events stream is a
 * thread blocked on the event condition. One mutex (mu) guards every
 * shared thing here: sessions, failed logins, the event ring, the queue to
 * the loop, the store connections kept for reuse, the counters. It is never
 * held across a store call, a password hash or a write to a socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <microhttpd.h>
#include <sodium.h>

#include "console.h"
#include "chanstate.h"
#include "console_impl.h"
#include "log.h"
#include "operators.h"
#include "station.h"
#include "util.h"

/* The pages, built in by scripts/embed.py from web/ (meson.build). */
extern const unsigned char hl_web_index_html[], hl_web_app_js[], hl_web_app_css[];
extern const size_t hl_web_index_html_len, hl_web_app_js_len, hl_web_app_css_len;

#define CONN_MAX 64           /* connections at once (each a thread) */
#define SESSIONS_MAX 64       /* signed-in sessions at once; the least recently used goes */
#define STRIKES_MAX 256       /* names and addresses with failed logins remembered */
#define NAME_STRIKES 5        /* failed logins for one name before it is locked out */
#define ADDR_STRIKES 20       /* ... and for one client address */
#define LOCK_MIN_MS 2000u     /* the first lock-out; each failure after it doubles it */
#define LOCK_MAX_MS 900000u   /* the longest lock-out: 15 minutes */
#define RING 256              /* events kept for the streams */
#define PING_MS 15000u        /* a comment line on a quiet stream */
#define LOOP_TIMEOUT_MS 30000 /* the daemon answers within this, or the request fails */
#define POOL_MAX 8            /* store connections kept for reuse */

/* A control request for the loop thread, and its answer. */
struct loop_req {
	struct hl_console *c;
	json_t *req, *resp;
	struct hl_ctl_client *client; /* while the loop holds it */
	bool done, abandoned;
	struct loop_req *next, *prev;
};

struct session {
	bool used;
	uint8_t token[HL_CONSOLE_TOKEN_LEN];
	char csrf[HL_CONSOLE_TOKEN_TEXT];
	char name[HL_OPERATOR_MAX + 1];
	unsigned role, language;
	uint64_t generation;
	uint64_t last_ms; /* the last request that counts as use */
};

/* Failed logins of one name ("n:NAME") or one client address ("a:ADDR"). */
struct strike {
	char key[HL_OPERATOR_MAX + 8];
	unsigned fails;
	uint64_t until_ms, last_ms;
};

struct hl_console {
	char station[HL_NAME_MAX + 1];
	char cookie[HL_NAME_MAX + 16]; /* hl_session_STATION */
	char host[HL_ADDR_MAX];
	uint16_t port;
	uint32_t idle_s;
	unsigned pwcost, language;
	uint32_t max_bytes;
	char store_path[HL_PATH_MAX];
	const struct hl_codebook *cb;
	uint8_t ed25519[32];
	hl_ctl_handler *handler;
	void *ctx;

	struct MHD_Daemon *mhd;
	uv_async_t async;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* answers from the loop, new events, stopping */
	bool stopping;
	struct loop_req *queue, **queue_tail, *inflight;
	struct session sessions[SESSIONS_MAX];
	struct strike strikes[STRIKES_MAX];
	struct {
		char *text;
		size_t len;
	} ring[RING];
	uint64_t next_seq;
	struct hl_store *pool[POOL_MAX];
	size_t npool;
	struct hl_console_counters counters;
	char mhd_err[256];

	pthread_mutex_t hash_mu; /* one Argon2id at a time: bounds memory and CPU */
	char dummy_hash[HL_PWHASH_MAX];
	bool have_dummy;
};

/* ---- small helpers ---- */

static uint64_t
now_ms(void)
{
	return hl_now_ms();
}

static void
cond_wait_until(struct hl_console *c, uint64_t deadline_ms)
{
	struct timespec ts;
	uint64_t now = now_ms();
	uint64_t wait = deadline_ms > now ? deadline_ms - now : 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(wait / 1000);
	ts.tv_nsec += (long)(wait % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

static void
client_addr(struct MHD_Connection *conn, char out[static 64])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, 64, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          64);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          out, 64);
}

/* ---- store connections: the console's own, one per thread at a time ---- */

static struct hl_store *
store_take(struct hl_console *c, struct hl_api_error *e)
{
	struct hl_store *st = NULL;
	char err[512];

	pthread_mutex_lock(&c->mu);
	if (c->npool)
		st = c->pool[--c->npool];
	pthread_mutex_unlock(&c->mu);
	if (st)
		return st;
	if (hl_store_open(c->store_path, false, &st, err, sizeof err) < 0) {
		char q[600];
		log_error("console_store_failed", "err=%s", log_q(q, sizeof q, err));
		hl_api_fail(e, 500, "internal", NULL, "cannot read the store");
		return NULL;
	}
	return st;
}

static void
store_give(struct hl_console *c, struct hl_store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->npool < POOL_MAX && !c->stopping) {
		c->pool[c->npool++] = st;
		st = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	hl_store_close(st);
}

/* ---- the loop: control requests answered by the station's handler ---- */

/* Loop thread: the handler answered (now, or later once a store job is done). */
static void
on_answer(void *arg, json_t *resp)
{
	struct loop_req *lr = arg;
	struct hl_console *c = lr->c;

	pthread_mutex_lock(&c->mu);
	if (lr->prev)
		lr->prev->next = lr->next;
	else if (c->inflight == lr)
		c->inflight = lr->next;
	if (lr->next)
		lr->next->prev = lr->prev;
	lr->next = lr->prev = NULL;
	lr->client = NULL; /* ctl frees it after this */
	if (lr->abandoned) {
		pthread_mutex_unlock(&c->mu);
		json_decref(resp);
		free(lr);
		return;
	}
	lr->resp = resp;
	lr->done = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void
on_async(uv_async_t *a)
{
	struct hl_console *c = a->data;
	struct loop_req *list, *next;

	pthread_mutex_lock(&c->mu);
	list = c->queue;
	c->queue = NULL;
	c->queue_tail = &c->queue;
	pthread_mutex_unlock(&c->mu);
	for (struct loop_req *lr = list; lr; lr = next) {
		json_t *req = lr->req, *resp;
		struct hl_ctl_client *cl;
		const char *cmd = json_string_value(json_object_get(req, "cmd"));

		next = lr->next;
		lr->req = NULL;
		pthread_mutex_lock(&c->mu);
		lr->prev = NULL;
		lr->next = c->inflight;
		if (c->inflight)
			c->inflight->prev = lr;
		c->inflight = lr;
		cl = lr->client = hl_ctl_local_new(on_answer, lr);
		pthread_mutex_unlock(&c->mu);
		if (!cl) {
			json_decref(req);
			/* No client to answer through: answer as ctl would, by hand. */
			on_answer(lr, json_pack("{s:b, s:s, s:s}", "ok", 0, "code", "nomem",
			                        "error", "out of memory"));
			continue;
		}
		/* lr may be answered (and freed) inside the handler: only cl from here on. */
		resp = c->handler(c->ctx, cmd ? cmd : "", req, cl);
		json_decref(req);
		if (resp)
			hl_ctl_reply(cl, resp);
	}
}

/*
 * Ask the loop (takes req); the answer, or NULL with e set when the daemon
 * is stopping or did not answer in time (then what was asked may still
 * happen: the caller says so).
 */
static json_t *
loop_call(struct hl_console *c, json_t *req, int timeout_ms, struct hl_api_error *e)
{
	struct loop_req *lr = calloc(1, sizeof *lr);
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	json_t *resp = NULL;

	if (!lr || !req) {
		free(lr);
		json_decref(req);
		hl_api_fail(e, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	lr->c = c;
	lr->req = req;
	pthread_mutex_lock(&c->mu);
	if (c->stopping) {
		pthread_mutex_unlock(&c->mu);
		json_decref(req);
		free(lr);
		hl_api_fail(e, 503, "unavailable", NULL, "the station is stopping");
		return NULL;
	}
	*c->queue_tail = lr;
	c->queue_tail = &lr->next;
	uv_async_send(&c->async);
	while (!lr->done && !c->stopping && now_ms() < deadline)
		cond_wait_until(c, deadline);
	if (lr->done) {
		resp = lr->resp;
		pthread_mutex_unlock(&c->mu);
		free(lr);
		return resp;
	}
	lr->abandoned = true; /* whoever holds it last frees it: the loop, or hl_console_free */
	pthread_mutex_unlock(&c->mu);
	if (c->stopping)
		hl_api_fail(e, 503, "unavailable", NULL, "the station is stopping");
	else
		hl_api_fail(e, 504, "timeout", NULL,
		            "the station did not answer in time: it may still do it, look again");
	return NULL;
}

/* ---- live events (Server-Sent Events) ---- */

void
hl_console_event(struct hl_console *c, const char *event, json_t *data)
{
	char *json, *text;
	size_t len;

	if (!c || !data) {
		json_decref(data);
		return;
	}
	json = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!json)
		return;
	len = strlen("event: ") + strlen(event) + strlen("\ndata: ") + strlen(json) + 2;
	text = malloc(len + 1);
	if (text)
		snprintf(text, len + 1, "event: %s\ndata: %s\n\n", event, json);
	free(json);
	if (!text)
		return;
	pthread_mutex_lock(&c->mu);
	free(c->ring[c->next_seq % RING].text);
	c->ring[c->next_seq % RING].text = text;
	c->ring[c->next_seq % RING].len = len;
	c->next_seq++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

struct stream {
	struct hl_console *c;
	uint8_t token[HL_CONSOLE_TOKEN_LEN]; /* the session it serves: it ends with it */
	uint64_t next;                       /* the next event's seq */
	uint64_t last_write_ms;
	char *pending; /* text not yet handed to MHD */
	size_t plen, poff;
	bool owned; /* pending is malloc'd */
};

static bool session_alive_locked(struct hl_console *c, const uint8_t *token);

/* Copy what is pending into buf. */
static ssize_t
stream_copy(struct stream *s, char *buf, size_t max)
{
	size_t n = s->plen - s->poff < max ? s->plen - s->poff : max;

	memcpy(buf, s->pending + s->poff, n);
	s->poff += n;
	if (s->poff == s->plen) {
		if (s->owned)
			free(s->pending);
		s->pending = NULL;
		s->owned = false;
	}
	s->last_write_ms = now_ms();
	return (ssize_t)n;
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	struct hl_console *c = s->c;
	static char status_event[] = "event: status\ndata: {}\n\n";
	static char ping[] = ": ping\n\n";

	(void)pos;
	if (s->pending)
		return stream_copy(s, buf, max);
	pthread_mutex_lock(&c->mu);
	for (;;) {
		uint64_t oldest = c->next_seq > RING ? c->next_seq - RING : 0;
		if (c->stopping || !session_alive_locked(c, s->token)) {
			pthread_mutex_unlock(&c->mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (s->next < oldest) { /* it fell behind: tell it to reload everything */
			s->next = c->next_seq;
			s->pending = status_event;
			s->plen = strlen(status_event);
			s->owned = false;
			break;
		}
		if (s->next < c->next_seq) {
			size_t len = c->ring[s->next % RING].len;
			char *copy = malloc(len);
			if (copy) {
				memcpy(copy, c->ring[s->next % RING].text, len);
				s->pending = copy;
				s->plen = len;
				s->owned = true;
			}
			s->next++;
			if (copy)
				break;
			continue;
		}
		if (now_ms() >= s->last_write_ms + PING_MS) {
			s->pending = ping;
			s->plen = strlen(ping);
			s->owned = false;
			break;
		}
		cond_wait_until(c, s->last_write_ms + PING_MS);
	}
	pthread_mutex_unlock(&c->mu);
	s->poff = 0;
	return stream_copy(s, buf, max);
}

static void
stream_free(void *cls)
{
	struct stream *s = cls;

	if (s->owned)
		free(s->pending);
	free(s);
}

/* ---- sessions and failed logins (all with mu held) ---- */

static bool
expired(const struct hl_console *c, const struct session *s, uint64_t now)
{
	return now - s->last_ms > (uint64_t)c->idle_s * 1000u;
}

/* The live session with this token, or NULL; expired ones are cleared on the way. */
static struct session *
session_find_locked(struct hl_console *c, const uint8_t *token)
{
	struct session *found = NULL;
	uint64_t now = now_ms();

	for (size_t i = 0; i < SESSIONS_MAX; i++) {
		struct session *s = &c->sessions[i];
		if (!s->used)
			continue;
		if (expired(c, s, now)) {
			log_info("console_session_expired", "operator=\"%s\"", s->name);
			sodium_memzero(s, sizeof *s);
			continue;
		}
		/* Every slot compared, in constant time: no timing says how far a guess got. */
		if (sodium_memcmp(s->token, token, HL_CONSOLE_TOKEN_LEN) == 0)
			found = s;
	}
	return found;
}

static bool
session_alive_locked(struct hl_console *c, const uint8_t *token)
{
	return session_find_locked(c, token) != NULL;
}

static void
session_drop(struct hl_console *c, const uint8_t *token)
{
	struct session *s;

	pthread_mutex_lock(&c->mu);
	if ((s = session_find_locked(c, token)))
		sodium_memzero(s, sizeof *s);
	pthread_cond_broadcast(&c->cv); /* its streams end */
	pthread_mutex_unlock(&c->mu);
}

static struct strike *
strike_find_locked(struct hl_console *c, const char *key, bool make)
{
	struct strike *free_slot = NULL, *oldest = NULL;
	uint64_t now = now_ms();

	for (size_t i = 0; i < STRIKES_MAX; i++) {
		struct strike *s = &c->strikes[i];
		if (s->key[0] && strcmp(s->key, key) == 0)
			return s;
		if (!s->key[0] && !free_slot)
			free_slot = s;
		else if (s->key[0] && s->until_ms <= now &&
		         (!oldest || s->last_ms < oldest->last_ms))
			oldest = s; /* only one not locked out now may be forgotten */
	}
	if (!make)
		return NULL;
	if (!free_slot)
		free_slot = oldest;
	if (free_slot) {
		memset(free_slot, 0, sizeof *free_slot);
		snprintf(free_slot->key, sizeof free_slot->key, "%s", key);
	}
	return free_slot;
}

/* Milliseconds until key may try again (0: now). */
static uint64_t
strike_wait_locked(struct hl_console *c, const char *key)
{
	struct strike *s = strike_find_locked(c, key, false);
	uint64_t now = now_ms();

	return s && s->until_ms > now ? s->until_ms - now : 0;
}

/* One more failure: past `free_tries`, a lock-out that doubles each time (exponential). */
static void
strike_add_locked(struct hl_console *c, const char *key, unsigned free_tries)
{
	struct strike *s = strike_find_locked(c, key, true);
	uint64_t now = now_ms(), lock;

	if (!s)
		return;
	s->fails++;
	s->last_ms = now;
	if (s->fails >= free_tries) {
		unsigned k = s->fails - free_tries;
		lock = k >= 10 ? LOCK_MAX_MS : LOCK_MIN_MS << k;
		s->until_ms = now + (lock < LOCK_MAX_MS ? lock : LOCK_MAX_MS);
	}
}

static void
strike_clear_locked(struct hl_console *c, const char *key)
{
	struct strike *s = strike_find_locked(c, key, false);

	if (s)
		memset(s, 0, sizeof *s);
}

/* ---- responses ---- */

struct req {
	char *body;
	size_t len, cap;
	bool too_large;
	bool answered; /* a response is queued already (an early refusal) */
};

static void
common_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(r, "Content-Security-Policy",
	                        "default-src 'self'; script-src 'self'; style-src 'self'; "
	                        "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
	                        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
}

static enum MHD_Result
send_text(struct MHD_Connection *conn, unsigned status, const char *ctype, char *text, size_t len,
          enum MHD_ResponseMemoryMode mode, const char *cookie, const char *retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, mode);
	enum MHD_Result ok;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	common_headers(r);
	if (cookie)
		MHD_add_response_header(r, "Set-Cookie", cookie);
	if (retry_after)
		MHD_add_response_header(r, "Retry-After", retry_after);
	ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

/* A JSON answer (takes body). */
static enum MHD_Result
send_json(struct MHD_Connection *conn, unsigned status, json_t *body, const char *cookie,
          const char *retry_after)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (!text) {
		static char oom[] =
		    "{\"ok\":false,\"error\":\"internal\",\"message\":\"out of memory\"}";
		return send_text(conn, 500, "application/json; charset=utf-8", oom, strlen(oom),
		                 MHD_RESPMEM_PERSISTENT, NULL, NULL);
	}
	return send_text(conn, status, "application/json; charset=utf-8", text, strlen(text),
	                 MHD_RESPMEM_MUST_FREE, cookie, retry_after);
}

static json_t *
ok_json(void)
{
	return json_pack("{s:b}", "ok", 1);
}

/* Refuse: log it (every refusal is logged), count it, answer with the error object. */
static enum MHD_Result
refuse(struct hl_console *c, struct MHD_Connection *conn, const char *method, const char *url,
       const char *who, const struct hl_api_error *e, const char *retry_after)
{
	char addr[64], qmeth[40], qpath[160], qwho[160], qmsg[300];
	json_t *o;
	size_t k;

	client_addr(conn, addr);
	log_warn("console_refused",
	         "status=%d error=%s method=%s path=%s remote=%s operator=%s message=%s", e->status,
	         e->code, log_q(qmeth, sizeof qmeth, method), log_q(qpath, sizeof qpath, url), addr,
	         log_q(qwho, sizeof qwho, who && *who ? who : "-"),
	         log_q(qmsg, sizeof qmsg, e->message));
	k = e->status == 400   ? 0
	    : e->status == 401 ? 1
	    : e->status == 403 ? 2
	    : e->status == 404 ? 3
	    : e->status == 429 ? 4
	                       : 5;
	pthread_mutex_lock(&c->mu);
	c->counters.refused[k]++;
	pthread_mutex_unlock(&c->mu);
	o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", e->code, "message", e->message);
	if (o && e->field[0])
		json_object_set_new(o, "field", json_string(e->field));
	return send_json(conn, (unsigned)e->status, o, NULL, retry_after);
}

/* ---- who is asking ---- */

struct who {
	uint8_t token[HL_CONSOLE_TOKEN_LEN];
	char name[HL_OPERATOR_MAX + 1];
	char csrf[HL_CONSOLE_TOKEN_TEXT];
	unsigned role, language;
};

/*
 * The session the request's cookie names, checked against the operator's
 * record: a removed operator, or one whose password changed, has no
 * session any more. touch: the request counts as use (not a live stream).
 */
static int
authenticate(struct hl_console *c, struct MHD_Connection *conn, bool touch, struct who *w,
             struct hl_api_error *e)
{
	const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, c->cookie);
	struct hl_operator op;
	struct hl_store *st;
	struct session *s;
	uint64_t generation = 0;
	int rc;

	memset(w, 0, sizeof *w);
	if (!cookie || hl_console_token_decode(cookie, w->token) < 0)
		return hl_api_fail(e, 401, "unauthorized", NULL, "sign in first");
	pthread_mutex_lock(&c->mu);
	s = session_find_locked(c, w->token);
	if (s) {
		snprintf(w->name, sizeof w->name, "%s", s->name);
		memcpy(w->csrf, s->csrf, sizeof w->csrf);
		generation = s->generation;
	}
	pthread_mutex_unlock(&c->mu);
	if (!s)
		return hl_api_fail(e, 401, "unauthorized", NULL,
		                   "no such session (it ended, or was never made here): sign in");
	if (!(st = store_take(c, e)))
		return HL_ERR_IO;
	rc = hl_operator_get(st, w->name, &op);
	store_give(c, st);
	sodium_memzero(op.pwhash, sizeof op.pwhash);
	if (rc == HL_OK && op.generation != generation)
		rc = HL_ERR_AUTH;
	if (rc == HL_ERR_NOTFOUND || rc == HL_ERR_AUTH) {
		session_drop(c, w->token);
		log_info("console_session_ended", "operator=\"%s\" reason=%s", w->name,
		         rc == HL_ERR_AUTH ? "password_changed" : "operator_removed");
		return hl_api_fail(e, 401, "unauthorized", NULL,
		                   "the session ended: the operator was removed or its password "
		                   "changed");
	}
	if (rc < 0)
		return hl_api_fail(e, 500, "internal", NULL, "cannot read the operators");
	w->role = op.role;
	w->language = op.language;
	pthread_mutex_lock(&c->mu);
	if ((s = session_find_locked(c, w->token))) {
		s->role = op.role;
		s->language = op.language;
		if (touch)
			s->last_ms = now_ms();
	}
	pthread_mutex_unlock(&c->mu);
	return s ? HL_OK : hl_api_fail(e, 401, "unauthorized", NULL, "the session ended");
}

static json_t *
me_json(const struct hl_console *c, const struct who *w)
{
	return json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "ok", 1, "operator", w->name, "role",
	                 hl_role_name(w->role), "language", hl_lang_name(w->language), "csrf",
	                 w->csrf, "station", c->station);
}

/* ---- the endpoints ---- */

static const char *
dummy_hash(struct hl_console *c)
{
	/* hash_mu held: the hash that unknown names are checked against, so they take as long. */
	if (!c->have_dummy) {
		uint8_t pw[16];
		randombytes_buf(pw, sizeof pw);
		c->have_dummy = hl_operator_hash((const char *)pw, sizeof pw, c->pwcost,
		                                 c->dummy_hash) == HL_OK;
	}
	return c->have_dummy ? c->dummy_hash : NULL;
}

static enum MHD_Result
api_login(struct hl_console *c, struct MHD_Connection *conn, const char *url, json_t *body)
{
	struct hl_api_error e = {0};
	const char *name, *pw;
	char addr[64], kname[HL_OPERATOR_MAX + 8], kaddr[72], cookie[256], retry[32];
	struct hl_operator op;
	struct hl_store *st;
	struct who w;
	uint64_t wait;
	size_t pwlen;
	enum MHD_Result sent;
	int rc;

	if (hl_console_login_parse(body, &name, &pw, &pwlen, &e) < 0)
		return refuse(c, conn, "POST", url, NULL, &e, NULL);
	client_addr(conn, addr);
	snprintf(kname, sizeof kname, "n:%s", name);
	snprintf(kaddr, sizeof kaddr, "a:%s", addr);
	pthread_mutex_lock(&c->mu);
	wait = strike_wait_locked(c, kname);
	if (strike_wait_locked(c, kaddr) > wait)
		wait = strike_wait_locked(c, kaddr);
	if (wait)
		c->counters.logins_limited++;
	pthread_mutex_unlock(&c->mu);
	if (wait) {
		snprintf(retry, sizeof retry, "%llu", (unsigned long long)(wait + 999) / 1000);
		hl_api_fail(&e, 429, "rate_limited", NULL,
		            "too many failed sign-ins: try again in %s s", retry);
		return refuse(c, conn, "POST", url, name, &e, retry);
	}
	if (!(st = store_take(c, &e)))
		return refuse(c, conn, "POST", url, name, &e, NULL);
	rc = hl_operator_get(st, name, &op);
	store_give(c, st);
	if (rc < 0 && rc != HL_ERR_NOTFOUND) {
		hl_api_fail(&e, 500, "internal", NULL, "cannot read the operators");
		return refuse(c, conn, "POST", url, name, &e, NULL);
	}
	pthread_mutex_lock(&c->hash_mu);
	{
		const char *h = rc == HL_OK ? op.pwhash : dummy_hash(c);
		bool good = h && hl_operator_verify(h, pw, pwlen) == HL_OK && rc == HL_OK;
		rc = good ? HL_OK : HL_ERR_AUTH;
	}
	pthread_mutex_unlock(&c->hash_mu);
	sodium_memzero(op.pwhash, sizeof op.pwhash);
	pthread_mutex_lock(&c->mu);
	if (rc < 0) {
		strike_add_locked(c, kname, NAME_STRIKES);
		strike_add_locked(c, kaddr, ADDR_STRIKES);
		c->counters.logins_failed++;
	} else {
		strike_clear_locked(c, kname);
		strike_clear_locked(c, kaddr);
		c->counters.logins_ok++;
	}
	pthread_mutex_unlock(&c->mu);
	if (rc < 0) {
		hl_api_fail(&e, 401, "bad_login", NULL, "wrong name or password");
		return refuse(c, conn, "POST", url, name, &e, NULL);
	}

	/* A new session: the least recently used one goes when all are taken. */
	memset(&w, 0, sizeof w);
	snprintf(w.name, sizeof w.name, "%s", op.name);
	w.role = op.role;
	w.language = op.language;
	{
		uint8_t csrf[HL_CONSOLE_TOKEN_LEN];
		randombytes_buf(w.token, sizeof w.token);
		randombytes_buf(csrf, sizeof csrf);
		hl_console_token_encode(csrf, w.csrf);
		sodium_memzero(csrf, sizeof csrf);
	}
	pthread_mutex_lock(&c->mu);
	{
		struct session *slot = NULL;
		uint64_t now = now_ms();
		for (size_t i = 0; i < SESSIONS_MAX; i++) {
			struct session *s = &c->sessions[i];
			if (!s->used || expired(c, s, now)) {
				slot = s;
				break;
			}
			if (!slot || s->last_ms < slot->last_ms)
				slot = s;
		}
		if (slot->used)
			log_info("console_session_evicted", "operator=\"%s\"", slot->name);
		memset(slot, 0, sizeof *slot);
		slot->used = true;
		memcpy(slot->token, w.token, sizeof w.token);
		memcpy(slot->csrf, w.csrf, sizeof w.csrf);
		snprintf(slot->name, sizeof slot->name, "%s", w.name);
		slot->role = w.role;
		slot->language = w.language;
		slot->generation = op.generation;
		slot->last_ms = now;
	}
	pthread_mutex_unlock(&c->mu);
	{
		char tok[HL_CONSOLE_TOKEN_TEXT], q[100];
		hl_console_token_encode(w.token, tok);
		snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict",
		         c->cookie, tok);
		sodium_memzero(tok, sizeof tok);
		log_info("console_login", "operator=%s role=%s remote=%s",
		         log_q(q, sizeof q, w.name), hl_role_name(w.role), addr);
	}
	sent = send_json(conn, 200, me_json(c, &w), cookie, NULL);
	sodium_memzero(cookie, sizeof cookie);
	sodium_memzero(&w, sizeof w);
	return sent;
}

/* The daemon's answer to a send or an ack, in the API's words. */
static enum MHD_Result
daemon_answer(struct hl_console *c, struct MHD_Connection *conn, const char *url,
              const struct who *w, json_t *resp, json_t *ok)
{
	struct hl_api_error e = {0};
	const char *code = json_string_value(json_object_get(resp, "code"));
	const char *msg = json_string_value(json_object_get(resp, "error"));

	if (json_is_true(json_object_get(resp, "ok"))) {
		json_decref(resp);
		return send_json(conn, 200, ok, NULL, NULL);
	}
	json_decref(ok);
	if (!code)
		code = "";
	if (!strcmp(code, "notfound"))
		hl_api_fail(&e, 404, "not_found", NULL, "%s", msg ? msg : "not found");
	else if (!strcmp(code, "invalid"))
		hl_api_fail(&e, 409, "refused", NULL, "%s", msg ? msg : "refused");
	else if (!strcmp(code, "usage") || !strcmp(code, "toolarge") || !strcmp(code, "utf8"))
		hl_api_fail(&e, 400, "invalid", NULL, "%s", msg ? msg : "invalid");
	else if (!strcmp(code, "full"))
		hl_api_fail(&e, 507, "full", NULL,
		            "the station's disk is full: nothing was stored; free space and retry");
	else if (!strcmp(code, "stopping"))
		hl_api_fail(&e, 503, "unavailable", NULL, "the station is stopping");
	else
		hl_api_fail(&e, 500, "internal", NULL, "%s", msg ? msg : "the station failed");
	json_decref(resp);
	return refuse(c, conn, "POST", url, w->name, &e, NULL);
}

/* A new event of ours through the daemon: the control request gets its token and operator. */
static json_t *
submit_event(struct hl_console *c, json_t *ctl, const char *operator_name, struct hl_api_error *e)
{
	uint8_t token[16];
	char hex[33];

	randombytes_buf(token, sizeof token);
	sodium_bin2hex(hex, sizeof hex, token, sizeof token);
	json_object_set_new(ctl, "token", json_string(hex));
	if (operator_name)
		json_object_set_new(ctl, "operator", json_string(operator_name));
	return loop_call(c, ctl, LOOP_TIMEOUT_MS, e);
}

static enum MHD_Result
api_send(struct hl_console *c, struct MHD_Connection *conn, const char *url, const struct who *w,
         json_t *body)
{
	struct hl_api_error e = {0};
	struct hl_channel_rec *chans = NULL;
	char to[HL_NAME_MAX + 1], channel[HL_NAME_MAX + 1];
	struct hl_store *st;
	json_t *ctl, *resp;
	unsigned prec;
	size_t n = 0;
	int rc;

	if (hl_console_send_parse(body, c->cb, w->language, c->max_bytes, &ctl, &prec, &e) < 0)
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	if (prec <= HL_PREC_IMMEDIATE && w->role < HL_ROLE_DUTY) {
		json_decref(ctl);
		hl_api_fail(&e, 403, "forbidden", "precedence",
		            "a watch officer sends ROUTINE or PRIORITY only: FLASH and IMMEDIATE "
		            "need a duty officer");
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	}
	/* The peer and the channel, named in the form's terms (the daemon checks again). */
	snprintf(to, sizeof to, "%s", json_string_value(json_object_get(ctl, "peer")));
	snprintf(channel, sizeof channel, "%s", json_string_value(json_object_get(ctl, "channel")));
	if (!(st = store_take(c, &e))) {
		json_decref(ctl);
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	}
	{
		struct hl_peer_rec peer;
		rc = hl_store_peer_get(st, to, &peer);
	}
	if (rc == HL_OK)
		rc = hl_store_channel_list(st, to, &chans, &n);
	store_give(c, st);
	if (rc == HL_OK) {
		rc = HL_ERR_NOTFOUND;
		for (size_t i = 0; i < n; i++)
			if (strcmp(chans[i].name, channel) == 0)
				rc = HL_OK;
		if (rc < 0)
			hl_api_fail(&e, 400, "invalid", "channel", "peer %s has no channel %s", to,
			            channel);
	} else if (rc == HL_ERR_NOTFOUND) {
		hl_api_fail(&e, 400, "invalid", "to", "no peer named %s", to);
	} else {
		hl_api_fail(&e, 500, "internal", NULL, "cannot read the channels");
	}
	free(chans);
	if (rc < 0) {
		json_decref(ctl);
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	}
	if (!(resp = submit_event(c, ctl, NULL, &e)))
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	{
		char q[100];
		const char *id = json_string_value(json_object_get(resp, "id"));
		if (id)
			log_info("console_send", "operator=%s id=%s peer=%s precedence=%s",
			         log_q(q, sizeof q, w->name), id, to, hl_prec_name(prec));
		return daemon_answer(c, conn, url, w, resp,
		                     json_pack("{s:b, s:s?}", "ok", 1, "id", id));
	}
}

static enum MHD_Result
api_ack(struct hl_console *c, struct MHD_Connection *conn, const char *url, const struct who *w,
        json_t *body)
{
	struct hl_api_error e = {0};
	const char *id;
	json_t *resp;

	if (hl_console_ack_parse(body, &id, &e) < 0)
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	resp =
	    loop_call(c, json_pack("{s:s, s:s, s:s}", "cmd", "ack", "id", id, "operator", w->name),
	              LOOP_TIMEOUT_MS, &e);
	if (!resp)
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	{
		char q[100];
		if (json_is_true(json_object_get(resp, "ok")))
			log_info("console_ack", "operator=%s id=%s", log_q(q, sizeof q, w->name),
			         id);
	}
	return daemon_answer(c, conn, url, w, resp,
	                     json_pack("{s:b, s:s, s:O?}", "ok", 1, "id", id, "ack_id",
	                               json_object_get(resp, "ack_id")));
}

static enum MHD_Result
api_notice(struct hl_console *c, struct MHD_Connection *conn, const char *url, const struct who *w,
           json_t *body, unsigned kind)
{
	struct hl_api_error e = {0};
	json_t *ctl, *resp;

	if (w->role < HL_ROLE_DUTY) {
		hl_api_fail(&e, 403, "forbidden", NULL,
		            "a watch officer cannot suspend or resume: a duty officer can");
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	}
	if (hl_console_notice_parse(body, kind, &ctl, &e) < 0)
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	if (!(resp = submit_event(c, ctl, w->name, &e)))
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	return daemon_answer(c, conn, url, w, resp,
	                     json_pack("{s:b, s:O?}", "ok", 1, "id", json_object_get(resp, "id")));
}

static enum MHD_Result
api_language(struct hl_console *c, struct MHD_Connection *conn, const char *url,
             const struct who *w, json_t *body)
{
	struct hl_api_error e = {0};
	struct hl_store *st;
	unsigned lang;
	int rc;

	if (hl_console_language_parse(body, &lang, &e) < 0)
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	if (!(st = store_take(c, &e)))
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	rc = hl_operator_set_language(st, w->name, lang);
	store_give(c, st);
	if (rc < 0) {
		hl_api_fail(&e, 500, "internal", NULL, "cannot store the language");
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	}
	pthread_mutex_lock(&c->mu);
	{
		struct session *s = session_find_locked(c, w->token);
		if (s)
			s->language = lang;
	}
	pthread_mutex_unlock(&c->mu);
	return send_json(conn, 200, ok_json(), NULL, NULL);
}

static enum MHD_Result
api_status(struct hl_console *c, struct MHD_Connection *conn, const char *url, const struct who *w)
{
	struct hl_api_error e = {0};
	json_t *resp = loop_call(c, json_pack("{s:s}", "cmd", "status"), LOOP_TIMEOUT_MS, &e);
	char at[32];

	if (!resp)
		return refuse(c, conn, "GET", url, w->name, &e, NULL);
	if (!json_is_true(json_object_get(resp, "ok"))) {
		json_decref(resp);
		hl_api_fail(&e, 500, "internal", NULL, "the station could not say its status");
		return refuse(c, conn, "GET", url, w->name, &e, NULL);
	}
	hl_iso_time(hl_wall_ns(), at);
	json_object_set_new(resp, "now", json_string(at));
	return send_json(conn, 200, resp, NULL, NULL);
}

/* A read of the store on this thread's connection: inbox, outbox, message, transcript. */
static enum MHD_Result
api_read(struct hl_console *c, struct MHD_Connection *conn, const char *url, const struct who *w,
         int what)
{
	struct hl_api_error e = {0};
	struct hl_store *st;
	json_t *o = NULL;
	const char *arg;

	if (!(st = store_take(c, &e)))
		return refuse(c, conn, "GET", url, w->name, &e, NULL);
	if (what == 'i' || what == 'o') {
		arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "all");
		o = hl_capi_list(st, what == 'o' ? HL_DIR_OUT : HL_DIR_IN,
		                 arg && (!strcmp(arg, "1") || !strcmp(arg, "true")), c->cb, &e);
	} else if (what == 'm') {
		const char *lang_s =
		    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "lang");
		unsigned lang = w->language;
		arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "id");
		if (!arg || !hl_console_msgid_valid(arg))
			hl_api_fail(&e, 400, "invalid", "id", "id must be a message id");
		else if (lang_s && hl_lang_parse(lang_s, &lang) < 0)
			hl_api_fail(&e, 400, "invalid", "lang", "lang must be en or zh");
		else
			o = hl_capi_message(st, arg, c->cb, lang, &e);
	} else {
		const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "q");
		arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "peer");
		if (!arg || !hl_name_valid(arg))
			hl_api_fail(&e, 400, "invalid", "peer", "peer must be a peer's name");
		else if (q && (strlen(q) > HL_CONSOLE_QUERY_MAX || !hl_field_valid(q, strlen(q))))
			hl_api_fail(&e, 400, "invalid", "q",
			            "q must be one line of at most %d bytes", HL_CONSOLE_QUERY_MAX);
		else
			o = hl_capi_transcript(st, arg, q && *q ? q : NULL, c->ed25519, c->cb, &e);
	}
	store_give(c, st);
	if (!o)
		return refuse(c, conn, "GET", url, w->name, &e, NULL);
	return send_json(conn, 200, o, NULL, NULL);
}

/* ---- the admin pages: operators and peers (docs/console.md, "Administration") ---- */

/* A store error of an admin change, in the API's words. */
static void
admin_fail(struct hl_api_error *e, int rc, const char *what)
{
	if (rc == HL_ERR_FULL)
		hl_api_fail(e, 507, "full", NULL, "the station's disk is full: nothing changed");
	else
		hl_api_fail(e, 500, "internal", NULL, "cannot %s: %s", what, hl_strerror(rc));
}

static enum MHD_Result
api_operators(struct hl_console *c, struct MHD_Connection *conn, const char *url,
              const struct who *w)
{
	struct hl_api_error e = {0};
	struct hl_operator *v = NULL;
	struct hl_store *st;
	json_t *arr;
	size_t n = 0;
	int rc;

	if (!(st = store_take(c, &e)))
		return refuse(c, conn, "GET", url, w->name, &e, NULL);
	rc = hl_operator_list(st, &v, &n);
	store_give(c, st);
	if (rc < 0) {
		hl_api_fail(&e, 500, "internal", NULL, "cannot read the operators");
		return refuse(c, conn, "GET", url, w->name, &e, NULL);
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		/* What `operator list --json` shows; never the hash. */
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:o, s:b}", "name",
		                                     v[i].name, "role", hl_role_name(v[i].role),
		                                     "language", hl_lang_name(v[i].language),
		                                     "created", hl_json_time(v[i].created_ns),
		                                     "changed", hl_json_time(v[i].changed_ns),
		                                     "you", !strcmp(v[i].name, w->name)));
		sodium_memzero(v[i].pwhash, sizeof v[i].pwhash);
	}
	free(v);
	return send_json(conn, 200, json_pack("{s:b, s:o}", "ok", 1, "operators", arr), NULL, NULL);
}

/* Argon2id at the station's password_cost, one at a time (as sign-ins). */
static int
hash_locked(struct hl_console *c, const struct hl_console_op *op, char out[static HL_PWHASH_MAX])
{
	int rc;

	pthread_mutex_lock(&c->hash_mu);
	rc = hl_operator_hash(op->password, op->pwlen, c->pwcost, out);
	pthread_mutex_unlock(&c->hash_mu);
	return rc;
}

/* kind: 'a' add, 'c' change (role, password), 'r' remove. */
static enum MHD_Result
api_operator_edit(struct hl_console *c, struct MHD_Connection *conn, const char *url,
                  const struct who *w, json_t *body, int kind)
{
	struct hl_api_error e = {0};
	struct hl_console_op op;
	struct hl_operator old;
	struct hl_store *st = NULL;
	char hash[HL_PWHASH_MAX] = "", q1[100], q2[100];
	bool self;
	int rc = HL_OK;

	if (kind == 'a')
		rc = hl_console_opadd_parse(body, c->language, &op, &e);
	else if (kind == 'c')
		rc = hl_console_opchange_parse(body, &op, &e);
	else {
		memset(&op, 0, sizeof op);
		op.role = -1;
		rc = hl_console_opname_parse(body, &op.name, &e);
	}
	if (rc < 0)
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	self = strcmp(op.name, w->name) == 0;
	/* An admin keeps its own rights: another admin removes or demotes it. */
	if (self && (kind == 'r' || (kind == 'c' && op.role >= 0 && op.role != HL_ROLE_ADMIN))) {
		hl_api_fail(&e, 409, "refused", "name",
		            "an admin cannot %s itself: another admin can",
		            kind == 'r' ? "remove" : "demote");
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	}
	if (!(st = store_take(c, &e)))
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	rc = hl_operator_get(st, op.name, &old);
	sodium_memzero(old.pwhash, sizeof old.pwhash);
	if (kind == 'a' && rc == HL_OK) {
		hl_api_fail(&e, 409, "refused", "name", "an operator named %s exists already",
		            op.name);
		goto refused;
	}
	if (kind != 'a' && rc == HL_ERR_NOTFOUND) {
		hl_api_fail(&e, 404, "not_found", "name", "no operator named %s", op.name);
		goto refused;
	}
	if (rc < 0 && rc != HL_ERR_NOTFOUND) {
		hl_api_fail(&e, 500, "internal", NULL, "cannot read the operators");
		goto refused;
	}
	if (op.password && hash_locked(c, &op, hash) < 0) {
		hl_api_fail(&e, 500, "internal", NULL, "not enough memory to hash the password");
		goto refused;
	}
	if (kind == 'a') {
		rc = hl_operator_add(st, op.name, (unsigned)op.role, op.language, hash);
	} else if (kind == 'r') {
		rc = hl_operator_remove(st, op.name);
	} else {
		rc = op.role >= 0 ? hl_operator_set_role(st, op.name, (unsigned)op.role) : HL_OK;
		if (rc == HL_OK && op.password)
			rc = hl_operator_set_password(st, op.name, hash);
	}
	sodium_memzero(hash, sizeof hash);
	if (rc == HL_ERR_EXISTS)
		hl_api_fail(&e, 409, "refused", "name", "an operator named %s exists already",
		            op.name);
	else if (rc == HL_ERR_NOTFOUND)
		hl_api_fail(&e, 404, "not_found", "name", "no operator named %s", op.name);
	else if (rc == HL_ERR_BUSY)
		hl_api_fail(&e, 409, "refused", "name",
		            "%s is the station's last admin: make another admin first", op.name);
	else if (rc < 0)
		admin_fail(&e, rc, "store the operator");
	if (rc < 0)
		goto refused;
	/* One's own new password: this session goes on (the others of that operator end). */
	if (self && op.password && hl_operator_get(st, op.name, &old) == HL_OK) {
		struct session *s;
		sodium_memzero(old.pwhash, sizeof old.pwhash);
		pthread_mutex_lock(&c->mu);
		if ((s = session_find_locked(c, w->token)))
			s->generation = old.generation;
		pthread_mutex_unlock(&c->mu);
	}
	store_give(c, st);
	log_info("console_operator", "operator=%s action=%s name=%s role=%s password=%s",
	         log_q(q1, sizeof q1, w->name),
	         kind == 'a'   ? "add"
	         : kind == 'r' ? "remove"
	                       : "change",
	         log_q(q2, sizeof q2, op.name),
	         op.role >= 0 ? hl_role_name((unsigned)op.role) : "-", op.password ? "new" : "-");
	return send_json(conn, 200, json_pack("{s:b, s:s}", "ok", 1, "name", op.name), NULL, NULL);
refused:
	store_give(c, st);
	return refuse(c, conn, "POST", url, w->name, &e, NULL);
}

/* GET /api/peers, /api/talks, /api/talks/show: reads of the store. */
static enum MHD_Result
api_admin_read(struct hl_console *c, struct MHD_Connection *conn, const char *url,
               const struct who *w, int what)
{
	struct hl_api_error e = {0};
	struct hl_store *st;
	json_t *o = NULL;

	if (!(st = store_take(c, &e)))
		return refuse(c, conn, "GET", url, w->name, &e, NULL);
	if (what == 'p') {
		o = hl_capi_peers(st, &e);
	} else if (what == 'l') {
		o = hl_capi_talks_list(st, c->station, &e);
	} else {
		const char *id = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "id");
		size_t n = id ? strlen(id) : 0;
		/* A talks id: 12 to 64 hex digits, or an imported record's id (a-z 0-9 -). */
		if (!id || n == 0 || n > (size_t)2 * HL_HASH_LEN ||
		    strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz-") != n ||
		    (strspn(id, "0123456789abcdef") == n && n < HL_MSGID_LEN))
			hl_api_fail(
			    &e, 400, "invalid", "id",
			    "id must be a talks id: 12 hex digits or more, or an imported id");
		else
			o = hl_capi_talks_show(st, c->station, id, &e);
	}
	store_give(c, st);
	if (!o)
		return refuse(c, conn, "GET", url, w->name, &e, NULL);
	return send_json(conn, 200, o, NULL, NULL);
}

/* POST /api/peers/revoke, /api/peers/channel: the store, as the CLI; then the daemon reloads. */
static enum MHD_Result
api_peer_edit(struct hl_console *c, struct MHD_Connection *conn, const char *url,
              const struct who *w, json_t *body, int kind)
{
	struct hl_api_error e = {0};
	const char *peer, *reason = NULL, *channel = NULL;
	struct hl_store *st;
	bool no_suspend = false;
	uint64_t at = 0;
	char when[32], q1[100], q2[300];
	json_t *resp;
	int rc;

	rc = kind == 'v' ? hl_console_revoke_parse(body, &peer, &reason, &e)
	                 : hl_console_chanadd_parse(body, &peer, &channel, &no_suspend, &e);
	if (rc < 0)
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	if (!(st = store_take(c, &e)))
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	rc = kind == 'v' ? hl_store_peer_revoke(st, peer, reason, &at)
	                 : hl_store_channel_add(st, peer, channel, no_suspend);
	store_give(c, st);
	hl_iso_time(at, when);
	if (rc == HL_ERR_NOTFOUND)
		hl_api_fail(&e, 404, "not_found", "peer", "no peer named %s", peer);
	else if (rc == HL_ERR_EXISTS && kind == 'v')
		hl_api_fail(&e, 409, "refused", "peer",
		            "the key of peer %s is revoked already, since %s", peer, when);
	else if (rc == HL_ERR_EXISTS)
		hl_api_fail(&e, 409, "refused", "channel", "peer %s already has a channel %s", peer,
		            channel);
	else if (rc < 0)
		admin_fail(&e, rc, kind == 'v' ? "revoke the key" : "add the channel");
	if (rc < 0)
		return refuse(c, conn, "POST", url, w->name, &e, NULL);
	if (kind == 'c') {
		log_info("console_channel_added", "operator=%s peer=%s channel=%s no_suspend=%d",
		         log_q(q1, sizeof q1, w->name), peer, channel, no_suspend);
		return send_json(conn, 200,
		                 json_pack("{s:b, s:s, s:s, s:b}", "ok", 1, "peer", peer, "channel",
		                           channel, "no_suspend", no_suspend),
		                 NULL, NULL);
	}
	log_warn("console_peer_revoked", "operator=%s peer=%s reason=%s",
	         log_q(q1, sizeof q1, w->name), peer, log_q(q2, sizeof q2, reason));
	/* As `peer revoke` does: the daemon drops the session and refuses the key from now on. */
	resp = loop_call(c, json_pack("{s:s}", "cmd", "reload"), LOOP_TIMEOUT_MS, &e);
	rc = json_is_true(json_object_get(resp, "ok"));
	json_decref(resp);
	return send_json(conn, 200,
	                 json_pack("{s:b, s:s, s:{s:s, s:s}, s:b}", "ok", 1, "peer", peer,
	                           "revoked", "at", when, "reason", reason, "reloaded", rc),
	                 NULL, NULL);
}

static enum MHD_Result
api_events(struct hl_console *c, struct MHD_Connection *conn, const struct who *w)
{
	struct stream *s = calloc(1, sizeof *s);
	struct MHD_Response *r;
	enum MHD_Result ok;
	static char hello[] = "retry: 2000\n\n";

	if (!s)
		return MHD_NO;
	s->c = c;
	memcpy(s->token, w->token, sizeof s->token);
	pthread_mutex_lock(&c->mu);
	s->next = c->next_seq; /* from now on: the page loads the rest itself */
	pthread_mutex_unlock(&c->mu);
	s->pending = hello;
	s->plen = strlen(hello);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
	if (!r) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	common_headers(r);
	ok = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
metrics(struct hl_console *c, struct MHD_Connection *conn, const char *url)
{
	struct hl_api_error e = {0};
	struct hl_console_counters cc;
	struct hl_store *st;
	json_t *net = loop_call(c, json_pack("{s:s}", "cmd", "metrics"), 5000, &e);
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!(st = store_take(c, &e))) {
		json_decref(net);
		return refuse(c, conn, "GET", url, NULL, &e, NULL);
	}
	pthread_mutex_lock(&c->mu);
	cc = c->counters;
	cc.sessions = 0;
	for (size_t i = 0; i < SESSIONS_MAX; i++)
		cc.sessions += c->sessions[i].used && !expired(c, &c->sessions[i], now_ms());
	pthread_mutex_unlock(&c->mu);
	rc = hl_capi_metrics(st, c->station, net, &cc, c->store_path, &text, &len);
	store_give(c, st);
	json_decref(net);
	if (rc < 0) {
		hl_api_fail(&e, 500, "internal", NULL, "cannot gather the metrics");
		return refuse(c, conn, "GET", url, NULL, &e, NULL);
	}
	return send_text(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len,
	                 MHD_RESPMEM_MUST_FREE, NULL, NULL);
}

/* ---- routing ---- */

enum route_id {
	R_INDEX,
	R_JS,
	R_CSS,
	R_METRICS,
	R_LOGIN,
	R_LOGOUT,
	R_ME,
	R_LANGUAGE,
	R_STATUS,
	R_INBOX,
	R_OUTBOX,
	R_MESSAGE,
	R_CODEBOOK,
	R_TRANSCRIPT,
	R_SEND,
	R_ACK,
	R_SUSPEND,
	R_RESUME,
	R_EVENTS,
	R_TALKS,
	R_TALKS_SHOW,
	R_OPERATORS,
	R_OP_ADD,
	R_OP_CHANGE,
	R_OP_REMOVE,
	R_PEERS,
	R_PEER_REVOKE,
	R_PEER_CHANNEL,
};

static const struct route {
	const char *path;
	bool post; /* POST, else GET (and HEAD) */
	bool body; /* a JSON body is required */
	enum route_id id;
	bool admin; /* admin only: 403 forbidden for watch and duty */
} routes[] = {
    {"/", false, false, R_INDEX, false},
    {"/index.html", false, false, R_INDEX, false},
    {"/app.js", false, false, R_JS, false},
    {"/app.css", false, false, R_CSS, false},
    {"/metrics", false, false, R_METRICS, false},
    {"/api/login", true, true, R_LOGIN, false},
    {"/api/logout", true, false, R_LOGOUT, false},
    {"/api/me", false, false, R_ME, false},
    {"/api/language", true, true, R_LANGUAGE, false},
    {"/api/status", false, false, R_STATUS, false},
    {"/api/inbox", false, false, R_INBOX, false},
    {"/api/outbox", false, false, R_OUTBOX, false},
    {"/api/message", false, false, R_MESSAGE, false},
    {"/api/codebook", false, false, R_CODEBOOK, false},
    {"/api/transcript", false, false, R_TRANSCRIPT, false},
    {"/api/send", true, true, R_SEND, false},
    {"/api/ack", true, true, R_ACK, false},
    {"/api/suspend", true, true, R_SUSPEND, false},
    {"/api/resume", true, true, R_RESUME, false},
    {"/api/events", false, false, R_EVENTS, false},
    {"/api/talks", false, false, R_TALKS, false},
    {"/api/talks/show", false, false, R_TALKS_SHOW, false},
    {"/api/operators", false, false, R_OPERATORS, true},
    {"/api/operators/add", true, true, R_OP_ADD, true},
    {"/api/operators/change", true, true, R_OP_CHANGE, true},
    {"/api/operators/remove", true, true, R_OP_REMOVE, true},
    {"/api/peers", false, false, R_PEERS, true},
    {"/api/peers/revoke", true, true, R_PEER_REVOKE, true},
    {"/api/peers/channel", true, true, R_PEER_CHANNEL, true},
};

static enum MHD_Result
static_file(struct MHD_Connection *conn, enum route_id id)
{
	const unsigned char *data = id == R_JS    ? hl_web_app_js
	                            : id == R_CSS ? hl_web_app_css
	                                          : hl_web_index_html;
	size_t len = id == R_JS    ? hl_web_app_js_len
	             : id == R_CSS ? hl_web_app_css_len
	                           : hl_web_index_html_len;
	const char *type = id == R_JS    ? "text/javascript; charset=utf-8"
	                   : id == R_CSS ? "text/css; charset=utf-8"
	                                 : "text/html; charset=utf-8";
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ok;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	common_headers(r);
	ok = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
dispatch(struct hl_console *c, struct MHD_Connection *conn, struct req *rq, const char *url,
         const char *method)
{
	struct hl_api_error e = {0};
	const struct route *rt = NULL;
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"),
	     post = !strcmp(method, "POST");
	bool api = !strncmp(url, "/api/", 5);
	struct who w = {0};
	json_t *body = NULL;
	enum MHD_Result ok;

	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		if (!strcmp(url, routes[i].path))
			rt = &routes[i];
	if (!hl_console_host_ok(host, c->host, c->port)) {
		hl_api_fail(&e, 400, "bad_host", NULL,
		            "the Host header must name this console (an IP address or localhost)");
		return refuse(c, conn, method, url, NULL, &e, NULL);
	}
	if (rq->too_large) {
		hl_api_fail(&e, 413, "too_large", NULL, "the body is larger than %u bytes",
		            HL_CONSOLE_BODY_MAX);
		return refuse(c, conn, method, url, NULL, &e, NULL);
	}
	/* Without a session, every /api/ path but login is 401, known or not. */
	if (api && (!rt || rt->id != R_LOGIN)) {
		if (authenticate(c, conn, !rt || rt->id != R_EVENTS, &w, &e) < 0)
			return refuse(c, conn, method, url, NULL, &e, NULL);
	}
	if (!rt) {
		hl_api_fail(&e, 404, "not_found", NULL, "no such page or API call");
		return refuse(c, conn, method, url, api ? w.name : NULL, &e, NULL);
	}
	if (rt->post ? !post : !get) {
		hl_api_fail(&e, 405, "method_not_allowed", NULL, "%s needs %s", rt->path,
		            rt->post ? "POST" : "GET");
		return refuse(c, conn, method, url, api ? w.name : NULL, &e, NULL);
	}
	if (rt->admin && w.role < HL_ROLE_ADMIN) {
		hl_api_fail(&e, 403, "forbidden", NULL,
		            "peers and operators are managed by an admin; you are %s",
		            hl_role_name(w.role));
		return refuse(c, conn, method, url, w.name, &e, NULL);
	}
	if (rt->id <= R_CSS)
		return static_file(conn, rt->id);
	if (rt->id == R_METRICS)
		return metrics(c, conn, url);
	if (post) {
		const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
		if (rt->id != R_LOGIN) {
			const char *tok =
			    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
			if (!tok || strlen(tok) != strlen(w.csrf) ||
			    sodium_memcmp(tok, w.csrf, strlen(w.csrf)) != 0) {
				hl_api_fail(
				    &e, 403, "csrf", NULL,
				    "a change needs the X-CSRF-Token header of the session");
				return refuse(c, conn, method, url, w.name, &e, NULL);
			}
		}
		if (!hl_console_origin_ok(origin, host)) {
			hl_api_fail(&e, 403, "bad_origin", NULL,
			            "the request comes from another site (Origin)");
			return refuse(c, conn, method, url,
			              api && rt->id != R_LOGIN ? w.name : NULL, &e, NULL);
		}
		if (rt->body && hl_console_body(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                                            "Content-Type"),
		                                rq->body, rq->len, &body, &e) < 0)
			return refuse(c, conn, method, url, rt->id != R_LOGIN ? w.name : NULL, &e,
			              NULL);
	}
	switch (rt->id) {
	case R_LOGIN:
		ok = api_login(c, conn, url, body);
		break;
	case R_LOGOUT: {
		char cookie[128], q[100];
		session_drop(c, w.token);
		log_info("console_logout", "operator=%s", log_q(q, sizeof q, w.name));
		snprintf(cookie, sizeof cookie, "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
		         c->cookie);
		ok = send_json(conn, 200, ok_json(), cookie, NULL);
		break;
	}
	case R_ME:
		ok = send_json(conn, 200, me_json(c, &w), NULL, NULL);
		break;
	case R_LANGUAGE:
		ok = api_language(c, conn, url, &w, body);
		break;
	case R_STATUS:
		ok = api_status(c, conn, url, &w);
		break;
	case R_INBOX:
		ok = api_read(c, conn, url, &w, 'i');
		break;
	case R_OUTBOX:
		ok = api_read(c, conn, url, &w, 'o');
		break;
	case R_MESSAGE:
		ok = api_read(c, conn, url, &w, 'm');
		break;
	case R_TRANSCRIPT:
		ok = api_read(c, conn, url, &w, 't');
		break;
	case R_CODEBOOK:
		ok = send_json(conn, 200, hl_capi_codebook(c->cb), NULL, NULL);
		break;
	case R_SEND:
		ok = api_send(c, conn, url, &w, body);
		break;
	case R_ACK:
		ok = api_ack(c, conn, url, &w, body);
		break;
	case R_SUSPEND:
		ok = api_notice(c, conn, url, &w, body, HL_EV_SUSPEND);
		break;
	case R_RESUME:
		ok = api_notice(c, conn, url, &w, body, HL_EV_RESUME);
		break;
	case R_EVENTS:
		ok = api_events(c, conn, &w);
		break;
	case R_TALKS:
		ok = api_admin_read(c, conn, url, &w, 'l');
		break;
	case R_TALKS_SHOW:
		ok = api_admin_read(c, conn, url, &w, 's');
		break;
	case R_PEERS:
		ok = api_admin_read(c, conn, url, &w, 'p');
		break;
	case R_OPERATORS:
		ok = api_operators(c, conn, url, &w);
		break;
	case R_OP_ADD:
		ok = api_operator_edit(c, conn, url, &w, body, 'a');
		break;
	case R_OP_CHANGE:
		ok = api_operator_edit(c, conn, url, &w, body, 'c');
		break;
	case R_OP_REMOVE:
		ok = api_operator_edit(c, conn, url, &w, body, 'r');
		break;
	case R_PEER_REVOKE:
		ok = api_peer_edit(c, conn, url, &w, body, 'v');
		break;
	case R_PEER_CHANNEL:
		ok = api_peer_edit(c, conn, url, &w, body, 'c');
		break;
	default:
		ok = MHD_NO;
		break;
	}
	json_decref(body);
	sodium_memzero(&w, sizeof w);
	return ok;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct hl_console *c = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (!rq) {
		const char *cl =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (!(rq = calloc(1, sizeof *rq)))
			return MHD_NO;
		*con_cls = rq;
		/* A body announced too large is refused before a byte of it is read. */
		if (cl && strtoull(cl, NULL, 10) > HL_CONSOLE_BODY_MAX) {
			rq->too_large = rq->answered = true;
			return dispatch(c, conn, rq, url, method);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (rq->answered || rq->too_large)
			return MHD_YES;
		if (rq->len + n > HL_CONSOLE_BODY_MAX) {
			rq->too_large = true;
			HL_FREE(rq->body);
			rq->len = rq->cap = 0;
			return MHD_YES;
		}
		if (rq->len + n + 1 > rq->cap) {
			size_t ncap = rq->cap ? rq->cap : 1024;
			char *nb;
			while (ncap < rq->len + n + 1)
				ncap *= 2;
			if (!(nb = realloc(rq->body, ncap)))
				return MHD_NO;
			rq->body = nb;
			rq->cap = ncap;
		}
		memcpy(rq->body + rq->len, upload_data, n);
		rq->len += n;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	rq->answered = true;
	return dispatch(c, conn, rq, url, method);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) HL_PRINTF(2, 0);

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct hl_console *c = cls;
	char msg[256], q[300];
	size_t n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("console_http", "msg=%s", log_q(q, sizeof q, msg));
	pthread_mutex_lock(&c->mu);
	snprintf(c->mhd_err, sizeof c->mhd_err, "%s", msg);
	pthread_mutex_unlock(&c->mu);
}

/* ---- start, stop ---- */

int
hl_console_start(uv_loop_t *loop, const struct hl_console_opts *o, struct hl_console **out,
                 char *err, size_t errcap)
{
	struct hl_console *c = calloc(1, sizeof *c);
	struct sockaddr_storage ss = {0};
	pthread_condattr_t ca;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	                 MHD_USE_POLL | MHD_USE_ERROR_LOG;

	*out = NULL;
	if (!c)
		return HL_ERR_NOMEM;
	snprintf(c->station, sizeof c->station, "%s", o->station);
	snprintf(c->cookie, sizeof c->cookie, "hl_session_%s", o->station);
	snprintf(c->store_path, sizeof c->store_path, "%s", o->store_path);
	c->idle_s = o->idle_s;
	c->pwcost = o->pwcost;
	c->language = o->language;
	c->max_bytes = o->max_message_bytes;
	c->cb = o->codebook;
	memcpy(c->ed25519, o->ed25519, 32);
	c->handler = o->handler;
	c->ctx = o->ctx;
	c->queue_tail = &c->queue;
	if (hl_addr_split(o->addr, c->host, sizeof c->host, &c->port, false) < 0) {
		snprintf(err, errcap, "bad console address %s: expected HOST:PORT", o->addr);
		free(c);
		return HL_ERR_INVAL;
	}
	{
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
		const char *h = strcmp(c->host, "localhost") == 0 ? "127.0.0.1" : c->host;
		if (inet_pton(AF_INET, h, &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
			in->sin_port = htons(c->port);
		} else if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(c->port);
			flags |= MHD_USE_IPv6;
		} else {
			snprintf(err, errcap, "bad console address %s: HOST must be an IP address",
			         o->addr);
			free(c);
			return HL_ERR_INVAL;
		}
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->hash_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	uv_async_init(loop, &c->async, on_async);
	c->async.data = c;
	c->mhd = MHD_start_daemon(
	    flags, c->port, NULL, NULL, on_request, c, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, c,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)CONN_MAX, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_THREAD_STACK_SIZE,
	    (size_t)(1u << 20), MHD_OPTION_NOTIFY_COMPLETED, on_completed, c, MHD_OPTION_END);
	if (!c->mhd) {
		snprintf(err, errcap, "cannot start the console on %s: %s", o->addr,
		         c->mhd_err[0] ? c->mhd_err : "the address may be in use");
		c->stopping = true;
		uv_close((uv_handle_t *)&c->async, NULL);
		*out = c; /* freed by hl_console_free once the handle is closed */
		return HL_ERR_IO;
	}
	log_info("console_listening", "address=%s", o->addr);
	*out = c;
	return HL_OK;
}

void
hl_console_stop(struct hl_console *c)
{
	if (!c || !c->mhd)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_broadcast(&c->cv); /* waiters and streams end */
	pthread_mutex_unlock(&c->mu);
	MHD_stop_daemon(c->mhd); /* joins every connection's thread */
	c->mhd = NULL;
	uv_close((uv_handle_t *)&c->async, NULL);
}

void
hl_console_free(struct hl_console *c)
{
	struct loop_req *lr, *next;

	if (!c)
		return;
	for (lr = c->queue; lr; lr = next) {
		next = lr->next;
		json_decref(lr->req);
		free(lr);
	}
	for (lr = c->inflight; lr; lr = next) {
		next = lr->next;
		hl_ctl_local_free(lr->client);
		json_decref(lr->resp);
		free(lr);
	}
	for (size_t i = 0; i < RING; i++)
		free(c->ring[i].text);
	for (size_t i = 0; i < c->npool; i++)
		hl_store_close(c->pool[i]);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->hash_mu);
	pthread_cond_destroy(&c->cv);
	sodium_memzero(c->sessions, sizeof c->sessions);
	free(c);
}
