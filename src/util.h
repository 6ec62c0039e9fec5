/* SPDX-License-Identifier: ISC */
/* util.h: small helpers shared by the CLI and the daemon: time, names, addresses, files. */
#ifndef HL_UTIL_H
#define HL_UTIL_H

#include "hl.h"

#define HL_NAME_MAX 32  /* station, peer and channel names */
#define HL_ADDR_MAX 128 /* "host:port" as the operator wrote it */

/* Milliseconds on the monotonic clock; for timers and intervals. */
uint64_t hl_now_ms(void);
/* Nanoseconds since the Unix epoch; for records shown to people. */
uint64_t hl_wall_ns(void);
/* ISO 8601 UTC with milliseconds ("2026-11-26T08:00:00.123Z"); "" for 0. */
void hl_iso_time(uint64_t wall_ns, char out[static 32]);

/* A name: 1..32 of [a-z0-9_-], starting with a letter or digit. */
bool hl_name_valid(const char *name);

/*
 * Split "host:port" or "[v6addr]:port" into host (cap hostcap) and port.
 * The port must be 0..65535 (0 only when allow_zero). HL_ERR_INVAL otherwise.
 */
HL_MUST_CHECK int hl_addr_split(const char *addr, char *host, size_t hostcap, uint16_t *port,
                                bool allow_zero);

/*
 * Read a whole file (at most max bytes) into a malloc'd, NUL-terminated
 * buffer the caller frees. HL_ERR_NOTFOUND, HL_ERR_LIMIT or HL_ERR_IO.
 */
HL_MUST_CHECK int hl_file_read(const char *path, size_t max, char **out, size_t *len);
/*
 * Write a file atomically (temp file, fsync, rename, fsync of the
 * directory) with the given mode. With exclusive, an existing file is
 * HL_ERR_EXISTS and is left alone.
 */
HL_MUST_CHECK int hl_file_write(const char *path, const void *data, size_t len, unsigned mode,
                                bool exclusive);

/* snprintf into a fixed buffer; HL_ERR_LIMIT when the result does not fit. */
HL_MUST_CHECK int hl_path(char *out, size_t cap, const char *dir, const char *file);

#endif
