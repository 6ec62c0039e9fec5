#!/bin/sh
# run.sh BUILD ASAN: every test, on the normal build and again on the
# AddressSanitizer+UndefinedBehaviorSanitizer build, then each fuzzer for a
# short while. Prints one line per test and ends with "N passed, N failed".
set -u
BUILD=${1:-build}
ASAN=${2:-build-asan}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VECTORS=${HOTLINE_VECTORS:-$ROOT/../shared/vectors/cacophony.txt}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
LOGS=$(mktemp -d /tmp/hl-tests.XXXXXX)
passed=0
failed=0

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# run NAME CMD...: one test; its output is shown only when it fails.
run() {
	name=$1
	shift
	log="$LOGS/$(echo "$name" | tr '/ ' '__').log"
	if "$@" >"$log" 2>&1; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name"
		grep -E '^(FAIL|# seed|not ok)' "$log" | sed 's/^/    /'
		sed 's/^/    /' "$log" | tail -n 40
		failed=$((failed + 1))
	fi
}

for b in "$BUILD" "$ASAN"; do
	for t in "$b"/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		name=$(basename "$t")
		if [ "$name" = test_noise ]; then
			run "$b/$name" "$t" "$VECTORS"
		else
			run "$b/$name" "$t"
		fi
	done
	for t in "$ROOT"/tests/integration/[0-9]*.sh; do
		run "$b/$(basename "$t")" env HOTLINE="$ROOT/$b/hotline" \
			TESTPEER="$ROOT/$b/hl-testpeer" bash "$t"
	done
done

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
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
