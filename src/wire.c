/* SPDX-License-Identifier: ISC */
/* wire.c: record framing and the small frame bodies; bounds-checked, pure. */
#include <string.h>

#include "wire.h"

void
hl_frame_reader_init(struct hl_frame_reader *r)
{
	r->have = 0;
	r->need = 0;
}

int
hl_frame_feed(struct hl_frame_reader *r, const uint8_t *data, size_t len, const uint8_t **rec,
              size_t *reclen)
{
	size_t used = 0, take;

	*rec = NULL;
	*reclen = 0;
	if (r->have >= HL_FRAME_HDR && (r->need == 0 || r->need > HL_FRAME_MAX))
		return HL_ERR_PROTO; /* sticky: a bad length cannot be resynced */
	if (r->have < HL_FRAME_HDR) {
		take = HL_FRAME_HDR - r->have;
		if (take > len)
			take = len;
		memcpy(r->buf + r->have, data, take);
		r->have += take;
		used += take;
		if (r->have < HL_FRAME_HDR)
			return (int)used;
		r->need = hl_get_u32(r->buf);
		if (r->need == 0 || r->need > HL_FRAME_MAX)
			return HL_ERR_PROTO;
	}
	take = HL_FRAME_HDR + r->need - r->have;
	if (take > len - used)
		take = len - used;
	memcpy(r->buf + r->have, data + used, take);
	r->have += take;
	used += take;
	if (r->have == HL_FRAME_HDR + r->need) {
		*rec = r->buf + HL_FRAME_HDR;
		*reclen = r->need;
		r->have = 0;
		r->need = 0;
	}
	return (int)used;
}

void
hl_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
hl_put_u64(uint8_t *p, uint64_t v)
{
	hl_put_u32(p, (uint32_t)(v >> 32));
	hl_put_u32(p + 4, (uint32_t)v);
}

uint32_t
hl_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t
hl_get_u64(const uint8_t *p)
{
	return (uint64_t)hl_get_u32(p) << 32 | hl_get_u32(p + 4);
}

int
hl_hello_encode_flags(const char *name, uint8_t flags, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(name), need;

	*len = 0;
	need = 2 + n + (flags ? 1u : 0u);
	if (n > 32 || cap < need)
		return HL_ERR_INVAL;
	out[0] = HL_WIRE_VERSION;
	out[1] = (uint8_t)n;
	memcpy(out + 2, name, n);
	if (flags)
		out[2 + n] = flags;
	*len = need;
	return HL_OK;
}

int
hl_hello_encode(const char *name, uint8_t *out, size_t cap, size_t *len)
{
	return hl_hello_encode_flags(name, 0, out, cap, len);
}

int
hl_hello_decode_flags(const uint8_t *body, size_t len, uint8_t *version, char name[static 33],
                      uint8_t *flags)
{
	name[0] = '\0';
	*flags = 0;
	if (len < 2 || body[1] > 32 || (len != 2u + body[1] && len != 3u + body[1]))
		return HL_ERR_PROTO;
	for (size_t i = 0; i < body[1]; i++)
		if (body[2 + i] < 0x21 || body[2 + i] > 0x7e)
			return HL_ERR_PROTO;
	*version = body[0];
	memcpy(name, body + 2, body[1]);
	name[body[1]] = '\0';
	if (len == 3u + body[1])
		*flags = body[len - 1];
	return HL_OK;
}

int
hl_hello_decode(const uint8_t *body, size_t len, uint8_t *version, char name[static 33])
{
	uint8_t flags;

	return hl_hello_decode_flags(body, len, version, name, &flags);
}

int
hl_codebook_frame_encode(const uint8_t hash[static 32], const char *version, uint8_t *out,
                         size_t cap, size_t *len)
{
	size_t n = strlen(version);

	*len = 0;
	if (n > HL_CODEBOOK_VERSION_MAX || cap < 33 + n)
		return HL_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (version[i] < 0x20 || version[i] > 0x7e)
			return HL_ERR_INVAL;
	memcpy(out, hash, 32);
	out[32] = (uint8_t)n;
	memcpy(out + 33, version, n);
	*len = 33 + n;
	return HL_OK;
}

int
hl_codebook_frame_decode(const uint8_t *body, size_t len, uint8_t hash[static 32],
                         char version[static HL_CODEBOOK_VERSION_MAX + 1])
{
	version[0] = '\0';
	if (len < 33 || body[32] > HL_CODEBOOK_VERSION_MAX || len != 33u + body[32])
		return HL_ERR_PROTO;
	for (size_t i = 0; i < body[32]; i++)
		if (body[33 + i] < 0x20 || body[33 + i] > 0x7e)
			return HL_ERR_PROTO;
	memcpy(hash, body, 32);
	memcpy(version, body + 33, body[32]);
	version[body[32]] = '\0';
	return HL_OK;
}
