#!/bin/bash
# Link tests: every pinned address of a peer is tested every link_test_s,
# over the outbound session for the address that carries it and over a
# short test session for every other one, and the peer answers only once
# its store has recorded the test. Three addresses for beijing: its port, a
# relay to its port (a standby line) and a port nobody listens on. All three
# show a last test; the real session is not disturbed by test sessions; the
# dead one shows failed with no success. Then beijing's store is locked:
# heartbeats keep the link up, yet washington's tests fail ("timeout") until
# the lock is gone. With the daemons stopped, status reads the tests back
# from the store.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
relay=$(free_port)
dead=$(free_port)
for s in washington beijing; do
	set_config $s link_test_s 1
	set_config $s link_test_timeout_ms 800
done
B="127.0.0.1:${PORT[beijing]}"
R="127.0.0.1:$relay"
D="127.0.0.1:$dead"

# A plain TCP relay from R to beijing's port: a second path to the same station.
cat >"$T/relay.py" <<'EOF'
import socket, sys, threading
lport, dport = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", lport))
srv.listen(16)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
def serve(c):
    try:
        u = socket.create_connection(("127.0.0.1", dport))
    except OSError:
        c.close()
        return
    t = threading.Thread(target=pipe, args=(u, c), daemon=True)
    t.start()
    pipe(c, u)
    t.join()
    c.close()
    u.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
python3 "$T/relay.py" "$relay" "${PORT[beijing]}" 2>"$T/relay.err" &
PID[relay]=$!
listening() { ss -Htln "sport = :$1" | grep -q .; }
wait_for 5000 listening "$relay" || fail "the relay did not start"

pin washington beijing "$B" "$R" "$D"
pin beijing washington
start washington
start beijing
linked() { [ "$(state washington beijing)" != down ]; }
wait_for 5000 linked || fail "never linked"
wait_state beijing washington up 3000 >/dev/null || fail "beijing never saw washington up"
sleep 0.5 # let a duplicate session from simultaneous dials be resolved
session() { peer_field "$1" "$2" '"\(.link) \(.up_since)"'; }
sw=$(session washington beijing)
sb=$(session beijing washington)
churn() { cat "$T/washington.log" "$T/beijing.log" | grep -cE 'event=(session_replaced|session_superseded|link_up|link_down)'; }
c0=$(churn)
dir_w=$(peer_field washington beijing .direction)

# link_json A B ADDR: the status object of A's link to B at ADDR.
link_json() {
	hl -d "$T/$1" status --json |
		jq -c --arg p "$2" --arg a "$3" '.peers[] | select(.name == $p) | .links[] | select(.address == $a)'
}
tested_ok() { # A B ADDR: the last test passed with a round-trip time, and is the last success
	link_json "$1" "$2" "$3" | jq -e '.last_test.ok == true and (.last_test.rtt_ms | type) == "number"
		and .last_test.rtt_ms >= 0 and .last_test.error == null
		and .last_successful_test == .last_test.at' >/dev/null
}
tested_failed() { # A B ADDR ERROR: the last test failed with ERROR
	link_json "$1" "$2" "$3" | jq -e --arg e "$4" '.last_test.ok == false and .last_test.error == $e
		and .last_test.rtt_ms == null' >/dev/null
}

wait_for 10000 tested_ok washington beijing "$B" || fail "beijing's own address: no passed test: $(link_json washington beijing "$B")"
wait_for 10000 tested_ok washington beijing "$R" || fail "the standby relay address: no passed test: $(link_json washington beijing "$R")"
wait_for 10000 tested_ok beijing washington "127.0.0.1:${PORT[washington]}" || fail "beijing's test of washington did not pass"
ok "every live address tested ok with an rtt, on both sides"

wait_for 10000 tested_failed washington beijing "$D" ECONNREFUSED || fail "dead address: $(link_json washington beijing "$D")"
[ "$(link_json washington beijing "$D" | jq -r .last_successful_test)" = null ] || fail "dead address has a successful test"
ok "the dead address: last test failed (ECONNREFUSED), never successful"

# Every live address that does not carry washington's session is tested
# over a test session of its own (under load the session may have come up
# on the standby relay instead of beijing's own address).
for a in "$B" "$R"; do
	[ "$a" = "${sw%% *}" ] && continue
	grep -qE "event=link_test peer=beijing link=$a ok=1 .*via=test_session" "$T/washington.log" ||
		fail "the address $a, not the session's ($sw), was not tested by a test session"
done
if [ "$dir_w" = outbound ]; then
	grep -qE "event=link_test peer=beijing link=${sw%% *} ok=1 .*via=session" "$T/washington.log" ||
		fail "washington's outbound session did not carry the test of its address"
else
	grep -qE "event=link_test peer=washington link=127.0.0.1:${PORT[washington]} ok=1 .*via=session" "$T/beijing.log" ||
		fail "beijing's outbound session did not carry the test of its address"
fi
ok "tests over the outbound session and over test sessions ($dir_w at washington)"

# Several rounds of tests later, the real session is the same one, nothing churned.
sleep 3
[ "$(session washington beijing)" = "$sw" ] || fail "washington's session changed: $sw -> $(session washington beijing)"
[ "$(session beijing washington)" = "$sb" ] || fail "beijing's session changed: $sb -> $(session beijing washington)"
[ "$(churn)" = "$c0" ] || fail "sessions were replaced, superseded or lost while tests ran"
n=$(grep -c "event=link_test peer=beijing" "$T/washington.log")
[ "$n" -ge 9 ] || fail "only $n tests of beijing's three addresses in more than 3 s"
ok "the real session undisturbed by $n tests (same link and up_since, no session churn)"

# The peer recorded the tests it answered (dir 1) before answering.
answered=$(python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
print(db.execute("SELECT count(*) FROM link_tests WHERE dir = 1 AND ok = 1").fetchone()[0])' "$T/beijing/station.db")
[ "$answered" -ge 3 ] || fail "beijing recorded $answered answered tests"
ok "beijing recorded the $answered tests it answered"

# Beijing's store stuck (a write lock held elsewhere): heartbeats still
# answer, tests do not.
before=$(link_json washington beijing "$B" | jq -r .last_successful_test)
python3 -c 'import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
db.execute("ROLLBACK")' "$T/beijing/station.db" "$T/locked" 4 &
locker=$!
wait_for 10000 test -e "$T/locked" || fail "could not lock beijing's store"
t_lock=$(ms_now)
seen_b=0
seen_r=0
seen_h=0
while [ $(($(ms_now) - t_lock)) -lt 3500 ]; do
	st=$(hl -d "$T/washington" status --json)
	lb=$(jq -c --arg a "$B" '.peers[0].links[] | select(.address == $a)' <<<"$st")
	lr=$(jq -c --arg a "$R" '.peers[0].links[] | select(.address == $a)' <<<"$st")
	if [ $seen_b = 0 ] && jq -e '.last_test.ok == false and .last_test.error == "timeout"' <<<"$lb" >/dev/null; then
		[ "$(jq -r '.peers[0].state' <<<"$st")" != down ] || fail "the link went down while beijing's store was locked"
		[ "$(jq -r .state <<<"$lb")" = up ] || fail "beijing's address not up by heartbeats/probes: $lb"
		seen_b=1
	fi
	# The human status flags a failed test on an up link (read on its own,
	# so it may lag the JSON by a round of tests).
	hl -d "$T/washington" status | grep -qE "^! link $B +up.*last test FAILED .*\(timeout\)" && seen_h=1
	jq -e '.last_test.ok == false and .last_test.error == "timeout"' <<<"$lr" >/dev/null && seen_r=1
	[ $seen_b = 1 ] && [ $seen_r = 1 ] && [ $seen_h = 1 ] && break
	sleep 0.1
done
[ $seen_b = 1 ] || fail "no failed test on beijing's address while its store was locked: $lb"
[ $seen_r = 1 ] || fail "no failed test on the standby address while beijing's store was locked: $lr"
[ $seen_h = 1 ] || fail "the human status never flagged the failed test on an up link: $(hl -d "$T/washington" status)"
[ "$(session washington beijing)" = "$sw" ] || fail "the session changed while the store was locked"
ok "store locked: tests fail with timeout on both live addresses while the link stays up"

wait "$locker" || fail "the lock holder failed"
wait_for 6000 tested_ok washington beijing "$B" || fail "no passed test after the lock went: $(link_json washington beijing "$B")"
wait_for 6000 tested_ok washington beijing "$R" || fail "standby: no passed test after the lock went"
after=$(link_json washington beijing "$B" | jq -r .last_successful_test)
[[ "$after" > "$before" ]] || fail "last successful test did not move on: $before -> $after"
[ "$(churn)" = "$c0" ] || fail "sessions churned during the lock"
ok "lock released: tests pass again (last successful $before -> $after)"

# With the daemons stopped, status reports the record from the store.
stop washington
stop beijing
off=$(hl -d "$T/washington" status --json)
[ "$(jq -r .running <<<"$off")" = false ] || fail "status still thinks the daemon runs"
jq -e --arg a "$B" '.peers[0].links[] | select(.address == $a) | .last_test.ok == true and .last_successful_test != null' <<<"$off" >/dev/null ||
	fail "offline status lost the passed test: $off"
jq -e --arg a "$D" '.peers[0].links[] | select(.address == $a) | .last_test.ok == false and .last_test.error == "ECONNREFUSED" and .last_successful_test == null' <<<"$off" >/dev/null ||
	fail "offline status lost the failed test: $off"
hl -d "$T/washington" status | grep -qE "^  link $D +unknown; last test FAILED .*\(ECONNREFUSED\); last successful test never" ||
	fail "offline human status: $(hl -d "$T/washington" status)"
ok "daemons stopped: status reads the last tests from the store"
