#!/usr/bin/env bash
# Make Debian's `prometheus` and `promtool` available for the tests (idempotent).
#
# Installed already: nothing to do. Missing and root with apt-get: install Debian's package
# (no recommends: the server and promtool only). Missing otherwise: under CI=true that is an
# error; on a developer machine the tests that need them skip, so say so and carry on.
set -euo pipefail

if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-prometheus: installing Debian's prometheus package (prometheus, promtool)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package's service is not wanted here; in containers policy-rc.d already refuses it.
  command -v promtool >/dev/null && command -v prometheus >/dev/null
  exit 0
fi

message="ensure-prometheus: prometheus/promtool not found and cannot install them (needs root"
message+=" and apt-get); run 'apt-get install prometheus' as root"
if [ "${CI:-}" = "true" ]; then
  echo "$message" >&2
  exit 1
fi
echo "$message; the promtool and Prometheus tests will be skipped" >&2
