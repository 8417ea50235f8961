"""``lab up --real-node``: a real kubelet beside the kwok nodes, and a host left as it was.

One lab of its own (two kwok nodes and the real one) for the module: a pod that tolerates the
real node's taint runs there in a real container (the pause image the lab builds); one that
does not lands on a kwok node; the apiserver reaches the kubelet (a pod's log). After
``lab down``: no process, mount, cgroup, bridge or iptables rule it made, and the host's
sysctls unchanged (the kubelet's writes went to files bind-mounted in its namespace).
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.kube.client import NODES, PODS, KubeClient
from carbon_kube.lab.control_plane import run_down, run_up, wait_for
from carbon_kube.lab.pause_image import PAUSE_IMAGE
from carbon_kube.lab.real_node import NODE_NAME, REAL_NODE_TAINT
from carbon_kube.lab.settings import LabSettings, RealNodeSettings, default_node_pools
from carbon_kube.lab.state import LabState
from tests.integration.conftest import LAB_TIMEOUT
from tests.integration.real_node import host_snapshot, require_real_node

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def real_node_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabState, dict]]:
    require_real_node()
    before = host_snapshot()
    settings = LabSettings(
        bin_dir=default_bin_dir(),
        state_dir=tmp_path_factory.mktemp("real-node-lab") / "state",
        node_pools=default_node_pools(zones=1, nodes_per_zone=2),
        real_node=RealNodeSettings(python=Path(sys.executable)),
        ready_timeout=LAB_TIMEOUT,
    )
    try:
        yield run_up(settings), before
    finally:
        run_down(settings.state_dir)


def _pod(name: str, *, tolerate: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "main", "image": PAUSE_IMAGE, "imagePullPolicy": "Never"}],
    }
    if tolerate:
        spec["tolerations"] = [{"key": REAL_NODE_TAINT["key"], "operator": "Exists"}]
        spec["nodeSelector"] = {"kubernetes.io/hostname": NODE_NAME}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def _run_pod(kube: KubeClient, prefix: str, *, tolerate: bool) -> dict[str, Any]:
    """Create a pause pod in default and wait until it is Ready; the pod as then stored."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kube.create(PODS, _pod(name, tolerate=tolerate), namespace="default")
    wait_for(lambda: _ready(kube, name), timedelta(seconds=120), f"pod {name} Ready")
    return kube.get(PODS, name, namespace="default")


def _ready(kube: KubeClient, name: str) -> bool:
    pod = kube.get(PODS, name, namespace="default")
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_the_real_node_is_ready_and_tainted_beside_the_fake_ones(
    real_node_lab: tuple[LabState, dict],
) -> None:
    lab, _ = real_node_lab
    with lab.client() as kube:
        node = kube.get(NODES, NODE_NAME)
        fake = [n for n in kube.list(NODES) if n["metadata"]["name"] != NODE_NAME]

    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    assert REAL_NODE_TAINT in node["spec"]["taints"]
    assert len(fake) == 2
    assert all(n["status"]["nodeInfo"]["kubeletVersion"].startswith("kwok") for n in fake)


def test_a_pod_that_tolerates_the_real_node_runs_a_real_container_there(
    real_node_lab: tuple[LabState, dict],
) -> None:
    lab, _ = real_node_lab
    with lab.client() as kube:
        pod = _run_pod(kube, "real", tolerate=True)
        name = pod["metadata"]["name"]
        # The apiserver reaches the kubelet (by the Hostname address) for the container's log.
        log = kube.get_raw(f"/api/v1/namespaces/default/pods/{name}/log")

    assert pod["spec"]["nodeName"] == NODE_NAME
    status = pod["status"]["containerStatuses"][0]
    assert status["containerID"].startswith("containerd://")
    assert status["imageID"].startswith("sha256:")
    assert log == ""  # pause writes nothing; the request itself is what must succeed


def test_the_kubelet_refuses_anyone_without_the_lab_cas_client_certificate(
    real_node_lab: tuple[LabState, dict],
) -> None:
    """Another local user must not exec into the node's pods through the kubelet's port."""
    lab, _ = real_node_lab
    with httpx.Client(verify=False, timeout=10) as client:  # noqa: S501 - kubelet's self-signed cert
        answer = client.get(f"https://127.0.0.1:{lab.ports['kubelet']}/pods")

    assert answer.status_code == 401


def test_a_pod_without_the_toleration_stays_on_the_fake_nodes(
    real_node_lab: tuple[LabState, dict],
) -> None:
    lab, _ = real_node_lab
    with lab.client() as kube:
        pod = _run_pod(kube, "fake", tolerate=False)

    assert pod["spec"]["nodeName"] != NODE_NAME


def test_lab_down_leaves_the_host_as_it_found_it(real_node_lab: tuple[LabState, dict]) -> None:
    """Runs last in the module: it takes the lab down itself and compares the host."""
    lab, before = real_node_lab
    with lab.client() as kube:
        # Running, so that down has a container (and its network namespace) to clean up.
        _run_pod(kube, "busy", tolerate=True)
    supervisor_log = (lab.state_dir / "logs" / "real-node.log").read_text()
    started = re.search(r"containerd pid (\d+), kubelet pid (\d+)", supervisor_log)
    assert started, supervisor_log
    child_pids = [int(pid) for pid in started.groups()]

    run_down(lab.state_dir)

    assert not lab.state_dir.exists()
    for pid in child_pids:
        assert not Path(f"/proc/{pid}").exists(), f"pid {pid} outlived lab down"
    leftovers = subprocess.run(  # noqa: S603 - procps pgrep, fixed arguments
        ["pgrep", "-f", f"containerd-shim.*{lab.state_dir}"],  # noqa: S607
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    assert leftovers == ""
    assert host_snapshot() == before
