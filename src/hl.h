/* SPDX-License-Identifier: ISC */
/*
 * hl.h: what every hotline module shares: the error codes, a few macros.
 * Errors are negative ints, like libuv and -errno, so "rc < 0" works at
 * every layer; foreign codes are translated where the call is made.
 */
#ifndef HL_H
#define HL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

enum hl_err {
	HL_OK = 0,
	HL_ERR_NOMEM = -1,   /* allocation failed */
	HL_ERR_INVAL = -2,   /* bad argument or bad user input */
	HL_ERR_PROTO = -3,   /* peer or client broke the protocol */
	HL_ERR_AUTH = -4,    /* authentication or decryption failed */
	HL_ERR_IO = -5,      /* system call or store failed */
	HL_ERR_CORRUPT = -6, /* stored data does not make sense */
	HL_ERR_AGAIN = -7,   /* not now: need more bytes, or busy */
	HL_ERR_CLOSED = -8,  /* the other end is gone */
	HL_ERR_EXISTS = -9,  /* refusing to overwrite */
	HL_ERR_NOTFOUND = -10,
	HL_ERR_REPLAY = -11, /* a handshake we have seen before */
	HL_ERR_LIMIT = -12,  /* a size or count limit was hit */
	HL_ERR_BUSY = -13,   /* refused: something depends on it */
	HL_ERR_FULL = -14,   /* the disk is full */
	HL_ERR_DISK = -15,   /* the disk failed: a write or fsync returned an I/O error */
};

#define HL_MUST_CHECK __attribute__((warn_unused_result))
#define HL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HL_FREE(p)                                                                                 \
	do {                                                                                       \
		free(p);                                                                           \
		(p) = NULL;                                                                        \
	} while (0)

/* Short, stable text for an error code (never NULL). */
const char *hl_strerror(int err);

#endif
