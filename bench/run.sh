#!/bin/sh
# run.sh BUILD: `make bench`. Starts a station on loopback, then prints
# the link's figures beside the floor measured in the same run. Figures,
# never a verdict: this exits 0 whatever the numbers are.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
H="$ROOT/$BUILD/hotline"
D=$(mktemp -d /tmp/hotline-bench.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT INT TERM

while :; do
	p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 22000))
	ss -Htln "sport = :$p" | grep -q . || break
done
# The benchmark runs wherever make runs, often as root: let the daemons.
[ "$(id -u)" -eq 0 ] && export HOTLINE_ALLOW_ROOT=1
# BENCH_SECCOMP=off: both daemons without their seccomp filter, to measure what it costs.
seccomp=${BENCH_SECCOMP:-on}
"$H" -d "$D/beijing" init --name beijing --listen "127.0.0.1:$p" >/dev/null
echo "seccomp = $seccomp" >>"$D/beijing/config"
"$H" -d "$D/bench" init --name bench --listen 127.0.0.1:1 >/dev/null
"$H" -d "$D/beijing" peer add bench "$("$H" -d "$D/bench" id | cut -d' ' -f2)" \
	--link 127.0.0.1:1 >/dev/null
"$H" -d "$D/beijing" run 2>"$D/beijing.log" &
PID=$!
sleep 0.5
echo "hotline benchmark ($(nproc) cores, $(uname -r)); both ends on this machine, one run; seccomp $seccomp"
echo "== the seccomp filter"
"$ROOT/$BUILD/bench_seccomp"
echo "== link"
"$ROOT/$BUILD/bench_link" "$D/bench" "127.0.0.1:$p" "$("$H" -d "$D/beijing" id | cut -d' ' -f2)" |
	tee "$D/link.out"
# The loopback round trip, for bench_msg's ratios against the floor.
HL_BENCH_RTT_US=$(awk '/floor: plain loopback TCP round trip/ {print $(NF-5)}' "$D/link.out")
export HL_BENCH_RTT_US

# Messaging: a second station, washington, with its daemon, sends to beijing.
while :; do
	q=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 22000))
	[ "$q" != "$p" ] && ! ss -Htln "sport = :$q" | grep -q . && break
done
"$H" -d "$D/washington" init --name washington --listen "127.0.0.1:$q" >/dev/null
echo "seccomp = $seccomp" >>"$D/washington/config"
"$H" -d "$D/washington" peer add beijing "$("$H" -d "$D/beijing" id | cut -d' ' -f2)" \
	--link "127.0.0.1:$p" >/dev/null
"$H" -d "$D/beijing" peer add washington "$("$H" -d "$D/washington" id | cut -d' ' -f2)" \
	--link "127.0.0.1:$q" >/dev/null 2>&1
"$H" -d "$D/washington" run 2>"$D/washington.log" &
WPID=$!
i=0
until "$H" -d "$D/washington" status --json | grep -q '"state": "up"'; do
	i=$((i + 1)); [ $i -lt 300 ] || { echo "bench: stations did not link"; tail -5 "$D"/*.log; exit 1; }; sleep 0.05
done
echo "== messages (washington -> beijing, both daemons running, WAL + synchronous=FULL)"
"$ROOT/$BUILD/bench_msg" "$D/washington" beijing
kill "$WPID" 2>/dev/null
# The store's share of a message, one operation at a time, without daemons.
mkdir -p "$D/store"
"$ROOT/$BUILD/bench_store" "$D/store" 20000
"$ROOT/$BUILD/bench_verify" "$H" "$D/verify" # the record: 1,000,000 events (HL_BENCH_VERIFY_N)
