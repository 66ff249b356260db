#!/usr/bin/env python3
"""Measures tpp's start-up: from process start until /readyz answers 200
(first usable token) and until /health reports every token of the pool.

Starts tpp itself (so the clock starts at exec), polls the health listener
every 2 ms, stops tpp with SIGTERM, and reads tpp's own
"ready: N of M tokens after X ms" log line. Prints one JSON line
("BENCH_RESULT {...}"); exits non-zero when tpp did not get ready in time.
"""
import argparse
import http.client
import json
import re
import signal
import subprocess
import sys
import time


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tpp", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--health-port", type=int, required=True)
    ap.add_argument("--pool", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--timeout", type=float, default=15.0)
    a = ap.parse_args()

    result = {"pool": a.pool, "ready_ms": None, "all_tokens_ms": None, "log_line": None}
    with open(a.log, "wb") as log:
        t0 = time.monotonic()
        p = subprocess.Popen([a.tpp, "--config", a.config], stdout=log, stderr=subprocess.STDOUT)
        deadline = t0 + a.timeout
        try:
            while time.monotonic() < deadline and p.poll() is None:
                try:
                    status, _ = get(a.health_port, "/readyz")
                    if status == 200:
                        result["ready_ms"] = round((time.monotonic() - t0) * 1000, 1)
                        break
                except OSError:
                    pass
                time.sleep(0.002)
            while result["ready_ms"] is not None and time.monotonic() < deadline and p.poll() is None:
                status, body = get(a.health_port, "/health")
                if status == 200 and json.loads(body)["pool"]["total"] >= a.pool:
                    result["all_tokens_ms"] = round((time.monotonic() - t0) * 1000, 1)
                    break
                time.sleep(0.002)
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    with open(a.log, errors="replace") as f:
        for line in f:
            m = re.search(r"ready: (\d+) of (\d+) tokens after (\d+) ms", line)
            if m:
                result["log_line"] = m.group(0)
                result["log_tokens"] = int(m.group(1))
                result["log_ms"] = int(m.group(3))
    result["exit_code"] = p.returncode
    result["ok"] = result["ready_ms"] is not None and result["all_tokens_ms"] is not None
    print("BENCH_RESULT " + json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
