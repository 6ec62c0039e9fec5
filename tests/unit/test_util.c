/* SPDX-License-Identifier: ISC */
/* test_util.c: names, addresses, files and time helpers (src/util.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "util.h"

static char dir[] = "/tmp/hl-test-util-XXXXXX";

static void
split_ok(const char *addr, bool allow_zero, const char *host, uint16_t port)
{
	char h[HL_ADDR_MAX];
	uint16_t p = 1;
	int rc = hl_addr_split(addr, h, sizeof h, &p, allow_zero);

	T_OK(rc == HL_OK && strcmp(h, host) == 0 && p == port, "split \"%s\" -> \"%s\" %u", addr,
	     host, port);
}

static void
split_bad(const char *addr, bool allow_zero)
{
	char h[HL_ADDR_MAX];
	uint16_t p = 1;
	int rc;

	memset(h, 'z', sizeof h);
	rc = hl_addr_split(addr, h, sizeof h, &p, allow_zero);
	T_OK(rc == HL_ERR_INVAL && p == 0 && h[0] == '\0', "split \"%s\"%s refused", addr,
	     allow_zero ? " (allow_zero)" : "");
}

static void
test_addr(void)
{
	char h[8], longaddr[HL_ADDR_MAX + 8];
	uint16_t p;

	split_ok("127.0.0.1:7400", false, "127.0.0.1", 7400);
	split_ok("example.org:1", false, "example.org", 1);
	split_ok("h:65535", false, "h", 65535);
	split_ok("[::1]:7400", false, "::1", 7400);
	split_ok("[fe80::1%eth0]:80", false, "fe80::1%eth0", 80);
	split_ok("0.0.0.0:0", true, "0.0.0.0", 0);
	split_ok("[::]:0", true, "::", 0);
	split_bad("0.0.0.0:0", false);
	split_bad("[::]:0", false);
	split_bad("127.0.0.1", false);
	split_bad("127.0.0.1:", false);
	split_bad(":7400", false);
	split_bad("", false);
	split_bad(":", true);
	split_bad("h:65536", false);
	split_bad("h:99999999999999999999", false);
	split_bad("h:-1", true);
	split_bad("h:80x", false);
	split_bad("h:0x50", false);
	split_bad("h:1:2", false);
	split_bad("::1:7400", false);
	split_bad("[::1]", false);
	split_bad("[::1]:", false);
	split_bad("[::1]7400", false);
	split_bad("[]:7400", false);
	split_bad("[::1:7400", false);

	T_EQ_INT(hl_addr_split("abcdefgh:1", h, sizeof h, &p, false), HL_ERR_INVAL,
	         "host longer than hostcap refused");
	T_EQ_INT(hl_addr_split("abcdefg:1", h, sizeof h, &p, false), HL_OK,
	         "host of hostcap - 1 fits");
	memset(longaddr, 'a', sizeof longaddr);
	memcpy(longaddr + HL_ADDR_MAX - 6, ":7400", 6);
	T_EQ_INT(strlen(longaddr), HL_ADDR_MAX - 1, "test address of HL_ADDR_MAX - 1");
	{
		char big[HL_ADDR_MAX];
		T_EQ_INT(hl_addr_split(longaddr, big, sizeof big, &p, false), HL_OK,
		         "address of HL_ADDR_MAX - 1 accepted");
		memcpy(longaddr + HL_ADDR_MAX - 5, ":7400", 6);
		T_EQ_INT(hl_addr_split(longaddr, big, sizeof big, &p, false), HL_ERR_INVAL,
		         "address of HL_ADDR_MAX refused");
	}
}

static void
test_names(void)
{
	char n33[34];

	T_OK(hl_name_valid("a"), "name \"a\"");
	T_OK(hl_name_valid("beijing"), "name \"beijing\"");
	T_OK(hl_name_valid("0station"), "name may start with a digit");
	T_OK(hl_name_valid("a-b_c9"), "name with - and _");
	memset(n33, 'x', 33);
	n33[33] = '\0';
	T_OK(!hl_name_valid(n33), "33 characters refused");
	n33[32] = '\0';
	T_OK(hl_name_valid(n33), "32 characters accepted");
	T_OK(!hl_name_valid(""), "empty name refused");
	T_OK(!hl_name_valid("-a"), "leading - refused");
	T_OK(!hl_name_valid("_a"), "leading _ refused");
	T_OK(!hl_name_valid("Beijing"), "upper case refused");
	T_OK(!hl_name_valid("a b"), "space refused");
	T_OK(!hl_name_valid("a.b"), "dot refused");
	T_OK(!hl_name_valid("a/b"), "slash refused");
	T_OK(!hl_name_valid("caf\xc3\xa9"), "non-ASCII refused");
}

static void
test_files(void)
{
	char path[512], *text = NULL;
	struct stat st;
	size_t len = 0;
	int rc;

	rc = hl_path(path, sizeof path, dir, "f");
	T_EQ_INT(rc, HL_OK, "hl_path");
	T_EQ_INT(hl_file_read(path, 100, &text, &len), HL_ERR_NOTFOUND, "read missing file");
	T_OK(text == NULL && len == 0, "nothing returned for a missing file");

	rc = hl_file_write(path, "hello", 5, 0600, true);
	T_EQ_INT(rc, HL_OK, "exclusive write of a new file");
	T_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	rc = hl_file_read(path, 100, &text, &len);
	T_OK(rc == HL_OK && len == 5 && strcmp(text, "hello") == 0, "read back, NUL-terminated");
	free(text);
	text = NULL;

	rc = hl_file_write(path, "other", 5, 0600, true);
	T_EQ_INT(rc, HL_ERR_EXISTS, "exclusive write refuses an existing file");
	rc = hl_file_read(path, 100, &text, &len);
	T_OK(rc == HL_OK && strcmp(text, "hello") == 0, "existing file left alone");
	free(text);
	text = NULL;
	{
		char tmp[520];
		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		T_OK(access(tmp, F_OK) != 0, "no temp file left behind");
	}

	rc = hl_file_write(path, "replaced!", 9, 0644, false);
	T_EQ_INT(rc, HL_OK, "non-exclusive write replaces");
	T_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "mode 0644 despite umask");
	rc = hl_file_read(path, 100, &text, &len);
	T_OK(rc == HL_OK && len == 9 && memcmp(text, "replaced!", 9) == 0, "replaced content");
	free(text);
	text = NULL;

	T_EQ_INT(hl_file_read(path, 8, &text, &len), HL_ERR_LIMIT, "file over max refused");
	T_OK(text == NULL, "nothing returned over max");
	rc = hl_file_read(path, 9, &text, &len);
	T_OK(rc == HL_OK && len == 9, "file of exactly max accepted");
	free(text);
	text = NULL;

	rc = hl_file_write(path, "", 0, 0600, false);
	T_EQ_INT(rc, HL_OK, "write empty file");
	rc = hl_file_read(path, 0, &text, &len);
	T_OK(rc == HL_OK && len == 0 && text && text[0] == '\0', "read empty file");
	free(text);
	unlink(path);

	{
		char out[8];
		T_EQ_INT(hl_path(out, sizeof out, "abc", "def"), HL_OK, "hl_path fits");
		T_OK(strcmp(out, "abc/def") == 0, "hl_path joins with /");
		T_EQ_INT(hl_path(out, sizeof out, "abc", "defg"), HL_ERR_LIMIT, "hl_path too long");
	}
	rc = hl_path(path, sizeof path, "/nonexistent-hl-dir", "f");
	T_EQ_INT(rc, HL_OK, "hl_path");
	T_OK(hl_file_write(path, "x", 1, 0600, false) < 0, "write into a missing dir fails");
}

static void
test_time(void)
{
	char out[32];
	uint64_t a, b;

	hl_iso_time(UINT64_C(1700000000123456789), out);
	T_OK(strcmp(out, "2023-11-14T22:13:20.123Z") == 0, "iso time (%s)", out);
	hl_iso_time(0, out);
	T_OK(out[0] == '\0', "iso time of 0 is empty");
	hl_iso_time(1000000, out);
	T_OK(strcmp(out, "1970-01-01T00:00:00.001Z") == 0, "iso time near the epoch (%s)", out);
	a = hl_now_ms();
	b = hl_now_ms();
	T_OK(b >= a, "monotonic clock does not go back");
	T_OK(hl_wall_ns() > UINT64_C(1600000000000000000), "wall clock is after 2020");
}

int
main(void)
{
	umask(077);
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	test_addr();
	test_names();
	test_files();
	test_time();
	if (rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
	return t_done();
}
