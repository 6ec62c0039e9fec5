/* SPDX-License-Identifier: ISC */
/*
 * store.h: the station's durable state, behind a narrow interface so that
 * another backend can replace SQLite. Today: SQLite in WAL mode with
 * synchronous=FULL (a COMMIT is on disk when it returns), busy timeout so
 * the CLI and the daemon can share it. Schema versions are numbered
 * (PRAGMA user_version); a store newer than this binary is refused.
 * Not thread-safe: one struct hl_store per thread.
 */
#ifndef HL_STORE_H
#define HL_STORE_H

#include "hl.h"
#include "keys.h"
#include "util.h"

#define HL_LINKS_MAX 8
#define HL_STORE_SCHEMA 1

struct hl_store;

struct hl_peer_rec {
	int64_t id;
	char name[HL_NAME_MAX + 1];
	struct hl_pubkey key;
	size_t nlinks;
	char links[HL_LINKS_MAX][HL_ADDR_MAX];
	uint64_t added_ns;
};

/*
 * Open (and with create, make) the store at path, migrating an older schema.
 * On failure *out is NULL and err says why in words for the operator.
 */
HL_MUST_CHECK int hl_store_open(const char *path, bool create, struct hl_store **out, char *err,
                                size_t errcap);
void hl_store_close(struct hl_store *st);

/* HL_ERR_EXISTS when the name or the key is already pinned. */
HL_MUST_CHECK int hl_store_peer_add(struct hl_store *st, const struct hl_peer_rec *p);
HL_MUST_CHECK int hl_store_peer_remove(struct hl_store *st, const char *name);
/* All peers by name; *out is malloc'd (free it), possibly NULL when *n is 0. */
HL_MUST_CHECK int hl_store_peer_list(struct hl_store *st, struct hl_peer_rec **out, size_t *n);

#endif
