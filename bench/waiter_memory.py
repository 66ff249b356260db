#!/usr/bin/env python3
"""tpp's resident memory with N clients queued for a token, each having sent
a big head, and after they all left (docs/performance.md, "Memory of queued
clients"). Usage: bench/waiter_memory.py BUILD_DIR [N [PAD_BYTES]]
Loopback ports 28080, 29090 and 28848."""
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
build = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
pad = int(sys.argv[3]) if len(sys.argv) > 3 else 60000
cfg = os.path.join(tempfile.mkdtemp(), "tpp.yaml")
with open(cfg, "w") as f:
    f.write("""listen: "127.0.0.1:28080"
health_listen: "127.0.0.1:29090"
upstream: {host: "127.0.0.1", port: 28848}
credential: {username: admin, password: "123456"}
token: {pool_size: 1, binding: connection}
workers: 2
telemetry: {log_filter: warn}
""")
emu = subprocess.Popen([f"{build}/tools/emulator/ddb-emulator", "--listen", "127.0.0.1:28848"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
tpp = subprocess.Popen([f"{build}/src/app/tpp", "--config", cfg])


def health():
    return json.load(urllib.request.urlopen("http://127.0.0.1:29090/health"))


def rss_kib():
    with open(f"/proc/{tpp.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])


def wait(pred):
    while True:
        try:
            if pred(health()):
                return
        except OSError:
            pass
        time.sleep(0.05)


try:
    wait(lambda h: h["pool"]["available"] == 1)
    # An idle client keeps the only token (binding: connection).
    holder = socket.create_connection(("127.0.0.1", 28080))
    holder.sendall(b"GET /__emulator/echo HTTP/1.1\r\nHost: a\r\n\r\n")
    holder.recv(65536)
    base = rss_kib()
    head = b"GET /__emulator/echo HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"a" * pad + b"\r\n\r\n"
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", 28080))
        s.sendall(head)
        socks.append(s)
    wait(lambda h: h["pool"]["waiting"] == n)
    waiting = rss_kib()
    for s in socks:
        s.close()
    wait(lambda h: h["pool"]["waiting"] == 0)
    time.sleep(1.0)  # what is freed late (session frames) is freed by then
    after = rss_kib()
    print(f"{n} waiters with {pad}-byte heads: base {base} KiB; waiting {waiting} KiB "
          f"({(waiting - base) / n:.1f} KiB each); after they left {after} KiB "
          f"(+{after - base} KiB)")
finally:
    tpp.terminate()
    emu.terminate()
    tpp.wait()
    emu.wait()
