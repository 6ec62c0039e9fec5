#!/bin/bash
# Key rotation while messages flow (docs/keys.md): washington rotates its
# identity key while both stations send. Nothing is lost or doubled; the
# KEY event is receipted, washington switches and its sessions are made
# again with the new key; beijing pins the new key on proof and refuses the
# old one for new sessions afterwards (a copy of the old identity file
# cannot link, the current one can); both records verify across the
# rotation (hotline verify, --against, and the independent checker), the
# heads before it under the old key and after it under the new one.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"
wait_state beijing washington up 5000 >/dev/null || fail "link not up at beijing"

old_w=$(key_of washington)
mkdir -m 700 "$T/oldw" && cp -p "$T/washington/identity.key" "$T/oldw/identity.key"

# Traffic both ways, before, during and after the rotation.
N=40
flow() { # FROM TO
	local i
	for i in $(seq 1 $N); do
		hl -d "$T/$1" send --to "$2" --text "$1 $i" >/dev/null || echo "send $i failed"
		sleep 0.03
	done
}
flow washington beijing >"$T/flow-w" 2>&1 &
fw=$!
flow beijing washington >"$T/flow-b" 2>&1 &
fb=$!
sleep 0.5
out=$(hl -d "$T/washington" key rotate --operator "Col. Keys" 2>&1) || fail "key rotate: $out"
new_w=$(awk '/^new key /{print $4}' <<<"$out")
[ -n "$new_w" ] && [ "$new_w" != "$old_w" ] || fail "key rotate printed no new key: $out"
grep -q "announced to 1 peer" <<<"$out" || fail "key rotate: $out"
ok "key rotate: a new key announced to 1 peer while messages flow"

key_now() { [ "$(key_of washington)" = "$new_w" ]; }
pinned_now() { # A B: A pins B's new key
	[ "$(hl -d "$T/$1" status --json | jq -r --arg p "$2" '.peers[] | select(.name == $p) | .keys.key')" = "$new_w" ]
}
wait_for 10000 key_now || fail "washington never switched to its new key"
wait_for 10000 pinned_now beijing washington || fail "beijing never pinned washington's new key"
hl -d "$T/washington" status --json | jq -e '.keys.rotation.switched != null and .keys.rotation.waiting == 0' \
	>/dev/null || fail "washington's status does not show the rotation done"
[ ! -e "$T/washington/identity.key.next" ] || fail "identity.key.next is still there"
grep -q "event=key_switched" "$T/washington.log" || fail "no key_switched in washington's log"
grep -q "event=peer_key_switched peer=washington" "$T/beijing.log" || fail "no peer_key_switched at beijing"
hl -d "$T/beijing" peer list --json | jq -e '.[] | select(.name == "washington") | .keys.announced == null' \
	>/dev/null || fail "beijing still lists an announced key"
ok "washington switched once beijing receipted; beijing pinned the new key on proof"

wait $fw $fb
[ ! -s "$T/flow-w" ] && [ ! -s "$T/flow-b" ] || fail "a send failed: $(cat "$T/flow-w" "$T/flow-b")"
wait_state washington beijing up 5000 >/dev/null || fail "link not up again after the switch"
wait_for 15000 all_delivered washington $N || fail "washington's messages not all delivered"
wait_for 15000 all_delivered beijing $N || fail "beijing's messages not all delivered"
for s in washington:beijing beijing:washington; do
	a=${s%%:*} b=${s##*:}
	got=$(hl -d "$T/$b" inbox --all --json | jq -r '.[].text' | sort -u | grep -c "^$a ")
	[ "$got" = $N ] || fail "$b holds $got distinct messages from $a, not $N"
	n=$(hl -d "$T/$b" inbox --all --json | jq length)
	[ "$n" = $N ] || fail "$b holds $n messages, not $N: duplicates"
done
ok "all $N messages each way delivered exactly once across the rotation"

# The old key cannot make a new session; the new one can (the check can fail).
if "$TESTPEER" handshake "$T/oldw" "127.0.0.1:${PORT[beijing]}" "$(key_of beijing)" 2>"$T/tp-old"; then
	fail "beijing accepted a session with washington's old key"
fi
grep -q "handshake_refused reason=retired_key peer=washington" "$T/beijing.log" ||
	fail "beijing did not log the retired key"
ok "a copy of the old identity file is refused: reason=retired_key"

# Both records verify across the rotation.
hl -d "$T/washington" checkpoint beijing >/dev/null || fail "checkpoint after the rotation"
for s in washington:beijing beijing:washington; do
	a=${s%%:*} b=${s##*:}
	hl -d "$T/$a" verify >"$T/verify-$a" || fail "$a: verify failed: $(tail -3 "$T/verify-$a")"
	hl -d "$T/$a" transcript "$b" --format jsonl --output "$T/$a.jsonl" >/dev/null || fail "$a: export"
	check_transcript "$T/$a.jsonl" >"$T/check-$a" || fail "$a: $(cat "$T/check-$a")"
done
hl -d "$T/washington" verify --json | jq -e '.peers[0].station_keys | length == 2' >/dev/null ||
	fail "washington's record does not hold its two keys"
hl -d "$T/beijing" verify --json |
	jq -e '.peers[0].peer_keys | length == 2 and .[1].since_seq > 0' >/dev/null ||
	fail "beijing's record does not hold washington's two keys"
hl -d "$T/beijing" verify --json | jq -e '.peers[0].key_rotations == {"count": 1, "failed": 0}' \
	>/dev/null || fail "beijing did not check the rotation"
# Heads signed before the rotation verify with the old key, after it with the new one.
grep -qE "the peer's heads by key: key 1: [1-9][0-9]*, key 2: [1-9][0-9]*" "$T/check-beijing" ||
	fail "not both keys signed heads: $(cat "$T/check-beijing")"
hl -d "$T/beijing" verify --against "$T/washington.jsonl" >"$T/against-b" ||
	fail "beijing verify --against washington's export: $(tail -3 "$T/against-b")"
hl -d "$T/washington" verify --against "$T/beijing.jsonl" >"$T/against-w" ||
	fail "washington verify --against beijing's export: $(tail -3 "$T/against-w")"
ok "verify, verify --against and check_transcript pass on both sides ($(grep -o 'key 1: [0-9]*, key 2: [0-9]*' "$T/check-beijing") heads)"

# A forged head: washington's old key (its file copied before the rotation)
# signs the last head again after the switch. Both checkers must refuse it.
for PY in ${PYTHON:-} python3 /usr/bin/python3; do
	"$PY" -c 'import nacl.bindings' 2>/dev/null && break
done
"$PY" - "$T/beijing.jsonl" "$T/oldw/identity.key" >"$T/forged.jsonl" <<'EOF' ||
import base64, json, struct, sys
from nacl.bindings import (crypto_sign_ed25519ph_final_create, crypto_sign_ed25519ph_state,
                           crypto_sign_ed25519ph_update, crypto_sign_seed_keypair)
lines = open(sys.argv[1]).read().splitlines()
text = open(sys.argv[2]).read().split("\n", 1)[1].replace("\n", "")
raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
pk, sk = crypto_sign_seed_keypair(raw[32:64])
hdr = json.loads(lines[0])
assert pk.hex() == hdr["peer_keys"][0]["ed25519"], "not the old key"
last = max(i for i, l in enumerate(lines) if json.loads(l)["type"] == "head")
head = json.loads(lines[last])
st = crypto_sign_ed25519ph_state()
crypto_sign_ed25519ph_update(st, b"hotline-head-v1" + pk + bytes.fromhex(hdr["station_ed25519"])
                             + struct.pack(">Q", head["seq"]) + bytes.fromhex(head["hash"]))
head["sig"] = crypto_sign_ed25519ph_final_create(st, sk).hex()
lines.insert(last + 1, json.dumps(head, separators=(",", ":")))
end = json.loads(lines[-1])
end["heads"] += 1
lines[-1] = json.dumps(end, separators=(",", ":"))
print("\n".join(lines))
EOF
	fail "could not forge the head"
if check_transcript "$T/forged.jsonl" >"$T/check-forged"; then
	fail "a head signed by the old key after the switch passed the checker"
fi
grep -q "former key" "$T/check-forged" || fail "checker: $(cat "$T/check-forged")"
if hl verify --file "$T/forged.jsonl" >"$T/verify-forged"; then
	fail "a head signed by the old key after the switch passed hotline verify"
fi
grep -q "former key" "$T/verify-forged" || fail "verify: $(tail -2 "$T/verify-forged")"
ok "a head signed by the old key after the switch fails both checkers"

# The current identity file still links (so the refusal above was about the key).
"$TESTPEER" handshake "$T/washington" "127.0.0.1:${PORT[beijing]}" "$(key_of beijing)" 2>"$T/tp-new" ||
	fail "the new key could not link: $(cat "$T/tp-new")"
ok "the new identity file links"
stop washington
stop beijing
