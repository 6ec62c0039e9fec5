#!/bin/bash
# Every silence has a name: a channel suspended by one side is shown as
# suspended on both, with the same signed reason; a message sent on it from
# either side is refused at once with that reason (never left "sent");
# delivered messages stay readable and their acknowledgments travel; only
# the suspending side can resume. A suspension made while the link is down
# takes effect when it returns, and refuses what the peer sent meanwhile.
# A --no-suspend channel cannot be suspended, and the peer's notice for it
# is refused.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
for s in washington:beijing beijing:washington; do
	a=${s%%:*} b=${s##*:}
	hl -d "$T/$a" channel add "$b" defense >/dev/null || fail "channel add defense"
	hl -d "$T/$a" channel add "$b" leaders --no-suspend >/dev/null || fail "channel add leaders"
done
# A channel only washington holds as never suspendable: beijing's notice for it must be refused.
hl -d "$T/washington" channel add beijing joint --no-suspend >/dev/null
hl -d "$T/beijing" channel add washington joint >/dev/null
start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"

# channel_field A B CHANNEL JQ: a field of A's status for its channel CHANNEL to B.
channel_field() {
	hl -d "$T/$1" status --json |
		jq -r --arg p "$2" --arg c "$3" ".peers[] | select(.name == \$p) | .channels[] | select(.name == \$c) | $4"
}
msg_state() { hl -d "$T/$1" show "$2" --json | jq -r .state; }
msg_is() { [ "$(msg_state "$1" "$2")" = "$3" ]; }
chan_is() { [ "$(channel_field "$1" "$2" "$3" "$4")" = "$5" ]; }

# A message delivered before the suspension, not yet acknowledged.
early=$(hl -d "$T/washington" send --to beijing --channel defense --text "exercise notice 7")
wait_for 5000 all_delivered washington 1 || fail "early message not delivered"

reason="Suspended in response to the visit of 2 August"
out=$(hl -d "$T/washington" suspend beijing defense --reason "$reason" --operator "Gen. Smith") ||
	fail "suspend: $out"
[ "$(channel_field washington beijing defense .state)" = suspended ] || fail "not suspended at once on washington"
wait_for 3000 chan_is beijing washington defense .state suspended ||
	fail "beijing never saw the suspension"
for s in washington:beijing beijing:washington; do
	a=${s%%:*} b=${s##*:}
	[ "$(channel_field "$a" "$b" defense '.suspended_by[0].reason')" = "$reason" ] || fail "$a: reason differs"
	[ "$(channel_field "$a" "$b" defense '.suspended_by[0].by')" = washington ] || fail "$a: not by washington"
	[ "$(channel_field "$a" "$b" defense '.suspended_by[0].operator')" = "Gen. Smith" ] || fail "$a: operator"
done
[ "$(channel_field washington beijing defense '.suspended_by[0].since')" = \
	"$(channel_field beijing washington defense '.suspended_by[0].since')" ] || fail "since differs between sides"
[ "$(channel_field washington beijing general .state)" = up ] || fail "general is not up: a suspension leaked"
hl -d "$T/beijing" status | grep -q "suspended by washington (operator Gen. Smith)" || fail "status text"
ok "suspended by washington: both sides show it with the same reason, operator and time"

# beijing sends on it: refused by washington at once, with the reason.
t0=$(ms_now)
rid=$(hl -d "$T/beijing" send --to washington --channel defense --precedence flash --text "we protest") ||
	fail "send on a suspended channel was not accepted for delivery"
wait_for 3000 msg_is beijing "$rid" refused ||
	fail "beijing's message on the suspended channel is $(msg_state beijing "$rid"), not refused"
took=$(($(ms_now) - t0))
hl -d "$T/beijing" show "$rid" --json | jq -r .refused_reason | grep -qF "$reason" || fail "refusal lacks the reason"
hl -d "$T/beijing" show "$rid" --json | jq -r .refused_reason | grep -q "suspended by washington" ||
	fail "refusal does not name who suspended"
[ "$took" -lt 2000 ] || fail "refusal took $took ms"
ok "beijing's message refused in $took ms with washington's signed reason"

# washington sends on it: refused at once by its own station, nothing stored.
n_before=$(hl -d "$T/washington" outbox --json | jq length)
if err=$(hl -d "$T/washington" send --to beijing --channel defense --text "x" 2>&1); then
	fail "washington could send on a channel it suspended"
fi
grep -qF "$reason" <<<"$err" || fail "washington's refusal lacks the reason: $err"
[ "$(hl -d "$T/washington" outbox --json | jq length)" = "$n_before" ] || fail "a refused send was stored"
[ "$(count_state beijing sent)" = 0 ] && [ "$(count_state washington sent)" = 0 ] || fail "something left sent"
ok "washington's own send refused at once: $err"

# Delivered before: still readable, and its acknowledgment travels.
[ "$(hl -d "$T/beijing" show "$early" --json | jq -r .text)" = "exercise notice 7" ] || fail "early message unreadable"
hl -d "$T/beijing" ack "$early" --operator "Col. Li" >/dev/null || fail "ack on a suspended channel"
wait_for 3000 msg_is washington "$early" acknowledged ||
	fail "the acknowledgment did not travel"
ok "a message delivered before stays readable; its acknowledgment travels"

# Only the suspending side resumes.
if err=$(hl -d "$T/beijing" resume washington defense --operator "Col. Li" 2>&1); then
	fail "beijing resumed washington's suspension"
fi
grep -q "Only washington can resume it" <<<"$err" || fail "unclear error: $err"
ok "beijing cannot resume: $err"

hl -d "$T/washington" resume beijing defense --operator "Gen. Smith" >/dev/null || fail "resume"
wait_for 3000 chan_is beijing washington defense .state up ||
	fail "beijing still shows the channel suspended"
[ "$(channel_field washington beijing defense .state)" = up ] || fail "washington: not up after resume"
id2=$(hl -d "$T/beijing" send --to washington --channel defense --text "talks?")
wait_for 3000 msg_is beijing "$id2" delivered ||
	fail "after resume, a message is $(msg_state beijing "$id2")"
ok "resumed: both sides up, messages delivered again"

# Suspension while the link is down.
stop beijing
hl -d "$T/washington" suspend beijing defense --reason "second suspension" --operator "Gen. Smith" >/dev/null ||
	fail "suspend with the link down"
[ "$(channel_field washington beijing defense .state)" = suspended ] || fail "washington: not suspended"
[ "$(channel_field washington beijing defense '.suspended_by[0].notice_state')" = queued ] ||
	fail "the notice is not shown queued"
mid=$(hl -d "$T/beijing" send --to washington --channel defense --text "sent while the link was down")
start beijing
wait_for 5000 msg_is beijing "$mid" refused ||
	fail "the message sent meanwhile is $(msg_state beijing "$mid"), not refused"
hl -d "$T/beijing" show "$mid" --json | jq -r .refused_reason | grep -q "second suspension" || fail "wrong reason"
[ "$(channel_field beijing washington defense .state)" = suspended ] || fail "beijing: not suspended"
wait_for 3000 chan_is washington beijing defense '.suspended_by[0].notice_state' delivered ||
	fail "the notice was never receipted"
ok "a suspension made while the link was down took effect on both sides when it returned"

# --no-suspend.
for s in washington:beijing beijing:washington; do
	a=${s%%:*} b=${s##*:}
	if err=$(hl -d "$T/$a" suspend "$b" leaders --reason r --operator o 2>&1); then
		fail "$a suspended a --no-suspend channel"
	fi
	grep -q -- "--no-suspend" <<<"$err" || fail "unclear error: $err"
done
ok "a --no-suspend channel cannot be suspended on either side"

nid=$(hl -d "$T/beijing" suspend washington joint --reason "try it" --operator "Col. Li" | awk '{print $NF}')
wait_for 3000 msg_is beijing "$nid" refused ||
	fail "washington did not refuse a suspension of its --no-suspend channel"
hl -d "$T/beijing" show "$nid" --json | jq -r .refused_reason | grep -q -- "--no-suspend" || fail "reason"
[ "$(channel_field beijing washington joint .state)" = up ] || fail "beijing still shows joint suspended"
[ "$(channel_field washington beijing joint .state)" = up ] || fail "washington shows joint suspended"
jid=$(hl -d "$T/beijing" send --to washington --channel joint --text "still open")
wait_for 3000 msg_is beijing "$jid" delivered ||
	fail "joint not open after the refused suspension"
ok "the peer's suspension of a --no-suspend channel is refused, signed, and changes nothing"
stop washington
stop beijing
