#!/bin/bash
# The transcript (docs/transcript.md): two stations exchange messages both
# ways (UTF-8 text, attachments, an acknowledgment each way, a message
# refused for a channel the receiver lacks, one refused as too large, a
# suspension and resumption with a message refused meanwhile); each exports
# its record; the independent checker (tests/tools/check_transcript.py)
# verifies both files, and each side's outgoing chain is the other's
# incoming chain, hash for hash. The page for people says "verified", names
# both stations and escapes what the peer wrote. Then the files and a store
# are tampered with, and every change is caught at the right line.
. "$(dirname "$0")/lib.sh"

check() { check_transcript "$@"; }

# field FILE TYPE CHAIN SEQ NAME: a raw field of one line, as written (jq
# would round the 19-digit nanosecond times through a double).
line_of() { grep -n "\"type\":\"$2\",\"chain\":\"$3\",\"seq\":$4," "$1" | cut -d: -f1; }
raw_field() { sed -n "$(line_of "$1" "$2" "$3" "$4")p" "$1" | grep -o "\"$5\":[0-9]*" | cut -d: -f2; }

# must_fail FILE EXPECTED WHAT: the checker rejects FILE, naming EXPECTED.
must_fail() {
	local out
	if out=$(check "$1"); then
		fail "the checker accepted a file with $3: $out"
	fi
	grep -qF -- "$2" <<<"$out" || fail "$3: the checker said '$out', not '$2'"
	ok "$3 is caught: $out"
}

new_station washington
new_station beijing
pair washington beijing
set_config beijing max_message_bytes 1024
# No periodic checkpoint: the counts below assume only those asked for.
set_config washington checkpoint_s 0
set_config beijing checkpoint_s 0
for s in washington:beijing beijing:washington; do
	a=${s%%:*} b=${s##*:}
	hl -d "$T/$a" channel add "$b" defense >/dev/null || fail "channel add defense"
done
hl -d "$T/washington" channel add beijing maritime >/dev/null # beijing lacks it: refused there
start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"

# washington -> beijing: seq 1 to 5.
w1=$(hl -d "$T/washington" send --to beijing --precedence flash --text "Request for a call: 请求通话 — 14:00Z") || fail "send"
head -c 600 /dev/urandom >"$T/att"
w2=$(hl -d "$T/washington" send --to beijing --file "$T/att" --media-type application/octet-stream) || fail "send attachment"
head -c 2000 /dev/zero | tr '\0' 'x' >"$T/big"
w3=$(hl -d "$T/washington" send --to beijing --file "$T/big") || fail "send large"
w4=$(hl -d "$T/washington" send --to beijing --channel maritime --text "vessels sighted") || fail "send maritime"
w5=$(hl -d "$T/washington" send --to beijing --precedence immediate \
	--text "<script>alert(1)</script> & \"quoted\" 'single'") || fail "send script"
# beijing -> washington.
b1=$(hl -d "$T/beijing" send --to washington --precedence immediate --text "收到. Call confirmed.") || fail "send"
head -c 300 /dev/urandom >"$T/att2"
b2=$(hl -d "$T/beijing" send --to washington --file "$T/att2" --media-type image/png) || fail "send attachment"

wait_for 5000 all_delivered washington 3 || fail "washington's messages not delivered"
hl -d "$T/beijing" ack "$w1" --operator "Col. Li Wei" >/dev/null || fail "ack on beijing"
wait_for 5000 sh -c "'$HOTLINE' -d '$T/washington' inbox | grep -q $b1" || fail "b1 not received"
hl -d "$T/washington" ack "$b1" --operator "Gen. Smith" >/dev/null || fail "ack on washington"
hl -d "$T/washington" suspend beijing defense --reason "Suspended pending review" --operator "Gen. Smith" >/dev/null ||
	fail "suspend"
wait_for 5000 sh -c "'$HOTLINE' -d '$T/beijing' channel list washington | grep -q 'defense suspended'" ||
	fail "beijing never saw the suspension"
b3=$(hl -d "$T/beijing" send --to washington --channel defense --text "we protest") || fail "send on defense"
wait_for 5000 sh -c "[ \"\$('$HOTLINE' -d '$T/beijing' show $b3 --json | jq -r .state)\" = refused ]" ||
	fail "beijing's message on the suspended channel was not refused"
hl -d "$T/washington" resume beijing defense --operator "Gen. Smith" >/dev/null || fail "resume"

# Settled: nothing of either side's chain waits for an answer, and the
# peer's signed heads cover every event received (no warning then).
settled() { # A B
	local f=$T/settle.$1
	hl -d "$T/$1" transcript "$2" >"$f" || return 1
	[ "$(jq -s '[.[] | select(.type == "event" and .chain == "out" and (.state == "queued" or .state == "sent"))] | length' "$f")" = 0 ] &&
		[ "$(jq -s '[.[] | select(.type == "event" and .chain == "in") | .seq] | max // 0' "$f")" = \
			"$(jq -s '[.[] | select(.type == "head") | .seq] | max // 0' "$f")" ]
}
wait_for 10000 settled washington beijing || fail "washington's record never settled"
wait_for 10000 settled beijing washington || fail "beijing's record never settled"
ok "exchanged: text, attachments, acknowledgments, two refusals by beijing, a suspension with a refusal by washington"

# Export with the daemons running, to a file and to stdout: the same lines.
out=$(hl -d "$T/washington" transcript beijing --output "$T/w.jsonl") || fail "export washington"
grep -q "^exported the record with beijing to $T/w.jsonl: 8 events out, 4 in, " <<<"$out" ||
	fail "summary: $out"
hl -d "$T/beijing" transcript washington --format jsonl --output "$T/b.jsonl" >/dev/null || fail "export beijing"
[ ! -e "$T/w.jsonl.tmp" ] || fail "the temporary file was left behind"
hl -d "$T/washington" transcript beijing >"$T/w.stdout" || fail "export to stdout"
diff <(tail -n +2 "$T/w.jsonl") <(tail -n +2 "$T/w.stdout") >/dev/null ||
	fail "--output and stdout differ beyond the header"
[ "$(jq -r .type "$T/w.jsonl" | uniq | paste -sd,)" = "header,event,head,receipt,refusal,end" ] ||
	fail "line order: $(jq -r .type "$T/w.jsonl" | uniq | paste -sd,)"
ok "exported both records: $out"

out=$(check "$T/w.jsonl") || fail "washington's export does not verify: $out"
[ "$out" = "ok: 8 events out, 4 in, $(jq -s '[.[] | select(.type == "head")] | length' "$T/w.jsonl") heads, $(jq -s '[.[] | select(.type == "receipt")] | length' "$T/w.jsonl") receipts, 2 refusals, 0 checkpoints" ] ||
	fail "checker on washington: $out"
ok "washington's export verifies: $out"
out=$(check "$T/b.jsonl" --station-key "$(hl -d "$T/beijing" id | cut -d' ' -f2)" \
	--peer-key "$(hl -d "$T/washington" id | cut -d' ' -f2)") || fail "beijing's export does not verify: $out"
grep -q "^ok: 4 events out, 8 in, .* 1 refusals, 0 checkpoints$" <<<"$out" || fail "checker on beijing: $out"
ok "beijing's export verifies against the keys the operators exchanged: $out"
if out=$(check "$T/b.jsonl" --station-key "$(hl -d "$T/washington" id | cut -d' ' -f2)"); then
	fail "the checker accepted beijing's file as washington's"
fi
ok "... and not against the wrong key: $out"

# Each side's chain out is the other's chain in, event for event.
chain() { jq -c --arg c "$2" 'select(.type == "event" and .chain == $c) | [.seq, .hash, .prev, .kind, .channel, .body_base64]' "$1"; }
[ "$(chain "$T/w.jsonl" out | jq -c '.[0:3]')" = "$(chain "$T/b.jsonl" in | jq -c '.[0:3]')" ] ||
	fail "washington's chain out differs from beijing's chain in"
[ "$(chain "$T/b.jsonl" out)" = "$(chain "$T/w.jsonl" in)" ] ||
	fail "beijing's chain out differs from washington's chain in"
[ "$(chain "$T/w.jsonl" out | wc -l)" = 8 ] || fail "washington's chain out has $(chain "$T/w.jsonl" out | wc -l) events"
ok "washington's chain out is beijing's chain in (8 events) and the other way round (4), hash for hash"

# The message beijing refused as too large: its body was never kept there.
[ "$(jq -c 'select(.type == "event" and .chain == "in" and .seq == 3) | [.body_kept, .state, .body_base64]' "$T/b.jsonl")" = '[false,"refused",""]' ] ||
	fail "the too-large message is not marked body_kept false in beijing's file"
[ "$(jq -r 'select(.type == "event" and .chain == "out" and .seq == 3) | .body_kept' "$T/w.jsonl")" = true ] ||
	fail "washington kept the body of its own message"
jq -se 'any(.[]; .type == "refusal" and .seq == 3 and (.reason | test("exceeds this station.s limit of 1024 bytes")))' "$T/w.jsonl" >/dev/null ||
	fail "no refusal for the too-large message"
jq -se 'any(.[]; .type == "refusal" and .seq == 4 and (.reason | test("no channel .maritime.")))' "$T/w.jsonl" >/dev/null ||
	fail "no refusal for the maritime message"
[ "$(jq -r 'select(.type == "event" and .chain == "out" and .seq == 1) | [.state, .acknowledged_by] | join("/")' "$T/w.jsonl")" = "acknowledged/Col. Li Wei" ] ||
	fail "w1 is not acknowledged by Col. Li Wei in washington's file"
[ "$(jq -r 'select(.type == "event" and .chain == "out" and .seq == 2) | .body_base64' "$T/w.jsonl" | base64 -d | cmp - "$T/att" && echo same)" = same ] ||
	fail "the attachment differs"
ok "refusals with their reasons, a body not kept marked as such, acknowledgments and attachments as recorded"

# The page for people.
out=$(hl -d "$T/washington" transcript beijing --format html --output "$T/w.html") || fail "html export"
grep -q "; verification: verified$" <<<"$out" || fail "html summary: $out"
page=$T/w.html
grep -q '<p class="v">Verification: verified</p>' "$page" || fail "the page does not say verified"
grep -q '<title>Transcript washington &ndash; beijing, exported 20[0-9-]*T' "$page" || fail "title: $(grep '<title>' "$page")"
grep -q 'washington &rarr; beijing' "$page" && grep -q 'beijing &rarr; washington' "$page" || fail "directions missing"
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#39;single&#39;' "$page" ||
	fail "the body is not HTML-escaped"
if grep -qi '<script' "$page"; then fail "the page holds a <script"; fi
grep -qF 'Request for a call: 请求通话 — 14:00Z' "$page" || fail "UTF-8 text missing"
grep -qF '[application/octet-stream, 600 bytes]' "$page" || fail "attachment not shown as [type, size]"
grep -qF 'Col. Li Wei' "$page" && grep -qF 'Gen. Smith' "$page" || fail "operators missing"
grep -qF 'suspended by washington, operator Gen. Smith: Suspended pending review' "$page" || fail "suspension missing"
grep -qF "no channel &#39;maritime&#39; with this station here" "$page" || fail "refusal reason missing"
grep -q '<tr class="flash">' "$page" && grep -q '<tr class="immediate">' "$page" || fail "FLASH/IMMEDIATE rows not marked"
if grep -qE 'src=|href=|@import|url\(' "$page"; then fail "the page loads something from outside"; fi
[ "$(grep -c '^<tr class=' "$page")" = 12 ] || fail "the page has $(grep -c '^<tr class=' "$page") rows, not 12"
hl -d "$T/beijing" transcript washington --format html | grep -q '<p class="v">Verification: verified</p>' ||
	fail "beijing's page does not say verified"
ok "the page: verified, both stations, 12 events by time, escaped bodies, nothing loaded from outside"

# --since: each chain from its first event created at or after T.
since=$(raw_field "$T/w.jsonl" event out 5 created_ns)
[ -n "$since" ] || fail "no created_ns for washington's seq 5"
hl -d "$T/washington" transcript beijing --since "$since" >"$T/w.since" || fail "export --since"
out=$(check "$T/w.since") || fail "the --since export does not verify: $out"
[ "$(jq -c 'select(.type == "event" and .chain == "out") | .seq' "$T/w.since" | paste -sd,)" = "5,6,7,8" ] ||
	fail "--since $since: chain out is $(jq -c 'select(.type == "event" and .chain == "out") | .seq' "$T/w.since" | paste -sd,)"
[ "$(jq -c 'select(.type == "refusal")' "$T/w.since" | wc -l)" = 0 ] || fail "refusals of events before --since"
hl -d "$T/washington" transcript beijing --since 2000-01-01 >"$T/w.2000" || fail "--since a date"
diff <(tail -n +2 "$T/w.2000") <(tail -n +2 "$T/w.jsonl") >/dev/null || fail "--since 2000-01-01 is not everything"
hl -d "$T/washington" transcript beijing --since 2200-01-01T00:00:00Z >"$T/w.none" || fail "--since later"
[ "$(tail -n 1 "$T/w.none")" = '{"type":"end","events_out":0,"events_in":0,"heads":0,"receipts":0,"refusals":0,"checkpoints":0}' ] ||
	fail "--since after everything: $(tail -n 1 "$T/w.none")"
ok "--since: chains cut at the first event at or after T; the cut file verifies: $out"

# Errors.
err=$(hl -d "$T/washington" transcript moscow 2>&1)
[ $? = 1 ] && [ "$err" = "hotline: no peer named moscow: see 'hotline peer list'" ] || fail "unknown peer: $err"
hl -d "$T/washington" transcript beijing --since yesterday >/dev/null 2>&1
[ $? = 2 ] || fail "a bad --since is not a usage error"
hl -d "$T/washington" transcript beijing --since 2026-02-30 >/dev/null 2>&1
[ $? = 2 ] || fail "February 30 is not a usage error"
hl -d "$T/washington" transcript beijing --format pdf >/dev/null 2>&1
[ $? = 2 ] || fail "a bad --format is not a usage error"
hl -d "$T/washington" transcript >/dev/null 2>&1
[ $? = 2 ] || fail "no PEER is not a usage error"
hl -d "$T/washington" transcript beijing --output "$T/no/such/dir/x.jsonl" >/dev/null 2>&1
[ $? = 1 ] || fail "an unwritable --output does not fail"
[ ! -e "$T/no/such/dir/x.jsonl" ] || fail "a file appeared"
hl -d "$T/washington" transcript beijing --help | grep -q "^usage: hotline -d DIR transcript PEER" || fail "--help"
ok "errors: unknown peer (1), bad --since, --format or no PEER (2), unwritable --output (1)"

# Tampering with an exported file: each change is caught at its line.
w=$T/w.jsonl
n=$(line_of "$w" event out 5)
sed "${n}s/\"body_base64\":\"[^\"]*\"/\"body_base64\":\"dGFtcGVyZWQ=\"/" "$w" >"$T/t1"
must_fail "$T/t1" "FAIL: line $n (event, chain out, seq 5): the hash does not recompute" "a body changed"

n=$(line_of "$w" event out 2)
sed "${n}d" "$w" >"$T/t2"
must_fail "$T/t2" "FAIL: line $n (event, chain out, seq 3): seq 2 expected here" "an event deleted"

n2=$(line_of "$w" event out 6)
n3=$(line_of "$w" event out 7)
awk -v a="$n2" -v b="$n3" 'NR == FNR { l[FNR] = $0; next } FNR == a { print l[b]; next } FNR == b { print l[a]; next } { print }' "$w" "$w" >"$T/t3"
must_fail "$T/t3" "FAIL: line $n2 (event, chain out, seq 7): seq 6 expected here" "two events swapped"

n=$(grep -n '"type":"head"' "$w" | head -n 1 | cut -d: -f1)
hseq=$(sed -n "${n}p" "$w" | jq .seq)
sig=$(sed -n "${n}p" "$w" | jq -r .sig)
flipped=${sig:0:1}$(tr '0-9a-f' '123456789abcdef0' <<<"${sig:1:1}")${sig:2}
sed "${n}s/$sig/$flipped/" "$w" >"$T/t4"
[ "$(sed -n "${n}p" "$T/t4" | jq -r .sig)" = "$flipped" ] || fail "the head signature was not changed"
must_fail "$T/t4" "FAIL: line $n (head, chain in, seq $hseq): the signature does not verify" "a head signature flipped"

n=$(grep -n '"type":"receipt"' "$w" | head -n 1 | cut -d: -f1)
sed "${n}d" "$w" >"$T/t5"
last=$(wc -l <"$T/t5")
must_fail "$T/t5" "FAIL: line $last (end): receipts is" "a receipt deleted"

head -n -1 "$w" >"$T/t6"
must_fail "$T/t6" "no end line: the file is truncated" "a truncated file"

n=$(line_of "$w" event in 1)
sed "${n}s/\"channel\":\"general\"/\"channel\":\"general\",\"note\":\"added\"/" "$w" >"$T/t7"
check "$T/t7" >/dev/null || fail "an unknown field is not ignored"
sed "${n}s/\"channel\":\"general\"/\"channel\":\"defense\"/" "$w" >"$T/t8"
must_fail "$T/t8" "FAIL: line $n (event, chain in, seq 1): the hash does not recompute" "a channel changed"

# The same on the store: the page names the failure, and the checker finds the same line.
stop washington
stop beijing
cp -r "$T/washington" "$T/wcopy"
hl -d "$T/wcopy" transcript beijing --output "$T/c.jsonl" >/dev/null || fail "export with the daemon stopped"
check "$T/c.jsonl" >/dev/null || fail "the export with the daemon stopped does not verify"
sqlite3 "$T/wcopy/station.db" "UPDATE events SET body = CAST('tampered' AS BLOB) WHERE dir = 0 AND seq = 5" ||
	fail "sqlite3"
n=$(line_of "$w" event out 5)
err=$(hl -d "$T/wcopy" transcript beijing --format html --output "$T/c.html" 2>&1 >/dev/null) || fail "html of a tampered store"
grep -qF "does NOT verify: line $n (event, chain out, seq 5): the hash does not recompute" <<<"$err" ||
	fail "no warning on stderr: $err"
grep -q '<div class="status bad">' "$T/c.html" && grep -qF "Verification: FAILED" "$T/c.html" || fail "the page does not say FAILED"
grep -qF "First failure: line $n (event, chain out, seq 5): the hash does not recompute" "$T/c.html" ||
	fail "the page does not name the failure"
hl -d "$T/wcopy" transcript beijing >"$T/c2.jsonl" || fail "jsonl of a tampered store"
must_fail "$T/c2.jsonl" "FAIL: line $n (event, chain out, seq 5): the hash does not recompute" "a body changed in the store"
cp -r "$T/washington" "$T/wcopy2"
sqlite3 "$T/wcopy2/station.db" "UPDATE heads SET sig = zeroblob(64) WHERE dir = 1 AND seq = (SELECT max(seq) FROM heads WHERE dir = 1)" ||
	fail "sqlite3"
hl -d "$T/wcopy2" transcript beijing --format html 2>/dev/null | grep -q "First failure: line [0-9]* (head, chain in, seq [0-9]*): the signature does not verify" ||
	fail "a bad head signature in the store is not named on the page"
ok "a store changed behind hotline's back: the page says FAILED at the line the checker names"
