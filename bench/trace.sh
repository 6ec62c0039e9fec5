#!/bin/bash
# trace.sh BUILD [backlog]: `make bench-trace`. Two stations on loopback, a
# build configured with -Dtrace=true (src/trace.h), 1,000 FLASH messages on
# an idle line (and with `backlog`, 200 more with 100,000 ROUTINE in
# flight); then where each message's time went, step by step
# (bench/trace_report.py). Figures, never a verdict. The stations are made
# with the integration tests' helpers (tests/integration/lib.sh).
BUILD=${1:-build-trace}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOTLINE="$ROOT/$BUILD/hotline"
[ -x "$HOTLINE" ] || { echo "trace.sh: no $HOTLINE: run 'make bench-trace'" >&2; exit 2; }
# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

new_station beijing
new_station washington
pair washington beijing
mkdir "$T/trace"
# Started as `make bench` starts them (lib.sh's start logs verbosely, which costs time).
for s in beijing washington; do
	HL_TRACE_DIR="$T/trace" "$HOTLINE" -d "$T/$s" run 2>>"$T/$s.log" &
	PID[$s]=$!
done
wait_state washington beijing up 15000 >/dev/null || fail "the stations did not link"
sleep 0.5
echo "hotline trace ($(nproc) cores, $(uname -r)): washington -> beijing, $BUILD"
if [ "${2:-}" = backlog ]; then
	HL_TRACE_DIR="$T/trace" HL_BENCH_FLASH_N=${HL_BENCH_FLASH_N:-200} \
		"$ROOT/$BUILD/bench_msg" "$T/washington" beijing flash backlog || fail "bench_msg"
else
	HL_TRACE_DIR="$T/trace" "$ROOT/$BUILD/bench_msg" "$T/washington" beijing flash ||
		fail "bench_msg"
fi
sender=${PID[washington]} receiver=${PID[beijing]}
stop washington # the daemons write their records as they exit
stop beijing
python3 "$ROOT/bench/trace_report.py" "$T/trace" "$sender" "$receiver" \
	${2:+--last "${HL_BENCH_FLASH_N:-200}"}
