# shellcheck shell=bash
# faults.sh: the fault harness, sourced after lib.sh by 26-faults.sh and by
# tests/soak.sh (docs/reliability.md). Two stations, washington and beijing,
# each on a small tmpfs of its own (when root), reach each other only through
# hl-relay (tests/tools/relay.c), and run with libhl-failsync.so preloaded
# (tests/tools/failsync.c). Traffic flows both ways, the receivers acknowledge
# some of it, and a scenario breaks the network, the processes or the disks
# meanwhile. Every round ends with the invariants (fx_check):
#
#   - every message whose `send` succeeded is delivered exactly once, byte for
#     byte, with its precedence; one whose `send` said NOT stored never shows
#     up; one whose `send` said "may or may not" shows up at most once;
#   - what the sender sees is true: delivered or acknowledged means the
#     receiver holds it (checked during the faults too, fx_probe), and an
#     acknowledgment by a named operator is the receiver's own;
#   - every acknowledgment the receiver's `ack` reported reaches the sender;
#   - both records verify (`hotline verify`) and agree at a checkpoint;
#   - no daemon died that the scenario did not kill, no sanitizer report, no
#     chain conflict or checkpoint mismatch in the logs; at the end of a
#     generation both daemons stop with status 0 (under ASan: no leak).
#
# FX_STRICT=1 (the test): the first violation fails the run. Otherwise (the
# soak) violations are counted, the generation's directory is kept, and the
# run goes on with new stations.
RELAY=${RELAY:-$(dirname "$HOTLINE")/hl-relay}
FAILSYNC=${FAILSYNC:-$(dirname "$HOTLINE")/libhl-failsync.so}
FX_STRICT=${FX_STRICT:-1}
FX_FS_MB=${FX_FS_MB:-48}
FX_STOP_MS=${FX_STOP_MS:-30000} # a daemon or the relay stops within this of being told to
FX_SCENARIOS="net-cut net-blackhole net-slow net-halfclose net-corrupt proc-kill proc-stop disk-full disk-fsync mixed"
ASAN_BUILD=0
grep -q __asan_init "$HOTLINE" 2>/dev/null && ASAN_BUILD=1
[ -x "$RELAY" ] || fail "no $RELAY: build it (meson builds hl-relay beside hotline)"
[ -f "$FAILSYNC" ] || fail "no $FAILSYNC"
ROOT_FS=0
[ "$(id -u)" -eq 0 ] && ROOT_FS=1

rmdir "$T" 2>/dev/null # lib.sh's; each generation makes its own
declare -A FX_FS FX_RELAY_PORT C
declare -a BG_PIDS=() BG_NAMES=()
RELAY_CTL=
FX_VIOLATIONS=0
FX_GEN=0

# Processes. This harness never calls bash's `wait` on a daemon or the relay,
# and never waits without a deadline. Each daemon (and the relay) runs under a
# wrapper subshell whose only child it is: the wrapper writes the child's pid
# to $T/NAME.pid, waits for it and writes its exit status to $T/NAME.rc. The
# harness polls for that file with a deadline (fx_reap). Why: pid_max is 32768
# here and the harness forks ~30 processes a second beside other workloads,
# so pids come round every few minutes; bash 5.2 remembers dead children by
# pid (its job table and saved statuses), and a `wait PID` (or kill -0, which
# as root succeeds on anyone's process) on a pid that has come round again
# refers to another process: the soak's one-hour run blocked for good in
# bash's wait4(-1) after a disk-fsync round in which a daemon had stopped and
# been restarted five times. A pid is only signalled while its .rc file is
# absent (the wrapper reaps the child and writes .rc at once, so until then
# the pid cannot be anyone else's).
#
# fx_spawn NAME CMD...: run CMD under a wrapper (stderr to $T/NAME.log); PID[NAME].
fx_spawn() {
	local name=$1 i
	shift
	rm -f "$T/$name.rc" "$T/$name.pid"
	(
		"$@" 2>>"$T/$name.log" &
		echo $! >"$T/$name.pid"
		wait $!
		echo $? >"$T/$name.rc.tmp"
		mv "$T/$name.rc.tmp" "$T/$name.rc"
	) 2>/dev/null & # (bash's "Killed" notices)
	unset "PID[$name]"
	for i in $(seq 1 100); do # the wrapper forks at once, even on a loaded machine
		if [ -s "$T/$name.pid" ]; then
			PID[$name]=$(<"$T/$name.pid")
			return 0
		fi
		sleep 0.05
	done
	violation "no pid from the wrapper of $name after 5 s"
	return 1
}
# alive NAME: NAME's process runs (not a zombie awaiting its wrapper's reap).
alive() {
	local st
	[ -n "${PID[$1]:-}" ] && [ ! -e "$T/$1.rc" ] || return 1
	{ read -r st <"/proc/${PID[$1]}/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}
# sig SIGNAL NAME: signal NAME's process if it has not been reaped.
sig() { [ -n "${PID[$2]:-}" ] && [ ! -e "$T/$2.rc" ] && kill "-$1" "${PID[$2]}" 2>/dev/null; }
# fx_reap NAME LIMIT_MS: wait (at most LIMIT_MS) for NAME's process to end; RC
# = its exit status; 1 if it is still there at the limit.
fx_reap() {
	local name=$1 limit=$2 t0
	RC=
	t0=$(ms_now)
	until [ -e "$T/$name.rc" ]; do
		[ $(($(ms_now) - t0)) -gt "$limit" ] && return 1
		sleep 0.05
	done
	RC=$(<"$T/$name.rc")
	rm -f "$T/$name.rc" "$T/$name.pid"
	unset "PID[$name]"
	return 0
}
# fx_bg NAME CMD...: CMD in the background; $T/NAME.done when it returns.
fx_bg() {
	local name=$1
	shift
	rm -f "$T/$name.done"
	(
		"$@"
		: >"$T/$name.done"
	) &
	BG_PIDS+=($!)
	BG_NAMES+=("$name")
}
# fx_bg_wait LIMIT_MS: every fx_bg job returned (1 past the limit; those left are killed).
fx_bg_wait() {
	local limit=$1 t0 n i left
	t0=$(ms_now)
	while :; do
		left=
		for n in "${BG_NAMES[@]}"; do [ -e "$T/$n.done" ] || left="$left $n"; done
		[ -z "$left" ] && break
		if [ $(($(ms_now) - t0)) -gt "$limit" ]; then
			for i in "${!BG_NAMES[@]}"; do
				[ -e "$T/${BG_NAMES[$i]}.done" ] || kill_job "${BG_PIDS[$i]}"
			done
			BG_PIDS=() BG_NAMES=()
			LEFT=$left
			return 1
		fi
		sleep 0.1
	done
	BG_PIDS=() BG_NAMES=()
	return 0
}
# kill_job PID: SIGKILL a background subshell of this shell and what it runs
# now, if PID is still this shell's child (not a pid come round to someone else).
kill_job() {
	local st c
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 0
	st=${st##*) }
	st=${st#* }
	[ "${st%% *}" = "$BASHPID" ] || return 0
	for c in $(cat "/proc/$1/task/"*/children 2>/dev/null); do kill -9 "$c" 2>/dev/null; done
	kill -9 "$1" 2>/dev/null
}

# Everything this harness started goes, then the file systems (every step bounded).
fx_cleanup() {
	local n p i
	for p in "${BG_PIDS[@]}"; do kill_job "$p"; done
	for n in "${!PID[@]}"; do
		sig CONT "$n"
		sig 9 "$n"
	done
	for i in $(seq 1 50); do # the wrappers end when their child has
		[ -z "$(jobs -pr)" ] && break
		sleep 0.1
	done
	for n in "${!FX_FS[@]}"; do umount "${FX_FS[$n]}" 2>/dev/null; done
	[ "${FX_KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap fx_cleanup EXIT
trap "exit 143" TERM INT

# rnd LO HI: R = an integer in [LO, HI] from the seeded $RANDOM (never in a
# $(...) subshell: its draws would not advance this shell's sequence).
rnd() { R=$(($1 + RANDOM % ($2 - $1 + 1))); }
# rsleep LO_MS HI_MS
rsleep() {
	rnd "$1" "$2"
	sleep "$((R / 1000)).$(printf '%03d' $((R % 1000)))"
}
now_s() { date +%s; }
# FX_DEBUG=1: where the time goes. FX_HEARTBEAT=FILE: the last step, for
# the soak's watchdog (tests/soak.sh).
tick() {
	[ "${FX_DEBUG:-0}" = 1 ] && echo "#   $(date +%T.%N | cut -c1-12) $*"
	# Written aside, then renamed: the watchdog never reads half a line.
	[ -n "${FX_HEARTBEAT:-}" ] && printf '%(%s)T gen %s round %s %s: %s\n' -1 "$FX_GEN" "${FX_ROUND:-0}" "${FX_SCN:-}" "$*" >"$FX_HEARTBEAT.new" &&
		mv -f "$FX_HEARTBEAT.new" "$FX_HEARTBEAT"
	return 0
}

# A violation: fatal in strict mode, counted otherwise.
violation() {
	echo "VIOLATION [gen $FX_GEN round $FX_ROUND $FX_SCN seed $FX_SEED]: $*"
	C[$FX_SCN.violations]=$((${C[$FX_SCN.violations]:-0} + 1))
	FX_VIOLATIONS=$((FX_VIOLATIONS + 1))
	FX_GEN_BAD=1
	[ "$FX_STRICT" = 1 ] && fail "invariant violated: $*"
	return 0
}

count() { C[$FX_SCN.$1]=$((${C[$FX_SCN.$1]:-0} + ${2:-1})); }

# relay CMD...: one control command; the reply in RELAY_REPLY; 0 on "ok".
relay() {
	local fd
	RELAY_REPLY=
	# (the group: a redirection on exec itself would stay on the shell)
	{ exec {fd}<>"/dev/tcp/127.0.0.1/$RELAY_CTL"; } 2>/dev/null || return 1
	printf '%s\n' "$*" >&"$fd"
	IFS= read -r -t 10 RELAY_REPLY <&"$fd"
	exec {fd}>&-
	[[ $RELAY_REPLY == ok* ]]
}

# hx NAME ARGS...: a hotline command on NAME's machine (its disk may fail).
hx() {
	local n=$1
	shift
	LD_PRELOAD=$FAILSYNC HL_FAILSYNC_FILE="$T/$n.diskfail" "$HOTLINE" -d "$T/$n" "$@"
}

# fx_start NAME: run NAME's daemon with the fsync shim; wait until it answers.
fx_start() {
	local name=$1 i
	fx_spawn "$name" env LD_PRELOAD="$FAILSYNC" HL_FAILSYNC_FILE="$T/$name.diskfail" \
		"$HOTLINE" -d "$T/$name" run --verbose || return 1
	for i in $(seq 1 200); do
		hl -d "$T/$name" status --json 2>/dev/null | jq -e '.running' >/dev/null && return 0
		alive "$name" || {
			fx_reap "$name" 5000
			violation "$name exited at start (status $RC): $(tail -n 3 "$T/$name.log")"
			return 1
		}
		sleep 0.05
	done
	violation "$name did not start"
}

running() { alive "$1"; }

# fx_setup: a new generation: two stations behind the relay.
fx_setup() {
	local s port
	FX_GEN=$((FX_GEN + 1))
	FX_GEN_BAD=0
	FX_TAGS=
	FX_LOGPOS=()
	FX_ACKED=()
	T=$(mktemp -d /tmp/hl-fx.XXXXXX)
	for s in washington beijing; do
		port=$(free_port)
		PORT[$s]=$port
		if [ "$ROOT_FS" = 1 ]; then
			FX_FS[$s]="$T/fs-$s"
			mkdir -p "${FX_FS[$s]}"
			mount -t tmpfs -o "size=${FX_FS_MB}m" tmpfs "${FX_FS[$s]}" ||
				fail "cannot mount a tmpfs for $s"
			hl -d "${FX_FS[$s]}/st" init --name "$s" --listen "127.0.0.1:$port" >/dev/null ||
				fail "init $s"
			ln -s "${FX_FS[$s]}/st" "$T/$s"
		else
			hl -d "$T/$s" init --name "$s" --listen "127.0.0.1:$port" >/dev/null || fail "init $s"
		fi
		FX_RELAY_PORT[$s]=$(free_port)
		: >"$T/$s.log"
	done
	RELAY_CTL=$(free_port)
	fx_spawn relay "$RELAY" --seed "$FX_SEED" "$RELAY_CTL" \
		"washington:${FX_RELAY_PORT[washington]}:${PORT[washington]}" \
		"beijing:${FX_RELAY_PORT[beijing]}:${PORT[beijing]}" || fail "the relay did not start"
	wait_for 5000 relay stats || fail "the relay did not start: $(cat "$T/relay.log")"
	# Each pins the other at the relay: the link named X is the way to X.
	pin washington beijing "127.0.0.1:${FX_RELAY_PORT[beijing]}"
	pin beijing washington "127.0.0.1:${FX_RELAY_PORT[washington]}"
	fx_start washington
	fx_start beijing
	wait_state washington beijing up 10000 >/dev/null || fail "no link through the relay"
	for s in washington beijing; do : >"$T/$s.acks"; done
}

# fx_teardown: stop both daemons (status 0: under ASan, no leak) and the relay.
# A daemon that does not stop within FX_STOP_MS of SIGTERM is a violation,
# and is killed.
fx_teardown() {
	local s rc
	tick teardown
	for s in washington beijing; do
		running "$s" || continue
		sig TERM "$s"
		if fx_reap "$s" "$FX_STOP_MS"; then
			[ "$RC" -eq 0 ] || violation "$s exited with status $RC on SIGTERM: $(tail -n 20 "$T/$s.log")"
		else
			violation "$s did not stop within $((FX_STOP_MS / 1000)) s of SIGTERM: $(tail -n 5 "$T/$s.log")"
			sig CONT "$s"
			sig 9 "$s"
			fx_reap "$s" 10000 || violation "$s did not die on SIGKILL"
		fi
	done
	# What the relay did to the bytes, over the generation (both links).
	if relay stats; then
		local kv k v
		for kv in $(echo "$RELAY_REPLY" | tr ' ,' '\n\n' | grep '='); do
			k=${kv%%=*} v=${kv##*=}
			case $k in *:*) k=${k##*:} ;; esac
			case $k in resets | corrupted | truncated | halfcloses | dropped | bytes | conns)
				RELAY_TOTAL[$k]=$((${RELAY_TOTAL[$k]:-0} + v)) ;;
			esac
		done
	fi
	relay quit >/dev/null
	if fx_reap relay "$FX_STOP_MS"; then
		[ "$RC" -eq 0 ] || violation "the relay exited with status $RC: $(tail -n 20 "$T/relay.log")"
	else
		violation "the relay did not quit within $((FX_STOP_MS / 1000)) s"
		sig 9 relay
		fx_reap relay 10000
	fi
	if [ "$FX_GEN_BAD" = 1 ] && [ -n "${FX_KEEP_DIR:-}" ]; then
		mkdir -p "$FX_KEEP_DIR" # before the tmpfs go: the stations live there
		cp -r "$T" "$FX_KEEP_DIR/gen-$FX_GEN" 2>/dev/null
		echo "# kept generation $FX_GEN in $FX_KEEP_DIR/gen-$FX_GEN"
	fi
	for s in "${!FX_FS[@]}"; do umount "${FX_FS[$s]}" 2>/dev/null; done
	FX_FS=()
	rm -rf "$T"
}

# ---- traffic ----

# Message i of a sender: precedence, and a body of a size from i, its
# padding the digit i % 10, so that the receiver's copy can be recomputed.
prec_of() {
	local p=(routine priority immediate flash routine routine)
	echo "${p[$(($1 % 6))]}"
}
size_of() {
	if [ $(($1 % 50)) -eq 0 ]; then echo 60000; elif [ $(($1 % 10)) -eq 0 ]; then echo 8000; else echo 40; fi
}

# fx_sender FROM TO TAG: send until $T/stop exists; one line per send in $T/TAG.out:
# "I ok ID", "I full|disk|maybe TEXT" (NOT stored / uncertain), "I bad TEXT".
fx_sender() {
	local from=$1 to=$2 tag=$3 i=0 id err
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		if id=$(hx "$from" send --to "$to" --precedence "$(prec_of $i)" \
			--text "$tag $i $(head -c "$(size_of $i)" /dev/zero | tr '\0' "$((i % 10))")" 2>"$T/$tag.err"); then
			echo "$i ok $id" >>"$T/$tag.out"
		else
			err=$(grep -v 'event=store_error' "$T/$tag.err" | head -n 1)
			case $err in
			*"disk is full"*"NOT stored"*) echo "$i full $err" ;;
			*"disk failed"*"NOT stored"*) echo "$i disk $err" ;;
			*"may or may not be stored"*) echo "$i maybe $err" ;;
			*) echo "$i bad $err" ;;
			esac >>"$T/$tag.out"
		fi
		sleep 0.02
	done
}

# fx_acker NAME PEER: acknowledge a few of PEER's messages now and then; the
# ids whose `ack` succeeded go to $T/NAME.acks.
fx_acker() {
	local me=$1 peer=$2 id
	while [ ! -e "$T/stop" ]; do
		sleep 1
		for id in $(hl -d "$T/$me" inbox --json 2>/dev/null |
			jq -r --arg p "$peer" '[.[] | select(.peer == $p and .kind == "message" and .state == "unacknowledged")] | .[:2][] | .id'); do
			hx "$me" ack "$id" --operator "duty-$me" >/dev/null 2>&1 && echo "$id" >>"$T/$me.acks"
		done
	done
}

# ---- faults ----

# shuffle WORDS...: SHUFFLED = the words in an order drawn from $RANDOM (in
# this shell: a subshell's $RANDOM is reseeded, and the order would not replay).
shuffle() {
	local a=("$@") i j t
	for ((i = ${#a[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		t=${a[i]} a[i]=${a[j]} a[j]=$t
	done
	SHUFFLED="${a[*]}"
}

# L = a link to break: both (half the time), or the way to washington or to
# beijing (the session runs on one of them: the other may be idle); V = a station.
pick_link() {
	local l=(washington beijing all all)
	rnd 0 3
	L=${l[$R]}
}
pick_station() {
	local s=(washington beijing)
	rnd 0 1
	V=${s[$R]}
}

# One fault of a kind, drawn from the seeded $RANDOM; counts it.
fault_net_cut() {
	local l
	pick_link
	l=$L
	rnd 0 1
	if [ $R = 0 ]; then
		relay cut "$l"
	else
		relay down "$l" on
		rsleep 300 3000
		relay down "$l" off
	fi
	count faults
}
fault_net_blackhole() {
	local l
	pick_link
	l=$L
	relay blackhole "$l" on
	rsleep 300 4000 # across down_after_ms (2 s) or not
	relay blackhole "$l" off
	count faults
}
fault_net_slow() {
	local l
	pick_link
	l=$L
	rnd 5 400
	relay delay "$l" "$R"
	rnd 3000 400000
	relay throttle "$l" "$R"
	rsleep 1000 4000
	relay clear "$l"
	count faults
}
fault_net_halfclose() {
	relay halfclose all # what is open, whichever link carries it
	count faults
}
fault_net_corrupt() {
	local l=all # the next chunks, on whichever link carries the session
	rnd 0 2
	if [ $R = 0 ]; then
		relay truncate "$l" 1
	else
		rnd 1 3
		relay corrupt "$l" "$R"
	fi
	count faults
}
fault_proc_kill() {
	local v
	pick_station
	v=$V
	running "$v" || return 0
	sig 9 "$v"
	fx_reap "$v" 10000 || violation "$v did not die within 10 s of SIGKILL"
	count faults
	rsleep 0 1000
	fx_start "$v"
}
fault_proc_stop() {
	local v
	pick_station
	v=$V
	running "$v" || return 0
	sig STOP "$v"
	count faults
	rsleep 200 4000
	sig CONT "$v"
}
# The disk fills: a filler takes what is left of the station's tmpfs.
fault_disk_full() {
	local v
	[ "$ROOT_FS" = 1 ] || return 0
	pick_station
	v=$V
	dd if=/dev/zero of="${FX_FS[$v]}/filler" bs=64k 2>/dev/null
	count faults
	rsleep 500 3000
	rm -f "${FX_FS[$v]}/filler"
	running "$v" || violation "$v died when its disk filled: $(grep -v debug "$T/$v.log" | tail -n 5)"
}
# fsync fails on the station's disk: its daemon must stop (status 1, disk_failed)
# and sends fail with "disk failed"; the disk is "repaired" and the daemon started.
fault_disk_fsync() {
	local v rc
	pick_station
	v=$V
	running "$v" || return 0
	touch "$T/$v.diskfail"
	count faults
	# Traffic goes both ways, so a commit comes soon; a stopped peer's may not.
	if fx_reap "$v" 15000; then
		[ "$RC" -eq 1 ] || violation "$v exited with status $RC after fsync failed (want 1)"
		grep -q 'event=disk_failed' "$T/$v.log" || violation "$v stopped without logging disk_failed"
	else
		violation "$v did not stop within 15 s of fsync failing"
	fi
	rsleep 0 1500
	rm -f "$T/$v.diskfail"
	running "$v" || fx_start "$v"
}

# fx_probe: during the faults, what each sender sees delivered the receiver holds.
fx_probe() {
	local a b
	for a in washington beijing; do
		[ $a = washington ] && b=beijing || b=washington
		hl -d "$T/$a" outbox --json 2>/dev/null |
			jq -r '.[] | select(.kind == "message" and (.state == "delivered" or .state == "acknowledged")) | .id' |
			sort >"$T/probe.sent" || continue
		hl -d "$T/$b" inbox --all --json 2>/dev/null |
			jq -r --arg p "$a" '.[] | select(.peer == $p) | .id' | sort >"$T/probe.got" || continue
		[ -s "$T/probe.got" ] || [ ! -s "$T/probe.sent" ] || continue # a read failed (disk full)
		comm -23 "$T/probe.sent" "$T/probe.got" >"$T/probe.missing"
		[ -s "$T/probe.missing" ] &&
			violation "$a shows delivered what $b does not hold: $(head -c 200 "$T/probe.missing" | tr '\n' ' ')"
	done
	count probes
}

# ---- a round ----

# fx_round SCENARIO SECONDS: traffic both ways and the scenario's faults for
# SECONDS, then the invariants.
fx_round() {
	FX_SCN=$1
	local secs=$2 end f t0 tw tb next_probe=0
	FX_ROUND=$((${FX_ROUND:-0} + 1))
	t0=$(now_s)
	tw="g${FX_GEN}r${FX_ROUND}w"
	tb="g${FX_GEN}r${FX_ROUND}b"
	FX_RTAGS=" $tw $tb "
	FX_FAULTS_BEFORE=${C[$FX_SCN.faults]:-0}
	rm -f "$T/stop"
	FX_TAGS="${FX_TAGS:-} $tw:washington:beijing $tb:beijing:washington"
	tick "round $FX_ROUND $FX_SCN"
	fx_bg "$tw" fx_sender washington beijing "$tw"
	fx_bg "$tb" fx_sender beijing washington "$tb"
	fx_bg acker-w fx_acker washington beijing
	fx_bg acker-b fx_acker beijing washington
	end=$(($(now_s) + secs))
	sleep 0.5
	while [ "$(now_s)" -lt "$end" ]; do
		rsleep 200 1500
		f=$FX_SCN
		if [ "$f" = mixed ]; then
			local all=(net-cut net-blackhole net-slow net-halfclose net-corrupt proc-kill proc-stop disk-full disk-fsync)
			rnd 0 8
			f=${all[$R]}
		fi
		"fault_${f//-/_}"
		# the probe reads both stores whole: not after every fault
		if [ "$(now_s)" -ge "${next_probe:-0}" ]; then
			fx_probe
			next_probe=$(($(now_s) + 4))
		fi
	done
	tick faults over
	touch "$T/stop"
	# a send waits at most 30 s for a daemon that does not answer
	fx_bg_wait 90000 || violation "traffic did not stop within 90 s (a hotline command hung):$LEFT"
	tick traffic over
	fx_check
	echo "# gen $FX_GEN round $FX_ROUND $FX_SCN: sent ${R_SENT} accepted ${R_ACC} not-stored ${R_REJ} uncertain ${R_MAYBE} delivered ${R_DEL} acks ${R_ACKS} faults +${R_FAULTS} violations ${C[$FX_SCN.violations]:-0} ($(($(now_s) - t0)) s)"
}

# Heal everything and bring both daemons back; a daemon that died of itself is a violation.
fx_heal() {
	local s
	relay clear all || violation "the relay does not answer: $(tail -n 5 "$T/relay.log")"
	alive relay || violation "the relay died"
	for s in washington beijing; do
		rm -f "$T/$s.diskfail"
		[ -n "${FX_FS[$s]:-}" ] && rm -f "${FX_FS[$s]}/filler"
		sig CONT "$s"
		if ! running "$s"; then
			fx_reap "$s" 5000
			violation "$s is not running at the end of the round (status ${RC:-unknown}): $(grep -v debug "$T/$s.log" | tail -n 5)"
			fx_start "$s"
		fi
	done
}

all_settled() { # FROM TO N_ACCEPTED: every accepted message of FROM's delivered, every ack seen
	local from=$1 to=$2
	hl -d "$T/$from" outbox --json >"$T/settle.json" 2>/dev/null || return 1
	[ "$(jq '[.[] | select(.kind == "message" and .state != "delivered" and .state != "acknowledged")] | length' "$T/settle.json")" -eq 0 ] || return 1
	# every ack the receiver's `ack` reported is visible to the sender
	jq -r '.[] | select(.kind == "message" and .state == "acknowledged") | .id' "$T/settle.json" | sort >"$T/settle.acked"
	sort -u "$T/$to.acks" | comm -23 - "$T/settle.acked" | grep -q . && return 1
	return 0
}

# fx_check: the invariants at the end of a round (see the top of this file).
fx_check() {
	local spec tag from to limit s out before
	tick check: heal
	fx_heal
	tick check: settle
	R_SENT=0 R_ACC=0 R_REJ=0 R_MAYBE=0 R_DEL=0 R_ACKS=0
	R_FAULTS=$((${C[$FX_SCN.faults]:-0} - FX_FAULTS_BEFORE))
	limit=90000
	[ "$ASAN_BUILD" = 1 ] && limit=240000
	for s in washington:beijing beijing:washington; do
		from=${s%%:*} to=${s##*:}
		wait_for "$limit" all_settled "$from" "$to" ||
			violation "$from: not everything delivered/acknowledged after the faults: $(jq -c '[.[] | select(.kind == "message" and .state != "delivered" and .state != "acknowledged") | {id, state}] | .[:5]' "$T/settle.json") missing acks: $(sort -u "$T/$to.acks" | comm -23 - "$T/settle.acked" | head -3 | tr '\n' ' ')"
	done
	tick check: compare
	# The expectations: every sender's lines of this generation.
	: >"$T/expect.all"
	for spec in $FX_TAGS; do
		IFS=: read -r tag from to <<<"$spec"
		[ -f "$T/$tag.out" ] || continue
		awk -v tag="$tag" -v from="$from" '{print from, tag, $1, $2, $3}' "$T/$tag.out" >>"$T/expect.all"
		case $FX_RTAGS in *" $tag "*)
			R_SENT=$((R_SENT + $(wc -l <"$T/$tag.out")))
			R_ACC=$((R_ACC + $(awk '$2 == "ok"' "$T/$tag.out" | wc -l)))
			R_REJ=$((R_REJ + $(awk '$2 == "full" || $2 == "disk"' "$T/$tag.out" | wc -l)))
			R_MAYBE=$((R_MAYBE + $(awk '$2 == "maybe"' "$T/$tag.out" | wc -l)))
			;;
		esac
	done
	# This round's sends that failed without an honest reason, or failed at all
	# where nothing should make them fail.
	awk -v tags="$FX_RTAGS" 'index(tags, " " $2 " ")' "$T/expect.all" >"$T/expect.round"
	awk '$4 == "bad"' "$T/expect.round" | grep -q . &&
		violation "send failed without a clear reason: $(awk '$4 == "bad"' "$T/expect.round" | head -3 | cut -c1-300)"
	case $FX_SCN in
	disk-full | disk-fsync | mixed) ;;
	*) awk '$4 == "full" || $4 == "disk"' "$T/expect.round" | grep -q . &&
		violation "a send failed during $FX_SCN: $(awk '$4 == "full" || $4 == "disk"' "$T/expect.round" | head -2 | cut -c1-200)" ;;
	esac
	for s in washington:beijing beijing:washington; do
		from=${s%%:*} to=${s##*:}
		# One line per message on each side (one jq each: the JSON holds every body):
		# sender: id hash precedence tag i state acknowledged_by
		hl -d "$T/$from" outbox --json | jq -r '.[] | select(.kind == "message") |
			(.text | split(" ")) as $w | "\(.id) \(.hash) \(.precedence) \($w[0]) \($w[1]) \(.state) \(.acknowledged_by)"' |
			sort >"$T/c.sent"
		# receiver: id hash precedence tag i state content-ok (the text recomputed from tag and i)
		hl -d "$T/$to" inbox --all --json | jq -r --arg p "$from" '
			def size(i): if i % 50 == 0 then 60000 elif i % 10 == 0 then 8000 else 40 end;
			def prec(i): ["routine", "priority", "immediate", "flash", "routine", "routine"][i % 6];
			.[] | select(.peer == $p) | (.text | split(" ")) as $w | ($w[1] | tonumber) as $i |
			"\(.id) \(.hash) \(.precedence) \($w[0]) \($i) \(.state) \(.text == "\($w[0]) \($i) " + (($i % 10 | tostring) * size($i)) and .precedence == prec($i))"' |
			sort >"$T/c.got"
		[ "$(cut -d' ' -f1 "$T/c.got" | uniq -d | wc -l)" -eq 0 ] || violation "$to holds a message of $from twice"
		diff <(cut -d' ' -f1-5 "$T/c.sent") <(cut -d' ' -f1-5 "$T/c.got") >"$T/c.diff" ||
			violation "$from's messages and $to's copies differ: $(head -c 400 "$T/c.diff")"
		awk '$7 != "true"' "$T/c.got" | grep -q . &&
			violation "$to holds altered content: $(awk '$7 != "true" {print $1, $4, $5}' "$T/c.got" | head -3)"
		# Each send at most once; the ok ones exactly once, with the printed id.
		awk '{print $4, $5}' "$T/c.got" | sort | uniq -d | grep -q . &&
			violation "$to received one send twice (as two messages): $(awk '{print $4, $5}' "$T/c.got" | sort | uniq -d | head -3)"
		awk -v f="$from" '$1 == f && $4 == "ok" {print $5, $2, $3}' "$T/expect.all" | sort >"$T/c.ok"
		awk '{print $1, $4, $5}' "$T/c.got" | sort | comm -23 "$T/c.ok" - >"$T/c.lost"
		[ -s "$T/c.lost" ] && violation "accepted by $from's send, not delivered to $to as such: $(head -3 "$T/c.lost")"
		awk -v f="$from" '$1 == f && ($4 == "full" || $4 == "disk") {print $2, $3}' "$T/expect.all" | sort >"$T/c.notstored"
		awk '{print $4, $5}' "$T/c.got" | sort | comm -12 - "$T/c.notstored" >"$T/c.ghosts"
		[ -s "$T/c.ghosts" ] && violation "send said NOT stored, but $to received it: $(head -3 "$T/c.ghosts")"
		# What the sender shows acknowledged, the receiver acknowledged, by that operator.
		awk '$6 == "acknowledged" {print $1, $7}' "$T/c.sent" >"$T/c.sacked"
		awk -v op="duty-$to" '$6 == "acknowledged" {print $1, op}' "$T/c.got" >"$T/c.racked"
		diff "$T/c.sacked" "$T/c.racked" >/dev/null ||
			violation "acknowledgments differ between $from and $to: $(diff "$T/c.sacked" "$T/c.racked" | head -4 | tr '\n' ' ')"
		R_DEL=$((R_DEL + $(awk -v f="$from" -v tags="$FX_RTAGS" '$1 == f && $4 == "ok" && index(tags, " " $2 " ")' "$T/expect.all" | wc -l)))
		# acknowledgments that arrived during this round (the count is cumulative)
		R_ACKS=$((R_ACKS + $(wc -l <"$T/c.racked") - ${FX_ACKED[$from]:-0}))
		FX_ACKED[$from]=$(wc -l <"$T/c.racked")
	done
	# The records: verify on both sides, then a checkpoint both agree on.
	tick check: verify
	for s in washington beijing; do
		out=$(hl -d "$T/$s" verify 2>&1) || violation "$s: verify failed: $(echo "$out" | grep -v '^ok' | head -5)"
	done
	for s in 1 2 3 4 5; do # the link may be coming back up after the last fault
		out=$(hl -d "$T/washington" checkpoint beijing 2>&1) && break
		[[ $out == *"link to beijing is down"* ]] || break
		sleep 1
	done
	[[ $out == *agreed* ]] || violation "checkpoint: $out"
	tick check: logs
	# The logs since the last check: no sanitizer report, no conflict, no mismatch.
	for s in washington beijing relay; do
		before=${FX_LOGPOS[$s]:-0}
		if tail -c +"$((before + 1))" "$T/$s.log" | grep -E 'AddressSanitizer|LeakSanitizer|runtime error|event=chain_conflict|event=checkpoint_mismatch|event=fatal' >"$T/c.logbad"; then
			violation "$s's log: $(head -3 "$T/c.logbad")"
		fi
		FX_LOGPOS[$s]=$(wc -c <"$T/$s.log")
	done
	count rounds
	count sent "$R_SENT"
	count accepted "$R_ACC"
	count rejected "$R_REJ"
	count uncertain "$R_MAYBE"
	count delivered "$R_DEL"
	count acks "$R_ACKS"
}
declare -A FX_LOGPOS RELAY_TOTAL FX_ACKED

# fx_report: per scenario, what ran.
fx_report() {
	local s
	printf '%-14s %6s %8s %8s %10s %9s %9s %7s %7s %10s\n' SCENARIO ROUNDS SENT ACCEPTED NOT-STORED UNCERTAIN DELIVERED ACKS FAULTS VIOLATIONS
	for s in $FX_SCENARIOS; do
		[ -n "${C[$s.rounds]:-}" ] || continue
		printf '%-14s %6s %8s %8s %10s %9s %9s %7s %7s %10s\n' "$s" "${C[$s.rounds]}" "${C[$s.sent]:-0}" \
			"${C[$s.accepted]:-0}" "${C[$s.rejected]:-0}" "${C[$s.uncertain]:-0}" "${C[$s.delivered]:-0}" \
			"${C[$s.acks]:-0}" "${C[$s.faults]:-0}" "${C[$s.violations]:-0}"
	done
	echo "relay, all links: connections ${RELAY_TOTAL[conns]:-0}, bytes relayed ${RELAY_TOTAL[bytes]:-0}, connections reset ${RELAY_TOTAL[resets]:-0}, chunks corrupted ${RELAY_TOTAL[corrupted]:-0}, truncated ${RELAY_TOTAL[truncated]:-0}, half-closes ${RELAY_TOTAL[halfcloses]:-0}, bytes black-holed or cut ${RELAY_TOTAL[dropped]:-0}"
	echo "violations: $FX_VIOLATIONS"
}
