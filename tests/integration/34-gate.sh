#!/bin/bash
# The wire-version gate (docs/protocol.md): KEY and TALKS events (kinds 5
# and 6) go only to a peer whose HELLO in the current session says wire
# version 4 or more. With a message and a talks proposal queued for
# washington, hl-testpeer links as washington (it never receipts, so every
# session gets the queue again): at version 3 it gets the message and not
# the talks; at version 4 both, once each. After a key rotation, version 3
# again gets neither talks nor KEY event; version 4 gets the KEY event once.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
start beijing
addr="127.0.0.1:${PORT[beijing]}"
bkey=$(key_of beijing) # the key beijing answers to until washington receipts the rotation

hl -d "$T/beijing" send --to washington --text "a message for any version" >/dev/null ||
	fail "send"
hl -d "$T/beijing" talks propose washington --title "Maritime consultations" --level expert \
	--from 2027-03-01 --to 2027-03-02 --place Qingdao --operator "Col. Li" >/dev/null 2>&1 ||
	fail "talks propose"

# session VERSION: one session of hl-testpeer as washington at that wire version, 2 s.
session() {
	"$TESTPEER" oldpeer "$T/washington" "$addr" "$bkey" "$1" 2 >"$T/v$1.out" 2>"$T/v$1.err" ||
		fail "testpeer at version $1: $(cat "$T/v$1.err")"
}
count() { grep -c "kind=$2 " "$T/v$1.out"; }
seen() { echo "$(count "$1" 1) message, $(count "$1" 6) talks, $(count "$1" 5) key"; }

session 3
[ "$(seen 3)" = "1 message, 0 talks, 0 key" ] || fail "version 3 got $(seen 3): $(cat "$T/v3.out")"
ok "a version 3 peer gets the message once, and not the talks event"

session 4
[ "$(seen 4)" = "1 message, 1 talks, 0 key" ] || fail "version 4 got $(seen 4): $(cat "$T/v4.out")"
ok "a version 4 peer gets the message and the talks event, each once"

# The KEY event is FLASH: once on the wire, ROUTINE traffic waits for its receipt (deliver.c).
hl -d "$T/beijing" key rotate --operator "Col. Li" >/dev/null 2>&1 </dev/null || fail "key rotate"
session 3
[ "$(seen 3)" = "1 message, 0 talks, 0 key" ] ||
	fail "version 3 after the rotation got $(seen 3): $(cat "$T/v3.out")"
ok "version 3 again, in a new session: the message only, neither talks nor key event"

session 4
[ "$(seen 4)" = "0 message, 0 talks, 1 key" ] ||
	fail "version 4 after the rotation got $(seen 4): $(cat "$T/v4.out")"
ok "version 4: the key event once (the ROUTINE events behind it wait for its receipt)"
kill -0 "${PID[beijing]}" || fail "beijing died"
stop beijing
