#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""trace_report.py DIR SENDER-PID RECEIVER-PID [--last N]: where each FLASH
message's time went, from the records of a -Dtrace=true build
(src/trace.h, bench/trace.sh). DIR holds trace.PID files of "NS PID STEP"
lines from the client and both daemons (one clock: CLOCK_MONOTONIC). For
each message the client sent, follows its steps in order; prints each
step's share (p50, p90, mean, in microseconds) and the whole. --last N:
only the last N messages (the ones sent under a backlog)."""
import glob
import statistics
import sys

STEPS = [  # (who, step, what it measures, from the step before)
    ("S", "ctl: request read", "client: connect, request; the sender's loop has read it"),
    ("S", "store: urgent job queued", "S: the APPEND job queued"),
    ("S", "store: urgent commit begins", "S: store thread wakes, appends (waits for a job in hand)"),
    ("S", "store: urgent commit done", "S: COMMIT (WAL pages, fdatasync)"),
    ("S", "store: results reach the loop", "S: the result reaches the loop"),
    ("S", "deliver: FLASH frame out", "S: the DATA frame sealed and written"),
    ("R", "deliver: FLASH frame in", "loopback; the receiver's loop reads the frame"),
    ("R", "store: urgent job queued", "R: checked, hashed, the RECEIVE job queued"),
    ("R", "store: urgent commit begins", "R: store thread wakes, stores it (waits for a job in hand)"),
    ("R", "store: urgent commit done", "R: COMMIT (WAL pages, fdatasync)"),
    ("R", "store: results reach the loop", "R: the result reaches the loop"),
    ("R", "deliver: presigned receipt out", "R: the receipt (signed meanwhile) leaves"),
    ("S", "deliver: receipt in", "loopback; the sender's loop reads the receipt"),
    ("S", "ctl: reply written", "S: the receipt's signature checked, the reply written"),
    ("C", "client: FLASH answered", "client: reads and parses the reply"),
]


def main():
    args = sys.argv[1:]
    last = 0
    if "--last" in args:
        i = args.index("--last")
        last = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    tdir, sender, receiver = args[0], int(args[1]), int(args[2])
    ev = []
    for f in glob.glob(tdir + "/trace.*"):
        with open(f) as fh:
            for line in fh:
                ns, pid, step = line.rstrip("\n").split(" ", 2)
                ev.append((int(ns), int(pid), step))
    ev.sort()
    starts = [i for i, e in enumerate(ev) if e[2] == "client: FLASH send begins"]
    if last:
        starts = starts[-last:]
    who = {"S": sender, "R": receiver}
    shares = [[] for _ in STEPS]
    totals = []
    for si in starts:
        prev, i, ds = ev[si][0], si, []
        for side, step, _ in STEPS:
            i += 1
            while i < len(ev) and ev[i][2] != "client: FLASH send begins" and not (
                    ev[i][2] == step and (side == "C" or ev[i][1] == who[side])):
                i += 1
            if i >= len(ev) or ev[i][2] == "client: FLASH send begins":
                break
            ds.append((ev[i][0] - prev) / 1000)
            prev = ev[i][0]
        if len(ds) == len(STEPS):  # every step seen: a message followed whole
            for k, x in enumerate(ds):
                shares[k].append(x)
            totals.append((prev - ev[si][0]) / 1000)
    if not totals:
        sys.exit("trace_report: no message followed whole (was the build -Dtrace=true?)")
    print("%d of %d FLASH messages followed whole; send to answer p50 %.1f us, mean %.1f us"
          % (len(totals), len(starts), statistics.median(totals), statistics.mean(totals)))
    print("%-62s %8s %8s %8s" % ("step (us)", "p50", "p90", "mean"))
    for k, (_, _, what) in enumerate(STEPS):
        v = sorted(shares[k])
        print("%-62s %8.1f %8.1f %8.1f" % (what, statistics.median(v), v[int(len(v) * 0.9)],
                                            statistics.mean(v)))


if __name__ == "__main__":
    main()
