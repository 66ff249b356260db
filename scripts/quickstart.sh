#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running tpp: installs what is
# missing, builds, starts the DolphinDB emulator on 127.0.0.1:8848 and tpp on
# 127.0.0.1:8080 in front of it, prints a curl line to try, and runs until
# Ctrl-C (which stops both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TPP_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
TPP_BUILD_DIR="$build" "$root/scripts/build.sh"

"$build/tools/emulator/ddb-emulator" --listen 127.0.0.1:8848 --user admin --password 123456 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true' EXIT

"$build/src/app/tpp" --config "$root/deploy/quickstart.yaml" &
tpp=$!
trap 'kill $tpp $emulator 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 100); do
  curl -fsS -o /dev/null http://127.0.0.1:9091/readyz 2>/dev/null && break
  kill -0 $tpp 2>/dev/null || { echo "tpp exited; see the log above" >&2; exit 1; }
  sleep 0.1
done
cat <<MSG

tpp is running on 127.0.0.1:8080 in front of the emulator (Ctrl-C stops both). Try:

  curl -s http://127.0.0.1:8080/api/execute -d '{"script":"1+1"}'
  curl -s http://127.0.0.1:9091/health

MSG
wait $tpp
