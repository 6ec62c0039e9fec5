#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""survivor.py SHIM: a process that outlives a simulated power cut (tests/powercut/pcvfs.c).

A real power cut kills every process; the simulation cuts only the process
with the shim, and the others (a `hotline send` waiting on the daemon)
live on for a moment. Such a survivor must not act on the WAL index
(-shm) of the dead process: that index says which pages a checkpoint
already copied into the database file (nBackfill), but the copy was not
synced (SQLite syncs the database only when a checkpoint copies the whole
WAL) and the cut put those pages back as they were. A survivor that reads
them there and commits builds on pages that never were: an index missing
rows that its table holds.

Steps: a store in WAL mode (the shim preloaded in a child "daemon"), a full
checkpoint (synced), rows added, a partial checkpoint (a reader holds an
older snapshot: the database gets pages, unsynced, and nBackfill moves),
then a survivor (no shim) opens the store, the daemon is cut, the survivor
inserts rows and commits. A fresh open must pass integrity_check.
Exit 0 when it does, 1 when the store is damaged (the bug), 2 on a test error.
"""
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

CUT_STATUS = 86

DAEMON = r'''
import os, sqlite3, sys, time, signal
db, ctl, ready, go = sys.argv[1:5]
def conn():
    c = sqlite3.connect(db, isolation_level=None, timeout=10)
    c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=FULL")
    c.execute("PRAGMA wal_autocheckpoint=0")
    return c
w = conn()
w.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, pad TEXT)")
w.execute("CREATE INDEX t_k ON t(k)")
for i in range(200):
    w.execute("INSERT INTO t (k, pad) VALUES (?, ?)", ("%08x" % (i * 2654435761 % 2**32), "p" * 100))
w.execute("PRAGMA wal_checkpoint(TRUNCATE)")       # everything in the database, synced
r = conn(); r.execute("BEGIN"); r.execute("SELECT count(*) FROM t").fetchone()  # an old snapshot
for i in range(200, 260):                           # new index entries all over the index
    w.execute("INSERT INTO t (k, pad) VALUES (?, ?)", ("%08x" % (i * 2654435761 % 2**32), "p" * 100))
r.execute("COMMIT")
r2 = conn(); r2.execute("BEGIN"); r2.execute("SELECT count(*) FROM t").fetchone()  # holds this one
w.execute("INSERT INTO t (k, pad) VALUES ('zzzzzzzz', 'last')")
# PASSIVE: only up to r2's snapshot, so not the whole WAL: pages copied, no sync, nBackfill moves.
print("checkpoint", w.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone(), flush=True)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
with open(ctl, "w") as f:
    f.write("0\n")
os.kill(os.getpid(), signal.SIGUSR2)               # the cut: before the next write or sync
w.execute("INSERT INTO t (k, pad) VALUES ('yyyyyyyy', 'cut')")
print("not cut?", flush=True)
sys.exit(3)
'''


def main():
    shim = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="hl-survivor.")
    db = os.path.join(tmp, "station.db")
    ctl, ready, go = (os.path.join(tmp, n) for n in ("ctl", "ready", "go"))
    env = dict(os.environ, LD_PRELOAD=shim, HL_POWERCUT_SEED=os.environ.get("SURVIVOR_SEED", "1"), HL_POWERCUT_CTL=ctl,
               HL_POWERCUT_LOG=os.path.join(tmp, "cuts.log"))
    d = subprocess.Popen([sys.executable, "-c", DAEMON, db, ctl, ready, go], env=env)
    while not os.path.exists(ready):
        if d.poll() is not None:
            print("survivor: the daemon died early: %s" % d.returncode)
            return 2
        time.sleep(0.01)
    # The survivor: opened while the daemon lives, so it shares the daemon's WAL index.
    s = sqlite3.connect(db, isolation_level=None, timeout=10)
    s.execute("SELECT count(*) FROM t").fetchone()
    open(go, "w").close()
    rc = d.wait()
    if rc != CUT_STATUS:
        print("survivor: the daemon was not cut (status %s)" % rc)
        return 2
    with open(os.path.join(tmp, "cuts.log")) as f:
        print(f.read().strip())
    # What a `hotline send` does once the daemon's lock is free: write it directly.
    try:
        s.execute("BEGIN IMMEDIATE")
        for i in range(64):  # keys all over the index: every leaf is read, changed, written
            s.execute("INSERT INTO t (k, pad) VALUES (?, 'survivor')", ("%08x" % (i << 26),))
        s.execute("COMMIT")
    except sqlite3.DatabaseError as e:
        print("survivor: its commit failed: %s" % e)
        return 1
    # The store as the next start finds it: the files, a fresh WAL index.
    chk = tempfile.mkdtemp(dir=tmp)
    for sfx in ("", "-wal"):
        if os.path.exists(db + sfx):
            with open(db + sfx, "rb") as a, open(os.path.join(chk, "station.db" + sfx), "wb") as b:
                b.write(a.read())
    s.close()
    try:
        c = sqlite3.connect(os.path.join(chk, "station.db"))
        res = [r[0] for r in c.execute("PRAGMA integrity_check")]
        c.close()
    except sqlite3.DatabaseError as e:
        res = [str(e)]
    print("survivor: integrity_check: %s" % "; ".join(r.replace("\n", " ") for r in res[:4]))
    return 0 if res == ["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
