#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""check_transcript.py: verify a hotline transcript export (JSON lines).

An independent checker, written from docs/transcript.md alone (it shares
no code with hotline): it runs steps 1 to 5 of the "Verification
procedure" over a file made by `hotline transcript PEER --format jsonl`.

    check_transcript.py FILE [--station-key KEY] [--peer-key KEY]

KEY is an hl1: string (as `hotline id` prints it) or an Ed25519 public key
in hex: the header's keys must then include it (a station's keys over
time, docs/transcript.md "Keys over time"). Prints "ok: ..." and exits
0, or prints the first failure ("FAIL: line N (type, chain C, seq S):
what") and exits 1; 2 for a usage error. Warnings go to stderr.

Every kind of event (1-4, 5: key rotation, 6: talks) is hashed and
chained alike; the checker does not judge what an event says.

Needs Python 3 and PyNaCl (Debian: python3-nacl) for Ed25519ph.
"""
import argparse
import base64
import binascii
import hashlib
import json
import re
import struct
import sys

try:
    from nacl.bindings import (
        crypto_sign_ed25519ph_final_verify,
        crypto_sign_ed25519ph_state,
        crypto_sign_ed25519ph_update,
    )
    from nacl.exceptions import BadSignatureError
except ImportError:  # pragma: no cover
    sys.exit("check_transcript: needs PyNaCl (Debian: apt-get install python3-nacl)")

ZEROS = bytes(32)
# The sections of the file, in their order (docs/transcript.md, "Export").
SECTIONS = ["header", "event", "head", "receipt", "refusal", "checkpoint", "end"]
U8, U16, U32, U64 = 0xFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


class Failure(Exception):
    def __init__(self, where, what):
        super().__init__(f"{where}: {what}")


def where(n, obj):
    """'line N (type, chain C, seq S)', with what the line has of these."""
    parts = [str(obj.get("type", "?"))] if isinstance(obj, dict) else ["?"]
    if isinstance(obj, dict):
        if "chain" in obj:
            parts.append(f"chain {obj['chain']}")
        if "seq" in obj:
            parts.append(f"seq {obj['seq']}")
        if obj.get("type") == "checkpoint":
            parts.append(f"station_seq {obj.get('station_seq')}, peer_seq {obj.get('peer_seq')}")
    return f"line {n} ({', '.join(parts)})"


class Line:
    """Typed access to one line's fields; a missing or mistyped field fails."""

    def __init__(self, n, obj):
        self.n, self.obj = n, obj

    def fail(self, what):
        raise Failure(where(self.n, self.obj), what)

    def field(self, obj, name):
        if not isinstance(obj, dict) or name not in obj:
            self.fail(f"no field '{name}'")
        return obj[name]

    def int(self, name, limit=U64, obj=None):
        v = self.field(self.obj if obj is None else obj, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > limit:
            self.fail(f"'{name}' is not an integer from 0 to {limit}")
        return v

    def str(self, name, obj=None, null=False):
        v = self.field(self.obj if obj is None else obj, name)
        if v is None and null:
            return None
        if not isinstance(v, str):
            self.fail(f"'{name}' is not a string")
        return v

    def hex(self, name, size, obj=None):
        v = self.str(name, obj)
        if len(v) != 2 * size or v != v.lower():
            self.fail(f"'{name}' is not {size} bytes in lowercase hex")
        try:
            return bytes.fromhex(v)
        except ValueError:
            self.fail(f"'{name}' is not {size} bytes in lowercase hex")


def u64(v):
    return struct.pack(">Q", v)


def str8(line, name):
    b = line.str(name).encode("utf-8")
    if len(b) > U8:
        line.fail(f"'{name}' is longer than 255 bytes")
    return bytes([len(b)]) + b


def signed(domain, frm, to, data, sig):
    """Ed25519ph over DOMAIN || FROM || TO || DATA, signed by FROM."""
    st = crypto_sign_ed25519ph_state()
    crypto_sign_ed25519ph_update(st, domain + frm + to + data)
    try:
        return crypto_sign_ed25519ph_final_verify(st, sig, frm)
    except BadSignatureError:
        return False


NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}\Z")
KIND_KEY = 5


def parse_rotation(body):
    """A key rotation statement (docs/keys.md): dict, or None when malformed."""
    if len(body) < 2 or body[0] != 1:
        return None
    n = body[1]
    if len(body) != 2 + n + 4 * 32 + 8 + 64:
        return None
    try:
        name = body[2:2 + n].decode("ascii")
    except UnicodeDecodeError:
        return None
    p = 2 + n
    old_x, old_ed, new_x, new_ed = (body[p + 32 * i:p + 32 * (i + 1)] for i in range(4))
    if not NAME.match(name) or ZEROS in (old_x, old_ed, new_x, new_ed) or \
            old_x == new_x or old_ed == new_ed:
        return None
    return dict(old_ed=old_ed, new_ed=new_ed, signed=body[:-64], sig=body[-64:])


def parse_key(text):
    """An hl1: string (docs/transcript.md, "Keys and encodings") or 64 hex digits."""
    if text.startswith("hl1:"):
        s = text[4:]
        try:
            raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 68 or hashlib.blake2b(raw[:64], digest_size=32).digest()[:4] != raw[64:]:
            sys.exit(f"check_transcript: '{text}' is not a valid hl1: key")
        return raw[32:64]
    try:
        k = bytes.fromhex(text)
    except ValueError:
        k = b""
    if len(k) != 32:
        sys.exit(f"check_transcript: '{text}' is neither an hl1: key nor 32 bytes of hex")
    return k


class Checker:
    def __init__(self, station_key=None, peer_key=None):
        self.want_s, self.want_p = station_key, peer_key
        self.S = self.P = None
        # Each side's keys over time, oldest first: [(ed25519, since_seq)].
        self.ring = {"out": [], "in": []}
        self.confirmed = {"out": set(), "in": set()}
        self.head_top = (-1, 0)  # the newest of the peer's keys seen on a head, and where
        self.heads_by_key = {}
        self.since = 0
        self.section = -1
        # Per chain: the first seq, and the hashes from there on (consecutive).
        self.first = {"out": None, "in": None}
        self.hashes = {"out": [], "in": []}
        self.counts = dict(events_out=0, events_in=0, heads=0, receipts=0, refusals=0,
                           checkpoints=0)
        self.top_head = None
        self.ended = False
        self.warnings = []

    def held(self, chain, seq):
        """The hash of event seq of chain when the file holds it, else None."""
        f = self.first[chain]
        if f is None or seq < f or seq - f >= len(self.hashes[chain]):
            return None
        return self.hashes[chain][seq - f]

    def line(self, n, text):
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise Failure(f"line {n}", f"not JSON ({e})")
        if not isinstance(obj, dict):
            raise Failure(f"line {n}", "not a JSON object")
        ln = Line(n, obj)
        kind = obj.get("type")
        if kind not in SECTIONS:
            ln.fail(f"unknown line type {kind!r}")
        if self.ended:
            ln.fail("a line after the end line")
        rank = SECTIONS.index(kind)
        if n == 1 and kind != "header":
            ln.fail("the file does not start with a header line")
        if kind == "header" and n != 1:
            ln.fail("a second header line")
        if rank < self.section:
            ln.fail(f"a {kind} line after the {SECTIONS[self.section]} lines")
        self.section = rank
        getattr(self, "on_" + kind)(ln)

    # ---- the lines ----

    def on_header(self, ln):
        fmt = ln.str("format")
        if fmt != "hotline-transcript-v1":
            ln.fail(f"unknown format {fmt!r}")
        ln.str("station")
        ln.str("peer")
        ln.str("exported_at")
        self.S = ln.hex("station_ed25519", 32)
        self.P = ln.hex("peer_ed25519", 32)
        self.since = ln.int("since_ns")
        self.ring["out"] = self.keys(ln, "station_keys", self.S)
        self.ring["in"] = self.keys(ln, "peer_keys", self.P)
        if self.want_s is not None and self.want_s not in [k for k, _ in self.ring["out"]]:
            ln.fail("the station key given is not one of the header's station keys")
        if self.want_p is not None and self.want_p not in [k for k, _ in self.ring["in"]]:
            ln.fail("the peer key given is not one of the header's peer keys")

    def keys(self, ln, name, current):
        """A key history of the header; absent: the header's key alone."""
        if name not in ln.obj:
            return [(current, 0)]
        arr = ln.obj[name]
        if not isinstance(arr, list) or not 1 <= len(arr) <= 64:
            ln.fail(f"'{name}' is not a list of 1 to 64 keys")
        ring = []
        for e in arr:
            k = ln.hex("ed25519", 32, obj=e)
            if k in [x for x, _ in ring]:
                ln.fail(f"'{name}' repeats a key")
            ring.append((k, ln.int("since_seq", obj=e)))
        if ring[-1][0] != current:
            ln.fail(f"the last key of '{name}' is not the header's key")
        return ring

    def signer(self, frm, to, domain, data, sig):
        """Index in ring frm of the key that signed (towards any key of to), or None."""
        for i in reversed(range(len(self.ring[frm]))):
            for k, _ in reversed(self.ring[to]):
                if signed(domain, self.ring[frm][i][0], k, data, sig):
                    return i
        return None

    def rotation(self, ln, chain, seq, body):
        """A key rotation (KEY event) must match its sender's key history."""
        ring = self.ring[chain]
        r = parse_rotation(body)
        if r is None:
            ln.fail("the key rotation statement does not parse")
        if not signed(b"hotline-rotate-v1", r["old_ed"], r["new_ed"], r["signed"], r["sig"]):
            ln.fail("the key rotation statement's signature does not verify")
        keys = [k for k, _ in ring]
        if r["old_ed"] not in keys:
            ln.fail("the key rotation replaces a key that is not one of the sender's")
        io = keys.index(r["old_ed"])
        if r["new_ed"] in keys:
            i = keys.index(r["new_ed"])
            if i != io + 1 or ring[i][1] != seq:
                ln.fail("the key rotation does not match the key history")
            self.confirmed[chain].add(i)
        elif io != len(ring) - 1:
            ln.fail("the key rotation announces a key the key history does not hold")

    def on_event(self, ln):
        chain = ln.str("chain")
        if chain not in ("out", "in"):
            ln.fail(f"unknown chain {chain!r}")
        if chain == "out" and self.first["in"] is not None:
            ln.fail("an event of chain out after the events of chain in")
        seq = ln.int("seq")
        prev = ln.hex("prev", 32)
        h = ln.hex("hash", 32)
        ident = ln.str("id")
        try:
            body = base64.b64decode(ln.str("body_base64"), validate=True)
        except (binascii.Error, ValueError):
            ln.fail("body_base64 is not base64")
        kept = ln.field(ln.obj, "body_kept")
        if not isinstance(kept, bool):
            ln.fail("'body_kept' is not true or false")
        state = ln.str("state")
        for name in ("acknowledged_by", "refused_reason"):
            ln.str(name, null=True)
        for name in ("received_ns", "sent_ns", "delivered_ns", "acked_ns"):
            ln.int(name)
        header = (u64(seq) + prev
                  + struct.pack(">BBQQ", ln.int("kind", U8), ln.int("precedence", U8),
                                ln.int("created_ns"), ln.int("deadline_ns"))
                  + str8(ln, "channel") + str8(ln, "media_type") + str8(ln, "operator")
                  + u64(ln.int("ref_seq")) + ln.hex("ref_hash", 32)
                  + struct.pack(">I", len(body) if len(body) <= U32 else 0))

        # Step 1: the chain links, the hash recomputes, the id is its prefix.
        hashes = self.hashes[chain]
        if self.first[chain] is None:
            if self.since == 0 and seq != 1:
                ln.fail(f"the chain starts at seq {seq}, not at 1")
            if seq == 1 and prev != ZEROS:
                ln.fail("seq 1 has a prev that is not zeros")
            self.first[chain] = seq
        else:
            want = self.first[chain] + len(hashes)
            if seq != want:
                ln.fail(f"seq {want} expected here")
            if prev != hashes[-1]:
                ln.fail(f"prev is not the hash of seq {seq - 1}")
        if kept:
            d = hashlib.blake2b(digest_size=32)
            d.update(b"hotline-event-v1")
            d.update(header)
            d.update(body)
            if d.digest() != h:
                ln.fail("the hash does not recompute from its fields and body")
        elif chain != "in" or state != "refused" or body:
            ln.fail("body_kept is false but this is not a refused event of chain in "
                    "without its body")
        if ident != h.hex()[:12]:
            ln.fail("the id is not the first 12 hex characters of the hash")
        if ln.int("kind", U8) == KIND_KEY and state != "refused":
            self.rotation(ln, chain, seq, body)
        hashes.append(h)
        self.counts["events_" + chain] += 1

    def on_head(self, ln):
        if ln.str("chain") != "in":
            ln.fail("a head of a chain other than in")
        seq = ln.int("seq")
        h = ln.hex("hash", 32)
        sig = ln.hex("sig", 64)
        ln.int("at_ns")
        # Step 2: signed by one of the peer's keys, an older one never after a newer one.
        i = self.signer("in", "out", b"hotline-head-v1", u64(seq) + h, sig)
        if i is None:
            ln.fail("the signature does not verify with the peer's key")
        if self.ring["in"][i][1] > seq:
            ln.fail(f"signed with a key announced only at seq {self.ring['in'][i][1]}")
        if i < self.head_top[0]:
            ln.fail(f"signed with a former key after a head signed with a newer one "
                    f"(seq {self.head_top[1]})")
        if i > self.head_top[0]:
            self.head_top = (i, seq)
        self.heads_by_key[i] = self.heads_by_key.get(i, 0) + 1
        held = self.held("in", seq)
        if held is not None and held != h:
            ln.fail(f"the signed hash is not that of event seq {seq} of chain in")
        self.top_head = seq if self.top_head is None else max(self.top_head, seq)
        self.counts["heads"] += 1

    def on_receipt(self, ln):
        if ln.str("chain") != "out":
            ln.fail("a receipt for a chain other than out")
        entries = ln.field(ln.obj, "entries")
        sig = ln.hex("sig", 64)
        ln.int("at_ns")
        if not isinstance(entries, list):
            ln.fail("'entries' is not a list")
        data, pairs = b"", []
        for i, e in enumerate(entries):
            if (not isinstance(e, list) or len(e) != 2 or not isinstance(e[0], int)
                    or isinstance(e[0], bool) or not 0 <= e[0] <= U64
                    or not isinstance(e[1], str) or len(e[1]) != 64 or e[1] != e[1].lower()):
                ln.fail(f"entry {i + 1} is not [seq, hash in lowercase hex]")
            try:
                h = bytes.fromhex(e[1])
            except ValueError:
                ln.fail(f"entry {i + 1} is not [seq, hash in lowercase hex]")
            data += u64(e[0]) + h
            pairs.append((e[0], h))
        # Step 3.
        if self.signer("in", "out", b"hotline-receipt-v1", data, sig) is None:
            ln.fail("the signature does not verify with the peer's key")
        for i, (seq, h) in enumerate(pairs):
            held = self.held("out", seq)
            if held is not None and held != h:
                raise Failure(f"line {ln.n} (receipt, chain out, seq {seq})",
                              f"entry {i + 1} is not the hash of event seq {seq} of chain out")
        self.counts["receipts"] += 1

    def on_refusal(self, ln):
        if ln.str("chain") != "out":
            ln.fail("a refusal for a chain other than out")
        seq = ln.int("seq")
        h = ln.hex("hash", 32)
        reason = ln.str("reason").encode("utf-8")
        sig = ln.hex("sig", 64)
        if len(reason) > U16:
            ln.fail("the reason is longer than 65535 bytes")
        # Step 3.
        data = u64(seq) + h + struct.pack(">H", len(reason)) + reason
        if self.signer("in", "out", b"hotline-refuse-v1", data, sig) is None:
            ln.fail("the signature does not verify with the peer's key")
        held = self.held("out", seq)
        if held is not None and held != h:
            ln.fail(f"the refused hash is not that of event seq {seq} of chain out")
        self.counts["refusals"] += 1

    def on_checkpoint(self, ln):
        at = ln.int("at_ns")
        ln.str("initiator")
        sseq = ln.int("station_seq")
        pseq = ln.int("peer_seq")
        status = ln.str("status")
        ln.str("detail")
        mine = ln.field(ln.obj, "station_statement")
        theirs = ln.field(ln.obj, "peer_statement")
        s_sh = ln.hex("station_hash", 32, obj=mine)
        s_ph = ln.hex("peer_hash", 32, obj=mine)
        s_sig = ln.hex("sig", 64, obj=mine)
        # Step 4: each statement, signed by its station over its own chain first.
        if self.signer("out", "in", b"hotline-checkpoint-v1",
                       u64(at) + u64(sseq) + s_sh + u64(pseq) + s_ph, s_sig) is None:
            ln.fail("the station's statement does not verify with its key")
        if theirs is None:
            if status != "waiting":
                ln.fail(f"no peer statement, yet the status is {status!r}, not waiting")
        else:
            p_ph = ln.hex("peer_hash", 32, obj=theirs)
            p_sh = ln.hex("station_hash", 32, obj=theirs)
            p_sig = ln.hex("sig", 64, obj=theirs)
            if self.signer("in", "out", b"hotline-checkpoint-v1",
                           u64(at) + u64(pseq) + p_ph + u64(sseq) + p_sh, p_sig) is None:
                ln.fail("the peer's statement does not verify with its key")
            same = p_ph == s_ph and p_sh == s_sh
            if status not in ("agreed", "mismatch"):
                ln.fail(f"status {status!r} with both statements present")
            if same != (status == "agreed"):
                ln.fail(f"the status is {status} but the statements "
                        f"{'agree' if same else 'differ'}")
        if status == "agreed":
            for chain, seq, h, name in (("out", sseq, s_sh, "station_hash"),
                                        ("in", pseq, s_ph, "peer_hash")):
                want = ZEROS if seq == 0 else self.held(chain, seq)
                if want is not None and want != h:
                    ln.fail(f"{name} is not that of event seq {seq} of chain {chain}")
        self.counts["checkpoints"] += 1

    def on_end(self, ln):
        # Step 5.
        for name, n in self.counts.items():
            if ln.int(name) != n:
                ln.fail(f"{name} is {ln.obj[name]} but the file has {n}: lines are missing "
                        "or were added")
        self.ended = True

    def finish(self, n):
        if not self.ended:
            raise Failure(f"line {n + 1}", "no end line: the file is truncated")
        for chain in ("out", "in"):
            for i, (_, seq) in enumerate(self.ring[chain]):
                first = self.first[chain]
                if seq and i not in self.confirmed[chain] and \
                        (self.since == 0 or (first is not None and seq >= first)):
                    raise Failure("header", f"key {i + 1} of the {chain} chain's sender is said "
                                  f"to come from the key rotation at seq {seq}, which is not "
                                  "there")
        if self.first["in"] is not None:
            last = self.first["in"] + len(self.hashes["in"]) - 1
            if self.top_head is None or self.top_head < last:
                self.warnings.append(
                    f"events of chain in after seq {self.top_head or 0} (up to {last}) are "
                    "not yet under a head signed by the peer")


def main(argv):
    ap = argparse.ArgumentParser(description="Verify a hotline transcript (JSON lines).")
    ap.add_argument("file")
    ap.add_argument("--station-key", help="hl1: string or hex Ed25519 key of the station")
    ap.add_argument("--peer-key", help="hl1: string or hex Ed25519 key of the peer")
    a = ap.parse_args(argv)
    c = Checker(parse_key(a.station_key) if a.station_key else None,
                parse_key(a.peer_key) if a.peer_key else None)
    n = 0
    try:
        with open(a.file, "rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise Failure(f"line {n}", "not UTF-8")
                if not text.endswith("\n"):
                    raise Failure(f"line {n}", "does not end with a newline: truncated")
                c.line(n, text)
        c.finish(n)
    except OSError as e:
        sys.exit(f"check_transcript: {e}")
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    for w in c.warnings:
        print(f"warning: {w}", file=sys.stderr)
    k = c.counts
    print(f"ok: {k['events_out']} events out, {k['events_in']} in, {k['heads']} heads, "
          f"{k['receipts']} receipts, {k['refusals']} refusals, {k['checkpoints']} checkpoints")
    if len(c.ring["out"]) > 1 or len(c.ring["in"]) > 1:
        by = ", ".join(f"key {i + 1}: {c.heads_by_key.get(i, 0)}" for i in range(len(c.ring["in"])))
        print(f"keys: the station's {len(c.ring['out'])}, the peer's {len(c.ring['in'])}; "
              f"the peer's heads by key: {by}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
