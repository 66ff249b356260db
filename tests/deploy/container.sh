#!/usr/bin/env bash
# The image in front of the emulator, as the old quick start runs it: config
# mounted at /app/config.yaml, ports 8080 and 9090 published (on random
# loopback ports here, so that CI never collides with anything), the
# HEALTHCHECK passing, a request proxied, the old compose file's curl
# healthcheck, and `podman stop` draining an in-flight request and exiting 0
# within the grace period. Then the environment-only mode and the health
# listener default. Needs localhost/tpp:latest and localhost/tpp-emulator:latest
# (deploy/build-image.sh).
set -euo pipefail
# shellcheck source=tests/deploy/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

net="tpp-$suffix"
podman network create "$net" >/dev/null
networks+=("$net")
emu="emulator-$suffix"
containers+=("$emu")
podman run -d "${podman_run_flags[@]}" --name "$emu" --network "$net" \
  localhost/tpp-emulator:latest >/dev/null
# tpp finds it as `dolphindb` through /etc/hosts, not podman's DNS server,
# which sometimes fails to answer on a busy machine.
upstream=(--add-host "dolphindb:$(address_on "$emu" "$net")")

dir=$(mktemp -d)
exit_hooks+=('rm -rf "$dir"')
# The old proxy's schema, nothing new in it.
cat >"$dir/config.yaml" <<'YAML'
listen: "0.0.0.0:8080"
health_listen: "0.0.0.0:9090"
upstream: {host: "dolphindb", port: 8848, tls: false}
credential: {username: "admin", password: "123456"}
token: {pool_size: 4, ttl_seconds: 3600, refresh_check_seconds: 60}
telemetry: {log_filter: "info"}
YAML
chmod 644 "$dir/config.yaml"

tpp="tpp-$suffix"
containers+=("$tpp")
podman run -d "${podman_run_flags[@]}" --name "$tpp" --network "$net" "${upstream[@]}" \
  -v "$dir/config.yaml:/app/config.yaml:ro" -p 127.0.0.1::8080 -p 127.0.0.1::9090 \
  localhost/tpp:latest >/dev/null
proxy=$(host_port "$tpp" 8080)
health=$(host_port "$tpp" 9090)

wait_for 30 podman healthcheck run "$tpp" || fail "the HEALTHCHECK never passed"
say "HEALTHCHECK (tpp probe) passes"

answer=$(curl -fsS "http://127.0.0.1:$proxy/api/execute" -d '{"script":"1+1"}')
[[ $answer == *'"code":"0"'* && $answer == *'"user":"admin"'* ]] ||
  fail "proxied answer not from an admin session: $answer"
say "proxied through the container: $answer"

podman exec "$tpp" curl -fsS -o /dev/null http://localhost:9090/healthz ||
  fail "the old compose healthcheck (curl -f http://localhost:9090/healthz) fails"
[[ $(podman exec "$tpp" id -u) == 10001 ]] || fail "tpp does not run as uid 10001"
podman exec "$tpp" test -s /usr/share/tpp/prometheus/tpp-alerts.yaml -a -s /usr/share/tpp/grafana/tpp.json ||
  fail "the image lacks /usr/share/tpp/prometheus/tpp-alerts.yaml or /usr/share/tpp/grafana/tpp.json"
# Read whole, then matched: `curl | grep -q` fails under pipefail when grep
# stops at the title and curl's next write finds the pipe closed.
page=$(podman exec "$tpp" curl -fsS http://localhost:9090/status) ||
  fail "GET /status failed"
[[ $page == *'<title>tpp status</title>'* ]] || fail "GET /status does not serve the status page"
version=$(sed -n 's/^project(tpp VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
label=$(podman image inspect localhost/tpp:latest \
  --format '{{index .Config.Labels "org.opencontainers.image.version"}}')
[[ $label == "$version" ]] || fail "version label '$label', project version '$version'"
say "old curl healthcheck passes, runs as uid 10001, labelled version $label"

# A request still running when SIGTERM arrives finishes; then tpp exits 0,
# well within shutdown_grace_seconds (30).
curl -fsS -o "$dir/slow" "http://127.0.0.1:$proxy/api/execute" -d '{"script":"sleep(1500)"}' &
slow=$!
in_use() { curl -fsS "http://127.0.0.1:$health/health" | grep -q '"in_use":1'; }
wait_for 10 in_use || fail "the slow request never took a token"
start=$SECONDS
podman stop -t 35 "$tpp" >/dev/null
took=$((SECONDS - start))
wait $slow || fail "the in-flight request failed during the drain"
grep -q '"code":"0"' "$dir/slow" || fail "in-flight answer: $(cat "$dir/slow")"
status=$(podman inspect "$tpp" --format '{{.State.ExitCode}}')
[[ $status == 0 ]] || fail "podman stop: exit status $status"
((took < 30)) || fail "podman stop took ${took}s, more than the grace period"
say "podman stop: the in-flight request finished, exit 0 after ${took}s"

# Without a mounted file: TPP_* only, and /healthz on 9090 by default.
envonly="envonly-$suffix"
containers+=("$envonly")
podman run -d "${podman_run_flags[@]}" --name "$envonly" --network "$net" "${upstream[@]}" \
  -e TPP_UPSTREAM_HOST=dolphindb -e TPP_CREDENTIAL_USERNAME=admin \
  -e TPP_CREDENTIAL_PASSWORD=123456 -e TPP_TOKEN_POOL_SIZE=2 localhost/tpp:latest >/dev/null
wait_for 30 podman healthcheck run "$envonly" || fail "environment-only: HEALTHCHECK never passed"
podman exec "$envonly" curl -fsS -o /dev/null http://localhost:9090/healthz ||
  fail "environment-only: no /healthz on 9090"
say "environment-only mode: healthy, /healthz on 9090"

# The 9090 default never overrides what a mounted file or the environment says.
effective_health() {
  podman run --rm "${podman_run_flags[@]}" "$@" localhost/tpp:latest --check-config |
    sed -n 's/^health_listen: *//p'
}
sed 's/0.0.0.0:9090/127.0.0.1:9191/' "$dir/config.yaml" >"$dir/own-health.yaml"
grep -v health_listen "$dir/config.yaml" >"$dir/no-health.yaml"
chmod 644 "$dir"/*.yaml
got=$(effective_health -v "$dir/own-health.yaml:/app/config.yaml:ro")
[[ $got == 127.0.0.1:9191 ]] || fail "the file's health_listen became '$got'"
got=$(effective_health -v "$dir/no-health.yaml:/app/config.yaml:ro")
[[ $got == 0.0.0.0:9090 ]] || fail "a file without health_listen got '$got'"
got=$(effective_health -v "$dir/config.yaml:/app/config.yaml:ro" -e TPP_HEALTH_LISTEN=)
[[ $got == '""' ]] || fail "TPP_HEALTH_LISTEN= (off) became '$got'"
say "health_listen default: file wins, environment wins, 0.0.0.0:9090 otherwise"
