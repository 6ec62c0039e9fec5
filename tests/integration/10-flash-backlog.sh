#!/bin/bash
# Precedence preempts. 10,000 ROUTINE messages queued, then one FLASH: the
# FLASH is delivered before the backlog has drained. Then, with a second
# backlog on its way, a FLASH sent by the CLI overtakes it too. Order is
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

# While a backlog is on its way: a FLASH from the CLI overtakes what is
# still queued. To make this about order and not about speed, beijing is
# frozen (SIGSTOP) while the backlog is queued: washington pushes into the
# connection until the socket buffers are full, then the FLASH is sent,
# then beijing thaws. (If the freeze outlasts the heartbeat, the link is
# re-established and everything is resent, most urgent first: the FLASH
# must still come before the rest of the backlog.)
received() { sqlite3 -readonly "$T/beijing/station.db" "SELECT count(*) FROM events WHERE dir = 1"; }
kill -STOP "${PID[beijing]}"
"$LOAD" "$T/washington" beijing 20000 4096 routine >/dev/null || { kill -CONT "${PID[beijing]}"; fail "second backlog"; }
hl -d "$T/washington" send --to beijing --text poke >/dev/null
sleep 0.3
fid2=$(hl -d "$T/washington" send --to beijing --precedence flash --text "FLASH during the backlog")
kill -CONT "${PID[beijing]}"
wait_for 180000 all_delivered washington 30003 || fail "second backlog not delivered"
later=$(sqlite3 -readonly "$T/beijing/station.db" "SELECT count(*) FROM events WHERE dir = 1 AND precedence = 3 AND received_ns > (SELECT received_ns FROM events WHERE dir = 1 AND msg_id = '$fid2')")
[ "$later" -gt 10000 ] || fail "the FLASH sent behind a 20,000 backlog overtook only $later of it"
ok "FLASH sent behind a 20,000 backlog on its way: $later ROUTINE messages delivered after it"
stop washington
stop beijing
