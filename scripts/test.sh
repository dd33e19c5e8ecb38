#!/usr/bin/env bash
# Runs every test tier: unit tests, tests against the real Docker engine, and the tests
# on real Fabric images and a Kubernetes cluster (those print "SKIPPED: <reason>" when
# what they need is absent; FABX_REQUIRE_FABRIC=1 and FABX_REQUIRE_KUBERNETES=1 turn
# such skips into failures). Ends with one line over every test binary:
# "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh

if [ -z "${DOCKER_HOST:-}" ] && [ ! -S /var/run/docker.sock ]; then
  echo "error: no Docker engine reachable at unix:///var/run/docker.sock (start Docker or set DOCKER_HOST)" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?

# libtest counts a skipped test as passed: each one said SKIPPED on stderr.
skipped=$(grep -c '^SKIPPED: ' "$log" || true)
read -r passed failed < <(awk '/^test result: /{
    for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i }
  } END { print p + 0, f + 0 }' "$log")
echo "$((passed - skipped)) passed, $failed failed, $skipped skipped"
exit "$status"
