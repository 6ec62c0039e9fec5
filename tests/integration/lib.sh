# shellcheck shell=bash
# lib.sh: helpers for integration tests. Each test script sources this,
# builds stations in a fresh temporary directory on 127.0.0.1 with random
# free ports, drives them through the real CLI, and asserts on outcomes.
# Everything it started is killed and its directory removed on exit.
#
# Environment: HOTLINE and TESTPEER name the binaries under test.
set -u
HOTLINE=${HOTLINE:?set HOTLINE to the hotline binary}
# The tests run as whoever runs them, often root: let the daemons run as root
# (docs/operations.md, "Sandbox"; 31-sandbox.sh tests the refusal and --user).
export HOTLINE_ALLOW_ROOT=1
TESTPEER=${TESTPEER:-$(dirname "$HOTLINE")/hl-testpeer}
T=$(mktemp -d /tmp/hl-it.XXXXXX)
declare -A PID PORT
USED_PORTS=" "

cleanup() {
	local n
	for n in "${!PID[@]}"; do kill -9 "${PID[$n]}" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# Fail the test: say why, show the stations' logs, exit 1.
fail() {
	local f
	echo "FAIL: $*"
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 30 lines)"
		tail -n 30 "$f"
	done
	exit 1
}

ok() { echo "ok - $*"; }

hl() { "$HOTLINE" "$@"; }

# A TCP port nobody listens on now, not handed out before in this test, and
# below the kernel's ephemeral range (ip_local_port_range), so that no
# outgoing connection can be holding it when a daemon binds it.
free_port() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		case "$USED_PORTS" in *" $p "*) continue ;; esac
		ss -Htln "sport = :$p" | grep -q . && continue
		USED_PORTS="$USED_PORTS$p "
		echo "$p"
		return
	done
}

# new_station NAME: init $T/NAME listening on a fresh port.
new_station() {
	local name=$1 port
	port=$(free_port)
	PORT[$name]=$port
	hl -d "$T/$name" init --name "$name" --listen "127.0.0.1:$port" >"$T/$name.init" ||
		fail "init $name"
}

key_of() { hl -d "$T/$1" id 2>/dev/null | cut -d' ' -f2; }

# pin A B [extra link ...]: A pins B, reaching it at the given links (default B's port).
pin() {
	local a=$1 b=$2
	shift 2
	local links=()
	if [ $# -eq 0 ]; then
		links=(--link "127.0.0.1:${PORT[$b]}")
	else
		local l
		for l in "$@"; do links+=(--link "$l"); done
	fi
	hl -d "$T/$a" peer add "$b" "$(key_of "$b")" "${links[@]}" >/dev/null 2>&1 ||
		fail "$a could not pin $b"
}

pair() { pin "$1" "$2"; pin "$2" "$1"; }

# start NAME: run the daemon in the background; wait until it answers.
start() {
	local name=$1 i
	"$HOTLINE" -d "$T/$name" run --verbose 2>>"$T/$name.log" &
	PID[$name]=$!
	for i in $(seq 1 100); do
		hl -d "$T/$name" status --json 2>/dev/null | jq -e '.running' >/dev/null && return 0
		kill -0 "${PID[$name]}" 2>/dev/null || fail "$name exited at start"
		sleep 0.05
	done
	fail "$name did not start"
}

# stop NAME: SIGTERM, and the daemon must exit 0 (under ASan: no leak).
stop() {
	local name=$1 rc
	kill -TERM "${PID[$name]}"
	wait "${PID[$name]}"
	rc=$?
	unset "PID[$name]"
	[ $rc -eq 0 ] || fail "$name exited with status $rc on SIGTERM"
}

kill9() {
	kill -9 "${PID[$1]}"
	wait "${PID[$1]}" 2>/dev/null
	unset "PID[$1]"
}

# state A B: the state A's status gives for peer B.
state() {
	hl -d "$T/$1" status --json | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .state'
}

peer_field() {
	hl -d "$T/$1" status --json | jq -r --arg p "$2" ".peers[] | select(.name == \$p) | $3"
}

ms_now() { echo $(($(date +%s%N) / 1000000)); }

# wait_state A B STATE LIMIT_MS: poll until A sees B in STATE; prints the
# milliseconds it took; returns 1 past the limit.
wait_state() {
	local a=$1 b=$2 want=$3 limit=$4 t0 now
	t0=$(ms_now)
	while :; do
		[ "$(state "$a" "$b")" = "$want" ] && { echo $(($(ms_now) - t0)); return 0; }
		now=$(ms_now)
		[ $((now - t0)) -gt "$limit" ] && return 1
		sleep 0.05
	done
}

LOAD=${LOAD:-$(dirname "$HOTLINE")/hl-load}

# wait_for LIMIT_MS CMD...: poll CMD until it succeeds; 1 past the limit.
wait_for() {
	local limit=$1 t0
	shift
	t0=$(ms_now)
	until "$@"; do
		[ $(($(ms_now) - t0)) -gt "$limit" ] && return 1
		sleep 0.1
	done
}

# count_state A STATE: how many of A's sent messages are in STATE.
count_state() {
	hl -d "$T/$1" outbox --json | jq --arg s "$2" '[.[] | select(.state == $s)] | length'
}

all_delivered() { # A N: all N of A's messages delivered or acknowledged
	[ "$(hl -d "$T/$1" outbox --json | jq '[.[] | select(.state == "delivered" or .state == "acknowledged")] | length')" -ge "$2" ]
}

# check_transcript FILE [ARGS]: the independent checker (tests/tools/check_transcript.py),
# run by a Python 3 that has PyNaCl (the Debian python3 with python3-nacl).
check_transcript() {
	local p
	for p in ${PYTHON:-} python3 /usr/bin/python3; do
		if "$p" -c 'import nacl.bindings' 2>/dev/null; then
			"$p" "$(dirname "${BASH_SOURCE[0]}")/../tools/check_transcript.py" "$@"
			return
		fi
	done
	fail "no Python 3 with PyNaCl: install python3-nacl (scripts/deps.sh does)"
}

# set_config NAME KEY VALUE: append a tuning key to a station's config.
set_config() { echo "$2 = $3" >>"$T/$1/config"; }

# secret_forms KEYFILE: every form the 64-byte secret of a clear (v1)
# identity.key (x25519_sk || ed25519 seed) or its halves could take in a log:
# base64url as in the file, base64, hex (grep -i: either case); one a line.
secret_forms() {
	local b64 raw
	b64=$(tail -n 1 "$1")
	echo "$b64"
	raw=$(printf '%s' "$b64" | tr '_-' '/+')
	while [ $((${#raw} % 4)) -ne 0 ]; do raw="$raw="; done
	printf '%s' "$raw" | base64 -d >"$T/raw.bin" || fail "cannot decode $1"
	[ "$(stat -c %s "$T/raw.bin")" -eq 64 ] || fail "$1 does not hold 64 bytes"
	base64 -w0 "$T/raw.bin"
	echo
	od -An -v -tx1 "$T/raw.bin" | tr -d ' \n'
	echo
	for part in "0 32" "32 32"; do
		set -- $part
		dd if="$T/raw.bin" bs=1 skip="$1" count="$2" status=none >"$T/part.bin"
		od -An -v -tx1 "$T/part.bin" | tr -d ' \n'
		echo
		base64 -w0 "$T/part.bin" | tr -d '='
		echo
		base64 -w0 "$T/part.bin" | tr '+/' '-_' | tr -d '='
		echo
	done
	rm -f "$T/raw.bin" "$T/part.bin"
}
