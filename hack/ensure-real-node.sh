#!/usr/bin/env bash
# Make Debian's containerd, runc and CNI plugins available for the lab's real node (idempotent).
#
# `carbon-kube lab up --real-node` runs a kubelet (built by `hack/lab/build.sh kubelet`) on
# these. Installed already: nothing to do. Missing and root with apt-get: install Debian's
# packages (no recommends; no service is started: there is no init system to start one, and
# the lab runs its own containerd under its state directory). Missing otherwise: an error
# under CI=true; on a developer machine the real-node tests skip, so say so and carry on.
set -euo pipefail

have_all() {
  command -v containerd >/dev/null && command -v ctr >/dev/null && command -v runc >/dev/null \
    && [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ]
}

if have_all; then
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-real-node: installing Debian's containerd, runc and containernetworking-plugins"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends containerd runc containernetworking-plugins >/dev/null
  have_all
  exit 0
fi

message="ensure-real-node: containerd/runc/CNI plugins not found and cannot install them (needs"
message+=" root and apt-get); run 'apt-get install containerd runc containernetworking-plugins'"
if [ "${CI:-}" = "true" ]; then
  echo "$message" >&2
  exit 1
fi
echo "$message; the real-node tests will be skipped" >&2
