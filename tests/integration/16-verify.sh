#!/bin/bash
# The record proves itself: after two stations exchanged messages both ways
# (an acknowledgment and a refusal among them), `verify` passes on both
# sides, and so does each side's export (`--file`), and each side's record
# beside the other's export (`--against`), in both directions. Then, with
# the daemons stopped, each of these tamperings on a fresh copy of a
# station directory makes `verify` exit 1 naming the event: a body
# changed, a row deleted, two seqs swapped, a head's signature and a
# receipt's signature replaced. An edited export is caught by --file (at
# its line) and by --against (the first difference, with both ids).
#
# The jsonl comes from `hotline transcript PEER --format jsonl` when this
# hotline has it, else from the small exporter below, written from
# docs/transcript.md alone.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
hl -d "$T/washington" channel add beijing maritime >/dev/null || fail "channel add"
start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"

for i in 1 2 3 4; do
	hl -d "$T/washington" send --to beijing --text "washington $i" >/dev/null || fail "send $i"
done
hl -d "$T/washington" send --to beijing --precedence flash --text "Flash: call" >/dev/null
for i in 1 2 3; do
	hl -d "$T/beijing" send --to washington --precedence priority --text "beijing $i" >/dev/null ||
		fail "send back $i"
done
# beijing has no channel maritime: refused, with a signed reason.
rid=$(hl -d "$T/washington" send --to beijing --channel maritime --text "vessels sighted")
wait_for 10000 all_delivered washington 5 || fail "washington's messages not delivered"
wait_for 10000 all_delivered beijing 3 || fail "beijing's messages not delivered"
wait_for 5000 sh -c "[ \"\$('$HOTLINE' -d '$T/washington' show $rid --json | jq -r .state)\" = refused ]" ||
	fail "the maritime message was not refused"
first=$(hl -d "$T/beijing" inbox --json | jq -r '.[0].id')
hl -d "$T/beijing" ack "$first" --operator "Col. Li Wei" >/dev/null || fail "ack at beijing"
first=$(hl -d "$T/washington" inbox --json | jq -r '.[0].id')
hl -d "$T/washington" ack "$first" --operator "Maj. Smith" >/dev/null || fail "ack at washington"

db() { sqlite3 -readonly "$T/$1/station.db" "$2"; }
# settled A B: nothing of A's waits for a receipt, and A holds B's signed
# head over B's whole chain (a HEAD follows a burst by about 200 ms).
settled() {
	local a=$1 b=$2 pending top head
	pending=$(db "$a" "SELECT count(*) FROM events WHERE dir = 0 AND state IN (0, 1)")
	top=$(db "$b" "SELECT coalesce(max(seq), 0) FROM events WHERE dir = 0")
	head=$(db "$a" "SELECT coalesce(max(seq), 0) FROM heads WHERE dir = 1")
	[ "$pending" = 0 ] && [ "$top" = "$head" ] && [ "$top" -gt 0 ]
}
wait_for 10000 settled washington beijing || fail "washington: receipts or beijing's head missing"
wait_for 10000 settled beijing washington || fail "beijing: receipts or washington's head missing"

out=$(hl -d "$T/washington" verify) || fail "verify at washington: $out"
grep -q "^verify: OK$" <<<"$out" || fail "no OK: $out"
grep -q "chain out: 7 events ok (seq 1-7)" <<<"$out" || fail "washington's chain out: $out"
grep -q "chain in: 4 events ok (seq 1-4); signed heads: [0-9]* ok, the highest at seq 4" <<<"$out" ||
	fail "washington's chain in: $out"
grep -q "refusals: 1 ok" <<<"$out" || fail "the refusal: $out"
j=$(hl -d "$T/beijing" verify --json) || fail "verify --json at beijing: $j"
jq -e '.ok and .failure == null and (.peers | length) == 1 and .peers[0].peer == "washington"
	and .peers[0].out.events == 4 and .peers[0].in.events == 7 and .peers[0].in.missing == 0
	and .peers[0].heads.highest_seq == 7 and .peers[0].receipts.entries == 4' <<<"$j" >/dev/null ||
	fail "beijing's JSON: $j"
hl -d "$T/beijing" verify --peer washington >/dev/null || fail "verify --peer"
hl -d "$T/beijing" verify --peer nobody >/dev/null 2>&1 && fail "verify of an unknown peer passed"
ok "verify passes on both sides (7 and 4 events, heads, receipts, a refusal)"

# ---- exports ----
EXPORTER="$T/export.py"
cat >"$EXPORTER" <<'EOF'
# export.py DB STATION HL1-KEY PEER: the jsonl transcript of docs/transcript.md.
import base64, datetime, json, sqlite3, sys

db, station, key, peer = sys.argv[1:5]
raw = base64.urlsafe_b64decode(key[4:] + "=" * (-len(key[4:]) % 4))
spk = raw[32:64]
c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
pid, ppk = c.execute("SELECT id, ed25519 FROM peers WHERE name = ?", (peer,)).fetchone()
def line(o):
    sys.stdout.write(json.dumps(o, separators=(",", ":"), ensure_ascii=False) + "\n")
def b(v):
    return v if isinstance(v, bytes) else str(v).encode()
now = datetime.datetime.now(datetime.timezone.utc)
line({"type": "header", "format": "hotline-transcript-v1", "station": station,
      "station_ed25519": spk.hex(), "peer": peer, "peer_ed25519": ppk.hex(),
      "exported_at": now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000),
      "since_ns": 0})
OUT = {0: "queued", 1: "sent", 2: "delivered", 3: "acknowledged", 4: "refused"}
IN = {3: "acknowledged", 4: "refused", 5: "unacknowledged"}
n = {"events_out": 0, "events_in": 0, "heads": 0, "receipts": 0, "refusals": 0, "checkpoints": 0}
for d, name in ((0, "out"), (1, "in")):
    for r in c.execute("SELECT seq, prev, hash, msg_id, kind, precedence, created_ns, deadline_ns,"
                       " channel, media_type, operator, ref_seq, ref_hash, body, state, acked_by,"
                       " reason, received_ns, sent_ns, delivered_ns, acked_ns FROM events"
                       " WHERE peer_id = ? AND dir = ? ORDER BY seq", (pid, d)):
        line({"type": "event", "chain": name, "seq": r[0], "prev": b(r[1]).hex(),
              "hash": b(r[2]).hex(), "id": r[3], "kind": r[4], "precedence": r[5],
              "created_ns": r[6], "deadline_ns": r[7], "channel": r[8], "media_type": r[9],
              "operator": r[10], "ref_seq": r[11], "ref_hash": b(r[12]).hex(),
              "body_base64": base64.b64encode(b(r[13])).decode(),
              "body_kept": not (d == 1 and r[14] == 4 and not r[13]
                                and (r[16] or "").startswith("message of ")),
              "state": (IN if d else OUT).get(r[14], "?"),
              "acknowledged_by": r[15] or None, "refused_reason": r[16] or None,
              "received_ns": r[17], "sent_ns": r[18], "delivered_ns": r[19], "acked_ns": r[20]})
        n["events_" + name] += 1
for r in c.execute("SELECT seq, hash, sig, at_ns FROM heads WHERE peer_id = ? AND dir = 1"
                   " ORDER BY seq", (pid,)):
    line({"type": "head", "chain": "in", "seq": r[0], "hash": r[1].hex(), "sig": r[2].hex(),
          "at_ns": r[3]})
    n["heads"] += 1
for r in c.execute("SELECT entries, sig, at_ns FROM receipts WHERE peer_id = ? ORDER BY rowid",
                   (pid,)):
    e = r[0]
    line({"type": "receipt", "chain": "out",
          "entries": [[int.from_bytes(e[i:i + 8], "big"), e[i + 8:i + 40].hex()]
                      for i in range(0, len(e), 40)], "sig": r[1].hex(), "at_ns": r[2]})
    n["receipts"] += 1
for r in c.execute("SELECT seq, hash, reason, proof FROM events WHERE peer_id = ? AND dir = 0"
                   " AND state = 4 AND proof IS NOT NULL ORDER BY seq", (pid,)):
    line({"type": "refusal", "chain": "out", "seq": r[0], "hash": r[1].hex(), "reason": r[2],
          "sig": r[3].hex()})
    n["refusals"] += 1
ST = {0: "agreed", 1: "mismatch", 2: "waiting"}
for r in c.execute("SELECT at_ns, initiator, our_seq, their_seq, our_hash, their_hash, our_sig,"
                   " peer_their_hash, peer_our_hash, peer_sig, status, detail FROM checkpoints"
                   " WHERE peer_id = ? ORDER BY at_ns, id", (pid,)):
    ps = None if r[9] is None else {"peer_hash": r[7].hex(), "station_hash": r[8].hex(),
                                    "sig": r[9].hex()}
    line({"type": "checkpoint", "at_ns": r[0], "initiator": "peer" if r[1] else "station",
          "station_seq": r[2], "peer_seq": r[3],
          "station_statement": {"station_hash": r[4].hex(), "peer_hash": r[5].hex(),
                                "sig": r[6].hex()},
          "peer_statement": ps, "status": ST.get(r[10], "?"), "detail": r[11]})
    n["checkpoints"] += 1
line(dict({"type": "end"}, **n))
EOF

# export A B FILE: A's transcript with B.
if hl transcript --help >/dev/null 2>&1; then
	export_jsonl() { hl -d "$T/$1" transcript "$2" --format jsonl >"$3"; }
	ok "exports by 'hotline transcript'"
elif command -v python3 >/dev/null; then
	export_jsonl() {
		local id
		id=$(hl -d "$T/$1" id) || return 1
		python3 "$EXPORTER" "$T/$1/station.db" "${id%% *}" "${id##* }" "$2" >"$3"
	}
	ok "exports by the exporter in this test (no 'hotline transcript' yet)"
else
	fail "neither 'hotline transcript' nor python3 to export a transcript"
fi
export_jsonl washington beijing "$T/w.jsonl" || fail "export washington"
export_jsonl beijing washington "$T/b.jsonl" || fail "export beijing"

out=$(hl verify --file "$T/w.jsonl") || fail "verify --file without a station: $out"
grep -q "^verify: OK$" <<<"$out" || fail "no OK: $out"
grep -q "compare these keys with those exchanged out of band" <<<"$out" || fail "no keys: $out"
grep -q "ed25519 $(db beijing "SELECT hex(ed25519) FROM peers" | tr A-F a-f)" <<<"$out" ||
	fail "washington's key not printed: $out"
hl -d "$T/washington" verify --file "$T/w.jsonl" --peer beijing >/dev/null ||
	fail "washington's own export with --peer"
out=$(hl -d "$T/beijing" verify --file "$T/w.jsonl" --peer washington) ||
	fail "washington's export at beijing: $out"
grep -q "keys: the station's is peer washington's, the peer's is this station's" <<<"$out" ||
	fail "keys not named: $out"
ok "verify --file: each export verifies, its keys shown and checked against the pins"

out=$(hl -d "$T/washington" verify --against "$T/b.jsonl") || fail "against at washington: $out"
grep -q "beijing's chain (its out, our in): 4 events agree$" <<<"$out" || fail "their chain: $out"
grep -q "our chain (its in, our out): 7 events agree$" <<<"$out" || fail "our chain: $out"
j=$(hl -d "$T/beijing" verify --against "$T/w.jsonl" --json) || fail "against at beijing: $j"
jq -e '.ok and .peer == "washington" and .compare.peer_chain.agree == 7
	and .compare.our_chain.agree == 4 and .compare.peer_chain.differ == 0
	and .compare.our_chain.first_difference == null' <<<"$j" >/dev/null || fail "against JSON: $j"
hl -d "$T/washington" verify --against "$T/w.jsonl" >/dev/null 2>&1 &&
	fail "--against with our own export passed"
ok "verify --against: both stations hold the same two chains, in both directions"

hl -d "$T/washington" verify --file "$T/w.jsonl" --against "$T/b.jsonl" >/dev/null 2>&1
[ $? -eq 2 ] || fail "--file with --against is not a usage error"
hl -d "$T/washington" verify extra >/dev/null 2>&1
[ $? -eq 2 ] || fail "an extra argument is not a usage error"

# ---- the daemons stopped: tampering ----
stop washington
stop beijing
hl -d "$T/beijing" verify >/dev/null || fail "beijing no longer verifies after stopping"

# tamper NAME SQL WANT: on a fresh copy of beijing, SQL makes verify exit 1, naming WANT.
tamper() {
	local what=$1 stmt=$2 want=$3 out rc
	rm -rf "$T/copy"
	cp -a "$T/beijing" "$T/copy"
	tamper_sql "$T/copy/station.db" "$stmt" || fail "$what: sqlite3"
	out=$(hl -d "$T/copy" verify)
	rc=$?
	[ $rc -eq 1 ] || fail "$what: verify exited $rc: $out"
	grep -q "^verify: FAILED: peer washington, $want" <<<"$out" || fail "$what: not named: $out"
	ok "$what: verify fails: $(grep '^verify:' <<<"$out" | cut -c1-110)"
}
tamper "a body changed" \
	"UPDATE events SET body = CAST('forged' AS BLOB) WHERE dir = 1 AND seq = 2" \
	"chain in, seq 2, id [0-9a-f]\{12\}: the hash does not match"
tamper "a row deleted" "DELETE FROM events WHERE dir = 1 AND seq = 2" \
	"chain in, seq 2: seq 2 missing"
tamper "two seqs swapped" \
	"UPDATE events SET seq = seq + 1000 WHERE dir = 1 AND seq IN (2, 3);
	 UPDATE events SET seq = 3 WHERE dir = 1 AND seq = 1002;
	 UPDATE events SET seq = 2 WHERE dir = 1 AND seq = 1003" \
	"chain in, seq 2, "
tamper "a head's signature replaced" \
	"UPDATE heads SET sig = zeroblob(64) WHERE dir = 1 AND seq = 7" \
	"head, chain in, seq 7, id [0-9a-f]\{12\}: the peer's signature over the head does not verify"
rseq=$((16#$(db beijing "SELECT hex(substr(entries, 1, 8)) FROM receipts ORDER BY rowid LIMIT 1")))
tamper "a receipt's signature replaced" \
	"UPDATE receipts SET sig = zeroblob(64) WHERE rowid = (SELECT min(rowid) FROM receipts)" \
	"receipt, chain out, seq $rseq: the peer's signature over the receipt"
tamper "our own event's body changed" \
	"UPDATE events SET body = CAST('forged' AS BLOB) WHERE dir = 0 AND seq = 1" \
	"chain out, seq 1, "

# ---- an edited export ----
# line_of FILE CHAIN SEQ: the line of that event. (Edited with sed, not jq:
# jq 1.6 rounds the nanosecond times to doubles.)
line_of() {
	awk -v ch="\"chain\":\"$2\"" -v sq="\"seq\":$3[,}]" \
		'/"type":"event"/ && index($0, ch) && $0 ~ sq { print NR; exit }' "$1"
}
line=$(line_of "$T/b.jsonl" out 3)
[ -n "$line" ] || fail "no event out 3 in beijing's export"
sed -E "${line}s/\"body_base64\":\"[^\"]*\"/\"body_base64\":\"Zm9yZ2Vk\"/" "$T/b.jsonl" >"$T/b-body.jsonl"
out=$(hl verify --file "$T/b-body.jsonl")
[ $? -eq 1 ] || fail "a forged body in the export passed: $out"
grep -q "^verify: FAILED: $T/b-body.jsonl line $line, event, chain out, seq 3, " <<<"$out" ||
	fail "the forged line not named: $out"
ok "verify --file: an edited body fails at its line ($line)"

h=$(printf 'f%.0s' $(seq 64))
sed -E "${line}s/\"hash\":\"[0-9a-f]{64}\"/\"hash\":\"$h\"/; ${line}s/\"id\":\"[0-9a-f]{12}\"/\"id\":\"${h:0:12}\"/" \
	"$T/b.jsonl" >"$T/b-hash.jsonl"
out=$(hl -d "$T/washington" verify --against "$T/b-hash.jsonl")
[ $? -eq 1 ] || fail "--against an edited export passed: $out"
grep -q "1 DIFFER, the first at seq 3: file $h (id ffffffffffff), here [0-9a-f]\{64\} (id [0-9a-f]\{12\})" <<<"$out" ||
	fail "the first difference not reported: $out"
grep -q "(its out, our in): 3 events agree; 1 DIFFER" <<<"$out" || fail "agreement not counted: $out"
ok "verify --against: an edited export differs first at seq 3, both ids shown"

head -n 3 "$T/w.jsonl" >"$T/w-cut.jsonl"
out=$(hl -d "$T/beijing" verify --against "$T/w-cut.jsonl")
[ $? -eq 1 ] || fail "a truncated export passed: $out"
grep -q "no end line: the file is truncated" <<<"$out" || fail "truncation not said: $out"
grep -q "5 only here (seq 3-7: in flight, or exported before them)" <<<"$out" ||
	fail "the events only here not reported: $out"
ok "a truncated export: said, and the events it lacks reported as only here"
