#!/bin/bash
# Talks on the record (docs/talks.md): a full cycle (propose, postpone with
# a reason, accept, agenda, held, both readouts and a corrected version)
# shows the same register on both stations and both records verify; a
# decline and a counter-proposal; two proposals crossing on the wire stand
# as two talks, and two answers crossing are settled the same way on both
# sides; invalid input is refused with a clear error and nothing stored;
# the public record is imported, marked as such, and numbers the next round.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"

W=washington
B=beijing
# (Few processes per check: the machine running the tests is shared.)
tj() { hl -d "$T/$1" talks show "$2" --json 2>/dev/null; }
tfield() { tj "$1" "$2" | jq -r "$3"; }
# The register as both stations derive it (everything but the member "local") is the same,
# and with settled, every talks event of either station is delivered.
compare() {
	local a b
	a=$(tj "$W" "$2") && b=$(tj "$B" "$2") || return 1
	jq -en --argjson a "$a" --argjson b "$b" "($1) and (\$a | del(.local)) == (\$b | del(.local))" >/dev/null
}
same() { compare true "$1"; }
settled() { compare '($a.local.undelivered + $b.local.undelivered | length) == 0' "$1"; }
state_is() { [ "$(tfield "$1" "$2" .state)" = "$3" ]; }
# check JSON JQ_EXPR WHAT: the expression holds for the JSON, else fail.
check() { jq -e "$2" <<<"$1" >/dev/null || fail "$3: $(jq -c . <<<"$1" | cut -c1-400)"; }
nevents() { hl -d "$T/$1" transcript "$2" --format jsonl 2>/dev/null | grep -c "\"kind\":6"; }
today=$(date -u +%F)
tomorrow=$(date -u -d tomorrow +%F)

# ---- a full cycle ----
id=$(hl -d "$T/$W" talks propose $B --title "Defense Policy Coordination Talks" --level working \
	--from 2027-08-10 --to 2027-08-11 --place "Washington, the Pentagon" \
	--series "Defense Policy Coordination Talks" --agenda "Maritime safety" \
	--agenda "Crisis communication channels" --operator "Dr. Chase" 2>"$T/propose.err") ||
	fail "propose: $(cat "$T/propose.err")"
[[ $id =~ ^[0-9a-f]{12}$ ]] || fail "propose did not print a talks id: '$id'"
grep -q "1st round of Defense Policy Coordination Talks" "$T/propose.err" || fail "round: $(cat "$T/propose.err")"
wait_for 5000 state_is $B "$id" proposed || fail "beijing never saw the proposal"
check "$(tj $B "$id")" '.awaiting == "beijing" and .round == 1' "not awaiting beijing"
ok "washington proposed talks $id; beijing holds them, awaiting its answer"

out=$(hl -d "$T/$B" talks postpone "$id" --from "$today" --to "$tomorrow" \
	--reason "The proposed dates fall on a national holiday" --operator "Maj. Gen. Song" 2>&1) ||
	fail "postpone: $out"
wait_for 5000 state_is $W "$id" postponed || fail "washington never saw the postponement"
check "$(tj $W "$id")" ".dates.from == \"$today\" and .proposed_dates.from == \"2027-08-10\"
	and .history[0].reason == \"The proposed dates fall on a national holiday\"
	and .awaiting == \"washington\"" "the postponement: new dates, the first ones, the reason, washington answers"
ok "beijing postponed them to $today..$tomorrow with its reason; washington's answer is awaited"

hl -d "$T/$W" talks accept "$id" --operator "Dr. Chase" >/dev/null 2>&1 || fail "accept"
hl -d "$T/$B" talks agenda add "$id" "Taiwan" --operator "Maj. Gen. Song" >/dev/null 2>&1 ||
	fail "agenda add"
wait_for 5000 state_is $B "$id" accepted || fail "beijing never saw the acceptance"
hl -d "$T/$W" talks held "$id" --operator "Dr. Chase" >/dev/null 2>&1 || fail "held"
wait_for 5000 state_is $B "$id" held || fail "beijing never saw 'held'"
printf 'The two sides discussed defense relations.\nDr. Chase stressed open lines of communication.\n' >"$T/w1.txt"
printf '双方就两军关系交换了意见。\n中方表示愿发展健康稳定的两军关系。\n' >"$T/b1.txt"
printf 'The two sides discussed defense relations (corrected).\n' >"$T/w2.txt"
hl -d "$T/$W" talks readout "$id" --file "$T/w1.txt" --operator "Dr. Chase" >/dev/null 2>&1 || fail "readout w"
hl -d "$T/$B" talks readout "$id" --file - --operator "Maj. Gen. Song" <"$T/b1.txt" >/dev/null 2>&1 || fail "readout b"
hl -d "$T/$W" talks readout "$id" --file "$T/w2.txt" --operator "Dr. Chase" >/dev/null 2>&1 || fail "correction"
wait_for 8000 settled "$id" || fail "the two registers differ: $(diff <(tj $W "$id" | jq -S 'del(.local)') <(tj $B "$id" | jq -S 'del(.local)'))"
j=$(tj $B "$id")
check "$j" '.state == "read_out" and .state_text == "read out by both"' "state"
check "$j" "(.readouts.washington | length) == 2 and .readouts.washington[1].latest
	and .readouts.washington[0].text == $(jq -Rs . "$T/w1.txt")" "washington's two versions, the first kept"
check "$j" ".readouts.beijing[0].text == $(jq -Rs . "$T/b1.txt")
	and .readouts.beijing[0].operator == \"Maj. Gen. Song\"" "beijing's readout"
check "$j" '[.agenda[].item] == ["Maritime safety", "Crisis communication channels", "Taiwan"]' "agenda"
check "$j" '[.history[] | select(.applied | not)] == []' "an event did not apply"
out=$(hl -d "$T/$W" talks show "$id")
grep -q "readout of washington, version 2 of 2" <<<"$out" || fail "show lacks the latest version: $out"
grep -q "readout of washington, version 1 of 2 (superseded)" <<<"$out" || fail "show lacks the old version"
grep -qF "双方就两军关系交换了意见" <<<"$out" || fail "show lacks beijing's readout"
ok "full cycle: postponed, accepted, held, read out by both (washington corrected, v1 kept); same register on both"

# Each readout is on its own station's chain: the side is who signed it, not a field.
check "$(hl -d "$T/$B" show "$(jq -r '.readouts.beijing[0].id' <<<"$j")" --json)" \
	'.direction == "out" and .kind == "talks"' "beijing's readout is not on beijing's chain"
check "$(hl -d "$T/$B" show "$(jq -r '.readouts.washington[1].id' <<<"$j")" --json)" \
	'.direction == "in"' "washington's readout is not on washington's chain"
ok "each readout is an event of its own station's chain"

sleep 0.5 # the last heads follow the last bursts within about 200 ms
for s in $W $B; do
	hl -d "$T/$s" verify >"$T/$s.verify" 2>&1 || fail "$s: verify: $(cat "$T/$s.verify")"
done
hl -d "$T/$B" transcript $W --output "$T/b.jsonl" >/dev/null || fail "beijing: transcript"
[ "$(grep -c '"kind":6' "$T/b.jsonl")" = 8 ] || fail "the 8 talks events are not all in beijing's export"
check_transcript "$T/b.jsonl" >"$T/b.check" 2>&1 || fail "the checker: $(cat "$T/b.check")"
hl -d "$T/$W" verify --against "$T/b.jsonl" >"$T/against" 2>&1 ||
	fail "washington against beijing's export: $(cat "$T/against")"
hl -d "$T/$W" transcript $B --format html --output "$T/w.html" >/dev/null || fail "html"
grep -q "<h2>Talks</h2>" "$T/w.html" && grep -q "Readout of beijing" "$T/w.html" &&
	grep -qF "双方就两军关系交换了意见" "$T/w.html" && grep -q "postpones talks $id" "$T/w.html" ||
	fail "the printable transcript lacks the talks"
ok "the records verify and agree (and the independent checker agrees); the printable transcript shows the talks"

# ---- decline and counter-proposal ----
t2=$(hl -d "$T/$B" talks propose $W --title "Maritime consultations" --level expert \
	--from 2027-03-01 --to 2027-03-02 --place Qingdao --operator "Col. Li" 2>/dev/null) || fail "propose t2"
wait_for 5000 state_is $W "$t2" proposed || fail "washington never saw t2"
if err=$(hl -d "$T/$W" talks propose $B --title "Counter" --level expert --from 2027-04-01 \
	--to 2027-04-02 --place Honolulu --counter "$t2" --operator "Dr. Chase" 2>&1); then
	fail "a counter-proposal to talks not declined was accepted"
fi
grep -q "not declined" <<<"$err" || fail "unclear: $err"
hl -d "$T/$W" talks decline "$t2" --reason "Qingdao is not acceptable" --operator "Dr. Chase" >/dev/null 2>&1 ||
	fail "decline"
t3=$(hl -d "$T/$W" talks propose $B --title "Maritime consultations" --level expert --from 2027-04-01 \
	--to 2027-04-02 --place Honolulu --counter "$t2" --operator "Dr. Chase" 2>/dev/null) || fail "counter"
wait_for 5000 state_is $B "$t3" proposed || fail "beijing never saw the counter-proposal"
wait_for 5000 settled "$t2" || fail "t2 differs"
check "$(tj $B "$t2")" '.state == "declined" and .history[0].reason == "Qingdao is not acceptable"' "t2"
check "$(tj $B "$t3")" ".counters == \"$t2\"" "t3 does not name t2"
ok "washington declined beijing's $t2 with its reason and counter-proposed $t3"

# ---- crossing on the wire ----
stop $B
c1=$(hl -d "$T/$W" talks propose $B --title "Theater commanders' call" --level theater_commander \
	--from 2027-05-01 --to 2027-05-01 --place "by video" --operator "Adm. Paparo" 2>/dev/null) || fail "c1"
c2=$(hl -d "$T/$B" talks propose $W --title "Theater commanders' call" --level theater_commander \
	--from 2027-05-02 --to 2027-05-02 --place "by video" --operator "Gen. Wu" 2>/dev/null) || fail "c2"
# Two answers crossing: washington postpones its t3 while beijing (offline) accepts it.
hl -d "$T/$W" talks postpone "$t3" --from 2027-04-08 --to 2027-04-09 --reason "a conflict" \
	--operator "Dr. Chase" >/dev/null 2>&1 || fail "postpone t3"
hl -d "$T/$B" talks accept "$t3" --operator "Col. Li" >/dev/null 2>&1 || fail "offline accept t3"
start $B
wait_for 8000 settled "$c1" || fail "c1 differs"
wait_for 8000 settled "$c2" || fail "c2 differs"
wait_for 8000 settled "$t3" || fail "t3 differs after the crossing: $(diff <(tj $W "$t3" | jq -S 'del(.local)') <(tj $B "$t3" | jq -S 'del(.local)'))"
[ "$c1" != "$c2" ] || fail "the crossing proposals have one id"
check "$(tj $B "$c1")" '.proposed_by == "washington" and .state == "proposed"' "c1 did not stand"
check "$(tj $B "$c2")" '.proposed_by == "beijing" and .state == "proposed"' "c2 did not stand"
crossed=$(tj $W "$t3" | jq '[.history[] | select(.applied | not)]')
[ "$(jq length <<<"$crossed")" = 1 ] || fail "not exactly one crossed answer: $crossed"
jq -r '.[0].note' <<<"$crossed" | grep -q "crossed with" || fail "the note does not say crossed: $crossed"
ok "crossing proposals stand as $c1 and $c2; crossing answers on $t3 settled alike ($(tfield $W "$t3" .state), $(jq -r '.[0].type' <<<"$crossed") not applied)"

# ---- invalid input: a clear error, a non-zero exit, nothing stored ----
before_w=$(nevents $W $B)
expect_fail() { # WANT_STATUS PATTERN CMD...: fails with that status and message
	local want=$1 pat=$2 rc
	shift 2
	err=$("$@" 2>&1)
	rc=$?
	[ "$rc" = "$want" ] || fail "exit $rc, not $want: $* -> $err"
	grep -qiE -- "$pat" <<<"$err" || fail "unclear error for $*: $err"
}
P=(hl -d "$T/$W" talks propose $B --title X --level working --place Y --operator op)
expect_fail 2 "before the start date" "${P[@]}" --from 2027-02-10 --to 2027-02-09
expect_fail 2 "bad --from '2027-02-30'" "${P[@]}" --from 2027-02-30 --to 2027-03-01
expect_fail 2 "bad --to 'tomorrow'" "${P[@]}" --from 2027-02-01 --to tomorrow
expect_fail 2 "bad --from '2027-2-1'" "${P[@]}" --from 2027-2-1 --to 2027-02-02
expect_fail 2 "bad --level 'admiral'" hl -d "$T/$W" talks propose $B --title X --level admiral \
	--from 2027-02-01 --to 2027-02-01 --place Y --operator op
expect_fail 2 "--operator" hl -d "$T/$W" talks propose $B --title X --level working \
	--from 2027-02-01 --to 2027-02-01 --place Y
expect_fail 1 "no talks 0123456789ab" hl -d "$T/$W" talks accept 0123456789ab --operator op
expect_fail 2 "bad talks id" hl -d "$T/$W" talks show nope
expect_fail 1 "not held" hl -d "$T/$W" talks readout "$c1" --file "$T/w1.txt" --operator op
head -c 65537 /dev/zero | tr '\0' 'a' >"$T/big.txt"
expect_fail 1 "larger than 65536 bytes" hl -d "$T/$W" talks readout "$id" --file "$T/big.txt" --operator op
expect_fail 1 "only beijing can accept" hl -d "$T/$W" talks accept "$c1" --operator op
expect_fail 2 "--reason" hl -d "$T/$B" talks decline "$c1" --operator op
expect_fail 1 "only accepted talks" hl -d "$T/$B" talks held "$c1" --operator op
[ "$(nevents $W $B)" = "$before_w" ] || fail "a refused command stored a talks event"
hl -d "$T/$B" talks accept "$c1" --operator "Gen. Wu" >/dev/null 2>&1 || fail "accept c1"
wait_for 5000 state_is $W "$c1" accepted || fail "washington never saw c1 accepted"
before_w=$(nevents $W $B)
expect_fail 1 "cannot be recorded as held before" hl -d "$T/$W" talks held "$c1" --operator op
expect_fail 1 "imported from the public record|no talks" hl -d "$T/$W" talks accept 2024-01-dpct-17 --operator op
printf '{"format":"hotline-talks-history-v1","stations":{"washington":"a","beijing":"b"},"talks":[{"id":"x-1","title":"t","level":"working","from":"2020-01-02","to":"2020-01-01","place":"p","sources":["s"]}]}' >"$T/bad.json"
expect_fail 1 "talks x-1: the end date 2020-01-01 is before" hl -d "$T/$W" talks import "$T/bad.json"
sleep 0.5
[ "$(nevents $W $B)" = "$before_w" ] || fail "a refused command stored a talks event"
[ "$(hl -d "$T/$W" talks list --json | jq '[.[] | select(.source == "imported")] | length')" = 0 ] ||
	fail "a refused import stored something"
ok "invalid input refused, nothing stored: $err"

# ---- the public record ----
hist=$(dirname "$0")/../../talks/history.json
out=$(hl -d "$T/$W" talks import "$hist") || fail "import: $out"
hl -d "$T/$B" talks import "$hist" >/dev/null || fail "beijing: import"
grep -q "imported 3 talks" <<<"$out" || fail "import said: $out"
hl -d "$T/$W" talks import "$hist" | grep -q "3 already there" || fail "a second import is not idempotent"
lw=$(hl -d "$T/$W" talks list --json | jq -S '[.[] | select(.source == "imported") | del(.local)]')
lb=$(hl -d "$T/$B" talks list --json | jq -S '[.[] | select(.source == "imported") | del(.local)]')
[ "$lw" = "$lb" ] || fail "the imported talks differ between the stations"
check "$lw" '[.[].id] == ["2010-12-dct-11", "2017-11-jsdm-1", "2024-01-dpct-17"]
	and all(.[]; .hash == null and .proposed_by == null)' "imported, not as if on the line"
check "$lw" '.[2].state_text == "read out by both" and .[2].round == 17
	and .[2].readouts.washington[0].text != .[2].readouts.beijing[0].text' "2024: both, differing"
check "$lw" '.[0].state_text == "read out by washington"' "2010: one readout"
hl -d "$T/$W" talks show 2024-01-dpct-17 | grep -q "imported from the public record" || fail "show does not say imported"
[ "$(nevents $W $B)" = "$before_w" ] || fail "the import put events on the line"
r=$(hl -d "$T/$W" talks propose $B --title "Defense Policy Coordination Talks" --level working \
	--from 2027-09-01 --to 2027-09-02 --place Beijing --series "Defense Policy Coordination Talks" \
	--operator "Dr. Chase" 2>&1 >/dev/null) || fail "propose after import: $r"
grep -q "18th round" <<<"$r" || fail "the round after the imported 17th: $r"
ok "the public record imported on both (same register, marked imported, not on the line); the next DPCT is the 18th"
