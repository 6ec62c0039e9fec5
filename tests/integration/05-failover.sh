#!/bin/bash
# A peer with two addresses whose first is dead: the link comes up over the
# second, and status names the link in use and says degraded (one link down).
# When the link in use dies, the first address (now alive) takes over.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
dead=$(free_port)
pin washington beijing "127.0.0.1:$dead" "127.0.0.1:${PORT[beijing]}"
pin beijing washington "127.0.0.1:$(free_port)" # beijing cannot dial: washington must
start washington
start beijing

ms=$(wait_state washington beijing degraded 3000) || fail "no link over the second address (state $(state washington beijing))"
link=$(peer_field washington beijing .link)
[ "$link" = "127.0.0.1:${PORT[beijing]}" ] || fail "link in use is $link"
[ "$(peer_field washington beijing '.links[0].state')" = down ] || fail "first address not shown down"
[ "$(peer_field washington beijing '.links[1].in_use')" = true ] || fail "second address not in use"
ok "first address dead: up over the second in $ms ms, state degraded"
[ "$(state beijing washington)" = degraded ] || [ "$(state beijing washington)" = up ] || fail "beijing does not see the link"
