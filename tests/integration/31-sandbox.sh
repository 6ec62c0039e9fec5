#!/bin/bash
# The daemon's sandbox (docs/operations.md, "Sandbox"). Started as root it is
# refused unless it has a user to become (--user, config user) or is told
# --allow-root; with --user it binds its listener (here a port below 1024,
# which only root may bind), then becomes that user for good: every uid and
# gid, its one group, no capabilities, and the files it creates afterwards
# are that user's. Once started it runs under its seccomp filter (Seccomp: 2,
# NoNewPrivs: 1) while the notify hook's helper, forked before, runs
# unfiltered and still gets every event; seccomp = off turns the filter
# off, with a warn line. The stations link and deliver under all of it.
# Root's other commands on that station act as its owner.
# (test_sandbox proves that a forbidden system call kills the daemon.)
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! getent passwd nobody >/dev/null; then
	echo "ok - skipped: needs root and a user named nobody"
	exit 0
fi
NOBODY_GID=$(id -g nobody)
chmod 711 "$T" # nobody must reach its station directory

# status_of PID FIELD: a field of /proc/PID/status, tabs squeezed.
status_of() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

new_station washington
new_station beijing
# A privileged port for washington: free, below 1024.
for p in $(shuf -i 600-1000); do
	ss -Htln "sport = :$p" | grep -q . || { PORT[washington]=$p; break; }
done
sed -i "s/^listen = .*/listen = 127.0.0.1:${PORT[washington]}/" "$T/washington/config"
pair washington beijing
set_config washington notify "cat >>$T/washington/hook.log"

# ---- who may run ----
W=$T/washington
expect_refusal() { # CODE LINE ARGS...: run refused with exactly this line, nothing started
	local code=$1 line=$2 rc
	shift 2
	env -u HOTLINE_ALLOW_ROOT "$HOTLINE" -d "$W" run "$@" >"$T/out.refused" 2>&1 </dev/null
	rc=$?
	[ $rc -eq "$code" ] || fail "run $*: exit $rc, not $code: $(cat "$T/out.refused")"
	[ "$(cat "$T/out.refused")" = "$line" ] || fail "run $*: said '$(cat "$T/out.refused")', not '$line'"
	[ -e "$W/ctl.sock" ] && fail "run $*: something started"
	return 0
}
expect_refusal 1 "hotline: refusing to run as root: give --user NAME (or user = NAME in the config) to become that user once the listener is bound, or --allow-root"
expect_refusal 1 "hotline: no user named hl-no-such-user (docs/operations.md, \"Installation\")" --user hl-no-such-user
expect_refusal 1 "hotline: user root is root: to run as root, say --allow-root" --user root
expect_refusal 2 "hotline: --user and --allow-root exclude each other (see 'hotline run --help')" --user nobody --allow-root
expect_refusal 1 "hotline: user nobody cannot use $W (Permission denied): chown -R nobody: $W" --user nobody
set_config washington user hl-no-such-user
expect_refusal 1 "hotline: no user named hl-no-such-user (docs/operations.md, \"Installation\")"
sed -i '/^user = /d' "$W/config"
ok "root without a user is refused, and so are an unknown user, root as the user, and a directory the user cannot use"

chown -R nobody:"$NOBODY_GID" "$W"
setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups "$HOTLINE" -d "$W" run --user daemon >"$T/out.notroot" 2>&1 </dev/null
[ $? -eq 1 ] && grep -qx "hotline: cannot become user daemon: this process is uid 65534, not root; start it as root or as daemon" "$T/out.notroot" ||
	fail "--user another user without root: $(cat "$T/out.notroot")"
ok "without root, --user names only the user the process already is"

# ---- root, --user nobody: bind below 1024, then become nobody ----
env -u HOTLINE_ALLOW_ROOT "$HOTLINE" -d "$W" run --verbose --user nobody 2>>"$T/washington.log" </dev/null &
PID[washington]=$!
wait_for 10000 eval '[ "$(hl -d "$W" status --json 2>/dev/null | jq -r .running)" = true ]' ||
	fail "washington did not start as nobody"
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "no link from a station that dropped root"
wp=${PID[washington]}
[ "$(status_of "$wp" Uid)" = "65534 65534 65534 65534" ] || fail "uids: $(status_of "$wp" Uid)"
[ "$(status_of "$wp" Gid)" = "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" ] || fail "gids: $(status_of "$wp" Gid)"
[ "$(status_of "$wp" Groups)" = "$NOBODY_GID" ] || fail "groups: '$(status_of "$wp" Groups)'"
for cap in CapInh CapPrm CapEff CapAmb; do
	[ "$(status_of "$wp" $cap)" = 0000000000000000 ] || fail "$cap: $(status_of "$wp" $cap)"
done
grep -q "event=privileges_dropped user=nobody uid=65534 gid=$NOBODY_GID" "$T/washington.log" || fail "no privileges_dropped line"
# Locked memory: the two identity secrets and the session's keys, a page each at least.
# (AddressSanitizer makes mlock a no-op: not checked on that build.)
lck=$(status_of "$wp" VmLck | awk '{ print $1 }')
grep -qa __asan_init "$HOTLINE" || [ "$lck" -ge 12 ] ||
	fail "only $lck kB locked: the secrets are not all in sodium_malloc memory"
[ "$(stat -c %U "/proc/$wp/mem")" = root ] || fail "the daemon is dumpable (/proc/$wp/mem belongs to $(stat -c %U "/proc/$wp/mem"))"
ss -Htlnp "sport = :${PORT[washington]}" | grep -q "pid=$wp," || fail "washington does not hold port ${PORT[washington]}"
for f in ctl.sock lock station.db station.db-wal station.db-shm; do
	[ "$(stat -c %U "$W/$f")" = nobody ] || fail "$f belongs to $(stat -c %U "$W/$f"), not nobody"
done
ok "bound port ${PORT[washington]} as root, then became nobody: uids, gids, one group, no capabilities, not dumpable, $lck kB locked; its files are nobody's"

# ---- seccomp on; the hook's helper outside it ----
[ "$(status_of "$wp" Seccomp)" = 2 ] && [ "$(status_of "$wp" NoNewPrivs)" = 1 ] ||
	fail "washington: Seccomp $(status_of "$wp" Seccomp), NoNewPrivs $(status_of "$wp" NoNewPrivs)"
grep -q "level=info station=washington event=seccomp state=on rules=[0-9]" "$T/washington.log" || fail "no seccomp line"
helper=$(pgrep -P "$wp")
[ -n "$helper" ] && [ "$(wc -w <<<"$helper")" -eq 1 ] || fail "washington has children '$helper', not one helper"
[ "$(status_of "$helper" Seccomp)" = 0 ] || fail "the hook's helper runs under seccomp"
[ "$(status_of "$helper" Uid)" = "65534 65534 65534 65534" ] || fail "the hook's helper is not nobody: $(status_of "$helper" Uid)"
id=$(hl -d "$T/beijing" send --to washington --precedence flash --text "under seccomp") || fail "send"
wait_for 5000 all_delivered beijing 1 || fail "not delivered to a sandboxed station"
hl -d "$W" ack "$id" --operator "Maj. Smith" >/dev/null || fail "ack"
hl -d "$W" send --to beijing --text "and back" >/dev/null || fail "send back"
wait_for 5000 all_delivered washington 1 || fail "not delivered from a sandboxed station"
hl -d "$W" checkpoint beijing >/dev/null || fail "checkpoint"
wait_for 5000 grep -q '"event":"message"' "$W/hook.log" || fail "the hook did not see the FLASH message"
grep -q '"event":"link_up"' "$W/hook.log" || fail "the hook did not see link_up"
stop washington
[ -e "$W/ctl.sock" ] && fail "ctl.sock left behind"
kill -0 "$helper" 2>/dev/null && fail "the hook's helper outlived the daemon"
grep -q "event=seccomp_violation" "$T/washington.log" && fail "a seccomp violation was logged"
ok "under seccomp (Seccomp 2, NoNewPrivs 1): messages, acknowledgments, a checkpoint; the hook's helper unfiltered, as nobody, gone at stop"

# ---- started as nobody (systemd's User=), seccomp = off ----
set_config washington seccomp off
sed -i "s/^listen = .*/listen = 127.0.0.1:$(free_port)/" "$W/config" # nobody cannot bind below 1024
: >"$T/washington.log"
setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups "$HOTLINE" -d "$W" run 2>>"$T/washington.log" </dev/null &
PID[washington]=$!
wait_for 10000 eval '[ "$(hl -d "$W" status --json 2>/dev/null | jq -r .running)" = true ]' ||
	fail "washington did not start as nobody with seccomp = off"
wp=${PID[washington]}
[ "$(status_of "$wp" Seccomp)" = 0 ] || fail "seccomp = off, but Seccomp $(status_of "$wp" Seccomp)"
grep -q "level=warn station=washington event=seccomp state=off reason=config" "$T/washington.log" || fail "no warn line for seccomp = off"
grep -q "event=privileges_dropped" "$T/washington.log" && fail "started as nobody, it dropped privileges"
[ "$(stat -c %U "/proc/$wp/mem")" = root ] || fail "started as nobody, the daemon is dumpable"
stop washington
stop beijing
ok "started as nobody: no drop, not dumpable; seccomp = off: no filter, and a warn line says so"

# ---- root's commands on nobody's station act as nobody ----
hl -d "$W" backup "$W/copy.db" >"$T/out.backup" 2>&1 || fail "backup as root: $(cat "$T/out.backup")"
hl -d "$W" send --to beijing --text "queued by root" >/dev/null || fail "send as root"
[ "$(stat -c %U "$W/copy.db")" = nobody ] || fail "root's backup belongs to $(stat -c %U "$W/copy.db")"
[ -z "$(find "$W" -user root)" ] || fail "root left files in nobody's station: $(find "$W" -user root)"
ok "root's commands on nobody's station run as nobody: what they create is nobody's"
