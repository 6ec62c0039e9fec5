/* SPDX-License-Identifier: ISC */
/*
 * fuzz_console.c: libFuzzer harness for the web console's request checks
 * (src/console_req.c). The first byte picks what the rest is: the body of
 * one of the POST calls (login, language, ack, send, suspend, resume) under
 * one of a few Content-Types (second byte), or header values (Host, Origin,
 * a session token, a message id, a console address) separated by NULs.
 * Invariants: a refusal has a 4xx/5xx status, a code and a terminated
 * one-line UTF-8 message (it becomes JSON), and leaves no output behind; an accepted send or notice
 * is a control request whose body is valid base64 of at most the limit,
 * with a known precedence; an accepted token re-encodes to the same text.
 *
 * The default codebook is read from codebook/default.json (fuzz/run.sh runs
 * from the repository's root; HL_CODEBOOK overrides the path).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "config.h"
#include "console_req.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hl_codebook *def;

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
		fprintf(stderr, "fuzz_console: %s (run from the repository's root)\n", err);
		abort();
	}
	return 0;
}

static void
check_refusal(int rc, const struct hl_api_error *e)
{
	if (rc != HL_ERR_INVAL || e->status < 400 || e->status > 599 || !e->code ||
	    !memchr(e->message, '\0', sizeof e->message) ||
	    !hl_field_valid(e->message, strlen(e->message)) ||
	    !memchr(e->field, '\0', sizeof e->field) || !hl_field_valid(e->field, strlen(e->field)))
		abort();
}

/* An accepted control request: cmd send, a kind, a precedence, a base64 body within max. */
static void
check_ctl(const json_t *ctl, size_t max)
{
	const char *b64 = json_string_value(json_object_get(ctl, "body"));
	const char *prec = json_string_value(json_object_get(ctl, "precedence"));
	unsigned p;
	size_t len = 0, cap;
	uint8_t *bin;

	if (!json_is_object(ctl) ||
	    strcmp(json_string_value(json_object_get(ctl, "cmd")), "send") ||
	    !json_string_value(json_object_get(ctl, "kind")) ||
	    !hl_name_valid(json_string_value(json_object_get(ctl, "peer"))) ||
	    !hl_name_valid(json_string_value(json_object_get(ctl, "channel"))) || !b64 || !prec ||
	    hl_prec_parse(prec, &p) < 0)
		abort();
	cap = strlen(b64) / 4 * 3 + 3;
	if (!(bin = malloc(cap)))
		abort();
	if (sodium_base642bin(bin, cap, b64, strlen(b64), NULL, &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len > max)
		abort();
	free(bin);
}

static void
body_call(unsigned which, const char *ctype, const char *body, size_t len)
{
	struct hl_api_error e = {0};
	json_t *req = NULL, *ctl = NULL;
	const char *s1, *s2;
	unsigned u;
	size_t n;
	int rc;

	rc = hl_console_body(ctype, body, len, &req, &e);
	if (rc < 0) {
		check_refusal(rc, &e);
		if (req)
			abort();
		return;
	}
	if (!json_is_object(req))
		abort();
	switch (which) {
	case 0:
		rc = hl_console_login_parse(req, &s1, &s2, &n, &e);
		if (rc == HL_OK && (!s1 || !s2 || strlen(s2) > n))
			abort();
		break;
	case 1:
		rc = hl_console_language_parse(req, &u, &e);
		if (rc == HL_OK && u > 1)
			abort();
		break;
	case 2:
		rc = hl_console_ack_parse(req, &s1, &e);
		if (rc == HL_OK && !hl_console_msgid_valid(s1))
			abort();
		break;
	case 3:
		rc = hl_console_send_parse(req, def, HL_LANG_ZH, 4096, &ctl, &u, &e);
		if (rc == HL_OK)
			check_ctl(ctl, 4096);
		break;
	default:
		rc = hl_console_notice_parse(req, which == 4 ? HL_EV_SUSPEND : HL_EV_RESUME, &ctl,
		                             &e);
		if (rc == HL_OK)
			check_ctl(ctl, HL_NOTICE_REASON_MAX);
		break;
	}
	if (rc < 0) {
		check_refusal(rc, &e);
		if (ctl)
			abort();
	}
	json_decref(ctl);
	json_decref(req);
}

/* Up to n NUL-separated strings of data (copied, terminated). */
static size_t
split(const uint8_t *data, size_t size, char *buf, const char *out[], size_t n)
{
	size_t k = 0, start = 0;

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i <= size && k < n; i++)
		if (buf[i] == '\0') {
			out[k++] = buf + start;
			start = i + 1;
		}
	return k;
}

static void
header_values(const uint8_t *data, size_t size)
{
	const char *v[5] = {"", "", "", "", ""};
	char *buf = malloc(size + 1), norm[HL_ADDR_MAX];
	uint8_t tok[HL_CONSOLE_TOKEN_LEN];
	char again[HL_CONSOLE_TOKEN_TEXT];

	if (!buf)
		abort();
	split(data, size, buf, v, 5);
	(void)hl_console_host_ok(v[0], "127.0.0.1", 8080);
	(void)hl_console_host_ok(v[0], "::1", 8080);
	(void)hl_console_origin_ok(v[1], v[0]);
	if (hl_console_token_decode(v[2], tok) == HL_OK) {
		hl_console_token_encode(tok, again);
		if (strcmp(again, v[2]) != 0)
			abort();
	}
	if (hl_console_msgid_valid(v[3]) && (strlen(v[3]) == 0 || strlen(v[3]) > 12))
		abort();
	if (hl_config_console_addr(v[4], norm) == HL_OK) {
		char twice[HL_ADDR_MAX];
		if (hl_config_console_addr(norm, twice) != HL_OK || strcmp(norm, twice) != 0)
			abort(); /* normal form is stable */
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"application/json", "application/json; charset=utf-8",
	                                    "text/plain", NULL};
	char *body;

	if (size < 2 || size > HL_CONSOLE_BODY_MAX)
		return 0;
	if (data[0] % 7 == 6) {
		header_values(data + 1, size - 1);
		return 0;
	}
	/* A copy of exactly the body's bytes: no terminator to lean on. */
	if (!(body = malloc(size - 2 ? size - 2 : 1)))
		abort();
	memcpy(body, data + 2, size - 2);
	body_call(data[0] % 7, types[data[1] % 4], body, size - 2);
	free(body);
	return 0;
}
