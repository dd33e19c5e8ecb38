#!/usr/bin/env bash
# Runs every test tier: unit tests, tests against the real Docker engine, and the tests
# on real Fabric images (those print "SKIPPED: <reason>" when the images are absent).
set -euo pipefail
cd "$(dirname "$0")/.."

# The Docker-tier tests build an image FROM scratch around a static busybox, and the
# builder tests run the builder scripts under dash and busybox sh.
need=()
command -v dash >/dev/null || need+=(dash)
if ! file -L "$(command -v busybox 2>/dev/null || echo /nonexistent)" 2>/dev/null | grep -q 'statically linked'; then
  need+=(busybox-static)
fi
command -v file >/dev/null || need+=(file)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing test prerequisites: ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "error: the tests need: ${need[*]} (install them, e.g. sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

if [ -z "${DOCKER_HOST:-}" ] && [ ! -S /var/run/docker.sock ]; then
  echo "error: no Docker engine reachable at unix:///var/run/docker.sock (start Docker or set DOCKER_HOST)" >&2
  exit 1
fi

cargo test --workspace "$@"
