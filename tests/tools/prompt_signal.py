#!/usr/bin/env python3
# prompt_signal.py HOTLINE DIR: run `hotline init --passphrase` on a real
# terminal (a pty), end it with SIGTERM while it waits at the passphrase
# prompt (echo off), then ask the same terminal whether echo is on again.
# Exit 0 when it is, 1 when the prompt left the terminal without echo.
import os, pty, re, signal, subprocess, sys, time

hot, d = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", f"'{hot}' -d '{d}' init --name prompt --listen 127.0.0.1:1 --passphrase; stty -a"])
out, t0 = b"", time.time()
while b"passphrase" not in out and time.time() - t0 < 10:
    out += os.read(fd, 1024)
time.sleep(0.3)  # now blocked in read(2) with echo off
for k in subprocess.run(["pgrep", "-f", f"^{hot} -d {d} init"], capture_output=True, text=True).stdout.split():
    os.kill(int(k), signal.SIGTERM)
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
os.waitpid(pid, 0)
flags = [w for w in re.split(r"[ ;\r\n]+", out.decode(errors="replace")) if w in ("echo", "-echo")]
print("terminal after the signal:", flags)
sys.exit(0 if flags == ["echo"] else 1)
