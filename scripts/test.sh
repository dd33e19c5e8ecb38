#!/usr/bin/env bash
# Runs every test tier: unit tests, tests against the real Docker engine, and the tests
# on real Fabric images (those print "SKIPPED: <reason>" when the images are absent).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh

if [ -z "${DOCKER_HOST:-}" ] && [ ! -S /var/run/docker.sock ]; then
  echo "error: no Docker engine reachable at unix:///var/run/docker.sock (start Docker or set DOCKER_HOST)" >&2
  exit 1
fi

cargo test --workspace "$@"
