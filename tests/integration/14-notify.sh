#!/bin/bash
# The operator's hook (config notify) gets each event once, as one JSON
# line on stdin: link up and down, a FLASH message, an overdue
# acknowledgment on both sides, a suspension and a resumption on both sides,
# a failed link test (once per failure, not once per test).
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
dead=127.0.0.1:$(free_port) # a second address for beijing where nobody listens
pin washington beijing "127.0.0.1:${PORT[beijing]}" "$dead"
pin beijing washington
set_config washington link_test_s 1
set_config washington link_test_timeout_ms 800
for s in washington beijing; do
	set_config "$s" notify "cat >> $T/$s.events"
	set_config "$s" deadline_flash_s 2
	: >"$T/$s.events"
done
start washington
start beijing
wait_state washington beijing degraded 5000 >/dev/null || fail "link not up"

# count S KIND [JQ-FILTER]: how many events of KIND station S's hook got.
count() {
	jq -s --arg k "$2" "[.[] | select(.event == \$k) ${3:+| select($3)}] | length" "$T/$1.events"
}
has() { [ "$(count "$1" "$2" "${4:-}")" -ge "$3" ]; }

wait_for 3000 has washington link_up 1 || fail "no link_up event"
e=$(jq -s -c '[.[] | select(.event == "link_up")][0]' "$T/washington.events")
[ "$(jq -r .peer <<<"$e")" = beijing ] && [ "$(jq -r .station <<<"$e")" = washington ] ||
	fail "link_up event: $e"
jq -e '.at | test("^[0-9-]+T[0-9:.]+Z$")' <<<"$e" >/dev/null || fail "no time: $e"
ok "link_up: $e"

id=$(hl -d "$T/beijing" send --to washington --precedence flash --text "call now")
hl -d "$T/beijing" send --to washington --precedence routine --text "routine: no event" >/dev/null
wait_for 3000 has washington message 1 || fail "no message event"
e=$(jq -s -c '[.[] | select(.event == "message")][0]' "$T/washington.events")
[ "$(jq -r .id <<<"$e")" = "$id" ] && [ "$(jq -r .precedence <<<"$e")" = flash ] || fail "message event: $e"
ok "a FLASH message: $e"

wait_for 5000 has washington overdue 1 || fail "no overdue event at the receiver"
wait_for 3000 has beijing overdue 1 || fail "no overdue event at the sender"
[ "$(count washington overdue '.direction == "in"')" = 1 ] || fail "receiver: overdue not 'in' once"
[ "$(count beijing overdue '.direction == "out"')" = 1 ] || fail "sender: overdue not 'out' once"
ok "overdue acknowledgment, on both sides"

hl -d "$T/washington" suspend beijing general --reason "consultations" --operator "Gen. Smith" >/dev/null
wait_for 3000 has beijing suspended 1 || fail "beijing: no suspended event"
e=$(jq -s -c '[.[] | select(.event == "suspended")][0]' "$T/beijing.events")
[ "$(jq -r .by <<<"$e")" = washington ] && [ "$(jq -r .reason <<<"$e")" = consultations ] &&
	[ "$(jq -r .operator <<<"$e")" = "Gen. Smith" ] || fail "suspended event: $e"
hl -d "$T/washington" resume beijing general --operator "Gen. Smith" >/dev/null
wait_for 3000 has beijing resumed 1 || fail "beijing: no resumed event"
ok "suspended and resumed: $e"

# Tests of the dead address fail every second; the hook hears it once.
# (The live address may fail too if washington tested it before beijing
# listened: only the dead address's events are counted.)
dead_only=".link == \"$dead\""
wait_for 5000 has washington link_test_failed 1 "$dead_only" || fail "no link_test_failed event"
sleep 2.5
e=$(jq -s -c --arg d "$dead" '[.[] | select(.event == "link_test_failed" and .link == $d)][0]' "$T/washington.events")
[ "$(jq -r .error <<<"$e")" != null ] || fail "link_test_failed: $e"
[ "$(count washington link_test_failed "$dead_only")" = 1 ] ||
	fail "a failing link announced $(count washington link_test_failed "$dead_only") times"
ok "a failed link test, announced once while it keeps failing: $e"

# (The link may have gone down and up before, e.g. two sessions crossing at start-up: the
# event that counts is the one after the stop.)
downs=$(count washington link_down)
stop beijing
wait_for 3000 has washington link_down $((downs + 1)) || fail "no link_down event"
e=$(jq -s -c '[.[] | select(.event == "link_down")][-1]' "$T/washington.events")
[ "$(jq -r .reason <<<"$e")" = peer_shutting_down ] || fail "link_down reason: $e"
ok "link_down: $e"
sleep 0.5
stop washington

# Each event once: no kind was repeated.
for s in washington beijing; do
	for k in link_up suspended resumed message; do
		n=$(count "$s" "$k")
		case "$s:$k" in beijing:message) want=0 ;; *) want=1 ;; esac
		[ "$n" = "$want" ] || fail "$s got $n $k events, want $want"
	done
	[ "$(count "$s" overdue)" = 1 ] || fail "$s: overdue events: $(count "$s" overdue)"
done
[ "$(count washington link_down)" = 1 ] || fail "washington: link_down events: $(count washington link_down)"
[ "$(count beijing link_down)" = 0 ] || fail "a station's own shutdown notified as link_down"
ok "each event kind arrived once; a station's own shutdown is not a link_down"
