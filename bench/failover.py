#!/usr/bin/env python3
"""Failover figures (docs/cluster.md): tpp in front of three emulators under
load; one emulator is killed, then started again on its port.

Prints one line: BENCH_RESULT {...} with
  requests, failed           every request of the run, and those not a 200
  failed_after_down          failures that began after /health showed the node down
  down_detect_ms             kill -> /health shows the node not up
  last_failure_ms            kill -> the end of the last failed request (new
                             requests have moved once no request fails)
  refill_ms                  restart -> /health shows the node up with its
                             whole pool ready again
  traffic_back_ms            restart -> the node answers a proxied request again
Only loopback; bounded by --seconds.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def get_json(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        c.request("GET", path)
        return json.loads(c.getresponse().read())
    finally:
        c.close()


def wait_for(pred, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if pred():
                return time.monotonic()
        except (OSError, ValueError, http.client.HTTPException):
            pass
        time.sleep(0.01)  # polling an external process's state
    sys.exit(f"failover: {what} within {seconds} s")


def start_emulator(binary, port, log):
    p = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}", "--threads", "1"],
                         stdout=log, stderr=log)
    wait_for(lambda: get_json(port, "/__emulator/control/stats") is not None, 10,
             f"emulator on {port} did not start")
    return p


def node_of(health, label):
    return next((n for n in health.get("nodes", []) if n["node"] == label), None)


class load:
    """`clients` threads, each sending POSTs on its own keep-alive
    connection, replaced after a failure and every `reuse` requests (with
    the default token.binding, affinity, a connection stays on its node
    while it keeps its token: only new connections bring traffic back to a
    node that returns); every request is recorded as (start, end, ok)."""

    reuse = 20

    def __init__(self, port, clients):
        self.port, self.stop, self.lock, self.records = port, False, threading.Lock(), []
        self.threads = [threading.Thread(target=self.run) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def run(self):
        conn, sent = None, 0
        while not self.stop:
            t0 = time.monotonic()
            ok = False
            try:
                if conn is not None and sent >= self.reuse:
                    conn.close()
                    conn = None
                if conn is None:
                    conn, sent = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10), 0
                sent += 1
                conn.request("POST", "/__emulator/echo", body=b"x")
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                if conn:
                    conn.close()
                conn = None
            with self.lock:
                self.records.append((t0, time.monotonic(), ok))

    def finish(self):
        self.stop = True
        for t in self.threads:
            t.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tpp", required=True)
    ap.add_argument("--emulator", required=True)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--pool", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0, help="load before, between and after")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="tpp-failover.")
    log = open(os.path.join(tmp, "processes.log"), "w")
    ports = free_ports(5)
    emu_ports, tpp_port, health_port = ports[:3], ports[3], ports[4]
    emus = [start_emulator(args.emulator, p, log) for p in emu_ports]
    cfg = os.path.join(tmp, "tpp.yaml")
    with open(cfg, "w") as f:
        nodes = ", ".join(f'"127.0.0.1:{p}"' for p in emu_ports)
        f.write(f'listen: "127.0.0.1:{tpp_port}"\nhealth_listen: "127.0.0.1:{health_port}"\n'
                f"upstream: {{nodes: [{nodes}]}}\n"
                'credential: {username: "admin", password: "123456"}\n'
                f"token: {{pool_size: {args.pool}}}\ntelemetry: {{log_filter: info}}\n")
    tpp = subprocess.Popen([args.tpp, "--config", cfg], stdout=log, stderr=log)
    victim, label = 2, f"127.0.0.1:{emu_ports[2]}"
    try:
        wait_for(lambda: get_json(health_port, "/health")["pool"]["total"] == 3 * args.pool, 20,
                 "tpp did not fill its pools")
        l = load(tpp_port, args.clients)
        time.sleep(args.seconds)  # the load runs: this is the measurement's length, not a wait
        killed = time.monotonic()
        emus[victim].send_signal(signal.SIGKILL)
        emus[victim].wait()
        down = wait_for(lambda: node_of(get_json(health_port, "/health"), label)["state"] != "up",
                        10, "the killed node was not marked down")
        time.sleep(args.seconds)
        restarted = time.monotonic()
        emus[victim] = start_emulator(args.emulator, emu_ports[victim], log)
        refilled = wait_for(
            lambda: (lambda n: n["state"] == "up" and n["ready"] == args.pool)(
                node_of(get_json(health_port, "/health"), label)),
            30, "the restarted node was not refilled")
        back = wait_for(
            lambda: (lambda s: s["requests"] > s["logins"])(
                get_json(emu_ports[victim], "/__emulator/control/stats")), 30,
            "the restarted node got no request")
        time.sleep(args.seconds)
        l.finish()
    finally:
        tpp.send_signal(signal.SIGTERM)
        tpp.wait(timeout=30)
        for e in emus:
            e.kill()
            e.wait()
    failed = [r for r in l.records if not r[2]]
    ms = lambda t: round(t * 1000.0, 1)
    result = {
        "clients": args.clients,
        "pool_per_node": args.pool,
        "requests": len(l.records),
        "failed": len(failed),
        "failed_after_down": sum(1 for r in failed if r[0] > down),
        "down_detect_ms": ms(down - killed),
        "last_failure_ms": ms(max((r[1] for r in failed), default=killed) - killed),
        "refill_ms": ms(refilled - restarted),
        "traffic_back_ms": ms(back - restarted),
    }
    print("BENCH_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
