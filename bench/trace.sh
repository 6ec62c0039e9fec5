#!/bin/sh
# trace.sh BUILD [backlog]: `make bench-trace`. Two stations on loopback, a
# build configured with -Dtrace=true (src/trace.h), 1,000 FLASH messages on
# an idle line (and with `backlog`, 200 more with 100,000 ROUTINE in
# flight); then where each message's time went, step by step
# (bench/trace_report.py). Figures, never a verdict.
set -eu
BUILD=${1:-build-trace}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
H="$ROOT/$BUILD/hotline"
[ -x "$H" ] || { echo "trace.sh: no $H: run 'make bench-trace'" >&2; exit 2; }
D=$(mktemp -d /tmp/hotline-trace.XXXXXX)
BPID="" WPID=""
trap '[ -n "$BPID" ] && kill $BPID $WPID 2>/dev/null; wait 2>/dev/null; [ -n "${HL_KEEP:-}" ] || rm -rf "$D"' EXIT INT TERM
[ "$(id -u)" -eq 0 ] && export HOTLINE_ALLOW_ROOT=1

port() {
	while :; do
		p=$((10000 + $(od -An -N2 -tu2 /dev/urandom) % 22000))
		[ "$p" != "${1:-}" ] && ! ss -Htln "sport = :$p" | grep -q . && break
	done
	echo "$p"
}
p=$(port)
q=$(port "$p")
"$H" -d "$D/beijing" init --name beijing --listen "127.0.0.1:$p" >/dev/null
"$H" -d "$D/washington" init --name washington --listen "127.0.0.1:$q" >/dev/null
"$H" -d "$D/washington" peer add beijing "$("$H" -d "$D/beijing" id | cut -d' ' -f2)" \
	--link "127.0.0.1:$p" >/dev/null
"$H" -d "$D/beijing" peer add washington "$("$H" -d "$D/washington" id | cut -d' ' -f2)" \
	--link "127.0.0.1:$q" >/dev/null
mkdir "$D/trace"
export HL_TRACE_DIR="$D/trace"
"$H" -d "$D/beijing" run 2>"$D/beijing.log" &
BPID=$!
"$H" -d "$D/washington" run 2>"$D/washington.log" &
WPID=$!
i=0
until "$H" -d "$D/washington" status --json | grep -q '"state": "up"'; do
	i=$((i + 1)); [ $i -lt 300 ] || { echo "trace.sh: stations did not link"; exit 1; }; sleep 0.05
done
sleep 0.5
echo "hotline trace ($(nproc) cores, $(uname -r)): washington -> beijing, $BUILD"
if [ "${2:-}" = backlog ]; then
	HL_BENCH_FLASH_N=${HL_BENCH_FLASH_N:-200} "$ROOT/$BUILD/bench_msg" "$D/washington" beijing \
		flash backlog
else
	"$ROOT/$BUILD/bench_msg" "$D/washington" beijing flash
fi
kill "$BPID" "$WPID"
# The daemons write their records as they exit.
for pid in $BPID $WPID; do
	i=0
	# exited: gone, or a zombie (state Z) until it is waited for
	while [ -e "/proc/$pid" ] && ! grep -q ') Z ' "/proc/$pid/stat" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 200 ] || { echo "trace.sh: daemon $pid did not stop"; exit 1; }
		sleep 0.05
	done
	wait "$pid" 2>/dev/null || true
done
sender=$WPID receiver=$BPID
BPID="" WPID=""
python3 "$ROOT/bench/trace_report.py" "$D/trace" "$sender" "$receiver" \
	${2:+--last "${HL_BENCH_FLASH_N:-200}"}
