/* SPDX-License-Identifier: ISC */
/*
 * console_req.h: the web console's requests as data, checked (pure: no
 * I/O, no state; fuzz/fuzz_console.c drives it). Everything a browser
 * sends is untrusted: a body that is not one JSON object, a field of the
 * wrong type or size, a header that does not match, all come back as an
 * HTTP status, a stable error code and a sentence (docs/console.md).
 */
#ifndef HL_CONSOLE_REQ_H
#define HL_CONSOLE_REQ_H

#include <jansson.h>

#include "codebook.h"
#include "msg.h"

#define HL_CONSOLE_BODY_MAX (1u << 20) /* bytes of a request body */
#define HL_CONSOLE_TOKEN_LEN 32        /* a session cookie or a CSRF token: random bytes */
#define HL_CONSOLE_TOKEN_TEXT 44       /* ... as base64url without padding (43), and a NUL */
#define HL_CONSOLE_QUERY_MAX 200       /* bytes of a transcript search */

/* A refusal: what the client is told (docs/console.md, "Errors"). */
struct hl_api_error {
	int status;       /* HTTP status */
	const char *code; /* stable: "invalid", "bad_json", ... (a literal) */
	char message[256];
	char field[HL_CB_NAME_MAX + 8]; /* the one field at fault, or "" */
};

/* Fill e (status, code, field may be NULL) and return HL_ERR_INVAL. */
int hl_api_fail(struct hl_api_error *e, int status, const char *code, const char *field,
                const char *fmt, ...) HL_PRINTF(5, 6);

/*
 * A request body: Content-Type application/json (a charset parameter may
 * follow, utf-8 only), at most HL_CONSOLE_BODY_MAX bytes, one JSON object
 * with no duplicate keys. *out is the caller's. 415, 413 or 400 otherwise.
 */
HL_MUST_CHECK int hl_console_body(const char *content_type, const char *body, size_t len,
                                  json_t **out, struct hl_api_error *e);

/* {"name": ..., "password": ...}: borrowed from req. */
HL_MUST_CHECK int hl_console_login_parse(const json_t *req, const char **name,
                                         const char **password, size_t *pwlen,
                                         struct hl_api_error *e);
/* {"language": "en"|"zh"}. */
HL_MUST_CHECK int hl_console_language_parse(const json_t *req, unsigned *lang,
                                            struct hl_api_error *e);
/* {"id": MSGID}: borrowed from req. */
HL_MUST_CHECK int hl_console_ack_parse(const json_t *req, const char **id, struct hl_api_error *e);

/*
 * /api/send: {"to", "channel" (default general), "precedence" (default
 * routine, or the template's), and one of "text"; "text_en" and "text_zh"
 * (with "original": "en"|"zh", default lang); "code" and "fields"}. The
 * fields' values are written as an operator writes them (strings, or
 * numbers for integer fields; "" for an absent optional field) and are
 * checked against cb. On success *ctl is the control socket's send request
 * (docs/cli.md, "The control socket") without its token and operator, and
 * *prec the precedence. max_bytes: the station's max_message_bytes.
 */
HL_MUST_CHECK int hl_console_send_parse(const json_t *req, const struct hl_codebook *cb,
                                        unsigned lang, uint32_t max_bytes, json_t **ctl,
                                        unsigned *prec, struct hl_api_error *e);
/*
 * /api/suspend and /api/resume (kind HL_EV_SUSPEND or HL_EV_RESUME):
 * {"peer", "channel", "reason"} (reason required to suspend). *ctl as above.
 */
HL_MUST_CHECK int hl_console_notice_parse(const json_t *req, unsigned kind, json_t **ctl,
                                          struct hl_api_error *e);

/* A message id as the API takes it: 1 to 12 lowercase hex digits. */
bool hl_console_msgid_valid(const char *id);

/* A token as the cookie and header carry it (43 characters of base64url); HL_ERR_INVAL. */
HL_MUST_CHECK int hl_console_token_decode(const char *text,
                                          uint8_t out[static HL_CONSOLE_TOKEN_LEN]);
void hl_console_token_encode(const uint8_t in[static HL_CONSOLE_TOKEN_LEN],
                             char out[static HL_CONSOLE_TOKEN_TEXT]);

/*
 * The Host header of a request to the console bound at bound_host:port:
 * an IP literal, "localhost" or bound_host, with that port (or none).
 * Anything else is refused: a DNS name pointing at loopback (DNS
 * rebinding) never reaches the API.
 */
bool hl_console_host_ok(const char *host, const char *bound_host, uint16_t port);
/* An Origin header, when there is one, must be this console's own: "http://" + host. */
bool hl_console_origin_ok(const char *origin, const char *host);

#endif
