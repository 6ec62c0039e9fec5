/* SPDX-License-Identifier: ISC */
/* test_overdue.c: deadlines fall due in order (src/overdue.c). */
#include <stdlib.h>

#include "overdue.h"
#include "t.h"

int
main(void)
{
	struct hl_overdue o = {0};
	struct hl_due d;
	uint64_t last = 0;
	bool sorted = true;
	size_t popped = 0;

	T_OK(!hl_overdue_pop(&o, UINT64_MAX, &d), "empty: nothing due");
	/* 1000 deadlines in a scrambled order (a multiplicative permutation of 0..999). */
	for (uint64_t i = 0; i < 1000; i++) {
		struct hl_due e = {
		    .deadline_ns = (i * 337) % 1000 + 1, .peer_id = 7, .seq = i, .dir = 1};
		if (hl_overdue_add(&o, &e) < 0)
			break;
	}
	T_EQ_INT(o.n, 1000, "all kept");
	T_OK(!hl_overdue_pop(&o, 0, &d), "nothing due before the first deadline");
	while (hl_overdue_pop(&o, 500, &d)) {
		sorted = sorted && d.deadline_ns >= last && d.deadline_ns <= 500;
		last = d.deadline_ns;
		popped++;
	}
	T_EQ_INT(popped, 500, "exactly the 500 due by 500 come out");
	T_OK(sorted, "earliest first");
	d = (struct hl_due){.deadline_ns = 3, .peer_id = 9, .seq = 42, .dir = 0};
	T_EQ_INT(hl_overdue_add(&o, &d), HL_OK, "a late add of an old deadline");
	T_OK(hl_overdue_pop(&o, 500, &d) && d.seq == 42 && d.peer_id == 9 && d.dir == 0,
	     "comes out next, whole");
	popped = 0;
	while (hl_overdue_pop(&o, UINT64_MAX, &d))
		popped++;
	T_EQ_INT(popped, 500, "the rest");
	hl_overdue_free(&o);
	return t_done();
}
