"""Session fixtures for tests against the lab's real control plane (marker ``lab``).

The lab comes up once per session (tens of seconds on two busy cores) with a recording
scheduler extender configured, and goes down at the end, leaving no process or directory.
Each test gets its own namespace so tests never see each other's pods.

Missing binaries: skipped locally with the command to build them; a failure in CI (CI=true),
where `.ci/run` is expected to have run hack/lab/build.sh.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.kube.client import NAMESPACES, SERVICE_ACCOUNTS, KubeApiError, KubeClient
from carbon_kube.lab.control_plane import run_down, run_up, wait_for
from carbon_kube.lab.settings import ExtenderConfig, LabSettings, default_node_pools
from carbon_kube.lab.state import LabState
from tests.integration.extender_stub import RecordingExtender

LAB_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
# Generous on purpose: a loaded 2-core machine can take minutes where a laptop takes seconds.
LAB_TIMEOUT = timedelta(minutes=5)
# Extender weight 100: its 0..10 score x 100 x 10 outweighs every in-tree score plugin,
# so the tests can tell its decision apart from the default scoring.
EXTENDER_WEIGHT = 100


@pytest.fixture(scope="session")
def recording_extender() -> Iterator[RecordingExtender]:
    extender = RecordingExtender().start()
    yield extender
    extender.stop()


@pytest.fixture(scope="session")
def lab(
    recording_extender: RecordingExtender, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabState]:
    bin_dir = default_bin_dir()
    missing = [name for name in LAB_BINARIES if not (bin_dir / name).is_file()]
    if missing:
        message = f"lab binaries {missing} missing in {bin_dir}: run hack/lab/build.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    settings = LabSettings(
        bin_dir=bin_dir,
        state_dir=tmp_path_factory.mktemp("lab") / "state",
        node_pools=default_node_pools(zones=3, nodes_per_zone=10),
        # The filter verb too (not the default) so the lab tests keep it working.
        extenders=(
            ExtenderConfig(
                url_prefix=recording_extender.url, weight=EXTENDER_WEIGHT, filter_verb="filter"
            ),
        ),
        speedup=60.0,
        ready_timeout=LAB_TIMEOUT,
    )
    state = run_up(settings)
    try:
        yield state
    finally:
        run_down(state.state_dir)


@pytest.fixture(scope="session")
def kube(lab: LabState) -> Iterator[KubeClient]:
    with lab.client() as client:
        yield client


@pytest.fixture
def namespace(kube: KubeClient) -> Iterator[str]:
    """A fresh namespace whose `default` ServiceAccount exists (pods are rejected before)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def has_default_service_account() -> bool:
        try:
            kube.get(SERVICE_ACCOUNTS, "default", namespace=name)
        except KubeApiError:
            return False
        return True

    wait_for(has_default_service_account, LAB_TIMEOUT, f"ServiceAccount {name}/default")
    yield name
    kube.delete(NAMESPACES, name)
