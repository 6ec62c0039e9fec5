#!/bin/bash
# Checkpoints: on demand and periodically the two stations exchange signed
# statements of both chain heads and store both; a clean exchange agrees on
# both sides. A peer that rewrites its own history (its store edited while
# it was stopped) is caught by the next checkpoint: a mismatch, an alarm in
# status, the log and the notify hook, on both sides.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
set_config washington notify "cat >> $T/washington.events"
set_config beijing checkpoint_s 1
: >"$T/washington.events"

if err=$(hl -d "$T/washington" checkpoint beijing 2>&1); then fail "a checkpoint without a daemon"; fi
grep -q "daemon is not running" <<<"$err" || fail "unclear error: $err"
ok "no daemon: $err"

start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"
for i in 1 2 3; do
	hl -d "$T/washington" send --to beijing --text "w$i" >/dev/null
	hl -d "$T/beijing" send --to washington --precedence immediate --text "b$i" >/dev/null
done
wait_for 5000 all_delivered washington 3 || fail "washington's messages not delivered"
wait_for 5000 all_delivered beijing 3 || fail "beijing's messages not delivered"
id=$(hl -d "$T/beijing" inbox --json | jq -r '.[0].id')
hl -d "$T/beijing" ack "$id" --operator duty >/dev/null
sleep 0.5

out=$(hl -d "$T/washington" checkpoint beijing) || fail "checkpoint: $out"
grep -q "agreed" <<<"$out" || fail "not agreed: $out"
j=$(hl -d "$T/washington" checkpoint beijing --json) || fail "checkpoint --json"
[ "$(jq -r .status <<<"$j")" = agreed ] && [ "$(jq -r .station_seq <<<"$j")" -ge 3 ] &&
	[ "$(jq -r .peer_seq <<<"$j")" -ge 3 ] || fail "checkpoint json: $j"
ckpt_field() { hl -d "$T/$1" status --json | jq -r ".peers[0].checkpoints.$2"; }
[ "$(ckpt_field washington last.status)" = agreed ] || fail "washington status: $(sqlite3 "$T/washington/station.db" "SELECT initiator, our_seq, their_seq, status, detail FROM checkpoints") B: $(sqlite3 "$T/beijing/station.db" "SELECT initiator, our_seq, their_seq, status, detail FROM checkpoints")"
[ "$(ckpt_field washington mismatches)" = 0 ] || fail "washington: mismatches"
ok "on demand, agreed: $out"

# beijing checkpoints by itself every second (config checkpoint_s), and washington stores each.
wait_for 8000 sh -c "[ \"\$('$HOTLINE' -d '$T/beijing' status --json | jq -r '.peers[0].checkpoints.last.initiator')\" = station ]" ||
	fail "no periodic checkpoint from beijing"
[ "$(sqlite3 "$T/washington/station.db" "SELECT count(*) FROM checkpoints WHERE initiator = 1 AND status = 0")" -ge 1 ] ||
	fail "washington did not store beijing's checkpoint"
[ "$(sqlite3 "$T/washington/station.db" "SELECT count(*) FROM checkpoints WHERE peer_sig IS NULL")" = 0 ] ||
	fail "a checkpoint of washington's lacks beijing's signature"
for s in washington:beijing beijing:washington; do
	a=${s%%:*} b=${s##*:}
	hl -d "$T/$a" transcript "$b" --output "$T/$a.jsonl" || fail "$a: transcript"
	[ "$(jq -s '[.[] | select(.type == "checkpoint" and .status == "agreed")] | length' "$T/$a.jsonl")" -ge 1 ] ||
		fail "$a: no agreed checkpoint in the export"
	check_transcript "$T/$a.jsonl" >/dev/null || fail "$a: the checker refuses the checkpoints: $(check_transcript "$T/$a.jsonl")"
done
ok "periodic checkpoints, both statements stored on both sides; the independent checker verifies their signatures"

# beijing rewrites its own history: the text and hash of its newest event, under its
# running daemon (a daemon checks its record when it starts, and would refuse this
# store: docs/reliability.md), while washington is away.
stop washington
seq=$(sqlite3 -readonly "$T/beijing/station.db" "SELECT max(seq) FROM events WHERE dir = 0")
tamper_sql "$T/beijing/station.db" "UPDATE events SET body = CAST('rewritten history' AS BLOB), hash = randomblob(32) WHERE dir = 0 AND seq = $seq" ||
	fail "could not edit beijing's store"
start washington
wait_state washington beijing up 5000 >/dev/null || fail "link not up again"
if out=$(hl -d "$T/washington" checkpoint beijing); then fail "the rewrite was not caught: $out"; fi
grep -q "MISMATCH" <<<"$out" || fail "no mismatch reported: $out"
grep -q "beijing's chain up to seq $seq" <<<"$out" || fail "the mismatch does not say where: $out"
[ "$(ckpt_field washington last.status)" = mismatch ] || fail "washington status: $(ckpt_field washington last.status)"
[ "$(ckpt_field washington mismatches)" -ge 1 ] || fail "washington: no mismatch counted"
grep -q "event=checkpoint_mismatch" "$T/washington.log" || fail "no checkpoint_mismatch log line"
wait_for 3000 sh -c "grep -q '\"event\":\"checkpoint_mismatch\"' '$T/washington.events'" ||
	fail "the notify hook did not hear of the mismatch"
wait_for 3000 sh -c "[ \"\$('$HOTLINE' -d '$T/beijing' status --json | jq -r '.peers[0].checkpoints.mismatches')\" -ge 1 ]" ||
	fail "beijing does not record the mismatch"
ok "a rewritten history is caught by the next checkpoint: $out"
stop washington
stop beijing
