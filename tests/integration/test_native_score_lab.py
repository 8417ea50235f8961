"""The native Score plugin in a real kube-scheduler against the lab's real apiserver.

``kube-scheduler-carbon`` (scheduler-plugin/, built by hack/lab/build.sh) runs as a
*second* scheduler whose only profile, ``carbon-kube-native``, enables the
``CarbonKubeEmissions`` plugin: the schedulerName pattern of docs/enforcement.md, with no
extender. Nodes get the labels the controller writes (``operator.nodes.node_label_patch``)
with intensities chosen here, so the expected placement does not depend on data:
eu-central-1a low, eu-west-1a high, eu-west-1b no intensity at all. The last test runs the
binary with the configuration the Helm chart renders (``nativeScheduler``), as its Deployment
would, so the shipped configuration is the one proven here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.domain.annotations import (
    GRID_ZONE_LABEL,
    INTENSITY_LABEL,
    WATTS_PER_GIB_LABEL,
    WATTS_PER_VCPU_LABEL,
)
from carbon_kube.domain.zones import Zone
from carbon_kube.kube.client import NODES, PODS, KubeClient
from carbon_kube.kube.resources import LEASES
from carbon_kube.lab.control_plane import wait_for
from carbon_kube.lab.processes import free_loopback_ports, start_process, stop_process
from carbon_kube.lab.state import LabState
from carbon_kube.operator.nodes import node_label_patch
from tests.integration.conftest import LAB_TIMEOUT
from tests.integration.helm_chart import needs_helm, of_kind, render_chart
from tests.integration.kube_objects import make_pod

pytestmark = pytest.mark.lab

SCHEDULER_NAME = "carbon-kube-native"
PLUGIN = "CarbonKubeEmissions"
BINARY = "kube-scheduler-carbon"
# 0..100 x 100 outweighs every in-tree score plugin, so placement shows the plugin's choice.
PLUGIN_WEIGHT = 100
ZONE_LABEL = "topology.kubernetes.io/zone"
# Availability zone -> (grid zone, intensity g/kWh); None: the node has no intensity label.
INTENSITIES: dict[str, tuple[str, float | None]] = {
    "eu-central-1a": ("DE", 100.0),
    "eu-west-1a": ("IE", 400.0),
    "eu-west-1b": ("IE", None),
}
CARBON_LABELS = (GRID_ZONE_LABEL, INTENSITY_LABEL, WATTS_PER_VCPU_LABEL, WATTS_PER_GIB_LABEL)
# The chart's scheduler gets its own name so it never competes with the fixture's.
CHART_SCHEDULER_NAME = "carbon-kube-chart"


@pytest.fixture(scope="module")
def labelled_nodes(kube: KubeClient) -> Iterator[dict[str, str]]:
    """Label the lab's nodes as the controller would; node -> availability zone."""
    zones = {}
    for node in kube.list(NODES, label_selector=ZONE_LABEL):
        labels = node["metadata"]["labels"]
        zone = labels[ZONE_LABEL]
        if zone not in INTENSITIES:
            continue
        grid, intensity = INTENSITIES[zone]
        cleared: dict[str, Any] = dict.fromkeys(CARBON_LABELS)
        kube.patch(NODES, node["metadata"]["name"], {"metadata": {"labels": cleared}})
        bare = {k: v for k, v in labels.items() if k not in CARBON_LABELS}
        patch = node_label_patch(bare, Zone(grid), intensity)
        assert patch is not None
        kube.patch(NODES, node["metadata"]["name"], patch)
        zones[node["metadata"]["name"]] = zone
    assert set(zones.values()) == set(INTENSITIES), f"lab zones: {sorted(set(zones.values()))}"
    yield zones
    for name in zones:
        kube.patch(NODES, name, {"metadata": {"labels": dict.fromkeys(CARBON_LABELS)}})


def _binary() -> Path:
    binary = default_bin_dir() / BINARY
    if not binary.is_file():
        pytest.skip(f"{binary} missing: run hack/lab/build.sh scheduler-plugin")
    return binary


@pytest.fixture(scope="module")
def native_scheduler(
    lab: LabState, labelled_nodes: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    binary = _binary()
    directory = tmp_path_factory.mktemp("native-scheduler")
    config = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(lab.kubeconfig)},
        "leaderElection": {"leaderElect": False},
        "profiles": [
            {
                "schedulerName": SCHEDULER_NAME,
                "plugins": {"multiPoint": {"enabled": [{"name": PLUGIN, "weight": PLUGIN_WEIGHT}]}},
            }
        ],
    }
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    (port,) = free_loopback_ports(1)
    process = start_process(
        SCHEDULER_NAME,
        binary,
        [f"--config={config_path}", "--bind-address=127.0.0.1", f"--secure-port={port}"],
        directory,
    )
    yield SCHEDULER_NAME
    stop_process(process)


def _native_pod(
    name: str, zones: list[str] | None = None, scheduler_name: str = SCHEDULER_NAME
) -> dict[str, Any]:
    pod = make_pod(name).build()
    pod["spec"]["schedulerName"] = scheduler_name
    pod["spec"]["containers"][0]["resources"]["requests"] = {"cpu": "1", "memory": "1Gi"}
    if zones is not None:
        term = {"matchExpressions": [{"key": ZONE_LABEL, "operator": "In", "values": zones}]}
        pod["spec"]["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
            }
        }
    return pod


def _wait_bound(
    kube: KubeClient, namespace: str, names: list[str], scheduler_name: str = SCHEDULER_NAME
) -> dict[str, str]:
    def all_bound() -> bool:
        return all(kube.get(PODS, n, namespace)["spec"].get("nodeName") for n in names)

    wait_for(all_bound, LAB_TIMEOUT, f"{len(names)} pods to be bound by {scheduler_name}")
    return {n: kube.get(PODS, n, namespace)["spec"]["nodeName"] for n in names}


def test_pods_of_the_native_profile_land_on_the_lowest_emission_nodes(
    kube: KubeClient, namespace: str, labelled_nodes: dict[str, str], native_scheduler: str
) -> None:
    names = [f"p{i}" for i in range(5)]
    for name in names:
        kube.create(PODS, _native_pod(name), namespace)

    placed = _wait_bound(kube, namespace, names)

    assert {labelled_nodes[node] for node in placed.values()} == {"eu-central-1a"}, placed


def test_nodes_without_intensity_are_neutral_not_excluded(
    kube: KubeClient, namespace: str, labelled_nodes: dict[str, str], native_scheduler: str
) -> None:
    # Restricted to nodes without data, a pod still schedules (a Score plugin never filters).
    # Between them and nodes with data that all tie (each scores 100), the neutral 50 loses:
    # scores are normalised over the candidates, exactly as score_nodes does for the extender.
    kube.create(PODS, _native_pod("only-bare", ["eu-west-1b"]), namespace)
    kube.create(PODS, _native_pod("either", ["eu-west-1a", "eu-west-1b"]), namespace)

    placed = _wait_bound(kube, namespace, ["only-bare", "either"])

    assert labelled_nodes[placed["only-bare"]] == "eu-west-1b", placed
    assert labelled_nodes[placed["either"]] == "eu-west-1a", placed


def _answers_200(url: str) -> bool:
    try:
        # The scheduler serves its probes over a self-signed certificate, as in a pod.
        return httpx.get(url, verify=False, timeout=2.0).status_code == 200  # noqa: S501
    except httpx.HTTPError:
        return False


@needs_helm
def test_the_charts_scheduler_configuration_runs_elects_a_leader_and_places_by_emissions(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    labelled_nodes: dict[str, str],
    tmp_path: Path,
) -> None:
    binary = _binary()
    docs = render_chart(
        "nativeScheduler.enabled=true",
        "nativeScheduler.image.repository=example.org/kube-scheduler-carbon",
        f"nativeScheduler.schedulerName={CHART_SCHEDULER_NAME}",
        namespace=namespace,
    )
    (deployment,) = [d for d in of_kind(docs, "Deployment") if "native" in d["metadata"]["name"]]
    (config_map,) = [d for d in of_kind(docs, "ConfigMap") if "native" in d["metadata"]["name"]]
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    # In a pod the client is in-cluster; here it is the lab's kubeconfig. Nothing else changes.
    config["clientConnection"] = {"kubeconfig": str(lab.kubeconfig)}
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    mounted = container["volumeMounts"][0]["mountPath"]
    (port,) = free_loopback_ports(1)
    args = [
        arg.replace(mounted, str(tmp_path)).replace("--secure-port=10259", f"--secure-port={port}")
        for arg in container["args"]
    ]
    assert args == [f"--config={config_path}", f"--secure-port={port}"]
    process = start_process(
        CHART_SCHEDULER_NAME, binary, [*args, "--bind-address=127.0.0.1"], tmp_path
    )
    try:
        for probe in ("livenessProbe", "readinessProbe"):
            url = f"https://127.0.0.1:{port}{container[probe]['httpGet']['path']}"
            wait_for(lambda url=url: _answers_200(url), LAB_TIMEOUT, f"{url} to answer 200")
        names = [f"chart-{i}" for i in range(3)]
        for name in names:
            pod = _native_pod(name, scheduler_name=CHART_SCHEDULER_NAME)
            kube.create(PODS, pod, namespace)

        placed = _wait_bound(kube, namespace, names, CHART_SCHEDULER_NAME)

        # The chart's weight (5) lets carbon decide among these otherwise similar nodes.
        assert {labelled_nodes[node] for node in placed.values()} == {"eu-central-1a"}, placed
        lease = kube.get(LEASES, CHART_SCHEDULER_NAME, namespace)
        assert lease["spec"]["holderIdentity"]
    finally:
        stop_process(process)
