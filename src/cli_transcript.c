/* SPDX-License-Identifier: ISC */
/*
 * cli_transcript.c: `hotline transcript PEER`, the record with one peer as
 * JSON lines or as a page for people (src/transcript.c does the work). It
 * only reads the store, whether or not the daemon runs. A file named with
 * --output appears whole or not at all: it is written beside itself as
 * FILE.tmp, synced, then renamed over FILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "keys.h"
#include "station.h"
#include "transcript.h"

const char transcript_help[] =
    "usage: hotline -d DIR transcript PEER [--since T] [--format jsonl|html] [--output FILE]\n"
    "\n"
    "Export this station's record with PEER: both chains of events, the peer's\n"
    "signed heads, receipts and refusals, and the checkpoints (docs/transcript.md).\n"
    "jsonl, the default, is for auditors and tools (tests/tools/check_transcript.py\n"
    "verifies it); html is one printable page for people, both sides' messages in\n"
    "time order, with the outcome of the verification at the top. Reads the store\n"
    "only: works whether or not the daemon runs.\n"
    "\n"
    "  --since T      start each chain at its first event created at or after T:\n"
    "                 2026-11-26T08:00:00Z, 2026-11-26, or nanoseconds since 1970\n"
    "  --format F     jsonl (default) or html\n"
    "  --output FILE  write FILE, whole or not at all, instead of standard output\n";

static void
summary(const struct hl_transcript_result *r, const char *peer, const char *file)
{
	printf("exported the record with %s to %s: %llu events out, %llu in, %llu heads, %llu "
	       "receipts, %llu refusals, %llu checkpoints",
	       peer, file, (unsigned long long)r->events_out, (unsigned long long)r->events_in,
	       (unsigned long long)r->heads, (unsigned long long)r->receipts,
	       (unsigned long long)r->refusals, (unsigned long long)r->checkpoints);
	if (r->checked)
		printf("; verification: %s", r->verified ? "verified" : "FAILED");
	printf("\n");
}

int
cmd_transcript(int argc, char **argv)
{
	static const struct option opts[] = {{"since", required_argument, NULL, 's'},
	                                     {"format", required_argument, NULL, 'f'},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	struct hl_transcript_opts o = {.format = HL_TRANSCRIPT_JSONL};
	struct hl_transcript_result res;
	struct hl_peer_rec peer;
	struct hl_config cfg;
	struct hl_store *st = NULL;
	const char *output = NULL;
	char tmp[HL_PATH_MAX + 8];
	struct hl_pubkey self;
	FILE *out = stdout;
	int c, fd, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (hl_transcript_parse_time(optarg, &o.since_ns) < 0)
				return usage_error(
				    "transcript",
				    "bad --since '%s': give a UTC time such as "
				    "2026-11-26T08:00:00Z, a date such as 2026-11-26, or "
				    "nanoseconds since 1970",
				    optarg);
			break;
		case 'f':
			if (strcmp(optarg, "jsonl") == 0)
				o.format = HL_TRANSCRIPT_JSONL;
			else if (strcmp(optarg, "html") == 0)
				o.format = HL_TRANSCRIPT_HTML;
			else
				return usage_error("transcript",
				                   "bad --format '%s': use jsonl or html", optarg);
			break;
		case 'o':
			if (!*optarg)
				return usage_error("transcript", "--output needs a file name");
			output = optarg;
			break;
		default:
			return usage_error("transcript", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return usage_error("transcript", "transcript needs exactly one PEER");
	if ((rc = need_dir("transcript")) || (rc = load_self(&cfg, &self)) ||
	    (rc = open_store(&st, false)))
		return rc;
	if ((rc = hl_store_peer_get(st, argv[optind], &peer)) < 0) {
		hl_store_close(st);
		if (rc == HL_ERR_NOTFOUND)
			return fail("no peer named %s: see 'hotline peer list'", argv[optind]);
		return fail("cannot read the store: %s", hl_strerror(rc));
	}
	o.station = cfg.name;
	o.station_ed25519 = self.ed25519;
	o.peer = &peer;
	o.now_ns = hl_wall_ns();

	if (output) {
		if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", output) >= sizeof tmp) {
			hl_store_close(st);
			return fail("--output path too long");
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 || !(out = fdopen(fd, "w"))) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			hl_store_close(st);
			return fail("cannot create %s: %s", tmp, strerror(e));
		}
	}
	setvbuf(out, NULL, _IOFBF, 1 << 16); /* nothing written yet: one write per 64 KiB */
	rc = hl_transcript_write(st, &o, out, &res);
	hl_store_close(st);
	if (output) {
		if (rc == HL_OK && fsync(fileno(out)) != 0) {
			res.write_errno = errno;
			rc = HL_ERR_IO;
		}
		if (fclose(out) != 0 && rc == HL_OK) {
			res.write_errno = errno;
			rc = HL_ERR_IO;
		}
		if (rc == HL_OK && rename(tmp, output) != 0) {
			int e = errno;
			unlink(tmp);
			return fail("cannot rename %s to %s: %s", tmp, output, strerror(e));
		}
		if (rc != HL_OK)
			unlink(tmp);
	}
	if (rc < 0 && res.write_errno)
		return fail("cannot write %s: %s%s", output ? output : "the transcript",
		            strerror(res.write_errno), output ? " (nothing was written)" : "");
	if (rc == HL_ERR_CORRUPT)
		return fail("the store holds a text field that is not UTF-8: it cannot be exported "
		            "as JSON%s",
		            output ? " (nothing was written)" : "");
	if (rc < 0)
		return fail("cannot read the record from the store: %s%s", hl_strerror(rc),
		            output ? " (nothing was written)" : "");
	if (output)
		summary(&res, peer.name, output);
	if (res.checked && !res.verified)
		fprintf(stderr, "hotline: the record with %s does NOT verify: %s\n", peer.name,
		        res.failure);
	return 0;
}
