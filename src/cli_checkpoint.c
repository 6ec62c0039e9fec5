/* SPDX-License-Identifier: ISC */
/*
 * cli_checkpoint.c: `hotline checkpoint PEER`: ask the running daemon for a
 * signed checkpoint with the peer now, and say whether the two records
 * agree (docs/transcript.md). It needs the daemon and the link.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ctl.h"
#include "station.h"

const char checkpoint_help[] =
    "usage: hotline -d DIR checkpoint PEER [--json]\n"
    "\n"
    "Exchange a signed checkpoint with PEER now: each station states, signed,\n"
    "the heads of both chains up to what both hold (ours up to the last event\n"
    "the peer receipted, the peer's up to the last one we hold without a gap),\n"
    "and both keep both statements. The daemon also does this every\n"
    "checkpoint_s seconds (config; default 3600).\n"
    "\n"
    "Exit 0: agreed. Exit 1: the records differ (MISMATCH: an alarm on both\n"
    "sides), no answer within 10 s, the link is down or no daemon runs.\n";

int
cmd_checkpoint(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	char path[HL_PATH_MAX];
	json_t *req, *resp = NULL, *c;
	const char *status;
	bool json = false;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j')
			return usage_error("checkpoint", "unknown option '%s'", argv[optind - 1]);
		json = true;
	}
	if (argc - optind != 1)
		return usage_error("checkpoint", "checkpoint needs PEER");
	if ((rc = need_dir("checkpoint")))
		return rc;
	if (hl_station_path(station_dir, HL_F_CTL, path) < 0)
		return fail("station directory path too long");
	req = json_pack("{s:s, s:s}", "cmd", "checkpoint", "peer", argv[optind]);
	rc = hl_ctl_call(path, req, &resp, 20000);
	json_decref(req);
	if (rc == HL_ERR_CLOSED)
		return fail("the daemon is not running: a checkpoint needs it and the link "
		            "(start it with 'hotline run')");
	if (rc < 0)
		return fail("the daemon did not answer: %s", hl_strerror(rc));
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));
		rc = fail("%s", e ? e : "the daemon refused");
		json_decref(resp);
		return rc;
	}
	c = json_object_get(resp, "checkpoint");
	status = json_string_value(json_object_get(c, "status"));
	if (json) {
		print_json(json_incref(c));
	} else if (status && strcmp(status, "agreed") == 0) {
		printf("checkpoint with %s at %s: agreed; both hold this station's chain up to "
		       "seq %lld (head %s) and %s's up to seq %lld (head %s)\n",
		       argv[optind], json_string_value(json_object_get(c, "at")),
		       json_integer_value(json_object_get(c, "station_seq")),
		       json_string_value(json_object_get(c, "station_head")), argv[optind],
		       json_integer_value(json_object_get(c, "peer_seq")),
		       json_string_value(json_object_get(c, "peer_head")));
	} else if (status && strcmp(status, "mismatch") == 0) {
		printf("checkpoint with %s at %s: MISMATCH: %s\n", argv[optind],
		       json_string_value(json_object_get(c, "at")),
		       json_string_value(json_object_get(c, "detail")));
	} else {
		printf("checkpoint with %s: no answer (%s)\n", argv[optind],
		       json_string_value(json_object_get(c, "detail")));
	}
	rc = status && strcmp(status, "agreed") == 0 ? 0 : 1;
	json_decref(resp);
	return rc;
}
