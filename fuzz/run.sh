#!/bin/sh
# SPDX-License-Identifier: ISC
#
# fuzz/run.sh SECONDS [OUTDIR]: build every fuzz/fuzz_*.c as a libFuzzer
# target (clang, ASan + UBSan, -DHL_TESTING, all of src/ but hotline.c) in
# OUTDIR (default build-fuzz), then run each for SECONDS seconds on a
# scratch copy of its seed corpus fuzz/corpus/NAME (never written to).
# Prints "ok fuzz_NAME (N runs)" or "not ok fuzz_NAME" and the crash output
# for each target; exits non-zero when any target failed to build or run.
set -u

usage() {
	echo "usage: sh fuzz/run.sh SECONDS [OUTDIR]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	usage
fi
SECONDS_EACH=$1
case $SECONDS_EACH in
'' | *[!0-9]*) usage ;;
esac
if [ "$SECONDS_EACH" -le 0 ]; then
	usage
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
OUT=${2:-$ROOT/build-fuzz}
case $OUT in
/*) ;;
*) OUT=$(pwd)/$OUT ;;
esac
cd "$ROOT" || exit 1

CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz/run.sh: $CC not found (set FUZZ_CC)" >&2
	exit 1
fi

CFLAGS="-std=c17 -g -O1 -fno-omit-frame-pointer -DHL_TESTING -Isrc \
-D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -D_GNU_SOURCE \
-Wall -Wextra -Wshadow -Wconversion -Wmissing-prototypes -Wno-unused-command-line-argument \
-fno-sanitize-recover=all"
SAN="address,undefined"
LIBS="-lsodium -luv -lsqlite3 -ljansson -lmicrohttpd -lseccomp -lpthread -lm"

mkdir -p "$OUT/obj" "$OUT/run" || exit 1

# Print the interesting part of a log: from the first error line on, else its tail.
show_log() {
	if grep -q -E 'ERROR:|runtime error|deadly signal|SUMMARY:|error:' "$1"; then
		awk 'f || /ERROR:|runtime error|deadly signal|SUMMARY:|error:/ { f = 1 } f' "$1" |
			head -n 200
	else
		tail -n 60 "$1"
	fi
}

# The library objects, instrumented for coverage but without libFuzzer's main.
objs=""
libfail=0
: >"$OUT/build-src.log"
for src in src/*.c; do
	case $src in src/hotline.c | src/cli_*.c) continue ;; esac
	obj=$OUT/obj/$(basename "$src" .c).o
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -fsanitize=fuzzer-no-link,$SAN -c "$src" -o "$obj" \
		>>"$OUT/build-src.log" 2>&1; then
		libfail=1
	fi
	objs="$objs $obj"
done
# The console's pages, built in as meson.build does (src/console.c refers to them).
for page in index.html:hl_web_index_html app.js:hl_web_app_js app.css:hl_web_app_css; do
	gen=$OUT/obj/${page#*:}.c
	obj=$OUT/obj/${page#*:}.o
	if ! python3 scripts/embed.py "web/${page%%:*}" "$gen" "${page#*:}" >>"$OUT/build-src.log" 2>&1 ||
		! $CC -c "$gen" -o "$obj" >>"$OUT/build-src.log" 2>&1; then
		libfail=1
	fi
	objs="$objs $obj"
done

failed=0
ntargets=0
for harness in fuzz/fuzz_*.c; do
	[ -f "$harness" ] || continue
	ntargets=$((ntargets + 1))
	target=$(basename "$harness" .c)
	name=${target#fuzz_}
	log=$OUT/run/$target.log
	work=$OUT/run/$target

	if [ "$libfail" -ne 0 ]; then
		echo "not ok $target"
		echo "# building src/ failed:"
		show_log "$OUT/build-src.log" | sed 's/^/# /'
		failed=1
		continue
	fi
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS -fsanitize=fuzzer,$SAN "$harness" $objs $LIBS -o "$OUT/$target" \
		>"$log" 2>&1; then
		echo "not ok $target"
		echo "# build failed:"
		sed 's/^/# /' "$log" | head -n 100
		failed=1
		continue
	fi

	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts" || exit 1
	if [ -d "fuzz/corpus/$name" ]; then
		for f in "fuzz/corpus/$name"/*; do
			[ -f "$f" ] && cp "$f" "$work/corpus/"
		done
	fi
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$OUT/$target" -max_total_time="$SECONDS_EACH" -timeout=30 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
		echo "ok $target ($runs runs)"
	else
		echo "not ok $target"
		echo "# exit status $rc; log: $log"
		show_log "$log" | sed 's/^/# /'
		for a in "$work/artifacts"/*; do
			[ -f "$a" ] && echo "# reproduce: $OUT/$target $a"
		done
		failed=1
	fi
done

if [ "$ntargets" -eq 0 ]; then
	echo "fuzz/run.sh: no fuzz/fuzz_*.c found" >&2
	exit 1
fi
exit "$failed"
