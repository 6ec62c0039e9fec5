#!/bin/bash
# The codebook (docs/codebook.md) from the command line, no daemon needed:
# init installs the default codebook; list, show, hash and render document
# and check templates; bad values fail naming the field; two stations with
# the same file have the same hash, and a changed file changes it.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# expect CODE PATTERN CMD...: run CMD, want exit CODE and one stderr line matching PATTERN.
expect() {
	local code=$1 pat=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq "$code" ] || fail "'$*' exited $rc, want $code: $(cat "$T/err")"
	grep -Eq -- "$pat" "$T/err" || fail "'$*' said '$(cat "$T/err")', want /$pat/"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "'$*' wrote more than one error line"
}

new_station washington
new_station beijing
W=$T/washington
B=$T/beijing
cmp -s "$W/codebook.json" "$ROOT/codebook/default.json" ||
	fail "init did not write codebook/default.json as DIR/codebook.json"
[ "$(stat -c %a "$W/codebook.json")" = 644 ] || fail "codebook.json is not mode 0644"
hl codebook --help | grep -q "usage: hotline -d DIR codebook list" || fail "codebook --help"
hl --help | grep -q "codebook" || fail "the main help does not list codebook"
ok "init installs the default codebook (0644)"

# list: every template of the issue, with both titles.
hl -d "$W" codebook list >"$T/list" || fail "codebook list"
for code in LINK_TEST CALL_REQUEST LAUNCH ENCOUNTER INCIDENT CLARIFY TALKS REPLY UNDERSTOOD SAR; do
	grep -q "^$code " "$T/list" || fail "codebook list lacks $code"
done
grep -q "弹道导弹或航天发射通报" "$T/list" || fail "codebook list lacks the Chinese titles"
grep -q "Ballistic missile or space launch notification" "$T/list" || fail "list: English title"
hl -d "$W" codebook list --lang zh | grep -q "Ballistic" && fail "list --lang zh shows English"
hl -d "$W" codebook list --json >"$T/list.json" || fail "codebook list --json"
[ "$(jq length "$T/list.json")" -ge 10 ] || fail "list --json: fewer than 10 templates"
jq -e 'all(.[]; (.code | type) == "string" and (.precedence | IN("flash", "immediate", "priority", "routine"))
	and (.title.en | length) > 0 and (.title.zh | length) > 0)' "$T/list.json" >/dev/null ||
	fail "list --json: a template lacks code, precedence or titles"
ok "codebook list (text, --lang, --json)"

# show --json: every field documented, and every example accepted by render.
hl -d "$W" codebook show LAUNCH --json >"$T/launch.json" || fail "show LAUNCH --json"
jq -e '.fields | length >= 4 and all(.[]; (.name | type) == "string" and (.type | type) == "string"
	and (.required | type) == "boolean" and (.example | type) == "string"
	and (.label.en | length) > 0 and (.label.zh | length) > 0)' "$T/launch.json" >/dev/null ||
	fail "show LAUNCH --json: a field lacks name, type, required, labels or example"
jq -e '.fields[] | select(.name == "vehicle") | .values[] | select(.value == "icbm") | .label.zh == "洲际弹道导弹"' \
	"$T/launch.json" >/dev/null || fail "show LAUNCH --json: enumeration labels"
hl -d "$W" codebook show launch | grep -q "example: window=2026-12-01T06:00Z/2026-12-01T09:00Z" ||
	fail "show LAUNCH (text) does not give the window example"
for code in $(jq -r '.[].code' "$T/list.json"); do
	hl -d "$W" codebook show "$code" --json >"$T/show.json" || fail "show $code --json"
	mapfile -t argv < <(jq -r '.fields[] | "\(.name)=\(.example)"' "$T/show.json")
	hl -d "$W" codebook render "$code" "${argv[@]}" --json >"$T/render.json" ||
		fail "the examples of $code do not render: $(hl -d "$W" codebook render "$code" "${argv[@]}" 2>&1)"
	jq -e '(.rendered.en | length) > 0 and (.rendered.zh | length) > 0' "$T/render.json" >/dev/null ||
		fail "$code: no rendering in both languages"
	jq -e --slurpfile s "$T/show.json" '.rendered == $s[0].rendered_example' "$T/render.json" >/dev/null ||
		fail "$code: show's rendered example differs from render"
done
ok "show --json documents every field; every template's examples render in en and zh"

# render: English, Chinese, both; the body is code + values, never text.
enc=(ENCOUNTER domain=sea time=2026-12-01T06:10Z position=32.1,124.5 own_units="one destroyer"
	observed_units="one frigate" intentions="keep course" request=keep_clear)
hl -d "$W" codebook render "${enc[@]}" --lang en >"$T/en" || fail "render --lang en"
grep -q "Position: 32.1°N 124.5°E" "$T/en" || fail "render en: position: $(cat "$T/en")"
grep -q "Request: keep clear of our units" "$T/en" || fail "render en: enumeration label"
grep -q "Time: 2026-12-01 06:10 UTC" "$T/en" || fail "render en: time"
grep -q "北纬" "$T/en" && fail "render --lang en shows Chinese"
hl -d "$W" codebook render "${enc[@]}" --lang zh >"$T/zh" || fail "render --lang zh"
grep -q "位置：北纬32.1° 东经124.5°" "$T/zh" || fail "render zh: position: $(cat "$T/zh")"
grep -q "请求：请与我方兵力保持安全距离" "$T/zh" || fail "render zh: enumeration label"
grep -q "时间：2026年12月1日6时10分（协调世界时）" "$T/zh" || fail "render zh: time"
grep -q "海上意外相遇通报" "$T/zh" || fail "render zh: title line"
hl -d "$W" codebook render "${enc[@]}" >"$T/both" || fail "render (both)"
grep -q "32.1°N" "$T/both" && grep -q "北纬32.1°" "$T/both" || fail "render shows both by default"
hl -d "$W" codebook render "${enc[@]}" --json >"$T/r.json" || fail "render --json"
jq -e '.media_type == "application/vnd.hotline.code+json" and (.body | fromjson | .code == "ENCOUNTER"
	and .fields.position == "32.1,124.5" and .fields.request == "keep_clear")' "$T/r.json" >/dev/null ||
	fail "render --json: the body is not code + canonical values"
jq -e '.body | test("保持|keep clear") | not' "$T/r.json" >/dev/null || fail "the body carries rendered text"
# The station's language comes first.
echo "language = zh" >>"$B/config"
hl -d "$B" codebook render "${enc[@]}" | head -n 1 | grep -q "海上或空中意外相遇通报" ||
	fail "with language = zh, Chinese does not come first"
ok "render in en, zh and both; the body holds the code and canonical values"

# Refusals name the field, exit 2, change nothing.
expect 2 "field 'position': expected a latitude from -90 to 90, got '95'" \
	hl -d "$W" codebook render ENCOUNTER position=95,124.5
expect 2 "field 'window': the end .* is not after the start" \
	hl -d "$W" codebook render LAUNCH vehicle=icbm window=2026-12-01T09:00Z/2026-12-01T06:00Z
expect 2 "field 'vehicle': expected one of icbm" hl -d "$W" codebook render LAUNCH vehicle=rocket
expect 2 "missing required field 'window'" \
	hl -d "$W" codebook render LAUNCH vehicle=icbm launch_area=circle:1,2,3 impact_area=circle:1,2,3
expect 2 "unknown code 'NOPE': see 'hotline codebook list'" hl -d "$W" codebook render NOPE a=1
expect 2 "unknown field 'foo' for LAUNCH: fields are vehicle," hl -d "$W" codebook render LAUNCH foo=1
expect 2 "field 'impact_area': a polygon needs 3 to 64 vertices" \
	hl -d "$W" codebook render LAUNCH impact_area="polygon:1,2;3,4"
expect 2 "field 'message': expected a message id" hl -d "$W" codebook render CLARIFY message=xyz
expect 2 "--lang must be en or zh or both" hl -d "$W" codebook render LAUNCH --lang fr
expect 2 "--lang must be en or zh, not 'both'" hl -d "$W" codebook show LAUNCH --lang both
expect 2 "unknown codebook command" hl -d "$W" codebook frob
expect 2 "unknown code 'NOPE'" hl -d "$W" codebook show NOPE
cmp -s "$W/codebook.json" "$ROOT/codebook/default.json" || fail "a refused command changed the codebook"
ok "bad values refused, each naming its field"

# hash: the same on both stations and for the source file; a change shows.
hw=$(hl -d "$W" codebook hash) || fail "codebook hash"
hb=$(hl -d "$B" codebook hash) || fail "codebook hash on beijing"
[ "$hw" = "$hb" ] || fail "the two stations' hashes differ: $hw / $hb"
[[ "$hw" =~ ^[0-9a-f]{64}\ 2026\.1$ ]] || fail "hash output is not 'HEX VERSION': $hw"
[ "$(hl codebook hash --file "$ROOT/codebook/default.json")" = "$hw" ] || fail "hash --file"
[ "${hw%% *}" = "$(b2sum -l 256 "$ROOT/codebook/default.json" | cut -d' ' -f1)" ] ||
	fail "the hash is not BLAKE2b-256 of the file"
hl -d "$W" codebook hash --json | jq -e --arg h "${hw%% *}" '.hash == $h and .version == "2026.1"' \
	>/dev/null || fail "hash --json"
sed 's/"version": "2026.1"/"version": "2026.2"/' "$ROOT/codebook/default.json" >"$B/v2.json"
echo "codebook = v2.json" >>"$B/config"
hb=$(hl -d "$B" codebook hash) || fail "hash of a codebook named in the config"
[ "${hb#* }" = 2026.2 ] && [ "${hb%% *}" != "${hw%% *}" ] || fail "another codebook, same hash: $hb"
ok "codebook hash: equal on two stations, BLAKE2b-256 of the file, changed by any edit"

# A missing or broken codebook is one clear line.
rm "$W/codebook.json"
expect 1 "codebook.json: no codebook there" hl -d "$W" codebook list
echo '{"format": "hotline-codebook-v1", "version": "x", "templates": []}' >"$W/codebook.json"
expect 1 "codebook.json: missing \"name\"" hl -d "$W" codebook list
expect 1 "not valid JSON" hl codebook hash --file /dev/null
echo "language = fr" >>"$B/config"
expect 1 "config: line [0-9]+: language: must be en or zh" hl -d "$B" codebook list
ok "missing and malformed codebooks refused with one line"
