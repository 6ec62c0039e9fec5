#!/bin/bash
# run.sh BUILD ASAN: every test, on the normal build and again on the
# AddressSanitizer+UndefinedBehaviorSanitizer build, then each fuzzer for a
# short while. Prints one line per test and ends with "N passed, N failed".
#
# Tests run TEST_JOBS at a time (default: the number of cores, at most 4):
# each integration test has its own ports and directories, so they are
# independent, and most of their time is spent waiting on fsync and timers.
set -u
BUILD=${1:-build}
ASAN=${2:-build-asan}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VECTORS=${HOTLINE_VECTORS:-$ROOT/../shared/vectors/cacophony.txt}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
JOBS=${TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$JOBS" -gt 4 ] && JOBS=4
LOGS=$(mktemp -d /tmp/hl-tests.XXXXXX)
passed=0
failed=0
started=$(date +%s)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Each test writes LOGS/N.log and LOGS/N.rc; results are reported in the
# order the tests were listed, as soon as every earlier one has finished.
names=()
logfile() { echo "$LOGS/$1.log"; }

# start NAME CMD...: run one test in the background, at most JOBS at once.
start() {
	local i=${#names[@]}
	names+=("$1")
	shift
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n 2>/dev/null || true
		report_done
	done
	(
		t0=$(date +%s)
		"$@" >"$(logfile "$i")" 2>&1
		echo "$? $(($(date +%s) - t0))" >"$LOGS/$i.rc"
	) &
}

next=0
# report_done: print the results of finished tests, in order.
report_done() {
	while [ "$next" -lt "${#names[@]}" ] && [ -f "$LOGS/$next.rc" ]; do
		read -r rc secs <"$LOGS/$next.rc"
		name=${names[$next]}
		if [ "$rc" -eq 0 ]; then
			echo "ok - $name (${secs}s)"
			passed=$((passed + 1))
		else
			echo "not ok - $name (${secs}s)"
			grep -E '^(FAIL|# seed|not ok)' "$(logfile "$next")" | sed 's/^/    /'
			sed 's/^/    /' "$(logfile "$next")" | tail -n 40
			failed=$((failed + 1))
		fi
		next=$((next + 1))
	done
}

for b in "$BUILD" "$ASAN"; do
	for t in "$b"/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		name=$(basename "$t")
		if [ "$name" = test_noise ]; then
			start "$b/$name" "$t" "$VECTORS"
		else
			start "$b/$name" "$t"
		fi
	done
	for t in "$ROOT"/tests/integration/[0-9]*.sh; do
		start "$b/$(basename "$t")" env HOTLINE="$ROOT/$b/hotline" \
			TESTPEER="$ROOT/$b/hl-testpeer" bash "$t"
	done
done
wait
report_done

# Fuzzers: each parser of untrusted bytes, briefly (make fuzz runs longer).
if sh "$ROOT/fuzz/run.sh" "$FUZZ_SECONDS" >"$LOGS/fuzz.log" 2>&1; then :; fi
while IFS= read -r line; do
	case "$line" in
	"ok fuzz_"*) echo "ok - $line" | sed 's/ok - ok /ok - /'; passed=$((passed + 1)) ;;
	"not ok fuzz_"*) echo "$line"; failed=$((failed + 1)) ;;
	esac
done <"$LOGS/fuzz.log"
grep -q "ok fuzz_" "$LOGS/fuzz.log" || {
	echo "not ok - fuzzers did not run"
	tail -n 30 "$LOGS/fuzz.log"
	failed=$((failed + 1))
}

rm -rf "$LOGS"
echo "# $JOBS at a time, $(($(date +%s) - started)) s in all" >&2
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
