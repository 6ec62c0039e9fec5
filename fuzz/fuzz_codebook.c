/* SPDX-License-Identifier: ISC */
/*
 * fuzz_codebook.c: libFuzzer harness for src/codebook.c. The input is
 * used three ways: as a codebook file (hl_codebook_parse), as a received
 * message body against the default codebook (hl_codebook_decode), and as
 * one operator-typed value for a field of the default codebook chosen by
 * its first byte (hl_cb_value_parse). Invariants: errors are terminated
 * one-line texts; an accepted codebook renders every template with its
 * examples in both languages; an accepted body renders in both languages
 * and re-encodes to exactly the same bytes; an accepted value is
 * canonical (parsing it again gives the same value) and renders.
 *
 * The default codebook is read from codebook/default.json (fuzz/run.sh
 * runs from the repository's root; HL_CODEBOOK overrides the path),
 * because fuzz/run.sh links src/ but not meson's generated embedding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "codebook.h"
#include "content.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hl_codebook *def;
static const struct hl_cb_field *all_fields[HL_CB_TEMPLATES_MAX * HL_CB_FIELDS_MAX];
static size_t nall;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("HL_CODEBOOK");
	char err[HL_CB_ERR_MAX];

	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	if (hl_codebook_load(path ? path : "codebook/default.json", &def, err, sizeof err) < 0) {
		fprintf(stderr, "fuzz_codebook: %s (run from the repository's root)\n", err);
		abort();
	}
	for (size_t i = 0; i < def->ntemplates; i++)
		for (size_t k = 0; k < def->templates[i].nfields; k++)
			all_fields[nall++] = &def->templates[i].fields[k];
	return 0;
}

static void
check_err(const char *err, size_t cap)
{
	if (!memchr(err, '\0', cap) || err[0] == '\0' || strchr(err, '\n'))
		abort();
}

static void
render_both(const struct hl_cb_template *t, const json_t *fields)
{
	for (unsigned lang = 0; lang < HL_LANG_COUNT; lang++) {
		char *r = NULL;
		if (hl_codebook_render(t, fields, lang, &r) != HL_OK || !r ||
		    !hl_utf8_valid((const uint8_t *)r, strlen(r)))
			abort();
		free(r);
	}
}

static void
as_codebook(const uint8_t *data, size_t size)
{
	struct hl_codebook *cb = NULL;
	char err[256];
	int rc;

	memset(err, 'x', sizeof err);
	rc = hl_codebook_parse(data, size, &cb, err, sizeof err);
	if (rc != HL_OK) {
		if (cb || rc != HL_ERR_INVAL)
			abort();
		check_err(err, sizeof err);
		return;
	}
	for (size_t i = 0; i < cb->ntemplates; i++) {
		const struct hl_cb_template *t = &cb->templates[i];
		json_t *fields = json_object(), *v, *back = NULL;
		const struct hl_cb_template *got = NULL;
		char *body = NULL;
		size_t len;

		if (hl_codebook_find(cb, t->code) != t)
			abort();
		for (size_t k = 0; k < t->nfields; k++) {
			if (hl_cb_value_parse(&t->fields[k], t->fields[k].example, &v, NULL, 0) !=
			    HL_OK)
				abort(); /* a loaded codebook's examples are valid */
			json_object_set_new(fields, t->fields[k].name, v);
		}
		render_both(t, fields);
		rc = hl_codebook_encode(cb, t, fields, &body, &len);
		if (rc == HL_OK) {
			if (hl_codebook_decode(cb, body, len, &got, &back, err, sizeof err) !=
			        HL_OK ||
			    got != t || !json_equal(back, fields))
				abort();
		} else if (rc != HL_ERR_LIMIT) {
			abort();
		}
		json_decref(back);
		free(body);
		json_decref(fields);
		json_decref(hl_cb_template_json(t));
	}
	hl_codebook_free(cb);
}

static void
as_body(const uint8_t *data, size_t size)
{
	const struct hl_cb_template *t = NULL;
	json_t *fields = NULL;
	char err[256], *again = NULL;
	size_t len;
	int rc;

	memset(err, 'x', sizeof err);
	rc = hl_codebook_decode(def, data, size, &t, &fields, err, sizeof err);
	if (rc != HL_OK) {
		if (t || fields || (rc != HL_ERR_PROTO && rc != HL_ERR_NOTFOUND))
			abort();
		check_err(err, sizeof err);
		return;
	}
	render_both(t, fields);
	if (hl_codebook_encode(def, t, fields, &again, &len) != HL_OK || len != size ||
	    memcmp(again, data, size) != 0)
		abort();
	free(again);
	json_decref(fields);
}

/* The same bytes as the body of an incoming message of each kind the daemon checks. */
static void
as_content(const uint8_t *data, size_t size)
{
	static const char *const media[] = {HL_CODEBOOK_MEDIA, HL_PARALLEL_MEDIA, ""};
	struct hl_event ev = {.kind = HL_EV_MESSAGE, .body = data, .body_len = (uint32_t)size};
	char reason[HL_REASON_MAX + 1], *out = NULL, *en = NULL, *zh = NULL;
	unsigned orig = 9;

	for (size_t i = 0; i < 3; i++) {
		snprintf(ev.media_type, sizeof ev.media_type, "%s", media[i]);
		reason[0] = '\0';
		hl_content_check(&ev, def, reason);
		hl_field_clean(reason);
		if (!hl_field_valid(reason, strlen(reason)))
			abort();
		if (hl_content_render(&ev, def, HL_LANG_BOTH, &out) < 0)
			abort();
		free(out);
		out = NULL;
	}
	if (hl_parallel_decode(data, size, &en, &zh, &orig) == HL_OK) {
		char *again = NULL;
		size_t len = 0;
		char err[128];
		if (orig > HL_LANG_ZH || !en || !zh)
			abort();
		/* Valid UTF-8 texts re-encode; the canonical form may differ from the input. */
		if (hl_parallel_encode(en, zh, orig, &again, &len, err, sizeof err) == HL_OK)
			free(again);
	}
	free(en);
	free(zh);
}

static void
as_value(const uint8_t *data, size_t size)
{
	const struct hl_cb_field *f;
	json_t *v = NULL, *again = NULL;
	char *text, err[256], *r;

	if (size < 1 || nall == 0)
		return;
	f = all_fields[data[0] % nall];
	if (!(text = malloc(size)))
		return;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	memset(err, 'x', sizeof err);
	if (hl_cb_value_parse(f, text, &v, err, sizeof err) != HL_OK) {
		check_err(err, sizeof err);
		free(text);
		return;
	}
	/* Canonical: the canonical text parses to itself. */
	if (json_is_string(v) &&
	    (hl_cb_value_parse(f, json_string_value(v), &again, NULL, 0) != HL_OK ||
	     !json_equal(v, again)))
		abort();
	for (unsigned lang = 0; lang < HL_LANG_COUNT; lang++) {
		if (hl_cb_value_render(f, v, lang, &r) != HL_OK)
			abort();
		free(r);
	}
	json_decref(again);
	json_decref(v);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_codebook(data, size);
	as_body(data, size);
	as_content(data, size);
	as_value(data, size);
	return 0;
}
