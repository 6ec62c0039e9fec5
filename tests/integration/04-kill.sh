#!/bin/bash
# One side's daemon killed with SIGKILL: the other shows down within 3 s,
# and up again within 2 s of the restart. Then the same with the daemon
# frozen (SIGSTOP): no FIN, no RST, only silence, which heartbeats catch.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
start washington
start beijing
wait_state washington beijing up 3000 >/dev/null || fail "never linked"

for i in 1 2 3; do
	kill9 beijing
	ms=$(wait_state washington beijing down 3000) || fail "kill $i: washington did not see beijing down within 3 s"
	ok "kill $i: down after $ms ms"
	start beijing
	ms=$(wait_state washington beijing up 2000) || fail "kill $i: not up within 2 s of the restart"
	ok "kill $i: up $ms ms after the restart"
done

kill -STOP "${PID[beijing]}"
ms=$(wait_state washington beijing down 3000) || { kill -CONT "${PID[beijing]}"; fail "frozen peer not seen down within 3 s"; }
ok "frozen peer (silent link): down after $ms ms"
grep -q "event=link_down peer=beijing reason=heartbeat_timeout" "$T/washington.log" ||
	{ kill -CONT "${PID[beijing]}"; fail "the silent link was not named a heartbeat timeout"; }
kill -CONT "${PID[beijing]}"
ms=$(wait_state washington beijing up 3000) || fail "not up again after SIGCONT"
ok "thawed peer: up again after $ms ms"
stop washington
stop beijing
