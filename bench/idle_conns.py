#!/usr/bin/env python3
"""Holds N idle client connections open to a proxy and measures what they cost.

Reads the proxy's VmRSS (summed over --pid, e.g. nginx's workers) before and
after opening the connections, waits until the proxy has accepted them all
(tpp: tpp_client_connections_open on /metrics, with --health-port; otherwise
the open descriptors of the --pid processes), checks that the proxy still
answers a request on a new connection and that none of the idle connections
was closed, then closes everything. Prints one JSON line
("BENCH_RESULT {...}") and exits 0, or non-zero when something failed.
Python standard library only; bounded in time (--timeout).
"""
import argparse
import http.client
import json
import os
import resource
import selectors
import socket
import sys
import time


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/{pid}/status")


def rss_kib(pids):
    return sum(status_kib(p, "VmRSS") for p in pids)


def open_fds(pids):
    return sum(len(os.listdir(f"/proc/{p}/fd")) for p in pids)


def open_gauge(health_port):
    c = http.client.HTTPConnection("127.0.0.1", health_port, timeout=5)
    try:
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
    finally:
        c.close()
    for line in body.splitlines():
        if line.startswith("tpp_client_connections_open"):
            return int(float(line.split()[-1]))
    return -1


def one_request(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/api/execute", body=b'{"script":"1+1"}',
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, action="append", required=True,
                    help="a process whose RSS counts (repeat for nginx's workers)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--health-port", type=int,
                    help="tpp's: count accepted connections with its gauge, not descriptors")
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=2.0, help="seconds to hold after all are accepted")
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.n + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    deadline = time.monotonic() + a.timeout
    result = {"n": a.n, "connected": 0, "connect_errors": 0, "accepted": -1,
              "closed_by_peer": 0, "request_status": 0}

    # Warm-up request: buffers and the upstream connection exist before "before".
    result["warmup_status"] = one_request(a.port)
    time.sleep(0.3)
    opened = (lambda: open_gauge(a.health_port)) if a.health_port else (lambda: open_fds(a.pid))
    base_open = opened()
    rss_before = rss_kib(a.pid)

    sel = selectors.DefaultSelector()
    socks = []
    pending = 0
    batch = 500
    for i in range(a.n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        s.connect_ex(("127.0.0.1", a.port))
        sel.register(s, selectors.EVENT_WRITE)
        socks.append(s)
        pending += 1
        # Let the backlog drain between batches.
        if pending >= batch or i == a.n - 1:
            while pending and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=1.0):
                    s2 = key.fileobj
                    sel.unregister(s2)
                    pending -= 1
                    if s2.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        result["connected"] += 1
                    else:
                        result["connect_errors"] += 1
            if pending:
                result["connect_errors"] += pending
                break
    # Wait until tpp has accepted every connection (the kernel completes the
    # handshake before accept).
    accepted = -1
    while time.monotonic() < deadline:
        accepted = opened() - base_open
        if accepted >= result["connected"]:
            break
        time.sleep(0.1)
    result["accepted"] = accepted
    time.sleep(a.hold)
    rss_after = rss_kib(a.pid)
    result["rss_before_kib"] = rss_before
    result["rss_after_kib"] = rss_after
    result["vmhwm_kib"] = sum(status_kib(p, "VmHWM") for p in a.pid)
    result["kib_per_conn"] = round((rss_after - rss_before) / max(1, result["connected"]), 3)

    # tpp still answers, with all the idle connections held.
    try:
        result["request_status"] = one_request(a.port)
    except Exception as e:  # noqa: BLE001
        result["request_error"] = str(e)

    # None of the idle connections was closed by tpp.
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                result["closed_by_peer"] += 1
        except BlockingIOError:
            pass
        except OSError:
            result["closed_by_peer"] += 1
    for s in socks:
        s.close()

    ok = (result["connected"] == a.n and result["connect_errors"] == 0 and
          result["accepted"] >= a.n and result["closed_by_peer"] == 0 and
          result["request_status"] == 200)
    result["ok"] = ok
    print("BENCH_RESULT " + json.dumps(result), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
