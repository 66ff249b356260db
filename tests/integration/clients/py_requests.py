"""Python requests against tpp, the way applications use it.

Usage: python3 py_requests.py URL MODE THREADS CALLS
  MODE plain:   requests.post() with no Session; each thread keeps its last
                response, and so its socket, open while it sends the next one
                (reading it only afterwards). With urllib3 2 every finished
                response does that; stream=True makes urllib3 1.26 (Debian 12)
                do the same, so the test means the same everywhere.
  MODE session: one requests.Session per thread (a keep-alive connection).
Prints one JSON line {ok, failed, seconds, errors}; exits 0 when every call
was answered 200 with its own body echoed. Each call times out after 10 s,
so a stall shows as a failure, not a hang.
"""
import json
import sys
import threading
import time

import requests

url, mode, threads, calls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lock = threading.Lock()
ok = 0
errors = []


def run(t):
    session = requests.Session() if mode == "session" else None
    post = session.post if session else requests.post
    stream = mode == "plain"
    previous = None  # (body sent, its response), still open
    for i in range(calls + 1):
        try:
            if i < calls:
                body = f"thread-{t}-call-{i}"
                current = (body, post(url, data=body, timeout=10, stream=stream))
            else:
                current = None
            if previous:
                check(*previous)
            previous = current
        except requests.RequestException as e:
            with lock:
                errors.append(f"thread {t} call {i}: {e!r}")
            previous = None


def check(body, response):
    global ok
    good = response.status_code == 200 and response.text == body
    with lock:
        if good:
            ok += 1
        else:
            errors.append(f"{body}: {response.status_code} {response.text[:80]}")


started = time.monotonic()
workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
total = threads * calls
print(json.dumps({"ok": ok, "failed": total - ok, "seconds": time.monotonic() - started,
                  "errors": errors[:5]}))
sys.exit(0 if ok == total else 1)
