"""What the lab's real node needs on this machine, for the tests that start one."""

from __future__ import annotations

import os
import shutil

import pytest

from carbon_kube.cli.lab import default_bin_dir
from tests.install_steps import missing_install_step

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
