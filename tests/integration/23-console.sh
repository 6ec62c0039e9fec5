#!/bin/bash
# The web console's API over plain HTTP (docs/console.md), on two paired
# stations: sign-in, status, a FLASH sent by a duty officer arriving live
# (Server-Sent Events, within a second) in the peer's inbox, acknowledged
# there by name and seen acknowledged in the sender's outbox; and the
# refusals: no session 401, no CSRF token 403, repeated wrong passwords 429,
# one station's cookie useless at the other, a watch officer refused FLASH
# and suspension, malformed requests 4xx with the station still serving,
# and /metrics as Prometheus text without message content.
. "$(dirname "$0")/lib.sh"

declare -A CPORT
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || PY=/usr/bin/python3

for s in washington beijing; do
	new_station "$s"
	CPORT[$s]=$(free_port)
	set_config "$s" console "127.0.0.1:${CPORT[$s]}"
	set_config "$s" password_cost minimum # a sign-in costs milliseconds here
done
pair washington beijing
for s in washington:beijing beijing:washington; do
	hl -d "$T/${s%%:*}" channel add "${s##*:}" defense >/dev/null || fail "channel add"
done

# Operators: passwords from stdin (not a terminal), stored as Argon2id.
add_op() { # STATION NAME ROLE PASSWORD
	echo "$4" | hl -d "$T/$1" operator add "$2" --role "$3" >/dev/null || fail "operator add $2"
}
add_op washington "Gen. Smith" duty "smith-password-1"
add_op washington "Lt. Jones" watch "jones-password-1"
add_op beijing "Col. Li Wei" duty "liwei-password-1"
echo "short" | hl -d "$T/washington" operator add shorty --role watch 2>/dev/null &&
	fail "a 5-byte password was accepted"
hl -d "$T/washington" operator list --json | jq -e 'length == 2 and .[0].name == "Gen. Smith" and .[0].role == "duty"' >/dev/null ||
	fail "operator list --json: $(hl -d "$T/washington" operator list --json)"
sqlite3 "$T/washington/station.db" "SELECT pwhash FROM operators" | grep -q '^\$argon2id\$' ||
	fail "the stored password is not an Argon2id hash"
sqlite3 "$T/washington/station.db" "SELECT * FROM operators" | grep -q "smith-password" &&
	fail "a password is stored in clear"
ok "operators added (watch, duty), hashed with Argon2id, a short password refused"

start washington
start beijing
wait_state washington beijing up 5000 >/dev/null || fail "link not up"
grep -q "event=console_listening address=127.0.0.1:${CPORT[washington]}" "$T/washington.log" ||
	fail "no console_listening line"

cat >"$T/console_test.py" <<'EOF'
import http.client, json, os, queue, re, socket, subprocess, sys, threading, time

A, B = int(os.environ["CA"]), int(os.environ["CB"])
HOTLINE, T = os.environ["HOTLINE"], os.environ["T"]


def fail(why):
    print("FAIL:", why)
    sys.stdout.flush()
    os._exit(1)


def ok(what):
    print("ok -", what)
    sys.stdout.flush()


def req(port, method, path, body=None, headers=None, raw=None, ctype="application/json"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None and ctype:
        h.setdefault("Content-Type", ctype)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    d = r.read()
    c.close()
    try:
        j = json.loads(d) if d else None
    except ValueError:
        j = None
    return r.status, dict(r.getheaders()), j, d


def alive(port):
    s, _, _, _ = req(port, "GET", "/app.js")
    if s != 200:
        fail("the console on %d stopped answering (%d)" % (port, s))


class Session:
    def __init__(self, port, station, name, password):
        s, h, j, d = req(port, "POST", "/api/login", {"name": name, "password": password})
        if s != 200 or not j or not j.get("ok"):
            fail("login %s at %s: %d %s" % (name, station, s, d))
        self.port, self.station, self.name, self.j = port, station, name, j
        self.cookie = h["Set-Cookie"].split(";")[0]
        self.value = self.cookie.split("=", 1)[1]
        self.csrf = j["csrf"]
        self.set_cookie = h["Set-Cookie"]

    def get(self, path):
        return req(self.port, "GET", path, headers={"Cookie": self.cookie})

    def post(self, path, body=None, csrf=True):
        h = {"Cookie": self.cookie}
        if csrf:
            h["X-CSRF-Token"] = self.csrf
        return req(self.port, "POST", path, body if body is not None else {}, headers=h)


# --- static pages and no session ---
for path, ctype in (("/", "text/html"), ("/app.js", "text/javascript"), ("/app.css", "text/css")):
    s, h, _, d = req(A, "GET", path)
    if s != 200 or not h.get("Content-Type", "").startswith(ctype) or not d:
        fail("GET %s: %d %s" % (path, s, h.get("Content-Type")))
    if "default-src 'self'" not in h.get("Content-Security-Policy", ""):
        fail("GET %s has no Content-Security-Policy" % path)
ok("the pages are served, with a Content-Security-Policy")

gets = ["/api/me", "/api/status", "/api/inbox", "/api/inbox?all=1", "/api/outbox",
        "/api/message?id=abcdef012345", "/api/codebook", "/api/transcript?peer=beijing",
        "/api/events", "/api/nonexistent"]
posts = ["/api/logout", "/api/language", "/api/send", "/api/ack", "/api/suspend",
         "/api/resume", "/api/nonexistent"]
for p in gets:
    s, _, j, d = req(A, "GET", p)
    if s != 401 or not j or j.get("error") != "unauthorized" or j.get("ok") is not False:
        fail("GET %s without a session: %d %s" % (p, s, d))
for p in posts:
    s, _, j, d = req(A, "POST", p, {"id": "abc"})
    if s != 401 or j.get("error") != "unauthorized":
        fail("POST %s without a session: %d %s" % (p, s, d))
s, _, j, _ = req(A, "GET", "/api/status", headers={"Cookie": "hl_session_washington=" + "A" * 43})
if s != 401:
    fail("a made-up session cookie: %d" % s)
ok("every /api/ call without a session: 401 unauthorized (%d calls)" % (len(gets) + len(posts) + 1))

# --- sign-in, rate limiting ---
s, _, j, _ = req(A, "POST", "/api/login", {"name": "Gen. Smith", "password": "wrong"})
if s != 401 or j.get("error") != "bad_login":
    fail("a wrong password: %d %s" % (s, j))
s, _, j, _ = req(A, "POST", "/api/login", {"name": "Nobody", "password": "smith-password-1"})
if s != 401 or j.get("error") != "bad_login":
    fail("an unknown name: %d %s" % (s, j))
codes = []
for i in range(6):
    s, h, j, _ = req(A, "POST", "/api/login", {"name": "Lt. Jones", "password": "guess%d" % i})
    codes.append(s)
if codes[:5] != [401] * 5 or codes[5] != 429:
    fail("5 wrong passwords then a sixth: %s" % codes)
s, h, j, _ = req(A, "POST", "/api/login", {"name": "Lt. Jones", "password": "jones-password-1"})
if s != 429 or j.get("error") != "rate_limited" or "Retry-After" not in h:
    fail("the right password during the lock-out: %d %s" % (s, j))
time.sleep(int(h["Retry-After"]) + 0.2)
watch = Session(A, "washington", "Lt. Jones", "jones-password-1")
ok("wrong password 401 bad_login; the 6th try 429 rate_limited (Retry-After %s), even with the "
   "right password; after the lock-out it works" % h["Retry-After"])

smith = Session(A, "washington", "Gen. Smith", "smith-password-1")
li = Session(B, "beijing", "Col. Li Wei", "liwei-password-1")
sc = smith.set_cookie
if "HttpOnly" not in sc or "SameSite=Strict" not in sc or "Path=/" not in sc:
    fail("cookie attributes: %s" % sc)
if len(smith.value) != 43 or not re.fullmatch(r"[A-Za-z0-9_-]{43}", smith.value):
    fail("the session cookie is not 32 bytes of base64url: %s" % smith.value)
if smith.j["role"] != "duty" or smith.j["station"] != "washington" or watch.j["role"] != "watch":
    fail("login answers: %s %s" % (smith.j, watch.j))
s, _, j, _ = smith.get("/api/me")
if s != 200 or j["operator"] != "Gen. Smith" or j["csrf"] != smith.csrf:
    fail("/api/me: %d %s" % (s, j))
ok("signed in: cookie %s (HttpOnly, SameSite=Strict), /api/me answers" % sc.split("=")[0])

# --- one station's cookie is useless at the other ---
for cookie in ("hl_session_washington=" + smith.value, "hl_session_beijing=" + smith.value):
    s, _, j, _ = req(B, "GET", "/api/me", headers={"Cookie": cookie})
    if s != 401:
        fail("washington's session at beijing (%s): %d" % (cookie.split("=")[0], s))
s, _, _, _ = req(A, "GET", "/api/me", headers={"Cookie": "hl_session_washington=" + li.value})
if s != 401:
    fail("beijing's session at washington: %d" % s)
ok("a session cookie from one station is useless at the other (both ways, either name)")

# --- CSRF ---
s, _, j, _ = smith.post("/api/send", {"to": "beijing", "text": "no token"}, csrf=False)
if s != 403 or j.get("error") != "csrf":
    fail("POST without X-CSRF-Token: %d %s" % (s, j))
s, _, j, _ = req(A, "POST", "/api/send", {"to": "beijing", "text": "wrong token"},
                 headers={"Cookie": smith.cookie, "X-CSRF-Token": li.csrf})
if s != 403 or j.get("error") != "csrf":
    fail("POST with another session's token: %d %s" % (s, j))
s, _, j, _ = req(A, "POST", "/api/logout", {}, headers={"Cookie": smith.cookie})
if s != 403:
    fail("logout without the token: %d" % s)
s, _, j, _ = req(A, "POST", "/api/send", {"to": "beijing", "text": "cross-site"},
                 headers={"Cookie": smith.cookie, "X-CSRF-Token": smith.csrf,
                          "Origin": "http://evil.example"})
if s != 403 or j.get("error") != "bad_origin":
    fail("POST from another origin: %d %s" % (s, j))
s, _, j, _ = req(A, "GET", "/api/me", headers={"Cookie": smith.cookie,
                                                "Host": "rebind.example:%d" % A})
if s != 400 or j.get("error") != "bad_host":
    fail("a DNS name in Host: %d %s" % (s, j))
out = subprocess.run([HOTLINE, "-d", T + "/washington", "outbox", "--json"],
                     capture_output=True, text=True).stdout
if json.loads(out):
    fail("a refused request stored a message: %s" % out)
ok("a change without the CSRF token: 403 csrf (also another session's, another Origin); "
   "a DNS name as Host: 400; nothing stored")

# --- live events: a FLASH from beijing reaches washington's stream within a second ---
events = queue.Queue()


def stream(port, cookie, q):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/api/events", headers={"Cookie": cookie, "Accept": "text/event-stream"})
    r = c.getresponse()
    if r.status != 200 or not r.getheader("Content-Type", "").startswith("text/event-stream"):
        q.put(("error", r.status, 0))
        return
    q.put(("open", None, time.monotonic()))
    ev = None
    while True:
        line = r.readline()
        if not line:
            q.put(("closed", None, time.monotonic()))
            return
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            ev = line[7:]
        elif line.startswith("data: "):
            q.put((ev, json.loads(line[6:]), time.monotonic()))


threading.Thread(target=stream, args=(A, smith.cookie, events), daemon=True).start()
kind, _, _ = events.get(timeout=5)
if kind != "open":
    fail("the event stream did not open: %s" % kind)
t0 = time.monotonic()
s, _, j, d = li.post("/api/send", {"to": "washington", "precedence": "flash",
                                    "text": "SECRET-FLASH-TEXT request a call at 14:00Z"})
if s != 200 or not j.get("id"):
    fail("beijing's duty officer sends FLASH: %d %s" % (s, d))
fid = j["id"]
got = None
while got is None:
    try:
        kind, data, at = events.get(timeout=max(0.01, t0 + 3 - time.monotonic()))
    except queue.Empty:
        fail("no message event at washington within 3 s of beijing's send")
    if kind == "message" and data.get("id") == fid:
        got = at - t0
        if data.get("state") != "unacknowledged" or data.get("direction") != "in":
            fail("the message event: %s" % data)
if got > 1.0:
    fail("the message event took %.3f s (over 1 s)" % got)
s, _, j, _ = smith.get("/api/inbox")
m = [x for x in j["messages"] if x["id"] == fid]
if s != 200 or not m or m[0]["precedence"] != "flash" or m[0]["state"] != "unacknowledged" \
        or m[0]["overdue"] is not False or not m[0]["deadline"] or "SECRET-FLASH-TEXT" not in m[0]["text"]:
    fail("washington's inbox: %s" % j)
s, _, j, _ = smith.get("/api/message?id=" + fid)
if s != 200 or j["message"]["id"] != fid or not j["message"]["history"]:
    fail("/api/message: %d %s" % (s, j))
ok("FLASH from beijing's console: event at washington after %.0f ms, in its inbox with a "
   "deadline" % (got * 1000))

# --- acknowledged in washington's console, by name; beijing's outbox turns acknowledged ---
s, _, j, d = smith.post("/api/ack", {"id": fid})
if s != 200 or not j.get("ok"):
    fail("ack: %d %s" % (s, d))
s, _, j, _ = smith.post("/api/ack", {"id": fid})
if s != 409:
    fail("a second ack: %d %s" % (s, j))
deadline = time.monotonic() + 5
while True:
    s, _, j, _ = li.get("/api/outbox")
    m = [x for x in j["messages"] if x["id"] == fid]
    if m and m[0]["state"] == "acknowledged":
        break
    if time.monotonic() > deadline:
        fail("beijing's outbox never showed acknowledged: %s" % m)
    time.sleep(0.1)
if m[0]["acknowledged_by"] != "Gen. Smith":
    fail("acknowledged by %s" % m[0]["acknowledged_by"])
out = json.loads(subprocess.run([HOTLINE, "-d", T + "/beijing", "outbox", "--json"],
                                capture_output=True, text=True).stdout)
if [x["acknowledged_by"] for x in out if x["id"] == fid] != ["Gen. Smith"]:
    fail("beijing's CLI outbox: %s" % out)
ok("acknowledged in washington's console: beijing's outbox says acknowledged by Gen. Smith")

# --- roles: a watch officer ---
s, _, j, _ = watch.post("/api/send", {"to": "beijing", "precedence": "flash", "text": "x"})
if s != 403 or j.get("error") != "forbidden":
    fail("watch officer sends FLASH: %d %s" % (s, j))
s, _, j, _ = watch.post("/api/send", {"to": "beijing", "precedence": "immediate", "text": "x"})
if s != 403:
    fail("watch officer sends IMMEDIATE: %d" % s)
s, _, j, _ = watch.post("/api/suspend", {"peer": "beijing", "channel": "defense", "reason": "no"})
if s != 403 or j.get("error") != "forbidden":
    fail("watch officer suspends: %d %s" % (s, j))
s, _, j, _ = watch.post("/api/resume", {"peer": "beijing", "channel": "defense"})
if s != 403:
    fail("watch officer resumes: %d" % s)
s, _, j, d = watch.post("/api/send", {"to": "beijing", "precedence": "priority",
                                       "text": "SECRET-ROUTINE-TEXT weather report"})
if s != 200:
    fail("watch officer sends PRIORITY: %d %s" % (s, d))
s, _, j, _ = watch.post("/api/send", {"to": "beijing", "code": "CALL_REQUEST",
                                       "fields": {"medium": "pigeon"}})
if s != 400 or j.get("error") != "invalid" or j.get("field") != "medium":
    fail("a codebook message with a bad field: %d %s" % (s, j))
s, _, j, _ = watch.post("/api/send", {"to": "beijing", "channel": "nochannel", "text": "x"})
if s != 400 or j.get("field") != "channel":
    fail("an unknown channel: %d %s" % (s, j))
ok("a watch officer: FLASH, IMMEDIATE, suspend, resume 403 forbidden; PRIORITY sent; "
   "a bad codebook field 400 naming it")

# --- a duty officer suspends; beijing's console sees it ---
s, _, j, d = smith.post("/api/suspend", {"peer": "beijing", "channel": "defense",
                                         "reason": "pending consultations"})
if s != 200 or not j.get("id"):
    fail("suspend: %d %s" % (s, d))
deadline = time.monotonic() + 5
while True:
    s, _, j, _ = li.get("/api/status")
    ch = [c for p in j["peers"] for c in p.get("channels", []) if c["name"] == "defense"]
    if ch and ch[0]["state"] == "suspended":
        break
    if time.monotonic() > deadline:
        fail("beijing's status never showed defense suspended: %s" % ch)
    time.sleep(0.1)
if not j.get("now") or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", j["now"]):
    fail("status has no 'now': %s" % j.get("now"))
offsets = [p.get("clock_offset_ms") for p in j["peers"]] + \
    [p.get("clock_offset_ms") for p in smith.get("/api/status")[2]["peers"]]
if not any(isinstance(x, (int, float)) and abs(x) < 2000 for x in offsets):
    fail("no side knows the other's clock: %s" % offsets)
by = ch[0]["suspended_by"][0]
if by["operator"] != "Gen. Smith" or by["reason"] != "pending consultations":
    fail("the suspension as beijing sees it: %s" % by)
s, _, j, _ = smith.post("/api/send", {"to": "beijing", "channel": "defense", "text": "x"})
if s != 409 or j.get("error") != "refused" or "pending consultations" not in j.get("message", ""):
    fail("a send on a channel this station suspended: %d %s" % (s, j))
s, _, j, d = smith.post("/api/resume", {"peer": "beijing", "channel": "defense"})
if s != 200:
    fail("resume: %d %s" % (s, d))
ok("suspended by Gen. Smith in washington's console: beijing's status shows it, with the "
   "reason; washington's own send on it 409 with the reason; resumed")

# --- malformed requests: 4xx, and the station keeps serving ---
s, _, j, _ = req(A, "POST", "/api/send", raw=b"{\"to\": \"beijing\", \"text\": ",
                 headers={"Cookie": smith.cookie, "X-CSRF-Token": smith.csrf})
if s != 400 or j.get("error") != "bad_json":
    fail("bad JSON: %d %s" % (s, j))
s, _, j, _ = req(A, "POST", "/api/send", raw=b"to=beijing&text=x", ctype="application/x-www-form-urlencoded",
                 headers={"Cookie": smith.cookie, "X-CSRF-Token": smith.csrf})
if s != 415:
    fail("a form body: %d %s" % (s, j))
s, _, j, _ = req(A, "POST", "/api/send", raw=b"{}", ctype="text/plain",
                 headers={"Cookie": smith.cookie, "X-CSRF-Token": smith.csrf})
if s != 415:
    fail("text/plain: %d" % s)
s, _, j, _ = req(A, "POST", "/api/send", raw=b"[1,2]",
                 headers={"Cookie": smith.cookie, "X-CSRF-Token": smith.csrf})
if s != 400:
    fail("a JSON array: %d" % s)
s, _, j, _ = req(A, "POST", "/api/send", {"to": ["beijing"], "text": 5},
                 headers={"Cookie": smith.cookie, "X-CSRF-Token": smith.csrf})
if s != 400 or j.get("field") != "to":
    fail("wrong types: %d %s" % (s, j))
big = b"{\"to\":\"beijing\",\"text\":\"" + b"x" * (2 << 20) + b"\"}"
try:
    s, _, j, _ = req(A, "POST", "/api/send", raw=big,
                     headers={"Cookie": smith.cookie, "X-CSRF-Token": smith.csrf})
except (ConnectionError, OSError):
    s = 413  # it may answer and close before reading it all
if s != 413:
    fail("a 2 MiB body: %d" % s)
big_status = s
alive(A)
# A huge header: more than the 32 KiB a connection may use.
try:
    s, _, _, _ = req(A, "GET", "/api/me", headers={"Cookie": smith.cookie, "X-Junk": "j" * 100000})
except (ConnectionError, OSError):
    s = 431
if s < 400 or s > 499:
    fail("a 100 KB header: %d" % s)
header_status = s
alive(A)
# Raw garbage, a request line without end, and a slow half request.
for raw in (b"\x00\x01\x02garbage\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
            b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n{",
            b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
    so = socket.create_connection(("127.0.0.1", A), timeout=5)
    try:
        so.sendall(raw)
        so.shutdown(socket.SHUT_WR)
        so.recv(4096)
    except OSError:
        pass
    so.close()
alive(A)
s, _, j, _ = smith.get("/api/message?id=NOT-HEX")
if s != 400:
    fail("a bad id: %d" % s)
s, _, j, _ = smith.get("/api/transcript?peer=nobody")
if s != 404:
    fail("a transcript of an unknown peer: %d" % s)
s, _, j, _ = smith.get("/api/me")
if s != 200:
    fail("the session did not survive the abuse: %d" % s)
ok("bad JSON 400, wrong content types 415, wrong types 400, 2 MiB body %d, 100 KB header %d, "
   "garbage: the station keeps serving" % (big_status, header_status))

# --- transcript ---
s, _, j, _ = smith.get("/api/transcript?peer=beijing")
if s != 200 or j["verified"] is not True or not j["detail"].startswith("verified"):
    fail("transcript: %d %s" % (s, j and j.get("detail")))
kinds = {e["kind"] for e in j["events"]}
if not {"message", "acknowledgment", "suspension", "resumption"} <= kinds:
    fail("transcript events: %s" % kinds)
s, _, j, _ = smith.get("/api/transcript?peer=beijing&q=secret-flash")
if s != 200 or [e["id"] for e in j["events"]] != [fid]:
    fail("transcript search: %s" % [e["id"] for e in j["events"]])
ok("transcript: verified (%s), searchable" % "events of every kind")

# --- metrics: Prometheus text, no message content ---
s, h, _, d = req(A, "GET", "/metrics")
text = d.decode()
if s != 200 or not h.get("Content-Type", "").startswith("text/plain; version=0.0.4"):
    fail("/metrics: %d %s" % (s, h.get("Content-Type")))
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? '
                    r'(-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')
names = set()
for line in text.splitlines():
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        continue
    if not sample.match(line):
        fail("not a Prometheus sample: %r" % line)
    names.add(line.split("{")[0].split(" ")[0])
for want in ("hotline_up", "hotline_peer_state", "hotline_peer_rtt_seconds", "hotline_link_up",
             "hotline_messages", "hotline_messages_overdue", "hotline_handshake_failures_total",
             "hotline_store_bytes", "hotline_channel_suspended", "hotline_console_logins_total"):
    if want not in names:
        fail("/metrics lacks %s" % want)
if 'hotline_peer_state{peer="beijing",state="up"} 1' not in text:
    fail("/metrics does not say beijing is up")
if 'hotline_messages{direction="in",state="acknowledged",precedence="flash"} 1' not in text:
    fail("/metrics does not count the acknowledged FLASH")
for secret in ("SECRET", "14:00Z", "weather", "pending consultations", "Gen. Smith"):
    if secret in text:
        fail("/metrics reveals %r" % secret)
ok("/metrics parses as Prometheus text (%d series), no message content, names or reasons"
   % len(text.splitlines()))

# --- sessions end: logout, a removed operator ---
s, _, j, _ = watch.post("/api/logout")
if s != 200 or watch.get("/api/me")[0] != 401:
    fail("logout: %d" % s)
r = subprocess.run([HOTLINE, "-d", T + "/beijing", "operator", "remove", "Col. Li Wei"],
                   capture_output=True, text=True)
if r.returncode != 0:
    fail("operator remove: %s" % r.stderr)
s, _, j, _ = li.get("/api/status")
if s != 401:
    fail("a removed operator's session: %d" % s)
try:
    kind, _, _ = events.get(timeout=0.1)
except queue.Empty:
    pass
ok("logout ends the session; a removed operator's session ends at once (401)")
EOF

CA=${CPORT[washington]} CB=${CPORT[beijing]} T="$T" HOTLINE="$HOTLINE" "$PY" "$T/console_test.py" ||
	fail "the console test failed"

grep -q 'event=console_refused status=401' "$T/washington.log" || fail "a 401 was not logged"
grep -q 'event=console_refused status=403 error=csrf' "$T/washington.log" || fail "a 403 was not logged"
grep -q 'event=console_refused status=429' "$T/washington.log" || fail "a 429 was not logged"
grep -q 'smith-password-1\|jones-password-1' "$T"/*.log && fail "a password reached a log"
ok "refused requests are logged (401, 403 csrf, 429), passwords never"

# A live stream open while the station stops: it ends, and the daemon exits cleanly.
cat >"$T/hold_stream.py" <<'PYEOF'
import http.client, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
c.request("POST", "/api/login", body=json.dumps({"name": "Gen. Smith", "password": "smith-password-1"}),
          headers={"Content-Type": "application/json"})
r = c.getresponse()
r.read()
cookie = r.getheader("Set-Cookie").split(";")[0]
c.request("GET", "/api/events", headers={"Cookie": cookie})
r = c.getresponse()
open(out, "w").write("open %d\n" % r.status)
try:
    while r.readline():
        pass
except Exception:
    pass
open(out, "a").write("closed\n")
PYEOF
"$PY" "$T/hold_stream.py" "${CPORT[washington]}" "$T/stream.out" &
hold=$!
wait_for 5000 grep -q "open 200" "$T/stream.out" || fail "the held stream did not open"
stop washington
wait_for 3000 grep -q closed "$T/stream.out" || fail "the stream did not end when the station stopped"
wait "$hold"
stop beijing
ok "both stations stop cleanly, washington with a live event stream open (it ends)"
