/* SPDX-License-Identifier: ISC */
/*
 * fuzz_talks.c: libFuzzer harness for src/talks.c and src/talks_history.c.
 * The input is used three ways: as one talks event body
 * (hl_talks_body_decode), as a history file (hl_talks_history_parse), and
 * split at NUL bytes into up to 12 events of a register (the first byte of
 * each piece: bit 0 its side, bit 1 refused; the rest its body; piece i has
 * the hash 32 bytes of i + 1, so a body names piece 0 with "talks" =
 * 64 times '1'). Invariants: errors are terminated one-line texts; an
 * accepted body re-encodes to exactly the same bytes and describes itself;
 * an accepted history file gives records that render; the register is the
 * same whatever the order of its events and from either station.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "store.h"
#include "talks.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PIECES 12

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void
check_err(const char *err, size_t cap)
{
	if (!memchr(err, '\0', cap) || err[0] == '\0' || strchr(err, '\n'))
		abort();
}

static void
one_body(const uint8_t *data, size_t size)
{
	struct hl_talks_body b;
	char err[HL_TALKS_ERR_MAX] = "", *again = NULL, *d;
	size_t n = 0;
	int rc = hl_talks_body_decode(data, size, &b, err, sizeof err);

	if (rc == HL_ERR_NOMEM)
		return;
	if (rc < 0) {
		if (rc != HL_ERR_PROTO)
			abort();
		check_err(err, sizeof err);
		return;
	}
	if (hl_talks_body_encode(&b, &again, &n, err, sizeof err) != HL_OK || n != size ||
	    memcmp(again, data, size) != 0)
		abort();
	free(again);
	hl_talks_body_free(&b);
	if (!(d = hl_talks_describe(data, size)))
		abort();
	free(d);
}

static void
history(const uint8_t *data, size_t size)
{
	static const char *const names[2] = {"washington", "beijing"};
	char err[HL_TALKS_ERR_MAX] = "", peer[HL_NAME_MAX + 1];
	json_t *recs = NULL;
	int rc = hl_talks_history_parse(data, size, "washington", &recs, peer, err, sizeof err);

	if (rc == HL_ERR_NOMEM)
		return;
	if (rc < 0) {
		check_err(err, sizeof err);
		return;
	}
	if (!json_is_array(recs) || !hl_name_valid(peer))
		abort();
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_t *o = hl_talks_imported_json(json_array_get(recs, i), names);
		if (!o)
			abort();
		json_decref(o);
	}
	json_decref(recs);
}

/* The register of the pieces, events given in order (reverse or not), seen from view. */
static char *
fold(const uint8_t *const *piece, const size_t *len, size_t n, bool reverse, int view)
{
	static const char *const names[2][2] = {{"washington", "beijing"},
	                                        {"beijing", "washington"}};
	struct hl_talks_reg reg = {0};
	json_t *arr = json_array();
	char *out;

	if (!arr || !(reg.events = calloc(n ? n : 1, sizeof *reg.events)))
		abort();
	reg.nevents = n;
	for (size_t k = 0; k < n; k++) {
		size_t i = reverse ? n - 1 - k : k;
		struct hl_talks_event *e = &reg.events[k];
		e->side = (piece[i][0] & 1) ^ view;
		memset(e->hash, (int)(i + 1), HL_HASH_LEN);
		snprintf(e->operator_name, sizeof e->operator_name, "op");
		snprintf(e->channel, sizeof e->channel, "general");
		if (piece[i][0] & 2)
			snprintf(e->refusal, sizeof e->refusal, "refused");
		e->body = piece[i] + 1;
		e->body_len = len[i] - 1;
	}
	if (hl_talks_reg_build(&reg) < 0)
		abort();
	for (size_t j = 0; j < reg.ntalks; j++) {
		json_t *o = hl_talks_json(&reg.talks[j], names[view]);
		if (!o)
			abort();
		json_object_del(o, "local");
		json_array_append_new(arr, o);
	}
	hl_talks_reg_free(&reg);
	out = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(arr);
	if (!out)
		abort();
	return out;
}

static void
reg(const uint8_t *data, size_t size)
{
	const uint8_t *piece[PIECES];
	size_t len[PIECES], n = 0;
	char *a, *b, *c;

	for (size_t at = 0; at < size && n < PIECES;) {
		const uint8_t *end = memchr(data + at, 0, size - at);
		size_t l = end ? (size_t)(end - (data + at)) : size - at;
		if (l > 0) {
			piece[n] = data + at;
			len[n++] = l;
		}
		at += l + 1;
	}
	a = fold(piece, len, n, false, 0);
	b = fold(piece, len, n, true, 0);
	c = fold(piece, len, n, false, 1);
	if (strcmp(a, b) != 0 || strcmp(a, c) != 0)
		abort(); /* the order of arrival or the station changed the register */
	free(a);
	free(b);
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_body(data, size);
	history(data, size);
	reg(data, size);
	return 0;
}
