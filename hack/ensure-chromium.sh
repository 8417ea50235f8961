#!/usr/bin/env bash
# Debian's headless Chromium for the report rendering test (tests/unit/test_report_chromium.py).
# Idempotent: does nothing when `chromium` is already on PATH. Needs root (CI runs as root).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
