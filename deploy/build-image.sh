#!/usr/bin/env bash
# Builds tpp's container images with podman, offline: no container registry,
# only Debian's package archive (docs/deployment.md#building-offline).
#
#   deploy/build-image.sh                     # tpp from source (the Dockerfile's default)
#   deploy/build-image.sh --prebuilt build/   # binaries already built on Debian 12
#
# With Docker Hub at hand none of this is needed: `docker build .` (and
# `docker build --target emulator .`) do the same from the official images.
# What this script adds:
# - podman, buildah, runc and mmdebstrap from Debian, when missing;
# - the two base images the Dockerfile names, docker.io/library/debian:
#   bookworm and :bookworm-slim, made from the Debian archive with
#   mmdebstrap and imported into local storage (once; --refresh-base makes
#   them again), then every build uses --pull=never;
# - this sandbox's quirks: crun cannot set RLIMIT_NOFILE here, so runc with
#   explicit ulimits; --format docker, which keeps HEALTHCHECK (the OCI format
#   drops it); --network host so that apt-get inside the build reaches the
#   archive.
# Images: localhost/tpp:VERSION and :latest, localhost/tpp-emulator:latest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

prebuilt=""
refresh_base=0
while (($#)); do
  case $1 in
    --prebuilt) prebuilt=$(cd "$2" && pwd); shift 2 ;;
    --refresh-base) refresh_base=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "build-image: $*" >&2; }

install_tools() {
  local missing=()
  for p in podman buildah runc mmdebstrap uidmap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The same flags for every container this project starts with podman
# (tests/deploy/lib.sh has the run-time twin).
podman_build() {
  podman build --runtime runc --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 \
    --network host --pull=never --format docker "$@"
}

# Debian 12 minbase, without the usrmerge package (mmdebstrap's merged-usr
# hook does its job and spares perl), without docs and man pages, and
# without apt lists: like the official slim image, which it stands in for.
make_base_images() {
  local slim=docker.io/library/debian:bookworm-slim full=docker.io/library/debian:bookworm
  if ((!refresh_base)) && podman image exists "$slim" && podman image exists "$full"; then
    return 0
  fi
  log "making the Debian 12 base image with mmdebstrap"
  local tar
  tar=$(mktemp --suffix=.tar)
  trap 'rm -f "$tar"' RETURN
  mmdebstrap --quiet --variant=minbase --skip=output/dev \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
  podman import --quiet --change 'CMD ["bash"]' "$tar" "$slim" >/dev/null
  # The build stage installs what it needs on top, so one image serves both.
  podman tag "$slim" "$full"
}

# A build context holding only what the *-prebuilt stages copy.
stage_prebuilt() {
  local ctx=$1
  mkdir -p "$ctx/deploy/container" "$ctx/prebuilt/tpp/usr/bin" "$ctx/prebuilt/emulator/usr/bin"
  cp "$root/deploy/container/entrypoint.sh" "$ctx/deploy/container/"
  mkdir -p "$ctx/deploy/prometheus" "$ctx/deploy/grafana"
  cp "$root/deploy/prometheus/tpp-alerts.yaml" "$ctx/deploy/prometheus/"
  cp "$root/deploy/grafana/tpp.json" "$ctx/deploy/grafana/"
  install -s "$prebuilt/src/app/tpp" "$ctx/prebuilt/tpp/usr/bin/tpp"
  install -s "$prebuilt/tools/emulator/ddb-emulator" "$ctx/prebuilt/emulator/usr/bin/ddb-emulator"
}

install_tools
make_base_images

version=$(sed -n 's/^project(tpp VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
source_url=$(git -C "$root" config --get remote.origin.url 2>/dev/null || echo unknown)
args=(--build-arg "TPP_VERSION=$version" --build-arg "TPP_REVISION=$revision"
  --build-arg "TPP_SOURCE=$source_url" -f "$root/Dockerfile")

if [[ -n $prebuilt ]]; then
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  stage_prebuilt "$ctx"
  tpp_target=tpp-prebuilt emulator_target=emulator-prebuilt
else
  ctx=$root tpp_target=tpp emulator_target=emulator
fi

log "building localhost/tpp:$version ($tpp_target)"
podman_build "${args[@]}" --target "$tpp_target" \
  -t "localhost/tpp:$version" -t localhost/tpp:latest "$ctx" >&2
log "building localhost/tpp-emulator:latest ($emulator_target)"
podman_build "${args[@]}" --target "$emulator_target" -t localhost/tpp-emulator:latest "$ctx" >&2

# Every shared library the binaries need is in the runtime image.
for image_bin in tpp:/usr/bin/tpp tpp-emulator:/usr/bin/ddb-emulator; do
  lacking=$(podman run --rm --runtime runc --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 --no-healthcheck \
    --entrypoint ldd "localhost/${image_bin%%:*}:latest" "${image_bin#*:}" | grep 'not found' || true)
  [[ -z $lacking ]] || { log "missing libraries in ${image_bin%%:*}: $lacking"; exit 1; }
done
size=$(podman image inspect localhost/tpp:latest --format '{{.Size}}')
log "done: localhost/tpp:$version ($((size / 1000 / 1000)) MB), localhost/tpp-emulator:latest"
