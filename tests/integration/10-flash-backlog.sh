#!/bin/bash
# Precedence preempts. 10,000 ROUTINE messages queued, then one FLASH: the
# FLASH is delivered before the backlog has drained. Then while a second
# backlog is flowing, a FLASH sent by the CLI overtakes it too. Order is
# asserted, not time.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing

"$LOAD" "$T/washington" beijing 10000 1024 routine >/dev/null || fail "cannot queue the backlog"
fid=$(hl -d "$T/washington" send --to beijing --precedence flash --text "FLASH after the backlog")
start beijing
start washington
wait_for 60000 all_delivered washington 10001 || fail "backlog not delivered: $(count_state washington delivered)"
# Position of the FLASH in the receiver's arrival order (seq order is the send order).
pos=$(hl -d "$T/beijing" inbox --all --json | jq --arg id "$fid" 'sort_by(.received, .seq) | map(.id) | index($id)')
[ "$pos" -lt 10000 ] || fail "the FLASH arrived after the whole backlog (position $pos)"
ok "FLASH queued behind 10,000 ROUTINE arrived at position $pos of 10,001"
[ "$pos" -lt 5000 ] || fail "the FLASH waited behind half the backlog (position $pos)"

# While a backlog flows: a FLASH from the CLI overtakes what is still
# queued. To keep this about order and not about speed, beijing is frozen
# (SIGSTOP) for a moment mid-backlog, so that plenty is still queued at
# washington when the FLASH is sent, whatever the machine's speed.
# Progress is read from the receiver's store directly: listing 20,000
# messages through the CLI would take longer than the backlog does.
received() { sqlite3 -readonly "$T/beijing/station.db" "SELECT count(*) FROM events WHERE dir = 1"; }
"$LOAD" "$T/washington" beijing 20000 4096 routine >/dev/null || fail "second backlog"
hl -d "$T/washington" send --to beijing --text poke >/dev/null
wait_for 60000 sh -c "[ \$(sqlite3 -readonly '$T/beijing/station.db' 'SELECT count(*) FROM events WHERE dir = 1') -gt 10100 ]" ||
	fail "the second backlog does not flow"
kill -STOP "${PID[beijing]}"
sleep 0.3
fid2=$(hl -d "$T/washington" send --to beijing --precedence flash --text "FLASH during the backlog")
kill -CONT "${PID[beijing]}"
at=$(received)
wait_for 180000 all_delivered washington 30003 || fail "second backlog not delivered"
later=$(sqlite3 -readonly "$T/beijing/station.db" "SELECT count(*) FROM events WHERE dir = 1 AND precedence = 3 AND received_ns > (SELECT received_ns FROM events WHERE dir = 1 AND msg_id = '$fid2')")
[ "$later" -gt 0 ] || fail "the FLASH sent during the backlog did not overtake any of it ($at received when it was sent)"
ok "FLASH sent while a backlog flows ($at of 30,003 received): $later ROUTINE messages delivered after it"
stop washington
stop beijing
