/* SPDX-License-Identifier: ISC */
/*
 * cli_codebook.c: the codebook verb: list, show, hash, render
 * (docs/codebook.md, docs/cli.md). It reads the codebook file only, never
 * the store, so it works with the daemon stopped and, with --file, on a
 * codebook not yet installed (to check and hash a new version).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codebook.h"
#include "config.h"
#include "msg.h"
#include "station.h"

const char codebook_help[] =
    "usage: hotline -d DIR codebook list [--json] [--lang en|zh]\n"
    "       hotline -d DIR codebook show CODE [--json] [--lang en|zh]\n"
    "       hotline -d DIR codebook hash [--json]\n"
    "       hotline -d DIR codebook render CODE [FIELD=VALUE ...] [--lang en|zh|both] [--json]\n"
    "\n"
    "The codebook holds the message templates both stations agreed on: each has a\n"
    "code, a default precedence, typed fields and a rendering in English and in\n"
    "Chinese. It is DIR/codebook.json unless the config's 'codebook' key names\n"
    "another file; both stations must hold byte-identical files (docs/codebook.md).\n"
    "\n"
    "  list    every template: code, default precedence, title\n"
    "  show    one template: each field's type, whether it is required, its\n"
    "          labels, its values (enumerations) and an example\n"
    "  hash    the codebook's hash and version: compare both with the peer's\n"
    "          operator, out of band\n"
    "  render  check FIELD=VALUE arguments against the template and show the\n"
    "          message as each side will read it\n"
    "\n"
    "  --lang LANG   en or zh, or both for render; default: both languages, the\n"
    "                station's own (config key 'language') first\n"
    "  --file PATH   use this codebook file instead of the station's (no -d\n"
    "                needed): check and hash a new version before installing it\n"
    "  --json        machine-readable output\n";

struct cb_opts {
	bool json;
	int lang; /* enum hl_lang, or -1: both */
	const char *file;
	int npos;
	char **pos; /* CODE, FIELD=VALUE ... */
};

/* Options anywhere after the subcommand; the rest are positional. */
static int
parse_opts(int argc, char **argv, bool both_ok, struct cb_opts *o)
{
	bool dashdash = false;

	memset(o, 0, sizeof *o);
	o->lang = -1;
	if (!(o->pos = calloc((size_t)argc + 1, sizeof *o->pos)))
		return fail("out of memory");
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (dashdash || a[0] != '-') {
			o->pos[o->npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strncmp(a, "--lang=", 7) == 0 || strncmp(a, "--file=", 7) == 0) {
			val = a + 7;
		} else if (strcmp(a, "--lang") == 0 || strcmp(a, "--file") == 0) {
			if (i + 1 >= argc)
				return usage_error("codebook", "%s needs a value", a);
			val = argv[++i];
		} else {
			return usage_error("codebook", "unknown option '%s'", a);
		}
		if (strncmp(a, "--file", 6) == 0) {
			if (!*val)
				return usage_error("codebook", "--file needs a path");
			o->file = val;
		} else if (both_ok && strcmp(val, "both") == 0) {
			o->lang = -1;
		} else {
			unsigned l;
			if (hl_lang_parse(val, &l) < 0)
				return usage_error("codebook",
				                   "--lang must be en or zh%s, not '%s'",
				                   both_ok ? " or both" : "", val);
			o->lang = (int)l;
		}
	}
	return 0;
}

/*
 * The codebook to use: --file, or the station's (config key codebook).
 * *own is the station's language (en without a station).
 */
static int
load(const struct cb_opts *o, struct hl_codebook **cb, unsigned *own, char *path, size_t cap)
{
	struct hl_config cfg;
	char err[HL_CB_ERR_MAX];
	int rc;

	*cb = NULL;
	*own = HL_LANG_EN;
	if (o->file) {
		snprintf(path, cap, "%s", o->file);
		if (station_dir && *station_dir &&
		    hl_config_load(&cfg, station_dir, err, sizeof err) == HL_OK)
			*own = cfg.language;
	} else {
		if ((rc = need_dir("codebook")))
			return rc;
		rc = hl_config_load(&cfg, station_dir, err, sizeof err);
		if (rc == HL_ERR_NOTFOUND)
			return fail("%s: create a station with 'hotline -d DIR init'", err);
		if (rc < 0)
			return fail("%s/config: %s", station_dir, err);
		*own = cfg.language;
		if (hl_config_codebook(&cfg, station_dir, path, cap) < 0)
			return fail("the codebook's path is too long");
	}
	rc = hl_codebook_load(path, cb, err, sizeof err);
	if (rc == HL_ERR_NOTFOUND)
		return fail("%s: no codebook there: install the codebook agreed with the peer "
		            "(docs/codebook.md)",
		            path);
	if (rc < 0)
		return fail("%s", err);
	return 0;
}

/* The languages to print, in order: the chosen one, or both with the station's first. */
static size_t
langs(const struct cb_opts *o, unsigned own, unsigned out[static HL_LANG_COUNT])
{
	if (o->lang >= 0) {
		out[0] = (unsigned)o->lang;
		return 1;
	}
	out[0] = own;
	out[1] = own == HL_LANG_EN ? HL_LANG_ZH : HL_LANG_EN;
	return 2;
}

static json_t *
text_json(const struct hl_cb_text *x)
{
	return json_pack("{s:s, s:s}", "en", x->s[HL_LANG_EN], "zh", x->s[HL_LANG_ZH]);
}

/* "a / b" in the chosen languages. */
static void
print_text(const struct hl_cb_text *x, const unsigned *l, size_t nl)
{
	for (size_t i = 0; i < nl; i++)
		printf("%s%s", i ? " / " : "", x->s[l[i]]);
}

/* A value as a shell word, quoted when it needs to be. */
static void
print_shell_word(const char *s)
{
	if (*s &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.,:/=+-") ==
	        strlen(s)) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

/* Every field at its example value. */
static json_t *
example_fields(const struct hl_cb_template *t)
{
	json_t *o = json_object(), *v;

	for (size_t i = 0; o && i < t->nfields; i++) {
		if (hl_cb_value_parse(&t->fields[i], t->fields[i].example, &v, NULL, 0) < 0) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, t->fields[i].name, v);
	}
	return o;
}

static int
cb_list(const struct cb_opts *o, const struct hl_codebook *cb, unsigned own)
{
	unsigned l[HL_LANG_COUNT];
	size_t nl = langs(o, own, l);

	if (o->npos)
		return usage_error("codebook", "codebook list takes no argument, got '%s'",
		                   o->pos[0]);
	if (o->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < cb->ntemplates; i++) {
			const struct hl_cb_template *t = &cb->templates[i];
			json_array_append_new(arr,
			                      json_pack("{s:s, s:s, s:o}", "code", t->code,
			                                "precedence", hl_prec_name(t->precedence),
			                                "title", text_json(&t->title)));
		}
		print_json(arr);
		return 0;
	}
	printf("codebook ");
	print_text(&cb->name, l, nl);
	printf(", version %s\n", cb->version);
	for (size_t i = 0; i < cb->ntemplates; i++) {
		const struct hl_cb_template *t = &cb->templates[i];
		printf("%-16s %-10s ", t->code, hl_prec_name(t->precedence));
		print_text(&t->title, l, nl);
		printf("\n");
	}
	return 0;
}

/* Print s with every line indented. */
static void
print_indented(const char *indent, const char *s)
{
	fputs(indent, stdout);
	for (; *s; s++) {
		putchar(*s);
		if (*s == '\n' && s[1])
			fputs(indent, stdout);
	}
	putchar('\n');
}

static int
cb_show(const struct cb_opts *o, const struct hl_codebook *cb, unsigned own)
{
	const struct hl_cb_template *t;
	unsigned l[HL_LANG_COUNT];
	size_t nl = langs(o, own, l);
	json_t *ex;
	char *r;

	if (o->npos != 1)
		return usage_error("codebook", "codebook show needs one CODE");
	if (!(t = hl_codebook_find(cb, o->pos[0]))) {
		fprintf(stderr, "hotline: unknown code '%s': see 'hotline codebook list'\n",
		        o->pos[0]);
		return EXIT_USAGE;
	}
	if (!(ex = example_fields(t)))
		return fail("cannot build the example of %s", t->code);
	if (o->json) {
		json_t *j = hl_cb_template_json(t), *rendered = json_object();
		for (size_t i = 0; i < nl; i++)
			if (hl_codebook_render(t, ex, l[i], &r) == HL_OK) {
				json_object_set_new(rendered, hl_lang_name(l[i]), json_string(r));
				free(r);
			}
		json_object_set_new(j, "rendered_example", rendered);
		json_decref(ex);
		print_json(j);
		return 0;
	}
	printf("%s: ", t->code);
	print_text(&t->title, l, nl);
	printf("\ndefault precedence: %s\n", hl_prec_name(t->precedence));
	for (size_t i = 0; t->description.s[0] && i < nl; i++)
		print_indented("  ", t->description.s[l[i]]);
	printf("\nfields:\n");
	for (size_t i = 0; i < t->nfields; i++) {
		const struct hl_cb_field *f = &t->fields[i];
		char *syn = hl_cb_field_syntax(f);
		printf("  %s (%s, %s): ", f->name, hl_cb_type_name(f->type),
		       f->required ? "required" : "optional");
		print_text(&f->label, l, nl);
		printf("\n    %s\n", syn ? syn : "");
		free(syn);
		for (size_t k = 0; k < f->nvalues; k++) {
			printf("      %-20s ", f->values[k].value);
			print_text(&f->values[k].label, l, nl);
			printf("\n");
		}
		printf("    example: %s=", f->name);
		print_shell_word(f->example);
		printf("\n");
	}
	printf("\nexample:\n  hotline codebook render %s", t->code);
	for (size_t i = 0; i < t->nfields; i++) {
		printf(" %s=", t->fields[i].name);
		print_shell_word(t->fields[i].example);
	}
	printf("\n");
	for (size_t i = 0; i < nl; i++) {
		if (hl_codebook_render(t, ex, l[i], &r) < 0)
			continue;
		printf("\nrendered (%s):\n", hl_lang_name(l[i]));
		print_indented("  ", r);
		free(r);
	}
	json_decref(ex);
	return 0;
}

static int
cb_hash(const struct cb_opts *o, const struct hl_codebook *cb, const char *path)
{
	if (o->npos)
		return usage_error("codebook", "codebook hash takes no argument, got '%s'",
		                   o->pos[0]);
	if (o->json) {
		print_json(json_pack("{s:s, s:s, s:o, s:s}", "hash", cb->hash_hex, "version",
		                     cb->version, "name", text_json(&cb->name), "file", path));
		return 0;
	}
	printf("%s %s\n", cb->hash_hex, cb->version);
	return 0;
}

static int
cb_render(const struct cb_opts *o, const struct hl_codebook *cb, unsigned own)
{
	const struct hl_cb_template *t;
	unsigned l[HL_LANG_COUNT];
	size_t nl = langs(o, own, l), len;
	char err[HL_CB_ERR_MAX], *body, *r;
	json_t *fields, *rendered;
	int rc;

	if (o->npos < 1)
		return usage_error("codebook", "codebook render needs a CODE and its FIELD=VALUE "
		                               "arguments");
	rc = hl_codebook_args(cb, o->pos[0], o->npos - 1, o->pos + 1, &t, &fields, err, sizeof err);
	if (rc == HL_ERR_NOTFOUND) {
		fprintf(stderr, "hotline: %s\n", err);
		return EXIT_USAGE;
	}
	if (rc == HL_ERR_NOMEM)
		return fail("out of memory");
	if (rc < 0) {
		const char *code = hl_codebook_find(cb, o->pos[0])->code;
		fprintf(stderr, "hotline: %s (see 'hotline codebook show %s')\n", err, code);
		return EXIT_USAGE;
	}
	rc = hl_codebook_encode(cb, t, fields, &body, &len);
	if (rc < 0) {
		json_decref(fields);
		return fail("%s: cannot encode the message: %s", t->code, hl_strerror(rc));
	}
	rendered = json_object();
	for (size_t i = 0; i < nl; i++) {
		if ((rc = hl_codebook_render(t, fields, l[i], &r)) < 0)
			break;
		json_object_set_new(rendered, hl_lang_name(l[i]), json_string(r));
		if (!o->json) {
			printf("%s%s [%s, %s]\n%s\n", i ? "\n" : "", t->title.s[l[i]], t->code,
			       hl_prec_name(t->precedence), r);
		}
		free(r);
	}
	if (rc == 0 && o->json)
		print_json(json_pack("{s:s, s:s, s:o, s:O, s:s, s:s, s:o}", "code", t->code,
		                     "precedence", hl_prec_name(t->precedence), "title",
		                     text_json(&t->title), "fields", fields, "media_type",
		                     HL_CODEBOOK_MEDIA, "body", body, "rendered", rendered));
	else
		json_decref(rendered);
	json_decref(fields);
	free(body);
	if (rc < 0)
		return fail("%s: cannot render the message: %s", t->code, hl_strerror(rc));
	return 0;
}

int
cmd_codebook(int argc, char **argv)
{
	static const char *const subs[] = {"list", "show", "hash", "render"};
	struct hl_codebook *cb = NULL;
	struct cb_opts o;
	char path[HL_PATH_MAX];
	unsigned own;
	size_t sub;
	int rc;

	if (argc < 2)
		return usage_error("codebook", "codebook needs list, show, hash or render");
	for (sub = 0; sub < ARRAY_SIZE(subs); sub++)
		if (strcmp(argv[1], subs[sub]) == 0)
			break;
	if (sub == ARRAY_SIZE(subs))
		return usage_error("codebook", "unknown codebook command '%s'", argv[1]);
	/* cb is set whenever load returns 0 (said for static analysis, which does
	 * not see that fail(), in another file, never returns 0) */
	if ((rc = parse_opts(argc, argv, sub == 3, &o)) == 0 &&
	    (rc = load(&o, &cb, &own, path, sizeof path)) == 0 && cb) {
		switch (sub) {
		case 0:
			rc = cb_list(&o, cb, own);
			break;
		case 1:
			rc = cb_show(&o, cb, own);
			break;
		case 2:
			rc = cb_hash(&o, cb, path);
			break;
		default:
			rc = cb_render(&o, cb, own);
			break;
		}
	}
	hl_codebook_free(cb);
	free(o.pos);
	return rc;
}
