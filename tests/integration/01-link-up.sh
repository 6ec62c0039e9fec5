#!/bin/bash
# Two stations pair and link: both sides say up, and they agree on the one
# session that survived (one side's outbound is the other's inbound), also
# when both dial at the same instant, again and again.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing

# The id line is NAME hl1:KEY and never shows the secret.
line=$(hl -d "$T/washington" id)
[[ "$line" =~ ^washington\ hl1:[A-Za-z0-9_-]{91}$ ]] || fail "id line looks wrong: $line"
[ "$(stat -c %a "$T/washington/identity.key")" = 600 ] || fail "identity.key is not 0600"
secret=$(tail -n 1 "$T/washington/identity.key")
grep -rqF -- "$secret" "$T"/*.init && fail "the secret key was printed"

for round in 1 2 3; do
	start washington
	start beijing
	wait_state washington beijing up 3000 >/dev/null || fail "round $round: washington never saw beijing up"
	wait_state beijing washington up 3000 >/dev/null || fail "round $round: beijing never saw washington up"
	sleep 0.5 # let any duplicate session from simultaneous dials be resolved
	dw=$(peer_field washington beijing .direction)
	db=$(peer_field beijing washington .direction)
	case "$dw/$db" in
	outbound/inbound | inbound/outbound) ;;
	*) fail "round $round: the two sides disagree on the session: $dw/$db" ;;
	esac
	rtt=$(peer_field washington beijing .rtt_ms)
	[ "$rtt" != null ] || { sleep 1; rtt=$(peer_field washington beijing .rtt_ms); }
	[ "$rtt" != null ] || fail "round $round: no round-trip time after heartbeats"
	[ "$(peer_field washington beijing .last_contact)" != null ] || fail "no last contact"
	ok "round $round: linked, $dw/$db, rtt ${rtt} ms"
	stop washington
	stop beijing
done

# With the daemon stopped, status still answers: every peer down.
[ "$(state washington beijing)" = down ] || fail "stopped station does not report down"
[ "$(hl -d "$T/washington" status --json | jq -r .running)" = false ] || fail "running should be false"
grep -q 'event=secret' "$T"/*.log && fail "log mentions a secret"
grep -qF -- "$secret" "$T"/*.log && fail "the secret key is in a log"
ok "stopped station reports its peers down"
