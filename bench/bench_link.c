/* SPDX-License-Identifier: ISC */
/*
 * bench_link.c: figures for the link, each beside its physical floor,
 * measured in the same run (bench/run.sh starts the station under test):
 *
 *   bench_link DIR ADDR HL1KEY
 *
 * DIR is a station pinned by the station at ADDR (key HL1KEY). Prints
 * handshakes per second (CPU only, and over loopback to the running
 * daemon) and the link's ping round trip (p50, p99) beside a plain
 * loopback TCP round trip of the same size. Never fails on a figure.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "client.h"
#include "stats.h"
#include "station.h"
#include "util.h"

#define ROUNDS 3000
#define PING_RECORD 37 /* header 4 + type 1 + body 16 + tag 16 */

static int
accept_pinned(void *ctx, const uint8_t rs[static 32], const uint8_t ts[static HL_TS_LEN])
{
	(void)ctx;
	(void)rs;
	(void)ts;
	return HL_OK;
}

/* Both ends of the handshake in this process: the CPU cost alone. */
static void
bench_handshake_cpu(const struct hl_identity *a, const struct hl_identity *b)
{
	static uint8_t out[HL_RECORD_MAX], out2[HL_RECORD_MAX], scratch[HL_FRAME_MAX];
	struct hl_session i, r;
	struct hl_session_event ev;
	size_t n = 0;
	int count = 0;
	double t0 = now_us(), t = t0;

	do {
		if (hl_session_start_initiator(&i, a->x25519_sk, b->pub.x25519, hl_wall_ns(), out,
		                               sizeof out, &n) < 0 ||
		    hl_session_start_responder(&r, b->x25519_sk) < 0 ||
		    hl_session_on_record(&r, out + 4, n - 4, accept_pinned, NULL, scratch, out2,
		                         &ev) < 0 ||
		    hl_session_on_record(&i, out2 + 4, ev.out_len - 4, accept_pinned, NULL, scratch,
		                         out, &ev) < 0) {
			printf("handshake failed\n");
			return;
		}
		hl_session_wipe(&i);
		hl_session_wipe(&r);
		count++;
		t = now_us();
	} while (t - t0 < 1e6);
	printf("%-44s %8.0f /s\n", "handshakes, CPU only (both ends, 1 core)",
	       count / ((t - t0) / 1e6));
}

static void
bench_handshake_loopback(const char *addr, const struct hl_identity *id, const uint8_t *key)
{
	struct hl_client *c = calloc(1, sizeof *c);
	int count = 0;
	double t0 = now_us(), t = t0;

	if (!c)
		return;
	do {
		if (hl_client_open(c, addr, id, key, 3000) < 0) {
			printf("handshake with %s failed\n", addr);
			break;
		}
		hl_client_close(c);
		count++;
		t = now_us();
	} while (t - t0 < 1e6);
	free(c);
	printf("%-44s %8.0f /s\n", "handshakes with the daemon over loopback",
	       count / ((t - t0) / 1e6));
}

static void
bench_link_rtt(const char *addr, const struct hl_identity *id, const uint8_t *key)
{
	struct hl_client *c = calloc(1, sizeof *c);
	struct hl_session_event ev;
	static double v[ROUNDS];
	size_t n = 0;

	if (!c || hl_client_open(c, addr, id, key, 3000) < 0 ||
	    hl_client_send(c, HL_FT_HELLO,
	                   (const uint8_t *)"\x01\x05"
	                                    "bench",
	                   7) < 0) {
		printf("cannot link to %s\n", addr);
		free(c);
		return;
	}
	for (int i = 0; i < ROUNDS; i++) {
		uint8_t body[16];
		hl_put_u64(body, (uint64_t)i + 1000000);
		hl_put_u64(body + 8, 0);
		double t0 = now_us();
		if (hl_client_send(c, HL_FT_PING, body, sizeof body) < 0)
			break;
		for (;;) {
			if (hl_client_recv(c, &ev, 3000) < 0)
				goto out;
			/* The daemon pings us too: answer, and wait for our own pong. */
			if (ev.frame && ev.type == HL_FT_PING &&
			    hl_client_send(c, HL_FT_PONG, ev.body, ev.len) < 0)
				goto out;
			if (ev.frame && ev.type == HL_FT_PONG && ev.len == 16 &&
			    hl_get_u64(ev.body) == (uint64_t)i + 1000000)
				break;
		}
		v[n++] = now_us() - t0;
	}
out:
	hl_client_close(c);
	free(c);
	if (n)
		report("link round trip (ping/pong through the daemon)", v, n);
}

static void *
echo_server(void *arg)
{
	int lfd = *(int *)arg, fd, one = 1;
	char buf[PING_RECORD];

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (;;) {
		size_t got = 0;
		while (got < sizeof buf) {
			ssize_t r = read(fd, buf + got, sizeof buf - got);
			if (r <= 0)
				goto out;
			got += (size_t)r;
		}
		if (hl_client_write_all(fd, buf, sizeof buf) < 0)
			break;
	}
out:
	close(fd);
	return NULL;
}

static void
bench_tcp_rtt(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof sa;
	static double v[ROUNDS];
	char addr[64], buf[PING_RECORD] = {0};
	pthread_t th;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;
	size_t n = 0;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &slen) != 0)
		return;
	pthread_create(&th, NULL, echo_server, &lfd);
	snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(sa.sin_port));
	fd = hl_client_dial(addr);
	for (int i = 0; fd >= 0 && i < ROUNDS; i++) {
		double t0 = now_us();
		size_t got = 0;
		if (hl_client_write_all(fd, buf, sizeof buf) < 0)
			break;
		while (got < sizeof buf) {
			ssize_t r = read(fd, buf + got, sizeof buf - got);
			if (r <= 0)
				goto out;
			got += (size_t)r;
		}
		v[n++] = now_us() - t0;
	}
out:
	if (fd >= 0)
		close(fd);
	pthread_join(th, NULL);
	close(lfd);
	if (n)
		report("floor: plain loopback TCP round trip, 37 B", v, n);
}

int
main(int argc, char **argv)
{
	struct hl_identity id, other;
	struct hl_pubkey pk;
	char path[HL_PATH_MAX];

	if (sodium_init() < 0 || argc != 4 || hl_pubkey_decode(argv[3], &pk) < 0 ||
	    hl_station_path(argv[1], HL_F_IDENTITY, path) < 0 || hl_identity_load(&id, path) < 0 ||
	    hl_identity_generate(&other) < 0) {
		fprintf(stderr, "usage: bench_link STATION-DIR PEER-ADDR PEER-HL1KEY\n");
		return 2;
	}
	bench_handshake_cpu(&id, &other);
	bench_handshake_loopback(argv[2], &id, pk.x25519);
	bench_tcp_rtt();
	bench_link_rtt(argv[2], &id, pk.x25519);
	hl_identity_free(&other);
	hl_identity_free(&id);
	return 0;
}
