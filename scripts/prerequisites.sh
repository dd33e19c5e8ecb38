#!/usr/bin/env bash
# Installs what the tests need, if missing: a static busybox and dash (the Docker-tier
# image built FROM scratch, the builder scripts run under dash and busybox sh), `file`,
# protoc (the Fabric Gateway client used by tests/gateway_application.rs compiles
# its protos with it), and chromium with chromedriver (tests/fabric_ui.rs).
set -euo pipefail

need=()
command -v dash >/dev/null || need+=(dash)
if ! file -L "$(command -v busybox 2>/dev/null || echo /nonexistent)" 2>/dev/null | grep -q 'statically linked'; then
  need+=(busybox-static)
fi
command -v file >/dev/null || need+=(file)
command -v protoc >/dev/null || need+=(protobuf-compiler)
# The `fabx ui` test drives a real headless browser through WebDriver.
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
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
