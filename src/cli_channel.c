/* SPDX-License-Identifier: ISC */
/*
 * cli_channel.c: the channel verbs: channel add/list, suspend, resume. A
 * suspension or resumption is a notice: an event of our chain like a
 * message (durable before the command returns, sent exactly once,
 * receipted), so it goes through queue_event like `send`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chanstate.h"
#include "cli.h"
#include "config.h"
#include "msg.h"

const char channel_help[] =
    "usage: hotline -d DIR channel add PEER NAME [--no-suspend]\n"
    "       hotline -d DIR channel list [PEER] [--json]\n"
    "\n"
    "A channel is a named line to a peer (e.g. leaders, defense, maritime). Every\n"
    "peer starts with 'general'. Both stations must have a channel for messages to\n"
    "travel on it: a message on a channel the receiving station lacks is refused,\n"
    "with the reason, signed.\n"
    "\n"
    "  --no-suspend  the channel can never be suspended (e.g. leaders): this\n"
    "                station refuses to suspend it and refuses the peer's\n"
    "                suspension notice for it\n"
    "\n"
    "'channel list' shows each channel's state: open, or suspended (by whom,\n"
    "since when, why). 'hotline status' adds the link state.\n";

static int
channel_add(int argc, char **argv)
{
	struct hl_store *st;
	const char *peer = NULL, *name = NULL;
	bool no_suspend = false;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--no-suspend") == 0)
			no_suspend = true;
		else if (argv[i][0] == '-')
			return usage_error("channel", "unknown option '%s'", argv[i]);
		else if (!peer)
			peer = argv[i];
		else if (!name)
			name = argv[i];
		else
			return usage_error("channel", "unexpected argument '%s'", argv[i]);
	}
	if (!name)
		return usage_error("channel", "channel add needs PEER and NAME");
	if (!hl_name_valid(name))
		return usage_error("channel", "bad channel name '%s': use 1-32 of a-z 0-9 _ -",
		                   name);
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_store_channel_add(st, peer, name, no_suspend);
	hl_store_close(st);
	if (rc == HL_ERR_NOTFOUND)
		return fail("no peer named %s: see 'hotline peer list'", peer);
	if (rc == HL_ERR_EXISTS)
		return fail("peer %s already has a channel %s", peer, name);
	if (rc < 0)
		return fail("cannot add the channel: %s", hl_strerror(rc));
	printf("added channel %s to peer %s%s\n", name, peer,
	       no_suspend ? " (it can never be suspended)" : "");
	return 0;
}

static void
print_suspension(const struct hl_suspension *s, const char *by)
{
	char at[32];

	hl_iso_time(s->since_ns, at);
	printf("  suspended by %s (operator %s) since %s: %s\n", by, s->operator_name, at,
	       s->reason);
}

static int
channel_list(int argc, char **argv)
{
	bool json = false;
	const char *peer = NULL;
	struct hl_channel_rec *v;
	struct hl_config cfg;
	struct hl_store *st;
	char err[512];
	size_t n;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-' || peer)
			return usage_error("channel", "unexpected argument '%s'", argv[i]);
		else
			peer = argv[i];
	}
	if (hl_config_load(&cfg, station_dir, err, sizeof err) < 0)
		return fail("%s", err);
	if ((rc = open_store(&st, false)))
		return rc;
	rc = hl_store_channel_list(st, peer, &v, &n);
	hl_store_close(st);
	if (rc < 0)
		return fail("cannot read channels: %s", hl_strerror(rc));
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, hl_channel_json(&v[i], cfg.name, NULL, NULL));
		print_json(arr);
	}
	for (size_t i = 0; !json && i < n; i++) {
		bool sus = v[i].by_us.active || v[i].by_peer.active;
		printf("%s %s %s%s\n", v[i].peer, v[i].name, sus ? "suspended" : "open",
		       v[i].no_suspend ? " (never suspended: --no-suspend)" : "");
		if (v[i].by_us.active)
			print_suspension(&v[i].by_us, cfg.name);
		if (v[i].by_peer.active)
			print_suspension(&v[i].by_peer, v[i].peer);
	}
	free(v);
	return 0;
}

int
cmd_channel(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return usage_error("channel", "channel needs add or list");
	if ((rc = need_dir("channel")))
		return rc;
	if (strcmp(argv[1], "add") == 0)
		return channel_add(argc, argv);
	if (strcmp(argv[1], "list") == 0)
		return channel_list(argc, argv);
	return usage_error("channel", "unknown channel command '%s'", argv[1]);
}

/* ---- suspend, resume ---- */

const char suspend_help[] =
    "usage: hotline -d DIR suspend PEER CHANNEL --reason TEXT --operator NAME\n"
    "\n"
    "Suspend a channel: a signed notice, recorded here at once and sent to the\n"
    "peer like a FLASH message (exactly once, receipted; queued while the link is\n"
    "down). From now on every message on the channel, from either side, is\n"
    "refused at once with this reason; messages already delivered stay readable\n"
    "and their acknowledgments still travel. Only this station can resume it.\n"
    "A channel added with --no-suspend cannot be suspended.\n"
    "\n"
    "  --reason TEXT    why, one line of UTF-8, at most 256 bytes (required)\n"
    "  --operator NAME  who decided (required)\n";

const char resume_help[] =
    "usage: hotline -d DIR resume PEER CHANNEL --operator NAME [--reason TEXT]\n"
    "\n"
    "Resume a channel this station suspended: a signed notice, sent like\n"
    "'suspend'. A channel the peer suspended can only be resumed by the peer:\n"
    "ask its operators with a message on another channel.\n"
    "\n"
    "  --operator NAME  who decided (required)\n"
    "  --reason TEXT    an optional note, one line, at most 256 bytes\n";

static int
notice(int argc, char **argv, uint8_t kind)
{
	static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
	                                     {"operator", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	const char *verb = kind == HL_EV_SUSPEND ? "suspend" : "resume";
	const char *reason = "", *op = NULL, *peer, *channel;
	struct hl_peer_rec p;
	struct hl_event ev = {0};
	struct hl_store *st;
	char id[HL_MSGID_LEN + 1];
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			reason = optarg;
		else if (c == 'o')
			op = optarg;
		else
			return usage_error(verb, "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind != 2)
		return usage_error(verb, "%s needs PEER and CHANNEL", verb);
	peer = argv[optind];
	channel = argv[optind + 1];
	if ((rc = need_dir(verb)))
		return rc;
	if (!op || !*op || strlen(op) > HL_OPERATOR_MAX || !hl_field_valid(op, strlen(op)))
		return usage_error(verb, "--operator NAME is required: one line, at most %d bytes",
		                   HL_OPERATOR_MAX);
	if (kind == HL_EV_SUSPEND && !*reason)
		return usage_error(verb, "--reason TEXT is required: say why");
	if (strlen(reason) > HL_NOTICE_REASON_MAX || !hl_field_valid(reason, strlen(reason)))
		return usage_error(verb, "--reason must be one line of UTF-8, at most %d bytes",
		                   HL_NOTICE_REASON_MAX);
	if (!hl_name_valid(channel))
		return usage_error(verb, "bad channel name '%s'", channel);
	if ((rc = open_store(&st, false)))
		return rc;
	if ((rc = hl_store_peer_get(st, peer, &p)) < 0) {
		hl_store_close(st);
		if (rc == HL_ERR_NOTFOUND)
			return fail("no peer named %s: see 'hotline peer list'", peer);
		return fail("cannot read the store: %s", hl_strerror(rc));
	}
	ev.kind = kind;
	ev.precedence = HL_PREC_FLASH; /* a change of state must not wait behind traffic */
	ev.created_ns = hl_wall_ns();
	snprintf(ev.channel, sizeof ev.channel, "%s", channel);
	snprintf(ev.operator_name, sizeof ev.operator_name, "%s", op);
	ev.body = (const uint8_t *)reason;
	ev.body_len = (uint32_t)strlen(reason);
	rc = queue_event(st, p.id, &ev, peer, id);
	hl_store_close(st);
	if (rc == 0)
		printf("channel %s to %s %s by %s: notice %s\n", channel, peer,
		       kind == HL_EV_SUSPEND ? "suspended" : "resumed", op, id);
	return rc;
}

int
cmd_suspend(int argc, char **argv)
{
	return notice(argc, argv, HL_EV_SUSPEND);
}

int
cmd_resume(int argc, char **argv)
{
	return notice(argc, argv, HL_EV_RESUME);
}
