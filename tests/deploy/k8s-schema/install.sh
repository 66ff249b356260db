#!/usr/bin/env bash
# Installs the Kubernetes schema check's npm packages (exact versions from
# package-lock.json) into k8s-schema/node_modules. Does nothing when
# node_modules already matches the lock file. Needs node >= 18 and npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
stamp=node_modules/.tpp-lock-stamp
if [[ -f "$stamp" ]] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
cp package-lock.json "$stamp"
