#!/usr/bin/env bash
# compose.yaml as a user runs it (`podman-compose up`, the demo profile's
# emulator as upstream): the tpp service comes up healthy and proxies. Ports
# are published on random loopback ports. Needs the images of
# deploy/build-image.sh (--no-build: the images exist already).
set -euo pipefail
# shellcheck source=tests/deploy/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

project="tpp-$suffix"
compose() { PROXY_PUBLISH=127.0.0.1: HEALTH_PUBLISH=127.0.0.1: podman-compose -p "$project" "$@"; }
exit_hooks+=('compose down -t 5 >/dev/null 2>&1')

compose up -d --no-build >"${TMPDIR:-/tmp}/compose-up-$suffix.log" 2>&1 ||
  fail "podman-compose up: $(cat "${TMPDIR:-/tmp}/compose-up-$suffix.log")"
rm -f "${TMPDIR:-/tmp}/compose-up-$suffix.log"
tpp="${project}_tpp_1"
containers+=("$tpp" "${project}_dolphindb_1")  # their logs if this fails
networks+=("${project}_default")               # podman-compose down leaves it

wait_for 30 podman healthcheck run "$tpp" || fail "the tpp service never became healthy"
say "compose: tpp healthy"
proxy=$(host_port "$tpp" 8080)
# Through compose's service name, so through podman's DNS server, which
# sometimes fails to answer on a busy machine: a few tries.
proxied() {
  answer=$(curl -sS "http://127.0.0.1:$proxy/api/execute" -d '{"script":"6*7"}')
  [[ $answer == *'"code":"0"'* && $answer == *'"user":"admin"'* ]]
}
wait_for 20 proxied || fail "proxied answer not from an admin session: $answer"
say "compose: proxied $answer"
