/* SPDX-License-Identifier: ISC */
/*
 * cli_operator.c: the `operator` verb: the web console's accounts
 * (docs/console.md). They live in the store, so they work with the daemon
 * running or not, and a running console sees a change at its next request.
 * Passwords are read like passphrases (cli_key.c): from the terminal with
 * echo off, or one line from stdin (or --password-fd N) when it is not a
 * terminal; never from argv.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chanstate.h"
#include "cli.h"
#include "codebook.h"
#include "config.h"
#include "operators.h"

#define PASSWORD_MIN 8 /* bytes: a console on loopback still deserves a real password */

const char operator_help[] =
    "usage: hotline -d DIR operator add NAME --role watch|duty|admin [--language en|zh]\n"
    "                                   [--password-fd N]\n"
    "       hotline -d DIR operator list [--json]\n"
    "       hotline -d DIR operator remove NAME\n"
    "       hotline -d DIR operator passwd NAME [--password-fd N]\n"
    "\n"
    "The web console's operators (docs/console.md). NAME is what acknowledgments\n"
    "and notices made in the console carry, e.g. \"Col. Li Wei\": one line, at most\n"
    "64 bytes. The password is asked twice on the terminal (echo off); when stdin\n"
    "is not a terminal it is read from it, one line (or from descriptor N with\n"
    "--password-fd). It is stored as an Argon2id hash, never in clear; at least 8\n"
    "bytes. Works with the daemon running or not: a removed operator or a new\n"
    "password ends that operator's console sessions at once.\n"
    "\n"
    "  --role watch     read, acknowledge, send ROUTINE and PRIORITY\n"
    "         duty      also send FLASH and IMMEDIATE, suspend and resume channels\n"
    "         admin     also manage peers and operators (in the console, later)\n"
    "  --language L     the console's language for this operator (default: the\n"
    "                   config's language); the operator can change it in the console\n";

/* The password for name: from fd, or stdin (a terminal: asked twice, echo off). */
static int
read_password(const char *name, int fd, struct hl_pass *p)
{
	char what[HL_OPERATOR_MAX + 32];
	int rc;

	snprintf(what, sizeof what, "password for operator %s", name);
	if (fd < 0 && !isatty(STDIN_FILENO))
		fd = STDIN_FILENO;
	if ((rc = pass_read(fd, what, fd < 0, p)))
		return rc;
	if (p->len < PASSWORD_MIN) {
		pass_free(p);
		return fail("the password must be at least %d bytes: nothing changed",
		            PASSWORD_MIN);
	}
	return 0;
}

static int
hash_password(const char *name, int fd, unsigned cost, char out[static HL_PWHASH_MAX])
{
	struct hl_pass p = {0};
	int rc = read_password(name, fd, &p);

	if (rc)
		return rc;
	rc = hl_operator_hash(p.buf, p.len, cost, out);
	pass_free(&p);
	if (rc < 0)
		return fail("not enough memory to hash the password (Argon2id)");
	return 0;
}

static int
op_add(int argc, char **argv)
{
	static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
	                                     {"language", required_argument, NULL, 'l'},
	                                     {"password-fd", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_config cfg;
	struct hl_store *st;
	char hash[HL_PWHASH_MAX], err[512];
	const char *name, *role_s = NULL, *lang_s = NULL;
	unsigned role, lang;
	int c, rc, fd = -1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			role_s = optarg;
		else if (c == 'l')
			lang_s = optarg;
		else if (c == 'f') {
			if ((rc = pass_fd_arg("operator", "--password-fd", optarg, &fd)))
				return rc;
		} else
			return usage_error("operator", "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return usage_error("operator", "operator add needs exactly one NAME");
	name = argv[optind];
	if (!hl_operator_name_valid(name))
		return usage_error("operator",
		                   "bad operator name '%s': one line, 1-64 bytes, no space at "
		                   "either end",
		                   name);
	if (!role_s)
		return usage_error("operator", "operator add needs --role watch, duty or admin");
	if (hl_role_parse(role_s, &role) < 0)
		return usage_error("operator", "bad --role '%s': watch, duty or admin", role_s);
	if (hl_config_load(&cfg, station_dir, err, sizeof err) < 0)
		return fail("%s: create a station with 'hotline -d DIR init'", err);
	lang = cfg.language;
	if (lang_s && hl_lang_parse(lang_s, &lang) < 0)
		return usage_error("operator", "bad --language '%s': en or zh", lang_s);
	if ((rc = open_store(&st, false)))
		return rc;
	/* Refuse a taken name before asking for a password. */
	{
		struct hl_operator old;
		if (hl_operator_get(st, name, &old) == HL_OK) {
			hl_store_close(st);
			return fail(
			    "an operator named %s exists already: 'hotline operator passwd' "
			    "changes its password",
			    name);
		}
	}
	if ((rc = hash_password(name, fd, cfg.password_cost, hash))) {
		hl_store_close(st);
		return rc;
	}
	rc = hl_operator_add(st, name, role, lang, hash);
	hl_store_close(st);
	sodium_memzero(hash, sizeof hash);
	if (rc == HL_ERR_EXISTS)
		return fail("an operator named %s exists already", name);
	if (rc < 0)
		return fail("cannot store the operator: %s", hl_strerror(rc));
	printf("added operator %s (%s, %s)\n", name, hl_role_name(role), hl_lang_name(lang));
	return 0;
}

static int
op_list(int argc, char **argv)
{
	struct hl_operator *v;
	struct hl_store *st;
	bool json = false;
	size_t n;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return usage_error("operator", "unexpected argument '%s'", argv[i]);
	}
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_operator_list(st, &v, &n);
	hl_store_close(st);
	if (rc < 0)
		return fail("cannot read the operators: %s", hl_strerror(rc));
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr,
			                      json_pack("{s:s, s:s, s:s, s:o, s:o}", "name",
			                                v[i].name, "role", hl_role_name(v[i].role),
			                                "language", hl_lang_name(v[i].language),
			                                "created", hl_json_time(v[i].created_ns),
			                                "changed", hl_json_time(v[i].changed_ns)));
		print_json(arr);
	} else if (n == 0) {
		printf("no operators (add one with 'hotline operator add')\n");
	} else {
		printf("%-32s %-6s %-8s %-24s %s\n", "NAME", "ROLE", "LANGUAGE", "CREATED",
		       "CHANGED");
		for (size_t i = 0; i < n; i++) {
			char created[32], changed[32];
			hl_iso_time(v[i].created_ns, created);
			hl_iso_time(v[i].changed_ns, changed);
			printf("%-32s %-6s %-8s %-24s %s\n", v[i].name, hl_role_name(v[i].role),
			       hl_lang_name(v[i].language), created, changed);
		}
	}
	for (size_t i = 0; i < n; i++)
		sodium_memzero(v[i].pwhash, sizeof v[i].pwhash);
	free(v);
	return 0;
}

static int
op_remove(int argc, char **argv)
{
	struct hl_store *st;
	int rc;

	if (argc != 2)
		return usage_error("operator", "operator remove needs exactly one NAME");
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_operator_remove(st, argv[1]);
	hl_store_close(st);
	if (rc == HL_ERR_NOTFOUND)
		return fail("no operator named %s: see 'hotline operator list'", argv[1]);
	if (rc < 0)
		return fail("cannot remove the operator: %s", hl_strerror(rc));
	printf("removed operator %s (its console sessions end now)\n", argv[1]);
	return 0;
}

static int
op_passwd(int argc, char **argv)
{
	static const struct option opts[] = {{"password-fd", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_config cfg;
	struct hl_operator op;
	struct hl_store *st;
	char hash[HL_PWHASH_MAX], err[512];
	int c, rc, fd = -1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return usage_error("operator", "unknown option '%s'", argv[optind - 1]);
		if ((rc = pass_fd_arg("operator", "--password-fd", optarg, &fd)))
			return rc;
	}
	if (argc - optind != 1)
		return usage_error("operator", "operator passwd needs exactly one NAME");
	if (hl_config_load(&cfg, station_dir, err, sizeof err) < 0)
		return fail("%s: create a station with 'hotline -d DIR init'", err);
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_operator_get(st, argv[optind], &op);
	sodium_memzero(op.pwhash, sizeof op.pwhash);
	if (rc < 0) {
		hl_store_close(st);
		if (rc == HL_ERR_NOTFOUND)
			return fail("no operator named %s: see 'hotline operator list'",
			            argv[optind]);
		return fail("cannot read the operators: %s", hl_strerror(rc));
	}
	if ((rc = hash_password(argv[optind], fd, cfg.password_cost, hash))) {
		hl_store_close(st);
		return rc;
	}
	rc = hl_operator_set_password(st, argv[optind], hash);
	hl_store_close(st);
	sodium_memzero(hash, sizeof hash);
	if (rc < 0)
		return fail("cannot store the password: %s", hl_strerror(rc));
	printf("new password for operator %s (its console sessions end now)\n", argv[optind]);
	return 0;
}

int
cmd_operator(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return usage_error("operator", "operator needs add, list, remove or passwd");
	if ((rc = need_dir("operator")))
		return rc;
	optind = 0;
	if (strcmp(argv[1], "add") == 0)
		return op_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return op_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return op_remove(argc - 1, argv + 1);
	if (strcmp(argv[1], "passwd") == 0)
		return op_passwd(argc - 1, argv + 1);
	return usage_error("operator", "unknown operator command '%s'", argv[1]);
}
