#!/bin/bash
# Secret hygiene: a station whose identity key is protected by a passphrase
# (given by file descriptor, never on the command line). Without the
# passphrase, or with a wrong one, `run` fails with one clear line and starts
# nothing; with the right one the station links and delivers. `key
# passphrase` changes it (the old one then fails) and can remove it. Then no
# log and no output of the whole run holds a passphrase or any form of
# either station's secret keys.
. "$(dirname "$0")/lib.sh"

P1='tangerine orbit 4417 correct horse'
P2='Quartz-glacier/9921!staple'
printf '%s\n' "$P1" >"$T/pass1"
printf '%s\n' "$P2" >"$T/pass2"
chmod 0400 "$T/pass1" "$T/pass2"
W=$T/washington

# start_pw NAME PASSFILE: like lib.sh's start, unlocking with the passphrase on fd 3.
start_pw() {
	local name=$1 file=$2 i
	"$HOTLINE" -d "$T/$name" run --verbose --passphrase-fd 3 3<"$file" </dev/null \
		2>>"$T/$name.log" &
	PID[$name]=$!
	for i in $(seq 1 100); do
		hl -d "$T/$name" status --json 2>/dev/null | jq -e '.running' >/dev/null && return 0
		kill -0 "${PID[$name]}" 2>/dev/null || fail "$name exited at start"
		sleep 0.05
	done
	fail "$name did not start"
}

# not_running NAME: no daemon holds the station (status says so, no control socket).
not_running() {
	[ "$(hl -d "$T/$1" status --json 2>/dev/null | jq -r .running)" = false ] &&
		[ ! -e "$T/$1/ctl.sock" ]
}

# ---- init with a passphrase ----
new_station beijing
PORT[washington]=$(free_port)
hl -d "$W" init --name washington --listen "127.0.0.1:${PORT[washington]}" \
	--passphrase-fd 3 3<"$T/pass1" >"$T/out.init-w" 2>&1 </dev/null || fail "init with --passphrase-fd"
[ "$(stat -c %a "$W/identity.key")" = 600 ] || fail "protected identity.key is not 0600"
[ "$(head -n 1 "$W/identity.key")" = "hotline-secret-key v2" ] || fail "identity.key is not the protected format"
grep -qF -- "$P1" "$W/identity.key" && fail "the passphrase is in the key file"
ok "init --passphrase-fd: a protected identity.key, mode 0600"

hl -d "$T/x" init --name x --listen 127.0.0.1:1 --passphrase-fd 3 3</dev/null >"$T/out.init-empty" 2>&1
[ $? -eq 1 ] && grep -q 'empty passphrase' "$T/out.init-empty" || fail "an empty passphrase was accepted"
[ -e "$T/x/identity.key" ] && fail "init with an empty passphrase wrote a key"
hl -d "$T/x" init --name x --listen 127.0.0.1:1 --passphrase >"$T/out.init-notty" 2>&1 </dev/null
[ $? -eq 2 ] || fail "init --passphrase without a terminal is not a usage error"
ok "init refuses an empty passphrase, and --passphrase without a terminal"

# The public half needs no passphrase: id, and pinning both ways.
[[ "$(hl -d "$W" id)" =~ ^washington\ hl1:[A-Za-z0-9_-]{91}$ ]] || fail "id of a protected station"
pair washington beijing
ok "id and peer add work without the passphrase"

# ---- run: without, with a wrong, with the right passphrase ----
hl -d "$W" run </dev/null >"$T/out.run-none" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "run without a passphrase exited $rc, not 1"
grep -qxF "hotline: the identity key is protected by a passphrase: give it with --passphrase-fd N (or run in a terminal)" \
	"$T/out.run-none" || fail "run without a passphrase said: $(cat "$T/out.run-none")"
[ "$(wc -l <"$T/out.run-none")" -eq 1 ] || fail "run without a passphrase said more than one line"
not_running washington || fail "something runs after a refused start"
ok "run without the passphrase: one clear line, exit 1"

hl -d "$W" run --passphrase-fd 3 3<<<"not the passphrase" </dev/null >"$T/out.run-wrong" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "run with a wrong passphrase exited $rc, not 1"
[ "$(cat "$T/out.run-wrong")" = "hotline: wrong passphrase for $W/identity.key" ] ||
	fail "run with a wrong passphrase said: $(cat "$T/out.run-wrong")"
not_running washington || fail "something runs after a wrong passphrase"
ok "run with a wrong passphrase: 'wrong passphrase for DIR/identity.key', exit 1"

hl -d "$W" run --passphrase-fd 9 </dev/null >"$T/out.run-badfd" 2>&1
[ $? -eq 2 ] || fail "a closed --passphrase-fd is not a usage error"
chmod 0640 "$W/identity.key"
hl -d "$W" run --passphrase-fd 3 3<"$T/pass1" </dev/null >"$T/out.run-perm" 2>&1
rc=$?
chmod 0600 "$W/identity.key"
[ $rc -eq 1 ] && grep -q 'readable by group or others' "$T/out.run-perm" ||
	fail "a group-readable key was not refused: $(cat "$T/out.run-perm")"
not_running washington || fail "something runs after a refused key file"
ok "a closed descriptor is a usage error; a group-readable key is refused"

start_pw washington "$T/pass1"
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "washington never saw beijing up"
wait_state beijing washington up 5000 >/dev/null || fail "beijing never saw washington up"
id=$(hl -d "$W" send --to beijing --text "unlocked and signed" 2>"$T/out.send-err") || fail "send"
echo "$id" >"$T/out.send"
wait_for 5000 all_delivered washington 1 || fail "the message was not delivered"
hl -d "$T/beijing" inbox --json >"$T/out.inbox"
jq -e --arg id "$id" 'any(.id == $id and .text == "unlocked and signed")' "$T/out.inbox" >/dev/null ||
	fail "beijing's inbox lacks the message"
rid=$(hl -d "$T/beijing" send --to washington --text "and back") || fail "send back"
wait_for 5000 all_delivered beijing 1 || fail "the reply was not delivered"
hl -d "$W" inbox --json >"$T/out.inbox-w"
jq -e --arg id "$rid" 'any(.id == $id)' "$T/out.inbox-w" >/dev/null || fail "washington's inbox lacks the reply"
ok "the right passphrase: linked, delivered both ways"
stop washington
stop beijing

# ---- key passphrase: change it; the old one fails, the new one starts ----
cp "$W/identity.key" "$T/key.before"
hl -d "$W" key passphrase --passphrase-fd 3 --new-passphrase-fd 4 3<<<"wrong one" 4<"$T/pass2" \
	</dev/null >"$T/out.key-wrong" 2>&1
[ $? -eq 1 ] && grep -qF "wrong passphrase for $W/identity.key" "$T/out.key-wrong" ||
	fail "key passphrase with a wrong current one: $(cat "$T/out.key-wrong")"
cmp -s "$W/identity.key" "$T/key.before" || fail "a refused change touched the key file"
hl -d "$W" key passphrase --passphrase-fd 3 3<"$T/pass1" </dev/null >"$T/out.key-nonew" 2>&1
[ $? -eq 2 ] || fail "key passphrase without a new one (no terminal) is not a usage error"

hl -d "$W" key passphrase --passphrase-fd 3 --new-passphrase-fd 4 3<"$T/pass1" 4<"$T/pass2" \
	</dev/null >"$T/out.key-change" 2>&1 || fail "key passphrase: $(cat "$T/out.key-change")"
[ "$(stat -c %a "$W/identity.key")" = 600 ] || fail "the rewritten key is not 0600"
[ -e "$W/identity.key.tmp" ] && fail "identity.key.tmp left behind"
[ "$(hl -d "$W" id)" = "$(grep '^washington hl1:' "$T/out.init-w")" ] ||
	fail "the public key changed with the passphrase"
hl -d "$W" run --passphrase-fd 3 3<"$T/pass1" </dev/null >"$T/out.run-old" 2>&1
[ $? -eq 1 ] && grep -qxF "hotline: wrong passphrase for $W/identity.key" "$T/out.run-old" ||
	fail "the old passphrase still works: $(cat "$T/out.run-old")"
not_running washington || fail "something runs after the old passphrase"
start_pw washington "$T/pass2"
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "no link after the change"
stop washington
stop beijing
ok "key passphrase: changed; the old one fails, the new one links"

# ---- no passphrase and no secret in any log or output ----
# washington's secret in clear: remove its protection (this output is checked too).
hl -d "$W" key passphrase --passphrase-fd 3 --remove 3<"$T/pass2" </dev/null >"$T/out.key-remove" 2>&1 ||
	fail "key passphrase --remove: $(cat "$T/out.key-remove")"
[ "$(head -n 1 "$W/identity.key")" = "hotline-secret-key v1" ] || fail "--remove did not store the key in clear"
hl -d "$W" key passphrase --remove </dev/null >"$T/out.key-remove2" 2>&1
[ $? -eq 1 ] || fail "--remove on a clear key did not fail"
{
	secret_forms "$W/identity.key"
	secret_forms "$T/beijing/identity.key"
} >"$T/forms"
[ "$(wc -l <"$T/forms")" -eq 18 ] || fail "expected 18 secret forms, got $(wc -l <"$T/forms")"
printf '%s\n' "$P1" "$P2" >>"$T/forms"
outputs=("$T"/*.log "$T"/out.* "$T"/*.init)
[ ${#outputs[@]} -gt 15 ] || fail "too few outputs to check: ${#outputs[@]}"
grep -q 'event=started' "$T/washington.log" || fail "no washington log to check"
while IFS= read -r form; do
	[ ${#form} -ge 16 ] || fail "a secret form is too short to search for: ${#form}"
	if grep -qiF -- "$form" "${outputs[@]}"; then
		fail "a secret or passphrase appears in: $(grep -liF -- "$form" "${outputs[@]}" | tr '\n' ' ')"
	fi
	# Nor anywhere in the station directories but the key files themselves.
	if grep -rqiF --exclude=identity.key -- "$form" "$W" "$T/beijing"; then
		fail "a secret or passphrase is stored in a station directory"
	fi
done <"$T/forms"
ok "no passphrase and no secret key in ${#outputs[@]} logs and outputs, nor in the stores"
