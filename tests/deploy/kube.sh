#!/usr/bin/env bash
# deploy/k8s under `podman kube play` (tests/deploy/playable.py says what it
# changes for podman 4.3): both replicas start with the manifests' security
# context (uid 10001, read-only root, no capabilities), read the password
# from the Secret through credential.password_file, and their readiness
# (the readinessProbe's GET, asked with tpp probe) flips from 503 to ready
# once they hold a token; the liveness probe passes as podman's healthcheck.
# The upstream is the emulator, which answers logins 3 s late so the
# not-ready phase is seen.
set -euo pipefail
# shellcheck source=tests/deploy/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
k8s=$root/deploy/k8s

play=$(mktemp --suffix=.yaml)
python3 "$(dirname "$0")/playable.py" "$k8s" >"$play"  # names only, for the clean-up
# Names the manifests fix: remove leftovers of an interrupted run, and ours.
kube_cleanup() {
  podman kube down "$play" >/dev/null 2>&1 || true
  podman pod rm -f tpp-pod-0 tpp-pod-1 >/dev/null 2>&1 || true
  podman volume rm -f tpp-config tpp-credential >/dev/null 2>&1 || true
  podman secret rm tpp-credential >/dev/null 2>&1 || true
}
kube_cleanup
exit_hooks+=(kube_cleanup 'rm -f "$play"')

version=$(sed -n 's/^project(tpp VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
grep -q "image: tpp:$version\$" "$k8s/deployment.yaml" || fail "deployment.yaml's image is not tpp:$version"
grep -q "newTag: \"$version\"" "$k8s/kustomization.yaml" || fail "kustomization's tag is not $version"

# podman 4.3 writes a Secret's `data` into the volume still base64-encoded:
# the emulator accepts the password in the form podman hands it to tpp.
password=$(sed -n 's/^  password: \([^ ]*\).*/\1/p' "$k8s/secret.yaml")
net="tpp-$suffix"
podman network create "$net" >/dev/null
networks+=("$net")
emu="emulator-$suffix"
containers+=("$emu")
podman run -d "${podman_run_flags[@]}" --name "$emu" --network "$net" --network-alias dolphindb \
  localhost/tpp-emulator:latest --password "$password" --login-delay-ms 3000 >/dev/null
python3 "$(dirname "$0")/playable.py" "$k8s" "$(address_on "$emu" "$net")" >"$play"

podman kube play --network "$net" "$play" >/dev/null
pods=(tpp-pod-0-tpp tpp-pod-1-tpp)
containers+=("${pods[@]}")
readyz=$(python3 -c 'import sys, yaml
d = [x for x in yaml.safe_load_all(open(sys.argv[1])) if x["kind"] == "Deployment"][0]
print(d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"])' "$play")

ready_probe() { podman exec "$1" /usr/bin/tpp --config /etc/tpp/config.yaml probe --path "$readyz"; }
# What a pod that never became ready saw: its name resolution, tpp's own
# account (/health: the last login error), and a login by hand to tell tpp's
# fault from the network's.
diagnose() {
  echo "--- $1: /etc/hosts"
  podman exec "$1" cat /etc/hosts || true
  echo "--- $1: /health"
  podman exec "$1" /usr/bin/tpp --config /etc/tpp/config.yaml probe --path /health || true
  echo "--- $1: a login by curl from the pod"
  podman exec "$1" curl -sS -m 10 -o /dev/null -w '%{http_code} after %{time_total} s\n' \
    -d '{"username":"admin","password":"?"}' http://dolphindb:8848/api/login || true
}
declare -A first
for pod in "${pods[@]}"; do first[$pod]=$(ready_probe "$pod" 2>&1 || true); done
for pod in "${pods[@]}"; do
  if ! wait_for 90 ready_probe "$pod"; then
    diagnose "$pod" >&2
    fail "$pod never became ready: $(ready_probe "$pod" 2>&1)"
  fi
  say "$pod: readiness ${first[$pod]} -> $(ready_probe "$pod")"
  [[ ${first[$pod]} != 200* ]] || fail "$pod: ready before its login was answered"
  podman healthcheck run "$pod" >/dev/null || fail "$pod: the liveness healthcheck fails"
done

pod=${pods[0]}
[[ $(podman exec "$pod" id -u) == 10001 ]] || fail "not running as uid 10001"
if podman exec "$pod" sh -c 'echo x >/probe-write' 2>/dev/null; then fail "root filesystem writable"; fi
caps=$(podman inspect "$pod" --format '{{.EffectiveCaps}}')
[[ $caps == "[]" ]] || fail "capabilities left: $caps"
answer=$(podman exec "$pod" curl -sS http://127.0.0.1:8080/api/execute -d '{"script":"2+2"}')
[[ $answer == *'"code":"0"'* && $answer == *'"user":"admin"'* ]] || fail "proxied: $answer"
say "uid 10001, read-only root, no capabilities; proxied $answer"
