#!/bin/sh
# lint.sh [BUILD]: what `make lint` checks; every step must be clean.
#  1. clang-format: the formatting of src/, the unit tests, the test tools
#     and the fuzzers (.clang-format);
#  2. clang-tidy on src/ (.clang-tidy), one process per file, with the
#     compile commands of BUILD (default build);
#  3. cppcheck on src/ (scripts/cppcheck/: jansson's macros, suppressions).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
status=0

echo "lint: clang-format"
clang-format --dry-run -Werror src/*.c src/*.h tests/unit/*.c tests/tools/*.c tests/tools/*.h \
	fuzz/*.c || status=1

echo "lint: clang-tidy"
tidy=$(command -v run-clang-tidy || command -v run-clang-tidy-14)
log=$BUILD/clang-tidy.log
if [ -z "$tidy" ]; then
	echo "lint: run-clang-tidy not found (Debian package clang-tidy)" >&2
	status=1
elif ! "$tidy" -p "$BUILD" -quiet -j "$(nproc)" 'src/.*\.c$' >"$log" 2>&1 ||
	grep -q -E '(error|warning): ' "$log"; then
	grep -v -E '^[0-9]+ warnings? generated|^clang-tidy-?[0-9]* ' "$log" | head -n 200
	echo "lint: clang-tidy found problems (all of it in $log)"
	status=1
fi

echo "lint: cppcheck"
cppcheck --enable=warning,portability --inconclusive --std=c11 --quiet --error-exitcode=1 \
	-D_GNU_SOURCE -Isrc --library=scripts/cppcheck/jansson.cfg \
	--suppressions-list=scripts/cppcheck/suppressions.txt --suppress=missingIncludeSystem \
	src/ || status=1

[ $status -eq 0 ] && echo "lint: clean"
exit $status
