#!/bin/bash
# `hotline check` and `check --full` (docs/cli.md, "check"): a whole store checks OK,
# in text and JSON, with the daemon stopped and beside a running one. An index that
# disagrees with its table (every page whole: no checksum can see it) passes the quick
# check the daemon runs at start and is named by --full (SQLite's integrity_check).
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
for i in 1 2 3; do hl -d "$T/washington" send --to beijing --text "message $i" >/dev/null || fail "send $i"; done

out=$(hl -d "$T/washington" check) || fail "a whole store does not check: $out"
grep -q "^pages: [0-9]*, each with its checksum (quick_check, [0-9]* ms)$" <<<"$out" || fail "check output: $out"
grep -q "^record: 3 events verified" <<<"$out" && grep -q "^check: OK$" <<<"$out" || fail "check output: $out"
out=$(hl -d "$T/washington" check --full) || fail "a whole store does not check in full: $out"
grep -q "(integrity_check, [0-9]* ms)$" <<<"$out" && grep -q "^check: OK$" <<<"$out" || fail "check --full: $out"
j=$(hl -d "$T/washington" check --full --json) || fail "check --full --json: $j"
[ "$(jq -r '[.ok, .full, .events, (.integrity_check_ms | type)] | join(" ")' <<<"$j")" = "true true 3 number" ] ||
	fail "check --full --json: $j"
[ "$(hl -d "$T/washington" check --json | jq -r '[.full, (.quick_check_ms | type)] | join(" ")')" = "false number" ] ||
	fail "check --json without --full"
start washington
out=$(hl -d "$T/washington" check --full) || fail "check --full beside the daemon: $out"
grep -q "^wal: not checked (a daemon runs" <<<"$out" && grep -q "^check: OK$" <<<"$out" || fail "check --full live: $out"
stop washington
ok "a whole store checks OK, quick and full, stopped and beside the daemon"

hl -d "$T/washington" check --fast >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "unknown option '--fast'" "$T/err" || fail "an unknown option: $(cat "$T/err")"
hl -d "$T/washington" check extra >/dev/null 2>&1
[ $? -eq 2 ] || fail "an argument is not a usage error"
ok "usage errors exit 2"

# The msg_id index's definition changed behind the station's back: its entries no longer
# match what the table says they should hold. Every page is whole.
tamper_sql "$T/washington/station.db" "PRAGMA writable_schema = ON;
	UPDATE sqlite_master SET sql = 'CREATE INDEX events_msg_id ON events(created_ns)' WHERE name = 'events_msg_id';"
out=$(hl -d "$T/washington" check) || fail "the quick check now names the index (update this test): $out"
out=$(hl -d "$T/washington" check --full)
[ $? -eq 1 ] || fail "check --full passes a store whose index disagrees with its table: $out"
grep -q "^check: DAMAGED: SQLite's integrity_check: row [0-9]* missing from index events_msg_id$" <<<"$out" ||
	fail "check --full output: $out"
j=$(hl -d "$T/washington" check --full --json)
[ "$(jq -r .ok <<<"$j")" = false ] && jq -r .damage <<<"$j" | grep -q "missing from index events_msg_id" ||
	fail "check --full --json on the damaged store: $j"
ok "an index that disagrees with its table: quick check passes, --full names it: ${out##*DAMAGED: }"
