#!/bin/bash
# A third station whose key is not pinned is refused, and its key logged;
# the pinned peer links all the same.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
new_station intruder
pair washington beijing
pin intruder beijing # the intruder knows beijing; beijing does not know it

start beijing
start intruder
intruder_key=$("$TESTPEER" x25519 "$(key_of intruder)")
for i in $(seq 1 60); do
	grep -q "event=handshake_refused reason=unpinned_key.*x25519=$intruder_key" "$T/beijing.log" && break
	sleep 0.05
done
grep -q "event=handshake_refused reason=unpinned_key.*x25519=$intruder_key" "$T/beijing.log" ||
	fail "beijing did not log the refused key $intruder_key"
[ "$(state intruder beijing)" = down ] || fail "the intruder linked"
ok "unpinned key refused and logged"

start washington
wait_state beijing washington up 3000 >/dev/null || fail "the real peer could not link"
[ "$(state intruder beijing)" = down ] || fail "the intruder linked"
ok "the pinned peer links while the intruder keeps trying"
stop intruder
stop washington
stop beijing
