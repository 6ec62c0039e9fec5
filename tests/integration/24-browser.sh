#!/bin/bash
# The operator console in real headless Chromium against two real paired
# stations, each serving its console: log in, a FLASH message arriving live,
# its acknowledgment reaching the sender, a codebook form with a bad field,
# a suspension seen on both boards, a watch officer's limits, the transcript,
# the language, a station restarted under an open console
# (tests/browser/console.test.js has the steps).
# HL_SCREENSHOTS=DIR also saves a screenshot of each page there (docs/img).
# Under ASan (HL_BROWSER_ASAN=0 skips that pass) it takes about twice as long.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${HL_BROWSER_ASAN:-1}" = 0 ] && nm -an "$HOTLINE" 2>/dev/null | grep -q __asan_init; then
	echo "ok - skipped under ASan (HL_BROWSER_ASAN=0)"
	exit 0
fi
[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium: install Debian's chromium (scripts/deps.sh does)"
command -v node >/dev/null || fail "no node: the browser test runs on Node.js"
sh "$ROOT/tests/browser/setup.sh" || fail "could not install playwright-core (tests/browser/setup.sh)"

PASSWORD="correct horse battery staple"
declare -A CONSOLE
for s in washington beijing; do
	new_station "$s"
	CONSOLE[$s]=$(free_port)
	set_config "$s" console "127.0.0.1:${CONSOLE[$s]}"
	set_config "$s" password_cost minimum # Argon2id at its cheapest: the test is not about it
done
pair washington beijing
for s in washington:beijing beijing:washington; do
	a=${s%%:*} b=${s##*:}
	hl -d "$T/$a" channel add "$b" maritime >/dev/null || fail "channel add maritime"
	hl -d "$T/$a" channel add "$b" leaders --no-suspend >/dev/null || fail "channel add leaders"
done
# beijing's PRIORITY messages are overdue after 2 s: the inbox shows it live.
set_config beijing deadline_priority_s 2
add_operator() { # STATION NAME ROLE
	printf '%s\n' "$PASSWORD" | hl -d "$T/$1" operator add "$2" --role "$3" >/dev/null ||
		fail "operator add $2 --role $3 at $1"
}
add_operator washington "Gen. Smith" duty
add_operator washington "Lt. Jones" watch
add_operator beijing "Col. Li Wei" duty
start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"
wait_state beijing washington up 5000 >/dev/null || fail "link not up (beijing)"
for s in washington beijing; do
	wait_for 5000 curl -sf -o /dev/null "http://127.0.0.1:${CONSOLE[$s]}/" || fail "$s serves no console"
done

[ -n "${HL_SCREENSHOTS:-}" ] && mkdir -p "$HL_SCREENSHOTS"
# The test asks for a station's restart with a line "restart NAME" and
# waits for "restarted" on its stdin.
coproc BT {
	W_URL="http://127.0.0.1:${CONSOLE[washington]}" B_URL="http://127.0.0.1:${CONSOLE[beijing]}" \
		W_DIR="$T/washington" B_DIR="$T/beijing" HOTLINE="$HOTLINE" PASSWORD="$PASSWORD" \
		DUTY_W="Gen. Smith" DUTY_B="Col. Li Wei" WATCH_W="Lt. Jones" HL_FAILSHOT="$T/failure.png" \
		timeout 150 node "$ROOT/tests/browser/console.test.js" 2>&1
	echo "exit $?"
}
# Our own copies: bash drops BT's once the coprocess has ended.
exec {bt_out}<&"${BT[0]}" {bt_in}>&"${BT[1]}"
rc=1
while IFS= read -r line <&"$bt_out"; do
	echo "$line" >>"$T/browser.out"
	case "$line" in
	"restart "*)
		s=${line#restart }
		stop "$s"
		start "$s"
		echo restarted >&"$bt_in"
		;;
	"exit "*) rc=${line#exit } ;;
	*) echo "$line" ;;
	esac
done
exec {bt_out}<&- {bt_in}>&-
if [ "$rc" -ne 0 ]; then
	[ -f "$T/failure.png" ] && cp "$T/failure.png" /tmp/hl-browser-failure.png &&
		echo "# screenshot kept: /tmp/hl-browser-failure.png"
	fail "browser test (exit $rc)"
fi
grep -q '^FAIL' "$T/browser.out" && fail "browser test"
grep -q '^ok - a station restarted' "$T/browser.out" || fail "the browser test stopped early"
for s in washington beijing; do stop "$s"; done
ok "console in Chromium: every step passed; both stations exit cleanly"
