#!/bin/bash
# The command line: --help everywhere, and every failure a non-zero exit
# with one line that says what to do; nothing changed by a refused command.
. "$(dirname "$0")/lib.sh"

# expect CODE PATTERN CMD...: run CMD, want exit CODE and stderr matching PATTERN.
expect() {
	local code=$1 pat=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq "$code" ] || fail "'$*' exited $rc, want $code: $(cat "$T/err")"
	grep -Eq -- "$pat" "$T/err" || fail "'$*' said '$(cat "$T/err")', want /$pat/"
	[ "$code" -eq 0 ] || [ "$(wc -l <"$T/err")" -eq 1 ] || fail "'$*' wrote more than one error line"
}

for v in init id peer run status; do
	hl "$v" --help | grep -q "usage: hotline" || fail "$v --help"
done
hl --help | grep -q "commands:" || fail "--help"
hl --version | grep -q "^hotline " || fail "--version"
ok "--help on every verb"

unset HOTLINE_DIR
expect 2 "no station directory" hl id
expect 2 "unknown command" hl -d "$T/x" frobnicate
expect 2 "needs --name and --listen" hl -d "$T/x" init --name x
expect 2 "bad name" hl -d "$T/x" init --name "Bad Name" --listen 127.0.0.1:1
expect 2 "bad --listen" hl -d "$T/x" init --name x --listen nowhere
[ -e "$T/x/config" ] && fail "a refused init left a config behind"
expect 1 "not a station|create a station" hl -d "$T/none" status
expect 1 "create a station" hl -d "$T/none" id
ok "usage errors and missing stations"

new_station washington
new_station beijing
HOTLINE_DIR="$T/washington" hl id | grep -q '^washington ' || fail "HOTLINE_DIR is not used"
expect 1 "already holds a station" hl -d "$T/washington" init --name w --listen 127.0.0.1:1
bkey=$(key_of beijing)
expect 2 "not a hotline public key" hl -d "$T/washington" peer add beijing hl1:AAAA --link 127.0.0.1:1
typo="${bkey:0:20}$([ "${bkey:20:1}" = A ] && echo B || echo A)${bkey:21}"
expect 2 "checksum" hl -d "$T/washington" peer add beijing "$typo" --link 127.0.0.1:1
expect 2 "at least one --link" hl -d "$T/washington" peer add beijing "$bkey"
expect 2 "bad --link" hl -d "$T/washington" peer add beijing "$bkey" --link 127.0.0.1
expect 1 "own key" hl -d "$T/washington" peer add me "$(key_of washington)" --link 127.0.0.1:1
expect 1 "no peer named" hl -d "$T/washington" peer remove beijing
[ -z "$(hl -d "$T/washington" peer list)" ] || fail "a refused peer add stored something"
pin washington beijing
expect 1 "already pinned" hl -d "$T/washington" peer add beijing "$bkey" --link 127.0.0.1:1
expect 1 "already pinned" hl -d "$T/washington" peer add other "$bkey" --link 127.0.0.1:1
[ "$(hl -d "$T/washington" peer list --json | jq -r '.[0].key')" = "$bkey" ] || fail "peer list --json"
ok "peer add refuses bad keys, typos, duplicates and itself"

start washington
expect 1 "already running" hl -d "$T/washington" run
# Peers added and removed while the daemon runs are picked up at once.
pin beijing washington
start beijing
wait_state washington beijing up 3000 >/dev/null || fail "not linked"
hl -d "$T/washington" peer remove beijing >/dev/null 2>&1 || fail "peer remove"
[ "$(hl -d "$T/washington" status --json | jq '.peers | length')" = 0 ] || fail "removed peer still in status"
pin washington beijing
wait_state washington beijing up 3000 >/dev/null || fail "re-added peer did not link"
ok "second daemon refused; peer changes picked up by the running daemon"
stop beijing

# A port already taken, and a secret key readable by others: clear refusals.
new_station clash
sed -i "s/^listen = .*/listen = 127.0.0.1:${PORT[washington]}/" "$T/clash/config"
expect 1 "cannot listen on 127.0.0.1:${PORT[washington]}" hl -d "$T/clash" run
stop washington
chmod 644 "$T/washington/identity.key"
expect 1 "chmod 600" hl -d "$T/washington" run
chmod 600 "$T/washington/identity.key"
echo "bogus = 1" >>"$T/washington/config"
expect 1 "line 4: bogus: unknown key" hl -d "$T/washington" run
ok "port in use, loose key file permissions and a bad config are refused clearly"
