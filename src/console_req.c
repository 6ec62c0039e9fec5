/* SPDX-License-Identifier: ISC */
/* console_req.c: the console's requests, checked; see console_req.h. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "console_req.h"
#include "content.h"
#include "util.h"

int
hl_api_fail(struct hl_api_error *e, int status, const char *code, const char *field,
            const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	/* It may quote the client's bytes, or be cut mid-character: always one line of UTF-8. */
	hl_field_clean(e->message);
	hl_field_clean(e->field);
	return HL_ERR_INVAL;
}

/* "application/json", optionally "; charset=utf-8" (any case, quotes allowed). */
static bool
is_json_type(const char *ct)
{
	const char *p = ct, *semi;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	semi = strchr(p, ';');
	n = semi ? (size_t)(semi - p) : strlen(p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n != strlen("application/json") || strncasecmp(p, "application/json", n) != 0)
		return false;
	while (semi) {
		const char *param = semi + 1, *next = strchr(param, ';');
		size_t len = next ? (size_t)(next - param) : strlen(param);
		char buf[64];
		while (len && (*param == ' ' || *param == '\t'))
			param++, len--;
		while (len && (param[len - 1] == ' ' || param[len - 1] == '\t'))
			len--;
		if (len >= sizeof buf)
			return false;
		memcpy(buf, param, len);
		buf[len] = '\0';
		if (strncasecmp(buf, "charset=", 8) == 0 && strcasecmp(buf + 8, "utf-8") != 0 &&
		    strcasecmp(buf + 8, "\"utf-8\"") != 0)
			return false;
		semi = next;
	}
	return true;
}

int
hl_console_body(const char *content_type, const char *body, size_t len, json_t **out,
                struct hl_api_error *e)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (!content_type || !is_json_type(content_type))
		return hl_api_fail(e, 415, "unsupported_media_type", NULL,
		                   "the body must be JSON, sent as Content-Type: application/json");
	if (len > HL_CONSOLE_BODY_MAX)
		return hl_api_fail(e, 413, "too_large", NULL, "the body is larger than %u bytes",
		                   HL_CONSOLE_BODY_MAX);
	v = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return hl_api_fail(e, 400, "bad_json", NULL,
		                   "not valid JSON: line %d, column %d: %s", jerr.line, jerr.column,
		                   jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return hl_api_fail(e, 400, "bad_json", NULL, "the body must be a JSON object");
	}
	*out = v;
	return HL_OK;
}

/*
 * The string member key of req: *out borrowed (NULL when absent and not
 * required), at most max bytes, one line unless multiline.
 */
static int
get_str(const json_t *req, const char *key, bool required, size_t max, bool multiline,
        const char **out, struct hl_api_error *e)
{
	json_t *v = json_object_get(req, key);
	size_t n;

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return hl_api_fail(e, 400, "invalid", key, "%s is required", key);
		return HL_OK;
	}
	if (!json_is_string(v))
		return hl_api_fail(e, 400, "invalid", key, "%s must be a string", key);
	n = json_string_length(v);
	if (n > max)
		return hl_api_fail(e, 400, "invalid", key, "%s is longer than %zu bytes", key, max);
	/* jansson keeps strings valid UTF-8 without NUL; a one-line field has no control bytes. */
	if (!multiline && !hl_field_valid(json_string_value(v), n))
		return hl_api_fail(e, 400, "invalid", key, "%s must be one line of text", key);
	*out = json_string_value(v);
	return HL_OK;
}

int
hl_console_login_parse(const json_t *req, const char **name, const char **password, size_t *pwlen,
                       struct hl_api_error *e)
{
	int rc;

	*pwlen = 0;
	if ((rc = get_str(req, "name", true, HL_OPERATOR_MAX, false, name, e)) < 0 ||
	    (rc = get_str(req, "password", true, 1024, true, password, e)) < 0)
		return rc;
	*pwlen = json_string_length(json_object_get(req, "password"));
	return HL_OK;
}

int
hl_console_language_parse(const json_t *req, unsigned *lang, struct hl_api_error *e)
{
	const char *s;
	int rc = get_str(req, "language", true, 8, false, &s, e);

	if (rc < 0)
		return rc;
	if (hl_lang_parse(s, lang) < 0)
		return hl_api_fail(e, 400, "invalid", "language", "language must be en or zh");
	return HL_OK;
}

bool
hl_console_msgid_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > HL_MSGID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

int
hl_console_ack_parse(const json_t *req, const char **id, struct hl_api_error *e)
{
	int rc = get_str(req, "id", true, HL_MSGID_LEN, false, id, e);

	if (rc < 0)
		return rc;
	if (!hl_console_msgid_valid(*id))
		return hl_api_fail(e, 400, "invalid", "id",
		                   "id must be a message id: up to 12 hex digits");
	return HL_OK;
}

/* A name (peer, channel) member; def when absent (NULL: required). */
static int
get_name(const json_t *req, const char *key, const char *def, const char **out,
         struct hl_api_error *e)
{
	int rc = get_str(req, key, def == NULL, HL_NAME_MAX, false, out, e);

	if (rc < 0)
		return rc;
	if (!*out)
		*out = def;
	if (!hl_name_valid(*out))
		return hl_api_fail(e, 400, "invalid", key, "%s must be a name: 1-32 of a-z 0-9 _ -",
		                   key);
	return HL_OK;
}

/* The control request for a new event of ours (docs/cli.md, "The control socket"). */
static int
ctl_request(const char *kind, const char *peer, const char *channel, unsigned prec,
            const char *media, const uint8_t *body, size_t len, json_t **ctl,
            struct hl_api_error *e)
{
	size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(cap);

	if (!b64)
		return hl_api_fail(e, 500, "internal", NULL, "out of memory");
	sodium_bin2base64(b64, cap, body, len, sodium_base64_VARIANT_ORIGINAL);
	*ctl = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "cmd", "send", "kind", kind, "peer",
	                 peer, "channel", channel, "precedence", hl_prec_name(prec), "media_type",
	                 media, "body", b64);
	free(b64);
	if (!*ctl)
		return hl_api_fail(e, 500, "internal", NULL, "out of memory");
	return HL_OK;
}

/* The canonical fields of a codebook message from values as operators write them. */
static int
code_fields(const struct hl_cb_template *t, json_t *given, json_t **out, struct hl_api_error *e)
{
	char err[HL_CB_ERR_MAX], num[32];
	const char *key;
	json_t *v, *fields = json_object();

	*out = NULL;
	if (!fields)
		return hl_api_fail(e, 500, "internal", NULL, "out of memory");
	if (given && !json_is_object(given)) {
		json_decref(fields);
		return hl_api_fail(e, 400, "invalid", "fields",
		                   "fields must be an object of field name to value");
	}
	json_object_foreach(given, key, v)
	{
		const struct hl_cb_field *f = hl_cb_field_find(t, key);
		const char *text = NULL;
		json_t *canon = NULL;
		if (!f) {
			json_decref(fields);
			return hl_api_fail(e, 400, "invalid", strlen(key) < 32 ? key : "fields",
			                   "%s has no field '%.32s'", t->code, key);
		}
		if (json_is_string(v)) {
			text = json_string_value(v);
		} else if (json_is_integer(v) && f->type == HL_CB_INTEGER) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
			text = num;
		} else if (!json_is_null(v)) {
			json_decref(fields);
			return hl_api_fail(e, 400, "invalid", f->name, "field '%s': expected text",
			                   f->name);
		}
		if (!text || !*text)
			continue; /* left empty: absent (a required field is caught below) */
		if (hl_cb_value_parse(f, text, &canon, err, sizeof err) < 0) {
			json_decref(fields);
			return hl_api_fail(e, 400, "invalid", f->name, "%s", err);
		}
		json_object_set_new(fields, f->name, canon);
	}
	for (size_t i = 0; i < t->nfields; i++)
		if (t->fields[i].required && !json_object_get(fields, t->fields[i].name)) {
			json_decref(fields);
			return hl_api_fail(e, 400, "invalid", t->fields[i].name,
			                   "field '%s' is required", t->fields[i].name);
		}
	if (hl_cb_fields_check(t, fields, err, sizeof err) < 0) {
		json_decref(fields);
		return hl_api_fail(e, 400, "invalid", "fields", "%s", err);
	}
	*out = fields;
	return HL_OK;
}

int
hl_console_send_parse(const json_t *req, const struct hl_codebook *cb, unsigned lang,
                      uint32_t max_bytes, json_t **ctl, unsigned *prec, struct hl_api_error *e)
{
	const char *to, *channel, *prec_s, *text, *en, *zh, *orig_s, *code;
	const char *media = "";
	char *body = NULL, err[HL_CB_ERR_MAX];
	size_t len = 0;
	unsigned orig = lang;
	int rc;

	*ctl = NULL;
	*prec = HL_PREC_ROUTINE;
	if ((rc = get_name(req, "to", NULL, &to, e)) < 0 ||
	    (rc = get_name(req, "channel", "general", &channel, e)) < 0 ||
	    (rc = get_str(req, "precedence", false, 16, false, &prec_s, e)) < 0 ||
	    (rc = get_str(req, "text", false, HL_CONSOLE_BODY_MAX, true, &text, e)) < 0 ||
	    (rc = get_str(req, "text_en", false, HL_CONSOLE_BODY_MAX, true, &en, e)) < 0 ||
	    (rc = get_str(req, "text_zh", false, HL_CONSOLE_BODY_MAX, true, &zh, e)) < 0 ||
	    (rc = get_str(req, "original", false, 8, false, &orig_s, e)) < 0 ||
	    (rc = get_str(req, "code", false, HL_CB_CODE_MAX, false, &code, e)) < 0)
		return rc;
	if (prec_s && hl_prec_parse(prec_s, prec) < 0)
		return hl_api_fail(e, 400, "invalid", "precedence",
		                   "precedence must be flash, immediate, priority or routine");
	if ((text != NULL) + (en || zh) + (code != NULL) != 1)
		return hl_api_fail(e, 400, "invalid", NULL,
		                   "give one of: text; text_en and text_zh; code and fields");
	if (text) {
		if (!*text)
			return hl_api_fail(e, 400, "invalid", "text", "the text is empty");
		len = strlen(text);
		if (len > max_bytes)
			return hl_api_fail(
			    e, 400, "invalid", "text",
			    "the message is larger than max_message_bytes (%u bytes)", max_bytes);
		return ctl_request("message", to, channel, *prec, "", (const uint8_t *)text, len,
		                   ctl, e);
	}
	if (en || zh) {
		if (!en || !*en)
			return hl_api_fail(e, 400, "invalid", "text_en",
			                   "the English text is empty");
		if (!zh || !*zh)
			return hl_api_fail(e, 400, "invalid", "text_zh",
			                   "the Chinese text is empty");
		if (orig_s && hl_lang_parse(orig_s, &orig) < 0)
			return hl_api_fail(e, 400, "invalid", "original",
			                   "original must be en or zh");
		if (hl_parallel_encode(en, zh, orig, &body, &len, err, sizeof err) < 0)
			return hl_api_fail(e, 400, "invalid", "text_en", "%s", err);
		media = HL_PARALLEL_MEDIA;
	} else {
		const struct hl_cb_template *t;
		json_t *fields;
		if (!cb)
			return hl_api_fail(e, 400, "invalid", "code",
			                   "this station has no codebook installed");
		if (!(t = hl_codebook_find(cb, code)))
			return hl_api_fail(e, 400, "invalid", "code", "unknown code '%s'", code);
		if ((rc = code_fields(t, json_object_get(req, "fields"), &fields, e)) < 0)
			return rc;
		rc = hl_codebook_encode(cb, t, fields, &body, &len);
		json_decref(fields);
		if (rc < 0)
			return hl_api_fail(e, rc == HL_ERR_NOMEM ? 500 : 400,
			                   rc == HL_ERR_NOMEM ? "internal" : "invalid", "fields",
			                   "the values do not make a message: %s", hl_strerror(rc));
		if (!prec_s)
			*prec = t->precedence;
		media = HL_CODEBOOK_MEDIA;
	}
	if (len > max_bytes)
		rc = hl_api_fail(e, 400, "invalid", NULL,
		                 "the message is larger than max_message_bytes (%u bytes)",
		                 max_bytes);
	else
		rc = ctl_request("message", to, channel, *prec, media, (const uint8_t *)body, len,
		                 ctl, e);
	free(body);
	return rc;
}

int
hl_console_notice_parse(const json_t *req, unsigned kind, json_t **ctl, struct hl_api_error *e)
{
	const char *peer, *channel, *reason;
	int rc;

	*ctl = NULL;
	if (kind != HL_EV_SUSPEND && kind != HL_EV_RESUME)
		return hl_api_fail(e, 500, "internal", NULL, "not a notice");
	if ((rc = get_name(req, "peer", NULL, &peer, e)) < 0 ||
	    (rc = get_name(req, "channel", NULL, &channel, e)) < 0 ||
	    (rc = get_str(req, "reason", kind == HL_EV_SUSPEND, HL_NOTICE_REASON_MAX, false,
	                  &reason, e)) < 0)
		return rc;
	if (!reason)
		reason = "";
	if (kind == HL_EV_SUSPEND && !*reason)
		return hl_api_fail(e, 400, "invalid", "reason", "a suspension needs a reason");
	/* A change of state must not wait behind traffic: FLASH, as `hotline suspend` sends it. */
	return ctl_request(hl_kind_name(kind), peer, channel, HL_PREC_FLASH, "",
	                   (const uint8_t *)reason, strlen(reason), ctl, e);
}

int
hl_console_token_decode(const char *text, uint8_t out[static HL_CONSOLE_TOKEN_LEN])
{
	char again[HL_CONSOLE_TOKEN_TEXT];
	size_t n = 0;

	if (strlen(text) != HL_CONSOLE_TOKEN_TEXT - 1 ||
	    sodium_base642bin(out, HL_CONSOLE_TOKEN_LEN, text, HL_CONSOLE_TOKEN_TEXT - 1, NULL, &n,
	                      NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != HL_CONSOLE_TOKEN_LEN)
		return HL_ERR_INVAL;
	/* Only the one canonical text: no second spelling of a token (spare bits set). */
	hl_console_token_encode(out, again);
	if (strcmp(again, text) != 0) {
		sodium_memzero(out, HL_CONSOLE_TOKEN_LEN);
		return HL_ERR_INVAL;
	}
	return HL_OK;
}

void
hl_console_token_encode(const uint8_t in[static HL_CONSOLE_TOKEN_LEN],
                        char out[static HL_CONSOLE_TOKEN_TEXT])
{
	sodium_bin2base64(out, HL_CONSOLE_TOKEN_TEXT, in, HL_CONSOLE_TOKEN_LEN,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool
hl_console_host_ok(const char *host, const char *bound_host, uint16_t port)
{
	char name[HL_ADDR_MAX];
	const char *port_s = NULL;
	unsigned char ip[16];
	size_t n;

	if (!host || strlen(host) >= sizeof name)
		return false;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		if (!close || (close[1] && close[1] != ':'))
			return false;
		n = (size_t)(close - host - 1);
		memcpy(name, host + 1, n);
		port_s = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(host, ':');
		if (colon && strchr(colon + 1, ':'))
			return false;
		n = colon ? (size_t)(colon - host) : strlen(host);
		memcpy(name, host, n);
		port_s = colon ? colon + 1 : NULL;
	}
	name[n] = '\0';
	if (port_s) {
		unsigned long p = 0;
		if (!*port_s || strlen(port_s) > 5)
			return false;
		for (const char *c = port_s; *c; c++) {
			if (*c < '0' || *c > '9')
				return false;
			p = p * 10 + (unsigned long)(*c - '0');
		}
		if (p != port)
			return false;
	}
	if (n == 0)
		return false;
	return strcasecmp(name, "localhost") == 0 || strcasecmp(name, bound_host) == 0 ||
	       inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
}

bool
hl_console_origin_ok(const char *origin, const char *host)
{
	if (!origin)
		return true;
	return strncasecmp(origin, "http://", 7) == 0 && host && strcasecmp(origin + 7, host) == 0;
}
