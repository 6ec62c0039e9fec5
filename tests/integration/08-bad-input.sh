#!/bin/bash
# Bad input to send and ack: a clear one-line error, a non-zero exit, and
# nothing stored.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
set_config washington max_message_bytes 4096

expect() { # CODE PATTERN CMD...
	local code=$1 pat=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	[ $rc -eq "$code" ] || fail "'$*' exited $rc, want $code: $(cat "$T/err")"
	grep -Eq -- "$pat" "$T/err" || fail "'$*' said '$(cat "$T/err")', want /$pat/"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "'$*' wrote more than one error line"
}
W="$T/washington"
expect 1 "no peer named moscow" hl -d "$W" send --to moscow --text hi
expect 1 "no channel 'leaders'" hl -d "$W" send --to beijing --channel leaders --text hi
expect 2 "bad precedence" hl -d "$W" send --to beijing --precedence urgent --text hi
expect 2 "needs --to" hl -d "$W" send --text hi
head -c 5000 /dev/zero | tr '\0' x >"$T/big"
expect 1 "larger than max_message_bytes" hl -d "$W" send --to beijing --file "$T/big"
printf 'caf\xe9 \xff\xfe' >"$T/latin1"
expect 1 "not valid UTF-8" hl -d "$W" send --to beijing --file "$T/latin1"
expect 1 "not valid UTF-8" hl -d "$W" send --to beijing --text "$(printf 'bad \xc0\xaf')"
expect 1 "cannot read" hl -d "$W" send --to beijing --file "$T/nonexistent"
expect 2 "--media-type goes with --file" hl -d "$W" send --to beijing --text x --media-type a/b
[ "$(hl -d "$W" outbox --json | jq length)" = 0 ] || fail "a refused send stored something"
ok "send: unknown peer or channel, oversized, invalid UTF-8: refused, nothing stored"

id=$(hl -d "$W" send --to beijing --text "hello") || fail "a good send failed"
expect 1 "no message 000000000000" hl -d "$W" ack 000000000000 --operator x
expect 1 "outgoing message" hl -d "$W" ack "$id" --operator x
expect 2 "needs --operator" hl -d "$W" ack "$id"
expect 1 "no message" hl -d "$W" show ffffffffffff
[ "$(hl -d "$W" outbox --json | jq length)" = 1 ] || fail "outbox changed"
[ "$(hl -d "$W" outbox --json | jq -r '.[0].state')" = queued ] || fail "state changed"
ok "ack of an unknown or outgoing message: refused, nothing changed"

# Peer removal keeps the record.
expect 1 "never thrown away" hl -d "$W" peer remove beijing
ok "a peer with messages on record cannot be removed"
