#!/usr/bin/env bash
# Debian's headless Chromium for the report rendering test (tests/unit/test_report_chromium.py).
# Idempotent: does nothing when `chromium` is already on PATH. Needs root (CI runs as root).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  message="ensure-chromium: chromium not found and cannot install it (needs root and apt-get)"
  if [ "${CI:-}" = "true" ]; then echo "$message" >&2; exit 1; fi
  echo "$message; the report rendering test will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
