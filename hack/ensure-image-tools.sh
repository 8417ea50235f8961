#!/usr/bin/env bash
# Make Debian's image tools available for `make image` (idempotent): mmdebstrap builds the
# base root filesystem from Debian's packages, podman builds and saves the images, skopeo reads
# their manifests, and podman will not start without runc (Debian's crun refuses this host).
#
# Installed already: nothing to do. Missing and root with apt-get: install Debian's packages
# (no recommends). Missing otherwise: an error naming the command to run.
set -euo pipefail

tools=(mmdebstrap podman skopeo runc)
missing=()
for tool in "${tools[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-image-tools: installing Debian's ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for tool in "${missing[@]}"; do
    command -v "$tool" >/dev/null || { echo "ensure-image-tools: $tool still missing" >&2; exit 1; }
  done
  exit 0
fi

echo "ensure-image-tools: ${missing[*]} not found and cannot install them (needs root and" \
  "apt-get); run 'apt-get install ${missing[*]}' as root" >&2
exit 1
