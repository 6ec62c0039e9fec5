#!/bin/bash
# Codebook messages on the line: sent as code and values (never rendered
# text), checked against the template (a bad value names the field), shown
# at the receiving station in its operators' language; parallel texts side
# by side; a codebook mismatch between the stations is seen at link-up,
# refuses codebook messages with a signed reason, and free text still flows.
. "$(dirname "$0")/lib.sh"

new_station washington
new_station beijing
pair washington beijing
set_config beijing language zh
set_config washington notify "cat >> $T/washington.events"
: >"$T/washington.events"
start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"

cb_field() { hl -d "$T/$1" status --json | jq -r ".peers[0].codebook.$2"; }
wait_for 3000 sh -c "[ \"\$('$HOTLINE' -d '$T/washington' status --json | jq -r '.peers[0].codebook.agreed')\" = true ]" ||
	fail "the stations did not agree on the codebook: $(hl -d "$T/washington" status --json | jq -c '.peers[0].codebook')"
[ "$(cb_field washington ours)" = "$(cb_field beijing ours)" ] || fail "hashes differ"
ok "same codebook on both sides, compared at link-up"

if err=$(hl -d "$T/washington" send --to beijing --code LAUNCH vehicle=icbm count=1 \
	window=2026-12-01T09:00Z/2026-12-01T06:00Z launch_area=circle:40.0,90.0,50 \
	impact_area=circle:10.0,150.0,200 2>&1); then fail "a window ending before it starts was sent"; fi
grep -q "window" <<<"$err" || fail "the error does not name the field: $err"
if err=$(hl -d "$T/washington" send --to beijing --code LAUNCH vehicle=nope 2>&1); then fail "bad enum sent"; fi
grep -q "vehicle" <<<"$err" || fail "the error does not name the field: $err"
if err=$(hl -d "$T/washington" send --to beijing --code NOSUCH 2>&1); then fail "unknown code sent"; fi
grep -qi "unknown code" <<<"$err" || fail "unclear: $err"
ok "bad values refused before anything is stored: $err"

args=$(hl -d "$T/washington" codebook show LAUNCH --json | jq -r '.fields[] | "\(.name)=\(.example)"')
mapfile -t fields <<<"$args"
id=$(hl -d "$T/washington" send --to beijing --code LAUNCH "${fields[@]}") || fail "send --code LAUNCH"
wait_for 5000 all_delivered washington 1 || fail "the launch notification was not delivered"
j=$(hl -d "$T/beijing" show "$id" --json)
[ "$(jq -r .media_type <<<"$j")" = application/vnd.hotline.code+json ] || fail "not sent as code: $j"
[ "$(jq -r .precedence <<<"$j")" = "$(hl -d "$T/washington" codebook show LAUNCH --json | jq -r .precedence)" ] ||
	fail "the template's precedence was not used"
zh_title=$(hl -d "$T/beijing" codebook show LAUNCH --json | jq -r .title.zh)
out=$(hl -d "$T/beijing" show "$id")
grep -qF "$zh_title" <<<"$out" || fail "beijing (language zh) does not show the Chinese title: $out"
hl -d "$T/beijing" inbox | grep -qF "$zh_title" || fail "the inbox preview is not in Chinese"
en_title=$(hl -d "$T/beijing" codebook show LAUNCH --json | jq -r .title.en)
grep -qF "$en_title" <<<"$out" && fail "beijing shows English by default"
hl -d "$T/beijing" show "$id" --lang both | grep -qF "$en_title" || fail "--lang both lacks English"
hl -d "$T/washington" show "$id" | grep -qF "$en_title" || fail "washington (en) does not show English"
[ "$(jq -r .rendered.zh <<<"$j" | grep -cF "$zh_title")" -ge 1 ] || fail "show --json lacks the rendering"
ok "a launch notification sent in English is read in Chinese at beijing"

# And the other way: beijing (zh) sends, washington (en) reads English.
mapfile -t cfields < <(hl -d "$T/beijing" codebook show CALL_REQUEST --json | jq -r '.fields[] | "\(.name)=\(.example)"')
cid=$(hl -d "$T/beijing" send --to washington --code CALL_REQUEST "${cfields[@]}") || fail "beijing: send --code"
wait_for 5000 all_delivered beijing 1 || fail "beijing's call request not delivered"
out=$(hl -d "$T/washington" show "$cid")
grep -qF "$(hl -d "$T/washington" codebook show CALL_REQUEST --json | jq -r .title.en)" <<<"$out" ||
	fail "washington (en) does not read beijing's codebook message in English: $out"
grep -qF "$(hl -d "$T/washington" codebook show CALL_REQUEST --json | jq -r .title.zh)" <<<"$out" &&
	fail "washington shows Chinese by default"
ok "a call request sent from beijing (zh) is read in English at washington"

# Parallel texts, both signed (one body), side by side.
pid=$(hl -d "$T/beijing" send --to washington --text-zh "请求通话。" --text-en "Request a call." --original zh)
wait_for 5000 all_delivered beijing 2 || fail "parallel texts not delivered"
out=$(hl -d "$T/washington" show "$pid" --lang both)
grep -q "\[zh, original\] 请求通话。" <<<"$out" && grep -q "\[en, translation\] Request a call." <<<"$out" ||
	fail "parallel texts not shown side by side: $out"
ok "parallel texts, the original marked"

# A different codebook at beijing: seen at link-up, codebook messages refused, text flows.
stop beijing
sed -i 's/"version": *"[^"]*"/"version": "2099.9-local"/' "$T/beijing/codebook.json"
start beijing
wait_for 3000 sh -c "[ \"\$('$HOTLINE' -d '$T/washington' status --json | jq -r '.peers[0].codebook.agreed')\" = false ]" ||
	fail "the mismatch is not shown"
grep -q "event=codebook_mismatch" "$T/washington.log" || fail "no codebook_mismatch log line"
wait_for 3000 sh -c "grep -q '\"event\":\"codebook_mismatch\"' '$T/washington.events'" ||
	fail "the notify hook did not hear of the codebook mismatch"
grep '"event":"codebook_mismatch"' "$T/washington.events" | jq -e '.peer_version == "2099.9-local"' >/dev/null ||
	fail "codebook_mismatch event: $(grep codebook_mismatch "$T/washington.events")"
rid=$(hl -d "$T/washington" send --to beijing --code "$(hl -d "$T/washington" codebook list --json | jq -r '.[0].code')" \
	$(hl -d "$T/washington" codebook show "$(hl -d "$T/washington" codebook list --json | jq -r '.[0].code')" --json | jq -r '.fields[] | select(.required) | "\(.name)=\(.example)"'))
tid=$(hl -d "$T/washington" send --to beijing --text "free text still works")
wait_for 5000 sh -c "[ \"\$('$HOTLINE' -d '$T/washington' show $rid --json | jq -r .state)\" = refused ]" ||
	fail "a codebook message across a mismatch was not refused"
hl -d "$T/washington" show "$rid" --json | jq -r .refused_reason | grep -qi codebook || fail "refusal reason lacks 'codebook'"
wait_for 5000 sh -c "[ \"\$('$HOTLINE' -d '$T/washington' show $tid --json | jq -r .state)\" = delivered ]" ||
	fail "free text did not flow across a codebook mismatch"
ok "codebook mismatch: shown, codebook messages refused with a signed reason, free text delivered"
stop washington
stop beijing
