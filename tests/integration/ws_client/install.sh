#!/usr/bin/env bash
# Installs the test WebSocket client's npm package (the exact version in
# package-lock.json) into ws_client/node_modules. Idempotent: does nothing
# when node_modules already matches the lock file. Needs node >= 18 and npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if ! command -v npm >/dev/null 2>&1; then
  echo "ws client: npm not found (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
stamp=node_modules/.tpp-lock-stamp
if [[ -f "$stamp" ]] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
cp package-lock.json "$stamp"
