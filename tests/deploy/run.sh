#!/usr/bin/env bash
# The slow deployment checks, run by scripts/test.sh after the build
# (docs/deployment.md#what-ci-checks): the images from the binaries just
# built (deploy/build-image.sh --prebuilt, offline), then the image in front
# of the emulator, compose.yaml, and deploy/k8s under podman kube play.
# Usage: run.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}

start=$SECONDS
step() {
  local t=$SECONDS
  "$@"
  echo "deploy: $(basename "$1") took $((SECONDS - t)) s"
}
step "$root/deploy/build-image.sh" --prebuilt "$build"
step "$here/container.sh"
step "$here/compose.sh"
step "$here/kube.sh"
echo "deploy: image, compose and kube checks passed in $((SECONDS - start)) s"
