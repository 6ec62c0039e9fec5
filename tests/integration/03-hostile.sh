#!/bin/bash
# Hostile bytes on the listening port: garbage, an empty record, an
# oversized length, a truncated handshake, a replayed message 0 and a
# corrupted transport frame. Each is refused (the connection dropped), the
# station survives without a leak (clean exit, ASan build included), and
# the real peer still links afterwards.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
start beijing
addr="127.0.0.1:${PORT[beijing]}"
bkey=$(key_of beijing)

for kind in garbage empty oversized truncated; do
	"$TESTPEER" "$kind" "$addr" || fail "$kind: beijing did not hang up"
	kill -0 "${PID[beijing]}" || fail "$kind: beijing died"
	ok "$kind bytes: connection dropped, station alive"
done

# As washington, but without its daemon: a real handshake, then abuse.
"$TESTPEER" handshake "$T/washington" "$addr" "$bkey" || fail "a real handshake failed"
ok "a real handshake works"
"$TESTPEER" replay "$T/washington" "$addr" "$bkey" || fail "a replayed message 0 was answered"
grep -q "reason=replayed_handshake peer=washington" "$T/beijing.log" || fail "replay not logged"
ok "replayed message 0 refused"
"$TESTPEER" tamper "$T/washington" "$addr" "$bkey" || fail "a corrupted frame did not end the session"
ok "corrupted frame: session dropped"
kill -0 "${PID[beijing]}" || fail "beijing died"

start washington
wait_state washington beijing up 3000 >/dev/null || fail "the real peer could not link afterwards"
wait_state beijing washington up 3000 >/dev/null || fail "beijing does not see washington up"
ok "the real peer links after the abuse"
stop washington
stop beijing
