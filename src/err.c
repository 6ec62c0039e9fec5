/* SPDX-License-Identifier: ISC */
/* err.c: text for hotline's error codes. */
#include "hl.h"

const char *
hl_strerror(int err)
{
	switch (err) {
	case HL_OK:
		return "ok";
	case HL_ERR_NOMEM:
		return "out of memory";
	case HL_ERR_INVAL:
		return "invalid argument";
	case HL_ERR_PROTO:
		return "protocol violation";
	case HL_ERR_AUTH:
		return "authentication failed";
	case HL_ERR_IO:
		return "input/output error";
	case HL_ERR_CORRUPT:
		return "corrupt data";
	case HL_ERR_AGAIN:
		return "try again";
	case HL_ERR_CLOSED:
		return "connection closed";
	case HL_ERR_EXISTS:
		return "already exists";
	case HL_ERR_NOTFOUND:
		return "not found";
	case HL_ERR_REPLAY:
		return "replayed handshake";
	case HL_ERR_LIMIT:
		return "limit exceeded";
	case HL_ERR_BUSY:
		return "in use";
	case HL_ERR_FULL:
		return "disk full";
	case HL_ERR_DISK:
		return "disk I/O error";
	default:
		return "unknown error";
	}
}
