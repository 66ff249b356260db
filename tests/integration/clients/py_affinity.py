"""A lone keep-alive client that relies on its DolphinDB session: it defines
a variable in one request and reads it in the next ones, on one
requests.Session (one connection).

Usage: python3 py_affinity.py BASE_URL ROUNDS
Prints one JSON line {ok, sessions, errors}; exits 0 when every read saw
the value defined first and all answers came from one session.
"""
import json
import sys

import requests

base, rounds = sys.argv[1], int(sys.argv[2])
s = requests.Session()
errors = []
sessions = set()


def execute(script):
    r = s.post(base + "/api/execute", json={"script": script}, timeout=10)
    r.raise_for_status()
    answer = r.json()
    sessions.add(answer["session"])
    return answer


defined = execute("kept = 42")
if defined["code"] != "0":
    errors.append(f"define: {defined}")
for i in range(rounds):
    got = execute("kept")
    if got["code"] != "0" or got["result"] != "42":
        errors.append(f"read {i}: {got}")
print(json.dumps({"ok": not errors and len(sessions) == 1, "sessions": len(sessions),
                  "errors": errors[:5]}))
sys.exit(0 if not errors and len(sessions) == 1 else 1)
