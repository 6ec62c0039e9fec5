#!/bin/sh
# SPDX-License-Identifier: ISC
#
# notify-log.sh: an example hotline notification hook (docs/notify.md).
# Appends one readable line per event to $HOTLINE_NOTIFY_LOG (default
# /var/log/hotline-notify.log), and also sends the events someone must act
# on now (an urgent message, a suspended channel, a link down) to syslog at
# priority user.crit, where they page or alert louder.
#
# Install it, then in DIR/config:
#   notify = /usr/local/lib/hotline/notify-log.sh
# The daemon runs it with /bin/sh -c, one event at a time, the event as one
# JSON line on stdin and its kind in $HOTLINE_EVENT; it is killed after 10 s.
# To log elsewhere, set HOTLINE_NOTIFY_LOG in the daemon's environment, or
# name it in the config:
#   notify = HOTLINE_NOTIFY_LOG=/srv/hotline/notify.log /usr/local/lib/hotline/notify-log.sh
#
# Some fields come from the peer station: they are only ever printed here,
# never evaluated, and control characters are replaced so that one event
# stays one line.
set -u

log=${HOTLINE_NOTIFY_LOG:-/var/log/hotline-notify.log}
kind=${HOTLINE_EVENT:-unknown}

# The event: one line of JSON (no newline inside). An empty stdin is not fatal.
event=
IFS= read -r event || :

line=
if command -v jq >/dev/null 2>&1; then
	# A sentence per kind; s(k) is field k as text, "?" when missing.
	line=$(printf '%s\n' "$event" | jq -r '
		def s(k): (.[k] // "?") | tostring;
		def up(k): s(k) | ascii_upcase;
		(if .event == "message" then
			"\(up("precedence")) message \(s("id")) from \(s("peer")) on channel "
			+ "\(s("channel")): \(if .media_type == "" then "text" else s("media_type") end), "
			+ "\(s("bytes")) bytes; acknowledge by \(s("deadline"))"
		elif .event == "overdue" then
			"OVERDUE \(up("precedence")) message \(s("id")) on channel \(s("channel")): "
			+ (if .direction == "in" then "from \(s("peer")), not acknowledged here"
			   else "to \(s("peer")), not acknowledged by them" end)
			+ " (deadline \(s("deadline")))"
		elif .event == "suspended" then
			"channel \(s("channel")) with \(s("peer")) SUSPENDED by \(s("by")) "
			+ "(operator \(s("operator"))) since \(s("since")): \(s("reason"))"
		elif .event == "resumed" then
			"channel \(s("channel")) with \(s("peer")) resumed by \(s("by")) "
			+ "(operator \(s("operator"))) since \(s("since"))"
		elif .event == "link_down" then
			"link to \(s("peer")) DOWN (\(s("link"))): \(s("reason"))"
		elif .event == "link_up" then
			"link to \(s("peer")) up (\(s("link")))"
		elif .event == "link_test_failed" then
			"link test to \(s("peer")) FAILED (\(s("link"))): \(s("error"))"
		else
			"\(s("event")): \(tojson)"
		end) as $what
		| "\(s("at")) \(s("station")) \($what)"
		| gsub("[\u0000-\u001f\u007f]"; "?")
	' 2>/dev/null) || line=
fi
# No jq, or not JSON: the time, the kind and the raw line (compact JSON
# escapes control characters, so it is still one line).
if [ -z "$line" ]; then
	line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $kind $event"
fi

# The file is the record; failing to write it fails the hook (logged by the
# daemon as notify_failed).
if ! printf '%s\n' "$line" >>"$log"; then
	echo "notify-log: cannot append to $log" >&2
	exit 1
fi

# Louder for what needs a person now. No syslog is not a reason to fail.
case $kind in
message | suspended | link_down)
	if command -v logger >/dev/null 2>&1; then
		logger -t hotline -p user.crit -- "$line" 2>/dev/null || :
	fi
	;;
esac
exit 0
