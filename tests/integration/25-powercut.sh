#!/bin/bash
# Power cuts and a corrupted store, a short series (docs/reliability.md, "Power
# cuts and corruption"): two stations exchange messages, acknowledgments and
# notices while one or the other loses power at random points of its store's
# I/O (tests/powercut/pcvfs.c, preloaded), or has its stopped store damaged
# (bits flipped, a file truncated) and must refuse to start, or start on a store
# that is provably intact. After each, every invariant is checked
# (tests/powercut/powercut.py). The seed is printed; a failure replays from it.
# `make soak-powercut` runs the long series.
. "$(dirname "$0")/lib.sh"

SHIM=${HL_POWERCUT_SHIM:-$(dirname "$HOTLINE")/libhl-powercut.so}
[ -f "$SHIM" ] || fail "no $SHIM: build it (meson builds it beside hotline)"
case $HOTLINE in
*build-asan*) CUTS=${CUTS:-6} CORRUPTIONS=${CORRUPTIONS:-6} ;; # ASan is slower: fewer
*) CUTS=${CUTS:-12} CORRUPTIONS=${CORRUPTIONS:-12} ;;
esac
SEED=${SEED:-$((RANDOM * 32768 + RANDOM))}
echo "# seed $SEED (replay with SEED=$SEED, or tests/powercut/run.sh --seed $SEED --cuts $CUTS --corruptions $CORRUPTIONS)"
out=$(python3 "$(dirname "$0")/../powercut/powercut.py" --hotline "$HOTLINE" --shim "$SHIM" \
	--seed "$SEED" --cuts "$CUTS" --corruptions "$CORRUPTIONS" --quiet 2>&1)
rc=$?
echo "$out" | tail -n 40
[ $rc -eq 0 ] || fail "power cuts and corruptions, seed $SEED: $(grep '^FAIL' <<<"$out" | head -1)"
ok "$(grep '^powercut:' <<<"$out")"
