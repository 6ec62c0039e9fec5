#!/bin/bash
# Logs (docs/operations.md, "Logs"): one logfmt line per event, with levels,
# and never a secret. A full run at debug level: a station whose key is
# protected by a passphrase, pairing, messages both ways (text, an
# attachment, FLASH), acknowledgments, a suspension and resumption, link
# tests, a checkpoint, the notify hook, a backup, an export and a verify,
# and a scripted peer (hl-testpeer) that links and prints the keys of its
# session with the station. Then every line of every daemon log parses as
# logfmt (ts, level, station, event, then key=value pairs, values bare or
# quoted), and no log or output holds the passphrase, either station's
# secret keys (hex, base64, base64url, whole or halves) or the session
# keys. Last, log_level = warn keeps the info and debug lines out.
. "$(dirname "$0")/lib.sh"

PASS='lantern-Osprey 5518 quiet harbour'
printf '%s\n' "$PASS" >"$T/pass"
W=$T/washington
B=$T/beijing

PORT[washington]=$(free_port)
hl -d "$W" init --name washington --listen "127.0.0.1:${PORT[washington]}" --passphrase-fd 3 \
	3<"$T/pass" >"$T/out.init-w" 2>&1 </dev/null || fail "init with a passphrase"
new_station beijing
pair washington beijing
for s in washington beijing; do
	set_config $s link_test_s 1
	set_config $s notify "cat >>$T/$s.hook"
done
hl -d "$W" channel add beijing maritime >"$T/out.ch1" 2>&1
hl -d "$B" channel add washington maritime >"$T/out.ch2" 2>&1

"$HOTLINE" -d "$W" run --verbose --passphrase-fd 3 3<"$T/pass" </dev/null 2>>"$T/washington.log" &
PID[washington]=$!
wait_for 10000 eval '[ "$(hl -d "$W" status --json 2>/dev/null | jq -r .running)" = true ]' ||
	fail "washington did not start"
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "no link"

# Messages, acknowledgments, an attachment.
id1=$(hl -d "$W" send --to beijing --precedence flash --text "FLASH: call at 0900Z" 2>"$T/out.send1") || fail "send"
head -c 4096 /dev/urandom >"$T/att"
hl -d "$W" send --to beijing --file "$T/att" --media-type application/octet-stream >"$T/out.send2" 2>&1 || fail "send attachment"
id3=$(hl -d "$B" send --to washington --precedence immediate --text "收到" 2>"$T/out.send3") || fail "send back"
wait_for 5000 all_delivered washington 2 || fail "washington's messages not delivered"
wait_for 5000 all_delivered beijing 1 || fail "beijing's message not delivered"
hl -d "$B" ack "$id1" --operator "Col. Li" >"$T/out.ack1" 2>&1 || fail "ack"
hl -d "$W" ack "$id3" --operator "Maj. Smith" >"$T/out.ack2" 2>&1 || fail "ack back"
# A suspension, a refused message, the resumption; a checkpoint.
hl -d "$W" suspend beijing maritime --reason "consultations" --operator "Maj. Smith" >"$T/out.sus" 2>&1 || fail "suspend"
wait_for 5000 eval 'hl -d "$B" channel list washington | grep -q "maritime suspended"' || fail "suspension did not arrive"
hl -d "$B" send --to washington --channel maritime --text "refused" >"$T/out.send4" 2>&1 || fail "send on suspended"
hl -d "$W" resume beijing maritime --operator "Maj. Smith" >"$T/out.res" 2>&1 || fail "resume"
hl -d "$W" checkpoint beijing >"$T/out.ckpt" 2>&1 || fail "checkpoint: $(cat "$T/out.ckpt")"
# A backup while running, an export, a verify, status.
hl -d "$W" backup "$T/backup.db" >"$T/out.backup" 2>&1 || fail "backup"
hl -d "$W" transcript beijing --output "$T/w.jsonl" >"$T/out.transcript" 2>&1 || fail "transcript"
hl -d "$W" verify >"$T/out.verify" 2>&1 || fail "verify"
hl -d "$W" status >"$T/out.status" 2>&1 || fail "status"
# A peer that shows its session keys: it links to washington as beijing (beijing's daemon
# stopped, so that no session of its own wins the tie-break over this one).
stop beijing
"$TESTPEER" keys "$B" "127.0.0.1:${PORT[washington]}" "$(key_of washington)" >"$T/session.keys" 2>"$T/out.testpeer" ||
	fail "hl-testpeer keys: $(cat "$T/out.testpeer")"
[ "$(wc -l <"$T/session.keys")" -eq 6 ] || fail "hl-testpeer printed $(wc -l <"$T/session.keys") key forms, not 6"
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "no link after the scripted peer"
sleep 1.2 # one more link test
stop washington
stop beijing
[ -s "$T/washington.hook" ] && [ -s "$T/beijing.hook" ] || fail "the notify hooks did not run"
ok "a full run: passphrase, messages, acknowledgments, suspension, checkpoint, hook, backup, a scripted session"

# ---- one logfmt line per event ----
kv='[a-z_][a-z0-9_]*=([^ "=]+|"([^"\\]|\\.)*")'
re="^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z level=(debug|info|warn|error) station=[a-z0-9_-]+ event=[a-z_]+( $kv)*$"
for s in washington beijing; do
	n=$(wc -l <"$T/$s.log")
	[ "$n" -gt 30 ] || fail "$s logged only $n lines"
	if bad=$(grep -Evm3 "$re" "$T/$s.log"); then
		fail "$s's log has lines that are not logfmt: $bad"
	fi
	for lvl in debug info warn; do
		grep -q " level=$lvl " "$T/$s.log" || fail "$s logged nothing at level $lvl"
	done
done
for ev in started seccomp link_up received checkpoint link_test stopping stopped; do
	grep -q " event=$ev " "$T/washington.log" || grep -q " event=$ev$" "$T/washington.log" ||
		fail "washington never logged event=$ev"
done
ok "every line of both logs is logfmt: ts, level, station, event, key=value ($(cat "$T"/*.log | wc -l) lines)"

# ---- no secret anywhere ----
# washington's key in clear, so its secret can be searched for (this output is checked too).
hl -d "$W" key passphrase --passphrase-fd 3 --remove 3<"$T/pass" </dev/null >"$T/out.key-remove" 2>&1 ||
	fail "key passphrase --remove: $(cat "$T/out.key-remove")"
{
	secret_forms "$W/identity.key"
	secret_forms "$B/identity.key"
	cat "$T/session.keys"
	printf '%s\n' "$PASS"
} >"$T/forms"
[ "$(wc -l <"$T/forms")" -eq 25 ] || fail "expected 25 secret forms, got $(wc -l <"$T/forms")"
outputs=("$T"/*.log "$T"/out.* "$T"/*.init "$T"/*.hook "$T/w.jsonl")
while IFS= read -r form; do
	[ ${#form} -ge 16 ] || fail "a secret form is too short to search for: ${#form}"
	if grep -qiF -- "$form" "${outputs[@]}"; then
		fail "a secret appears in: $(grep -liF -- "$form" "${outputs[@]}" | tr '\n' ' ')"
	fi
	if grep -rqiF --exclude=identity.key -- "$form" "$W" "$B" "$T/backup.db"; then
		fail "a secret is stored in a station directory or the backup"
	fi
done <"$T/forms"
ok "no passphrase, identity secret or session key in ${#outputs[@]} logs and outputs, the stores or the backup"

# ---- levels ----
set_config washington log_level warn
: >"$T/washington.log"
"$HOTLINE" -d "$W" run 2>>"$T/washington.log" &
PID[washington]=$!
wait_for 10000 eval '[ "$(hl -d "$W" status --json 2>/dev/null | jq -r .running)" = true ]' ||
	fail "washington did not start with log_level = warn"
"$TESTPEER" oversized "127.0.0.1:${PORT[washington]}" || fail "the oversized record was not refused"
wait_for 3000 grep -q "event=connection_dropped" "$T/washington.log" || fail "no warn line for the oversized record"
stop washington
if grep -Ev ' level=(warn|error) ' "$T/washington.log" | grep -q .; then
	fail "log_level = warn let through: $(grep -Ev ' level=(warn|error) ' "$T/washington.log" | head -n 3)"
fi
ok "log_level = warn: the warn lines only ($(wc -l <"$T/washington.log")), no started, no debug"
