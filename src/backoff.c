/* SPDX-License-Identifier: ISC */
/* backoff.c: reconnect delays; see backoff.h. */
#include "backoff.h"

void
hl_backoff_init(struct hl_backoff *b, uint32_t min_ms, uint32_t max_ms)
{
	b->min_ms = min_ms ? min_ms : 1;
	b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
	b->cur_ms = b->min_ms;
}

uint32_t
hl_backoff_next(struct hl_backoff *b, uint32_t rnd)
{
	uint32_t d = b->cur_ms, half = d / 2;

	b->cur_ms = d > b->max_ms / 2 ? b->max_ms : d * 2;
	return half + (uint32_t)((uint64_t)rnd % ((uint64_t)(d - half) + 1));
}

void
hl_backoff_reset(struct hl_backoff *b)
{
	b->cur_ms = b->min_ms;
}
