/* SPDX-License-Identifier: ISC */
/*
 * cli_verify.c: `hotline verify`: the record this station keeps with its
 * peers, an exported transcript (--file), or this station's record beside
 * the peer's export (--against). src/verify.c does the checking; this file
 * finds the keys, renders the results as text or JSON (docs/cli.md) and
 * turns them into the exit status: 0 everything verifies, 1 any failure or
 * disagreement, 2 a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "keys.h"
#include "station.h"
#include "verify.h"

const char verify_help[] =
    "usage: hotline -d DIR verify [--peer PEER] [--json]\n"
    "       hotline [-d DIR] verify --file FILE [--peer PEER] [--json]\n"
    "       hotline -d DIR verify --against FILE [--peer PEER] [--json]\n"
    "\n"
    "Check the record this station keeps with each peer, as an auditor would\n"
    "(docs/transcript.md, 'Verification procedure'): both chains of events\n"
    "recompute and link, the peer's signed heads, receipts and refusals verify\n"
    "and name the events held, and so do the checkpoints. Prints what was\n"
    "checked, then 'verify: OK' or 'verify: FAILED: ...' naming the first failure\n"
    "(peer, chain, seq, id, what). Reads only; the daemon may be running.\n"
    "\n"
    "  --peer PEER     only the record with PEER\n"
    "  --file FILE     verify an exported transcript (jsonl, '-' for stdin)\n"
    "                  instead of the store. Its keys come from its header and are\n"
    "                  printed: compare them with those exchanged out of band.\n"
    "                  With --peer they must be PEER's pinned key and this station's.\n"
    "  --against FILE  verify the peer's export, then compare it with this\n"
    "                  station's record: its chain out must equal our chain in\n"
    "                  event for event, and the other way round\n"
    "  --json          one JSON object (docs/cli.md)\n"
    "\n"
    "Exit status: 0 everything verifies; 1 a failure, or a disagreement with the\n"
    "peer's export; 2 a usage error.\n";

/* ---- rendering ---- */

/* "2026-11-26T08:16:27.185Z" (ns is never 0 here). */
static json_t *
time_json(uint64_t ns)
{
	char at[32];

	hl_iso_time(ns, at);
	return json_string(at);
}

static void
hex32(const uint8_t *b, char out[static 65])
{
	sodium_bin2hex(out, 65, b, 32);
}

static json_t *
problem_json(const struct hl_verify_problem *p)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s}", "type", p->type ? p->type : "", "chain",
	                 p->chain[0] ? json_string(p->chain) : json_null(), "seq",
	                 p->seq ? json_integer((json_int_t)p->seq) : json_null(), "id",
	                 p->id[0] ? json_string(p->id) : json_null(), "line",
	                 p->line ? json_integer((json_int_t)p->line) : json_null(), "what",
	                 p->what);
}

#define JI(x) ((json_int_t)(x))

static json_t *
chain_json(const struct hl_verify_chain *c, bool in)
{
	json_t *o = json_pack("{s:I, s:o, s:o, s:I, s:I}", "events", JI(c->events), "first_seq",
	                      c->first ? json_integer(JI(c->first)) : json_null(), "last_seq",
	                      c->last ? json_integer(JI(c->last)) : json_null(), "failed",
	                      JI(c->bad), "missing", JI(c->missing));

	if (in) {
		json_object_set_new(o, "in_flight", json_integer(JI(c->in_flight)));
		json_object_set_new(o, "bodies_not_kept", json_integer(JI(c->not_kept)));
	}
	return o;
}

/* A key history: [{"ed25519": hex, "since_seq": N}], oldest first. */
static json_t *
ring_json(const struct hl_keyring *k)
{
	json_t *arr = json_array();
	char h[65];

	for (size_t i = 0; i < k->n; i++) {
		hex32(k->k[i].ed25519, h);
		json_array_append_new(arr, json_pack("{s:s, s:I}", "ed25519", h, "since_seq",
		                                     (json_int_t)k->k[i].since_seq));
	}
	return arr;
}

static json_t *
result_json(const struct hl_verify_result *r)
{
	char s[65], p[65];
	json_t *fails = json_array(), *warns = json_array(), *last = json_null();

	hex32(r->station_pk, s);
	hex32(r->peer_pk, p);
	for (uint64_t i = 0; i < r->nfailures && i < HL_VERIFY_KEEP; i++)
		json_array_append_new(fails, problem_json(&r->failures[i]));
	for (uint64_t i = 0; i < r->nwarnings && i < HL_VERIFY_KEEP; i++)
		json_array_append_new(warns, problem_json(&r->warnings[i]));
	if (r->cp_at_ns)
		last = json_pack("{s:o, s:I, s:I, s:I}", "at", time_json(r->cp_at_ns), "at_ns",
		                 JI(r->cp_at_ns), "out_seq", JI(r->cp_out_seq), "in_seq",
		                 JI(r->cp_in_seq));
	json_t *o = json_pack(
	    "{s:s, s:b, s:s, s:s, s:o, s:o, s:{s:I, s:I, s:I}, s:I, s:I, s:{s:I, s:I, s:I},"
	    " s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:o}, s:I, s:o, s:I, s:o}",
	    "peer", r->peer, "ok", r->nfailures == 0, "station_ed25519", s, "peer_ed25519", p,
	    "out", chain_json(&r->out, false), "in", chain_json(&r->in, true), "heads", "count",
	    JI(r->heads), "failed", JI(r->heads_bad), "highest_seq", JI(r->head_seq), "unsigned_in",
	    JI(r->unsigned_in), "own_heads", JI(r->own_heads), "receipts", "count", JI(r->receipts),
	    "failed", JI(r->receipts_bad), "entries", JI(r->receipt_entries), "refusals", "count",
	    JI(r->refusals), "failed", JI(r->refusals_bad), "unsigned", JI(r->refusals_unsigned),
	    "checkpoints", "count", JI(r->checkpoints), "failed", JI(r->checkpoints_bad), "agreed",
	    JI(r->cp_agreed), "waiting", JI(r->cp_waiting), "mismatch", JI(r->cp_mismatch),
	    "last_agreed", last, "failures_total", JI(r->nfailures), "failures", fails,
	    "warnings_total", JI(r->nwarnings), "warnings", warns);
	if (o) {
		json_object_set_new(o, "station_keys", ring_json(&r->station_keys));
		json_object_set_new(o, "peer_keys", ring_json(&r->peer_keys));
		json_object_set_new(o, "key_rotations",
		                    json_pack("{s:I, s:I}", "count", JI(r->rotations), "failed",
		                              JI(r->rotations_bad)));
	}
	return o;
}

/* "N ok" or "N, B FAILED" into out. */
static const char *
counted(uint64_t n, uint64_t bad, char out[static 64])
{
	if (bad)
		snprintf(out, 64, "%llu, %llu FAILED", (unsigned long long)n,
		         (unsigned long long)bad);
	else
		snprintf(out, 64, "%llu ok", (unsigned long long)n);
	return out;
}

static void
print_chain(const char *name, const struct hl_verify_chain *c)
{
	printf("  chain %s: %llu event%s", name, (unsigned long long)c->events,
	       c->events == 1 ? "" : "s");
	if (c->bad)
		printf(", %llu FAILED", (unsigned long long)c->bad);
	else if (c->events)
		printf(" ok");
	if (c->events)
		printf(" (seq %llu-%llu)", (unsigned long long)c->first,
		       (unsigned long long)c->last);
	if (c->missing)
		printf(", %llu MISSING", (unsigned long long)c->missing);
	if (c->in_flight)
		printf(", %llu in flight", (unsigned long long)c->in_flight);
	if (c->not_kept)
		printf(", %llu bod%s not kept (refused as too large)",
		       (unsigned long long)c->not_kept, c->not_kept == 1 ? "y" : "ies");
}

/* The per-record lines: chains, heads, receipts, refusals, checkpoints, warnings, failures. */
static void
print_result(const struct hl_verify_result *r)
{
	char line[1024], a[64], b[64];

	print_chain("out", &r->out);
	printf("\n");
	print_chain("in", &r->in);
	printf("; signed heads: %s", counted(r->heads, r->heads_bad, a));
	if (r->head_seq)
		printf(", the highest at seq %llu", (unsigned long long)r->head_seq);
	printf("\n  receipts: %s, covering %llu event%s; refusals: %s\n",
	       counted(r->receipts, r->receipts_bad, a), (unsigned long long)r->receipt_entries,
	       r->receipt_entries == 1 ? "" : "s", counted(r->refusals, r->refusals_bad, b));
	if (r->rotations || r->station_keys.n > 1 || r->peer_keys.n > 1)
		printf("  key rotations: %s; keys over time: %zu of the station's, %zu of the "
		       "peer's\n",
		       counted(r->rotations, r->rotations_bad, a), r->station_keys.n,
		       r->peer_keys.n);
	printf("  checkpoints: %s (%llu agreed, %llu waiting, %llu mismatch)",
	       counted(r->checkpoints, r->checkpoints_bad, a), (unsigned long long)r->cp_agreed,
	       (unsigned long long)r->cp_waiting, (unsigned long long)r->cp_mismatch);
	if (r->cp_at_ns) {
		char at[32];
		hl_iso_time(r->cp_at_ns, at);
		printf("; the last agreed at %s (seqs out %llu / in %llu)", at,
		       (unsigned long long)r->cp_out_seq, (unsigned long long)r->cp_in_seq);
	}
	printf("\n");
	for (uint64_t i = 0; i < r->nwarnings && i < HL_VERIFY_KEEP; i++) {
		hl_verify_problem_text(&r->warnings[i], NULL, line, sizeof line);
		printf("  warning: %s\n", line);
	}
	if (r->nwarnings > HL_VERIFY_KEEP)
		printf("  ... and %llu more warnings\n",
		       (unsigned long long)(r->nwarnings - HL_VERIFY_KEEP));
	for (uint64_t i = 0; i < r->nfailures && i < HL_VERIFY_KEEP; i++) {
		hl_verify_problem_text(&r->failures[i], NULL, line, sizeof line);
		printf("  FAILED: %s\n", line);
	}
	if (r->nfailures > HL_VERIFY_KEEP)
		printf("  ... and %llu more failures\n",
		       (unsigned long long)(r->nfailures - HL_VERIFY_KEEP));
}

/* The verdict line, and the exit status. */
static int
verdict(bool json, json_t *doc, bool ok, const char *first)
{
	if (json) {
		json_object_set_new(doc, "ok", json_boolean(ok));
		json_object_set_new(doc, "failure", ok ? json_null() : json_string(first));
		print_json(doc);
	} else {
		json_decref(doc);
		if (ok)
			printf("verify: OK\n");
		else
			printf("verify: FAILED: %s\n", first);
	}
	return ok ? 0 : 1;
}

/* ---- keys ---- */

/* This station's Ed25519 public key; an exit status (0: ok). */
static int
our_key(uint8_t out[static 32])
{
	struct hl_pubkey pub;
	int rc = load_self(NULL, &pub);

	if (rc == 0)
		memcpy(out, pub.ed25519, 32);
	return rc;
}

/*
 * Keys over time (docs/keys.md): each peer's key history here, and ours as
 * that peer's record knows it. Two key histories are the same station's
 * when they share a key.
 */
struct rings {
	struct hl_keyring ours, theirs;
};

static bool
rings_meet(const struct hl_keyring *a, const struct hl_keyring *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t k = 0; k < b->n; k++)
			if (sodium_memcmp(a->k[i].ed25519, b->k[k].ed25519, 32) == 0)
				return true;
	return false;
}

/* Every peer's rings (*out malloc'd, n entries); an exit status. */
static int
load_rings(struct hl_store *st, const struct hl_peer_rec *peers, size_t n,
           const uint8_t ours[static 32], struct rings **out)
{
	int rc;

	if (!(*out = calloc(n ? n : 1, sizeof **out)))
		return fail("out of memory");
	for (size_t i = 0; i < n; i++)
		if ((rc = hl_store_key_rings(st, peers[i].id, ours, &(*out)[i].ours,
		                             &(*out)[i].theirs)) < 0) {
			free(*out);
			*out = NULL;
			return fail("cannot read the store: %s", hl_strerror(rc));
		}
	return 0;
}

/* Who holds key history k here: "this station", "peer NAME", or "not pinned here". */
static void
whose(const struct hl_keyring *k, const uint8_t ours[static 32], const struct hl_peer_rec *peers,
      const struct rings *rings, size_t n, char *out, size_t cap)
{
	struct hl_keyring mine = {.n = 1};

	memcpy(mine.k[0].ed25519, ours, 32);
	if (rings_meet(k, &mine)) {
		snprintf(out, cap, "this station");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (rings_meet(k, &rings[i].theirs)) {
			snprintf(out, cap, "peer %s", peers[i].name);
			return;
		}
	for (size_t i = 0; i < n; i++)
		if (rings_meet(k, &rings[i].ours)) {
			snprintf(out, cap, "this station (a former key)");
			return;
		}
	snprintf(out, cap, "not pinned here");
}

/* ---- verify (the store) ---- */

static int
verify_store(const char *only, bool json)
{
	struct hl_peer_rec *peers = NULL;
	struct hl_store *st;
	uint8_t ours[32];
	char first[1200] = "", s[65];
	json_t *doc = NULL, *arr = NULL;
	size_t n = 0, done = 0;
	bool ok = true;
	int rc;

	if ((rc = our_key(ours)) || (rc = open_store(&st, false)))
		return rc;
	if ((rc = hl_store_peer_list(st, &peers, &n)) < 0) {
		hl_store_close(st);
		return fail("cannot read the store: %s", hl_strerror(rc));
	}
	hex32(ours, s);
	doc = json_pack("{s:s, s:s}", "mode", "store", "station_ed25519", s);
	arr = json_array();
	json_object_set_new(doc, "peers", arr);
	for (size_t i = 0; i < n; i++) {
		struct hl_verify_result *r;
		if (only && strcmp(peers[i].name, only) != 0)
			continue;
		if (!(r = malloc(sizeof *r))) {
			rc = HL_ERR_NOMEM;
			break;
		}
		if ((rc = hl_verify_store(st, &peers[i], ours, r)) < 0) {
			free(r);
			break;
		}
		done++;
		if (json) {
			json_array_append_new(arr, result_json(r));
		} else {
			printf("peer %s:\n", r->peer);
			print_result(r);
		}
		if (r->nfailures && ok) {
			ok = false;
			hl_verify_problem_text(&r->failures[0], r->peer, first, sizeof first);
		}
		free(r);
	}
	hl_store_close(st);
	free(peers);
	if (rc < 0) {
		json_decref(doc);
		return fail("cannot read the store: %s", hl_strerror(rc));
	}
	if (only && done == 0) {
		json_decref(doc);
		return fail("no peer named %s: see 'hotline peer list'", only);
	}
	if (done == 0 && !json)
		printf("no peers pinned: nothing to verify\n");
	return verdict(json, doc, ok, first);
}

/* ---- verify --file ---- */

static json_t *
header_json(const struct hl_transcript *t)
{
	char s[65], p[65];

	if (!t->header)
		return json_null();
	hex32(t->res.station_pk, s);
	hex32(t->res.peer_pk, p);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "station", t->station, "station_ed25519",
	                 s, "peer", t->peer, "peer_ed25519", p, "exported_at", t->exported_at,
	                 "since_ns", JI(t->since_ns));
}

static void
print_header(const char *path, const struct hl_transcript *t)
{
	char s[65], p[65];

	printf("transcript %s: %llu line%s\n", path, (unsigned long long)t->lines,
	       t->lines == 1 ? "" : "s");
	if (!t->header)
		return;
	hex32(t->res.station_pk, s);
	hex32(t->res.peer_pk, p);
	printf("  exported by %s at %s%s\n", t->station, t->exported_at,
	       t->since_ns ? " (since a given time: each chain starts later)" : "");
	printf("  station %-12s ed25519 %s\n", t->station, s);
	printf("  peer    %-12s ed25519 %s\n", t->peer, p);
}

/* Read FILE ('-': stdin) into t; an exit status (0: read, whatever it holds). */
static int
read_transcript(const char *path, struct hl_transcript *t)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	int rc;

	memset(t, 0, sizeof *t);
	if (!f)
		return fail("cannot open %s: %s", path, strerror(errno));
	rc = hl_verify_file(f, 0, t);
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		hl_transcript_free(t);
		return fail("cannot read %s: %s", path, hl_strerror(rc));
	}
	return 0;
}

static int
verify_file(const char *path, const char *only, bool json)
{
	struct hl_transcript *t = calloc(1, sizeof *t);
	struct hl_peer_rec *peers = NULL;
	struct rings *rings = NULL;
	struct hl_store *st = NULL;
	uint8_t ours[32];
	size_t pinned = 0;
	char first[1200] = "", keyfail[512] = "", ws[64] = "", wp[64] = "";
	bool ok, have_station = false;
	json_t *doc;
	size_t n = 0;
	int rc;

	if (!t)
		return fail("out of memory");
	/* With a station (needed for --peer), name the keys as known here. */
	if (only || (station_dir && *station_dir)) {
		if (only && (rc = need_dir("verify"))) {
			free(t);
			return rc;
		}
		if ((rc = our_key(ours)) || (rc = open_store(&st, false))) {
			free(t);
			return rc;
		}
		rc = hl_store_peer_list(st, &peers, &n);
		if (rc < 0) {
			hl_store_close(st);
			free(t);
			return fail("cannot read the store: %s", hl_strerror(rc));
		}
		rc = load_rings(st, peers, n, ours, &rings);
		hl_store_close(st);
		if (rc) {
			free(peers);
			free(t);
			return rc;
		}
		have_station = true;
	}
	if ((rc = read_transcript(path, t))) {
		free(peers);
		free(rings);
		free(t);
		return rc;
	}
	if (have_station && t->header) {
		whose(&t->res.station_keys, ours, peers, rings, n, ws, sizeof ws);
		whose(&t->res.peer_keys, ours, peers, rings, n, wp, sizeof wp);
	}
	if (only && t->header) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			if (strcmp(peers[i].name, only) == 0) {
				pinned = i;
				found = true;
			}
		if (!found) {
			free(peers);
			free(rings);
			hl_transcript_free(t);
			free(t);
			return fail("no peer named %s: see 'hotline peer list'", only);
		}
		/* Our own export (S ours, P the peer's) or the peer's (the other way round). */
		if (!((rings_meet(&t->res.station_keys, &rings[pinned].ours) &&
		       rings_meet(&t->res.peer_keys, &rings[pinned].theirs)) ||
		      (rings_meet(&t->res.station_keys, &rings[pinned].theirs) &&
		       rings_meet(&t->res.peer_keys, &rings[pinned].ours))))
			snprintf(keyfail, sizeof keyfail,
			         "%s: the header's keys are not this station's and %s's as pinned "
			         "here (station key: %s; peer key: %s)",
			         path, only, ws, wp);
	}
	free(peers);
	free(rings);
	ok = t->res.nfailures == 0 && !keyfail[0];
	if (keyfail[0])
		snprintf(first, sizeof first, "%s", keyfail);
	else if (!ok) {
		char p[1100];
		hl_verify_problem_text(&t->res.failures[0], NULL, p, sizeof p);
		snprintf(first, sizeof first, "%s %s", path, p);
	}
	doc = json_pack("{s:s, s:s, s:I, s:o, s:o}", "mode", "file", "file", path, "lines",
	                JI(t->lines), "header", header_json(t), "result", result_json(&t->res));
	if (have_station && t->header)
		json_object_set_new(
		    doc, "keys",
		    json_pack("{s:s, s:s, s:b}", "station", ws, "peer", wp, "ok", !keyfail[0]));
	if (!json) {
		print_header(path, t);
		if (have_station && t->header)
			printf("  keys: the station's is %s's, the peer's is %s's%s\n", ws, wp,
			       keyfail[0] ? ": FAILED" : "");
		else if (t->header)
			printf("  compare these keys with those exchanged out of band\n");
		print_result(&t->res);
	}
	hl_transcript_free(t);
	free(t);
	return verdict(json, doc, ok, first);
}

/* ---- verify --against ---- */

static json_t *
cmp_json(const struct hl_verify_cmp *c)
{
	json_t *d = json_null();
	char fh[65], hh[65], fi[HL_MSGID_LEN + 1], hi[HL_MSGID_LEN + 1];

	if (c->differ) {
		hex32(c->file_hash, fh);
		hex32(c->here_hash, hh);
		hl_event_id(c->file_hash, fi);
		hl_event_id(c->here_hash, hi);
		d = json_pack("{s:I, s:s, s:s, s:s, s:s}", "seq", JI(c->first_seq), "file_hash", fh,
		              "file_id", fi, "here_hash", hh, "here_id", hi);
	}
	return json_pack(
	    "{s:I, s:I, s:o, s:{s:I, s:o, s:o}, s:{s:I, s:o, s:o}, s:I}", "agree", JI(c->agree),
	    "differ", JI(c->differ), "first_difference", d, "only_in_file", "count",
	    JI(c->only_file), "first_seq",
	    c->only_file ? json_integer(JI(c->only_file_first)) : json_null(), "last_seq",
	    c->only_file ? json_integer(JI(c->only_file_last)) : json_null(), "only_here", "count",
	    JI(c->only_here), "first_seq",
	    c->only_here ? json_integer(JI(c->only_here_first)) : json_null(), "last_seq",
	    c->only_here ? json_integer(JI(c->only_here_last)) : json_null(), "before_file",
	    JI(c->before_file));
}

static void
print_cmp(const char *what, const struct hl_verify_cmp *c)
{
	printf("  %s: %llu event%s agree", what, (unsigned long long)c->agree,
	       c->agree == 1 ? "" : "s");
	if (c->differ) {
		char fh[65], hh[65], fi[HL_MSGID_LEN + 1], hi[HL_MSGID_LEN + 1];
		hex32(c->file_hash, fh);
		hex32(c->here_hash, hh);
		hl_event_id(c->file_hash, fi);
		hl_event_id(c->here_hash, hi);
		printf("; %llu DIFFER, the first at seq %llu: file %s (id %s), here %s (id %s)",
		       (unsigned long long)c->differ, (unsigned long long)c->first_seq, fh, fi, hh,
		       hi);
	}
	if (c->only_file)
		printf("; %llu only in the file (seq %llu-%llu: in flight)",
		       (unsigned long long)c->only_file, (unsigned long long)c->only_file_first,
		       (unsigned long long)c->only_file_last);
	if (c->only_here)
		printf("; %llu only here (seq %llu-%llu: in flight, or exported before them)",
		       (unsigned long long)c->only_here, (unsigned long long)c->only_here_first,
		       (unsigned long long)c->only_here_last);
	if (c->before_file)
		printf("; %llu here before the export's first event (--since)",
		       (unsigned long long)c->before_file);
	printf("\n");
}

static int
verify_against(const char *path, const char *only, bool json)
{
	struct hl_transcript *t = calloc(1, sizeof *t);
	struct hl_verify_result *r = calloc(1, sizeof *r);
	struct hl_peer_rec *peers = NULL, *peer = NULL;
	struct rings *rings = NULL;
	struct hl_verify_against cmp = {0};
	struct hl_store *st = NULL;
	uint8_t ours[32];
	char first[1200] = "", p[1100], why[512] = "", label[160];
	json_t *doc;
	size_t n = 0;
	bool ok, compared = false;
	int rc;

	if (!t || !r) {
		free(t);
		free(r);
		return fail("out of memory");
	}
	if ((rc = our_key(ours)) || (rc = open_store(&st, false)))
		goto out;
	if ((rc = hl_store_peer_list(st, &peers, &n)) < 0) {
		rc = fail("cannot read the store: %s", hl_strerror(rc));
		goto out;
	}
	if ((rc = load_rings(st, peers, n, ours, &rings)))
		goto out;
	if (only) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(peers[i].name, only) == 0)
				peer = &peers[i];
		if (!peer) {
			rc = fail("no peer named %s: see 'hotline peer list'", only);
			goto out;
		}
	}
	if ((rc = read_transcript(path, t)))
		goto out;
	/* The peer's export: its station is a pinned peer (by key), its peer is us. */
	if (t->header) {
		struct hl_peer_rec *by_key = NULL;
		struct hl_keyring mine = {.n = 1};
		size_t k = 0;
		memcpy(mine.k[0].ed25519, ours, 32);
		for (size_t i = 0; i < n; i++)
			if (rings_meet(&rings[i].theirs, &t->res.station_keys)) {
				by_key = &peers[i];
				k = i;
			}
		if (rings_meet(&t->res.station_keys, &mine))
			snprintf(why, sizeof why,
			         "%s is this station's own export: --against takes the peer's (see "
			         "--file)",
			         path);
		else if (!by_key)
			snprintf(why, sizeof why, "%s was exported by a station not pinned here",
			         path);
		else if (peer && by_key != peer)
			snprintf(why, sizeof why, "%s was exported by %s, not %s", path,
			         by_key->name, peer->name);
		else if (!rings_meet(&t->res.peer_keys, &rings[k].ours))
			snprintf(why, sizeof why,
			         "%s is %s's record with another station, not this one", path,
			         by_key->name);
		else
			peer = by_key;
	} else {
		snprintf(why, sizeof why, "%s has no valid header: nothing to compare", path);
	}
	if (!why[0] && peer) { /* peer is set whenever why is empty: said for the analyzer */
		if ((rc = hl_verify_store(st, peer, ours, r)) < 0 ||
		    (rc = hl_verify_against(st, peer->id, t, &cmp)) < 0) {
			rc = fail("cannot read the store: %s", hl_strerror(rc));
			goto out;
		}
		compared = true;
	}
	ok = compared && t->res.nfailures == 0 && r->nfailures == 0 && cmp.theirs.differ == 0 &&
	     cmp.ours.differ == 0 && cmp.cp_differ == 0;
	if (why[0]) {
		snprintf(first, sizeof first, "%s", why);
	} else if (t->res.nfailures) {
		hl_verify_problem_text(&t->res.failures[0], NULL, p, sizeof p);
		snprintf(first, sizeof first, "%s %s", path, p);
	} else if (r->nfailures) {
		hl_verify_problem_text(&r->failures[0], r->peer, first, sizeof first);
	} else if (cmp.theirs.differ || cmp.ours.differ) {
		const struct hl_verify_cmp *c = cmp.theirs.differ ? &cmp.theirs : &cmp.ours;
		char fi[HL_MSGID_LEN + 1], hi[HL_MSGID_LEN + 1];
		hl_event_id(c->file_hash, fi);
		hl_event_id(c->here_hash, hi);
		snprintf(first, sizeof first,
		         "peer %s, chain %s, seq %llu: the peer's export has id %s, this station "
		         "holds id %s",
		         peer->name, c == &cmp.theirs ? "in" : "out",
		         (unsigned long long)c->first_seq, fi, hi);
	} else if (cmp.cp_differ) {
		snprintf(first, sizeof first,
		         "peer %s: %llu checkpoint%s agreed on both sides with different hashes",
		         peer->name, (unsigned long long)cmp.cp_differ,
		         cmp.cp_differ == 1 ? "" : "s");
	}
	doc = json_pack("{s:s, s:s, s:o, s:o, s:o}", "mode", "against", "file", path, "header",
	                header_json(t), "peer",
	                peer && compared ? json_string(peer->name) : json_null(), "file_result",
	                result_json(&t->res));
	if (compared) {
		json_t *last = json_null();
		if (cmp.cp_at_ns)
			last = json_pack("{s:o, s:I, s:I, s:I}", "at", time_json(cmp.cp_at_ns),
			                 "at_ns", JI(cmp.cp_at_ns), "out_seq", JI(cmp.cp_out_seq),
			                 "in_seq", JI(cmp.cp_in_seq));
		json_object_set_new(doc, "store_result", result_json(r));
		json_object_set_new(
		    doc, "compare",
		    json_pack("{s:o, s:o, s:{s:I, s:I, s:o}}", "peer_chain", cmp_json(&cmp.theirs),
		              "our_chain", cmp_json(&cmp.ours), "checkpoints", "common",
		              JI(cmp.cp_common), "differ", JI(cmp.cp_differ), "last_common", last));
	}
	if (!json) {
		print_header(path, t);
		print_result(&t->res);
		if (compared) {
			printf("this station's record with %s:\n", peer->name);
			print_result(r);
			printf("compared with %s's export:\n", peer->name);
			snprintf(label, sizeof label, "%s's chain (its out, our in)", peer->name);
			print_cmp(label, &cmp.theirs);
			print_cmp("our chain (its in, our out)", &cmp.ours);
			if (cmp.cp_at_ns) {
				char at[32];
				hl_iso_time(cmp.cp_at_ns, at);
				printf("  agree up to the last common checkpoint (at %s, seqs out "
				       "%llu / in "
				       "%llu)\n",
				       at, (unsigned long long)cmp.cp_out_seq,
				       (unsigned long long)cmp.cp_in_seq);
			} else {
				printf("  no checkpoint agreed on both sides yet\n");
			}
			if (cmp.cp_differ)
				printf("  checkpoints: %llu agreed on both sides with DIFFERENT "
				       "hashes\n",
				       (unsigned long long)cmp.cp_differ);
		}
	}
	rc = verdict(json, doc, ok, first);
out:
	hl_store_close(st);
	free(peers);
	free(rings);
	hl_transcript_free(t);
	free(t);
	free(r);
	return rc;
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
	                                     {"peer", required_argument, NULL, 'p'},
	                                     {"file", required_argument, NULL, 'f'},
	                                     {"against", required_argument, NULL, 'a'},
	                                     {NULL, 0, NULL, 0}};
	const char *peer = NULL, *file = NULL, *against = NULL;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			peer = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'a':
			against = optarg;
			break;
		default:
			return usage_error("verify", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("verify", "unexpected argument '%s'", argv[optind]);
	if (file && against)
		return usage_error("verify", "give --file or --against, not both");
	if (peer && !hl_name_valid(peer))
		return usage_error("verify", "bad peer name '%s'", peer);
	if (file)
		return verify_file(file, peer, json);
	if ((rc = need_dir("verify")))
		return rc;
	if (against)
		return verify_against(against, peer, json);
	return verify_store(peer, json);
}
