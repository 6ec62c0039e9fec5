#!/bin/bash
# Key rotation with a peer down (docs/keys.md): washington, whose key is
# protected by a passphrase, rotates while moscow is stopped. beijing
# receipts at once and accepts the announced key, but washington keeps its
# old key while it waits for moscow. The rotation survives a restart of
# washington and a change of passphrase meanwhile (identity.key.next is
# protected like identity.key and follows it); when moscow comes back it
# gets the notice, washington switches, and both peers pin the new key.
. "$(dirname "$0")/lib.sh"

printf 'first passphrase\n' >"$T/pass1"
printf 'second passphrase\n' >"$T/pass2"
PORT[washington]=$(free_port)
hl -d "$T/washington" init --name washington --listen "127.0.0.1:${PORT[washington]}" \
	--passphrase-fd 3 3<"$T/pass1" >/dev/null || fail "init washington"
new_station beijing
new_station moscow
pair washington beijing
pair washington moscow

start_pass() { # NAME PASSFILE
	local i
	"$HOTLINE" -d "$T/$1" run --verbose --passphrase-fd 3 3<"$2" </dev/null 2>>"$T/$1.log" &
	PID[$1]=$!
	for i in $(seq 1 100); do
		hl -d "$T/$1" status --json 2>/dev/null | jq -e '.running' >/dev/null && return 0
		kill -0 "${PID[$1]}" 2>/dev/null || fail "$1 exited at start"
		sleep 0.05
	done
	fail "$1 did not start"
}
wkey() { hl -d "$T/$1" status --json | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .keys.key'; }
announced() { hl -d "$T/$1" status --json | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .keys.announced.key'; }

start_pass washington "$T/pass1"
start beijing
start moscow
wait_state washington beijing up 5000 >/dev/null || fail "beijing link not up"
wait_state washington moscow up 5000 >/dev/null || fail "moscow link not up"
stop moscow
wait_state washington moscow down 5000 >/dev/null || fail "moscow not down"

old_w=$(key_of washington)
out=$(hl -d "$T/washington" key rotate --operator "Gen. Keys" --passphrase-fd 3 3<"$T/pass1" 2>&1) ||
	fail "key rotate: $out"
new_w=$(awk '/^new key /{print $4}' <<<"$out")
[ -n "$new_w" ] || fail "no new key: $out"
grep -q "announced to 2 peers" <<<"$out" || fail "key rotate: $out"
[ "$(stat -c %a "$T/washington/identity.key.next")" = 600 ] || fail "identity.key.next is not 0600"
head -1 "$T/washington/identity.key.next" | grep -qx "hotline-secret-key v2" ||
	fail "identity.key.next is not protected by a passphrase"
if hl -d "$T/washington" key rotate --operator x --passphrase-fd 3 3<"$T/pass1" >"$T/out.twice" 2>&1; then
	fail "a second rotation started while one is under way"
fi
grep -q "already under way" "$T/out.twice" || fail "second rotate said: $(cat "$T/out.twice")"
ok "rotation started with moscow down: identity.key.next protected, 0600; a second one refused"

is_announced() { [ "$(announced beijing washington)" = "$new_w" ]; }
wait_for 5000 is_announced || fail "beijing does not show the announced key"
sleep 1.5 # washington must not switch while moscow has not receipted
hl -d "$T/washington" status --json |
	jq -e '.keys.rotation.switched == null and .keys.rotation.waiting == 1' >/dev/null ||
	fail "washington's status: $(hl -d "$T/washington" status --json | jq -c .keys.rotation)"
[ "$(key_of washington)" = "$old_w" ] || fail "washington switched before moscow had the notice"
[ "$(wkey beijing washington)" = "$old_w" ] || fail "beijing pinned the new key before the switch"
[ "$(state washington beijing)" = up ] || fail "the link to beijing went down meanwhile"
hl -d "$T/washington" status | grep -q "ROTATION under way" || fail "status text lacks the rotation"
hl -d "$T/washington" status | grep -qE "moscow +notice [0-9a-f]{12} queued \(waiting\)" ||
	fail "status does not say moscow is waited for: $(hl -d "$T/washington" status)"
mid=$(hl -d "$T/washington" send --to moscow --text "for moscow, sent while it is down") ||
	fail "send to moscow"
ok "beijing receipted and accepts the new key; washington keeps the old one, waiting for moscow"

# A restart and a new passphrase while the rotation waits: it resumes.
stop washington
hl -d "$T/washington" key passphrase --passphrase-fd 3 --new-passphrase-fd 4 3<"$T/pass1" \
	4<"$T/pass2" >"$T/out.pass" 2>&1 || fail "key passphrase: $(cat "$T/out.pass")"
grep -q "identity.key.next (the rotation under way) too" "$T/out.pass" ||
	fail "key passphrase left identity.key.next: $(cat "$T/out.pass")"
start_pass washington "$T/pass2"
hl -d "$T/washington" status --json |
	jq -e '.keys.rotation.switched == null and .keys.rotation.problem == null' >/dev/null ||
	fail "after the restart: $(hl -d "$T/washington" status --json | jq -c .keys.rotation)"
wait_state washington beijing up 5000 >/dev/null || fail "beijing link not up after the restart"
ok "the rotation resumes after a restart and a passphrase change"

start moscow
switched() { [ "$(key_of washington)" = "$new_w" ]; }
wait_for 10000 switched || fail "washington did not switch once moscow was back"
pinned() { [ "$(wkey "$1" washington)" = "$new_w" ]; }
wait_for 10000 pinned moscow || fail "moscow did not pin the new key"
wait_for 10000 pinned beijing || fail "beijing did not pin the new key"
wait_state washington moscow up 5000 >/dev/null || fail "moscow link not up with the new key"
wait_state washington beijing up 5000 >/dev/null || fail "beijing link not up with the new key"
got_mid() { hl -d "$T/moscow" inbox --json | jq -e --arg t "for moscow, sent while it is down" \
	'[.[] | select(.text == $t)] | length == 1' >/dev/null; }
wait_for 5000 got_mid || fail "moscow never got the message queued meanwhile"
[ ! -e "$T/washington/identity.key.next" ] || fail "identity.key.next still there"
head -1 "$T/washington/identity.key" | grep -qx "hotline-secret-key v2" ||
	fail "the new identity.key is not protected"
ok "moscow back: notice receipted, washington switched, both peers pinned the new key"

# The new identity.key opens with the current passphrase; the peers link.
stop washington
start_pass washington "$T/pass2"
wait_state washington moscow up 5000 >/dev/null || fail "moscow link after a restart"
wait_state washington beijing up 5000 >/dev/null || fail "beijing link after a restart"
for s in washington moscow beijing; do
	hl -d "$T/$s" verify >"$T/verify-$s" || fail "$s: verify: $(tail -3 "$T/verify-$s")"
done
hl -d "$T/moscow" transcript washington --format jsonl --output "$T/m.jsonl" >/dev/null
check_transcript "$T/m.jsonl" >"$T/check-m" || fail "moscow's record: $(cat "$T/check-m")"
ok "the new key opens with the passphrase after a restart; every record verifies"
stop washington
stop beijing
stop moscow
