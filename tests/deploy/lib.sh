# shellcheck shell=bash disable=SC2034  # sourced: the checks use these variables
# Shared by the deployment checks (docs/deployment.md#what-ci-checks): podman
# flags, waiting, failing, and cleaning up what a check started. Sourced.

# runc with explicit ulimits: crun cannot set RLIMIT_NOFILE in this sandbox
# (deploy/build-image.sh builds with the same settings). Through
# containers.conf, so that podman-compose and `podman kube play`, which take
# no such flags, get them too.
containers_conf=$(mktemp --suffix=.conf)
cat >"$containers_conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$containers_conf
# No systemd here to run healthcheck timers: checks run them when they ask
# (podman healthcheck run), and podman's complaint about the missing timers
# (and conmon's about syslog) is filtered out of its stderr.
podman_run_flags=(--health-interval disable)
podman() {
  command podman "$@" 2> >(grep -v -e 'unable to get systemd connection' \
    -e 'failed to connect to syslog' >&2)
}

check=$(basename "$0" .sh)
say() { echo "deploy/$check: $*"; }
fail() {
  echo "deploy/$check: FAIL: $*" >&2
  exit 1
}

# Runs "$@" every 0.2 s until it succeeds; fails after $1 seconds.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Names made unique per run, removed on exit however the check ends; a
# check adds its own steps to exit_hooks (run in order, after the logs of a
# failed check's containers are shown).
suffix="ci$$"
containers=()
networks=()
exit_hooks=()
cleanup() {
  local status=$?
  if ((status != 0)); then
    for c in "${containers[@]}"; do
      echo "--- logs of $c" >&2
      podman logs --tail 30 "$c" >&2 2>&1 || true
    done
  fi
  for hook in "${exit_hooks[@]}"; do eval "$hook" || true; done
  ((${#containers[@]} == 0)) || podman rm -f -t 0 "${containers[@]}" >/dev/null 2>&1 || true
  ((${#networks[@]} == 0)) || podman network rm -f "${networks[@]}" >/dev/null 2>&1 || true
  rm -f "$containers_conf"
  return $status
}
trap cleanup EXIT

# A container's address on a network (for --add-host: podman's DNS server
# sometimes fails to answer on a busy machine).
address_on() {
  podman inspect "$1" --format "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}"
}

# The host port published for a container port ("127.0.0.1:PORT" -> PORT).
host_port() {
  podman port "$1" "$2" | head -1 | sed 's/.*://'
}
