#!/bin/bash
# A passphrase prompt ended by a signal (Ctrl-C, a supervisor's SIGTERM)
# gives the operator's terminal its echo back: tested on a real pty.
. "$(dirname "$0")/lib.sh"

PY=$(command -v python3 || echo /usr/bin/python3)
out=$("$PY" "$(dirname "$0")/../tools/prompt_signal.py" "$HOTLINE" "$T/prompt") ||
	fail "the prompt left the terminal without echo: $out"
[ ! -e "$T/prompt/identity.key" ] || fail "a station was created without a passphrase"
ok "SIGTERM at the passphrase prompt: $out, nothing created"
