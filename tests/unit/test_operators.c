/* SPDX-License-Identifier: ISC */
/*
 * test_operators.c: the console's operator accounts (src/operators.c) and
 * the checks on its requests (src/console_req.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "codebook.h"
#include "config.h"
#include "console_req.h"
#include "operators.h"
#include "store.h"
#include "t.h"

/* T_OK evaluates its condition twice: most conditions here have effects, so once. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		bool check_ = (cond);                                                              \
		T_OK(check_, __VA_ARGS__);                                                         \
	} while (0)

static char dir[] = "/tmp/hl-test-operators-XXXXXX";

static void
test_names(void)
{
	unsigned r;

	CHECK(hl_operator_name_valid("Col. Li Wei"), "a person's name is a valid operator name");
	CHECK(hl_operator_name_valid("李伟"), "in Chinese too");
	CHECK(!hl_operator_name_valid(""), "empty is not");
	CHECK(!hl_operator_name_valid(" lead"), "nor a leading space");
	CHECK(!hl_operator_name_valid("trail "), "nor a trailing space");
	CHECK(!hl_operator_name_valid("two\nlines"), "nor two lines");
	CHECK(!hl_operator_name_valid("\xff\xfe"), "nor bytes that are not UTF-8");
	{
		char longname[HL_OPERATOR_MAX + 2];
		memset(longname, 'a', sizeof longname - 1);
		longname[sizeof longname - 1] = '\0';
		CHECK(!hl_operator_name_valid(longname), "nor 65 bytes");
		longname[HL_OPERATOR_MAX] = '\0';
		CHECK(hl_operator_name_valid(longname), "64 bytes are fine");
	}
	CHECK(hl_role_parse("watch", &r) == HL_OK && r == HL_ROLE_WATCH, "role watch");
	CHECK(hl_role_parse("duty", &r) == HL_OK && r == HL_ROLE_DUTY, "role duty");
	CHECK(hl_role_parse("admin", &r) == HL_OK && r == HL_ROLE_ADMIN, "role admin");
	CHECK(hl_role_parse("Admin", &r) < 0 && hl_role_parse("root", &r) < 0,
	      "no other role, and exact case");
	CHECK(!strcmp(hl_role_name(HL_ROLE_DUTY), "duty") && !strcmp(hl_role_name(7), "?"),
	      "role names");
	CHECK(hl_pwcost_parse("minimum", &r) == HL_OK && r == HL_PWCOST_MINIMUM, "password cost");
	CHECK(hl_pwcost_parse("cheap", &r) < 0, "unknown password cost refused");
}

static void
test_hash(void)
{
	char h[HL_PWHASH_MAX], h2[HL_PWHASH_MAX];

	CHECK(hl_operator_hash("correct horse", 13, HL_PWCOST_MINIMUM, h) == HL_OK,
	      "hash a password");
	CHECK(!strncmp(h, "$argon2id$", 10), "as Argon2id (%.30s...)", h);
	CHECK(strstr(h, "correct") == NULL, "the password is not in the hash");
	CHECK(hl_operator_verify(h, "correct horse", 13) == HL_OK, "the right password verifies");
	CHECK(hl_operator_verify(h, "correct horsf", 13) == HL_ERR_AUTH, "a wrong one does not");
	CHECK(hl_operator_verify(h, "correct hors", 12) == HL_ERR_AUTH, "nor a prefix");
	CHECK(hl_operator_hash("correct horse", 13, HL_PWCOST_MINIMUM, h2) == HL_OK &&
	          strcmp(h, h2) != 0,
	      "each hash has its own salt");
	CHECK(hl_operator_verify("not a hash", "x", 1) == HL_ERR_AUTH,
	      "a damaged hash never verifies");
	CHECK(hl_operator_hash("pw", 2, HL_PWCOST_INTERACTIVE, h) == HL_OK &&
	          strstr(h, "m=65536,t=2") != NULL,
	      "interactive cost: 64 MiB, 2 passes (%.40s)", h);
}

static void
test_store(void)
{
	struct hl_store *st;
	struct hl_operator op, *all;
	char path[512], err[512], h[HL_PWHASH_MAX];
	uint64_t gen;
	size_t n;

	if (hl_path(path, sizeof path, dir, "station.db") < 0 ||
	    hl_store_open(path, true, &st, err, sizeof err) < 0) {
		printf("Bail out! cannot open a store: %s\n", err);
		exit(1);
	}
	CHECK(hl_operator_hash("first password", 14, HL_PWCOST_MINIMUM, h) == HL_OK, "a hash");
	CHECK(hl_operator_add(st, "Col. Li Wei", HL_ROLE_DUTY, HL_LANG_ZH, h) == HL_OK,
	      "add a duty officer");
	CHECK(hl_operator_add(st, "Col. Li Wei", HL_ROLE_WATCH, HL_LANG_EN, h) == HL_ERR_EXISTS,
	      "a second one of the same name is refused");
	CHECK(hl_operator_add(st, "watch1", HL_ROLE_WATCH, HL_LANG_EN, h) == HL_OK, "add a watch");
	CHECK(hl_operator_add(st, " bad", HL_ROLE_WATCH, HL_LANG_EN, h) == HL_ERR_INVAL,
	      "a bad name is refused");
	CHECK(hl_operator_add(st, "x", 9, HL_LANG_EN, h) == HL_ERR_INVAL, "a bad role is refused");
	CHECK(hl_operator_add(st, "y", HL_ROLE_WATCH, 5, h) == HL_ERR_INVAL,
	      "a bad language is refused");
	CHECK(hl_operator_get(st, "Col. Li Wei", &op) == HL_OK, "get it back");
	CHECK(op.role == HL_ROLE_DUTY && op.language == HL_LANG_ZH && op.generation == 1 &&
	          op.created_ns > 0 && op.created_ns == op.changed_ns,
	      "with its role, language, generation 1 and times");
	CHECK(hl_operator_verify(op.pwhash, "first password", 14) == HL_OK,
	      "the stored hash verifies the password");
	CHECK(hl_operator_get(st, "nobody", &op) == HL_ERR_NOTFOUND, "an unknown name: not found");
	CHECK(hl_operator_list(st, &all, &n) == HL_OK && n == 2, "list: 2 operators");
	CHECK(n == 2 && !strcmp(all[0].name, "Col. Li Wei") && !strcmp(all[1].name, "watch1"),
	      "by name");
	free(all);

	gen = 1;
	CHECK(hl_operator_hash("second password", 15, HL_PWCOST_MINIMUM, h) == HL_OK &&
	          hl_operator_set_password(st, "Col. Li Wei", h) == HL_OK,
	      "a new password");
	CHECK(hl_operator_get(st, "Col. Li Wei", &op) == HL_OK && op.generation == gen + 1,
	      "raises the generation (which ends the sessions)");
	CHECK(hl_operator_verify(op.pwhash, "first password", 14) == HL_ERR_AUTH &&
	          hl_operator_verify(op.pwhash, "second password", 15) == HL_OK,
	      "the old password no longer works, the new one does");
	CHECK(hl_operator_set_password(st, "nobody", h) == HL_ERR_NOTFOUND,
	      "no password for an unknown operator");
	CHECK(hl_operator_set_language(st, "watch1", HL_LANG_ZH) == HL_OK &&
	          hl_operator_get(st, "watch1", &op) == HL_OK && op.language == HL_LANG_ZH &&
	          op.generation == 1,
	      "a language choice is stored, and keeps the sessions");
	CHECK(hl_operator_set_language(st, "watch1", 2) == HL_ERR_INVAL,
	      "a bad language is refused");
	CHECK(hl_operator_remove(st, "watch1") == HL_OK, "remove");
	CHECK(hl_operator_remove(st, "watch1") == HL_ERR_NOTFOUND, "removing twice: not found");
	CHECK(hl_operator_get(st, "watch1", &op) == HL_ERR_NOTFOUND, "gone");
	hl_store_close(st);
	unlink(path);
}

static json_t *
body(const char *text, int *status, const char **code)
{
	struct hl_api_error e = {0};
	json_t *v = NULL;

	*status = 0;
	*code = "";
	if (hl_console_body("application/json", text, strlen(text), &v, &e) < 0) {
		*status = e.status;
		*code = e.code;
	}
	return v;
}

static void
test_requests(void)
{
	struct hl_api_error e = {0};
	struct hl_codebook *cb;
	char err[HL_CB_ERR_MAX];
	json_t *v, *ctl;
	const char *code, *name, *pw;
	unsigned prec;
	size_t pwlen;
	int status;

	CHECK(hl_console_body(NULL, "{}", 2, &v, &e) < 0 && e.status == 415,
	      "no Content-Type: 415");
	CHECK(hl_console_body("text/plain", "{}", 2, &v, &e) < 0 && e.status == 415,
	      "text/plain: 415");
	CHECK(hl_console_body("application/json; charset=latin1", "{}", 2, &v, &e) < 0 &&
	          e.status == 415,
	      "another charset: 415");
	CHECK(hl_console_body("Application/JSON; charset=UTF-8", "{}", 2, &v, &e) == HL_OK,
	      "any case, charset utf-8: fine");
	json_decref(v);
	CHECK(!body("{\"a\":", &status, &code) && status == 400 && !strcmp(code, "bad_json"),
	      "cut JSON: 400 bad_json");
	CHECK(!body("[1]", &status, &code) && status == 400, "an array: 400");
	CHECK(hl_console_body("application/json", "{\"a\":\"\xff\xfe\"}", 9, &v, &e) < 0 &&
	          e.status == 400 && hl_field_valid(e.message, strlen(e.message)),
	      "bytes that are not UTF-8: 400, and the message stays valid UTF-8 (%s)", e.message);
	CHECK(!body("{\"a\":1,\"a\":2}", &status, &code) && status == 400, "duplicate keys: 400");
	CHECK(!body("{\"a\":\"\\u0000\"}", &status, &code) && status == 400,
	      "a NUL in a string: 400");
	CHECK(hl_console_body("application/json", "{}", HL_CONSOLE_BODY_MAX + 1, &v, &e) < 0 &&
	          e.status == 413,
	      "too large: 413");

	v = body("{\"name\":\"Col. Li Wei\",\"password\":\"pw\"}", &status, &code);
	CHECK(v && hl_console_login_parse(v, &name, &pw, &pwlen, &e) == HL_OK &&
	          !strcmp(name, "Col. Li Wei") && pwlen == 2,
	      "login body");
	json_decref(v);
	v = body("{\"name\":1,\"password\":\"pw\"}", &status, &code);
	CHECK(v && hl_console_login_parse(v, &name, &pw, &pwlen, &e) < 0 && e.status == 400 &&
	          !strcmp(e.field, "name"),
	      "a name that is not a string: 400 naming the field");
	json_decref(v);

	if (hl_codebook_parse(hl_default_codebook, hl_default_codebook_len, &cb, err, sizeof err) <
	    0) {
		printf("Bail out! default codebook: %s\n", err);
		exit(1);
	}
	v = body("{\"to\":\"beijing\",\"precedence\":\"flash\",\"text\":\"call at 14:00Z\"}",
	         &status, &code);
	CHECK(hl_console_send_parse(v, cb, HL_LANG_EN, 1 << 20, &ctl, &prec, &e) == HL_OK &&
	          prec == HL_PREC_FLASH,
	      "a FLASH text");
	CHECK(ctl && !strcmp(json_string_value(json_object_get(ctl, "cmd")), "send") &&
	          !strcmp(json_string_value(json_object_get(ctl, "channel")), "general") &&
	          !strcmp(json_string_value(json_object_get(ctl, "kind")), "message") &&
	          !strcmp(json_string_value(json_object_get(ctl, "body")), "Y2FsbCBhdCAxNDowMFo="),
	      "becomes the control socket's send, channel general, body in base64");
	json_decref(ctl);
	json_decref(v);
	v = body("{\"to\":\"beijing\",\"text\":\"x\",\"code\":\"LAUNCH\"}", &status, &code);
	CHECK(hl_console_send_parse(v, cb, HL_LANG_EN, 1 << 20, &ctl, &prec, &e) < 0 &&
	          e.status == 400,
	      "text and code at once: 400");
	json_decref(v);
	v = body("{\"to\":\"Bei Jing\",\"text\":\"x\"}", &status, &code);
	CHECK(hl_console_send_parse(v, cb, HL_LANG_EN, 1 << 20, &ctl, &prec, &e) < 0 &&
	          !strcmp(e.field, "to"),
	      "a bad peer name names the field 'to'");
	json_decref(v);
	v = body("{\"to\":\"beijing\",\"text\":\"0123456789\"}", &status, &code);
	CHECK(hl_console_send_parse(v, cb, HL_LANG_EN, 5, &ctl, &prec, &e) < 0 &&
	          !strcmp(e.field, "text"),
	      "over max_message_bytes: refused");
	json_decref(v);
	v = body("{\"to\":\"beijing\",\"text_en\":\"hello\",\"text_zh\":\"你好\"}", &status, &code);
	CHECK(hl_console_send_parse(v, cb, HL_LANG_ZH, 1 << 20, &ctl, &prec, &e) == HL_OK &&
	          !strcmp(json_string_value(json_object_get(ctl, "media_type")),
	                  "application/vnd.hotline.parallel+json"),
	      "parallel texts");
	json_decref(ctl);
	json_decref(v);
	v = body("{\"to\":\"beijing\",\"code\":\"CALL_REQUEST\",\"fields\":{\"medium\":\"video\","
	         "\"level\":\"defense_minister\",\"proposed_time\":\"2026-12-01T06:00Z\"}}",
	         &status, &code);
	CHECK(hl_console_send_parse(v, cb, HL_LANG_EN, 1 << 20, &ctl, &prec, &e) == HL_OK &&
	          !strcmp(json_string_value(json_object_get(ctl, "media_type")), HL_CODEBOOK_MEDIA),
	      "a codebook message (%s)", e.message);
	json_decref(ctl);
	json_decref(v);
	v = body("{\"to\":\"beijing\",\"code\":\"CALL_REQUEST\",\"fields\":{\"medium\":\"pigeon\","
	         "\"level\":\"defense_minister\",\"proposed_time\":\"2026-12-01T06:00Z\"}}",
	         &status, &code);
	CHECK(hl_console_send_parse(v, cb, HL_LANG_EN, 1 << 20, &ctl, &prec, &e) < 0 &&
	          e.status == 400 && !strcmp(e.field, "medium"),
	      "a bad enum value names its field (%s)", e.message);
	json_decref(v);
	v = body("{\"to\":\"beijing\",\"code\":\"CALL_REQUEST\",\"fields\":{\"medium\":\"video\"}}",
	         &status, &code);
	CHECK(hl_console_send_parse(v, cb, HL_LANG_EN, 1 << 20, &ctl, &prec, &e) < 0 &&
	          e.field[0] && strcmp(e.field, "medium") != 0,
	      "a missing required field is named (%s)", e.field);
	json_decref(v);
	v = body("{\"to\":\"beijing\",\"code\":\"NO_SUCH\"}", &status, &code);
	CHECK(hl_console_send_parse(v, cb, HL_LANG_EN, 1 << 20, &ctl, &prec, &e) < 0 &&
	          !strcmp(e.field, "code"),
	      "an unknown code names 'code'");
	json_decref(v);

	v = body("{\"peer\":\"beijing\",\"channel\":\"defense\"}", &status, &code);
	CHECK(hl_console_notice_parse(v, HL_EV_SUSPEND, &ctl, &e) < 0 && !strcmp(e.field, "reason"),
	      "a suspension needs a reason");
	CHECK(hl_console_notice_parse(v, HL_EV_RESUME, &ctl, &e) == HL_OK &&
	          !strcmp(json_string_value(json_object_get(ctl, "kind")), "resumption") &&
	          !strcmp(json_string_value(json_object_get(ctl, "precedence")), "flash"),
	      "a resumption does not, and goes FLASH");
	json_decref(ctl);
	json_decref(v);

	CHECK(hl_console_msgid_valid("cb83003c8dab") && !hl_console_msgid_valid("CB83") &&
	          !hl_console_msgid_valid("cb83003c8dab0") && !hl_console_msgid_valid(""),
	      "message ids");
	{
		uint8_t tok[HL_CONSOLE_TOKEN_LEN], back[HL_CONSOLE_TOKEN_LEN];
		char text[HL_CONSOLE_TOKEN_TEXT];
		randombytes_buf(tok, sizeof tok);
		hl_console_token_encode(tok, text);
		CHECK(strlen(text) == 43 && hl_console_token_decode(text, back) == HL_OK &&
		          !memcmp(tok, back, sizeof tok),
		      "a token round-trips through base64url (%s)", text);
		text[5] = '+';
		CHECK(hl_console_token_decode(text, back) < 0, "a '+' is not base64url");
		CHECK(hl_console_token_decode("abc", back) < 0, "a short token is refused");
	}
	CHECK(hl_console_host_ok("127.0.0.1:8080", "127.0.0.1", 8080), "Host 127.0.0.1:8080");
	CHECK(hl_console_host_ok("localhost:8080", "127.0.0.1", 8080), "Host localhost");
	CHECK(hl_console_host_ok("[::1]:8080", "127.0.0.1", 8080), "Host [::1]");
	CHECK(!hl_console_host_ok("evil.example:8080", "127.0.0.1", 8080),
	      "a DNS name is refused (rebinding)");
	CHECK(!hl_console_host_ok("127.0.0.1:8081", "127.0.0.1", 8080), "another port is refused");
	CHECK(!hl_console_host_ok(NULL, "127.0.0.1", 8080), "no Host is refused");
	CHECK(hl_console_origin_ok(NULL, "127.0.0.1:8080") &&
	          hl_console_origin_ok("http://127.0.0.1:8080", "127.0.0.1:8080") &&
	          !hl_console_origin_ok("http://evil.example", "127.0.0.1:8080") &&
	          !hl_console_origin_ok("null", "127.0.0.1:8080"),
	      "Origin: absent or this console's own");
	{
		char norm[HL_ADDR_MAX];
		CHECK(hl_config_console_addr("8080", norm) == HL_OK &&
		          !strcmp(norm, "127.0.0.1:8080"),
		      "console = PORT means 127.0.0.1:PORT");
		CHECK(hl_config_console_addr("[::1]:9", norm) == HL_OK && !strcmp(norm, "[::1]:9"),
		      "IPv6");
		CHECK(hl_config_console_addr("example.org:80", norm) < 0, "a DNS name is refused");
		CHECK(hl_config_console_addr("127.0.0.1:0", norm) < 0, "port 0 is refused");
	}
	hl_codebook_free(cb);
}

int
main(void)
{
	if (sodium_init() < 0 || !mkdtemp(dir)) {
		printf("Bail out! setup\n");
		return 1;
	}
	test_names();
	test_hash();
	test_store();
	test_requests();
	rmdir(dir);
	return t_done();
}
