/* SPDX-License-Identifier: ISC */
/*
 * load.c: queue many messages at once for tests and benchmarks, through the
 * same store API `hotline send` uses, in one transaction (one fsync):
 *
 *   hl-load DIR PEER COUNT SIZE PRECEDENCE [CHANNEL]
 *
 * Message i's text is "load <i> " padded with 'x' to SIZE bytes, so a test
 * can check content. Prints the number queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "station.h"
#include "store.h"

int
main(int argc, char **argv)
{
	struct hl_store *st;
	struct hl_peer_rec peer;
	char path[HL_PATH_MAX], err[512];
	unsigned prec;
	long count, size;
	uint8_t *body, hash[HL_HASH_LEN];

	if (sodium_init() < 0 || (argc != 6 && argc != 7) || (count = atol(argv[3])) <= 0 ||
	    (size = atol(argv[4])) < 16 || hl_prec_parse(argv[5], &prec) < 0) {
		fprintf(stderr, "usage: hl-load DIR PEER COUNT SIZE PRECEDENCE [CHANNEL]\n");
		return 2;
	}
	if (hl_station_path(argv[1], HL_F_STORE, path) < 0 ||
	    hl_store_open(path, false, &st, err, sizeof err) < 0) {
		fprintf(stderr, "hl-load: %s\n", err);
		return 1;
	}
	if (hl_store_peer_get(st, argv[2], &peer) < 0 || !(body = malloc((size_t)size))) {
		fprintf(stderr, "hl-load: no peer %s\n", argv[2]);
		return 1;
	}
	if (hl_store_begin(st) < 0)
		return 1;
	for (long i = 0; i < count; i++) {
		struct hl_event ev = {0};
		int n = snprintf((char *)body, (size_t)size, "load %ld ", i);
		memset(body + n, 'x', (size_t)(size - n));
		ev.kind = HL_EV_MESSAGE;
		ev.precedence = (uint8_t)prec;
		ev.created_ns = hl_wall_ns();
		ev.deadline_ns = ev.created_ns + 21600ull * 1000000000u;
		snprintf(ev.channel, sizeof ev.channel, "%s", argc == 7 ? argv[6] : "general");
		ev.body = body;
		ev.body_len = (uint32_t)size;
		if (hl_store_append_locked(st, peer.id, &ev, hash) < 0) {
			hl_store_rollback(st);
			fprintf(stderr, "hl-load: append failed at %ld\n", i);
			return 1;
		}
	}
	if (hl_store_commit(st) < 0)
		return 1;
	hl_store_close(st);
	free(body);
	printf("%ld\n", count);
	return 0;
}
