/* SPDX-License-Identifier: ISC */
/*
 * t.h: a tiny TAP harness for unit tests. Each check prints "ok N - what"
 * or "not ok N - what (file:line)"; t_done() prints the plan and returns the
 * exit status (non-zero when any check failed).
 */
#ifndef HL_T_H
#define HL_T_H

#include <stdio.h>
#include <string.h>

static int t_count, t_failed;

#define T_OK(cond, ...)                                                                            \
	do {                                                                                       \
		t_count++;                                                                         \
		if (cond) {                                                                        \
			printf("ok %d - ", t_count);                                               \
		} else {                                                                           \
			t_failed++;                                                                \
			printf("not ok %d - ", t_count);                                           \
		}                                                                                  \
		printf(__VA_ARGS__);                                                               \
		if (!(cond))                                                                       \
			printf(" (%s:%d)", __FILE__, __LINE__);                                    \
		printf("\n");                                                                      \
	} while (0)

#define T_EQ_INT(a, b, what)                                                                       \
	do {                                                                                       \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                            \
		T_OK(t_a_ == t_b_, "%s (got %lld, want %lld)", what, t_a_, t_b_);                  \
	} while (0)

#define T_EQ_MEM(a, b, n, what) T_OK(memcmp((a), (b), (n)) == 0, "%s", what)

static inline int
t_done(void)
{
	printf("1..%d\n", t_count);
	if (t_failed)
		printf("# %d of %d checks failed\n", t_failed, t_count);
	return t_failed ? 1 : 0;
}

#endif
