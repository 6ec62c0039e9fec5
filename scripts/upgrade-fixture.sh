#!/bin/bash
# upgrade-fixture.sh HOTLINE SCHEMA OUTDIR: make the schema-upgrade fixture
# that tests/integration/23-upgrade.sh opens with the current binary.
#
# HOTLINE is a hotline binary built from the last commit that wrote schema
# SCHEMA (docs/operations.md, "Upgrades", lists them). Two stations,
# washington and beijing, pair and use everything that binary can do:
# schema 2 adds messages (text and an attachment, FLASH and ROUTINE),
# channels and acknowledgments, schema 3 suspensions, resumptions and link
# tests, schema 4 checkpoints, schema 6 a key rotation (washington's) and talks
# proposed, accepted, held and read out by both sides, schema 7 a console
# operator at each station. From schema 2 on, one message is left queued
# (beijing was stopped) so that the upgraded station has to deliver it.
# OUTDIR/{washington,beijing} then hold config, identity.key (test keys,
# never used anywhere else) and station.sql, the store as an SQL dump
# (reviewable text, rebuilt with sqlite3). A codebook.json the binary wrote
# is not kept: it is codebook/default.json, which the test installs. Only
# loopback addresses; the ports are rewritten by the test.
set -euo pipefail
H=$1
V=$2
OUT=$3
T=$(mktemp -d /tmp/hl-fixture.XXXXXX)
export HOTLINE_ALLOW_ROOT=1 # a current binary refuses root otherwise
declare -A PID
cleanup() {
	local n
	for n in "${!PID[@]}"; do kill -9 "${PID[$n]}" 2>/dev/null || true; done
	[ "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
die() {
	echo "upgrade-fixture: $*" >&2
	tail -n 20 "$T"/*.log >&2 || true
	exit 1
}

port() { echo $((20000 + RANDOM % 10000)); }
PW=$(port)
PB=$((PW + 1))
"$H" -d "$T/washington" init --name washington --listen "127.0.0.1:$PW" >/dev/null
"$H" -d "$T/beijing" init --name beijing --listen "127.0.0.1:$PB" >/dev/null
kw=$("$H" -d "$T/washington" id | cut -d' ' -f2)
kb=$("$H" -d "$T/beijing" id | cut -d' ' -f2)
# Two links each, the second one dead: both are kept in the store.
"$H" -d "$T/washington" peer add beijing "$kb" --link "127.0.0.1:$PB" --link 127.0.0.1:9 >/dev/null
"$H" -d "$T/beijing" peer add washington "$kw" --link "127.0.0.1:$PW" >/dev/null
if [ "$V" -ge 3 ]; then
	for s in washington beijing; do echo "link_test_s = 1" >>"$T/$s/config"; done
fi

start() {
	"$H" -d "$T/$1" run 2>>"$T/$1.log" &
	PID[$1]=$!
	for _ in $(seq 1 100); do
		"$H" -d "$T/$1" status --json 2>/dev/null | grep -q '"running": true' && return 0
		sleep 0.05
	done
	die "$1 did not start"
}
stop() {
	kill -TERM "${PID[$1]}"
	wait "${PID[$1]}" || die "$1 did not stop cleanly"
	unset "PID[$1]"
}
# until CMD...: poll for up to 10 s
until_ok() {
	for _ in $(seq 1 100); do
		"$@" && return 0
		sleep 0.1
	done
	die "timed out: $*"
}
linked() { "$H" -d "$T/$1" status --json | jq -e '.peers[0].state != "down"' >/dev/null; }
states() { "$H" -d "$T/$1" outbox --json | jq -r '[.[].state] | sort | join(",")'; }
want_states() { [ "$(states "$1")" = "$2" ]; }

start washington
start beijing
until_ok linked washington
until_ok linked beijing

if [ "$V" -ge 2 ]; then
	for s in washington beijing; do
		o=beijing
		[ $s = beijing ] && o=washington
		"$H" -d "$T/$s" channel add "$o" maritime >/dev/null
	done
	"$H" -d "$T/washington" send --to beijing --precedence flash --text "fixture $V: FLASH from washington" >"$T/id1"
	"$H" -d "$T/washington" send --to beijing --channel maritime --text "fixture $V: 你好, on maritime" >/dev/null
	head -c 3000 /dev/urandom >"$T/blob"
	"$H" -d "$T/washington" send --to beijing --file "$T/blob" --media-type application/octet-stream >/dev/null
	"$H" -d "$T/beijing" send --to washington --precedence immediate --text "fixture $V: IMMEDIATE from beijing" >"$T/id2"
	until_ok want_states washington "delivered,delivered,delivered"
	until_ok want_states beijing "delivered"
	"$H" -d "$T/beijing" ack "$(cat "$T/id1")" --operator "Col. Li" >/dev/null
	"$H" -d "$T/washington" ack "$(cat "$T/id2")" --operator "Maj. Smith" >/dev/null
	until_ok want_states washington "acknowledged,delivered,delivered"
	until_ok want_states beijing "acknowledged"
fi
if [ "$V" -ge 3 ]; then
	"$H" -d "$T/washington" suspend beijing maritime --reason "fixture: exercise" --operator "Maj. Smith" >/dev/null
	sleep 1
	"$H" -d "$T/beijing" send --to washington --channel maritime --text "refused while suspended" >/dev/null
	until_ok want_states beijing "acknowledged,refused"
	"$H" -d "$T/washington" resume beijing maritime --operator "Maj. Smith" >/dev/null
	sleep 2 # a link test or two on each side
fi
if [ "$V" -ge 4 ]; then
	"$H" -d "$T/washington" checkpoint beijing >/dev/null
fi
if [ "$V" -ge 6 ]; then
	"$H" -d "$T/washington" key rotate --operator "Maj. Smith" >/dev/null 2>&1 || die "key rotate"
	switched() { "$H" -d "$T/washington" status --json | jq -e '.keys.rotation.switched != null' >/dev/null; }
	until_ok switched
	until_ok linked washington
	until_ok linked beijing
	id=$("$H" -d "$T/washington" talks propose beijing --title "Fixture talks $V" --level working \
		--from "$(date -u +%F)" --to "$(date -u -d tomorrow +%F)" --place "Geneva" --series "Fixture series" \
		--agenda "Crisis communication" --operator "Maj. Smith" 2>/dev/null) || die "talks propose"
	talks_in() { "$H" -d "$T/$1" talks show "$id" --json 2>/dev/null | jq -e --arg s "$2" '.state == $s' >/dev/null; }
	until_ok talks_in beijing proposed
	"$H" -d "$T/beijing" talks accept "$id" --operator "Col. Li" >/dev/null 2>&1 || die "talks accept"
	until_ok talks_in washington accepted
	"$H" -d "$T/washington" talks held "$id" --operator "Maj. Smith" >/dev/null 2>&1 || die "talks held"
	until_ok talks_in beijing held
	echo "Both sides reviewed the line." >"$T/readout"
	"$H" -d "$T/washington" talks readout "$id" --file "$T/readout" --operator "Maj. Smith" >/dev/null 2>&1 ||
		die "talks readout"
	"$H" -d "$T/beijing" talks readout "$id" --file "$T/readout" --operator "Col. Li" >/dev/null 2>&1 ||
		die "talks readout back"
	sleep 1
	"$H" -d "$T/washington" checkpoint beijing >/dev/null || die "checkpoint after the rotation"
fi
if [ "$V" -ge 7 ]; then
	for s in washington beijing; do
		"$H" -d "$T/$s" operator add "Duty Officer" --role duty --password-fd 3 \
			3<<<"fixture password $V" >/dev/null 2>&1 || die "operator add"
	done
fi
if [ "$V" -ge 2 ]; then
	stop beijing
	"$H" -d "$T/washington" send --to beijing --text "fixture $V: queued before the upgrade" >/dev/null
	sleep 0.5
fi
for s in washington beijing; do [ -n "${PID[$s]:-}" ] && stop $s; done

rm -rf "$OUT"
for s in washington beijing; do
	mkdir -p "$OUT/$s"
	cp "$T/$s/config" "$T/$s/identity.key" "$OUT/$s/"
	if [ -f "$T/$s/codebook.json" ] && ! cmp -s "$T/$s/codebook.json" "$(dirname "$0")/../codebook/default.json"; then
		die "$s: codebook.json is not codebook/default.json: keep it in the fixture"
	fi
	v=$(sqlite3 "$T/$s/station.db" 'PRAGMA user_version')
	[ "$v" = "$V" ] || die "$s: the store has schema $v, not $V"
	# .dump leaves out user_version, the schema's number: add it.
	{
		sqlite3 "$T/$s/station.db" .dump
		echo "PRAGMA user_version = $V;"
	} >"$OUT/$s/station.sql"
done
echo "upgrade-fixture: schema $V in $OUT"
