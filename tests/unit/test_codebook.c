/* SPDX-License-Identifier: ISC */
/*
 * test_codebook.c: the codebook (src/codebook.c, docs/codebook.md): the
 * default codebook loads and every template renders in both languages
 * with its examples, each rendering showing every value; bad values are
 * refused naming the field; the wire body round-trips and a tampered one
 * is refused; malformed codebook files are refused with a clear error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "codebook.h"
#include "config.h"
#include "msg.h"
#include "t.h"

static struct hl_codebook *cb;
static char err[HL_CB_ERR_MAX];

/* Parse FIELD=VALUE arguments (a NULL-terminated list) for code. */
static int
args(const char *code, const char *const *a, const struct hl_cb_template **t, json_t **fields)
{
	int n = 0;

	while (a[n])
		n++;
	return hl_codebook_args(cb, code, n, (char *const *)(uintptr_t)a, t, fields, err,
	                        sizeof err);
}

/* Arguments for code must be refused, with an error containing each of want (NULL-ended). */
static void
refused(const char *code, const char *const *a, const char *want1, const char *want2)
{
	const struct hl_cb_template *t;
	json_t *fields;
	int rc = args(code, a, &t, &fields);

	T_OK(rc < 0 && fields == NULL && strstr(err, want1) && (!want2 || strstr(err, want2)),
	     "%s refused: \"%s\"", code, err);
	json_decref(fields);
}

/* One value of field (of code) must become canon (a JSON string). */
static void
canonical(const char *code, const char *field, const char *in, const char *canon)
{
	const struct hl_cb_field *f = hl_cb_field_find(hl_codebook_find(cb, code), field);
	json_t *v = NULL;
	int rc = f ? hl_cb_value_parse(f, in, &v, err, sizeof err) : HL_ERR_NOTFOUND;

	T_OK(rc == HL_OK && json_is_string(v) && strcmp(json_string_value(v), canon) == 0,
	     "%s=%s becomes %s (got %s, err \"%s\")", field, in, canon,
	     v && json_is_string(v) ? json_string_value(v) : "?", err);
	json_decref(v);
}

#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static const char *const codes[] = {"LINK_TEST", "CALL_REQUEST", "LAUNCH", "ENCOUNTER",  "INCIDENT",
                                    "CLARIFY",   "TALKS",        "REPLY",  "UNDERSTOOD", "SAR"};

static void
test_default_loads(void)
{
	uint8_t h[HL_CODEBOOK_HASHLEN];
	char hex[2 * HL_CODEBOOK_HASHLEN + 1];
	int rc;

	rc = hl_codebook_parse(hl_default_codebook, hl_default_codebook_len, &cb, err, sizeof err);
	T_OK(rc == HL_OK && cb, "the default codebook loads (err \"%s\")", err);
	if (!cb)
		exit(t_done());
	T_OK(hl_default_codebook[hl_default_codebook_len] == '\0', "the embedded copy ends in NUL");
	crypto_generichash(h, sizeof h, hl_default_codebook, hl_default_codebook_len, NULL, 0);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	T_OK(memcmp(cb->hash, h, sizeof h) == 0 && strcmp(cb->hash_hex, hex) == 0,
	     "its identity is BLAKE2b-256 of the file's bytes");
	T_OK(strcmp(cb->version, "2026.1") == 0, "version 2026.1");
	T_OK(cb->ntemplates >= ARRAY_SIZE(codes), "%zu templates", cb->ntemplates);
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		const struct hl_cb_template *t = hl_codebook_find(cb, codes[i]);
		T_OK(t && t->title.s[HL_LANG_EN] && t->title.s[HL_LANG_ZH] &&
		         t->description.s[HL_LANG_EN] && t->description.s[HL_LANG_ZH],
		     "template %s is there, titled in both languages", codes[i]);
	}
	T_OK(hl_codebook_find(cb, "launch") == hl_codebook_find(cb, "LAUNCH"),
	     "codes are found in any case");
	T_OK(hl_codebook_find(cb, "NOPE") == NULL, "an unknown code is not found");
	T_OK(strcmp(hl_codebook_find(cb, "LAUNCH")->title.s[HL_LANG_ZH],
	            "弹道导弹或航天发射通报") == 0,
	     "LAUNCH's Chinese title");
	T_EQ_INT(hl_codebook_find(cb, "ENCOUNTER")->precedence, HL_PREC_FLASH,
	         "ENCOUNTER defaults to FLASH");
}

/* Has s some CJK ideograph (U+4E00..U+9FFF: lead bytes E4..E9)? */
static bool
has_cjk(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s >= 0xe4 && (uint8_t)*s <= 0xe9)
			return true;
	return false;
}

/* Render t with fields in both languages; every value present must show as rendered. */
static void
check_renders(const struct hl_cb_template *t, json_t *fields, const char *what)
{
	for (unsigned lang = 0; lang < HL_LANG_COUNT; lang++) {
		char *r = NULL, *v;
		size_t missing = 0;
		int rc = hl_codebook_render(t, fields, lang, &r);

		T_OK(rc == HL_OK && r && *r, "%s %s renders in %s", t->code, what,
		     hl_lang_name(lang));
		if (!r)
			continue;
		for (size_t i = 0; i < t->nfields; i++) {
			json_t *val = json_object_get(fields, t->fields[i].name);
			if (!val)
				continue;
			if (hl_cb_value_render(&t->fields[i], val, lang, &v) != HL_OK ||
			    !strstr(r, v)) {
				printf("# %s: field %s (%s) not in:\n# %s\n", t->code,
				       t->fields[i].name, v ? v : "?", r);
				missing++;
			}
			free(v);
		}
		T_OK(missing == 0, "%s %s in %s shows every field's value", t->code, what,
		     hl_lang_name(lang));
		T_OK(!strchr(r, '{') && !strchr(r, '}'), "%s %s in %s: no placeholder left",
		     t->code, what, hl_lang_name(lang));
		T_OK(lang == HL_LANG_ZH ? has_cjk(r) : !has_cjk(r), "%s %s: %s text", t->code, what,
		     lang == HL_LANG_ZH ? "Chinese" : "no Chinese in the English");
		free(r);
	}
}

static void
test_every_template_renders(void)
{
	for (size_t i = 0; i < cb->ntemplates; i++) {
		const struct hl_cb_template *t = &cb->templates[i];
		const char *a[HL_CB_FIELDS_MAX + 1] = {NULL}, *req[HL_CB_FIELDS_MAX + 1] = {NULL};
		char buf[HL_CB_FIELDS_MAX][600];
		const struct hl_cb_template *got;
		json_t *fields = NULL;
		size_t nreq = 0;
		int rc;

		for (size_t k = 0; k < t->nfields; k++) {
			snprintf(buf[k], sizeof buf[k], "%s=%s", t->fields[k].name,
			         t->fields[k].example);
			a[k] = buf[k];
			if (t->fields[k].required)
				req[nreq++] = buf[k];
		}
		rc = args(t->code, a, &got, &fields);
		T_OK(rc == HL_OK && got == t, "%s: every example is valid (err \"%s\")", t->code,
		     err);
		T_EQ_INT(json_object_size(fields), t->nfields, "every field has a value");
		check_renders(t, fields, "with every field");
		json_decref(fields);
		rc = args(t->code, req, &got, &fields);
		T_OK(rc == HL_OK, "%s: required fields alone are enough (err \"%s\")", t->code,
		     err);
		check_renders(t, fields, "with required fields only");
		json_decref(fields);
	}
}

/* Render code with arguments a in lang and check it contains each wanted text. */
static void
renders_as(const char *code, const char *const *a, unsigned lang, const char *const *want)
{
	const struct hl_cb_template *t;
	json_t *fields;
	char *r = NULL;

	if (args(code, a, &t, &fields) < 0 || hl_codebook_render(t, fields, lang, &r) < 0) {
		T_OK(0, "%s renders (err \"%s\")", code, err);
		return;
	}
	for (size_t i = 0; want[i]; i++)
		T_OK(strstr(r, want[i]) != NULL, "%s in %s shows \"%s\"", code, hl_lang_name(lang),
		     want[i]);
	free(r);
	json_decref(fields);
}

static void
test_renderings(void)
{
	static const char *const launch[] = {
	    "vehicle=icbm", "window=2026-12-01T06:00Z/2026-12-01T09:00:30Z",
	    "launch_area=circle:20,150,25.5",
	    "impact_area=polygon:10.5,170.2;-10.5,-172.8;8.1,172.8", NULL};
	static const char *const clarify[] = {"message=3FA2C4D5E6F7",
	                                      "question=Which {window} do you mean?", NULL};
	static const char *const sar[] = {"kind=medical_evacuation",
	                                  "time=2026-12-01T04:30Z",
	                                  "position=-12.25,-160.5",
	                                  "situation=s",
	                                  "assistance=a",
	                                  "persons=3",
	                                  NULL};
	static const char *const call[] = {"medium=phone", "level=working",
	                                   "proposed_time=2026-12-01T06:00Z", "duration=30", NULL};
	const struct hl_cb_template *t;
	json_t *fields = NULL;
	char *r = NULL;
	int rc;

	renders_as("LAUNCH", launch, HL_LANG_EN,
	           (const char *const[]){
	               "Vehicle class: intercontinental ballistic missile",
	               "Launch window: 2026-12-01 06:00 to 2026-12-01 09:00:30 UTC",
	               "Launch area: circle of radius 25.5 km centred on 20°N 150°E",
	               "Impact area: polygon with vertices 10.5°N 170.2°E; 10.5°S 172.8°W; "
	               "8.1°N 172.8°E",
	               NULL});
	renders_as("LAUNCH", launch, HL_LANG_ZH,
	           (const char *const[]){
	               "飞行器类别：洲际弹道导弹",
	               "发射窗口：2026年12月1日6时00分至2026年12月1日9时00分30秒（协调世界时）",
	               "发射区域：以北纬20° 东经150°为圆心、半径25.5公里的圆形区域",
	               "落区：由北纬10.5° 东经170.2°、南纬10.5° 西经172.8°、北纬8.1° "
	               "东经172.8°各点依次连线围成的多边形区域",
	               NULL});
	renders_as("SAR", sar, HL_LANG_EN,
	           (const char *const[]){"Request for medical evacuation.",
	                                 "Position: 12.25°S 160.5°W", "Persons involved: 3", NULL});
	renders_as("SAR", sar, HL_LANG_ZH,
	           (const char *const[]){"请求医疗后送。", "位置：南纬12.25° 西经160.5°",
	                                 "时间：2026年12月1日4时30分（协调世界时）", NULL});
	renders_as("CALL_REQUEST", call, HL_LANG_EN,
	           (const char *const[]){"We request a telephone call at working level, proposed "
	                                 "for 2026-12-01 06:00 UTC.",
	                                 "Expected duration: 30 min", NULL});
	renders_as("CALL_REQUEST", call, HL_LANG_ZH,
	           (const char *const[]){
	               "我方请求于2026年12月1日6时00分（协调世界时）举行工作层级电话通话。",
	               "预计时长：30分钟", NULL});

	/* One rendering whole: a value is never expanded again, the msgid is canonical. */
	rc = args("CLARIFY", clarify, &t, &fields);
	if (rc == HL_OK)
		rc = hl_codebook_render(t, fields, HL_LANG_EN, &r);
	if (rc == HL_OK) {
		T_OK(strcmp(r, "We request clarification of your message 3fa2c4d5e6f7.\n"
		               "Question: Which {window} do you mean?") == 0,
		     "CLARIFY in English, whole");
		free(r);
		rc = hl_codebook_render(t, fields, HL_LANG_ZH, &r);
		T_OK(rc == HL_OK && strcmp(r, "请贵方就3fa2c4d5e6f7号电文予以澄清。\n"
		                              "问题：Which {window} do you mean?") == 0,
		     "CLARIFY in Chinese, whole");
		free(r);
		rc = hl_codebook_render(t, fields, 7, &r);
		T_OK(rc == HL_ERR_INVAL && r == NULL, "an unknown language is refused");
		json_decref(fields);
	} else {
		T_OK(0, "CLARIFY parses (err \"%s\")", err);
		json_decref(fields);
	}
}

static void
test_canonical_values(void)
{
	canonical("LAUNCH", "window", "2026-12-01T06:00:00Z/2026-12-01T09:00:30Z",
	          "2026-12-01T06:00Z/2026-12-01T09:00:30Z");
	canonical("ENCOUNTER", "time", "2028-02-29T23:59:59Z", "2028-02-29T23:59:59Z");
	canonical("ENCOUNTER", "time", "2000-02-29T00:00:00Z", "2000-02-29T00:00Z");
	canonical("ENCOUNTER", "position", "32.10,-000.500000", "32.1,-0.5");
	canonical("ENCOUNTER", "position", "-0.0,180", "0,180");
	canonical("ENCOUNTER", "position", "-90,-180", "-90,-180");
	canonical("ENCOUNTER", "position", "0.000001,-0.000001", "0.000001,-0.000001");
	canonical("LAUNCH", "launch_area", "circle:20.000,150,25.500", "circle:20,150,25.5");
	canonical("LAUNCH", "launch_area", "circle:0,0,0.001", "circle:0,0,0.001");
	canonical("LAUNCH", "launch_area", "circle:0,0,20000", "circle:0,0,20000");
	canonical("LAUNCH", "impact_area", "polygon:1.0,2;3,4.50;5,6", "polygon:1,2;3,4.5;5,6");
	canonical("LAUNCH", "vehicle", "ICBM", "icbm");
	canonical("CLARIFY", "message", "ABCDEF012345", "abcdef012345");
	canonical("CLARIFY", "question", "漢字 and text, 1 line", "漢字 and text, 1 line");
	{
		char poly[2048] = "polygon:";
		for (int i = 0; i < HL_CB_VERTICES_MAX; i++)
			snprintf(poly + strlen(poly), sizeof poly - strlen(poly), "%s%d,%d",
			         i ? ";" : "", i % 90, i);
		canonical("LAUNCH", "impact_area", poly, poly);
	}
	{
		const struct hl_cb_field *f =
		    hl_cb_field_find(hl_codebook_find(cb, "LINK_TEST"), "serial");
		json_t *v = NULL;
		int rc = f ? hl_cb_value_parse(f, "999999", &v, err, sizeof err) : -1;
		T_OK(rc == HL_OK && json_is_integer(v) && json_integer_value(v) == 999999,
		     "an integer travels as a JSON integer");
		json_decref(v);
	}
}

static void
test_refusals(void)
{
	refused("ENCOUNTER",
	        (const char *const[]){"domain=sea", "time=2026-12-01T06:10Z", "position=95,124.5",
	                              NULL},
	        "field 'position': expected a latitude from -90 to 90", "got '95'");
	refused("ENCOUNTER", (const char *const[]){"position=32,181", NULL},
	        "field 'position': expected a longitude from -180 to 180", "got '181'");
	refused("ENCOUNTER", (const char *const[]){"position=32.1", NULL}, "field 'position'",
	        "LAT,LON");
	refused("ENCOUNTER", (const char *const[]){"position=32.1, 124.5", NULL},
	        "field 'position'", "longitude");
	refused("ENCOUNTER", (const char *const[]){"position=32.1234567,124.5", NULL},
	        "field 'position'", "at most 6 decimals");
	refused("ENCOUNTER", (const char *const[]){"position=+32,124", NULL}, "field 'position'",
	        NULL);
	refused("ENCOUNTER", (const char *const[]){"position=1e1,124", NULL}, "field 'position'",
	        NULL);
	refused("LAUNCH",
	        (const char *const[]){"vehicle=icbm", "window=2026-12-01T09:00Z/2026-12-01T06:00Z",
	                              NULL},
	        "field 'window': the end 2026-12-01T06:00Z is not after the start", NULL);
	refused("LAUNCH", (const char *const[]){"window=2026-12-01T06:00Z/2026-12-01T06:00Z", NULL},
	        "field 'window'", "not after");
	refused("LAUNCH", (const char *const[]){"window=2026-12-01T06:00Z", NULL}, "field 'window'",
	        "START/END");
	refused("LAUNCH", (const char *const[]){"window=2026-12-01T06:00Z/2026-12-01T25:00Z", NULL},
	        "field 'window': end:", NULL);
	refused("LAUNCH", (const char *const[]){"vehicle=rocket", NULL},
	        "field 'vehicle': expected one of icbm, slbm", "got 'rocket'");
	refused("LAUNCH",
	        (const char *const[]){"vehicle=icbm", "launch_area=circle:1,2,3",
	                              "impact_area=circle:1,2,3", NULL},
	        "missing required field 'window'", "e.g. window=2026-12-01T06:00Z/");
	refused("NOPE", (const char *const[]){NULL},
	        "unknown code 'NOPE': see 'hotline codebook list'", NULL);
	refused("LAUNCH", (const char *const[]){"foo=1", NULL},
	        "unknown field 'foo' for LAUNCH: fields are vehicle, count, window, launch_area, "
	        "impact_area, remarks",
	        NULL);
	refused("LAUNCH", (const char *const[]){"vehicle", NULL}, "'vehicle' is not FIELD=VALUE",
	        NULL);
	refused("LAUNCH", (const char *const[]){"=icbm", NULL}, "is not FIELD=VALUE", NULL);
	refused("LAUNCH", (const char *const[]){"vehicle=icbm", "vehicle=slbm", NULL},
	        "field 'vehicle' is given twice", NULL);
	refused("LAUNCH", (const char *const[]){"vehicle=", NULL}, "field 'vehicle'",
	        "got nothing");
	refused("LAUNCH", (const char *const[]){"count=0", NULL},
	        "field 'count': expected an integer from 1 to 100, got '0'", NULL);
	refused("LAUNCH", (const char *const[]){"count=101", NULL}, "field 'count'", "got '101'");
	refused("LAUNCH", (const char *const[]){"count=1.5", NULL}, "field 'count'", NULL);
	refused("LAUNCH", (const char *const[]){"count=99999999999999999999", NULL},
	        "field 'count'", NULL);
	refused("LAUNCH", (const char *const[]){"launch_area=circle:20,150,0", NULL},
	        "field 'launch_area'", "radius");
	refused("LAUNCH", (const char *const[]){"launch_area=circle:20,150,20000.001", NULL},
	        "field 'launch_area'", "radius");
	refused("LAUNCH", (const char *const[]){"launch_area=circle:91,150,5", NULL},
	        "field 'launch_area': circle centre: expected a latitude", NULL);
	refused("LAUNCH", (const char *const[]){"launch_area=circle:20,150", NULL},
	        "field 'launch_area'", NULL);
	refused("LAUNCH", (const char *const[]){"launch_area=square:1,2,3", NULL},
	        "field 'launch_area': expected an area circle:", NULL);
	refused("LAUNCH", (const char *const[]){"impact_area=polygon:1,2;3,4", NULL},
	        "field 'impact_area': a polygon needs 3 to 64 vertices", "got 2");
	refused("LAUNCH", (const char *const[]){"impact_area=polygon:1,2;3,4;5,6;1,2", NULL},
	        "field 'impact_area'", "do not repeat the first vertex");
	refused("LAUNCH", (const char *const[]){"impact_area=polygon:1,2;3,4;3,4;5,6", NULL},
	        "field 'impact_area': vertices 2 and 3 are the same point", NULL);
	refused("LAUNCH", (const char *const[]){"impact_area=polygon:1,2;3,4;5,-181", NULL},
	        "field 'impact_area': vertex 3: expected a longitude", NULL);
	refused("LAUNCH", (const char *const[]){"impact_area=polygon:1,2;;5,6", NULL},
	        "field 'impact_area': vertex 2", NULL);
	{
		char poly[2048] = "impact_area=polygon:";
		const char *a[] = {poly, NULL};
		for (int i = 0; i <= HL_CB_VERTICES_MAX; i++)
			snprintf(poly + strlen(poly), sizeof poly - strlen(poly), "%s%d,%d",
			         i ? ";" : "", i % 90, i);
		refused("LAUNCH", a, "field 'impact_area': a polygon needs 3 to 64", "got 65");
	}
	refused("ENCOUNTER", (const char *const[]){"time=2026-02-29T06:00Z", NULL}, "field 'time'",
	        "UTC time");
	refused("ENCOUNTER", (const char *const[]){"time=2100-02-29T06:00Z", NULL}, "field 'time'",
	        NULL);
	refused("ENCOUNTER", (const char *const[]){"time=2026-12-01T06:00z", NULL}, "field 'time'",
	        NULL);
	refused("ENCOUNTER", (const char *const[]){"time=2026-12-01 06:00Z", NULL}, "field 'time'",
	        NULL);
	refused("ENCOUNTER", (const char *const[]){"time=2026-12-01T06:60Z", NULL}, "field 'time'",
	        NULL);
	refused("ENCOUNTER", (const char *const[]){"time=2026-12-01T06:00:60Z", NULL},
	        "field 'time'", NULL);
	refused("ENCOUNTER", (const char *const[]){"time=1969-12-31T23:59Z", NULL}, "field 'time'",
	        NULL);
	refused("ENCOUNTER", (const char *const[]){"time=2026-12-01T06:00+08:00", NULL},
	        "field 'time'", NULL);
	refused("CLARIFY", (const char *const[]){"message=3fa2c4d5e6f", NULL}, "field 'message'",
	        "12 hexadecimal");
	refused("CLARIFY", (const char *const[]){"message=3fa2c4d5e6fg", NULL}, "field 'message'",
	        NULL);
	refused("CLARIFY", (const char *const[]){"message=3fa2c4d5e6f7", "question=", NULL},
	        "field 'question': expected one line of text, got nothing", NULL);
	refused("CLARIFY", (const char *const[]){"question=two\nlines", NULL}, "field 'question'",
	        "line breaks");
	refused("CLARIFY", (const char *const[]){"question=bad \xff utf-8", NULL},
	        "field 'question'", "UTF-8");
	{
		char longq[1100] = "question=";
		const char *a[] = {longq, NULL};
		memset(longq + 9, 'x', 1001);
		refused("CLARIFY", a, "field 'question': expected at most 1000 characters",
		        "got 1001");
		/* 1000 Chinese characters are 3000 bytes, and allowed: characters count. */
		char zh[3100] = "question=";
		const char *b[] = {"message=3fa2c4d5e6f7", zh, NULL};
		const struct hl_cb_template *t;
		json_t *fields;
		for (int i = 0; i < 1000; i++)
			strcat(zh, "字");
		int rc = args("CLARIFY", b, &t, &fields);
		T_OK(rc == HL_OK, "1000 Chinese characters fit a 1000-character field (err \"%s\")",
		     err);
		json_decref(fields);
	}
}

static void
test_wire(void)
{
	static const char *const clarify[] = {"message=3fa2c4d5e6f7", "question=Which one?", NULL};
	static const char *const test[] = {"serial=17", NULL};
	const struct hl_cb_template *t, *got;
	json_t *fields, *back;
	char *body = NULL, want[512], *tampered;
	size_t len;
	int rc;

	if (args("CLARIFY", clarify, &t, &fields) < 0) {
		T_OK(0, "CLARIFY parses");
		return;
	}
	rc = hl_codebook_encode(cb, t, fields, &body, &len);
	snprintf(
	    want, sizeof want,
	    "{\"code\":\"CLARIFY\",\"codebook\":\"%s\",\"fields\":{\"message\":\"3fa2c4d5e6f7\","
	    "\"question\":\"Which one?\"}}",
	    cb->hash_hex);
	T_OK(rc == HL_OK && body && strcmp(body, want) == 0 && len == strlen(want),
	     "the body is compact JSON, keys sorted: %s", body ? body : "?");
	rc = hl_codebook_decode(cb, body, len, &got, &back, err, sizeof err);
	T_OK(rc == HL_OK && got == t && json_equal(back, fields),
	     "the body decodes to the same "
	     "values (err \"%s\")",
	     err);
	json_decref(back);
	free(body);
	json_decref(fields);

	/* Every template with every example round-trips. */
	for (size_t i = 0; i < cb->ntemplates; i++) {
		const struct hl_cb_template *tt = &cb->templates[i];
		json_t *f = json_object(), *v;
		for (size_t k = 0; k < tt->nfields; k++)
			if (hl_cb_value_parse(&tt->fields[k], tt->fields[k].example, &v, NULL, 0) ==
			    HL_OK)
				json_object_set_new(f, tt->fields[k].name, v);
		rc = hl_codebook_encode(cb, tt, f, &body, &len);
		back = NULL;
		if (rc == HL_OK)
			rc = hl_codebook_decode(cb, body, len, &got, &back, err, sizeof err);
		T_OK(rc == HL_OK && got == tt && json_equal(back, f), "%s round-trips (err \"%s\")",
		     tt->code, err);
		json_decref(back);
		json_decref(f);
		free(body);
	}

	rc = args("LINK_TEST", test, &t, &fields);
	T_OK(rc == HL_OK, "LINK_TEST parses");
	json_object_set_new(fields, "serial", json_string("17"));
	rc = hl_codebook_encode(cb, t, fields, &body, &len);
	T_OK(rc == HL_ERR_INVAL && !body, "encode refuses values that do not check");
	json_decref(fields);

	/* Tampered bodies. */
	struct {
		const char *body; /* @: this codebook's hash */
		int rc;
		const char *want;
	} bad[] = {
	    {"{\"code\":\"CLARIFY\",\"codebook\":\"@\",\"fields\":{\"foo\":\"x\",\"message\":"
	     "\"3fa2c4d5e6f7\",\"question\":\"q\"}}",
	     HL_ERR_PROTO, "unknown field 'foo' for CLARIFY"},
	    {"{\"code\":\"LINK_TEST\",\"codebook\":\"@\",\"fields\":{\"serial\":\"17\"}}",
	     HL_ERR_PROTO, "field 'serial': expected a JSON integer"},
	    {"{\"code\":\"LINK_TEST\",\"codebook\":\"@\",\"fields\":{\"serial\":17.0}}",
	     HL_ERR_PROTO, "field 'serial': expected a JSON integer"},
	    {"{\"code\":\"LINK_TEST\",\"codebook\":\"@\",\"fields\":{\"serial\":1000000}}",
	     HL_ERR_PROTO, "field 'serial': expected an integer from 1 to 999999"},
	    {"{\"code\":\"CLARIFY\",\"codebook\":\"@\",\"fields\":{\"message\":3,\"question\":"
	     "\"q\"}}",
	     HL_ERR_PROTO, "field 'message': expected a JSON string"},
	    {"{\"code\":\"CLARIFY\",\"codebook\":\"@\",\"fields\":{\"message\":\"3FA2C4D5E6F7\","
	     "\"question\":\"q\"}}",
	     HL_ERR_PROTO, "not in canonical form"},
	    {"{\"code\":\"CLARIFY\",\"codebook\":\"@\",\"fields\":{\"question\":\"q\"}}",
	     HL_ERR_PROTO, "missing required field 'message'"},
	    {"{\"code\":\"ENCOUNTER\",\"codebook\":\"@\",\"fields\":{\"domain\":\"sea\","
	     "\"intentions\":\"i\",\"observed_units\":\"o\",\"own_units\":\"u\",\"position\":"
	     "\"95,1\",\"request\":\"none\",\"time\":\"2026-12-01T06:10Z\"}}",
	     HL_ERR_PROTO, "field 'position': expected a latitude from -90 to 90"},
	    {"{\"code\":\"ENCOUNTER\",\"codebook\":\"@\",\"fields\":{\"domain\":\"land\"}}",
	     HL_ERR_PROTO, "field 'domain': expected one of sea, air"},
	    {"{\"code\":\"NOPE\",\"codebook\":\"@\",\"fields\":{}}", HL_ERR_PROTO,
	     "unknown code 'NOPE'"},
	    {"{\"code\":\"launch\",\"codebook\":\"@\",\"fields\":{}}", HL_ERR_PROTO,
	     "unknown code 'launch'"},
	    {"{\"code\":\"LINK_TEST\",\"codebook\":\"@\",\"extra\":1,\"fields\":{\"serial\":1}}",
	     HL_ERR_PROTO, "unknown key 'extra'"},
	    {"{\"code\":\"LINK_TEST\",\"codebook\":\"@\"}", HL_ERR_PROTO, "needs"},
	    {"{\"code\":\"LINK_TEST\",\"codebook\":\"@\",\"fields\":[]}", HL_ERR_PROTO, "needs"},
	    {"{\"codebook\":\"@\",\"code\":\"LINK_TEST\",\"fields\":{\"serial\":1}}", HL_ERR_PROTO,
	     "not in canonical form"},
	    {"{\"code\": \"LINK_TEST\",\"codebook\":\"@\",\"fields\":{\"serial\":1}}", HL_ERR_PROTO,
	     "not in canonical form"},
	    {"{\"code\":\"LINK_TEST\",\"codebook\":\"@\",\"fields\":{\"serial\":1}}\n",
	     HL_ERR_PROTO, "not in canonical form"},
	    {"{\"code\":\"LINK_TEST\",\"code\":\"LINK_TEST\",\"codebook\":\"@\",\"fields\":{"
	     "\"serial\":1}}",
	     HL_ERR_PROTO, "not JSON"},
	    {"{\"code\":\"LINK_TEST\",\"codebook\":\"" ZEROS "\",\"fields\":{\"serial\":1}}",
	     HL_ERR_NOTFOUND, "codebook mismatch"},
	    {"[\"@\"]", HL_ERR_PROTO, "not a JSON object"},
	    {"not json", HL_ERR_PROTO, "not JSON"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char b[1024] = "";
		const char *at = strchr(bad[i].body, '@');
		if (at)
			snprintf(b, sizeof b, "%.*s%s%s", (int)(at - bad[i].body), bad[i].body,
			         cb->hash_hex, at + 1);
		else
			snprintf(b, sizeof b, "%s", bad[i].body);
		back = NULL;
		rc = hl_codebook_decode(cb, b, strlen(b), &got, &back, err, sizeof err);
		T_OK(rc == bad[i].rc && back == NULL && got == NULL && strstr(err, bad[i].want),
		     "tampered body %zu refused (rc %d, err \"%s\")", i, rc, err);
		json_decref(back);
	}
	{
		/* A body past the limit is refused before it is parsed. */
		size_t big = HL_CODEBOOK_BODY_MAX + 1;
		tampered = malloc(big);
		memset(tampered, ' ', big);
		rc = hl_codebook_decode(cb, tampered, big, &got, &back, err, sizeof err);
		T_OK(rc == HL_ERR_PROTO && strstr(err, "larger than"),
		     "an oversized body is refused");
		/* A valid body cut short. */
		rc = hl_codebook_decode(cb, want, strlen(want) - 1, &got, &back, err, sizeof err);
		T_OK(rc == HL_ERR_PROTO, "a truncated body is refused");
		/* A NUL inside a string. */
		memcpy(tampered, want, strlen(want));
		tampered[strchr(want, 'W') - want] = '\0';
		rc = hl_codebook_decode(cb, tampered, strlen(want), &got, &back, err, sizeof err);
		T_OK(rc == HL_ERR_PROTO, "a NUL byte in a value is refused (err \"%s\")", err);
		free(tampered);
	}
}

/* A codebook with one template T: fields and render given, everything else fixed. */
static char *
one_template(const char *fields, const char *render_en, const char *render_zh)
{
	static char text[8192];

	snprintf(text, sizeof text,
	         "{\"format\":\"hotline-codebook-v1\",\"version\":\"1\",\"name\":{\"en\":\"t\","
	         "\"zh\":\"测试\"},\"templates\":[{\"code\":\"T\",\"precedence\":\"routine\","
	         "\"title\":{\"en\":\"Test\",\"zh\":\"测试\"},\"fields\":[%s],\"render\":{\"en\":"
	         "\"%s\",\"zh\":\"%s\"}}]}",
	         fields, render_en, render_zh);
	return text;
}

#define F_NOTE                                                                                     \
	"{\"name\":\"note\",\"type\":\"text\",\"required\":false,\"label\":{\"en\":\"n\","         \
	"\"zh\":\"注\"},\"example\":\"x\"}"
#define F_N                                                                                        \
	"{\"name\":\"n\",\"type\":\"integer\",\"required\":true,\"min\":1,\"max\":9,\"label\":{"   \
	"\"en\":\"n\",\"zh\":\"数\"},\"example\":\"3\"}"

static void
bad_codebook(const char *text, const char *want, const char *what)
{
	struct hl_codebook *c = NULL;
	int rc = hl_codebook_parse(text, strlen(text), &c, err, sizeof err);

	T_OK(rc == HL_ERR_INVAL && c == NULL && strstr(err, want), "%s refused: \"%s\"", what, err);
	hl_codebook_free(c);
}

static void
test_malformed_codebooks(void)
{
	struct hl_codebook *c;
	char text[8192];
	int rc;

	rc = hl_codebook_parse(
	    one_template(F_N "," F_NOTE, "{{n}} is {n}{#note}, note {note}{/note}",
	                 "{n}{#note}：{note}{/note}"),
	    strlen(one_template(F_N "," F_NOTE, "{{n}} is {n}{#note}, note {note}{/note}",
	                        "{n}{#note}：{note}{/note}")),
	    &c, err, sizeof err);
	T_OK(rc == HL_OK, "a small codebook loads (err \"%s\")", err);
	if (rc == HL_OK) {
		const struct hl_cb_template *t = hl_codebook_find(c, "T");
		json_t *f = json_pack("{s:I}", "n", (json_int_t)4);
		char *r = NULL;
		rc = hl_codebook_render(t, f, HL_LANG_EN, &r);
		T_OK(rc == HL_OK && strcmp(r, "{n} is 4") == 0,
		     "{{ and }} are braces; an absent optional section is left out: \"%s\"",
		     r ? r : "?");
		free(r);
		json_object_set_new(f, "note", json_string("hi"));
		rc = hl_codebook_render(t, f, HL_LANG_EN, &r);
		T_OK(rc == HL_OK && strcmp(r, "{n} is 4, note hi") == 0,
		     "a present optional section is shown");
		free(r);
		json_decref(f);
		hl_codebook_free(c);
	}

	bad_codebook("", "not valid JSON", "an empty file");
	bad_codebook("{\"format\":", "not valid JSON: line 1", "truncated JSON");
	bad_codebook("[]", "one JSON object", "an array");
	bad_codebook("{\"format\":\"hotline-codebook-v2\"}",
	             "\"format\" must be \"hotline-codebook-v1\"", "another format");
	bad_codebook("{\"format\":\"hotline-codebook-v1\",\"format\":\"hotline-codebook-v1\"}",
	             "not valid JSON", "a duplicate key");
	bad_codebook("{\"format\":\"hotline-codebook-v1\",\"version\":\"1\",\"name\":{\"en\":\"a\","
	             "\"zh\":\"b\"},\"templates\":[]}",
	             "\"templates\" must be an array of 1 to 256", "no templates");
	bad_codebook(
	    "{\"format\":\"hotline-codebook-v1\",\"version\":\"1 0\",\"name\":{\"en\":\"a\","
	    "\"zh\":\"b\"},\"templates\":[]}",
	    "\"version\" must be", "a version with a space");
	bad_codebook(
	    "{\"format\":\"hotline-codebook-v1\",\"version\":\"1\",\"name\":{\"en\":\"a\"},"
	    "\"templates\":[]}",
	    "\"name\": missing the \"zh\" text", "a name without Chinese");
	bad_codebook("{\"format\":\"hotline-codebook-v1\",\"versoin\":\"1\"}",
	             "unknown key \"versoin\" in the codebook", "a misspelt key");

	snprintf(text, sizeof text, "%s", one_template(F_N, "{n}", "{n}"));
	*strstr(text, "\"zh\":\"测试\"},\"fields\"") = '\0';
	strcat(text, "\"fr\":\"Essai\",\"zh\":\"测试\"},\"fields\":[" F_N "],\"render\":{\"en\":"
	             "\"{n}\",\"zh\":\"{n}\"}}]}");
	/* The title now has a third language. */
	bad_codebook(text, "template T: \"title\": unknown language \"fr\"", "a third language");

	bad_codebook(one_template(F_N, "{n}",
	                          "{n}"
	                          "\\u0007"),
	             "render\".zh contains a control", "a control character in a render");
	bad_codebook(one_template(F_N, "{n}", "{m}"),
	             "template T: render.zh: {m} names no field of T",
	             "a placeholder naming no field");
	bad_codebook(one_template(F_N, "{n}", "{n"), "render.zh, at byte 0: expected {FIELD}",
	             "an unterminated placeholder");
	bad_codebook(one_template(F_N, "{n} }", "{n}"), "render.en, at byte 4", "a lone brace");
	bad_codebook(one_template(F_N, "{N}", "{n}"), "render.en", "an upper-case placeholder");
	bad_codebook(one_template(F_N, "n", "{n}"), "template T: render.en does not show field 'n'",
	             "a field missing from the English render");
	bad_codebook(one_template(F_N "," F_NOTE, "{n}{#note}{note}{/note}", "{n}{#note}{note}"),
	             "render.zh: {#note} is never closed", "an unclosed section");
	bad_codebook(one_template(F_N "," F_NOTE, "{n}{#note}{note}{/note}", "{n}{note}"),
	             "render.zh: optional field 'note' must be inside {#note}...{/note}",
	             "an optional field outside its section");
	bad_codebook(one_template(F_N "," F_NOTE, "{n}{#note}{note}{/note}",
	                          "{#note}{#note}{note}{/note}{/note}{n}"),
	             "sections do not nest", "nested sections");
	bad_codebook(one_template(F_N "," F_NOTE, "{n}{#note}{note}{/note}",
	                          "{n}{/note}{#note}{note}{/note}"),
	             "{/note} closes no open {#note}", "a close without an open");
	bad_codebook(one_template(F_N "," F_NOTE, "{n}{#note}{note}{/note}",
	                          "{#n}{n}{/n}{#note}{note}{/note}"),
	             "{#n}: 'n' is required", "a section for a required field");
	bad_codebook(one_template(F_N "," F_N, "{n}", "{n}"),
	             "template T: two fields are named 'n'", "two fields with one name");
	bad_codebook(one_template("{\"name\":\"w\",\"type\":\"windw\",\"required\":true,\"label\":{"
	                          "\"en\":\"w\",\"zh\":\"窗\"},\"example\":\"x\"}",
	                          "{w}", "{w}"),
	             "template T: field 'w': unknown type 'windw'", "an unknown type");
	bad_codebook(
	    one_template("{\"name\":\"w\",\"type\":\"window\",\"required\":true,\"label\":{"
	                 "\"en\":\"w\",\"zh\":\"窗\"},\"example\":"
	                 "\"2026-12-01T09:00Z/2026-12-01T06:00Z\"}",
	                 "{w}", "{w}"),
	    "template T: field 'w': bad example: the end 2026-12-01T06:00Z is not after",
	    "an invalid example");
	bad_codebook(
	    one_template("{\"name\":\"w\",\"type\":\"window\",\"required\":true,\"label\":{"
	                 "\"en\":\"w\",\"zh\":\"窗\"}}",
	                 "{w}", "{w}"),
	    "field 'w': missing \"example\"", "a field without an example");
	bad_codebook(
	    one_template("{\"name\":\"w\",\"type\":\"window\",\"required\":true,\"label\":{"
	                 "\"en\":\"w\",\"zh\":\"窗\"},\"example\":\"x\",\"max\":3}",
	                 "{w}", "{w}"),
	    "field 'w': unknown key \"max\"", "a parameter of another type");
	bad_codebook(one_template("{\"name\":\"w\",\"type\":\"text\",\"required\":1,\"label\":{"
	                          "\"en\":\"w\",\"zh\":\"窗\"},\"example\":\"x\"}",
	                          "{w}", "{w}"),
	             "\"required\" must be true or false", "required not a boolean");
	bad_codebook(one_template("{\"name\":\"w\",\"type\":\"text\",\"required\":true,\"label\":{"
	                          "\"en\":\"w\"},\"example\":\"x\"}",
	                          "{w}", "{w}"),
	             "template T: field 'w': \"label\": missing the \"zh\" text",
	             "a label without Chinese");
	bad_codebook(one_template("{\"name\":\"w\",\"type\":\"text\",\"required\":true,\"label\":{"
	                          "\"en\":\"w\",\"zh\":\"\"},\"example\":\"x\"}",
	                          "{w}", "{w}"),
	             "\"label\".zh is empty", "an empty translation");
	bad_codebook(
	    one_template("{\"name\":\"w\",\"type\":\"text\",\"required\":true,\"max_length\":"
	                 "1001,\"label\":{\"en\":\"w\",\"zh\":\"w\"},\"example\":\"x\"}",
	                 "{w}", "{w}"),
	    "\"max_length\" must be from 1 to 1000", "a text longer than allowed");
	bad_codebook(
	    one_template("{\"name\":\"n\",\"type\":\"integer\",\"required\":true,\"min\":5,"
	                 "\"max\":4,\"label\":{\"en\":\"n\",\"zh\":\"n\"},\"example\":\"4\"}",
	                 "{n}", "{n}"),
	    "\"min\" 5 is more than \"max\" 4", "min above max");
	bad_codebook(
	    one_template("{\"name\":\"n\",\"type\":\"integer\",\"required\":true,\"max\":"
	                 "9007199254740992,\"label\":{\"en\":\"n\",\"zh\":\"n\"},\"example\":"
	                 "\"4\"}",
	                 "{n}", "{n}"),
	    "\"max\" must be from", "an integer bound past 2^53");
	bad_codebook(
	    one_template("{\"name\":\"e\",\"type\":\"enum\",\"required\":true,\"values\":[{"
	                 "\"value\":\"a\",\"label\":{\"en\":\"a\",\"zh\":\"甲\"}},{\"value\":"
	                 "\"a\",\"label\":{\"en\":\"b\",\"zh\":\"乙\"}}],\"label\":{\"en\":"
	                 "\"e\",\"zh\":\"e\"},\"example\":\"a\"}",
	                 "{e}", "{e}"),
	    "field 'e': the value 'a' is listed twice", "a duplicate enumeration value");
	bad_codebook(
	    one_template("{\"name\":\"e\",\"type\":\"enum\",\"required\":true,\"values\":[{"
	                 "\"value\":\"A\",\"label\":{\"en\":\"a\",\"zh\":\"甲\"}}],\"label\":{"
	                 "\"en\":\"e\",\"zh\":\"e\"},\"example\":\"a\"}",
	                 "{e}", "{e}"),
	    "values[0]: \"value\" must be", "an upper-case enumeration value");
	bad_codebook(
	    one_template("{\"name\":\"e\",\"type\":\"enum\",\"required\":true,\"values\":[{"
	                 "\"value\":\"a\",\"label\":{\"en\":\"a\"}}],\"label\":{"
	                 "\"en\":\"e\",\"zh\":\"e\"},\"example\":\"a\"}",
	                 "{e}", "{e}"),
	    "field 'e': \"label\": missing the \"zh\" text",
	    "an enumeration label without Chinese");
	bad_codebook(
	    one_template("{\"name\":\"e\",\"type\":\"enum\",\"required\":true,\"values\":[],"
	                 "\"label\":{\"en\":\"e\",\"zh\":\"e\"},\"example\":\"a\"}",
	                 "{e}", "{e}"),
	    "\"values\" must be an array of 1 to 64", "an enumeration without values");
	bad_codebook(
	    one_template("{\"name\":\"Bad\",\"type\":\"text\",\"required\":true,\"label\":{"
	                 "\"en\":\"w\",\"zh\":\"w\"},\"example\":\"x\"}",
	                 "x", "x"),
	    "template T: field 1: \"name\" must be", "an upper-case field name");

	snprintf(text, sizeof text, "%s", one_template(F_N, "{n}", "{n}"));
	*strstr(text, "]}") = '\0';
	strcat(text,
	       ",{\"code\":\"T\",\"precedence\":\"flash\",\"title\":{\"en\":\"a\",\"zh\":\"b\"},"
	       "\"fields\":[],\"render\":{\"en\":\"a\",\"zh\":\"b\"}}]}");
	bad_codebook(text, "templates 1 and 2 both have the code T", "a duplicate code");

	snprintf(text, sizeof text, "%s", one_template(F_N, "{n}", "{n}"));
	memcpy(strstr(text, "\"routine\""), "\"ROUTINE\"", 9);
	bad_codebook(text,
	             "template T: \"precedence\" must be flash, immediate, priority or "
	             "routine, got 'ROUTINE'",
	             "an upper-case precedence");
	snprintf(text, sizeof text, "%s", one_template(F_N, "{n}", "{n}"));
	memcpy(strstr(text, "\"code\":\"T\""), "\"code\":\"t\"", 10);
	bad_codebook(text, "template 1: \"code\" must be", "a lower-case code");
	snprintf(text, sizeof text, "%s", one_template(F_N, "{n}", "{n}"));
	memcpy(strstr(text, "\"fields\""), "\"fieldz\"", 8);
	bad_codebook(text, "template T: unknown key \"fieldz\" in a template", "a misspelt key");

	{
		/* A file past the size limit. */
		size_t big = HL_CODEBOOK_FILE_MAX + 1;
		char *b = calloc(1, big);
		rc = hl_codebook_parse(b, big, &c, err, sizeof err);
		T_OK(rc == HL_ERR_INVAL && strstr(err, "larger than"),
		     "a codebook over 1 MiB is refused");
		free(b);
	}
	{
		/* A tiny error buffer still ends in NUL. */
		char small[8];
		memset(small, 'x', sizeof small);
		rc = hl_codebook_parse("[]", 2, &c, small, sizeof small);
		T_OK(rc == HL_ERR_INVAL && memchr(small, '\0', sizeof small),
		     "a small err buffer is terminated");
	}
}

static void
test_files_and_config(void)
{
	char dir[] = "/tmp/hl-test-codebook-XXXXXX", path[512], out[512];
	struct hl_codebook *c = NULL;
	struct hl_config cfg;
	int rc;

	if (!mkdtemp(dir)) {
		T_OK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/codebook.json", dir);
	rc = hl_codebook_load(path, &c, err, sizeof err);
	T_OK(rc == HL_ERR_NOTFOUND && strncmp(err, path, strlen(path)) == 0,
	     "a missing file: NOTFOUND, the error names it");
	rc = hl_file_write(path, hl_default_codebook, hl_default_codebook_len, 0644, false);
	T_OK(rc == HL_OK, "write the default to a file");
	rc = hl_codebook_load(path, &c, err, sizeof err);
	T_OK(rc == HL_OK && c && strcmp(c->hash_hex, cb->hash_hex) == 0,
	     "loaded from the file, the same hash");
	hl_codebook_free(c);
	c = NULL;
	rc = hl_file_write(path, "{}\n", 3, 0644, false);
	rc = hl_codebook_load(path, &c, err, sizeof err);
	T_OK(rc == HL_ERR_INVAL && strncmp(err, path, strlen(path)) == 0 && strstr(err, "format"),
	     "a bad file: the error names the file and the fault (\"%s\")", err);
	unlink(path);
	rmdir(dir);

	hl_config_defaults(&cfg);
	T_EQ_INT(cfg.language, HL_LANG_EN, "language defaults to en");
	T_OK(hl_config_codebook(&cfg, "/srv/st", out, sizeof out) == HL_OK &&
	         strcmp(out, "/srv/st/codebook.json") == 0,
	     "codebook defaults to DIR/codebook.json");
	{
		const char *conf = "name=a\nlisten=h:1\nlanguage = zh\ncodebook = cb/v2.json\n";
		rc = hl_config_parse(&cfg, conf, strlen(conf), err, sizeof err);
	}
	T_OK(rc == HL_OK && cfg.language == HL_LANG_ZH, "language = zh (err \"%s\")", err);
	T_OK(hl_config_codebook(&cfg, "/srv/st", out, sizeof out) == HL_OK &&
	         strcmp(out, "/srv/st/cb/v2.json") == 0,
	     "a relative codebook path is relative to DIR: %s", out);
	hl_config_defaults(&cfg);
	{
		const char *conf = "name=a\nlisten=h:1\ncodebook = /etc/hotline/cb.json\n";
		rc = hl_config_parse(&cfg, conf, strlen(conf), err, sizeof err);
	}
	T_OK(rc == HL_OK && hl_config_codebook(&cfg, "/srv/st", out, sizeof out) == HL_OK &&
	         strcmp(out, "/etc/hotline/cb.json") == 0,
	     "an absolute codebook path stays: %s", out);
	T_OK(hl_config_codebook(&cfg, "/srv/st", out, 8) == HL_ERR_LIMIT, "a path too long");
	hl_config_defaults(&cfg);
	rc = hl_config_parse(&cfg, "name=a\nlisten=h:1\nlanguage = fr\n", 32, err, sizeof err);
	T_OK(rc == HL_ERR_INVAL && strstr(err, "line 3: language: must be en or zh"),
	     "language = fr refused (\"%s\")", err);
	hl_config_defaults(&cfg);
	rc = hl_config_parse(&cfg, "name=a\nlisten=h:1\ncodebook =\n", 29, err, sizeof err);
	T_OK(rc == HL_ERR_INVAL && strstr(err, "line 3: codebook"),
	     "an empty codebook path refused");
}

static void
test_documentation(void)
{
	const struct hl_cb_template *t = hl_codebook_find(cb, "LAUNCH");
	json_t *j = hl_cb_template_json(t), *f;
	size_t i, good = 0;

	T_OK(j && strcmp(json_string_value(json_object_get(j, "code")), "LAUNCH") == 0,
	     "template JSON has the code");
	json_array_foreach(json_object_get(j, "fields"), i, f)
	{
		const struct hl_cb_field *fd =
		    hl_cb_field_find(t, json_string_value(json_object_get(f, "name")));
		json_t *v = NULL;
		if (fd && json_is_string(json_object_get(f, "type")) &&
		    json_is_boolean(json_object_get(f, "required")) &&
		    json_is_string(json_object_get(json_object_get(f, "label"), "zh")) &&
		    hl_cb_value_parse(fd, json_string_value(json_object_get(f, "example")), &v,
		                      NULL, 0) == HL_OK)
			good++;
		json_decref(v);
	}
	T_EQ_INT(good, t->nfields, "each field: name, type, required, labels, a valid example");
	f = json_array_get(json_object_get(j, "fields"), 0);
	T_OK(json_array_size(json_object_get(f, "values")) == 6 &&
	         strcmp(
	             json_string_value(json_object_get(
	                 json_object_get(json_array_get(json_object_get(f, "values"), 0), "label"),
	                 "zh")),
	             "洲际弹道导弹") == 0,
	     "enumeration values with their labels");
	json_decref(j);
	for (size_t k = 0; k < HL_CB_TYPE_COUNT; k++) {
		struct hl_cb_field fake = {.name = "x", .type = (enum hl_cb_type)k, .max = 10};
		char *s = hl_cb_field_syntax(&fake);
		T_OK(s && *s, "type %s has a syntax description: %s", hl_cb_type_name((unsigned)k),
		     s ? s : "?");
		free(s);
	}
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_default_loads();
	test_every_template_renders();
	test_renderings();
	test_canonical_values();
	test_refusals();
	test_wire();
	test_malformed_codebooks();
	test_files_and_config();
	test_documentation();
	hl_codebook_free(cb);
	return t_done();
}
