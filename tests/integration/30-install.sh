#!/bin/bash
# Installation (docs/operations.md, "Installation"): `meson install` of the
# build under test into a scratch DESTDIR puts the binary, both man pages,
# the systemd unit with its sysusers.d and tmpfiles.d entries, the bash
# completion and the documents in place; the installed binary runs. The man
# pages render without a warning; hotline(1), docs/cli.md and the completion
# know every command and every option `hotline COMMAND --help` names, and
# hotline-config(5) and docs/operations.md every key src/config.c reads. The
# completion, sourced in a plain bash, offers peers and channels from a real
# station. systemd-analyze verifies the unit without a warning, and rates
# its exposure.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$(dirname "$HOTLINE")" && pwd)
[ -f "$BUILD/meson-info/intro-buildoptions.json" ] || {
	echo "ok - skipped: $HOTLINE is not in a meson build directory"
	exit 0
}

# ---- install ----
PREFIX=$(jq -r '.[] | select(.name == "prefix") | .value' "$BUILD/meson-info/intro-buildoptions.json")
D=$T/dest
meson install -C "$BUILD" --no-rebuild --destdir "$D" >"$T/install.out" 2>&1 ||
	fail "meson install: $(tail -n 5 "$T/install.out")"
P=$D$PREFIX
for f in bin/hotline share/man/man1/hotline.1 share/man/man5/hotline-config.5 \
	lib/systemd/system/hotline@.service lib/sysusers.d/hotline.conf lib/tmpfiles.d/hotline.conf \
	share/bash-completion/completions/hotline share/doc/hotline/README.md \
	share/doc/hotline/operations.md share/doc/hotline/cli.md share/doc/hotline/examples/notify-log.sh; do
	[ -f "$P/$f" ] || fail "not installed: $PREFIX/$f"
done
[ -x "$P/bin/hotline" ] && [ -x "$P/share/doc/hotline/examples/notify-log.sh" ] || fail "not executable"
[ "$(find "$D" -type f | wc -l)" -ge 15 ] || fail "only $(find "$D" -type f | wc -l) files installed"
grep -qx "ExecStart=$PREFIX/bin/hotline -d \${STATE_DIRECTORY} run" "$P/lib/systemd/system/hotline@.service" ||
	fail "the unit does not run $PREFIX/bin/hotline: $(grep ExecStart= "$P/lib/systemd/system/hotline@.service")"
[ "$("$P/bin/hotline" --version)" = "$("$HOTLINE" --version)" ] || fail "the installed binary does not run"
HL=$P/bin/hotline
"$HL" -d "$T/inst" init --name installed --listen 127.0.0.1:1 >/dev/null || fail "init with the installed binary"
[[ "$("$HL" -d "$T/inst" id)" =~ ^installed\ hl1: ]] || fail "id with the installed binary"
ok "installed under $PREFIX ($(find "$D" -type f | wc -l) files); the installed binary runs"

# ---- man pages ----
for page in "$P/share/man/man1/hotline.1" "$P/share/man/man5/hotline-config.5"; do
	MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" >"$T/man.out" 2>"$T/man.err" ||
		fail "man $page failed: $(cat "$T/man.err")"
	[ -s "$T/man.err" ] && fail "man -l $(basename "$page") warns: $(head -n 5 "$T/man.err")"
	grep -q '^NAME' "$T/man.out" || fail "$(basename "$page") rendered without a NAME section"
done
ok "hotline(1) and hotline-config(5) render without a warning"

# ---- every command and option: man page, docs/cli.md, completion ----
MAN1=$(sed 's/\\-/-/g' "$P/share/man/man1/hotline.1")
MAN1_TEXT=$(MANWIDTH=200 LC_ALL=C.UTF-8 man -l "$P/share/man/man1/hotline.1" 2>/dev/null)
verbs=$("$HOTLINE" --help | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 { print $1 }')
[ "$(wc -w <<<"$verbs")" -ge 20 ] || fail "only $(wc -w <<<"$verbs") commands in hotline --help"
COMP=$P/share/bash-completion/completions/hotline
# complete WORDS...: what the completion offers for the last word.
complete_words() {
	bash --norc --noprofile -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _hotline; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$COMP" "$@"
}
offered_verbs=$(PATH=$P/bin:$PATH complete_words hotline "")
nopts=0
for v in $verbs; do
	grep -qE "^ {7}$v( |$)" <<<"$MAN1_TEXT" || fail "hotline(1) does not describe '$v'"
	grep -qE "^## .*\`$v\`" "$ROOT/docs/cli.md" || fail "docs/cli.md has no section for '$v'"
	grep -qx "$v" <<<"$offered_verbs" || fail "the completion does not offer '$v'"
	# Its options: those in the usage lines and those that start a line of their own.
	opts=$("$HOTLINE" "$v" --help | awk '/^$/ { u = 1 } !u || /^ +--/' | grep -oE -- '--[a-z][a-z-]+' | sort -u)
	# The options the completion offers for the command and each of its sub-commands.
	offered=$(
		PATH=$P/bin:$PATH complete_words hotline "$v" --
		for sub in $(PATH=$P/bin:$PATH complete_words hotline "$v" ""); do
			[[ $sub =~ ^[a-z]+$ ]] && PATH=$P/bin:$PATH complete_words hotline "$v" "$sub" --
		done
	)
	for o in $opts; do
		tok="(^|[^a-z-])$o([^a-z-]|\$)" # the option as a whole word
		grep -qE -- "$tok" <<<"$MAN1" || fail "hotline(1) does not mention $v $o"
		grep -qE -- "$tok" "$ROOT/docs/cli.md" || fail "docs/cli.md does not mention $v $o"
		grep -qx -- "$o" <<<"$offered" || fail "the completion does not offer $v $o"
		nopts=$((nopts + 1))
	done
done
ok "hotline(1), docs/cli.md and the completion know all $(wc -w <<<"$verbs") commands and their $nopts options"

# ---- every config key: hotline-config(5) and docs/operations.md ----
MAN5=$(sed 's/\\-/-/g' "$P/share/man/man5/hotline-config.5")
keys=$({
	grep -oE 'strcmp\(k, "[a-z_]+"\)' "$ROOT/src/config.c" | cut -d'"' -f2
	grep -oE '^ *NUM\([a-z_]+' "$ROOT/src/config.c" | sed 's/.*(//'
	grep -oE '\{"[a-z_]+", offsetof' "$ROOT/src/config.c" | cut -d'"' -f2
} | sort -u)
[ "$(wc -w <<<"$keys")" -ge 20 ] || fail "found only $(wc -w <<<"$keys") config keys in src/config.c"
for k in $keys; do
	grep -qE "^\.(B|BR|TP) .*\b$k\b" <<<"$MAN5" || grep -qE "^\.B $k$" <<<"$MAN5" ||
		fail "hotline-config(5) does not describe $k"
	grep -qF "| \`$k\` |" "$ROOT/docs/operations.md" || fail "docs/operations.md's table lacks $k"
done
ok "hotline-config(5) and docs/operations.md describe all $(wc -w <<<"$keys") config keys"

# ---- the completion on a real station ----
new_station washington
new_station beijing
pin washington beijing
hl -d "$T/washington" channel add beijing maritime >/dev/null
export HOTLINE_DIR=$T/washington
[ "$(PATH=$P/bin:$PATH complete_words hotline send --to "" | tr '\n' ' ')" = "beijing " ] ||
	fail "send --to offers: $(PATH=$P/bin:$PATH complete_words hotline send --to "")"
[ "$(PATH=$P/bin:$PATH complete_words hotline -d "$T/washington" suspend beijing "" | tr '\n' ' ')" = "general maritime " ] ||
	fail "suspend beijing offers: $(PATH=$P/bin:$PATH complete_words hotline suspend beijing "")"
[ "$(PATH=$P/bin:$PATH complete_words hotline send --precedence f)" = flash ] || fail "--precedence f"
PATH=$P/bin:$PATH complete_words hotline codebook show "" | grep -qx LAUNCH || fail "codebook show offers no LAUNCH"
unset HOTLINE_DIR
ok "the completion offers the station's peers, channels and codes"

# ---- the systemd unit ----
if ! command -v systemd-analyze >/dev/null; then
	echo "ok - skipped: no systemd-analyze"
	exit 0
fi
mkdir "$T/units"
sed "s|$PREFIX/bin/hotline|$P/bin/hotline|" "$P/lib/systemd/system/hotline@.service" >"$T/units/hotline@washington.service"
(cd "$T/units" && systemd-analyze verify --man=no hotline@washington.service) >"$T/verify.out" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$T/verify.out")"
[ -s "$T/verify.out" ] && fail "systemd-analyze verify warns: $(cat "$T/verify.out")"
(cd "$T/units" && systemd-analyze security --offline=yes hotline@washington.service) >"$T/security.out" 2>&1
exposure=$(grep -oE 'Overall exposure level for [^:]*: [0-9.]+' "$T/security.out" | awk '{ print $NF }')
[ -n "$exposure" ] || fail "systemd-analyze security said: $(tail -n 3 "$T/security.out")"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "the unit's exposure is $exposure, above 2.0"
ok "systemd-analyze verifies hotline@.service without a warning; exposure $exposure (0 best, 10 worst)"

# sysusers.d and tmpfiles.d, applied to a scratch root: the user, then its directory.
R=$T/sysroot
mkdir -p "$R/etc" "$R/var/lib"
systemd-sysusers --root="$R" "$P/lib/sysusers.d/hotline.conf" >"$T/sysusers.out" 2>&1 ||
	fail "systemd-sysusers: $(cat "$T/sysusers.out")"
uid=$(awk -F: '$1 == "hotline" { print $3 }' "$R/etc/passwd")
[ -n "$uid" ] && grep -q '^hotline:x:[0-9]*:[0-9]*:hotline station:/var/lib/hotline:/usr/sbin/nologin$' "$R/etc/passwd" ||
	fail "no hotline user: $(cat "$R/etc/passwd")"
systemd-tmpfiles --root="$R" --create "$P/lib/tmpfiles.d/hotline.conf" >"$T/tmpfiles.out" 2>&1 ||
	fail "systemd-tmpfiles: $(cat "$T/tmpfiles.out")"
[ "$(stat -c '%u %a' "$R/var/lib/hotline")" = "$uid 750" ] || fail "/var/lib/hotline: $(stat -c '%u %a' "$R/var/lib/hotline")"
ok "sysusers.d makes the hotline user (uid $uid), tmpfiles.d its /var/lib/hotline (0750)"
