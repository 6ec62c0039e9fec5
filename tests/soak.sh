#!/bin/bash
# soak.sh SECONDS [BUILD]: the fault harness (tests/integration/faults.sh) for
# a long time: generations of two fresh stations, each going through the ten
# scenarios in a random order, FX_ROUND_S seconds of faults each (default 20),
# with the invariants checked after every round, until SECONDS have passed.
# Prints a line per round and, at the end, per scenario: rounds, messages
# sent, accepted, refused as NOT stored, uncertain, delivered, acknowledgments,
# faults injected, invariant violations. A generation with a violation is
# kept under FX_KEEP_DIR (default /tmp/hl-soak-failures) and the run goes on.
# Exit status 1 if any invariant was violated. `make soak DURATION=SECONDS`.
set -u
DURATION=${1:?usage: tests/soak.sh SECONDS [BUILD]}
BUILD=${2:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export HOTLINE=$BUILD/hotline TESTPEER=$BUILD/hl-testpeer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
. "$ROOT/tests/integration/lib.sh"
FX_STRICT=0
FX_KEEP_DIR=${FX_KEEP_DIR:-/tmp/hl-soak-failures}
. "$ROOT/tests/integration/faults.sh"

FX_SEED=${SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$FX_SEED
ROUND_S=${FX_ROUND_S:-20}
start=$(now_s)
echo "# soak: $DURATION s on $BUILD, rounds of $ROUND_S s, seed $FX_SEED (replay with SEED=$FX_SEED)"
echo "# started $(date -u +%FT%TZ)"
while [ $(($(now_s) - start)) -lt "$DURATION" ]; do
	fx_setup
	# shellcheck disable=SC2086
	shuffle $FX_SCENARIOS
	for s in $SHUFFLED; do
		[ $(($(now_s) - start)) -lt "$DURATION" ] || break
		fx_round "$s" "$ROUND_S"
		[ "$FX_GEN_BAD" = 1 ] && break # new stations: old damage would be counted again
	done
	fx_teardown
done
echo "# finished $(date -u +%FT%TZ) after $(($(now_s) - start)) s, $FX_GEN generations"
fx_report
[ "$FX_VIOLATIONS" -eq 0 ]
