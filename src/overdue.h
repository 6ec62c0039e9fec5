/* SPDX-License-Identifier: ISC */
/*
 * overdue.h: which acknowledgment deadlines fall due, in deadline order,
 * without scanning the store: a min-heap of (deadline, peer, direction,
 * seq) that the daemon fills once from the store at start and then with
 * each message it stores. Whoever pops an entry checks the store for
 * whether the message is still unacknowledged. Pure: no I/O.
 */
#ifndef HL_OVERDUE_H
#define HL_OVERDUE_H

#include "hl.h"

struct hl_due {
	uint64_t deadline_ns;
	int64_t peer_id;
	uint64_t seq;
	int dir;
};

struct hl_overdue {
	struct hl_due *heap;
	size_t n, cap;
};

/* Remember a deadline; HL_ERR_NOMEM (the entry is then not kept). */
HL_MUST_CHECK int hl_overdue_add(struct hl_overdue *o, const struct hl_due *d);
/* The earliest entry with deadline <= now, removed: true; false when none is due. */
bool hl_overdue_pop(struct hl_overdue *o, uint64_t now_ns, struct hl_due *out);
void hl_overdue_free(struct hl_overdue *o);

#endif
