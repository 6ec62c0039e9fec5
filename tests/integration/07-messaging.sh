#!/bin/bash
# The whole life of a message: sent with the daemons stopped (durable and
# queued), delivered with a receipt once they run, acknowledged by a named
# operator, and every state with its time in `show` on both sides. Also:
# channels, a refusal for a channel the receiver lacks, attachments, a
# large message in chunks, and deadlines turning into "overdue" on both sides.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
set_config washington deadline_routine_s 2
set_config beijing deadline_routine_s 2

# Daemons stopped: send still works, and says queued.
id=$(hl -d "$T/washington" send --to beijing --precedence flash --text "Request for a call: 请求通话") ||
	fail "send with the daemon stopped"
[[ "$id" =~ ^[0-9a-f]{12}$ ]] || fail "send printed '$id', not an id"
[ "$(hl -d "$T/washington" show "$id" --json | jq -r .state)" = queued ] || fail "not queued"
ok "send works with the daemon stopped: $id queued"

start washington
start beijing
wait_for 5000 all_delivered washington 1 || fail "not delivered"
j=$(hl -d "$T/beijing" show "$id" --json)
[ "$(jq -r .text <<<"$j")" = "Request for a call: 请求通话" ] || fail "content differs: $j"
[ "$(jq -r .state <<<"$j")" = unacknowledged ] || fail "receiver state $(jq -r .state <<<"$j")"
[ "$(jq -r .precedence <<<"$j")" = flash ] || fail "precedence lost"
ok "delivered with a receipt; the receiver holds the exact text"

hl -d "$T/beijing" ack "$id" --operator "Col. Li Wei" >/dev/null || fail "ack"
wait_for 5000 sh -c "[ \"\$('$HOTLINE' -d '$T/washington' show $id --json | jq -r .state)\" = acknowledged ]" ||
	fail "sender never saw the acknowledgment"
j=$(hl -d "$T/washington" show "$id" --json)
[ "$(jq -r .acknowledged_by <<<"$j")" = "Col. Li Wei" ] || fail "acknowledging operator not named"
[ "$(jq -r '[.history[].state] | join(",")' <<<"$j")" = "queued,sent,delivered,acknowledged" ] ||
	fail "history: $(jq -c .history <<<"$j")"
[ "$(jq -r '[.history[].state] | join(",")' <<<"$(hl -d "$T/beijing" show "$id" --json)")" = "received,acknowledged" ] ||
	fail "receiver history wrong"
hl -d "$T/washington" show "$id" | grep -q "acknowledged  by Col. Li Wei" || fail "show text"
ok "acknowledged by a named operator; full history on both sides"

# Channels: added on one side only, a message on it is refused, signed, with the reason.
hl -d "$T/washington" channel add beijing maritime >/dev/null || fail "channel add"
hl -d "$T/washington" channel list beijing | grep -q "beijing maritime" || fail "channel list"
rid=$(hl -d "$T/washington" send --to beijing --channel maritime --text "vessels sighted")
wait_for 5000 sh -c "[ \"\$('$HOTLINE' -d '$T/washington' show $rid --json | jq -r .state)\" = refused ]" ||
	fail "message on a channel beijing lacks was not refused"
hl -d "$T/washington" show "$rid" --json | jq -r .refused_reason | grep -q "no channel 'maritime'" ||
	fail "refusal without the reason"
hl -d "$T/beijing" inbox --json | jq -e --arg id "$rid" 'all(.id != $id)' >/dev/null ||
	fail "a refused message shows in the inbox"
hl -d "$T/beijing" channel add washington maritime >/dev/null
mid=$(hl -d "$T/washington" send --to beijing --channel maritime --text "vessels sighted again")
wait_for 5000 all_delivered washington 2 || fail "once both have the channel, it is not delivered"
ok "a channel the receiver lacks: refused with a signed reason; delivered once added"

# An attachment, and a message of many chunks, arrive byte for byte.
head -c 300000 /dev/urandom >"$T/blob"
bid=$(hl -d "$T/washington" send --to beijing --file "$T/blob" --media-type application/octet-stream)
big=$(head -c 2000000 /dev/zero | tr '\0' 'a')
printf '%s' "$big" >"$T/big.txt"
gid=$(hl -d "$T/washington" send --to beijing --precedence priority <"$T/big.txt")
wait_for 10000 all_delivered washington 4 || fail "large messages not delivered"
hl -d "$T/beijing" show "$bid" --json | jq -r .body_base64 | base64 -d | cmp - "$T/blob" ||
	fail "attachment differs"
hl -d "$T/beijing" show "$gid" --json | jq -j .text | cmp - "$T/big.txt" || fail "2 MB text differs"
ok "a 300 kB attachment and a 2 MB text (chunked) arrive intact"

# Deadlines: unacknowledged past its deadline is overdue, on both sides.
oid=$(hl -d "$T/washington" send --to beijing --text "please confirm")
wait_for 5000 all_delivered washington 5 || fail "not delivered"
sleep 2.2
[ "$(hl -d "$T/washington" show "$oid" --json | jq -r .overdue)" = true ] || fail "sender: not overdue"
[ "$(hl -d "$T/beijing" show "$oid" --json | jq -r .overdue)" = true ] || fail "receiver: not overdue"
hl -d "$T/beijing" inbox | grep "$oid" | grep -q OVERDUE || fail "inbox does not flag it"
hl -d "$T/beijing" ack "$oid" --operator duty >/dev/null
[ "$(hl -d "$T/beijing" show "$oid" --json | jq -r .overdue)" = false ] || fail "still overdue after ack"
ok "past the deadline: overdue on both sides until acknowledged"

# Inbox order: unacknowledged first, then precedence, then time.
for p in routine flash priority; do hl -d "$T/washington" send --to beijing --precedence $p --text "order $p" >/dev/null; done
wait_for 5000 all_delivered washington 8 || fail "not delivered"
order=$(hl -d "$T/beijing" inbox --json | jq -r '[.[] | select((.text // "") | startswith("order")) | .precedence] | join(",")')
[ "$order" = "flash,priority,routine" ] || fail "inbox order: $order"
first=$(hl -d "$T/beijing" inbox --json --all | jq -r '.[0].state')
[ "$first" = unacknowledged ] || fail "acknowledged messages listed before unacknowledged ones"
ok "inbox: unacknowledged first, then precedence"
stop washington
stop beijing
