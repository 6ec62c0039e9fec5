#!/bin/bash
# Backups and restores. While washington's backlog flows into beijing (and
# more is queued meanwhile), `backup` on beijing writes a copy whose
# integrity_check is ok. With the daemon stopped, the backup restored into
# a fresh copy of beijing's directory verifies. A restore while the daemon
# runs is refused; an older backup over a newer store is refused without
# --force; a file that is not a store is refused with a clear error.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
hl -d "$T/washington" send --to beijing --text "before the load" >/dev/null || fail "send"
start beijing
start washington
wait_state washington beijing up 5000 >/dev/null || fail "link not up"

# The load: a backlog in batches, while beijing receives and commits.
(for i in 1 2 3 4 5; do "$LOAD" "$T/washington" beijing 2000 512 routine >/dev/null || exit 1; done) &
loader=$!
wait_for 20000 sh -c "[ \$(sqlite3 -readonly '$T/beijing/station.db' 'SELECT count(*) FROM events WHERE dir = 1') -gt 500 ]" ||
	fail "beijing receives nothing"
out=$(hl -d "$T/beijing" backup "$T/b1.db") || fail "backup under load: $out"
grep -q "^backup of $T/beijing/station.db written to $T/b1.db: [0-9]* bytes, schema [0-9]*, 1 peers, [0-9]* events (the newest stored .*); integrity_check ok$" <<<"$out" ||
	fail "backup output: $out"
n1=$(sqlite3 -readonly "$T/b1.db" "SELECT count(*) FROM events")
[ "$(sqlite3 -readonly "$T/b1.db" "PRAGMA integrity_check")" = ok ] || fail "the backup is damaged"
left=$(cd "$T" && ls -d b1.db?* 2>/dev/null)
[ -z "$left" ] || fail "the backup left files beside it: $left"
ok "backup under load: $n1 events, integrity ok"

hl -d "$T/beijing" backup "$T/b1.db" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "exists: give --force" "$T/err" || fail "an existing FILE was overwritten: $(cat "$T/err")"
j=$(hl -d "$T/beijing" backup "$T/b2.db" --json) || fail "backup --json"
jq -e '.integrity == "ok" and .peers == 1 and .events > 0 and .schema > 0' <<<"$j" >/dev/null ||
	fail "backup --json: $j"
ok "an existing FILE is refused without --force; --json says what was copied"

wait $loader || fail "the load failed"
out=$(hl -d "$T/beijing" restore "$T/b1.db" 2>&1)
[ $? -eq 1 ] && grep -q "stop the daemon first" <<<"$out" || fail "restore beside a daemon: $out"
ok "restore while the daemon runs is refused: $out"

wait_for 60000 all_delivered washington 10001 || fail "the load was not delivered"
stop washington
stop beijing

# A fresh copy of beijing's directory without its store; the backup restored into it verifies.
mkdir "$T/copy" && chmod 700 "$T/copy"
for f in "$T/beijing"/*; do
	case "$f" in */station.db*|*/lock|*/ctl.sock) ;; *) cp -a "$f" "$T/copy/" ;; esac
done
out=$(hl -d "$T/copy" restore "$T/b1.db") || fail "restore: $out"
grep -q "^restored $T/b1.db into $T/copy/station.db: .* $n1 events" <<<"$out" || fail "restore output: $out"
out=$(hl -d "$T/copy" verify) || fail "the restored store does not verify: $out"
left=$(cd "$T/copy" && ls -d station.db.tmp* 2>/dev/null)
[ -z "$left" ] || fail "the restore left files beside the store: $left"
grep -q "^verify: OK$" <<<"$out" || fail "no OK: $out"
ok "restored into a fresh copy: $n1 events, verify OK"

# beijing's own store is newer than the backup (the whole load arrived since).
out=$(hl -d "$T/beijing" restore "$T/b1.db" 2>&1)
[ $? -eq 1 ] && grep -q "newer than the backup.*give --force" <<<"$out" || fail "older over newer: $out"
[ "$(sqlite3 -readonly "$T/beijing/station.db" "SELECT count(*) FROM events WHERE dir = 1")" -eq 10001 ] ||
	fail "the refusal changed the store"
ok "an older backup over a newer store is refused: $(cut -c1-100 <<<"$out")"
out=$(hl -d "$T/copy" restore "$T/b2.db" 2>&1) || fail "a newer backup over an older store: $out"
hl -d "$T/beijing" backup "$T/b3.db" >/dev/null || fail "backup of the stopped station"
out=$(hl -d "$T/copy" restore "$T/b3.db" --force) || fail "restore --force: $out"
hl -d "$T/copy" verify >/dev/null || fail "the forced restore does not verify"
ok "a newer backup restores without --force; a stopped station backs up"

echo "not a store" >"$T/junk"
out=$(hl -d "$T/copy" restore "$T/junk" 2>&1)
[ $? -eq 1 ] && grep -q "is not a hotline store" <<<"$out" || fail "a text file: $out"
junk=$out
out=$(hl -d "$T/copy" restore "$T/nothing" 2>&1)
[ $? -eq 1 ] || fail "a missing file: $out"
hl -d "$T/copy" restore >/dev/null 2>&1
[ $? -eq 2 ] || fail "restore without FILE is not a usage error"
hl -d "$T/copy" verify >/dev/null || fail "the refusals changed the store"
ok "a file that is not a store is refused: $junk"
