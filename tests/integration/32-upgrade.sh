#!/bin/bash
# Schema upgrades from every released schema (each that a commit of main
# shipped: 1, 2, 3, 4, 6, 7). tests/data/upgrade/schemaN holds
# two paired stations whose stores the hotline that released schema N wrote
# (scripts/upgrade-fixture.sh): peers, and from schema 2 on messages both
# ways with acknowledgments, an attachment, a second channel and one message
# still queued; from 3 a suspension, a refusal and a resumption; from 4 link
# tests and a checkpoint; from 6 a key rotation and talks read out by both
# sides; from 7 a console operator at each. For each: the current binary
# migrates the store to
# the current schema, every row of every table the old schema had is
# unchanged, both records verify, then the two stations run: they link,
# deliver the message queued before the upgrade, exchange and acknowledge new
# messages, agree a checkpoint, and verify again. A store of a newer schema
# than the binary knows is refused with a clear line.
. "$(dirname "$0")/lib.sh"
FIX=$(cd "$(dirname "$0")/../data/upgrade" && pwd)
CODEBOOK=$(cd "$(dirname "$0")/../.." && pwd)/codebook/default.json

new_station probe
CUR=$(sqlite3 "$T/probe/station.db" 'PRAGMA user_version')
[ "$CUR" -ge 4 ] || fail "a fresh store has schema $CUR"

# columns DB: each table and its columns, one "TABLE COL,COL,..." a line.
columns() {
	local t
	for t in $(sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"); do
		echo "$t $(sqlite3 "$1" "SELECT group_concat('\"' || name || '\"', ',') FROM pragma_table_info('$t')")"
	done
}
# snapshot DB COLUMNS-FILE: every row of those tables, those columns only, sorted.
snapshot() {
	local t cols
	while read -r t cols; do
		echo "== $t"
		sqlite3 "$1" "SELECT $cols FROM $t" | sort
	done <"$2"
}
verify_ok() { hl -d "$T/$1" verify >"$T/$1.verify" 2>&1 && tail -n 1 "$T/$1.verify" | grep -qx 'verify: OK'; }
peer_up() { [ "$(state "$1" "$2")" != down ]; }

versions=$(ls "$FIX" | sed -n 's/^schema\([0-9]*\)$/\1/p' | sort -n)
[ "$(wc -w <<<"$versions")" -ge 4 ] || fail "only these fixtures: $versions"
for v in $versions; do
	[ "$v" -le "$CUR" ] || fail "a fixture of schema $v, newer than this hotline's $CUR"
	w=v${v}w
	b=v${v}b
	PORT[$w]=$(free_port)
	PORT[$b]=$(free_port)
	for s in $w $b; do
		name=washington
		[ $s = "$b" ] && name=beijing
		mkdir -m 700 "$T/$s"
		cp "$FIX/schema$v/$name/config" "$FIX/schema$v/$name/identity.key" "$T/$s/"
		chmod 600 "$T/$s/identity.key" "$T/$s/config"
		[ "$v" -ge 4 ] && cp "$CODEBOOK" "$T/$s/codebook.json"
		sqlite3 "$T/$s/station.db" <"$FIX/schema$v/$name/station.sql" || fail "schema $v: cannot load $name's dump"
		[ "$(sqlite3 "$T/$s/station.db" 'PRAGMA user_version')" = "$v" ] || fail "schema $v: $name's fixture is not at schema $v"
		# The fixture's ports were free when it was made; take fresh ones (a peer's
		# links are not part of its signed record).
		sed -i "s/^listen = .*/listen = 127.0.0.1:${PORT[$s]}/" "$T/$s/config"
		other=$b
		[ $s = "$b" ] && other=$w
		sqlite3 "$T/$s/station.db" "UPDATE peer_links SET address = '127.0.0.1:${PORT[$other]}' WHERE position = 0" ||
			fail "schema $v: cannot rewrite $name's link"
		columns "$T/$s/station.db" >"$T/$s.columns"
		snapshot "$T/$s/station.db" "$T/$s.columns" >"$T/$s.before"
	done

	# Any command that opens the store migrates it; verify only reads besides.
	verify_ok $w || fail "schema $v: washington's record does not verify after the upgrade: $(cat "$T/$w.verify")"
	verify_ok $b || fail "schema $v: beijing's record does not verify after the upgrade: $(cat "$T/$b.verify")"
	for s in $w $b; do
		[ "$(sqlite3 "$T/$s/station.db" 'PRAGMA user_version')" = "$CUR" ] || fail "schema $v: $s was not migrated to $CUR"
		snapshot "$T/$s/station.db" "$T/$s.columns" >"$T/$s.after"
		diff "$T/$s.before" "$T/$s.after" >"$T/$s.diff" || cp $T/$s.diff /tmp/ops-diff; diff "$T/$s.before" "$T/$s.after" >"$T/$s.diff" || fail "schema $v: $s's rows changed: $(head -n 20 "$T/$s.diff")"
	done
	events=$(sqlite3 "$T/$w/station.db" 'SELECT count(*) FROM events')
	ok "schema $v: migrated to $CUR, every old row intact ($events events at washington), both records verify"

	queued=0
	[ "$v" -ge 2 ] && queued=$(count_state $w queued)
	[ "$v" -lt 2 ] || [ "$queued" -eq 1 ] || fail "schema $v: expected one queued message, got $queued"
	start $w
	start $b
	wait_for 5000 peer_up $w beijing || fail "schema $v: no link after the upgrade"
	wait_for 5000 peer_up $b washington || fail "schema $v: no link back after the upgrade"
	[ "$queued" -eq 0 ] || wait_for 5000 eval '[ "$(count_state $w queued)$(count_state $w sent)" = 00 ]' ||
		fail "schema $v: the message queued before the upgrade was not delivered"
	id1=$(hl -d "$T/$w" send --to beijing --precedence flash --text "after the upgrade from $v") || fail "schema $v: send"
	id2=$(hl -d "$T/$b" send --to washington --text "和回来 $v") || fail "schema $v: send back"
	n_w=$(hl -d "$T/$w" outbox --json | jq length)
	n_b=$(hl -d "$T/$b" outbox --json | jq length)
	wait_for 5000 all_delivered $w "$n_w" || fail "schema $v: washington's messages not all delivered"
	wait_for 5000 all_delivered $b "$((n_b - $(count_state $b refused)))" || fail "schema $v: beijing's messages not all delivered"
	hl -d "$T/$b" ack "$id1" --operator "Col. Li" >/dev/null || fail "schema $v: ack"
	hl -d "$T/$w" ack "$id2" --operator "Maj. Smith" >/dev/null || fail "schema $v: ack back"
	wait_for 5000 eval '[ "$(hl -d "$T/$w" show "$id1" --json | jq -r .state)" = acknowledged ]' ||
		fail "schema $v: the acknowledgment did not come back"
	hl -d "$T/$w" checkpoint beijing >"$T/$w.ckpt" 2>&1 || fail "schema $v: checkpoint: $(cat "$T/$w.ckpt")"
	stop $w
	stop $b
	verify_ok $w || fail "schema $v: washington's record does not verify after running: $(cat "$T/$w.verify")"
	verify_ok $b || fail "schema $v: beijing's record does not verify after running: $(cat "$T/$b.verify")"
	ok "schema $v: the upgraded pair links, delivers what was queued, messages and acknowledges, agrees a checkpoint, verifies"
done

# A store newer than this hotline: refused, nothing changed.
sqlite3 "$T/probe/station.db" 'PRAGMA user_version = 99'
hl -d "$T/probe" run >"$T/out.newer" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "a newer store: run exited $rc"
grep -qx "hotline: the store has schema version 99 but this hotline knows only up to $CUR: run a newer hotline" "$T/out.newer" ||
	fail "a newer store: run said: $(cat "$T/out.newer")"
hl -d "$T/probe" outbox >"$T/out.newer2" 2>&1
[ $? -eq 1 ] && grep -q "schema version 99" "$T/out.newer2" || fail "a newer store: outbox said: $(cat "$T/out.newer2")"
[ "$(sqlite3 "$T/probe/station.db" 'PRAGMA user_version')" = 99 ] || fail "a newer store was changed"
ok "a store of a newer schema (99): run and outbox refuse it with one line, nothing changed"
