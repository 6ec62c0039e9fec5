#!/bin/sh
# SPDX-License-Identifier: ISC
# tests/powercut/run.sh [--cuts N] [--corruptions M] [--seed S] [--keep] [--quiet]:
# power cuts and corruptions against two stations (tests/powercut/powercut.py,
# docs/reliability.md). Uses build/hotline and build/libhl-powercut.so, or
# $HOTLINE and $HL_POWERCUT_SHIM. `make soak-powercut` runs a long series.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HOTLINE=${HOTLINE:-$ROOT/build/hotline}
SHIM=${HL_POWERCUT_SHIM:-$(dirname "$HOTLINE")/libhl-powercut.so}
[ -x "$HOTLINE" ] || { echo "run.sh: no $HOTLINE: run 'make build' first" >&2; exit 2; }
[ -f "$SHIM" ] || { echo "run.sh: no $SHIM: run 'make build' first" >&2; exit 2; }
# The daemons refuse root without --user (docs/operations.md); a test's throwaway stations may.
[ "$(id -u)" -eq 0 ] && export HOTLINE_ALLOW_ROOT=1
exec python3 "$ROOT/tests/powercut/powercut.py" --hotline "$HOTLINE" --shim "$SHIM" "$@"
