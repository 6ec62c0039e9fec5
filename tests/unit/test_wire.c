/* SPDX-License-Identifier: ISC */
/* test_wire.c: record framing, big-endian helpers, HELLO bodies and their flags (src/wire.c). */
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "wire.h"

static struct hl_frame_reader reader;
static uint8_t stream[2 * (HL_FRAME_HDR + HL_FRAME_MAX) + 64];

/* Write a record of len bytes (filled with a pattern derived from seed) at p. */
static size_t
put_record(uint8_t *p, uint32_t len, uint8_t seed)
{
	hl_put_u32(p, len);
	for (uint32_t i = 0; i < len; i++)
		p[HL_FRAME_HDR + i] = (uint8_t)(seed + i * 7u);
	return HL_FRAME_HDR + len;
}

static bool
record_ok(const uint8_t *rec, size_t len, uint32_t want, uint8_t seed)
{
	if (!rec || len != want)
		return false;
	for (uint32_t i = 0; i < want; i++)
		if (rec[i] != (uint8_t)(seed + i * 7u))
			return false;
	return true;
}

static void
test_be(void)
{
	uint8_t b[8];

	hl_put_u32(b, 0x01020304u);
	T_OK(b[0] == 1 && b[1] == 2 && b[2] == 3 && b[3] == 4, "put_u32 is big-endian");
	T_EQ_INT(hl_get_u32(b), 0x01020304u, "get_u32 round trip");
	hl_put_u64(b, UINT64_C(0x1122334455667788));
	T_OK(b[0] == 0x11 && b[7] == 0x88, "put_u64 is big-endian");
	T_OK(hl_get_u64(b) == UINT64_C(0x1122334455667788), "get_u64 round trip");
	hl_put_u32(b, 0xffffffffu);
	T_OK(hl_get_u32(b) == 0xffffffffu, "get_u32 of all ones");
}

static void
test_one_byte_chunks(void)
{
	const uint8_t *rec = NULL;
	size_t reclen = 0, n = put_record(stream, 300, 5), got = 0, records = 0;
	bool ok = true, early = false;

	hl_frame_reader_init(&reader);
	for (size_t i = 0; i < n; i++) {
		int rc = hl_frame_feed(&reader, stream + i, 1, &rec, &reclen);
		if (rc != 1) {
			ok = false;
			break;
		}
		if (rec) {
			records++;
			if (i != n - 1)
				early = true;
			got = reclen;
			ok = record_ok(rec, reclen, 300, 5);
		}
	}
	T_OK(ok, "1-byte chunks: each call consumes one byte, record intact");
	T_EQ_INT(records, 1, "1-byte chunks: exactly one record");
	T_OK(!early, "1-byte chunks: record completes on its last byte");
	T_EQ_INT(got, 300, "1-byte chunks: record length");
}

static void
test_two_in_one(void)
{
	const uint8_t *rec = NULL;
	size_t reclen = 0, n1, n2;
	int rc;

	n1 = put_record(stream, 10, 1);
	n2 = put_record(stream + n1, 20, 2);
	hl_frame_reader_init(&reader);
	rc = hl_frame_feed(&reader, stream, n1 + n2, &rec, &reclen);
	T_EQ_INT(rc, n1, "two records in one chunk: first call stops at the first record's end");
	T_OK(record_ok(rec, reclen, 10, 1), "two records in one chunk: first record intact");
	rc = hl_frame_feed(&reader, stream + n1, n2, &rec, &reclen);
	T_EQ_INT(rc, n2, "two records in one chunk: second call consumes the rest");
	T_OK(record_ok(rec, reclen, 20, 2), "two records in one chunk: second record intact");
	rc = hl_frame_feed(&reader, stream, 0, &rec, &reclen);
	T_OK(rc == 0 && rec == NULL && reclen == 0, "empty feed: nothing consumed, no record");
}

static void
test_split_header(void)
{
	const uint8_t *rec = NULL;
	size_t reclen = 0, n = put_record(stream, 1, 9);
	int rc;

	hl_frame_reader_init(&reader);
	rc = hl_frame_feed(&reader, stream, 3, &rec, &reclen);
	T_OK(rc == 3 && rec == NULL, "partial header: consumed, no record");
	rc = hl_frame_feed(&reader, stream + 3, n - 3, &rec, &reclen);
	T_OK(rc == (int)(n - 3) && record_ok(rec, reclen, 1, 9),
	     "1-byte record after split header");
}

static void
test_limits(void)
{
	const uint8_t *rec = NULL;
	size_t reclen = 0, n;
	int rc;

	hl_frame_reader_init(&reader);
	hl_put_u32(stream, 0);
	rc = hl_frame_feed(&reader, stream, 4, &rec, &reclen);
	T_EQ_INT(rc, HL_ERR_PROTO, "length 0 rejected");
	T_OK(rec == NULL, "length 0: no record");

	hl_frame_reader_init(&reader);
	hl_put_u32(stream, HL_FRAME_MAX + 1);
	rc = hl_frame_feed(&reader, stream, 4, &rec, &reclen);
	T_EQ_INT(rc, HL_ERR_PROTO, "length 65536 rejected");

	hl_frame_reader_init(&reader);
	hl_put_u32(stream, 0xffffffffu);
	rc = hl_frame_feed(&reader, stream, 4, &rec, &reclen);
	T_EQ_INT(rc, HL_ERR_PROTO, "length 2^32-1 rejected");

	hl_frame_reader_init(&reader);
	n = put_record(stream, HL_FRAME_MAX, 3);
	rc = hl_frame_feed(&reader, stream, n, &rec, &reclen);
	T_EQ_INT(rc, n, "length 65535: whole record consumed");
	T_OK(record_ok(rec, reclen, HL_FRAME_MAX, 3), "length 65535 accepted intact");

	/* Same, fed in uneven chunks. */
	hl_frame_reader_init(&reader);
	{
		size_t off = 0, records = 0, chunk = 1;
		bool ok = true;
		while (off < n) {
			size_t c = chunk < n - off ? chunk : n - off;
			rc = hl_frame_feed(&reader, stream + off, c, &rec, &reclen);
			if (rc < 0 || (size_t)rc != c) {
				ok = false;
				break;
			}
			off += c;
			if (rec) {
				records++;
				ok = ok && record_ok(rec, reclen, HL_FRAME_MAX, 3);
			}
			chunk = chunk * 3 + 1;
		}
		T_OK(ok && records == 1, "length 65535 in growing chunks");
	}
}

static void
test_hello(void)
{
	uint8_t buf[64], version = 0;
	char name[33], long_name[40];
	size_t len = 0;
	int rc;

	rc = hl_hello_encode("beijing", buf, sizeof buf, &len);
	T_OK(rc == HL_OK && len == 2 + 7, "hello encode");
	T_OK(buf[0] == HL_WIRE_VERSION && buf[1] == 7, "hello header bytes");
	rc = hl_hello_decode(buf, len, &version, name);
	T_OK(rc == HL_OK && version == HL_WIRE_VERSION && strcmp(name, "beijing") == 0,
	     "hello round trip");

	memset(long_name, 'a', 32);
	long_name[32] = '\0';
	rc = hl_hello_encode(long_name, buf, sizeof buf, &len);
	T_OK(rc == HL_OK && len == 34, "hello with 32-char name encodes");
	rc = hl_hello_decode(buf, len, &version, name);
	T_OK(rc == HL_OK && strcmp(name, long_name) == 0, "32-char name round trip");
	long_name[32] = 'a';
	long_name[33] = '\0';
	T_EQ_INT(hl_hello_encode(long_name, buf, sizeof buf, &len), HL_ERR_INVAL,
	         "33-char name refused by encode");
	T_EQ_INT(hl_hello_encode("beijing", buf, 8, &len), HL_ERR_INVAL,
	         "encode into too small a buffer refused");

	rc = hl_hello_encode("", buf, sizeof buf, &len);
	T_OK(rc == HL_OK && len == 2, "empty name encodes to 2 bytes");
	rc = hl_hello_decode(buf, len, &version, name);
	T_OK(rc == HL_OK && name[0] == '\0', "empty name decodes");

	T_EQ_INT(hl_hello_decode(buf, 0, &version, name), HL_ERR_PROTO, "empty body refused");
	T_EQ_INT(hl_hello_decode(buf, 1, &version, name), HL_ERR_PROTO, "1-byte body refused");

	rc = hl_hello_encode("beijing", buf, sizeof buf, &len);
	T_OK(rc == HL_OK, "re-encode");
	T_EQ_INT(hl_hello_decode(buf, len - 1, &version, name), HL_ERR_PROTO,
	         "truncated name refused");
	T_OK(name[0] == '\0', "name cleared on error");
	buf[len] = 0;
	buf[len + 1] = 0;
	T_EQ_INT(hl_hello_decode(buf, len + 2, &version, name), HL_ERR_PROTO,
	         "two trailing bytes refused");
	buf[4] = ' ';
	T_EQ_INT(hl_hello_decode(buf, len, &version, name), HL_ERR_PROTO, "space in name refused");
	buf[4] = 0x7f;
	T_EQ_INT(hl_hello_decode(buf, len, &version, name), HL_ERR_PROTO, "DEL in name refused");
	buf[4] = 0x00;
	T_EQ_INT(hl_hello_decode(buf, len, &version, name), HL_ERR_PROTO, "NUL in name refused");
	buf[4] = 0xc3;
	T_EQ_INT(hl_hello_decode(buf, len, &version, name), HL_ERR_PROTO,
	         "non-ASCII in name refused");

	memset(buf, 'x', sizeof buf);
	buf[0] = HL_WIRE_VERSION;
	buf[1] = 33;
	T_EQ_INT(hl_hello_decode(buf, 35, &version, name), HL_ERR_PROTO, "name length 33 refused");
}

/* The flags byte after the name (test sessions), and the old form without it. */
static void
test_hello_flags(void)
{
	uint8_t buf[64], plain[64], version = 0, flags = 0xff;
	char name[33], long_name[33];
	size_t len = 0, plen = 0;
	int rc;

	T_EQ_INT(HL_FT_TEST, 0x06, "TEST is frame type 0x06");
	T_EQ_INT(HL_FT_TEST_REPLY, 0x07, "TEST_REPLY is frame type 0x07");
	T_EQ_INT(HL_TEST_LEN, 16, "a test body is 16 bytes");

	rc = hl_hello_encode_flags("moscow", HL_HELLO_TEST_ONLY, buf, sizeof buf, &len);
	T_OK(rc == HL_OK && len == 2 + 6 + 1 && buf[8] == HL_HELLO_TEST_ONLY,
	     "test-only hello: flags byte after the name");
	rc = hl_hello_decode_flags(buf, len, &version, name, &flags);
	T_OK(rc == HL_OK && flags == HL_HELLO_TEST_ONLY && version == HL_WIRE_VERSION &&
	         strcmp(name, "moscow") == 0,
	     "test-only hello round trip");
	rc = hl_hello_decode(buf, len, &version, name);
	T_OK(rc == HL_OK && strcmp(name, "moscow") == 0, "hl_hello_decode takes the flags form");

	rc = hl_hello_encode_flags("moscow", 0, buf, sizeof buf, &len);
	T_OK(rc == HL_OK && len == 2 + 6, "zero flags: no flags byte is sent");
	rc = hl_hello_encode("moscow", plain, sizeof plain, &plen);
	T_OK(rc == HL_OK && plen == len && memcmp(plain, buf, len) == 0,
	     "zero flags: the same bytes as the old form");
	flags = 0xff;
	rc = hl_hello_decode_flags(plain, plen, &version, name, &flags);
	T_OK(rc == HL_OK && flags == 0 && strcmp(name, "moscow") == 0,
	     "old form decodes with flags 0");
	plain[plen] = 0;
	flags = 0xff;
	rc = hl_hello_decode_flags(plain, plen + 1, &version, name, &flags);
	T_OK(rc == HL_OK && flags == 0, "an explicit zero flags byte decodes");
	plain[plen] = 0xfe;
	rc = hl_hello_decode_flags(plain, plen + 1, &version, name, &flags);
	T_OK(rc == HL_OK && flags == 0xfe, "unknown flag bits are passed up, not refused");
	plain[plen + 1] = 1;
	flags = 0xff;
	rc = hl_hello_decode_flags(plain, plen + 2, &version, name, &flags);
	T_OK(rc == HL_ERR_PROTO && flags == 0 && name[0] == '\0',
	     "two bytes after the name refused, outputs cleared");

	T_EQ_INT(hl_hello_encode_flags("moscow", HL_HELLO_TEST_ONLY, buf, 8, &len), HL_ERR_INVAL,
	         "no room for the flags byte: refused");
	T_EQ_INT(len, 0, "refused encode leaves len 0");
	memset(long_name, 'z', 32);
	long_name[32] = '\0';
	rc = hl_hello_encode_flags(long_name, HL_HELLO_TEST_ONLY, buf, sizeof buf, &len);
	T_OK(rc == HL_OK && len == 35, "32-char name with flags encodes to 35 bytes");
	rc = hl_hello_decode_flags(buf, len, &version, name, &flags);
	T_OK(rc == HL_OK && flags == HL_HELLO_TEST_ONLY && strcmp(name, long_name) == 0,
	     "32-char name with flags round trip");
	rc = hl_hello_encode_flags("", HL_HELLO_TEST_ONLY, buf, sizeof buf, &len);
	T_OK(rc == HL_OK && len == 3, "empty name with flags: 3 bytes");
	rc = hl_hello_decode_flags(buf, len, &version, name, &flags);
	T_OK(rc == HL_OK && flags == HL_HELLO_TEST_ONLY && name[0] == '\0',
	     "empty name with flags decodes");
	buf[1] = 1; /* now the flags byte reads as a one-byte name */
	rc = hl_hello_decode_flags(buf, 3, &version, name, &flags);
	T_OK(rc == HL_ERR_PROTO, "a control byte read as the name is still refused");
}

int
main(void)
{
	test_be();
	test_one_byte_chunks();
	test_two_in_one();
	test_split_header();
	test_limits();
	test_hello();
	test_hello_flags();
	return t_done();
}
