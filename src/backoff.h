/* SPDX-License-Identifier: ISC */
/*
 * backoff.h: when to dial again. Exponential from min to max, each delay
 * drawn uniformly from [d/2, d] ("equal jitter") so that two stations that
 * lost each other at the same instant do not redial in lockstep. Pure.
 */
#ifndef HL_BACKOFF_H
#define HL_BACKOFF_H

#include "hl.h"

struct hl_backoff {
	uint32_t min_ms, max_ms, cur_ms;
};

void hl_backoff_init(struct hl_backoff *b, uint32_t min_ms, uint32_t max_ms);
/* The next delay; rnd is a uniform random 32-bit value (randombytes_random() in use). */
uint32_t hl_backoff_next(struct hl_backoff *b, uint32_t rnd);
void hl_backoff_reset(struct hl_backoff *b);

#endif
