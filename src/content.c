/* SPDX-License-Identifier: ISC */
/* content.c: message bodies by media type; see content.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "content.h"

int
hl_parallel_encode(const char *en, const char *zh, unsigned original, char **body, size_t *len,
                   char *err, size_t errcap)
{
	json_t *o;

	*body = NULL;
	*len = 0;
	if (!*en || !*zh || !hl_utf8_valid((const uint8_t *)en, strlen(en)) ||
	    !hl_utf8_valid((const uint8_t *)zh, strlen(zh))) {
		snprintf(err, errcap,
		         "parallel texts need both --text-en and --text-zh, "
		         "non-empty and valid UTF-8");
		return HL_ERR_INVAL;
	}
	if (original > HL_LANG_ZH) {
		snprintf(err, errcap, "--original must be en or zh");
		return HL_ERR_INVAL;
	}
	o = json_pack("{s:s, s:s, s:s}", "en", en, "zh", zh, "original", hl_lang_name(original));
	*body = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!*body)
		return HL_ERR_NOMEM;
	*len = strlen(*body);
	return HL_OK;
}

int
hl_parallel_decode(const uint8_t *body, size_t len, char **en, char **zh, unsigned *original)
{
	json_t *o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *e = NULL, *z = NULL, *orig = NULL;
	int rc = HL_ERR_PROTO;

	*en = *zh = NULL;
	if (o && json_object_size(o) == 3 &&
	    json_unpack(o, "{s:s, s:s, s:s}", "en", &e, "zh", &z, "original", &orig) == 0 && *e &&
	    *z && hl_lang_parse(orig, original) == HL_OK) {
		*en = strdup(e);
		*zh = strdup(z);
		rc = *en && *zh ? HL_OK : HL_ERR_NOMEM;
		if (rc < 0) {
			free(*en);
			free(*zh);
			*en = *zh = NULL;
		}
	}
	json_decref(o);
	return rc;
}

void
hl_content_check(const struct hl_event *ev, const struct hl_codebook *cb,
                 char reason[static HL_REASON_MAX + 1])
{
	char err[HL_CB_ERR_MAX];

	if (ev->kind != HL_EV_MESSAGE || reason[0])
		return;
	if (strcmp(ev->media_type, HL_CODEBOOK_MEDIA) == 0) {
		const struct hl_cb_template *t;
		json_t *fields = NULL;
		if (!cb) {
			snprintf(reason, HL_REASON_MAX + 1,
			         "this station has no codebook installed: codebook messages cannot "
			         "be read here");
			return;
		}
		if (hl_codebook_decode(cb, ev->body, ev->body_len, &t, &fields, err, sizeof err) <
		    0)
			snprintf(reason, HL_REASON_MAX + 1, "codebook message refused: %.400s",
			         err);
		json_decref(fields);
	} else if (strcmp(ev->media_type, HL_PARALLEL_MEDIA) == 0) {
		char *en, *zh;
		unsigned orig;
		if (hl_parallel_decode(ev->body, ev->body_len, &en, &zh, &orig) < 0) {
			snprintf(
			    reason, HL_REASON_MAX + 1,
			    "parallel texts refused: not {\"en\", \"zh\", \"original\"} in UTF-8");
			return;
		}
		free(en);
		free(zh);
	}
}

/* Append to a growing string; false when out of memory. */
static bool
cat(char **s, size_t *n, const char *add)
{
	size_t k = strlen(add);
	char *ns = realloc(*s, *n + k + 1);

	if (!ns)
		return false;
	memcpy(ns + *n, add, k + 1);
	*s = ns;
	*n += k;
	return true;
}

static int
render_code(const struct hl_event *ev, const struct hl_codebook *cb, unsigned lang, char **out)
{
	const struct hl_cb_template *t;
	json_t *fields = NULL;
	char err[HL_CB_ERR_MAX], head[HL_CB_ERR_MAX + 64], *s = NULL, *text = NULL;
	size_t n = 0;
	bool ok = true;

	if (!cb ||
	    hl_codebook_decode(cb, ev->body, ev->body_len, &t, &fields, err, sizeof err) < 0) {
		snprintf(head, sizeof head, "[a codebook message this station cannot read: %s]",
		         cb ? err : "no codebook installed");
		*out = strdup(head);
		return *out ? HL_OK : HL_ERR_NOMEM;
	}
	for (unsigned l = HL_LANG_EN; ok && l <= HL_LANG_ZH; l++) {
		if (lang != HL_LANG_BOTH && l != lang)
			continue;
		if (hl_codebook_render(t, fields, l, &text) < 0) {
			ok = false;
			break;
		}
		snprintf(head, sizeof head, "%s%.400s [%.64s]\n", n ? "\n" : "", t->title.s[l],
		         t->code);
		ok = cat(&s, &n, head) && cat(&s, &n, text);
		free(text);
		text = NULL;
	}
	json_decref(fields);
	if (!ok) {
		free(s);
		return HL_ERR_NOMEM;
	}
	*out = s;
	return HL_OK;
}

static int
render_parallel(const struct hl_event *ev, unsigned lang, char **out)
{
	char *en, *zh, *s = NULL;
	const char *texts[2];
	unsigned orig;
	size_t n = 0;
	bool ok = true;

	if (hl_parallel_decode(ev->body, ev->body_len, &en, &zh, &orig) < 0) {
		*out = strdup("[parallel texts this station cannot read]");
		return *out ? HL_OK : HL_ERR_NOMEM;
	}
	texts[HL_LANG_EN] = en;
	texts[HL_LANG_ZH] = zh;
	for (unsigned l = HL_LANG_EN; ok && l <= HL_LANG_ZH; l++) {
		if (lang != HL_LANG_BOTH && l != lang)
			continue;
		ok = cat(&s, &n, n ? "\n[" : "[") && cat(&s, &n, hl_lang_name(l)) &&
		     cat(&s, &n, l == orig ? ", original] " : ", translation] ") &&
		     cat(&s, &n, texts[l]);
	}
	free(en);
	free(zh);
	if (!ok) {
		free(s);
		return HL_ERR_NOMEM;
	}
	*out = s;
	return HL_OK;
}

int
hl_content_render(const struct hl_event *ev, const struct hl_codebook *cb, unsigned lang,
                  char **out)
{
	*out = NULL;
	if (strcmp(ev->media_type, HL_CODEBOOK_MEDIA) == 0)
		return render_code(ev, cb, lang, out);
	if (strcmp(ev->media_type, HL_PARALLEL_MEDIA) == 0)
		return render_parallel(ev, lang, out);
	if (ev->media_type[0])
		return HL_OK; /* an attachment: bytes, not text */
	if (!(*out = malloc(ev->body_len + 1)))
		return HL_ERR_NOMEM;
	memcpy(*out, ev->body, ev->body_len);
	(*out)[ev->body_len] = '\0';
	return HL_OK;
}
