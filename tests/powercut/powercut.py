#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""powercut.py: power cuts and a corrupted store, against two real stations.

Two stations (washington, beijing) are paired on loopback, both daemons
running with the power-cut shim (tests/powercut/pcvfs.c) preloaded.
Messages of every precedence, acknowledgments and suspend/resume notices
flow both ways, and:

- a power cut (--cuts N): one station, chosen at random, loses power at a
  random point of its store's I/O (the shim keeps whatever was not synced,
  or part of it, tears a sector and kills the process); every process of
  that station dies with it and its WAL index (-shm) is lost; it restarts
  (sometimes to be cut again while it recovers);
- a corruption (--corruptions M): one station is stopped (cleanly, or by a
  power cut, which leaves a WAL), random bits of its database or its WAL
  are flipped, or one of them is truncated; it must refuse to start with a
  message naming the damage, or start on a store that is provably intact
  (verify passes and every table holds what it held before). A refusal is
  answered the way an operator would: restore the last backup, start, and
  let the peer bring back what the backup lacks.

After every cut or corruption, once the traffic has settled, the
invariants are checked: every message (and acknowledgment, and notice)
for which the command returned is in its sender's store; everything the
peer holds a receipt for is in the receiver's store; nothing is stored
twice; both records verify (`hotline verify`) and both stations agree at a
checkpoint (`hotline checkpoint`). The first violation stops the run with
the seed and the command that replays it.

Usage: powercut.py --hotline BIN --shim LIB [--cuts N] [--corruptions M]
                   [--seed S] [--keep] [--quiet]
"""
import argparse
from contextlib import closing
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

CUT_STATUS = 86  # pcvfs.c: the process died of the simulated power cut
PRECS = ["flash", "immediate", "priority", "routine", "routine", "routine"]
STATE = {0: "queued", 1: "sent", 2: "delivered", 3: "acknowledged", 4: "refused", 5: "received"}


class Violation(Exception):
    pass


def free_port(rng, used):
    lo = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except OSError:
        pass
    while True:
        p = rng.randrange(10000, lo)
        if p in used:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        used.add(p)
        return p


class Station:
    def __init__(self, run, name, port):
        self.run = run
        self.name = name
        self.port = port
        self.dir = os.path.join(run.tmp, name)
        self.log = os.path.join(run.tmp, name + ".log")
        self.proc = None
        self.bg = []  # commands in flight: (Popen, kind, tag, out path)
        self.starts = 0

    def cli(self, *args, timeout=60, check=True):
        r = subprocess.run([self.run.hotline, "-d", self.dir, *args], capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise Violation("%s: hotline %s: exit %d: %s%s" % (
                self.name, " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def start(self, cut_at=0):
        """Run the daemon with the shim; cut_at > 0 arms a cut at that op (during startup)."""
        env = dict(os.environ)
        self.starts += 1
        env["LD_PRELOAD"] = self.run.shim
        env["HL_POWERCUT_SEED"] = str(self.run.rng.getrandbits(62))
        env["HL_POWERCUT_AT"] = str(cut_at)
        env["HL_POWERCUT_CTL"] = os.path.join(self.run.tmp, self.name + ".ctl")
        env["HL_POWERCUT_LOG"] = os.path.join(self.run.tmp, "cuts.log")
        with open(self.log, "a") as lf:
            lf.write("--- start %d (cut_at %d, seed %s)\n" % (self.starts, cut_at,
                                                             env["HL_POWERCUT_SEED"]))
            lf.flush()
            self.proc = subprocess.Popen([self.run.hotline, "-d", self.dir, "run"], stdin=subprocess.DEVNULL,
                                         stdout=lf, stderr=lf, env=env)
        t0 = time.time()
        while time.time() - t0 < 30:
            if self.proc.poll() is not None:
                return self.proc.returncode
            r = self.cli("status", "--json", check=False)
            if r.returncode == 0:
                try:
                    if json.loads(r.stdout).get("running"):
                        return None
                except ValueError:
                    pass
            time.sleep(0.05)
        raise Violation("%s did not start" % self.name)

    def start_up(self, cut_at=0):
        """Start; a station cut while it starts is started again, without a cut."""
        rc = self.start(cut_at)
        while rc is not None:
            if rc != CUT_STATUS:
                raise Violation("%s exited with %d at start: %s" % (self.name, rc, self.tail()))
            self.run.startup_cuts += 1
            self.after_power_loss()
            rc = self.start(0)

    def revive(self):
        """A cut armed at start may come once the station runs: start it again."""
        if self.proc is None or self.proc.poll() is None:
            return
        if self.proc.returncode != CUT_STATUS:
            raise Violation("%s died with status %d: %s" % (self.name, self.proc.returncode,
                                                            self.tail()))
        self.run.startup_cuts += 1
        self.after_power_loss()
        self.start_up(0)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self.proc = None
        if rc != 0:
            raise Violation("%s exited with %d on SIGTERM: %s" % (self.name, rc, self.tail()))

    def tail(self, n=25):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def after_power_loss(self):
        """Everything of this station died with the power: its commands, its WAL index."""
        self.collect()  # what returned before the cut counts
        for p, _, _, _ in self.bg:
            if p.poll() is None:
                p.kill()
            p.wait()
        self.bg = []
        self.run.collect_all()
        self.run.integrity(self, "after power loss")
        try:
            os.unlink(os.path.join(self.dir, "station.db-shm"))
        except FileNotFoundError:
            pass
        self.proc = None

    def launch(self, kind, tag, *args):
        out = os.path.join(self.run.tmp, "cmd-%d.out" % self.run.ncmd)
        self.run.ncmd += 1
        with open(out, "w") as f, open(out + ".err", "w") as e:
            p = subprocess.Popen([self.run.hotline, "-d", self.dir, *args], stdout=f,
                                 stderr=e, stdin=subprocess.DEVNULL)
        self.bg.append((p, kind, tag, out))

    def collect(self):
        """Record the commands that returned; keep those still running."""
        left = []
        for p, kind, tag, out in self.bg:
            if p.poll() is None:
                left.append((p, kind, tag, out))
                continue
            with open(out) as f:
                text = f.read()
            os.unlink(out)
            os.unlink(out + ".err")
            if p.returncode == 0:
                self.run.returned(self, kind, tag, text)
            elif p.returncode > 0:
                self.run.failed_cmds += 1
        self.bg = left

    def db(self):
        path = os.path.join(self.dir, "station.db")
        return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)


class Run:
    def __init__(self, a):
        self.hotline = a.hotline
        self.shim = a.shim
        self.seed = a.seed
        self.rng = random.Random(a.seed)
        self.quiet = a.quiet
        self.tmp = tempfile.mkdtemp(prefix="hl-powercut.")
        self.ncmd = 0
        self.counter = 0
        self.sent = {}  # (station, id) -> (kind, tag): what commands returned
        self.failed_cmds = 0
        self.cuts = self.startup_cuts = 0
        self.corruptions = 0
        self.outcomes = {}
        self.messages = 0
        self.restores = 0
        self.backups = {}  # station -> its latest backup
        used = set()
        self.w = Station(self, "washington", free_port(self.rng, used))
        self.b = Station(self, "beijing", free_port(self.rng, used))
        self.st = [self.w, self.b]

    def say(self, *a):
        if not self.quiet:
            print(*a, flush=True)

    def other(self, s):
        return self.b if s is self.w else self.w

    # ---- set-up ----

    def setup(self):
        for s in self.st:
            s.cli("init", "--name", s.name, "--listen", "127.0.0.1:%d" % s.port)
            with open(os.path.join(s.dir, "config"), "a") as f:
                f.write("backoff_max_ms = 200\ncheckpoint_s = 0\n")
        for s in self.st:
            o = self.other(s)
            key = o.cli("id").stdout.split()[1]
            s.cli("peer", "add", o.name, key, "--link", "127.0.0.1:%d" % o.port)
            s.cli("channel", "add", o.name, "maritime")
        for s in self.st:
            s.start_up()

    def integrity(self, s, when, live=False):
        """PRAGMA integrity_check of s's store: live, read in place (a snapshot); else on a
        copy of the stopped station's files, as its next start recovers them. The daemon's
        start checks pages (quick_check), not that every index holds its table's rows."""
        if live:
            with closing(s.db()) as db:
                r = [x[0] for x in db.execute("PRAGMA integrity_check")]
            if r != ["ok"]:
                raise Violation("%s: integrity_check %s: %s" % (s.name, when, "; ".join(r[:3])))
            return
        d = tempfile.mkdtemp(dir=self.tmp)
        for suffix in ("", "-wal", "-tip"):
            p = os.path.join(s.dir, "station.db" + suffix)
            if os.path.exists(p):
                shutil.copy(p, os.path.join(d, "station.db" + suffix))
        try:
            db = sqlite3.connect(os.path.join(d, "station.db"))
            try:
                r = [x[0] for x in db.execute("PRAGMA integrity_check")]
            finally:
                db.close()
        except sqlite3.Error as e:
            r = ["error: %s" % e]
        if r != ["ok"]:
            keep = os.path.join(self.tmp, "integrity-%s-%d" % (s.name, self.ncmd))
            shutil.copytree(d, keep)
            for suffix in ("", "-wal", "-tip"):
                p = os.path.join(s.dir, "station.db" + suffix)
                if os.path.exists(p):
                    shutil.copy(p, os.path.join(keep, "orig-station.db" + suffix))
            raise Violation("%s: integrity_check %s: %s (copy in %s)" % (
                s.name, when, "; ".join(r[:3]), keep))
        shutil.rmtree(d)

    # ---- traffic ----

    def returned(self, s, kind, tag, text):
        words = text.split()
        if kind == "send":
            mid = words[0] if len(words) == 1 else ""
            self.messages += 1
        elif kind == "ack":
            # "acknowledged ID as OP (acknowledgment ACKID to PEER)"
            if "(acknowledgment" not in text:
                return  # already acknowledged by the same operator: nothing new
            mid = text.split("(acknowledgment ")[1].split()[0]
        else:  # "channel C to P suspended by OP: notice ID"
            mid = words[-1] if words else ""
        if len(mid) != 12:
            raise Violation("%s: %s returned 0 but printed %r" % (s.name, kind, text))
        self.sent[(s.name, mid)] = (kind, tag)

    def collect_all(self):
        for s in self.st:
            s.collect()

    def traffic(self, s, unacked):
        """Start a few commands of station s in the background."""
        o = self.other(s)
        for _ in range(self.rng.randint(2, 6)):
            self.counter += 1
            tag = "pc-%s-%d" % (s.name[0], self.counter)
            r = self.rng.random()
            size = 20000 if r < 0.08 else (2000 if r < 0.3 else 40)
            text = tag + " " + "x" * size
            chan = "maritime" if self.rng.random() < 0.15 else "general"
            s.launch("send", tag, "send", "--to", o.name, "--channel", chan, "--precedence",
                     self.rng.choice(PRECS), "--text", text)
        for mid in self.rng.sample(unacked, min(len(unacked), self.rng.randint(0, 2))):
            s.launch("ack", mid, "ack", mid, "--operator", "Op %s" % s.name)
        if self.rng.random() < 0.2:
            # Each side decides on its own: suspend maritime, or resume it if it did.
            verb = "resume" if self.suspended_by(s) else "suspend"
            args = [verb, o.name, "maritime", "--operator", "Op %s" % s.name]
            if verb == "suspend":
                args += ["--reason", "test %d" % self.counter]
            s.launch(verb, verb, *args)

    def suspended_by(self, s):
        with closing(s.db()) as db:
            rows = db.execute(
                "SELECT kind FROM events WHERE dir = 0 AND channel = 'maritime' AND kind IN (3, 4)"
                " AND state IN (0, 1, 2, 3) ORDER BY seq DESC LIMIT 1").fetchall()
        return bool(rows) and rows[0][0] == 3

    def unacked(self, s):
        with closing(s.db()) as db:
            return [r[0] for r in db.execute(
                "SELECT msg_id FROM events WHERE dir = 1 AND kind = 1 AND state = 5")]

    # ---- checks ----

    def chains(self, s):
        """s's two chains and the peer's receipts, straight from its store."""
        with closing(s.db()) as db:
            ev = {}
            for d, seq, h, state, kind, mid, head in db.execute(
                    "SELECT dir, seq, hex(hash), state, kind, msg_id, substr(body, 1, 24)"
                    " FROM events"):
                ev[(d, seq)] = (h, state, kind, mid, bytes(head) if head else b"")
            rc = []
            for (entries,) in db.execute("SELECT entries FROM receipts"):
                for i in range(0, len(entries), 40):
                    rc.append((int.from_bytes(entries[i:i + 8], "big"),
                               entries[i + 8:i + 40].hex().upper()))
        return ev, rc

    def heads(self, s):
        """The highest head of the peer's chain that s holds (0: none)."""
        with closing(s.db()) as db:
            return db.execute("SELECT coalesce(max(seq), 0) FROM heads WHERE dir = 1").fetchone()[0]

    def settled(self):
        """Quiet: every event answered, held by the peer, and under a head its sender signed."""
        c = {s.name: self.chains(s)[0] for s in self.st}
        for s in self.st:
            o = self.other(s)
            out = {k[1]: v for k, v in c[s.name].items() if k[0] == 0}
            got = {k[1]: v for k, v in c[o.name].items() if k[0] == 1}
            if any(v[1] in (0, 1) for v in out.values()):
                return False
            if set(out) != set(got):
                return False
            if out and self.heads(o) < max(out):
                return False
        return True

    def check(self, what):
        """The invariants, once the line is quiet (again, if a cut armed at a start came)."""
        for attempt in range(5):
            try:
                return self.check_once(what)
            except Violation:
                time.sleep(1.0)  # a station cut meanwhile takes a moment to be seen dead
                if attempt == 4 or all(s.alive() for s in self.st):
                    raise
                for s in self.st:
                    s.revive()

    def check_once(self, what):
        t0 = time.time()
        while True:
            self.collect_all()
            if not any(s.bg for s in self.st) and self.settled():
                break
            for s in self.st:
                s.revive()
            if time.time() - t0 > 90:
                raise Violation("%s: the line did not settle in 90 s: %s" % (what, "; ".join(
                    "%s: %s (pid %d) still running" % (s.name, " ".join(p.args[3:5]), p.pid)
                    for s in self.st for p, *_ in s.bg) or "events pending"))
            time.sleep(0.1)
        for s in self.st:
            self.integrity(s, "settled after " + what, live=True)
        c = {s.name: self.chains(s) for s in self.st}
        for s in self.st:
            o = self.other(s)
            ev, _ = c[s.name]
            oev, orc = c[o.name]
            ids = {v[3]: (k, v) for k, v in ev.items() if k[0] == 0}
            # 1. every command that returned is in its sender's store
            for (name, mid), (kind, tag) in self.sent.items():
                if name != s.name:
                    continue
                if mid not in ids:
                    raise Violation("%s: %s %s (%s) returned but is not in its store" % (
                        s.name, kind, mid, tag))
                if kind == "send" and not ids[mid][1][4].startswith(tag.encode() + b" "):
                    raise Violation("%s: %s holds other content than %s" % (s.name, mid, tag))
            # 2. what the peer holds a receipt (or a delivered state) for is here
            for seq, h in orc:
                if ev.get((1, seq), (None,))[0] != h:
                    raise Violation("%s holds %s's receipt for seq %d (%s) but %s's store "
                                    "does not hold that event" % (o.name, s.name, seq, h[:12],
                                                                  s.name))
            for (d, seq), v in oev.items():
                if d == 0 and v[1] in (2, 3) and ev.get((1, seq), (None,))[0] != v[0]:
                    raise Violation("%s shows its seq %d %s, but %s does not hold it" % (
                        o.name, seq, STATE[v[1]], s.name))
            # 3. nothing twice: each tag once in the sender's chain and once in the receiver's
            for d in (0, 1):
                seen = {}
                for (dd, seq), v in ev.items():
                    if dd != d or v[2] != 1:
                        continue
                    tag = v[4].split(b" ")[0]
                    if tag in seen:
                        raise Violation("%s: message %s stored twice (chain %s, seqs %d and %d)" % (
                            s.name, tag.decode(errors="replace"), "in" if d else "out",
                            seen[tag], seq))
                    seen[tag] = seq
            # 4. the two records agree event for event
            for (d, seq), v in ev.items():
                mirror = oev.get((1 - d, seq))
                if mirror and mirror[0] != v[0]:
                    raise Violation("%s and %s hold different events at seq %d of chain %s" % (
                        s.name, o.name, seq, "out" if d == 0 else "in"))
        for s in self.st:
            r = s.cli("verify", check=False)
            if r.returncode != 0:
                raise Violation("%s: verify failed after %s:\n%s" % (s.name, what, r.stdout))
        s = self.rng.choice(self.st)
        r = s.cli("checkpoint", self.other(s).name, check=False, timeout=40)
        if r.returncode != 0 or ": agreed;" not in r.stdout:
            raise Violation("%s: checkpoint not agreed after %s: %s%s" % (
                s.name, what, r.stdout, r.stderr))

    # ---- a power cut ----

    def log_marks(self):
        return {s.name: os.path.getsize(s.log) if os.path.exists(s.log) else 0 for s in self.st}

    def no_loss_logged(self, marks, what):
        """After power cuts alone, nothing the peer had to give back or send again for loss."""
        for s in self.st:
            with open(s.log, errors="replace") as f:
                f.seek(marks[s.name])
                for line in f:
                    if "event=resync_behind" in line or "event=resync_peer_lacks" in line:
                        raise Violation("%s: a power cut lost committed events: %s" % (
                            what, line.strip()))

    def power_cut(self, i):
        for s in self.st:
            s.revive()
        marks = self.log_marks()
        v = self.rng.choice(self.st)
        for s in self.st:
            self.traffic(s, self.unacked(s))
        time.sleep(self.rng.random() * 0.5)
        n = self.rng.randint(0, 150)
        with open(os.path.join(self.tmp, v.name + ".ctl"), "w") as f:
            f.write("%d\n" % n)
        v.proc.send_signal(signal.SIGUSR2)
        t0 = time.time()
        while v.proc.poll() is None:
            # More traffic until the victim's store has done n more operations.
            if time.time() - t0 > 1.0 and not any(p.poll() is None for p, *_ in v.bg):
                self.traffic(v, [])
                self.traffic(self.other(v), [])
            if time.time() - t0 > 60:
                raise Violation("cut %d: %s was armed but never cut" % (i, v.name))
            time.sleep(0.02)
        rc = v.proc.returncode
        if rc != CUT_STATUS:
            raise Violation("cut %d: %s died with status %d, not by the power cut: %s" % (
                i, v.name, rc, v.tail()))
        self.cuts += 1
        v.after_power_loss()
        time.sleep(self.rng.random() * 0.3)
        v.start_up(self.rng.randint(1, 40) if self.rng.random() < 0.2 else 0)
        self.check("cut %d of %s" % (i, v.name))
        self.no_loss_logged(marks, "cut %d of %s" % (i, v.name))

    # ---- a corruption ----

    def dump(self, s, where):
        """Every table's rows, from a copy of the stopped station's files (never opened in place)."""
        d = tempfile.mkdtemp(dir=self.tmp)
        for suffix in ("", "-wal"):
            p = os.path.join(s.dir, "station.db" + suffix)
            if os.path.exists(p):
                shutil.copy(p, os.path.join(d, "station.db" + suffix))
        db = sqlite3.connect(os.path.join(d, "station.db"))
        try:
            out = "\n".join(db.iterdump())
        finally:
            db.close()
        shutil.rmtree(d)
        # link_tests grow whenever a daemon runs without its peer: not part of the record.
        out = "\n".join(l for l in out.split("\n") if not l.startswith('INSERT INTO "link_tests"'))
        with open(os.path.join(self.tmp, where), "w") as f:
            f.write(out)
        return out

    def corruption(self, i):
        v = self.rng.choice(self.st)
        o = self.other(v)
        # The line is quiet (the step before ended with a check): a backup now and then.
        if self.rng.random() < 0.5 or v.name not in self.backups:
            backup = os.path.join(self.tmp, "backup-%s-%d.db" % (v.name, i))
            v.cli("backup", backup)
            self.backups[v.name] = backup
        for s in self.st:
            self.traffic(s, self.unacked(s))
        self.check("traffic after the backup, corruption %d" % i)
        # The peer stops too, so that nothing changes the victim's store while it is checked.
        o.stop()
        files = []
        if self.rng.random() < 0.5:
            v.stop()  # clean: the WAL is folded into the database and removed
        else:
            n = self.rng.randint(0, 30)
            with open(os.path.join(self.tmp, v.name + ".ctl"), "w") as f:
                f.write("%d\n" % n)
            v.proc.send_signal(signal.SIGUSR2)
            t0 = time.time()
            while v.proc.poll() is None and time.time() - t0 < 3:
                time.sleep(0.05)
            if v.proc.poll() is None:
                v.proc.kill()  # idle: a crash leaves the WAL as it is
                v.proc.wait()
            v.after_power_loss()
        before = self.dump(v, "before-%d.sql" % i)
        db = os.path.join(v.dir, "station.db")
        for p in (db, db + "-wal"):
            if os.path.exists(p) and os.path.getsize(p) > 0:
                files.append(p)
        target = self.rng.choice(files)
        size = os.path.getsize(target)
        what = ""
        if self.rng.random() < 0.25:
            cut_to = self.rng.randrange(0, size)
            with open(target, "r+b") as f:
                f.truncate(cut_to)
            what = "truncated %s from %d to %d bytes" % (os.path.basename(target), size, cut_to)
        else:
            nbits = self.rng.choice([1, 1, 1, 2, 8, 64])
            with open(target, "r+b") as f:
                offs = []
                for _ in range(nbits):
                    off = self.rng.randrange(0, size)
                    f.seek(off)
                    b = f.read(1)[0] ^ (1 << self.rng.randrange(8))
                    f.seek(off)
                    f.write(bytes([b]))
                    offs.append(off)
            what = "flipped %d bit(s) of %s (%d bytes) at %s" % (
                nbits, os.path.basename(target), size, ",".join(map(str, offs[:4])))
        self.corruptions += 1
        rc = v.start(0)
        if rc is not None:
            if rc == CUT_STATUS:
                raise Violation("corruption %d: the shim cut at start?" % i)
            msg = v.tail(3)
            self.outcome("refused", what, msg)
            self.recover(v, i)
        else:
            # It started: the store must be intact (verify, and the same rows as before).
            r = v.cli("verify", check=False)
            v.stop()
            after = self.dump(v, "after-%d.sql" % i)
            if r.returncode != 0 or after != before:
                raise Violation("corruption %d (%s) went undetected: %s" % (
                    i, what, "verify failed: " + r.stdout if r.returncode else
                    "the store's contents changed (diff %s/before-%d.sql after-%d.sql)" % (
                        self.tmp, i, i)))
            self.outcome("harmless", what, "")
            v.start_up()
        o.start_up()
        self.check("corruption %d (%s)" % (i, what))

    def outcome(self, kind, what, msg):
        self.outcomes[kind] = self.outcomes.get(kind, 0) + 1
        self.say("  %s: %s%s" % (kind, what, (": " + msg.strip().splitlines()[-1]) if msg else ""))

    def recover(self, v, i):
        """What an operator does: restore the last backup (or start afresh), start, resync."""
        v.cli("restore", "--force", self.backups[v.name])
        self.restores += 1
        v.start_up()

    # ---- the run ----

    def cut_figures(self):
        """What the cuts hit, from the shim's own lines (cuts.log)."""
        path = os.path.join(self.tmp, "cuts.log")
        if not os.path.exists(path):
            return ""
        n = lost = torn = dirty = none = 0
        ops = {}
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r"\((\w+) of \S+?(-wal|-journal)?\): chance \d+%, (\d+) unsynced "
                              r"sectors: \d+ written, (\d+) lost, .*torn (\S+)@", line)
                if not m:
                    continue
                n += 1
                what = "%s %s" % (m.group(1), "WAL" if m.group(2) == "-wal" else "database")
                ops[what] = ops.get(what, 0) + 1
                dirty += int(m.group(3))
                lost += int(m.group(4)) > 0
                none += int(m.group(3)) == 0
                torn += m.group(5) != "-"
        return ("%d cuts: before a %s; %d with unsynced sectors (%d sectors in all), %d lost "
                "some, %d tore one" % (n, ", ".join("%s %d" % kv for kv in sorted(ops.items())),
                                        n - none, dirty, lost, torn))

    def report(self, t0):
        print("powercut: seed %d: %d power cuts (+%d during restarts), %d corruptions (%s), "
              "%d messages sent, %d restores, %d commands failed cleanly, 0 violations, %.0f s"
              % (self.seed, self.cuts, self.startup_cuts, self.corruptions,
                 ", ".join("%s %d" % kv for kv in sorted(self.outcomes.items())) or "none",
                 self.messages, self.restores, self.failed_cmds, time.time() - t0), flush=True)
        print("powercut: %s" % self.cut_figures(), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hotline", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--cuts", type=int, default=20)
    ap.add_argument("--corruptions", type=int, default=0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the stations' directory")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 2 ** 31)
    print("# seed %d (replay: tests/powercut/run.sh --seed %d --cuts %d --corruptions %d)" % (
        a.seed, a.seed, a.cuts, a.corruptions), flush=True)
    run = Run(a)
    t0 = time.time()
    ok = False
    try:
        run.setup()
        # Interleave the cuts and the corruptions, in an order drawn from the seed.
        plan = ["cut"] * a.cuts + ["corruption"] * a.corruptions
        run.rng.shuffle(plan)
        nc = nk = 0
        for step in plan:
            if step == "cut":
                nc += 1
                run.say("cut %d" % nc)
                run.power_cut(nc)
            else:
                nk += 1
                run.say("corruption %d" % nk)
                run.corruption(nk)
        run.report(t0)
        ok = True
    except Violation as e:
        print("FAIL: seed %d: %s" % (a.seed, e), flush=True)
        print("# replay: tests/powercut/run.sh --seed %d --cuts %d --corruptions %d" % (
            a.seed, a.cuts, a.corruptions), flush=True)
        print("# stations kept in %s" % run.tmp, flush=True)
        a.keep = True
    finally:
        for s in run.st:
            for p, *_ in s.bg:
                if p.poll() is None:
                    p.kill()
            if s.proc and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        if not a.keep:
            shutil.rmtree(run.tmp, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
