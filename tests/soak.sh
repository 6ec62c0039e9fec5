#!/bin/bash
# soak.sh SECONDS [BUILD]: the fault harness (tests/integration/faults.sh) for
# a long time: generations of two fresh stations, each going through the ten
# scenarios in a random order, FX_ROUND_S seconds of faults each (default 20),
# with the invariants checked after every round, until SECONDS have passed.
# Prints a line per round and, at the end, per scenario: rounds, messages
# sent, accepted, refused as NOT stored, uncertain, delivered, acknowledgments,
# faults injected, invariant violations. A generation with a violation is
# kept under FX_KEEP_DIR (default /tmp/hl-soak-failures) and the run goes on.
#
# Each generation runs in a session of its own (setsid), with a seed of its
# own drawn from the soak's, under a watchdog: a generation that shows no
# progress (tick, faults.sh) for SOAK_STUCK_S seconds (default: a round's
# faults, both settle limits and 120 s) is killed with everything it started,
# reported as a HARNESS FAILURE with its seed (GEN_SEED=N replays it as the
# first generation), and the soak goes on with new stations. A harness
# failure is the harness's fault until shown otherwise, and is counted apart
# from invariant violations. Exit status 1 if any invariant was violated or
# the harness failed. `make soak DURATION=SECONDS`.
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
ROUND_S=${FX_ROUND_S:-20}

# One generation (run by the soak below, in a session of its own): its
# counters go to $SOAK_STATE after every round, "C KEY N" and "RELAY KEY N".
if [ -n "${SOAK_GEN:-}" ]; then
	save_state() {
		local k
		{
			for k in "${!C[@]}"; do echo "C $k ${C[$k]}"; done
			for k in "${!RELAY_TOTAL[@]}"; do echo "RELAY $k ${RELAY_TOTAL[$k]}"; done
			echo "ROUND - $FX_ROUND"
		} >"$SOAK_STATE.tmp"
		mv "$SOAK_STATE.tmp" "$SOAK_STATE"
	}
	FX_SEED=$SOAK_GEN_SEED
	RANDOM=$FX_SEED
	FX_GEN=$((SOAK_GEN - 1)) FX_ROUND=$SOAK_ROUND0
	FX_HEARTBEAT=$SOAK_STATE.beat
	tick setup
	fx_setup
	echo "$T" >"$SOAK_STATE.dir" # for the watchdog, should it have to clean up
	# shellcheck disable=SC2086
	shuffle $FX_SCENARIOS
	for s in $SHUFFLED; do
		[ "$(now_s)" -lt "$SOAK_END" ] || break
		fx_round "$s" "$ROUND_S"
		save_state
		[ "$FX_GEN_BAD" = 1 ] && break # new stations: old damage would be counted again
	done
	fx_teardown
	save_state
	exit 0
fi

settle_s=90
[ "$ASAN_BUILD" = 1 ] && settle_s=240
STUCK_S=${SOAK_STUCK_S:-$((ROUND_S + 2 * settle_s + 120))}
FX_SEED=${SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$FX_SEED
start=$(now_s)
HARNESS_FAILURES=0
STATE=$(mktemp /tmp/hl-soak-state.XXXXXX)
echo "# soak: $DURATION s on $BUILD, rounds of $ROUND_S s, seed $FX_SEED (replay with SEED=$FX_SEED), watchdog $STUCK_S s"
echo "# started $(date -u +%FT%TZ)"
gen=0 round=0
while [ $(($(now_s) - start)) -lt "$DURATION" ]; do
	gen=$((gen + 1))
	gseed=$((RANDOM * 32768 + RANDOM))
	[ $gen = 1 ] && [ -n "${GEN_SEED:-}" ] && gseed=$GEN_SEED
	echo "# gen $gen seed $gseed (replay it with GEN_SEED=$gseed)"
	rm -f "$STATE" "$STATE.beat" "$STATE.dir"
	SOAK_GEN=$gen SOAK_GEN_SEED=$gseed SOAK_ROUND0=$round SOAK_END=$((start + DURATION)) \
		SOAK_STATE=$STATE FX_ROUND_S=$ROUND_S setsid bash "$0" "$DURATION" "$BUILD" &
	gpid=$!
	stuck=
	while [ -d "/proc/$gpid" ] && ! grep -q '^[^)]*) Z' "/proc/$gpid/stat" 2>/dev/null; do
		sleep 2
		beat=$(cat "$STATE.beat" 2>/dev/null) || continue
		[[ $beat =~ ^[0-9]+\  ]] || continue # (an arithmetic error here once ended the soak)
		if [ $(($(now_s) - ${beat%% *})) -gt "$STUCK_S" ]; then
			stuck=${beat#* }
			break
		fi
	done
	if [ -n "$stuck" ]; then
		# setsid made the generation its own process group: all of it goes
		kill -9 -- "-$gpid" 2>/dev/null
		kill -9 "$gpid" 2>/dev/null
		HARNESS_FAILURES=$((HARNESS_FAILURES + 1))
		echo "HARNESS FAILURE [gen $gen seed $gseed]: no progress for more than $STUCK_S s; last step: $stuck; killed (replay with GEN_SEED=$gseed)"
		gdir=$(cat "$STATE.dir" 2>/dev/null)
		if [ -n "$gdir" ] && [ -d "$gdir" ]; then
			mkdir -p "$FX_KEEP_DIR"
			cp -r "$gdir" "$FX_KEEP_DIR/gen-$gen-stuck" 2>/dev/null
			echo "# kept generation $gen in $FX_KEEP_DIR/gen-$gen-stuck"
			sleep 1 # the killed processes let go of the file systems
			umount "$gdir"/fs-* 2>/dev/null
			rm -rf "$gdir"
		fi
	fi
	wait "$gpid" 2>/dev/null # gone or a zombie by now: returns at once
	# this generation's counters into the soak's
	if [ -f "$STATE" ]; then
		while read -r kind k v; do
			case $kind in
			C) C[$k]=$((${C[$k]:-0} + v)) ;;
			RELAY) RELAY_TOTAL[$k]=$((${RELAY_TOTAL[$k]:-0} + v)) ;;
			ROUND) round=$v ;;
			esac
		done <"$STATE"
	fi
	[ -n "$stuck" ] && round=$((round + 1)) # the stuck round has a number too
done
rm -f "$STATE" "$STATE.beat" "$STATE.beat.new" "$STATE.dir" "$STATE.tmp"
FX_VIOLATIONS=0
for s in $FX_SCENARIOS; do FX_VIOLATIONS=$((FX_VIOLATIONS + ${C[$s.violations]:-0})); done
FX_VIOLATIONS=$((FX_VIOLATIONS + ${C[.violations]:-0})) # at setup, before any round
echo "# finished $(date -u +%FT%TZ) after $(($(now_s) - start)) s, $gen generations"
fx_report
echo "harness failures: $HARNESS_FAILURES"
[ "$FX_VIOLATIONS" -eq 0 ] && [ "$HARNESS_FAILURES" -eq 0 ]
