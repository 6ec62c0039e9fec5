#!/bin/bash
# Re-synchronisation after a restore, over more than one page (docs/reliability.md,
# "Restoring a damaged store"): washington restores a backup that holds none of the
# 700 messages it sent since. beijing still holds them, under a head washington
# signed, and gives them back; washington reads them 256 at a time (deliver.c,
# LOAD_PAGE), so the give-back spans three pages. washington takes all of them
# back, its record verifies, every message is delivered once, and the restored mark
# is lifted: a new message goes out.
# Then beijing restores a backup that lacks washington's last 200 events (100
# ROUTINE of 20 KB, then 100 FLASH): washington sends them again, the FLASH
# ones first, and its next head covers them all, the ROUTINE receipted last.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
hl -d "$T/washington" send --to beijing --text "in the backup" >/dev/null || fail "send"
hl -d "$T/washington" backup "$T/old.db" >/dev/null || fail "backup"
start beijing
start washington
wait_state washington beijing up 5000 >/dev/null || fail "link not up"
"$LOAD" "$T/washington" beijing 700 256 routine >/dev/null || fail "the load"
wait_for 60000 all_delivered washington 701 || fail "the 701 messages were not all delivered"
top=$(sqlite3 -readonly "$T/washington/station.db" "SELECT max(seq) FROM events WHERE dir = 0")
[ "$top" -ge 701 ] || fail "washington's chain ends at $top"
head_at() { [ "$(sqlite3 -readonly "$T/beijing/station.db" \
	"SELECT coalesce(max(seq), 0) FROM heads WHERE dir = 1")" -ge "$top" ]; }
wait_for 10000 head_at || fail "beijing holds no head of washington's up to $top"
ok "washington sent 701 messages (chain to $top), beijing holds them under its head"

stop washington
out=$(hl -d "$T/washington" restore --force "$T/old.db") || fail "restore: $out"
[ -e "$T/washington/station.db-restored" ] || fail "no restored mark"
[ "$(sqlite3 -readonly "$T/washington/station.db" "SELECT max(seq) FROM events WHERE dir = 0")" -eq 1 ] ||
	fail "the backup holds more than the first message"
start washington
whole() { [ "$(sqlite3 -readonly "$T/washington/station.db" \
	"SELECT coalesce(max(seq), 0) FROM events WHERE dir = 0")" -eq "$top" ]; }
wait_for 30000 whole || fail "washington did not take its chain back: $(grep -h "resync" "$T/washington.log" | tail -3)"
wait_for 10000 sh -c "[ ! -e '$T/washington/station.db-restored' ]" || fail "the restored mark stays"
! grep -q "event=resync_refused" "$T/washington.log" || fail "$(grep -h resync_refused "$T/washington.log" | head -1)"
n=$(grep -c "event=resync_giving_back" "$T/beijing.log")
[ "$n" -ge 3 ] || fail "beijing gave back in $n pages, not 3"
ok "washington took back seqs 2-$top from beijing in $n pages"

wait_for 30000 all_delivered washington 701 || fail "not all delivered again: $(count_state washington sent) sent"
[ "$(hl -d "$T/washington" outbox --json | jq length)" -eq 701 ] || fail "the outbox does not hold 701"
[ "$(sqlite3 -readonly "$T/beijing/station.db" "SELECT count(*) FROM events WHERE dir = 1")" -eq "$top" ] ||
	fail "beijing holds another count than $top"
out=$(hl -d "$T/washington" verify) || fail "washington's record does not verify: $out"
id=$(hl -d "$T/washington" send --to beijing --text "after the restore") || fail "send after the restore"
wait_for 10000 sh -c "[ \"\$('$HOTLINE' -d '$T/washington' show $id --json | jq -r .state)\" = delivered ]" ||
	fail "the message after the restore was not delivered"
ok "every message delivered once, the record verifies, a new message goes out"

# beijing loses washington's newest 200 events: washington sends them again, most urgent first.
hl -d "$T/beijing" backup "$T/b-old.db" >/dev/null || fail "beijing's backup"
"$LOAD" "$T/washington" beijing 100 20000 routine >/dev/null || fail "the ROUTINE load"
"$LOAD" "$T/washington" beijing 100 50 flash >/dev/null || fail "the FLASH load"
wait_for 60000 all_delivered washington 902 || fail "the 200 were not all delivered"
top=$(sqlite3 -readonly "$T/washington/station.db" "SELECT max(seq) FROM events WHERE dir = 0")
stop beijing
hl -d "$T/beijing" restore --force "$T/b-old.db" >/dev/null || fail "beijing's restore"
start beijing
held() { [ "$(sqlite3 -readonly "$T/beijing/station.db" "SELECT count(*) FROM events WHERE dir = 1")" -eq "$top" ]; }
wait_for 30000 held || fail "beijing does not hold washington's $top events again"
head_at() { [ "$(sqlite3 -readonly "$T/beijing/station.db" \
	"SELECT coalesce(max(seq), 0) FROM heads WHERE dir = 1")" -ge "$top" ]; }
wait_for 10000 head_at || fail "washington's head stops at $(sqlite3 -readonly "$T/beijing/station.db" \
	"SELECT max(seq) FROM heads WHERE dir = 1") below its chain's $top (the FLASH ones, receipted first, are under no head)"
out=$(hl -d "$T/beijing" verify) || fail "beijing's record does not verify: $out"
ok "beijing, restored, got washington's last 200 again under a head over all $top"
