/* SPDX-License-Identifier: ISC */
/* test_backoff.c: reconnect delays with equal jitter (src/backoff.c). */
#include <stdlib.h>

#include "backoff.h"
#include "t.h"

/* A fixed xorshift so the test is repeatable. */
static uint32_t
rnd(void)
{
	static uint32_t x = 2463534242u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

static void
test_schedule(void)
{
	struct hl_backoff b;
	uint32_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
	static const uint32_t ds[] = {1, 2, 3, 7, 100, 200, 400, 800, 1000, 65537};
	bool in_range = true, lo_seen = true, hi_seen = true;

	hl_backoff_init(&b, 100, 1000);
	T_EQ_INT(b.cur_ms, 100, "starts at min");
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		uint32_t d = want[i], got;
		T_EQ_INT(b.cur_ms, d, "nominal delay doubles up to max");
		got = hl_backoff_next(&b, rnd());
		if (got < d / 2 || got > d)
			in_range = false;
	}
	T_OK(in_range, "every delay within [d/2, d]");
	T_EQ_INT(b.cur_ms, 1000, "capped at max");

	/* The extremes of the jitter are reachable and never exceeded. */
	for (size_t i = 0; i < ARRAY_SIZE(ds); i++) {
		struct hl_backoff c;
		uint32_t d = ds[i];
		hl_backoff_init(&c, d, d);
		if (hl_backoff_next(&c, 0) != d / 2)
			lo_seen = false;
		hl_backoff_init(&c, d, d);
		if (hl_backoff_next(&c, d - d / 2) != d)
			hi_seen = false;
		hl_backoff_init(&c, d, d);
		if (hl_backoff_next(&c, UINT32_MAX) > d)
			hi_seen = false;
	}
	T_OK(lo_seen, "rnd 0 gives d/2");
	T_OK(hi_seen, "the top of the range is d, never more");

	/* Many draws: the mean of [d/2, d] is about 3d/4. */
	{
		struct hl_backoff c;
		uint64_t sum = 0;
		uint32_t lo = UINT32_MAX, hi = 0;
		bool ok = true;
		for (int i = 0; i < 10000; i++) {
			uint32_t v;
			hl_backoff_init(&c, 1000, 1000);
			v = hl_backoff_next(&c, rnd());
			ok = ok && v >= 500 && v <= 1000;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
			sum += v;
		}
		T_OK(ok, "10000 draws within [500, 1000]");
		T_OK(sum / 10000 > 725 && sum / 10000 < 775, "mean near 750 (got %llu)",
		     (unsigned long long)(sum / 10000));
		T_OK(lo < 510 && hi > 990, "draws spread over the range (%u..%u)", lo, hi);
	}
}

static void
test_reset(void)
{
	struct hl_backoff b;
	uint32_t d;

	hl_backoff_init(&b, 100, 1000);
	for (int i = 0; i < 10; i++)
		(void)hl_backoff_next(&b, rnd());
	T_EQ_INT(b.cur_ms, 1000, "at max after ten failures");
	hl_backoff_reset(&b);
	T_EQ_INT(b.cur_ms, 100, "reset goes back to min");
	d = hl_backoff_next(&b, rnd());
	T_OK(d >= 50 && d <= 100, "first delay after reset within [50, 100] (got %u)", d);
	T_EQ_INT(b.cur_ms, 200, "and grows again");
}

static void
test_edges(void)
{
	struct hl_backoff b;
	bool ok = true;

	hl_backoff_init(&b, 0, 0);
	T_OK(b.min_ms >= 1 && b.max_ms >= b.min_ms, "min 0 is raised, max follows");
	hl_backoff_init(&b, 500, 100);
	T_OK(b.max_ms == 500 && b.cur_ms == 500, "max below min is raised to min");
	T_OK(hl_backoff_next(&b, rnd()) <= 500, "and delays stay at most min");

	/* Near the top of uint32_t: doubling must not wrap. */
	hl_backoff_init(&b, 1u << 30, UINT32_MAX);
	for (int i = 0; i < 8; i++) {
		uint32_t before = b.cur_ms, v = hl_backoff_next(&b, UINT32_MAX);
		if (v < before / 2 || v > before || b.cur_ms < before)
			ok = false;
	}
	T_OK(ok, "no wrap-around near UINT32_MAX");
	T_EQ_INT(b.cur_ms, UINT32_MAX, "capped at UINT32_MAX");

	/* A max that is not min * 2^k is reached exactly. */
	hl_backoff_init(&b, 100, 750);
	for (int i = 0; i < 5; i++)
		(void)hl_backoff_next(&b, 0);
	T_EQ_INT(b.cur_ms, 750, "odd max reached exactly");
}

int
main(void)
{
	test_schedule();
	test_reset();
	test_edges();
	return t_done();
}
