/* SPDX-License-Identifier: ISC */
/* overdue.c: a binary min-heap of deadlines; see overdue.h. */
#include <stdlib.h>

#include "overdue.h"

static void
swap(struct hl_due *a, struct hl_due *b)
{
	struct hl_due t = *a;

	*a = *b;
	*b = t;
}

int
hl_overdue_add(struct hl_overdue *o, const struct hl_due *d)
{
	size_t i;

	if (o->n == o->cap) {
		size_t ncap = o->cap ? o->cap * 2 : 64;
		struct hl_due *nv = realloc(o->heap, ncap * sizeof *nv);
		if (!nv)
			return HL_ERR_NOMEM;
		o->heap = nv;
		o->cap = ncap;
	}
	i = o->n++;
	o->heap[i] = *d;
	while (i > 0 && o->heap[(i - 1) / 2].deadline_ns > o->heap[i].deadline_ns) {
		swap(&o->heap[(i - 1) / 2], &o->heap[i]);
		i = (i - 1) / 2;
	}
	return HL_OK;
}

bool
hl_overdue_pop(struct hl_overdue *o, uint64_t now_ns, struct hl_due *out)
{
	size_t i = 0;

	if (o->n == 0 || o->heap[0].deadline_ns > now_ns)
		return false;
	*out = o->heap[0];
	o->heap[0] = o->heap[--o->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < o->n && o->heap[l].deadline_ns < o->heap[m].deadline_ns)
			m = l;
		if (r < o->n && o->heap[r].deadline_ns < o->heap[m].deadline_ns)
			m = r;
		if (m == i)
			break;
		swap(&o->heap[i], &o->heap[m]);
		i = m;
	}
	return true;
}

void
hl_overdue_free(struct hl_overdue *o)
{
	free(o->heap);
	*o = (struct hl_overdue){0};
}
