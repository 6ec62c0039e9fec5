#!/bin/bash
# A disk that fills: `send` fails with a clear error once space runs out,
# nothing accepted before is lost, and the station works again when space
# returns. The station lives on a small tmpfs of the test's own (root).
. "$(dirname "$0")/lib.sh"

FS="$T/fs"
mkdir -p "$FS"
mount -t tmpfs -o size=3m tmpfs "$FS" || fail "cannot mount a tmpfs (this test needs root)"
cleanup() {
	local n
	for n in "${!PID[@]}"; do kill -9 "${PID[$n]}" 2>/dev/null; done
	wait 2>/dev/null
	umount "$FS" 2>/dev/null
	rm -rf "$T"
}

# washington's station directory on the small file system.
port=$(free_port)
PORT[washington]=$port
hl -d "$FS/washington" init --name washington --listen "127.0.0.1:$port" >/dev/null || fail "init"
ln -s "$FS/washington" "$T/washington"
new_station beijing
pair washington beijing
start beijing
start washington
wait_state washington beijing up 3000 >/dev/null || fail "not linked"

head -c 16000 /dev/zero | tr '\0' 'm' >"$T/msg"
accepted=0
for i in $(seq 1 2000); do
	if id=$(hl -d "$T/washington" send --to beijing --file "$T/msg" 2>"$T/err"); then
		echo "$id" >>"$T/accepted"
		accepted=$((accepted + 1))
	else
		break
	fi
done
[ "$accepted" -lt 2000 ] || fail "the disk never filled"
grep -q "disk is full" "$T/err" || fail "send failed without saying the disk is full: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one error line"
ok "disk full after $accepted messages: send says so ($(cat "$T/err"))"

# Nothing accepted is lost.
[ "$(hl -d "$T/washington" outbox --json | jq length)" -eq "$accepted" ] || fail "outbox does not hold every accepted message"
sort "$T/accepted" >"$T/a.sorted"
hl -d "$T/washington" outbox --json | jq -r '.[].id' | sort >"$T/o.sorted"
diff -q "$T/a.sorted" "$T/o.sorted" >/dev/null || fail "accepted ids and stored ids differ"
kill -0 "${PID[washington]}" || fail "the daemon died when the disk filled"
ok "every accepted message is still in the outbox; the daemon runs on"

# Space returns: sending works again and everything is delivered.
mount -o remount,size=64m "$FS" || fail "cannot grow the tmpfs"
id=$(hl -d "$T/washington" send --to beijing --precedence flash --text "space is back") ||
	fail "send still fails after space returned"
wait_for 60000 all_delivered washington $((accepted + 1)) ||
	fail "not all delivered after space returned: $(count_state washington delivered) of $((accepted + 1))"
[ "$(hl -d "$T/beijing" inbox --json | jq length)" -eq $((accepted + 1)) ] || fail "receiver count differs"
ok "space back: sending works again and all $((accepted + 1)) messages are delivered"
stop washington
stop beijing
