#!/usr/bin/env bash
# Installs what tpp needs to build, test and benchmark, from Debian 12 packages
# only. Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libssl-dev openssl ca-certificates libmimalloc-dev
  libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format curl
  libsystemd-dev  # sd_notify: Type=notify readiness under systemd
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc  # OTLP export
)
if [[ "${TPP_WITH_TESTS:-0}" == 1 ]]; then
  # promtool checks /metrics; a Prometheus server scrapes tpp in one test.
  packages+=(prometheus)
  # The deployment checks (tests/deploy, docs/deployment.md): podman builds
  # the image offline (base images from mmdebstrap) and runs it, compose.yaml
  # and deploy/k8s; systemd-analyze checks the unit, man and groff tpp(1).
  packages+=(podman buildah runc uidmap mmdebstrap netavark aardvark-dns iptables
    catatonit podman-compose python3-yaml systemd man-db groff-base)
  # Real client libraries against tpp (tests/integration/clients): Python's
  # requests; Node's fetch and curl need nothing more.
  packages+=(python3-requests)
  # The status page in a real browser (tests/integration/status_page_test.cpp).
  packages+=(chromium)
  # libFuzzer on the request path (tests/fuzz): clang and its runtimes.
  packages+=(clang libclang-rt-14-dev)
fi
if [[ "${TPP_WITH_BENCH:-0}" == 1 ]]; then
  packages+=(nginx-light wrk apache2-utils)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The OTLP test receiver decodes exports with the official OpenTelemetry npm
# packages. Any Node.js with npm will do (some images ship their own).
if [[ "${TPP_WITH_TESTS:-0}" == 1 ]]; then
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
