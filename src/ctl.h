/* SPDX-License-Identifier: ISC */
/*
 * ctl.h: the local control socket, DIR/ctl.sock (owner only, in a 0700
 * directory). One JSON object per line each way: the CLI sends a request
 * {"cmd": "status"} and reads one response, {"ok": true, ...} or
 * {"ok": false, "error": "..."}; docs/operations.md lists the commands. A
 * request line with "body_bytes": N is followed by N raw bytes (a message
 * body, without base64 or JSON escaping to encode and parse).
 */
#ifndef HL_CTL_H
#define HL_CTL_H

#include <uv.h>
#include <jansson.h>

#include "hl.h"

#define HL_CTL_REQUEST_MAX (24u << 20) /* a 16 MiB message in base64, and room */
#define HL_CTL_RESPONSE_MAX 65536

struct hl_ctl;

struct hl_ctl_client;

/*
 * Handle one request; return the response (ownership passes to ctl), or
 * NULL to answer later with hl_ctl_reply(client, ...), e.g. once a store
 * commit is done. The client stays valid until then (or until ctl stops).
 */
typedef json_t *hl_ctl_handler(void *ctx, const char *cmd, json_t *req,
                               struct hl_ctl_client *client);
/* The deferred answer to client's request (takes resp). */
void hl_ctl_reply(struct hl_ctl_client *client, json_t *resp);
/*
 * The raw body that followed the request line ("body_bytes"), or NULL when
 * there was none. Valid only during the handler's call: copy what is kept.
 */
const uint8_t *hl_ctl_body(const struct hl_ctl_client *client, size_t *len);

/*
 * An in-process client, for the web console's requests (loop thread): the
 * handler answers it as it answers a socket's client, through the same
 * code, and hl_ctl_reply then calls fn(arg, resp), which takes resp, and
 * frees the client. NULL when out of memory.
 */
typedef void hl_ctl_local_fn(void *arg, json_t *resp);
struct hl_ctl_client *hl_ctl_local_new(hl_ctl_local_fn *fn, void *arg);
/* Free a local client that will never be answered (the daemon stopped first). */
void hl_ctl_local_free(struct hl_ctl_client *client);

HL_MUST_CHECK int hl_ctl_start(uv_loop_t *loop, const char *path, hl_ctl_handler *fn, void *ctx,
                               struct hl_ctl **out, char *err, size_t errcap);
/* Close the socket and every client; frees itself once the handles are closed. */
void hl_ctl_stop(struct hl_ctl *ctl);

/*
 * Parse one request line: a JSON object with a string "cmd", and if it has
 * "body_bytes", an integer from 0 to HL_CTL_REQUEST_MAX. On success *req is
 * owned by the caller and *cmd points into it. HL_ERR_PROTO else.
 */
HL_MUST_CHECK int hl_ctl_parse_request(const char *buf, size_t len, json_t **req, const char **cmd);
/* The raw body bytes a parsed request announces (0 when none). */
size_t hl_ctl_body_bytes(const json_t *req);

/*
 * Client side (blocking, for the CLI): send req, wait up to timeout_ms for
 * the response. HL_ERR_CLOSED when no daemon listens on path.
 */
HL_MUST_CHECK int hl_ctl_call(const char *path, json_t *req, json_t **resp, int timeout_ms);
/* The same with a raw body after the line (sets "body_bytes" in req). */
HL_MUST_CHECK int hl_ctl_call_body(const char *path, json_t *req, const void *body, size_t len,
                                   json_t **resp, int timeout_ms);

#endif
