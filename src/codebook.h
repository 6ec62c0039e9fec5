/* SPDX-License-Identifier: ISC */
/*
 * codebook.h: the codebook (docs/codebook.md), a file both stations hold
 * byte for byte: message templates, each with a code, a default
 * precedence, typed fields and a rendering in English and in Simplified
 * Chinese. A codebook message travels as its code and canonical field
 * values, never as rendered text (media type HL_CODEBOOK_MEDIA); each
 * station renders it in its operators' language.
 *
 * Pure: no I/O except hl_codebook_load. Every string in the structures
 * below is borrowed from the codebook and lives until hl_codebook_free;
 * the structures are read-only for callers. Error texts ("err") are one
 * line, name the template and field at fault, and are always terminated
 * when errcap > 0 (HL_CB_ERR_MAX is a size that never truncates them in
 * practice).
 */
#ifndef HL_CODEBOOK_H
#define HL_CODEBOOK_H

#include <jansson.h>

#include "hl.h"

#define HL_CODEBOOK_FORMAT "hotline-codebook-v1"
#define HL_CODEBOOK_MEDIA "application/vnd.hotline.code+json"
#define HL_CODEBOOK_FILE "codebook.json"  /* in the station directory, by default */
#define HL_CODEBOOK_HASHLEN 32            /* BLAKE2b-256 of the file's bytes */
#define HL_CODEBOOK_FILE_MAX (1u << 20)   /* a larger codebook file is refused */
#define HL_CODEBOOK_BODY_MAX (256u << 10) /* a larger message body is refused */
#define HL_CB_CODE_MAX 32
#define HL_CB_NAME_MAX 32
#define HL_CB_TEMPLATES_MAX 256
#define HL_CB_FIELDS_MAX 32
#define HL_CB_VALUES_MAX 64
#define HL_CB_TEXT_MAX 1000 /* characters in one text field, at most */
#define HL_CB_VERTICES_MIN 3
#define HL_CB_VERTICES_MAX 64
#define HL_CB_ERR_MAX 1024

/* The operators' languages; every human-readable text exists in each. */
enum hl_lang { HL_LANG_EN = 0, HL_LANG_ZH = 1 };
#define HL_LANG_COUNT 2
/* "en", "zh"; "?" for anything else. */
const char *hl_lang_name(unsigned lang);
/* "en" or "zh" (exactly) to enum hl_lang; HL_ERR_INVAL else. */
HL_MUST_CHECK int hl_lang_parse(const char *s, unsigned *lang);

enum hl_cb_type {
	HL_CB_TEXT,     /* one line of UTF-8, at most max characters */
	HL_CB_INTEGER,  /* min..max, optional unit */
	HL_CB_TIME,     /* UTC: 2026-12-01T06:00Z or 2026-12-01T06:00:30Z */
	HL_CB_WINDOW,   /* START/END, two times, END after START */
	HL_CB_POSITION, /* LAT,LON in decimal degrees */
	HL_CB_AREA,     /* circle:LAT,LON,RADIUS_KM or polygon:LAT,LON;LAT,LON;... */
	HL_CB_ENUM,     /* one of values[], each with its labels */
	HL_CB_MSGID,    /* 12 hex characters: a message's id */
};
#define HL_CB_TYPE_COUNT 8
/* "text", "integer", ...: the names the file uses. */
const char *hl_cb_type_name(unsigned type);

/* One text in every language, indexed by enum hl_lang (all NULL when an optional text is absent).
 */
struct hl_cb_text {
	const char *s[HL_LANG_COUNT];
};

struct hl_cb_value {
	const char *value; /* [a-z0-9_-], what FIELD=VALUE and the wire carry */
	struct hl_cb_text label;
};

struct hl_cb_field {
	const char *name; /* [a-z][a-z0-9_]*, at most HL_CB_NAME_MAX */
	enum hl_cb_type type;
	bool required;
	struct hl_cb_text label;
	const char *example;        /* a valid value, in the syntax FIELD=VALUE takes */
	int64_t min, max;           /* integer: the bounds; text: max is the most characters */
	struct hl_cb_text unit;     /* integer: e.g. "min" / "分钟" (or all NULL) */
	struct hl_cb_value *values; /* enum */
	size_t nvalues;
};

struct hl_cb_template {
	const char *code;    /* [A-Z][A-Z0-9_]*, at most HL_CB_CODE_MAX */
	unsigned precedence; /* enum hl_prec (msg.h): the default when sending */
	struct hl_cb_text title;
	struct hl_cb_text description; /* optional (all NULL) */
	struct hl_cb_field *fields;
	size_t nfields;
	struct hl_cb_text render; /* "{field}", "{#field}...{/field}", "{{", "}}" */
};

struct hl_codebook {
	uint8_t hash[HL_CODEBOOK_HASHLEN]; /* BLAKE2b-256 of the file: its identity */
	char hash_hex[2 * HL_CODEBOOK_HASHLEN + 1];
	const char *version;
	struct hl_cb_text name;
	struct hl_cb_template *templates;
	size_t ntemplates;
	json_t *root; /* the parsed file: owns the strings above */
};

/* The default codebook shipped with hotline (codebook/default.json), built in. */
extern const unsigned char hl_default_codebook[];
extern const size_t hl_default_codebook_len;

/*
 * Parse and check a codebook file's bytes (len at most
 * HL_CODEBOOK_FILE_MAX). On success *out is the caller's, to release with
 * hl_codebook_free. HL_ERR_INVAL with the reason in err for anything the
 * format forbids (docs/codebook.md); HL_ERR_NOMEM. Needs sodium_init().
 */
HL_MUST_CHECK int hl_codebook_parse(const void *data, size_t len, struct hl_codebook **out,
                                    char *err, size_t errcap);
/* Read the file at path and parse it; err starts with the path. Adds HL_ERR_NOTFOUND, HL_ERR_LIMIT,
 * HL_ERR_IO. */
HL_MUST_CHECK int hl_codebook_load(const char *path, struct hl_codebook **out, char *err,
                                   size_t errcap);
/* Accepts NULL. */
void hl_codebook_free(struct hl_codebook *cb);

/* The template with this code (any case), or NULL. */
const struct hl_cb_template *hl_codebook_find(const struct hl_codebook *cb, const char *code);
/* The template's field with this name, or NULL. */
const struct hl_cb_field *hl_cb_field_find(const struct hl_cb_template *t, const char *name);

/*
 * One value as an operator writes it (FIELD=VALUE) to its canonical JSON
 * value (*out, a new reference): an integer for HL_CB_INTEGER, else a
 * string in canonical form (docs/codebook.md). HL_ERR_INVAL with err
 * "field 'NAME': expected ..., got ...".
 */
HL_MUST_CHECK int hl_cb_value_parse(const struct hl_cb_field *f, const char *text, json_t **out,
                                    char *err, size_t errcap);
/*
 * Arguments "FIELD=VALUE" (argc of them) for the template with this code,
 * to the canonical fields object (*fields, a new reference; *t the
 * template). Every value is checked; every required field must be there.
 * HL_ERR_NOTFOUND for an unknown code ("unknown code 'X': see 'hotline
 * codebook list'"), HL_ERR_INVAL for anything else, with err naming the
 * field; HL_ERR_NOMEM.
 */
HL_MUST_CHECK int hl_codebook_args(const struct hl_codebook *cb, const char *code, int argc,
                                   char *const argv[], const struct hl_cb_template **t,
                                   json_t **fields, char *err, size_t errcap);
/*
 * Does fields (a JSON object) hold valid canonical values for t: known
 * fields only, every required one, each value of its type and in
 * canonical form? HL_OK, or HL_ERR_INVAL with err naming the field.
 */
HL_MUST_CHECK int hl_cb_fields_check(const struct hl_cb_template *t, const json_t *fields,
                                     char *err, size_t errcap);

/*
 * The wire body of a codebook message: the compact JSON, keys sorted,
 * {"code":"LAUNCH","codebook":"<hash hex>","fields":{...}}, sent with
 * media type HL_CODEBOOK_MEDIA. fields must pass hl_cb_fields_check
 * (HL_ERR_INVAL otherwise). *body is NUL-terminated, *len excludes the NUL;
 * release it with free(). HL_ERR_LIMIT past HL_CODEBOOK_BODY_MAX; HL_ERR_NOMEM.
 */
HL_MUST_CHECK int hl_codebook_encode(const struct hl_codebook *cb, const struct hl_cb_template *t,
                                     const json_t *fields, char **body, size_t *len);
/*
 * Parse a received body (untrusted bytes): it must be the canonical
 * encoding (what hl_codebook_encode makes, byte for byte) of a message in
 * this codebook whose fields pass hl_cb_fields_check. On success *t is
 * the template and *fields a new reference. HL_ERR_NOTFOUND when the body
 * names another codebook (the stations' codebooks differ), HL_ERR_PROTO
 * for anything else wrong; err says what. HL_ERR_NOMEM.
 */
HL_MUST_CHECK int hl_codebook_decode(const struct hl_codebook *cb, const void *body, size_t len,
                                     const struct hl_cb_template **t, json_t **fields, char *err,
                                     size_t errcap);

/*
 * Render a message in one language (enum hl_lang): the template's render
 * text with each value formatted for that language (enum labels, times in
 * UTC, positions as 32.1°N 124.5°E / 北纬32.1° 东经124.5°); sections of
 * absent optional fields are left out. The title is not included (it is
 * t->title.s[lang]). *out is NUL-terminated UTF-8, the caller frees it.
 * HL_ERR_INVAL when fields do not pass hl_cb_fields_check; HL_ERR_NOMEM.
 */
HL_MUST_CHECK int hl_codebook_render(const struct hl_cb_template *t, const json_t *fields,
                                     unsigned lang, char **out);
/* One canonical value (as in a checked fields object) formatted as render shows it. */
HL_MUST_CHECK int hl_cb_value_render(const struct hl_cb_field *f, const json_t *value,
                                     unsigned lang, char **out);

/* What a value of this field looks like, for people: "an integer from 5 to 240" (caller frees). */
char *hl_cb_field_syntax(const struct hl_cb_field *f);
/*
 * The template documented as JSON (docs/codebook.md, "show --json"): code,
 * precedence, title, description, render, and for each field its name,
 * type, required, label, syntax, example and type's parameters. A new
 * reference; NULL when out of memory.
 */
json_t *hl_cb_template_json(const struct hl_cb_template *t);

#endif
