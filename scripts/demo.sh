#!/bin/sh
# demo.sh HOTLINE: the main job, on loopback in a temporary directory:
# create two stations, washington and beijing, pair them by exchanging
# their `hotline id` lines, start both daemons and show the link come up;
# washington sends a FLASH message, beijing's operator acknowledges it, and
# washington's record shows queued, sent, delivered, acknowledged with times;
# a cut link queues; a launch notification goes as a codebook message and is
# read in Chinese; beijing suspends a channel (a signed notice), washington's
# message on it is refused with that reason, and beijing resumes it; both
# talks registers start with the public record, washington proposes the next
# round of talks and beijing, reading it in Chinese, accepts; a signed
# checkpoint, both records verified, and beijing's export checked against
# washington's record. Each station serves its web console on a free
# loopback port with a demo duty officer, whose password is printed; run
# from a terminal, both stations keep running after the story until Ctrl-C,
# so that a person can use the consoles (without a terminal it exits).
set -eu
HOTLINE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# `make demo` often runs as root: let the daemons (docs/operations.md, "Sandbox").
[ "$(id -u)" -eq 0 ] && export HOTLINE_ALLOW_ROOT=1
D=$(mktemp -d /tmp/hotline-demo.XXXXXX)
WP=""
BP=""
cleanup() {
	[ -n "$WP" ] && kill "$WP" 2>/dev/null
	[ -n "$BP" ] && kill "$BP" 2>/dev/null
	wait 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port() { # a free port on 127.0.0.1, below the ephemeral range (32768-)
	while :; do
		p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 22000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$D/||g; s|$HOTLINE|hotline|g; s|$ROOT/||g"; "$@"; }

WPORT=$(port)
BPORT=$(port)
while [ "$BPORT" = "$WPORT" ]; do BPORT=$(port); done
WCON=$(port)
while [ "$WCON" = "$WPORT" ] || [ "$WCON" = "$BPORT" ]; do WCON=$(port); done
BCON=$(port)
while [ "$BCON" = "$WPORT" ] || [ "$BCON" = "$BPORT" ] || [ "$BCON" = "$WCON" ]; do BCON=$(port); done
# The demo duty officers' passwords: fresh for each run, printed for the person at the console.
WPASS=$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')
BPASS=$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')
consoles() {
	echo "  washington: http://127.0.0.1:$WCON/  operator \"Gen. Smith\"  password $WPASS"
	echo "  beijing:    http://127.0.0.1:$BCON/  operator \"Col. Li Wei\" password $BPASS"
}

say "Each side creates its station (keys, config, store)"
run "$HOTLINE" -d "$D/washington" init --name washington --listen "127.0.0.1:$WPORT" \
	--console "127.0.0.1:$WCON"
run "$HOTLINE" -d "$D/beijing" init --name beijing --listen "127.0.0.1:$BPORT" \
	--console "127.0.0.1:$BCON"

say "Each side's duty officer gets a console account (password: Argon2id-hashed in the store)"
echo "$WPASS" | run "$HOTLINE" -d "$D/washington" operator add "Gen. Smith" --role duty
echo "$BPASS" | run "$HOTLINE" -d "$D/beijing" operator add "Col. Li Wei" --role duty --language zh

say "The operators exchange their id lines out of band and pin each other"
WID=$("$HOTLINE" -d "$D/washington" id)
BID=$("$HOTLINE" -d "$D/beijing" id)
echo "washington hands over: $WID"
echo "beijing hands over:    $BID"
run "$HOTLINE" -d "$D/washington" peer add beijing "${BID#* }" --link "127.0.0.1:$BPORT"
run "$HOTLINE" -d "$D/beijing" peer add washington "${WID#* }" --link "127.0.0.1:$WPORT"

# Beijing's operators read Chinese: codebook messages are shown to them in Chinese.
echo "language = zh" >>"$D/beijing/config"

say "Before the daemons run, every silence has a name: down"
run "$HOTLINE" -d "$D/washington" status

say "Both daemons start (their logs, one line per event)"
"$HOTLINE" -d "$D/washington" run 2>"$D/washington.log" &
WP=$!
"$HOTLINE" -d "$D/beijing" run 2>"$D/beijing.log" &
BP=$!
i=0
until "$HOTLINE" -d "$D/washington" status --json 2>/dev/null | grep -q '"state": "up"' &&
	"$HOTLINE" -d "$D/beijing" status --json 2>/dev/null | grep -q '"state": "up"'; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "the link did not come up"; cat "$D"/*.log; exit 1; }
	sleep 0.1
done
sleep 1 # a couple of heartbeats, for a round-trip time
sed 's/^/  /' "$D/washington.log" "$D/beijing.log" | sort -k1,1 | cut -c1-160

say "Each station serves its web console (docs/console.md)"
consoles

say "The link is up: encrypted (Noise IK), mutually authenticated, heartbeats every 0.5 s"
run "$HOTLINE" -d "$D/washington" status
run "$HOTLINE" -d "$D/beijing" status

say "Washington sends a FLASH message (durable before the command returns)"
ID=$("$HOTLINE" -d "$D/washington" send --to beijing --precedence flash \
	--text "FLASH: unplanned encounter at sea, 32.1N 124.5E. Request a call at 0900Z. / 海上意外相遇，请求于0900Z通话。")
echo "$ ID=\$(hotline -d washington send --to beijing --precedence flash --text \"FLASH: ...\")"
echo "message id: $ID"
i=0
until "$HOTLINE" -d "$D/washington" show "$ID" --json | grep -q '"state": "delivered"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "not delivered"; exit 1; }; sleep 0.05
done
run "$HOTLINE" -d "$D/washington" outbox

say "Beijing's inbox: unacknowledged first, FLASH on top"
run "$HOTLINE" -d "$D/beijing" inbox

say "Beijing's duty officer reads it and acknowledges, by name"
run "$HOTLINE" -d "$D/beijing" ack "$ID" --operator "Col. Li Wei"
i=0
until "$HOTLINE" -d "$D/washington" show "$ID" --json | grep -q '"state": "acknowledged"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "acknowledgment did not arrive"; exit 1; }; sleep 0.05
done

say "Washington's record of the message: every state, with its time"
run "$HOTLINE" -d "$D/washington" show "$ID"

say "Beijing's daemon dies (SIGKILL): washington names the silence at once"
kill -9 "$BP"
wait "$BP" 2>/dev/null || true
BP=""
sleep 0.5
run "$HOTLINE" -d "$D/washington" status

say "Washington sends while the line is down: queued, not lost"
ID2=$("$HOTLINE" -d "$D/washington" send --to beijing --precedence immediate --text "Status report follows.")
run "$HOTLINE" -d "$D/washington" show "$ID2"

say "Beijing restarts: the link comes back by itself and the queued message goes through"
"$HOTLINE" -d "$D/beijing" run 2>>"$D/beijing.log" &
BP=$!
i=0
until "$HOTLINE" -d "$D/washington" show "$ID2" --json | grep -q '"state": "delivered"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "not delivered after restart"; exit 1; }; sleep 0.1
done
run "$HOTLINE" -d "$D/washington" status
run "$HOTLINE" -d "$D/washington" outbox

say "Washington notifies a launch as a codebook message: code and checked values, not prose"
run "$HOTLINE" -d "$D/washington" codebook show LAUNCH --lang en | head -n 4
ID4=$("$HOTLINE" -d "$D/washington" send --to beijing --code LAUNCH vehicle=space count=1 \
	window=2026-12-01T06:00Z/2026-12-01T09:00Z launch_area=circle:28.5,-80.6,30 \
	impact_area=polygon:30.0,-70.0\;31.0,-70.0\;31.0,-69.0\;30.0,-69.0)
echo "$ hotline -d washington send --to beijing --code LAUNCH vehicle=space count=1 window=... launch_area=... impact_area=..."
echo "message id: $ID4"
i=0
until "$HOTLINE" -d "$D/washington" show "$ID4" --json | grep -q '"state": "delivered"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "launch notification not delivered"; exit 1; }; sleep 0.05
done
say "Beijing's station renders it in Chinese, its operators' language"
run "$HOTLINE" -d "$D/beijing" show "$ID4"

say "A political decision is not a fault: Beijing suspends the 'general' channel, signed"
run "$HOTLINE" -d "$D/beijing" suspend washington general \
	--reason "Suspended pending consultations on the incident at sea" --operator "Col. Li Wei"
i=0
until "$HOTLINE" -d "$D/washington" status --json | grep -q '"state": "suspended"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "suspension did not arrive"; exit 1; }; sleep 0.05
done
run "$HOTLINE" -d "$D/washington" status

say "Washington sends on it anyway: refused at once, with Beijing's signed reason"
ID3=$("$HOTLINE" -d "$D/washington" send --to beijing --precedence flash --text "Request a call.")
i=0
until "$HOTLINE" -d "$D/washington" show "$ID3" --json | grep -q '"state": "refused"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "not refused"; exit 1; }; sleep 0.05
done
run "$HOTLINE" -d "$D/washington" show "$ID3"

say "Only Beijing can resume it; Washington's attempt is refused with a clear error"
run "$HOTLINE" -d "$D/washington" resume beijing general --operator "Gen. Smith" || true

say "Beijing resumes: both sides see the channel up again"
run "$HOTLINE" -d "$D/beijing" resume washington general --operator "Col. Li Wei"
i=0
while "$HOTLINE" -d "$D/washington" status --json | grep -q '"state": "suspended"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "resumption did not arrive"; exit 1; }; sleep 0.05
done
run "$HOTLINE" -d "$D/washington" status

say "Talks on the record: both registers start with the public record of three earlier rounds"
run "$HOTLINE" -d "$D/washington" talks import "$ROOT/talks/history.json"
run "$HOTLINE" -d "$D/beijing" talks import "$ROOT/talks/history.json"
run "$HOTLINE" -d "$D/washington" talks list

say "Washington proposes the next round of talks: a signed event on the line, numbered in its series"
FROM=$(date -u -d '+60 days' +%F)
TO=$(date -u -d '+61 days' +%F)
TID=$("$HOTLINE" -d "$D/washington" talks propose beijing --title "Defense Policy Coordination Talks" \
	--series "Defense Policy Coordination Talks" --level working --from "$FROM" --to "$TO" \
	--place "Beijing" --agenda "Military-to-military communication channels" \
	--agenda "Maritime and air safety" --operator "Dr. Chase")
echo "$ TID=\$(hotline -d washington talks propose beijing --title \"Defense Policy Coordination Talks\" --series ... --from $FROM --to $TO ...)"
echo "talks id: $TID"
i=0
until "$HOTLINE" -d "$D/beijing" talks show "$TID" --json 2>/dev/null | grep -q '"state": "proposed"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "the proposal did not arrive"; exit 1; }; sleep 0.05
done
say "Beijing reads the proposal in Chinese (the codebook's TALKS template) and accepts it, signed"
run "$HOTLINE" -d "$D/beijing" talks show "$TID"
run "$HOTLINE" -d "$D/beijing" talks accept "$TID" --reason "同意" --operator "Maj. Gen. Song"
i=0
until "$HOTLINE" -d "$D/washington" talks show "$TID" --json | grep -q '"state": "accepted"'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "the acceptance did not arrive"; exit 1; }; sleep 0.05
done
run "$HOTLINE" -d "$D/washington" talks list beijing

say "One record both sides can prove: a signed checkpoint of both chains"
sleep 0.5 # the last heads follow the last bursts within about 200 ms
run "$HOTLINE" -d "$D/washington" checkpoint beijing

say "Each station re-checks its whole record: every hash link and every signature"
run "$HOTLINE" -d "$D/washington" verify
run "$HOTLINE" -d "$D/beijing" verify

say "Beijing exports its transcript; Washington checks it against its own record"
run "$HOTLINE" -d "$D/beijing" transcript washington --output "$D/beijing.jsonl"
run "$HOTLINE" -d "$D/washington" verify --against "$D/beijing.jsonl"
echo
echo "demo done: two stations on loopback, a FLASH message delivered and acknowledged by name,"
echo "a launch notification read in Chinese, a signed suspension that refused a message with its"
echo "reason and the resumption, talks proposed and accepted on the record, and both records"
echo "verified and agreeing"
if [ -t 0 ]; then
	say "Both stations keep running: their consoles, for you"
	consoles
	echo "Ctrl-C stops both stations and removes $D"
	wait "$WP" "$BP" || true
	exit 0
fi
echo "consoles were:"
consoles
echo "(state was in $D, now removed; run from a terminal to keep the stations running)"
