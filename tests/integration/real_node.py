"""What the lab's real node needs on this machine, for the tests that start one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.kube.client import KubeClient
from carbon_kube.kube.resources import DEPLOYMENTS
from carbon_kube.lab.real_node import KERNEL_TUNABLES, NODE_NAME, REAL_NODE_TAINT
from tests.install_steps import missing_install_step

# /run itself changes with everything on the host; these are the parts a node writes to.
PRIVATE_HOST_DIRS_WATCHED = (
    "/run/netns",
    "/run/containerd",
    "/var/lib/kubelet",
    "/var/lib/cni",
    "/var/log/containers",
    "/var/log/pods",
)

# Helm values that put every chart component on the real node (and only there).
ON_THE_REAL_NODE = (
    f"nodeSelector.kubernetes\\.io/hostname={NODE_NAME}",
    f"tolerations[0].key={REAL_NODE_TAINT['key']}",
    "tolerations[0].operator=Exists",
)

_TOOLS = ("containerd", "ctr", "runc")


def require_real_node() -> None:
    """Skip (fail under CI=true) without Debian's runtime or the kubelet; skip without root."""
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    missing += [name for name in ("kubelet", "pause") if not (default_bin_dir() / name).is_file()]
    if missing:
        missing_install_step(
            f"{missing} missing: run hack/ensure-real-node.sh and hack/lab/build.sh kubelet"
        )
    if os.geteuid() != 0:
        pytest.skip("a real kubelet node needs root (mount namespaces, cgroups)")


def host_snapshot() -> dict[str, Any]:
    """What a real node could change on the host: sysctls, firewall, links, cgroups, mounts."""
    iptables = {
        f"{tool} {table}": subprocess.run(  # noqa: S603 - Debian's iptables, fixed arguments
            [tool, "-t", table, "-S"], capture_output=True, text=True, check=False
        ).stdout
        for tool in ("iptables", "ip6tables")
        for table in ("filter", "nat", "mangle")
        if shutil.which(tool)
    }
    return {
        "sysctls": {key: Path(f"/proc/sys/{key}").read_text() for key in KERNEL_TUNABLES},
        "iptables": iptables,
        "links": sorted(path.name for path in Path("/sys/class/net").iterdir()),
        "pod cgroups": sorted(
            str(p)
            for pattern in ("*/kubepods", "*/carbon-kube-lab-*", "kubepods", "carbon-kube-lab-*")
            for p in Path("/sys/fs/cgroup").glob(pattern)
        ),
        # What containerd, runc, the CNI plugins and the kubelet write to fixed host paths.
        "host paths": {
            path: sorted(entry.name for entry in Path(path).iterdir())
            if Path(path).is_dir()
            else None
            for path in (*PRIVATE_HOST_DIRS_WATCHED, "/etc/cni")
        },
        "mounts": Path("/proc/self/mountinfo").read_text().count("\n"),
    }


def flexible_job(name: str) -> dict[str, Any]:
    """An opted-in Job whose latest safe start is 90 s after creation (a real-clock test)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": {"carbon-kube.io/flexible": "true"},
            "annotations": {
                "carbon-kube.io/max-delay": "90s",
                "carbon-kube.io/expected-duration": "30s",
            },
        },
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox:1.37"}],
                }
            }
        },
    }


def chart_rolled_out(kube: KubeClient, namespace: str, deployments: int) -> bool:
    """All ``deployments`` of the release rolled out: latest spec observed, replicas up."""
    found = kube.list(DEPLOYMENTS, namespace)
    return len(found) == deployments and all(_rolled_out(d) for d in found)


def _rolled_out(deployment: dict[str, Any]) -> bool:
    status = deployment.get("status") or {}
    replicas = deployment["spec"]["replicas"]
    return (
        status.get("observedGeneration") == deployment["metadata"]["generation"]
        and status.get("updatedReplicas") == replicas
        and status.get("availableReplicas") == replicas
        and status.get("replicas") == replicas  # no pod of the old ReplicaSet left
    )
