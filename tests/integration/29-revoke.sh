#!/bin/bash
# Revocation and session key renewal (docs/keys.md). beijing revokes
# washington's key: the session drops at once, washington's key cannot
# link again even from the right address, nothing goes to it, and the
# revocation (when, why) shows in status and peer list on beijing's side.
# Re-pinning the key undoes it and what waited is delivered. With rekey_s
# = 1, both stations renew their session keys every second (status counts
# the rekeys) and messages still pass.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
set_config washington rekey_s 1
set_config beijing rekey_s 1
pair washington beijing
start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"

# Session keys renew on the timer.
rekeyed() { # A B N: A counts at least N rekeys each way on its session with B
	hl -d "$T/$1" status --json | jq -e --arg p "$2" --argjson n "$3" \
		'.peers[] | select(.name == $p) | .rekeys.ours >= $n and .rekeys.peer >= $n' >/dev/null
}
wait_for 6000 rekeyed washington beijing 3 || fail "washington: no rekeys by timer: $(peer_field washington beijing .rekeys)"
wait_for 2000 rekeyed beijing washington 3 || fail "beijing: no rekeys by timer: $(peer_field beijing washington .rekeys)"
id=$(hl -d "$T/washington" send --to beijing --precedence flash --text "after rekeys") || fail "send"
wait_for 5000 all_delivered washington 1 || fail "no delivery after the rekeys"
grep -q "event=rekey peer=beijing count=3" "$T/washington.log" || fail "no rekey lines in the log"
ok "session keys renewed every second on both sides ($(peer_field washington beijing '.rekeys.ours') so far), messages still pass"

# The revocation: at once, recorded, shown.
t0=$(ms_now)
out=$(hl -d "$T/beijing" peer revoke washington --reason "key compromised: incident 42" 2>&1) ||
	fail "peer revoke: $out"
grep -q "dropped its session" <<<"$out" || fail "the daemon was not told: $out"
[ "$(state beijing washington)" = revoked ] || fail "beijing's status is $(state beijing washington), not revoked"
wait_state washington beijing down 3000 >/dev/null || fail "washington's link did not go down"
took=$(($(ms_now) - t0))
hl -d "$T/beijing" status --json | jq -e '.peers[] | select(.name == "washington") |
	.keys.revoked.reason == "key compromised: incident 42" and .keys.revoked.at != null and
	.channels[0].state == "revoked"' >/dev/null || fail "status lacks the revocation"
hl -d "$T/beijing" status | grep -q "REVOKED since .*: key compromised: incident 42" || fail "status text"
hl -d "$T/beijing" peer list | grep -q "REVOKED since" || fail "peer list text"
if hl -d "$T/beijing" peer revoke washington --reason again >"$T/out.again" 2>&1; then
	fail "revoking twice succeeded"
fi
grep -q "revoked already" "$T/out.again" || fail "second revoke: $(cat "$T/out.again")"
ok "revoked: session dropped, washington down in $took ms; status and peer list show when and why"

# The revoked key cannot link, even from the right address; nothing goes to it.
sleep 1.5 # washington keeps redialling meanwhile
[ "$(state washington beijing)" = down ] || fail "washington linked again"
grep -q "handshake_refused reason=revoked_key peer=washington" "$T/beijing.log" ||
	fail "beijing did not refuse washington's redials"
if "$TESTPEER" handshake "$T/washington" "127.0.0.1:${PORT[beijing]}" "$(key_of beijing)" 2>/dev/null; then
	fail "a session with the revoked key was accepted"
fi
if err=$(hl -d "$T/beijing" send --to washington --text "x" 2>&1); then
	fail "beijing could queue a message to a revoked peer"
fi
grep -q "was revoked" <<<"$err" || fail "send to a revoked peer said: $err"
queued=$(hl -d "$T/washington" send --to beijing --text "while revoked") || fail "washington send"
sleep 0.5
[ "$(count_state washington delivered)" = 1 ] || fail "something reached beijing while revoked"
ok "the revoked key is refused (reason=revoked_key), even with the right address; nothing is queued to it"

# Undo: re-pin the key (here the same one, exchanged again out of band).
out=$(hl -d "$T/beijing" peer repin washington "$(key_of washington)" 2>&1) || fail "repin: $out"
grep -q "revocation is lifted" <<<"$out" || fail "repin said: $out"
wait_state washington beijing up 5000 >/dev/null || fail "no link after the re-pin"
wait_for 5000 all_delivered washington 2 || fail "the message sent meanwhile was not delivered"
hl -d "$T/beijing" status --json | jq -e '.peers[] | select(.name == "washington") | .keys.revoked == null' \
	>/dev/null || fail "still revoked after the re-pin"
for s in washington beijing; do
	hl -d "$T/$s" verify >"$T/verify-$s" || fail "$s: verify: $(tail -3 "$T/verify-$s")"
done
ok "re-pinned: linked again, what waited is delivered, both records verify"
stop washington
stop beijing
